/*
 * test_decode.c - NDJSON objects, CSV records and headers, and the line reader
 * (include/jobads/decode.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobads/decode.h"
#include "jobads/event.h"
#include "jobads/util.h"

/* 2026-03-01T12:00:00Z */
#define NOW_MS 1772366400000LL
/* 2026-03-01T10:15:30.250Z */
#define TS_MS 1772360130250LL

#define VALID_JSON                                                                                 \
	"{\"ts\": \"2026-03-01T10:15:30.250Z\", \"publisher_id\": 17, "                            \
	"\"publisher_name\": \"Acme Jobs\", \"publisher_traffic\": \"HIGH\", "                     \
	"\"publisher_quality\": \"LOW\", \"bid\": 250, \"job_id\": 9001, \"campaign_id\": 42, "    \
	"\"industry\": \"Tech\", \"location\": \"Hanoi\", \"impressions\": 1000, "                 \
	"\"clicks\": 25, \"apply_count\": 3, \"cost\": 0.1, \"quality_score\": 87, "               \
	"\"device\": \"mobile\"}"

/* The required fields other than publisher_name, for lines that vary it. */
#define REST_JSON                                                                                  \
	"\"ts\": \"2026-03-01T10:15:30.250Z\", \"publisher_id\": 17, \"job_id\": 9001, "           \
	"\"campaign_id\": 42, \"industry\": \"Tech\", \"location\": \"Hanoi\", "                   \
	"\"impressions\": 1000, \"clicks\": 25, \"apply_count\": 3, \"cost\": 0.1, "               \
	"\"quality_score\": 87, \"device\": \"mobile\""

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ev_str_eq(struct ev_str s, const char *want, size_t n)
{
	return s.n == n && memcmp(s.s, want, n) == 0;
}

/* Decode one JSON line into a fresh builder; the scratch is reset first. */
static int json(const char *line, struct ev_builder *b, struct strbuf *sb, char *why, size_t whylen)
{
	ev_builder_begin(b);
	strbuf_reset(sb);
	why[0] = '\0';
	return dec_json_object(line, strlen(line), b, sb, why, whylen);
}

/* Decode and finish; 0 when the whole record is valid. */
static int json_event(const char *line, struct ev_builder *b, struct strbuf *sb, char *why,
		      size_t whylen)
{
	if (json(line, b, sb, why, whylen))
		return -1;
	return ev_builder_finish(b, NOW_MS, NULL, why, whylen);
}

static void expect_malformed(const char *line)
{
	struct ev_builder b;
	struct strbuf sb = {0};
	char why[256];
	int rc = json(line, &b, &sb, why, sizeof(why));
	if (rc != -1 || !starts_with(why, "malformed JSON"))
		print_error("line '%s': rc %d, why '%s'\n", line, rc, why);
	assert_int_equal(rc, -1);
	assert_true(starts_with(why, "malformed JSON"));
	strbuf_release(&sb);
}

/* ---- JSON ---- */

static void test_json_valid(void **state)
{
	(void)state;
	struct ev_builder b;
	struct strbuf sb = {0};
	char why[256];
	int rc = json_event(VALID_JSON, &b, &sb, why, sizeof(why));
	if (rc)
		print_error("%s\n", why);
	assert_int_equal(rc, 0);
	assert_int_equal(b.ev.ts_ms, TS_MS);
	assert_int_equal(b.ev.publisher_id, 17);
	assert_true(ev_str_eq(b.ev.publisher_name, "Acme Jobs", 9));
	assert_true(ev_str_eq(b.ev.publisher_traffic, "HIGH", 4));
	assert_true(ev_str_eq(b.ev.publisher_quality, "LOW", 3));
	assert_int_equal(b.ev.bid, 250);
	assert_int_equal(b.ev.job_id, 9001);
	assert_int_equal(b.ev.campaign_id, 42);
	assert_true(ev_str_eq(b.ev.industry, "Tech", 4));
	assert_true(ev_str_eq(b.ev.location, "Hanoi", 5));
	assert_int_equal(b.ev.impressions, 1000);
	assert_int_equal(b.ev.clicks, 25);
	assert_int_equal(b.ev.apply_count, 3);
	assert_int_equal(b.ev.cost_micros, 100000); /* the exact text 0.1, not a double */
	assert_int_equal(b.ev.quality_score, 87);
	assert_true(ev_str_eq(b.ev.device, "mobile", 6));
	assert_int_equal(b.ev.hour, 10);
	assert_int_equal(b.ev.day_of_week, 7);
	strbuf_release(&sb);
}

static void test_json_cost_exact_text(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int64_t micros;
	} cases[] = {
	    {"0.1", 100000}, {"0.3", 300000},	   {"12.345678", 12345678},
	    {"1e-3", 1000},  {"1.5E2", 150000000}, {"0.0000005", 1},
	    {"0", 0},	     {"\"0.7\"", 700000},  {"123456.789012", 123456789012LL},
	    {"-0", 0},
	};
	struct strbuf sb = {0};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[1024];
		struct ev_builder b;
		char why[256];
		snprintf(line, sizeof(line), "{\"publisher_name\": \"A\", " REST_JSON "}");
		/* replace the cost in REST_JSON */
		char *c = strstr(line, "\"cost\": 0.1");
		assert_non_null(c);
		char tail[1024];
		snprintf(tail, sizeof(tail), "%s", c + strlen("\"cost\": 0.1"));
		snprintf(c, sizeof(line) - (size_t)(c - line), "\"cost\": %s%s", cases[i].text,
			 tail);
		int rc = json_event(line, &b, &sb, why, sizeof(why));
		if (rc)
			print_error("%s: %s\n", line, why);
		assert_int_equal(rc, 0);
		assert_int_equal(b.ev.cost_micros, cases[i].micros);
	}
	strbuf_release(&sb);
}

