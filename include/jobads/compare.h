/*
 * compare.h - this period against an earlier one: which earlier range a
 * comparison means, and the change of every KPI between the two as a
 * percentage. Shared by `report --compare` and the API's compare=, so that
 * the terminal and the dashboard agree on both.
 */
#ifndef JOBADS_COMPARE_H
#define JOBADS_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "jobads/kpi.h"

enum kpi_compare {
	KPI_COMPARE_NONE,
	KPI_COMPARE_PREVIOUS, /* the period of equal length just before */
	KPI_COMPARE_YEAR,     /* the same weekdays a year before: 52 weeks (364 days) back */
};

/* The seconds YEAR moves a range back: whole weeks, so that weekdays line up. */
#define KPI_COMPARE_YEAR_S (364 * 86400LL)

/* "previous" or "year" (n bytes) to *m; -1 for anything else. */
int kpi_compare_parse(const char *s, size_t n, enum kpi_compare *m);
/* "previous", "year" or "none". */
const char *kpi_compare_name(enum kpi_compare m);

/*
 * The earlier range for [from_s, to_s) (unix seconds; INT64_MIN / INT64_MAX:
 * open), to now_s when to_s is open. PREVIOUS needs a from: the earlier period
 * has the range's length, and "since the beginning" has none. Returns 0 with
 * the range in *pfrom_s, *pto_s, or -1 with the reason in why.
 */
int kpi_compare_range(enum kpi_compare m, int64_t from_s, int64_t to_s, int64_t now_s,
		      int64_t *pfrom_s, int64_t *pto_s, char *why, size_t whylen);

/* The KPIs a change is given for, named as in kpi_json_add, NULL-terminated. */
extern const char *const kpi_change_names[];

/*
 * The change of KPI `name` from prev to cur in percent, (cur - prev) / |prev| * 100.
 * has = 0 (no percentage, not infinity) where the earlier value is 0 or NULL or
 * the current one is NULL. Returns -1 for an unknown name.
 */
int kpi_change(const struct kpi_sums *cur, const struct kpi_sums *prev, const char *name,
	       struct kpi_value *out);
/* KPI `name` of m (spend in currency units); -1 for an unknown name. */
int kpi_value_of(const struct kpi_sums *m, const char *name, struct kpi_value *out);

/*
 * The earlier period's groups, to find the one matching each current group:
 * by key, then label (an industry's or device's name; NULL matches NULL).
 */
struct kpi_group {
	int64_t key;
	char *label;
	struct kpi_sums m;
};
struct kpi_groups {
	struct kpi_group *g;
	size_t n, cap;
	int sorted;
};
/* Keep a copy of one group (label copied). */
void kpi_groups_add(struct kpi_groups *gs, int64_t key, const char *label,
		    const struct kpi_sums *m);
/* The group with key and label, or NULL when the earlier period has none. */
const struct kpi_sums *kpi_groups_find(struct kpi_groups *gs, int64_t key, const char *label);
void kpi_groups_free(struct kpi_groups *gs);

#endif
