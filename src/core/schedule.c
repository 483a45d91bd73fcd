/*
 * schedule.c - the scheduler's engine, what Airflow did for the original: run
 * the ETL every interval or on a cron expression, one run at a time across every
 * process sharing the analytics store (the run lock), retrying failures with
 * capped exponential backoff, logging each run in key=value lines and recording
 * it in etl_runs. `jobads schedule` (src/cmd/schedule.c) and `serve --etl-every`
 * drive it.
 *
 * Slots never pile up: the next slot is computed after a run (and its retries)
 * ends, and slots that passed meanwhile are skipped, not run late in a burst.
 * The stores are opened for every attempt, so that a store that went away (a
 * file made unwritable, a restarted server) is found again without a restart.
 * Attempts that could not be recorded because the analytics store was down are
 * kept in memory and written to etl_runs at the next run that reaches it.
 */
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobads/schedule.h"
#include "jobads/etl.h"
#include "jobads/store.h"
#include "jobads/util.h"

#include "jobads/banned.h"

/* Append v to sb as a key=value value: bare when plain, else quoted with \" and \\. */
static void kv_value(struct strbuf *sb, const char *v)
{
	int plain = *v != '\0';
	for (const char *p = v; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == '=')
			plain = 0;
	if (plain) {
		strbuf_add(sb, v, strlen(v));
		return;
	}
	strbuf_add(sb, "\"", 1);
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_add(sb, "\\", 1);
		if (*p == '\n')
			strbuf_add(sb, "\\n", 2);
		else
			strbuf_add(sb, p, 1);
	}
	strbuf_add(sb, "\"", 1);
}

/*
 * One log line: ts=... level=... event=... then the pairs given as
 * "key", "value" strings, ended by NULL. One write per line, so lines from
 * several schedulers sharing a file do not interleave.
 */
void schedule_log(struct schedule *s, const char *level, const char *event, ...)
{
	struct strbuf sb = {0};
	char ts[40];
	va_list ap;
	ts_format_iso(time_now_ms(), ts, sizeof(ts));
	strbuf_addf(&sb, "ts=%s level=%s event=%s", ts, level, event);
	va_start(ap, event);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		const char *v = va_arg(ap, const char *);
		strbuf_addf(&sb, " %s=", k);
		kv_value(&sb, v ? v : "");
	}
	va_end(ap);
	strbuf_add(&sb, "\n", 1);
	FILE *f = s->log ? s->log : stderr;
	fwrite(sb.buf, 1, sb.len, f);
	fflush(f);
	strbuf_release(&sb);
}

static const char *i64(int64_t v, char *buf)
{
	snprintf(buf, 24, "%" PRId64, v);
	return buf;
}

/* A run id for the log: "-" when the attempt never reached etl_runs. */
static const char *run_id(int64_t v, char *buf)
{
	return v > 0 ? i64(v, buf) : "-";
}

/* Sleep until the wall clock reaches until_ms, or a signal asks to stop. */
static void sleep_until(struct schedule *s, int64_t until_ms)
{
	for (;;) {
		if (*s->stop)
			return;
		if (s->reopen && *s->reopen && s->reopen_log)
			s->reopen_log(s); /* clears *reopen */
		int64_t left = until_ms - time_now_ms();
		if (left <= 0)
			return;
		if (left > s->nap_ms) /* wake now and then: the wall clock may be stepped */
			left = s->nap_ms;
		struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
		nanosleep(&ts, NULL); /* a signal cuts it short; the loop looks again */
	}
}

/* The first slot strictly after now_ms, in unix ms. */
static int64_t next_slot(const struct schedule *s, int64_t prev_ms, int64_t now_ms)
{
	if (s->every_s > 0) {
		int64_t step = s->every_s * 1000, t = prev_ms + step;
		if (t <= now_ms) /* overran: skip the slots that passed */
			t += ((now_ms - t) / step + 1) * step;
		return t;
	}
	int64_t t = cron_next(&s->cron, now_ms / 1000);
	return t < 0 ? -1 : t * 1000;
}

/* Write the attempts that could not be recorded earlier; keep them if it fails again. */
static void flush_pending(struct schedule *s, struct anstore *as)
{
	int done = 0;
	for (; done < s->npending; done++) {
		struct etl_run_rec *rec = &s->pending[done];
		struct jerr err;
		if (as->ops->run_begin(as, rec, &err) != J_OK ||
		    as->ops->run_end(as, rec, &err) != J_OK)
			break;
	}
	memmove(s->pending, s->pending + done,
		(size_t)(s->npending - done) * sizeof(s->pending[0]));
	s->npending -= done;
}

