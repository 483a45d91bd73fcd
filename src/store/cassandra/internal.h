/*
 * cassandra/internal.h - what the files of the Cassandra event store share,
 * and nothing a caller outside this folder may use (that is cassandra.h):
 *
 *   events.c    the ops table, open / close / init, the schema, stats
 *   request.c   the request helpers below and the cluster's clock
 *   url.c       the URL and its parameters
 *   write.c     ingest: begin / insert / commit, claims, relocation, writes
 *   scan.c      reading in seq order: the ETL's scan, the cursor's marks
 *   recompute.c verify's GROUP BY of its own
 *   rowcodec.c  a CQL row to struct event and back
 *
 * Errors carry context at three levels, each added once: the CQL client
 * (src/cql/) names the store and the host, and for a server error its code
 * (in err->code too) and message; the request helpers (cass_run_request,
 * the write pipeline) name the step ("claiming event keys"); the phase names
 * what the step was for, "storing events" (write.c, cass_store_block) or
 * "reading events" (scan.c, cass_walk). Errors are classified by err->code,
 * never by their text.
 */
#ifndef JOBADS_CASSANDRA_INTERNAL_H
#define JOBADS_CASSANDRA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cql/cql.h"
#include "jobads/store.h"
#include "cassandra.h"

#define EPOCH_MS   1577836800000LL /* 2020-01-01T00:00:00Z */
#define SHARDS	   16
#define POS_BITS   27
#define SHARD_BITS 4
#define POS_MAX	   ((1LL << POS_BITS) - 1)
#define BLOCK	   256 /* rows per ingest block: one partition, one batch */
#define WINDOW	   64  /* requests in flight */
#define PAGE	   5000
#define DAY_MS	   86400000LL

/* ---- the statements, with %s for the keyspace (checked by the URL parser) ---- */

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
/* one relocation of an event from one place, decided once (see relocate_rows in write.c) */
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

/* The statements prepared once per store (cass_prepared), in the order of cass_stmt_sql. */
enum cass_stmt {
	STMT_CLAIM,
	STMT_REPOINT,
	STMT_HAS_ROW,
	STMT_INSERT_ROW,
	STMT_INSERT_ORIG,
	STMT_INDEX,
	STMT_LIST,
	STMT_NEWEST,
	STMT_READ,
	STMT_IDS,
	STMT_MARK_SET,
	STMT_MARK_GET,
	STMT_DELETE_ROW,
	STMT_TICKET,
	STMT__COUNT
};

/* ---- the store ---- */

