/*
 * prune.c - `jobads prune --raw-older-than DUR`: raw-event retention (issue 16).
 *
 * The boundary goes into the analytics store first (set_retention, at a
 * fact-hour start), then the event store deletes what lies before it and the
 * ETL has processed (seq <= the cursor recorded with it). A crash between the
 * two, or in the middle of the deletes, leaves rows that a later prune deletes;
 * never a fact without its events counted, nor an unprocessed event gone.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "jobads/tz.h"

#include "jobads/banned.h"

/* a failed batch (busy, a lost connection) is tried again this often, a second apart */
#define PRUNE_TRIES 5

static void draw_prune(void *arg, int64_t deleted)
{
	double el = time_mono() - *(const double *)arg;
	fprintf(stderr, "\rprune: %" PRId64 " events deleted  %.0f/s", deleted,
		el > 0 ? (double)deleted / el : 0);
	fflush(stderr);
}

int prune_stores(struct evstore *evs, struct anstore *as, int64_t older_s, size_t batch,
		 void (*progress)(void *arg, int64_t deleted), void *arg, struct prune_result *res,
		 struct jerr *err)
{
	struct tz *zone = NULL;
	size_t hint = 0;
	int r;
	memset(res, 0, sizeof(*res));
	if (!evs->ops->prune) {
		jerr_set(err, "%s: this event store cannot prune", evs->name);
		return J_ERROR;
	}
	if ((r = anstore_tz_open(as, &zone, err)) != J_OK)
		return r;
	/* the start of the fact hour that holds now - older_s: every hour before it is whole */
	int64_t want = tz_hour_start(zone, time_now_ms() / 1000 - older_s, &hint);
	tz_close(zone);
	if ((r = as->ops->set_retention(as, want, &res->raw_from, &res->kept_upto, err)) != J_OK)
		return r;
	for (int tries = 1;; tries++) {
		r = evs->ops->prune(evs, res->raw_from * 1000, res->kept_upto, batch, progress, arg,
				    &res->deleted, err);
		if (r != J_RETRY || tries == PRUNE_TRIES || stop_requested)
			return r;
		sleep(1);
	}
}

int prune_command_run(struct evstore *evs, struct anstore *as, int64_t older_s, size_t batch,
		      int quiet)
{
	struct prune_result res;
	struct jerr err;
	double t0 = time_mono();
	int tty = !quiet && isatty(2);
	memset(&res, 0, sizeof(res));
	res.raw_from = INT64_MIN;
	int r = prune_stores(evs, as, older_s, batch, tty ? draw_prune : NULL, &t0, &res, &err);
	if (tty && res.deleted > 0)
		fputc('\n', stderr);
	char t[40] = "-", n[32];
	/* a prune refused before it set a boundary has none (INT64_MIN): nothing to show */
	if (res.raw_from > INT64_MIN / 1000 && res.raw_from < INT64_MAX / 1000)
		ts_format_iso(res.raw_from * 1000, t, sizeof(t));
	fmt_int(res.deleted, n, sizeof(n));
	if (r != J_OK) {
		if (res.deleted > 0)
			jlog_error(
			    "prune: %s (%s events before %s deleted so far; run prune again)",
			    err.msg, n, t);
		else
			jlog_error("prune: %s", err.msg);
		return EXIT_FAIL;
	}
	if (!quiet)
		printf("prune: %s raw events before %s deleted (those the ETL had processed, up "
		       "to seq %" PRId64 "), %.2f s; the facts are kept, verify and rebuild cover "
		       "the hours from %s on\n",
		       n, t, res.kept_upto, time_mono() - t0, t);
	return EXIT_OK;
}

int prune_parse_older(const char *s, int64_t *secs)
{
	size_t n = strlen(s);
	if (n < 2 || !strchr("smhdw", s[n - 1]) || parse_duration(s, secs) != 0 || *secs <= 0)
		return -1;
	return 0;
}

int cmd_prune(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"raw-older-than", required_argument, NULL, 'o'},
	    {"batch", required_argument, NULL, 'b'},
	    {"quiet", no_argument, NULL, 'q'},
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	struct jerr err;
	int64_t older = -1, batch = PRUNE_DEFAULT_BATCH;
	int opt, quiet = 0, rc = EXIT_FAIL;

	common_init(&co);
	while ((opt = getopt_long(argc, argv, "qo:b:", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		switch (opt) {
		case 'o':
			if (prune_parse_older(optarg, &older))
				return usage_error("prune",
						   "--raw-older-than: want a duration above 0 with "
						   "its unit (90d, 36h, 2w), got '%s'",
						   optarg);
			break;
		case 'b':
			if (parse_int64(optarg, strlen(optarg), 1, 1000000, &batch))
				return usage_error(
				    "prune", "--batch: want a number 1..1000000, got '%s'", optarg);
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_unexpected("prune", argv[optind]);
	if (older < 0)
		return usage_error("prune", "--raw-older-than DUR is required (90d, 36h, 2w)");
	if (evstore_open(co.events, STORE_OPEN_EXISTING, &evs, &err) != J_OK ||
	    anstore_open(co.analytics, STORE_OPEN_EXISTING, &as, &err) != J_OK) {
		jlog_error("prune: %s", err.msg);
		goto out;
	}
	rc = prune_command_run(evs, as, older, (size_t)batch, quiet);
out:
	evstore_close(evs);
	anstore_close(as);
	return rc;
}
