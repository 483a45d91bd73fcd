/*
 * params.c - the web API's query parameters: from/to, the filters, interval,
 * metric, paging (limit, offset, sort) and format (json, csv). Strict: an unknown or malformed
 * parameter is a 400 that names it, so that a typo never silently widens a
 * query. Also the checks of who may ask: the Host and Origin headers and a
 * POST body's Content-Type, pure functions so that tests reach them.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "jobads/web.h"

#include "jobads/banned.h"

const char *const api_metric_names[] = {"records", "impressions", "clicks", "applies",	  "spend",
					"ctr",	   "cpc",	  "cpa",    "apply_rate", NULL};

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
			h = hex_digit((unsigned char)s[i + 1]);
			l = hex_digit((unsigned char)s[i + 2]);
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

static const struct {
	const char *name;
	int key;
} sort_fields[] = {
    {"campaign_id", API_SORT_CAMPAIGN},
    {"publisher_id", API_SORT_PUBLISHER_ID},
    {"publisher_name", API_SORT_PUBLISHER_NAME},
    {"industry", API_SORT_INDUSTRY},
    {"device", API_SORT_DEVICE},
};

/* sort=[-]FIELD: a metric or a group's own field; "-" sorts largest first. */
static int sort_param(const char *v, size_t n, struct api_params *p, char *why, size_t whylen)
{
	const char *name = v;
	size_t len = n;
	p->sort_desc = 0;
	if (len > 0 && name[0] == '-') {
		p->sort_desc = 1;
		name++;
		len--;
	}
	for (int m = 0; api_metric_names[m]; m++)
		if (is(name, len, api_metric_names[m])) {
			p->sort = m;
			return 0;
		}
	for (size_t i = 0; i < sizeof(sort_fields) / sizeof(sort_fields[0]); i++)
		if (is(name, len, sort_fields[i].name)) {
			p->sort = sort_fields[i].key;
			return 0;
		}
	snprintf(why, whylen,
		 "sort: want [-]FIELD, FIELD one of records, impressions, clicks, applies, spend, "
		 "ctr, cpc, cpa, apply_rate or the route's own campaign_id, publisher_id, "
		 "publisher_name, industry, device; got '%.40s'",
		 v);
	return -1;
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
	} else if ((allowed & (AP_LIMIT | AP_PAGE)) && is(key, kn, "limit")) {
		int64_t x;
		if (parse_int64(val, vn, 1, API_PAGE_MAX, &x)) {
			snprintf(why, whylen, "limit: want 1..%d, got '%.40s'", API_PAGE_MAX, val);
			return -1;
		}
		p->limit = (int)x;
	} else if ((allowed & AP_PAGE) && is(key, kn, "offset")) {
		if (parse_int64(val, vn, 0, API_OFFSET_MAX, &p->offset)) {
			snprintf(why, whylen, "offset: want 0..%d, got '%.40s'", API_OFFSET_MAX,
				 val);
			return -1;
		}
	} else if ((allowed & AP_FORMAT) && is(key, kn, "format")) {
		if (is(val, vn, "json"))
			p->format = API_JSON;
		else if (is(val, vn, "csv"))
			p->format = API_CSV;
		else {
			snprintf(why, whylen, "format: want json or csv, got '%.40s'", val);
			return -1;
		}
	} else if ((allowed & AP_COMPARE) && is(key, kn, "compare")) {
		if (kpi_compare_parse(val, vn, &p->compare)) {
			snprintf(why, whylen, "compare: want previous or year, got '%.40s'", val);
			return -1;
		}
	} else if ((allowed & AP_TZ) && is(key, kn, "tz")) {
		/* an IANA name's characters; tz_open decides whether it is a zone */
		int ok = vn > 0 && vn < sizeof(p->tz);
		for (size_t i = 0; ok && i < vn; i++)
			ok = (val[i] >= 'A' && val[i] <= 'Z') || (val[i] >= 'a' && val[i] <= 'z') ||
			     (val[i] >= '0' && val[i] <= '9') || strchr("/_+-", val[i]) != NULL;
		if (!ok) {
			snprintf(why, whylen,
				 "tz: want an IANA time zone name (Asia/Ho_Chi_Minh, UTC), got "
				 "'%.40s'",
				 val);
			return -1;
		}
		memcpy(p->tz, val, vn);
		p->tz[vn] = '\0';
	} else if ((allowed & AP_PAGE) && is(key, kn, "sort")) {
		return sort_param(val, vn, p, why, whylen);
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
	p->sort = -1;
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
	if (p->compare != KPI_COMPARE_NONE) {
		/* the same filters over the earlier range; industry and device point into p */
		p->prev = p->f;
		if (kpi_compare_range(p->compare, p->f.from_s, p->f.to_s, now_ms / 1000,
				      &p->prev.from_s, &p->prev.to_s, why, whylen))
			return -1;
	}
	return 0;
}

