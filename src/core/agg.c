/*
 * agg.c - hash aggregation for the ETL. Strings are interned into one byte
 * arena; groups and publishers live in dense arrays, each indexed by an
 * open-addressing table of 32-bit slots, so every lookup costs the same however
 * many groups or publishers a chunk has. The tables are kept between chunks
 * (agg_reset clears them without freeing), so a run allocates only while the
 * number of groups grows.
 */
#include "jobads/agg.h"
#include "jobads/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/util.h"
#include "jobads/banned.h"

static uint64_t hash_bytes(const char *s, size_t n)
{
	/* FNV-1a, then a final mix: strings here are short labels. */
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static uint64_t hash_key(const struct agg_key *k)
{
	uint64_t h = (uint64_t)k->hour_start * 0x9e3779b97f4a7c15ULL;
	h = mix(h, ((uint64_t)(uint32_t)k->campaign_id << 32) | (uint32_t)k->publisher_id);
	h = mix(h, ((uint64_t)k->industry << 32) | k->location);
	h = mix(h, k->device);
	h ^= h >> 31;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 29);
}

void agg_init(struct agg *a)
{
	memset(a, 0, sizeof(*a));
}

void agg_release(struct agg *a)
{
	free(a->soon);
	free(a->strs.bytes);
	free(a->strs.off);
	free(a->strs.slen);
	free(a->strs.slots);
	free(a->groups);
	free(a->gstep);
	free(a->gslots);
	free(a->pubs);
	free(a->pslots);
	memset(a, 0, sizeof(*a));
}

void agg_step(struct agg *a)
{
	a->step++;
	a->step_old = 0;
}

void agg_reset(struct agg *a)
{
	if (a->nsoon)
		BUG("agg_reset with %u rows not added (agg_flush first)", a->nsoon);
	a->strs.len = 0;
	a->strs.count = 0;
	if (a->strs.slots)
		memset(a->strs.slots, 0, a->strs.nslots * sizeof(uint32_t));
	a->ngroups = 0;
	a->step = 0;
	a->step_old = 0;
	if (a->gslots)
		memset(a->gslots, 0, a->ngslots * sizeof(uint32_t));
	a->npubs = 0;
	if (a->pslots)
		memset(a->pslots, 0, a->npslots * sizeof(uint32_t));
}

static void strs_rehash(struct agg_strtab *t, uint32_t nslots)
{
	free(t->slots);
	t->slots = xcalloc(nslots, sizeof(uint32_t));
	t->nslots = nslots;
	for (uint32_t id = 0; id < t->count; id++) {
		uint64_t h = hash_bytes(t->bytes + t->off[id], t->slen[id]);
		uint32_t i = (uint32_t)h & (nslots - 1);
		while (t->slots[i])
			i = (i + 1) & (nslots - 1);
		t->slots[i] = id + 1;
	}
}

uint32_t agg_intern(struct agg *a, const char *s, size_t n)
{
	struct agg_strtab *t = &a->strs;
	if (t->nslots == 0)
		strs_rehash(t, 64);
	uint64_t h = hash_bytes(s, n);
	uint32_t i = (uint32_t)h & (t->nslots - 1);
	while (t->slots[i]) {
		uint32_t id = t->slots[i] - 1;
		a->probes++;
		if (t->slen[id] == n && memcmp(t->bytes + t->off[id], s, n) == 0)
			return id;
		i = (i + 1) & (t->nslots - 1);
	}
	/* new string */
	if (t->count == t->idcap) {
		t->idcap = t->idcap ? t->idcap * 2 : 64;
		t->off = xrealloc(t->off, t->idcap * sizeof(uint32_t));
		t->slen = xrealloc(t->slen, t->idcap * sizeof(uint32_t));
	}
	if (t->len + n + 1 > t->cap) {
		while (t->len + n + 1 > t->cap)
			t->cap = t->cap ? t->cap * 2 : 4096;
		t->bytes = xrealloc(t->bytes, t->cap);
	}
	uint32_t id = t->count++;
	t->off[id] = (uint32_t)t->len;
	t->slen[id] = (uint32_t)n;
	memcpy(t->bytes + t->len, s, n);
	t->bytes[t->len + n] = '\0';
	t->len += n + 1;
	t->slots[i] = id + 1;
	if (t->count * 2 > t->nslots)
		strs_rehash(t, t->nslots * 2);
	return id;
}

