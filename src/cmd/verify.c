/*
 * verify.c - `jobads verify`: recompute from raw and compare.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "jobads/etl.h"

#include "jobads/banned.h"

int cmd_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"show", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	struct verify_result vr;
	struct jerr err;
	int64_t show = 20;
	int opt, rc = EXIT_FAIL;

	common_init(&co);
	while ((opt = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		switch (opt) {
		case 's':
			if (parse_int64(optarg, strlen(optarg), 0, 1000000, &show))
				return usage_error("verify", "--show: want a number, got '%s'",
						   optarg);
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_unexpected("verify", argv[optind]);
	if (evstore_open(co.events, STORE_OPEN_EXISTING, &evs, &err) != J_OK ||
	    anstore_open(co.analytics, STORE_OPEN_EXISTING, &as, &err) != J_OK ||
	    etl_verify(evs, as, stderr, (int)show, &vr, &err) != J_OK) {
		jlog_error("verify: %s", err.msg);
		goto out;
	}
	if (vr.mismatches) {
		char t[40] = "";
		if (vr.raw_from != INT64_MIN)
			ts_format_iso(vr.raw_from * 1000, t, sizeof(t));
		jlog_error("verify: %" PRId64 " differences between fact_hourly and the raw events "
			   "up to seq %" PRId64 "%s%s",
			   vr.mismatches, vr.cursor, t[0] ? " in the hours from " : "", t);
		goto out;
	}
	if (vr.behind >= 0)
		printf("verify: ok: %" PRId64
		       " hourly groups match the raw events up to seq %" PRId64 " (%" PRId64
		       " stored events not yet processed)\n",
		       vr.groups_checked, vr.cursor, vr.behind);
	else
		printf("verify: ok: %" PRId64
		       " hourly groups match the raw events up to seq %" PRId64
		       " (how many stored events are not yet processed: this event store cannot "
		       "tell)\n",
		       vr.groups_checked, vr.cursor);
	if (vr.raw_from != INT64_MIN) {
		char t[40];
		printf("verify: %" PRId64
		       " hour%s before %s skipped: their raw events were pruned, "
		       "their facts kept\n",
		       vr.hours_skipped, vr.hours_skipped == 1 ? "" : "s",
		       ts_format_iso(vr.raw_from * 1000, t, sizeof(t)));
	}
	rc = EXIT_OK;
out:
	evstore_close(evs);
	anstore_close(as);
	return rc;
}
