/*
 * test_cql.c - the CQL v4 client: the codec on hand-built frames (no I/O),
 * and, given the test server's path, the session against it: pipelining,
 * paging with an empty last page, batches, server errors, re-prepare after
 * a server restart, failover between contact points, request timeouts and
 * SASL PLAIN.
 *
 *   test_cql [PATH/TO/cqlsrv]
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cql/cql.h"

#include "jobads/banned.h"

/* ---- codec ---- */

static void test_frame_roundtrip(void **state)
{
	(void)state;
	struct cql_buf b = {0};
	size_t st = cql_frame_begin(&b, CQL_VERSION_REQ, CQL_OP_QUERY, 1234);
	cqlb_lstring(&b, "SELECT 1", 8);
	cql_frame_end(&b, st);
	struct cql_frame f;
	assert_int_equal(cql_frame_parse(b.p, b.len, &f), (long)b.len);
	assert_int_equal(f.version, 4);
	assert_int_equal(f.stream, 1234);
	assert_int_equal(f.opcode, CQL_OP_QUERY);
	assert_int_equal(f.len, 12);
	/* every shorter prefix asks for more bytes */
	for (size_t n = 1; n < b.len; n++)
		assert_int_equal(cql_frame_parse(b.p, n, &f), 0);
	/* a frame of version 5 (or 3) is refused, saying which */
	b.p[0] = 0x05;
	assert_int_equal(cql_frame_parse(b.p, b.len, &f), -1);
	assert_int_equal(f.version, 5);
	/* negative stream ids (server events) survive */
	cqlb_reset(&b);
	st = cql_frame_begin(&b, CQL_VERSION_RESP, CQL_OP_EVENT, -1);
	cql_frame_end(&b, st);
	assert_int_equal(cql_frame_parse(b.p, b.len, &f), CQL_HEADER_LEN);
	assert_int_equal(f.stream, -1);
	cqlb_release(&b);
}

/* A RESULT Rows body: global spec, a paging state, columns int, text, set<text>, decimal. */
static void build_rows(struct cql_buf *b)
{
	cqlb_i32(b, CQL_RES_ROWS);
	cqlb_i32(b, CQL_MF_GLOBAL_SPEC | CQL_MF_MORE_PAGES);
	cqlb_i32(b, 4);
	cqlb_bytes(b, "\x01\x02\x03", 3);
	cqlb_string(b, "ks", 2);
	cqlb_string(b, "t", 1);
	cqlb_string(b, "a", 1);
	cqlb_u16(b, CQL_T_INT);
	cqlb_string(b, "name", 4);
	cqlb_u16(b, CQL_T_VARCHAR);
	cqlb_string(b, "tags", 4);
	cqlb_u16(b, CQL_T_SET);
	cqlb_u16(b, CQL_T_VARCHAR);
	cqlb_string(b, "cost", 4);
	cqlb_u16(b, CQL_T_DECIMAL);
	cqlb_i32(b, 2);
	cqlv_int(b, -7);
	cqlv_text(b, "héllo", 6);
	cqlv_null(b);
	cqlv_decimal(b, 1250000, 6);
	cqlv_null(b);
	cqlv_text(b, "", 0);
	cqlb_i32(b, 4 + 4 + 1);
	cqlb_i32(b, 1);
	cqlb_bytes(b, "x", 1);
	cqlv_decimal(b, -5, 0);
}

