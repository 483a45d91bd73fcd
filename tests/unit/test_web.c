/*
 * test_web.c - the web server's pure parts: query parameters, request bodies,
 * the token comparison and the Host / Origin / Content-Type checks
 * (src/web/params.c, body.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "jobads/web.h"

static const int64_t NOW = 1767225600000LL; /* 2026-01-01T00:00:00Z */
static const unsigned ALL = AP_RANGE | AP_FILTERS | AP_INTERVAL | AP_METRIC | AP_LIMIT;

static int parse(const char *qs, unsigned allowed, struct api_params *p, char *why)
{
	return api_params_parse(qs, strlen(qs), allowed, NOW, p, why, 400);
}

static void params_ok(void **state)
{
	struct api_params p;
	char why[400];
	(void)state;
	assert_int_equal(parse("", ALL, &p, why), 0);
	assert_true(p.f.from_s == INT64_MIN && p.f.to_s == INT64_MAX && p.metric == -1);
	assert_int_equal(parse("from=now-7d&to=now%2B1h&campaign_id=101&publisher_id=2&industry="
			       "Real+Estate&device=mobile&interval=day&metric=clicks&limit=5",
			       ALL, &p, why),
			 0);
	assert_int_equal(p.f.from_s, NOW / 1000 - 7 * 86400);
	assert_int_equal(p.f.to_s, NOW / 1000 + 3600);
	assert_int_equal(p.f.campaign_id, 101);
	assert_int_equal(p.f.publisher_id, 2);
	assert_string_equal(p.f.industry, "Real Estate");
	assert_string_equal(p.f.device, "mobile");
	assert_int_equal(p.interval, API_DAY);
	assert_string_equal(api_metric_names[p.metric], "clicks");
	assert_int_equal(p.limit, 5);
	assert_int_equal(parse("from=2026-01-01T10:30:00%2B07:00&to=1767312000000", ALL, &p, why),
			 0);
	assert_int_equal(p.f.from_s, 1767238200); /* 03:30Z */
	assert_int_equal(p.f.to_s, 1767312000);
	assert_int_equal(parse("from=2025-12-01&&", ALL, &p, why), 0);
	assert_int_equal(p.f.from_s, 1764547200);
}

static void params_errors_name_the_parameter(void **state)
{
	static const struct {
		const char *qs, *prefix;
	} bad[] = {
	    {"from=yesterday", "from: not a time"},
	    {"to=2026-13-01T00:00:00Z", "to: not a time"},
	    {"from=2024-02-31", "from: not a time"}, /* not 2024-03-02 */
	    {"to=2023-02-29", "to: not a time"},
	    {"from=2024-03-01T24:00:00Z", "from: not a time"},
	    {"campaign_id=abc", "campaign_id: want an id > 0"},
	    {"campaign_id=0", "campaign_id: want an id > 0"},
	    {"publisher_id=99999999999", "publisher_id: want an id > 0"},
	    {"device=", "device: want 1..63 bytes"},
	    {"industry=%ff", "industry: want 1..127 bytes"},
	    {"interval=week", "interval: want hour or day"},
	    {"metric=roi2", "metric: want one of"},
	    {"limit=0", "limit: want 1..1000"},
	    {"bogus=1", "bogus: unknown parameter"},
	    {"from", "from: missing '=value'"},
	    {"from=%zz", "from: malformed"},
	    {"from=now&to=now-1h", "from: must be before to"},
	    {"from=now-99999999d", "from: not a time"},
	};
	struct api_params p;
	char why[400];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].qs, ALL, &p, why), -1);
		if (strncmp(why, bad[i].prefix, strlen(bad[i].prefix)) != 0)
			fail_msg("%s: got '%s'", bad[i].qs, why);
	}
	/* a parameter another route takes is unknown here */
	assert_int_equal(parse("interval=day", AP_RANGE | AP_FILTERS, &p, why), -1);
	assert_string_equal(why, "interval: unknown parameter for this route");
}

struct seen {
	int events, rejects;
	long reject_index[8], reject_line[8];
	char why[8][512];
};

static int on_event(void *arg, long index, const struct event *ev)
{
	struct seen *s = arg;
	(void)index;
	assert_int_equal(strlen(ev->event_id), 36);
	s->events++;
	return 0;
}

static void on_reject(void *arg, long index, long line, const char *why)
{
	struct seen *s = arg;
	if (s->rejects < 8) {
		s->reject_index[s->rejects] = index;
		s->reject_line[s->rejects] = line;
		snprintf(s->why[s->rejects], sizeof(s->why[0]), "%s", why);
	}
	s->rejects++;
}

