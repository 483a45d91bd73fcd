/*
 * mysql/events.c - the event store on MySQL 8 or MariaDB: table `tracking`,
 * seq = AUTO_INCREMENT, unique key (ts, event_id) as on SQLite.
 *
 * Ingest goes one of two ways: LOAD DATA LOCAL (events_load.c) or rows
 * (events_rows.c, which also holds the row buffer both fill, and the holds).
 *
 * LOAD DATA LOCAL (the default where the server allows it): insert() fills a
 * chunk of parsed rows and answers duplicates within it at once; a sender
 * thread takes full chunks and streams each through LOAD DATA LOCAL INFILE on
 * the batch's transaction while the caller parses the next one. The rows go as
 * tab-separated text the server stores as is (epoch ms, integer micros), from a
 * local-infile handler of our own that serves that text and nothing else: it
 * never opens a file, whatever name a server asks for.
 *
 * LOAD DATA takes AUTO_INCREMENT values the way it takes them for any insert of
 * unknown size: in growing batches, the unused rest left as a gap at the end of
 * each statement (10,000 rows took seq 1..16383), and every gap would make the
 * ETL wait the settle time. So the sender sets seq itself, from a range it
 * reserves for exactly the chunk's rows (reserve_seq): past both jobads_seq,
 * where jobads writers reserve, and the table's AUTO_INCREMENT counter, from
 * which any other writer takes. The chunk's highest seq goes first, which
 * moves that counter past the whole range before the rest follow. A seq the
 * chunk did not use, because its row was a duplicate, is recorded in
 * tracking_void in the same transaction, and scan() passes over it without
 * waiting; a row whose seq another writer took in between goes in again the
 * second way (post_check).
 *
 * Rows (with ?load=0, or where the server has local_infile off, as MySQL 8 by
 * default): insert() buffers rows; a full block (and commit) sends them: one
 * SELECT finds the block's keys already stored, then multi-row INSERT IGNORE
 * statements store the rest. Checking first keeps AUTO_INCREMENT from burning a
 * value for each duplicate. What the check finds, and the rare row a
 * concurrent writer stored in between, are reported by commit as late duplicates.
 *
 * Either way a transaction starts with the first rows sent and ends with the
 * batch, which the caller closes within a couple of seconds (src/core/
 * evbatch.c: on stall and on age). In the LOAD way the sender also commits it, at
 * a marker commit_start queues behind the batch's rows, while the caller reads
 * the next batch; commit_wait gives the outcome. Batches take turns on two
 * connections, so that one's COMMIT (a log flush) overlaps the next one's
 * load (ld_end_batch).
 *
 * Scan: seq values are taken at insert and become visible at commit, so seq
 * 100 may appear after 101. scan() reads past a missing seq only when the row
 * after it was stored more than the settle time ago (server clock), or when
 * tracking_void says no row will ever hold it: by then the writer that held
 * the missing value has committed or rolled back (design.md item 5).
 *
 * Holds: that "by then" is an assumption about foreign writers only. A jobads
 * writer's transaction says which seqs it holds in jobads_hold (its first seq
 * on, from its first chunk or block until its COMMIT or ROLLBACK is done),
 * renewing a lease while it lives, and scan() never passes a missing seq at
 * or after a live hold, however old the rows after it. A writer whose lease
 * ran out (it died, or stopped for longer than the lease) may have been
 * passed: it checks its lease just before COMMIT and rolls back instead.
 *
 * No MariaDB array binding here, unlike the analytics store: it takes
 * AUTO_INCREMENT values as LOAD DATA does, with a gap after every array.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eventstore.h"
#include "jobads/tz.h"

#include "jobads/banned.h"

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

#define SQL_VOIDS                                                                                  \
	"SELECT from_seq, to_seq FROM tracking_void WHERE to_seq > ? ORDER BY from_seq LIMIT 1024"
#define SQL_HELD	 "SELECT COALESCE(MIN(from_seq), 0) FROM jobads_hold WHERE lease_until > NOW(6)"
#define SQL_LOCAL_INFILE "SELECT @@local_infile"
#define SQL_COUNT	 "SELECT COUNT(*) FROM tracking"
#define SQL_BEHIND	 "SELECT COUNT(*) FROM tracking WHERE seq > ?"

#define SQL_SCHEMA_VERSION "SELECT version FROM jobads_schema WHERE store = 'events'"

/*
 * The store's own GROUP BY, independent of the C aggregation, for `verify`.
 * The sums are DECIMAL, read exactly (MY_SUM_TYPES) whatever their size.
 * 1e0 and 1e6 make the ratios DOUBLE (integer division would give DECIMAL with
 * four decimals).
 */
