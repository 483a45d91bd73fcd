/*
 * cassandra/events.c - the event store on Cassandra, over the native
 * protocol v4 client in src/cql/. Schema: sql/cassandra/events.cql.
 *
 * Ingest writes each event to events_by_bucket, partitioned by (ingest-time
 * bucket, shard) and clustered by a timeuuid made at ingest, and to the
 * original `tracking` table. A re-sent event is stored once: its key
 * (event_id, ts) is claimed first with INSERT ... IF NOT EXISTS on event_keys.
 *
 * The ETL's seq is not stored: it is computed from where a row sits,
 *
 *     seq = bucket_index << 31 | shard << 27 | position
 *
 * where bucket_index counts buckets since 2020-01-01 and position is the row's
 * 1-based place in its partition's timeuuid order. Only buckets that ended
 * more than the settle time ago are read; by then no write can land in them
 * (the settle assumption, design.md item 5), so positions never move, and a
 * cursor (bucket, shard, position) says exactly which rows were read: all of
 * the partitions before, and the first `position` rows of this one.
 * docs/architecture.md ("Cassandra backend") has the whole argument.
 *
 * This file: the ops table, open / close / init, the schema version and
 * stats. The folder's files are listed in internal.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "jobads/banned.h"

extern const char cql_events[];

/* ---- schema ---- */

static int read_schema(struct ev_cass *e, int *version, struct jerr *err)
{
	char q[256];
	struct cql_result res;
	struct cql_cell c[3];
	int h = -1, r;
	*version = 0;
	snprintf(q, sizeof(q), Q_SCHEMA, e->ks);
	struct cql_req rq = {.query = q, .consistency = e->cl};
	r = cql_run(e->sess, &rq, &res, &h, err);
	if (r != J_OK) {
		/* a missing keyspace or table (Invalid) is "no schema here" */
		if (err->code == CQL_E_INVALID) {
			err->msg[0] = '\0';
			err->code = 0;
			return J_OK;
		}
		return r;
	}
	int32_t left = res.nrows;
	int k = cql_row_next(&res, &left, c, 3);
	if (k == 1) {
		int32_t v;
		if (cql_get_int(c[0], &v) == 0)
			*version = v;
		cql_get_bigint(c[1], &e->bucket_ms);
		cql_get_bigint(c[2], &e->created_ms);
	}
	cql_release(e->sess, h);
	if (k < 0)
		return cass_bad_shape(e, "jobads_schema", &res, 3, err);
	return J_OK;
}

static enum jrc ev_cass_init(struct evstore *s, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	struct strbuf sb = {0};
	const char *p = cql_events;
	int r = J_OK;
	/* statements end with ';'; -- comments are dropped; placeholders filled in */
	while (*p && r == J_OK) {
		strbuf_reset(&sb);
		while (*p && *p != ';') {
			if (p[0] == '-' && p[1] == '-') {
				while (*p && *p != '\n')
					p++;
				continue;
			}
			if (strncmp(p, "{keyspace}", 10) == 0) {
				strbuf_addf(&sb, "%s", e->ks);
				p += 10;
			} else if (strncmp(p, "{replication}", 13) == 0) {
				strbuf_addf(&sb, "%s", e->replication);
				p += 13;
			} else {
				strbuf_add(&sb, p, 1);
				p++;
			}
		}
		if (*p == ';')
			p++;
		size_t k = 0;
		while (sb.buf && k < sb.len && (sb.buf[k] == ' ' || sb.buf[k] == '\n'))
			k++;
		if (!sb.buf || k == sb.len)
			continue;
		struct cql_result res;
		int h = -1;
		struct cql_req rq = {.query = sb.buf + k, .consistency = e->cl};
		r = cql_run(e->sess, &rq, &res, &h, err);
		if (r == J_OK)
			cql_release(e->sess, h);
		else
			jerr_prefix(err, "creating the schema");
	}
	strbuf_release(&sb);
	if (r != J_OK)
		return r;
	char q[256];
	struct cql_buf v = {0};
	struct cql_result res;
	int h = -1;
	snprintf(q, sizeof(q), Q_SCHEMA_SET, e->ks);
	cqlv_bigint(&v, e->url_bucket_ms);
	cqlv_bigint(&v, cass_clock_ms(e));
	struct cql_req rq = {.query = q, .values = &v, .nvalues = 2, .consistency = e->cl};
	r = cql_run(e->sess, &rq, &res, &h, err);
	cqlb_release(&v);
	if (r != J_OK) {
		jerr_prefix(err, "writing the schema version");
		return r;
	}
	cql_release(e->sess, h);
	snprintf(q, sizeof(q), Q_SCHEMA_UP, e->ks);
	struct cql_req up = {.query = q, .consistency = e->cl};
	if ((r = cql_run(e->sess, &up, &res, &h, err)) != J_OK) {
		jerr_prefix(err, "upgrading the schema version");
		return r;
	}
	cql_release(e->sess, h);
	int version;
	return read_schema(e, &version, err);
}

