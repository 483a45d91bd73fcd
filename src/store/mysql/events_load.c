/*
 * mysql/events_load.c - the event store's LOAD DATA LOCAL way: insert() fills
 * a chunk of parsed rows, a sender thread streams each full chunk through
 * LOAD DATA LOCAL INFILE on the batch's transaction, from a local-infile
 * handler that serves our rows and never a file, with seqs it reserved for
 * exactly the chunk's rows; duplicates' seqs go to tracking_void, rows whose
 * seq another writer took go in again the rows way (post_check); batches take
 * turns on two connections so that one's COMMIT overlaps the next one's load.
 * The design is in events.c's header.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/keyset.h"
#include "eventstore.h"

#include <mysqld_error.h>

#include "jobads/banned.h"

/*
 * The LOAD way. Columns as the handler writes them, tab-separated, with
 * LOAD DATA's default escapes (\\ \t \n \r \0) and \N for NULL.
 */
#define SQL_LOAD                                                                                   \
	"LOAD DATA LOCAL INFILE '" LD_NAME "' IGNORE INTO TABLE tracking CHARACTER SET binary"     \
	" (seq, " INS_COLS_SQL ")"
/*
 * Reserve ? seqs past both jobads_seq and tracking's AUTO_INCREMENT counter,
 * from which other writers take (live on MariaDB, and on MySQL 8 with the
 * session's information_schema_stats_expiry at 0). jobads_seq is a MEMORY
 * table: its row is not locked until commit and costs no log flush. The range
 * ends at LAST_INSERT_ID(). The three ? are the same count.
 */
#define SQL_RESERVE                                                                                \
	"INSERT INTO jobads_seq (name, next_seq)"                                                  \
	" SELECT 'tracking', LAST_INSERT_ID(COALESCE(AUTO_INCREMENT, 1) + ?)"                      \
	" FROM information_schema.tables"                                                          \
	" WHERE table_schema = DATABASE() AND table_name = 'tracking'"                             \
	" ON DUPLICATE KEY UPDATE"                                                                 \
	" next_seq = LAST_INSERT_ID(GREATEST(jobads_seq.next_seq, VALUES(next_seq) - ?) + ?)"
#define SQL_POST     "SELECT seq, ts, event_id FROM tracking WHERE seq BETWEEN ? AND ?"
#define SQL_VOID_INS "INSERT INTO tracking_void (from_seq, to_seq) VALUES (?, ?)"

/*
 * The tests' seam for a taken seq range (tests/fault/mysql_seq_shift.c, which
 * t_load.sh preloads into one ingest): where a library defines it, each chunk
 * starts that many seqs before its reserved range, onto rows already stored,
 * as if another writer had taken them in between, and post_check must move
 * them. In every real run nothing defines it and the weak reference is NULL:
 * the module is loaded with dlopen, so the reference resolves against the
 * process's global scope, where only a preloaded library can put it.
 */
extern int64_t jobads_fault_mysql_seq_shift(void) __attribute__((weak, visibility("default")));

static void put_u64(struct strbuf *sb, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	strbuf_grow(sb, (size_t)n);
	while (n)
		sb->buf[sb->len++] = tmp[--n];
	sb->buf[sb->len] = '\0';
}

static void put_i64(struct strbuf *sb, int64_t v)
{
	if (v < 0) {
		strbuf_add(sb, "-", 1);
		put_u64(sb, 0 - (uint64_t)v);
	} else {
		put_u64(sb, (uint64_t)v);
	}
}

/* Text with LOAD DATA's escapes: the bytes it would read as a separator or escape. */
static void put_text(struct strbuf *sb, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *esc;
		switch (s[i]) {
		case '\\':
			esc = "\\\\";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\0':
			esc = "\\0";
			break;
		default:
			continue;
		}
		strbuf_add(sb, s + start, i - start);
		strbuf_add(sb, esc, 2);
		start = i + 1;
	}
	strbuf_add(sb, s + start, n - start);
}

