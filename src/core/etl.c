/*
 * etl.c - the incremental ETL run, verify and rebuild's recompute.
 *
 * Exactly once rests on one rule: the cursor lives in the analytics store and
 * moves in the same transaction as the deltas of the rows it covers (apply()).
 * A crash at any instant leaves both old or both new; the next run starts from
 * the stored cursor and reads each row again at most into an aborted chunk.
 */
#include "jobads/etl.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobads/agg.h"
#include "jobads/tz.h"
#include "jobads/banned.h"

/* A scan's row into its aggregation; the scan's caller agg_flushes it after the scan. */
static int add_row(void *arg, const struct event *ev)
{
	agg_add_soon(arg, ev);
	return 0;
}

static int note_pub(void *arg, const struct event *ev)
{
	agg_note_publisher(arg, ev);
	return 0;
}

/* Read the attributes of publishers a scan left pending (see evstore_ops.row_publisher). */
static int resolve_publishers(struct evstore *evs, struct agg *a, struct jerr *err)
{
	for (uint32_t i = 0; i < a->npubs; i++) {
		if (!a->pubs[i].pending)
			continue;
		if (!evs->ops->row_publisher) {
			jerr_set(err,
				 "%s: the scan left publisher attributes out and cannot read them",
				 evs->name);
			return J_ERROR;
		}
		int r = evs->ops->row_publisher(evs, a->pubs[i].last_seq, note_pub, a, err);
		if (r != J_OK)
			return r;
	}
	return J_OK;
}

/*
 * Parallel reading: where the event store can scan seq ranges over a second
 * connection (seq is commit order there), each chunk (cursor, hi] is cut into
 * PARALLEL_PIECES ranges that this thread and a helper take in turn, each into
 * its own aggregation, then merged. Taking pieces in turn rather than a half
 * each keeps both cores busy to the end of the chunk when the applier takes
 * time from one of them. Below PARALLEL_MIN_BACKLOG the second connection is
 * not worth opening.
 */
#define PARALLEL_MIN_BACKLOG 20000
#define PARALLEL_PIECES	     16

/* The chunk's pieces, taken in turn by this thread and a helper with its own connection. */
struct piece_reader {
	pthread_t th;
	struct evstore *evs;
	struct agg agg;
	int64_t lo, hi;	   /* the chunk (lo, hi] */
	atomic_int next;   /* the next piece to take */
	atomic_int failed; /* a reader failed: the other stops taking pieces */
	size_t nread;
	int rc;
	struct jerr err;
};

/* Take pieces of h's chunk until none is left; read each from evs into a. */
static int read_pieces(struct piece_reader *h, struct evstore *evs, struct agg *a, size_t *nread,
		       struct jerr *err)
{
	int64_t span = h->hi - h->lo;
	int i;
	*nread = 0;
	while (!atomic_load(&h->failed) && (i = atomic_fetch_add(&h->next, 1)) < PARALLEL_PIECES) {
		int64_t lo = h->lo + span * i / PARALLEL_PIECES;
		int64_t hi = h->lo + span * (i + 1) / PARALLEL_PIECES;
		size_t n = 0;
		int r = evs->ops->scan_range(evs, lo, hi, add_row, a, &n, err);
		agg_flush(a);
		*nread += n;
		if (r != J_OK) {
			atomic_store(&h->failed, 1);
			return r;
		}
	}
	return J_OK;
}

static void *helper_main(void *arg)
{
	struct piece_reader *h = arg;
	agg_reset(&h->agg);
	h->rc = read_pieces(h, h->evs, &h->agg, &h->nread, &h->err);
	return NULL;
}

/*
 * Read (cursor, min(cursor + chunk, max_seq)] into a, on this thread and h's,
 * then merge. *upto is the range's end.
 */
