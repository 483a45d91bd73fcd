/*
 * event.c - field table and validation of one tracking record. Decoders (NDJSON,
 * CSV, HTTP) only split a record into (name, value, kind) pairs; every rule of
 * design.md lives here once, so all inputs are judged alike.
 */
#include "jobads/event.h"

#include <assert.h>
#include <nettle/sha1.h>
#include <stdio.h>
#include <string.h>

#include "jobads/util.h"
#include "jobads/banned.h"

static const char *const field_names[EVF__COUNT] = {
    "event_id",		 "ts",		"publisher_id", "publisher_name", "publisher_traffic",
    "publisher_quality", "bid",		"job_id",	"campaign_id",	  "industry",
    "location",		 "impressions", "clicks",	"apply_count",	  "cost",
    "quality_score",	 "device",	"hour",		"day_of_week",
};

#define REQUIRED_MASK                                                                              \
	((1u << EVF_TS) | (1u << EVF_PUBLISHER_ID) | (1u << EVF_PUBLISHER_NAME) |                  \
	 (1u << EVF_JOB_ID) | (1u << EVF_CAMPAIGN_ID) | (1u << EVF_INDUSTRY) |                     \
	 (1u << EVF_LOCATION) | (1u << EVF_IMPRESSIONS) | (1u << EVF_CLICKS) |                     \
	 (1u << EVF_APPLY_COUNT) | (1u << EVF_COST) | (1u << EVF_QUALITY_SCORE) |                  \
	 (1u << EVF_DEVICE))

const char *ev_field_name(enum ev_field f)
{
	return (unsigned)f < EVF__COUNT ? field_names[f] : "?";
}

/*
 * Every key of every record comes through here (19 per record), so the names'
 * lengths are kept beside them: measuring each name with strlen on each call
 * was a tenth of the time of an ingest.
 */
static const unsigned char field_lens[EVF__COUNT] = {
    sizeof("event_id") - 1,
    sizeof("ts") - 1,
    sizeof("publisher_id") - 1,
    sizeof("publisher_name") - 1,
    sizeof("publisher_traffic") - 1,
    sizeof("publisher_quality") - 1,
    sizeof("bid") - 1,
    sizeof("job_id") - 1,
    sizeof("campaign_id") - 1,
    sizeof("industry") - 1,
    sizeof("location") - 1,
    sizeof("impressions") - 1,
    sizeof("clicks") - 1,
    sizeof("apply_count") - 1,
    sizeof("cost") - 1,
    sizeof("quality_score") - 1,
    sizeof("device") - 1,
    sizeof("hour") - 1,
    sizeof("day_of_week") - 1,
};

int ev_field_lookup(const char *name, size_t n)
{
	for (int i = 0; i < EVF__COUNT; i++)
		if (field_lens[i] == n && field_names[i][0] == name[0] &&
		    memcmp(field_names[i], name, n) == 0)
			return i;
	return -1;
}

long ev_utf8_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	long count = 0;
	size_t i = 0;
	while (i < n) {
		unsigned c = p[i];
		size_t need;
		unsigned cp;
		if (c == 0)
			return -1;
		if (c < 0x80) {
			i++;
			count++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			need = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3;
			cp = c & 0x07;
		} else {
			return -1;
		}
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += need + 1;
		count++;
	}
	return count;
}

int ev_parse_uuid(const char *s, size_t n, char out[EV_UUID_LEN + 1])
{
	uint8_t b[EV_UUID_BYTES];
	if (uuid_from_text(s, n, b) != 0)
		return -1;
	uuid_to_text(b, out);
	return 0;
}

