/*
 * evstore_mysql.c - the event store on MySQL 8 or MariaDB: table `tracking`,
 * seq = AUTO_INCREMENT, unique key (ts, event_id) as on SQLite.
 *
 * Ingest: insert() buffers rows and answers duplicates within the block at
 * once; a full block (and commit) sends them: one SELECT finds the block's
 * keys already stored, then multi-row INSERT IGNORE statements store the rest.
 * Checking first keeps AUTO_INCREMENT from burning a value for each duplicate,
 * which would leave gaps the ETL has to wait on. What the check finds, and the
 * rare row a concurrent writer stored in between, are reported by commit in
 * commit_dups. A transaction starts with the first block sent, so it stays
 * open only while its rows travel.
 *
 * Scan: AUTO_INCREMENT values are taken at insert and become visible at
 * commit, so seq 100 may appear after 101. scan() reads past a missing seq
 * only when the row after it was stored more than the settle time ago (server
 * clock): by then the writer that held the missing value has committed or
 * rolled back (design.md item 5).
 *
 * No MariaDB array binding here, unlike the analytics store: InnoDB reserves
 * AUTO_INCREMENT values for an array-bound INSERT as for one of unknown size,
 * in growing batches, and leaves the unused rest as gaps (2,000 events in four
 * blocks took seq 1..3533). Every gap makes the ETL wait the settle time; the
 * multi-row statements' exact row count reserves exactly what they use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/store.h"
#include "mysql_util.h"

#include "jobads/banned.h"

#define INS_LEVELS 10			    /* insert statements of 2^k rows, k < INS_LEVELS */
#define BLOCK	   (1u << (INS_LEVELS - 1)) /* rows buffered before they are sent: 512 */
#define INS_COLS   19
#define NSLOTS	   (BLOCK * 4)

struct pend {
	char event_id[EV_UUID_LEN + 1];
	int64_t ts;
	int32_t publisher_id, job_id, campaign_id, quality_score, hour, day_of_week;
	int64_t bid, impressions, clicks, apply_count, cost_micros;
	size_t off[5]; /* publisher_name, traffic, quality, industry, location in the arena */
	size_t doff;   /* device */
	unsigned long len[7]; /* event_id + the six texts */
	my_bool null_traffic, null_quality, null_bid;
	int dup;
	uint32_t hash;
};

struct ev_mysql {
	struct evstore base;
	struct my_url url;
	MYSQL *db;
	int mariadb;
	int in_txn, started;
	MYSQL_STMT *ins[INS_LEVELS];
	MYSQL_STMT *check, *scan, *maxseq;
	struct pend *rows;
	uint32_t nrows;
	struct strbuf arena;
	uint32_t slots[NSLOTS]; /* index + 1 into rows; 0 empty */
	MYSQL_BIND *pb;
	int64_t check_ts[BLOCK];
	int64_t late_dups;
	struct my_cols scan_cols;
	int scan_bound;
};

#define INS_COLS_SQL                                                                               \
	"event_id, ts, publisher_id, publisher_name, publisher_traffic, publisher_quality, bid,"   \
	" job_id, campaign_id, industry, location, impressions, clicks, apply_count,"              \
	" cost_micros, quality_score, device, hour, day_of_week"
#define SQL_INSERT_HEAD "INSERT IGNORE INTO tracking (" INS_COLS_SQL ") VALUES "
#define SQL_INSERT_ROW	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/*
 * Only the columns the ETL needs, and whether the row is older than the settle
 * time: the server's clock judges both sides.
 */
#define SQL_SCAN                                                                                   \
	"SELECT seq, ts, publisher_id, publisher_name, publisher_traffic, publisher_quality,"      \
	" campaign_id, industry, location, device, impressions, clicks, apply_count,"              \
	" cost_micros, quality_score, stored_at <= NOW(6) - INTERVAL ? MICROSECOND"                \
	" FROM tracking WHERE seq > ? ORDER BY seq LIMIT ?"
#define SCAN_TYPES                                                                                 \
	"llls"                                                                                     \
	"sslsss"                                                                                   \
	"lllll"                                                                                    \
	"l"

