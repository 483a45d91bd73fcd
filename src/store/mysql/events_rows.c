/*
 * mysql/events_rows.c - the event store's row buffer, which both ingest ways
 * fill (insert() answers a duplicate within it at once), the holds a writer's
 * transaction takes on its seqs, and the rows way: a full block goes as one
 * SELECT for the keys already stored, then multi-row INSERT IGNORE statements
 * for the rest (the design is in events.c's header).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/keyset.h"
#include "eventstore.h"

#include "jobads/banned.h"

#define SQL_INSERT_HEAD "INSERT IGNORE INTO tracking (" INS_COLS_SQL ") VALUES "
#define SQL_INSERT_ROW	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/*
 * Holds (events.c's header): taken with a transaction's first seq, renewed only
 * while still live (an expired hold may have been passed: the batch must not
 * commit), dropped, with any dead writer's, once the transaction is over.
 * The lease always moves, so a live hold always counts as changed.
 */
#define SQL_HOLD                                                                                   \
	"REPLACE INTO jobads_hold (conn_id, holder, from_seq, lease_until)"                        \
	" VALUES (CONNECTION_ID(), ?, ?, NOW(6) + INTERVAL ? MICROSECOND)"
#define SQL_RENEW                                                                                  \
	"UPDATE jobads_hold SET lease_until = GREATEST(lease_until + INTERVAL 1 MICROSECOND,"      \
	" NOW(6) + INTERVAL ? MICROSECOND) WHERE conn_id = CONNECTION_ID() AND lease_until > "     \
	"NOW(6)"
#define SQL_UNHOLD "DELETE FROM jobads_hold WHERE conn_id = CONNECTION_ID() OR lease_until < NOW(6)"

void rowbuf_init(struct rowbuf *b, uint32_t cap)
{
	b->rows = xcalloc(cap, sizeof(*b->rows));
	b->slots = xcalloc((size_t)cap * 4, sizeof(*b->slots));
	b->cap = cap;
	b->n = 0;
}

void rowbuf_clear(struct rowbuf *b)
{
	if (b->n)
		memset(b->slots, 0, sizeof(*b->slots) * b->cap * 4);
	b->n = 0;
	strbuf_reset(&b->arena);
}

void rowbuf_release(struct rowbuf *b)
{
	free(b->rows);
	free(b->slots);
	strbuf_release(&b->arena);
	memset(b, 0, sizeof(*b));
}

/* The keyset's compare: buffered row i has key (ts, id). */
static int pend_same(const void *rows, uint32_t i, int64_t ts, const char *id, uint32_t h)
{
	const struct pend *p = (const struct pend *)rows + i;
	return p->hash == h && p->ts == ts && memcmp(p->event_id, id, EV_UUID_LEN) == 0;
}

/* The buffered row with this key: its index + 1 slot, or the empty slot to use. */
static uint32_t *find_slot(struct rowbuf *b, int64_t ts, const char *id, uint32_t h)
{
	return keyset_find(b->slots, b->cap * 4, b->rows, pend_same, ts, id, h);
}

static size_t arena_add(struct rowbuf *b, struct ev_str v, unsigned long *len)
{
	size_t off = b->arena.len;
	if (v.n) /* an absent field may have no pointer at all */
		strbuf_add(&b->arena, v.s, v.n);
	*len = v.n;
	return off;
}