static void test_rows(void **state)
{
	(void)state;
	struct cql_buf b = {0};
	build_rows(&b);
	struct cql_result res;
	const char *why;
	assert_int_equal(cql_result_parse(b.p, b.len, &res, &why), 0);
	assert_int_equal(res.kind, CQL_RES_ROWS);
	assert_int_equal(res.meta.ncols, 4);
	assert_int_equal(res.meta.paging_len, 3);
	assert_memory_equal(res.meta.paging_state, "\x01\x02\x03", 3);
	assert_int_equal(res.meta.cols[2].type, CQL_T_SET);
	assert_int_equal(res.meta.cols[3].type, CQL_T_DECIMAL);
	assert_memory_equal(res.meta.cols[3].name, "cost", 4);
	struct cql_cell c[4];
	int32_t left = res.nrows, v;
	int64_t m;
	assert_int_equal(cql_row_next(&res, &left, c, 4), 1);
	assert_int_equal(cql_get_int(c[0], &v), 0);
	assert_int_equal(v, -7);
	assert_int_equal(c[1].len, 6);
	assert_memory_equal(c[1].p, "héllo", 6);
	assert_true(c[2].len < 0);
	assert_int_equal(cql_get_decimal_scaled(c[3], 6, &m), 0);
	assert_int_equal(m, 1250000);
	assert_int_equal(cql_row_next(&res, &left, c, 4), 1);
	assert_true(c[0].len < 0);
	assert_int_equal(cql_get_int(c[0], &v), -1); /* null is not an int */
	assert_int_equal(c[1].len, 0);
	assert_int_equal(cql_get_decimal_scaled(c[3], 6, &m), 0);
	assert_int_equal(m, -5000000);
	assert_int_equal(cql_row_next(&res, &left, c, 4), 0);
	/* every truncation of the body is refused or stops early, never read past the end */
	for (size_t n = 0; n < b.len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, b.p, n);
		if (cql_result_parse(copy, n, &res, &why) == 0) {
			left = res.nrows;
			int k;
			while ((k = cql_row_next(&res, &left, c, 4)) == 1)
				;
			assert_int_equal(k, -1);
		}
		free(copy);
	}
	cqlb_release(&b);
}

static void test_decimal(void **state)
{
	(void)state;
	static const struct {
		int64_t v;
		int bytes;
	} cases[] = {{0, 1},
		     {1, 1},
		     {127, 1},
		     {128, 2},
		     {-1, 1},
		     {-128, 1},
		     {-129, 2},
		     {32767, 2},
		     {INT64_MAX, 8},
		     {INT64_MIN, 8},
		     {1000000000000000000LL, 8}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cql_buf b = {0};
		cqlv_decimal(&b, cases[i].v, 6);
		assert_int_equal(b.len, 4 + 4 + (size_t)cases[i].bytes);
		struct cql_cell c = {b.p + 4, (int32_t)(b.len - 4)};
		int64_t back;
		assert_int_equal(cql_get_decimal_scaled(c, 6, &back), 0);
		assert_int_equal(back, cases[i].v);
		cqlb_release(&b);
	}
	struct cql_buf b = {0};
	cqlv_decimal(&b, 123, 9); /* 0.000000123: not whole micros */
	struct cql_cell c = {b.p + 4, (int32_t)(b.len - 4)};
	int64_t m;
	assert_int_equal(cql_get_decimal_scaled(c, 6, &m), -1);
	cqlb_reset(&b);
	cqlv_decimal(&b, 5, -3); /* 5000 */
	c = (struct cql_cell){b.p + 4, (int32_t)(b.len - 4)};
	assert_int_equal(cql_get_decimal_scaled(c, 6, &m), 0);
	assert_int_equal(m, 5000000000LL);
	cqlb_reset(&b);
	cqlv_decimal(&b, INT64_MAX, 0); /* would overflow at scale 6 */
	c = (struct cql_cell){b.p + 4, (int32_t)(b.len - 4)};
	assert_int_equal(cql_get_decimal_scaled(c, 6, &m), -1);
	cqlb_release(&b);
}

/* A rows result of ncols int columns, one row (issue 12, finding 9). */
static void build_wide(struct cql_buf *b, int ncols)
{
	cqlb_i32(b, CQL_RES_ROWS);
	cqlb_i32(b, CQL_MF_GLOBAL_SPEC);
	cqlb_i32(b, ncols);
	cqlb_string(b, "ks", 2);
	cqlb_string(b, "t", 1);
	for (int i = 0; i < ncols; i++) {
		char name[8];
		int n = snprintf(name, sizeof(name), "c%d", i);
		cqlb_string(b, name, (size_t)n);
		cqlb_u16(b, CQL_T_INT);
	}
	cqlb_i32(b, 1);
	for (int i = 0; i < ncols; i++)
		cqlv_int(b, i);
}

/* A server that answers more (or fewer) columns than asked: refused, nothing written past
 * the caller's array (it was a stack-buffer-overflow in the callers' fixed arrays). */
