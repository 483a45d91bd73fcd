/*
 * test_agg.c - hourly hash aggregation, string interning, sorting, the
 * publisher list, and the KPI definitions (include/jobads/agg.h, kpi.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/agg.h"
#include "jobads/kpi.h"
#include "jobads/event.h"
#include "jobads/util.h"

/* 2026-03-01T10:00:00Z */
#define H10_MS 1772359200000LL
#define H10_S  1772359200LL

/* cmocka's assert_float_equal compares as float; these tests need doubles. */
#define assert_near(a, b, eps)                                                                     \
	do {                                                                                       \
		double a_ = (a), b_ = (b);                                                         \
		if (!(fabs(a_ - b_) <= (eps)))                                                     \
			print_error("%s = %.17g, want %.17g (+- %g)\n", #a, a_, b_,                \
				    (double)(eps));                                                \
		assert_true(fabs(a_ - b_) <= (eps));                                               \
	} while (0)

static struct event mk(int64_t ts_ms, int32_t campaign, int32_t publisher, const char *industry,
		       const char *location, const char *device)
{
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	ev.ts_ms = ts_ms;
	ev.campaign_id = campaign;
	ev.publisher_id = publisher;
	ev.publisher_name = ev_str_of("Pub");
	ev.industry = ev_str_of(industry);
	ev.location = ev_str_of(location);
	ev.device = ev_str_of(device);
	ev.job_id = 1;
	ev.bid = -1;
	ev.impressions = 100;
	ev.clicks = 10;
	ev.apply_count = 2;
	ev.cost_micros = 5000000;
	ev.quality_score = 50;
	return ev;
}

static int str_is(const struct agg *a, uint32_t id, const char *want)
{
	size_t n;
	const char *s = agg_str(a, id, &n);
	return n == strlen(want) && memcmp(s, want, n) == 0 && s[n] == '\0';
}

static const struct agg_group *find_group(const struct agg *a, int64_t hour_start, int32_t campaign,
					  int32_t publisher, const char *industry,
					  const char *location, const char *device)
{
	const struct agg_group *found = NULL;
	for (uint32_t i = 0; i < a->ngroups; i++) {
		const struct agg_group *g = &a->groups[i];
		if (g->key.hour_start == hour_start && g->key.campaign_id == campaign &&
		    g->key.publisher_id == publisher && str_is(a, g->key.industry, industry) &&
		    str_is(a, g->key.location, location) && str_is(a, g->key.device, device)) {
			assert_null(found); /* a grain appears once */
			found = g;
		}
	}
	return found;
}

/* ---- grouping ---- */

static void test_same_grain_one_group(void **state)
{
	(void)state;
	struct agg a;
	agg_init(&a);
	struct event e1 = mk(H10_MS, 7, 3, "Tech", "Hanoi", "mobile");
	struct event e2 = mk(H10_MS + 30 * 60000, 7, 3, "Tech", "Hanoi", "mobile");
	struct event e3 = mk(H10_MS + 3599999, 7, 3, "Tech", "Hanoi", "mobile");
	e2.impressions = 200;
	e2.clicks = 0;
	e2.apply_count = 0;
	e2.cost_micros = 0;
	e2.quality_score = 90;
	e3.impressions = 0;
	e3.clicks = 4;
	e3.apply_count = 1;
	e3.cost_micros = 100000;
	e3.quality_score = 10;
	/* the same strings from different storage intern to the same ids */
	char tech[] = "Tech";
	e3.industry = ev_str_of(tech);
	agg_add(&a, &e1);
	agg_add(&a, &e2);
	agg_add(&a, &e3);
	assert_int_equal(a.ngroups, 1);
	const struct agg_group *g = &a.groups[0];
	assert_int_equal(g->key.hour_start, H10_S);
	assert_int_equal(g->key.campaign_id, 7);
	assert_int_equal(g->key.publisher_id, 3);
	assert_true(str_is(&a, g->key.industry, "Tech"));
	assert_true(str_is(&a, g->key.location, "Hanoi"));
	assert_true(str_is(&a, g->key.device, "mobile"));
	assert_int_equal(g->val.records, 3);
	assert_int_equal(g->val.impressions, 300);
	assert_int_equal(g->val.clicks, 14);
	assert_int_equal(g->val.applies, 3);
	assert_int_equal(g->val.cost_micros, 5100000);
	assert_int_equal(g->val.quality_sum, 150);
	/* per-record ratio sums: e1 ctr .1 cpc .5 cpa 2.5 roi .4; e2 all 0 (ctr 0/200);
	 * e3 ctr 0 (no impressions), cpc .025, cpa .1, roi 10 */
	assert_near(g->val.ctr_sum, 0.1, 1e-12);
	assert_near(g->val.cpc_sum, 0.5 + 0.025, 1e-12);
	assert_near(g->val.cpa_sum, 2.5 + 0.1, 1e-12);
	assert_near(g->val.roi_sum, 0.4 + 10.0, 1e-9);
	agg_release(&a);
}

static void test_different_grain_different_groups(void **state)
{
	(void)state;
	struct agg a;
	agg_init(&a);
	struct event ev[] = {
	    mk(H10_MS, 7, 3, "Tech", "Hanoi", "mobile"),
	    mk(H10_MS + 3600000, 7, 3, "Tech", "Hanoi", "mobile"), /* next hour */
	    mk(H10_MS, 8, 3, "Tech", "Hanoi", "mobile"),	   /* campaign */
	    mk(H10_MS, 7, 4, "Tech", "Hanoi", "mobile"),	   /* publisher */
	    mk(H10_MS, 7, 3, "Retail", "Hanoi", "mobile"),	   /* industry */
	    mk(H10_MS, 7, 3, "Tech", "Hue", "mobile"),		   /* location */
	    mk(H10_MS, 7, 3, "Tech", "Hanoi", "desktop"),	   /* device */
	    mk(H10_MS, 7, 3, "Tech", "Hanoi", "Mobile"),	   /* case matters */
	    mk(H10_MS, 7, 3, "Tech", "Hanoi", "mobile "),	   /* so do spaces */
	    /* the same strings in other positions do not collide */
	    mk(H10_MS, 7, 3, "Hanoi", "Tech", "mobile"),
	};
	size_t n = sizeof(ev) / sizeof(ev[0]);
	for (size_t i = 0; i < n; i++) {
		ev[i].impressions = (int64_t)(i + 1);
		agg_add(&a, &ev[i]);
	}
	assert_int_equal(a.ngroups, n);
	for (uint32_t i = 0; i < a.ngroups; i++) {
		assert_int_equal(a.groups[i].val.records, 1);
		assert_int_equal(a.groups[i].val.impressions, (int64_t)i + 1);
	}
	const struct agg_group *g = find_group(&a, H10_S + 3600, 7, 3, "Tech", "Hanoi", "mobile");
	assert_non_null(g);
	assert_int_equal(g->val.impressions, 2);
	g = find_group(&a, H10_S, 7, 3, "Tech", "Hanoi", "desktop");
	assert_non_null(g);
	assert_int_equal(g->val.impressions, 7);
	g = find_group(&a, H10_S, 7, 3, "Hanoi", "Tech", "mobile");
	assert_non_null(g);
	assert_int_equal(g->val.impressions, 10);
	/* adding the first again lands in its group */
	agg_add(&a, &ev[0]);
	assert_int_equal(a.ngroups, n);
	assert_int_equal(a.groups[0].val.records, 2);
	assert_int_equal(a.groups[0].val.impressions, 2);
	agg_release(&a);
}

