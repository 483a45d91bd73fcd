/*
 * report.c - `jobads report`: KPI tables for people, one JSON document, or one
 * CSV table. Every number comes from the analytics store's grouped sums through
 * kpi_compute, so the terminal, the JSON, the CSV and the web API agree.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "jobads/compare.h"
#include "jobads/kpi_csv.h"
#include "jobads/kpi_json.h"

#include "jobads/banned.h"

static const struct section {
	enum an_dim dim;
	const char *title, *json_key, *key_name;
	int key_is_label;
} sections[] = {
    {AN_CAMPAIGN, "Campaigns", "campaigns", "campaign_id", 0},
    {AN_PUBLISHER, "Publishers", "publishers", "publisher_id", 0},
    {AN_INDUSTRY, "Industries", "industries", "industry", 1},
    {AN_DEVICE, "Devices", "devices", "device", 1},
    {AN_HOUR_OF_DAY, "Hour of day", "hours", "hour", 0},
    {AN_WEEKDAY, "Weekday", "weekdays", "day_of_week", 0},
};

static const char *const weekday_names[8] = {"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

struct collect {
	struct an_row *rows;
	char **labels;
	size_t n, cap;
};

static int collect_row(void *arg, const struct an_row *r)
{
	struct collect *c = arg;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->rows = xrealloc(c->rows, c->cap * sizeof(*c->rows));
		c->labels = xrealloc(c->labels, c->cap * sizeof(*c->labels));
	}
	c->rows[c->n] = *r;
	c->labels[c->n] = r->label ? xstrdup(r->label) : NULL;
	c->rows[c->n].label = c->labels[c->n];
	c->n++;
	return 0;
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->labels[i]);
	free(c->rows);
	free(c->labels);
	memset(c, 0, sizeof(*c));
}

static const struct kpi_sums no_sums; /* a group the earlier period does not have */

/* A compared row's "previous" (null: the group had none) and "change" members. */
static json_t *add_compared(json_t *o, const struct kpi_sums *cur, const struct kpi_sums *prev)
{
	json_object_set_new(o, "previous", prev ? kpi_json_add(json_object(), prev) : json_null());
	json_object_set_new(o, "change", kpi_json_change(cur, prev ? prev : &no_sums));
	return o;
}

static json_t *row_json(const struct an_row *r, const struct section *s)
{
	json_t *o = json_object();
	if (s) {
		if (s->key_is_label)
			json_object_set_new(o, s->key_name, json_string(r->label ? r->label : ""));
		else
			json_object_set_new(o, s->key_name, json_integer(r->key));
		if (s->dim == AN_PUBLISHER)
			json_object_set_new(o, "publisher_name",
					    r->label ? json_string(r->label) : json_null());
		if (s->dim == AN_CAMPAIGN) /* dim_campaign's name, null when none is set */
			json_object_set_new(o, "campaign_name",
					    r->label ? json_string(r->label) : json_null());
	}
	return kpi_json_add(o, &r->m);
}

/*
 * The CSV is one table, so that a spreadsheet or csv.reader takes it whole: a
 * section column (the JSON document's member: total, campaigns, ...), every
 * section's key columns (named as in the JSON, empty where a section has none),
 * then the metrics. Ratios with JSON's 17 digits, so both parse to one double.
 */
static const char *const csv_keys[] = {"section",      "campaign_id",	 "campaign_name",
				       "publisher_id", "publisher_name", "industry",
				       "device",       "hour",		 "day_of_week"};
#define CSV_PRECISION 17

static void csv_row(struct strbuf *sb, const struct an_row *r, const struct section *s, int compare,
		    const struct kpi_sums *prev)
{
	const char *sec = s ? s->json_key : "total";
	kpi_csv_text(sb, sec, strlen(sec));
	for (size_t i = 1; i < sizeof(csv_keys) / sizeof(csv_keys[0]); i++) {
		strbuf_add(sb, ",", 1);
		if (!s)
			continue;
		if ((strcmp(csv_keys[i], "publisher_name") == 0 && s->dim == AN_PUBLISHER) ||
		    (strcmp(csv_keys[i], "campaign_name") == 0 && s->dim == AN_CAMPAIGN)) {
			if (r->label)
				kpi_csv_text(sb, r->label, strlen(r->label));
		} else if (strcmp(csv_keys[i], s->key_name) == 0) {
			if (s->key_is_label)
				kpi_csv_text(sb, r->label ? r->label : "",
					     r->label ? strlen(r->label) : 0);
			else
				kpi_csv_int(sb, r->key);
		}
	}
	kpi_csv_metrics(sb, &r->m, CSV_PRECISION, 1);
	if (compare)
		kpi_csv_compare(sb, &r->m, prev, CSV_PRECISION);
	kpi_csv_end_row(sb);
}