#define SQL_MAXSEQ "SELECT COALESCE(MAX(seq), 0) FROM tracking"
#define SQL_COUNT  "SELECT COUNT(*) FROM tracking"

#define SQL_SCHEMA_VERSION "SELECT version FROM jobads_schema WHERE store = 'events'"

/*
 * The store's own GROUP BY, independent of the C aggregation, for `verify`.
 * 1e0 and 1e6 make the ratios DOUBLE (integer division would give DECIMAL with
 * four decimals).
 */
#define SQL_RECOMPUTE                                                                              \
	"SELECT (ts DIV 3600000) * 3600, campaign_id, publisher_id, industry, location, device,"   \
	" COUNT(*), CAST(SUM(impressions) AS SIGNED), CAST(SUM(clicks) AS SIGNED),"                \
	" CAST(SUM(apply_count) AS SIGNED), CAST(SUM(cost_micros) AS SIGNED),"                     \
	" CAST(SUM(quality_score) AS SIGNED),"                                                     \
	" SUM(CASE WHEN impressions > 0 THEN clicks * 1e0 / impressions ELSE 0e0 END),"            \
	" SUM(CASE WHEN clicks > 0 THEN cost_micros / 1e6 / clicks ELSE 0e0 END),"                 \
	" SUM(CASE WHEN apply_count > 0 THEN cost_micros / 1e6 / apply_count ELSE 0e0 END),"       \
	" SUM(CASE WHEN cost_micros > 0 THEN apply_count / (cost_micros / 1e6) ELSE 0e0 END)"      \
	" FROM tracking WHERE seq <= ? GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"

static int run(struct ev_mysql *e, MYSQL_STMT *st, MYSQL_BIND *params, const char *what,
	       struct jerr *err)
{
	return my_run(st, params, e->base.name, what, err);
}

static int ev_mysql_init(struct evstore *s, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	return my_exec_script(e->db, e->mariadb, sql_mysql_events, s->name, err);
}

static void close_stmt(MYSQL_STMT **st)
{
	if (*st)
		mysql_stmt_close(*st);
	*st = NULL;
}

static void clear_pending(struct ev_mysql *e)
{
	e->nrows = 0;
	strbuf_reset(&e->arena);
	memset(e->slots, 0, sizeof(e->slots));
}

static void ev_mysql_close(struct evstore *s)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	if (!e)
		return;
	if (e->started && e->db)
		mysql_rollback(e->db);
	for (int i = 0; i < INS_LEVELS; i++)
		close_stmt(&e->ins[i]);
	close_stmt(&e->check);
	close_stmt(&e->scan);
	close_stmt(&e->maxseq);
	if (e->scan_bound)
		my_cols_release(&e->scan_cols);
	if (e->db)
		mysql_close(e->db);
	memset(&e->url, 0, sizeof(e->url));
	strbuf_release(&e->arena);
	free(e->rows);
	free(e->pb);
	free(e->base.name);
	free(e);
}

static int ev_mysql_open(const char *target, enum store_mode mode, struct evstore **out,
			 struct jerr *err)
{
	struct ev_mysql *e = xcalloc(1, sizeof(*e));
	int r, version, init;
	e->base.ops = &evstore_mysql_ops;
	*out = NULL;
	r = my_url_parse(target, "ads_events", &e->url, &e->base.name, err);
	if (r != STORE_OK)
		goto fail;
	r = my_connect(&e->url, e->base.name, mode, 0, &e->db, &e->mariadb, err);
	if (r != STORE_OK)
		goto fail;
	/*
	 * READ COMMITTED: the duplicate check of a later block sees what other
	 * writers committed meanwhile, and inserts take no gap locks.
	 */
	r = my_exec(e->db, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", e->base.name,
		    "setting up the session", err);
	if (r != STORE_OK)
		goto fail;
	if ((r = my_schema_version(e->db, SQL_SCHEMA_VERSION, e->base.name, &version, err)) !=
		STORE_OK ||
	    (r = store_schema_check(e->base.name, "event store", version, 1, mode, &init, err)) !=
		STORE_OK ||
	    (init && (r = ev_mysql_init(&e->base, err)) != STORE_OK))
		goto fail;
	if ((r = my_prepare(e->db, SQL_MAXSEQ, &e->maxseq, e->base.name, err)) != STORE_OK)
		goto fail;
	*out = &e->base;
	return STORE_OK;
fail:
	ev_mysql_close(&e->base);
	return r;
}

