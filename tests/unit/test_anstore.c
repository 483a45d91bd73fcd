/*
 * test_anstore.c - the SQLite analytics store's failure paths, on a real file:
 * a rebuild's reset that fails part way leaves no transaction open (so the run
 * lock is released at once), and the one mapping of SQLite's result codes to
 * J_RETRY / J_ERROR that both sq_fail and sq_exec give
 * (src/store/sqlite/analytics.c, sqlite/db.c). Faults are injected from
 * outside: a trigger that aborts, a read-only connection, a page limit. And why
 * a prune is refused (store.c's retention messages).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobads/store.h"
#include "store/sqlite/db.h"

static char dir[64];
static char path[96], url[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_anstore.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/an.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char p[160];
	static const char *const sfx[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

/* A second connection, as another process would see the file. */
static sqlite3 *side(void)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

static void side_exec(const char *sql)
{
	sqlite3 *db = side();
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		print_error("%s: %s\n", sql, msg ? msg : "?");
	sqlite3_free(msg);
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_close(db);
}

/* The one value of a query from a second connection, as text in buf. */
static const char *side_text(const char *sql, char *buf, size_t len)
{
	sqlite3 *db = side();
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const unsigned char *t = sqlite3_column_text(st, 0);
	snprintf(buf, len, "%s", t ? (const char *)t : "");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return buf;
}

/*
 * A rebuild whose reset fails (here: the last statement, after both deletes)
 * rolls back: nothing is emptied, and the run lock released after it is free
 * for the next process at once, not when its lease ends.
 */
static void test_reset_failure_rolls_back(void **state)
{
	(void)state;
	struct anstore *as;
	struct jerr err = {0};
	char buf[256];
	int got = 0;
	struct run_lock_info holder;
	assert_int_equal(anstore_open(url, STORE_CREATE, &as, &err), J_OK);
	side_exec("INSERT INTO fact_hourly (hour_start, campaign_id, publisher_id, industry,"
		  " location, device, records, impressions, clicks, applies, cost_micros,"
		  " quality_sum, ctr_sum, cpc_sum, cpa_sum, roi_sum)"
		  " VALUES (3600, 1, 2, 'i', 'l', 'd', 1, 1, 1, 1, 1, 1, 0, 0, 0, 0);"
		  "INSERT INTO dim_publisher VALUES (2, 'P', NULL, NULL, 5);"
		  "UPDATE etl_state SET cursor = 5;"
		  "CREATE TRIGGER fail_reset BEFORE UPDATE ON etl_state"
		  " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
	assert_int_equal(
	    as->ops->lock_acquire(as, "me:1:x:a", NULL, 1000, 60000, &got, &holder, &err), J_OK);
	assert_int_equal(got, 1);
	int r = as->ops->reset(as, &err);
	assert_int_not_equal(r, J_OK);
	assert_non_null(strstr(err.msg, "injected failure"));
	assert_int_equal(as->ops->lock_release(as, "me:1:x:a", &err), J_OK);
	/* seen from another process, while this one still has the store open */
	assert_string_equal(side_text("SELECT owner FROM etl_lock", buf, sizeof(buf)), "");
	assert_string_equal(side_text("SELECT COUNT(*) || ' ' || (SELECT COUNT(*) FROM"
				      " dim_publisher) || ' ' || (SELECT cursor FROM etl_state)"
				      " FROM fact_hourly",
				      buf, sizeof(buf)),
			    "1 1 5");
	/* and another process takes the lock now */
	struct anstore *other;
	assert_int_equal(anstore_open(url, STORE_OPEN_EXISTING, &other, &err), J_OK);
	assert_int_equal(
	    other->ops->lock_acquire(other, "you:2:x:b", NULL, 2000, 60000, &got, &holder, &err),
	    J_OK);
	assert_int_equal(got, 1);
	assert_int_equal(other->ops->lock_release(other, "you:2:x:b", &err), J_OK);
	anstore_close(other);
	/* without the fault the same store resets */
	side_exec("DROP TRIGGER fail_reset");
	assert_int_equal(as->ops->reset(as, &err), J_OK);
	assert_string_equal(side_text("SELECT COUNT(*) || ' ' || (SELECT COUNT(*) FROM"
				      " dim_publisher) || ' ' || (SELECT cursor FROM etl_state)"
				      " FROM fact_hourly",
				      buf, sizeof(buf)),
			    "0 0 0");
	anstore_close(as);
}

static void test_code_mapping(void **state)
{
	(void)state;
	static const int retry[] = {
	    SQLITE_BUSY,     SQLITE_LOCKED,	     SQLITE_BUSY_SNAPSHOT, SQLITE_READONLY,
	    SQLITE_CANTOPEN, SQLITE_IOERR,	     SQLITE_IOERR_WRITE,   SQLITE_IOERR_FSYNC,
	    SQLITE_FULL,     SQLITE_READONLY_DBMOVED};
	static const int error[] = {SQLITE_ERROR,    SQLITE_CONSTRAINT, SQLITE_CONSTRAINT_UNIQUE,
				    SQLITE_NOTADB,   SQLITE_CORRUPT,	SQLITE_MISUSE,
				    SQLITE_MISMATCH, SQLITE_TOOBIG};
	struct jerr err;
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
		assert_int_equal(sq_code(retry[i]), J_RETRY);
		assert_int_equal(sq_fail(NULL, retry[i], "s", "x", &err), J_RETRY);
	}
	for (size_t i = 0; i < sizeof(error) / sizeof(error[0]); i++) {
		assert_int_equal(sq_code(error[i]), J_ERROR);
		assert_int_equal(sq_fail(NULL, error[i], "s", "x", &err), J_ERROR);
	}
	assert_int_equal(sq_code(SQLITE_OK), J_OK);
	assert_int_equal(sq_code(SQLITE_DONE), J_OK);
}