void ev_uuid_v4(char out[EV_UUID_LEN + 1], struct rng *rng)
{
	unsigned char b[16];
	if (rng) {
		uint64_t a = rng_next(rng), c = rng_next(rng);
		memcpy(b, &a, 8);
		memcpy(b + 8, &c, 8);
	} else {
		random_bytes(b, sizeof(b));
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	uuid_to_text(b, out);
}

void ev_uuid_v5(const unsigned char ns[16], const void *name, size_t n, char out[EV_UUID_LEN + 1])
{
	struct sha1_ctx ctx;
	unsigned char d[SHA1_DIGEST_SIZE];
	sha1_init(&ctx);
	sha1_update(&ctx, 16, ns);
	sha1_update(&ctx, n, name);
	sha1_digest(&ctx, sizeof(d), d);
	d[6] = (unsigned char)((d[6] & 0x0f) | 0x50);
	d[8] = (unsigned char)((d[8] & 0x3f) | 0x80);
	uuid_to_text(d, out);
}

/* Bounded appends for ev_canonical; the bound is proved by EV_CANONICAL_MAX's comment. */
struct cbuf {
	char *p;
	size_t n, len;
};

static void cb_add(struct cbuf *b, const char *s, size_t n)
{
	assert(b->n + n < b->len);
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

/* ,"key": before a value; no comma for the first */
static void cb_key(struct cbuf *b, const char *key)
{
	if (b->n > 1)
		cb_add(b, ",", 1);
	cb_add(b, "\"", 1);
	cb_add(b, key, strlen(key));
	cb_add(b, "\":", 2);
}

/* Decimal by hand: this runs for a dozen integers of every id-less record. */
static void cb_int(struct cbuf *b, const char *key, int64_t v)
{
	char num[24];
	size_t i = sizeof(num);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		num[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		num[--i] = '-';
	cb_key(b, key);
	cb_add(b, num + i, sizeof(num) - i);
}

/* A JSON string as RFC 8785 writes it: only '"', '\\' and controls escaped. */
static void cb_text(struct cbuf *b, const char *key, struct ev_str s)
{
	cb_key(b, key);
	cb_add(b, "\"", 1);
	for (uint32_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			cb_add(b, esc, 2);
		} else if (c < 0x20) {
			const char *shortf = c == '\b'	 ? "\\b"
					     : c == '\t' ? "\\t"
					     : c == '\n' ? "\\n"
					     : c == '\f' ? "\\f"
					     : c == '\r' ? "\\r"
							 : NULL;
			if (shortf)
				cb_add(b, shortf, 2);
			else
				cb_add(b, esc, (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c));
		} else {
			cb_add(b, (const char *)&c, 1);
		}
	}
	cb_add(b, "\"", 1);
}

size_t ev_canonical(const struct event *ev, char *buf, size_t len)
{
	struct cbuf b = {buf, 0, len};
	/* keys in code-point order, as RFC 8785 sorts them */
	cb_add(&b, "{", 1);
	cb_int(&b, "apply_count", ev->apply_count);
	if (ev->bid >= 0)
		cb_int(&b, "bid", ev->bid);
	cb_int(&b, "campaign_id", ev->campaign_id);
	cb_int(&b, "clicks", ev->clicks);
	cb_int(&b, "cost_micros", ev->cost_micros);
	cb_text(&b, "device", ev->device);
	cb_int(&b, "impressions", ev->impressions);
	cb_text(&b, "industry", ev->industry);
	cb_int(&b, "job_id", ev->job_id);
	cb_text(&b, "location", ev->location);
	cb_int(&b, "publisher_id", ev->publisher_id);
	cb_text(&b, "publisher_name", ev->publisher_name);
	if (ev->publisher_quality.n)
		cb_text(&b, "publisher_quality", ev->publisher_quality);
	if (ev->publisher_traffic.n)
		cb_text(&b, "publisher_traffic", ev->publisher_traffic);
	cb_int(&b, "quality_score", ev->quality_score);
	cb_int(&b, "ts_ms", ev->ts_ms);
	cb_add(&b, "}", 1);
	buf[b.n] = '\0';
	return b.n;
}

/* The namespace of derived event ids: a random v4 drawn once, never to change. */
static const unsigned char jobads_ns[16] = {0x88, 0xe2, 0x7c, 0x8c, 0x89, 0x6f, 0x41, 0x6f,
					    0xbe, 0xe8, 0xb6, 0x23, 0xbf, 0xd3, 0xc7, 0xf9};

void ev_derive_id(struct event *ev)
{
	char canon[EV_CANONICAL_MAX];
	size_t n = ev_canonical(ev, canon, sizeof(canon));
	ev_uuid_v5(jobads_ns, canon, n, ev->event_id);
}

int ev_parse_cost(const char *s, size_t n, int64_t *micros, const char **why)
{
	int r = ev_parse_money(s, n, EV_COST_MAX_UNITS, micros, why);
	if (r && *why == ev_money_range)
		*why = "out of range (at most 1000000)";
	return r;
}

const char ev_money_range[] = "out of range";

int ev_parse_money(const char *s, size_t n, int64_t max_units, int64_t *micros, const char **why)
{
	/*
	 * Exact decimal arithmetic on the text: collect up to 19 significant digits
	 * and a decimal exponent, then scale to micros. No double is involved, so
	 * "0.1" is 100000 micros exactly.
	 */
	size_t i = 0;
	uint64_t mant = 0;
	int exp10 = 0, nd = 0, any = 0, dropped_nonzero = 0;
	*why = "not a decimal number";
	if (n == 0)
		return -1;
	if (s[0] == '-') {
		*why = "must be >= 0";
		for (size_t k = 1; k < n; k++)
			if (s[k] >= '1' && s[k] <= '9')
				return -1;
		i = 1; /* "-0" is zero */
	} else if (s[0] == '+') {
		i = 1;
	}
	*why = "not a decimal number";
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		any = 1;
		if (mant == 0 && s[i] == '0')
			continue;
		if (nd < 19) {
			mant = mant * 10 + (uint64_t)(s[i] - '0');
			nd++;
		} else {
			exp10++;
			dropped_nonzero |= s[i] != '0';
		}
	}
	if (i < n && s[i] == '.') {
		i++;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			any = 1;
			if (mant == 0 && s[i] == '0') {
				exp10--;
				continue;
			}
			if (nd < 19) {
				mant = mant * 10 + (uint64_t)(s[i] - '0');
				nd++;
				exp10--;
			} else {
				dropped_nonzero |= s[i] != '0';
			}
		}
	}
	if (!any)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		int64_t e;
		size_t st = ++i;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (parse_int64(s + st, i - st, -400, 400, &e))
			return -1;
		exp10 += (int)e;
	}
	if (i != n)
		return -1;
	(void)dropped_nonzero; /* digits past the 19th are below a micro here or out of range */
	/* value = mant * 10^exp10; micros = value * 10^6 */
	int scale = exp10 + 6;
	if (mant == 0) {
		*micros = 0;
		*why = NULL;
		return 0;
	}
	if (scale >= 0) {
		uint64_t v = mant;
		for (int k = 0; k < scale; k++) {
			if (v > (uint64_t)max_units * 1000000ULL / 10) {
				*why = ev_money_range;
				return -1;
			}
			v *= 10;
		}
		if (v > (uint64_t)max_units * 1000000ULL) {
			*why = ev_money_range;
			return -1;
		}
		*micros = (int64_t)v;
	} else {
		/*
		 * Drop -scale digits; round half up on the first dropped one, which is
		 * the digit at position -scale from the right (0 when mant is shorter).
		 */
		uint64_t v = mant, round_digit;
		int drop = -scale;
		for (int k = 0; k < drop - 1 && v > 0; k++)
			v /= 10;
		round_digit = v % 10;
		v /= 10;
		if (round_digit >= 5)
			v++;
		if (v > (uint64_t)max_units * 1000000ULL) {
			*why = ev_money_range;
			return -1;
		}
		*micros = (int64_t)v;
	}
	*why = NULL;
	return 0;
}