static void test_hour_start(void **state)
{
	(void)state;
	struct agg a;
	agg_init(&a);
	struct event on = mk(H10_MS, 1, 1, "i", "l", "d");
	struct event before = mk(H10_MS - 1, 1, 1, "i", "l", "d");
	struct event after = mk(H10_MS + 1, 1, 1, "i", "l", "d");
	struct event last = mk(H10_MS + 3599999, 1, 1, "i", "l", "d");
	struct event next = mk(H10_MS + 3600000, 1, 1, "i", "l", "d");
	agg_add(&a, &on);
	agg_add(&a, &before);
	agg_add(&a, &after);
	agg_add(&a, &last);
	agg_add(&a, &next);
	assert_int_equal(a.ngroups, 3);
	assert_int_equal(a.groups[0].key.hour_start, H10_S);
	assert_int_equal(a.groups[0].val.records, 3);
	assert_int_equal(a.groups[1].key.hour_start, H10_S - 3600);
	assert_int_equal(a.groups[1].val.records, 1);
	assert_int_equal(a.groups[2].key.hour_start, H10_S + 3600);
	for (uint32_t i = 0; i < a.ngroups; i++)
		assert_int_equal(a.groups[i].key.hour_start % 3600, 0);
	agg_reset(&a);
	/* the epoch itself, and 1 ms before it */
	struct event e0 = mk(0, 1, 1, "i", "l", "d");
	struct event em = mk(-1, 1, 1, "i", "l", "d");
	agg_add(&a, &e0);
	agg_add(&a, &em);
	assert_int_equal(a.ngroups, 2);
	assert_int_equal(a.groups[0].key.hour_start, 0);
	assert_int_equal(a.groups[1].key.hour_start, -3600);
	agg_release(&a);
}

/* ---- interning ---- */

static void test_intern(void **state)
{
	(void)state;
	struct agg a;
	agg_init(&a);
	char buf1[] = "mobile", buf2[] = "mobile";
	uint32_t m1 = agg_intern(&a, buf1, 6);
	uint32_t m2 = agg_intern(&a, buf2, 6);
	assert_int_equal(m1, m2);
	uint32_t d = agg_intern(&a, "desktop", 7);
	assert_int_not_equal(d, m1);
	/* prefixes are different strings; the length given is what counts */
	uint32_t mob = agg_intern(&a, "mobile", 3);
	assert_int_not_equal(mob, m1);
	assert_true(str_is(&a, mob, "mob"));
	assert_int_equal(agg_intern(&a, "mobxyz", 3), mob);
	uint32_t empty = agg_intern(&a, "", 0);
	assert_int_equal(agg_intern(&a, "x", 0), empty);
	assert_true(str_is(&a, empty, ""));
	/* bytes are bytes: embedded NUL and non-ASCII */
	uint32_t z1 = agg_intern(&a, "a\0b", 3), z2 = agg_intern(&a, "a\0c", 3);
	assert_int_not_equal(z1, z2);
	size_t n;
	assert_memory_equal(agg_str(&a, z1, &n), "a\0b", 3);
	assert_int_equal(n, 3);
	assert_true(str_is(&a, m1, "mobile"));
	assert_true(str_is(&a, d, "desktop"));
	assert_non_null(agg_str(&a, d, NULL));
	agg_release(&a);
}

static void test_intern_many(void **state)
{
	(void)state;
	struct agg a;
	agg_init(&a);
	enum { N = 20000 };
	uint32_t *ids = malloc(N * sizeof(uint32_t));
	assert_non_null(ids);
	char s[32];
	for (int i = 0; i < N; i++) {
		int len = snprintf(s, sizeof(s), "str-%d", i);
		ids[i] = agg_intern(&a, s, (size_t)len);
	}
	/* ids are distinct and stable across the table's growth */
	for (int i = 0; i < N; i++) {
		int len = snprintf(s, sizeof(s), "str-%d", i);
		assert_int_equal(agg_intern(&a, s, (size_t)len), ids[i]);
		assert_true(str_is(&a, ids[i], s));
		if (i > 0)
			assert_int_not_equal(ids[i], ids[i - 1]);
	}
	assert_int_equal(a.strs.count, N);
	free(ids);
	agg_release(&a);
}

static void test_reset(void **state)
{
	(void)state;
	struct agg a;
	agg_init(&a);
	for (int i = 0; i < 3000; i++) {
		struct event ev = mk(H10_MS, i + 1, 1, "Tech", "Hanoi", "mobile");
		ev.seq = i;
		agg_add(&a, &ev);
	}
	char s[16];
	for (int i = 0; i < 500; i++) {
		int len = snprintf(s, sizeof(s), "s%d", i);
		agg_intern(&a, s, (size_t)len);
	}
	assert_int_equal(a.ngroups, 3000);
	assert_int_equal(a.npubs, 1);
	agg_reset(&a);
	assert_int_equal(a.ngroups, 0);
	assert_int_equal(a.npubs, 0);
	assert_int_equal(a.strs.count, 0);
	/* everything starts afresh: no old sums, no old strings */
	assert_int_equal(agg_intern(&a, "fresh", 5), 0);
	struct event ev = mk(H10_MS, 1, 1, "Tech", "Hanoi", "mobile");
	agg_add(&a, &ev);
	agg_add(&a, &ev);
	assert_int_equal(a.ngroups, 1);
	assert_int_equal(a.groups[0].val.records, 2);
	assert_int_equal(a.groups[0].val.impressions, 200);
	assert_true(str_is(&a, a.groups[0].key.industry, "Tech"));
	assert_int_equal(a.npubs, 1);
	/* a second reset, then merge by agg_add_group */
	agg_reset(&a);
	struct agg_key k = {
	    H10_S, 2, 3, agg_intern(&a, "i", 1), agg_intern(&a, "l", 1), agg_intern(&a, "d", 1)};
	struct kpi_sums v = {.records = 4, .impressions = 40, .clicks = 4, .ctr_sum = 0.4};
	agg_add_group(&a, &k, &v);
	agg_add_group(&a, &k, &v);
	assert_int_equal(a.ngroups, 1);
	assert_int_equal(a.groups[0].val.records, 8);
	assert_int_equal(a.groups[0].val.impressions, 80);
	assert_near(a.groups[0].val.ctr_sum, 0.8, 1e-12);
	agg_release(&a);
}