static const char *pct(struct kpi_value v, char *b, size_t n)
{
	if (!v.has)
		return "-";
	snprintf(b, n, "%.2f%%", v.v * 100.0);
	return b;
}

static const char *money(struct kpi_value v, char *b, size_t n)
{
	if (!v.has)
		return "-";
	return fmt_money(v.v, b, n);
}

static void print_header(const char *first)
{
	printf("  %-22s %14s %12s %10s %16s %7s %9s %10s %7s\n", first, "impressions", "clicks",
	       "applies", "spend", "CTR", "CPC", "CPA", "apply%");
}

static void print_row(const char *label, const struct kpi_sums *m)
{
	struct kpis k;
	char a[32], b[32], c[32], d[40], e[16], f[32], g[32], h[16];
	kpi_compute(m, &k);
	printf("  %-22.22s %14s %12s %10s %16s %7s %9s %10s %7s\n", label,
	       fmt_int(m->impressions, a, sizeof(a)), fmt_int(m->clicks, b, sizeof(b)),
	       fmt_int(m->applies, c, sizeof(c)), fmt_micros(m->cost_micros, d, sizeof(d)),
	       pct(k.ctr, e, sizeof(e)), money(k.cpc, f, sizeof(f)), money(k.cpa, g, sizeof(g)),
	       pct(k.apply_rate, h, sizeof(h)));
}

/* A change as "+12.3%" or "-4.0%"; "-" where there is no percentage (an earlier 0 or NULL). */
static const char *change(const struct kpi_sums *cur, const struct kpi_sums *prev, const char *kpi,
			  char *b, size_t n)
{
	struct kpi_value v;
	kpi_change(cur, prev ? prev : &no_sums, kpi, &v);
	if (!v.has)
		return "-";
	snprintf(b, n, "%+.1f%%", v.v);
	return b;
}

static void print_compare_header(const char *first)
{
	printf("  %-22s %16s %16s %8s %12s %8s %10s %8s %7s %8s %10s %8s\n", first, "spend",
	       "earlier", "spend%", "clicks", "clicks%", "applies", "applies%", "CTR", "CTR%",
	       "CPA", "CPA%");
}

static void print_compare_row(const char *label, const struct kpi_sums *m,
			      const struct kpi_sums *prev)
{
	struct kpis k;
	char a[40], b[40], c[16], d[32], e[16], f[32], g[16], h[16], i[16], j[32], l[16];
	kpi_compute(m, &k);
	printf("  %-22.22s %16s %16s %8s %12s %8s %10s %8s %7s %8s %10s %8s\n", label,
	       fmt_micros(m->cost_micros, a, sizeof(a)),
	       prev ? fmt_micros(prev->cost_micros, b, sizeof(b)) : "-",
	       change(m, prev, "spend", c, sizeof(c)), fmt_int(m->clicks, d, sizeof(d)),
	       change(m, prev, "clicks", e, sizeof(e)), fmt_int(m->applies, f, sizeof(f)),
	       change(m, prev, "applies", g, sizeof(g)), pct(k.ctr, h, sizeof(h)),
	       change(m, prev, "ctr", i, sizeof(i)), money(k.cpa, j, sizeof(j)),
	       change(m, prev, "cpa", l, sizeof(l)));
}

static int keep_group(void *arg, const struct an_row *r)
{
	kpi_groups_add(arg, r->key, r->label, &r->m);
	return 0;
}

static json_t *range_json(const struct an_filter *f, const char *zone)
{
	json_t *range = json_object();
	char t[40];
	json_object_set_new(range, "tz", json_string(zone));
	json_object_set_new(range, "from",
			    f->from_s == INT64_MIN
				? json_null()
				: json_string(ts_format_iso(f->from_s * 1000, t, sizeof(t))));
	json_object_set_new(range, "to",
			    f->to_s == INT64_MAX
				? json_null()
				: json_string(ts_format_iso(f->to_s * 1000, t, sizeof(t))));
	return range;
}

static void row_label(const struct section *s, const struct an_row *r, char *buf, size_t n)
{
	if (s->dim == AN_PUBLISHER)
		snprintf(buf, n, "%" PRId64 " %s", r->key, r->label ? r->label : "?");
	else if (s->dim == AN_CAMPAIGN && r->label)
		snprintf(buf, n, "%" PRId64 " %s", r->key, r->label);
	else if (s->key_is_label)
		snprintf(buf, n, "%s", r->label ? r->label : "");
	else if (s->dim == AN_WEEKDAY)
		snprintf(buf, n, "%" PRId64 " %s", r->key,
			 r->key >= 1 && r->key <= 7 ? weekday_names[r->key] : "?");
	else if (s->dim == AN_HOUR_OF_DAY)
		snprintf(buf, n, "%02" PRId64 ":00", r->key);
	else
		snprintf(buf, n, "%" PRId64, r->key);
}