#define RECOMPUTE_HEAD(hour)                                                                       \
	"SELECT " hour ", campaign_id, publisher_id, industry, location, device,"                  \
	" COUNT(*), SUM(impressions), SUM(clicks), SUM(apply_count), SUM(cost_micros),"            \
	" SUM(quality_score),"                                                                     \
	" SUM(CASE WHEN impressions > 0 THEN clicks * 1e0 / impressions ELSE 0e0 END),"            \
	" SUM(CASE WHEN clicks > 0 THEN cost_micros / 1e6 / clicks ELSE 0e0 END),"                 \
	" SUM(CASE WHEN apply_count > 0 THEN cost_micros / 1e6 / apply_count ELSE 0e0 END),"       \
	" SUM(CASE WHEN cost_micros > 0 THEN apply_count / (cost_micros / 1e6) ELSE 0e0 END)"
#define RECOMPUTE_TAIL " GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"
#define SQL_RECOMPUTE                                                                              \
	RECOMPUTE_HEAD("(ts DIV 3600000) * 3600") " FROM tracking WHERE seq <= ?" RECOMPUTE_TAIL
/*
 * In a zone: the local hour's start, floor((t + off) / 3600) * 3600 - off, with
 * off the zone's offset at the event, from a CASE over the zone's spans that
 * meet the stored events' time range (a few for a year: one per DST change),
 * their bounds and offsets bound as parameters.
 */
#define RECOMPUTE_TZ_HEAD RECOMPUTE_HEAD("((ts DIV 1000 + o) DIV 3600) * 3600 - o")
#define RECOMPUTE_TZ_FROM                                                                          \
	" FROM (SELECT ts, campaign_id, publisher_id, industry, location, device, impressions,"    \
	" clicks, apply_count, cost_micros, quality_score,"
#define RECOMPUTE_TZ_WHERE " AS o FROM tracking WHERE seq <= ?) x"
#define SQL_TS_RANGE	   "SELECT MIN(ts), MAX(ts) FROM tracking"

static enum jrc ev_mysql_init(struct evstore *s, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	return my_exec_script(e->db, e->mariadb, sql_mysql_events, s->name, err);
}

/* Roll back what is open on k, close its statements, and its db if own_db. */
static void conn_release(struct conn *k, int own_db)
{
	if (k->started && k->db)
		mysql_rollback(k->db);
	k->started = 0;
	hold_release(k);
	for (int i = 0; i < INS_LEVELS; i++)
		close_stmt(&k->ins[i]);
	close_stmt(&k->check);
	close_stmt(&k->reserve);
	close_stmt(&k->post);
	close_stmt(&k->voidins);
	close_stmt(&k->hold);
	close_stmt(&k->renew);
	if (own_db && k->db)
		mysql_close(k->db);
	if (own_db)
		k->db = NULL;
}