/* A field and its tab: an integer, or text (NULL as \N). */
static void field_i64(struct strbuf *sb, int64_t v)
{
	put_i64(sb, v);
	strbuf_add(sb, "\t", 1);
}

static void field_text(struct strbuf *sb, const char *s, size_t n, int null)
{
	if (null)
		strbuf_add(sb, "\\N", 2);
	else
		put_text(sb, s, n);
	strbuf_add(sb, "\t", 1);
}

/* One line of the chunk: seq, then the columns of INS_COLS_SQL. */
static void put_row(struct strbuf *sb, const struct chunk *c, uint32_t i)
{
	const struct pend *p = &c->b.rows[i];
	const char *a = c->b.arena.buf;
	field_i64(sb, c->base + i);
	field_text(sb, p->event_id, EV_UUID_LEN, 0);
	field_i64(sb, p->ts);
	field_i64(sb, p->publisher_id);
	field_text(sb, a + p->off[0], p->len[1], 0);
	field_text(sb, a + p->off[1], p->len[2], p->null_traffic);
	field_text(sb, a + p->off[2], p->len[3], p->null_quality);
	if (p->null_bid)
		field_text(sb, NULL, 0, 1);
	else
		field_i64(sb, p->bid);
	field_i64(sb, p->job_id);
	field_i64(sb, p->campaign_id);
	field_text(sb, a + p->off[3], p->len[4], 0);
	field_text(sb, a + p->off[4], p->len[5], 0);
	field_i64(sb, p->impressions);
	field_i64(sb, p->clicks);
	field_i64(sb, p->apply_count);
	field_i64(sb, p->cost_micros);
	field_i64(sb, p->quality_score);
	field_text(sb, a + p->doff, p->len[6], 0);
	field_i64(sb, p->hour);
	field_i64(sb, p->day_of_week);
	sb->buf[sb->len - 1] = '\n'; /* the last field's tab ends the line */
}

/* The local-infile handler: it serves the sender's current chunk, never a file. */
static int ld_init(void **ptr, const char *filename, void *userdata)
{
	struct ev_mysql *e = userdata;
	*ptr = e;
	/* nonzero: refused; ld_error says why */
	return !e->ld.cur || strcmp(filename, LD_NAME) != 0;
}

static int ld_read(void *ptr, char *buf, unsigned int len)
{
	struct ev_mysql *e = ptr;
	struct loader *l = &e->ld;
	struct chunk *c = l->cur;
	unsigned int out = 0;
	if (!c)
		return -1;
	while (out < len) {
		if (l->line_off == l->line.len) {
			if (l->next_row == c->b.n)
				break;
			/* the highest seq first: it moves AUTO_INCREMENT past the range */
			uint32_t k = l->next_row++;
			strbuf_reset(&l->line);
			put_row(&l->line, c, k == 0 ? c->b.n - 1 : k - 1);
			l->line_off = 0;
		}
		size_t take = l->line.len - l->line_off;
		if (take > len - out)
			take = len - out;
		memcpy(buf + out, l->line.buf + l->line_off, take);
		l->line_off += take;
		out += (unsigned int)take;
	}
	return (int)out;
}

static void ld_end(void *ptr)
{
	(void)ptr;
}

static int ld_error(void *ptr, char *msg, unsigned int len)
{
	struct ev_mysql *e = ptr;
	snprintf(msg, len, "the server asked for a file; jobads sends only its own rows%s",
		 e->ld.cur ? "" : " (and none were being sent)");
	return 2000; /* CR_UNKNOWN_ERROR */
}

/* Whatever file a server asks for on db, only ld_read answers, with our rows. */
void ld_set_handler(struct ev_mysql *e, MYSQL *db)
{
	mysql_set_local_infile_handler(db, ld_init, ld_read, ld_end, ld_error, e);
}

