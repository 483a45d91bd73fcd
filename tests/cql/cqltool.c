/*
 * cqltool.c - what the tests need to look at a cassandra:// event store the
 * way they look at SQLite files:
 *
 *   cqltool dump URL FILE.db   copy every stored row, with its seq, into the
 *                              table `tracking` of a new SQLite file (the
 *                              columns of sql/sqlite/events.sql), so the
 *                              tests' SQL runs on it unchanged
 *   cqltool newest URL         print the seq of the newest stored row (0: none)
 *   cqltool late URL           store a copy of the first stored row just before it,
 *                              as a write that lands late would (new event_id)
 *   cqltool drop URL           drop every keyspace named KEYSPACE_* (URL's keyspace
 *                              as the prefix): a test's keyspaces from an earlier run
 *                              on a real node that outlives the test
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql/cql.h"
#include "jobads/util.h"
#include "store/cassandra/cassandra.h"
#include "store/cassandra/internal.h"

#include "jobads/banned.h"

struct dump {
	sqlite3_stmt *ins;
	int64_t newest;
	int failed;
};

static void bind_text(sqlite3_stmt *st, int i, struct ev_str s, int null_if_empty)
{
	if (null_if_empty && s.n == 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s.n ? s.s : "", (int)s.n, SQLITE_TRANSIENT);
}

static int on_row(void *arg, const struct event *ev)
{
	struct dump *d = arg;
	d->newest = ev->seq;
	if (!d->ins)
		return 0;
	sqlite3_stmt *st = d->ins;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, ev->seq);
	sqlite3_bind_text(st, 2, ev->event_id, EV_UUID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, ev->ts_ms);
	sqlite3_bind_int(st, 4, ev->publisher_id);
	bind_text(st, 5, ev->publisher_name, 0);
	bind_text(st, 6, ev->publisher_traffic, 1);
	bind_text(st, 7, ev->publisher_quality, 1);
	if (ev->bid < 0)
		sqlite3_bind_null(st, 8);
	else
		sqlite3_bind_int64(st, 8, ev->bid);
	sqlite3_bind_int(st, 9, ev->job_id);
	sqlite3_bind_int(st, 10, ev->campaign_id);
	bind_text(st, 11, ev->industry, 0);
	bind_text(st, 12, ev->location, 0);
	sqlite3_bind_int64(st, 13, ev->impressions);
	sqlite3_bind_int64(st, 14, ev->clicks);
	sqlite3_bind_int64(st, 15, ev->apply_count);
	sqlite3_bind_int64(st, 16, ev->cost_micros);
	sqlite3_bind_int(st, 17, ev->quality_score);
	bind_text(st, 18, ev->device, 0);
	sqlite3_bind_int(st, 19, ev->hour);
	sqlite3_bind_int(st, 20, ev->day_of_week);
	if (sqlite3_step(st) != SQLITE_DONE) {
		fprintf(stderr, "cqltool: %s\n", sqlite3_errmsg(sqlite3_db_handle(st)));
		d->failed = 1;
		return 1;
	}
	return 0;
}

static int drop_prefixed(const char *url)
{
	struct cass_url u;
	struct cql_opts o;
	struct cql_sess *s = NULL;
	struct cql_result res;
	struct jerr err;
	char *shown = NULL, (*names)[64] = NULL;
	int h = -1, n = 0, rc = 1;
	if (cass_url_parse(url + strlen("cassandra:"), &u, &shown, &err) != J_OK)
		goto out;
	cass_url_opts(&u, shown, &o);
	int r = cql_sess_open(&o, &s, &err);
	memset(u.password, 0, sizeof(u.password));
	if (r != J_OK)
		goto out;
	struct cql_req rq = {.query = "SELECT keyspace_name FROM system_schema.keyspaces",
			     .consistency = CQL_ONE};
	if (cql_run(s, &rq, &res, &h, &err) != J_OK)
		goto out;
	/* the names first: the response is released before the next request */
	names = xcalloc(res.nrows > 0 ? (size_t)res.nrows : 1, sizeof(*names));
	size_t pl = strlen(u.ks);
	int32_t left = res.nrows;
	struct cql_cell c[1];
	while (cql_row_next(&res, &left, c, 1) == 1)
		if (c[0].len > (int32_t)pl && c[0].len < 64 && memcmp(c[0].p, u.ks, pl) == 0 &&
		    c[0].p[pl] == '_') {
			memcpy(names[n], c[0].p, (size_t)c[0].len);
			names[n++][c[0].len] = 0;
		}
	cql_release(s, h);
	h = -1;
	rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		char q[128];
		snprintf(q, sizeof(q), "DROP KEYSPACE IF EXISTS \"%s\"", names[i]);
		struct cql_req d = {.query = q, .consistency = CQL_ONE};
		if (cql_run(s, &d, &res, &h, &err) != J_OK)
			rc = 1;
		if (h >= 0)
			cql_release(s, h);
		h = -1;
	}
	if (rc == 0)
		goto done;
