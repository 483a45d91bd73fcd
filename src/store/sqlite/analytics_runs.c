/*
 * sqlite/analytics_runs.c - the SQLite analytics store's run history
 * (etl_runs) and the run lock (etl_lock): the ops that record and serialise ETL
 * runs (one run at a time: docs/architecture.md). The rest of the store is in
 * analytics.c.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "analytics.h"
#include "db.h"

#include "jobads/banned.h"

#define SQL_RUN_BEGIN                                                                              \
	"INSERT INTO etl_runs (trigger, attempt, state, started_at, cursor_from, owner)"           \
	" VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', ?4 / 1000.0, 'unixepoch'), ?5, ?6)"

#define SQL_RUN_END                                                                                \
	"UPDATE etl_runs SET state = ?2, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', ?3 / "       \
	"1000.0,"                                                                                  \
	" 'unixepoch'), events_read = ?4, groups_written = ?5, cursor_from = ?6, cursor_to = ?7,"  \
	" error = ?8 WHERE id = ?1"

#define SQL_RUNS                                                                                   \
	"SELECT id, trigger, attempt, state,"                                                      \
	" CAST(ROUND((julianday(started_at) - 2440587.5) * 86400000) AS INTEGER),"                 \
	" CAST(ROUND((julianday(finished_at) - 2440587.5) * 86400000) AS INTEGER),"                \
	" events_read, groups_written, cursor_from, cursor_to, error, owner"                       \
	" FROM etl_runs ORDER BY id DESC LIMIT ?1"

#define SQL_LOCK_GET "SELECT owner, acquired_ms, expires_ms FROM etl_lock WHERE id = 1"
#define SQL_LOCK_SET                                                                               \
	"UPDATE etl_lock SET owner = ?1, acquired_ms = ?2, expires_ms = ?3 WHERE id = 1"
#define SQL_LOCK_RENEW "UPDATE etl_lock SET expires_ms = ?2 WHERE id = 1 AND owner = ?1"
#define SQL_LOCK_FREE                                                                              \
	"UPDATE etl_lock SET owner = '', acquired_ms = 0, expires_ms = 0 WHERE id = 1 AND owner "  \
	"= ?1"
#define SQL_RUNS_STALE                                                                             \
	"UPDATE etl_runs SET state = 'failed', error = ?1,"                                        \
	" finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', ?2 / 1000.0, 'unixepoch')"                  \
	" WHERE state = 'running'"

enum jrc an_sqlite_run_begin(struct anstore *s, struct etl_run_rec *rec, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st;
	int r = sq_prepare(a->db, SQL_RUN_BEGIN, &st, s->name, err);
	if (r != J_OK)
		return r;
	sqlite3_bind_text(st, 1, rec->trigger, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, rec->attempt);
	sqlite3_bind_text(st, 3, rec->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, rec->started_ms);
	sqlite3_bind_int64(st, 5, rec->cursor_from);
	sqlite3_bind_text(st, 6, rec->owner, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(a->db, rc, s->name, "recording the run", err);
	rec->id = sqlite3_last_insert_rowid(a->db);
	return J_OK;
}

enum jrc an_sqlite_run_end(struct anstore *s, const struct etl_run_rec *rec, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st;
	int r = sq_prepare(a->db, SQL_RUN_END, &st, s->name, err);
	if (r != J_OK)
		return r;
	sqlite3_bind_int64(st, 1, rec->id);
	sqlite3_bind_text(st, 2, rec->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, rec->finished_ms);
	sqlite3_bind_int64(st, 4, rec->events_read);
	sqlite3_bind_int64(st, 5, rec->groups_written);
	sqlite3_bind_int64(st, 6, rec->cursor_from);
	sqlite3_bind_int64(st, 7, rec->cursor_to);
	if (rec->error[0])
		sqlite3_bind_text(st, 8, rec->error, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 8);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(a->db, rc, s->name, "recording the run", err);
	return J_OK;
}

static void copy_col(sqlite3_stmt *st, int i, char *dst, size_t len)
{
	const char *v = (const char *)sqlite3_column_text(st, i);
	snprintf(dst, len, "%s", v ? v : "");
}

enum jrc an_sqlite_runs(struct anstore *s, int limit, run_row_fn fn, void *arg, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st;
	struct etl_run_rec rec;
	int rc, stop = 0, r = sq_prepare(a->db, SQL_RUNS, &st, s->name, err);
	if (r != J_OK)
		return r;
	sqlite3_bind_int(st, 1, limit > 0 ? limit : INT_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&rec, 0, sizeof(rec));
		rec.id = sqlite3_column_int64(st, 0);
		copy_col(st, 1, rec.trigger, sizeof(rec.trigger));
		rec.attempt = sqlite3_column_int(st, 2);
		copy_col(st, 3, rec.state, sizeof(rec.state));
		rec.started_ms = sqlite3_column_int64(st, 4);
		rec.finished_ms =
		    sqlite3_column_type(st, 5) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 5);
		rec.events_read = sqlite3_column_int64(st, 6);
		rec.groups_written = sqlite3_column_int64(st, 7);
		rec.cursor_from = sqlite3_column_int64(st, 8);
		rec.cursor_to = sqlite3_column_int64(st, 9);
		copy_col(st, 10, rec.error, sizeof(rec.error));
		copy_col(st, 11, rec.owner, sizeof(rec.owner));
		if ((stop = fn(arg, &rec)) != 0)
			break;
	}
	if (!stop && rc != SQLITE_DONE)
		r = sq_fail(a->db, rc, s->name, "reading etl_runs", err);
	sqlite3_finalize(st);
	return stop ? stop : r;
}

/* Run one bound write statement once; *changes gets the rows it changed. */
static int write_once(struct an_sqlite *a, sqlite3_stmt *st, const char *what, int *changes,
		      struct jerr *err)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(a->db, rc, a->base.name, what, err);
	if (changes)
		*changes = sqlite3_changes(a->db);
	return J_OK;
}

