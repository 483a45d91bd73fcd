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
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cql/cql.h"
#include "cassandra.h"
#include "jobads/store.h"
#include "store/keyset.h"

#include "jobads/banned.h"

extern const char cql_events[];

#define EPOCH_MS   1577836800000LL /* 2020-01-01T00:00:00Z */
#define SHARDS	   16
#define POS_BITS   27
#define SHARD_BITS 4
#define POS_MAX	   ((1LL << POS_BITS) - 1)
#define BLOCK	   256 /* rows per ingest block: one partition, one batch */
#define WINDOW	   64  /* requests in flight */
#define PAGE	   5000
#define DAY_MS	   86400000LL

#define Q_CLAIM                                                                                    \
	"INSERT INTO %s.event_keys (event_id, ts, bucket, shard, id) VALUES (?, ?, ?, ?, ?)"       \
	" IF NOT EXISTS"
#define Q_REPOINT                                                                                  \
	"INSERT INTO %s.event_keys (event_id, ts, bucket, shard, id) VALUES (?, ?, ?, ?, ?)"
#define Q_HAS_ROW "SELECT id FROM %s.events_by_bucket WHERE bucket = ? AND shard = ? AND id = ?"
#define COLS_ALL                                                                                   \
	"id, event_id, ts, publisher_id, publisher_name, publisher_traffic, publisher_quality,"    \
	" bid, job_id, campaign_id, industry, location, impressions, clicks, apply_count, cost,"   \
	" quality_score, device, hour, day_of_week"
#define Q_INSERT_ROW                                                                               \
	"INSERT INTO %s.events_by_bucket (bucket, shard, " COLS_ALL ")"                            \
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"               \
	" USING TIMESTAMP ?"
#define Q_INSERT_ORIG                                                                              \
	"INSERT INTO %s.tracking (event_id, ts, publisher_id, publisher_name, publisher_traffic,"  \
	" publisher_quality, bid, job_id, campaign_id, industry, location, impressions, clicks,"   \
	" apply_count, cost, quality_score, device, hour, day_of_week)"                            \
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define Q_INDEX	 "INSERT INTO %s.buckets (day, bucket, shard) VALUES (?, ?, ?)"
#define Q_LIST	 "SELECT bucket, shard FROM %s.buckets WHERE day = ? AND bucket >= ?"
#define Q_NEWEST "SELECT bucket FROM %s.buckets WHERE day = ? ORDER BY bucket DESC LIMIT 1"
#define Q_READ                                                                                     \
	"SELECT " COLS_ALL " FROM %s.events_by_bucket WHERE bucket = ? AND shard = ? AND id > ?"
#define Q_IDS "SELECT id FROM %s.events_by_bucket WHERE bucket = ? AND shard = ?"
#define Q_SCHEMA                                                                                   \
	"SELECT version, bucket_ms, created_ms FROM %s.jobads_schema WHERE store = 'events'"
#define Q_SCHEMA_SET                                                                               \
	"INSERT INTO %s.jobads_schema (store, version, bucket_ms, created_ms)"                     \
	" VALUES ('events', 2, ?, ?) IF NOT EXISTS"
/* version 1 to 2: scan_marks (created by events.cql); bucket and creation time kept */
#define Q_SCHEMA_UP    "INSERT INTO %s.jobads_schema (store, version) VALUES ('events', 2)"
#define SCHEMA_VERSION 2
#define Q_MARK_SET     "INSERT INTO %s.scan_marks (seq, id) VALUES (?, ?)"
/* one relocation of an event from one place, decided once (see relocate_rows) */
#define Q_TICKET                                                                                   \
	"INSERT INTO %s.relocations (event_id, ts, from_id, bucket, shard, id)"                    \
	" VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS"
#define Q_MARK_GET "SELECT id FROM %s.scan_marks WHERE seq = ?"
/*
 * Rows are written with the write timestamp of their id's time, and taken back
 * with that plus 1 µs: the tombstone shadows the row whenever its write lands,
 * even after the DELETE (a write the server reported as timed out, replayed
 * later from a hint), and shadows nothing else (every row has its own id).
 */
#define Q_DELETE_ROW                                                                               \
	"DELETE FROM %s.events_by_bucket USING TIMESTAMP ? WHERE bucket = ? AND shard = ? AND id " \
	"= ?"

enum {
	P_CLAIM,
	P_REPOINT,
	P_HAS_ROW,
	P_INSERT_ROW,
	P_INSERT_ORIG,
	P_INDEX,
	P_LIST,
	P_NEWEST,
	P_READ,
	P_IDS,
	P_MARK_SET,
	P_MARK_GET,
	P_DELETE_ROW,
	P_TICKET,
	P__COUNT
};
static const char *const prep_sql[P__COUNT] = {
    Q_CLAIM,  Q_REPOINT, Q_HAS_ROW, Q_INSERT_ROW, Q_INSERT_ORIG, Q_INDEX,      Q_LIST,
    Q_NEWEST, Q_READ,	 Q_IDS,	    Q_MARK_SET,	  Q_MARK_GET,	 Q_DELETE_ROW, Q_TICKET};

struct pend {
	struct event ev; /* text fields point into the arena (offsets until flush) */
	size_t off[6];
	uint8_t uuid[16], id[16];
	int64_t bucket;
	int shard;
	int dup, relocate;
	int clear_old; /* relocating: this writer clears the old place */
	int keep;      /* relocating: propose the place itself (its writer may be writing it) */
	int64_t old_bucket;
	int old_shard;
	uint8_t old_id[16];
	uint32_t hash;
};

struct ev_cass {
	struct evstore base;
	struct cql_sess *sess;
	struct cql_prep *p[P__COUNT];
	char ks[49];
	char replication[300];
	uint16_t cl;
	int64_t settle_ms, bucket_ms, created_ms, url_bucket_ms;
	/* ingest */
	int in_txn;
	struct pend *rows;
	int nrows;
	struct strbuf arena;
	uint32_t slots[BLOCK * 4];
	int64_t late_dups;
	uint64_t last_ticks;
	uint8_t node[8];
	int next_shard;
	/*
	 * The write bound: a block's rows must be stored within write_bound_ms of
	 * the clock reading that made their ids (half the settle time), so that
	 * no reader has passed their place yet; ids_t is when they were made.
	 */
	int64_t write_bound_ms;
	double ids_t;
	/* the cluster's clock: clock_off_ms added to ours, measured at synced_t */
	int64_t clock_off_ms;
	double synced_t;
	/* JOBADS_CQL_STATS: time spent binding values and decoding rows */
	double bind_s, decode_s;
	/* scan: where the last scan stopped, to resume by key instead of counting */
	int64_t cache_seq;
	uint8_t cache_id[16];
};

static int64_t seq_make(const struct ev_cass *e, int64_t bucket, int shard, int64_t pos)
{
	return ((bucket - EPOCH_MS) / e->bucket_ms) << (POS_BITS + SHARD_BITS) |
	       (int64_t)shard << POS_BITS | pos;
}

static void seq_split(const struct ev_cass *e, int64_t seq, int64_t *bucket, int *shard,
		      int64_t *pos)
{
	*bucket = EPOCH_MS + (seq >> (POS_BITS + SHARD_BITS)) * e->bucket_ms;
	*shard = (int)((seq >> POS_BITS) & (SHARDS - 1));
	*pos = seq & POS_MAX;
}

/* ---- URL ---- */

static int valid_ident(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 48)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return s[0] < '0' || s[0] > '9';
}

static const char *const consistency_names[] = {
    "ANY",	    "ONE",	   "TWO",    "THREE",	     "QUORUM",	 "ALL",
    "LOCAL_QUORUM", "EACH_QUORUM", "SERIAL", "LOCAL_SERIAL", "LOCAL_ONE"};

struct url {
	char user[128], password[256], hosts[512], ks[64];
	int port, connect_ms, request_ms;
	int64_t settle_ms, bucket_ms;
	uint16_t cl;
	char replication[300];
	int tls, verify_host;
	char ca[1024];
};

