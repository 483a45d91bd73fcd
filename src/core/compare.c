/*
 * compare.c - the earlier range of a comparison and the change of each KPI
 * (compare.h).
 */
#include "jobads/compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/util.h"

#include "jobads/banned.h"

const char *const kpi_change_names[] = {
    "records", "impressions", "clicks", "applies",	     "spend", "ctr", "cpc",
    "cpa",     "apply_rate",  "roi",	"avg_quality_score", NULL};

int kpi_compare_parse(const char *s, size_t n, enum kpi_compare *m)
{
	if (n == 8 && memcmp(s, "previous", 8) == 0)
		*m = KPI_COMPARE_PREVIOUS;
	else if (n == 4 && memcmp(s, "year", 4) == 0)
		*m = KPI_COMPARE_YEAR;
	else
		return -1;
	return 0;
}

const char *kpi_compare_name(enum kpi_compare m)
{
	return m == KPI_COMPARE_PREVIOUS ? "previous" : m == KPI_COMPARE_YEAR ? "year" : "none";
}

int kpi_compare_range(enum kpi_compare m, int64_t from_s, int64_t to_s, int64_t now_s,
		      int64_t *pfrom_s, int64_t *pto_s, char *why, size_t whylen)
{
	int64_t to = to_s == INT64_MAX ? now_s : to_s;
	if (m == KPI_COMPARE_PREVIOUS) {
		if (from_s == INT64_MIN) {
			snprintf(why, whylen,
				 "compare=previous needs a from: the earlier period has the "
				 "range's length, and a range from the beginning has none");
			return -1;
		}
		if (to <= from_s) {
			snprintf(why, whylen, "compare=previous: the range ends before it begins");
			return -1;
		}
		*pfrom_s = from_s - (to - from_s);
		*pto_s = from_s;
		return 0;
	}
	if (m == KPI_COMPARE_YEAR) {
		/* a from near INT64_MIN is open, and stays open */
		*pfrom_s = from_s == INT64_MIN || from_s < INT64_MIN + KPI_COMPARE_YEAR_S
			       ? INT64_MIN
			       : from_s - KPI_COMPARE_YEAR_S;
		*pto_s = to < INT64_MIN + KPI_COMPARE_YEAR_S ? INT64_MIN : to - KPI_COMPARE_YEAR_S;
		return 0;
	}
	snprintf(why, whylen, "compare: no comparison asked for");
	return -1;
}

int kpi_value_of(const struct kpi_sums *m, const char *name, struct kpi_value *out)
{
	struct kpis k;
	const kpi_int *ints[] = {&m->records, &m->impressions, &m->clicks, &m->applies};
	for (size_t i = 0; i < 4; i++)
		if (strcmp(name, kpi_change_names[i]) == 0) {
			out->has = 1;
			out->v = (double)*ints[i];
			return 0;
		}
	kpi_compute(m, &k);
	if (strcmp(name, "spend") == 0) {
		out->has = 1;
		out->v = k.spend;
		return 0;
	}
	const struct kpi_value *v = strcmp(name, "ctr") == 0		     ? &k.ctr
				    : strcmp(name, "cpc") == 0		     ? &k.cpc
				    : strcmp(name, "cpa") == 0		     ? &k.cpa
				    : strcmp(name, "apply_rate") == 0	     ? &k.apply_rate
				    : strcmp(name, "roi") == 0		     ? &k.roi
				    : strcmp(name, "avg_quality_score") == 0 ? &k.avg_quality
									     : NULL;
	if (!v)
		return -1;
	*out = *v;
	return 0;
}

int kpi_change(const struct kpi_sums *cur, const struct kpi_sums *prev, const char *name,
	       struct kpi_value *out)
{
	struct kpi_value c, p;
	out->has = 0;
	out->v = 0.0;
	if (kpi_value_of(cur, name, &c) || kpi_value_of(prev, name, &p))
		return -1;
	if (c.has && p.has && p.v != 0.0) {
		out->has = 1;
		out->v = (c.v - p.v) / (p.v < 0 ? -p.v : p.v) * 100.0;
	}
	return 0;
}

void kpi_groups_add(struct kpi_groups *gs, int64_t key, const char *label, const struct kpi_sums *m)
{
	if (gs->n == gs->cap) {
		gs->cap = gs->cap ? gs->cap * 2 : 64;
		gs->g = xrealloc(gs->g, gs->cap * sizeof(*gs->g));
	}
	struct kpi_group *g = &gs->g[gs->n++];
	g->key = key;
	g->label = label ? xstrdup(label) : NULL;
	g->m = *m;
	gs->sorted = 0;
}

static int cmp_group(int64_t ka, const char *la, int64_t kb, const char *lb)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (!la || !lb)
		return (la != NULL) - (lb != NULL);
	return strcmp(la, lb);
}

static int cmp_groups(const void *a, const void *b)
{
	const struct kpi_group *x = a, *y = b;
	return cmp_group(x->key, x->label, y->key, y->label);
}

const struct kpi_sums *kpi_groups_find(struct kpi_groups *gs, int64_t key, const char *label)
{
	if (!gs->sorted) {
		if (gs->n > 1)
			qsort(gs->g, gs->n, sizeof(*gs->g), cmp_groups);
		gs->sorted = 1;
	}
	size_t lo = 0, hi = gs->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_group(gs->g[mid].key, gs->g[mid].label, key, label);
		if (c == 0)
			return &gs->g[mid].m;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void kpi_groups_free(struct kpi_groups *gs)
{
	for (size_t i = 0; i < gs->n; i++)
		free(gs->g[i].label);
	free(gs->g);
	memset(gs, 0, sizeof(*gs));
}