int report_print(struct anstore *as, const struct an_filter *f, enum report_format fmt,
		 enum kpi_compare compare, const struct an_filter *prev)
{
	struct collect total = {0};
	struct kpi_groups was = {0}; /* the earlier period's groups of the section at hand */
	struct jerr err;
	int json = fmt == REPORT_JSON, csv = fmt == REPORT_CSV, cmp = prev != NULL;
	json_t *doc = json ? json_object() : NULL;
	struct strbuf sb = {0}; /* the CSV, printed only whole */
	int rc = EXIT_OK;

	if (as->ops->query(as, AN_TOTAL, f, collect_row, &total, &err) != J_OK ||
	    (cmp && as->ops->query(as, AN_TOTAL, prev, keep_group, &was, &err) != J_OK)) {
		jlog_error("report: %s", err.msg);
		json_decref(doc);
		collect_free(&total);
		kpi_groups_free(&was);
		return EXIT_FAIL;
	}
	/* the zone the hour of day, weekday and day tables are in */
	char zone[256];
	if (as->ops->zone(as, zone, sizeof(zone), &err) != J_OK) {
		jlog_error("report: %s", err.msg);
		json_decref(doc);
		kpi_groups_free(&was);
		collect_free(&total);
		return EXIT_FAIL;
	}
	const struct kpi_sums *tm = &total.rows[0].m;
	const struct kpi_sums *tw = was.n ? &was.g[0].m : &no_sums;
	if (json) {
		/* tz in range, beside from and to: the rows' hours and days are in it */
		json_object_set_new(doc, "range", range_json(f, zone));
		if (cmp) {
			json_t *c = json_object();
			json_object_set_new(c, "mode", json_string(kpi_compare_name(compare)));
			json_object_set_new(c, "range", range_json(prev, zone));
			json_object_set_new(doc, "compare", c);
		}
		json_object_set_new(doc, "total", row_json(&total.rows[0], NULL));
		if (cmp) {
			json_object_set_new(doc, "previous", kpi_json_add(json_object(), tw));
			json_object_set_new(doc, "change", kpi_json_change(tm, tw));
		}
	} else if (csv) {
		kpi_csv_header(&sb, csv_keys, sizeof(csv_keys) / sizeof(csv_keys[0]), cmp);
		csv_row(&sb, &total.rows[0], NULL, cmp, tw);
	} else {
		struct kpis k;
		char a[32], b[32], c[32], d[40], e[16], g[32], h[32], i[16], j[32];
		kpi_compute(tm, &k);
		printf("Time zone %s (hours, weekdays and days are local)\n\n", zone);
		printf("Totals\n");
		printf("  records %s  impressions %s  clicks %s  applies %s  spend %s\n",
		       fmt_int(tm->records, a, sizeof(a)), fmt_int(tm->impressions, b, sizeof(b)),
		       fmt_int(tm->clicks, c, sizeof(c)), fmt_int(tm->applies, j, sizeof(j)),
		       fmt_micros(tm->cost_micros, d, sizeof(d)));
		printf(
		    "  CTR %s  CPC %s  CPA %s  apply rate %s  ROI (applies per unit of cost) %s\n",
		    pct(k.ctr, e, sizeof(e)), money(k.cpc, g, sizeof(g)),
		    money(k.cpa, h, sizeof(h)), pct(k.apply_rate, i, sizeof(i)),
		    k.roi.has ? (snprintf(j, sizeof(j), "%.4f", k.roi.v), j) : "-");
		if (cmp) {
			char pf[40], pt[40];
			printf("\nAgainst %s: %s to %s\n",
			       compare == KPI_COMPARE_YEAR ? "a year before (52 weeks)"
							   : "the previous period",
			       prev->from_s == INT64_MIN
				   ? "the beginning"
				   : ts_format_iso(prev->from_s * 1000, pf, sizeof(pf)),
			       ts_format_iso(prev->to_s * 1000, pt, sizeof(pt)));
			print_compare_header("");
			print_compare_row("total", tm, tw);
		}
	}
	collect_free(&total);
	kpi_groups_free(&was);