static void keep_pending(struct schedule *s, const struct etl_run_rec *rec)
{
	if (s->npending == SCHEDULE_PENDING_MAX) { /* the oldest goes; the log still has it */
		memmove(s->pending, s->pending + 1,
			(SCHEDULE_PENDING_MAX - 1) * sizeof(s->pending[0]));
		s->npending--;
	}
	s->pending[s->npending++] = *rec;
}

/*
 * One attempt: open both stores, run under the lock, close. Returns J_OK
 * (res->locked when a run elsewhere holds the lock), J_RETRY or J_ERROR.
 */
static int attempt_run(struct schedule *s, int attempt, int retry_follows, struct etl_result *res,
		       struct run_lock_info *holder, struct jerr *err)
{
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	struct etl_opts o = {0};
	int64_t started = time_now_ms();
	int r;
	memset(res, 0, sizeof(*res));
	o.chunk = s->chunk;
	o.stop = s->stop;
	o.trigger = "schedule";
	o.attempt = attempt;
	o.retry_follows = retry_follows;
	o.began = time_mono();
	o.deadline = s->timeout_s > 0 ? o.began + (double)s->timeout_s : 0;
	o.owner = s->owner;
	o.lease_ms = s->lease_s * 1000;
	r = anstore_open(s->analytics, STORE_CREATE, &as, err);
	if (r == J_OK)
		r = evstore_open(s->events, STORE_OPEN_EXISTING, &evs, err);
	if (r == J_OK) {
		if (s->npending)
			flush_pending(s, as);
		r = etl_run_locked(evs, as, &o, res, holder, err);
	}
	if (r != J_OK && res->run_id == 0) {
		/* never reached etl_runs: keep the attempt for the next run that does */
		struct etl_run_rec rec;
		memset(&rec, 0, sizeof(rec));
		snprintf(rec.trigger, sizeof(rec.trigger), "schedule");
		snprintf(rec.state, sizeof(rec.state), "%s", retry_follows ? "retrying" : "failed");
		snprintf(rec.owner, sizeof(rec.owner), "%s", s->owner);
		snprintf(rec.error, sizeof(rec.error), "%s", err->msg);
		rec.attempt = attempt;
		rec.started_ms = started;
		rec.finished_ms = time_now_ms();
		rec.cursor_from = rec.cursor_to = -1;
		keep_pending(s, &rec);
	}
	evstore_close(evs);
	anstore_close(as);
	return r;
}

/*
 * An attempt recorded as 'retrying' gets no retry (the scheduler is stopping):
 * record it as failed, in etl_runs or in the pending list, so that the history
 * never promises a retry that did not come.
 */
static void no_retry_after_all(struct schedule *s, const struct etl_result *res, int attempt,
			       const char *error)
{
	if (res->run_id <= 0) {
		if (s->npending > 0 && s->pending[s->npending - 1].attempt == attempt)
			snprintf(s->pending[s->npending - 1].state, sizeof(s->pending[0].state),
				 "failed");
		return;
	}
	struct anstore *as = NULL;
	struct jerr err;
	struct etl_run_rec rec;
	memset(&rec, 0, sizeof(rec));
	rec.id = res->run_id;
	snprintf(rec.trigger, sizeof(rec.trigger), "schedule");
	snprintf(rec.state, sizeof(rec.state), "failed");
	snprintf(rec.owner, sizeof(rec.owner), "%s", s->owner);
	snprintf(rec.error, sizeof(rec.error), "%s (not retried: the scheduler was stopped)",
		 error);
	rec.attempt = attempt;
	rec.finished_ms = time_now_ms();
	rec.events_read = res->events;
	rec.groups_written = res->groups;
	rec.cursor_from = res->cursor_from;
	rec.cursor_to = res->cursor_to;
	if (anstore_open(s->analytics, STORE_OPEN_EXISTING, &as, &err) != J_OK ||
	    as->ops->run_end(as, &rec, &err) != J_OK)
		schedule_log(s, "warn", "record_failed", "run", i64(res->run_id, (char[24]){0}),
			     "error", err.msg, NULL);
	anstore_close(as);
}