void ev_derive(struct event *ev)
{
	ev->hour = (int8_t)ts_hour(ev->ts_ms);
	ev->day_of_week = (int8_t)ts_weekday(ev->ts_ms);
}

void ev_builder_begin(struct ev_builder *b)
{
	memset(b, 0, sizeof(*b));
	b->ev.bid = -1;
}

static int set_int(const char *v, size_t n, enum ev_kind kind, int64_t lo, int64_t hi, int64_t *out,
		   const char *name, char *why, size_t whylen)
{
	if (kind != EVK_NUMBER && kind != EVK_RAW) {
		snprintf(why, whylen, "%s: expected an integer, got a %s", name,
			 kind == EVK_STRING ? "string"
			 : kind == EVK_BOOL ? "boolean"
					    : "null");
		return -1;
	}
	int64_t x;
	if (parse_int64(v, n, INT64_MIN, INT64_MAX, &x)) {
		snprintf(why, whylen, "%s: not an integer: '%.*s'", name, (int)(n > 40 ? 40 : n),
			 v);
		return -1;
	}
	if (x < lo || x > hi) {
		if (lo == 0 && x < 0)
			snprintf(why, whylen, "%s: must be >= 0, got %lld", name, (long long)x);
		else
			snprintf(why, whylen, "%s: out of range %lld..%lld, got %lld", name,
				 (long long)lo, (long long)hi, (long long)x);
		return -1;
	}
	*out = x;
	return 0;
}