static void test_row_width(void **state)
{
	(void)state;
	struct cql_buf b = {0};
	build_wide(&b, CQL_MAX_COLS);
	struct cql_result res;
	const char *why;
	assert_int_equal(cql_result_parse(b.p, b.len, &res, &why), 0);
	struct {
		struct cql_cell c[1];
		struct cql_cell guard;
	} cells;
	memset(&cells, 0xa5, sizeof(cells));
	int32_t left = res.nrows;
	assert_int_equal(cql_row_next(&res, &left, cells.c, 1), -1);
	struct cql_cell untouched;
	memset(&untouched, 0xa5, sizeof(untouched));
	assert_memory_equal(&cells.guard, &untouched, sizeof(untouched));
	/* and every later call stays refused */
	assert_int_equal(cql_row_next(&res, &left, cells.c, 1), -1);
	/* fewer columns than expected: refused too */
	cqlb_reset(&b);
	build_wide(&b, 2);
	assert_int_equal(cql_result_parse(b.p, b.len, &res, &why), 0);
	struct cql_cell c3[3];
	left = res.nrows;
	assert_int_equal(cql_row_next(&res, &left, c3, 3), -1);
	/* the expected width reads the row */
	assert_int_equal(cql_result_parse(b.p, b.len, &res, &why), 0);
	left = res.nrows;
	assert_int_equal(cql_row_next(&res, &left, c3, 2), 1);
	int32_t v;
	assert_int_equal(cql_get_int(c3[1], &v), 0);
	assert_int_equal(v, 1);
	/* a row count the body cannot hold: refused at once, not looped over */
	cqlb_reset(&b);
	build_wide(&b, 1);
	cqlb_put_i32(&b, b.len - 8 - 4, INT32_MAX); /* the count before the one cell */
	assert_int_equal(cql_result_parse(b.p, b.len, &res, &why), -1);
	/* rows of no columns */
	cqlb_reset(&b);
	build_wide(&b, 0);
	assert_int_equal(cql_result_parse(b.p, b.len, &res, &why), -1);
	/* more columns than the protocol client ever holds: refused at the metadata */
	cqlb_reset(&b);
	build_wide(&b, CQL_MAX_COLS + 1);
	assert_int_equal(cql_result_parse(b.p, b.len, &res, &why), -1);
	cqlb_release(&b);
}

/* Type options nested without end (a list of a list of ...): refused at a depth limit,
 * where the recursion used to run the stack out on an 8 MB body. */
static void test_option_depth(void **state)
{
	(void)state;
	struct cql_buf b = {0};
	cqlb_i32(&b, CQL_RES_ROWS);
	cqlb_i32(&b, CQL_MF_GLOBAL_SPEC);
	cqlb_i32(&b, 1);
	cqlb_string(&b, "ks", 2);
	cqlb_string(&b, "t", 1);
	cqlb_string(&b, "c", 1);
	size_t depth = 4u << 20; /* 8 MB of option ids */
	cqlb_reserve(&b, depth * 2 + 16);
	for (size_t i = 0; i < depth; i++)
		cqlb_u16(&b, CQL_T_LIST);
	cqlb_u16(&b, CQL_T_INT);
	cqlb_i32(&b, 0);
	struct cql_result res;
	const char *why;
	assert_int_equal(cql_result_parse(b.p, b.len, &res, &why), -1);
	/* nesting Cassandra really uses still parses: map<text, frozen<list<tuple<int, set<int>>>>>
	 */
	cqlb_reset(&b);
	cqlb_i32(&b, CQL_RES_ROWS);
	cqlb_i32(&b, CQL_MF_GLOBAL_SPEC);
	cqlb_i32(&b, 1);
	cqlb_string(&b, "ks", 2);
	cqlb_string(&b, "t", 1);
	cqlb_string(&b, "m", 1);
	cqlb_u16(&b, CQL_T_MAP);
	cqlb_u16(&b, CQL_T_VARCHAR);
	cqlb_u16(&b, CQL_T_LIST);
	cqlb_u16(&b, CQL_T_TUPLE);
	cqlb_u16(&b, 2);
	cqlb_u16(&b, CQL_T_INT);
	cqlb_u16(&b, CQL_T_SET);
	cqlb_u16(&b, CQL_T_INT);
	cqlb_i32(&b, 0);
	assert_int_equal(cql_result_parse(b.p, b.len, &res, &why), 0);
	assert_int_equal(res.meta.cols[0].type, CQL_T_MAP);
	cqlb_release(&b);
}

