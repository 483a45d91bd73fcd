/*
 * sqlite/db.c - helpers shared by the SQLite event and analytics stores.
 */
#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobads/banned.h"

int sq_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return J_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return J_RETRY;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
		return J_RETRY; /* the file may become writable or the disk free again */
	default:
		return J_ERROR;
	}
}

/* Fill err for rc: a file that is not a database says so, anything else names what failed. */
static void sq_message(int rc, const char *msg, const char *name, const char *what,
		       struct jerr *err)
{
	int prim = rc & 0xff;
	/* an extended code says which of a kind's causes it was (READONLY: the file, a moved file,
	 * the WAL index...) */
	char ext[32] = "";
	if (rc != prim)
		snprintf(ext, sizeof(ext), " (SQLite code %d)", rc);
	if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT)
		jerr_set(err, "%s: not a valid SQLite database (%s)", name, msg);
	else if (what)
		jerr_set(err, "%s: %s: %s%s", name, what, msg, ext);
	else
		jerr_set(err, "%s: %s%s", name, msg, ext);
}

int sq_fail(sqlite3 *db, int rc, const char *name, const char *what, struct jerr *err)
{
	sq_message(rc, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), name, what, err);
	int r = sq_code(rc);
	return r == J_OK ? J_ERROR : r; /* called on a failure: never "fine" */
}

int sq_exec(sqlite3 *db, const char *sql, const char *name, struct jerr *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return J_OK;
	sq_message(rc, msg ? msg : sqlite3_errstr(rc), name, NULL, err);
	sqlite3_free(msg);
	int r = sq_code(rc);
	return r == J_OK ? J_ERROR : r;
}

int sq_user_version(sqlite3 *db, const char *name, int *version, struct jerr *err)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(db, rc, name, "reading the schema version", err);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int r = sq_fail(db, rc, name, "reading the schema version", err);
		sqlite3_finalize(st);
		return r;
	}
	*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return J_OK;
}

int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, const char *name, struct jerr *err)
{
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(db, rc, name, "preparing a statement", err);
	return J_OK;
}

static void make_parent(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	mkdir(dir, 0777); /* one level, like ./data; errors show up at open */
}

/*
 * Before SQLite's first use: no memory statistics (nothing here reads them), so
 * that its malloc and free take no global mutex (the mutex calls were 5 % of the
 * ingest writer's samples; the gain is within this machine's noise, 2-3 %). SQLite
 * refuses a late call (SQLITE_MISUSE), which changes nothing.
 */
static void sq_configure(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int sq_open(const char *path, enum store_mode mode, const char *synchronous, int cache_kib,
	    int page_size, sqlite3 **out, struct jerr *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	sqlite3 *db = NULL;
	struct stat stt;
	char pragmas[256];
	int rc, r;

	pthread_once(&once, sq_configure);
	*out = NULL;
	if (path[0] == '\0') {
		jerr_set(err, "empty SQLite path");
		return J_ERROR;
	}
	if (stat(path, &stt) != 0) {
		if (errno != ENOENT || mode == STORE_OPEN_EXISTING) {
			jerr_set(err, "%s: %s%s", path, strerror(errno),
				 errno == ENOENT ? " (run 'jobads init' first)" : "");
			return J_ERROR;
		}
		make_parent(path);
	} else if (S_ISDIR(stt.st_mode)) {
		jerr_set(err, "%s: is a directory, not a SQLite database", path);
		return J_ERROR;
	} else if (access(path, R_OK) != 0) {
		jerr_set(err, "%s: %s", path, strerror(errno));
		return J_ERROR;
	}
	rc = sqlite3_open_v2(path, &db,
			     SQLITE_OPEN_READWRITE |
				 (mode != STORE_OPEN_EXISTING ? SQLITE_OPEN_CREATE : 0) |
				 SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		if (db && (rc & 0xff) == SQLITE_CANTOPEN && mode != STORE_OPEN_EXISTING) {
			jerr_set(err, "%s: cannot create the database: %s", path,
				 strerror(errno ? errno : EACCES));
			sqlite3_close(db);
			return J_ERROR;
		}
		r = sq_fail(db, rc, path, "cannot open", err);
		sqlite3_close(db);
		return r == J_RETRY ? J_ERROR : r;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 10000);
	/*
	 * A store synced NORMAL (the analytics store) keeps its WAL when the last
	 * connection closes instead of checkpointing it then: the checkpoint's fsync
	 * would be most of the cost of a short run (a scheduled run with nothing new).
	 * SQLite still checkpoints once the WAL passes 1000 pages.
	 */
	if (strcmp(synchronous, "NORMAL") == 0)
		sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
	/* page_size first: it only takes effect on a new, empty file, before WAL mode is set */
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA page_size=%d; PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
		 " PRAGMA cache_size=-%d; PRAGMA foreign_keys=OFF;",
		 page_size > 0 ? page_size : 4096, synchronous, cache_kib);
	r = sq_exec(db, pragmas, path, err);
	if (r == J_OK)
		r = sq_register_sum(db, path, err);
	if (r != J_OK) {
		sqlite3_close(db);
		return r;
	}
	*out = db;
	return J_OK;
}

