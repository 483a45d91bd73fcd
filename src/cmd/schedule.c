/*
 * schedule.c - `jobads schedule`: options, the log file (reopened on SIGHUP for
 * logrotate) and signals around the scheduler's engine (src/core/schedule.c);
 * and the interval loop `serve --etl-every` runs in a thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "jobads/cron.h"
#include "jobads/etl.h"
#include "jobads/schedule.h"

#include "jobads/banned.h"

static volatile sig_atomic_t reopen_requested;

static void on_hup(int sig)
{
	(void)sig;
	reopen_requested = 1;
}

/* The command's own: where --log-file points, and the store URLs the engine borrows. */
struct sched_cmd {
	struct schedule s; /* first: the engine's callbacks get &s */
	struct common_opts co;
	const char *log_path;
	int64_t prune_raw_s; /* --prune-raw: 0 for none */
};

/* --prune-raw: after the slot's run, once a day; logged like the runs. */
static int prune_daily(struct schedule *s)
{
	struct sched_cmd *c = (struct sched_cmd *)s;
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	struct prune_result res = {0};
	struct jerr err;
	char b1[24], b2[40], b3[24], b4[32];
	double t0 = time_mono();
	int r = anstore_open(s->analytics, STORE_OPEN_EXISTING, &as, &err);
	if (r == J_OK)
		r = evstore_open(s->events, STORE_OPEN_EXISTING, &evs, &err);
	if (r == J_OK)
		r = prune_stores(evs, as, c->prune_raw_s, PRUNE_DEFAULT_BATCH, NULL, NULL, &res,
				 &err);
	evstore_close(evs);
	anstore_close(as);
	snprintf(b1, sizeof(b1), "%" PRId64, res.deleted);
	snprintf(b3, sizeof(b3), "%" PRId64, res.kept_upto);
	snprintf(b4, sizeof(b4), "%.3f", time_mono() - t0);
	if (r != J_OK) {
		schedule_log(s, "error", "prune_end", "state", "failed", "deleted", b1, "error",
			     err.msg, NULL);
		return -1;
	}
	schedule_log(s, "info", "prune_end", "state", "success", "deleted", b1, "raw_from",
		     ts_format_iso(res.raw_from * 1000, b2, sizeof(b2)), "kept_upto", b3, "secs",
		     b4, NULL);
	return 0;
}

static int log_open(struct sched_cmd *c)
{
	if (!c->log_path)
		return 0;
	FILE *f = fopen(c->log_path, "a");
	if (!f) {
		jlog_error("schedule: cannot open log file %s: %s", c->log_path, strerror(errno));
		return -1;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	if (c->s.log)
		fclose(c->s.log);
	c->s.log = f;
	return 0;
}

/* SIGHUP: the log file again (logrotate moved it away). */
static void reopen_log(struct schedule *s)
{
	struct sched_cmd *c = (struct sched_cmd *)s;
	reopen_requested = 0;
	if (log_open(c) == 0 && c->log_path)
		schedule_log(s, "info", "log_reopened", "file", c->log_path, NULL);
}

int schedule_every(const struct common_opts *co, int64_t every_s, size_t chunk,
		   const struct schedule_hook *hook)
{
	struct schedule *s = xmalloc(sizeof(*s));
	schedule_defaults(s);
	s->events = co->events;
	s->analytics = co->analytics;
	s->every_s = every_s;
	s->chunk = chunk;
	s->nap_ms = 250; /* a server stops promptly: its signal lands in another thread */
	s->hook = hook;
	s->stop = &stop_requested;
	etl_owner_name(s->owner, sizeof(s->owner));
	int rc = schedule_loop(s);
	free(s);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
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
		O_CHUNK,
		O_PRUNE
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
	    {"prune-raw", required_argument, NULL, O_PRUNE},
	    {NULL, 0, NULL, 0},
	};
	static struct sched_cmd c; /* large (pending records): not on the stack */
	struct schedule *s = &c.s;
	struct jerr err;
	int64_t v;
	int opt;

	schedule_defaults(s);
	common_init(&c.co);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(&c.co, opt, optarg))
			continue;
		switch (opt) {
		case O_EVERY:
			if (dur_opt("--every", optarg, 1, &s->every_s))
				return EXIT_USAGE;
			break;
		case O_CRON:
			if (cron_parse(optarg, &s->cron, &err) != 0)
				return usage_error("schedule", "--cron '%s': %s", optarg, err.msg);
			s->cron_expr = optarg;
			break;
		case O_RETRIES:
			if (parse_int64(optarg, strlen(optarg), 0, 100, &v))
				return usage_error("schedule", "--retries: want 0..100, got '%s'",
						   optarg);
			s->retries = (int)v;
			break;
		case O_DELAY:
			if (dur_opt("--retry-delay", optarg, 1, &s->retry_delay_s))
				return EXIT_USAGE;
			break;
		case O_MAXDELAY:
			if (dur_opt("--retry-max", optarg, 1, &s->retry_max_s))
				return EXIT_USAGE;
			break;
		case O_TIMEOUT:
			if (dur_opt("--timeout", optarg, 0, &s->timeout_s))
				return EXIT_USAGE;
			break;
		case O_LEASE:
			if (dur_opt("--lease", optarg, 3, &s->lease_s))
				return EXIT_USAGE;
			break;
		case O_LOG:
			c.log_path = optarg;
			break;
		case O_SLOTS:
			if (parse_int64(optarg, strlen(optarg), 1, INT64_MAX, &s->max_slots))
				return usage_error("schedule",
						   "--slots: want a number >= 1, got '%s'", optarg);
			break;
		case O_CHUNK:
			if (parse_int64(optarg, strlen(optarg), 1, 100000000, &v))
				return usage_error("schedule",
						   "--chunk: want 1..100000000, got '%s'", optarg);
			s->chunk = (size_t)v;
			break;
		case O_PRUNE:
			if (prune_parse_older(optarg, &c.prune_raw_s))
				return usage_error(
				    "schedule",
				    "--prune-raw: want a duration above 0 with its unit "
				    "(90d, 36h, 2w), got '%s'",
				    optarg);
			s->prune = prune_daily;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_unexpected("schedule", argv[optind]);
	if (!!s->every_s == !!s->cron_expr)
		return usage_error("schedule", "give one of --every DURATION or --cron EXPRESSION");
	if (s->retry_max_s < s->retry_delay_s)
		s->retry_max_s = s->retry_delay_s;
	if (log_open(&c) != 0)
		return EXIT_FAIL;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	etl_owner_name(s->owner, sizeof(s->owner));
	s->events = c.co.events;
	s->analytics = c.co.analytics;
	s->stop = &stop_requested;
	s->reopen = &reopen_requested;
	s->reopen_log = reopen_log;

	int rc = schedule_loop(s) == 0 ? EXIT_OK : EXIT_FAIL;
	if (s->log)
		fclose(s->log);
	return rc;
}
