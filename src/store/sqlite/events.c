/*
 * sqlite/events.c - the embedded event store: table `tracking` in a SQLite
 * file, WAL mode. SQLite serialises writers, so rowid (seq) order is commit
 * order and the ETL never has to wait for a gap to settle.
 *
 * Rows wait for the commit. Because SQLite has one writer at a time, a batch
 * written as it is read would hold the file's write lock for the batch's whole
 * life: a live `tail -F | jobads ingest` (a batch up to 2 s old) kept every
 * POST /api/events and every other ingest waiting, retrying and timing out
 * (t_soak: the slowest POST took 8.8 s). So insert() keeps up to SPILL_ROWS_MIN
 * rows in memory and commit() writes them in one short transaction (a few ms
 * for a few thousand rows); a duplicate among them is known only then and
 * reported by commit. A batch larger than that takes the lock when it
 * spills, and goes on holding and writing a spill at a time (spill_rows_for:
 * larger in a store of millions), so memory stays bounded.
 *
 * A spill's keys are claimed in (ts, event_id) order, the key tables' order
 * (sql/sqlite/events.sql): history out of time order would otherwise visit them
 * at random places, one page visit (and, past the page cache, one page read and
 * write) per row; sorted, the keys of a spill walk them front to back. Its rows
 * are then written in seq order, appended to `tracking` (events_writer.c). With the
 * keys as layout 2's index, 1 M shuffled events took 7.8 s written as they came
 * and 5.1-5.5 s sorted (sorted input 4.3 and 3.6-4.1 s; docs/performance.md).
 * Each row still gets the seq of its place in the input (seq_next + its index
 * among the held rows, under the write lock), so seq stays arrival order: a
 * publisher's newest row is the last one sent, and of the same event twice in
 * one batch the first is kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobads/store.h"
#include "jobads/tz.h"
#include "db.h"
#include "events.h"

#include "jobads/banned.h"

/* PRAGMA user_version that sql/sqlite/events.sql sets: 2 since event_id is 16
 * bytes, 3 since the duplicate check's keys are two tables, not an index, 4 since
 * a Bloom filter of the large one's keys is stored beside them (events_bloom.c). */
#define EV_SQLITE_LAYOUT 4

/*
 * Page cache: ingest's index inserts want INGEST_CACHE_KIB (with rows written
 * as they came, 1 M shuffled events took 14.7 s with 16 MiB and 7.3-8.2 s with
 * 32 MiB; written in index order a spill at a time, 16 MiB is as fast as 32 MiB,
 * and peak memory fell from 42 to 28 MiB); a scan reads the
 * table front to back once and gains nothing from more than a few pages, while
 * each of the ETL's two connections would otherwise fill 16 MiB of its peak
 * memory with pages it never reads again.
 */
#define INGEST_CACHE_KIB 16384
#define SCAN_CACHE_KIB	 1024
#define STR_(x)		 #x
#define STR(x)		 STR_(x)

static void cache_for_scan(struct ev_sqlite *e, int scan)
{
	if (e->scan_cache == scan)
		return;
	sqlite3_exec(e->db,
		     scan ? "PRAGMA cache_size=-" STR(SCAN_CACHE_KIB)
			  : "PRAGMA cache_size=-" STR(INGEST_CACHE_KIB),
		     NULL, NULL, NULL);
	e->scan_cache = scan;
}

#define SQL_INSERT                                                                                 \
	"INSERT INTO tracking (seq, event_id, ts, publisher_id, publisher_name, "                  \
	"publisher_traffic,"                                                                       \
	" publisher_quality, bid, job_id, campaign_id, industry, location, impressions, clicks,"   \
	" apply_count, cost_micros, quality_score, device, hour, day_of_week)"                     \
	" VALUES (?20, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"     \
	" ?17, ?18, ?19)"

/*
 * The duplicate check (sql/sqlite/events.sql): a key is new when the large
 * table does not hold it (a lookup) and the small one takes it (no change: a
 * duplicate). Once the small table holds KEY_MERGE_MIN keys, and a quarter of
 * the large one's, a commit moves it into the large one in key order
 * (SQL_KEY_MERGE): each of the large table's pages is then written once per
 * merge instead of about once per row when a batch's keys were spread over it.
 */
#define SQL_KEY_SEEN "SELECT 1 FROM tracking_key WHERE ts = ?1 AND event_id = ?2"
/* VALUES, not INSERT ... SELECT ... WHERE NOT EXISTS: a statement that may write
 * several rows keeps a statement journal of every page it changes (1 M events
 * took 8.5 s that way against 6.2 s in one session) */
#define SQL_KEY_CLAIM                                                                              \
	"INSERT INTO tracking_key_new (ts, event_id) VALUES (?1, ?2)"                              \
	" ON CONFLICT (ts, event_id) DO NOTHING"
#define SQL_KEY_MERGE                                                                              \
	"INSERT INTO tracking_key (ts, event_id) SELECT ts, event_id FROM tracking_key_new"        \
	" ORDER BY ts, event_id;"                                                                  \
	"DELETE FROM tracking_key_new;" SQL_KEYS_MERGED_NOW