/* The session of every connection of the event store (open's and the loader's). */
int session_setup(struct ev_mysql *e, MYSQL *db, struct jerr *err)
{
	int r;
	ld_set_handler(e, db);
	/*
	 * READ COMMITTED: the duplicate check of a later block sees what other
	 * writers committed meanwhile, and inserts take no gap locks.
	 */
	r = my_exec(db, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", e->base.name,
		    "setting up the session", err);
	/* MySQL 8 caches information_schema.tables.AUTO_INCREMENT; read it live */
	if (r == J_OK && !e->mariadb)
		r = my_exec(db, "SET SESSION information_schema_stats_expiry = 0", e->base.name,
			    "setting up the session", err);
	return r;
}

/* The sender's connection for the next batch, connected on first use. */
static int conn_ready(struct ev_mysql *e, struct conn *k, struct jerr *err)
{
	int mariadb, r;
	if (k->db)
		return J_OK;
	r = my_connect(&e->url, e->base.name, STORE_OPEN_EXISTING, CLIENT_LOCAL_FILES, &k->db,
		       &mariadb, err);
	if (r == J_OK && (r = session_setup(e, k->db, err)) != J_OK) {
		mysql_close(k->db);
		k->db = NULL;
	}
	return r;
}

/* Reserve c->b.n seqs for chunk c (sets c->base). */
static int reserve_seq(struct ev_mysql *e, struct conn *k, struct chunk *c, struct jerr *err)
{
	MYSQL_BIND p[3];
	int64_t n = c->b.n;
	int r;
	if (!k->reserve && (r = my_prepare(k->db, SQL_RESERVE, &k->reserve, e->base.name, err)))
		return r;
	memset(p, 0, sizeof(p));
	for (int i = 0; i < 3; i++)
		my_bind_i64(&p[i], &n);
	if ((r = run(e, k->reserve, p, "reserving seq values", err)) != J_OK)
		return r;
	int64_t shift = jobads_fault_mysql_seq_shift ? jobads_fault_mysql_seq_shift() : 0;
	c->base = (int64_t)mysql_stmt_insert_id(k->reserve) - n - shift;
	if (c->base < 1) {
		jerr_set(err, "%s: reserving seq values: got %" PRId64, e->base.name, c->base);
		return J_ERROR;
	}
	return J_OK;
}

/* Record seqs from .. to as never to be used (in the batch's transaction). */
static int add_void(struct ev_mysql *e, struct conn *k, int64_t from, int64_t to, struct jerr *err)
{
	MYSQL_BIND p[2];
	int r;
	if (!k->voidins && (r = my_prepare(k->db, SQL_VOID_INS, &k->voidins, e->base.name, err)))
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &from);
	my_bind_i64(&p[1], &to);
	return run(e, k->voidins, p, "recording unused seq values", err);
}

/*
 * Some of chunk c's rows were skipped. Find out which: a row missing at its
 * seq was a duplicate (its seq goes to tracking_void); a row whose seq holds
 * another writer's row goes in again the rows way, which checks and counts
 * duplicates itself.
 */