static int ev_mysql_begin(struct evstore *s, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	(void)err;
	if (!e->rows) {
		e->rows = xcalloc(BLOCK, sizeof(*e->rows));
		e->pb = xcalloc((size_t)BLOCK * INS_COLS, sizeof(*e->pb));
	}
	clear_pending(e);
	e->in_txn = 1;
	e->started = 0;
	e->late_dups = 0;
	s->commit_dups = 0;
	return STORE_OK;
}

static uint32_t key_hash(int64_t ts, const char *id)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)ts;
	for (int i = 0; i < EV_UUID_LEN; i++)
		h = (h ^ (unsigned char)id[i]) * 1099511628211ULL;
	return (uint32_t)(h ^ (h >> 32));
}

/* The pending row with this key: its index + 1 slot, or the empty slot to use. */
static uint32_t *find_slot(struct ev_mysql *e, int64_t ts, const char *id, uint32_t h)
{
	uint32_t i = h & (NSLOTS - 1);
	for (;;) {
		uint32_t v = e->slots[i];
		if (v == 0)
			return &e->slots[i];
		const struct pend *p = &e->rows[v - 1];
		if (p->hash == h && p->ts == ts && memcmp(p->event_id, id, EV_UUID_LEN) == 0)
			return &e->slots[i];
		i = (i + 1) & (NSLOTS - 1);
	}
}

static size_t arena_add(struct ev_mysql *e, struct ev_str v, unsigned long *len)
{
	size_t off = e->arena.len;
	if (v.n) /* an absent field may have no pointer at all */
		strbuf_add(&e->arena, v.s, v.n);
	*len = v.n;
	return off;
}

static MYSQL_STMT *insert_stmt(struct ev_mysql *e, int level, struct jerr *err)
{
	if (!e->ins[level]) {
		struct strbuf sb = {0};
		unsigned rows = 1u << level;
		strbuf_addf(&sb, "%s", SQL_INSERT_HEAD);
		for (unsigned i = 0; i < rows; i++)
			strbuf_addf(&sb, "%s%s", i ? "," : "", SQL_INSERT_ROW);
		int r = my_prepare(e->db, sb.buf, &e->ins[level], e->base.name, err);
		strbuf_release(&sb);
		if (r != STORE_OK)
			return NULL;
	}
	return e->ins[level];
}

/* Mark the pending rows whose key is already stored. */
static int check_stored(struct ev_mysql *e, struct jerr *err)
{
	MYSQL_BIND p[BLOCK];
	struct my_cols c;
	int r, f;
	if (!e->check) {
		struct strbuf sb = {0};
		strbuf_addf(&sb, "SELECT ts, event_id FROM tracking WHERE ts IN (");
		for (unsigned i = 0; i < BLOCK; i++)
			strbuf_addf(&sb, "%s?", i ? "," : "");
		strbuf_addf(&sb, ")");
		r = my_prepare(e->db, sb.buf, &e->check, e->base.name, err);
		strbuf_release(&sb);
		if (r != STORE_OK)
			return r;
	}
	memset(p, 0, sizeof(p));
	for (unsigned i = 0; i < BLOCK; i++) {
		/* a short block repeats its first ts: the same rows, no other plan */
		e->check_ts[i] = e->rows[i < e->nrows ? i : 0].ts;
		my_bind_i64(&p[i], &e->check_ts[i]);
	}
	if ((r = run(e, e->check, p, "checking for duplicates", err)) != STORE_OK)
		return r;
	if ((r = my_cols_bind(&c, e->check, "ls", e->base.name, err)) != STORE_OK)
		return r;
	while ((f = my_fetch(&c, e->check, e->base.name, "checking for duplicates", err)) > 0) {
		if (c.len[1] != EV_UUID_LEN)
			continue;
		uint32_t h = key_hash(c.i[0], c.s[1]);
		uint32_t *slot = find_slot(e, c.i[0], c.s[1], h);
		if (*slot && !e->rows[*slot - 1].dup) {
			e->rows[*slot - 1].dup = 1;
			e->late_dups++;
		}
	}
	mysql_stmt_free_result(e->check);
	my_cols_release(&c);
	if (f < 0)
		return my_code_retryable(mysql_stmt_errno(e->check)) ? STORE_RETRY : STORE_ERROR;
	return STORE_OK;
}