/* ---- who may ask ---- */

/* The host part of a Host value ("name", "name:port", "[v6]:port") into out; -1 malformed. */
static int host_part(const char *h, size_t n, char *out, size_t cap, int *v6)
{
	size_t k = 0;
	*v6 = 0;
	if (n > 0 && h[0] == '[') {
		const char *e = memchr(h, ']', n);
		if (!e)
			return -1;
		size_t rest = n - (size_t)(e - h) - 1;
		if (rest > 0 && e[1] != ':')
			return -1;
		h++;
		n = (size_t)(e - h);
		*v6 = 1;
	} else {
		const char *c = memchr(h, ':', n);
		if (c)
			n = (size_t)(c - h);
	}
	if (n == 0 || n >= cap)
		return -1;
	for (k = 0; k < n; k++) {
		char c = h[k];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
			 (*v6 && c == ':');
		if (!ok)
			return -1;
		out[k] = c;
	}
	out[k] = '\0';
	return 0;
}

static int ends_with_ci(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && strcasecmp(s + n - m, tail) == 0;
}

static int in_list(const char *name, const char *whole, const char *const *allowed)
{
	for (size_t i = 0; allowed && allowed[i]; i++)
		if (strcasecmp(allowed[i], name) == 0 || strcasecmp(allowed[i], whole) == 0)
			return 1;
	return 0;
}

int web_host_allowed(const char *host, const char *listen_host, const char *const *allowed)
{
	char name[256];
	unsigned char addr[16];
	int v6;
	if (!host)
		return 1; /* HTTP/1.0 without Host: not a browser, so not a rebinding */
	if (host_part(host, strlen(host), name, sizeof(name), &v6))
		return 0;
	if (v6)
		return inet_pton(AF_INET6, name, addr) == 1;
	if (inet_pton(AF_INET, name, addr) == 1)
		return 1;
	if (strcasecmp(name, "localhost") == 0 || ends_with_ci(name, ".localhost"))
		return 1; /* RFC 6761: always loopback, never the attacker's DNS */
	if (listen_host && *listen_host && strcasecmp(name, listen_host) == 0)
		return 1;
	return in_list(name, host, allowed);
}

/* host without a trailing ":port" equal to def_port ("80", "443"), into out. */
static void strip_default_port(const char *h, size_t n, const char *def_port, char *out, size_t cap)
{
	size_t dl = strlen(def_port);
	if (n > dl + 1 && h[n - dl - 1] == ':' && memcmp(h + n - dl, def_port, dl) == 0 &&
	    h[n - dl - 2] != ':')
		n -= dl + 1;
	snprintf(out, cap, "%.*s", (int)n, h);
}

int web_origin_allowed(const char *origin, const char *host, const char *const *allowed)
{
	const char *auth, *def;
	char o[300], h[300], name[256];
	int v6;
	if (strncasecmp(origin, "http://", 7) == 0)
		auth = origin + 7, def = "80";
	else if (strncasecmp(origin, "https://", 8) == 0)
		auth = origin + 8, def = "443";
	else
		return 0; /* "null" (sandboxed frames, file:), other schemes */
	size_t an = strlen(auth);
	if (an == 0 || an >= sizeof(o) || host_part(auth, an, name, sizeof(name), &v6))
		return 0;
	for (size_t i = 0; i < an; i++)
		if (auth[i] == '/' || auth[i] == '@' || auth[i] == ' ')
			return 0;
	strip_default_port(auth, an, def, o, sizeof(o));
	if (host) {
		strip_default_port(host, strlen(host), def, h, sizeof(h));
		if (strcasecmp(o, h) == 0)
			return 1;
	}
	return in_list(name, o, allowed);
}

int web_body_type_ok(const char *ct)
{
	static const char *const types[] = {"application/json", "application/x-ndjson",
					    "application/ndjson"};
	if (!ct)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i]) == n && strncasecmp(ct, types[i], n) == 0)
			return 1;
	return 0;
}