static int post_check(struct ev_mysql *e, struct conn *k, struct chunk *c, struct jerr *err)
{
	MYSQL_BIND p[2];
	struct my_cols cols;
	int64_t from = c->base, to = c->base + c->b.n - 1;
	unsigned char *mark = xcalloc(c->b.n, 1); /* 0 missing, 1 ours, 2 another row */
	int r, f;
	if (!k->post && (r = my_prepare(k->db, SQL_POST, &k->post, e->base.name, err)))
		goto out;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &from);
	my_bind_i64(&p[1], &to);
	if ((r = run(e, k->post, p, "checking loaded events", err)) != J_OK)
		goto out;
	if ((r = my_cols_bind(&cols, k->post, "lls", e->base.name, err)) != J_OK)
		goto out;
	while ((f = my_fetch(&cols, k->post, e->base.name, "checking loaded events", err)) > 0) {
		uint32_t i = (uint32_t)(cols.i[0] - from);
		const struct pend *pr = &c->b.rows[i];
		mark[i] = pr->ts == cols.i[1] && cols.len[2] == EV_UUID_LEN &&
				  memcmp(pr->event_id, cols.s[2], EV_UUID_LEN) == 0
			      ? 1
			      : 2;
	}
	mysql_stmt_free_result(k->post);
	my_cols_release(&cols);
	if (f < 0) {
		r = stmt_code(k->post);
		goto out;
	}
	for (uint32_t i = 0; i < c->b.n && r == J_OK;) {
		if (mark[i] == 1) {
			i++;
		} else if (mark[i] == 0) {
			uint32_t j = i;
			while (j + 1 < c->b.n && mark[j + 1] == 0)
				j++;
			e->late_dups += j - i + 1;
			r = add_void(e, k, from + i, from + j, err);
			i = j + 1;
		} else {
			struct event ev;
			int dup;
			rowbuf_event(&c->b, i, &ev);
			rowbuf_add(&e->blk, &ev, &dup);
			if (dup) /* the same key twice in one chunk cannot be: insert() checked */
				e->late_dups++;
			if (e->blk.n == e->blk.cap)
				r = rows_flush(e, k, err);
			i++;
		}
	}
	if (r == J_OK)
		r = rows_flush(e, k, err);
out:
	free(mark);
	return r;
}

/*
 * The server changed n values of chunk c as it loaded them (a column narrower
 * than jobads validates for, say): name the first one and its event.
 */
static int changed_values(struct ev_mysql *e, struct conn *k, const struct chunk *c,
			  unsigned long n, struct jerr *err)
{
	char msg[512] = "";
	int code = 0;
	MYSQL_RES *res;
	MYSQL_ROW row;
	if (mysql_query(k->db, "SHOW WARNINGS") == 0 && (res = mysql_store_result(k->db))) {
		while ((row = mysql_fetch_row(res))) {
			int wcode = row[1] ? atoi(row[1]) : 0;
			if (wcode && wcode != ER_DUP_ENTRY &&
			    row[2]) { /* not a skipped duplicate */
				code = wcode;
				snprintf(msg, sizeof(msg), "%s", row[2]);
				break;
			}
		}
		mysql_free_result(res);
	}
	/*
	 * "at row K": the K-th line sent, and the chunk's last row went first. The
	 * row is in the warning's text only: SHOW WARNINGS has no row column, and
	 * MySQL 8's GET DIAGNOSTICS no ROW_NUMBER (MariaDB's has since 10.7). The
	 * text serves only to name the event; the decision (fail the batch) was
	 * made by the counts, and an unrecognised text leaves the event unnamed.
	 */
	const char *at = strstr(msg, "at row ");
	unsigned long line = at ? strtoul(at + 7, NULL, 10) : 0;
	if (line >= 1 && line <= c->b.n) {
		uint32_t i = line == 1 ? c->b.n - 1 : (uint32_t)(line - 2);
		jerr_setc(err, code,
			  "%s: loading events: the server would change %lu value(s); event %s: %s",
			  e->base.name, n, c->b.rows[i].event_id, msg);
	} else {
		jerr_setc(err, code, "%s: loading events: the server would change %lu value(s)%s%s",
			  e->base.name, n, msg[0] ? ": " : "", msg);
	}
	return J_ERROR;
}

