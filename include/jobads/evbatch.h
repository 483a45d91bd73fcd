/*
 * evbatch.h - the one ingest batch protocol over an event store, used by
 * `ingest`, `generate` and POST /api/events: begin, insert..., commit, with
 * the duplicates a store only finds at commit counted as duplicates, the next
 * batch read while the last one commits (where the store can), and batches
 * closed in time so that a live pipeline never holds a transaction open.
 *
 * A batch is one store transaction. It begins with its first row and closes
 * when it holds max_rows rows, when no row came for stall_s seconds (the
 * input stalled), when it has been open for max_age_s seconds, or when the
 * caller commits. The last two keep a `tail -F | jobads ingest` batch well
 * under the MySQL event store's settle time and let other writers of an
 * SQLite store in between. Time only moves a batch on when the caller asks
 * (evbatch_tick), so a reader waits at most evbatch_due() for its input.
 *
 * Counts: stored and dups include the open batch and any batch still
 * committing; ok_stored and ok_dups are as of the last batch known committed,
 * which is what a failure leaves.
 */
#ifndef JOBADS_EVBATCH_H
#define JOBADS_EVBATCH_H

#include <stdint.h>

#include "jobads/store.h"

#define EVBATCH_ROWS	100000
#define EVBATCH_STALL_S 0.5 /* no row for this long: the input stalled */
#define EVBATCH_AGE_S	2.0 /* well under the MySQL store's 5 s settle time */

struct evbatch_opts {
	int64_t max_rows; /* >= 1 */
	double stall_s;	  /* <= 0: never closes for a stall */
	double max_age_s; /* <= 0: never closes for age */
};

struct evbatch {
	struct evstore *evs;
	struct evbatch_opts o;
	int64_t rows;	     /* rows in the open batch; 0: none open */
	double opened, last; /* time_mono() of the open batch's first row and of the last row */
	/* a batch whose commit was started and not yet waited for, and the counts as of its end */
	int pending;
	int64_t pend_stored, pend_dups;
	int64_t stored, dups;
	int64_t ok_stored, ok_dups;
	int64_t batches; /* batches known committed */
	/*
	 * After evbatch_abort on a store without transactions (cassandra): rows of
	 * the failed batch that were stored before the failure and stay stored.
	 */
	int64_t kept;
	struct jerr err; /* why the last call failed */
};

/* Defaults: EVBATCH_ROWS, EVBATCH_STALL_S, EVBATCH_AGE_S. */
void evbatch_opts_default(struct evbatch_opts *o);
/* o NULL: the defaults. Nothing is begun until the first row. */
void evbatch_init(struct evbatch *b, struct evstore *evs, const struct evbatch_opts *o);

/*
 * Store ev in the open batch, beginning one when none is. *dup = 1 for a
 * duplicate known at once. A batch that reaches max_rows starts committing.
 * 0, or -1 with b->err: then call evbatch_abort.
 */
int evbatch_insert(struct evbatch *b, const struct event *ev, int *dup);

/*
 * Commit the open batch and wait for every outcome. *late (may be NULL) is
 * set to the duplicates the store found at commit in the batches this call
 * waited for (they are already moved from stored to dups). 0, or -1 with
 * b->err: then call evbatch_abort.
 */
int evbatch_commit(struct evbatch *b, int64_t *late);

/*
 * Seconds from now until evbatch_tick has work (the open batch stalls or
 * grows old, or a started commit should be waited for because the input
 * stalled): 0 when due already, -1 when nothing will be.
 */
double evbatch_due(const struct evbatch *b, double now);

/*
 * Close the open batch if it is due: a stalled one is committed and waited
 * for, an old one starts committing while the caller reads on. 0, or -1 with
 * b->err: then call evbatch_abort.
 */
int evbatch_tick(struct evbatch *b, double now);

/*
 * After a failure: roll back the open batch; a batch still committing is
 * waited for and counted if it committed. The counts go back to ok_*; kept
 * says what a store without transactions kept of the failed batch.
 */
void evbatch_abort(struct evbatch *b);

#endif