static int set_text(const char *v, size_t n, enum ev_kind kind, long maxlen, struct ev_str *out,
		    const char *name, char *why, size_t whylen)
{
	if (kind != EVK_STRING && kind != EVK_RAW) {
		snprintf(why, whylen, "%s: expected a string", name);
		return -1;
	}
	long len = ev_utf8_len(v, n);
	if (len < 0) {
		snprintf(why, whylen, "%s: not valid UTF-8 text", name);
		return -1;
	}
	if (len < 1 || len > maxlen) {
		snprintf(why, whylen, "%s: length must be 1..%ld characters, got %ld", name, maxlen,
			 len);
		return -1;
	}
	out->s = v;
	out->n = (uint32_t)n;
	return 0;
}

static int set_level(const char *v, size_t n, enum ev_kind kind, struct ev_str *out,
		     const char *name, char *why, size_t whylen)
{
	static const char *const lv[] = {"HIGH", "MED", "LOW"};
	if (kind == EVK_NULL || (kind == EVK_RAW && n == 0))
		return 0; /* optional */
	if (kind != EVK_STRING && kind != EVK_RAW) {
		snprintf(why, whylen, "%s: expected a string", name);
		return -1;
	}
	for (int i = 0; i < 3; i++)
		if (strlen(lv[i]) == n && memcmp(lv[i], v, n) == 0) {
			out->s = lv[i];
			out->n = (uint32_t)n;
			return 0;
		}
	snprintf(why, whylen, "%s: must be HIGH, MED or LOW, got '%.*s'", name,
		 (int)(n > 20 ? 20 : n), v);
	return -1;
}

