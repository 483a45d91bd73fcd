/*
 * cassandra/request.c - what every file of the cassandra event store sends its
 * requests with: the prepared statements by id, one request run to its answer
 * (with the step it belongs to named once), the shape check of an answer, and
 * the cluster's clock that ids, the write bound and the settle horizon use.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "jobads/banned.h"

static const char *const stmt_sql[STMT__COUNT] = {
    Q_CLAIM,  Q_REPOINT, Q_HAS_ROW, Q_INSERT_ROW, Q_INSERT_ORIG, Q_INDEX,      Q_LIST,
    Q_NEWEST, Q_READ,	 Q_IDS,	    Q_MARK_SET,	  Q_MARK_GET,	 Q_DELETE_ROW, Q_TICKET};

/* ---- requests ---- */

char *cass_with_keyspace(const char *tmpl, const char *ks)
{
	struct strbuf q = {0};
	const char *at = strstr(tmpl, "%s");
	strbuf_add(&q, tmpl, (size_t)(at - tmpl));
	strbuf_addf(&q, "%s%s", ks, at + 2);
	return q.buf;
}

char *evstore_cassandra_read_query(const char *ks)
{
	return cass_with_keyspace(Q_READ, ks);
}

struct cql_prep *cass_prepared(struct ev_cass *e, enum cass_stmt which)
{
	if (!e->prep[which]) {
		char *q = cass_with_keyspace(stmt_sql[which], e->ks);
		e->prep[which] = cql_prep_new(e->sess, q);
		free(q);
	}
	return e->prep[which];
}

int cass_run_request(struct ev_cass *e, struct cql_prep *p, const char *text, struct cql_buf *v,
		     int nv, int32_t page, const uint8_t *ps, size_t psl, struct cql_result *res,
		     int *h, const char *what, struct jerr *err)
{
	struct cql_req rq = {.prep = p,
			     .query = text,
			     .values = v,
			     .nvalues = nv,
			     .consistency = e->cl,
			     .page_size = page,
			     .paging_state = ps,
			     .paging_len = psl};
	int r = cql_run(e->sess, &rq, res, h, err);
	if (r != J_OK)
		jerr_prefix(err, "%s", what);
	return r;
}

int cass_bad_shape(struct ev_cass *e, const char *table, const struct cql_result *res, int want,
		   struct jerr *err)
{
	if (res->kind != CQL_RES_ROWS)
		jerr_set(err, "%s: %s: %s: protocol error: result kind %d where rows were expected",
			 e->base.name, cql_sess_host(e->sess), table, res->kind);
	else if (res->meta.ncols != want)
		jerr_set(err,
			 "%s: %s: %s: protocol error: rows of %d columns where %d were expected",
			 e->base.name, cql_sess_host(e->sess), table, res->meta.ncols, want);
	else
		jerr_set(err, "%s: %s: %s: protocol error: a malformed row", e->base.name,
			 cql_sess_host(e->sess), table);
	return J_ERROR;
}

int cass_col_of(const struct cql_result *res, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < res->meta.ncols; i++)
		if (res->meta.cols[i].name_len == n && memcmp(res->meta.cols[i].name, name, n) == 0)
			return i;
	return -1;
}

/* ---- the cluster's clock ---- */

/*
 * One clock for every writer and reader: the coordinator's. Ids are timeuuids
 * and the ETL reads a bucket once it ended settle_ms ago; a writer whose clock
 * is behind the ETL host's by more than the write bound would make ids in
 * buckets already read, and its rows would never be counted. So ids, the
 * write bound and the settle horizon all use our clock plus the offset to the
 * coordinator's (SELECT now() FROM system.local, against the middle of the
 * request), measured at open and again when a minute old.
 */
#define CLOCK_RESYNC_S 60.0

int64_t cass_clock_ms(const struct ev_cass *e)
{
	return time_now_ms() + e->clock_off_ms;
}

int cass_clock_sync(struct ev_cass *e, struct jerr *err)
{
	struct cql_result res;
	struct cql_cell c[1];
	int h = -1;
	struct cql_req rq = {.query = "SELECT now() FROM system.local", .consistency = CQL_ONE};
	double t0 = time_mono();
	int64_t before = time_now_ms();
	int r = cql_run(e->sess, &rq, &res, &h, err);
	if (r != J_OK) {
		jerr_prefix(err, "reading the cluster's clock");
		return r;
	}
	int64_t after = time_now_ms();
	double t1 = time_mono();
	int32_t left = res.nrows;
	uint8_t id[16];
	int k = cql_row_next(&res, &left, c, 1);
	int got = k == 1 && cql_get_uuid(c[0], id) == 0 && (id[6] >> 4) == 1;
	cql_release(e->sess, h);
	if (!got) {
		jerr_set(err, "%s: reading the cluster's clock: system.local gave no timeuuid",
			 e->base.name);
		return J_ERROR;
	}
	/* a slow answer says little about the offset: keep the last one */
	if (t1 - t0 < 0.5 || e->synced_t == 0)
		e->clock_off_ms = cql_timeuuid_ms(id) - before - (after - before) / 2;
	e->synced_t = t1;
	return J_OK;
}

int cass_clock_fresh(struct ev_cass *e, struct jerr *err)
{
	if (time_mono() - e->synced_t < CLOCK_RESYNC_S)
		return J_OK;
	return cass_clock_sync(e, err);
}