/*
 * Grain i of the 100000 below: every component of the key varies, so grains
 * that differ in one component only are common and land in the same probe runs.
 */
static const char *const many_ind[] = {"Tech", "Retail", "Health", "Finance", "Edu"};
static const char *const many_loc[] = {"Hanoi", "Hue", "Da Nang", "Can Tho"};
static const char *const many_dev[] = {"mobile", "desktop", "tablet", "tv", "watch"};

static struct event many_event(int i, int pass)
{
	return mk(H10_MS + (int64_t)(i % 10) * 3600000 + pass * 1000, (i / 10) % 10 + 1,
		  (i / 100) % 10 + 1, many_ind[(i / 1000) % 5], many_loc[(i / 5000) % 4],
		  many_dev[(i / 20000) % 5]);
}

static void test_many_groups_rehash(void **state)
{
	(void)state;
	enum { N = 100000 };
	struct agg a;
	agg_init(&a);
	/* N distinct grains (10 hours x 10 campaigns x 10 publishers x 5 x 4 x 5), each twice */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < N; i++) {
			struct event ev = many_event(i, pass);
			ev.impressions = i;
			ev.clicks = pass + 1;
			ev.apply_count = i % 7;
			ev.cost_micros = (int64_t)i * 3;
			agg_add(&a, &ev);
		}
	}
	assert_int_equal(a.ngroups, N);
	/* groups are kept in insertion order: group i is grain i */
	int64_t total_records = 0;
	for (int i = 0; i < N; i++) {
		const struct agg_group *g = &a.groups[i];
		assert_int_equal(g->key.hour_start, H10_S + (int64_t)(i % 10) * 3600);
		assert_int_equal(g->key.campaign_id, (i / 10) % 10 + 1);
		assert_int_equal(g->key.publisher_id, (i / 100) % 10 + 1);
		assert_true(str_is(&a, g->key.industry, many_ind[(i / 1000) % 5]));
		assert_true(str_is(&a, g->key.location, many_loc[(i / 5000) % 4]));
		assert_true(str_is(&a, g->key.device, many_dev[(i / 20000) % 5]));
		assert_int_equal(g->val.records, 2);
		assert_int_equal(g->val.impressions, 2 * (int64_t)i);
		assert_int_equal(g->val.clicks, 3);
		assert_int_equal(g->val.applies, 2 * (i % 7));
		assert_int_equal(g->val.cost_micros, 6 * (int64_t)i);
		total_records += g->val.records;
	}
	assert_int_equal(total_records, 2 * N);
	/* the table has grown well past its initial size */
	assert_true(a.ngslots >= 2 * (uint32_t)N);
	/* merging the same grains by agg_add_group adds to them, no new groups */
	for (int i = 0; i < N; i += 997) {
		struct agg_key k = a.groups[i].key;
		struct kpi_sums v = {.records = 1, .impressions = 1};
		agg_add_group(&a, &k, &v);
		assert_int_equal(a.groups[i].val.records, 3);
		assert_int_equal(a.groups[i].val.impressions, 2 * (int64_t)i + 1);
	}
	assert_int_equal(a.ngroups, N);
	agg_release(&a);
}

/* ---- sort ---- */

static int bytes_cmp(const struct agg *a, uint32_t x, uint32_t y)
{
	size_t nx, ny;
	const unsigned char *sx = (const unsigned char *)agg_str(a, x, &nx);
	const unsigned char *sy = (const unsigned char *)agg_str(a, y, &ny);
	for (size_t i = 0; i < nx && i < ny; i++)
		if (sx[i] != sy[i])
			return sx[i] < sy[i] ? -1 : 1;
	return nx < ny ? -1 : nx > ny;
}

static int key_cmp(const struct agg *a, const struct agg_key *x, const struct agg_key *y)
{
	int c;
	if (x->hour_start != y->hour_start)
		return x->hour_start < y->hour_start ? -1 : 1;
	if (x->campaign_id != y->campaign_id)
		return x->campaign_id < y->campaign_id ? -1 : 1;
	if (x->publisher_id != y->publisher_id)
		return x->publisher_id < y->publisher_id ? -1 : 1;
	if ((c = bytes_cmp(a, x->industry, y->industry)) != 0)
		return c;
	if ((c = bytes_cmp(a, x->location, y->location)) != 0)
		return c;
	return bytes_cmp(a, x->device, y->device);
}

static void test_sort_specific(void **state)
{
	(void)state;
	struct agg a;
	agg_init(&a);
	/* added in reverse of the expected order; impressions = expected position */
	struct event ev[] = {
	    mk(H10_MS + 3600000, 1, 1, "A", "A", "A"),
	    mk(H10_MS, 2, 1, "A", "A", "A"),
	    mk(H10_MS, 1, 2, "A", "A", "A"),
	    mk(H10_MS, 1, 1, "\xc3\xa9", "A", "A"), /* é: bytes above ASCII */
	    mk(H10_MS, 1, 1, "z", "A", "A"),
	    mk(H10_MS, 1, 1, "ab", "A", "A"),
	    mk(H10_MS, 1, 1, "a", "A", "A"),
	    mk(H10_MS, 1, 1, "B", "A", "A"), /* uppercase before lowercase */
	    mk(H10_MS, 1, 1, "A", "b", "A"),
	    mk(H10_MS, 1, 1, "A", "a", "A"),
	    mk(H10_MS, 1, 1, "A", "A", "b"),
	    mk(H10_MS, 1, 1, "A", "A", "a"),
	    mk(H10_MS, 1, 1, "A", "A", "B"),
	    mk(H10_MS, 1, 1, "A", "A", ""),
	};
	size_t n = sizeof(ev) / sizeof(ev[0]);
	/* intern some strings first so that ids do not follow byte order */
	agg_intern(&a, "z", 1);
	agg_intern(&a, "b", 1);
	for (size_t i = 0; i < n; i++) {
		ev[i].impressions = (int64_t)(n - 1 - i);
		agg_add(&a, &ev[i]);
	}
	assert_int_equal(a.ngroups, n);
	agg_sort(&a);
	assert_int_equal(a.ngroups, n);
	for (uint32_t i = 0; i < a.ngroups; i++) {
		if (a.groups[i].val.impressions != (int64_t)i)
			print_error("position %u holds group %lld\n", i,
				    (long long)a.groups[i].val.impressions);
		assert_int_equal(a.groups[i].val.impressions, (int64_t)i);
	}
	assert_true(str_is(&a, a.groups[0].key.device, ""));
	assert_true(str_is(&a, a.groups[n - 4].key.industry, "\xc3\xa9"));
	assert_int_equal(a.groups[n - 1].key.hour_start, H10_S + 3600);
	agg_release(&a);
}