int ev_builder_set(struct ev_builder *b, int field, const char *v, size_t n, enum ev_kind kind,
		   char *why, size_t whylen)
{
	struct event *ev = &b->ev;
	const char *name = ev_field_name((enum ev_field)field);
	int64_t x;

	if (field < 0 || field >= EVF__COUNT)
		return 0; /* unknown names are ignored, like extra CSV columns */
	if (b->seen & (1u << field)) {
		snprintf(why, whylen, "%s: given twice", name);
		return -1;
	}
	/* hour and day_of_week are always derived from ts */
	if (field == EVF_HOUR || field == EVF_DAY_OF_WEEK)
		return 0;
	/* null, or an empty CSV cell, is the same as absent */
	if (kind == EVK_NULL || (kind == EVK_RAW && n == 0))
		return 0;
	b->seen |= 1u << field;

	switch ((enum ev_field)field) {
	case EVF_EVENT_ID:
		if (kind != EVK_STRING && kind != EVK_RAW) {
			snprintf(why, whylen, "event_id: expected a UUID string");
			return -1;
		}
		if (ev_parse_uuid(v, n, ev->event_id)) {
			snprintf(why, whylen, "event_id: not a UUID: '%.*s'",
				 (int)(n > 40 ? 40 : n), v);
			return -1;
		}
		return 0;
	case EVF_TS: {
		const char *reason = NULL;
		if (kind == EVK_NUMBER ||
		    (kind == EVK_RAW && n > 0 && v[0] >= '0' && v[0] <= '9' &&
		     memchr(v, '-', n) == NULL && memchr(v, ':', n) == NULL)) {
			if (parse_int64(v, n, 0, INT64_MAX, &x)) {
				snprintf(why, whylen,
					 "ts: epoch milliseconds must be a whole number");
				return -1;
			}
			ev->ts_ms = x;
			return 0;
		}
		if (kind != EVK_STRING && kind != EVK_RAW) {
			snprintf(why, whylen, "ts: expected a string or epoch milliseconds");
			return -1;
		}
		if (ts_parse_iso(v, n, &ev->ts_ms, &reason)) {
			snprintf(why, whylen, "ts: %s: '%.*s'", reason, (int)(n > 40 ? 40 : n), v);
			return -1;
		}
		return 0;
	}
	case EVF_PUBLISHER_ID:
		if (set_int(v, n, kind, 1, INT32_MAX, &x, name, why, whylen))
			return -1;
		ev->publisher_id = (int32_t)x;
		return 0;
	case EVF_JOB_ID:
		if (set_int(v, n, kind, 1, INT32_MAX, &x, name, why, whylen))
			return -1;
		ev->job_id = (int32_t)x;
		return 0;
	case EVF_CAMPAIGN_ID:
		if (set_int(v, n, kind, 1, INT32_MAX, &x, name, why, whylen))
			return -1;
		ev->campaign_id = (int32_t)x;
		return 0;
	case EVF_BID:
		return set_int(v, n, kind, 0, EV_BID_MAX, &ev->bid, name, why, whylen);
	case EVF_IMPRESSIONS:
		return set_int(v, n, kind, 0, EV_COUNT_MAX, &ev->impressions, name, why, whylen);
	case EVF_CLICKS:
		return set_int(v, n, kind, 0, EV_COUNT_MAX, &ev->clicks, name, why, whylen);
	case EVF_APPLY_COUNT:
		return set_int(v, n, kind, 0, EV_COUNT_MAX, &ev->apply_count, name, why, whylen);
	case EVF_QUALITY_SCORE:
		if (set_int(v, n, kind, 0, 100, &x, name, why, whylen))
			return -1;
		ev->quality_score = (int32_t)x;
		return 0;
	case EVF_COST: {
		const char *reason;
		if (kind != EVK_NUMBER && kind != EVK_RAW && kind != EVK_STRING) {
			snprintf(why, whylen, "cost: expected a decimal number");
			return -1;
		}
		if (ev_parse_cost(v, n, &ev->cost_micros, &reason)) {
			snprintf(why, whylen, "cost: %s: '%.*s'", reason, (int)(n > 40 ? 40 : n),
				 v);
			return -1;
		}
		return 0;
	}
	case EVF_PUBLISHER_NAME:
		return set_text(v, n, kind, 200, &ev->publisher_name, name, why, whylen);
	case EVF_INDUSTRY:
		return set_text(v, n, kind, 100, &ev->industry, name, why, whylen);
	case EVF_LOCATION:
		return set_text(v, n, kind, 100, &ev->location, name, why, whylen);
	case EVF_DEVICE:
		return set_text(v, n, kind, 50, &ev->device, name, why, whylen);
	case EVF_PUBLISHER_TRAFFIC:
		return set_level(v, n, kind, &ev->publisher_traffic, name, why, whylen);
	case EVF_PUBLISHER_QUALITY:
		return set_level(v, n, kind, &ev->publisher_quality, name, why, whylen);
	case EVF_HOUR:
	case EVF_DAY_OF_WEEK:
	case EVF__COUNT:
		break;
	}
	return 0;
}

int ev_builder_finish(struct ev_builder *b, int64_t now_ms, struct rng *rng, char *why,
		      size_t whylen)
{
	struct event *ev = &b->ev;
	uint32_t missing = REQUIRED_MASK & ~b->seen;
	if (missing) {
		for (int i = 0; i < EVF__COUNT; i++)
			if (missing & (1u << i)) {
				snprintf(why, whylen, "%s: missing", field_names[i]);
				return -1;
			}
	}
	if (ev->ts_ms < EV_MIN_TS_MS) {
		snprintf(why, whylen, "ts: before 2000-01-01");
		return -1;
	}
	if (ev->ts_ms > now_ms + EV_FUTURE_MS) {
		char buf[40];
		snprintf(why, whylen, "ts: more than 1 h in the future (%s)",
			 ts_format_iso(ev->ts_ms, buf, sizeof(buf)));
		return -1;
	}
	/*
	 * A random id would make a retried record a new event; derived from the
	 * validated values, a re-sent record gets the same id and counts once.
	 */
	(void)rng;
	if (!(b->seen & (1u << EVF_EVENT_ID)))
		ev_derive_id(ev);
	ev_derive(ev);
	return 0;
}