static int read_parallel(struct evstore *evs, struct piece_reader *h, struct agg *a, int64_t cursor,
			 size_t chunk, int64_t max_seq, size_t *nread, int64_t *upto,
			 struct jerr *err)
{
	int64_t hi = max_seq - cursor > (int64_t)chunk ? cursor + (int64_t)chunk : max_seq;
	size_t n = 0;
	h->lo = cursor;
	h->hi = hi;
	h->nread = 0;
	atomic_store(&h->next, 0);
	atomic_store(&h->failed, 0);
	if (pthread_create(&h->th, NULL, helper_main, h) != 0) {
		jerr_set(err, "cannot start a reader thread");
		return J_ERROR;
	}
	int r = read_pieces(h, evs, a, &n, err);
	pthread_join(h->th, NULL);
	if (r == J_OK && h->rc != J_OK) {
		r = h->rc;
		*err = h->err;
	}
	if (r != J_OK)
		return r;
	agg_merge(a, &h->agg);
	*nread = n + h->nread;
	*upto = hi;
	return J_OK;
}

/*
 * The applier thread: while the main thread reads and aggregates chunk N+1 from
 * the event store, this one applies chunk N to the analytics store. Applies stay
 * strictly sequential (one job at a time, in cursor order), each in its own
 * transaction with its cursor move, so overlapping them with reads changes
 * nothing about exactly-once; it only hides the write time behind the read.
 */
struct applier {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct anstore *as;
	struct agg *job; /* NULL when idle */
	int64_t from, to, nread;
	int quit, rc;
	struct jerr err;
	/* what has been applied, for the result and the progress bar */
	int64_t events, groups, chunks, cursor;
	double secs;
};

static void *applier_main(void *arg)
{
	struct applier *ap = arg;
	pthread_mutex_lock(&ap->mu);
	for (;;) {
		while (!ap->job && !ap->quit)
			pthread_cond_wait(&ap->cv, &ap->mu);
		if (!ap->job)
			break;
		struct agg *a = ap->job;
		int64_t from = ap->from, to = ap->to, nread = ap->nread;
		pthread_mutex_unlock(&ap->mu);

		double t0 = time_mono();
		struct jerr err;
		agg_sort(a); /* grain order keeps the upserts local in the B-tree */
		int rc = ap->as->ops->apply(ap->as, a, from, to, &err);
		double dt = time_mono() - t0;

		pthread_mutex_lock(&ap->mu);
		ap->secs += dt;
		if (rc == J_OK) {
			ap->events += nread;
			ap->groups += a->ngroups;
			ap->chunks++;
			ap->cursor = to;
		} else if (ap->rc == J_OK) {
			ap->rc = rc;
			ap->err = err;
		}
		ap->job = NULL;
		pthread_cond_broadcast(&ap->cv);
	}
	pthread_mutex_unlock(&ap->mu);
	return NULL;
}

/* Wait until the applier is idle; returns its status so far. */
static int applier_wait(struct applier *ap)
{
	pthread_mutex_lock(&ap->mu);
	while (ap->job)
		pthread_cond_wait(&ap->cv, &ap->mu);
	int rc = ap->rc;
	pthread_mutex_unlock(&ap->mu);
	return rc;
}

static void applier_submit(struct applier *ap, struct agg *a, int64_t from, int64_t to,
			   int64_t nread)
{
	pthread_mutex_lock(&ap->mu);
	ap->job = a;
	ap->from = from;
	ap->to = to;
	ap->nread = nread;
	pthread_cond_broadcast(&ap->cv);
	pthread_mutex_unlock(&ap->mu);
}

int etl_run(struct evstore *evs, struct anstore *as, const struct etl_opts *o,
	    struct etl_result *res, struct jerr *err)
{
	struct agg bufs[2];
	struct applier ap;
	struct piece_reader helper; /* the second connection and the helper thread */
	struct tz *zone = NULL;
	struct etl_run_rec rec;
	int64_t cursor, max_seq = 0;
	size_t cap = o->chunk; /* events per transaction at most; 0: as many as fit */
	size_t max_groups = o->max_groups ? o->max_groups : ETL_DEFAULT_MAX_GROUPS;
	double t0 = time_mono(), renewed = t0;
	int r, drew = 0, cur = 0;