static void test_sort_random(void **state)
{
	(void)state;
	static const char *const words[] = {"a", "A", "ab", "b", "", "\xc3\xa9", "Z", "aa", "a b"};
	enum { NW = sizeof(words) / sizeof(words[0]) };
	struct agg a;
	struct rng r;
	agg_init(&a);
	rng_seed(&r, 2024);
	for (int i = 0; i < 20000; i++) {
		struct event ev =
		    mk(H10_MS + rng_range(&r, 0, 3) * 3600000 + rng_range(&r, 0, 3599),
		       (int32_t)rng_range(&r, 1, 4), (int32_t)rng_range(&r, 1, 3),
		       words[rng_range(&r, 0, NW - 1)], words[rng_range(&r, 0, NW - 1)],
		       words[rng_range(&r, 0, NW - 1)]);
		ev.impressions = 1;
		agg_add(&a, &ev);
	}
	int64_t before = 0;
	for (uint32_t i = 0; i < a.ngroups; i++)
		before += a.groups[i].val.impressions;
	uint32_t ngroups = a.ngroups;
	assert_true(ngroups > 1000);
	agg_sort(&a);
	assert_int_equal(a.ngroups, ngroups);
	int64_t after = 0;
	for (uint32_t i = 0; i < a.ngroups; i++) {
		after += a.groups[i].val.impressions;
		if (i > 0)
			assert_true(key_cmp(&a, &a.groups[i - 1].key, &a.groups[i].key) < 0);
	}
	assert_int_equal(after, before);
	assert_int_equal(after, 20000);
	agg_release(&a);
}

/* ---- publishers ---- */

static const struct agg_publisher *find_pub(const struct agg *a, int32_t id)
{
	for (uint32_t i = 0; i < a->npubs; i++)
		if (a->pubs[i].publisher_id == id)
			return &a->pubs[i];
	return NULL;
}

static void test_publisher_latest_seq(void **state)
{
	(void)state;
	struct agg a;
	agg_init(&a);
	struct event e10 = mk(H10_MS, 1, 5, "i", "l", "d");
	struct event e30 = mk(H10_MS, 1, 5, "i", "l", "d");
	struct event e20 = mk(H10_MS + 7200000, 2, 5, "i", "l", "d");
	struct event o1 = mk(H10_MS, 1, 6, "i", "l", "d");
	e10.seq = 10;
	e10.publisher_name = ev_str_of("Old");
	e10.publisher_traffic = ev_str_of("LOW");
	e10.publisher_quality = ev_str_of("LOW");
	e30.seq = 30;
	e30.publisher_name = ev_str_of("Newest");
	e30.publisher_traffic = ev_str_of("HIGH"); /* quality absent in the newest */
	e20.seq = 20;
	e20.publisher_name = ev_str_of("Middle");
	e20.publisher_quality = ev_str_of("MED");
	o1.seq = 1;
	o1.publisher_name = ev_str_of("Other");
	/* seen out of seq order */
	agg_add(&a, &e10);
	agg_add(&a, &e30);
	agg_add(&a, &o1);
	agg_add(&a, &e20);
	assert_int_equal(a.npubs, 2);
	const struct agg_publisher *p = find_pub(&a, 5);
	assert_non_null(p);
	assert_int_equal(p->last_seq, 30);
	assert_true(str_is(&a, p->name, "Newest"));
	assert_true(str_is(&a, p->traffic, "HIGH"));
	assert_int_equal(p->quality, AGG_NONE);
	p = find_pub(&a, 6);
	assert_non_null(p);
	assert_int_equal(p->last_seq, 1);
	assert_true(str_is(&a, p->name, "Other"));
	assert_int_equal(p->traffic, AGG_NONE);
	assert_int_equal(p->quality, AGG_NONE);
	/* a later seq replaces everything */
	struct event e40 = mk(H10_MS, 1, 5, "i", "l", "d");
	e40.seq = 40;
	e40.publisher_name = ev_str_of("Renamed");
	e40.publisher_quality = ev_str_of("HIGH");
	agg_add(&a, &e40);
	p = find_pub(&a, 5);
	assert_int_equal(p->last_seq, 40);
	assert_true(str_is(&a, p->name, "Renamed"));
	assert_int_equal(p->traffic, AGG_NONE);
	assert_true(str_is(&a, p->quality, "HIGH"));
	agg_release(&a);
}

static void test_publisher_many(void **state)
{
	(void)state;
	struct agg a;
	agg_init(&a);
	char name[32];
	/* more publishers than the list's first allocation */
	for (int round = 0; round < 2; round++)
		for (int i = 1; i <= 100; i++) {
			struct event ev = mk(H10_MS, 1, i, "i", "l", "d");
			snprintf(name, sizeof(name), "pub-%d-%d", i, round);
			ev.publisher_name = ev_str_of(name);
			ev.seq = round * 1000 + i;
			agg_add(&a, &ev);
		}
	assert_int_equal(a.npubs, 100);
	for (int i = 1; i <= 100; i++) {
		const struct agg_publisher *p = find_pub(&a, i);
		assert_non_null(p);
		snprintf(name, sizeof(name), "pub-%d-1", i);
		assert_true(str_is(&a, p->name, name));
		assert_int_equal(p->last_seq, 1000 + i);
	}
	agg_release(&a);
}

/* ---- KPIs ---- */

