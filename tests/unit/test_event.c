/*
 * test_event.c - the tracking event: cost, UUID and UTF-8 helpers, and the
 * builder that applies every validation rule (include/jobads/event.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "jobads/event.h"
#include "jobads/util.h"

/* 2026-03-01T12:00:00Z, the "now" every builder test passes */
#define NOW_MS 1772366400000LL
/* 2026-03-01T10:15:30.250Z, a Sunday */
#define TS_MS 1772360130250LL

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- ev_parse_cost ---- */

static int64_t cost_ok(const char *s)
{
	int64_t m = -999;
	const char *why = "unset";
	int rc = ev_parse_cost(s, strlen(s), &m, &why);
	if (rc != 0)
		print_error("ev_parse_cost(\"%s\") failed: %s\n", s, why ? why : "(null)");
	assert_int_equal(rc, 0);
	assert_null(why);
	return m;
}

static const char *cost_bad(const char *s)
{
	int64_t m = -999;
	const char *why = NULL;
	int rc = ev_parse_cost(s, strlen(s), &m, &why);
	if (rc != -1)
		print_error("ev_parse_cost(\"%s\") accepted: %lld\n", s, (long long)m);
	assert_int_equal(rc, -1);
	assert_non_null(why);
	assert_int_equal(m, -999); /* untouched on failure */
	return why;
}

static void test_cost_exact_decimals(void **state)
{
	(void)state;
	assert_int_equal(cost_ok("0.1"), 100000);
	assert_int_equal(cost_ok("0.2"), 200000);
	assert_int_equal(cost_ok("0.3"), 300000);
	assert_int_equal(cost_ok("12.345678"), 12345678);
	assert_int_equal(cost_ok("12"), 12000000);
	assert_int_equal(cost_ok("12.5"), 12500000);
	assert_int_equal(cost_ok("0"), 0);
	assert_int_equal(cost_ok("0.000"), 0);
	assert_int_equal(cost_ok("000123.4"), 123400000);
	assert_int_equal(cost_ok("0.000001"), 1);
	assert_int_equal(cost_ok("+3"), 3000000);
	assert_int_equal(cost_ok("99999.999999"), 99999999999LL);
}

static void test_cost_exponents(void **state)
{
	(void)state;
	assert_int_equal(cost_ok("1e-3"), 1000);
	assert_int_equal(cost_ok("1.5E2"), 150000000);
	assert_int_equal(cost_ok("1e0"), 1000000);
	assert_int_equal(cost_ok("2.5e+1"), 25000000);
	assert_int_equal(cost_ok("1e-6"), 1);
	assert_int_equal(cost_ok("125e-3"), 125000);
	assert_int_equal(cost_ok("0.001e3"), 1000000);
	cost_bad("1e");
	cost_bad("1e+");
	cost_bad("1e1.5");
}

static void test_cost_rounding(void **state)
{
	(void)state;
	/* half up at the 7th decimal */
	assert_int_equal(cost_ok("0.0000005"), 1);
	assert_int_equal(cost_ok("0.0000004"), 0);
	assert_int_equal(cost_ok("0.00000049"), 0);
	assert_int_equal(cost_ok("0.00000095"), 1);
	assert_int_equal(cost_ok("0.0000015"), 2);
	assert_int_equal(cost_ok("1.2345675"), 1234568);
	assert_int_equal(cost_ok("1.2345674999"), 1234567);
	assert_int_equal(cost_ok("5e-7"), 1);
	assert_int_equal(cost_ok("4e-7"), 0);
}

