/*
 * test_mysql_conn.c - the MySQL/MariaDB backends' error mapping
 * (src/store/mysql/conn.c): a failure from the client library or the server
 * comes back as J_RETRY or J_ERROR with err.code set to its errno, so
 * that a caller decides by code and never by searching the message. The
 * server cases run when JOBADS_TEST_MYSQL_URL names a server (as
 * scripts/mariadb.sh env prints) and are skipped otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mysql/conn.h"

static int open_url(const char *rest, enum store_mode mode, MYSQL **db, struct jerr *err)
{
	struct my_url u;
	char *name = NULL;
	int mariadb, r = my_url_parse(rest, "x", &u, &name, err);
	if (r == J_OK)
		r = my_connect(&u, name, mode, 0, db, &mariadb, err);
	free(name);
	return r;
}

/* The server's URL with database db, or NULL when the tests have no server. */
static const char *server_url(const char *db, char *buf, size_t n)
{
	const char *url = getenv("JOBADS_TEST_MYSQL_URL");
	if (!url || strncmp(url, "mysql:", 6) != 0)
		return NULL;
	snprintf(buf, n, "%s/%s", url + 6, db);
	return buf;
}

static void test_no_server_is_retryable_with_its_code(void **state)
{
	(void)state;
	MYSQL *db = NULL;
	struct jerr err = {0};
	int r = open_url("//jobads@localhost/x?socket=/nonexistent/jobads.sock&connect_timeout=1",
			 STORE_OPEN_EXISTING, &db, &err);
	assert_int_equal(r, J_RETRY);
	assert_null(db);
	assert_int_equal(err.code, CR_CONNECTION_ERROR);
	assert_non_null(strstr(err.msg, "cannot connect"));
}

static void test_url_error_has_no_code(void **state)
{
	(void)state;
	MYSQL *db = NULL;
	struct jerr err = {.code = -1};
	assert_int_equal(open_url("//jobads@host:99999/x", STORE_OPEN_EXISTING, &db, &err),
			 J_ERROR);
	assert_int_equal(err.code, 0);
}

static void test_server_errors_carry_the_errno(void **state)
{
	(void)state;
	char buf[1024];
	MYSQL *db = NULL;
	MYSQL_STMT *st = NULL;
	struct jerr err = {0};
	if (!server_url("jt_unit_conn_missing", buf, sizeof(buf)))
		skip();
	assert_int_equal(open_url(buf, STORE_OPEN_EXISTING, &db, &err), J_ERROR);
	assert_int_equal(err.code, ER_BAD_DB_ERROR);

	server_url("jt_unit_conn", buf, sizeof(buf));
	assert_int_equal(open_url(buf, STORE_CREATE, &db, &err), J_OK);
	assert_int_equal(my_exec(db, "SELECT * FROM no_such_table", "t", "reading", &err), J_ERROR);
	assert_int_equal(err.code, ER_NO_SUCH_TABLE);
	assert_int_equal(my_prepare(db, "SELEKT 1", &st, "t", &err), J_ERROR);
	assert_int_equal(err.code, ER_PARSE_ERROR);
	assert_null(st);
	mysql_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_server_is_retryable_with_its_code),
	    cmocka_unit_test(test_url_error_has_no_code),
	    cmocka_unit_test(test_server_errors_carry_the_errno),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