/* A publisher's row without attributes stays pending until that seq's attributes come. */
static void test_publisher_pending(void **state)
{
	(void)state;
	struct agg a;
	agg_init(&a);
	struct event e1 = mk(H10_MS, 1, 7, "IT", "Berlin", "mobile");
	e1.seq = 10;
	e1.publisher_name = ev_str_of("Old name");
	e1.publisher_traffic = ev_str_of("high");
	agg_add(&a, &e1);
	struct event e2 = mk(H10_MS, 1, 7, "IT", "Berlin", "mobile");
	e2.seq = 20;
	e2.publisher_name.s = NULL; /* a scan that left the attributes out */
	e2.publisher_name.n = 0;
	agg_add(&a, &e2);
	assert_int_equal(a.npubs, 1);
	assert_int_equal(a.pubs[0].last_seq, 20);
	assert_true(a.pubs[0].pending);
	assert_int_equal(a.ngroups, 1);
	assert_int_equal(a.groups[0].val.records, 2);

	/* attributes of an older row do not resolve it */
	struct event old;
	memset(&old, 0, sizeof(old));
	old.seq = 15;
	old.publisher_id = 7;
	old.publisher_name = ev_str_of("Stale");
	agg_note_publisher(&a, &old);
	assert_true(a.pubs[0].pending);
	assert_int_equal(a.pubs[0].last_seq, 20);

	struct event attrs;
	memset(&attrs, 0, sizeof(attrs));
	attrs.seq = 20;
	attrs.publisher_id = 7;
	attrs.publisher_name = ev_str_of("New name");
	agg_note_publisher(&a, &attrs);
	assert_false(a.pubs[0].pending);
	assert_true(str_is(&a, a.pubs[0].name, "New name"));
	assert_int_equal(a.pubs[0].traffic, AGG_NONE); /* absent in the newest row */
	agg_release(&a);
}

/* Merging two aggregations equals adding every event to one. */
static void test_merge_equals_one_pass(void **state)
{
	(void)state;
	static const char *const inds[] = {"IT", "Retail", "Health"};
	static const char *const locs[] = {"Berlin", "Paris", "Madrid", "Rome"};
	static const char *const devs[] = {"mobile", "desktop"};
	struct agg one, lo, hi;
	agg_init(&one);
	agg_init(&lo);
	agg_init(&hi);
	struct rng r;
	rng_seed(&r, 99);
	for (int i = 0; i < 5000; i++) {
		struct event ev =
		    mk(H10_MS + rng_range(&r, 0, 5) * 3600000LL, (int32_t)rng_range(&r, 1, 3),
		       (int32_t)rng_range(&r, 1, 4), inds[rng_range(&r, 0, 2)],
		       locs[rng_range(&r, 0, 3)], devs[rng_range(&r, 0, 1)]);
		char name[16];
		snprintf(name, sizeof(name), "P%d-%d", ev.publisher_id, i);
		ev.seq = i + 1;
		ev.publisher_name = ev_str_of(name);
		ev.impressions = rng_range(&r, 0, 1000);
		ev.clicks = rng_range(&r, 0, 50);
		ev.cost_micros = rng_range(&r, 0, 9000000);
		agg_add(&one, &ev);
		/* hi first, so that its strings get other ids than one's */
		agg_add(i < 2500 ? &lo : &hi, &ev);
	}
	agg_merge(&hi, &lo);
	assert_int_equal(hi.ngroups, one.ngroups);
	agg_sort(&one);
	agg_sort(&hi);
	for (uint32_t i = 0; i < one.ngroups; i++) {
		const struct agg_group *x = &one.groups[i], *y = &hi.groups[i];
		assert_int_equal(x->key.hour_start, y->key.hour_start);
		assert_int_equal(x->key.campaign_id, y->key.campaign_id);
		assert_int_equal(x->key.publisher_id, y->key.publisher_id);
		assert_string_equal(agg_str(&one, x->key.industry, NULL),
				    agg_str(&hi, y->key.industry, NULL));
		assert_string_equal(agg_str(&one, x->key.location, NULL),
				    agg_str(&hi, y->key.location, NULL));
		assert_string_equal(agg_str(&one, x->key.device, NULL),
				    agg_str(&hi, y->key.device, NULL));
		assert_int_equal(x->val.records, y->val.records);
		assert_int_equal(x->val.impressions, y->val.impressions);
		assert_int_equal(x->val.clicks, y->val.clicks);
		assert_int_equal(x->val.cost_micros, y->val.cost_micros);
		assert_near(x->val.ctr_sum, y->val.ctr_sum, 1e-9 * fabs(x->val.ctr_sum) + 1e-12);
		assert_near(x->val.cpc_sum, y->val.cpc_sum, 1e-9 * fabs(x->val.cpc_sum) + 1e-12);
	}
	/* each publisher keeps the name of its newest row, from whichever side it came */
	assert_int_equal(hi.npubs, one.npubs);
	for (uint32_t i = 0; i < one.npubs; i++) {
		const struct agg_publisher *p = &one.pubs[i], *q = NULL;
		for (uint32_t j = 0; j < hi.npubs; j++)
			if (hi.pubs[j].publisher_id == p->publisher_id)
				q = &hi.pubs[j];
		assert_non_null(q);
		assert_int_equal(q->last_seq, p->last_seq);
		assert_string_equal(agg_str(&hi, q->name, NULL), agg_str(&one, p->name, NULL));
	}
	agg_release(&one);
	agg_release(&lo);
	agg_release(&hi);
}

/*
 * agg_add_soon, flushed, gives what agg_add gives, bit for bit and in the same
 * group order: 20,000 rows over 4,000 groups (the table rehashed while rows
 * wait), a flush after a number of rows that is not a multiple of AGG_SOON,
 * and rows that the retention skip leaves out (their publisher still noted).
 */
static void test_add_soon_equals_add(void **state)
{
	(void)state;
	static const char *const devs[] = {"mobile", "desktop", "tablet", "tv"};
	struct agg now, soon;
	agg_init(&now);
	agg_init(&soon);
	now.skip_before_ms = soon.skip_before_ms = H10_MS + 2 * 3600000LL;
	now.skip_upto = soon.skip_upto = 1000;
	struct rng r;
	rng_seed(&r, 7);
	for (int i = 0; i < 20003; i++) {
		struct event ev =
		    mk(H10_MS + rng_range(&r, 0, 49) * 3600000LL, (int32_t)rng_range(&r, 1, 20),
		       (int32_t)rng_range(&r, 1, 40), "IT", "Berlin", devs[rng_range(&r, 0, 3)]);
		ev.seq = i + 1;
		ev.impressions = rng_range(&r, 0, 1000);
		ev.clicks = rng_range(&r, 0, 50);
		ev.apply_count = rng_range(&r, 0, 5);
		ev.cost_micros = rng_range(&r, 0, 9000000);
		agg_add(&now, &ev);
		agg_add_soon(&soon, &ev);
		assert_true(soon.nsoon < AGG_SOON);
	}
	assert_int_not_equal(soon.nsoon, 0);
	agg_flush(&soon);
	assert_int_equal(soon.nsoon, 0);
	assert_true(now.ngroups > 1024); /* past the first table's size: it rehashed */
	assert_int_equal(soon.ngroups, now.ngroups);
	for (uint32_t i = 0; i < now.ngroups; i++) {
		const struct agg_group *x = &now.groups[i], *y = &soon.groups[i];
		assert_true(x->key.hour_start == y->key.hour_start &&
			    x->key.campaign_id == y->key.campaign_id &&
			    x->key.publisher_id == y->key.publisher_id &&
			    x->key.industry == y->key.industry &&
			    x->key.location == y->key.location && x->key.device == y->key.device);
		assert_true(x->val.records == y->val.records && x->val.clicks == y->val.clicks &&
			    x->val.impressions == y->val.impressions &&
			    x->val.applies == y->val.applies &&
			    x->val.cost_micros == y->val.cost_micros &&
			    x->val.quality_sum == y->val.quality_sum);
		assert_true(x->val.ctr_sum == y->val.ctr_sum && x->val.cpc_sum == y->val.cpc_sum &&
			    x->val.cpa_sum == y->val.cpa_sum && x->val.roi_sum == y->val.roi_sum);
	}
	assert_int_equal(soon.npubs, now.npubs);
	for (uint32_t i = 0; i < now.npubs; i++)
		assert_int_equal(soon.pubs[i].last_seq, now.pubs[i].last_seq);
	agg_release(&now);
	agg_release(&soon);
}