static void ev_mysql_close(struct evstore *s)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	if (!e)
		return;
	ld_stop(e);
	conn_release(&e->c[1], 1);
	conn_release(&e->c[0], 0); /* its db is e->db */
	close_stmt(&e->scan);
	close_stmt(&e->maxseq);
	close_stmt(&e->voids);
	close_stmt(&e->holds);
	if (e->scan_bound)
		my_cols_release(&e->scan_cols);
	if (e->db)
		mysql_close(e->db);
	memset(&e->url, 0, sizeof(e->url));
	rowbuf_release(&e->blk);
	if (e->fill)
		e->fill->next = e->ld.pool;
	chunks_free(e->fill ? e->fill : e->ld.pool);
	strbuf_release(&e->ld.line);
	pthread_mutex_destroy(&e->ld.mu);
	pthread_cond_destroy(&e->ld.work);
	pthread_cond_destroy(&e->ld.space);
	free(e->pb);
	free(e->base.name);
	free(e);
}

static int one_int(struct ev_mysql *e, MYSQL_STMT *st, MYSQL_BIND *params, const char *what,
		   int64_t *v, struct jerr *err);

static enum jrc ev_mysql_open(const char *target, enum store_mode mode, struct evstore **out,
			      struct jerr *err)
{
	struct ev_mysql *e = xcalloc(1, sizeof(*e));
	int r, version, init;
	int64_t local_infile = 0;
	e->base.ops = &evstore_mysql_ops;
	pthread_mutex_init(&e->ld.mu, NULL);
	pthread_cond_init(&e->ld.work, NULL);
	pthread_cond_init(&e->ld.space, NULL);
	*out = NULL;
	r = my_url_parse(target, "ads_events", &e->url, &e->base.name, err);
	if (r != J_OK)
		goto fail;
	r = my_connect(&e->url, e->base.name, mode, e->url.no_load ? 0 : CLIENT_LOCAL_FILES, &e->db,
		       &e->mariadb, err);
	if (r != J_OK)
		goto fail;
	e->c[0].db = e->db;
	e->sconn = &e->c[0];
	if ((r = session_setup(e, e->db, err)) != J_OK)
		goto fail;
	if ((r = my_schema_version(e->db, SQL_SCHEMA_VERSION, e->base.name, &version, err)) !=
		J_OK ||
	    (r = store_schema_check(e->base.name, "event store", version, 3, mode, &init, err)) !=
		J_OK ||
	    (init && (r = ev_mysql_init(&e->base, err)) != J_OK))
		goto fail;
	if ((r = my_prepare(e->db, SQL_MAXSEQ, &e->maxseq, e->base.name, err)) != J_OK)
		goto fail;
	if (!e->url.no_load) {
		MYSQL_STMT *st;
		if ((r = my_prepare(e->db, SQL_LOCAL_INFILE, &st, e->base.name, err)) != J_OK)
			goto fail;
		r = one_int(e, st, NULL, "reading local_infile", &local_infile, err);
		mysql_stmt_close(st);
		if (r != J_OK)
			goto fail;
		e->load = local_infile != 0;
	}
	char host[64] = "";
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	snprintf(e->holder, sizeof(e->holder), "%s:%ld", host, (long)getpid());
	*out = &e->base;
	return J_OK;
fail:
	ev_mysql_close(&e->base);
	return r;
}

static enum jrc ev_mysql_begin(struct evstore *s, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	(void)err;
	if (!e->blk.rows) {
		rowbuf_init(&e->blk, BLOCK);
		e->pb = xcalloc((size_t)BLOCK * INS_COLS, sizeof(*e->pb));
	}
	rowbuf_clear(&e->blk);
	if (e->load && !e->fill) {
		e->fill = xcalloc(1, sizeof(*e->fill));
		rowbuf_init(&e->fill->b, LD_CHUNK);
	}
	if (e->fill)
		rowbuf_clear(&e->fill->b);
	if (!e->ld.running)
		atomic_store(&e->ld.idle, 1); /* no sender yet: the first chunk may go early */
	e->in_txn = 1;
	if (!e->load) {
		e->c[0].started = 0;
		e->late_dups = 0;
	} /* else the sender's, and a batch may still be committing */
	return J_OK;
}