#define KEY_MERGE_MIN 2000000
/*
 * While tracking_key is empty, a merge is a swap: the tables trade names, in no
 * time whatever their size. It is due once tracking_key_new holds KEY_SWAP_MIN
 * keys, about what the page cache holds of it (INGEST_CACHE_KIB at some 40
 * bytes a key): past that each claim into it misses the cache, while claims
 * into the new, empty one and lookups through the filter (events_bloom.c) do not.
 */
#define KEY_SWAP_MIN 500000
/* legacy: a rename that does not parse every view of the schema (one of the
 * user's, broken, would fail it) nor rewrite them to follow the tables */
#define SQL_KEY_SWAP                                                                               \
	"PRAGMA legacy_alter_table = ON;"                                                          \
	"ALTER TABLE tracking_key RENAME TO tracking_key_swap;"                                    \
	"ALTER TABLE tracking_key_new RENAME TO tracking_key;"                                     \
	"ALTER TABLE tracking_key_swap RENAME TO tracking_key_new;"                                \
	"PRAGMA legacy_alter_table = OFF;" SQL_KEYS_MERGED_NOW
#define SQL_KEYS_NONE "SELECT NOT EXISTS (SELECT 1 FROM tracking_key)"

/*
 * Only the columns the ETL needs, so a run reads no more than it must; the
 * publisher's name, traffic and quality are read once per publisher and chunk
 * (SQL_ROWPUB, by seq) instead of once per row, which cuts a fifth of the scan.
 *
 * The scans hand rows to C from inside the statement: jobads_rows() is an
 * aggregate function whose step calls the ETL's row function with the values
 * SQLite already holds, so no row crosses sqlite3_step() and no column is read
 * through sqlite3_column_*() (a fifth of the run's CPU; docs/architecture.md).
 * The function finds the scan in progress through its user data (this
 * connection); called from any other statement it fails. Rows come in seq
 * order: a rowid range is read in rowid order, and the LIMIT subquery (which
 * SQLite does not flatten into an aggregate) delivers its ORDER BY order.
 */
#define SCAN_FN "jobads_rows"
#define SCAN_ARGS                                                                                  \
	"seq, ts, publisher_id, campaign_id, industry, location, device, impressions, clicks,"     \
	" apply_count, cost_micros, quality_score"
#define SQL_SCAN                                                                                   \
	"SELECT " SCAN_FN "(" SCAN_ARGS ") FROM (SELECT " SCAN_ARGS " FROM tracking"               \
	" WHERE seq > ?1 ORDER BY seq LIMIT ?2)"
#define SQL_SCAN_RANGE                                                                             \
	"SELECT " SCAN_FN "(" SCAN_ARGS ") FROM tracking WHERE seq > ?1 AND seq <= ?2"
#define SQL_ROWPUB                                                                                 \
	"SELECT publisher_id, publisher_name, publisher_traffic, publisher_quality FROM tracking"  \
	" WHERE seq = ?1"

#define SQL_MAXSEQ "SELECT seq FROM tracking ORDER BY seq DESC LIMIT 1"
#define SQL_NEXTSEQ                                                                                \
	"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'tracking'), 0),"       \
	" COALESCE((SELECT MAX(seq) FROM tracking), 0)) + 1,"                                      \
	" (SELECT merged_upto FROM tracking_key_state WHERE id = 1)"

#define SQL_COUNT  "SELECT COUNT(*) FROM tracking"
#define SQL_BEHIND "SELECT COUNT(*) FROM tracking WHERE seq > ?1"

/* The store's own GROUP BY, independent of the C aggregation, for `verify`. */
#define RECOMPUTE(hour, from)                                                                      \
	"SELECT " hour ", campaign_id, publisher_id, industry, location, device,"                  \
	" COUNT(*), jobads_sum(impressions), jobads_sum(clicks), jobads_sum(apply_count),"         \
	" jobads_sum(cost_micros), jobads_sum(quality_score),"                                     \
	" TOTAL(CASE WHEN impressions > 0 THEN clicks * 1.0 / impressions ELSE 0 END),"            \
	" TOTAL(CASE WHEN clicks > 0 THEN cost_micros / 1000000.0 / clicks ELSE 0 END),"           \
	" TOTAL(CASE WHEN apply_count > 0 THEN cost_micros / 1000000.0 / apply_count ELSE 0 END)," \
	" TOTAL(CASE WHEN cost_micros > 0 THEN apply_count / (cost_micros / 1000000.0) ELSE 0 "    \
	"END)"                                                                                     \
	" FROM " from " GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"
#define SQL_RECOMPUTE RECOMPUTE("(ts / 3600000) * 3600", "tracking WHERE seq <= ?1")
/* In a zone: the local hour's start, floor((t + off) / 3600) * 3600 - off, with
 * off the zone's offset at the event (jobads_tz_offset, the zone's spans). */