void rowbuf_add(struct rowbuf *b, const struct event *ev, int *dup)
{
	uint32_t h = keyset_hash(ev->ts_ms, ev->event_id);
	uint32_t *slot = find_slot(b, ev->ts_ms, ev->event_id, h);
	if (*slot) {
		*dup = 1;
		return;
	}
	struct pend *p = &b->rows[b->n];
	memset(p, 0, sizeof(*p));
	memcpy(p->event_id, ev->event_id, EV_UUID_LEN + 1);
	p->len[0] = EV_UUID_LEN;
	p->hash = h;
	p->ts = ev->ts_ms;
	p->publisher_id = ev->publisher_id;
	p->off[0] = arena_add(b, ev->publisher_name, &p->len[1]);
	p->off[1] = arena_add(b, ev->publisher_traffic, &p->len[2]);
	p->null_traffic = ev->publisher_traffic.n == 0;
	p->off[2] = arena_add(b, ev->publisher_quality, &p->len[3]);
	p->null_quality = ev->publisher_quality.n == 0;
	p->bid = ev->bid;
	p->null_bid = ev->bid < 0;
	p->job_id = ev->job_id;
	p->campaign_id = ev->campaign_id;
	p->off[3] = arena_add(b, ev->industry, &p->len[4]);
	p->off[4] = arena_add(b, ev->location, &p->len[5]);
	p->impressions = ev->impressions;
	p->clicks = ev->clicks;
	p->apply_count = ev->apply_count;
	p->cost_micros = ev->cost_micros;
	p->quality_score = ev->quality_score;
	p->doff = arena_add(b, ev->device, &p->len[6]);
	p->hour = ev->hour;
	p->day_of_week = ev->day_of_week;
	*slot = ++b->n;
	*dup = 0;
}

void rowbuf_event(const struct rowbuf *b, uint32_t i, struct event *ev)
{
	const struct pend *p = &b->rows[i];
	const char *a = b->arena.buf;
#define TEXT(k, off) ((struct ev_str){a + (off), (uint32_t)p->len[k]})
	memset(ev, 0, sizeof(*ev));
	memcpy(ev->event_id, p->event_id, EV_UUID_LEN + 1);
	ev->ts_ms = p->ts;
	ev->publisher_id = p->publisher_id;
	ev->publisher_name = TEXT(1, p->off[0]);
	ev->publisher_traffic = TEXT(2, p->off[1]);
	ev->publisher_quality = TEXT(3, p->off[2]);
	ev->bid = p->null_bid ? -1 : p->bid;
	ev->job_id = p->job_id;
	ev->campaign_id = p->campaign_id;
	ev->industry = TEXT(4, p->off[3]);
	ev->location = TEXT(5, p->off[4]);
	ev->impressions = p->impressions;
	ev->clicks = p->clicks;
	ev->apply_count = p->apply_count;
	ev->cost_micros = p->cost_micros;
	ev->quality_score = p->quality_score;
	ev->device = TEXT(6, p->doff);
	ev->hour = p->hour;
	ev->day_of_week = p->day_of_week;
#undef TEXT
}

static MYSQL_STMT *insert_stmt(struct ev_mysql *e, struct conn *k, int level, struct jerr *err)
{
	if (!k->ins[level]) {
		int r = my_prepare_rows(k->db, SQL_INSERT_HEAD, SQL_INSERT_ROW, 1u << level, "",
					&k->ins[level], e->base.name, err);
		if (r != J_OK)
			return NULL;
	}
	return k->ins[level];
}

/* Mark the block's rows whose key is already stored. */
static int check_stored(struct ev_mysql *e, struct conn *k, struct jerr *err)
{
	MYSQL_BIND p[BLOCK];
	struct my_cols c;
	struct rowbuf *b = &e->blk;
	int r, f;
	if (!k->check) {
		struct strbuf sb = {0};
		strbuf_addf(&sb, "SELECT ts, event_id FROM tracking WHERE ts IN (");
		for (unsigned i = 0; i < BLOCK; i++)
			strbuf_addf(&sb, "%s?", i ? "," : "");
		strbuf_addf(&sb, ")");
		r = my_prepare(k->db, sb.buf, &k->check, e->base.name, err);
		strbuf_release(&sb);
		if (r != J_OK)
			return r;
	}
	memset(p, 0, sizeof(p));
	for (unsigned i = 0; i < BLOCK; i++) {
		/* a short block repeats its first ts: the same rows, no other plan */
		e->check_ts[i] = b->rows[i < b->n ? i : 0].ts;
		my_bind_i64(&p[i], &e->check_ts[i]);
	}
	if ((r = run(e, k->check, p, "checking for duplicates", err)) != J_OK)
		return r;
	if ((r = my_cols_bind(&c, k->check, "ls", e->base.name, err)) != J_OK)
		return r;
	while ((f = my_fetch(&c, k->check, e->base.name, "checking for duplicates", err)) > 0) {
		if (c.len[1] != EV_UUID_LEN)
			continue;
		uint32_t h = keyset_hash(c.i[0], c.s[1]);
		uint32_t *slot = find_slot(b, c.i[0], c.s[1], h);
		if (*slot && !b->rows[*slot - 1].dup) {
			b->rows[*slot - 1].dup = 1;
			e->late_dups++;
		}
	}
	mysql_stmt_free_result(k->check);
	my_cols_release(&c);
	return f < 0 ? stmt_code(k->check) : J_OK;
}