static void bind_row(struct ev_mysql *e, MYSQL_BIND *b, struct pend *p)
{
	static my_bool yes = 1;
	char *a = e->arena.buf;
	my_bind_str(&b[0], p->event_id, &p->len[0], NULL);
	my_bind_i64(&b[1], &p->ts);
	my_bind_int(&b[2], &p->publisher_id);
	my_bind_str(&b[3], a + p->off[0], &p->len[1], NULL);
	my_bind_str(&b[4], a + p->off[1], &p->len[2], &p->null_traffic);
	my_bind_str(&b[5], a + p->off[2], &p->len[3], &p->null_quality);
	my_bind_i64(&b[6], &p->bid);
	b[6].is_null = p->null_bid ? &yes : NULL;
	my_bind_int(&b[7], &p->job_id);
	my_bind_int(&b[8], &p->campaign_id);
	my_bind_str(&b[9], a + p->off[3], &p->len[4], NULL);
	my_bind_str(&b[10], a + p->off[4], &p->len[5], NULL);
	my_bind_i64(&b[11], &p->impressions);
	my_bind_i64(&b[12], &p->clicks);
	my_bind_i64(&b[13], &p->apply_count);
	my_bind_i64(&b[14], &p->cost_micros);
	my_bind_int(&b[15], &p->quality_score);
	my_bind_str(&b[16], a + p->doff, &p->len[6], NULL);
	my_bind_int(&b[17], &p->hour);
	my_bind_int(&b[18], &p->day_of_week);
}

/* Send the pending rows: check which are stored, insert the others. */
static int flush(struct ev_mysql *e, struct jerr *err)
{
	uint32_t idx[BLOCK], n = 0;
	int r;
	if (e->nrows == 0)
		return STORE_OK;
	if (!e->started) {
		r = my_exec(e->db, "START TRANSACTION", e->base.name, "starting a transaction",
			    err);
		if (r != STORE_OK)
			return r;
		e->started = 1;
	}
	if ((r = check_stored(e, err)) != STORE_OK)
		return r;
	for (uint32_t i = 0; i < e->nrows; i++)
		if (!e->rows[i].dup)
			idx[n++] = i;
	uint32_t done = 0;
	for (int level = INS_LEVELS - 1; level >= 0; level--) {
		uint32_t rows = 1u << level;
		while (n - done >= rows) {
			MYSQL_STMT *st = insert_stmt(e, level, err);
			if (!st)
				return my_code_retryable(mysql_errno(e->db)) ? STORE_RETRY
									     : STORE_ERROR;
			memset(e->pb, 0, sizeof(*e->pb) * rows * INS_COLS);
			for (uint32_t k = 0; k < rows; k++)
				bind_row(e, e->pb + (size_t)k * INS_COLS, &e->rows[idx[done + k]]);
			if ((r = run(e, st, e->pb, "inserting events", err)) != STORE_OK)
				return r;
			/* a row another writer stored since the check is ignored: a duplicate */
			my_ulonglong stored = mysql_stmt_affected_rows(st);
			if (stored < rows)
				e->late_dups += (int64_t)(rows - stored);
			done += rows;
		}
	}
	clear_pending(e);
	return STORE_OK;
}

