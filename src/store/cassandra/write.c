/*
 * cassandra/write.c - ingest into the Cassandra event store: a batch is
 * buffered in blocks of BLOCK rows, and each block is stored in rounds of
 * pipelined requests: claim each key (event_keys, IF NOT EXISTS), check the
 * rows of keys claimed before, move the rows whose place must change
 * (relocations), then list the partition, write the rows in one unlogged
 * batch per partition, and the original `tracking` rows. There is no
 * transaction: a block written is stored for good, and a re-sent batch finds
 * its rows through their claims (events.c's header has the whole design).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "store/keyset.h"

#include "jobads/banned.h"

enum jrc ev_cass_begin(struct evstore *s, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	int r = cass_clock_fresh(e, err);
	if (r != J_OK)
		return r;
	if (!e->rows)
		e->rows = xcalloc(BLOCK, sizeof(*e->rows));
	e->nrows = 0;
	strbuf_reset(&e->arena);
	memset(e->slots, 0, sizeof(e->slots));
	e->in_txn = 1;
	e->late_dups = 0;
	s->kept = 0;
	return J_OK;
}

/* The keyset's compare: buffered row i has key (ts, id). */
static int pend_same(const void *rows, uint32_t i, int64_t ts, const char *id, uint32_t h)
{
	const struct pend *p = (const struct pend *)rows + i;
	return p->hash == h && p->ev.ts_ms == ts && memcmp(p->ev.event_id, id, EV_UUID_LEN) == 0;
}