enum jrc an_sqlite_lock_acquire(struct anstore *s, const char *owner, const char *steal,
				int64_t now_ms, int64_t lease_ms, int *got,
				struct run_lock_info *holder, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st;
	int rc, r;
	*got = 0;
	memset(holder, 0, sizeof(*holder));
	/* IMMEDIATE: the read and the write below are one step for every process */
	if ((r = sq_exec(a->db, "BEGIN IMMEDIATE", s->name, err)) != J_OK)
		return r;
	if ((r = sq_prepare(a->db, SQL_LOCK_GET, &st, s->name, err)) != J_OK)
		goto rollback;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_col(st, 0, holder->owner, sizeof(holder->owner));
		holder->acquired_ms = sqlite3_column_int64(st, 1);
		holder->expires_ms = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? J_ERROR
				      : sq_fail(a->db, rc, s->name, "reading the run lock", err);
		if (rc == SQLITE_DONE)
			jerr_set(err, "%s: etl_lock has no row (run 'jobads init')", s->name);
		goto rollback;
	}
	if (holder->owner[0] && strcmp(holder->owner, owner) != 0 && holder->expires_ms > now_ms &&
	    !(steal && strcmp(holder->owner, steal) == 0)) {
		/* held by someone alive */
		if ((r = sq_exec(a->db, "COMMIT", s->name, err)) != J_OK)
			goto rollback;
		return J_OK;
	}
	if ((r = sq_prepare(a->db, SQL_LOCK_SET, &st, s->name, err)) != J_OK)
		goto rollback;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_int64(st, 3, now_ms + lease_ms);
	if ((r = write_once(a, st, "taking the run lock", NULL, err)) != J_OK)
		goto rollback;
	if ((r = sq_exec(a->db, "COMMIT", s->name, err)) != J_OK)
		goto rollback;
	*got = 1;
	snprintf(holder->owner, sizeof(holder->owner), "%s", owner);
	holder->acquired_ms = now_ms;
	holder->expires_ms = now_ms + lease_ms;
	return J_OK;
rollback:
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

enum jrc an_sqlite_lock_renew(struct anstore *s, const char *owner, int64_t now_ms,
			      int64_t lease_ms, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st;
	int changes = 0, r = sq_prepare(a->db, SQL_LOCK_RENEW, &st, s->name, err);
	if (r != J_OK)
		return r;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms + lease_ms);
	if ((r = write_once(a, st, "renewing the run lock", &changes, err)) != J_OK)
		return r;
	if (changes != 1) {
		jerr_set(err, "%s: the run lock was taken over by another process (lease expired)",
			 s->name);
		return J_ERROR;
	}
	return J_OK;
}

enum jrc an_sqlite_lock_release(struct anstore *s, const char *owner, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st;
	int r = sq_prepare(a->db, SQL_LOCK_FREE, &st, s->name, err);
	if (r != J_OK)
		return r;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	return write_once(a, st, "releasing the run lock", NULL, err);
}

enum jrc an_sqlite_runs_fail_stale(struct anstore *s, const char *reason, int64_t now_ms,
				   int64_t *count, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st;
	int changes = 0, r = sq_prepare(a->db, SQL_RUNS_STALE, &st, s->name, err);
	if (r != J_OK)
		return r;
	sqlite3_bind_text(st, 1, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	r = write_once(a, st, "marking dead runs failed", &changes, err);
	*count = changes;
	return r;
}