	memset(res, 0, sizeof(*res));
	r = as->ops->get_cursor(as, &cursor, err);
	if (r != J_OK)
		return r;
	res->cursor_from = res->cursor_to = cursor;
	r = evs->ops->stats(evs, &max_seq, NULL, err);
	if (r != J_OK)
		return r;
	if (max_seq < cursor) {
		jerr_set(err,
			 "%s: the cursor (%" PRId64 ") is past the newest event (%" PRId64
			 "): this analytics store was filled from another event store"
			 " (use 'jobads rebuild' to start over)",
			 as->name, cursor, max_seq);
		return J_ERROR;
	}

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.trigger, sizeof(rec.trigger), "%s", o->trigger ? o->trigger : "manual");
	snprintf(rec.state, sizeof(rec.state), "running");
	snprintf(rec.owner, sizeof(rec.owner), "%s", o->owner ? o->owner : "");
	rec.attempt = o->attempt > 0 ? o->attempt : 1;
	rec.started_ms = time_now_ms();
	rec.cursor_from = cursor;
	r = as->ops->run_begin(as, &rec, err);
	if (r != J_OK)
		return r;
	res->run_id = rec.id;
	memset(&ap, 0, sizeof(ap));
	ap.cursor = cursor;
	if (max_seq == cursor) /* nothing new: the run is recorded, with nothing read */
		goto record;

	ap.as = as;
	pthread_mutex_init(&ap.mu, NULL);
	pthread_cond_init(&ap.cv, NULL);
	agg_init(&bufs[0]);
	agg_init(&bufs[1]);
	memset(&helper, 0, sizeof(helper));
	agg_init(&helper.agg);
	/* events go to the local hours of the store's zone, read once per run: init
	 * changes it only under the run lock */
	if ((r = anstore_tz_open(as, &zone, err)) != J_OK)
		goto done;
	bufs[0].tz = bufs[1].tz = helper.agg.tz = tz_is_utc(zone) ? NULL : zone;
	{
		/* after a rebuild of a pruned store, the events the kept facts hold */
		int64_t raw_from, kept_upto;
		if ((r = as->ops->retention(as, &raw_from, &kept_upto, err)) != J_OK)
			goto done;
		if (raw_from != INT64_MIN && kept_upto > cursor) {
			int64_t ms = raw_from > INT64_MAX / 1000 ? INT64_MAX : raw_from * 1000;
			bufs[0].skip_before_ms = bufs[1].skip_before_ms =
			    helper.agg.skip_before_ms = ms;
			bufs[0].skip_upto = bufs[1].skip_upto = helper.agg.skip_upto = kept_upto;
		}
	}
	if (evs->ops->scan_range && evs->ops->reopen && max_seq - cursor >= PARALLEL_MIN_BACKLOG &&
	    sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
		struct jerr e2;
		if (evs->ops->reopen(evs, &helper.evs, &e2) != J_OK)
			helper.evs = NULL; /* read on one connection, as everywhere else */
	}
	if (pthread_create(&ap.th, NULL, applier_main, &ap) != 0) {
		jerr_set(err, "cannot start the apply thread");
		r = J_ERROR;
		goto done;
	}
	for (;;) {
		size_t nread = 0;
		int64_t upto = cursor;
		if (o->stop && *o->stop) {
			res->stopped = 1;
			break;
		}
		if (o->deadline > 0 && time_mono() > o->deadline) {
			res->timed_out = 1;
			/* the limit counts from the run's start, opening the stores included */
			jerr_set(err, "timed out after %.1f s (cursor %" PRId64 " applied so far)",
				 time_mono() - (o->began > 0 ? o->began : t0), cursor);
			r = J_RETRY;
			break;
		}
		/*
		 * bufs[cur] was submitted two rounds ago and is done: the wait below saw
		 * to it. It takes steps of the backlog until it holds max_groups groups
		 * (an event adds at most one, so a step is never larger than the room
		 * left), the cap is reached or the backlog ends: one transaction then
		 * covers as many events as memory allows, so out-of-order history, whose
		 * every step touches most of the fact rows, is applied once, not once a
		 * step (issue 13).
		 */
		double t1 = time_mono();
		agg_reset(&bufs[cur]);
		int end = 0;
		for (;;) {
			size_t room = max_groups - bufs[cur].ngroups, step = ETL_READ_STEP, n = 0;
			if (step > room)
				step = room;
			if (cap && step > cap - nread)
				step = cap - nread;
			/* nearly full, or at the cap (step 0): apply what is held */
			if (nread > 0 && step < ETL_MIN_STEP)
				break;
			uint32_t held = bufs[cur].ngroups;
			agg_step(&bufs[cur]);
			int64_t to = upto;
			if (helper.evs)
				r = read_parallel(evs, &helper, &bufs[cur], upto, step, max_seq, &n,
						  &to, err);
			else {
				r = evs->ops->scan(evs, upto, step, add_row, &bufs[cur], &n, &to,
						   err);
				agg_flush(&bufs[cur]);
			}
			if (r != J_OK)
				break;
			nread += n;
			upto = to;
			if (helper.evs ? upto >= max_seq : n < step) {
				end = 1;
				break;
			}
			if ((o->stop && *o->stop) || (o->deadline > 0 && time_mono() > o->deadline))
				break; /* apply what was read, then stop above */
			/*
			 * A step that added to few of the groups held is history in time
			 * order: the next steps will not come back to them either, so
			 * apply now and read on while the applier writes.
			 */
			if (held > 0 && (uint64_t)bufs[cur].step_old * 10 < held)
				break;
		}
		if (r == J_OK)
			r = resolve_publishers(evs, &bufs[cur], err);
		res->read_secs += time_mono() - t1;
		if (r != J_OK || upto == cursor)
			break;
		if ((r = applier_wait(&ap)) != J_OK)
			break;
		/* the applier is idle: the analytics connection is free for the lease */
		if (o->owner && time_mono() - renewed > (double)o->lease_ms / 3000.0) {
			r = as->ops->lock_renew(as, o->owner, time_now_ms(), o->lease_ms, err);
			if (r != J_OK)
				break;
			renewed = time_mono();
		}
		applier_submit(&ap, &bufs[cur], cursor, upto, (int64_t)nread);
		cursor = upto;
		cur ^= 1;
		if (o->progress) {
			pthread_mutex_lock(&ap.mu); /* the applier moves ap.cursor */
			int64_t applied = ap.cursor;
			pthread_mutex_unlock(&ap.mu);
			o->progress(o->progress_arg, applied - res->cursor_from,
				    max_seq - res->cursor_from, 0);
			drew = 1;
		}
		if (end)
			break;
	}
	{
		int ra = applier_wait(&ap);
		pthread_mutex_lock(&ap.mu);
		ap.quit = 1;
		pthread_cond_broadcast(&ap.cv);
		pthread_mutex_unlock(&ap.mu);
		pthread_join(ap.th, NULL);
		if (r == J_OK && ra != J_OK) {
			r = ra;
			*err = ap.err;
		} else if (ra != J_OK && r != J_OK) {
			/* the read failed too; the apply error is the one that explains state */
			*err = ap.err;
			r = ra;
		}
	}