#define SQL_RECOMPUTE_TZ                                                                           \
	RECOMPUTE("((ts / 1000 + o) / 3600) * 3600 - o",                                           \
		  "(SELECT *, jobads_tz_offset(ts / 1000) AS o FROM tracking WHERE seq <= ?1)")

/* jobads_rows(seq, ts, ...) step: one row of a scan to its fn; a stop ends the statement. */
static void scan_step(sqlite3_context *fc, int argc, sqlite3_value **argv)
{
	struct scan_ctx *c = ((struct ev_sqlite *)sqlite3_user_data(fc))->scanning;
	if (!c || argc != 12) {
		sqlite3_result_error(fc, SCAN_FN "() is for the ETL's own scan", -1);
		return;
	}
	struct event *ev = &c->ev;
	ev->seq = sqlite3_value_int64(argv[0]);
	ev->ts_ms = sqlite3_value_int64(argv[1]);
	ev->publisher_id = sqlite3_value_int(argv[2]);
	ev->campaign_id = sqlite3_value_int(argv[3]);
	ev->industry = sq_val_str(argv[4]);
	ev->location = sq_val_str(argv[5]);
	ev->device = sq_val_str(argv[6]);
	ev->impressions = sqlite3_value_int64(argv[7]);
	ev->clicks = sqlite3_value_int64(argv[8]);
	ev->apply_count = sqlite3_value_int64(argv[9]);
	ev->cost_micros = sqlite3_value_int64(argv[10]);
	ev->quality_score = sqlite3_value_int(argv[11]);
	c->n++;
	if ((c->stop = c->fn(c->arg, ev)) != 0)
		sqlite3_result_error(fc, "stopped by the reader", -1);
}

static void scan_final(sqlite3_context *fc)
{
	sqlite3_result_null(fc);
}

static enum jrc ev_sqlite_init(struct evstore *s, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	int version, r = sq_exec(e->db, "BEGIN IMMEDIATE", s->name, err);
	if (r != J_OK)
		return r;
	/* read again under the write lock: another init may have upgraded it meanwhile */
	if ((r = sq_user_version(e->db, s->name, &version, err)) == J_OK && version == 1)
		r = ev_sqlite_upgrade_from_1(e->db, s->name, err);
	else if (r == J_OK && version == 2)
		r = ev_sqlite_upgrade_from_2(e->db, s->name, err);
	if (r == J_OK)
		r = sq_exec(e->db, sql_sqlite_events, s->name, err);
	if (r != J_OK) {
		sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return sq_exec(e->db, "COMMIT", s->name, err);
}

static void ev_sqlite_close(struct evstore *s)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	if (!e)
		return;
	writer_stop(e);
	if (e->in_txn)
		sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(e->ins);
	sqlite3_finalize(e->claim);
	sqlite3_finalize(e->seen);
	sqlite3_finalize(e->scan);
	sqlite3_finalize(e->scan_range);
	sqlite3_finalize(e->rowpub);
	sqlite3_finalize(e->maxseq);
	sqlite3_close(e->db);
	ev_bloom_drop(&e->bloom);
	for (int i = 0; i < 2; i++) {
		free(e->sp[i].rows);
		strbuf_release(&e->sp[i].text);
	}
	free(e->base.name);
	free(e);
}

static enum jrc ev_sqlite_open(const char *path, enum store_mode mode, struct evstore **out,
			       struct jerr *err)
{
	struct ev_sqlite *e = xcalloc(1, sizeof(*e));
	int r, version, init;
	e->base.ops = &evstore_sqlite_ops;
	e->base.name = xstrdup(path);
	*out = NULL;
	/*
	 * 16 KB pages: the ETL reads the table front to back, and a quarter of the
	 * page reads (one pread each) made a 1 M-event run 20% faster (0.26 s against
	 * 0.32 s); ingest commits write a little more WAL per dirty page.
	 */
	r = sq_open(path, mode, "FULL", INGEST_CACHE_KIB, 16384, &e->db, err);
	if (r != J_OK)
		goto fail;
	r = sq_user_version(e->db, path, &version, err);
	if (r != J_OK)
		goto fail;
	if ((r = store_schema_check(path, "event store", version, EV_SQLITE_LAYOUT, mode, &init,
				    err)) != J_OK)
		goto fail;
	if (init && version >= 1 && version < 3 && mode != STORE_UPGRADE) {
		/* rewrites every row: a step of its own, not a side effect of the next ingest
		 * (from 3 it only adds the filter's table, so any open does it) */
		jerr_set(err,
			 "%s: event store layout %d predates this jobads (%d); run 'jobads init'"
			 " to upgrade it in place",
			 path, version, EV_SQLITE_LAYOUT);
		r = J_ERROR;
		goto fail;
	}
	if (init && (r = ev_sqlite_init(&e->base, err)) != J_OK)
		goto fail;
	if (sqlite3_create_function_v2(e->db, SCAN_FN, 12, SQLITE_UTF8 | SQLITE_DIRECTONLY, e, NULL,
				       scan_step, scan_final, NULL) != SQLITE_OK) {
		r = sq_fail(e->db, sqlite3_errcode(e->db), path, "registering the scan", err);
		goto fail;
	}
	if ((r = sq_prepare(e->db, SQL_INSERT, &e->ins, path, err)) != J_OK ||
	    (r = sq_prepare(e->db, SQL_KEY_SEEN, &e->seen, path, err)) != J_OK ||
	    (r = sq_prepare(e->db, SQL_KEY_CLAIM, &e->claim, path, err)) != J_OK ||
	    (r = sq_prepare(e->db, SQL_SCAN, &e->scan, path, err)) != J_OK ||
	    (r = sq_prepare(e->db, SQL_SCAN_RANGE, &e->scan_range, path, err)) != J_OK ||
	    (r = sq_prepare(e->db, SQL_ROWPUB, &e->rowpub, path, err)) != J_OK ||
	    (r = sq_prepare(e->db, SQL_MAXSEQ, &e->maxseq, path, err)) != J_OK)
		goto fail;
	*out = &e->base;
	return J_OK;
fail:
	ev_sqlite_close(&e->base);
	return r;
}