/* One decimal with an extreme scale took 5.7 s (a loop over the scale difference). */
static void test_decimal_scale(void **state)
{
	(void)state;
	static const struct {
		int64_t unscaled;
		int32_t scale;
		int ok;
		int64_t micros;
	} cases[] = {{0, INT32_MIN, 1, 0},
		     {0, INT32_MAX, 1, 0},
		     {1, INT32_MIN, 0, 0},
		     {-1, INT32_MIN, 0, 0},
		     {5, INT32_MAX, 0, 0},
		     {INT64_MIN, INT32_MAX, 0, 0},
		     {1, -12, 1, 1000000000000000000LL}, /* 1e12 units */
		     {1, -13, 0, 0},			 /* 1e13 units: past int64 micros */
		     {1000000000000000000LL, 24, 1, 1},	 /* 1e-6 exactly */
		     {1000000000000000001LL, 24, 0, 0}};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cql_buf b = {0};
		cqlv_decimal(&b, cases[i].unscaled, cases[i].scale);
		struct cql_cell c = {b.p + 4, (int32_t)(b.len - 4)};
		int64_t m = -42;
		int rc = cql_get_decimal_scaled(c, 6, &m);
		assert_int_equal(rc, cases[i].ok ? 0 : -1);
		if (cases[i].ok)
			assert_int_equal(m, cases[i].micros);
		cqlb_release(&b);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(s < 0.05);
}

static void test_values(void **state)
{
	(void)state;
	struct cql_buf b = {0};
	cqlv_bigint(&b, -1234567890123LL);
	cqlv_double(&b, 0.1);
	cqlv_boolean(&b, 1);
	struct cql_rd r;
	cqlr_init(&r, b.p, b.len);
	int32_t n;
	int64_t i;
	double d;
	int t;
	const uint8_t *p = cqlr_bytes(&r, &n);
	assert_int_equal(cql_get_bigint((struct cql_cell){p, n}, &i), 0);
	assert_int_equal(i, -1234567890123LL);
	p = cqlr_bytes(&r, &n);
	assert_int_equal(cql_get_double((struct cql_cell){p, n}, &d), 0);
	assert_true(d == 0.1);
	p = cqlr_bytes(&r, &n);
	assert_int_equal(cql_get_boolean((struct cql_cell){p, n}, &t), 0);
	assert_int_equal(t, 1);
	assert_false(r.bad);
	cqlr_i32(&r); /* past the end */
	assert_true(r.bad);
	cqlb_release(&b);
}

static void test_prepared_and_errors(void **state)
{
	(void)state;
	struct cql_buf b = {0};
	cqlb_i32(&b, CQL_RES_PREPARED);
	cqlb_sbytes(&b, "0123456789abcdef", 16);
	cqlb_i32(&b, CQL_MF_GLOBAL_SPEC);
	cqlb_i32(&b, 2);
	cqlb_i32(&b, 1);
	cqlb_u16(&b, 1);
	cqlb_string(&b, "ks", 2);
	cqlb_string(&b, "t", 1);
	cqlb_string(&b, "a", 1);
	cqlb_u16(&b, CQL_T_VARCHAR);
	cqlb_string(&b, "p", 1);
	cqlb_u16(&b, CQL_T_MAP);
	cqlb_u16(&b, CQL_T_VARCHAR);
	cqlb_u16(&b, CQL_T_LIST);
	cqlb_u16(&b, CQL_T_INT);
	cqlb_i32(&b, CQL_MF_NO_METADATA);
	cqlb_i32(&b, 0);
	struct cql_result res;
	const char *why;
	assert_int_equal(cql_result_parse(b.p, b.len, &res, &why), 0);
	assert_int_equal(res.kind, CQL_RES_PREPARED);
	assert_int_equal(res.prep_id_len, 16);
	assert_int_equal(res.params.ncols, 2);
	assert_int_equal(res.params.pk_count, 1);
	assert_int_equal(res.params.cols[1].type, CQL_T_MAP);
	cqlb_reset(&b);
	cqlb_i32(&b, CQL_E_UNPREPARED);
	cqlb_string(&b, "gone", 4);
	cqlb_sbytes(&b, "ID", 2);
	struct cql_error e;
	assert_int_equal(cql_error_parse(b.p, b.len, &e), 0);
	assert_int_equal(e.code, CQL_E_UNPREPARED);
	assert_int_equal(e.unprepared_len, 2);
	assert_string_equal(cql_error_name(CQL_E_WRITE_TIMEOUT), "write timeout");
	assert_true(cql_error_retryable(CQL_E_UNAVAILABLE));
	assert_false(cql_error_retryable(CQL_E_SYNTAX));
	cqlb_release(&b);
}