static enum jrc ev_mysql_insert(struct evstore *s, const struct event *ev, int *dup,
				struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	if (!e->in_txn) {
		jerr_set(err, "%s: insert outside a batch (begin first)", s->name);
		return J_ERROR;
	}
	if (!e->load) {
		struct conn *k = &e->c[0];
		rowbuf_add(&e->blk, ev, dup);
		if (e->blk.n == BLOCK)
			return rows_flush(e, k, err);
		/* no sender thread here: a batch whose rows come slowly renews its hold itself */
		if (k->held && time_mono() - k->renewed_at > (double)e->url.lease_ms / 3000.0)
			return hold_renew(e, k, err);
		return J_OK;
	}
	struct rowbuf *b = &e->fill->b;
	rowbuf_add(b, ev, dup);
	/* a full chunk goes; so does a part of one when the sender would idle */
	if (!*dup &&
	    (b->n == LD_CHUNK || (b->n >= LD_EARLY && b->n % 64 == 0 && atomic_load(&e->ld.idle))))
		return ld_push(e, err);
	return J_OK;
}

/*
 * Start committing the batch: the LOAD way queues its last rows and a commit
 * marker behind them and returns, so the caller can parse the next batch while
 * the server commits this one; commit_wait gives the outcome.
 */
static enum jrc ev_mysql_commit_start(struct evstore *s, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	struct loader *l = &e->ld;
	int r;
	if (e->pending)
		BUG("%s: commit_start while a commit is pending (commit_wait first)", s->name);
	e->in_txn = 0;
	if (!e->load) {
		e->pending = 1;
		l->commit_rc = rows_commit(e, &l->commit_err);
		return J_OK;
	}
	r = ld_commit_start(e, err);
	if (r == J_OK)
		e->pending = 1;
	return r;
}

static enum jrc ev_mysql_commit_wait(struct evstore *s, int64_t *late_dups, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	struct loader *l = &e->ld;
	int r;
	*late_dups = 0;
	if (!e->pending)
		BUG("%s: commit_wait with no commit pending", s->name);
	e->pending = 0;
	pthread_mutex_lock(&l->mu);
	while (l->commits_done != l->commits_sent)
		pthread_cond_wait(&l->space, &l->mu);
	r = l->commit_rc;
	if (r != J_OK)
		*err = l->commit_err;
	*late_dups = r == J_OK ? l->commit_dups : 0;
	pthread_mutex_unlock(&l->mu);
	return r;
}

static enum jrc ev_mysql_commit(struct evstore *s, int64_t *late_dups, struct jerr *err)
{
	int r = ev_mysql_commit_start(s, err);
	if (r != J_OK) {
		*late_dups = 0;
		return r;
	}
	return ev_mysql_commit_wait(s, late_dups, err);
}

static void ev_mysql_rollback(struct evstore *s)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	if (e->load)
		ld_drop(e);
	rollback_conns(e);
	rowbuf_clear(&e->blk);
	if (e->fill)
		rowbuf_clear(&e->fill->b);
	e->in_txn = 0;
	e->late_dups = 0;
	e->pending = 0;
}

/* Read the void ranges that end after seq `after` (the first LD_VOIDS of them). */
static int read_voids(struct ev_mysql *e, int64_t after, struct jerr *err)
{
	MYSQL_BIND p[1];
	struct my_cols c;
	int r, f;
	e->nvoids = 0;
	if (!e->voids && (r = my_prepare(e->db, SQL_VOIDS, &e->voids, e->base.name, err)))
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &after);
	if ((r = run(e, e->voids, p, "reading unused seq values", err)) != J_OK)
		return r;
	if ((r = my_cols_bind(&c, e->voids, "ll", e->base.name, err)) != J_OK) {
		mysql_stmt_free_result(e->voids);
		return r;
	}
	while ((f = my_fetch(&c, e->voids, e->base.name, "reading unused seq values", err)) > 0 &&
	       e->nvoids < LD_VOIDS) {
		e->void_from[e->nvoids] = c.i[0];
		e->void_to[e->nvoids++] = c.i[1];
	}
	mysql_stmt_free_result(e->voids);
	my_cols_release(&c);
	return f < 0 ? stmt_code(e->voids) : J_OK;
}

