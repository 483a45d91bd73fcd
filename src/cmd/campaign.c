/*
 * campaign.c - `jobads campaign set|list|load`: a campaign's name, flight and
 * budget in the analytics store (dim_campaign, campaign.h). set changes the
 * fields it is given and keeps the others; load replaces every campaign of a
 * CSV file in one transaction, or none of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "jobads/campaign.h"
#include "jobads/kpi_csv.h"

#include "jobads/banned.h"

struct camp_list {
	struct campaign *c;
	size_t n, cap;
};

static int keep_campaign(void *arg, const struct campaign *c)
{
	struct camp_list *l = arg;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->c = xrealloc(l->c, l->cap * sizeof(*l->c));
	}
	l->c[l->n++] = *c;
	return 0;
}

int campaign_list_read(struct anstore *as, struct campaign **out, size_t *n, struct jerr *err)
{
	struct camp_list l = {0};
	int r = as->ops->campaigns(as, keep_campaign, &l, err);
	if (r != J_OK) {
		free(l.c);
		l.c = NULL;
		l.n = 0;
	}
	*out = l.c;
	*n = l.n;
	return r;
}

static int open_store(const char *sub, const struct common_opts *co, struct anstore **as)
{
	struct jerr err;
	if (anstore_open(co->analytics, STORE_OPEN_EXISTING, as, &err) != J_OK) {
		jlog_error("campaign %s: %s", sub, err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Store n campaigns; an unknown one is named with `where` (its row in a file). */
static int put(const char *sub, struct anstore *as, const struct campaign *c, size_t n, int rows)
{
	struct jerr err;
	size_t unknown;
	int r = as->ops->campaigns_put(as, c, n, &unknown, &err);
	if (r == J_OK)
		return EXIT_OK;
	if (unknown < n && rows)
		jlog_error("campaign %s: row %zu: campaign_id: %d is unknown (no events of it were"
			   " processed); nothing was stored",
			   sub, unknown + 1, (int)c[unknown].id);
	else if (unknown < n)
		jlog_error("campaign %s: campaign %d is unknown (no events of it were processed);"
			   " nothing was stored",
			   sub, (int)c[unknown].id);
	else
		jlog_error("campaign %s: %s", sub, err.msg);
	return EXIT_FAIL;
}

static int cmd_set(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"name", required_argument, NULL, 'n'},
	    {"budget", required_argument, NULL, 'b'},
	    {"per", required_argument, NULL, 'p'},
	    {"start", required_argument, NULL, 's'},
	    {"end", required_argument, NULL, 'e'},
	    {NULL, 0, NULL, 0},
	};
	static const struct {
		int opt;
		const char *field;
	} fields[] = {{'n', "name"}, {'b', "budget"}, {'p', "per"}, {'s', "start"}, {'e', "end"}};
	const char *val[5] = {NULL};
	struct common_opts co;
	struct campaign c, *all = NULL;
	struct anstore *as;
	struct jerr err;
	char why[400];
	int32_t id;
	size_t n = 0;
	int opt;
	common_init(&co);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		size_t k = 0;
		while (k < 5 && fields[k].opt != opt)
			k++;
		if (k == 5)
			return EXIT_USAGE;
		val[k] = optarg;
	}
	if (optind >= argc)
		return usage_error("campaign set", "which campaign? (jobads campaign set ID ...)");
	if (camp_parse_id(argv[optind], strlen(argv[optind]), &id, why, sizeof(why)))
		return usage_error("campaign set", "campaign: %s", why);
	if (optind + 1 < argc)
		return usage_unexpected("campaign set", argv[optind + 1]);
	/* check what was given before opening the store: a bad value is a usage error */
	camp_init(&c, id);
	for (size_t k = 0; k < 5; k++)
		if (val[k] &&
		    camp_set_field(&c, fields[k].field, val[k], strlen(val[k]), why, sizeof(why)))
			return usage_error("campaign set", "campaign %d: --%s", (int)id, why);
	if (open_store("set", &co, &as) != EXIT_OK)
		return EXIT_FAIL;
	if (campaign_list_read(as, &all, &n, &err) != J_OK) {
		jlog_error("campaign set: %s", err.msg);
		anstore_close(as);
		return EXIT_FAIL;
	}
	camp_init(&c, id);
	for (size_t i = 0; i < n; i++)
		if (all[i].id == id)
			c = all[i];
	free(all);
	for (size_t k = 0; k < 5; k++)
		if (val[k]) {
			camp_set_field(&c, fields[k].field, val[k], strlen(val[k]), why,
				       sizeof(why));
			/* clearing the budget or its period clears both, as one setting */
			if (!*val[k] || strcmp(val[k], "none") == 0) {
				if (fields[k].opt == 'b')
					c.per = CAMP_PER_NONE;
				if (fields[k].opt == 'p')
					c.budget_micros = -1;
			}
		}
	if (camp_check(&c, why, sizeof(why))) {
		anstore_close(as);
		return usage_error("campaign set", "campaign %d: %s", (int)id, why);
	}
	int rc = put("set", as, &c, 1, 0);
	anstore_close(as);
	return rc;
}