static void name_case(const char *json_value, const char *want, size_t want_n)
{
	char line[2048];
	struct ev_builder b;
	struct strbuf sb = {0};
	char why[256];
	snprintf(line, sizeof(line), "{\"publisher_name\": %s, " REST_JSON "}", json_value);
	int rc = json_event(line, &b, &sb, why, sizeof(why));
	if (rc)
		print_error("%s: %s\n", line, why);
	assert_int_equal(rc, 0);
	if (!ev_str_eq(b.ev.publisher_name, want, want_n))
		print_error("%s: got %u bytes '%.*s'\n", json_value, b.ev.publisher_name.n,
			    (int)b.ev.publisher_name.n, b.ev.publisher_name.s);
	assert_true(ev_str_eq(b.ev.publisher_name, want, want_n));
	/* the rest of the record is intact */
	assert_true(ev_str_eq(b.ev.industry, "Tech", 4));
	assert_true(ev_str_eq(b.ev.device, "mobile", 6));
	strbuf_release(&sb);
}

static void test_json_escapes(void **state)
{
	(void)state;
	name_case("\"A\\nB\"", "A\nB", 3);
	name_case("\"say \\\"hi\\\"\"", "say \"hi\"", 8);
	name_case("\"caf\\u00e9\"", "caf\xc3\xa9", 5);
	name_case("\"caf\\u00E9\"", "caf\xc3\xa9", 5);
	name_case("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);
	name_case("\"x\\ud83d\\ude00y\"", "x\xf0\x9f\x98\x80y", 6);
	name_case("\"\\u20ac\"", "\xe2\x82\xac", 3);
	name_case("\"a\\\\b\\/c\\td\"", "a\\b/c\td", 7);
	name_case("\"\\b\\f\\r\"", "\b\f\r", 3);
	/* raw UTF-8 passes through unchanged */
	name_case("\"caf\xc3\xa9\"", "caf\xc3\xa9", 5);
}

static void test_json_escaped_key_and_values(void **state)
{
	(void)state;
	/* a key written with an escape, and two escaped values sharing the scratch */
	const char *line = "{\"publisher_n\\u0061me\": \"P\\u00e9\", \"industry\": \"T\\u00e9ch\", "
			   "\"ts\": \"2026-03-01T10:15:30.250Z\", \"publisher_id\": 17, "
			   "\"job_id\": 9001, \"campaign_id\": 42, \"location\": \"L\\\"x\", "
			   "\"impressions\": 1000, \"clicks\": 25, \"apply_count\": 3, "
			   "\"cost\": 0.1, \"quality_score\": 87, \"device\": \"d\\n\"}";
	struct ev_builder b;
	struct strbuf sb = {0};
	char why[256];
	int rc = json_event(line, &b, &sb, why, sizeof(why));
	if (rc)
		print_error("%s\n", why);
	assert_int_equal(rc, 0);
	assert_true(ev_str_eq(b.ev.publisher_name, "P\xc3\xa9", 3));
	assert_true(ev_str_eq(b.ev.industry,
			      "T\xc3\xa9"
			      "ch",
			      5));
	assert_true(ev_str_eq(b.ev.location, "L\"x", 3));
	assert_true(ev_str_eq(b.ev.device, "d\n", 2));
	strbuf_release(&sb);
}

static void test_json_bad_escapes(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "\"\\ud83d\"",	  /* lone high surrogate */
	    "\"\\ud83dx\"",	  /* high surrogate then text */
	    "\"\\ud83d\\u0041\"", /* high surrogate then not a low one */
	    "\"\\ude00\"",	  /* lone low surrogate */
	    "\"\\x41\"",	  /* not a JSON escape */
	    "\"\\u00g9\"",	  /* bad hex */
	    "\"\\u00\"",	  /* short */
	    "\"\\u0000\"",	  /* NUL */
	    "\"a\tb\"",		  /* raw control character */
	    "\"a\\n\tb\"",	  /* raw control character after an escape */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[2048];
		snprintf(line, sizeof(line), "{\"publisher_name\": %s, " REST_JSON "}", bad[i]);
		expect_malformed(line);
	}
}

static void test_json_unknown_keys_ignored(void **state)
{
	(void)state;
	const char *line = "{\"extra\": \"x\", \"n\": 1.5e3, \"flag\": true, \"no\": false, "
			   "\"nothing\": null, \"esc\\u0041\": \"\\u00e9\", "
			   "\"publisher_name\": \"A\", " REST_JSON ", \"zzz\": -0}";
	struct ev_builder b;
	struct strbuf sb = {0};
	char why[256];
	int rc = json_event(line, &b, &sb, why, sizeof(why));
	if (rc)
		print_error("%s\n", why);
	assert_int_equal(rc, 0);
	assert_int_equal(b.ev.clicks, 25);
	strbuf_release(&sb);
}

static void test_json_nested_rejected(void **state)
{
	(void)state;
	struct ev_builder b;
	struct strbuf sb = {0};
	char why[256];
	assert_int_equal(
	    json("{\"publisher_name\": {\"a\": 1}, \"clicks\": 1}", &b, &sb, why, sizeof(why)), -1);
	assert_true(starts_with(why, "publisher_name:"));
	assert_non_null(strstr(why, "object"));
	assert_int_equal(json("{\"clicks\": [1, 2]}", &b, &sb, why, sizeof(why)), -1);
	assert_true(starts_with(why, "clicks:"));
	assert_non_null(strstr(why, "array"));
	/* nested values are rejected even under keys we do not know */
	assert_int_equal(json("{\"meta\": {}}", &b, &sb, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "object"));
	assert_int_equal(json("{\"tags\": []}", &b, &sb, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "array"));
	strbuf_release(&sb);
}

