/*
 * cassandra/recompute.c - verify's own aggregation over the Cassandra event
 * store: the rows with seq <= upto, aggregated here at the fact grain with a
 * hash table of its own (not agg.c), then sorted bytewise. Cassandra has no
 * GROUP BY over arbitrary columns, so the store's "own" aggregation is this
 * independent one over the rows as Cassandra returns them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "jobads/tz.h"

#include "jobads/banned.h"

struct group {
	struct fact_row f;
	char *text; /* industry, location, device back to back */
};

struct group_table {
	struct group *g;
	size_t n, cap;
	uint32_t *slots;
	size_t nslots;
	const struct tz *tz; /* the local hours of this zone; NULL: UTC */
	size_t tz_hint;
};

/* hs: the group's hour_start, which ev's ts is not where the zone's offset is not whole hours */
static uint64_t grain_hash(int64_t hs, const struct event *ev)
{
	uint64_t h = 1469598103934665603ULL;
	h = (h ^ (uint64_t)hs) * 1099511628211ULL;
	h = (h ^ (uint32_t)ev->campaign_id) * 1099511628211ULL;
	h = (h ^ (uint32_t)ev->publisher_id) * 1099511628211ULL;
	const struct ev_str *t[3] = {&ev->industry, &ev->location, &ev->device};
	for (int k = 0; k < 3; k++) {
		for (uint32_t i = 0; i < t[k]->n; i++)
			h = (h ^ (unsigned char)t[k]->s[i]) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

static int str_eq(struct ev_str a, struct ev_str b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.s, b.s, a.n) == 0);
}

static int add_to_group(void *arg, const struct event *ev)
{
	struct group_table *x = arg;
	int64_t hs = (ev->ts_ms / 3600000) * 3600;
	if (ev->ts_ms < 0)
		hs = ((ev->ts_ms - 3599999) / 3600000) * 3600;
	if (x->tz) /* the local hour's start: floor((t + off) / 3600) * 3600 - off */
		hs = tz_hour_start(x->tz,
				   ev->ts_ms >= 0 ? ev->ts_ms / 1000 : (ev->ts_ms - 999) / 1000,
				   &x->tz_hint);
	if (x->n * 2 >= x->nslots) {
		size_t ns = x->nslots ? x->nslots * 2 : 4096;
		free(x->slots);
		x->slots = xcalloc(ns, sizeof(uint32_t));
		x->nslots = ns;
		for (size_t i = 0; i < x->n; i++) {
			struct event t;
			memset(&t, 0, sizeof(t));
			t.ts_ms = x->g[i].f.hour_start * 1000;
			t.campaign_id = x->g[i].f.campaign_id;
			t.publisher_id = x->g[i].f.publisher_id;
			t.industry = x->g[i].f.industry;
			t.location = x->g[i].f.location;
			t.device = x->g[i].f.device;
			size_t j = grain_hash(x->g[i].f.hour_start, &t) & (ns - 1);
			while (x->slots[j])
				j = (j + 1) & (ns - 1);
			x->slots[j] = (uint32_t)(i + 1);
		}
	}
	size_t j = grain_hash(hs, ev) & (x->nslots - 1);
	struct group *g = NULL;
	while (x->slots[j]) {
		struct group *c = &x->g[x->slots[j] - 1];
		if (c->f.hour_start == hs && c->f.campaign_id == ev->campaign_id &&
		    c->f.publisher_id == ev->publisher_id && str_eq(c->f.industry, ev->industry) &&
		    str_eq(c->f.location, ev->location) && str_eq(c->f.device, ev->device)) {
			g = c;
			break;
		}
		j = (j + 1) & (x->nslots - 1);
	}
	if (!g) {
		if (x->n == x->cap) {
			x->cap = x->cap ? x->cap * 2 : 1024;
			x->g = xrealloc(x->g, x->cap * sizeof(*x->g));
		}
		g = &x->g[x->n++];
		memset(g, 0, sizeof(*g));
		size_t tl = (size_t)ev->industry.n + ev->location.n + ev->device.n;
		g->text = xmalloc(tl + 1);
		memcpy(g->text, ev->industry.s, ev->industry.n);
		memcpy(g->text + ev->industry.n, ev->location.s, ev->location.n);
		memcpy(g->text + ev->industry.n + ev->location.n, ev->device.s, ev->device.n);
		g->f.hour_start = hs;
		g->f.campaign_id = ev->campaign_id;
		g->f.publisher_id = ev->publisher_id;
		g->f.industry = (struct ev_str){g->text, ev->industry.n};
		g->f.location = (struct ev_str){g->text + ev->industry.n, ev->location.n};
		g->f.device =
		    (struct ev_str){g->text + ev->industry.n + ev->location.n, ev->device.n};
		x->slots[j] = (uint32_t)x->n;
	}
	struct kpi_sums *m = &g->f.m;
	double cost = (double)ev->cost_micros / 1e6;
	m->records++;
	m->impressions += ev->impressions;
	m->clicks += ev->clicks;
	m->applies += ev->apply_count;
	m->cost_micros += ev->cost_micros;
	m->quality_sum += ev->quality_score;
	m->ctr_sum += ev->impressions > 0 ? (double)ev->clicks / (double)ev->impressions : 0;
	m->cpc_sum += ev->clicks > 0 ? cost / (double)ev->clicks : 0;
	m->cpa_sum += ev->apply_count > 0 ? cost / (double)ev->apply_count : 0;
	m->roi_sum += ev->cost_micros > 0 ? (double)ev->apply_count / cost : 0;
	return 0;
}

