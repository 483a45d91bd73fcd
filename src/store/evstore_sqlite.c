/*
 * evstore_sqlite.c - the embedded event store: table `tracking` in a SQLite
 * file, WAL mode. SQLite serialises writers, so rowid (seq) order is commit
 * order and the ETL never has to wait for a gap to settle.
 *
 * Rows wait for the commit. Because SQLite has one writer at a time, a batch
 * written as it is read would hold the file's write lock for the batch's whole
 * life: a live `tail -F | jobads ingest` (a batch up to 2 s old) kept every
 * POST /api/events and every other ingest waiting, retrying and timing out
 * (t_soak: the slowest POST took 8.8 s). So insert() keeps up to SPILL_ROWS
 * rows in memory and commit() writes them in one short transaction (a few ms
 * for a few thousand rows); a duplicate among them is known only then and
 * reported as commit_dups. A batch larger than that takes the lock when it
 * spills and writes the rest as it comes, so memory stays bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/store.h"
#include "sqlite_util.h"

#include "jobads/banned.h"

struct scan_ctx {
	ev_row_fn fn;
	void *arg;
	size_t n;
	int stop;
	struct event ev;
};

/* A batch's rows held until commit: the event, its texts as offsets into text. */
#define SPILL_ROWS 4096
#define N_TEXTS	   6

struct held_row {
	struct event ev;
	uint32_t off[N_TEXTS];
};

struct ev_sqlite {
	struct evstore base;
	sqlite3 *db;
	sqlite3_stmt *ins, *scan, *scan_range, *rowpub, *maxseq;
	int in_txn;
	struct scan_ctx *scanning; /* the scan in progress, for scan_step */
	struct held_row *held;	   /* rows of the open batch not yet written */
	size_t nheld, capheld;
	struct strbuf text;
	int64_t held_dups; /* duplicates among rows written when the batch spilled */
	int scan_cache;	   /* the page cache is cut to SCAN_CACHE_KIB for scans */
};

/*
 * Page cache: ingest's index inserts want INGEST_CACHE_KIB (history out of time
 * order writes the (ts, event_id) index at random places: 1 M shuffled events took
 * 14.7 s with 16 MiB, 7.3-8.2 s with 32 MiB and batches of 100,000); a scan reads the
 * table front to back once and gains nothing from more than a few pages, while
 * each of the ETL's two connections would otherwise fill 16 MiB of its peak
 * memory with pages it never reads again.
 */
#define INGEST_CACHE_KIB 32768
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
	"INSERT INTO tracking (event_id, ts, publisher_id, publisher_name, publisher_traffic,"     \
	" publisher_quality, bid, job_id, campaign_id, industry, location, impressions, clicks,"   \
	" apply_count, cost_micros, quality_score, device, hour, day_of_week)"                     \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"     \
	" ?18, ?19) ON CONFLICT (ts, event_id) DO NOTHING"

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

#define SQL_COUNT "SELECT COUNT(*) FROM tracking"

/* The store's own GROUP BY, independent of the C aggregation, for `verify`. */
#define SQL_RECOMPUTE                                                                              \
	"SELECT (ts / 3600000) * 3600, campaign_id, publisher_id, industry, location, device,"     \
	" COUNT(*), jobads_sum(impressions), jobads_sum(clicks), jobads_sum(apply_count),"         \
	" jobads_sum(cost_micros), jobads_sum(quality_score),"                                     \
	" TOTAL(CASE WHEN impressions > 0 THEN clicks * 1.0 / impressions ELSE 0 END),"            \
	" TOTAL(CASE WHEN clicks > 0 THEN cost_micros / 1000000.0 / clicks ELSE 0 END),"           \
	" TOTAL(CASE WHEN apply_count > 0 THEN cost_micros / 1000000.0 / apply_count ELSE 0 END)," \
	" TOTAL(CASE WHEN cost_micros > 0 THEN apply_count / (cost_micros / 1000000.0) ELSE 0 "    \
	"END)"                                                                                     \
	" FROM tracking WHERE seq <= ?1 GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"

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