static void test_json_truncated(void **state)
{
	(void)state;
	const char *full = VALID_JSON;
	size_t n = strlen(full);
	struct strbuf sb = {0};
	/* every proper prefix of a valid line is malformed */
	for (size_t k = 0; k < n; k++) {
		struct ev_builder b;
		char why[256];
		ev_builder_begin(&b);
		strbuf_reset(&sb);
		why[0] = '\0';
		int rc = dec_json_object(full, k, &b, &sb, why, sizeof(why));
		if (rc != -1 || !starts_with(why, "malformed JSON"))
			print_error("prefix %zu '%.*s': rc %d why '%s'\n", k, (int)k, full, rc,
				    why);
		assert_int_equal(rc, -1);
		assert_true(starts_with(why, "malformed JSON"));
	}
	strbuf_release(&sb);
}

static void test_json_malformed(void **state)
{
	(void)state;
	expect_malformed("");
	expect_malformed("   ");
	expect_malformed("[]");
	expect_malformed("\"x\"");
	expect_malformed("{");
	expect_malformed("{\"clicks\": 1,}"); /* trailing comma */
	expect_malformed("{,}");
	expect_malformed("{\"clicks\" 1}"); /* missing colon */
	expect_malformed("{\"clicks\"}");
	expect_malformed("{\"clicks\":}");	      /* missing value */
	expect_malformed("{\"clicks\": 1 \"x\": 2}"); /* missing comma */
	expect_malformed("{\"clicks\": 1} x");	      /* text after the object */
	expect_malformed("{\"clicks\": 1}{}");
	expect_malformed("{\"clicks\": 1}}");
	expect_malformed("{clicks: 1}"); /* unquoted key */
	expect_malformed("{'clicks': 1}");
	expect_malformed("{\"clicks\": 01}"); /* leading zero */
	expect_malformed("{\"clicks\": 1.}"); /* no digits after the point */
	expect_malformed("{\"clicks\": .5}");
	expect_malformed("{\"clicks\": -}");
	expect_malformed("{\"clicks\": +1}");
	expect_malformed("{\"clicks\": 1e}");
	expect_malformed("{\"clicks\": 1e+}");
	expect_malformed("{\"clicks\": 0x10}");
	expect_malformed("{\"clicks\": NaN}");
	expect_malformed("{\"clicks\": tru}");
	expect_malformed("{\"clicks\": nul}");
	expect_malformed("{\"clicks\": True}");
	expect_malformed("{\"clicks\": 'x'}");
	expect_malformed("{\"clicks\": \"x}");
}

static void test_json_whitespace_and_empty(void **state)
{
	(void)state;
	struct ev_builder b;
	struct strbuf sb = {0};
	char why[256];
	/* whitespace anywhere between tokens */
	assert_int_equal(
	    json(" \t{ \"clicks\" :\t7 , \"impressions\"\r\n: 9 } \r\n", &b, &sb, why, sizeof(why)),
	    0);
	assert_int_equal(b.ev.clicks, 7);
	assert_int_equal(b.ev.impressions, 9);
	/* an empty object decodes, then the builder reports what is missing */
	assert_int_equal(json("{}", &b, &sb, why, sizeof(why)), 0);
	assert_int_equal(ev_builder_finish(&b, NOW_MS, NULL, why, sizeof(why)), -1);
	assert_true(starts_with(why, "ts:"));
	assert_non_null(strstr(why, "missing"));
	strbuf_release(&sb);
}

static void test_json_null_values(void **state)
{
	(void)state;
	struct ev_builder b;
	struct strbuf sb = {0};
	char why[256];
	/* null for optional fields is fine */
	int rc = json_event(
	    "{\"publisher_name\": \"A\", \"publisher_traffic\": null, "
	    "\"publisher_quality\": null, \"bid\": null, \"event_id\": null, " REST_JSON "}",
	    &b, &sb, why, sizeof(why));
	if (rc)
		print_error("%s\n", why);
	assert_int_equal(rc, 0);
	assert_int_equal(b.ev.publisher_traffic.n, 0);
	assert_int_equal(b.ev.publisher_quality.n, 0);
	assert_int_equal(b.ev.bid, -1);
	assert_int_equal(strlen(b.ev.event_id), EV_UUID_LEN);
	/* null for a required one decodes, then is reported missing */
	assert_int_equal(
	    json("{\"publisher_name\": null, " REST_JSON "}", &b, &sb, why, sizeof(why)), 0);
	assert_int_equal(ev_builder_finish(&b, NOW_MS, NULL, why, sizeof(why)), -1);
	assert_true(starts_with(why, "publisher_name:"));
	assert_non_null(strstr(why, "missing"));
	strbuf_release(&sb);
}

static void test_json_types_and_duplicates(void **state)
{
	(void)state;
	struct ev_builder b;
	struct strbuf sb = {0};
	char why[256];
	assert_int_equal(json("{\"clicks\": \"25\"}", &b, &sb, why, sizeof(why)), -1);
	assert_true(starts_with(why, "clicks:"));
	assert_non_null(strstr(why, "string"));
	assert_int_equal(json("{\"clicks\": true}", &b, &sb, why, sizeof(why)), -1);
	assert_true(starts_with(why, "clicks:"));
	assert_non_null(strstr(why, "boolean"));
	assert_int_equal(json("{\"industry\": 5}", &b, &sb, why, sizeof(why)), -1);
	assert_true(starts_with(why, "industry:"));
	assert_int_equal(json("{\"clicks\": 1.5}", &b, &sb, why, sizeof(why)), -1);
	assert_true(starts_with(why, "clicks:"));
	assert_int_equal(json("{\"clicks\": 1, \"clicks\": 1}", &b, &sb, why, sizeof(why)), -1);
	assert_true(starts_with(why, "clicks:"));
	assert_non_null(strstr(why, "twice"));
	strbuf_release(&sb);
}

