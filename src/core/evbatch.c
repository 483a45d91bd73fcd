/*
 * evbatch.c - the ingest batch protocol (include/jobads/evbatch.h): when a
 * batch begins and closes, committing in two halves where the store can, and
 * what the counts say after a commit or a failure. Written once here because
 * three copies (ingest, generate, the web endpoint) had drifted: one forgot
 * the duplicates a store only finds at commit.
 */
#include "jobads/evbatch.h"

#include <string.h>

#include "jobads/banned.h"

void evbatch_opts_default(struct evbatch_opts *o)
{
	o->max_rows = EVBATCH_ROWS;
	o->stall_s = EVBATCH_STALL_S;
	o->max_age_s = EVBATCH_AGE_S;
}

void evbatch_init(struct evbatch *b, struct evstore *evs, const struct evbatch_opts *o)
{
	memset(b, 0, sizeof(*b));
	b->evs = evs;
	if (o)
		b->o = *o;
	else
		evbatch_opts_default(&b->o);
	if (b->o.max_rows < 1)
		b->o.max_rows = 1;
}

/* A batch committed: the duplicates the store found at commit were counted as stored. */
static void committed(struct evbatch *b, int64_t stored, int64_t dups, int64_t d, int64_t *late)
{
	b->stored -= d;
	b->dups += d;
	b->ok_stored = stored - d;
	b->ok_dups = dups + d;
	b->batches++;
	if (late)
		*late += d;
}

/* Wait for the batch whose commit was started. */
static int wait_pending(struct evbatch *b, int64_t *late)
{
	if (!b->pending)
		return 0;
	b->pending = 0;
	int64_t d = 0;
	if (b->evs->ops->commit_wait(b->evs, &d, &b->err) != J_OK)
		return -1;
	committed(b, b->pend_stored, b->pend_dups, d, late);
	return 0;
}

/* Close the open batch; with wait, its outcome is known on return. */
static int close_batch(struct evbatch *b, int wait, int64_t *late)
{
	const struct evstore_ops *ops = b->evs->ops;
	if (wait_pending(b, late))
		return -1;
	if (b->rows == 0)
		return 0;
	b->rows = 0;
	if (ops->commit_start) {
		if (ops->commit_start(b->evs, &b->err) != J_OK)
			return -1;
		b->pending = 1;
		b->pend_stored = b->stored;
		b->pend_dups = b->dups;
		return wait ? wait_pending(b, late) : 0;
	}
	int64_t d = 0;
	if (ops->commit(b->evs, &d, &b->err) != J_OK)
		return -1;
	committed(b, b->stored, b->dups, d, late);
	return 0;
}

int evbatch_insert(struct evbatch *b, const struct event *ev, int *dup)
{
	double now = time_mono();
	if (b->rows == 0) {
		if (b->evs->ops->begin(b->evs, &b->err) != J_OK)
			return -1;
		b->opened = now;
	}
	if (b->evs->ops->insert(b->evs, ev, dup, &b->err) != J_OK) {
		b->rows++; /* begun: abort must roll it back */
		return -1;
	}
	b->rows++;
	b->last = now;
	if (*dup)
		b->dups++;
	else
		b->stored++;
	if (b->rows >= b->o.max_rows)
		return close_batch(b, 0, NULL);
	return 0;
}

int evbatch_commit(struct evbatch *b, int64_t *late)
{
	if (late)
		*late = 0;
	return close_batch(b, 1, late);
}

double evbatch_due(const struct evbatch *b, double now)
{
	double at = -1;
	if (b->rows > 0 && b->o.stall_s > 0)
		at = b->last + b->o.stall_s;
	if (b->rows > 0 && b->o.max_age_s > 0 && (at < 0 || b->opened + b->o.max_age_s < at))
		at = b->opened + b->o.max_age_s;
	/* a started commit is waited for once the input stalls: its outcome is then reported */
	if (b->rows == 0 && b->pending)
		at = b->o.stall_s > 0 ? b->last + b->o.stall_s : -1;
	if (at < 0)
		return -1;
	return at > now ? at - now : 0;
}

int evbatch_tick(struct evbatch *b, double now)
{
	int stalled = b->o.stall_s > 0 && now >= b->last + b->o.stall_s;
	if (b->rows > 0) {
		if (stalled)
			return close_batch(b, 1, NULL);
		if (b->o.max_age_s > 0 && now >= b->opened + b->o.max_age_s)
			return close_batch(b, 0, NULL);
		return 0;
	}
	return stalled ? wait_pending(b, NULL) : 0;
}

void evbatch_abort(struct evbatch *b)
{
	if (b->pending) { /* it may have committed before the failure */
		struct jerr ignore;
		int64_t d = 0;
		b->pending = 0;
		if (b->evs->ops->commit_wait(b->evs, &d, &ignore) == J_OK)
			committed(b, b->pend_stored, b->pend_dups, d, NULL);
	}
	b->evs->ops->rollback(b->evs);
	b->kept = b->evs->kept;
	b->stored = b->ok_stored;
	b->dups = b->ok_dups;
	b->rows = 0;
}