static int ev_sqlite_init(struct evstore *s, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	int r = sq_exec(e->db, "BEGIN IMMEDIATE", s->name, err);
	if (r != STORE_OK)
		return r;
	r = sq_exec(e->db, sql_sqlite_events, s->name, err);
	if (r != STORE_OK) {
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
	if (e->in_txn)
		sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(e->ins);
	sqlite3_finalize(e->scan);
	sqlite3_finalize(e->scan_range);
	sqlite3_finalize(e->rowpub);
	sqlite3_finalize(e->maxseq);
	sqlite3_close(e->db);
	free(e->held);
	strbuf_release(&e->text);
	free(e->base.name);
	free(e);
}

static int ev_sqlite_open(const char *path, enum store_mode mode, struct evstore **out,
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
	if (r != STORE_OK)
		goto fail;
	r = sq_user_version(e->db, path, &version, err);
	if (r != STORE_OK)
		goto fail;
	if ((r = store_schema_check(path, "event store", version, 1, mode, &init, err)) !=
		STORE_OK ||
	    (init && (r = ev_sqlite_init(&e->base, err)) != STORE_OK))
		goto fail;
	if (sqlite3_create_function_v2(e->db, SCAN_FN, 12, SQLITE_UTF8 | SQLITE_DIRECTONLY, e, NULL,
				       scan_step, scan_final, NULL) != SQLITE_OK) {
		r = sq_fail(e->db, sqlite3_errcode(e->db), path, "registering the scan", err);
		goto fail;
	}
	if ((r = sq_prepare(e->db, SQL_INSERT, &e->ins, path, err)) != STORE_OK ||
	    (r = sq_prepare(e->db, SQL_SCAN, &e->scan, path, err)) != STORE_OK ||
	    (r = sq_prepare(e->db, SQL_SCAN_RANGE, &e->scan_range, path, err)) != STORE_OK ||
	    (r = sq_prepare(e->db, SQL_ROWPUB, &e->rowpub, path, err)) != STORE_OK ||
	    (r = sq_prepare(e->db, SQL_MAXSEQ, &e->maxseq, path, err)) != STORE_OK)
		goto fail;
	*out = &e->base;
	return STORE_OK;
fail:
	ev_sqlite_close(&e->base);
	return r;
}

static void drop_held(struct ev_sqlite *e)
{
	e->nheld = 0;
	e->held_dups = 0;
	strbuf_reset(&e->text);
}

static int ev_sqlite_begin(struct evstore *s, struct jerr *err)
{
	(void)err;
	cache_for_scan((struct ev_sqlite *)s, 0);
	drop_held((struct ev_sqlite *)s);
	return STORE_OK;
}

static void ev_sqlite_rollback(struct evstore *s)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	if (e->in_txn)
		sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
	e->in_txn = 0;
	drop_held(e);
}

static int insert_now(struct ev_sqlite *e, const struct event *ev, int *dup, struct jerr *err);

/* Take the write lock and write the held rows; their duplicates go to held_dups. */
static int write_held(struct ev_sqlite *e, struct jerr *err)
{
	int r = sq_exec(e->db, "BEGIN IMMEDIATE", e->base.name, err);
	if (r != STORE_OK)
		return r;
	e->in_txn = 1;
	for (size_t i = 0; i < e->nheld; i++) {
		struct held_row *h = &e->held[i];
		struct ev_str *t[N_TEXTS] = {&h->ev.publisher_name,    &h->ev.publisher_traffic,
					     &h->ev.publisher_quality, &h->ev.industry,
					     &h->ev.location,	       &h->ev.device};
		int dup;
		for (int k = 0; k < N_TEXTS; k++)
			t[k]->s = e->text.buf ? e->text.buf + h->off[k] : "";
		if ((r = insert_now(e, &h->ev, &dup, err)) != STORE_OK)
			return r;
		e->held_dups += dup;
	}
	e->nheld = 0;
	strbuf_reset(&e->text);
	return STORE_OK;
}

static int ev_sqlite_commit(struct evstore *s, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	int r = STORE_OK;
	s->commit_dups = 0;
	if (!e->in_txn && e->nheld == 0)
		return STORE_OK;
	if (!e->in_txn)
		r = write_held(e, err);
	if (r == STORE_OK)
		r = sq_exec(e->db, "COMMIT", s->name, err);
	if (r != STORE_OK) {
		ev_sqlite_rollback(s);
		return r;
	}
	e->in_txn = 0;
	s->commit_dups = e->held_dups;
	drop_held(e);
	return STORE_OK;
}

static void bind_str(sqlite3_stmt *st, int i, struct ev_str v)
{
	if (v.n == 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v.s, (int)v.n, SQLITE_STATIC);
}

