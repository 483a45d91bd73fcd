/*
 * sqlite/db.h - what the two SQLite backends share: opening a file with the
 * project's pragmas and a clear error for a missing, corrupt or foreign file,
 * error mapping to J_RETRY / J_ERROR, and the embedded schemas.
 */
#ifndef JOBADS_SQLITE_UTIL_H
#define JOBADS_SQLITE_UTIL_H

#include <sqlite3.h>

#include "jobads/store.h"

/* Schemas from sql/sqlite/, embedded at build time (cmake/embed.cmake). */
extern const char sql_sqlite_events[];
extern const char sql_sqlite_analytics[];

/*
 * Open path with WAL and a busy timeout. In STORE_OPEN_EXISTING mode a missing
 * file is an error; in STORE_CREATE mode the file (and its parent directory)
 * are created. synchronous is "FULL" or "NORMAL". cache_kib sizes the page cache.
 * page_size applies to a file created here (0: SQLite's 4096); an existing file keeps its own.
 */
int sq_open(const char *path, enum store_mode mode, const char *synchronous, int cache_kib,
	    int page_size, sqlite3 **db, struct jerr *err);

/*
 * The one mapping of a SQLite result code to the project's: J_OK for OK,
 * ROW and DONE; J_RETRY for busy, locked, read-only, cannot open, I/O error
 * and full disk (each can pass: another writer ends, the file becomes writable,
 * the disk is freed); J_ERROR for the rest. sq_fail and sq_exec use it.
 */
int sq_code(int rc);

/* A failed rc as J_RETRY or J_ERROR (sq_code), with err naming name and what. */
int sq_fail(sqlite3 *db, int rc, const char *name, const char *what, struct jerr *err);

/* Run a script (several statements); J_OK, or sq_code's answer with err naming the store. */
int sq_exec(sqlite3 *db, const char *sql, const char *name, struct jerr *err);

/*
 * Rewrite the event store's layout 1 or 2 into the current one (sqlite/upgrade.c),
 * inside the caller's write transaction; the caller then applies sql_sqlite_events.
 */
int ev_sqlite_upgrade_from_1(sqlite3 *db, const char *name, struct jerr *err);
int ev_sqlite_upgrade_from_2(sqlite3 *db, const char *name, struct jerr *err);

/* Every stored row's key is in tracking_key now (sql/sqlite/events.sql; upgrade and merge). */
#define SQL_KEYS_MERGED_NOW                                                                        \
	"UPDATE tracking_key_state SET merged_upto = (SELECT COALESCE(MAX(seq), 0) FROM tracking)" \
	" WHERE id = 1;"

/* PRAGMA user_version of the main database, or -1 with err set. */
int sq_user_version(sqlite3 *db, const char *name, int *version, struct jerr *err);

/* Prepare a statement that lives as long as the connection; J_OK or error. */
int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, const char *name, struct jerr *err);

/* Column i of the current row as a view valid until the next step; NULL is empty. Inline:
 * the ETL's scan calls it for every text column of every row. */
static inline struct ev_str sq_col_str(sqlite3_stmt *st, int i)
{
	struct ev_str v;
	v.s = (const char *)sqlite3_column_text(st, i);
	v.n = v.s ? (uint32_t)sqlite3_column_bytes(st, i) : 0;
	if (!v.s)
		v.s = "";
	return v;
}

/* The same for a function argument. */
static inline struct ev_str sq_val_str(sqlite3_value *val)
{
	struct ev_str v;
	v.s = (const char *)sqlite3_value_text(val);
	v.n = v.s ? (uint32_t)sqlite3_value_bytes(val) : 0;
	if (!v.s)
		v.s = "";
	return v;
}

/* Register jobads_sum(x), an exact sum of integers (an integer, or decimal text past int64). */
int sq_register_sum(sqlite3 *db, const char *name, struct jerr *err);
/* Column i as a sum: an integer, or jobads_sum's decimal text. */
kpi_int sq_col_int(sqlite3_stmt *st, int i);
/* Read m from columns c .. c+9 (records .. roi_sum, in fact_hourly's order). */
void sq_col_sums(sqlite3_stmt *st, int c, struct kpi_sums *m);
/* Read a row laid out as fact_hourly: the six grain columns, then the sums. */
void sq_fact_row(sqlite3_stmt *st, struct fact_row *fr);

#endif