done:
	res->events = ap.events;
	res->groups = ap.groups;
	res->chunks = ap.chunks;
	res->cursor_to = ap.cursor;
	res->apply_secs = ap.secs;
	agg_release(&bufs[0]);
	agg_release(&bufs[1]);
	agg_release(&helper.agg);
	tz_close(zone);
	evstore_close(helper.evs);
	pthread_mutex_destroy(&ap.mu);
	pthread_cond_destroy(&ap.cv);
	if (drew)
		o->progress(o->progress_arg, ap.cursor - res->cursor_from,
			    max_seq - res->cursor_from, 1);
record:
	res->secs = time_mono() - t0;
	rec.finished_ms = time_now_ms();
	rec.events_read = res->events;
	rec.groups_written = res->groups;
	rec.cursor_to = res->cursor_to;
	snprintf(rec.state, sizeof(rec.state), "%s",
		 r == J_OK	    ? "success"
		 : o->retry_follows ? "retrying"
				    : "failed");
	if (r != J_OK)
		snprintf(rec.error, sizeof(rec.error), "%s", err->msg);
	struct jerr err2;
	int r2 = as->ops->run_end(as, &rec, &err2);
	if (r == J_OK && r2 != J_OK) {
		*err = err2;
		return r2;
	}
	return r;
}

