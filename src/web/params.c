/*
 * params.c - the web API's query parameters: from/to, the filters, interval,
 * metric and limit. Strict: an unknown or malformed parameter is a 400 that
 * names it, so that a typo never silently widens a query.
 */
#include <stdio.h>
#include <string.h>

#include "jobads/web.h"

#include "jobads/banned.h"

const char *const api_metric_names[] = {"records", "impressions", "clicks", "applies",	  "spend",
					"ctr",	   "cpc",	  "cpa",    "apply_rate", NULL};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode (and '+' to space) into out of cap bytes; -1 when malformed or too long. */
static int url_decode(const char *s, size_t n, char *out, size_t cap, size_t *outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == '\0' || o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

static int id_param(const char *name, const char *v, size_t n, int32_t *out, char *why,
		    size_t whylen)
{
	int64_t x;
	if (parse_int64(v, n, 1, INT32_MAX, &x)) {
		snprintf(why, whylen, "%s: want an id > 0, got '%.40s'", name, v);
		return -1;
	}
	*out = (int32_t)x;
	return 0;
}

static int text_param(const char *name, const char *v, size_t n, char *buf, size_t cap, char *why,
		      size_t whylen)
{
	if (n == 0 || n >= cap || ev_utf8_len(v, n) < 0) {
		snprintf(why, whylen, "%s: want 1..%zu bytes of UTF-8 text", name, cap - 1);
		return -1;
	}
	memcpy(buf, v, n);
	buf[n] = '\0';
	return 0;
}

static int is(const char *k, size_t kn, const char *name)
{
	return strlen(name) == kn && memcmp(k, name, kn) == 0;
}

/* One name=value pair, decoded; returns 0 or -1 with why. */
static int one_param(const char *key, size_t kn, const char *val, size_t vn, unsigned allowed,
		     int64_t now_ms, struct api_params *p, char *why, size_t whylen)
{
	if ((allowed & AP_RANGE) && (is(key, kn, "from") || is(key, kn, "to"))) {
		int64_t secs;
		if (time_arg_parse(val, vn, now_ms, &secs)) {
			snprintf(why, whylen,
				 "%s: not a time: '%.60s' (want ISO-8601, epoch ms, a date, now "
				 "or now-7d)",
				 key, val);
			return -1;
		}
		if (key[0] == 'f')
			p->f.from_s = secs;
		else
			p->f.to_s = secs;
	} else if ((allowed & AP_FILTERS) && is(key, kn, "campaign_id")) {
		return id_param("campaign_id", val, vn, &p->f.campaign_id, why, whylen);
	} else if ((allowed & AP_FILTERS) && is(key, kn, "publisher_id")) {
		return id_param("publisher_id", val, vn, &p->f.publisher_id, why, whylen);
	} else if ((allowed & AP_FILTERS) && is(key, kn, "industry")) {
		if (text_param("industry", val, vn, p->industry, sizeof(p->industry), why, whylen))
			return -1;
		p->f.industry = p->industry;
	} else if ((allowed & AP_FILTERS) && is(key, kn, "device")) {
		if (text_param("device", val, vn, p->device, sizeof(p->device), why, whylen))
			return -1;
		p->f.device = p->device;
	} else if ((allowed & AP_INTERVAL) && is(key, kn, "interval")) {
		if (is(val, vn, "hour"))
			p->interval = API_HOUR;
		else if (is(val, vn, "day"))
			p->interval = API_DAY;
		else {
			snprintf(why, whylen, "interval: want hour or day, got '%.40s'", val);
			return -1;
		}
	} else if ((allowed & AP_METRIC) && is(key, kn, "metric")) {
		int m;
		for (m = 0; api_metric_names[m]; m++)
			if (is(val, vn, api_metric_names[m]))
				break;
		if (!api_metric_names[m]) {
			snprintf(why, whylen,
				 "metric: want one of records, impressions, clicks, applies, "
				 "spend, ctr, cpc, cpa, apply_rate; got '%.40s'",
				 val);
			return -1;
		}
		p->metric = m;
	} else if ((allowed & AP_LIMIT) && is(key, kn, "limit")) {
		int64_t x;
		if (parse_int64(val, vn, 1, 1000, &x)) {
			snprintf(why, whylen, "limit: want 1..1000, got '%.40s'", val);
			return -1;
		}
		p->limit = (int)x;
	} else {
		snprintf(why, whylen, "%s: unknown parameter for this route", key);
		return -1;
	}
	return 0;
}

int api_params_parse(const char *qs, size_t n, unsigned allowed, int64_t now_ms,
		     struct api_params *p, char *why, size_t whylen)
{
	char key[32], val[256];
	size_t kn, vn;

	memset(p, 0, sizeof(*p));
	an_filter_all(&p->f);
	p->interval = API_HOUR;
	p->metric = -1;
	for (size_t i = 0; qs && i < n;) {
		size_t j = i;
		while (j < n && qs[j] != '&')
			j++;
		const char *part = qs + i;
		size_t plen = j - i;
		const char *eq = memchr(part, '=', plen);
		i = j + 1;
		if (plen == 0)
			continue; /* "a=1&&b=2" */
		if (url_decode(part, eq ? (size_t)(eq - part) : plen, key, sizeof(key), &kn)) {
			snprintf(why, whylen, "malformed or over-long parameter name");
			return -1;
		}
		if (!eq) {
			snprintf(why, whylen, "%s: missing '=value'", key);
			return -1;
		}
		if (url_decode(eq + 1, (size_t)(part + plen - eq - 1), val, sizeof(val), &vn)) {
			snprintf(why, whylen, "%s: malformed or over-long value", key);
			return -1;
		}
		if (one_param(key, kn, val, vn, allowed, now_ms, p, why, whylen))
			return -1;
	}
	if (p->f.from_s != INT64_MIN && p->f.to_s != INT64_MAX && p->f.from_s >= p->f.to_s) {
		snprintf(why, whylen, "from: must be before to");
		return -1;
	}
	return 0;
}