static void ev_cass_close(struct evstore *s)
{
	struct ev_cass *e = (struct ev_cass *)s;
	if (!e)
		return;
	if (e->sess && getenv("JOBADS_CQL_STATS")) {
		struct cql_stats st;
		cql_sess_stats(e->sess, &st);
		fprintf(stderr,
			"cql: %" PRId64 " frames out (%" PRId64 " bytes), %" PRId64 " in (%" PRId64
			" bytes); frames encoded in %.3f s, values bound in %.3f s,"
			" rows decoded in %.3f s, waiting on the server %.3f s\n",
			st.frames_out, st.bytes_out, st.frames_in, st.bytes_in, st.encode_s,
			e->bind_s, e->decode_s, st.wait_s);
	}
	cql_sess_close(e->sess);
	free(e->rows);
	strbuf_release(&e->arena);
	free(e->base.name);
	free(e);
}

static enum jrc ev_cass_open(const char *target, enum store_mode mode, struct evstore **out,
			     struct jerr *err)
{
	struct ev_cass *e = xcalloc(1, sizeof(*e));
	struct cass_url u;
	int r, version, init;
	e->base.ops = &evstore_cassandra_ops;
	*out = NULL;
	r = cass_url_parse(target, &u, &e->base.name, err);
	if (r != J_OK)
		goto fail;
	if (u.table[0]) {
		jerr_set(err,
			 "%s: table= names a table to import (jobads ingest URL); an event store "
			 "is a keyspace",
			 e->base.name);
		r = J_ERROR;
		goto fail;
	}
	snprintf(e->ks, sizeof(e->ks), "%s", u.ks);
	snprintf(e->replication, sizeof(e->replication), "%s", u.replication);
	e->cl = u.cl;
	e->settle_ms = u.settle_ms;
	e->url_bucket_ms = u.bucket_ms;
	e->bucket_ms = u.bucket_ms;
	e->write_bound_ms = u.settle_ms / 2;
	struct cql_opts o;
	cass_url_opts(&u, e->base.name, &o);
	r = cql_sess_open(&o, &e->sess, err);
	memset(u.password, 0, sizeof(u.password));
	if (r != J_OK || (r = cass_clock_sync(e, err)) != J_OK)
		goto fail;
	if ((r = read_schema(e, &version, err)) != J_OK ||
	    (r = store_schema_check(e->base.name, "event store", version, SCHEMA_VERSION, mode,
				    &init, err)) != J_OK ||
	    (init && (r = ev_cass_init(&e->base, err)) != J_OK))
		goto fail;
	if (e->bucket_ms <= 0 || e->bucket_ms > 3600000) {
		jerr_set(err, "%s: jobads_schema: bucket_ms %" PRId64 " out of range", e->base.name,
			 e->bucket_ms);
		r = J_ERROR;
		goto fail;
	}
	random_bytes(e->node, sizeof(e->node));
	e->node[0] = (uint8_t)((e->node[0] & 0x3f) | 0x80); /* RFC 4122 variant */
	e->node[2] |= 0x01;				    /* random node: multicast bit */
	e->next_shard = e->node[7] % SHARDS;
	*out = &e->base;
	return J_OK;
fail:
	ev_cass_close(&e->base);
	return r;
}

/* ---- stats ---- */

static int count_row(void *arg, const struct event *ev)
{
	(void)ev;
	(*(int64_t *)arg)++;
	return 0;
}

static enum jrc ev_cass_stats(struct evstore *s, int64_t *max_seq, int64_t *rows, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	int64_t now = cass_clock_ms(e);
	int r = J_OK;
	*max_seq = 0;
	/* the newest listed bucket: every seq is below the start of the one after it */
	for (int64_t day = (now + DAY_MS) / DAY_MS; day >= e->created_ms / DAY_MS - 1; day--) {
		struct cql_buf v = {0};
		struct cql_result res;
		int h = -1;
		cqlv_int(&v, (int32_t)day);
		r = cass_run_request(e, cass_prepared(e, STMT_NEWEST), NULL, &v, 1, 0, NULL, 0,
				     &res, &h, "finding the newest partition", err);
		cqlb_release(&v);
		if (r != J_OK)
			return r;
		struct cql_cell c[1];
		int32_t left = res.nrows;
		int64_t b;
		int k = cql_row_next(&res, &left, c, 1);
		int found = k == 1 && cql_get_bigint(c[0], &b) == 0;
		if (k < 0)
			r = cass_bad_shape(e, "buckets", &res, 1, err);
		cql_release(e->sess, h);
		if (r != J_OK)
			return r;
		if (found) {
			*max_seq = seq_make(e, b + e->bucket_ms, 0, 0);
			break;
		}
	}
	if (rows) {
		*rows = 0;
		struct cass_walk w = {.limit = SIZE_MAX, .stop_seq = INT64_MAX, .all = 1};
		w.fn = count_row;
		w.arg = rows;
		r = cass_walk(e, &w, err);
	}
	return r;
}

const struct evstore_ops evstore_cassandra_ops = {
    .version = EVSTORE_OPS_VERSION,
    .scheme = "cassandra",
    .open = ev_cass_open,
    .close = ev_cass_close,
    .init = ev_cass_init,
    .begin = ev_cass_begin,
    .insert = ev_cass_insert,
    .commit = ev_cass_commit,
    .rollback = ev_cass_rollback,
    .scan = ev_cass_scan,
    .stats = ev_cass_stats,
    .recompute = ev_cass_recompute,
    .prune = ev_cass_prune,
};