static int run_locked(struct evstore *evs, struct anstore *as, const struct etl_opts *o,
		      struct etl_result *res, struct run_lock_info *holder, struct jerr *err)
{
	int got = 0, r;
	int64_t lease = o->lease_ms > 0 ? o->lease_ms : ETL_DEFAULT_LEASE_MS;
	struct etl_opts lo = *o;
	lo.lease_ms = lease;
	memset(res, 0, sizeof(*res));
	r = as->ops->lock_acquire(as, o->owner, NULL, time_now_ms(), lease, &got, holder, err);
	if (r == J_OK && !got && etl_owner_is_dead(holder->owner)) {
		char dead[sizeof(holder->owner)];
		snprintf(dead, sizeof(dead), "%s", holder->owner);
		r = as->ops->lock_acquire(as, o->owner, dead, time_now_ms(), lease, &got, holder,
					  err);
	}
	if (r != J_OK)
		return r;
	if (!got) {
		res->locked = 1;
		return J_OK;
	}
	/* We hold the lock: a row still 'running' was left by a process that died. */
	int64_t stale = 0;
	r = as->ops->runs_fail_stale(as, "the process running it died (found by the next run)",
				     time_now_ms(), &stale, err);
	if (r == J_OK && o->reset)
		r = as->ops->reset(as, err);
	if (r == J_OK) {
		r = etl_run(evs, as, &lo, res, err);
		res->stale_failed = stale;
	}
	struct jerr err2;
	int r2 = as->ops->lock_release(as, o->owner, &err2);
	if (r == J_OK && r2 != J_OK) {
		*err = err2;
		r = r2;
	}
	return r;
}

/*
 * Threads of one process share one owner name, and the store's lock takes an
 * owner's own lock again; so within a process (the web server's API and its
 * in-server schedule) a mutex keeps runs one at a time, before the store's lock
 * keeps processes apart. Without it, the second run would also mark the first
 * one's etl_runs row failed as stale.
 */
static pthread_mutex_t process_run_mu = PTHREAD_MUTEX_INITIALIZER;

int etl_run_locked(struct evstore *evs, struct anstore *as, const struct etl_opts *o,
		   struct etl_result *res, struct run_lock_info *holder, struct jerr *err)
{
	if (pthread_mutex_trylock(&process_run_mu) != 0) {
		memset(res, 0, sizeof(*res));
		memset(holder, 0, sizeof(*holder));
		snprintf(holder->owner, sizeof(holder->owner), "%s", o->owner);
		res->locked = 1;
		return J_OK;
	}
	int r = run_locked(evs, as, o, res, holder, err);
	pthread_mutex_unlock(&process_run_mu);
	return r;
}

int etl_close_enough(double a, double b)
{
	double d = fabs(a - b), m = fmax(fabs(a), fabs(b));
	return d <= 1e-9 * m || d < 1e-12;
}