/* A pending publisher in the newer side of a merge stays pending, at its seq. */
static void test_merge_pending_publisher(void **state)
{
	(void)state;
	struct agg lo, hi;
	agg_init(&lo);
	agg_init(&hi);
	struct event a = mk(H10_MS, 1, 3, "IT", "Rome", "mobile");
	a.seq = 5;
	a.publisher_name = ev_str_of("Known");
	agg_add(&lo, &a);
	struct event b = mk(H10_MS, 1, 3, "IT", "Rome", "mobile");
	b.seq = 9;
	b.publisher_name.s = NULL;
	b.publisher_name.n = 0;
	agg_add(&hi, &b);
	agg_merge(&hi, &lo);
	assert_int_equal(hi.npubs, 1);
	assert_int_equal(hi.pubs[0].last_seq, 9);
	assert_true(hi.pubs[0].pending);
	/* the other way round: the newer pending row wins over the older known one */
	agg_reset(&lo);
	agg_add(&lo, &a);
	agg_merge(&lo, &hi);
	assert_int_equal(lo.pubs[0].last_seq, 9);
	assert_true(lo.pubs[0].pending);
	assert_int_equal(lo.groups[0].val.records, 3); /* a, plus hi (b and the a merged before) */
	agg_release(&lo);
	agg_release(&hi);
}

/*
 * Distinct publisher ids of three kinds: multiples of 2^16 (they differ only
 * in high bits), negative ones and small odd ones, so that a weak hash would
 * pile them into few slots.
 */
static int32_t many_pub_id(int i)
{
	int32_t k = i / 3;
	if (i % 3 == 0)
		return k * 65536;
	if (i % 3 == 1)
		return -k - 1;
	return 2 * k + 1;
}

static int cmp_pub_id(const void *x, const void *y)
{
	int32_t a = ((const struct agg_publisher *)x)->publisher_id;
	int32_t b = ((const struct agg_publisher *)y)->publisher_id;
	return a < b ? -1 : a > b;
}

/* Two rows per publisher, the newer (seq) first for odd i; names say which row. */
static void add_many_pubs(struct agg *a, int from, int to, int round)
{
	char name[48];
	for (int i = from; i < to; i++) {
		struct event ev = mk(H10_MS, 1, many_pub_id(i), "i", "l", "d");
		int k = (i % 2) ? 1 - round : round;
		snprintf(name, sizeof(name), "pub-%d-%d", i, k);
		ev.publisher_name = ev_str_of(name);
		ev.seq = (int64_t)k * 1000000 + i;
		agg_add(a, &ev);
	}
}

/* Every publisher i in [0, n) once, with the newest row's name and seq. */
static void check_many_pubs(const struct agg *a, int n)
{
	char name[48];
	assert_int_equal(a->npubs, n);
	struct agg_publisher *sorted = xmalloc((size_t)n * sizeof(*sorted));
	memcpy(sorted, a->pubs, (size_t)n * sizeof(*sorted));
	qsort(sorted, (size_t)n, sizeof(*sorted), cmp_pub_id);
	for (int i = 0; i < n; i++) {
		struct agg_publisher key = {.publisher_id = many_pub_id(i)};
		const struct agg_publisher *p =
		    bsearch(&key, sorted, (size_t)n, sizeof(*sorted), cmp_pub_id);
		assert_non_null(p);
		snprintf(name, sizeof(name), "pub-%d-1", i);
		assert_true(str_is(a, p->name, name));
		assert_int_equal(p->last_seq, 1000000 + i);
	}
	/* ids are distinct, so n of them sorted have no neighbours alike */
	for (int i = 1; i < n; i++)
		assert_true(sorted[i - 1].publisher_id < sorted[i].publisher_id);
	free(sorted);
}

/* Tens of thousands of publishers in one chunk, added, merged and reset. */
static void test_publisher_distinct_many(void **state)
{
	(void)state;
	enum { N = 30000 };
	struct agg one, lo, hi;
	agg_init(&one);
	agg_init(&lo);
	agg_init(&hi);
	add_many_pubs(&one, 0, N, 0);
	add_many_pubs(&one, 0, N, 1);
	check_many_pubs(&one, N);
	assert_int_equal(one.ngroups, N);
	/* halves that overlap: each side has one row of the publishers in between */
	add_many_pubs(&lo, 0, 2 * N / 3, 0);
	add_many_pubs(&hi, N / 3, N, 1);
	add_many_pubs(&lo, 0, N / 3, 1);
	add_many_pubs(&hi, 2 * N / 3, N, 0);
	agg_merge(&hi, &lo);
	check_many_pubs(&hi, N);
	assert_int_equal(hi.ngroups, N);
	/* a reset table forgets them all and fills again */
	agg_reset(&one);
	assert_int_equal(one.npubs, 0);
	add_many_pubs(&one, 0, N / 2, 1);
	add_many_pubs(&one, 0, N / 2, 0);
	check_many_pubs(&one, N / 2);
	agg_release(&one);
	agg_release(&lo);
	agg_release(&hi);
}

/* Lookup probes to add n distinct publishers (two rows each) and merge them into another agg. */
static uint64_t probes_for_publishers(int n)
{
	struct agg src, dst;
	agg_init(&src);
	agg_init(&dst);
	add_many_pubs(&src, 0, n, 0);
	add_many_pubs(&src, 0, n, 1);
	add_many_pubs(&dst, n / 2, n, 0);
	agg_merge(&dst, &src);
	assert_int_equal(dst.npubs, n);
	uint64_t probes = src.probes + dst.probes;
	agg_release(&src);
	agg_release(&dst);
	return probes;
}

