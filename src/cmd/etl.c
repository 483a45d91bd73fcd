/*
 * etl.c - `jobads etl` and `jobads rebuild`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "jobads/etl.h"

#include "jobads/banned.h"

/* The progress bar of a run from a terminal: arg is the run's start (time_mono). */
static void draw_progress(void *arg, int64_t done, int64_t total, int last)
{
	double el = time_mono() - *(const double *)arg;
	double rate = el > 0 ? (double)done / el : 0;
	int width = 30, fill = total > 0 ? (int)((double)done * width / (double)total) : width;
	char bar[64];
	if (fill > width)
		fill = width;
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '=' : ' ';
	bar[width] = '\0';
	fprintf(stderr, "\r[%s] %3d%% %" PRId64 "/%" PRId64 " events  %.0f/s %s", bar,
		total > 0 ? (int)(done * 100 / total) : 100, done, total, rate, last ? "\n" : "");
	fflush(stderr);
}

int etl_command_run(struct evstore *evs, struct anstore *as, size_t chunk, size_t max_groups,
		    int quiet, int reset)
{
	double t0 = time_mono();
	struct etl_opts o = {0};
	struct etl_result res;
	struct run_lock_info holder;
	struct jerr err;
	char owner[160];
	etl_owner_name(owner, sizeof(owner));
	o.chunk = chunk;
	o.max_groups = max_groups;
	if (!quiet && isatty(2)) {
		o.progress = draw_progress;
		o.progress_arg = &t0;
	}
	o.stop = &stop_requested;
	o.trigger = "manual";
	o.owner = owner;
	o.reset = reset;
	int r = etl_run_locked(evs, as, &o, &res, &holder, &err);
	if (r == J_OK && res.locked) {
		char since[40], until[40];
		jlog_error("%s: a run is in progress by %s (since %s, lease until %s); not run",
			   reset ? "rebuild" : "etl", holder.owner,
			   ts_format_iso(holder.acquired_ms, since, sizeof(since)),
			   ts_format_iso(holder.expires_ms, until, sizeof(until)));
		return EXIT_LOCKED;
	}
	if (res.stale_failed > 0 && !quiet)
		fprintf(stderr,
			"etl: %" PRId64 " run%s left 'running' by a dead process marked failed\n",
			res.stale_failed, res.stale_failed == 1 ? "" : "s");
	if (r != J_OK) {
		jlog_error("etl: %s%s", err.msg,
			   r == J_RETRY ? " (transient: run again to retry)" : "");
		if (res.events > 0)
			jlog_error("etl: %" PRId64
				   " events were applied before the failure, cursor "
				   "%" PRId64 " -> %" PRId64,
				   res.events, res.cursor_from, res.cursor_to);
		return EXIT_FAIL;
	}
	if (!quiet) {
		char e[32], g[32], rate[32];
		int64_t raw_from = INT64_MIN, kept;
		if (reset && as->ops->retention(as, &raw_from, &kept, &err) == J_OK &&
		    raw_from != INT64_MIN) {
			char t[40];
			printf(
			    "rebuild: aggregates from %s on emptied and recomputed, cursor back to "
			    "0; the facts of earlier hours kept (their raw events were pruned)\n",
			    ts_format_iso(raw_from * 1000, t, sizeof(t)));
		} else if (reset) {
			printf("rebuild: aggregates emptied, cursor back to 0\n");
		}
		fmt_int(res.events, e, sizeof(e));
		fmt_int(res.groups, g, sizeof(g));
		fmt_int(res.secs > 0 ? (int64_t)((double)res.events / res.secs) : 0, rate,
			sizeof(rate));
		printf("etl: %s events, %s groups, cursor %" PRId64 " -> %" PRId64
		       ", %.2f s (%s events/s; read %.2f s, apply %.2f s)%s\n",
		       e, g, res.cursor_from, res.cursor_to, res.secs, rate, res.read_secs,
		       res.apply_secs, res.stopped ? ", stopped by signal" : "");
	}
	return EXIT_OK;
}

static int etl_main(const char *name, int argc, char **argv, int rebuild)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"chunk", required_argument, NULL, 'c'},
	    {"max-groups", required_argument, NULL, 'g'},
	    {"quiet", no_argument, NULL, 'q'},
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	struct jerr err;
	int64_t chunk = ETL_DEFAULT_CHUNK, max_groups = 0;
	int opt, quiet = 0, rc = EXIT_FAIL;

	common_init(&co);
	while ((opt = getopt_long(argc, argv, "qc:g:", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		switch (opt) {
		case 'c':
			if (parse_int64(optarg, strlen(optarg), 1, 100000000, &chunk))
				return usage_error(
				    name, "--chunk: want a number 1..100000000, got '%s'", optarg);
			break;
		case 'g':
			if (parse_int64(optarg, strlen(optarg), 1000, 100000000, &max_groups))
				return usage_error(
				    name, "--max-groups: want a number 1000..100000000, got '%s'",
				    optarg);
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_unexpected(name, argv[optind]);
	if (evstore_open(co.events, STORE_OPEN_EXISTING, &evs, &err) != J_OK ||
	    anstore_open(co.analytics, STORE_CREATE, &as, &err) != J_OK) {
		jlog_error("%s: %s", name, err.msg);
		goto out;
	}
	/* rebuild empties the aggregates under the run lock, so a run in progress elsewhere
	 * is waited out (exit 3) before anything is touched */
	rc = etl_command_run(evs, as, (size_t)chunk, (size_t)max_groups, quiet, rebuild);
out:
	evstore_close(evs);
	anstore_close(as);
	return rc;
}

int cmd_etl(int argc, char **argv)
{
	return etl_main("etl", argc, argv, 0);
}

int cmd_rebuild(int argc, char **argv)
{
	return etl_main("rebuild", argc, argv, 1);
}