/* The columns of list --format csv, as load reads them: a list loads back as it is. */
static void csv_campaign(struct strbuf *sb, const struct campaign *c)
{
	char d[16];
	kpi_csv_int(sb, c->id);
	strbuf_add(sb, ",", 1);
	kpi_csv_text(sb, c->name, strlen(c->name));
	strbuf_add(sb, ",", 1);
	if (c->has_start)
		strbuf_addf(sb, "%s", camp_date_format(c->start_day, d, sizeof(d)));
	strbuf_add(sb, ",", 1);
	if (c->has_end)
		strbuf_addf(sb, "%s", camp_date_format(c->end_day, d, sizeof(d)));
	strbuf_add(sb, ",", 1);
	if (c->budget_micros >= 0)
		kpi_csv_micros(sb, c->budget_micros);
	strbuf_add(sb, ",", 1);
	if (c->per)
		strbuf_addf(sb, "%s", camp_period_name(c->per));
	kpi_csv_end_row(sb);
}

static int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {"json", no_argument, NULL, 'j'},
	    {"format", required_argument, NULL, 'F'},
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct anstore *as;
	struct campaign *all;
	struct jerr err;
	size_t n;
	int opt, u;
	enum report_format fmt = REPORT_TABLE;
	common_init(&co);
	while ((opt = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
		if (common_opt(&co, opt, optarg))
			continue;
		if (opt == 'j')
			fmt = REPORT_JSON;
		else if (opt == 'F') {
			if ((u = format_arg("campaign list", optarg, &fmt)) != EXIT_OK)
				return u;
		} else
			return EXIT_USAGE;
	}
	if (optind < argc)
		return usage_unexpected("campaign list", argv[optind]);
	if (open_store("list", &co, &as) != EXIT_OK)
		return EXIT_FAIL;
	int r = campaign_list_read(as, &all, &n, &err);
	anstore_close(as);
	if (r != J_OK) {
		jlog_error("campaign list: %s", err.msg);
		return EXIT_FAIL;
	}
	if (fmt == REPORT_JSON) {
		json_t *arr = json_array(), *doc = json_object();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, camp_json(&all[i]));
		json_object_set_new(doc, "campaigns", arr);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(doc);
	} else if (fmt == REPORT_CSV) {
		struct strbuf sb = {0};
		strbuf_addf(&sb, "campaign_id,name,start,end,budget,per");
		kpi_csv_end_row(&sb);
		for (size_t i = 0; i < n; i++)
			csv_campaign(&sb, &all[i]);
		fwrite(sb.buf, 1, sb.len, stdout);
		strbuf_release(&sb);
	} else {
		char d1[16], d2[16], b[48];
		printf("  %-11s %-32s %-10s %-10s %18s  %s\n", "campaign", "name", "start", "end",
		       "budget", "per");
		for (size_t i = 0; i < n; i++) {
			const struct campaign *c = &all[i];
			printf("  %-11d %-32.32s %-10s %-10s %18s  %s\n", (int)c->id,
			       c->name[0] ? c->name : "-",
			       c->has_start ? camp_date_format(c->start_day, d1, sizeof(d1)) : "-",
			       c->has_end ? camp_date_format(c->end_day, d2, sizeof(d2)) : "-",
			       c->budget_micros >= 0 ? fmt_micros(c->budget_micros, b, sizeof(b))
						     : "-",
			       c->per ? camp_period_name(c->per) : "-");
		}
	}
	free(all);
	return EXIT_OK;
}

/* A whole file into sb; -1 with errno. */
static int read_all(const char *path, struct strbuf *sb)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		strbuf_grow(sb, 65536);
		ssize_t got = read(fd, sb->buf + sb->len, sb->alloc - sb->len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			int e = errno;
			if (fd != 0)
				close(fd);
			errno = e;
			return got < 0 ? -1 : 0;
		}
		sb->len += (size_t)got;
	}
}

static int cmd_load(int argc, char **argv)
{
	static const struct option longopts[] = {
	    COMMON_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	struct common_opts co;
	struct anstore *as;
	struct campaign *cs;
	struct strbuf sb = {0};
	struct jerr err;
	size_t n;
	int opt;
	common_init(&co);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (!common_opt(&co, opt, optarg))
			return EXIT_USAGE;
	if (optind >= argc)
		return usage_error("campaign load", "which file? (jobads campaign load FILE.csv)");
	if (optind + 1 < argc)
		return usage_unexpected("campaign load", argv[optind + 1]);
	const char *path = argv[optind];
	if (read_all(path, &sb)) {
		jlog_error("campaign load: %s: %s", path, strerror(errno));
		strbuf_release(&sb);
		return EXIT_FAIL;
	}
	if (camp_csv_parse(sb.buf ? sb.buf : "", sb.len, &cs, &n, &err) != J_OK) {
		jlog_error("campaign load: %s: %s; nothing was stored", path, err.msg);
		strbuf_release(&sb);
		return EXIT_FAIL;
	}
	strbuf_release(&sb);
	int rc = open_store("load", &co, &as);
	if (rc == EXIT_OK) {
		char what[300];
		snprintf(what, sizeof(what), "load: %s", path);
		rc = put(what, as, cs, n, 1);
		anstore_close(as);
	}
	if (rc == EXIT_OK)
		printf("campaign load: %zu campaigns stored from %s\n", n, path);
	free(cs);
	return rc;
}

int cmd_campaign(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("campaign",
				   "want set, list or load (see 'jobads help campaign')");
	if (strcmp(argv[1], "set") == 0)
		return cmd_set(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "load") == 0)
		return cmd_load(argc - 1, argv + 1);
	return usage_error("campaign", "'%s' is not a subcommand: want set, list or load", argv[1]);
}