static int ev_mysql_insert(struct evstore *s, const struct event *ev, int *dup, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	uint32_t h = key_hash(ev->ts_ms, ev->event_id);
	uint32_t *slot;
	if (!e->in_txn) {
		jerr_set(err, "%s: insert outside a batch (begin first)", s->name);
		return STORE_ERROR;
	}
	slot = find_slot(e, ev->ts_ms, ev->event_id, h);
	if (*slot) {
		*dup = 1;
		return STORE_OK;
	}
	struct pend *p = &e->rows[e->nrows];
	memset(p, 0, sizeof(*p));
	memcpy(p->event_id, ev->event_id, EV_UUID_LEN + 1);
	p->len[0] = EV_UUID_LEN;
	p->hash = h;
	p->ts = ev->ts_ms;
	p->publisher_id = ev->publisher_id;
	p->off[0] = arena_add(e, ev->publisher_name, &p->len[1]);
	p->off[1] = arena_add(e, ev->publisher_traffic, &p->len[2]);
	p->null_traffic = ev->publisher_traffic.n == 0;
	p->off[2] = arena_add(e, ev->publisher_quality, &p->len[3]);
	p->null_quality = ev->publisher_quality.n == 0;
	p->bid = ev->bid;
	p->null_bid = ev->bid < 0;
	p->job_id = ev->job_id;
	p->campaign_id = ev->campaign_id;
	p->off[3] = arena_add(e, ev->industry, &p->len[4]);
	p->off[4] = arena_add(e, ev->location, &p->len[5]);
	p->impressions = ev->impressions;
	p->clicks = ev->clicks;
	p->apply_count = ev->apply_count;
	p->cost_micros = ev->cost_micros;
	p->quality_score = ev->quality_score;
	p->doff = arena_add(e, ev->device, &p->len[6]);
	p->hour = ev->hour;
	p->day_of_week = ev->day_of_week;
	*slot = ++e->nrows;
	*dup = 0;
	if (e->nrows == BLOCK)
		return flush(e, err);
	return STORE_OK;
}

static int ev_mysql_commit(struct evstore *s, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	int r = flush(e, err);
	if (r == STORE_OK && e->started && mysql_commit(e->db) != 0)
		r = my_fail(e->db, s->name, "committing the batch", err);
	if (r != STORE_OK) {
		if (e->started)
			mysql_rollback(e->db);
		s->commit_dups = 0;
	} else {
		s->commit_dups = e->late_dups;
	}
	clear_pending(e);
	e->in_txn = e->started = 0;
	e->late_dups = 0;
	return r;
}

static void ev_mysql_rollback(struct evstore *s)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	if (e->started)
		mysql_rollback(e->db);
	clear_pending(e);
	e->in_txn = e->started = 0;
	e->late_dups = 0;
}

static int ev_mysql_scan(struct evstore *s, int64_t after, size_t limit, ev_row_fn fn, void *arg,
			 size_t *nread, int64_t *upto, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	struct my_cols *c = &e->scan_cols;
	MYSQL_BIND p[3];
	struct event ev;
	int64_t settle_us = e->url.settle_ms * 1000, lim = (int64_t)limit;
	int64_t expect = after + 1;
	int f, r, stop = 0;
	size_t n = 0;

	*nread = 0;
	*upto = after;
	if (!e->scan) {
		if ((r = my_prepare(e->db, SQL_SCAN, &e->scan, s->name, err)) != STORE_OK)
			return r;
	}
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &settle_us);
	my_bind_i64(&p[1], &after);
	my_bind_i64(&p[2], &lim);
	if ((r = run(e, e->scan, p, "reading events", err)) != STORE_OK)
		return r;
	if (!e->scan_bound) {
		if ((r = my_cols_bind(c, e->scan, SCAN_TYPES, s->name, err)) != STORE_OK) {
			mysql_stmt_free_result(e->scan);
			return r;
		}
		e->scan_bound = 1;
	} else if (mysql_stmt_bind_result(e->scan, c->b) != 0) {
		r = my_stmt_fail(e->scan, s->name, "reading events", err);
		mysql_stmt_free_result(e->scan);
		return r;
	}
	memset(&ev, 0, sizeof(ev));
	ev.bid = -1;
	while ((f = my_fetch(c, e->scan, s->name, "reading events", err)) > 0) {
		ev.seq = c->i[0];
		/*
		 * A missing seq before this row belongs to a writer that has not
		 * committed yet, or to one that rolled back (or to a duplicate a
		 * foreign writer's INSERT IGNORE skipped). Only time tells them
		 * apart: stop here unless this row is older than the settle time.
		 */
		if (ev.seq != expect && !c->i[15])
			break;
		expect = ev.seq + 1;
		ev.ts_ms = c->i[1];
		ev.publisher_id = (int32_t)c->i[2];
		ev.publisher_name = my_col_str(c, 3);
		ev.publisher_traffic = my_col_str(c, 4);
		ev.publisher_quality = my_col_str(c, 5);
		ev.campaign_id = (int32_t)c->i[6];
		ev.industry = my_col_str(c, 7);
		ev.location = my_col_str(c, 8);
		ev.device = my_col_str(c, 9);
		ev.impressions = c->i[10];
		ev.clicks = c->i[11];
		ev.apply_count = c->i[12];
		ev.cost_micros = c->i[13];
		ev.quality_score = (int32_t)c->i[14];
		n++;
		*upto = ev.seq;
		if ((stop = fn(arg, &ev)) != 0)
			break;
	}
	if (!stop && f < 0)
		r = my_code_retryable(mysql_stmt_errno(e->scan)) ? STORE_RETRY : STORE_ERROR;
	mysql_stmt_free_result(e->scan);
	*nread = n;
	return stop ? stop : r;
}