/*
 * The work per event does not grow with the number of publishers in a chunk:
 * counted in lookup probes, not time. A linear search of the publishers makes
 * n^2 / 2 probes (4e8 for 20,000) and 16 times as many for four times n.
 */
static void test_publisher_lookup_cost(void **state)
{
	(void)state;
	uint64_t p20 = probes_for_publishers(20000);
	uint64_t p80 = probes_for_publishers(80000);
	/* 2.5 rows per publisher, each a handful of lookups at a table at most half full */
	print_message("probes: 20k publishers %llu, 80k %llu\n", (unsigned long long)p20,
		      (unsigned long long)p80);
	assert_true(p20 < 20000ULL * 40);
	assert_true(p80 < 80000ULL * 40);
	assert_true(p80 < p20 * 6);
}

static void test_record_ratios(void **state)
{
	(void)state;
	double ctr, cpc, cpa, roi;
	kpi_record_ratios(1000, 25, 5, 12500000, &ctr, &cpc, &cpa, &roi);
	assert_near(ctr, 0.025, 1e-15);
	assert_near(cpc, 12.5 / 25.0, 1e-15);
	assert_near(cpa, 12.5 / 5.0, 1e-15);
	assert_near(roi, 5.0 / 12.5, 1e-15);
	/* cost in currency units, from micros */
	kpi_record_ratios(3, 3, 3, 1, &ctr, &cpc, &cpa, &roi);
	assert_near(ctr, 1.0, 1e-15);
	assert_near(cpc, 1e-6 / 3.0, 1e-18);
	assert_near(cpa, 1e-6 / 3.0, 1e-18);
	assert_near(roi, 3.0 / 1e-6, 1e-6);
	/* each zero denominator gives 0, independently of the others */
	kpi_record_ratios(0, 7, 2, 4000000, &ctr, &cpc, &cpa, &roi);
	assert_true(ctr == 0.0);
	assert_near(cpc, 4.0 / 7.0, 1e-15);
	assert_near(cpa, 2.0, 1e-15);
	assert_near(roi, 0.5, 1e-15);
	kpi_record_ratios(10, 0, 2, 4000000, &ctr, &cpc, &cpa, &roi);
	assert_true(ctr == 0.0);
	assert_true(cpc == 0.0);
	assert_near(cpa, 2.0, 1e-15);
	kpi_record_ratios(10, 5, 0, 4000000, &ctr, &cpc, &cpa, &roi);
	assert_near(ctr, 0.5, 1e-15);
	assert_true(cpa == 0.0);
	assert_true(roi == 0.0);
	kpi_record_ratios(10, 5, 3, 0, &ctr, &cpc, &cpa, &roi);
	assert_true(cpc == 0.0);
	assert_true(cpa == 0.0);
	assert_true(roi == 0.0);
	kpi_record_ratios(0, 0, 0, 0, &ctr, &cpc, &cpa, &roi);
	assert_true(ctr == 0.0 && cpc == 0.0 && cpa == 0.0 && roi == 0.0);
	assert_false(isnan(ctr) || isnan(cpc) || isnan(cpa) || isnan(roi));
}

static void test_kpi_compute_values(void **state)
{
	(void)state;
	struct kpi_sums s = {.records = 4,
			     .impressions = 2000,
			     .clicks = 50,
			     .applies = 8,
			     .cost_micros = 25000000,
			     .quality_sum = 300,
			     .ctr_sum = 0.2,
			     .cpc_sum = 2.0,
			     .cpa_sum = 12.0,
			     .roi_sum = 1.0};
	struct kpis k;
	memset(&k, 0xff, sizeof(k));
	kpi_compute(&s, &k);
	assert_near(k.spend, 25.0, 1e-12);
	assert_true(k.ctr.has);
	assert_near(k.ctr.v, 0.025, 1e-15);
	assert_true(k.cpc.has);
	assert_near(k.cpc.v, 0.5, 1e-15);
	assert_true(k.cpa.has);
	assert_near(k.cpa.v, 25.0 / 8.0, 1e-15);
	assert_true(k.apply_rate.has);
	assert_near(k.apply_rate.v, 8.0 / 50.0, 1e-15);
	assert_true(k.roi.has);
	assert_near(k.roi.v, 8.0 / 25.0, 1e-15);
	assert_true(k.avg_quality.has);
	assert_near(k.avg_quality.v, 75.0, 1e-12);
	assert_true(k.avg_ctr.has && k.avg_cpc.has && k.avg_cpa.has && k.avg_roi.has);
	assert_near(k.avg_ctr.v, 0.05, 1e-15);
	assert_near(k.avg_cpc.v, 0.5, 1e-15);
	assert_near(k.avg_cpa.v, 3.0, 1e-15);
	assert_near(k.avg_roi.v, 0.25, 1e-15);
	/* ratios of sums, not sums of ratios: 1/1 and 0/99 give 1/100, not a mean of 0.5 */
	struct kpi_sums t = {.records = 2, .impressions = 100, .clicks = 1};
	kpi_compute(&t, &k);
	assert_near(k.ctr.v, 0.01, 1e-15);
}

static void test_kpi_compute_zero_denominators(void **state)
{
	(void)state;
	struct kpis k;
	/* ctr with 0 impressions */
	struct kpi_sums s = {
	    .records = 1, .impressions = 0, .clicks = 3, .applies = 1, .cost_micros = 2000000};
	kpi_compute(&s, &k);
	assert_false(k.ctr.has);
	assert_true(k.cpc.has);
	assert_near(k.cpc.v, 2.0 / 3.0, 1e-15);
	assert_true(k.cpa.has);
	assert_true(k.roi.has);
	/* cpc (and apply_rate) with 0 clicks */
	struct kpi_sums c = {
	    .records = 1, .impressions = 10, .clicks = 0, .applies = 1, .cost_micros = 2000000};
	kpi_compute(&c, &k);
	assert_true(k.ctr.has);
	assert_true(k.ctr.v == 0.0);
	assert_false(k.cpc.has);
	assert_false(k.apply_rate.has);
	assert_true(k.cpa.has);
	assert_near(k.cpa.v, 2.0, 1e-15);
	/* cpa with 0 applies: roi is then 0, not NULL */
	struct kpi_sums p = {
	    .records = 1, .impressions = 10, .clicks = 2, .applies = 0, .cost_micros = 2000000};
	kpi_compute(&p, &k);
	assert_false(k.cpa.has);
	assert_true(k.roi.has);
	assert_true(k.roi.v == 0.0);
	assert_true(k.apply_rate.has);
	assert_true(k.apply_rate.v == 0.0);
	/* roi with 0 cost: cpc and cpa are 0, not NULL */
	struct kpi_sums r = {
	    .records = 1, .impressions = 10, .clicks = 2, .applies = 1, .cost_micros = 0};
	kpi_compute(&r, &k);
	assert_false(k.roi.has);
	assert_true(k.cpc.has);
	assert_true(k.cpc.v == 0.0);
	assert_true(k.cpa.has);
	assert_true(k.cpa.v == 0.0);
	assert_true(k.spend == 0.0);
	/* nothing at all */
	struct kpi_sums z;
	memset(&z, 0, sizeof(z));
	kpi_compute(&z, &k);
	assert_false(k.ctr.has || k.cpc.has || k.cpa.has || k.apply_rate.has || k.roi.has);
	assert_false(k.avg_quality.has || k.avg_ctr.has || k.avg_cpc.has || k.avg_cpa.has ||
		     k.avg_roi.has);
	assert_true(k.spend == 0.0);
}

