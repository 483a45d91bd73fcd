/*
 * demo.c - `jobads demo`: the whole pipeline on the embedded default, in ./data
 * unless --events/--analytics say otherwise.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "jobads/etl.h"
#include "jobads/web.h"

#include "jobads/banned.h"

int cmd_demo(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"count", required_argument, NULL, 'n'},
	    {"days", required_argument, NULL, 'd'},
	    {"seed", required_argument, NULL, 's'},
	    {"serve", no_argument, NULL, 'S'},
	    {"no-serve", no_argument, NULL, 'N'},
	    {"listen", required_argument, NULL, 'L'},
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct gen_opts g;
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	struct jerr err;
	struct an_filter f;
	struct verify_result vr;
	int64_t v;
	int opt, rc = EXIT_FAIL, serve = -1; /* -1: serve when run from a terminal */
	struct web_opts wo;

	memset(&g, 0, sizeof(g));
	g.count = 200000;
	g.days = 14;
	common_init(&co);
	web_opts_init(&wo);
	while ((opt = getopt_long(argc, argv, "n:d:s:", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		switch (opt) {
		case 'n':
			if (parse_int64(optarg, strlen(optarg), 1, INT64_MAX / 2, &v))
				return usage_error("demo", "--count: want a number > 0, got '%s'",
						   optarg);
			g.count = v;
			break;
		case 'd':
			if (parse_int64(optarg, strlen(optarg), 1, 3660, &v))
				return usage_error("demo", "--days: want 1..3660, got '%s'",
						   optarg);
			g.days = (int)v;
			break;
		case 's':
			if (parse_int64(optarg, strlen(optarg), 0, INT64_MAX, &v))
				return usage_error("demo", "--seed: want a number >= 0, got '%s'",
						   optarg);
			g.seed = (uint64_t)v;
			g.has_seed = 1;
			break;
		case 'S':
			serve = 1;
			break;
		case 'N':
			serve = 0;
			break;
		case 'L':
			if (!strchr(optarg, ':'))
				return usage_error("demo", "--listen: want HOST:PORT, got '%s'",
						   optarg);
			wo.listen = optarg;
			serve = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (serve < 0) /* someone at a terminal gets the dashboard; a script gets an exit */
		serve = isatty(0) && isatty(1);
	if (optind < argc)
		return usage_unexpected("demo", argv[optind]);

	if (evstore_open(co.events, STORE_CREATE, &evs, &err) != J_OK ||
	    anstore_open(co.analytics, STORE_CREATE, &as, &err) != J_OK) {
		jlog_error("demo: %s", err.msg);
		goto out;
	}
	/* the stores' names, not the URLs: a URL may hold a password */
	printf("== jobads demo: events in %s, aggregates in %s\n", evs->name, as->name);
	printf("== generate: %lld events over the past %d days\n", (long long)g.count, g.days);
	if (generate_into_store(evs, &g, 0) != EXIT_OK)
		goto out;
	printf("== etl\n");
	if (etl_command_run(evs, as, ETL_DEFAULT_CHUNK, 0, 0, 0) != EXIT_OK)
		goto out;
	printf("== verify\n");
	if (etl_verify(evs, as, stderr, 20, &vr, &err) != J_OK) {
		jlog_error("demo: %s", err.msg);
		goto out;
	}
	if (vr.mismatches) {
		jlog_error("demo: verify found %lld differences", (long long)vr.mismatches);
		goto out;
	}
	printf("verify: ok: %lld hourly groups match the raw events\n",
	       (long long)vr.groups_checked);
	printf("== report\n");
	an_filter_all(&f);
	rc = report_print(as, &f, REPORT_TABLE, KPI_COMPARE_NONE, NULL);
	if (rc == EXIT_OK)
		printf("\nNext: jobads report --from now-1d, jobads help, or open %s with any SQL "
		       "client (views campaign_summary, publisher_summary, ...).\n",
		       as->name);
out:
	evstore_close(evs);
	anstore_close(as);
	if (rc == EXIT_OK && serve) {
		/* the live part: a stream like the original generator's, the ETL every 10 s */
		struct gen_opts live;
		memset(&live, 0, sizeof(live));
		live.follow = 1;
		live.rate = 2;
		printf("\n== serve: the dashboard with a live generator (2 events/s) and the ETL "
		       "every "
		       "10 s; Ctrl-C stops\n");
		fflush(stdout);
		rc = serve_run(&co, &wo, 10, &live);
	}
	return rc;
}