/* A row of the ingest block, waiting for its write (write.c). */
struct pend {
	struct event ev; /* text fields point into the arena (offsets until the block is stored) */
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
	struct cql_prep *prep[STMT__COUNT];
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

/* seq = bucket_index << 31 | shard << 27 | position (events.c's header says why) */
static inline int64_t seq_make(const struct ev_cass *e, int64_t bucket, int shard, int64_t pos)
{
	return ((bucket - EPOCH_MS) / e->bucket_ms) << (POS_BITS + SHARD_BITS) |
	       (int64_t)shard << POS_BITS | pos;
}

static inline void seq_split(const struct ev_cass *e, int64_t seq, int64_t *bucket, int *shard,
			     int64_t *pos)
{
	*bucket = EPOCH_MS + (seq >> (POS_BITS + SHARD_BITS)) * e->bucket_ms;
	*shard = (int)((seq >> POS_BITS) & (SHARDS - 1));
	*pos = seq & POS_MAX;
}

/* ---- url.c ---- */

struct cass_url {
	char user[128], password[256], hosts[512], ks[64];
	int port, connect_ms, request_ms;
	int64_t settle_ms, bucket_ms;
	uint16_t cl;
	char replication[300];
	int tls, verify_host;
	char ca[1024];
	char table[64]; /* table=NAME: a table to import (source.c); "" for the event store */
};

/*
 * Parse the part of a cassandra:// URL after the scheme. *name gets the URL as
 * it may be printed (no password; caller frees), also on failure.
 */
int cass_url_parse(const char *target, struct cass_url *u, char **name, struct jerr *err);
/* The session options of a parsed URL (views into u, which must outlive o). */
void cass_url_opts(const struct cass_url *u, const char *name, struct cql_opts *o);

/* ---- request.c: requests, the clock ---- */

/* A statement template with its %s replaced by the keyspace (caller frees). */
char *cass_with_keyspace(const char *tmpl, const char *ks);
/* The prepared statement `which`, made on first use (prepared by the session when run). */
struct cql_prep *cass_prepared(struct ev_cass *e, enum cass_stmt which);
/*
 * Run one request (prepared p, or the text) to completion, prefixing a failure
 * with what; the caller releases *h when it is set (>= 0).
 */
int cass_run_request(struct ev_cass *e, struct cql_prep *p, const char *text, struct cql_buf *v,
		     int nv, int32_t page, const uint8_t *ps, size_t psl, struct cql_result *res,
		     int *h, const char *what, struct jerr *err);
/* A result that is not rows of the width asked for: the server's protocol error. */
int cass_bad_shape(struct ev_cass *e, const char *table, const struct cql_result *res, int want,
		   struct jerr *err);
/* The index of a named column in a result, or -1. */
int cass_col_of(const struct cql_result *res, const char *name);
/* The cluster's clock in ms since the epoch, and its offset measured again when stale. */
int64_t cass_clock_ms(const struct ev_cass *e);
int cass_clock_fresh(struct ev_cass *e, struct jerr *err);
/* Measure the offset to the coordinator's clock now (at open). */
int cass_clock_sync(struct ev_cass *e, struct jerr *err);

/* ---- rowcodec.c ---- */

/* A timeuuid's time in microseconds since the Unix epoch: the row's write timestamp. */
int64_t cass_id_micros(const uint8_t id[16]);
/* The 23 values of Q_INSERT_ROW, the 19 of Q_INSERT_ORIG, the 5 of Q_CLAIM / Q_REPOINT. */
void cass_bind_row(struct cql_buf *v, const struct pend *p);
void cass_bind_orig(struct cql_buf *v, const struct pend *p);
void cass_bind_key(struct cql_buf *v, const struct pend *p);

/* ---- write.c ---- */

enum jrc ev_cass_begin(struct evstore *s, struct jerr *err);
enum jrc ev_cass_insert(struct evstore *s, const struct event *ev, int *dup, struct jerr *err);
enum jrc ev_cass_commit(struct evstore *s, int64_t *late_dups, struct jerr *err);
void ev_cass_rollback(struct evstore *s);

/* ---- scan.c ---- */

/* One reading of the partitions in seq order, and what it found. */
struct cass_walk {
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

/* Read the rows after w->after, in seq order, handing each to w->fn. */
int cass_walk(struct ev_cass *e, struct cass_walk *w, struct jerr *err);
/*
 * The id of the row a scan returned as `upto` = seq, from scan_marks; *found
 * 0 when there is none (a cursor written before schema version 2).
 */
int cass_mark_get(struct ev_cass *e, int64_t seq, uint8_t id[16], int *found, struct jerr *err);
enum jrc ev_cass_scan(struct evstore *s, int64_t after, size_t limit, ev_row_fn fn, void *arg,
		      size_t *nread, int64_t *upto, struct jerr *err);

/* retention (jobads prune, issue 16): whole partitions before the cursor's */
enum jrc ev_cass_prune(struct evstore *s, int64_t before_ms, int64_t upto, size_t batch,
		       void (*progress)(void *arg, int64_t deleted), void *arg, int64_t *deleted,
		       struct jerr *err);

/* ---- recompute.c ---- */

enum jrc ev_cass_recompute(struct evstore *s, int64_t upto, const struct tz *tz, fact_row_fn fn,
			   void *arg, struct jerr *err);

#endif