/*
 * A batch that spills into a store whose tracking_key holds the keys of the
 * first MAP_MIN_MERGED seqs or more (merged_upto) reads the file through mmap.
 * Its lookups read most of the large table's leaves once per spill (a sorted
 * spill of 65,536 keys lands on about 23,000 of the 25,000 leaves of 10 M
 * keys), far more than the page cache holds; through read() each such page was
 * copied out of the OS's cache again at every spill, a third of the time into
 * a store of 10 M (10.2 s, against 7.3 s with no lookups at all and 7.8-8.1 s
 * mapped; docs/performance.md). The mapped pages are the OS's file cache,
 * shared and given back under memory pressure, but they count in the process's
 * resident size (380 MB into a store of 10 M; its own memory, RssAnon, stays
 * about 40 MiB). SQLite caps the map at its build's limit (2 GiB in Debian's); pages
 * past it are read as before. A smaller store's keys fit the page cache, so
 * nothing is mapped there. The map stays until the store is closed: ended with
 * each batch, the next one faulted every page in again (9.0-9.3 s).
 */
#define MAP_MIN_MERGED 1000000
#define MAP_BYTES      "2147418112"

static void map_for_lookups(struct ev_sqlite *e)
{
	if (e->mapped || e->key_merged < MAP_MIN_MERGED)
		return;
	/* a failure leaves reads as they were: nothing to report */
	if (sqlite3_exec(e->db, "PRAGMA mmap_size=" MAP_BYTES, NULL, NULL, NULL) == SQLITE_OK)
		e->mapped = 1;
}

static void drop_held(struct ev_sqlite *e)
{
	for (int i = 0; i < 2; i++) {
		e->sp[i].n = 0;
		strbuf_reset(&e->sp[i].text);
	}
	e->held_dups = 0;
	e->spill_rows = 0;
}

static enum jrc ev_sqlite_begin(struct evstore *s, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	int r = writer_wait(e, err);
	cache_for_scan(e, 0);
	drop_held(e);
	return r;
}

static void ev_sqlite_rollback(struct evstore *s)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	struct jerr ignored;
	writer_wait(e, &ignored);
	if (e->in_txn)
		sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
	e->in_txn = 0;
	drop_held(e);
}

/*
 * The first seq AUTOINCREMENT would hand out now, past every row and every seq
 * used, and tracking_key_state.merged_upto (0: tracking_key is empty).
 */
static int next_seq(struct ev_sqlite *e, int64_t *seq, int64_t *merged, struct jerr *err)
{
	sqlite3_stmt *st;
	int r = sq_prepare(e->db, SQL_NEXTSEQ, &st, e->base.name, err);
	if (r != J_OK)
		return r;
	int rc = sqlite3_step(st);
	*seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	*merged = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return sq_fail(e->db, rc, e->base.name, "reading the next seq", err);
	return J_OK;
}

/*
 * Rows per spill in a store whose next seq is next: one per 64 stored events,
 * between SPILL_ROWS_MIN and SPILL_ROWS_MAX. tracking_key has about one 16 KiB
 * leaf per 400 keys, so this spill is several times its leaves and looks each up
 * once for a few rows (into a store of 10 M, 16,384 rows landed about one per
 * page: layout 2 wrote each such page, layout 3 reads it). Into a small store a
 * larger spill is no faster, only larger.
 */
static size_t spill_rows_for(int64_t next)
{
	int64_t n = next / 64;
	return n < SPILL_ROWS_MIN   ? SPILL_ROWS_MIN
	       : n > SPILL_ROWS_MAX ? SPILL_ROWS_MAX
				    : (size_t)n;
}

/*
 * Take the write lock if not held yet; seq_next is then where this batch's seqs
 * start, and key_merged what tracking_key holds (only a commit under this lock
 * changes it).
 */