/* ---- CSV: csv_split ---- */

static int split(const char *text, char *buf, size_t bufsz, char **f, size_t *l, int max, char *why)
{
	size_t n = strlen(text);
	assert_true(n < bufsz);
	memcpy(buf, text, n + 1);
	why[0] = '\0';
	return csv_split(buf, n, f, l, max, why, 256);
}

#define FIELD_IS(i, str) (l[i] == strlen(str) && memcmp(f[i], str, l[i]) == 0)

static void test_csv_split_plain(void **state)
{
	(void)state;
	char buf[256], why[256], *f[16];
	size_t l[16];
	assert_int_equal(split("a,b,c", buf, sizeof(buf), f, l, 16, why), 3);
	assert_true(FIELD_IS(0, "a") && FIELD_IS(1, "b") && FIELD_IS(2, "c"));
	assert_int_equal(split("", buf, sizeof(buf), f, l, 16, why), 1);
	assert_int_equal(l[0], 0);
	assert_int_equal(split("a,,b", buf, sizeof(buf), f, l, 16, why), 3);
	assert_true(FIELD_IS(0, "a") && FIELD_IS(1, "") && FIELD_IS(2, "b"));
	assert_int_equal(split("a,", buf, sizeof(buf), f, l, 16, why), 2);
	assert_true(FIELD_IS(0, "a") && FIELD_IS(1, ""));
	assert_int_equal(split(",", buf, sizeof(buf), f, l, 16, why), 2);
	assert_true(FIELD_IS(0, "") && FIELD_IS(1, ""));
	assert_int_equal(split(" a , b ", buf, sizeof(buf), f, l, 16, why), 2);
	assert_true(FIELD_IS(0, " a ") && FIELD_IS(1, " b ")); /* data is not trimmed */
}

static void test_csv_split_quotes(void **state)
{
	(void)state;
	char buf[256], why[256], *f[16];
	size_t l[16];
	assert_int_equal(split("\"a,b\",c", buf, sizeof(buf), f, l, 16, why), 2);
	assert_true(FIELD_IS(0, "a,b") && FIELD_IS(1, "c"));
	assert_int_equal(split("x,\"say \"\"hi\"\"\",y", buf, sizeof(buf), f, l, 16, why), 3);
	assert_true(FIELD_IS(0, "x") && FIELD_IS(1, "say \"hi\"") && FIELD_IS(2, "y"));
	assert_int_equal(split("\"\"", buf, sizeof(buf), f, l, 16, why), 1);
	assert_true(FIELD_IS(0, ""));
	assert_int_equal(split("\"\"\"\"", buf, sizeof(buf), f, l, 16, why), 1);
	assert_true(FIELD_IS(0, "\""));
	assert_int_equal(split("\"\",\"\",", buf, sizeof(buf), f, l, 16, why), 3);
	assert_true(FIELD_IS(0, "") && FIELD_IS(1, "") && FIELD_IS(2, ""));
	assert_int_equal(split("\"line1\nline2\",z", buf, sizeof(buf), f, l, 16, why), 2);
	assert_true(FIELD_IS(0, "line1\nline2") && FIELD_IS(1, "z"));
	assert_int_equal(split("a,\"b\"", buf, sizeof(buf), f, l, 16, why), 2);
	assert_true(FIELD_IS(0, "a") && FIELD_IS(1, "b"));
}

static void test_csv_split_errors(void **state)
{
	(void)state;
	char buf[256], why[256], *f[16];
	size_t l[16];
	assert_int_equal(split("ab\"c,d", buf, sizeof(buf), f, l, 16, why), -1);
	assert_non_null(strstr(why, "stray quote"));
	assert_non_null(strstr(why, "column 1"));
	assert_int_equal(split("a,b\"", buf, sizeof(buf), f, l, 16, why), -1);
	assert_non_null(strstr(why, "column 2"));
	assert_int_equal(split("a,\"abc", buf, sizeof(buf), f, l, 16, why), -1);
	assert_non_null(strstr(why, "unterminated"));
	assert_int_equal(split("\"abc\"\"", buf, sizeof(buf), f, l, 16, why), -1);
	assert_non_null(strstr(why, "unterminated"));
	assert_int_equal(split("\"a\"b,c", buf, sizeof(buf), f, l, 16, why), -1);
	assert_true(strlen(why) > 0);
	/* column limit */
	assert_int_equal(split("a,b,c", buf, sizeof(buf), f, l, 3, why), 3);
	assert_int_equal(split("a,b,c,d", buf, sizeof(buf), f, l, 3, why), -1);
	assert_true(strlen(why) > 0);
}

static void test_csv_open_quote(void **state)
{
	(void)state;
	assert_int_equal(csv_open_quote("a,b", 3), 0);
	assert_int_equal(csv_open_quote("a,\"b", 4), 1);
	assert_int_equal(csv_open_quote("a,\"b\"", 5), 0);
	assert_int_equal(csv_open_quote("a,\"b\"\"c", 8), 1);
	assert_int_equal(csv_open_quote("", 0), 0);
}

/* ---- CSV: header and records ---- */

#define CSV_HEADER                                                                                 \
	"device,cost,quality_score,apply_count,clicks,impressions,location,industry,"              \
	"campaign_id,job_id,bid,publisher_quality,publisher_traffic,publisher_name,"               \
	"publisher_id,ts,extra_col,event_id"