static int str_cmp(struct ev_str a, struct ev_str b)
{
	uint32_t n = a.n < b.n ? a.n : b.n;
	int c = n ? memcmp(a.s, b.s, n) : 0;
	if (c)
		return c;
	return (a.n > b.n) - (a.n < b.n);
}

static int grain_cmp(const void *pa, const void *pb)
{
	const struct fact_row *a = &((const struct group *)pa)->f,
			      *b = &((const struct group *)pb)->f;
	if (a->hour_start != b->hour_start)
		return a->hour_start < b->hour_start ? -1 : 1;
	if (a->campaign_id != b->campaign_id)
		return a->campaign_id < b->campaign_id ? -1 : 1;
	if (a->publisher_id != b->publisher_id)
		return a->publisher_id < b->publisher_id ? -1 : 1;
	int c;
	if ((c = str_cmp(a->industry, b->industry)) != 0)
		return c;
	if ((c = str_cmp(a->location, b->location)) != 0)
		return c;
	return str_cmp(a->device, b->device);
}

enum jrc ev_cass_recompute(struct evstore *s, int64_t upto, const struct tz *tz, fact_row_fn fn,
			   void *arg, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	struct group_table x;
	memset(&x, 0, sizeof(x));
	x.tz = tz;
	int r = J_OK;
	if (upto > 0) {
		struct cass_walk w = {
		    .limit = SIZE_MAX, .stop_seq = upto, .all = 1, .fn = add_to_group, .arg = &x};
		/* the rows the cursor covers: up to its row by id (scan_marks), else by position */
		r = cass_mark_get(e, upto, w.stop_id, &w.stop_by_id, err);
		if (r == J_OK)
			r = cass_walk(e, &w, err);
		if (r == J_OK && w.stop_by_id && !w.stop_found) {
			jerr_set(err,
				 "%s: the cursor (%" PRId64
				 ") names a row that is not stored in its"
				 " partition",
				 s->name, upto);
			r = J_ERROR;
		} else if (r == J_OK && !w.stop_by_id && w.upto != upto) {
			jerr_set(err,
				 "%s: the cursor (%" PRId64 ") is not a stored row (the last row at"
				 " or before it is %" PRId64 ")",
				 s->name, upto, w.upto);
			r = J_ERROR;
		}
	}
	if (r == J_OK && x.n > 0) { /* nothing read (cursor 0): x.g is NULL, no qsort */
		qsort(x.g, x.n, sizeof(*x.g), grain_cmp);
		for (size_t i = 0; i < x.n; i++)
			if ((r = fn(arg, &x.g[i].f)) != 0)
				break;
	}
	for (size_t i = 0; i < x.n; i++)
		free(x.g[i].text);
	free(x.g);
	free(x.slots);
	return r;
}
