/*
 * sqlite/events_writer.c - the SQLite event store's spill writer: a batch's
 * full spill of held rows is written in (ts, event_id) order by this thread
 * while the caller's thread decodes and holds the next one (events.c's header
 * has why rows are held and sorted).
 */
#include <stdlib.h>
#include <string.h>

#include "events.h"

#include "jobads/banned.h"

/* A held row's place in the order it is written in. */
struct held_key {
	int64_t ts_ms;
	const unsigned char *id;
	uint32_t i;
};

/* (ts, event_id) order, ties (the same event twice) in arrival order. */
static int held_cmp(const void *a, const void *b)
{
	const struct held_key *x = a, *y = b;
	if (x->ts_ms != y->ts_ms)
		return x->ts_ms < y->ts_ms ? -1 : 1;
	int c = memcmp(x->id, y->id, EV_UUID_BYTES);
	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * Write a spill, row i numbered seq + i; *dups += duplicates. The keys are
 * claimed in key order (the key tables' order: a sorted spill walks their pages
 * front to back) and then the rows not duplicates are written in seq order, so
 * that `tracking` is appended to whatever the input's order: written in key
 * order, a shuffled spill's rows landed at random places among its own seqs,
 * one B-tree descent and a page split in mid-page per row.
 */
int write_spill(struct ev_sqlite *e, struct spill *sp, int64_t seq, int64_t *dups, struct jerr *err)
{
	int r = J_OK;
	struct held_key *order = xmalloc(sp->n * sizeof(*order) + 1);
	unsigned char *dup = xmalloc(sp->n + 1);
	for (size_t i = 0; i < sp->n; i++)
		order[i] = (struct held_key){sp->rows[i].ts_ms, sp->rows[i].id, (uint32_t)i};
	qsort(order, sp->n, sizeof(*order), held_cmp);
	for (size_t i = 0; i < sp->n && r == J_OK; i++) {
		int d = 0;
		r = ev_sqlite_claim(e, order[i].ts_ms, order[i].id, &d, err);
		dup[order[i].i] = (unsigned char)d;
	}
	free(order);
	for (size_t i = 0; i < sp->n && r == J_OK; i++) {
		const struct held_row *h = &sp->rows[i];
		if (dup[i]) {
			++*dups;
			continue;
		}
		struct event ev = {.seq = seq + (int64_t)i,
				   .ts_ms = h->ts_ms,
				   .publisher_id = h->publisher_id,
				   .bid = h->bid,
				   .job_id = h->job_id,
				   .campaign_id = h->campaign_id,
				   .impressions = h->impressions,
				   .clicks = h->clicks,
				   .apply_count = h->apply_count,
				   .cost_micros = h->cost_micros,
				   .quality_score = h->quality_score,
				   .hour = h->hour,
				   .day_of_week = h->day_of_week};
		struct ev_str *t[N_TEXTS] = {&ev.publisher_name,    &ev.publisher_traffic,
					     &ev.publisher_quality, &ev.industry,
					     &ev.location,	    &ev.device};
		for (int k = 0; k < N_TEXTS; k++)
			*t[k] = (struct ev_str){sp->text.buf ? sp->text.buf + h->off[k] : "",
						h->off[k + 1] - h->off[k]};
		r = ev_sqlite_put_row(e, &ev, h->id, err);
	}
	free(dup);
	return r;
}

static void *writer_main(void *arg)
{
	struct ev_sqlite *e = arg;
	struct writer *w = &e->w;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->state == JOB_IDLE)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->state == JOB_QUIT)
			break;
		pthread_mutex_unlock(&w->mu);
		int64_t dups = 0;
		struct jerr err;
		int r = write_spill(e, w->sp, w->seq, &dups, &err);
		pthread_mutex_lock(&w->mu);
		w->dups += dups;
		if (r != J_OK && w->r == J_OK) {
			w->r = r;
			w->err = err;
		}
		w->state = JOB_IDLE;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Wait until no spill is being written; its duplicates to held_dups, its failure to err. */
int writer_wait(struct ev_sqlite *e, struct jerr *err)
{
	struct writer *w = &e->w;
	if (!w->started)
		return J_OK;
	pthread_mutex_lock(&w->mu);
	while (w->state == JOB_PENDING)
		pthread_cond_wait(&w->cv, &w->mu);
	int r = w->r;
	if (r != J_OK)
		*err = w->err;
	w->r = J_OK;
	e->held_dups += w->dups;
	w->dups = 0;
	pthread_mutex_unlock(&w->mu);
	return r;
}

/* Hand the full spill sp[cur] to the writer (idle: writer_wait came first) and switch. */
int writer_submit(struct ev_sqlite *e, struct jerr *err)
{
	struct writer *w = &e->w;
	if (!w->started) {
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		w->state = JOB_IDLE;
		w->r = J_OK;
		if (pthread_create(&w->thr, NULL, writer_main, e) != 0) {
			pthread_cond_destroy(&w->cv);
			pthread_mutex_destroy(&w->mu);
			/* no thread: write it here */
			struct spill *sp = &e->sp[e->cur];
			int r = write_spill(e, sp, e->seq_next, &e->held_dups, err);
			e->seq_next += (int64_t)sp->n;
			sp->n = 0;
			strbuf_reset(&sp->text);
			return r;
		}
		w->started = 1;
	}
	pthread_mutex_lock(&w->mu);
	w->sp = &e->sp[e->cur];
	w->seq = e->seq_next;
	w->state = JOB_PENDING;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	e->seq_next += (int64_t)e->sp[e->cur].n;
	e->cur ^= 1;
	e->sp[e->cur].n = 0;
	strbuf_reset(&e->sp[e->cur].text);
	return J_OK;
}

void writer_stop(struct ev_sqlite *e)
{
	struct writer *w = &e->w;
	struct jerr ignored;
	if (!w->started)
		return;
	writer_wait(e, &ignored);
	pthread_mutex_lock(&w->mu);
	w->state = JOB_QUIT;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thr, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->started = 0;
}
