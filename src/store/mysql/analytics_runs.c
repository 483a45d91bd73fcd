/*
 * mysql/analytics_runs.c - the MySQL analytics store's run history (etl_runs)
 * and the run lock (etl_lock): the ops that record and serialise ETL runs
 * (one run at a time: docs/architecture.md). The rest of the store is in
 * analytics.c and analytics_apply.c.
 */
#include <stdio.h>
#include <string.h>

#include "analytics.h"

#include "jobads/banned.h"

#define SQL_RUN_BEGIN                                                                              \
	"INSERT INTO etl_runs (`trigger`, attempt, state, owner, started_at, cursor_from)"         \
	" VALUES (?, ?, ?, ?, FROM_UNIXTIME(? / 1000), ?)"

#define SQL_RUN_END                                                                                \
	"UPDATE etl_runs SET state = ?, finished_at = FROM_UNIXTIME(? / 1000), events_read = ?,"   \
	" groups_written = ?, cursor_from = ?, cursor_to = ?, error = ? WHERE id = ?"

#define SQL_RUNS                                                                                   \
	"SELECT id, `trigger`, attempt, state, owner,"                                             \
	" CAST(ROUND(UNIX_TIMESTAMP(started_at) * 1000) AS SIGNED),"                               \
	" CAST(ROUND(UNIX_TIMESTAMP(finished_at) * 1000) AS SIGNED),"                              \
	" events_read, groups_written, cursor_from, cursor_to, error"                              \
	" FROM etl_runs ORDER BY id DESC LIMIT ?"

#define SQL_LOCK_READ "SELECT owner, acquired_ms, expires_ms FROM etl_lock WHERE id = 1 FOR UPDATE"
#define SQL_LOCK_SET  "UPDATE etl_lock SET owner = ?, acquired_ms = ?, expires_ms = ? WHERE id = 1"
#define SQL_LOCK_RENEW                                                                             \
	"UPDATE etl_lock SET expires_ms = ? WHERE id = 1 AND owner = ? AND owner <> ''"
#define SQL_LOCK_RELEASE                                                                           \
	"UPDATE etl_lock SET owner = '', acquired_ms = 0, expires_ms = 0"                          \
	" WHERE id = 1 AND owner = ?"
#define SQL_FAIL_STALE                                                                             \
	"UPDATE etl_runs SET state = 'failed', finished_at = FROM_UNIXTIME(? / 1000),"             \
	" error = ? WHERE state = 'running'"

void bind_cstr(MYSQL_BIND *b, const char *s, unsigned long *len)
{
	*len = (unsigned long)strlen(s);
	my_bind_str(b, s, len, NULL);
}

/* Prepare, bind, execute and close a statement that returns no rows. */
int exec_once(struct an_mysql *a, const char *sql, MYSQL_BIND *p, const char *what,
	      MYSQL_STMT **keep, struct jerr *err)
{
	MYSQL_STMT *st;
	int r = my_prepare(a->db, sql, &st, a->base.name, err);
	if (r != J_OK)
		return r;
	r = run(a, st, p, what, err);
	if (keep)
		*keep = st;
	else
		mysql_stmt_close(st);
	return r;
}

enum jrc an_mysql_run_begin(struct anstore *s, struct etl_run_rec *rec, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	MYSQL_BIND p[6];
	unsigned long len[3];
	int32_t attempt = rec->attempt;
	MYSQL_STMT *st = NULL;
	memset(p, 0, sizeof(p));
	bind_cstr(&p[0], rec->trigger, &len[0]);
	my_bind_int(&p[1], &attempt);
	bind_cstr(&p[2], rec->state, &len[1]);
	bind_cstr(&p[3], rec->owner, &len[2]);
	my_bind_i64(&p[4], &rec->started_ms);
	my_bind_i64(&p[5], &rec->cursor_from);
	LOCKED(a);
	int r = exec_once(a, SQL_RUN_BEGIN, p, "recording the run", &st, err);
	if (r == J_OK)
		rec->id = (int64_t)mysql_stmt_insert_id(st);
	if (st)
		mysql_stmt_close(st);
	UNLOCK(a);
	return r;
}

