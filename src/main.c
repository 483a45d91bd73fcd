/*
 * main.c - the command table. One row per command; run_command applies what
 * every command shares (help, signals) and checks that stdout was written.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "jobads/web.h"

#include "jobads/banned.h"

struct cmd_struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *help;
};

static const struct cmd_struct commands[] = {
    {"init", cmd_init, "create or upgrade both schemas (idempotent)",
     "usage: jobads init [options]\n\n"
     "Create the event and analytics stores, or upgrade their schemas. Safe to run again.\n\n"
     "options:\n" COMMON_HELP},
    {"generate", cmd_generate, "fake events with the original's distributions",
     "usage: jobads generate [--count N] [--days D [--shuffle]] [--seed S] [--rate R]\n"
     "                       [--follow] [--output FILE [--format ndjson|csv]] [options]\n\n"
     "Generate tracking events as the original fake_generator.py did (10 publishers,\n"
     "10 jobs/campaigns, its impression, click, apply, bid and quality distributions)\n"
     "and store them, or write them to FILE ('-' for stdout).\n\n"
     "  --count N          events to make (default 1000; with --follow: unlimited)\n"
     "  --days D           spread ts over the past D days with a daily and weekly\n"
     "                     traffic shape, in time order (default: ts = now)\n"
     "  --shuffle          with --days: the same shape in random order, as history\n"
     "                     exported from Cassandra or merged from collectors comes\n"
     "  --seed S           reproducible output for the same S (default: random)\n"
     "  --rate R           events per second, ts = now, like the original's stream\n"
     "  --follow           keep going until interrupted (default rate 2/s)\n"
     "  --output FILE      write records instead of storing them\n"
     "  --format F         ndjson (default) or csv, with --output\n" COMMON_HELP},
    {"ingest", cmd_ingest,
     "load NDJSON or CSV files, stdin or a Cassandra table into the event store",
     "usage: jobads ingest [--format auto|ndjson|csv] [--reject-file FILE] [--batch N]\n"
     "                     [--stall S] [--max-age S] [FILE...] [options]\n\n"
     "Validate and store records; with no FILE or '-', read stdin. A bad record is\n"
     "reported as FILE:LINE: field: reason and skipped; the good ones beside it are\n"
     "stored. Each batch is one transaction. A record whose (event_id, ts) is already\n"
     "stored is counted as a duplicate and not stored again. A batch also commits\n"
     "when the input stalls or the batch grows old, so a live pipe (tail -F log |\n"
     "jobads ingest) never holds a transaction open. SIGINT/SIGTERM commit what was\n"
     "read and stop.\n\n"
     "An input cassandra://[USER@]HOST[,HOST...][:PORT]/KEYSPACE[?table=NAME] is a\n"
     "Cassandra table of tracking records (the original's job_ads.tracking; table\n"
     "defaults to tracking), read by token ranges with progress; a bad row is\n"
     "reported by its event_id. Run again after an interruption: what is stored\n"
     "already counts as duplicates.\n\n"
     "  --format F         auto (default: .csv files and text not starting with '{'\n"
     "                     are CSV), ndjson or csv\n"
     "  --reject-file FILE write each rejected record with its source and reason\n"
     "                     as one NDJSON line\n"
     "  --batch N          records per transaction (default 100000)\n"
     "  --stall S          commit when no record came for S seconds (default 0.5;\n"
     "                     500ms also works; 0: never)\n"
     "  --max-age S        commit a batch open for S seconds (default 2; 0: never)\n"
     "  --quiet            no per-record messages on stderr, only the summary\n\n"
     "exit status: 0 all stored, 1 when any record was rejected or a file failed,\n"
     "2 usage error.\n\noptions:\n" COMMON_HELP},
    {"etl", cmd_etl, "one incremental ETL run",
     "usage: jobads etl [--chunk N] [--max-groups N] [--quiet] [options]\n\n"
     "Aggregate every event stored since the last run into fact_hourly. Each chunk is\n"
     "one transaction that also moves the cursor, so an interrupted run loses nothing\n"
     "and counts nothing twice. A chunk takes as many events as its hourly groups fit\n"
     "in memory, so history out of time order is applied once, not once per 100,000\n"
     "events. SIGINT/SIGTERM stop between chunks.\n\n"
     "  --chunk N          at most N events per transaction (default: no cap)\n"
     "  --max-groups N     hourly groups held per transaction, about 170 bytes each\n"
     "                     (default 150000: about 25 MiB; two are held at once)\n"
     "  --quiet            no progress bar or summary\n" COMMON_HELP},
    {"verify", cmd_verify, "prove the aggregates against the raw events",
     "usage: jobads verify [--show N] [options]\n\n"
     "Recompute every hourly group from the raw events up to the cursor with the event\n"
     "store's own GROUP BY and compare with fact_hourly: counts and cost exactly, ratio\n"
     "sums within 1e-9 relative. Exit status 1 on any difference. After a prune, only\n"
     "the hours from the retention boundary on; it says how many hours it skipped.\n\n"
     "  --show N           differences to print (default 20)\n" COMMON_HELP},
    {"rebuild", cmd_rebuild, "recompute the aggregates from scratch",
     "usage: jobads rebuild [--chunk N] [--max-groups N] [--quiet] [options]\n\n"
     "Empty fact_hourly and dim_publisher, set the cursor to 0 (one transaction), then\n"
     "run the ETL over every stored event. After a prune, only the hours from the\n"
     "retention boundary on are emptied and recomputed; earlier facts are kept.\n\n" COMMON_HELP},
    {"prune", cmd_prune, "delete old raw events, keeping the facts",
     "usage: jobads prune --raw-older-than DUR [--batch N] [--quiet] [options]\n\n"
     "Delete the raw events older than DUR (90d, 36h, 2w) that the ETL has processed\n"
     "(seq at or below the cursor; never one past it), in short transactions of N rows\n"
     "that let ingest go on (on Cassandra whole partitions). The boundary, the start of\n"
     "the fact hour DUR ago, is recorded in the analytics store: the facts are kept,\n"
     "verify checks and rebuild recomputes only the hours from it on.\n\n"
     "  --raw-older-than DUR  the age past which raw events go (required)\n"
     "  --batch N          rows per delete transaction (default 10000)\n"
     "  --quiet            no progress or summary\n" COMMON_HELP},
    {"report", cmd_report, "KPI tables in the terminal, or JSON or CSV",
     "usage: jobads report [--from T] [--to T] [--campaign ID] [--publisher ID]\n"
     "                     [--industry NAME] [--device NAME] [--format table|json|csv]\n"
     "                     [--compare previous|year] [--json] [options]\n\n"
     "Totals and KPIs, then per campaign, publisher, industry, device, hour of day and\n"
     "weekday. KPIs are ratios of sums; '-' (JSON null) where the denominator is 0.\n\n"
     "  --from T, --to T   time range on the event hour: ISO-8601, epoch ms, or\n"
     "                     relative: now, now-7d, now-12h\n"
     "  --format F         table (the default), json: one JSON document, or csv: one\n"
     "                     CSV table (RFC 4180), a row per group with a section column\n"
     "  --json             the same as --format json\n"
     "  --compare C        beside each row, the same row over an earlier range and the\n"
     "                     change in percent ('-' where the earlier value is 0 or\n"
     "                     none): previous, the period of equal length just before\n"
     "                     (needs --from; --to defaults to now), or year, the same\n"
     "                     weekdays 52 weeks before\n" COMMON_HELP},
    {"campaign", cmd_campaign, "campaign names, flights and budgets",
     "usage: jobads campaign set ID [--name TEXT] [--budget AMOUNT --per day|month|flight]\n"
     "                              [--start DATE] [--end DATE] [options]\n"
     "       jobads campaign list [--json | --format table|json|csv] [options]\n"
     "       jobads campaign load FILE.csv [options]\n\n"
     "A campaign's name, flight (start and end dates, inclusive, in the reporting time\n"
     "zone's calendar: YYYY-MM-DD) and budget, in the cost's currency, per local day,\n"
     "local month or the whole flight. The name shows wherever the campaign's id does:\n"
     "report, the API, the dashboard, campaign_summary. Only a campaign the ETL has\n"
     "seen events of can be set (an unknown id is an error).\n\n"
     "set changes the fields given and keeps the others; 'none' clears a date or the\n"
     "budget (and its period). load reads a CSV file with a header row: campaign_id and\n"
     "any of name, start, end, budget, per; each row replaces that campaign's fields.\n"
     "It stores every row or none: the first bad row is an error naming its number and\n"
     "field. list --format csv writes what load reads.\n\n"
     "  --name TEXT        up to 200 characters\n"
     "  --budget AMOUNT    a decimal >= 0, exact to the micro (as cost)\n"
     "  --per PERIOD       day, month or flight (flight needs --start and --end)\n"
     "  --start DATE       first day of the flight\n"
     "  --end DATE         last day of the flight, not before --start\n" COMMON_HELP},
    {"pacing", cmd_pacing, "spend against budget per campaign, projected to the period's end",
     "usage: jobads pacing [--json | --format table|json|csv] [--now TIME] [options]\n\n"
     "For each campaign with a budget (jobads campaign set), its current period (the\n"
     "local day or month, or the flight, within the flight's dates): spend so far (the\n"
     "hours that started before now), the spend expected by now, the projection to the\n"
     "period's end at the current rate, the budget left, the state and the day the\n"
     "budget runs out. Expected follows the campaign's own spend by local hour of week\n"
     "over the four weeks before the period (linear in time without such history).\n"
     "States: exhausted (spent >= budget), over-pacing (spent > expected + 10%),\n"
     "under-pacing (spent < expected - 10%), on track, inactive (outside the flight).\n\n"
     "  --json             one JSON document (money also as exact *_micros)\n"
     "  --format F         table (default), json or csv (money exact to the micro)\n"
     "  --now TIME         as of TIME (ISO-8601, epoch ms or now-2d) instead of now\n" COMMON_HELP},
    {"runs", cmd_runs, "ETL run history",
     "usage: jobads runs [--limit N] [--json] [options]\n\n"
     "The newest runs from etl_runs (default 20).\n\n" COMMON_HELP},
    {"schedule", cmd_schedule, "run the ETL on a schedule, with retries and a run lock",
     "usage: jobads schedule (--every DURATION | --cron EXPRESSION) [--retries N]\n"
     "                       [--retry-delay D] [--retry-max D] [--timeout D] [--lease D]\n"
     "                       [--log-file FILE] [--slots N] [--chunk N]\n"
     "                       [--prune-raw DUR] [options]\n\n"
     "Run the ETL every DURATION (30s, 5m, 1h; the first run at once) or at the minutes\n"
     "a five-field cron EXPRESSION names, in UTC ('*/5 * * * *', '0 3 * * mon-fri',\n"
     "@hourly). One run at a time across every process sharing the analytics store: a\n"
     "slot whose run lock is held elsewhere is skipped and says by whom. A run that\n"
     "overruns its slot delays the next; missed slots are skipped, never run in a burst.\n"
     "Each run is recorded in etl_runs (trigger schedule) and logged on stderr as\n"
     "key=value lines. SIGTERM or SIGINT finishes the current chunk, records the run\n"
     "and exits 0; SIGHUP reopens the log file.\n\n"
     "  --every D          interval between slot starts\n"
     "  --cron EXPR        minute hour day-of-month month day-of-week (UTC)\n"
     "  --retries N        attempts after a failed one (default 3)\n"
     "  --retry-delay D    wait before the first retry, doubled each time (default 10s)\n"
     "  --retry-max D      cap on that wait (default 5m)\n"
     "  --timeout D        a run stops between chunks after D and fails (default 1h;\n"
     "                     0: none)\n"
     "  --lease D          the run lock's lease, renewed while running (default 2m); a\n"
     "                     holder on another host that stops renewing loses it after D\n"
     "  --log-file FILE    append the log to FILE instead of stderr\n"
     "  --slots N          stop after N slots (default: run until stopped)\n"
     "  --prune-raw DUR    after the first slot's run and then once a day, prune the\n"
     "                     raw events older than DUR (jobads prune --raw-older-than)\n"
     "  --chunk N          at most N events per transaction (default: no cap)\n" COMMON_HELP},
    {"serve", cmd_serve, "dashboard, JSON API, HTTP ingest and /metrics",
     "usage: jobads serve [--listen HOST:PORT] [--etl-every D] [--ingest-token T]\n"
     "                    [--admin-token T] [--max-body SIZE] [--threads N]\n"
     "                    [--header-timeout D] [--request-timeout D] [--min-body-rate R]\n"
     "                    [--allowed-host NAME]... [--chunk N] [--cache-mb N] [options]\n\n"
     "Serve the dashboard at / and the JSON API under /api (kpis, campaigns, publishers,\n"
     "industries, devices, heatmap, timeseries, runs, health; from/to and filters as\n"
     "query parameters, format=csv for a CSV download of the rows), accept events with\n"
     "POST /api/events (NDJSON or a JSON array, the rules of 'ingest', stored before the\n"
     "reply) and ETL runs with POST /api/runs, and export Prometheus metrics at /metrics.\n"
     "SIGINT/SIGTERM stop it cleanly.\n\n"
     "  --listen HOST:PORT  address to listen on (default " WEB_DEFAULT_LISTEN "; port 0:\n"
     "                     any free port, printed at start). Loopback by default: put\n"
     "                     a TLS proxy in front before listening elsewhere\n"
     "  --etl-every D      run the ETL schedule inside the server every D (10s, 5m),\n"
     "                     as 'jobads schedule --every D' would\n"
     "  --ingest-token T   require 'Authorization: Bearer T' on POST /api/events\n"
     "                     (env JOBADS_INGEST_TOKEN; prefer the environment: options\n"
     "                     show in ps)\n"
     "  --admin-token T    enable POST /api/runs with 'Authorization: Bearer T'\n"
     "                     (env JOBADS_ADMIN_TOKEN); without it the route answers 403\n"
     "  --max-body SIZE    largest POST body, e.g. 8M (default), 512k; larger is 413\n"
     "  --threads N        worker threads: connections served at once; one that has\n"
     "                     sent nothing yet takes none (default 64)\n"
     "  --header-timeout D  a connection's wait for a request head, new or kept\n"
     "                     alive, and a reply's longest stall (default 500ms)\n"
     "  --request-timeout D  a body must arrive whole within D (default 30s; 408)\n"
     "  --min-body-rate R  bytes/s a body must keep up after its first second\n"
     "                     (default 16k; slower is a 408)\n"
     "  --allowed-host NAME  a name (a proxy's) that Host and Origin may carry besides\n"
     "                     IP addresses, localhost and the --listen host; repeatable\n"
     "  --chunk N          at most N events per ETL transaction (default: no cap)\n"
     "  --cache-mb N       keep answers of the read routes, up to N MiB, until the next\n"
     "                     ETL run changes the data (default 32; 0: off)\n" COMMON_HELP},
    {"demo", cmd_demo, "the whole pipeline on the embedded default",
     "usage: jobads demo [--count N] [--days D] [--seed S] [--serve | --no-serve]\n"
     "                   [--listen HOST:PORT]\n\n"
     "Create ./data, generate D days (default 14) of N events (default 200000), run the\n"
     "ETL, verify it and print the KPI report. Then, when run from a terminal (or with\n"
     "--serve), serve the dashboard (URL printed) with a live generator (2 events/s) and\n"
     "the ETL every 10 s inside the server, until Ctrl-C; from a script it exits.\n\n"
     "  --serve            serve after the report even without a terminal\n"
     "  --no-serve         exit after the report even on a terminal\n"
     "  --listen HOST:PORT where to serve (implies --serve; default " WEB_DEFAULT_LISTEN
     ")\n\n" COMMON_HELP},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cmd_struct *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int cmd_help_text(const char *name)
{
	const struct cmd_struct *c = find_command(name);
	if (!c)
		return usage_error("help", "no such command '%s' (see 'jobads help')", name);
	fputs(c->help, stdout);
	return EXIT_OK;
}

static void overview(FILE *f)
{
	fprintf(f,
		"usage: jobads COMMAND [options]\n\n"
		"Job Ads Analytics: ingest job-ad tracking events, aggregate them exactly once,\n"
		"report CTR, CPC, CPA, spend and applications.\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  %-10s %s\n", "help", "help on a command: jobads help COMMAND");
	fprintf(f,
		"\nStores are URLs: sqlite:PATH (default data/events.db and data/analytics.db).\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static int run_command(const struct cmd_struct *c, int argc, char **argv)
{
	int rc;
	/* -h or --help anywhere before "--": the command's help, whatever else is there */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return cmd_help_text(c->name);
	signals_install();
	rc = c->fn(argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		jlog_error("%s: could not write the output", c->name);
		return EXIT_FAIL;
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		overview(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		if (argc >= 3)
			return cmd_help_text(argv[2]);
		overview(stdout);
		return EXIT_OK;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("jobads %s\n", JOBADS_VERSION);
		return EXIT_OK;
	}
	const struct cmd_struct *c = find_command(name);
	if (!c) {
		jlog_error("'%s' is not a command (see 'jobads help')", name);
		return EXIT_USAGE;
	}
	return run_command(c, argc - 1, argv + 1);
}
