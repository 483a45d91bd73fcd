/*
 * schedule.h - the scheduler's engine (src/core/schedule.c): ETL runs every
 * interval or on a cron expression, with retries and backoff, one at a time
 * across processes (the run lock), each logged as a key=value line and recorded
 * in etl_runs. The caller fills the options, owns the log file and the signals.
 */
#ifndef JOBADS_SCHEDULE_H
#define JOBADS_SCHEDULE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jobads/cron.h"
#include "jobads/store.h"

struct etl_result;

struct schedule_hook {
	/* each attempt's end: state success, failed, retrying or skipped (lock held) */
	void (*on_run)(void *arg, const char *state, const struct etl_result *res);
	void *arg;
};

#define SCHEDULE_PENDING_MAX 64
/* schedule --prune-raw: a prune this long after the last one that succeeded */
#define SCHEDULE_PRUNE_EVERY_MS (24 * 3600 * 1000LL)

struct schedule {
	/* the caller's, after schedule_defaults */
	const char *events, *analytics; /* store URLs */
	int64_t every_s;		/* 0 with a cron expression */
	struct cron cron;
	const char *cron_expr;
	int retries;
	int64_t retry_delay_s, retry_max_s, timeout_s, lease_s;
	int64_t max_slots; /* 0: forever */
	size_t chunk;
	FILE *log;	 /* the log's lines (NULL: stderr) */
	char owner[160]; /* the run lock's owner (etl_owner_name) */
	int64_t nap_ms;	 /* longest sleep between looks at the clock and *stop */
	const struct schedule_hook *hook;
	const volatile sig_atomic_t *stop; /* set by a signal: stop between slots and naps */
	/* optional: when *reopen is set, reopen_log is called between naps (and clears it) */
	const volatile sig_atomic_t *reopen;
	void (*reopen_log)(struct schedule *s);
	/*
	 * Optional (schedule --prune-raw): called after each slot's run once
	 * prune_next_ms has come (0: at the first slot); it returns 0 when done,
	 * and the engine then sets prune_next_ms a day on, or -1 to be called
	 * again after the next slot.
	 */
	int (*prune)(struct schedule *s);
	int64_t prune_next_ms;
	/* the engine's: attempts not yet in etl_runs (the store was down when they ended) */
	struct etl_run_rec pending[SCHEDULE_PENDING_MAX];
	int npending;
};

void schedule_defaults(struct schedule *s);
/* Slots until *stop or max_slots; owner and stop must be set. 0, or -1 (no next slot). */
int schedule_loop(struct schedule *s);
/*
 * One log line: ts=... level=... event=... then the pairs given as "key",
 * "value" strings, ended by NULL.
 */
void schedule_log(struct schedule *s, const char *level, const char *event, ...);

#endif