enum jrc an_mysql_run_end(struct anstore *s, const struct etl_run_rec *rec, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	struct etl_run_rec c = *rec; /* binds need addressable, writable storage */
	MYSQL_BIND p[8];
	unsigned long len[2];
	my_bool enull = c.error[0] == '\0';
	memset(p, 0, sizeof(p));
	bind_cstr(&p[0], c.state, &len[0]);
	my_bind_i64(&p[1], &c.finished_ms);
	my_bind_i64(&p[2], &c.events_read);
	my_bind_i64(&p[3], &c.groups_written);
	my_bind_i64(&p[4], &c.cursor_from);
	my_bind_i64(&p[5], &c.cursor_to);
	len[1] = (unsigned long)strlen(c.error);
	my_bind_str(&p[6], c.error, &len[1], &enull);
	my_bind_i64(&p[7], &c.id);
	LOCKED(a);
	int r = exec_once(a, SQL_RUN_END, p, "recording the run", NULL, err);
	UNLOCK(a);
	return r;
}

static void copy_col(const struct my_cols *c, int i, char *dst, size_t len)
{
	snprintf(dst, len, "%s", c->null[i] ? "" : c->s[i]);
}

static int runs_locked(struct an_mysql *a, int limit, run_row_fn fn, void *arg, struct jerr *err)
{
	MYSQL_STMT *st;
	MYSQL_BIND p[1];
	struct my_cols c;
	struct etl_run_rec rec;
	int64_t lim = limit > 0 ? limit : INT64_MAX;
	int got, stop = 0;
	int r = my_prepare(a->db, SQL_RUNS, &st, a->base.name, err);
	if (r != J_OK)
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &lim);
	if ((r = run(a, st, p, "reading etl_runs", err)) != J_OK ||
	    (r = my_cols_bind(&c, st, "lslssllllllT", a->base.name, err)) != J_OK) {
		mysql_stmt_close(st);
		return r;
	}
	while ((got = my_fetch(&c, st, a->base.name, "reading etl_runs", err)) > 0) {
		memset(&rec, 0, sizeof(rec));
		rec.id = c.i[0];
		copy_col(&c, 1, rec.trigger, sizeof(rec.trigger));
		rec.attempt = (int)c.i[2];
		copy_col(&c, 3, rec.state, sizeof(rec.state));
		copy_col(&c, 4, rec.owner, sizeof(rec.owner));
		rec.started_ms = c.i[5];
		rec.finished_ms = c.null[6] ? 0 : c.i[6];
		rec.events_read = c.i[7];
		rec.groups_written = c.i[8];
		rec.cursor_from = c.null[9] ? 0 : c.i[9];
		rec.cursor_to = c.null[10] ? 0 : c.i[10];
		copy_col(&c, 11, rec.error, sizeof(rec.error));
		if ((stop = fn(arg, &rec)) != 0)
			break;
	}
	r = my_fetch_end(st, &c, got, stop, r);
	mysql_stmt_close(st);
	return r;
}

enum jrc an_mysql_runs(struct anstore *s, int limit, run_row_fn fn, void *arg, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = runs_locked(a, limit, fn, arg, err);
	UNLOCK(a);
	return r;
}

static int lock_acquire_locked(struct an_mysql *a, const char *owner, const char *steal,
			       int64_t now_ms, int64_t lease_ms, int *got,
			       struct run_lock_info *holder, struct jerr *err)
{
	const char *name = a->base.name;
	MYSQL_STMT *st = NULL;
	struct my_cols c;
	MYSQL_BIND p[3];
	unsigned long len;
	int r, f;