static int lock_for_write(struct ev_sqlite *e, struct jerr *err)
{
	if (e->in_txn)
		return J_OK;
	int r = sq_exec(e->db, "BEGIN IMMEDIATE", e->base.name, err);
	if (r != J_OK)
		return r;
	e->in_txn = 1;
	r = next_seq(e, &e->seq_next, &e->key_merged, err);
	return r == J_OK ? ev_bloom_ready(e, err) : r;
}

/*
 * In the batch's transaction, its rows written: move tracking_key_new into
 * tracking_key when it is due. next is the seq after the batch's last row.
 */
static int merge_keys_if_due(struct ev_sqlite *e, int64_t next, struct jerr *err)
{
	/* next - 1 - merged: the new keys, or more (duplicates and deleted rows used seqs) */
	int64_t fresh = next - 1 - e->key_merged;
	if (e->key_merged == 0 && fresh >= KEY_SWAP_MIN) {
		/* merged_upto 0: no merge yet, so tracking_key is empty; asked to be sure */
		sqlite3_stmt *st;
		int r = sq_prepare(e->db, SQL_KEYS_NONE, &st, e->base.name, err), rc;
		if (r != J_OK)
			return r;
		rc = sqlite3_step(st);
		int none = rc == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW)
			return sq_fail(e->db, rc, e->base.name, "reading tracking_key", err);
		if (none)
			return ev_bloom_merge(e, next - 1, SQL_KEY_SWAP, err);
	}
	if (fresh < KEY_MERGE_MIN || fresh < e->key_merged / 4)
		return J_OK;
	return ev_bloom_merge(e, next - 1, SQL_KEY_MERGE, err);
}

static enum jrc ev_sqlite_commit(struct evstore *s, int64_t *late_dups, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	struct spill *sp = &e->sp[e->cur];
	*late_dups = 0;
	int r = writer_wait(e, err);
	if (r == J_OK && !e->in_txn && sp->n == 0)
		return J_OK;
	if (r == J_OK && sp->n && (r = lock_for_write(e, err)) == J_OK)
		r = write_spill(e, sp, e->seq_next, &e->held_dups, err);
	if (r == J_OK) /* the spills moved seq_next past their rows; sp's follow it */
		r = merge_keys_if_due(e, e->seq_next + (int64_t)sp->n, err);
	if (r == J_OK)
		r = sq_exec(e->db, "COMMIT", s->name, err);
	if (r != J_OK) {
		ev_sqlite_rollback(s);
		return r;
	}
	e->in_txn = 0;
	*late_dups = e->held_dups;
	drop_held(e);
	return J_OK;
}

static void bind_str(sqlite3_stmt *st, int i, struct ev_str v)
{
	if (v.n == 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v.s, (int)v.n, SQLITE_STATIC);
}