/* cassandra://[user[:pass]@]host[,host...][:port]/keyspace[?k=v&...] */
static int url_parse(const char *target, struct url *u, char **name, struct jerr *err)
{
	const char *t = target;
	memset(u, 0, sizeof(*u));
	u->port = 9042;
	u->connect_ms = 5000;
	u->request_ms = 12000;
	u->settle_ms = 5000;
	u->bucket_ms = 60000;
	u->cl = CQL_LOCAL_QUORUM;
	u->verify_host = 1;
	snprintf(u->replication, sizeof(u->replication),
		 "{'class': 'SimpleStrategy', 'replication_factor': 1}");
	if (strncmp(t, "//", 2) != 0)
		goto bad;
	t += 2;
	const char *slash = strchr(t, '/');
	const char *end = slash ? slash : t + strlen(t);
	const char *at;
	if (store_url_userinfo_end("cassandra", t, end, &at, err) != STORE_OK) {
		*name = xstrdup("cassandra://...");
		return STORE_ERROR;
	}
	struct strbuf shown = {0};
	strbuf_addf(&shown, "cassandra://");
	if (at) {
		const char *colon = memchr(t, ':', (size_t)(at - t));
		size_t ulen = colon ? (size_t)(colon - t) : (size_t)(at - t);
		if (store_url_unescape("cassandra URL", "the user name", t, ulen, u->user,
				       sizeof(u->user), err) != STORE_OK ||
		    (colon && store_url_unescape("cassandra URL", "the password", colon + 1,
						 (size_t)(at - colon - 1), u->password,
						 sizeof(u->password), err) != STORE_OK)) {
			strbuf_release(&shown);
			*name = xstrdup("cassandra://...");
			return STORE_ERROR;
		}
		strbuf_addf(&shown, "%.*s@", (int)ulen, t);
		t = at + 1;
	}
	const char *pc = NULL;
	for (const char *c = t; c < end; c++)
		if (*c == ':')
			pc = c;
	size_t hlen = pc ? (size_t)(pc - t) : (size_t)(end - t);
	if (hlen == 0 || hlen >= sizeof(u->hosts))
		goto bad_shown;
	memcpy(u->hosts, t, hlen);
	if (memchr(u->hosts, ':', hlen)) { /* host1:9042,host2:9042 */
		strbuf_release(&shown);
		*name = xstrdup("cassandra://...");
		jerr_set(err, "cassandra URL: one port for every host, after the last one"
			      " (cassandra://HOST1,HOST2:PORT/KEYSPACE), not a port per host");
		return STORE_ERROR;
	}
	if (pc) {
		int64_t port;
		if (parse_int64(pc + 1, (size_t)(end - pc - 1), 1, 65535, &port) != 0)
			goto bad_shown;
		u->port = (int)port;
	}
	strbuf_addf(&shown, "%.*s", (int)(end - t), t);
	const char *q = slash ? strchr(slash, '?') : NULL;
	size_t klen = slash ? (q ? (size_t)(q - slash - 1) : strlen(slash + 1)) : 0;
	if (klen == 0)
		snprintf(u->ks, sizeof(u->ks), "job_ads");
	else if (klen < sizeof(u->ks))
		snprintf(u->ks, sizeof(u->ks), "%.*s", (int)klen, slash + 1);
	strbuf_addf(&shown, "/%s", u->ks);
	*name = xstrdup(shown.buf);
	strbuf_release(&shown);
	if (!valid_ident(u->ks)) {
		jerr_set(err, "%s: keyspace: want lowercase letters, digits and _ (at most 48)",
			 *name);
		return STORE_ERROR;
	}
	while (q && *q) {
		q++;
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		if (!eq) {
			jerr_set(err, "%s: parameter '%.*s' has no value", *name, (int)n, q);
			return STORE_ERROR;
		}
		size_t kn = (size_t)(eq - q), vn = n - kn - 1;
		const char *v = eq + 1;
		int64_t x;
#define KEY(s) (kn == strlen(s) && strncmp(q, s, kn) == 0)
		if (KEY("settle") && parse_int64(v, vn, 0, 3600, &x) == 0)
			u->settle_ms = x * 1000;
		else if (KEY("settle_ms") && parse_int64(v, vn, 0, 3600000, &x) == 0)
			u->settle_ms = x;
		else if (KEY("bucket") && parse_int64(v, vn, 1, 3600, &x) == 0)
			u->bucket_ms = x * 1000;
		else if (KEY("connect_timeout") && parse_int64(v, vn, 1, 3600, &x) == 0)
			u->connect_ms = (int)x * 1000;
		else if (KEY("request_timeout") && parse_int64(v, vn, 1, 3600, &x) == 0)
			u->request_ms = (int)x * 1000;
		else if (KEY("replication_factor") && parse_int64(v, vn, 1, 99, &x) == 0)
			snprintf(u->replication, sizeof(u->replication),
				 "{'class': 'SimpleStrategy', 'replication_factor': %d}", (int)x);
		else if (KEY("datacenter")) {
			/* NAME:RF[,NAME:RF]: NetworkTopologyStrategy */
			struct strbuf r = {0};
			strbuf_addf(&r, "{'class': 'NetworkTopologyStrategy'");
			const char *d = v, *dend = v + vn;
			while (d < dend) {
				size_t dn = strcspn(d, ",&");
				if (dn > (size_t)(dend - d))
					dn = (size_t)(dend - d);
				const char *colon = memchr(d, ':', dn);
				if (!colon || parse_int64(colon + 1, (size_t)(d + dn - colon - 1),
							  1, 99, &x) != 0) {
					strbuf_release(&r);
					goto bad_param;
				}
				for (const char *c = d; c < colon; c++)
					if (!((*c >= 'a' && *c <= 'z') ||
					      (*c >= 'A' && *c <= 'Z') ||
					      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')) {
						strbuf_release(&r);
						goto bad_param;
					}
				strbuf_addf(&r, ", '%.*s': %d", (int)(colon - d), d, (int)x);
				d += dn + 1;
			}
			strbuf_addf(&r, "}");
			snprintf(u->replication, sizeof(u->replication), "%s", r.buf);
			strbuf_release(&r);
		} else if (KEY("tls") && parse_int64(v, vn, 0, 1, &x) == 0) {
			u->tls = (int)x;
		} else if (KEY("verify_host") && parse_int64(v, vn, 0, 1, &x) == 0) {
			u->verify_host = (int)x;
		} else if (KEY("ca") && vn > 0) {
			if (store_url_unescape(*name, "ca", v, vn, u->ca, sizeof(u->ca), err) !=
			    STORE_OK)
				return STORE_ERROR;
			u->tls = 1; /* a CA file means TLS */
		} else if (KEY("consistency")) {
			int found = 0;
			for (size_t i = 0;
			     i < sizeof(consistency_names) / sizeof(*consistency_names); i++)
				if (strlen(consistency_names[i]) == vn &&
				    strncasecmp(consistency_names[i], v, vn) == 0) {
					u->cl = (uint16_t)i;
					found = 1;
				}
			if (!found)
				goto bad_param;
		} else {
			goto bad_param;
		}
#undef KEY
		q += n;
		continue;
	bad_param:
		jerr_set(err,
			 "%s: bad parameter '%.*s' (settle=S, settle_ms=MS, bucket=S, "
			 "connect_timeout=S, request_timeout=S, replication_factor=N, "
			 "datacenter=NAME:N[,NAME:N], consistency=LEVEL, tls=0|1, ca=PATH, "
			 "verify_host=0|1)",
			 *name, (int)n, q);
		return STORE_ERROR;
	}
	if (!u->password[0]) {
		const char *pw = getenv("JOBADS_CASSANDRA_PASSWORD");
		if (pw)
			snprintf(u->password, sizeof(u->password), "%s", pw);
	}
	return STORE_OK;
bad_shown:
	strbuf_release(&shown);
bad:
	*name = xstrdup("cassandra://...");
	jerr_set(err,
		 "cassandra URL: want cassandra://[USER[:PASS]@]HOST[,HOST...][:PORT]/KEYSPACE");
	return STORE_ERROR;
}

char *evstore_cassandra_read_query(const char *ks)
{
	struct strbuf q = {0};
	const char *t = Q_READ, *at = strstr(t, "%s");
	strbuf_add(&q, t, (size_t)(at - t));
	strbuf_addf(&q, "%s%s", ks, at + 2);
	return q.buf;
}

/* ---- helpers ---- */

static struct cql_prep *P(struct ev_cass *e, int which)
{
	if (!e->p[which]) {
		/* the statement with its keyspace (checked by the URL parser) in place of %s */
		struct strbuf q = {0};
		const char *t = prep_sql[which], *at = strstr(t, "%s");
		strbuf_add(&q, t, (size_t)(at - t));
		strbuf_addf(&q, "%s%s", e->ks, at + 2);
		e->p[which] = cql_prep_new(e->sess, q.buf);
		strbuf_release(&q);
	}
	return e->p[which];
}

/* Run a statement to completion; the caller releases *h when set. */
static int run1(struct ev_cass *e, struct cql_prep *p, const char *text, struct cql_buf *v, int nv,
		int32_t page, const uint8_t *ps, size_t psl, struct cql_result *res, int *h,
		const char *what, struct jerr *err)
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
	if (r != STORE_OK)
		jerr_prefix(err, "%s", what);
	return r;
}

/* A result that is not rows of the width asked for: the server's protocol error. */
static int bad_shape(struct ev_cass *e, const char *table, const struct cql_result *res, int want,
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
	return STORE_ERROR;
}

/* The index of a named column in a result, or -1. */
static int col_of(const struct cql_result *res, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < res->meta.ncols; i++)
		if (res->meta.cols[i].name_len == n && memcmp(res->meta.cols[i].name, name, n) == 0)
			return i;
	return -1;
}

/* ---- schema ---- */

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

static int64_t clock_ms(const struct ev_cass *e)
{
	return time_now_ms() + e->clock_off_ms;
}

static int sync_clock(struct ev_cass *e, struct jerr *err)
{
	struct cql_result res;
	struct cql_cell c[1];
	int h = -1;
	struct cql_req rq = {.query = "SELECT now() FROM system.local", .consistency = CQL_ONE};
	double t0 = time_mono();
	int64_t before = time_now_ms();
	int r = cql_run(e->sess, &rq, &res, &h, err);
	if (r != STORE_OK) {
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
		return STORE_ERROR;
	}
	/* a slow answer says little about the offset: keep the last one */
	if (t1 - t0 < 0.5 || e->synced_t == 0)
		e->clock_off_ms = cql_timeuuid_ms(id) - before - (after - before) / 2;
	e->synced_t = t1;
	return STORE_OK;
}