static void test_csv_header_any_order(void **state)
{
	(void)state;
	static const int want[] = {EVF_DEVICE,
				   EVF_COST,
				   EVF_QUALITY_SCORE,
				   EVF_APPLY_COUNT,
				   EVF_CLICKS,
				   EVF_IMPRESSIONS,
				   EVF_LOCATION,
				   EVF_INDUSTRY,
				   EVF_CAMPAIGN_ID,
				   EVF_JOB_ID,
				   EVF_BID,
				   EVF_PUBLISHER_QUALITY,
				   EVF_PUBLISHER_TRAFFIC,
				   EVF_PUBLISHER_NAME,
				   EVF_PUBLISHER_ID,
				   EVF_TS,
				   -1,
				   EVF_EVENT_ID};
	char rec[] = CSV_HEADER;
	char why[256] = "";
	struct csv_header h;
	int rc = csv_header_parse(&h, rec, strlen(rec), why, sizeof(why));
	if (rc)
		print_error("%s\n", why);
	assert_int_equal(rc, 0);
	assert_int_equal(h.ncols, 18);
	for (int i = 0; i < 18; i++)
		assert_int_equal(h.field[i], want[i]);
	csv_header_release(&h);
	assert_null(h.field);
}

static void test_csv_header_minimal_and_extras(void **state)
{
	(void)state;
	char rec[] = "ts,publisher_id,publisher_name,job_id,campaign_id,industry,location,"
		     "impressions,clicks,apply_count,cost,quality_score,device";
	char rec2[] = "x1, ts ,publisher_id,\"publisher_name\",job_id,campaign_id,industry,"
		      "location,impressions,clicks,apply_count,cost,quality_score,device,,x2";
	char why[256];
	struct csv_header h;
	assert_int_equal(csv_header_parse(&h, rec, strlen(rec), why, sizeof(why)), 0);
	assert_int_equal(h.ncols, 13);
	assert_int_equal(h.field[0], EVF_TS);
	assert_int_equal(h.field[12], EVF_DEVICE);
	csv_header_release(&h);
	/* extra and empty columns ignored; names trimmed and unquoted */
	int rc = csv_header_parse(&h, rec2, strlen(rec2), why, sizeof(why));
	if (rc)
		print_error("%s\n", why);
	assert_int_equal(rc, 0);
	assert_int_equal(h.ncols, 16);
	assert_int_equal(h.field[0], -1);
	assert_int_equal(h.field[1], EVF_TS);
	assert_int_equal(h.field[3], EVF_PUBLISHER_NAME);
	assert_int_equal(h.field[14], -1);
	assert_int_equal(h.field[15], -1);
	csv_header_release(&h);
}

static void test_csv_header_missing_column(void **state)
{
	(void)state;
	static const char *const required[] = {
	    "ts",	"publisher_id",	 "publisher_name", "job_id", "campaign_id",
	    "industry", "location",	 "impressions",	   "clicks", "apply_count",
	    "cost",	"quality_score", "device",
	};
	size_t nreq = sizeof(required) / sizeof(required[0]);
	for (size_t skip = 0; skip < nreq; skip++) {
		char rec[512] = "", why[256] = "", want[64];
		struct csv_header h;
		size_t len = 0;
		for (size_t i = 0; i < nreq; i++) {
			if (i == skip)
				continue;
			len += (size_t)snprintf(rec + len, sizeof(rec) - len, "%s%s",
						len ? "," : "", required[i]);
		}
		assert_int_equal(csv_header_parse(&h, rec, len, why, sizeof(why)), -1);
		snprintf(want, sizeof(want), "column %s is missing", required[skip]);
		if (!strstr(why, want))
			print_error("without %s: '%s'\n", required[skip], why);
		assert_non_null(strstr(why, want));
		assert_null(h.field);
	}
}

static void test_csv_header_bom(void **state)
{
	(void)state;
	char rec[] = "\xef\xbb\xbfts,publisher_id,publisher_name,job_id,campaign_id,industry,"
		     "location,impressions,clicks,apply_count,cost,quality_score,device";
	char why[256] = "";
	struct csv_header h;
	int rc = csv_header_parse(&h, rec, strlen(rec), why, sizeof(why));
	if (rc)
		print_error("%s\n", why);
	assert_int_equal(rc, 0);
	assert_int_equal(h.ncols, 13);
	assert_int_equal(h.field[0], EVF_TS);
	csv_header_release(&h);
}

static void test_csv_header_errors(void **state)
{
	(void)state;
	char dup[] = "ts,ts,publisher_id,publisher_name,job_id,campaign_id,industry,location,"
		     "impressions,clicks,apply_count,cost,quality_score,device";
	char bad[] = "ts,\"publisher_id,publisher_name";
	char why[256] = "";
	struct csv_header h;
	assert_int_equal(csv_header_parse(&h, dup, strlen(dup), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "ts"));
	assert_non_null(strstr(why, "twice"));
	assert_int_equal(csv_header_parse(&h, bad, strlen(bad), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "unterminated"));
}