int ev_sqlite_claim(struct ev_sqlite *e, int64_t ts_ms, const unsigned char *id, int *dup,
		    struct jerr *err)
{
	struct evstore *s = &e->base;
	sqlite3_stmt *st = e->seen;
	int rc;
	/* tracking_key is empty, or its filter says it does not hold the key */
	if (e->key_merged > 0 &&
	    (e->bloom.stamp != e->key_merged || ev_bloom_may_hold(&e->bloom, ts_ms, id))) {
		sqlite3_bind_int64(st, 1, ts_ms);
		sqlite3_bind_blob(st, 2, id, EV_UUID_BYTES, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_ROW) {
			*dup = 1;
			return J_OK;
		}
		if (rc != SQLITE_DONE)
			return sq_fail(e->db, rc, s->name, "looking an event's key up", err);
	}
	st = e->claim;
	sqlite3_bind_int64(st, 1, ts_ms);
	sqlite3_bind_blob(st, 2, id, EV_UUID_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(e->db, rc, s->name, "claiming an event's key", err);
	*dup = sqlite3_changes(e->db) == 0;
	return J_OK;
}

int ev_sqlite_put_row(struct ev_sqlite *e, const struct event *ev, const unsigned char *id,
		      struct jerr *err)
{
	sqlite3_stmt *st = e->ins;
	int rc;
	sqlite3_bind_blob(st, 1, id, EV_UUID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ev->ts_ms);
	sqlite3_bind_int(st, 3, ev->publisher_id);
	bind_str(st, 4, ev->publisher_name);
	bind_str(st, 5, ev->publisher_traffic);
	bind_str(st, 6, ev->publisher_quality);
	if (ev->bid < 0)
		sqlite3_bind_null(st, 7);
	else
		sqlite3_bind_int64(st, 7, ev->bid);
	sqlite3_bind_int(st, 8, ev->job_id);
	sqlite3_bind_int(st, 9, ev->campaign_id);
	bind_str(st, 10, ev->industry);
	bind_str(st, 11, ev->location);
	sqlite3_bind_int64(st, 12, ev->impressions);
	sqlite3_bind_int64(st, 13, ev->clicks);
	sqlite3_bind_int64(st, 14, ev->apply_count);
	sqlite3_bind_int64(st, 15, ev->cost_micros);
	sqlite3_bind_int(st, 16, ev->quality_score);
	bind_str(st, 17, ev->device);
	sqlite3_bind_int(st, 18, ev->hour);
	sqlite3_bind_int(st, 19, ev->day_of_week);
	sqlite3_bind_int64(st, 20, ev->seq);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(e->db, rc, e->base.name, "inserting an event", err);
	return J_OK;
}

static enum jrc ev_sqlite_insert(struct evstore *s, const struct event *ev, int *dup,
				 struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	struct spill *sp = &e->sp[e->cur];
	unsigned char id[EV_UUID_BYTES];
	if (uuid_from_text(ev->event_id, EV_UUID_LEN, id) != 0)
		BUG("%s: an event reached the store with event_id '%s' (the builder checks it)",
		    s->name, ev->event_id);
	if (sp->n == (e->spill_rows ? e->spill_rows : SPILL_ROWS_MIN)) {
		int r = writer_wait(e, err);
		if (r == J_OK)
			r = lock_for_write(e, err);
		if (r == J_OK && !e->spill_rows) { /* the batch's first spill: seq_next is known */
			e->spill_rows = spill_rows_for(e->seq_next);
			map_for_lookups(e);
		}
		if (r == J_OK && sp->n == e->spill_rows)
			r = writer_submit(e, err);
		if (r != J_OK)
			return r;
		sp = &e->sp[e->cur];
	}
	if (sp->n == sp->cap) {
		sp->cap = sp->cap ? 2 * sp->cap : 256;
		sp->rows = xrealloc(sp->rows, sp->cap * sizeof(*sp->rows));
	}
	struct held_row *h = &sp->rows[sp->n++];
	const struct ev_str *t[N_TEXTS] = {&ev->publisher_name,	   &ev->publisher_traffic,
					   &ev->publisher_quality, &ev->industry,
					   &ev->location,	   &ev->device};
	*h = (struct held_row){.ts_ms = ev->ts_ms,
			       .bid = ev->bid,
			       .impressions = ev->impressions,
			       .clicks = ev->clicks,
			       .apply_count = ev->apply_count,
			       .cost_micros = ev->cost_micros,
			       .publisher_id = ev->publisher_id,
			       .job_id = ev->job_id,
			       .campaign_id = ev->campaign_id,
			       .quality_score = ev->quality_score,
			       .hour = ev->hour,
			       .day_of_week = ev->day_of_week};
	memcpy(h->id, id, EV_UUID_BYTES);
	for (int k = 0; k < N_TEXTS; k++) {
		h->off[k] = (uint32_t)sp->text.len;
		if (t[k]->n)
			strbuf_add(&sp->text, t[k]->s, t[k]->n);
	}
	h->off[N_TEXTS] = (uint32_t)sp->text.len;
	*dup = 0; /* known at commit, which counts them */
	return J_OK;
}

/*
 * Run a bound scan statement: each row to fn (publisher attributes left for
 * row_publisher). *last is the seq of the last row handed over, or unchanged.
 */
static int run_scan(struct ev_sqlite *e, sqlite3_stmt *st, ev_row_fn fn, void *arg, size_t *nread,
		    int64_t *last, struct jerr *err)
{
	struct scan_ctx c;
	int rc;

	if ((rc = writer_wait(e, err)) != J_OK)
		return rc;
	cache_for_scan(e, 1);
	memset(&c, 0, sizeof(c)); /* publisher_name.s == NULL: not read, see SQL_ROWPUB */
	c.fn = fn;
	c.arg = arg;
	c.ev.bid = -1;
	e->scanning = &c;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	e->scanning = NULL; /* c is about to go out of scope */
	*nread = c.n;
	if (c.n)
		*last = c.ev.seq;
	if (c.stop)
		return c.stop;
	if (rc != SQLITE_DONE)
		return sq_fail(e->db, rc, e->base.name, "reading events", err);
	return J_OK;
}

static enum jrc ev_sqlite_scan(struct evstore *s, int64_t after, size_t limit, ev_row_fn fn,
			       void *arg, size_t *nread, int64_t *upto, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	*upto = after;
	sqlite3_bind_int64(e->scan, 1, after);
	sqlite3_bind_int64(e->scan, 2, (sqlite3_int64)limit);
	return run_scan(e, e->scan, fn, arg, nread, upto, err);
}

static enum jrc ev_sqlite_scan_range(struct evstore *s, int64_t lo, int64_t hi, ev_row_fn fn,
				     void *arg, size_t *nread, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	int64_t last = lo;
	sqlite3_bind_int64(e->scan_range, 1, lo);
	sqlite3_bind_int64(e->scan_range, 2, hi);
	return run_scan(e, e->scan_range, fn, arg, nread, &last, err);
}

static enum jrc ev_sqlite_row_publisher(struct evstore *s, int64_t seq, ev_row_fn fn, void *arg,
					struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	sqlite3_stmt *st = e->rowpub;
	struct event ev;
	int rc, r = writer_wait(e, err);
	if (r != J_OK)
		return r;
	memset(&ev, 0, sizeof(ev));
	sqlite3_bind_int64(st, 1, seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ev.seq = seq;
		ev.publisher_id = sqlite3_column_int(st, 0);
		ev.publisher_name = sq_col_str(st, 1);
		ev.publisher_traffic = sq_col_str(st, 2);
		ev.publisher_quality = sq_col_str(st, 3);
		r = fn(arg, &ev);
	} else if (rc == SQLITE_DONE) {
		jerr_set(err, "%s: event seq %lld vanished while the ETL read it", s->name,
			 (long long)seq);
		r = J_ERROR;
	} else {
		r = sq_fail(e->db, rc, s->name, "reading a publisher", err);
	}
	sqlite3_reset(st);
	return r;
}

static enum jrc ev_sqlite_reopen(struct evstore *s, struct evstore **out, struct jerr *err)
{
	return ev_sqlite_open(s->name, STORE_OPEN_EXISTING, out, err);
}

static enum jrc ev_sqlite_stats(struct evstore *s, int64_t *max_seq, int64_t *rows,
				struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	int rc = writer_wait(e, err);
	if (rc != J_OK)
		return rc;
	rc = sqlite3_step(e->maxseq);
	*max_seq = rc == SQLITE_ROW ? sqlite3_column_int64(e->maxseq, 0) : 0;
	sqlite3_reset(e->maxseq);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(e->db, rc, s->name, "reading the newest seq", err);
	if (rows) {
		sqlite3_stmt *st;
		int r = sq_prepare(e->db, SQL_COUNT, &st, s->name, err);
		if (r != J_OK)
			return r;
		rc = sqlite3_step(st);
		*rows = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW)
			return sq_fail(e->db, rc, s->name, "counting events", err);
	}
	return J_OK;
}