	for (size_t si = 0; si < sizeof(sections) / sizeof(sections[0]); si++) {
		const struct section *s = &sections[si];
		struct collect c = {0};
		if (as->ops->query(as, s->dim, f, collect_row, &c, &err) != J_OK ||
		    (cmp && as->ops->query(as, s->dim, prev, keep_group, &was, &err) != J_OK)) {
			jlog_error("report: %s", err.msg);
			rc = EXIT_FAIL;
			collect_free(&c);
			kpi_groups_free(&was);
			break;
		}
		if (json) {
			json_t *arr = json_array();
			for (size_t i = 0; i < c.n; i++) {
				json_t *o = row_json(&c.rows[i], s);
				if (cmp)
					add_compared(
					    o, &c.rows[i].m,
					    kpi_groups_find(&was, c.rows[i].key, c.rows[i].label));
				json_array_append_new(arr, o);
			}
			json_object_set_new(doc, s->json_key, arr);
		} else if (csv) {
			for (size_t i = 0; i < c.n; i++)
				csv_row(&sb, &c.rows[i], s, cmp,
					cmp ? kpi_groups_find(&was, c.rows[i].key, c.rows[i].label)
					    : NULL);
		} else {
			printf("\n%s\n", s->title);
			if (cmp)
				print_compare_header(s->key_name);
			else
				print_header(s->key_name);
			for (size_t i = 0; i < c.n; i++) {
				char label[256];
				row_label(s, &c.rows[i], label, sizeof(label));
				if (cmp)
					print_compare_row(
					    label, &c.rows[i].m,
					    kpi_groups_find(&was, c.rows[i].key, c.rows[i].label));
				else
					print_row(label, &c.rows[i].m);
			}
			if (c.n == 0)
				printf("  (no data)\n");
		}
		collect_free(&c);
		kpi_groups_free(&was);
	}
	if (json) {
		if (rc == EXIT_OK)
			json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
		if (rc == EXIT_OK)
			fputc('\n', stdout);
		json_decref(doc);
	}
	if (csv && rc == EXIT_OK)
		fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
	return rc;
}

static int parse_time_arg(const char *s, int64_t *secs)
{
	return time_arg_parse(s, strlen(s), time_now_ms(), secs);
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"campaign", required_argument, NULL, 'c'},
	    {"publisher", required_argument, NULL, 'p'},
	    {"industry", required_argument, NULL, 'i'},
	    {"device", required_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},
	    {"format", required_argument, NULL, 'F'},
	    {"compare", required_argument, NULL, 'C'},
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct an_filter f;
	struct anstore *as;
	struct jerr err;
	int opt, u;
	enum report_format fmt = REPORT_TABLE;
	enum kpi_compare compare = KPI_COMPARE_NONE;
	struct an_filter prev;
	int64_t v;

	an_filter_all(&f);
	common_init(&co);
	while ((opt = getopt_long(argc, argv, "f:t:c:p:i:d:j", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		switch (opt) {
		case 'f':
			if (parse_time_arg(optarg, &f.from_s))
				return usage_error("report", "--from: not a time: '%s'", optarg);
			break;
		case 't':
			if (parse_time_arg(optarg, &f.to_s))
				return usage_error("report", "--to: not a time: '%s'", optarg);
			break;
		case 'c':
			if (parse_int64(optarg, strlen(optarg), 1, INT32_MAX, &v))
				return usage_error("report", "--campaign: want an id > 0, got '%s'",
						   optarg);
			f.campaign_id = (int32_t)v;
			break;
		case 'p':
			if (parse_int64(optarg, strlen(optarg), 1, INT32_MAX, &v))
				return usage_error("report",
						   "--publisher: want an id > 0, got '%s'", optarg);
			f.publisher_id = (int32_t)v;
			break;
		case 'i':
			f.industry = optarg;
			break;
		case 'd':
			f.device = optarg;
			break;
		case 'j':
			fmt = REPORT_JSON;
			break;
		case 'F':
			if ((u = format_arg("report", optarg, &fmt)) != EXIT_OK)
				return u;
			break;
		case 'C':
			if (kpi_compare_parse(optarg, strlen(optarg), &compare))
				return usage_error(
				    "report", "--compare: want previous or year, got '%s'", optarg);
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_unexpected("report", argv[optind]);
	if (f.from_s != INT64_MIN && f.to_s != INT64_MAX && f.from_s >= f.to_s)
		return usage_error("report", "--from must be before --to");
	if (compare != KPI_COMPARE_NONE) {
		char why[200];
		prev = f;
		if (kpi_compare_range(compare, f.from_s, f.to_s, time_now_ms() / 1000, &prev.from_s,
				      &prev.to_s, why, sizeof(why)))
			return usage_error("report", "--%s", why);
	}
	if (anstore_open(co.analytics, STORE_OPEN_EXISTING, &as, &err) != J_OK) {
		jlog_error("report: %s", err.msg);
		return EXIT_FAIL;
	}
	int rc = report_print(as, &f, fmt, compare, compare != KPI_COMPARE_NONE ? &prev : NULL);
	anstore_close(as);
	return rc;
}