/* Streaming merge of two grain-ordered sequences: recompute (left) and facts (right). */
struct fact_copy {
	int64_t hour_start;
	int32_t campaign_id, publisher_id;
	char *industry, *location, *device;
	struct kpi_sums m;
};

struct verify_ctx {
	struct fact_copy *facts;
	size_t n, cap, pos;
	FILE *out;
	int show;
	struct verify_result *res;
	int64_t raw_from; /* hours before it are skipped (their raw events were pruned) */
	int64_t last_skipped;
};

static char *dup_str(struct ev_str v)
{
	char *p = xmalloc(v.n + 1);
	memcpy(p, v.s, v.n);
	p[v.n] = '\0';
	return p;
}

static int cmp_text(const char *a, struct ev_str b)
{
	size_t na = strlen(a);
	int c = memcmp(a, b.s, na < b.n ? na : b.n);
	if (c)
		return c;
	return na < b.n ? -1 : na > b.n;
}

/* <0: fact sorts before r, 0: same grain, >0: after. */
static int cmp_grain(const struct fact_copy *f, const struct fact_row *r)
{
	int c;
	if (f->hour_start != r->hour_start)
		return f->hour_start < r->hour_start ? -1 : 1;
	if (f->campaign_id != r->campaign_id)
		return f->campaign_id < r->campaign_id ? -1 : 1;
	if (f->publisher_id != r->publisher_id)
		return f->publisher_id < r->publisher_id ? -1 : 1;
	if ((c = cmp_text(f->industry, r->industry)) != 0)
		return c;
	if ((c = cmp_text(f->location, r->location)) != 0)
		return c;
	return cmp_text(f->device, r->device);
}

static void report(struct verify_ctx *v, const char *what, int64_t hs, int32_t c, int32_t p,
		   const char *ind, int indn, const char *loc, int locn, const char *dev, int devn)
{
	char t[40];
	v->res->mismatches++;
	if (v->res->mismatches > v->show)
		return;
	fprintf(v->out, "mismatch: %s: hour %s campaign %d publisher %d %.*s/%.*s/%.*s\n", what,
		ts_format_iso(hs * 1000, t, sizeof(t)), c, p, indn, ind, locn, loc, devn, dev);
}

static void report_fact(struct verify_ctx *v, const char *what, const struct fact_copy *f)
{
	report(v, what, f->hour_start, f->campaign_id, f->publisher_id, f->industry,
	       (int)strlen(f->industry), f->location, (int)strlen(f->location), f->device,
	       (int)strlen(f->device));
}

static void report_row(struct verify_ctx *v, const char *what, const struct fact_row *r)
{
	report(v, what, r->hour_start, r->campaign_id, r->publisher_id, r->industry.s,
	       (int)r->industry.n, r->location.s, (int)r->location.n, r->device.s,
	       (int)r->device.n);
}

static int collect_fact(void *arg, const struct fact_row *r)
{
	struct verify_ctx *v = arg;
	if (r->hour_start < v->raw_from) { /* in grain order: hour_start leads */
		if (v->res->hours_skipped == 0 || r->hour_start != v->last_skipped)
			v->res->hours_skipped++;
		v->last_skipped = r->hour_start;
		return 0;
	}
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 1024;
		v->facts = xrealloc(v->facts, v->cap * sizeof(*v->facts));
	}
	struct fact_copy *f = &v->facts[v->n++];
	f->hour_start = r->hour_start;
	f->campaign_id = r->campaign_id;
	f->publisher_id = r->publisher_id;
	f->industry = dup_str(r->industry);
	f->location = dup_str(r->location);
	f->device = dup_str(r->device);
	f->m = r->m;
	return 0;
}