static enum jrc ev_sqlite_behind(struct evstore *s, int64_t cursor, int64_t *n, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	sqlite3_stmt *st;
	int r = writer_wait(e, err);
	if (r != J_OK || (r = sq_prepare(e->db, SQL_BEHIND, &st, s->name, err)) != J_OK)
		return r;
	sqlite3_bind_int64(st, 1, cursor);
	int rc = sqlite3_step(st);
	*n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return sq_fail(e->db, rc, s->name, "counting events behind the cursor", err);
	return J_OK;
}

struct tz_fn_ctx {
	const struct tz *tz;
	size_t hint;
};

/* jobads_tz_offset(unix seconds): the recompute's zone's offset there. */
static void tz_offset_fn(sqlite3_context *fc, int argc, sqlite3_value **argv)
{
	struct tz_fn_ctx *c = sqlite3_user_data(fc);
	(void)argc;
	sqlite3_result_int(fc, tz_offset_at(c->tz, sqlite3_value_int64(argv[0]), &c->hint));
}

static enum jrc ev_sqlite_recompute(struct evstore *s, int64_t upto, const struct tz *tz,
				    fact_row_fn fn, void *arg, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	sqlite3_stmt *st;
	struct fact_row fr;
	struct tz_fn_ctx tc = {tz, 0};
	int rc, stop = 0;
	int r = writer_wait(e, err);
	if (r != J_OK)
		return r;
	if (tz && sqlite3_create_function_v2(e->db, "jobads_tz_offset", 1,
					     SQLITE_UTF8 | SQLITE_DIRECTONLY, &tc, tz_offset_fn,
					     NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(e->db, sqlite3_errcode(e->db), s->name, "registering the zone", err);
	if ((r = sq_prepare(e->db, tz ? SQL_RECOMPUTE_TZ : SQL_RECOMPUTE, &st, s->name, err)) !=
	    J_OK)
		return r;
	sqlite3_bind_int64(st, 1, upto);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sq_fact_row(st, &fr);
		if ((stop = fn(arg, &fr)) != 0)
			break;
	}
	if (!stop && rc != SQLITE_DONE)
		r = sq_fail(e->db, rc, s->name, "recomputing aggregates", err);
	sqlite3_finalize(st);
	return stop ? stop : r;
}

/* --- retention (jobads prune, issue 16) --- */

#define SQL_PRUNE_FIRST "SELECT COALESCE(MIN(seq), 1) - 1 FROM tracking"
#define SQL_PRUNE_STEP                                                                             \
	"SELECT seq FROM tracking WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT 1 OFFSET ?3"
#define SQL_PRUNE_DELETE "DELETE FROM tracking WHERE seq > ?1 AND seq <= ?2 AND ts < ?3"
/* the keys of those rows first, from whichever table holds them */
#define SQL_PRUNE_KEYS(t)                                                                          \
	"DELETE FROM " t " WHERE (ts, event_id) IN (SELECT ts, event_id FROM tracking"             \
	" WHERE seq > ?1 AND seq <= ?2 AND ts < ?3)"

static int one_int64(struct ev_sqlite *e, sqlite3_stmt *st, int64_t dflt, int64_t *out,
		     const char *what, struct jerr *err)
{
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : dflt;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(e->db, rc, e->base.name, what, err);
	return J_OK;
}

/*
 * Windows of `batch` seqs from the lowest stored one, each deleted in its own
 * short write transaction, so that an ingest waits at most one window (its
 * busy timeout covers that). The newest row always stays: the next seq and the
 * ETL's check that its cursor is not past the newest event both read it.
 */
static enum jrc ev_sqlite_prune(struct evstore *s, int64_t before_ms, int64_t upto, size_t batch,
				void (*progress)(void *arg, int64_t deleted), void *arg,
				int64_t *deleted, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	sqlite3_stmt *first = NULL, *step = NULL, *del = NULL, *delk[2] = {NULL, NULL};
	int64_t max_seq, lo, hi;
	int r = writer_wait(e, err);
	if (r != J_OK ||
	    (r = one_int64(e, e->maxseq, 0, &max_seq, "reading the newest seq", err)) != J_OK)
		return r;
	if (upto >= max_seq)
		upto = max_seq - 1;
	if ((r = sq_prepare(e->db, SQL_PRUNE_FIRST, &first, s->name, err)) != J_OK ||
	    (r = sq_prepare(e->db, SQL_PRUNE_STEP, &step, s->name, err)) != J_OK ||
	    (r = sq_prepare(e->db, SQL_PRUNE_DELETE, &del, s->name, err)) != J_OK ||
	    (r = sq_prepare(e->db, SQL_PRUNE_KEYS("tracking_key"), &delk[0], s->name, err)) !=
		J_OK ||
	    (r = sq_prepare(e->db, SQL_PRUNE_KEYS("tracking_key_new"), &delk[1], s->name, err)) !=
		J_OK ||
	    (r = one_int64(e, first, 0, &lo, "reading the oldest seq", err)) != J_OK)
		goto out;
	while (lo < upto) {
		sqlite3_bind_int64(step, 1, lo);
		sqlite3_bind_int64(step, 2, upto);
		sqlite3_bind_int64(step, 3, (int64_t)batch - 1);
		if ((r = one_int64(e, step, upto, &hi, "reading events to prune", err)) != J_OK)
			break;
		double t_lock = time_mono();
		if ((r = sq_exec(e->db, "BEGIN IMMEDIATE", s->name, err)) != J_OK)
			break;
		int rc = SQLITE_DONE;
		for (int k = 0; k < 2 && rc == SQLITE_DONE; k++) {
			sqlite3_bind_int64(delk[k], 1, lo);
			sqlite3_bind_int64(delk[k], 2, hi);
			sqlite3_bind_int64(delk[k], 3, before_ms);
			rc = sqlite3_step(delk[k]);
			sqlite3_reset(delk[k]);
		}
		int64_t n = 0;
		if (rc == SQLITE_DONE) {
			sqlite3_bind_int64(del, 1, lo);
			sqlite3_bind_int64(del, 2, hi);
			sqlite3_bind_int64(del, 3, before_ms);
			rc = sqlite3_step(del);
			n = sqlite3_changes(e->db);
			sqlite3_reset(del);
		}
		if (rc != SQLITE_DONE)
			r = sq_fail(e->db, rc, s->name, "deleting pruned events", err);
		else
			r = sq_exec(e->db, "COMMIT", s->name, err);
		/*
		 * As long again without the write lock: SQLite has one writer, and an
		 * ingest waiting for it gets at least half the time (without the
		 * pause, ingest ran at 0.46 of its rate alone during a prune).
		 */
		double held = time_mono() - t_lock;
		if (r == J_OK && held > 0) {
			struct timespec ts = {0, (long)((held < 0.1 ? held : 0.1) * 1e9)};
			nanosleep(&ts, NULL);
		}
		if (r != J_OK) {
			if (!sqlite3_get_autocommit(e->db))
				sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
			break;
		}
		*deleted += n;
		lo = hi;
		if (progress)
			progress(arg, *deleted);
	}
out:
	sqlite3_finalize(first);
	sqlite3_finalize(step);
	sqlite3_finalize(del);
	sqlite3_finalize(delk[0]);
	sqlite3_finalize(delk[1]);
	return r;
}

/* --- end of retention --- */

const struct evstore_ops evstore_sqlite_ops = {
    .version = EVSTORE_OPS_VERSION,
    .scheme = "sqlite",
    .open = ev_sqlite_open,
    .close = ev_sqlite_close,
    .init = ev_sqlite_init,
    .begin = ev_sqlite_begin,
    .insert = ev_sqlite_insert,
    .commit = ev_sqlite_commit,
    .rollback = ev_sqlite_rollback,
    .scan = ev_sqlite_scan,
    .row_publisher = ev_sqlite_row_publisher,
    .scan_range = ev_sqlite_scan_range,
    .reopen = ev_sqlite_reopen,
    .stats = ev_sqlite_stats,
    .behind = ev_sqlite_behind,
    .recompute = ev_sqlite_recompute,
    .prune = ev_sqlite_prune,
};
