/*
 * init.c - `jobads init`: create or upgrade both stores' schemas.
 */
#include <stdio.h>

#include "cmd.h"

#include "jobads/banned.h"

int cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
	struct common_opts co;
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	struct jerr err;
	int opt, rc = EXIT_FAIL;

	common_init(&co);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		return EXIT_USAGE;
	}
	if (optind < argc)
		return usage_unexpected("init", argv[optind]);
	if (evstore_open(co.events, STORE_UPGRADE, &evs, &err) != J_OK ||
	    evs->ops->init(evs, &err) != J_OK)
		goto out;
	if (anstore_open(co.analytics, STORE_UPGRADE, &as, &err) != J_OK ||
	    as->ops->init(as, &err) != J_OK)
		goto out;
	printf("initialised event store %s and analytics store %s\n", evs->name, as->name);
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK)
		jlog_error("%s", err.msg);
	evstore_close(evs);
	anstore_close(as);
	return rc;
}