/* Send chunk c: reserve its seqs, LOAD it, account for what was skipped. */
static int ld_send(struct ev_mysql *e, struct chunk *c, struct jerr *err)
{
	struct loader *l = &e->ld;
	struct conn *k = e->sconn;
	unsigned long records = 0, deleted = 0, skipped = 0, warnings = 0;
	int r;
	if ((r = conn_ready(e, k, err)) != J_OK || (r = start_txn(e, k, err)) != J_OK ||
	    (r = reserve_seq(e, k, c, err)) != J_OK || (r = hold_take(e, k, c->base, err)) != J_OK)
		return r;
	l->cur = c;
	l->next_row = 0;
	strbuf_reset(&l->line);
	l->line_off = 0;
	if (mysql_real_query(k->db, SQL_LOAD, (unsigned long)strlen(SQL_LOAD)) != 0) {
		l->cur = NULL;
		return my_fail(k->db, e->base.name, "loading events", err);
	}
	l->cur = NULL;
	const char *info = mysql_info(k->db);
	if (!info || sscanf(info, "Records: %lu Deleted: %lu Skipped: %lu Warnings: %lu", &records,
			    &deleted, &skipped, &warnings) != 4) {
		jerr_set(err, "%s: loading events: unexpected reply '%s'", e->base.name,
			 info ? info : "");
		return J_ERROR;
	}
	if (records != c->b.n) {
		jerr_set(err, "%s: loading events: the server read %lu rows of %u", e->base.name,
			 records, c->b.n);
		return J_ERROR;
	}
	/* IGNORE turns any conversion into a warning: only skipped duplicates may warn */
	if (warnings > skipped)
		return changed_values(e, k, c, warnings - skipped, err);
	return skipped ? post_check(e, k, c, err) : J_OK;
}

/* Give chunk c back to the pool (l->mu held). */
static void ld_recycle(struct loader *l, struct chunk *c)
{
	rowbuf_clear(&c->b);
	c->next = l->pool;
	l->pool = c;
}

/* Record the outcome of the oldest batch not yet done (l->mu held). */
static void ld_outcome(struct loader *l, int r, const struct jerr *err, int64_t dups)
{
	l->commit_rc = r;
	if (r != J_OK)
		l->commit_err = *err;
	l->commit_dups = r == J_OK ? dups : 0;
	l->commits_done++;
	pthread_cond_broadcast(&l->space);
}

/* Read the reply to the COMMIT in flight on k (l->mu held on entry and on return). */
static void ld_resolve(struct ev_mysql *e, struct conn *k)
{
	struct loader *l = &e->ld;
	struct jerr err = {0};
	int r = J_OK;
	pthread_mutex_unlock(&l->mu);
	if (mysql_read_query_result(k->db) != 0) {
		r = my_fail(k->db, e->base.name, "committing the batch", &err);
		mysql_rollback(k->db);
	}
	hold_release(k); /* only now: the rows are visible, or will never be */
	pthread_mutex_lock(&l->mu);
	k->committing = 0;
	k->started = 0;
	l->inflight--;
	ld_outcome(l, r, &err, k->commit_dups);
}

/* Read every COMMIT reply still in flight, older batches first (l->mu held). */
static void ld_resolve_all(struct ev_mysql *e)
{
	for (int i = 0; i < 2; i++)
		if (e->c[i].committing && &e->c[i] != e->sconn)
			ld_resolve(e, &e->c[i]);
	for (int i = 0; i < 2; i++)
		if (e->c[i].committing)
			ld_resolve(e, &e->c[i]);
}

/*
 * The sender's end of a batch (a commit marker; l->mu held on entry and on
 * return). The COMMIT goes out without waiting for its reply, and the next
 * batch goes to the other connection meanwhile; the reply is read once that
 * batch is under way (ld_main), or at the next marker, before this one's
 * outcome is recorded, so that outcomes stay in batch order. A batch with a
 * failed chunk is rolled back here.
 */
static void ld_end_batch(struct ev_mysql *e)
{
	struct loader *l = &e->ld;
	struct conn *k = e->sconn, *other = k == &e->c[0] ? &e->c[1] : &e->c[0];
	struct jerr err = l->err;
	int r = l->rc;
	int64_t dups = e->late_dups;
	if (other->committing)
		ld_resolve(e, other);
	e->late_dups = 0;
	l->rc = J_OK;
	if (!k->started) { /* nothing sent in this batch, or its chunks were dropped */
		ld_outcome(l, r, &err, dups);
		return;
	}
	if (r == J_OK) {
		pthread_mutex_unlock(&l->mu);
		/* a batch whose hold ran out may have been passed by the ETL: never commit it */
		r = hold_renew(e, k, &err);
		if (r == J_OK && mysql_send_query(k->db, "COMMIT", 6) != 0)
			r = my_fail(k->db, e->base.name, "committing the batch", &err);
		pthread_mutex_lock(&l->mu);
		if (r == J_OK) {
			k->committing = 1;
			k->commit_at = time_mono();
			k->commit_dups = dups;
			l->inflight++;
			e->sconn = other;
			return;
		}
	}
	pthread_mutex_unlock(&l->mu);
	mysql_rollback(k->db);
	hold_release(k);
	pthread_mutex_lock(&l->mu);
	k->started = 0;
	ld_outcome(l, r, &err, 0);
}