out:
	fprintf(stderr, "cqltool: %s\n", err.msg);
done:
	if (s) {
		if (h >= 0)
			cql_release(s, h);
		cql_sess_close(s);
	}
	free(names);
	free(shown);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "drop") == 0 && strncmp(argv[2], "cassandra:", 10) == 0)
		return drop_prefixed(argv[2]);
	struct evstore *s;
	struct jerr err;
	struct dump d;
	sqlite3 *db = NULL;
	memset(&d, 0, sizeof(d));
	if (argc < 3 || (strcmp(argv[1], "dump") == 0 && argc != 4) ||
	    (strcmp(argv[1], "dump") != 0 && argc != 3) ||
	    (strcmp(argv[1], "dump") != 0 && strcmp(argv[1], "newest") != 0 &&
	     strcmp(argv[1], "late") != 0)) {
		fprintf(stderr,
			"usage: cqltool dump URL FILE.db | cqltool newest URL | cqltool late URL | "
			"cqltool drop URL\n");
		return 2;
	}
	if (strncmp(argv[2], "cassandra:", 10) != 0) {
		fprintf(stderr, "cqltool: %s: not a cassandra:// URL\n", argv[2]);
		return 2;
	}
	if (evstore_open(argv[2], STORE_OPEN_EXISTING, &s, &err) != J_OK) {
		fprintf(stderr, "cqltool: %s\n", err.msg);
		return 1;
	}
	if (strcmp(argv[1], "late") == 0) {
		int r = evstore_cassandra_insert_late(s, &err);
		if (r != J_OK)
			fprintf(stderr, "cqltool: %s\n", err.msg);
		evstore_close(s);
		return r == J_OK ? 0 : 1;
	}
	if (argc == 4) {
		remove(argv[3]);
		if (sqlite3_open(argv[3], &db) != SQLITE_OK ||
		    sqlite3_exec(
			db,
			"PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN;"
			"CREATE TABLE tracking (seq INTEGER PRIMARY KEY, event_id TEXT, ts "
			"INTEGER, publisher_id INTEGER, publisher_name TEXT, publisher_traffic "
			"TEXT, publisher_quality TEXT, bid INTEGER, job_id INTEGER, campaign_id "
			"INTEGER, industry TEXT, location TEXT, impressions INTEGER, clicks "
			"INTEGER, apply_count INTEGER, cost_micros INTEGER, quality_score "
			"INTEGER, device TEXT, hour INTEGER, day_of_week INTEGER)",
			NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(
			db, "INSERT INTO tracking VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			-1, &d.ins, NULL) != SQLITE_OK) {
			fprintf(stderr, "cqltool: %s: %s\n", argv[3], sqlite3_errmsg(db));
			return 1;
		}
	}
	int r = evstore_cassandra_walk_all(s, on_row, &d, &err);
	evstore_close(s);
	if (r != J_OK && !d.failed)
		fprintf(stderr, "cqltool: %s\n", err.msg);
	if (db) {
		sqlite3_finalize(d.ins);
		if (r == J_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "cqltool: %s: %s\n", argv[3], sqlite3_errmsg(db));
			r = J_ERROR;
		}
		sqlite3_close(db);
	} else if (r == J_OK) {
		printf("%" PRId64 "\n", d.newest);
	}
	return r == J_OK ? 0 : 1;
}