static uint32_t *find_pending(struct ev_cass *e, int64_t ts, const char *id, uint32_t h)
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
	int handles[WINDOW], idx[WINDOW], head = 0, tail = 0, r = J_OK;
	struct cql_buf v = {0};
	int i = 0;
	for (;;) {
		while (r == J_OK && i < e->nrows && tail - head < WINDOW) {
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
			if (r != J_OK) {
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
		if (rr == J_OK && r == J_OK)
			rr = done(e, idx[head % WINDOW], &res, err);
		cql_release(e->sess, h);
		if (rr != J_OK && r == J_OK)
			r = rr;
		head++;
	}
	cqlb_release(&v);
	if (r != J_OK)
		jerr_prefix(err, "%s", what);
	return r;
}

static int sel_every_row(struct ev_cass *e, int i)
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

/* The key and the place it points at: Q_CLAIM and Q_REPOINT. */
static int bind_claim_key(struct ev_cass *e, int i, struct cql_buf *v)
{
	cass_bind_key(v, &e->rows[i]);
	return 5;
}

/*
 * The answer to an IF NOT EXISTS on table (event_keys or relocations): *applied,
 * and when it was not applied, the place (bucket, shard, id) of the row that
 * was there first, taken into p, with p->dup = 2: is the row at that place?
 * what names that row in an error.
 */
static int lwt_answer(struct ev_cass *e, struct pend *p, struct cql_result *res, const char *table,
		      const char *what, int *applied, struct jerr *err)
{
	struct cql_cell c[CQL_MAX_COLS];
	int32_t left = res->nrows;
	*applied = 1;
	if (res->kind != CQL_RES_ROWS || res->meta.ncols < 1 ||
	    cql_row_next(res, &left, c, res->meta.ncols) != 1 ||
	    cql_get_boolean(c[0], applied) != 0) {
		jerr_set(err, "%s: %s: no [applied] in the answer to IF NOT EXISTS", e->base.name,
			 table);
		return J_ERROR;
	}
	if (*applied)
		return J_OK;
	int cb = cass_col_of(res, "bucket"), cs = cass_col_of(res, "shard"),
	    ci = cass_col_of(res, "id");
	int32_t shard;
	if (cb < 0 || cs < 0 || ci < 0 || cql_get_bigint(c[cb], &p->bucket) != 0 ||
	    cql_get_int(c[cs], &shard) != 0 || cql_get_uuid(c[ci], p->id) != 0) {
		jerr_set(err, "%s: %s: %s without its place", e->base.name, table, what);
		return J_ERROR;
	}
	p->shard = shard;
	p->dup = 2;
	return J_OK;
}

/* A key claimed before: take over its place (bucket, shard, id). */
static int done_claim(struct ev_cass *e, int i, struct cql_result *res, struct jerr *err)
{
	int applied;
	return lwt_answer(e, &e->rows[i], res, "event_keys", "a claimed key", &applied, err);
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
		return J_OK;
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
	p->keep =
	    e->write_bound_ms > 0 && cql_timeuuid_ms(p->id) + e->write_bound_ms > cass_clock_ms(e);
	return J_OK;
}

/* An answer with nothing to read (an INSERT or DELETE that succeeded). */
static int done_nothing_to_read(struct ev_cass *e, int i, struct cql_result *res, struct jerr *err)
{
	(void)e;
	(void)i;
	(void)res;
	(void)err;
	return J_OK;
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

/* A row another writer moved first: the same new place for everyone. */
static int done_ticket(struct ev_cass *e, int i, struct cql_result *res, struct jerr *err)
{
	struct pend *p = &e->rows[i];
	int applied;
	int r = lwt_answer(e, p, res, "relocations", "a ticket", &applied, err);
	if (r == J_OK)
		p->clear_old = applied && !p->keep;
	return r;
}

static int sel_clear_old(struct ev_cass *e, int i)
{
	return e->rows[i].relocate && e->rows[i].clear_old;
}

static int bind_old_place(struct ev_cass *e, int i, struct cql_buf *v)
{
	struct pend *p = &e->rows[i];
	cqlv_bigint(v, cass_id_micros(p->old_id) + 1);
	cqlv_bigint(v, p->old_bucket);
	cqlv_int(v, p->old_shard);
	cqlv_uuid(v, p->old_id);
	return 4;
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
	int r = J_OK;
	for (int hop = 0;; hop++) {
		int any = 0;
		for (int i = 0; i < e->nrows; i++)
			any |= e->rows[i].relocate;
		if (!any)
			return J_OK;
		if (hop == 3) {
			jerr_set(err,
				 "%s: an event was moved three times by other writers at once;"
				 " send the batch again",
				 e->base.name);
			return J_RETRY;
		}
		if ((r = pipeline(e, cass_prepared(e, STMT_TICKET), sel_relocate, bind_ticket,
				  done_ticket, "moving an event", err)) != J_OK ||
		    (r = pipeline(e, cass_prepared(e, STMT_DELETE_ROW), sel_clear_old,
				  bind_old_place, done_nothing_to_read, "clearing an old place",
				  err)) != J_OK ||
		    (r = pipeline(e, cass_prepared(e, STMT_REPOINT), sel_relocate, bind_claim_key,
				  done_nothing_to_read, "moving a claim", err)) != J_OK)
			return r;
		for (int i = 0; i < e->nrows; i++)
			e->rows[i].relocate = e->rows[i].clear_old = e->rows[i].keep = 0;
		if ((r = pipeline(e, cass_prepared(e, STMT_HAS_ROW), sel_dup_check, bind_has_row,
				  done_has_row, "checking a moved event", err)) != J_OK)
			return r;
	}
}

/*
 * Wait for the nh batches in flight and release them. r is the result so far;
 * the first failure is the one returned and the one err describes (a later
 * one, often "connection lost" after it, goes to a scratch message).
 */
static int wait_batches(struct ev_cass *e, const int *handles, int nh, int r, struct jerr *err)
{
	for (int k = 0; k < nh; k++) {
		struct cql_result res;
		struct jerr later;
		int rr = cql_wait(e->sess, handles[k], &res, r == J_OK ? err : &later);
		cql_release(e->sess, handles[k]);
		if (rr != J_OK && r == J_OK)
			r = rr;
	}
	return r;
}

/* Send the index rows, then one unlogged batch per partition, then the original rows. */
static int write_rows(struct ev_cass *e, struct jerr *err)
{
	int r = J_OK;
	struct cql_buf *vals = xcalloc(BLOCK, sizeof(*vals));
	struct cql_prep **stmts = xcalloc(BLOCK, sizeof(*stmts));
	int *nv = xcalloc(BLOCK, sizeof(*nv));
	char *done = xcalloc((size_t)e->nrows, 1);
	/* index rows first: a partition is listed before it has rows */
	for (int i = 0; i < e->nrows && r == J_OK; i++) {
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
		r = cass_run_request(e, cass_prepared(e, STMT_INDEX), NULL, &v, 3, 0, NULL, 0, &res,
				     &h, "listing a partition", err);
		if (h >= 0)
			cql_release(e->sess, h);
		cqlb_release(&v);
	}
	/* one batch per partition, pipelined */
	int handles[WINDOW], nh = 0;
	for (int i = 0; i < e->nrows && r == J_OK; i++) {
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
			cass_bind_row(&vals[n], p);
			e->bind_s += time_mono() - tb;
			stmts[n] = cass_prepared(e, STMT_INSERT_ROW);
			nv[n] = 23;
			n++;
			done[k] = 1;
		}
		int h;
		r = cql_batch_submit(e->sess, stmts, vals, nv, n, e->cl, &h, err);
		if (r == J_OK)
			handles[nh++] = h;
		if (nh == WINDOW || r != J_OK) {
			r = wait_batches(e, handles, nh, r, err);
			nh = 0;
		}
	}
	/* the original table: every row is its own partition; batches of rows */
	int n = 0;
	for (int i = 0; i <= e->nrows && r == J_OK; i++) {
		if (i < e->nrows && !e->rows[i].dup) {
			double tb = time_mono();
			cqlb_reset(&vals[n]);
			cass_bind_orig(&vals[n], &e->rows[i]);
			e->bind_s += time_mono() - tb;
			stmts[n] = cass_prepared(e, STMT_INSERT_ORIG);
			nv[n] = 19;
			n++;
		}
		if ((i == e->nrows && n > 0) || n == 64) {
			int h;
			r = cql_batch_submit(e->sess, stmts, vals, nv, n, e->cl, &h, err);
			if (r == J_OK)
				handles[nh++] = h;
			n = 0;
		}
	}
	r = wait_batches(e, handles, nh, r, err);
	for (int i = 0; i < BLOCK; i++)
		cqlb_release(&vals[i]);
	free(vals);
	free(stmts);
	free(nv);
	free(done);
	return r;
}

/* Give the block's rows their places and write them (the rounds in this file's header). */
static int claim_and_write(struct ev_cass *e, struct jerr *err)
{
	int r;
	if (e->nrows == 0)
		return J_OK;
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
	if ((r = pipeline(e, cass_prepared(e, STMT_CLAIM), sel_every_row, bind_claim_key,
			  done_claim, "claiming event keys", err)) != J_OK)
		return r;
	if ((r = pipeline(e, cass_prepared(e, STMT_HAS_ROW), sel_dup_check, bind_has_row,
			  done_has_row, "checking claimed keys", err)) != J_OK)
		return r;
	if ((r = relocate_rows(e, err)) != J_OK)
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
			if ((r = relocate_rows(e, err)) != J_OK)
				return r;
		}
		r = write_rows(e, err);
		double took = time_mono() - e->ids_t;
		if (r == J_RETRY) {
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
		if (r != J_OK || e->write_bound_ms == 0 || took <= bound_s)
			break;
		/* taken back through tickets, which also give the new places */
		for (int i = 0; i < e->nrows; i++)
			e->rows[i].relocate = !e->rows[i].dup;
		int rr = relocate_rows(e, err);
		if (rr != J_OK)
			return rr;
		if (attempt == 2) {
			jerr_set(err,
				 "%s: three writes took longer than the bound of"
				 " %" PRId64
				 " ms (half the settle time), the last %.0f ms; the rows"
				 " were taken back, send the batch again",
				 e->base.name, e->write_bound_ms, took * 1000);
			r = J_RETRY;
			break;
		}
		e->ids_t = time_mono();
	}
	/* no transaction: a block written is stored for good, whatever follows (evstore.kept) */
	for (int i = 0; i < e->nrows && r == J_OK; i++)
		e->base.kept += !e->rows[i].dup;
	e->nrows = 0;
	strbuf_reset(&e->arena);
	memset(e->slots, 0, sizeof(e->slots));
	return r;
}

