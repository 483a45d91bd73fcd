/*
 * etl.h - the incremental run, verify and rebuild. The run knows the two store
 * interfaces and the aggregation, never a backend.
 */
#ifndef JOBADS_ETL_H
#define JOBADS_ETL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jobads/store.h"

/*
 * A transaction covers as many events as the groups held allow (max_groups,
 * default ETL_DEFAULT_MAX_GROUPS: about 24 MiB of them), read in steps of at
 * most ETL_READ_STEP; --chunk caps the events besides (0: no cap).
 */
#define ETL_DEFAULT_CHUNK      0
#define ETL_DEFAULT_MAX_GROUPS 150000
#define ETL_READ_STEP	       100000
#define ETL_MIN_STEP	       4096

struct etl_opts {
	size_t chunk;	   /* events per transaction at most (0: no cap) */
	size_t max_groups; /* groups held per transaction (0: the default) */
	/*
	 * Optional: called after each chunk is handed to the applier with the events
	 * applied so far and the backlog at the start (both from the cursor the run
	 * began at), and once more at the end with last = 1 when it was called before.
	 */
	void (*progress)(void *arg, int64_t done, int64_t total, int last);
	void *progress_arg;
	const volatile sig_atomic_t *stop; /* set by a signal handler: stop between chunks */
	const char *trigger;		   /* recorded in etl_runs: manual, schedule, api */
	int attempt;			   /* 1, 2, ... recorded in etl_runs */
	int retry_follows;		   /* a failure is recorded 'retrying', not 'failed' */
	double deadline;		   /* time_mono() past which the run stops (0: none) */
	double began;			   /* time_mono() the deadline counts from (its message) */
	const char *owner;		   /* the run lock's owner (etl_owner_name) */
	int64_t lease_ms;		   /* the lock's lease, renewed between chunks */
	int reset; /* rebuild: empty the aggregates first (under the lock) */
};

struct etl_result {
	int64_t events, groups, chunks;
	int64_t cursor_from, cursor_to;
	double secs;
	double read_secs, apply_secs; /* time spent reading+aggregating, and applying */
	int stopped;		      /* 1 when *stop ended the run early */
	int timed_out;		      /* 1 when the deadline ended it (an error) */
	int64_t run_id;
	int64_t stale_failed; /* runs of dead processes marked failed first */
	/*
	 * etl_run_locked only: 1 when another live run holds the run lock, so
	 * nothing was run or recorded (the call returns J_OK; holder says who).
	 * An outcome of its own, not a failure: callers report it as skipped.
	 */
	int locked;
};

/*
 * One incremental run: chunks of rows with seq > cursor are aggregated and
 * applied, each chunk in one analytics transaction that also moves the cursor.
 * The run is recorded in etl_runs. Returns J_OK, J_RETRY or J_ERROR.
 */
int etl_run(struct evstore *evs, struct anstore *as, const struct etl_opts *o,
	    struct etl_result *res, struct jerr *err);

/* The default lease of the run lock: a holder that stops renewing loses it after this. */
#define ETL_DEFAULT_LEASE_MS (120 * 1000)

/*
 * This process's name as a lock owner: "host:pid:space:instance", where space
 * names the boot and pid namespace the pid belongs to ("?" when unknown) and
 * instance is 64 random bits drawn once per process (src/core/owner.c).
 */
void etl_owner_name(char *buf, size_t len);

/* Where a lock holder runs, as seen from the owner me (both etl_owner_name forms). */
enum etl_owner_where {
	ETL_OWNER_SELF,	     /* holder is me */
	ETL_OWNER_ELSEWHERE, /* another host, container or boot, or an older "host:pid"
				name: its pid means nothing here, only its lease counts */
	ETL_OWNER_LOCAL,     /* my pid namespace: *pid can be looked up here */
	ETL_OWNER_GONE,	     /* my pid namespace and my pid, another instance: an earlier
				process that had my pid, so certainly gone */
};
/* The policy behind taking a dead holder's lock; *pid gets the holder's pid when local. */
enum etl_owner_where etl_owner_where(const char *holder, const char *me, int64_t *pid);
/* 1 when holder is proven dead: it ran in this pid namespace and its process is gone. */
int etl_owner_is_dead(const char *holder);

/*
 * etl_run under the run lock: take it (from a holder in this pid namespace whose
 * process is gone, too), mark runs left 'running' by dead processes failed, run, release.
 * o->owner must be set. When another live run holds the lock, returns J_OK
 * with res->locked set and *holder filled (nothing is run or recorded); else as etl_run.
 */
int etl_run_locked(struct evstore *evs, struct anstore *as, const struct etl_opts *o,
		   struct etl_result *res, struct run_lock_info *holder, struct jerr *err);

struct verify_result {
	int64_t groups_checked, mismatches, cursor, max_seq;
	int64_t behind; /* stored events past the cursor; -1: the store cannot tell */
	/* retention: hours before raw_from (INT64_MIN: none) are not checked */
	int64_t raw_from, hours_skipped;
};

/*
 * Recompute every aggregate from the raw events up to the cursor with the event
 * store's own GROUP BY, and compare with fact_hourly: integers exactly, ratio
 * sums within 1e-9 relative. Only the hours from the retention boundary on,
 * whose raw events are all there; the earlier ones are counted as skipped. Differences (the first
 * `show`) go to out. Returns J_OK when the stores could be read; res->mismatches says the rest.
 */
int etl_verify(struct evstore *evs, struct anstore *as, FILE *out, int show,
	       struct verify_result *res, struct jerr *err);

/* 1 when a and b agree within the verify tolerance. */
int etl_close_enough(double a, double b);

#endif
