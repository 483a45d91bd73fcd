/*
 * pacing.c - `jobads pacing`: each budgeted campaign's current period, spend
 * against budget with the projection to the period's end (pacing.h), as a
 * terminal table, one JSON document or one CSV table.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "jobads/kpi_csv.h"
#include "jobads/kpi_json.h"
#include "jobads/pacing.h"

#include "jobads/banned.h"

static const char *const csv_cols[] = {
    "campaign_id", "campaign_name", "per",  "period_start",  "period_end", "budget", "spent",
    "expected",	   "projected",	    "left", "elapsed_share", "shape",	   "state",  "runs_out"};

static void csv_row(struct strbuf *sb, const struct pacing *p, const struct campaign *c)
{
	char d[16];
	kpi_csv_int(sb, p->id);
	strbuf_add(sb, ",", 1);
	kpi_csv_text(sb, c->name, strlen(c->name));
	strbuf_addf(sb, ",%s,%s,", camp_period_name(c->per),
		    camp_date_format(p->from_day, d, sizeof(d)));
	if (p->to_day > p->from_day)
		strbuf_addf(sb, "%s", camp_date_format(p->to_day - 1, d, sizeof(d)));
	strbuf_add(sb, ",", 1);
	kpi_csv_micros(sb, p->budget_micros);
	strbuf_add(sb, ",", 1);
	kpi_csv_micros(sb, p->spent_micros);
	strbuf_add(sb, ",", 1);
	kpi_csv_micros(sb, p->expected_micros);
	strbuf_add(sb, ",", 1);
	if (p->has_projected)
		kpi_csv_micros(sb, p->projected_micros);
	strbuf_add(sb, ",", 1);
	kpi_csv_micros(sb, p->left_micros);
	strbuf_addf(sb, ",%.17g,%s,", p->elapsed_share, p->shaped ? "history" : "linear");
	kpi_csv_text(sb, pacing_state_name(p->state), strlen(pacing_state_name(p->state)));
	strbuf_add(sb, ",", 1);
	if (p->has_runs_out)
		strbuf_addf(sb, "%s", camp_date_format(p->runs_out_day, d, sizeof(d)));
	kpi_csv_end_row(sb);
}

static void table_row(const struct pacing *p, const struct campaign *c)
{
	char d1[16], d2[16], b[48], s[48], e[48], pr[48], l[48], ro[16], label[64];
	snprintf(label, sizeof(label), "%d %s", (int)p->id, c->name);
	printf("  %-28.28s %-6s %s..%s %14s %14s %14s %14s %14s  %-12s %s\n", label,
	       camp_period_name(c->per), camp_date_format(p->from_day, d1, sizeof(d1)),
	       p->to_day > p->from_day ? camp_date_format(p->to_day - 1, d2, sizeof(d2)) : "-",
	       fmt_micros(p->budget_micros, b, sizeof(b)),
	       fmt_micros(p->spent_micros, s, sizeof(s)),
	       fmt_micros(p->expected_micros, e, sizeof(e)),
	       p->has_projected ? fmt_micros(p->projected_micros, pr, sizeof(pr)) : "-",
	       fmt_micros(p->left_micros, l, sizeof(l)), pacing_state_name(p->state),
	       p->has_runs_out ? camp_date_format(p->runs_out_day, ro, sizeof(ro)) : "-");
}

int cmd_pacing(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"json", no_argument, NULL, 'j'},
	    {"format", required_argument, NULL, 'F'},
	    {"now", required_argument, NULL, 'N'},
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct anstore *as;
	struct pacing *ps;
	struct campaign *cs;
	struct jerr err;
	size_t n;
	int opt, u;
	int64_t now_s = time_now_ms() / 1000;
	enum report_format fmt = REPORT_TABLE;
	common_init(&co);
	while ((opt = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		if (opt == 'j')
			fmt = REPORT_JSON;
		else if (opt == 'F') {
			if ((u = format_arg("pacing", optarg, &fmt)) != EXIT_OK)
				return u;
		} else if (opt == 'N') {
			if (time_arg_parse(optarg, strlen(optarg), time_now_ms(), &now_s))
				return usage_error("pacing", "--now: not a time: '%s'", optarg);
		} else
			return EXIT_USAGE;
	}
	if (optind < argc)
		return usage_unexpected("pacing", argv[optind]);
	if (anstore_open(co.analytics, STORE_OPEN_EXISTING, &as, &err) != J_OK) {
		jlog_error("pacing: %s", err.msg);
		return EXIT_FAIL;
	}
	int r = pacing_read(as, now_s, NULL, &ps, &cs, &n, &err);
	anstore_close(as);
	if (r != J_OK) {
		jlog_error("pacing: %s", err.msg);
		return EXIT_FAIL;
	}
	if (fmt == REPORT_JSON) {
		json_t *arr = json_array(), *doc = json_object();
		char t[40];
		json_object_set_new(doc, "now",
				    json_string(ts_format_iso(now_s * 1000, t, sizeof(t))));
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, pacing_json(&ps[i], &cs[i]));
		json_object_set_new(doc, "campaigns", arr);
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
		fputc('\n', stdout);
		json_decref(doc);
	} else if (fmt == REPORT_CSV) {
		struct strbuf sb = {0};
		for (size_t i = 0; i < sizeof(csv_cols) / sizeof(csv_cols[0]); i++)
			strbuf_addf(&sb, "%s%s", i ? "," : "", csv_cols[i]);
		kpi_csv_end_row(&sb);
		for (size_t i = 0; i < n; i++)
			csv_row(&sb, &ps[i], &cs[i]);
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
	} else {
		printf("  %-28s %-6s %-22s %14s %14s %14s %14s %14s  %-12s %s\n", "campaign", "per",
		       "period", "budget", "spent", "expected", "projected", "left", "state",
		       "runs out");
		for (size_t i = 0; i < n; i++)
			table_row(&ps[i], &cs[i]);
		if (!n)
			printf("  (no campaign has a budget: jobads campaign set ID --budget AMOUNT"
			       " --per day|month|flight)\n");
	}
	free(ps);
	free(cs);
	return EXIT_OK;
}