static void bind_row(const struct rowbuf *b, MYSQL_BIND *bd, struct pend *p)
{
	static my_bool yes = 1;
	char *a = b->arena.buf;
	my_bind_str(&bd[0], p->event_id, &p->len[0], NULL);
	my_bind_i64(&bd[1], &p->ts);
	my_bind_int(&bd[2], &p->publisher_id);
	my_bind_str(&bd[3], a + p->off[0], &p->len[1], NULL);
	my_bind_str(&bd[4], a + p->off[1], &p->len[2], &p->null_traffic);
	my_bind_str(&bd[5], a + p->off[2], &p->len[3], &p->null_quality);
	my_bind_i64(&bd[6], &p->bid);
	bd[6].is_null = p->null_bid ? &yes : NULL;
	my_bind_int(&bd[7], &p->job_id);
	my_bind_int(&bd[8], &p->campaign_id);
	my_bind_str(&bd[9], a + p->off[3], &p->len[4], NULL);
	my_bind_str(&bd[10], a + p->off[4], &p->len[5], NULL);
	my_bind_i64(&bd[11], &p->impressions);
	my_bind_i64(&bd[12], &p->clicks);
	my_bind_i64(&bd[13], &p->apply_count);
	my_bind_i64(&bd[14], &p->cost_micros);
	my_bind_int(&bd[15], &p->quality_score);
	my_bind_str(&bd[16], a + p->doff, &p->len[6], NULL);
	my_bind_int(&bd[17], &p->hour);
	my_bind_int(&bd[18], &p->day_of_week);
}

int start_txn(struct ev_mysql *e, struct conn *k, struct jerr *err)
{
	int r;
	if (k->started)
		return J_OK;
	r = my_exec(k->db, "START TRANSACTION", e->base.name, "starting a transaction", err);
	if (r == J_OK)
		k->started = 1;
	return r;
}

/* ---- holds (events.c's header) ---- */

/* Extend k's hold; J_RETRY when it had run out (a scan may have passed its seqs). */
int hold_renew(struct ev_mysql *e, struct conn *k, struct jerr *err)
{
	MYSQL_BIND p[1];
	int64_t lease_us = e->url.lease_ms * 1000;
	int r;
	if (!k->held)
		return J_OK;
	if (!k->renew && (r = my_prepare(k->db, SQL_RENEW, &k->renew, e->base.name, err)))
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &lease_us);
	if ((r = run(e, k->renew, p, "renewing the hold on seq values", err)) != J_OK)
		return r;
	if (mysql_stmt_affected_rows(k->renew) != 1) {
		jerr_set(err,
			 "%s: the batch's hold on seq values from %" PRId64 " ran out (not renewed "
			 "for %.1f s, over the %.1f s lease): rolled back, since the ETL may have "
			 "passed them",
			 e->base.name, k->hold_from, time_mono() - k->renewed_at,
			 (double)e->url.lease_ms / 1000.0);
		return J_RETRY;
	}
	k->renewed_at = time_mono();
	return J_OK;
}

/*
 * Say in jobads_hold that k's transaction holds the seqs from `from` on, or
 * renew the hold it has. Taken after the first seq is (reserve_seq, or an
 * insert's AUTO_INCREMENT): a scan meanwhile is held back by the settle time.
 */