/* Store the buffered block; its errors say "storing events", once, here. */
static int store_block(struct ev_cass *e, struct jerr *err)
{
	int r = claim_and_write(e, err);
	if (r != J_OK)
		jerr_prefix(err, "storing events");
	return r;
}

static size_t arena_add(struct ev_cass *e, struct ev_str v)
{
	size_t off = e->arena.len;
	if (v.n)
		strbuf_add(&e->arena, v.s, v.n);
	return off;
}

enum jrc ev_cass_insert(struct evstore *s, const struct event *ev, int *dup, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	if (!e->in_txn) {
		jerr_set(err, "%s: insert outside a batch (begin first)", s->name);
		return J_ERROR;
	}
	uint32_t h = keyset_hash(ev->ts_ms, ev->event_id);
	uint32_t *slot = find_pending(e, ev->ts_ms, ev->event_id, h);
	if (*slot) {
		*dup = 1;
		return J_OK;
	}
	struct pend *p = &e->rows[e->nrows];
	memset(p, 0, sizeof(*p));
	p->ev = *ev;
	p->hash = h;
	if (uuid_from_text(ev->event_id, EV_UUID_LEN, p->uuid) != 0) {
		jerr_set(err, "%s: event_id: not a UUID: '%s'", s->name, ev->event_id);
		return J_ERROR;
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
		return store_block(e, err);
	return J_OK;
}

enum jrc ev_cass_commit(struct evstore *s, int64_t *late_dups, struct jerr *err)
{
	struct ev_cass *e = (struct ev_cass *)s;
	int r = store_block(e, err);
	*late_dups = r == J_OK ? e->late_dups : 0;
	e->nrows = 0;
	e->in_txn = 0;
	e->late_dups = 0;
	return r;
}

void ev_cass_rollback(struct evstore *s)
{
	struct ev_cass *e = (struct ev_cass *)s;
	/* rows already sent stay: a re-sent batch counts them once (event_keys) */
	e->nrows = 0;
	e->in_txn = 0;
	e->late_dups = 0;
}