static void test_csv_record(void **state)
{
	(void)state;
	char hrec[] = CSV_HEADER;
	char rec[] = "mobile,0.1,87,3,25,1000,Hanoi,Tech,42,9001,,,HIGH,\"Acme, \"\"Jobs\"\"\",17,"
		     "2026-03-01T10:15:30.250Z,whatever,";
	char why[256] = "";
	struct csv_header h;
	struct ev_builder b;
	assert_int_equal(csv_header_parse(&h, hrec, strlen(hrec), why, sizeof(why)), 0);
	ev_builder_begin(&b);
	int rc = dec_csv_record(&h, rec, strlen(rec), &b, why, sizeof(why));
	if (rc)
		print_error("%s\n", why);
	assert_int_equal(rc, 0);
	rc = ev_builder_finish(&b, NOW_MS, NULL, why, sizeof(why));
	if (rc)
		print_error("%s\n", why);
	assert_int_equal(rc, 0);
	assert_int_equal(b.ev.ts_ms, TS_MS);
	assert_int_equal(b.ev.cost_micros, 100000);
	assert_int_equal(b.ev.quality_score, 87);
	assert_int_equal(b.ev.impressions, 1000);
	assert_int_equal(b.ev.campaign_id, 42);
	assert_int_equal(b.ev.bid, -1);		       /* empty cell: absent */
	assert_int_equal(b.ev.publisher_quality.n, 0); /* empty cell: absent */
	assert_true(ev_str_eq(b.ev.publisher_traffic, "HIGH", 4));
	assert_true(ev_str_eq(b.ev.publisher_name, "Acme, \"Jobs\"", 12));
	assert_int_equal(strlen(b.ev.event_id), EV_UUID_LEN); /* generated */
	csv_header_release(&h);
}

static void test_csv_record_errors(void **state)
{
	(void)state;
	char hrec[] = CSV_HEADER;
	char why[256] = "";
	struct csv_header h;
	struct ev_builder b;
	assert_int_equal(csv_header_parse(&h, hrec, strlen(hrec), why, sizeof(why)), 0);

	/* one column short, one too many */
	char shortrec[] = "mobile,0.1,87,3,25,1000,Hanoi,Tech,42,9001,,,HIGH,Acme,17,"
			  "2026-03-01T10:15:30.250Z,whatever";
	ev_builder_begin(&b);
	assert_int_equal(dec_csv_record(&h, shortrec, strlen(shortrec), &b, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "expected 18 columns"));
	assert_non_null(strstr(why, "got 17"));
	char longrec[] = "mobile,0.1,87,3,25,1000,Hanoi,Tech,42,9001,,,HIGH,Acme,17,"
			 "2026-03-01T10:15:30.250Z,whatever,,extra";
	ev_builder_begin(&b);
	assert_int_equal(dec_csv_record(&h, longrec, strlen(longrec), &b, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "got 19"));

	/* a bad value names its field */
	char badval[] = "mobile,0.1,87,3,-25,1000,Hanoi,Tech,42,9001,,,HIGH,Acme,17,"
			"2026-03-01T10:15:30.250Z,whatever,";
	ev_builder_begin(&b);
	assert_int_equal(dec_csv_record(&h, badval, strlen(badval), &b, why, sizeof(why)), -1);
	assert_true(starts_with(why, "clicks:"));

	/* a quoting error */
	char badq[] = "mobile,0.1,87,3,25,1000,Ha\"noi,Tech,42,9001,,,HIGH,Acme,17,"
		      "2026-03-01T10:15:30.250Z,whatever,";
	ev_builder_begin(&b);
	assert_int_equal(dec_csv_record(&h, badq, strlen(badq), &b, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "stray quote"));

	/* an empty required cell is reported missing by finish */
	char empty[] = "mobile,0.1,87,3,25,1000,Hanoi,,42,9001,,,HIGH,Acme,17,"
		       "2026-03-01T10:15:30.250Z,whatever,";
	ev_builder_begin(&b);
	assert_int_equal(dec_csv_record(&h, empty, strlen(empty), &b, why, sizeof(why)), 0);
	assert_int_equal(ev_builder_finish(&b, NOW_MS, NULL, why, sizeof(why)), -1);
	assert_true(starts_with(why, "industry:"));
	assert_non_null(strstr(why, "missing"));
	csv_header_release(&h);
}

/* ---- line_reader ---- */

enum src_kind { SRC_FILE, SRC_PIPE };

struct src {
	int fd;
	pid_t child;
};

static struct src open_src(enum src_kind kind, const char *data, size_t n)
{
	struct src s = {-1, -1};
	if (kind == SRC_FILE) {
		char path[] = "/tmp/jobads_test_decode_XXXXXX";
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		unlink(path);
		size_t off = 0;
		while (off < n) {
			ssize_t w = write(fd, data + off, n - off);
			assert_true(w > 0);
			off += (size_t)w;
		}
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		s.fd = fd;
		return s;
	}
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		size_t off = 0;
		/* small, uneven writes so lines arrive split across reads */
		while (off < n) {
			size_t chunk = n - off < 7777 ? n - off : 7777;
			ssize_t w = write(p[1], data + off, chunk);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		close(p[1]);
		_exit(0);
	}
	close(p[1]);
	s.fd = p[0];
	s.child = pid;
	return s;
}