static void test_uuid(void **state)
{
	(void)state;
	uint8_t u[16], low[8] = {0x80, 1, 2, 3, 4, 5, 6, 7};
	char s[37];
	assert_int_equal(uuid_from_text("0A1B2C3D-4E5F-4a6b-8c7d-9e0f1a2b3c4d", 36, u), 0);
	uuid_to_text(u, s);
	assert_string_equal(s, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
	assert_int_equal(uuid_from_text("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4", 35, u), -1);
	assert_int_equal(uuid_from_text("0a1b2c3d+4e5f-4a6b-8c7d-9e0f1a2b3c4d", 36, u), -1);
	uint64_t ticks = CQL_TICKS_UNIX_OFFSET + 17000000000000000ULL + 12345;
	cql_timeuuid_make(u, ticks, low);
	assert_int_equal(u[6] >> 4, 1); /* version 1 */
	assert_int_equal(cql_timeuuid_ticks(u), ticks);
	assert_int_equal(cql_timeuuid_ms(u), 1700000000000LL + 1);
}

/* ---- session, against the test server ---- */

static const char *srv_path;
static pid_t srv_pid;
static int srv_port;

static void start_server(int port, const char *auth)
{
	char pf[] = "/tmp/test_cql_portXXXXXX";
	int fd = mkstemp(pf);
	close(fd);
	unlink(pf);
	char portarg[16];
	snprintf(portarg, sizeof(portarg), "%d", port);
	srv_pid = fork();
	if (srv_pid == 0) {
		/* a failed assertion ends this process without stopping the server: it
		 * must not outlive the test and hold ctest's output open */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (auth)
			execl(srv_path, srv_path, "--port", portarg, "--port-file", pf, "--auth",
			      auth, (char *)NULL);
		else
			execl(srv_path, srv_path, "--port", portarg, "--port-file", pf,
			      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(pf, "r");
		if (f) {
			int ok = fscanf(f, "%d", &srv_port) == 1;
			fclose(f);
			if (ok)
				break;
		}
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	unlink(pf);
}

static void stop_server(void)
{
	if (srv_pid > 0) {
		kill(srv_pid, SIGTERM);
		waitpid(srv_pid, NULL, 0);
	}
	srv_pid = 0;
}

/* A failed assertion leaves its test early: the server must not outlive it (it
 * holds ctest's output pipe, and the run would wait for it until the timeout). */
static int stop_server_teardown(void **state)
{
	(void)state;
	stop_server();
	return 0;
}

static struct cql_sess *open_sess(const char *hosts, const char *user, const char *pw,
				  struct jerr *err, int *rc)
{
	struct cql_opts o = {.hosts = hosts,
			     .port = srv_port,
			     .user = user,
			     .password = pw,
			     .connect_ms = 2000,
			     .request_ms = 2000,
			     .name = "test"};
	struct cql_sess *s = NULL;
	*rc = cql_sess_open(&o, &s, err);
	return s;
}

static int q(struct cql_sess *s, const char *text, struct jerr *err)
{
	struct cql_req rq = {.query = text, .consistency = CQL_ONE};
	struct cql_result res;
	int h;
	int r = cql_run(s, &rq, &res, &h, err);
	if (r == J_OK)
		cql_release(s, h);
	return r;
}

static void test_session(void **state)
{
	(void)state;
	if (!srv_path)
		skip();
	struct jerr err = {0};
	int rc;
	start_server(0, NULL);
	/* the first contact point refuses: failover to the second */
	struct cql_sess *s = open_sess("127.0.0.2,127.0.0.1", NULL, NULL, &err, &rc);
	assert_int_equal(rc, J_OK);
	assert_non_null(strstr(cql_sess_host(s), "127.0.0.1"));
	assert_int_equal(q(s,
			   "CREATE KEYSPACE k WITH replication = {'class': 'SimpleStrategy', "
			   "'replication_factor': 1}",
			   &err),
			 J_OK);
	assert_int_equal(
	    q(s, "CREATE TABLE k.t (p int, c bigint, v text, PRIMARY KEY ((p), c))", &err), J_OK);
	/* a key wider than the server's table holds is refused, not written past its end */
	assert_int_equal(q(s,
			   "CREATE TABLE k.wide (p int, a int, b int, c int, d int, e int, f int, "
			   "g int, h int, i int, PRIMARY KEY ((p), a, b, c, d, e, f, g, h, i))",
			   &err),
			 J_ERROR);
	assert_non_null(strstr(err.msg, "clustering columns"));
	/* 100 prepared inserts in flight at once */
	struct cql_prep *ins = cql_prep_new(s, "INSERT INTO k.t (p, c, v) VALUES (?, ?, ?)");
	struct cql_buf v[100];
	int h[100];
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 100; i++) {
		cqlv_int(&v[i], 1);
		cqlv_bigint(&v[i], i);
		cqlv_text(&v[i], "x", 1);
		struct cql_req rq = {
		    .prep = ins, .values = &v[i], .nvalues = 3, .consistency = CQL_LOCAL_QUORUM};
		assert_int_equal(cql_submit(s, &rq, &h[i], &err), J_OK);
	}
	for (int i = 99; i >= 0; i--) { /* collected in any order */
		struct cql_result res;
		assert_int_equal(cql_wait(s, h[i], &res, &err), J_OK);
		assert_int_equal(res.kind, CQL_RES_VOID);
		cql_release(s, h[i]);
		cqlb_release(&v[i]);
	}
	/* a batch of 20 more */
	struct cql_prep *stmts[20];
	int nv[20];
	for (int i = 0; i < 20; i++) {
		stmts[i] = ins;
		nv[i] = 3;
		cqlv_int(&v[i], 1);
		cqlv_bigint(&v[i], 100 + i);
		cqlv_text(&v[i], "b", 1);
	}
	int bh;
	assert_int_equal(cql_batch_submit(s, stmts, v, nv, 20, CQL_LOCAL_QUORUM, &bh, &err), J_OK);
	struct cql_result res;
	assert_int_equal(cql_wait(s, bh, &res, &err), J_OK);
	cql_release(s, bh);
	for (int i = 0; i < 20; i++)
		cqlb_release(&v[i]);
	/* 20 rows of 300 bytes: over the server's 5 KiB warning threshold, so the
	 * answer carries a warning before its result, as a real node's does */
	char big[300];
	memset(big, 'w', sizeof(big));
	for (int i = 0; i < 20; i++) {
		cqlv_int(&v[i], 2);
		cqlv_bigint(&v[i], i);
		cqlv_text(&v[i], big, sizeof(big));
	}
	struct cql_stats st0, st1;
	cql_sess_stats(s, &st0);
	assert_int_equal(cql_batch_submit(s, stmts, v, nv, 20, CQL_LOCAL_QUORUM, &bh, &err), J_OK);
	assert_int_equal(cql_wait(s, bh, &res, &err), J_OK);
	assert_int_equal(res.kind, CQL_RES_VOID);
	cql_release(s, bh);
	cql_sess_stats(s, &st1);
	assert_int_equal(st1.warnings - st0.warnings, 1);
	for (int i = 0; i < 20; i++)
		cqlb_release(&v[i]);
	/* paging: 120 rows in pages of 40: 40, 40, 40, then an empty last page */
	struct cql_prep *sel = cql_prep_new(s, "SELECT c FROM k.t WHERE p = ?");
	struct cql_buf key = {0};
	cqlv_int(&key, 1);
	uint8_t ps[256];
	size_t psl = 0;
	int pages = 0, rows = 0;
	int64_t expect = 0;
	for (;;) {
		struct cql_req rq = {.prep = sel,
				     .values = &key,
				     .nvalues = 1,
				     .consistency = CQL_ONE,
				     .page_size = 40,
				     .paging_state = psl ? ps : NULL,
				     .paging_len = psl};
		int hh;
		assert_int_equal(cql_run(s, &rq, &res, &hh, &err), J_OK);
		pages++;
		struct cql_cell c[1];
		int32_t left = res.nrows;
		while (cql_row_next(&res, &left, c, 1) == 1) {
			int64_t x;
			assert_int_equal(cql_get_bigint(c[0], &x), 0);
			assert_int_equal(x, expect++);
			rows++;
		}
		psl = res.meta.paging_state ? res.meta.paging_len : 0;
		if (psl)
			memcpy(ps, res.meta.paging_state, psl);
		cql_release(s, hh);
		if (!psl)
			break;
	}
	assert_int_equal(rows, 120);
	assert_int_equal(pages, 4);
	/* server errors: code and message */
	assert_int_equal(q(s, "SELECT * FROM k.nope", &err), J_ERROR);
	assert_non_null(strstr(err.msg, "invalid (0x2200): unconfigured table nope"));
	assert_int_equal(err.code, CQL_E_INVALID);
	assert_int_equal(q(s, "SELEC 1", &err), J_ERROR);
	assert_non_null(strstr(err.msg, "(0x2000)"));
	assert_int_equal(err.code, CQL_E_SYNTAX);
	/* the server restarts on the same port: the connection is lost (RETRY), the next
	 * request reconnects, gets Unprepared (0x2500), re-prepares and runs */
	int port = srv_port;
	stop_server();
	start_server(port, NULL);
	struct cql_req rq = {.prep = sel, .values = &key, .nvalues = 1, .consistency = CQL_ONE};
	int hh;
	assert_int_equal(cql_run(s, &rq, &res, &hh, &err), J_RETRY);
	assert_int_equal(err.code, 0); /* no server answered: no server code */
	assert_int_equal(q(s,
			   "CREATE KEYSPACE k WITH replication = {'class': 'SimpleStrategy', "
			   "'replication_factor': 1}",
			   &err),
			 J_OK);
	assert_int_equal(
	    q(s, "CREATE TABLE k.t (p int, c bigint, v text, PRIMARY KEY ((p), c))", &err), J_OK);
	/* prepared on the old server only: the new one answers Unprepared first */
	err.msg[0] = '\0';
	assert_int_equal(cql_run(s, &rq, &res, &hh, &err), J_OK);
	assert_int_equal(res.nrows, 0);
	cql_release(s, hh);
	cqlb_release(&key);
	cql_sess_close(s);
	stop_server();
}

static void test_timeout_and_auth(void **state)
{
	(void)state;
	if (!srv_path)
		skip();
	struct jerr err = {0};
	int rc;
	/* a listener that never answers: STARTUP times out */
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 4), 0);
	socklen_t sl = sizeof(sa);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	srv_port = ntohs(sa.sin_port);
	struct cql_opts o = {.hosts = "127.0.0.1",
			     .port = srv_port,
			     .connect_ms = 500,
			     .request_ms = 300,
			     .name = "test"};
	struct cql_sess *s = NULL;
	assert_int_equal(cql_sess_open(&o, &s, &err), J_RETRY);
	assert_non_null(strstr(err.msg, "timed out"));
	close(ls);
	/* authentication */
	start_server(0, "u:pw");
	s = open_sess("127.0.0.1", "u", "pw", &err, &rc);
	assert_int_equal(rc, J_OK);
	cql_sess_close(s);
	s = open_sess("127.0.0.1", "u", "nope", &err, &rc);
	assert_int_equal(rc, J_ERROR);
	assert_non_null(strstr(err.msg, "bad credentials (0x0100)"));
	assert_null(strstr(err.msg, "nope")); /* the password is never in a message */
	s = open_sess("127.0.0.1", NULL, NULL, &err, &rc);
	assert_int_equal(rc, J_ERROR);
	assert_non_null(strstr(err.msg, "requires a user name"));
	stop_server();
}

int main(int argc, char **argv)
{
	srv_path = argc > 1 ? argv[1] : NULL;
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_roundtrip),
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_decimal),
	    cmocka_unit_test(test_row_width),
	    cmocka_unit_test(test_option_depth),
	    cmocka_unit_test(test_decimal_scale),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_prepared_and_errors),
	    cmocka_unit_test(test_uuid),
	    cmocka_unit_test_teardown(test_session, stop_server_teardown),
	    cmocka_unit_test_teardown(test_timeout_and_auth, stop_server_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