/* Do the void ranges cover every seq from .. to_excl - 1? */
static int void_covers(const struct ev_mysql *e, int64_t from, int64_t to_excl)
{
	int64_t at = from;
	for (int i = 0; i < e->nvoids && at < to_excl; i++) {
		if (e->void_to[i] < at)
			continue;
		if (e->void_from[i] > at)
			return 0;
		at = e->void_to[i] + 1;
	}
	return at >= to_excl;
}

/*
 * One pass of scan: rows after `after`, at most `limit`, up to a missing seq it
 * may not pass. *more says the pass stopped at a missing seq beyond the void
 * ranges it had read (LD_VOIDS of them, all ending before the gap): another
 * pass from there reads the next ones.
 */
static enum jrc scan_pass(struct ev_mysql *e, int64_t after, int64_t lim, ev_row_fn fn, void *arg,
			  size_t *nread, int64_t *upto, int *more, struct jerr *err)
{
	struct evstore *s = &e->base;
	struct my_cols *c = &e->scan_cols;
	MYSQL_BIND p[3];
	struct event ev;
	int64_t settle_us = e->url.settle_ms * 1000;
	int64_t expect = after + 1, held = 0;
	int f, r, stop = 0;
	size_t n = 0;

	*more = 0;
	if ((r = read_voids(e, after, err)) != J_OK)
		return r;
	/*
	 * Before the rows: a hold dropped after this look belongs to a transaction
	 * already over, whose rows the scan below sees; one taken after it is on
	 * seqs newer than the settle time.
	 */
	if (!e->holds && (r = my_prepare(e->db, SQL_HELD, &e->holds, s->name, err)) != J_OK)
		return r;
	if ((r = one_int(e, e->holds, NULL, "reading the writers' holds", &held, err)) != J_OK)
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &settle_us);
	my_bind_i64(&p[1], &after);
	my_bind_i64(&p[2], &lim);
	if ((r = run(e, e->scan, p, "reading events", err)) != J_OK)
		return r;
	if (!e->scan_bound) {
		if ((r = my_cols_bind(c, e->scan, SCAN_TYPES, s->name, err)) != J_OK) {
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
		 * apart: stop here unless this row is older than the settle time
		 * and no live jobads writer holds the missing seqs, or
		 * tracking_void says they will never be used.
		 */
		if (ev.seq != expect && (!c->i[15] || (held > 0 && held < ev.seq)) &&
		    !void_covers(e, expect, ev.seq)) {
			*more = e->nvoids == LD_VOIDS && e->void_to[LD_VOIDS - 1] < ev.seq - 1;
			break;
		}
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
		r = my_code_retryable(mysql_stmt_errno(e->scan)) ? J_RETRY : J_ERROR;
	mysql_stmt_free_result(e->scan);
	*nread = n;
	return stop ? stop : r;
}

/*
 * Passes until the limit, the newest row or a missing seq that may not be
 * passed: a gap met past the void ranges one pass read is judged on the next
 * ranges, as a scan starting there would (a run from seq 0 stopped at the
 * 1,024th void range where a run from later went on).
 */
static enum jrc ev_mysql_scan(struct evstore *s, int64_t after, size_t limit, ev_row_fn fn,
			      void *arg, size_t *nread, int64_t *upto, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	int64_t lim = (int64_t)limit;
	int more = 1, r = J_OK;

	*nread = 0;
	*upto = after;
	if (!e->scan && (r = my_prepare(e->db, SQL_SCAN, &e->scan, s->name, err)) != J_OK)
		return r;
	while (more && (int64_t)*nread < lim) {
		size_t n = 0;
		int64_t from = *upto;
		r = scan_pass(e, from, lim - (int64_t)*nread, fn, arg, &n, upto, &more, err);
		*nread += n;
		if (r != J_OK || *upto == from)
			break; /* no progress: the next ranges start at the gap, as read */
	}
	return r;
}

static int one_int(struct ev_mysql *e, MYSQL_STMT *st, MYSQL_BIND *params, const char *what,
		   int64_t *v, struct jerr *err)
{
	struct my_cols c;
	int r = run(e, st, params, what, err);
	if (r != J_OK)
		return r;
	if ((r = my_cols_bind(&c, st, "l", e->base.name, err)) != J_OK)
		return r;
	int f = my_fetch(&c, st, e->base.name, what, err);
	*v = f > 0 && !c.null[0] ? c.i[0] : 0;
	mysql_stmt_free_result(st);
	my_cols_release(&c);
	if (f < 0)
		return my_code_retryable(mysql_stmt_errno(st)) ? J_RETRY : J_ERROR;
	return J_OK;
}

static enum jrc ev_mysql_stats(struct evstore *s, int64_t *max_seq, int64_t *rows, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	int r = one_int(e, e->maxseq, NULL, "reading the newest seq", max_seq, err);
	if (r != J_OK || !rows)
		return r;
	MYSQL_STMT *st;
	if ((r = my_prepare(e->db, SQL_COUNT, &st, s->name, err)) != J_OK)
		return r;
	r = one_int(e, st, NULL, "counting events", rows, err);
	mysql_stmt_close(st);
	return r;
}

static enum jrc ev_mysql_behind(struct evstore *s, int64_t cursor, int64_t *n, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	MYSQL_STMT *st;
	MYSQL_BIND p;
	int r = my_prepare(e->db, SQL_BEHIND, &st, s->name, err);
	if (r != J_OK)
		return r;
	memset(&p, 0, sizeof(p));
	my_bind_i64(&p, &cursor);
	r = one_int(e, st, &p, "counting events behind the cursor", n, err);
	mysql_stmt_close(st);
	return r;
}

/* The zone's spans that meet the stored events' time range: [*i0, *i1]. */
static int tz_range(struct ev_mysql *e, const struct tz *tz, size_t *i0, size_t *i1,
		    struct jerr *err)
{
	MYSQL_STMT *st;
	struct my_cols c;
	size_t n;
	const struct tz_span *sp = tz_spans(tz, &n);
	int64_t lo = 0, hi = 0;
	int r = my_prepare(e->db, SQL_TS_RANGE, &st, e->base.name, err);
	if (r != J_OK)
		return r;
	if ((r = run(e, st, NULL, "reading the events' time range", err)) == J_OK &&
	    (r = my_cols_bind(&c, st, "ll", e->base.name, err)) == J_OK) {
		int got = my_fetch(&c, st, e->base.name, "reading the events' time range", err);
		if (got > 0 && !c.null[0]) {
			lo = c.i[0] / 1000 - 1;
			hi = c.i[1] / 1000 + 1;
		}
		r = my_fetch_end(st, &c, got, 0, r);
	}
	mysql_stmt_close(st);
	*i0 = 0;
	while (*i0 + 1 < n && sp[*i0].to_s <= lo)
		(*i0)++;
	*i1 = *i0;
	while (*i1 + 1 < n && sp[*i1].to_s <= hi)
		(*i1)++;
	return r;
}

static enum jrc ev_mysql_recompute(struct evstore *s, int64_t upto, const struct tz *tz,
				   fact_row_fn fn, void *arg, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	MYSQL_STMT *st;
	MYSQL_BIND *p;
	struct my_cols c;
	struct fact_row fr;
	struct strbuf sql = {0};
	size_t i0 = 0, i1 = 0, np = 1, n;
	int64_t *bound = NULL;
	int32_t *off = NULL;
	int f, stop = 0, r = J_OK;
	const struct tz_span *sp = tz ? tz_spans(tz, &n) : NULL;

	if (tz && (r = tz_range(e, tz, &i0, &i1, err)) != J_OK)
		return r;
	if (tz) {
		size_t k = i1 - i0; /* the WHEN branches; the last span is the ELSE */
		np = 2 * k + 2;
		bound = xcalloc(k + 1, sizeof(*bound));
		off = xcalloc(k + 1, sizeof(*off));
		strbuf_addf(&sql, "%s%s%s", RECOMPUTE_TZ_HEAD, RECOMPUTE_TZ_FROM, k ? " CASE" : "");
		for (size_t i = 0; i < k; i++)
			strbuf_addf(&sql, " WHEN ts < ? THEN ?");
		strbuf_addf(&sql, " %s%s%s", k ? "ELSE ? END" : "?", RECOMPUTE_TZ_WHERE,
			    RECOMPUTE_TAIL);
	}
	p = xcalloc(np, sizeof(*p));
	if (tz) {
		size_t j = 0, i;
		for (i = i0; i < i1; i++, j += 2) {
			bound[i - i0] = sp[i].to_s * 1000;
			off[i - i0] = sp[i].offset_s;
			my_bind_i64(&p[j], &bound[i - i0]);
			my_bind_int(&p[j + 1], &off[i - i0]);
		}
		off[i1 - i0] = sp[i1].offset_s;
		my_bind_int(&p[j], &off[i1 - i0]);
	}
	my_bind_i64(&p[np - 1], &upto);
	if ((r = my_prepare(e->db, tz ? sql.buf : SQL_RECOMPUTE, &st, s->name, err)) != J_OK)
		goto out;
	if ((r = run(e, st, p, "recomputing aggregates", err)) != J_OK ||
	    (r = my_cols_bind(&c, st, "lllsss" MY_SUM_TYPES, s->name, err)) != J_OK) {
		mysql_stmt_close(st);
		goto out;
	}
	while ((f = my_fetch(&c, st, s->name, "recomputing aggregates", err)) > 0) {
		my_fact_row(&c, &fr);
		if ((stop = fn(arg, &fr)) != 0)
			break;
	}
	r = my_fetch_end(st, &c, f, stop, r);
	mysql_stmt_close(st);
out:
	strbuf_release(&sql);
	free(p);
	free(bound);
	free(off);
	return r;
}

/* --- retention (jobads prune, issue 16) --- */

#define SQL_PRUNE_FIRST "SELECT COALESCE(MIN(seq), 1) - 1 FROM tracking"
#define SQL_PRUNE_STEP                                                                             \
	"SELECT seq FROM tracking WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT 1 OFFSET ?"
#define SQL_PRUNE_DELETE "DELETE FROM tracking WHERE seq > ? AND seq <= ? AND ts < ?"
#define SQL_PRUNE_VOID                                                                             \
	"INSERT INTO tracking_void (from_seq, to_seq) VALUES (?, ?)"                               \
	" ON DUPLICATE KEY UPDATE to_seq = GREATEST(to_seq, VALUES(to_seq))"

/*
 * Windows of `batch` seqs from the lowest stored one, each one autocommitted
 * DELETE on the primary key's range: READ COMMITTED (session_setup) takes no
 * gap locks, and ingest writes seqs past the cursor, so it never waits for one.
 * The newest row always stays: the ETL's check that its cursor is not past the
 * newest event reads it. The range pruned goes to tracking_void first: a
 * rebuild's scan from seq 0 would otherwise take each pruned gap for a writer
 * not committed yet and wait out the settle time at it, where the rows after
 * the gap are younger than that. No writer holds a seq at or below the
 * cursor, so the range may cover rows that stay; the scan reads those anyway.
 */
static enum jrc ev_mysql_prune(struct evstore *s, int64_t before_ms, int64_t upto, size_t batch,
			       void (*progress)(void *arg, int64_t deleted), void *arg,
			       int64_t *deleted, struct jerr *err)
{
	struct ev_mysql *e = (struct ev_mysql *)s;
	MYSQL_STMT *first = NULL, *step = NULL, *del = NULL, *vd = NULL;
	MYSQL_BIND p[3];
	int64_t max_seq, lo, hi, from, off = (int64_t)batch - 1;
	int r = one_int(e, e->maxseq, NULL, "reading the newest seq", &max_seq, err);
	if (r != J_OK)
		return r;
	if (upto >= max_seq)
		upto = max_seq - 1;
	if ((r = my_prepare(e->db, SQL_PRUNE_FIRST, &first, s->name, err)) != J_OK ||
	    (r = my_prepare(e->db, SQL_PRUNE_STEP, &step, s->name, err)) != J_OK ||
	    (r = my_prepare(e->db, SQL_PRUNE_DELETE, &del, s->name, err)) != J_OK ||
	    (r = my_prepare(e->db, SQL_PRUNE_VOID, &vd, s->name, err)) != J_OK ||
	    (r = one_int(e, first, NULL, "reading the oldest seq", &lo, err)) != J_OK)
		goto out;
	from = lo + 1;
	while (lo < upto) {
		int64_t found = 0;
		memset(p, 0, sizeof(p));
		my_bind_i64(&p[0], &lo);
		my_bind_i64(&p[1], &upto);
		my_bind_i64(&p[2], &off);
		if ((r = one_int(e, step, p, "reading events to prune", &found, err)) != J_OK)
			break;
		hi = found > lo ? found : upto; /* no row there: the window runs to upto */
		memset(p, 0, sizeof(p));
		my_bind_i64(&p[0], &from);
		my_bind_i64(&p[1], &hi);
		if ((r = run(e, vd, p, "recording the pruned seqs", err)) != J_OK)
			break;
		memset(p, 0, sizeof(p));
		my_bind_i64(&p[0], &lo);
		my_bind_i64(&p[1], &hi);
		my_bind_i64(&p[2], &before_ms);
		double t0 = time_mono();
		if ((r = run(e, del, p, "deleting pruned events", err)) != J_OK)
			break;
		*deleted += (int64_t)mysql_stmt_affected_rows(del);
		/*
		 * As long again idle: the server's deletes take the CPU and the log
		 * that ingest needs (without the pause, ingest ran at 0.47-0.52 of its
		 * rate alone during a prune on two cores).
		 */
		double took = time_mono() - t0;
		if (took > 0) {
			struct timespec ts = {0, (long)((took < 0.1 ? took : 0.1) * 1e9)};
			nanosleep(&ts, NULL);
		}
		lo = hi;
		if (progress)
			progress(arg, *deleted);
	}
out:
	if (first)
		mysql_stmt_close(first);
	if (step)
		mysql_stmt_close(step);
	if (del)
		mysql_stmt_close(del);
	if (vd)
		mysql_stmt_close(vd);
	return r;
}

/* --- end of retention --- */

const struct evstore_ops evstore_mysql_ops = {
    .version = EVSTORE_OPS_VERSION,
    .scheme = "mysql",
    .open = ev_mysql_open,
    .close = ev_mysql_close,
    .init = ev_mysql_init,
    .begin = ev_mysql_begin,
    .insert = ev_mysql_insert,
    .commit = ev_mysql_commit,
    .commit_start = ev_mysql_commit_start,
    .commit_wait = ev_mysql_commit_wait,
    .rollback = ev_mysql_rollback,
    .scan = ev_mysql_scan,
    .stats = ev_mysql_stats,
    .behind = ev_mysql_behind,
    .recompute = ev_mysql_recompute,
    .prune = ev_mysql_prune,
};