static void close_src(struct src *s)
{
	close(s->fd);
	if (s->child > 0) {
		int st = 0;
		assert_int_equal(waitpid(s->child, &st, 0), s->child);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

static void expect_line(struct line_reader *r, const char *want, long lineno)
{
	const char *p = NULL;
	size_t n = 0;
	int too_long = -1;
	int rc = line_reader_next(r, &p, &n, &too_long);
	assert_int_equal(rc, 1);
	assert_int_equal(too_long, 0);
	assert_non_null(p);
	if (n != strlen(want) || memcmp(p, want, n) != 0)
		print_error("line %ld: got '%.*s', want '%s'\n", lineno, (int)(n > 80 ? 80 : n), p,
			    want);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(p, want, n);
	assert_int_equal(r->lineno, lineno);
}

static void expect_too_long(struct line_reader *r, size_t len, long lineno)
{
	const char *p = (const char *)1;
	size_t n = 0;
	int too_long = 0;
	assert_int_equal(line_reader_next(r, &p, &n, &too_long), 1);
	assert_int_equal(too_long, 1);
	assert_null(p);
	assert_int_equal(n, len);
	assert_int_equal(r->lineno, lineno);
}

static void expect_end(struct line_reader *r)
{
	const char *p;
	size_t n;
	int too_long;
	assert_int_equal(line_reader_next(r, &p, &n, &too_long), 0);
	assert_int_equal(line_reader_next(r, &p, &n, &too_long), 0); /* and stays there */
}

static void run_crlf(enum src_kind kind)
{
	const char *data = "first\r\nsecond\n\r\n\nlast \r";
	struct src s = open_src(kind, data, strlen(data));
	struct line_reader r;
	line_reader_init(&r, s.fd);
	expect_line(&r, "first", 1);
	expect_line(&r, "second", 2);
	expect_line(&r, "", 3);
	expect_line(&r, "", 4);
	expect_line(&r, "last ", 5); /* no newline, trailing \r still dropped */
	expect_end(&r);
	line_reader_release(&r);
	close_src(&s);
}

static void test_reader_crlf_file(void **state)
{
	(void)state;
	run_crlf(SRC_FILE);
}

static void test_reader_crlf_pipe(void **state)
{
	(void)state;
	run_crlf(SRC_PIPE);
}

static void test_reader_last_line_no_newline(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		const char *data = "a\nbc";
		struct src s = open_src(k ? SRC_PIPE : SRC_FILE, data, strlen(data));
		struct line_reader r;
		line_reader_init(&r, s.fd);
		expect_line(&r, "a", 1);
		expect_line(&r, "bc", 2);
		expect_end(&r);
		line_reader_release(&r);
		close_src(&s);
	}
}

static void test_reader_empty(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		struct src s = open_src(k ? SRC_PIPE : SRC_FILE, "", 0);
		struct line_reader r;
		line_reader_init(&r, s.fd);
		expect_end(&r);
		assert_int_equal(r.lineno, 0);
		line_reader_release(&r);
		close_src(&s);
	}
	/* a lone newline is one empty line */
	struct src s = open_src(SRC_FILE, "\n", 1);
	struct line_reader r;
	line_reader_init(&r, s.fd);
	expect_line(&r, "", 1);
	expect_end(&r);
	line_reader_release(&r);
	close_src(&s);
}

/* data: "first\n" + L x 'x' + "\n" + "next\r\n" + tail */
static char *long_line_input(size_t L, const char *tail, size_t *n)
{
	size_t tl = strlen(tail);
	char *d = malloc(6 + L + 1 + 6 + tl);
	assert_non_null(d);
	memcpy(d, "first\n", 6);
	memset(d + 6, 'x', L);
	d[6 + L] = '\n';
	memcpy(d + 7 + L, "next\r\n", 6);
	memcpy(d + 13 + L, tail, tl);
	*n = 13 + L + tl;
	return d;
}

static void run_too_long(enum src_kind kind, size_t L)
{
	size_t n;
	char *d = long_line_input(L, "{\"last\": 1}", &n);
	struct src s = open_src(kind, d, n);
	struct line_reader r;
	line_reader_init(&r, s.fd);
	expect_line(&r, "first", 1);
	expect_too_long(&r, L, 2);
	expect_line(&r, "next", 3);
	expect_line(&r, "{\"last\": 1}", 4);
	expect_end(&r);
	line_reader_release(&r);
	close_src(&s);
	free(d);
}

static void test_reader_too_long(void **state)
{
	(void)state;
	/* just over the limit; and far larger than the reader's whole buffer */
	run_too_long(SRC_FILE, EV_MAX_RECORD + 1);
	run_too_long(SRC_PIPE, EV_MAX_RECORD + 1);
	run_too_long(SRC_FILE, 100000);
	run_too_long(SRC_PIPE, 100000);
	run_too_long(SRC_FILE, 3 * 1024 * 1024 + 17);
	run_too_long(SRC_PIPE, 3 * 1024 * 1024 + 17);
}

static void test_reader_exact_limit(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		size_t n;
		char *d = long_line_input(EV_MAX_RECORD, "", &n);
		struct src s = open_src(k ? SRC_PIPE : SRC_FILE, d, n);
		struct line_reader r;
		const char *p;
		size_t len;
		int too_long;
		line_reader_init(&r, s.fd);
		expect_line(&r, "first", 1);
		assert_int_equal(line_reader_next(&r, &p, &len, &too_long), 1);
		assert_int_equal(too_long, 0);
		assert_int_equal(len, EV_MAX_RECORD);
		assert_non_null(p);
		assert_int_equal(p[0], 'x');
		assert_int_equal(p[len - 1], 'x');
		expect_line(&r, "next", 3);
		expect_end(&r);
		line_reader_release(&r);
		close_src(&s);
		free(d);
	}
}

static void test_reader_too_long_at_eof(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		size_t L = 2 * 1024 * 1024;
		char *d = malloc(L + 3);
		assert_non_null(d);
		memcpy(d, "a\n", 2);
		memset(d + 2, 'y', L);
		struct src s = open_src(k ? SRC_PIPE : SRC_FILE, d, L + 2);
		struct line_reader r;
		line_reader_init(&r, s.fd);
		expect_line(&r, "a", 1);
		expect_too_long(&r, L, 2);
		expect_end(&r);
		line_reader_release(&r);
		close_src(&s);
		free(d);
	}
}

