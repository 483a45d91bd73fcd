/*
 * runs.c - `jobads runs`: the ETL run history from etl_runs.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#include "jobads/banned.h"

static int print_run(void *arg, const struct etl_run_rec *r)
{
	json_t *arr = arg;
	char st[40], fi[40];
	ts_format_iso(r->started_ms, st, sizeof(st));
	if (r->finished_ms)
		ts_format_iso(r->finished_ms, fi, sizeof(fi));
	else
		snprintf(fi, sizeof(fi), "-");
	if (arr) {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer(r->id));
		json_object_set_new(o, "trigger", json_string(r->trigger));
		json_object_set_new(o, "attempt", json_integer(r->attempt));
		json_object_set_new(o, "state", json_string(r->state));
		json_object_set_new(o, "started", json_string(st));
		json_object_set_new(o, "finished", r->finished_ms ? json_string(fi) : json_null());
		json_object_set_new(o, "events_read", json_integer(r->events_read));
		json_object_set_new(o, "groups_written", json_integer(r->groups_written));
		json_object_set_new(o, "cursor_from", json_integer(r->cursor_from));
		json_object_set_new(o, "cursor_to", json_integer(r->cursor_to));
		json_object_set_new(o, "owner", r->owner[0] ? json_string(r->owner) : json_null());
		json_object_set_new(o, "error", r->error[0] ? json_string(r->error) : json_null());
		json_array_append_new(arr, o);
		return 0;
	}
	printf("%6" PRId64 "  %-8s %3d  %-9s %-24s %-24s %10" PRId64 " %8" PRId64 "  %" PRId64
	       " -> %" PRId64 "%s%s%s%s\n",
	       r->id, r->trigger, r->attempt, r->state, st, fi, r->events_read, r->groups_written,
	       r->cursor_from, r->cursor_to, r->owner[0] ? "  by " : "", r->owner,
	       r->error[0] ? "  error: " : "", r->error);
	return 0;
}

int cmd_runs(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"limit", required_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct anstore *as;
	struct jerr err;
	int64_t limit = 20;
	int opt, json = 0, rc = EXIT_OK;

	common_init(&co);
	while ((opt = getopt_long(argc, argv, "n:j", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		switch (opt) {
		case 'n':
			if (parse_int64(optarg, strlen(optarg), 1, 1000000, &limit))
				return usage_error("runs", "--limit: want 1..1000000, got '%s'",
						   optarg);
			break;
		case 'j':
			json = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_unexpected("runs", argv[optind]);
	if (anstore_open(co.analytics, STORE_OPEN_EXISTING, &as, &err) != J_OK) {
		jlog_error("runs: %s", err.msg);
		return EXIT_FAIL;
	}
	json_t *arr = json ? json_array() : NULL;
	if (!json)
		printf("%6s  %-8s %3s  %-9s %-24s %-24s %10s %8s  %s\n", "id", "trigger", "try",
		       "state", "started", "finished", "events", "groups", "cursor");
	if (as->ops->runs(as, (int)limit, print_run, arr, &err) != J_OK) {
		jlog_error("runs: %s", err.msg);
		rc = EXIT_FAIL;
	} else if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	json_decref(arr);
	anstore_close(as);
	return rc;
}