static int insert_now(struct ev_sqlite *e, const struct event *ev, int *dup, struct jerr *err)
{
	struct evstore *s = &e->base;
	sqlite3_stmt *st = e->ins;
	sqlite3_bind_text(st, 1, ev->event_id, EV_UUID_LEN, SQLITE_STATIC);
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
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(e->db, rc, s->name, "inserting an event", err);
	*dup = sqlite3_changes(e->db) == 0;
	return STORE_OK;
}

static int ev_sqlite_insert(struct evstore *s, const struct event *ev, int *dup, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	if (e->in_txn)
		return insert_now(e, ev, dup, err);
	if (e->nheld == SPILL_ROWS) {
		int r = write_held(e, err);
		if (r != STORE_OK)
			return r;
		return insert_now(e, ev, dup, err);
	}
	if (e->nheld == e->capheld) {
		e->capheld = e->capheld ? 2 * e->capheld : 256;
		e->held = xrealloc(e->held, e->capheld * sizeof(*e->held));
	}
	struct held_row *h = &e->held[e->nheld++];
	const struct ev_str *t[N_TEXTS] = {&ev->publisher_name,	   &ev->publisher_traffic,
					   &ev->publisher_quality, &ev->industry,
					   &ev->location,	   &ev->device};
	h->ev = *ev;
	for (int k = 0; k < N_TEXTS; k++) {
		h->off[k] = (uint32_t)e->text.len;
		if (t[k]->n)
			strbuf_add(&e->text, t[k]->s, t[k]->n);
	}
	*dup = 0; /* known at commit: commit_dups */
	return STORE_OK;
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
	return STORE_OK;
}

static int ev_sqlite_scan(struct evstore *s, int64_t after, size_t limit, ev_row_fn fn, void *arg,
			  size_t *nread, int64_t *upto, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	*upto = after;
	sqlite3_bind_int64(e->scan, 1, after);
	sqlite3_bind_int64(e->scan, 2, (sqlite3_int64)limit);
	return run_scan(e, e->scan, fn, arg, nread, upto, err);
}

static int ev_sqlite_scan_range(struct evstore *s, int64_t lo, int64_t hi, ev_row_fn fn, void *arg,
				size_t *nread, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	int64_t last = lo;
	sqlite3_bind_int64(e->scan_range, 1, lo);
	sqlite3_bind_int64(e->scan_range, 2, hi);
	return run_scan(e, e->scan_range, fn, arg, nread, &last, err);
}

static int ev_sqlite_row_publisher(struct evstore *s, int64_t seq, ev_row_fn fn, void *arg,
				   struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	sqlite3_stmt *st = e->rowpub;
	struct event ev;
	int rc, r = STORE_OK;
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
		r = STORE_ERROR;
	} else {
		r = sq_fail(e->db, rc, s->name, "reading a publisher", err);
	}
	sqlite3_reset(st);
	return r;
}

static int ev_sqlite_reopen(struct evstore *s, struct evstore **out, struct jerr *err)
{
	return ev_sqlite_open(s->name, STORE_OPEN_EXISTING, out, err);
}

static int ev_sqlite_stats(struct evstore *s, int64_t *max_seq, int64_t *rows, struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	int rc = sqlite3_step(e->maxseq);
	*max_seq = rc == SQLITE_ROW ? sqlite3_column_int64(e->maxseq, 0) : 0;
	sqlite3_reset(e->maxseq);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(e->db, rc, s->name, "reading the newest seq", err);
	if (rows) {
		sqlite3_stmt *st;
		int r = sq_prepare(e->db, SQL_COUNT, &st, s->name, err);
		if (r != STORE_OK)
			return r;
		rc = sqlite3_step(st);
		*rows = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW)
			return sq_fail(e->db, rc, s->name, "counting events", err);
	}
	return STORE_OK;
}

static int ev_sqlite_recompute(struct evstore *s, int64_t upto, fact_row_fn fn, void *arg,
			       struct jerr *err)
{
	struct ev_sqlite *e = (struct ev_sqlite *)s;
	sqlite3_stmt *st;
	struct fact_row fr;
	int rc, stop = 0;
	int r = sq_prepare(e->db, SQL_RECOMPUTE, &st, s->name, err);
	if (r != STORE_OK)
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

const struct evstore_ops evstore_sqlite_ops = {
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
    .recompute = ev_sqlite_recompute,
};