static void test_reader_many_lines(void **state)
{
	(void)state;
	/* ~2.5 MB of short lines: lines straddle the reader's buffer refills */
	struct strbuf sb = {0};
	const int count = 200000;
	for (int i = 0; i < count; i++)
		strbuf_addf(&sb, "line %d%s\n", i, i % 3 == 0 ? "\r" : "");
	for (int k = 0; k < 2; k++) {
		struct src s = open_src(k ? SRC_PIPE : SRC_FILE, sb.buf, sb.len);
		struct line_reader r;
		line_reader_init(&r, s.fd);
		for (int i = 0; i < count; i++) {
			char want[32];
			const char *p;
			size_t n;
			int too_long;
			snprintf(want, sizeof(want), "line %d", i);
			assert_int_equal(line_reader_next(&r, &p, &n, &too_long), 1);
			assert_int_equal(too_long, 0);
			assert_int_equal(n, strlen(want));
			assert_memory_equal(p, want, n);
		}
		assert_int_equal(r.lineno, count);
		expect_end(&r);
		line_reader_release(&r);
		close_src(&s);
	}
	strbuf_release(&sb);
}

static void test_reader_read_error(void **state)
{
	(void)state;
	struct line_reader r;
	const char *p;
	size_t n;
	int too_long;
	line_reader_init(&r, -1);
	assert_int_equal(line_reader_next(&r, &p, &n, &too_long), -1);
	assert_int_equal(r.err, EBADF);
	line_reader_release(&r);
}

/*
 * A pipe that stays open: the reader gives up at its deadline (LR_IDLE), keeps
 * what it has of a line, returns LR_STOPPED once the stop flag is set (the old
 * reader retried read() forever), and goes on afterwards.
 */
static void test_reader_idle_and_stop(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct line_reader r;
	volatile sig_atomic_t stop = 0;
	const char *s;
	size_t n;
	int too_long;
	line_reader_init(&r, p[0]);
	r.stop = &stop;
	assert_int_equal(write(p[1], "first\nhalf", 10), 10);
	r.deadline = time_mono() + 0.05;
	assert_int_equal(line_reader_next(&r, &s, &n, &too_long), LR_LINE);
	assert_int_equal(n, 5);
	double t0 = time_mono();
	assert_int_equal(line_reader_next(&r, &s, &n, &too_long), LR_IDLE);
	assert_true(time_mono() - t0 < 1.0);
	stop = 1;
	r.deadline = 0; /* no deadline: only the stop ends the wait */
	assert_int_equal(line_reader_next(&r, &s, &n, &too_long), LR_STOPPED);
	stop = 0;
	assert_int_equal(write(p[1], " line\n", 6), 6);
	assert_int_equal(line_reader_next(&r, &s, &n, &too_long), LR_LINE);
	assert_int_equal(n, 9);
	assert_memory_equal(s, "half line", 9);
	assert_int_equal(r.lineno, 2);
	close(p[1]);
	assert_int_equal(line_reader_next(&r, &s, &n, &too_long), LR_EOF);
	line_reader_release(&r);
	close(p[0]);
}

/* Joining a record's lines one at a time gives the state a rescan would. */
static void test_csv_quote_scan(void **state)
{
	(void)state;
	const char *lines[] = {"a,\"b", "c\"\"d", "", "e\",f", "\"g", "h\""};
	int inq = 0;
	struct strbuf joined = {0};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		inq = csv_quote_scan(lines[i], strlen(lines[i]), inq);
		if (i)
			strbuf_add(&joined, "\n", 1);
		strbuf_add(&joined, lines[i], strlen(lines[i]));
		assert_int_equal(inq, csv_open_quote(joined.buf, joined.len));
	}
	strbuf_release(&joined);
	assert_int_equal(inq, 0);
	assert_int_equal(csv_quote_scan(NULL, 0, 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reader_idle_and_stop),
	    cmocka_unit_test(test_csv_quote_scan),
	    cmocka_unit_test(test_json_valid),
	    cmocka_unit_test(test_json_cost_exact_text),
	    cmocka_unit_test(test_json_escapes),
	    cmocka_unit_test(test_json_escaped_key_and_values),
	    cmocka_unit_test(test_json_bad_escapes),
	    cmocka_unit_test(test_json_unknown_keys_ignored),
	    cmocka_unit_test(test_json_nested_rejected),
	    cmocka_unit_test(test_json_truncated),
	    cmocka_unit_test(test_json_malformed),
	    cmocka_unit_test(test_json_whitespace_and_empty),
	    cmocka_unit_test(test_json_null_values),
	    cmocka_unit_test(test_json_types_and_duplicates),
	    cmocka_unit_test(test_csv_split_plain),
	    cmocka_unit_test(test_csv_split_quotes),
	    cmocka_unit_test(test_csv_split_errors),
	    cmocka_unit_test(test_csv_open_quote),
	    cmocka_unit_test(test_csv_header_any_order),
	    cmocka_unit_test(test_csv_header_minimal_and_extras),
	    cmocka_unit_test(test_csv_header_missing_column),
	    cmocka_unit_test(test_csv_header_bom),
	    cmocka_unit_test(test_csv_header_errors),
	    cmocka_unit_test(test_csv_record),
	    cmocka_unit_test(test_csv_record_errors),
	    cmocka_unit_test(test_reader_crlf_file),
	    cmocka_unit_test(test_reader_crlf_pipe),
	    cmocka_unit_test(test_reader_last_line_no_newline),
	    cmocka_unit_test(test_reader_empty),
	    cmocka_unit_test(test_reader_too_long),
	    cmocka_unit_test(test_reader_exact_limit),
	    cmocka_unit_test(test_reader_too_long_at_eof),
	    cmocka_unit_test(test_reader_many_lines),
	    cmocka_unit_test(test_reader_read_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