const char *agg_str(const struct agg *a, uint32_t id, size_t *n)
{
	if (n)
		*n = a->strs.slen[id];
	return a->strs.bytes + a->strs.off[id];
}

char *agg_key_name(const struct agg *a, const struct agg_key *k, char *buf, size_t len)
{
	char t[40];
	size_t ni, nl, nd;
	const char *ind = agg_str(a, k->industry, &ni), *loc = agg_str(a, k->location, &nl);
	const char *dev = agg_str(a, k->device, &nd);
	snprintf(buf, len, "hour %s campaign %d publisher %d %.*s/%.*s/%.*s",
		 ts_format_iso(k->hour_start * 1000, t, sizeof(t)), (int)k->campaign_id,
		 (int)k->publisher_id, (int)ni, ind, (int)nl, loc, (int)nd, dev);
	return buf;
}

static void groups_rehash(struct agg *a, uint32_t nslots)
{
	free(a->gslots);
	a->gslots = xcalloc(nslots, sizeof(uint32_t));
	a->ngslots = nslots;
	for (uint32_t g = 0; g < a->ngroups; g++) {
		uint32_t i = (uint32_t)hash_key(&a->groups[g].key) & (nslots - 1);
		while (a->gslots[i])
			i = (i + 1) & (nslots - 1);
		a->gslots[i] = g + 1;
	}
}

static int key_eq(const struct agg_key *x, const struct agg_key *y)
{
	return x->hour_start == y->hour_start && x->campaign_id == y->campaign_id &&
	       x->publisher_id == y->publisher_id && x->industry == y->industry &&
	       x->location == y->location && x->device == y->device;
}

/* The group of k, whose hash_key is h; new if unseen. */
static struct kpi_sums *group_for(struct agg *a, const struct agg_key *k, uint64_t h)
{
	if (a->ngslots == 0)
		groups_rehash(a, 1024);
	uint32_t i = (uint32_t)h & (a->ngslots - 1);
	while (a->gslots[i]) {
		uint32_t gi = a->gslots[i] - 1;
		struct agg_group *g = &a->groups[gi];
		a->probes++;
		if (key_eq(&g->key, k)) {
			if (a->gstep[gi] != a->step) {
				a->gstep[gi] = a->step;
				a->step_old++;
			}
			return &g->val;
		}
		i = (i + 1) & (a->ngslots - 1);
	}
	if (a->ngroups == a->gcap) {
		a->gcap = a->gcap ? a->gcap * 2 : 1024;
		a->groups = xrealloc(a->groups, a->gcap * sizeof(*a->groups));
		a->gstep = xrealloc(a->gstep, a->gcap * sizeof(*a->gstep));
	}
	uint32_t gi = a->ngroups++;
	a->groups[gi].key = *k;
	a->gstep[gi] = a->step;
	memset(&a->groups[gi].val, 0, sizeof(a->groups[gi].val));
	a->gslots[i] = gi + 1;
	if (a->ngroups * 2 > a->ngslots) {
		groups_rehash(a, a->ngslots * 2);
	}
	return &a->groups[gi].val;
}

void kpi_record_ratios(int64_t impressions, int64_t clicks, int64_t applies, int64_t cost_micros,
		       double *ctr, double *cpc, double *cpa, double *roi)
{
	double cost = (double)cost_micros / 1000000.0;
	*ctr = impressions > 0 ? (double)clicks * 1.0 / (double)impressions : 0.0;
	*cpc = clicks > 0 ? cost / (double)clicks : 0.0;
	*cpa = applies > 0 ? cost / (double)applies : 0.0;
	*roi = cost_micros > 0 ? (double)applies / cost : 0.0;
}

