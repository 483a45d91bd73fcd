/*
 * zone.c - tz= on the time routes: hour of day, weekday and day in a zone
 * other than the analytics store's. The facts are kept per local hour of the
 * store's zone, so another zone can be answered exactly only where each of
 * those hours is one of its own hours too: its offset differs from the
 * store's by whole hours over the data asked about (Ho Chi Minh against UTC,
 * Berlin in summer against New York). There the store's hourly series is
 * folded into the other zone's hours, weekdays and days here; where it is not
 * (Kolkata's +05:30 against a store in UTC), the answer is a 400 that says so
 * instead of numbers that would put half an hour's events in the wrong hour.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "jobads/banned.h"

static void sums_add(struct kpi_sums *a, const struct kpi_sums *b)
{
	a->records += b->records;
	a->impressions += b->impressions;
	a->clicks += b->clicks;
	a->applies += b->applies;
	a->cost_micros += b->cost_micros;
	a->quality_sum += b->quality_sum;
	a->ctr_sum += b->ctr_sum;
	a->cpc_sum += b->cpc_sum;
	a->cpa_sum += b->cpa_sum;
	a->roi_sum += b->roi_sum;
}

struct fold {
	const struct tz *z;
	enum an_dim dim;
	size_t hint;
	struct an_row *rows; /* by key: 168 cells, or days in time order */
	size_t n, cap;
	int misaligned;
	int64_t bad_hour; /* the first store hour that is not one of z's */
};

static struct an_row *slot(struct fold *f, int64_t key)
{
	/* from the newest: the hourly series comes in time order, so a day is almost
	 * always the last one (not always: a change that repeats the evening before) */
	for (size_t i = f->n; i > 0; i--)
		if (f->rows[i - 1].key == key)
			return &f->rows[i - 1];
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->rows = xrealloc(f->rows, f->cap * sizeof(*f->rows));
	}
	struct an_row *r = &f->rows[f->n++];
	memset(r, 0, sizeof(*r));
	r->key = key;
	return r;
}

static int fold_row(void *arg, const struct an_row *row)
{
	struct fold *f = arg;
	int64_t h = row->key;
	int32_t off = tz_offset_at(f->z, h, &f->hint);
	/* one of z's hours: it starts on z's hour and z's offset holds through it */
	if (floor_div(h + off, 3600) * 3600 != h + off ||
	    tz_offset_at(f->z, h + 3599, &f->hint) != off) {
		if (!f->misaligned)
			f->bad_hour = h;
		f->misaligned = 1;
		return 0;
	}
	int64_t local = h + off, day = floor_div(local, 86400);
	int64_t key;
	if (f->dim == AN_WEEKDAY_HOUR)
		key = ((day + 3) % 7 + 7) % 7 * 24 + floor_div(local, 3600) % 24;
	else if (f->dim == AN_HOUR_OF_DAY)
		key = floor_div(local, 3600) % 24;
	else if (f->dim == AN_WEEKDAY)
		key = ((day + 3) % 7 + 7) % 7 + 1;
	else
		key = tz_day_start(f->z, day * 86400);
	sums_add(&slot(f, key)->m, &row->m);
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct an_row *x = a, *y = b;
	return (x->key > y->key) - (x->key < y->key);
}

int zone_dependent(enum an_dim dim)
{
	return dim == AN_HOUR_OF_DAY || dim == AN_WEEKDAY || dim == AN_DAY ||
	       dim == AN_WEEKDAY_HOUR;
}

enum jrc zone_query(struct anstore *as, const struct tz *z, const char *store_zone, enum an_dim dim,
		    const struct an_filter *f, an_row_fn fn, void *arg, struct jerr *err)
{
	if (!z || !zone_dependent(dim))
		return as->ops->query(as, dim, f, fn, arg, err);
	struct fold fo = {z, dim, 0, NULL, 0, 0, 0, 0};
	enum jrc r = as->ops->query(as, AN_HOURLY, f, fold_row, &fo, err);
	if (r == J_OK && fo.misaligned) {
		char t[40];
		jerr_setc(err, 400,
			  "tz: the facts are kept by the hours of the store's zone %s, and the "
			  "hour starting %s is not one of %s's hours (their offsets differ by "
			  "other than whole hours there); ask in %s, or in a zone a whole number "
			  "of hours from it",
			  store_zone, ts_format_iso(fo.bad_hour * 1000, t, sizeof(t)), tz_name(z),
			  store_zone);
		r = J_ERROR;
	}
	if (r == J_OK) {
		if (fo.n > 1)
			qsort(fo.rows, fo.n, sizeof(*fo.rows), cmp_key);
		for (size_t i = 0; i < fo.n; i++)
			if (fn(arg, &fo.rows[i]) != 0)
				break;
	}
	free(fo.rows);
	return r;
}
