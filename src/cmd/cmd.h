/*
 * cmd.h - what the commands share: the command table's signature, the common
 * store options, signals, and number formatting for terminal output.
 */
#ifndef JOBADS_CMD_H
#define JOBADS_CMD_H

#include <getopt.h>
#include <signal.h>
#include <stdint.h>

#include "jobads/compare.h"
#include "jobads/store.h"

#define DEFAULT_EVENTS	  "sqlite:data/events.db"
#define DEFAULT_ANALYTICS "sqlite:data/analytics.db"

/* Options every command takes. */
struct common_opts {
	const char *events, *analytics;
};

enum { OPT_EVENTS = 1000, OPT_ANALYTICS, OPT_HELP_LONG, OPT_FIRST_FREE };

/* -h and --help are main.c's (run_command), before a command parses its options. */
#define COMMON_LONGOPTS                                                                            \
	{"events", required_argument, NULL, OPT_EVENTS},                                           \
	{                                                                                          \
		"analytics", required_argument, NULL, OPT_ANALYTICS                                \
	}

#define COMMON_HELP                                                                                \
	"  --events URL       event store (env JOBADS_EVENTS; default " DEFAULT_EVENTS ")\n"       \
	"  --analytics URL    analytics store (env JOBADS_ANALYTICS; default " DEFAULT_ANALYTICS   \
	")\n"                                                                                      \
	"  -h, --help         this help\n"

void common_init(struct common_opts *c);
/* Handle a common option; returns 1 when c took it. */
int common_opt(struct common_opts *c, int opt, const char *arg);

/* A usage error: "jobads: CMD: msg" and exit status 2. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* usage_error for a stray argument, shown redacted: it may be a URL with a password. */
int usage_unexpected(const char *cmd, const char *arg);

/* SIGINT / SIGTERM set stop_requested; commands check it between units of work. */
extern volatile sig_atomic_t stop_requested;
void signals_install(void);

/*
 * Seconds for an option: "0.5", "2s", "500ms", within [lo, hi]. 0, or -1 when
 * malformed or out of range.
 */
int parse_seconds(const char *s, double lo, double hi, double *out);

/* "1,234,567", exact for any sum */
const char *fmt_int(kpi_int v, char *buf, size_t len);
/* Micros as money, "1,234.57": rounded to the cent in integers, exact for any sum. */
const char *fmt_micros(kpi_int micros, char *buf, size_t len);
/* "1,234.57" */
const char *fmt_money(double v, char *buf, size_t len);

/* The commands (src/cmd/NAME.c). */
int cmd_init(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_etl(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_rebuild(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_campaign(int argc, char **argv);
int cmd_pacing(int argc, char **argv);

struct campaign;
/* Every stored campaign, in id order, into *out (free it), *n of them (campaign.c). */
int campaign_list_read(struct anstore *as, struct campaign **out, size_t *n, struct jerr *err);

/* Shared pieces of commands that demo reuses. */
struct gen_opts {
	int64_t count;
	int days;
	uint64_t seed;
	int has_seed;
	double rate;
	int follow;
	int shuffle; /* with days: ts in random order, as a token-order export */
};
int generate_into_store(struct evstore *evs, const struct gen_opts *g, int quiet);
/* How `report` prints: tables for people, one JSON document, or one CSV table. */
enum report_format { REPORT_TABLE, REPORT_JSON, REPORT_CSV };
/* --format's value (table, json or csv) into *fmt: EXIT_OK, or a usage error for cmd. */
int format_arg(const char *cmd, const char *arg, enum report_format *fmt);
/* prev: the same filters over the earlier range of `compare`, or NULL for none */
int report_print(struct anstore *as, const struct an_filter *f, enum report_format fmt,
		 enum kpi_compare compare, const struct an_filter *prev);
/* prune (src/cmd/prune.c): raw events older than older_s the ETL has processed */
#define PRUNE_DEFAULT_BATCH 10000
int prune_command_run(struct evstore *evs, struct anstore *as, int64_t older_s, size_t batch,
		      int quiet);
/* The prune itself, for the command and schedule --prune-raw: J_OK, J_RETRY, J_ERROR. */
struct prune_result {
	int64_t raw_from, kept_upto, deleted;
};
int prune_stores(struct evstore *evs, struct anstore *as, int64_t older_s, size_t batch,
		 void (*progress)(void *arg, int64_t deleted), void *arg, struct prune_result *res,
		 struct jerr *err);
/* DUR for --raw-older-than and --prune-raw: a duration with its unit, above 0; 0 or -1. */
int prune_parse_older(const char *s, int64_t *secs);
int etl_command_run(struct evstore *evs, struct anstore *as, size_t chunk, size_t max_groups,
		    int quiet, int reset);

/* The scheduler's interval loop, for serve --etl-every: runs until stop_requested. */
struct schedule_hook;
int schedule_every(const struct common_opts *co, int64_t every_s, size_t chunk,
		   const struct schedule_hook *hook);

/* Serve until SIGINT/SIGTERM, with the in-server schedule (etl_every_s > 0) and a
 * live generator (live != NULL); demo --serve uses it too. */
struct web_opts;
int serve_run(const struct common_opts *co, struct web_opts *wo, int64_t etl_every_s,
	      const struct gen_opts *live);

#endif
