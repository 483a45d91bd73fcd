/*
 * schedule.c - `jobads schedule`: what Airflow did for the original. A long-running
 * process that runs the ETL every interval or on a cron expression, one run at
 * a time across every process sharing the analytics store (the run lock),
 * retrying failures with capped exponential backoff, logging each run in
 * key=value lines and recording it in etl_runs.
 *
 * Slots never pile up: the next slot is computed after a run (and its retries)
 * ends, and slots that passed meanwhile are skipped, not run late in a burst.
 * The stores are opened for every attempt, so that a store that went away (a
 * file made unwritable, a restarted server) is found again without a restart.
 * Attempts that could not be recorded because the analytics store was down are
 * kept in memory and written to etl_runs at the next run that reaches it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "jobads/cron.h"
#include "jobads/etl.h"

#include "jobads/banned.h"

#define PENDING_MAX 64

struct sched {
	struct common_opts co;
	int64_t every_s; /* 0 with a cron expression */
	struct cron cron;
	const char *cron_expr;
	int retries;
	int64_t retry_delay_s, retry_max_s, timeout_s, lease_s;
	int64_t max_slots; /* 0: forever */
	size_t chunk;
	const char *log_path;
	FILE *log;
	char owner[160];
	/* attempts not yet in etl_runs (the store was down when they ended) */
	struct etl_run_rec pending[PENDING_MAX];
	int npending;
	int64_t nap_ms; /* longest sleep between looks at the clock and stop_requested */
	const struct sched_hook *hook;
};

static volatile sig_atomic_t reopen_requested;

static void on_hup(int sig)
{
	(void)sig;
	reopen_requested = 1;
}

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
static void slog(struct sched *s, const char *level, const char *event, ...)
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