int hold_take(struct ev_mysql *e, struct conn *k, int64_t from, struct jerr *err)
{
	MYSQL_BIND p[3];
	unsigned long hlen = (unsigned long)strlen(e->holder);
	int64_t lease_us = e->url.lease_ms * 1000;
	int r;
	if (k->held)
		return hold_renew(e, k, err);
	if (!k->hold && (r = my_prepare(k->db, SQL_HOLD, &k->hold, e->base.name, err)))
		return r;
	memset(p, 0, sizeof(p));
	my_bind_str(&p[0], e->holder, &hlen, NULL);
	my_bind_i64(&p[1], &from);
	my_bind_i64(&p[2], &lease_us);
	if ((r = run(e, k->hold, p, "holding seq values", err)) != J_OK)
		return r;
	k->held = 1;
	k->hold_from = from;
	k->renewed_at = time_mono();
	return J_OK;
}

/*
 * k's transaction is over (committed or rolled back): drop its hold, and any
 * dead writer's. When that fails (the connection is gone), the hold lapses
 * with its lease.
 */
void hold_release(struct conn *k)
{
	if (!k->held)
		return;
	k->held = 0;
	if (k->db)
		(void)mysql_real_query(k->db, SQL_UNHOLD, (unsigned long)strlen(SQL_UNHOLD));
}

/* The rows way: send the block's rows: check which are stored, insert the others. */
int rows_flush(struct ev_mysql *e, struct conn *k, struct jerr *err)
{
	struct rowbuf *b = &e->blk;
	uint32_t idx[BLOCK], n = 0;
	int r;
	if (b->n == 0)
		return J_OK;
	if ((r = start_txn(e, k, err)) != J_OK)
		return r;
	if ((r = check_stored(e, k, err)) != J_OK)
		return r;
	for (uint32_t i = 0; i < b->n; i++)
		if (!b->rows[i].dup)
			idx[n++] = i;
	uint32_t done = 0;
	for (int level = INS_LEVELS - 1; level >= 0; level--) {
		uint32_t rows = 1u << level;
		while (n - done >= rows) {
			MYSQL_STMT *st = insert_stmt(e, k, level, err);
			if (!st)
				return my_code_retryable(mysql_errno(k->db)) ? J_RETRY : J_ERROR;
			memset(e->pb, 0, sizeof(*e->pb) * rows * INS_COLS);
			for (uint32_t j = 0; j < rows; j++)
				bind_row(b, e->pb + (size_t)j * INS_COLS, &b->rows[idx[done + j]]);
			if ((r = run(e, st, e->pb, "inserting events", err)) != J_OK)
				return r;
			/* the transaction holds seqs from its first AUTO_INCREMENT value on */
			my_ulonglong first = mysql_stmt_insert_id(st);
			if (!k->held && first > 0 &&
			    (r = hold_take(e, k, (int64_t)first, err)) != J_OK)
				return r;
			/* a row another writer stored since the check is ignored: a duplicate */
			my_ulonglong stored = mysql_stmt_affected_rows(st);
			if (stored < rows)
				e->late_dups += (int64_t)(rows - stored);
			done += rows;
		}
	}
	rowbuf_clear(b);
	return J_OK;
}

/* The rows way: commit at once, keeping the outcome for commit_wait. */
int rows_commit(struct ev_mysql *e, struct jerr *err)
{
	struct conn *k = &e->c[0];
	int r = rows_flush(e, k, err);
	/* a batch whose hold ran out may have been passed by the ETL: never commit it */
	if (r == J_OK)
		r = hold_renew(e, k, err);
	if (r == J_OK && k->started && mysql_commit(k->db) != 0)
		r = my_fail(k->db, e->base.name, "committing the batch", err);
	if (r != J_OK && k->started)
		mysql_rollback(k->db);
	hold_release(k);
	e->ld.commit_dups = r == J_OK ? e->late_dups : 0;
	rowbuf_clear(&e->blk);
	k->started = 0;
	e->late_dups = 0;
	return r;
}
