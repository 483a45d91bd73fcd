/*
 * sqlite/analytics.h - the SQLite analytics store's state, shared by
 * analytics.c (open and close, apply, queries, the zone, retention, campaigns)
 * and analytics_runs.c (run history and the run lock).
 */
#ifndef JOBADS_STORE_SQLITE_ANALYTICS_H
#define JOBADS_STORE_SQLITE_ANALYTICS_H

#include <sqlite3.h>

#include "jobads/store.h"

struct an_sqlite {
	struct anstore base;
	sqlite3 *db;
	sqlite3_stmt *upsert, *pub, *getcur, *setcur;
	sqlite3_stmt *q[AN__COUNT];
	struct tz *tz; /* the store's zone, read at the first AN_DAY query */
};

/* analytics_runs.c: the run history and run lock ops. */
enum jrc an_sqlite_run_begin(struct anstore *s, struct etl_run_rec *rec, struct jerr *err);
enum jrc an_sqlite_run_end(struct anstore *s, const struct etl_run_rec *rec, struct jerr *err);
enum jrc an_sqlite_runs(struct anstore *s, int limit, run_row_fn fn, void *arg, struct jerr *err);
enum jrc an_sqlite_lock_acquire(struct anstore *s, const char *owner, const char *steal,
				int64_t now_ms, int64_t lease_ms, int *got,
				struct run_lock_info *holder, struct jerr *err);
enum jrc an_sqlite_lock_renew(struct anstore *s, const char *owner, int64_t now_ms,
			      int64_t lease_ms, struct jerr *err);
enum jrc an_sqlite_lock_release(struct anstore *s, const char *owner, struct jerr *err);
enum jrc an_sqlite_runs_fail_stale(struct anstore *s, const char *reason, int64_t now_ms,
				   int64_t *count, struct jerr *err);

#endif