static int log_open(struct sched *s)
{
	if (!s->log_path)
		return 0;
	FILE *f = fopen(s->log_path, "a");
	if (!f) {
		jlog_error("schedule: cannot open log file %s: %s", s->log_path, strerror(errno));
		return -1;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	if (s->log)
		fclose(s->log);
	s->log = f;
	return 0;
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
static void sleep_until(struct sched *s, int64_t until_ms)
{
	for (;;) {
		if (stop_requested)
			return;
		if (reopen_requested) {
			reopen_requested = 0;
			if (log_open(s) == 0 && s->log_path)
				slog(s, "info", "log_reopened", "file", s->log_path, NULL);
		}
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
static int64_t next_slot(const struct sched *s, int64_t prev_ms, int64_t now_ms)
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
static void flush_pending(struct sched *s, struct anstore *as)
{
	int done = 0;
	for (; done < s->npending; done++) {
		struct etl_run_rec *rec = &s->pending[done];
		struct jerr err;
		if (as->ops->run_begin(as, rec, &err) != STORE_OK ||
		    as->ops->run_end(as, rec, &err) != STORE_OK)
			break;
	}
	memmove(s->pending, s->pending + done,
		(size_t)(s->npending - done) * sizeof(s->pending[0]));
	s->npending -= done;
}

static void keep_pending(struct sched *s, const struct etl_run_rec *rec)
{
	if (s->npending == PENDING_MAX) { /* the oldest goes; the log still has it */
		memmove(s->pending, s->pending + 1, (PENDING_MAX - 1) * sizeof(s->pending[0]));
		s->npending--;
	}
	s->pending[s->npending++] = *rec;
}

/*
 * One attempt: open both stores, run under the lock, close. Returns STORE_OK,
 * STORE_RETRY, STORE_ERROR or ETL_LOCKED.
 */
static int attempt_run(struct sched *s, int attempt, int retry_follows, struct etl_result *res,
		       struct run_lock_info *holder, struct jerr *err)
{
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	struct etl_opts o = {0};
	int64_t started = time_now_ms();
	int r;
	memset(res, 0, sizeof(*res));
	o.chunk = s->chunk;
	o.stop = &stop_requested;
	o.trigger = "schedule";
	o.attempt = attempt;
	o.retry_follows = retry_follows;
	o.deadline = s->timeout_s > 0 ? time_mono() + (double)s->timeout_s : 0;
	o.owner = s->owner;
	o.lease_ms = s->lease_s * 1000;
	r = anstore_open(s->co.analytics, STORE_CREATE, &as, err);
	if (r == STORE_OK)
		r = evstore_open(s->co.events, STORE_OPEN_EXISTING, &evs, err);
	if (r == STORE_OK) {
		if (s->npending)
			flush_pending(s, as);
		r = etl_run_locked(evs, as, &o, res, holder, err);
	}
	if (r != STORE_OK && r != ETL_LOCKED && res->run_id == 0) {
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
static void no_retry_after_all(struct sched *s, const struct etl_result *res, int attempt,
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
	if (anstore_open(s->co.analytics, STORE_OPEN_EXISTING, &as, &err) != STORE_OK ||
	    as->ops->run_end(as, &rec, &err) != STORE_OK)
		slog(s, "warn", "record_failed", "run", i64(res->run_id, (char[24]){0}), "error",
		     err.msg, NULL);
	anstore_close(as);
}

/* One slot: attempts with backoff until success, a lock held elsewhere, or the last try. */
static void run_slot(struct sched *s)
{
	char b1[24], b2[24], b3[24], b4[24], b5[24], b6[32];
	for (int attempt = 1; attempt <= s->retries + 1 && !stop_requested; attempt++) {
		struct etl_result res;
		struct run_lock_info holder;
		struct jerr err;
		int retry_follows = attempt <= s->retries;
		slog(s, "info", "run_start", "trigger", "schedule", "attempt", i64(attempt, b1),
		     NULL);
		int r = attempt_run(s, attempt, retry_follows, &res, &holder, &err);
		if (s->hook)
			s->hook->on_run(s->hook->arg,
					r == ETL_LOCKED			   ? "skipped"
					: r == STORE_OK			   ? "success"
					: retry_follows && !stop_requested ? "retrying"
									   : "failed",
					&res);
		if (r == ETL_LOCKED) {
			slog(s, "info", "run_skipped", "reason", "a run is in progress", "holder",
			     holder.owner, NULL);
			return;
		}
		if (res.stale_failed > 0)
			slog(s, "warn", "stale_runs_failed", "count", i64(res.stale_failed, b1),
			     NULL);
		snprintf(b6, sizeof(b6), "%.3f", res.secs);
		if (r == STORE_OK) {
			slog(s, "info", "run_end", "run", run_id(res.run_id, b1), "state",
			     "success", "events", i64(res.events, b2), "groups",
			     i64(res.groups, b3), "cursor_from", i64(res.cursor_from, b4),
			     "cursor_to", i64(res.cursor_to, b5), "secs", b6, "stopped",
			     res.stopped ? "yes" : "no", NULL);
			return;
		}
		if (!retry_follows || stop_requested) {
			if (retry_follows) /* recorded as retrying, but we are stopping */
				no_retry_after_all(s, &res, attempt, err.msg);
			slog(s, "error", "run_end", "run", run_id(res.run_id, b1), "state",
			     "failed", "attempt", i64(attempt, b2), "events", i64(res.events, b3),
			     "cursor_to", i64(res.cursor_to, b4), "error", err.msg, NULL);
			return;
		}
		int64_t delay = s->retry_delay_s;
		for (int i = 1; i < attempt && delay < s->retry_max_s; i++)
			delay *= 2;
		if (delay > s->retry_max_s)
			delay = s->retry_max_s;
		slog(s, "warn", "run_retry", "run", run_id(res.run_id, b1), "attempt",
		     i64(attempt, b2), "delay_s", i64(delay, b3), "transient",
		     r == STORE_RETRY ? "yes" : "no", "error", err.msg, NULL);
		sleep_until(s, time_now_ms() + delay * 1000);
		if (stop_requested) {
			no_retry_after_all(s, &res, attempt, err.msg);
			slog(s, "error", "run_end", "run", run_id(res.run_id, b1), "state",
			     "failed", "attempt", i64(attempt, b2), "error",
			     "stopped while waiting to retry", NULL);
		}
	}
}

static void sched_defaults(struct sched *s)
{
	memset(s, 0, sizeof(*s));
	common_init(&s->co);
	s->retries = 3;
	s->retry_delay_s = 10;
	s->retry_max_s = 300;
	s->timeout_s = 3600;
	s->lease_s = ETL_DEFAULT_LEASE_MS / 1000;
	s->chunk = ETL_DEFAULT_CHUNK;
	s->nap_ms = 60000;
}

/* Slots until stop_requested or max_slots; the owner must be set. */
static int sched_loop(struct sched *s)
{
	char b1[24], b2[24], ev[512], an[512];
	/* the URLs redacted: a URL may hold a password */
	slog(s, "info", "scheduler_start", "owner", s->owner, s->cron_expr ? "cron" : "every_s",
	     s->cron_expr ? s->cron_expr : i64(s->every_s, b1), "retries", i64(s->retries, b2),
	     "events", store_url_redact(s->co.events, ev, sizeof(ev)), "analytics",
	     store_url_redact(s->co.analytics, an, sizeof(an)), NULL);
	/* an interval runs at once, then every interval; cron waits for its first minute */
	int64_t slot = s->every_s ? time_now_ms() : next_slot(s, 0, time_now_ms());
	int rc = EXIT_OK;
	for (int64_t n = 0; !stop_requested && (s->max_slots == 0 || n < s->max_slots); n++) {
		if (slot < 0) {
			slog(s, "error", "scheduler_stop", "reason",
			     "the cron expression matches no time in the next five years", NULL);
			rc = EXIT_FAIL;
			break;
		}
		sleep_until(s, slot);
		if (stop_requested)
			break;
		run_slot(s);
#ifdef __GLIBC__
		malloc_trim(0); /* give a big run's aggregation memory back while idle */
#endif
		slot = next_slot(s, slot, time_now_ms());
	}
	slog(s, "info", "scheduler_stop", "reason",
	     stop_requested  ? "signal"
	     : rc == EXIT_OK ? "slots done"
			     : "error",
	     "unrecorded", i64(s->npending, b1), NULL);
	return rc;
}

int schedule_every(const struct common_opts *co, int64_t every_s, size_t chunk,
		   const struct sched_hook *hook)
{
	struct sched *s = xmalloc(sizeof(*s));
	sched_defaults(s);
	s->co = *co;
	s->every_s = every_s;
	s->chunk = chunk;
	s->nap_ms = 250; /* a server stops promptly: its signal lands in another thread */
	s->hook = hook;
	etl_owner_name(s->owner, sizeof(s->owner));
	int rc = sched_loop(s);
	free(s);
	return rc;
}

static int dur_opt(const char *name, const char *arg, int64_t lo, int64_t *out)
{
	if (parse_duration(arg, out) != 0 || *out < lo)
		return usage_error("schedule",
				   "%s: want a duration such as 30s, 5m or 1h%s, got '%s'", name,
				   lo > 0 ? " (not 0)" : "", arg);
	return 0;
}

int cmd_schedule(int argc, char **argv)
{
	enum {
		O_EVERY = OPT_FIRST_FREE,
		O_CRON,
		O_RETRIES,
		O_DELAY,
		O_MAXDELAY,
		O_TIMEOUT,
		O_LEASE,
		O_LOG,
		O_SLOTS,
		O_CHUNK
	};
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"every", required_argument, NULL, O_EVERY},
	    {"cron", required_argument, NULL, O_CRON},
	    {"retries", required_argument, NULL, O_RETRIES},
	    {"retry-delay", required_argument, NULL, O_DELAY},
	    {"retry-max", required_argument, NULL, O_MAXDELAY},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"lease", required_argument, NULL, O_LEASE},
	    {"log-file", required_argument, NULL, O_LOG},
	    {"slots", required_argument, NULL, O_SLOTS},
	    {"chunk", required_argument, NULL, O_CHUNK},
	    {NULL, 0, NULL, 0},
	};
	static struct sched s; /* large (pending records): not on the stack */
	struct jerr err;
	int64_t v;
	int opt;

	sched_defaults(&s);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(&s.co, opt, optarg))
			continue;
		switch (opt) {
		case O_EVERY:
			if (dur_opt("--every", optarg, 1, &s.every_s))
				return EXIT_USAGE;
			break;
		case O_CRON:
			if (cron_parse(optarg, &s.cron, &err) != 0)
				return usage_error("schedule", "--cron '%s': %s", optarg, err.msg);
			s.cron_expr = optarg;
			break;
		case O_RETRIES:
			if (parse_int64(optarg, strlen(optarg), 0, 100, &v))
				return usage_error("schedule", "--retries: want 0..100, got '%s'",
						   optarg);
			s.retries = (int)v;
			break;
		case O_DELAY:
			if (dur_opt("--retry-delay", optarg, 1, &s.retry_delay_s))
				return EXIT_USAGE;
			break;
		case O_MAXDELAY:
			if (dur_opt("--retry-max", optarg, 1, &s.retry_max_s))
				return EXIT_USAGE;
			break;
		case O_TIMEOUT:
			if (dur_opt("--timeout", optarg, 0, &s.timeout_s))
				return EXIT_USAGE;
			break;
		case O_LEASE:
			if (dur_opt("--lease", optarg, 3, &s.lease_s))
				return EXIT_USAGE;
			break;
		case O_LOG:
			s.log_path = optarg;
			break;
		case O_SLOTS:
			if (parse_int64(optarg, strlen(optarg), 1, INT64_MAX, &s.max_slots))
				return usage_error("schedule",
						   "--slots: want a number >= 1, got '%s'", optarg);
			break;
		case O_CHUNK:
			if (parse_int64(optarg, strlen(optarg), 1, 100000000, &v))
				return usage_error("schedule",
						   "--chunk: want 1..100000000, got '%s'", optarg);
			s.chunk = (size_t)v;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_unexpected("schedule", argv[optind]);
	if (!!s.every_s == !!s.cron_expr)
		return usage_error("schedule", "give one of --every DURATION or --cron EXPRESSION");
	if (s.retry_max_s < s.retry_delay_s)
		s.retry_max_s = s.retry_delay_s;
	if (log_open(&s) != 0)
		return EXIT_FAIL;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	etl_owner_name(s.owner, sizeof(s.owner));

	int rc = sched_loop(&s);
	if (s.log)
		fclose(s.log);
	return rc;
}
