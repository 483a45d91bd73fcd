/*
 * init.c - `jobads init`: create or upgrade both stores' schemas, and set the
 * analytics store's reporting time zone (--tz; docs/architecture.md, "The
 * reporting time zone").
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "jobads/etl.h"
#include "jobads/tz.h"

#include "jobads/banned.h"

enum { OPT_TZ = OPT_FIRST_FREE, OPT_REBUILD };

/*
 * The zone changes under the run lock, so that no run applies events bucketed
 * by the old zone's hours after it; with --rebuild the facts are emptied in the
 * same transaction and rebuilt from the raw events at once.
 */
static int set_zone(struct evstore *evs, struct anstore *as, const char *name, int rebuild)
{
	struct jerr e;
	struct jerr *err = &e;
	struct tz *z = NULL;
	struct run_lock_info holder;
	char owner[160];
	int got = 0, changed = 0, r;
	if (tz_open(name, &z, err) != J_OK)
		return usage_error("init", "--tz: %s", err->msg);
	etl_owner_name(owner, sizeof(owner));
	r = as->ops->lock_acquire(as, owner, NULL, time_now_ms(), ETL_DEFAULT_LEASE_MS, &got,
				  &holder, err);
	if (r == J_OK && !got) {
		jlog_error("init: %s: a run is in progress by %s; time zone not changed", as->name,
			   holder.owner);
		tz_close(z);
		return EXIT_LOCKED;
	}
	if (r == J_OK)
		r = as->ops->set_zone(as, z, rebuild, &changed, err);
	if (got) {
		struct jerr e2;
		as->ops->lock_release(as, owner, &e2);
	}
	tz_close(z);
	if (r != J_OK) {
		jlog_error("init: %s", err->msg);
		return EXIT_FAIL;
	}
	printf("analytics store %s: time zone %s%s\n", as->name, name,
	       changed ? "" : " (unchanged)");
	if (changed && rebuild)
		return etl_command_run(evs, as, ETL_DEFAULT_CHUNK, 0, 0, 0);
	return EXIT_OK;
}

int cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {COMMON_LONGOPTS,
						 {"tz", required_argument, NULL, OPT_TZ},
						 {"rebuild", no_argument, NULL, OPT_REBUILD},
						 {NULL, 0, NULL, 0}};
	struct common_opts co;
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	struct jerr err;
	const char *zone = NULL;
	int opt, rc = EXIT_FAIL, rebuild = 0;

	common_init(&co);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		if (opt == OPT_TZ) {
			zone = optarg;
			continue;
		}
		if (opt == OPT_REBUILD) {
			rebuild = 1;
			continue;
		}
		return EXIT_USAGE;
	}
	if (optind < argc)
		return usage_unexpected("init", argv[optind]);
	if (rebuild && !zone)
		return usage_error("init", "--rebuild goes with --tz ZONE");
	if (evstore_open(co.events, STORE_UPGRADE, &evs, &err) != J_OK ||
	    evs->ops->init(evs, &err) != J_OK) {
		zone = NULL;
		goto out;
	}
	if (anstore_open(co.analytics, STORE_UPGRADE, &as, &err) != J_OK ||
	    as->ops->init(as, &err) != J_OK) {
		zone = NULL; /* the error to print is err's */
		goto out;
	}
	printf("initialised event store %s and analytics store %s\n", evs->name, as->name);
	rc = zone ? set_zone(evs, as, zone, rebuild) : EXIT_OK;
out:
	if (rc != EXIT_OK && !zone)
		jlog_error("%s", err.msg);
	evstore_close(evs);
	anstore_close(as);
	return rc;
}