static void *ld_main(void *arg)
{
	struct ev_mysql *e = arg;
	struct loader *l = &e->ld;
	struct jerr err = {0};
	mysql_thread_init();
	pthread_mutex_lock(&l->mu);
	for (;;) {
		if (!l->head && l->inflight) { /* idle: read the replies first */
			l->busy = 1;
			ld_resolve_all(e);
			l->busy = 0;
			pthread_cond_broadcast(&l->space);
			continue;
		}
		while (!l->head && !l->quit) {
			atomic_store(&l->idle, 1);
			if (!e->sconn->held || l->hb_off) {
				pthread_cond_wait(&l->work, &l->mu);
				continue;
			}
			/*
			 * A batch is open and its next rows are slow to come: keep its
			 * hold alive (the heartbeat), three times a lease.
			 */
			struct conn *k = e->sconn;
			double left =
			    k->renewed_at + (double)e->url.lease_ms / 3000.0 - time_mono();
			if (left > 0) {
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				double at = (double)ts.tv_nsec / 1e9 + left;
				ts.tv_sec += (time_t)at;
				ts.tv_nsec = (long)((at - (double)(time_t)at) * 1e9);
				pthread_cond_timedwait(&l->work, &l->mu, &ts);
				continue;
			}
			l->busy = 1;
			pthread_mutex_unlock(&l->mu);
			struct jerr herr;
			int hr = hold_renew(e, k, &herr);
			pthread_mutex_lock(&l->mu);
			k->renewed_at = time_mono(); /* failed or not: the next try a third later */
			if (hr != J_OK && l->rc == J_OK) {
				l->rc = hr; /* the batch fails at its next chunk or its commit */
				l->err = herr;
			}
			l->busy = 0;
			pthread_cond_broadcast(&l->space);
		}
		atomic_store(&l->idle, 0);
		if (!l->head) /* quit, with nothing left to send */
			break;
		struct chunk *c = l->head;
		l->head = c->next;
		if (!l->head)
			l->tail = NULL;
		l->queued--;
		l->busy = 1;
		pthread_cond_broadcast(&l->space);
		if (c->commit) {
			ld_end_batch(e);
		} else if (l->rc == J_OK) {
			pthread_mutex_unlock(&l->mu);
			int r = ld_send(e, c, &err);
			pthread_mutex_lock(&l->mu);
			if (r != J_OK) {
				l->rc = r;
				l->err = err;
			}
			/* the previous batch's COMMIT has had time: read its reply */
			struct conn *o = e->sconn == &e->c[0] ? &e->c[1] : &e->c[0];
			if (o->committing && time_mono() - o->commit_at >= LD_COMMIT_S)
				ld_resolve(e, o);
		} /* else the batch failed: its other chunks are dropped */
		c->commit = 0;
		ld_recycle(l, c);
		l->busy = 0;
		pthread_cond_broadcast(&l->space);
	}
	pthread_mutex_unlock(&l->mu);
	mysql_thread_end();
	return NULL;
}