	*got = 0;
	memset(holder, 0, sizeof(*holder));
	if ((r = my_exec(a->db, "START TRANSACTION", name, "starting a transaction", err)))
		return r;
	if ((r = my_prepare(a->db, SQL_LOCK_READ, &st, name, err)) ||
	    (r = run(a, st, NULL, "reading the run lock", err)))
		goto rollback;
	if ((r = my_cols_bind(&c, st, "sll", name, err)) != J_OK)
		goto rollback;
	f = my_fetch(&c, st, name, "reading the run lock", err);
	if (f > 0) {
		copy_col(&c, 0, holder->owner, sizeof(holder->owner));
		holder->acquired_ms = c.i[1];
		holder->expires_ms = c.i[2];
	}
	mysql_stmt_free_result(st);
	my_cols_release(&c);
	mysql_stmt_close(st);
	st = NULL;
	if (f < 0) {
		r = J_ERROR;
		goto rollback;
	}
	if (f == 0) {
		jerr_set(err, "%s: etl_lock has no row (run 'jobads init')", name);
		r = J_ERROR;
		goto rollback;
	}
	int mine = strcmp(holder->owner, owner) == 0;
	if (holder->owner[0] == '\0' || holder->expires_ms <= now_ms || mine ||
	    (steal && strcmp(holder->owner, steal) == 0)) {
		int64_t acquired = mine ? holder->acquired_ms : now_ms;
		int64_t expires = now_ms + lease_ms;
		memset(p, 0, sizeof(p));
		bind_cstr(&p[0], owner, &len);
		my_bind_i64(&p[1], &acquired);
		my_bind_i64(&p[2], &expires);
		if ((r = exec_once(a, SQL_LOCK_SET, p, "taking the run lock", NULL, err)))
			goto rollback;
		if (mysql_commit(a->db) != 0) {
			r = my_fail(a->db, name, "taking the run lock", err);
			goto rollback;
		}
		*got = 1;
		snprintf(holder->owner, sizeof(holder->owner), "%s", owner);
		holder->acquired_ms = acquired;
		holder->expires_ms = expires;
		return J_OK;
	}
	if (mysql_commit(a->db) != 0) {
		r = my_fail(a->db, name, "reading the run lock", err);
		goto rollback;
	}
	return J_OK;
rollback:
	if (st)
		mysql_stmt_close(st);
	rollback(a);
	return r;
}

enum jrc an_mysql_lock_acquire(struct anstore *s, const char *owner, const char *steal,
			       int64_t now_ms, int64_t lease_ms, int *got,
			       struct run_lock_info *holder, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = lock_acquire_locked(a, owner, steal, now_ms, lease_ms, got, holder, err);
	UNLOCK(a);
	return r;
}

enum jrc an_mysql_lock_renew(struct anstore *s, const char *owner, int64_t now_ms, int64_t lease_ms,
			     struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	MYSQL_STMT *st = NULL;
	MYSQL_BIND p[2];
	unsigned long len;
	int64_t expires = now_ms + lease_ms;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &expires);
	bind_cstr(&p[1], owner, &len);
	LOCKED(a);
	int r = exec_once(a, SQL_LOCK_RENEW, p, "renewing the run lock", &st, err);
	if (r == J_OK && mysql_stmt_affected_rows(st) != 1) {
		jerr_set(err, "%s: the run lock is no longer held by %s", s->name, owner);
		r = J_ERROR;
	}
	if (st)
		mysql_stmt_close(st);
	UNLOCK(a);
	return r;
}

enum jrc an_mysql_lock_release(struct anstore *s, const char *owner, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	MYSQL_BIND p[1];
	unsigned long len;
	memset(p, 0, sizeof(p));
	bind_cstr(&p[0], owner, &len);
	LOCKED(a);
	int r = exec_once(a, SQL_LOCK_RELEASE, p, "releasing the run lock", NULL, err);
	UNLOCK(a);
	return r;
}

enum jrc an_mysql_runs_fail_stale(struct anstore *s, const char *reason, int64_t now_ms,
				  int64_t *count, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	MYSQL_STMT *st = NULL;
	MYSQL_BIND p[2];
	unsigned long len;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &now_ms);
	bind_cstr(&p[1], reason, &len);
	*count = 0;
	LOCKED(a);
	int r = exec_once(a, SQL_FAIL_STALE, p, "marking stale runs failed", &st, err);
	if (r == J_OK)
		*count = (int64_t)mysql_stmt_affected_rows(st);
	if (st)
		mysql_stmt_close(st);
	UNLOCK(a);
	return r;
}