/* 1 when interned id holds exactly v (AGG_NONE matches an absent value). */
static int same_str(const struct agg *a, uint32_t id, struct ev_str v)
{
	if (id == AGG_NONE)
		return v.n == 0;
	return a->strs.slen[id] == v.n && memcmp(a->strs.bytes + a->strs.off[id], v.s, v.n) == 0;
}

static uint32_t hash_pub(int32_t id)
{
	uint64_t h = (uint64_t)(uint32_t)id * 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(h ^ (h >> 32));
}

static void pubs_rehash(struct agg *a, uint32_t nslots)
{
	free(a->pslots);
	a->pslots = xcalloc(nslots, sizeof(uint32_t));
	a->npslots = nslots;
	for (uint32_t p = 0; p < a->npubs; p++) {
		uint32_t i = hash_pub(a->pubs[p].publisher_id) & (nslots - 1);
		while (a->pslots[i])
			i = (i + 1) & (nslots - 1);
		a->pslots[i] = p + 1;
	}
}

/*
 * The publisher entry of id, new if unseen. A hash, not a list: a chunk can
 * hold tens of thousands of publishers (a linear search took 1.2 s for 40,000
 * and 4.7 s for 80,000 in one chunk), and agg_merge looks up every one again.
 */
static struct agg_publisher *publisher_for(struct agg *a, int32_t id)
{
	if (a->npslots == 0)
		pubs_rehash(a, 64);
	uint32_t i = hash_pub(id) & (a->npslots - 1);
	while (a->pslots[i]) {
		struct agg_publisher *p = &a->pubs[a->pslots[i] - 1];
		a->probes++;
		if (p->publisher_id == id)
			return p;
		i = (i + 1) & (a->npslots - 1);
	}
	if (a->npubs == a->pcap) {
		a->pcap = a->pcap ? a->pcap * 2 : 16;
		a->pubs = xrealloc(a->pubs, a->pcap * sizeof(*a->pubs));
	}
	uint32_t pi = a->npubs++;
	struct agg_publisher *p = &a->pubs[pi];
	p->publisher_id = id;
	p->last_seq = -1;
	p->name = p->traffic = p->quality = AGG_NONE;
	p->pending = 0;
	a->pslots[i] = pi + 1;
	if (a->npubs * 2 > a->npslots)
		pubs_rehash(a, a->npslots * 2);
	return p;
}

void agg_note_publisher(struct agg *a, const struct event *ev)
{
	struct agg_publisher *p = publisher_for(a, ev->publisher_id);
	if (ev->seq >= p->last_seq) {
		p->last_seq = ev->seq;
		p->pending = ev->publisher_name.s == NULL;
		if (p->pending)
			return; /* attributes to come, for this seq */
		/* the name rarely changes: compare before paying for an intern */
		if (!same_str(a, p->name, ev->publisher_name))
			p->name = agg_intern(a, ev->publisher_name.s, ev->publisher_name.n);
		if (!same_str(a, p->traffic, ev->publisher_traffic))
			p->traffic =
			    ev->publisher_traffic.n
				? agg_intern(a, ev->publisher_traffic.s, ev->publisher_traffic.n)
				: AGG_NONE;
		if (!same_str(a, p->quality, ev->publisher_quality))
			p->quality =
			    ev->publisher_quality.n
				? agg_intern(a, ev->publisher_quality.s, ev->publisher_quality.n)
				: AGG_NONE;
	}
}

/* A row of agg_add_soon waiting for agg_flush: its group's key and hash, its measures. */
struct agg_soon {
	struct agg_key k;
	uint64_t h;
	int64_t impressions, clicks, applies, cost_micros;
	int32_t quality_score;
};