#define EV(extra)                                                                                  \
	"{\"ts\":\"2025-12-31T10:00:00Z\",\"publisher_id\":1,\"publisher_name\":\"P\",\"job_id\":" \
	"1,"                                                                                       \
	"\"campaign_id\":101,\"industry\":\"IT\",\"location\":\"HCM\",\"device\":\"mobile\","      \
	"\"impressions\":10,\"clicks\":1,\"apply_count\":0,\"cost\":1.5,\"quality_score\":"        \
	"50" extra "}"

static int decode(const char *body, struct seen *s, char *why)
{
	memset(s, 0, sizeof(*s));
	return body_decode(body, strlen(body), NOW, on_event, on_reject, s, why, 400);
}

static void bodies(void **state)
{
	struct seen s;
	char why[400];
	(void)state;
	/* an array: good, bad, not an object, good; nested brackets inside strings are text */
	assert_int_equal(
	    decode(" [" EV("") ", " EV(",\"bid\":-5") ", 7, " EV(",\"x\":\"]}\"") "]\n", &s, why),
	    0);
	assert_int_equal(s.events, 2);
	assert_int_equal(s.rejects, 2);
	assert_int_equal(s.reject_index[0], 1);
	assert_memory_equal(s.why[0], "bid: ", 5);
	assert_int_equal(s.reject_index[1], 2);
	assert_string_equal(s.why[1], "not a JSON object");
	/* NDJSON: blank lines skipped, indexes count records, lines count lines */
	assert_int_equal(decode(EV("") "\r\n\n{\"broken\n" EV(""), &s, why), 0);
	assert_int_equal(s.events, 2);
	assert_int_equal(s.rejects, 1);
	assert_int_equal(s.reject_index[0], 1);
	assert_int_equal(s.reject_line[0], 3);
	/* an empty array is fine; broken structure is not */
	assert_int_equal(decode("[ ]", &s, why), 0);
	assert_int_equal(s.events + s.rejects, 0);
	static const char *const broken[] = {"",    "  ",    "hello",  "[",	  "[{}",
					     "[,]", "[{},]", "[{}] x", "[{} {}]", "[\"abc"};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++)
		if (decode(broken[i], &s, why) != -1)
			fail_msg("'%s' should be a 400", broken[i]);
}

static void paging(void **state)
{
	struct api_params p;
	char why[400];
	(void)state;
	assert_int_equal(parse("", AP_PAGE, &p, why), 0);
	assert_true(p.limit == 0 && p.offset == 0 && p.sort == -1);
	assert_int_equal(parse("limit=50&offset=200&sort=-spend", AP_PAGE, &p, why), 0);
	assert_true(p.limit == 50 && p.offset == 200 && p.sort_desc == 1);
	assert_string_equal(api_metric_names[p.sort], "spend");
	assert_int_equal(parse("sort=campaign_id", AP_PAGE, &p, why), 0);
	assert_true(p.sort == API_SORT_CAMPAIGN && p.sort_desc == 0);
	assert_int_equal(parse("sort=publisher_name", AP_PAGE, &p, why), 0);
	assert_int_equal(p.sort, API_SORT_PUBLISHER_NAME);
	assert_int_equal(parse("limit=1001", AP_PAGE, &p, why), -1);
	assert_non_null(strstr(why, "limit: want 1..1000"));
	assert_int_equal(parse("limit=0", AP_PAGE, &p, why), -1);
	assert_int_equal(parse("offset=-1", AP_PAGE, &p, why), -1);
	assert_non_null(strstr(why, "offset: want 0.."));
	assert_int_equal(parse("sort=bogus", AP_PAGE, &p, why), -1);
	assert_non_null(strstr(why, "sort: want [-]FIELD"));
	assert_int_equal(parse("sort=--spend", AP_PAGE, &p, why), -1);
	/* the routes without paging refuse it */
	assert_int_equal(parse("offset=1", AP_RANGE | AP_FILTERS, &p, why), -1);
	assert_int_equal(parse("sort=spend", AP_LIMIT, &p, why), -1);
}

static void formats(void **state)
{
	struct api_params p;
	char why[400];
	(void)state;
	assert_int_equal(parse("", AP_PAGE | AP_FORMAT, &p, why), 0);
	assert_int_equal(p.format, API_JSON);
	assert_int_equal(parse("format=csv&limit=5", AP_PAGE | AP_FORMAT, &p, why), 0);
	assert_true(p.format == API_CSV && p.limit == 5);
	assert_int_equal(parse("format=json", AP_FORMAT, &p, why), 0);
	assert_int_equal(p.format, API_JSON);
	assert_int_equal(parse("format=xlsx", AP_FORMAT, &p, why), -1);
	assert_string_equal(why, "format: want json or csv, got 'xlsx'");
	assert_int_equal(parse("format=CSV", AP_FORMAT, &p, why), -1);
	assert_int_equal(parse("format=", AP_FORMAT, &p, why), -1);
	/* the routes that answer no rows refuse it */
	assert_int_equal(parse("format=csv", AP_LIMIT, &p, why), -1);
	assert_non_null(strstr(why, "format: unknown parameter"));
}