/* Queue c for the sender, started here if need be (l->mu held). */
static int ld_enqueue(struct ev_mysql *e, struct chunk *c, struct jerr *err)
{
	struct loader *l = &e->ld;
	if (!l->running) {
		/* signals are the caller's: a stop request must reach its read loop */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		int t = pthread_create(&l->th, NULL, ld_main, e);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (t != 0) {
			jerr_set(err, "%s: cannot start the sender thread", e->base.name);
			return J_ERROR;
		}
		l->running = 1;
	}
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->queued++;
	l->hb_off = 0;
	atomic_store(&l->idle, 0);
	pthread_cond_signal(&l->work);
	return J_OK;
}

/* A chunk from the pool, or a new one (l->mu held). */
static struct chunk *ld_chunk(struct loader *l)
{
	struct chunk *c = l->pool;
	if (c) {
		l->pool = c->next;
		c->next = NULL;
		return c;
	}
	c = xcalloc(1, sizeof(*c));
	rowbuf_init(&c->b, LD_CHUNK);
	return c;
}

/* Queue the filled chunk for the sender; take an empty one. */
int ld_push(struct ev_mysql *e, struct jerr *err)
{
	struct loader *l = &e->ld;
	int r;
	pthread_mutex_lock(&l->mu);
	while (l->queued >= LD_QUEUE && l->rc == J_OK)
		pthread_cond_wait(&l->space, &l->mu);
	if (l->rc != J_OK) { /* this batch (or the one committing) failed */
		r = l->rc;
		*err = l->err;
	} else if ((r = ld_enqueue(e, e->fill, err)) == J_OK) {
		e->fill = ld_chunk(l);
	}
	pthread_mutex_unlock(&l->mu);
	return r;
}

/*
 * Drop what is queued and wait until the sender is idle; a dropped commit
 * marker counts as a batch rolled back.
 */
void ld_drop(struct ev_mysql *e)
{
	struct loader *l = &e->ld;
	pthread_mutex_lock(&l->mu);
	while (l->head) {
		struct chunk *c = l->head;
		l->head = c->next;
		if (c->commit) {
			c->commit = 0;
			l->commits_done++;
			l->commit_rc = J_ERROR;
			jerr_set(&l->commit_err, "%s: the batch was rolled back", e->base.name);
		}
		ld_recycle(l, c);
	}
	l->tail = NULL;
	l->queued = 0;
	while (l->busy || l->inflight)
		pthread_cond_wait(&l->space, &l->mu);
	l->rc = J_OK;
	l->hb_off = 1; /* the caller rolls back on the connections next */
	pthread_mutex_unlock(&l->mu);
}

/* Roll back what is open on either connection (the sender idle). */
void rollback_conns(struct ev_mysql *e)
{
	for (int i = 0; i < 2; i++) {
		if (e->c[i].started)
			mysql_rollback(e->c[i].db);
		e->c[i].started = 0;
		hold_release(&e->c[i]);
	}
}

/* Let the sender send what is queued (a batch's rows are never left half-sent), then stop it. */
void ld_stop(struct ev_mysql *e)
{
	struct loader *l = &e->ld;
	if (!l->running)
		return;
	pthread_mutex_lock(&l->mu);
	l->quit = 1;
	pthread_cond_signal(&l->work);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->th, NULL);
	l->running = 0;
}

void chunks_free(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;
		rowbuf_release(&c->b);
		free(c);
		c = next;
	}
}

/* commit_start the LOAD way: queue the last rows and a commit marker behind them. */
int ld_commit_start(struct ev_mysql *e, struct jerr *err)
{
	struct loader *l = &e->ld;
	int r;
	if (e->fill->b.n && (r = ld_push(e, err)) != J_OK) {
		ld_drop(e); /* the batch is lost: roll back what was sent */
		rollback_conns(e);
		e->late_dups = 0;
		rowbuf_clear(&e->fill->b);
		return r;
	}
	pthread_mutex_lock(&l->mu);
	struct chunk *m = ld_chunk(l);
	m->commit = 1;
	r = ld_enqueue(e, m, err);
	if (r != J_OK)
		ld_recycle(l, m);
	else
		l->commits_sent++;
	pthread_mutex_unlock(&l->mu);
	return r;
}