static void test_cost_rounding_tiny(void **state)
{
	(void)state;
	/*
	 * Values far below half a micro round to 0: 0.00000005 is 0.05 micros,
	 * 0.0000000095 is 0.0095 micros, 5e-10 is 0.0005 micros. Every case is
	 * checked and reported before the test fails.
	 */
	static const char *const zero[] = {"0.00000005", "0.0000000095", "5e-10",
					   "9e-20",	 "0.0000000499", "0.00000000051"};
	int bad = 0;
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		int64_t m = -999;
		const char *why;
		int rc = ev_parse_cost(zero[i], strlen(zero[i]), &m, &why);
		if (rc != 0 || m != 0) {
			print_error("ev_parse_cost(\"%s\"): rc %d, %lld micros, want 0\n", zero[i],
				    rc, (long long)m);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_cost_sign(void **state)
{
	(void)state;
	const char *why = cost_bad("-1");
	assert_non_null(strstr(why, ">= 0"));
	cost_bad("-0.5");
	cost_bad("-0.0000001");
	assert_int_equal(cost_ok("-0"), 0);
	assert_int_equal(cost_ok("-0.000"), 0);
	cost_bad("-");
	cost_bad("--1");
	cost_bad("+-1");
}

static void test_cost_garbage(void **state)
{
	(void)state;
	static const char *const bad[] = {"abc", "",	 ".",	 "e5",	"1.2.3", "1,5",	 " 1",
					  "1 ",	 "0x10", "1e5x", "NaN", "inf",	 "1..2", "$1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cost_bad(bad[i]);
	/* only n bytes are read */
	int64_t m = 0;
	const char *why;
	assert_int_equal(ev_parse_cost("1.5abc", 3, &m, &why), 0);
	assert_int_equal(m, 1500000);
}

static void test_cost_range(void **state)
{
	(void)state;
	/* at most a million units (1e12 micros): the value the issue overflowed with is refused */
	const char *why = cost_bad("1e12");
	assert_non_null(strstr(why, "out of range (at most 1000000)"));
	cost_bad("1000000000000");
	cost_bad("1e7");
	assert_int_equal(cost_ok("1e6"), 1000000000000LL);
	assert_int_equal(cost_ok("1000000"), 1000000000000LL);
	assert_int_equal(cost_ok("999999.999999"), 999999999999LL);
	assert_int_equal(cost_ok("999999.9999994"), 999999999999LL);
	assert_int_equal(cost_ok("999999.9999995"), 1000000000000LL); /* rounds to the limit */
	cost_bad("1000000.0000005");				      /* and past it */
	cost_bad("1000000.000001");
	cost_bad("10000000000000");
	cost_bad("1e400");
	cost_bad("123456789012345678901234567890");
}

/* ---- ev_parse_uuid / ev_uuid_v4 ---- */

static void test_uuid_parse(void **state)
{
	(void)state;
	char out[EV_UUID_LEN + 1];
	const char *u = "123e4567-e89b-42d3-a456-426614174000";
	memset(out, 'x', sizeof(out));
	assert_int_equal(ev_parse_uuid(u, strlen(u), out), 0);
	assert_string_equal(out, u);

	const char *up = "123E4567-E89B-42D3-A456-4266141740AF";
	assert_int_equal(ev_parse_uuid(up, strlen(up), out), 0);
	assert_string_equal(out, "123e4567-e89b-42d3-a456-4266141740af");
}

static void test_uuid_parse_bad(void **state)
{
	(void)state;
	char out[EV_UUID_LEN + 1];
	static const char *const bad[] = {
	    "123e4567-e89b-42d3-a456-42661417400",   /* 35 */
	    "123e4567-e89b-42d3-a456-4266141740000", /* 37 */
	    "",
	    "123e4567-e89b-42d3-a456-42661417400g", /* bad hex */
	    "123e4567-e89b-42d3-a456-42661417400 ",
	    "123e456-7e89b-42d3-a456-426614174000", /* dash moved */
	    "123e4567e-89b-42d3-a456-426614174000",
	    "123e4567-e89b-42d3-a4564-26614174000",
	    "123e4567_e89b_42d3_a456_426614174000",
	    "123e4567-e89b-42d3-a456-4266141740-0",
	    "123e4567e89b42d3a456426614174000",	    /* no dashes */
	    "{23e4567-e89b-42d3-a456-426614174000", /* non-hex punctuation */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ev_parse_uuid(bad[i], strlen(bad[i]), out) != -1)
			print_error("ev_parse_uuid(\"%s\") accepted\n", bad[i]);
		assert_int_equal(ev_parse_uuid(bad[i], strlen(bad[i]), out), -1);
	}
}

static void check_uuid_format(const char *u, char version)
{
	assert_int_equal(strlen(u), EV_UUID_LEN);
	for (int i = 0; i < EV_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			assert_int_equal(u[i], '-');
			continue;
		}
		assert_true((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f'));
	}
	assert_int_equal(u[14], version);
	assert_true(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
	/* it is a UUID by our own parser too */
	char back[EV_UUID_LEN + 1];
	assert_int_equal(ev_parse_uuid(u, EV_UUID_LEN, back), 0);
	assert_string_equal(back, u);
}

static void test_uuid_v4_format(void **state)
{
	(void)state;
	char u[EV_UUID_LEN + 1];
	struct rng r;
	int variants[4] = {0, 0, 0, 0};
	rng_seed(&r, 1);
	for (int i = 0; i < 1000; i++) {
		ev_uuid_v4(u, &r);
		check_uuid_format(u, '4');
		variants[u[19] >= 'a' ? u[19] - 'a' + 2 : u[19] - '8']++;
	}
	/* all four variant nibbles occur */
	for (int i = 0; i < 4; i++)
		assert_true(variants[i] > 0);
	/* the OS source gives the same shape, and two calls differ */
	char v[EV_UUID_LEN + 1];
	ev_uuid_v4(u, NULL);
	ev_uuid_v4(v, NULL);
	check_uuid_format(u, '4');
	check_uuid_format(v, '4');
	assert_string_not_equal(u, v);
}

static void test_uuid_v4_reproducible(void **state)
{
	(void)state;
	struct rng a, b, c;
	char ua[EV_UUID_LEN + 1], ub[EV_UUID_LEN + 1], uc[EV_UUID_LEN + 1];
	rng_seed(&a, 12345);
	rng_seed(&b, 12345);
	rng_seed(&c, 12346);
	for (int i = 0; i < 10; i++) {
		ev_uuid_v4(ua, &a);
		ev_uuid_v4(ub, &b);
		ev_uuid_v4(uc, &c);
		assert_string_equal(ua, ub);
		assert_string_not_equal(ua, uc);
	}
	/* successive values from one stream differ */
	rng_seed(&a, 12345);
	ev_uuid_v4(ua, &a);
	ev_uuid_v4(ub, &a);
	assert_string_not_equal(ua, ub);
}

/* ---- ev_utf8_len ---- */

static long u8(const char *s)
{
	return ev_utf8_len(s, strlen(s));
}

static void test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(u8(""), 0);
	assert_int_equal(u8("hello"), 5);
	assert_int_equal(u8("\xc3\xa9"), 1);	     /* é, 2 bytes */
	assert_int_equal(u8("caf\xc3\xa9"), 4);	     /* café */
	assert_int_equal(u8("\xe2\x82\xac"), 1);     /* €, 3 bytes */
	assert_int_equal(u8("\xf0\x9f\x98\x80"), 1); /* 😀, 4 bytes */
	assert_int_equal(u8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"), 5);
	assert_int_equal(u8("H\xc3\xa0 N\xe1\xbb\x99i"), 6); /* Hà Nội */
	assert_int_equal(u8("\xf4\x8f\xbf\xbf"), 1);	     /* U+10FFFF */
	assert_int_equal(u8("\xed\x9f\xbf"), 1);	     /* U+D7FF */
	assert_int_equal(u8("\xee\x80\x80"), 1);	     /* U+E000 */
}

static void test_utf8_invalid(void **state)
{
	(void)state;
	assert_int_equal(u8("\xc0\x80"), -1);	      /* overlong NUL */
	assert_int_equal(u8("\xc1\xbf"), -1);	      /* overlong 2-byte */
	assert_int_equal(u8("\xe0\x80\xaf"), -1);     /* overlong 3-byte */
	assert_int_equal(u8("\xf0\x8f\xbf\xbf"), -1); /* overlong 4-byte */
	assert_int_equal(u8("\xed\xa0\x80"), -1);     /* U+D800 surrogate */
	assert_int_equal(u8("\xed\xbf\xbf"), -1);     /* U+DFFF surrogate */
	assert_int_equal(u8("\xf4\x90\x80\x80"), -1); /* past U+10FFFF */
	assert_int_equal(u8("\xf8\x88\x80\x80\x80"), -1);
	assert_int_equal(u8("\xc3"), -1); /* truncated */
	assert_int_equal(u8("\xe2\x82"), -1);
	assert_int_equal(u8("\xf0\x9f\x98"), -1);
	assert_int_equal(u8("ab\xe2\x82"), -1);
	assert_int_equal(u8("\x80"), -1);     /* lone continuation */
	assert_int_equal(u8("\xc3\x28"), -1); /* bad continuation */
	assert_int_equal(u8("\xff"), -1);
	/* truncation judged by n, not by the bytes after it */
	assert_int_equal(ev_utf8_len("\xe2\x82\xac", 2), -1);
	assert_int_equal(ev_utf8_len("\xe2\x82\xac", 3), 1);
	/* NUL anywhere */
	assert_int_equal(ev_utf8_len("a\0b", 3), -1);
	assert_int_equal(ev_utf8_len("\0", 1), -1);
}

/* ---- field table ---- */

static void test_field_names(void **state)
{
	(void)state;
	assert_string_equal(ev_field_name(EVF_EVENT_ID), "event_id");
	assert_string_equal(ev_field_name(EVF_COST), "cost");
	assert_string_equal(ev_field_name(EVF_DAY_OF_WEEK), "day_of_week");
	for (int f = 0; f < EVF__COUNT; f++) {
		const char *n = ev_field_name((enum ev_field)f);
		assert_int_equal(ev_field_lookup(n, strlen(n)), f);
	}
	assert_int_equal(ev_field_lookup("nope", 4), -1);
	assert_int_equal(ev_field_lookup("cos", 3), -1);
	assert_int_equal(ev_field_lookup("costs", 5), -1);
	assert_int_equal(ev_field_lookup("COST", 4), -1);
	assert_int_equal(ev_field_lookup("costxyz", 4), EVF_COST);
}

/* ---- builder ---- */

struct kv {
	int f;
	const char *v;
	enum ev_kind k;
};

static const struct kv base_record[] = {
    {EVF_TS, "2026-03-01T10:15:30.250Z", EVK_STRING},
    {EVF_PUBLISHER_ID, "17", EVK_NUMBER},
    {EVF_PUBLISHER_NAME, "Acme Jobs", EVK_STRING},
    {EVF_PUBLISHER_TRAFFIC, "HIGH", EVK_STRING},
    {EVF_PUBLISHER_QUALITY, "MED", EVK_RAW},
    {EVF_BID, "250", EVK_NUMBER},
    {EVF_JOB_ID, "9001", EVK_RAW},
    {EVF_CAMPAIGN_ID, "42", EVK_NUMBER},
    {EVF_INDUSTRY, "Tech", EVK_STRING},
    {EVF_LOCATION, "H\xc3\xa0 N\xe1\xbb\x99i", EVK_STRING},
    {EVF_IMPRESSIONS, "1000", EVK_NUMBER},
    {EVF_CLICKS, "25", EVK_NUMBER},
    {EVF_APPLY_COUNT, "3", EVK_RAW},
    {EVF_COST, "12.5", EVK_NUMBER},
    {EVF_QUALITY_SCORE, "87", EVK_NUMBER},
    {EVF_DEVICE, "mobile", EVK_STRING},
};
#define NBASE (sizeof(base_record) / sizeof(base_record[0]))
/*
 * base_record's derived id, computed apart from this code: Python's
 * uuid.uuid5(UUID("88e27c8c-896f-416f-bee8-b623bfd3c7f9"), json.dumps(fields,
 * sort_keys=True, separators=(",", ":"), ensure_ascii=False)), fields as in BASE_CANON.
 */
#define BASE_ID "d2f874e9-313a-501c-a8fa-b566144cc83c"
#define BASE_CANON                                                                                 \
	"{\"apply_count\":3,\"bid\":250,\"campaign_id\":42,\"clicks\":25,\"cost_micros\":"         \
	"12500000,\"device\":\"mobile\",\"impressions\":1000,\"industry\":\"Tech\",\"job_id\":"    \
	"9001,\"location\":\"H\xc3\xa0 N\xe1\xbb\x99i\",\"publisher_id\":17,\"publisher_name\":"   \
	"\"Acme Jobs\",\"publisher_quality\":\"MED\",\"publisher_traffic\":\"HIGH\","              \
	"\"quality_score\":87,\"ts_ms\":1772360130250}"

enum { STAGE_OK, STAGE_SET, STAGE_FINISH };

/*
 * Feed the base record, with field `over` replaced by (v, k) (or left out when
 * v is NULL), then finish. Returns the stage that failed, with the reason in why.
 */
static int build_over(struct ev_builder *b, int over, const char *v, enum ev_kind k, int64_t now_ms,
		      char *why, size_t whylen)
{
	struct rng r;
	rng_seed(&r, 99);
	why[0] = '\0';
	ev_builder_begin(b);
	for (size_t i = 0; i < NBASE; i++) {
		const char *val = base_record[i].v;
		enum ev_kind kind = base_record[i].k;
		if (base_record[i].f == over) {
			if (!v)
				continue;
			val = v;
			kind = k;
		}
		if (ev_builder_set(b, base_record[i].f, val, strlen(val), kind, why, whylen))
			return STAGE_SET;
	}
	if (ev_builder_finish(b, now_ms, &r, why, whylen))
		return STAGE_FINISH;
	return STAGE_OK;
}

static int ev_str_eq(struct ev_str s, const char *want)
{
	return s.n == strlen(want) && memcmp(s.s, want, s.n) == 0;
}

static void test_builder_full_record(void **state)
{
	(void)state;
	struct ev_builder b;
	char why[256];
	int stage = build_over(&b, -1, NULL, EVK_NULL, NOW_MS, why, sizeof(why));
	if (stage != STAGE_OK)
		print_error("unexpected failure: %s\n", why);
	assert_int_equal(stage, STAGE_OK);
	const struct event *ev = &b.ev;
	assert_int_equal(ev->ts_ms, TS_MS);
	assert_int_equal(ev->publisher_id, 17);
	assert_true(ev_str_eq(ev->publisher_name, "Acme Jobs"));
	assert_true(ev_str_eq(ev->publisher_traffic, "HIGH"));
	assert_true(ev_str_eq(ev->publisher_quality, "MED"));
	assert_int_equal(ev->bid, 250);
	assert_int_equal(ev->job_id, 9001);
	assert_int_equal(ev->campaign_id, 42);
	assert_true(ev_str_eq(ev->industry, "Tech"));
	assert_true(ev_str_eq(ev->location, "H\xc3\xa0 N\xe1\xbb\x99i"));
	assert_int_equal(ev->impressions, 1000);
	assert_int_equal(ev->clicks, 25);
	assert_int_equal(ev->apply_count, 3);
	assert_int_equal(ev->cost_micros, 12500000);
	assert_int_equal(ev->quality_score, 87);
	assert_true(ev_str_eq(ev->device, "mobile"));
	assert_int_equal(ev->seq, 0);
	/* derived from ts: 10:15 UTC on a Sunday */
	assert_int_equal(ev->hour, 10);
	assert_int_equal(ev->day_of_week, 7);
	/* no event_id given: derived from the values (test_derived_id_* below) */
	check_uuid_format(ev->event_id, '5');
	assert_string_equal(ev->event_id, BASE_ID);
}

static void test_builder_event_id_given(void **state)
{
	(void)state;
	struct ev_builder b;
	char why[256];
	const char *id = "ABCDEF01-2345-4789-8BCD-EF0123456789";
	ev_builder_begin(&b);
	assert_int_equal(
	    ev_builder_set(&b, EVF_EVENT_ID, id, strlen(id), EVK_STRING, why, sizeof(why)), 0);
	for (size_t i = 0; i < NBASE; i++)
		assert_int_equal(ev_builder_set(&b, base_record[i].f, base_record[i].v,
						strlen(base_record[i].v), base_record[i].k, why,
						sizeof(why)),
				 0);
	assert_int_equal(ev_builder_finish(&b, NOW_MS, NULL, why, sizeof(why)), 0);
	assert_string_equal(b.ev.event_id, "abcdef01-2345-4789-8bcd-ef0123456789");

	ev_builder_begin(&b);
	assert_int_equal(
	    ev_builder_set(&b, EVF_EVENT_ID, "not-a-uuid", 10, EVK_STRING, why, sizeof(why)), -1);
	assert_true(starts_with(why, "event_id:"));
	ev_builder_begin(&b);
	assert_int_equal(ev_builder_set(&b, EVF_EVENT_ID, "12", 2, EVK_NUMBER, why, sizeof(why)),
			 -1);
	assert_true(starts_with(why, "event_id:"));
}

static void test_builder_same_record_same_id(void **state)
{
	(void)state;
	struct ev_builder b1, b2;
	char why[256];
	/* a retried record without an id must not become a second event */
	for (int k = 0; k < 2; k++) {
		struct ev_builder *b = k ? &b2 : &b1;
		ev_builder_begin(b);
		for (size_t i = 0; i < NBASE; i++)
			assert_int_equal(ev_builder_set(b, base_record[i].f, base_record[i].v,
							strlen(base_record[i].v), base_record[i].k,
							why, sizeof(why)),
					 0);
		assert_int_equal(ev_builder_finish(b, NOW_MS, NULL, why, sizeof(why)), 0);
		check_uuid_format(b->ev.event_id, '5');
	}
	assert_string_equal(b1.ev.event_id, b2.ev.event_id);
}

static void test_builder_missing_each_required(void **state)
{
	(void)state;
	static const int required[] = {
	    EVF_TS,	  EVF_PUBLISHER_ID,  EVF_PUBLISHER_NAME, EVF_JOB_ID, EVF_CAMPAIGN_ID,
	    EVF_INDUSTRY, EVF_LOCATION,	     EVF_IMPRESSIONS,	 EVF_CLICKS, EVF_APPLY_COUNT,
	    EVF_COST,	  EVF_QUALITY_SCORE, EVF_DEVICE,
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		struct ev_builder b;
		char why[256], want[64];
		int f = required[i];
		assert_int_equal(build_over(&b, f, NULL, EVK_NULL, NOW_MS, why, sizeof(why)),
				 STAGE_FINISH);
		snprintf(want, sizeof(want), "%s:", ev_field_name((enum ev_field)f));
		if (!starts_with(why, want) || !strstr(why, "missing"))
			print_error("field %s: got '%s'\n", want, why);
		assert_true(starts_with(why, want));
		assert_non_null(strstr(why, "missing"));
	}
}

static void test_builder_optional_absent(void **state)
{
	(void)state;
	static const int optional[] = {EVF_PUBLISHER_TRAFFIC, EVF_PUBLISHER_QUALITY, EVF_BID};
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		struct ev_builder b;
		char why[256];
		/* left out, JSON null, empty CSV cell: all the same */
		assert_int_equal(
		    build_over(&b, optional[i], NULL, EVK_NULL, NOW_MS, why, sizeof(why)),
		    STAGE_OK);
		assert_int_equal(
		    build_over(&b, optional[i], "null", EVK_NULL, NOW_MS, why, sizeof(why)),
		    STAGE_OK);
		assert_int_equal(build_over(&b, optional[i], "", EVK_RAW, NOW_MS, why, sizeof(why)),
				 STAGE_OK);
		if (optional[i] == EVF_BID)
			assert_int_equal(b.ev.bid, -1);
		else if (optional[i] == EVF_PUBLISHER_TRAFFIC)
			assert_int_equal(b.ev.publisher_traffic.n, 0);
		else
			assert_int_equal(b.ev.publisher_quality.n, 0);
	}
	/* null for a required field is the same as missing */
	struct ev_builder b;
	char why[256];
	assert_int_equal(build_over(&b, EVF_CLICKS, "null", EVK_NULL, NOW_MS, why, sizeof(why)),
			 STAGE_FINISH);
	assert_true(starts_with(why, "clicks:"));
	assert_non_null(strstr(why, "missing"));
}

/* Expect the set of field f with (v, k) to fail with a reason naming f and holding `has`. */
static void expect_set_fail(int f, const char *v, enum ev_kind k, const char *has)
{
	struct ev_builder b;
	char why[256], want[64];
	int stage = build_over(&b, f, v, k, NOW_MS, why, sizeof(why));
	snprintf(want, sizeof(want), "%s:", ev_field_name((enum ev_field)f));
	if (stage != STAGE_SET || !starts_with(why, want) || (has && !strstr(why, has)))
		print_error("%s = '%.60s': stage %d, why '%s'\n", want, v, stage, why);
	assert_int_equal(stage, STAGE_SET);
	assert_true(starts_with(why, want));
	if (has)
		assert_non_null(strstr(why, has));
}

static void expect_ok(int f, const char *v, enum ev_kind k)
{
	struct ev_builder b;
	char why[256];
	int stage = build_over(&b, f, v, k, NOW_MS, why, sizeof(why));
	if (stage != STAGE_OK)
		print_error("%s = '%.60s': stage %d, why '%s'\n", ev_field_name((enum ev_field)f),
			    v, stage, why);
	assert_int_equal(stage, STAGE_OK);
}

static void test_builder_counts(void **state)
{
	(void)state;
	expect_set_fail(EVF_CLICKS, "-1", EVK_NUMBER, ">= 0");
	expect_set_fail(EVF_IMPRESSIONS, "-5", EVK_RAW, ">= 0");
	expect_set_fail(EVF_APPLY_COUNT, "-1", EVK_NUMBER, ">= 0");
	expect_set_fail(EVF_IMPRESSIONS, "1000000001", EVK_NUMBER, NULL);
	expect_set_fail(EVF_CLICKS, "1000000001", EVK_NUMBER, NULL);
	expect_ok(EVF_IMPRESSIONS, "1000000000", EVK_NUMBER);
	expect_ok(EVF_CLICKS, "0", EVK_NUMBER);
	expect_set_fail(EVF_CLICKS, "1.5", EVK_NUMBER, NULL);
	expect_set_fail(EVF_CLICKS, "1e3", EVK_NUMBER, NULL);
	expect_set_fail(EVF_CLICKS, "abc", EVK_RAW, NULL);
	expect_set_fail(EVF_CLICKS, "99999999999999999999", EVK_NUMBER, NULL);
}

static void test_builder_quality_score(void **state)
{
	(void)state;
	expect_set_fail(EVF_QUALITY_SCORE, "101", EVK_NUMBER, "101");
	expect_set_fail(EVF_QUALITY_SCORE, "-1", EVK_NUMBER, NULL);
	expect_ok(EVF_QUALITY_SCORE, "100", EVK_NUMBER);
	expect_ok(EVF_QUALITY_SCORE, "0", EVK_NUMBER);
}

static void test_builder_ids(void **state)
{
	(void)state;
	expect_set_fail(EVF_PUBLISHER_ID, "0", EVK_NUMBER, NULL);
	expect_set_fail(EVF_PUBLISHER_ID, "-3", EVK_NUMBER, NULL);
	expect_set_fail(EVF_PUBLISHER_ID, "2147483648", EVK_NUMBER, NULL);
	expect_ok(EVF_PUBLISHER_ID, "2147483647", EVK_NUMBER);
	expect_set_fail(EVF_JOB_ID, "0", EVK_RAW, NULL);
	expect_set_fail(EVF_CAMPAIGN_ID, "0", EVK_NUMBER, NULL);
	expect_set_fail(EVF_BID, "-1", EVK_NUMBER, ">= 0");
	expect_ok(EVF_BID, "0", EVK_NUMBER);
	expect_ok(EVF_BID, "1000000", EVK_NUMBER);
	/* an event's ts is judged by the same calendar as every other time */
	expect_set_fail(EVF_TS, "2025-02-29T10:00:00Z", EVK_STRING, "day out of range");
	expect_set_fail(EVF_TS, "2026-04-31T10:00:00Z", EVK_RAW, "day out of range");
	expect_set_fail(EVF_TS, "2026-03-01T24:00:00Z", EVK_STRING, "out of range");
	expect_set_fail(EVF_TS, "2026-03-01T10:15:60Z", EVK_STRING, "leap second");
	expect_set_fail(EVF_BID, "1000001", EVK_NUMBER, "out of range 0..1000000");
	expect_set_fail(EVF_BID, "2147483647", EVK_NUMBER, NULL);
	expect_ok(EVF_CLICKS, "1000000000", EVK_NUMBER);
	expect_set_fail(EVF_CLICKS, "1000000001", EVK_NUMBER, "out of range");
	expect_set_fail(EVF_APPLY_COUNT, "1000000001", EVK_NUMBER, "out of range");
	expect_set_fail(EVF_IMPRESSIONS, "9223372036854775807", EVK_NUMBER, "out of range");
}

static void test_builder_text_lengths(void **state)
{
	(void)state;
	char s[256];
	memset(s, 'a', sizeof(s));
	s[201] = '\0';
	expect_set_fail(EVF_PUBLISHER_NAME, s, EVK_STRING, "length");
	s[200] = '\0';
	expect_ok(EVF_PUBLISHER_NAME, s, EVK_STRING);
	memset(s, 'a', sizeof(s));
	s[101] = '\0';
	expect_set_fail(EVF_INDUSTRY, s, EVK_STRING, "length");
	expect_set_fail(EVF_LOCATION, s, EVK_RAW, "length");
	s[100] = '\0';
	expect_ok(EVF_INDUSTRY, s, EVK_STRING);
	memset(s, 'a', sizeof(s));
	s[51] = '\0';
	expect_set_fail(EVF_DEVICE, s, EVK_STRING, "length");
	s[50] = '\0';
	expect_ok(EVF_DEVICE, s, EVK_STRING);
	/* length is in characters, not bytes: 50 two-byte characters fit a device */
	char d[128] = "";
	for (int i = 0; i < 50; i++)
		memcpy(d + 2 * i, "\xc3\xa9", 3);
	assert_int_equal(strlen(d), 100);
	expect_ok(EVF_DEVICE, d, EVK_STRING);
	/* bad UTF-8 */
	expect_set_fail(EVF_INDUSTRY, "Te\xc3", EVK_STRING, "UTF-8");
}

static void test_builder_empty_text(void **state)
{
	(void)state;
	expect_set_fail(EVF_PUBLISHER_NAME, "", EVK_STRING, "length");
	expect_set_fail(EVF_INDUSTRY, "", EVK_STRING, "length");
	expect_set_fail(EVF_LOCATION, "", EVK_STRING, "length");
	expect_set_fail(EVF_DEVICE, "", EVK_STRING, "length");
}

static void test_builder_levels(void **state)
{
	(void)state;
	expect_set_fail(EVF_PUBLISHER_TRAFFIC, "VERY", EVK_STRING, "VERY");
	expect_set_fail(EVF_PUBLISHER_QUALITY, "high", EVK_RAW, NULL);
	expect_set_fail(EVF_PUBLISHER_QUALITY, "3", EVK_NUMBER, NULL);
	expect_ok(EVF_PUBLISHER_TRAFFIC, "LOW", EVK_STRING);
	expect_ok(EVF_PUBLISHER_QUALITY, "HIGH", EVK_RAW);
}

static void test_builder_ts_window(void **state)
{
	(void)state;
	struct ev_builder b;
	char why[256];
	/* before 2000 */
	assert_int_equal(build_over(&b, EVF_TS, "1999-12-31T23:59:59.999Z", EVK_STRING, NOW_MS, why,
				    sizeof(why)),
			 STAGE_FINISH);
	assert_true(starts_with(why, "ts:"));
	assert_non_null(strstr(why, "2000"));
	assert_int_equal(
	    build_over(&b, EVF_TS, "2000-01-01T00:00:00Z", EVK_STRING, NOW_MS, why, sizeof(why)),
	    STAGE_OK);
	assert_int_equal(
	    build_over(&b, EVF_TS, "946684799999", EVK_NUMBER, NOW_MS, why, sizeof(why)),
	    STAGE_FINISH);
	assert_true(starts_with(why, "ts:"));
	/* the future, relative to the now_ms passed, not the clock */
	assert_int_equal(
	    build_over(&b, EVF_TS, "2026-03-01T13:00:00Z", EVK_STRING, NOW_MS, why, sizeof(why)),
	    STAGE_OK);
	assert_int_equal(build_over(&b, EVF_TS, "2026-03-01T13:00:00.001Z", EVK_STRING, NOW_MS, why,
				    sizeof(why)),
			 STAGE_FINISH);
	assert_true(starts_with(why, "ts:"));
	assert_non_null(strstr(why, "future"));
	assert_int_equal(build_over(&b, EVF_TS, "2026-03-01T13:00:00.001Z", EVK_STRING, NOW_MS + 1,
				    why, sizeof(why)),
			 STAGE_OK);
	/* a now far in the past makes today's record "future" */
	assert_int_equal(build_over(&b, EVF_TS, "2026-03-01T10:15:30.250Z", EVK_STRING,
				    946684800000LL, why, sizeof(why)),
			 STAGE_FINISH);
	assert_non_null(strstr(why, "future"));
}

static void test_builder_ts_forms(void **state)
{
	(void)state;
	struct ev_builder b;
	char why[256];
	assert_int_equal(
	    build_over(&b, EVF_TS, "1772360130250", EVK_NUMBER, NOW_MS, why, sizeof(why)),
	    STAGE_OK);
	assert_int_equal(b.ev.ts_ms, TS_MS);
	assert_int_equal(build_over(&b, EVF_TS, "1772360130250", EVK_RAW, NOW_MS, why, sizeof(why)),
			 STAGE_OK);
	assert_int_equal(b.ev.ts_ms, TS_MS);
	assert_int_equal(build_over(&b, EVF_TS, "2026-03-01 17:15:30.250+07:00", EVK_RAW, NOW_MS,
				    why, sizeof(why)),
			 STAGE_OK);
	assert_int_equal(b.ev.ts_ms, TS_MS);
	assert_int_equal(b.ev.hour, 10);
	expect_set_fail(EVF_TS, "2026-03-01T10:15:30", EVK_STRING, "zone");
	expect_set_fail(EVF_TS, "2023-02-29T10:15:30Z", EVK_STRING, NULL);
	expect_set_fail(EVF_TS, "1.5", EVK_NUMBER, NULL);
	expect_set_fail(EVF_TS, "true", EVK_BOOL, NULL);
}

static void test_builder_wrong_types(void **state)
{
	(void)state;
	expect_set_fail(EVF_CLICKS, "25", EVK_STRING, "string");
	expect_set_fail(EVF_IMPRESSIONS, "true", EVK_BOOL, "boolean");
	expect_set_fail(EVF_QUALITY_SCORE, "87", EVK_STRING, NULL);
	expect_set_fail(EVF_PUBLISHER_ID, "17", EVK_STRING, NULL);
	expect_set_fail(EVF_INDUSTRY, "5", EVK_NUMBER, "string");
	expect_set_fail(EVF_DEVICE, "true", EVK_BOOL, NULL);
	expect_set_fail(EVF_PUBLISHER_NAME, "12", EVK_NUMBER, NULL);
	expect_set_fail(EVF_COST, "false", EVK_BOOL, NULL);
	/* cost given as a JSON string is still a decimal */
	struct ev_builder b;
	char why[256];
	assert_int_equal(build_over(&b, EVF_COST, "0.1", EVK_STRING, NOW_MS, why, sizeof(why)),
			 STAGE_OK);
	assert_int_equal(b.ev.cost_micros, 100000);
	expect_set_fail(EVF_COST, "-2", EVK_NUMBER, ">= 0");
	expect_set_fail(EVF_COST, "1e13", EVK_NUMBER, "range");
}

static void test_builder_given_twice(void **state)
{
	(void)state;
	static const int fields[] = {EVF_CLICKS, EVF_INDUSTRY, EVF_TS, EVF_COST,
				     EVF_PUBLISHER_TRAFFIC};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct ev_builder b;
		char why[256], want[64];
		const char *v = NULL;
		enum ev_kind k = EVK_RAW;
		for (size_t j = 0; j < NBASE; j++)
			if (base_record[j].f == fields[i]) {
				v = base_record[j].v;
				k = base_record[j].k;
			}
		assert_non_null(v);
		ev_builder_begin(&b);
		assert_int_equal(ev_builder_set(&b, fields[i], v, strlen(v), k, why, sizeof(why)),
				 0);
		assert_int_equal(ev_builder_set(&b, fields[i], v, strlen(v), k, why, sizeof(why)),
				 -1);
		snprintf(want, sizeof(want), "%s:", ev_field_name((enum ev_field)fields[i]));
		assert_true(starts_with(why, want));
		assert_non_null(strstr(why, "twice"));
	}
}

static void test_builder_hour_weekday_ignored(void **state)
{
	(void)state;
	struct ev_builder b;
	char why[256];
	ev_builder_begin(&b);
	assert_int_equal(ev_builder_set(&b, EVF_HOUR, "3", 1, EVK_NUMBER, why, sizeof(why)), 0);
	assert_int_equal(ev_builder_set(&b, EVF_DAY_OF_WEEK, "1", 1, EVK_NUMBER, why, sizeof(why)),
			 0);
	for (size_t i = 0; i < NBASE; i++)
		assert_int_equal(ev_builder_set(&b, base_record[i].f, base_record[i].v,
						strlen(base_record[i].v), base_record[i].k, why,
						sizeof(why)),
				 0);
	/* even nonsense values for them are not an error */
	assert_int_equal(ev_builder_set(&b, EVF_HOUR, "xyz", 3, EVK_STRING, why, sizeof(why)), 0);
	assert_int_equal(ev_builder_finish(&b, NOW_MS, NULL, why, sizeof(why)), 0);
	assert_int_equal(b.ev.hour, 10);
	assert_int_equal(b.ev.day_of_week, 7);
}

static void test_builder_unknown_field_ignored(void **state)
{
	(void)state;
	struct ev_builder b;
	char why[256];
	ev_builder_begin(&b);
	assert_int_equal(ev_builder_set(&b, -1, "x", 1, EVK_STRING, why, sizeof(why)), 0);
	assert_int_equal(ev_builder_set(&b, EVF__COUNT, "x", 1, EVK_STRING, why, sizeof(why)), 0);
	assert_int_equal(b.seen, 0);
}

static void test_builder_derive_boundary(void **state)
{
	(void)state;
	struct ev_builder b;
	char why[256];
	assert_int_equal(build_over(&b, EVF_TS, "2025-12-31T23:59:59.999Z", EVK_STRING, NOW_MS, why,
				    sizeof(why)),
			 STAGE_OK);
	assert_int_equal(b.ev.hour, 23);
	assert_int_equal(b.ev.day_of_week, 3);
	assert_int_equal(build_over(&b, EVF_TS, "2026-01-01T06:59:59+07:00", EVK_STRING, NOW_MS,
				    why, sizeof(why)),
			 STAGE_OK);
	assert_int_equal(b.ev.hour, 23);
	assert_int_equal(b.ev.day_of_week, 3);
	assert_int_equal(
	    build_over(&b, EVF_TS, "2026-01-01T00:00:00Z", EVK_STRING, NOW_MS, why, sizeof(why)),
	    STAGE_OK);
	assert_int_equal(b.ev.hour, 0);
	assert_int_equal(b.ev.day_of_week, 4);
}

/* ---- derived event ids (UUIDv5 over the canonical fields) ---- */

static void test_uuid_v5_known_answers(void **state)
{
	(void)state;
	/* RFC 9562 appendix A.4, and Python's uuid.uuid5 for the other two */
	static const unsigned char dns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
					      0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
	static const unsigned char url[16] = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
					      0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
	char u[EV_UUID_LEN + 1];
	ev_uuid_v5(dns, "www.example.com", 15, u);
	assert_string_equal(u, "2ed6657d-e927-568b-95e1-2665a8aea6a2");
	ev_uuid_v5(dns, "python.org", 10, u);
	assert_string_equal(u, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
	ev_uuid_v5(url, "http://www.ietf.org/rfc/rfc4122.txt", 35, u);
	assert_string_equal(u, "d0690b3c-b29d-52e7-81b0-d573b503f2d4");
	check_uuid_format(u, '5');
}

/* Build from rec[0..n) in that order; 0, or -1 with why. */
static int build_list(struct ev_builder *b, const struct kv *rec, size_t n, char *why,
		      size_t whylen)
{
	ev_builder_begin(b);
	for (size_t i = 0; i < n; i++)
		if (ev_builder_set(b, rec[i].f, rec[i].v, strlen(rec[i].v), rec[i].k, why, whylen))
			return -1;
	return ev_builder_finish(b, NOW_MS, NULL, why, whylen);
}

static void test_canonical_form(void **state)
{
	(void)state;
	struct ev_builder b;
	char why[256], canon[EV_CANONICAL_MAX];
	assert_int_equal(build_list(&b, base_record, NBASE, why, sizeof(why)), 0);
	assert_int_equal(ev_canonical(&b.ev, canon, sizeof(canon)), strlen(BASE_CANON));
	assert_string_equal(canon, BASE_CANON);

	/* escapes as RFC 8785 writes them; absent optional fields left out */
	struct kv rec[NBASE];
	size_t n = 0;
	for (size_t i = 0; i < NBASE; i++) {
		if (base_record[i].f == EVF_BID || base_record[i].f == EVF_PUBLISHER_QUALITY)
			continue;
		rec[n] = base_record[i];
		if (rec[n].f == EVF_PUBLISHER_NAME)
			rec[n].v = "a\"b\\c\x01\n\x7f/";
		n++;
	}
	assert_int_equal(build_list(&b, rec, n, why, sizeof(why)), 0);
	ev_canonical(&b.ev, canon, sizeof(canon));
	assert_string_equal(
	    canon,
	    "{\"apply_count\":3,\"campaign_id\":42,\"clicks\":25,\"cost_micros\":12500000,"
	    "\"device\":\"mobile\",\"impressions\":1000,\"industry\":\"Tech\",\"job_id\":9001,"
	    "\"location\":\"H\xc3\xa0 N\xe1\xbb\x99i\",\"publisher_id\":17,"
	    "\"publisher_name\":\"a\\\"b\\\\c\\u0001\\n\x7f/\",\"publisher_traffic\":\"HIGH\","
	    "\"quality_score\":87,\"ts_ms\":1772360130250}");
	/* Python's uuid5 of the same text, as for BASE_ID */
	assert_string_equal(b.ev.event_id, "c709316f-6081-50ac-9982-93bb901331b6");
}

/* The id of base_record with field f written as (v, k) instead. */
static void id_with(int f, const char *v, enum ev_kind k, char out[EV_UUID_LEN + 1])
{
	struct ev_builder b;
	char why[256];
	struct kv rec[NBASE + 1];
	size_t n = 0;
	int found = 0;
	for (size_t i = 0; i < NBASE; i++) {
		rec[n] = base_record[i];
		if (rec[n].f == f) {
			found = 1;
			if (!v)
				continue;
			rec[n].v = v;
			rec[n].k = k;
		}
		n++;
	}
	if (!found && v)
		rec[n++] = (struct kv){f, v, k};
	if (build_list(&b, rec, n, why, sizeof(why)))
		print_error("field %d = '%s': %s\n", f, v ? v : "(absent)", why);
	assert_int_equal(build_list(&b, rec, n, why, sizeof(why)), 0);
	memcpy(out, b.ev.event_id, EV_UUID_LEN + 1);
}

static void test_derived_id_equivalent_spellings(void **state)
{
	(void)state;
	static const struct kv same[] = {
	    {EVF_COST, "12.50", EVK_STRING},
	    {EVF_COST, "1.25e1", EVK_RAW},
	    {EVF_COST, "12.5000001", EVK_NUMBER}, /* the same micros after rounding */
	    {EVF_TS, "1772360130250", EVK_NUMBER},
	    {EVF_TS, "1772360130250", EVK_RAW},
	    {EVF_TS, "2026-03-01T11:15:30.250+01:00", EVK_STRING},
	    {EVF_TS, "2026-03-01T10:15:30.25Z", EVK_STRING},
	    {EVF_JOB_ID, "9001", EVK_NUMBER},
	    {EVF_PUBLISHER_QUALITY, "MED", EVK_STRING},
	    {EVF_HOUR, "3", EVK_NUMBER}, /* derived fields: ignored */
	    {EVF_DAY_OF_WEEK, "5", EVK_NUMBER},
	};
	char u[EV_UUID_LEN + 1];
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		id_with(same[i].f, same[i].v, same[i].k, u);
		if (strcmp(u, BASE_ID) != 0)
			print_error("%s = '%s' changed the id\n", ev_field_name(same[i].f),
				    same[i].v);
		assert_string_equal(u, BASE_ID);
	}
	/* key order does not count */
	struct kv rev[NBASE];
	for (size_t i = 0; i < NBASE; i++)
		rev[i] = base_record[NBASE - 1 - i];
	struct ev_builder b;
	char why[256];
	assert_int_equal(build_list(&b, rev, NBASE, why, sizeof(why)), 0);
	assert_string_equal(b.ev.event_id, BASE_ID);
}

static void test_derived_id_each_field_counts(void **state)
{
	(void)state;
	static const struct kv other[] = {
	    {EVF_TS, "2026-03-01T10:15:30.251Z", EVK_STRING},
	    {EVF_PUBLISHER_ID, "18", EVK_NUMBER},
	    {EVF_PUBLISHER_NAME, "Acme jobs", EVK_STRING},
	    {EVF_PUBLISHER_TRAFFIC, "LOW", EVK_STRING},
	    {EVF_PUBLISHER_TRAFFIC, NULL, EVK_NULL},
	    {EVF_PUBLISHER_QUALITY, NULL, EVK_NULL},
	    {EVF_BID, "251", EVK_NUMBER},
	    {EVF_BID, "0", EVK_NUMBER},
	    {EVF_BID, NULL, EVK_NULL},
	    {EVF_JOB_ID, "9002", EVK_NUMBER},
	    {EVF_CAMPAIGN_ID, "43", EVK_NUMBER},
	    {EVF_INDUSTRY, "Tech ", EVK_STRING},
	    {EVF_LOCATION, "Ha Noi", EVK_STRING},
	    {EVF_IMPRESSIONS, "1001", EVK_NUMBER},
	    {EVF_CLICKS, "26", EVK_NUMBER},
	    {EVF_APPLY_COUNT, "4", EVK_NUMBER},
	    {EVF_COST, "12.500001", EVK_NUMBER},
	    {EVF_QUALITY_SCORE, "88", EVK_NUMBER},
	    {EVF_DEVICE, "desktop", EVK_STRING},
	};
	enum { N = sizeof(other) / sizeof(other[0]) };
	char ids[N][EV_UUID_LEN + 1];
	for (size_t i = 0; i < N; i++) {
		id_with(other[i].f, other[i].v, other[i].k, ids[i]);
		check_uuid_format(ids[i], '5');
		if (strcmp(ids[i], BASE_ID) == 0)
			print_error("%s = '%s' kept the id\n", ev_field_name(other[i].f),
				    other[i].v ? other[i].v : "(absent)");
		assert_string_not_equal(ids[i], BASE_ID);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cost_exact_decimals),
	    cmocka_unit_test(test_cost_exponents),
	    cmocka_unit_test(test_cost_rounding),
	    cmocka_unit_test(test_cost_rounding_tiny),
	    cmocka_unit_test(test_cost_sign),
	    cmocka_unit_test(test_cost_garbage),
	    cmocka_unit_test(test_cost_range),
	    cmocka_unit_test(test_uuid_parse),
	    cmocka_unit_test(test_uuid_parse_bad),
	    cmocka_unit_test(test_uuid_v4_format),
	    cmocka_unit_test(test_uuid_v4_reproducible),
	    cmocka_unit_test(test_utf8_len),
	    cmocka_unit_test(test_utf8_invalid),
	    cmocka_unit_test(test_field_names),
	    cmocka_unit_test(test_builder_full_record),
	    cmocka_unit_test(test_builder_event_id_given),
	    cmocka_unit_test(test_builder_same_record_same_id),
	    cmocka_unit_test(test_uuid_v5_known_answers),
	    cmocka_unit_test(test_canonical_form),
	    cmocka_unit_test(test_derived_id_equivalent_spellings),
	    cmocka_unit_test(test_derived_id_each_field_counts),
	    cmocka_unit_test(test_builder_missing_each_required),
	    cmocka_unit_test(test_builder_optional_absent),
	    cmocka_unit_test(test_builder_counts),
	    cmocka_unit_test(test_builder_quality_score),
	    cmocka_unit_test(test_builder_ids),
	    cmocka_unit_test(test_builder_text_lengths),
	    cmocka_unit_test(test_builder_empty_text),
	    cmocka_unit_test(test_builder_levels),
	    cmocka_unit_test(test_builder_ts_window),
	    cmocka_unit_test(test_builder_ts_forms),
	    cmocka_unit_test(test_builder_wrong_types),
	    cmocka_unit_test(test_builder_given_twice),
	    cmocka_unit_test(test_builder_hour_weekday_ignored),
	    cmocka_unit_test(test_builder_unknown_field_ignored),
	    cmocka_unit_test(test_builder_derive_boundary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