static int check_row(void *arg, const struct fact_row *r)
{
	struct verify_ctx *v = arg;
	int c;
	if (r->hour_start < v->raw_from)
		return 0;
	while (v->pos < v->n && (c = cmp_grain(&v->facts[v->pos], r)) < 0) {
		report_fact(v, "in fact_hourly but not in the raw events", &v->facts[v->pos]);
		v->pos++;
	}
	v->res->groups_checked++;
	if (v->pos >= v->n || cmp_grain(&v->facts[v->pos], r) != 0) {
		report_row(v, "in the raw events but not in fact_hourly", r);
		return 0;
	}
	const struct kpi_sums *a = &v->facts[v->pos].m, *b = &r->m;
	v->pos++;
	if (a->records != b->records || a->impressions != b->impressions ||
	    a->clicks != b->clicks || a->applies != b->applies ||
	    a->cost_micros != b->cost_micros || a->quality_sum != b->quality_sum) {
		char what[512], n[6][KPI_INT_BUF];
		snprintf(what, sizeof(what),
			 "counts differ (fact records %s clicks %s cost_micros %s; raw records %s"
			 " clicks %s cost_micros %s)",
			 kpi_int_format(a->records, n[0]), kpi_int_format(a->clicks, n[1]),
			 kpi_int_format(a->cost_micros, n[2]), kpi_int_format(b->records, n[3]),
			 kpi_int_format(b->clicks, n[4]), kpi_int_format(b->cost_micros, n[5]));
		report_row(v, what, r);
	} else if (!etl_close_enough(a->ctr_sum, b->ctr_sum) ||
		   !etl_close_enough(a->cpc_sum, b->cpc_sum) ||
		   !etl_close_enough(a->cpa_sum, b->cpa_sum) ||
		   !etl_close_enough(a->roi_sum, b->roi_sum)) {
		report_row(v, "ratio sums differ beyond 1e-9 relative", r);
	}
	return 0;
}

int etl_verify(struct evstore *evs, struct anstore *as, FILE *out, int show,
	       struct verify_result *res, struct jerr *err)
{
	struct verify_ctx v;
	int r;
	memset(res, 0, sizeof(*res));
	memset(&v, 0, sizeof(v));
	v.out = out;
	v.show = show;
	v.res = res;
	/*
	 * fact_hourly is copied first, with the cursor from the same snapshot, then
	 * the raw side up to that cursor streams past it. Raw rows at or below the
	 * cursor no longer change, so a run applying meanwhile cannot show as a
	 * difference. The copy is the size of the aggregate, not of the raw table.
	 */
	struct tz *zone = NULL;
	int64_t kept_upto, raw_after = INT64_MIN;
	r = as->ops->retention(as, &res->raw_from, &kept_upto, err);
	v.raw_from = res->raw_from;
	if (r == J_OK)
		r = anstore_tz_open(as, &zone, err);
	if (r == J_OK)
		r = as->ops->facts(as, &res->cursor, collect_fact, &v, err);
	if (r == J_OK)
		r = evs->ops->stats(evs, &res->max_seq, NULL, err);
	if (r == J_OK)
		r = evs->ops->recompute(evs, res->cursor, tz_is_utc(zone) ? NULL : zone, check_row,
					&v, err);
	tz_close(zone);
	/* a prune that moved the boundary meanwhile may have deleted rows compared above */
	if (r == J_OK && (r = as->ops->retention(as, &raw_after, &kept_upto, err)) == J_OK &&
	    raw_after != res->raw_from) {
		jerr_set(err,
			 "%s: a prune moved the retention boundary during verify; run it again",
			 as->name);
		r = J_RETRY;
	}
	if (r == J_OK)
		r = evstore_behind(evs, res->cursor, &res->behind, err);
	if (r == J_OK)
		for (; v.pos < v.n; v.pos++)
			report_fact(&v, "in fact_hourly but not in the raw events",
				    &v.facts[v.pos]);
	for (size_t i = 0; i < v.n; i++) {
		free(v.facts[i].industry);
		free(v.facts[i].location);
		free(v.facts[i].device);
	}
	free(v.facts);
	return r;
}