/* One slot: attempts with backoff until success, a lock held elsewhere, or the last try. */
static void run_slot(struct schedule *s)
{
	char b1[24], b2[24], b3[24], b4[24], b5[24], b6[32];
	for (int attempt = 1; attempt <= s->retries + 1 && !*s->stop; attempt++) {
		struct etl_result res;
		struct run_lock_info holder;
		struct jerr err;
		int retry_follows = attempt <= s->retries;
		schedule_log(s, "info", "run_start", "trigger", "schedule", "attempt",
			     i64(attempt, b1), NULL);
		int r = attempt_run(s, attempt, retry_follows, &res, &holder, &err);
		if (s->hook)
			s->hook->on_run(s->hook->arg,
					res.locked		     ? "skipped"
					: r == J_OK		     ? "success"
					: retry_follows && !*s->stop ? "retrying"
								     : "failed",
					&res);
		if (res.locked) {
			schedule_log(s, "info", "run_skipped", "reason", "a run is in progress",
				     "holder", holder.owner, NULL);
			return;
		}
		if (res.stale_failed > 0)
			schedule_log(s, "warn", "stale_runs_failed", "count",
				     i64(res.stale_failed, b1), NULL);
		snprintf(b6, sizeof(b6), "%.3f", res.secs);
		if (r == J_OK) {
			schedule_log(s, "info", "run_end", "run", run_id(res.run_id, b1), "state",
				     "success", "events", i64(res.events, b2), "groups",
				     i64(res.groups, b3), "cursor_from", i64(res.cursor_from, b4),
				     "cursor_to", i64(res.cursor_to, b5), "secs", b6, "stopped",
				     res.stopped ? "yes" : "no", NULL);
			return;
		}
		if (!retry_follows || *s->stop) {
			if (retry_follows) /* recorded as retrying, but we are stopping */
				no_retry_after_all(s, &res, attempt, err.msg);
			schedule_log(s, "error", "run_end", "run", run_id(res.run_id, b1), "state",
				     "failed", "attempt", i64(attempt, b2), "events",
				     i64(res.events, b3), "cursor_to", i64(res.cursor_to, b4),
				     "error", err.msg, NULL);
			return;
		}
		int64_t delay = s->retry_delay_s;
		for (int i = 1; i < attempt && delay < s->retry_max_s; i++)
			delay *= 2;
		if (delay > s->retry_max_s)
			delay = s->retry_max_s;
		schedule_log(s, "warn", "run_retry", "run", run_id(res.run_id, b1), "attempt",
			     i64(attempt, b2), "delay_s", i64(delay, b3), "transient",
			     r == J_RETRY ? "yes" : "no", "error", err.msg, NULL);
		sleep_until(s, time_now_ms() + delay * 1000);
		if (*s->stop) {
			no_retry_after_all(s, &res, attempt, err.msg);
			schedule_log(s, "error", "run_end", "run", run_id(res.run_id, b1), "state",
				     "failed", "attempt", i64(attempt, b2), "error",
				     "stopped while waiting to retry", NULL);
		}
	}
}

void schedule_defaults(struct schedule *s)
{
	memset(s, 0, sizeof(*s));
	s->retries = 3;
	s->retry_delay_s = 10;
	s->retry_max_s = 300;
	s->timeout_s = 3600;
	s->lease_s = ETL_DEFAULT_LEASE_MS / 1000;
	s->chunk = ETL_DEFAULT_CHUNK;
	s->nap_ms = 60000;
}

int schedule_loop(struct schedule *s)
{
	char b1[24], b2[24], ev[512], an[512];
	/* the URLs redacted: a URL may hold a password */
	schedule_log(s, "info", "scheduler_start", "owner", s->owner,
		     s->cron_expr ? "cron" : "every_s",
		     s->cron_expr ? s->cron_expr : i64(s->every_s, b1), "retries",
		     i64(s->retries, b2), "events", store_url_redact(s->events, ev, sizeof(ev)),
		     "analytics", store_url_redact(s->analytics, an, sizeof(an)), NULL);
	/* an interval runs at once, then every interval; cron waits for its first minute */
	int64_t slot = s->every_s ? time_now_ms() : next_slot(s, 0, time_now_ms());
	int rc = 0;
	for (int64_t n = 0; !*s->stop && (s->max_slots == 0 || n < s->max_slots); n++) {
		if (slot < 0) {
			schedule_log(s, "error", "scheduler_stop", "reason",
				     "the cron expression matches no time in the next five years",
				     NULL);
			rc = -1;
			break;
		}
		sleep_until(s, slot);
		if (*s->stop)
			break;
		run_slot(s);
		if (s->prune && !*s->stop && time_now_ms() >= s->prune_next_ms && s->prune(s) == 0)
			s->prune_next_ms = time_now_ms() + SCHEDULE_PRUNE_EVERY_MS;
#ifdef __GLIBC__
		malloc_trim(0); /* give a big run's aggregation memory back while idle */
#endif
		slot = next_slot(s, slot, time_now_ms());
	}
	schedule_log(s, "info", "scheduler_stop", "reason",
		     *s->stop  ? "signal"
		     : rc == 0 ? "slots done"
			       : "error",
		     "unrecorded", i64(s->npending, b1), NULL);
	return rc;
}