/*
 * jobads_sum(x): the exact sum of integers. SQLite's SUM raises "integer
 * overflow" once a total passes int64 and TOTAL rounds to a double; this one
 * adds in 128 bits and answers an integer while the total fits, else the exact
 * decimal as text (sq_col_int reads both). 0 over no rows, like COALESCE(SUM(x), 0).
 */
struct sum_ctx {
	/* SQLite aligns the aggregate context to 8 bytes, a kpi_int wants 16: copied in and out */
	unsigned char sum[sizeof(kpi_int)];
	int bad; /* a value that is not an integer: fact columns never hold one */
};

static void sum_step(sqlite3_context *fc, int argc, sqlite3_value **argv)
{
	struct sum_ctx *c = sqlite3_aggregate_context(fc, sizeof(*c));
	kpi_int v;
	(void)argc;
	if (!c)
		return;
	switch (sqlite3_value_type(argv[0])) {
	case SQLITE_INTEGER:
		memcpy(&v, c->sum, sizeof(v));
		v += sqlite3_value_int64(argv[0]);
		memcpy(c->sum, &v, sizeof(v));
		break;
	case SQLITE_NULL:
		break;
	default:
		c->bad = 1;
		break;
	}
}

static void sum_final(sqlite3_context *fc)
{
	struct sum_ctx *c = sqlite3_aggregate_context(fc, 0);
	char buf[KPI_INT_BUF];
	if (c && c->bad) {
		sqlite3_result_error(fc, "jobads_sum: a value that is not an integer", -1);
		return;
	}
	kpi_int v = 0;
	if (c)
		memcpy(&v, c->sum, sizeof(v));
	if (kpi_int_fits64(v))
		sqlite3_result_int64(fc, (sqlite3_int64)v);
	else
		sqlite3_result_text(fc, kpi_int_format(v, buf), -1, SQLITE_TRANSIENT);
}

int sq_register_sum(sqlite3 *db, const char *name, struct jerr *err)
{
	int rc = sqlite3_create_function(db, "jobads_sum", 1,
					 SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
					 NULL, NULL, sum_step, sum_final);
	if (rc != SQLITE_OK)
		return sq_fail(db, rc, name, "registering jobads_sum", err);
	return J_OK;
}

kpi_int sq_col_int(sqlite3_stmt *st, int i)
{
	kpi_int v = 0;
	if (sqlite3_column_type(st, i) == SQLITE_TEXT) {
		const char *t = (const char *)sqlite3_column_text(st, i);
		if (t && kpi_int_parse(t, (size_t)sqlite3_column_bytes(st, i), &v) == 0)
			return v;
		return 0;
	}
	return sqlite3_column_int64(st, i);
}

void sq_col_sums(sqlite3_stmt *st, int c, struct kpi_sums *m)
{
	m->records = sq_col_int(st, c);
	m->impressions = sq_col_int(st, c + 1);
	m->clicks = sq_col_int(st, c + 2);
	m->applies = sq_col_int(st, c + 3);
	m->cost_micros = sq_col_int(st, c + 4);
	m->quality_sum = sq_col_int(st, c + 5);
	m->ctr_sum = sqlite3_column_double(st, c + 6);
	m->cpc_sum = sqlite3_column_double(st, c + 7);
	m->cpa_sum = sqlite3_column_double(st, c + 8);
	m->roi_sum = sqlite3_column_double(st, c + 9);
}

void sq_fact_row(sqlite3_stmt *st, struct fact_row *fr)
{
	fr->hour_start = sqlite3_column_int64(st, 0);
	fr->campaign_id = sqlite3_column_int(st, 1);
	fr->publisher_id = sqlite3_column_int(st, 2);
	fr->industry = sq_col_str(st, 3);
	fr->location = sq_col_str(st, 4);
	fr->device = sq_col_str(st, 5);
	sq_col_sums(st, 6, &fr->m);
}