/* ev's group key; 0 when agg.skip_* leave it out (the facts kept hold it already). */
static int key_of(struct agg *a, const struct event *ev, struct agg_key *k)
{
	if (a->skip_upto > 0 && ev->seq <= a->skip_upto && ev->ts_ms < a->skip_before_ms)
		return 0;
	int64_t secs = ev->ts_ms >= 0 ? ev->ts_ms / 1000 : -((-ev->ts_ms + 999) / 1000);
	k->hour_start = a->tz ? tz_hour_start(a->tz, secs, &a->tz_hint)
			      : secs - (((secs % 3600) + 3600) % 3600);
	k->campaign_id = ev->campaign_id;
	k->publisher_id = ev->publisher_id;
	k->industry = agg_intern(a, ev->industry.s, ev->industry.n);
	k->location = agg_intern(a, ev->location.s, ev->location.n);
	k->device = agg_intern(a, ev->device.s, ev->device.n);
	return 1;
}

static void add_measures(struct agg *a, const struct agg_soon *r)
{
	double ctr, cpc, cpa, roi;
	struct kpi_sums *v = group_for(a, &r->k, r->h);
	kpi_record_ratios(r->impressions, r->clicks, r->applies, r->cost_micros, &ctr, &cpc, &cpa,
			  &roi);
	v->records++;
	v->impressions += r->impressions;
	v->clicks += r->clicks;
	v->applies += r->applies;
	v->cost_micros += r->cost_micros;
	v->quality_sum += r->quality_score;
	v->ctr_sum += ctr;
	v->cpc_sum += cpc;
	v->cpa_sum += cpa;
	v->roi_sum += roi;
}

static void soon_of(const struct event *ev, const struct agg_key *k, struct agg_soon *r)
{
	*r = (struct agg_soon){.k = *k,
			       .h = hash_key(k),
			       .impressions = ev->impressions,
			       .clicks = ev->clicks,
			       .applies = ev->apply_count,
			       .cost_micros = ev->cost_micros,
			       .quality_score = ev->quality_score};
}

void agg_add(struct agg *a, const struct event *ev)
{
	struct agg_key k;
	struct agg_soon r;
	if (key_of(a, ev, &k)) {
		soon_of(ev, &k, &r);
		add_measures(a, &r);
	}
	agg_note_publisher(a, ev);
}

/*
 * With history out of time order the groups of consecutive rows are far apart
 * in memory (a chunk of 1 M shuffled events holds 130,000 groups of 160 bytes),
 * and each lookup waited for a slot and then a group from main memory: a fifth
 * of the ETL's time. agg_add_soon prefetches a row's slot when it comes; the
 * flush then prefetches every waiting row's group before it adds the first.
 */
void agg_add_soon(struct agg *a, const struct event *ev)
{
	struct agg_key k;
	if (key_of(a, ev, &k)) {
		if (!a->soon)
			a->soon = xmalloc(AGG_SOON * sizeof(*a->soon));
		struct agg_soon *r = &a->soon[a->nsoon++];
		soon_of(ev, &k, r);
		if (a->ngslots)
			__builtin_prefetch(&a->gslots[(uint32_t)r->h & (a->ngslots - 1)]);
	}
	agg_note_publisher(a, ev);
	if (a->nsoon == AGG_SOON)
		agg_flush(a);
}

void agg_flush(struct agg *a)
{
	uint32_t n = a->nsoon;
	if (a->ngslots)
		for (uint32_t i = 0; i < n; i++) {
			uint32_t g = a->gslots[(uint32_t)a->soon[i].h & (a->ngslots - 1)];
			if (g) /* the group at the first slot probed: most often the one */
				__builtin_prefetch(&a->groups[g - 1], 1);
		}
	a->nsoon = 0; /* before the adds: a rehash there reads no waiting row */
	for (uint32_t i = 0; i < n; i++)
		add_measures(a, &a->soon[i]);
}