static void test_kpi_from_agg(void **state)
{
	(void)state;
	/* end to end: events -> group -> KPIs match the definitions on the sums */
	struct agg a;
	agg_init(&a);
	struct event e1 = mk(H10_MS, 1, 1, "i", "l", "d");
	struct event e2 = mk(H10_MS + 60000, 1, 1, "i", "l", "d");
	e1.impressions = 1000;
	e1.clicks = 10;
	e1.apply_count = 1;
	e1.cost_micros = 1500000; /* 1.5 */
	e2.impressions = 0;
	e2.clicks = 0;
	e2.apply_count = 0;
	e2.cost_micros = 0;
	agg_add(&a, &e1);
	agg_add(&a, &e2);
	assert_int_equal(a.ngroups, 1);
	struct kpis k;
	kpi_compute(&a.groups[0].val, &k);
	assert_near(k.spend, 1.5, 1e-12);
	assert_near(k.ctr.v, 0.01, 1e-15);
	assert_near(k.cpc.v, 0.15, 1e-15);
	assert_near(k.cpa.v, 1.5, 1e-15);
	assert_near(k.roi.v, 1.0 / 1.5, 1e-15);
	/* the original's per-record means: e2 contributes zeros */
	assert_near(k.avg_ctr.v, 0.01 / 2, 1e-15);
	assert_near(k.avg_cpc.v, 0.15 / 2, 1e-15);
	assert_near(k.avg_roi.v, (1.0 / 1.5) / 2, 1e-15);
	agg_release(&a);
}

/* ---- exact sums past int64 (issue 12, finding 7) ---- */

static void test_sums_past_int64_are_exact(void **state)
{
	(void)state;
	struct agg a;
	agg_init(&a);
	/* ten records at a cost that wrapped the old int64 sum to a negative one */
	struct event ev = mk(H10_MS, 101, 2, "IT", "HCM", "mobile");
	ev.cost_micros = 1000000000000000000LL; /* 1e12 units: what the issue sent */
	ev.impressions = EV_COUNT_MAX;
	for (int i = 0; i < 10; i++)
		agg_add(&a, &ev);
	assert_int_equal(a.ngroups, 1);
	const struct kpi_sums *v = &a.groups[0].val;
	assert_true(v->cost_micros == (kpi_int)10 * 1000000000000000000LL);
	assert_true(v->cost_micros > 0 && !kpi_int_fits64(v->cost_micros));
	/* ... and the store is told which measure does not fit a fact row */
	assert_true(kpi_int_fits64(v->impressions));
	/* groups merged at their limit stay exact too */
	struct kpi_sums big = {.records = INT64_MAX, .cost_micros = INT64_MAX};
	struct agg_key k = a.groups[0].key;
	agg_add_group(&a, &k, &big);
	agg_add_group(&a, &k, &big);
	assert_true(v->records == (kpi_int)2 * INT64_MAX + 10);
	char buf[KPI_INT_BUF];
	assert_string_equal(kpi_int_format(v->cost_micros, buf), "28446744073709551614");
	struct kpis kp;
	kpi_compute(v, &kp);
	assert_near(kp.spend, 28446744073709.551614, 1e3);
	agg_release(&a);
}

static void test_kpi_int_text(void **state)
{
	(void)state;
	static const char *const ok[] = {"0",
					 "-1",
					 "9223372036854775807",
					 "9223372036854775808",
					 "-9223372036854775809",
					 "18446744073709551616",
					 "170141183460469231731687303715884105727",
					 "-170141183460469231731687303715884105728"};
	char buf[KPI_INT_BUF];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		kpi_int v = 1;
		assert_int_equal(kpi_int_parse(ok[i], strlen(ok[i]), &v), 0);
		assert_string_equal(kpi_int_format(v, buf), ok[i]);
	}
	static const char *const bad[] = {"",
					  "-",
					  "1.5",
					  "12a",
					  " 1",
					  "+1",
					  "170141183460469231731687303715884105728",
					  "-170141183460469231731687303715884105729"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kpi_int v = 7;
		assert_int_equal(kpi_int_parse(bad[i], strlen(bad[i]), &v), -1);
		assert_true(v == 7);
	}
	assert_true(kpi_int_fits64(INT64_MAX) && kpi_int_fits64(INT64_MIN));
	assert_false(kpi_int_fits64((kpi_int)INT64_MAX + 1));
	assert_false(kpi_int_fits64((kpi_int)INT64_MIN - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_grain_one_group),
	    cmocka_unit_test(test_sums_past_int64_are_exact),
	    cmocka_unit_test(test_kpi_int_text),
	    cmocka_unit_test(test_different_grain_different_groups),
	    cmocka_unit_test(test_hour_start),
	    cmocka_unit_test(test_intern),
	    cmocka_unit_test(test_intern_many),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_many_groups_rehash),
	    cmocka_unit_test(test_sort_specific),
	    cmocka_unit_test(test_sort_random),
	    cmocka_unit_test(test_publisher_latest_seq),
	    cmocka_unit_test(test_publisher_many),
	    cmocka_unit_test(test_publisher_pending),
	    cmocka_unit_test(test_merge_equals_one_pass),
	    cmocka_unit_test(test_add_soon_equals_add),
	    cmocka_unit_test(test_merge_pending_publisher),
	    cmocka_unit_test(test_publisher_distinct_many),
	    cmocka_unit_test(test_publisher_lookup_cost),
	    cmocka_unit_test(test_record_ratios),
	    cmocka_unit_test(test_kpi_compute_values),
	    cmocka_unit_test(test_kpi_compute_zero_denominators),
	    cmocka_unit_test(test_kpi_from_agg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