/* sq_exec's answer for a failure is sq_fail's for the same failure. */
static void check_agree(sqlite3 *db, const char *sql, int want)
{
	struct jerr err;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	assert_int_not_equal(rc, SQLITE_DONE);
	assert_int_equal(sq_fail(db, rc, "s", "x", &err), want);
	assert_int_equal(sq_exec(db, sql, "s", &err), want);
	assert_true(err.msg[0] != '\0');
}

static void test_exec_agrees_with_fail(void **state)
{
	(void)state;
	sqlite3 *db;
	struct anstore *as;
	struct jerr err = {0};
	assert_int_equal(anstore_open(url, STORE_CREATE, &as, &err), J_OK);
	anstore_close(as);
	/* read-only: the file may become writable */
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_extended_result_codes(db, 1);
	check_agree(db, "UPDATE etl_state SET cursor = 7", J_RETRY);
	sqlite3_close(db);
	/* a full disk: the space may be freed */
	db = side();
	sqlite3_extended_result_codes(db, 1);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE big (b BLOB)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int pages = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	char sql[96];
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %d", pages + 2);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	check_agree(db, "INSERT INTO big VALUES (zeroblob(1000000))", J_RETRY);
	/* a plain error stays one */
	check_agree(db, "INSERT INTO no_such_table VALUES (1)", J_ERROR);
	sqlite3_close(db);
}

/*
 * Why a prune is refused: a rebuild killed before its first commit sits at
 * cursor 0 behind the kept facts, and says so, not "no event processed yet"
 * (t_prune met it when its kill -9 landed that early).
 */
static void test_retention_refusal(void **state)
{
	(void)state;
	struct jerr err;
	assert_int_equal(store_retention_refuse("a.db", 0, 0, &err), J_ERROR);
	assert_non_null(strstr(err.msg, "the ETL has processed no event yet"));
	assert_int_equal(store_retention_refuse("a.db", 0, 1200, &err), J_ERROR);
	assert_non_null(strstr(err.msg, "a rebuild has not caught up yet (cursor 0 behind 1200)"));
	assert_int_equal(store_retention_refuse("a.db", 700, 1200, &err), J_ERROR);
	assert_non_null(
	    strstr(err.msg, "a rebuild has not caught up yet (cursor 700 behind 1200)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reset_failure_rolls_back, setup, teardown),
	    cmocka_unit_test(test_code_mapping),
	    cmocka_unit_test_setup_teardown(test_exec_agrees_with_fail, setup, teardown),
	    cmocka_unit_test(test_retention_refusal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