static void hosts_and_origins(void **state)
{
	const char *const none[] = {NULL};
	const char *const proxy[] = {"dash.example.com", NULL};
	(void)state;
	/* Host: loopback names and IP literals pass, other names only when allowed */
	assert_true(web_host_allowed("127.0.0.1:8080", "127.0.0.1", none));
	assert_true(web_host_allowed("localhost:8080", "127.0.0.1", none));
	assert_true(web_host_allowed("LOCALHOST", "127.0.0.1", none));
	assert_true(web_host_allowed("app.localhost:8080", "127.0.0.1", none));
	assert_true(web_host_allowed("[::1]:8080", "::1", none));
	assert_true(web_host_allowed("192.168.1.5:8080", "0.0.0.0", none));
	assert_true(web_host_allowed(NULL, "127.0.0.1", none));
	assert_true(web_host_allowed("box:8080", "box", none));
	assert_false(web_host_allowed("evil.example:8080", "127.0.0.1", none));
	assert_false(web_host_allowed("localhost.evil.example", "127.0.0.1", none));
	assert_false(web_host_allowed("dash.example.com", "127.0.0.1", none));
	assert_true(web_host_allowed("dash.example.com", "127.0.0.1", proxy));
	assert_true(web_host_allowed("Dash.Example.com:443", "127.0.0.1", proxy));
	assert_false(web_host_allowed("", "127.0.0.1", none));
	assert_false(web_host_allowed("a b", "127.0.0.1", none));
	assert_false(web_host_allowed("[::1", "127.0.0.1", none));
	assert_false(web_host_allowed("[zz]:1", "127.0.0.1", none));
	/* Origin: the same origin as Host, or an allowed name */
	assert_true(web_origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080", none));
	assert_true(web_origin_allowed("http://localhost", "localhost:80", none));
	assert_true(web_origin_allowed("https://dash.example.com", "dash.example.com", none));
	assert_true(web_origin_allowed("https://dash.example.com", "127.0.0.1:8080", proxy));
	assert_false(web_origin_allowed("http://127.0.0.1:3000", "127.0.0.1:8080", none));
	assert_false(web_origin_allowed("http://evil.example", "127.0.0.1:8080", none));
	assert_false(web_origin_allowed("http://evil.example", "evil.example:8080", none));
	assert_false(web_origin_allowed("null", "127.0.0.1:8080", none));
	assert_false(web_origin_allowed("file://", "127.0.0.1:8080", none));
	assert_false(web_origin_allowed("http://127.0.0.1:8080/x", "127.0.0.1:8080", none));
	assert_false(web_origin_allowed("http://u@127.0.0.1:8080", "127.0.0.1:8080", none));
	assert_false(web_origin_allowed("http://", "127.0.0.1:8080", none));
	/* Content-Type of a POST body */
	assert_true(web_body_type_ok("application/json"));
	assert_true(web_body_type_ok("Application/JSON; charset=utf-8"));
	assert_true(web_body_type_ok("application/x-ndjson"));
	assert_true(web_body_type_ok("application/ndjson"));
	assert_false(web_body_type_ok("text/plain"));
	assert_false(web_body_type_ok("application/x-www-form-urlencoded"));
	assert_false(web_body_type_ok("multipart/form-data; boundary=x"));
	assert_false(web_body_type_ok("application/jsonx"));
	assert_false(web_body_type_ok(""));
	assert_false(web_body_type_ok(NULL));
}

static void tokens(void **state)
{
	(void)state;
	assert_true(web_token_equal("s3cret", 6, "s3cret"));
	assert_false(web_token_equal("s3cret", 5, "s3cret"));
	assert_false(web_token_equal("s3cret!", 7, "s3cret"));
	assert_false(web_token_equal("S3cret", 6, "s3cret"));
	assert_false(web_token_equal("", 0, "s3cret"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(params_ok),
	    cmocka_unit_test(params_errors_name_the_parameter),
	    cmocka_unit_test(bodies),
	    cmocka_unit_test(tokens),
	    cmocka_unit_test(paging),
	    cmocka_unit_test(formats),
	    cmocka_unit_test(hosts_and_origins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