static int one_int(struct ev_mysql *e, MYSQL_STMT *st, const char *what, int64_t *v,
		   struct jerr *err)
{
	struct my_cols c;
	int r = run(e, st, NULL, what, err);
	if (r != STORE_OK)
		return r;
	if ((r = my_cols_bind(&c, st, "l", e->base.name, err)) != STORE_OK)
		return r;
	int f = my_fetch(&c, st, e->base.name, what, err);
	*v = f > 0 && !c.null[0] ? c.i[0] : 0;
	mysql_stmt_free_result(st);
	my_cols_release(&c);
	if (f < 0)
		return my_code_retryable(mysql_stmt_errno(st)) ? STORE_RETRY : STORE_ERROR;
	return STORE_OK;
}

static int ev_mysql_stats(struct evstore *s, int64_t *max_seq, int64_t *rows, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	int r = one_int(e, e->maxseq, "reading the newest seq", max_seq, err);
	if (r != STORE_OK || !rows)
		return r;
	MYSQL_STMT *st;
	if ((r = my_prepare(e->db, SQL_COUNT, &st, s->name, err)) != STORE_OK)
		return r;
	r = one_int(e, st, "counting events", rows, err);
	mysql_stmt_close(st);
	return r;
}

static int ev_mysql_recompute(struct evstore *s, int64_t upto, fact_row_fn fn, void *arg,
			      struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	MYSQL_STMT *st;
	MYSQL_BIND p[1];
	struct my_cols c;
	struct fact_row fr;
	int f, stop = 0;
	int r = my_prepare(e->db, SQL_RECOMPUTE, &st, s->name, err);
	if (r != STORE_OK)
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &upto);
	if ((r = run(e, st, p, "recomputing aggregates", err)) != STORE_OK ||
	    (r = my_cols_bind(&c, st, MY_FACT_TYPES, s->name, err)) != STORE_OK) {
		mysql_stmt_close(st);
		return r;
	}
	while ((f = my_fetch(&c, st, s->name, "recomputing aggregates", err)) > 0) {
		my_fact_row(&c, &fr);
		if ((stop = fn(arg, &fr)) != 0)
			break;
	}
	if (!stop && f < 0)
		r = my_code_retryable(mysql_stmt_errno(st)) ? STORE_RETRY : STORE_ERROR;
	mysql_stmt_free_result(st);
	my_cols_release(&c);
	mysql_stmt_close(st);
	return stop ? stop : r;
}

const struct evstore_ops evstore_mysql_ops = {
    .scheme = "mysql",
    .open = ev_mysql_open,
    .close = ev_mysql_close,
    .init = ev_mysql_init,
    .begin = ev_mysql_begin,
    .insert = ev_mysql_insert,
    .commit = ev_mysql_commit,
    .rollback = ev_mysql_rollback,
    .scan = ev_mysql_scan,
    .stats = ev_mysql_stats,
    .recompute = ev_mysql_recompute,
};