void agg_add_group(struct agg *a, const struct agg_key *k, const struct kpi_sums *x)
{
	struct kpi_sums *v = group_for(a, k, hash_key(k));
	v->records += x->records;
	v->impressions += x->impressions;
	v->clicks += x->clicks;
	v->applies += x->applies;
	v->cost_micros += x->cost_micros;
	v->quality_sum += x->quality_sum;
	v->ctr_sum += x->ctr_sum;
	v->cpc_sum += x->cpc_sum;
	v->cpa_sum += x->cpa_sum;
	v->roi_sum += x->roi_sum;
}

/* src's string id as an ev_str (AGG_NONE: absent). */
static struct ev_str str_of(const struct agg *src, uint32_t id)
{
	struct ev_str v = {"", 0};
	size_t n;
	if (id != AGG_NONE) {
		v.s = agg_str(src, id, &n);
		v.n = (uint32_t)n;
	}
	return v;
}

void agg_merge(struct agg *dst, const struct agg *src)
{
	if (dst->nsoon || src->nsoon)
		BUG("agg_merge with rows not added (agg_flush first)");
	/* map each of src's strings to dst's id once, not once per group */
	uint32_t *map = xmalloc((src->strs.count ? src->strs.count : 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < src->strs.count; i++) {
		size_t n;
		const char *t = agg_str(src, i, &n);
		map[i] = agg_intern(dst, t, n);
	}
	for (uint32_t i = 0; i < src->ngroups; i++) {
		struct agg_key k = src->groups[i].key;
		k.industry = map[k.industry];
		k.location = map[k.location];
		k.device = map[k.device];
		agg_add_group(dst, &k, &src->groups[i].val);
	}
	for (uint32_t i = 0; i < src->npubs; i++) {
		const struct agg_publisher *p = &src->pubs[i];
		struct event ev;
		memset(&ev, 0, sizeof(ev));
		ev.seq = p->last_seq;
		ev.publisher_id = p->publisher_id;
		if (p->pending) {
			ev.publisher_name.s = NULL;
		} else {
			ev.publisher_name = str_of(src, p->name);
			ev.publisher_traffic = str_of(src, p->traffic);
			ev.publisher_quality = str_of(src, p->quality);
		}
		agg_note_publisher(dst, &ev);
	}
	free(map);
}

static _Thread_local const struct agg *sort_ctx;

static int cmp_str(uint32_t x, uint32_t y)
{
	size_t nx, ny;
	const char *sx = agg_str(sort_ctx, x, &nx), *sy = agg_str(sort_ctx, y, &ny);
	int c = memcmp(sx, sy, nx < ny ? nx : ny);
	if (c)
		return c;
	return nx < ny ? -1 : nx > ny;
}

static int cmp_group(const void *pa, const void *pb)
{
	const struct agg_key *x = &((const struct agg_group *)pa)->key;
	const struct agg_key *y = &((const struct agg_group *)pb)->key;
	int c;
	if (x->hour_start != y->hour_start)
		return x->hour_start < y->hour_start ? -1 : 1;
	if (x->campaign_id != y->campaign_id)
		return x->campaign_id < y->campaign_id ? -1 : 1;
	if (x->publisher_id != y->publisher_id)
		return x->publisher_id < y->publisher_id ? -1 : 1;
	if ((c = cmp_str(x->industry, y->industry)) != 0)
		return c;
	if ((c = cmp_str(x->location, y->location)) != 0)
		return c;
	return cmp_str(x->device, y->device);
}

void agg_sort(struct agg *a)
{
	if (a->nsoon)
		BUG("agg_sort with %u rows not added (agg_flush first)", a->nsoon);
	/* qsort has no context argument in C11: the context is per thread */
	sort_ctx = a;
	qsort(a->groups, a->ngroups, sizeof(*a->groups), cmp_group);
	sort_ctx = NULL;
	if (a->gslots)
		groups_rehash(a, a->ngslots);
}