static int clock_fresh(struct ev_cass *e, struct jerr *err)
{
	if (time_mono() - e->synced_t < CLOCK_RESYNC_S)
		return STORE_OK;
	return sync_clock(e, err);
}

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
	if (r != STORE_OK) {
		/* a missing keyspace or table is "no schema here" */
		if (strstr(err->msg, "(0x2200)")) {
			err->msg[0] = '\0';
			return STORE_OK;
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
		return bad_shape(e, "jobads_schema", &res, 3, err);
	return STORE_OK;
}

static int ev_cass_init(struct evstore *s, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	struct strbuf sb = {0};
	const char *p = cql_events;
	int r = STORE_OK;
	/* statements end with ';'; -- comments are dropped; placeholders filled in */
	while (*p && r == STORE_OK) {
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
		if (r == STORE_OK)
			cql_release(e->sess, h);
		else
			jerr_prefix(err, "creating the schema");
	}
	strbuf_release(&sb);
	if (r != STORE_OK)
		return r;
	char q[256];
	struct cql_buf v = {0};
	struct cql_result res;
	int h = -1;
	snprintf(q, sizeof(q), Q_SCHEMA_SET, e->ks);
	cqlv_bigint(&v, e->url_bucket_ms);
	cqlv_bigint(&v, clock_ms(e));
	struct cql_req rq = {.query = q, .values = &v, .nvalues = 2, .consistency = e->cl};
	r = cql_run(e->sess, &rq, &res, &h, err);
	cqlb_release(&v);
	if (r != STORE_OK) {
		jerr_prefix(err, "writing the schema version");
		return r;
	}
	cql_release(e->sess, h);
	snprintf(q, sizeof(q), Q_SCHEMA_UP, e->ks);
	struct cql_req up = {.query = q, .consistency = e->cl};
	if ((r = cql_run(e->sess, &up, &res, &h, err)) != STORE_OK) {
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

static int ev_cass_open(const char *target, enum store_mode mode, struct evstore **out,
			struct jerr *err)
{
	struct ev_cass *e = xcalloc(1, sizeof(*e));
	struct url u;
	int r, version, init;
	e->base.ops = &evstore_cassandra_ops;
	*out = NULL;
	r = url_parse(target, &u, &e->base.name, err);
	if (r != STORE_OK)
		goto fail;
	snprintf(e->ks, sizeof(e->ks), "%s", u.ks);
	snprintf(e->replication, sizeof(e->replication), "%s", u.replication);
	e->cl = u.cl;
	e->settle_ms = u.settle_ms;
	e->url_bucket_ms = u.bucket_ms;
	e->bucket_ms = u.bucket_ms;
	e->write_bound_ms = u.settle_ms / 2;
	struct cql_opts o = {
	    .hosts = u.hosts,
	    .port = u.port,
	    .user = u.user,
	    .password = u.password,
	    .connect_ms = u.connect_ms,
	    .request_ms = u.request_ms,
	    .name = e->base.name,
	    .tls = {.on = u.tls, .ca = u.ca[0] ? u.ca : NULL, .verify_host = u.verify_host}};
	r = cql_sess_open(&o, &e->sess, err);
	memset(u.password, 0, sizeof(u.password));
	if (r != STORE_OK || (r = sync_clock(e, err)) != STORE_OK)
		goto fail;
	if ((r = read_schema(e, &version, err)) != STORE_OK ||
	    (r = store_schema_check(e->base.name, "event store", version, SCHEMA_VERSION, mode,
				    &init, err)) != STORE_OK ||
	    (init && (r = ev_cass_init(&e->base, err)) != STORE_OK))
		goto fail;
	if (e->bucket_ms <= 0 || e->bucket_ms > 3600000) {
		jerr_set(err, "%s: jobads_schema: bucket_ms %" PRId64 " out of range", e->base.name,
			 e->bucket_ms);
		r = STORE_ERROR;
		goto fail;
	}
	random_bytes(e->node, sizeof(e->node));
	e->node[0] = (uint8_t)((e->node[0] & 0x3f) | 0x80); /* RFC 4122 variant */
	e->node[2] |= 0x01;				    /* random node: multicast bit */
	e->next_shard = e->node[7] % SHARDS;
	*out = &e->base;
	return STORE_OK;
fail:
	ev_cass_close(&e->base);
	return r;
}

/* ---- ingest ---- */

static int ev_cass_begin(struct evstore *s, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	int r = clock_fresh(e, err);
	if (r != STORE_OK)
		return r;
	if (!e->rows)
		e->rows = xcalloc(BLOCK, sizeof(*e->rows));
	e->nrows = 0;
	strbuf_reset(&e->arena);
	memset(e->slots, 0, sizeof(e->slots));
	e->in_txn = 1;
	e->late_dups = 0;
	s->kept = 0;
	return STORE_OK;
}

/* The keyset's compare: buffered row i has key (ts, id). */
static int pend_same(const void *rows, uint32_t i, int64_t ts, const char *id, uint32_t h)
{
	const struct pend *p = (const struct pend *)rows + i;
	return p->hash == h && p->ev.ts_ms == ts && memcmp(p->ev.event_id, id, EV_UUID_LEN) == 0;
}

static uint32_t *find_slot(struct ev_cass *e, int64_t ts, const char *id, uint32_t h)
{
	return keyset_find(e->slots, BLOCK * 4, e->rows, pend_same, ts, id, h);
}

static void new_id(struct ev_cass *e, uint8_t id[16], int64_t *ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ticks = (uint64_t)ts.tv_sec * 10000000ULL + (uint64_t)ts.tv_nsec / 100 +
			 CQL_TICKS_UNIX_OFFSET + (uint64_t)(e->clock_off_ms * 10000);
	if (ticks <= e->last_ticks)
		ticks = e->last_ticks + 1;
	e->last_ticks = ticks;
	cql_timeuuid_make(id, ticks, e->node);
	*ms = (int64_t)((ticks - CQL_TICKS_UNIX_OFFSET) / 10000);
}

static struct ev_str arena_str(struct ev_cass *e, size_t off, uint32_t n)
{
	struct ev_str s = {n ? e->arena.buf + off : NULL, n};
	return s;
}

static void put_text_or_null(struct cql_buf *v, struct ev_str s)
{
	if (s.n == 0 && !s.s)
		cqlv_null(v);
	else
		cqlv_text(v, s.s, s.n);
}

/* A timeuuid's time in microseconds since the Unix epoch: the row's write timestamp. */
static int64_t id_micros(const uint8_t id[16])
{
	return (int64_t)((cql_timeuuid_ticks(id) - CQL_TICKS_UNIX_OFFSET) / 10);
}

static void bind_row(struct cql_buf *v, const struct pend *p)
{
	const struct event *ev = &p->ev;
	cqlv_bigint(v, p->bucket);
	cqlv_int(v, p->shard);
	cqlv_uuid(v, p->id);
	cqlv_uuid(v, p->uuid);
	cqlv_bigint(v, ev->ts_ms);
	cqlv_int(v, ev->publisher_id);
	cqlv_text(v, ev->publisher_name.s, ev->publisher_name.n);
	put_text_or_null(v, ev->publisher_traffic);
	put_text_or_null(v, ev->publisher_quality);
	if (ev->bid < 0)
		cqlv_null(v);
	else
		cqlv_bigint(v, ev->bid);
	cqlv_int(v, ev->job_id);
	cqlv_int(v, ev->campaign_id);
	cqlv_text(v, ev->industry.s, ev->industry.n);
	cqlv_text(v, ev->location.s, ev->location.n);
	cqlv_bigint(v, ev->impressions);
	cqlv_bigint(v, ev->clicks);
	cqlv_bigint(v, ev->apply_count);
	cqlv_decimal(v, ev->cost_micros, 6);
	cqlv_int(v, ev->quality_score);
	cqlv_text(v, ev->device.s, ev->device.n);
	cqlv_int(v, ev->hour);
	cqlv_int(v, ev->day_of_week);
	cqlv_bigint(v, id_micros(p->id));
}

void evstore_cassandra_bind_row(struct cql_buf *v, const struct event *ev, const uint8_t uuid[16],
				const uint8_t id[16], int64_t bucket, int shard)
{
	struct pend p;
	p.ev = *ev;
	memcpy(p.uuid, uuid, 16);
	memcpy(p.id, id, 16);
	p.bucket = bucket;
	p.shard = shard;
	bind_row(v, &p);
}

static void bind_orig(struct cql_buf *v, const struct pend *p)
{
	const struct event *ev = &p->ev;
	cqlv_uuid(v, p->uuid);
	cqlv_bigint(v, ev->ts_ms);
	cqlv_int(v, ev->publisher_id);
	cqlv_text(v, ev->publisher_name.s, ev->publisher_name.n);
	put_text_or_null(v, ev->publisher_traffic);
	put_text_or_null(v, ev->publisher_quality);
	if (ev->bid < 0)
		cqlv_null(v);
	else
		cqlv_int(v, (int32_t)ev->bid);
	cqlv_int(v, ev->job_id);
	cqlv_int(v, ev->campaign_id);
	cqlv_text(v, ev->industry.s, ev->industry.n);
	cqlv_text(v, ev->location.s, ev->location.n);
	/* the original's int columns; counts are validated <= 1e9 */
	cqlv_int(v, (int32_t)ev->impressions);
	cqlv_int(v, (int32_t)ev->clicks);
	cqlv_int(v, (int32_t)ev->apply_count);
	cqlv_double(v, (double)ev->cost_micros / 1e6);
	cqlv_int(v, ev->quality_score);
	cqlv_text(v, ev->device.s, ev->device.n);
	cqlv_int(v, ev->hour);
	cqlv_int(v, ev->day_of_week);
}

static void bind_key(struct cql_buf *v, const struct pend *p)
{
	cqlv_uuid(v, p->uuid);
	cqlv_bigint(v, p->ev.ts_ms);
	cqlv_bigint(v, p->bucket);
	cqlv_int(v, p->shard);
	cqlv_uuid(v, p->id);
}

/*
 * Pipelined statements over the pending rows: for each row i with sel(i), bind
 * its values, submit, and hand each answer to done(i). At most WINDOW in flight.
 */
typedef int (*sel_fn)(struct ev_cass *e, int i);
typedef int (*bind_fn)(struct ev_cass *e, int i, struct cql_buf *v);
typedef int (*done_fn)(struct ev_cass *e, int i, struct cql_result *res, struct jerr *err);

static int pipeline(struct ev_cass *e, struct cql_prep *p, sel_fn sel, bind_fn bind, done_fn done,
		    const char *what, struct jerr *err)
{
	int handles[WINDOW], idx[WINDOW], head = 0, tail = 0, r = STORE_OK;
	struct cql_buf v = {0};
	int i = 0;
	for (;;) {
		while (r == STORE_OK && i < e->nrows && tail - head < WINDOW) {
			if (!sel(e, i)) {
				i++;
				continue;
			}
			cqlb_reset(&v);
			int nv = bind(e, i, &v);
			struct cql_req rq = {
			    .prep = p, .values = &v, .nvalues = nv, .consistency = e->cl};
			int h;
			r = cql_submit(e->sess, &rq, &h, err);
			if (r != STORE_OK) {
				if (h >= 0)
					cql_release(e->sess, h);
				break;
			}
			handles[tail % WINDOW] = h;
			idx[tail % WINDOW] = i;
			tail++;
			i++;
		}
		if (head == tail)
			break;
		struct cql_result res;
		int h = handles[head % WINDOW];
		int rr = cql_wait(e->sess, h, &res, err);
		if (rr == STORE_OK && r == STORE_OK)
			rr = done(e, idx[head % WINDOW], &res, err);
		cql_release(e->sess, h);
		if (rr != STORE_OK && r == STORE_OK)
			r = rr;
		head++;
	}
	cqlb_release(&v);
	if (r != STORE_OK && !strstr(err->msg, what))
		jerr_prefix(err, "%s", what);
	return r;
}

static int sel_all(struct ev_cass *e, int i)
{
	(void)e;
	(void)i;
	return 1;
}

static int sel_dup_check(struct ev_cass *e, int i)
{
	return e->rows[i].dup == 2; /* claimed before: is its row there? */
}

static int sel_relocate(struct ev_cass *e, int i)
{
	return e->rows[i].relocate;
}

static int bind_claim(struct ev_cass *e, int i, struct cql_buf *v)
{
	bind_key(v, &e->rows[i]);
	return 5;
}

static int done_claim(struct ev_cass *e, int i, struct cql_result *res, struct jerr *err)
{
	struct cql_cell c[CQL_MAX_COLS];
	int32_t left = res->nrows;
	int applied = 1;
	if (res->kind != CQL_RES_ROWS || res->meta.ncols < 1 ||
	    cql_row_next(res, &left, c, res->meta.ncols) != 1 ||
	    cql_get_boolean(c[0], &applied) != 0) {
		jerr_set(err, "%s: event_keys: no [applied] in the answer to IF NOT EXISTS",
			 e->base.name);
		return STORE_ERROR;
	}
	if (applied)
		return STORE_OK;
	/* the key was claimed before: take over its place (bucket, shard, id) */
	struct pend *p = &e->rows[i];
	int cb = col_of(res, "bucket"), cs = col_of(res, "shard"), ci = col_of(res, "id");
	int32_t shard;
	if (cb < 0 || cs < 0 || ci < 0 || cql_get_bigint(c[cb], &p->bucket) != 0 ||
	    cql_get_int(c[cs], &shard) != 0 || cql_get_uuid(c[ci], p->id) != 0) {
		jerr_set(err, "%s: event_keys: a claimed key without its place", e->base.name);
		return STORE_ERROR;
	}
	p->shard = shard;
	p->dup = 2;
	return STORE_OK;
}

static int bind_has_row(struct ev_cass *e, int i, struct cql_buf *v)
{
	cqlv_bigint(v, e->rows[i].bucket);
	cqlv_int(v, e->rows[i].shard);
	cqlv_uuid(v, e->rows[i].id);
	return 3;
}

static int done_has_row(struct ev_cass *e, int i, struct cql_result *res, struct jerr *err)
{
	struct pend *p = &e->rows[i];
	(void)err;
	if (res->kind == CQL_RES_ROWS && res->nrows > 0) {
		p->dup = 1; /* stored before: a re-sent event */
		e->late_dups++;
		return STORE_OK;
	}
	/*
	 * Claimed (or moved there) but not stored: the writer that chose the place
	 * died before writing it, is writing it now, or its write failed and it
	 * took the place back. Which of these is decided once, by a ticket
	 * (relocate_rows): younger than the write bound, the proposal is to keep
	 * the place (its writer may be writing it: the same id, one copy); older,
	 * a new place. Whoever proposed first decides for every writer.
	 */
	p->dup = 0;
	p->relocate = 1;
	p->keep = e->write_bound_ms > 0 && cql_timeuuid_ms(p->id) + e->write_bound_ms > clock_ms(e);
	return STORE_OK;
}

static int done_ok(struct ev_cass *e, int i, struct cql_result *res, struct jerr *err)
{
	(void)e;
	(void)i;
	(void)res;
	(void)err;
	return STORE_OK;
}

/* The ticket for moving row i from its place to a new one made here. */
static int bind_ticket(struct ev_cass *e, int i, struct cql_buf *v)
{
	struct pend *p = &e->rows[i];
	p->old_bucket = p->bucket;
	p->old_shard = p->shard;
	memcpy(p->old_id, p->id, 16);
	if (!p->keep) {
		int64_t ms;
		new_id(e, p->id, &ms);
		p->bucket = ms - ((ms - EPOCH_MS) % e->bucket_ms);
		p->shard = e->rows[0].shard;
	}
	cqlv_uuid(v, p->uuid);
	cqlv_bigint(v, p->ev.ts_ms);
	cqlv_uuid(v, p->old_id);
	cqlv_bigint(v, p->bucket);
	cqlv_int(v, p->shard);
	cqlv_uuid(v, p->id);
	return 6;
}

static int done_ticket(struct ev_cass *e, int i, struct cql_result *res, struct jerr *err)
{
	struct cql_cell c[CQL_MAX_COLS];
	int32_t left = res->nrows;
	int applied = 1;
	struct pend *p = &e->rows[i];
	if (res->kind != CQL_RES_ROWS || res->meta.ncols < 1 ||
	    cql_row_next(res, &left, c, res->meta.ncols) != 1 ||
	    cql_get_boolean(c[0], &applied) != 0) {
		jerr_set(err, "%s: relocations: no [applied] in the answer to IF NOT EXISTS",
			 e->base.name);
		return STORE_ERROR;
	}
	p->clear_old = applied && !p->keep;
	if (applied)
		return STORE_OK;
	/* another writer moved it first: the same new place for everyone */
	int cb = col_of(res, "bucket"), cs = col_of(res, "shard"), ci = col_of(res, "id");
	int32_t shard;
	if (cb < 0 || cs < 0 || ci < 0 || cql_get_bigint(c[cb], &p->bucket) != 0 ||
	    cql_get_int(c[cs], &shard) != 0 || cql_get_uuid(c[ci], p->id) != 0) {
		jerr_set(err, "%s: relocations: a ticket without its place", e->base.name);
		return STORE_ERROR;
	}
	p->shard = shard;
	p->dup = 2; /* is the row at that place? */
	return STORE_OK;
}

static int sel_clear_old(struct ev_cass *e, int i)
{
	return e->rows[i].relocate && e->rows[i].clear_old;
}

static int bind_old_place(struct ev_cass *e, int i, struct cql_buf *v)
{
	struct pend *p = &e->rows[i];
	cqlv_bigint(v, id_micros(p->old_id) + 1);
	cqlv_bigint(v, p->old_bucket);
	cqlv_int(v, p->old_shard);
	cqlv_uuid(v, p->old_id);
	return 4;
}

static int bind_key_only(struct ev_cass *e, int i, struct cql_buf *v)
{
	bind_key(v, &e->rows[i]);
	return 5;
}

/*
 * Move the rows marked relocate to new places. Several writers may move the
 * same event at once (a re-sent batch while the first is still running, two
 * re-sends, a writer taking back a slow write): each move from a place is
 * decided once, by the first INSERT ... IF NOT EXISTS of its ticket in
 * `relocations`; the others take the place it names, so every writer writes
 * the same row (the same id) and one copy remains. The winner clears the old
 * place with a tombstone above that row's write timestamp, so whatever lands
 * there, now or later, is shadowed. A place taken from another writer's
 * ticket is checked like a claimed one (dup 2): stored there already, the
 * event is a duplicate; not stored and older than the bound, it is moved on.
 */
static int relocate_rows(struct ev_cass *e, struct jerr *err)
{
	int r = STORE_OK;
	for (int hop = 0;; hop++) {
		int any = 0;
		for (int i = 0; i < e->nrows; i++)
			any |= e->rows[i].relocate;
		if (!any)
			return STORE_OK;
		if (hop == 3) {
			jerr_set(err,
				 "%s: an event was moved three times by other writers at once;"
				 " send the batch again",
				 e->base.name);
			return STORE_RETRY;
		}
		if ((r = pipeline(e, P(e, P_TICKET), sel_relocate, bind_ticket, done_ticket,
				  "moving an event", err)) != STORE_OK ||
		    (r = pipeline(e, P(e, P_DELETE_ROW), sel_clear_old, bind_old_place, done_ok,
				  "clearing an old place", err)) != STORE_OK ||
		    (r = pipeline(e, P(e, P_REPOINT), sel_relocate, bind_key_only, done_ok,
				  "moving a claim", err)) != STORE_OK)
			return r;
		for (int i = 0; i < e->nrows; i++)
			e->rows[i].relocate = e->rows[i].clear_old = e->rows[i].keep = 0;
		if ((r = pipeline(e, P(e, P_HAS_ROW), sel_dup_check, bind_has_row, done_has_row,
				  "checking a moved event", err)) != STORE_OK)
			return r;
	}
}

/* Send the index rows, then one unlogged batch per partition, then the original rows. */
static int write_rows(struct ev_cass *e, struct jerr *err)
{
	int r = STORE_OK;
	struct cql_buf *vals = xcalloc(BLOCK, sizeof(*vals));
	struct cql_prep **stmts = xcalloc(BLOCK, sizeof(*stmts));
	int *nv = xcalloc(BLOCK, sizeof(*nv));
	char *done = xcalloc((size_t)e->nrows, 1);
	/* index rows first: a partition is listed before it has rows */
	for (int i = 0; i < e->nrows && r == STORE_OK; i++) {
		struct pend *p = &e->rows[i];
		if (p->dup)
			continue;
		int seen = 0;
		for (int k = 0; k < i && !seen; k++)
			seen = !e->rows[k].dup && e->rows[k].bucket == p->bucket &&
			       e->rows[k].shard == p->shard;
		if (seen)
			continue;
		struct cql_buf v = {0};
		struct cql_result res;
		int h = -1;
		cqlv_int(&v, (int32_t)(p->bucket / DAY_MS));
		cqlv_bigint(&v, p->bucket);
		cqlv_int(&v, p->shard);
		r = run1(e, P(e, P_INDEX), NULL, &v, 3, 0, NULL, 0, &res, &h, "listing a partition",
			 err);
		if (h >= 0)
			cql_release(e->sess, h);
		cqlb_release(&v);
	}
	/* one batch per partition, pipelined */
	int handles[WINDOW], nh = 0;
	for (int i = 0; i < e->nrows && r == STORE_OK; i++) {
		if (e->rows[i].dup || done[i])
			continue;
		int n = 0;
		for (int k = i; k < e->nrows; k++) {
			struct pend *p = &e->rows[k];
			if (p->dup || done[k] || p->bucket != e->rows[i].bucket ||
			    p->shard != e->rows[i].shard)
				continue;
			double tb = time_mono();
			cqlb_reset(&vals[n]);
			bind_row(&vals[n], p);
			e->bind_s += time_mono() - tb;
			stmts[n] = P(e, P_INSERT_ROW);
			nv[n] = 23;
			n++;
			done[k] = 1;
		}
		int h;
		r = cql_batch_submit(e->sess, stmts, vals, nv, n, e->cl, &h, err);
		if (r == STORE_OK)
			handles[nh++] = h;
		if (nh == WINDOW || r != STORE_OK) {
			for (int k = 0; k < nh; k++) {
				struct cql_result res;
				int rr = cql_wait(e->sess, handles[k], &res, err);
				cql_release(e->sess, handles[k]);
				if (rr != STORE_OK && r == STORE_OK)
					r = rr;
			}
			nh = 0;
		}
	}
	/* the original table: every row is its own partition; batches of rows */
	int n = 0;
	for (int i = 0; i <= e->nrows && r == STORE_OK; i++) {
		if (i < e->nrows && !e->rows[i].dup) {
			double tb = time_mono();
			cqlb_reset(&vals[n]);
			bind_orig(&vals[n], &e->rows[i]);
			e->bind_s += time_mono() - tb;
			stmts[n] = P(e, P_INSERT_ORIG);
			nv[n] = 19;
			n++;
		}
		if ((i == e->nrows && n > 0) || n == 64) {
			int h;
			r = cql_batch_submit(e->sess, stmts, vals, nv, n, e->cl, &h, err);
			if (r == STORE_OK)
				handles[nh++] = h;
			n = 0;
		}
	}
	for (int k = 0; k < nh; k++) {
		struct cql_result res;
		int rr = cql_wait(e->sess, handles[k], &res, err);
		cql_release(e->sess, handles[k]);
		if (rr != STORE_OK && r == STORE_OK)
			r = rr;
	}
	if (r != STORE_OK && !strstr(err->msg, "storing events"))
		jerr_prefix(err, "storing events");
	for (int i = 0; i < BLOCK; i++)
		cqlb_release(&vals[i]);
	free(vals);
	free(stmts);
	free(nv);
	free(done);
	return r;
}

static int flush(struct ev_cass *e, struct jerr *err)
{
	int r;
	if (e->nrows == 0)
		return STORE_OK;
	/* text views into the arena, now that it no longer moves */
	for (int i = 0; i < e->nrows; i++) {
		struct pend *p = &e->rows[i];
		p->ev.publisher_name = arena_str(e, p->off[0], p->ev.publisher_name.n);
		p->ev.publisher_traffic = arena_str(e, p->off[1], p->ev.publisher_traffic.n);
		p->ev.publisher_quality = arena_str(e, p->off[2], p->ev.publisher_quality.n);
		p->ev.industry = arena_str(e, p->off[3], p->ev.industry.n);
		p->ev.location = arena_str(e, p->off[4], p->ev.location.n);
		p->ev.device = arena_str(e, p->off[5], p->ev.device.n);
	}
	/* a place for each row: one shard per block, the bucket of its id's time */
	int shard = e->next_shard;
	e->next_shard = (e->next_shard + 1) % SHARDS;
	e->ids_t = time_mono();
	for (int i = 0; i < e->nrows; i++) {
		struct pend *p = &e->rows[i];
		int64_t ms;
		new_id(e, p->id, &ms);
		p->bucket = ms - ((ms - EPOCH_MS) % e->bucket_ms);
		p->shard = shard;
		p->dup = p->relocate = 0;
	}
	if ((r = pipeline(e, P(e, P_CLAIM), sel_all, bind_claim, done_claim, "claiming event keys",
			  err)) != STORE_OK)
		return r;
	if ((r = pipeline(e, P(e, P_HAS_ROW), sel_dup_check, bind_has_row, done_has_row,
			  "checking claimed keys", err)) != STORE_OK)
		return r;
	if ((r = relocate_rows(e, err)) != STORE_OK)
		return r;
	/*
	 * The write bound (see struct ev_cass): the claim rounds may have taken a
	 * good part of it (each request may take up to the request timeout), so
	 * ids older than half the bound are made again, and their claims moved,
	 * before any row is written. A write that still took longer than the
	 * bound may have landed after a reader passed its place: its rows are
	 * taken back and written again at new places, at most three times.
	 */
	for (int attempt = 0;; attempt++) {
		double bound_s = (double)e->write_bound_ms / 1000;
		if (e->write_bound_ms > 0 && time_mono() - e->ids_t > bound_s / 2) {
			for (int i = 0; i < e->nrows; i++)
				e->rows[i].relocate = !e->rows[i].dup;
			e->ids_t = time_mono();
			if ((r = relocate_rows(e, err)) != STORE_OK)
				return r;
		}
		r = write_rows(e, err);
		double took = time_mono() - e->ids_t;
		if (r == STORE_RETRY) {
			/*
			 * A write that failed may still land (a write timeout is
			 * replayed from a hint): the tombstones shadow it whenever it
			 * does, so a re-sent batch, which relocates these rows, leaves
			 * one copy. Best effort: the connection may be gone.
			 */
			struct jerr e2 = {0};
			for (int i = 0; i < e->nrows; i++)
				e->rows[i].relocate = !e->rows[i].dup;
			relocate_rows(e, &e2);
			break;
		}
		if (r != STORE_OK || e->write_bound_ms == 0 || took <= bound_s)
			break;
		/* taken back through tickets, which also give the new places */
		for (int i = 0; i < e->nrows; i++)
			e->rows[i].relocate = !e->rows[i].dup;
		int rr = relocate_rows(e, err);
		if (rr != STORE_OK)
			return rr;
		if (attempt == 2) {
			jerr_set(err,
				 "%s: storing events: three writes took longer than the bound of"
				 " %" PRId64
				 " ms (half the settle time), the last %.0f ms; the rows"
				 " were taken back, send the batch again",
				 e->base.name, e->write_bound_ms, took * 1000);
			r = STORE_RETRY;
			break;
		}
		e->ids_t = time_mono();
	}
	/* no transaction: a block written is stored for good, whatever follows (evstore.kept) */
	for (int i = 0; i < e->nrows && r == STORE_OK; i++)
		e->base.kept += !e->rows[i].dup;
	e->nrows = 0;
	strbuf_reset(&e->arena);
	memset(e->slots, 0, sizeof(e->slots));
	return r;
}

static size_t arena_add(struct ev_cass *e, struct ev_str v)
{
	size_t off = e->arena.len;
	if (v.n)
		strbuf_add(&e->arena, v.s, v.n);
	return off;
}

static int ev_cass_insert(struct evstore *s, const struct event *ev, int *dup, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	if (!e->in_txn) {
		jerr_set(err, "%s: insert outside a batch (begin first)", s->name);
		return STORE_ERROR;
	}
	uint32_t h = keyset_hash(ev->ts_ms, ev->event_id);
	uint32_t *slot = find_slot(e, ev->ts_ms, ev->event_id, h);
	if (*slot) {
		*dup = 1;
		return STORE_OK;
	}
	struct pend *p = &e->rows[e->nrows];
	memset(p, 0, sizeof(*p));
	p->ev = *ev;
	p->hash = h;
	if (uuid_from_text(ev->event_id, EV_UUID_LEN, p->uuid) != 0) {
		jerr_set(err, "%s: event_id: not a UUID: '%s'", s->name, ev->event_id);
		return STORE_ERROR;
	}
	p->off[0] = arena_add(e, ev->publisher_name);
	p->off[1] = arena_add(e, ev->publisher_traffic);
	p->off[2] = arena_add(e, ev->publisher_quality);
	p->off[3] = arena_add(e, ev->industry);
	p->off[4] = arena_add(e, ev->location);
	p->off[5] = arena_add(e, ev->device);
	*slot = (uint32_t)++e->nrows;
	*dup = 0;
	if (e->nrows == BLOCK)
		return flush(e, err);
	return STORE_OK;
}

static int ev_cass_commit(struct evstore *s, int64_t *late_dups, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	int r = flush(e, err);
	*late_dups = r == STORE_OK ? e->late_dups : 0;
	e->nrows = 0;
	e->in_txn = 0;
	e->late_dups = 0;
	return r;
}

static void ev_cass_rollback(struct evstore *s)
{
	struct ev_cass *e = (struct ev_cass *)s;
	/* rows already sent stay: a re-sent batch counts them once (event_keys) */
	e->nrows = 0;
	e->in_txn = 0;
	e->late_dups = 0;
}

/* ---- reading ---- */

struct walk {
	int64_t after;
	size_t limit;
	int64_t stop_seq; /* emit nothing past this seq */
	/* recompute: in the partition of stop_seq, stop at the row with this id instead */
	int stop_by_id, stop_found;
	uint8_t stop_id[16];
	int all;      /* every partition, settled or not (tools and tests) */
	int remember; /* a scan: keep the last row's id to resume from it */
	ev_row_fn fn;
	void *arg;
	size_t n;
	int64_t upto;
	int stop;
	int done;
	double decode_s;
};

/* Decode one row of Q_READ's columns into ev; texts point into the response. */
static int decode_row(struct ev_cass *e, const struct cql_cell *c, struct event *ev, uint8_t id[16],
		      struct jerr *err)
{
	return evstore_cassandra_decode_row(e->base.name, c, ev, id, err);
}

int evstore_cassandra_decode_row(const char *name, const struct cql_cell *c, struct event *ev,
				 uint8_t id[16], struct jerr *err)
{
	uint8_t u[16];
	int32_t i32;
	if (cql_get_uuid(c[0], id) != 0 || cql_get_uuid(c[1], u) != 0 ||
	    cql_get_bigint(c[2], &ev->ts_ms) != 0 || cql_get_int(c[3], &ev->publisher_id) != 0 ||
	    cql_get_int(c[8], &ev->job_id) != 0 || cql_get_int(c[9], &ev->campaign_id) != 0 ||
	    cql_get_bigint(c[12], &ev->impressions) != 0 ||
	    cql_get_bigint(c[13], &ev->clicks) != 0 ||
	    cql_get_bigint(c[14], &ev->apply_count) != 0 ||
	    cql_get_decimal_scaled(c[15], 6, &ev->cost_micros) != 0 ||
	    cql_get_int(c[16], &ev->quality_score) != 0 || c[4].len < 0 || c[10].len < 0 ||
	    c[11].len < 0 || c[17].len < 0) {
		jerr_set(err, "%s: events_by_bucket: a row with a missing or malformed field",
			 name);
		return STORE_ERROR;
	}
	uuid_to_text(u, ev->event_id);
#define TXT(k)                                                                                     \
	((struct ev_str){c[k].len > 0 ? (const char *)c[k].p : "",                                 \
			 c[k].len > 0 ? (uint32_t)c[k].len : 0})
	ev->publisher_name = TXT(4);
	ev->publisher_traffic = TXT(5);
	ev->publisher_quality = TXT(6);
	ev->industry = TXT(10);
	ev->location = TXT(11);
	ev->device = TXT(17);
#undef TXT
	if (c[7].len < 0 || cql_get_bigint(c[7], &ev->bid) != 0)
		ev->bid = -1;
	ev->hour = cql_get_int(c[18], &i32) == 0 ? (int8_t)i32 : 0;
	ev->day_of_week = cql_get_int(c[19], &i32) == 0 ? (int8_t)i32 : 0;
	return STORE_OK;
}

/* The id at 1-based position pos of a partition (pos >= 1), by reading ids. */
static int id_at(struct ev_cass *e, int64_t bucket, int shard, int64_t pos, uint8_t id[16],
		 struct jerr *err)
{
	struct cql_buf v = {0};
	uint8_t *ps = NULL;
	size_t psl = 0;
	int64_t seen = 0;
	int r = STORE_OK, found = 0;
	for (;;) {
		struct cql_result res;
		int h = -1;
		cqlb_reset(&v);
		cqlv_bigint(&v, bucket);
		cqlv_int(&v, shard);
		r = run1(e, P(e, P_IDS), NULL, &v, 2, PAGE, ps, psl, &res, &h,
			 "finding the cursor's row", err);
		if (r != STORE_OK)
			break;
		struct cql_cell c[1];
		int32_t left = res.nrows;
		int k;
		while ((k = cql_row_next(&res, &left, c, 1)) == 1)
			if (++seen == pos) {
				found = cql_get_uuid(c[0], id) == 0;
				break;
			}
		if (k < 0) {
			r = bad_shape(e, "events_by_bucket", &res, 1, err);
			cql_release(e->sess, h);
			break;
		}
		free(ps);
		ps = NULL;
		if (!found && res.meta.paging_state) {
			psl = res.meta.paging_len;
			ps = xmalloc(psl);
			memcpy(ps, res.meta.paging_state, psl);
		}
		cql_release(e->sess, h);
		if (found || !ps)
			break;
	}
	free(ps);
	cqlb_release(&v);
	if (r == STORE_OK && !found) {
		jerr_set(err,
			 "%s: the cursor points at row %" PRId64 " of partition (%" PRId64
			 ", %d), which has %" PRId64 " rows: rows were deleted or written after"
			 " the settle time",
			 e->base.name, pos, bucket, shard, seen);
		r = STORE_ERROR;
	}
	return r;
}

/*
 * The id of the row a scan returned as `upto` = seq, from scan_marks; *found
 * 0 when there is none (a cursor written before schema version 2).
 */
static int mark_get(struct ev_cass *e, int64_t seq, uint8_t id[16], int *found, struct jerr *err)
{
	struct cql_buf v = {0};
	struct cql_result res;
	int h = -1;
	*found = 0;
	cqlv_bigint(&v, seq);
	int r = run1(e, P(e, P_MARK_GET), NULL, &v, 1, 0, NULL, 0, &res, &h,
		     "reading the cursor's mark", err);
	cqlb_release(&v);
	if (r != STORE_OK)
		return r;
	struct cql_cell c[1];
	int32_t left = res.nrows;
	int k = cql_row_next(&res, &left, c, 1);
	if (k == 1 && cql_get_uuid(c[0], id) == 0)
		*found = 1;
	else if (k < 0)
		r = bad_shape(e, "scan_marks", &res, 1, err);
	cql_release(e->sess, h);
	return r;
}

static int mark_set(struct ev_cass *e, int64_t seq, const uint8_t id[16], struct jerr *err)
{
	struct cql_buf v = {0};
	struct cql_result res;
	int h = -1;
	cqlv_bigint(&v, seq);
	cqlv_uuid(&v, id);
	int r = run1(e, P(e, P_MARK_SET), NULL, &v, 2, 0, NULL, 0, &res, &h,
		     "writing the cursor's mark", err);
	if (h >= 0)
		cql_release(e->sess, h);
	cqlb_release(&v);
	return r;
}

/*
 * Where to resume inside a partition after the cursor `after`: after the id
 * of the row that the scan returned as `after` (remembered in this process,
 * else from scan_marks), never at a position, which a row that appeared
 * later in the partition would shift. Only a cursor older than scan_marks is
 * found by position, once (the way schema version 1 did).
 */
static int resume_id(struct ev_cass *e, int64_t after, int64_t bucket, int shard, int64_t skip,
		     uint8_t from[16], struct jerr *err)
{
	int found, r;
	if (after == e->cache_seq && e->cache_seq != 0) {
		memcpy(from, e->cache_id, 16);
		return STORE_OK;
	}
	if ((r = mark_get(e, after, from, &found, err)) != STORE_OK || found)
		return r;
	return id_at(e, bucket, shard, skip, from, err);
}

/* Read one partition from position skip (rows 1..skip already read). */
static int read_part(struct ev_cass *e, struct walk *w, int64_t bucket, int shard, int64_t skip,
		     struct jerr *err)
{
	uint8_t from[16];
	int r;
	int stop_here = 0;
	if (w->stop_by_id) {
		int64_t sb, sp;
		int ss;
		seq_split(e, w->stop_seq, &sb, &ss, &sp);
		stop_here = sb == bucket && ss == shard;
	}
	if (skip > 0) {
		if ((r = resume_id(e, w->after, bucket, shard, skip, from, err)) != STORE_OK)
			return r;
	} else {
		static const uint8_t low[8] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};
		cql_timeuuid_make(from, 0, low); /* before every real id */
	}
	struct cql_buf v = {0};
	cqlv_bigint(&v, bucket);
	cqlv_int(&v, shard);
	cqlv_uuid(&v, from);
	int64_t pos = skip;
	uint8_t id[16];
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	/*
	 * Pages are fetched one ahead: the next page's request is sent as soon as
	 * this page's paging state is known, then this page is decoded.
	 */
	int h = -1, hn = -1;
	struct cql_req rq = {.prep = P(e, P_READ),
			     .values = &v,
			     .nvalues = 3,
			     .consistency = e->cl,
			     .page_size = PAGE};
	size_t want = w->limit - w->n;
	if (want < PAGE)
		rq.page_size = (int32_t)want + 1;
	r = cql_submit(e->sess, &rq, &h, err);
	while (r == STORE_OK) {
		struct cql_result res;
		r = cql_wait(e->sess, h, &res, err);
		if (r != STORE_OK)
			break;
		if (res.kind != CQL_RES_ROWS || res.meta.ncols != 20) {
			jerr_set(err, "%s: events_by_bucket: unexpected result shape",
				 e->base.name);
			r = STORE_ERROR;
			break;
		}
		if (res.meta.paging_state && w->n + (size_t)res.nrows < w->limit) {
			struct cql_req nx = rq;
			nx.paging_state = res.meta.paging_state;
			nx.paging_len = res.meta.paging_len;
			r = cql_submit(e->sess, &nx, &hn, err);
			if (r != STORE_OK)
				break;
		}
		struct cql_cell c[20];
		int32_t left = res.nrows;
		double t0 = time_mono();
		int k;
		while ((k = cql_row_next(&res, &left, c, 20)) == 1) {
			if ((r = decode_row(e, c, &ev, id, err)) != STORE_OK)
				break;
			if (++pos > POS_MAX) {
				jerr_set(err,
					 "%s: partition (%" PRId64
					 ", %d) holds more than %lld rows",
					 e->base.name, bucket, shard, POS_MAX);
				r = STORE_ERROR;
				break;
			}
			ev.seq = seq_make(e, bucket, shard, pos);
			if (stop_here && memcmp(id, w->stop_id, 16) == 0) {
				/* the cursor's row, at whatever position it now has */
				w->stop_found = 1;
				ev.seq = w->stop_seq;
			} else if (ev.seq > w->stop_seq && !stop_here) {
				w->done = 1;
				break;
			}
			w->n++;
			w->upto = ev.seq;
			if (w->remember) {
				memcpy(e->cache_id, id, 16);
				e->cache_seq = ev.seq;
			}
			if ((w->stop = w->fn(w->arg, &ev)) != 0 || w->n >= w->limit ||
			    ev.seq == w->stop_seq || w->stop_found) {
				w->done = 1;
				break;
			}
		}
		if (k < 0 && r == STORE_OK)
			r = bad_shape(e, "events_by_bucket", &res, 20, err);
		w->decode_s += time_mono() - t0;
		e->decode_s += time_mono() - t0;
		cql_release(e->sess, h);
		h = hn;
		hn = -1;
		if (r != STORE_OK || w->done || h < 0)
			break;
	}
	if (h >= 0) {
		struct cql_result res;
		cql_wait(e->sess, h, &res, err);
		cql_release(e->sess, h);
	}
	cqlb_release(&v);
	if (r != STORE_OK && !strstr(err->msg, "reading events"))
		jerr_prefix(err, "reading events");
	return r;
}

struct part_ref {
	int64_t bucket;
	int shard;
};

/* The partitions listed for one day with bucket >= from, in order. */
static int list_day(struct ev_cass *e, int64_t day, int64_t from, struct part_ref **out, size_t *n,
		    struct jerr *err)
{
	struct cql_buf v = {0};
	uint8_t *ps = NULL;
	size_t psl = 0, cap = 0;
	int r;
	*n = 0;
	*out = NULL;
	for (;;) {
		struct cql_result res;
		int h = -1;
		cqlb_reset(&v);
		cqlv_int(&v, (int32_t)day);
		cqlv_bigint(&v, from);
		r = run1(e, P(e, P_LIST), NULL, &v, 2, PAGE, ps, psl, &res, &h,
			 "listing partitions", err);
		free(ps);
		ps = NULL;
		if (r != STORE_OK)
			break;
		struct cql_cell c[2];
		int32_t left = res.nrows;
		int k;
		while ((k = cql_row_next(&res, &left, c, 2)) == 1) {
			int64_t b;
			int32_t s;
			if (cql_get_bigint(c[0], &b) != 0 || cql_get_int(c[1], &s) != 0 || s < 0 ||
			    s >= SHARDS)
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				*out = xrealloc(*out, cap * sizeof(**out));
			}
			(*out)[*n].bucket = b;
			(*out)[(*n)++].shard = s;
		}
		if (k < 0) {
			r = bad_shape(e, "buckets", &res, 2, err);
			cql_release(e->sess, h);
			break;
		}
		if (res.meta.paging_state) {
			psl = res.meta.paging_len;
			ps = xmalloc(psl);
			memcpy(ps, res.meta.paging_state, psl);
		}
		cql_release(e->sess, h);
		if (!ps)
			break;
	}
	free(ps);
	cqlb_release(&v);
	return r;
}

static int walk(struct ev_cass *e, struct walk *w, struct jerr *err)
{
	int64_t cb = e->created_ms - (e->created_ms - EPOCH_MS) % e->bucket_ms, cp = 0;
	int cs = -1;
	if (w->after > 0)
		seq_split(e, w->after, &cb, &cs, &cp);
	w->upto = w->after;
	int r = clock_fresh(e, err);
	if (r != STORE_OK)
		return r;
	int64_t now = clock_ms(e);
	int64_t horizon = now - e->settle_ms; /* a bucket ending by then is settled */
	int64_t last_day = (w->all ? now + DAY_MS : horizon) / DAY_MS;
	for (int64_t day = cb / DAY_MS; day <= last_day && !w->done && r == STORE_OK; day++) {
		struct part_ref *parts;
		size_t np;
		if ((r = list_day(e, day, cb, &parts, &np, err)) != STORE_OK)
			break;
		for (size_t i = 0; i < np && !w->done && r == STORE_OK; i++) {
			struct part_ref *p = &parts[i];
			if (p->bucket < cb || (p->bucket == cb && p->shard < cs))
				continue;
			int64_t end = p->bucket + e->bucket_ms;
			if (!w->all && end > horizon) {
				/*
				 * Not settled. With settle 0 (tests, one writer) a short bucket
				 * is waited for: the run then reads what was stored before it.
				 */
				if (e->settle_ms == 0 && end - clock_ms(e) <= 2000) {
					while (clock_ms(e) < end) {
						struct timespec ts = {0, 20 * 1000000L};
						nanosleep(&ts, NULL);
					}
					horizon = end;
				} else {
					w->done = 1;
					break;
				}
			}
			int64_t skip = p->bucket == cb && p->shard == cs ? cp : 0;
			r = read_part(e, w, p->bucket, p->shard, skip, err);
		}
		free(parts);
	}
	return r;
}

static int ev_cass_scan(struct evstore *s, int64_t after, size_t limit, ev_row_fn fn, void *arg,
			size_t *nread, int64_t *upto, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	struct walk w = {.after = after,
			 .limit = limit,
			 .stop_seq = INT64_MAX,
			 .remember = 1,
			 .fn = fn,
			 .arg = arg};
	*nread = 0;
	*upto = after;
	if (limit == 0)
		return STORE_OK;
	int r = walk(e, &w, err);
	/* the id of the row at upto, for the process that resumes from it */
	if (r == STORE_OK && !w.stop && w.n > 0 && w.upto == e->cache_seq)
		r = mark_set(e, w.upto, e->cache_id, err);
	*nread = r == STORE_OK ? w.n : 0;
	*upto = r == STORE_OK ? w.upto : after;
	return w.stop ? w.stop : r;
}

int evstore_cassandra_walk_all(struct evstore *s, ev_row_fn fn, void *arg, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	struct walk w = {.limit = SIZE_MAX, .stop_seq = INT64_MAX, .all = 1, .fn = fn, .arg = arg};
	int r = walk(e, &w, err);
	return w.stop ? w.stop : r;
}

static int count_row(void *arg, const struct event *ev)
{
	(void)ev;
	(*(int64_t *)arg)++;
	return 0;
}

static int ev_cass_stats(struct evstore *s, int64_t *max_seq, int64_t *rows, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	int64_t now = clock_ms(e);
	int r = STORE_OK;
	*max_seq = 0;
	/* the newest listed bucket: every seq is below the start of the one after it */
	for (int64_t day = (now + DAY_MS) / DAY_MS; day >= e->created_ms / DAY_MS - 1; day--) {
		struct cql_buf v = {0};
		struct cql_result res;
		int h = -1;
		cqlv_int(&v, (int32_t)day);
		r = run1(e, P(e, P_NEWEST), NULL, &v, 1, 0, NULL, 0, &res, &h,
			 "finding the newest partition", err);
		cqlb_release(&v);
		if (r != STORE_OK)
			return r;
		struct cql_cell c[1];
		int32_t left = res.nrows;
		int64_t b;
		int k = cql_row_next(&res, &left, c, 1);
		int found = k == 1 && cql_get_bigint(c[0], &b) == 0;
		if (k < 0)
			r = bad_shape(e, "buckets", &res, 1, err);
		cql_release(e->sess, h);
		if (r != STORE_OK)
			return r;
		if (found) {
			*max_seq = seq_make(e, b + e->bucket_ms, 0, 0);
			break;
		}
	}
	if (rows) {
		*rows = 0;
		struct walk w = {.limit = SIZE_MAX, .stop_seq = INT64_MAX, .all = 1};
		w.fn = count_row;
		w.arg = rows;
		r = walk(e, &w, err);
	}
	return r;
}

/*
 * recompute: the rows with seq <= upto, aggregated here at the fact grain with
 * a hash table of its own (not agg.c), then sorted bytewise. Cassandra has no
 * GROUP BY over arbitrary columns, so the store's "own" aggregation is this
 * independent one over the rows as Cassandra returns them.
 */
struct rgroup {
	struct fact_row f;
	char *text; /* industry, location, device back to back */
};

struct rc_ctx {
	struct rgroup *g;
	size_t n, cap;
	uint32_t *slots;
	size_t nslots;
};

static uint64_t grain_hash(const struct event *ev)
{
	uint64_t h = 1469598103934665603ULL;
	int64_t hs = ev->ts_ms / 3600000;
	h = (h ^ (uint64_t)hs) * 1099511628211ULL;
	h = (h ^ (uint32_t)ev->campaign_id) * 1099511628211ULL;
	h = (h ^ (uint32_t)ev->publisher_id) * 1099511628211ULL;
	const struct ev_str *t[3] = {&ev->industry, &ev->location, &ev->device};
	for (int k = 0; k < 3; k++) {
		for (uint32_t i = 0; i < t[k]->n; i++)
			h = (h ^ (unsigned char)t[k]->s[i]) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

static int str_eq(struct ev_str a, struct ev_str b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.s, b.s, a.n) == 0);
}

static int rc_add(void *arg, const struct event *ev)
{
	struct rc_ctx *x = arg;
	int64_t hs = (ev->ts_ms / 3600000) * 3600;
	if (ev->ts_ms < 0)
		hs = ((ev->ts_ms - 3599999) / 3600000) * 3600;
	if (x->n * 2 >= x->nslots) {
		size_t ns = x->nslots ? x->nslots * 2 : 4096;
		free(x->slots);
		x->slots = xcalloc(ns, sizeof(uint32_t));
		x->nslots = ns;
		for (size_t i = 0; i < x->n; i++) {
			struct event t;
			memset(&t, 0, sizeof(t));
			t.ts_ms = x->g[i].f.hour_start * 1000;
			t.campaign_id = x->g[i].f.campaign_id;
			t.publisher_id = x->g[i].f.publisher_id;
			t.industry = x->g[i].f.industry;
			t.location = x->g[i].f.location;
			t.device = x->g[i].f.device;
			size_t j = grain_hash(&t) & (ns - 1);
			while (x->slots[j])
				j = (j + 1) & (ns - 1);
			x->slots[j] = (uint32_t)(i + 1);
		}
	}
	size_t j = grain_hash(ev) & (x->nslots - 1);
	struct rgroup *g = NULL;
	while (x->slots[j]) {
		struct rgroup *c = &x->g[x->slots[j] - 1];
		if (c->f.hour_start == hs && c->f.campaign_id == ev->campaign_id &&
		    c->f.publisher_id == ev->publisher_id && str_eq(c->f.industry, ev->industry) &&
		    str_eq(c->f.location, ev->location) && str_eq(c->f.device, ev->device)) {
			g = c;
			break;
		}
		j = (j + 1) & (x->nslots - 1);
	}
	if (!g) {
		if (x->n == x->cap) {
			x->cap = x->cap ? x->cap * 2 : 1024;
			x->g = xrealloc(x->g, x->cap * sizeof(*x->g));
		}
		g = &x->g[x->n++];
		memset(g, 0, sizeof(*g));
		size_t tl = (size_t)ev->industry.n + ev->location.n + ev->device.n;
		g->text = xmalloc(tl + 1);
		memcpy(g->text, ev->industry.s, ev->industry.n);
		memcpy(g->text + ev->industry.n, ev->location.s, ev->location.n);
		memcpy(g->text + ev->industry.n + ev->location.n, ev->device.s, ev->device.n);
		g->f.hour_start = hs;
		g->f.campaign_id = ev->campaign_id;
		g->f.publisher_id = ev->publisher_id;
		g->f.industry = (struct ev_str){g->text, ev->industry.n};
		g->f.location = (struct ev_str){g->text + ev->industry.n, ev->location.n};
		g->f.device =
		    (struct ev_str){g->text + ev->industry.n + ev->location.n, ev->device.n};
		x->slots[j] = (uint32_t)x->n;
	}
	struct kpi_sums *m = &g->f.m;
	double cost = (double)ev->cost_micros / 1e6;
	m->records++;
	m->impressions += ev->impressions;
	m->clicks += ev->clicks;
	m->applies += ev->apply_count;
	m->cost_micros += ev->cost_micros;
	m->quality_sum += ev->quality_score;
	m->ctr_sum += ev->impressions > 0 ? (double)ev->clicks / (double)ev->impressions : 0;
	m->cpc_sum += ev->clicks > 0 ? cost / (double)ev->clicks : 0;
	m->cpa_sum += ev->apply_count > 0 ? cost / (double)ev->apply_count : 0;
	m->roi_sum += ev->cost_micros > 0 ? (double)ev->apply_count / cost : 0;
	return 0;
}

static int str_cmp(struct ev_str a, struct ev_str b)
{
	uint32_t n = a.n < b.n ? a.n : b.n;
	int c = n ? memcmp(a.s, b.s, n) : 0;
	if (c)
		return c;
	return (a.n > b.n) - (a.n < b.n);
}

static int grain_cmp(const void *pa, const void *pb)
{
	const struct fact_row *a = &((const struct rgroup *)pa)->f,
			      *b = &((const struct rgroup *)pb)->f;
	if (a->hour_start != b->hour_start)
		return a->hour_start < b->hour_start ? -1 : 1;
	if (a->campaign_id != b->campaign_id)
		return a->campaign_id < b->campaign_id ? -1 : 1;
	if (a->publisher_id != b->publisher_id)
		return a->publisher_id < b->publisher_id ? -1 : 1;
	int c;
	if ((c = str_cmp(a->industry, b->industry)) != 0)
		return c;
	if ((c = str_cmp(a->location, b->location)) != 0)
		return c;
	return str_cmp(a->device, b->device);
}

static int ev_cass_recompute(struct evstore *s, int64_t upto, fact_row_fn fn, void *arg,
			     struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	struct rc_ctx x;
	memset(&x, 0, sizeof(x));
	int r = STORE_OK;
	if (upto > 0) {
		struct walk w = {
		    .limit = SIZE_MAX, .stop_seq = upto, .all = 1, .fn = rc_add, .arg = &x};
		/* the rows the cursor covers: up to its row by id (scan_marks), else by position */
		r = mark_get(e, upto, w.stop_id, &w.stop_by_id, err);
		if (r == STORE_OK)
			r = walk(e, &w, err);
		if (r == STORE_OK && w.stop_by_id && !w.stop_found) {
			jerr_set(err,
				 "%s: the cursor (%" PRId64
				 ") names a row that is not stored in its"
				 " partition",
				 s->name, upto);
			r = STORE_ERROR;
		} else if (r == STORE_OK && !w.stop_by_id && w.upto != upto) {
			jerr_set(err,
				 "%s: the cursor (%" PRId64 ") is not a stored row (the last row at"
				 " or before it is %" PRId64 ")",
				 s->name, upto, w.upto);
			r = STORE_ERROR;
		}
	}
	if (r == STORE_OK && x.n > 0) { /* nothing read (cursor 0): x.g is NULL, no qsort */
		qsort(x.g, x.n, sizeof(*x.g), grain_cmp);
		for (size_t i = 0; i < x.n; i++)
			if ((r = fn(arg, &x.g[i].f)) != 0)
				break;
	}
	for (size_t i = 0; i < x.n; i++)
		free(x.g[i].text);
	free(x.g);
	free(x.slots);
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
};

/* ---- for tests: a row that appears late ---- */

struct first_row {
	struct event ev;
	char text[6][256];
};

static int keep_first(void *arg, const struct event *ev)
{
	struct first_row *f = arg;
	f->ev = *ev;
	struct ev_str *t[6] = {&f->ev.publisher_name,	 &f->ev.publisher_traffic,
			       &f->ev.publisher_quality, &f->ev.industry,
			       &f->ev.location,		 &f->ev.device};
	for (int k = 0; k < 6; k++) {
		uint32_t n = t[k]->n < 255 ? t[k]->n : 255;
		memcpy(f->text[k], t[k]->s ? t[k]->s : "", n);
		t[k]->s = f->text[k];
		t[k]->n = n;
	}
	return 1;
}

int evstore_cassandra_insert_late(struct evstore *s, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	struct first_row f;
	memset(&f, 0, sizeof(f));
	struct walk w = {.limit = 1,
			 .stop_seq = INT64_MAX,
			 .all = 1,
			 .remember = 1,
			 .fn = keep_first,
			 .arg = &f};
	int r = walk(e, &w, err);
	if (r != STORE_OK)
		return r;
	if (w.n == 0) {
		jerr_set(err, "%s: no row stored", s->name);
		return STORE_ERROR;
	}
	int64_t bucket, pos;
	int shard;
	seq_split(e, e->cache_seq, &bucket, &shard, &pos);
	uint8_t id[16], uuid[16];
	cql_timeuuid_make(id, cql_timeuuid_ticks(e->cache_id) - 1, e->cache_id + 8);
	random_bytes(uuid, sizeof(uuid));
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
	struct pend p;
	memset(&p, 0, sizeof(p));
	p.ev = f.ev;
	memcpy(p.uuid, uuid, 16);
	memcpy(p.id, id, 16);
	p.bucket = bucket;
	p.shard = shard;
	struct cql_buf v = {0};
	struct cql_result res;
	int h = -1;
	bind_row(&v, &p);
	r = run1(e, P(e, P_INSERT_ROW), NULL, &v, 23, 0, NULL, 0, &res, &h, "inserting a late row",
		 err);
	if (h >= 0)
		cql_release(e->sess, h);
	cqlb_release(&v);
	e->cache_seq = 0;
	return r;
}
