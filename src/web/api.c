/*
 * api.c - the JSON API's read routes. Every number comes from the analytics
 * store's grouped sums through kpi_json_add (kpi_compute), like `report
 * --json`, so the terminal, the API and the dashboard agree.
 *
 * The grouped routes (campaigns, publishers, industries, devices) answer one
 * page: the store's groups are kept as compact rows, sorted, and only the
 * page's rows become JSON, written one at a time into one buffer. 40,000
 * campaigns as one JSON tree had cost ~100 MB per request.
 *
 * format=csv answers the same rows (the same page, sort and filters) as one
 * CSV table through kpi_csv, the writer `report --format csv` uses: a header
 * row, then a row per group, as a download (Content-Disposition).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "jobads/kpi.h"
#include "jobads/kpi_csv.h"
#include "jobads/kpi_json.h"

#include "jobads/banned.h"

/* Significant digits of a ratio in the replies, JSON and CSV alike, so both parse to one double. */
#define API_DIGITS 15

/* The store's query, or with tz= its hourly series in that zone's hours (zone.c). */
static enum jrc api_query(struct anstore *as, const struct api_params *p, enum an_dim dim,
			  const struct an_filter *f, an_row_fn fn, void *arg, struct jerr *err)
{
	return zone_query(as, p->zone, p->store_zone, dim, f, fn, arg, err);
}

int api_query_params(struct req *r, unsigned allowed, struct api_params *p)
{
	char why[400];
	const char *qs = r->ri->query_string;
	if (api_params_parse(qs, qs ? strlen(qs) : 0, allowed, r->now_ms, p, why, sizeof(why))) {
		reply_error(r, 400, "%s", why);
		return -1;
	}
	return 0;
}

static json_t *iso_or_null(int64_t secs, int open)
{
	char t[40];
	return open ? json_null() : json_string(ts_format_iso(secs * 1000, t, sizeof(t)));
}

static json_t *range_json(const struct an_filter *f)
{
	json_t *o = json_object();
	json_object_set_new(o, "from", iso_or_null(f->from_s, f->from_s == INT64_MIN));
	json_object_set_new(o, "to", iso_or_null(f->to_s, f->to_s == INT64_MAX));
	return o;
}

static json_t *filters_json(const struct an_filter *f)
{
	json_t *o = json_object();
	if (f->campaign_id)
		json_object_set_new(o, "campaign_id", json_integer(f->campaign_id));
	if (f->publisher_id)
		json_object_set_new(o, "publisher_id", json_integer(f->publisher_id));
	if (f->industry)
		json_object_set_new(o, "industry", json_string(f->industry));
	if (f->device)
		json_object_set_new(o, "device", json_string(f->device));
	return o;
}

static void add_compared(json_t *o, const struct kpi_sums *cur, const struct kpi_sums *prev);

struct rows_ctx {
	json_t *arr;
	enum an_dim dim;
	int metric;		 /* timeseries: -1 all fields */
	struct kpi_groups *prev; /* compare=: the earlier period's groups, for each row's */
};

static json_t *metric_value(const struct kpi_sums *m, int metric)
{
	json_t *o = kpi_json_add(json_object(), m);
	const char *name = api_metric_names[metric];
	json_t *v = json_object_get(o, strcmp(name, "spend") == 0 ? "spend" : name);
	json_incref(v);
	json_decref(o);
	return v ? v : json_null();
}

static int add_row(void *arg, const struct an_row *row)
{
	struct rows_ctx *c = arg;
	json_t *o = json_object();
	char t[40];
	switch (c->dim) {
	case AN_CAMPAIGN:
		json_object_set_new(o, "campaign_id", json_integer(row->key));
		json_object_set_new(o, "campaign_name",
				    row->label ? json_string(row->label) : json_null());
		break;
	case AN_PUBLISHER:
		json_object_set_new(o, "publisher_id", json_integer(row->key));
		json_object_set_new(o, "publisher_name",
				    row->label ? json_string(row->label) : json_null());
		break;
	case AN_INDUSTRY:
		json_object_set_new(o, "industry", json_string(row->label ? row->label : ""));
		break;
	case AN_DEVICE:
		json_object_set_new(o, "device", json_string(row->label ? row->label : ""));
		break;
	case AN_WEEKDAY_HOUR:
		json_object_set_new(o, "weekday", json_integer(row->key / 24 + 1));
		json_object_set_new(o, "hour", json_integer(row->key % 24));
		break;
	case AN_DAY:
	case AN_HOURLY:
		json_object_set_new(o, "t",
				    json_string(ts_format_iso(row->key * 1000, t, sizeof(t))));
		break;
	default:
		break;
	}
	if (c->metric >= 0)
		json_object_set_new(o, "value", metric_value(&row->m, c->metric));
	else
		kpi_json_add(o, &row->m);
	if (c->prev)
		add_compared(o, &row->m, kpi_groups_find(c->prev, row->key, row->label));
	json_array_append_new(c->arr, o);
	return 0;
}

/* The key columns of a dimension's rows, named as add_row names them in JSON. */
static size_t csv_keys(enum an_dim dim, const char *keys[2])
{
	switch (dim) {
	case AN_CAMPAIGN:
		keys[0] = "campaign_id";
		keys[1] = "campaign_name";
		return 2;
	case AN_PUBLISHER:
		keys[0] = "publisher_id";
		keys[1] = "publisher_name";
		return 2;
	case AN_INDUSTRY:
		keys[0] = "industry";
		return 1;
	case AN_DEVICE:
		keys[0] = "device";
		return 1;
	case AN_WEEKDAY_HOUR:
		keys[0] = "weekday";
		keys[1] = "hour";
		return 2;
	case AN_DAY:
	case AN_HOURLY:
		keys[0] = "t";
		return 1;
	default:
		return 0;
	}
}

static void csv_header(struct strbuf *sb, enum an_dim dim, int metric, int compare)
{
	const char *keys[2];
	size_t n = csv_keys(dim, keys);
	if (metric < 0) {
		kpi_csv_header(sb, keys, n, compare);
		return;
	}
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s,", keys[i]);
	strbuf_add(sb, "value", 5);
	kpi_csv_end_row(sb);
}

/* One row as CSV: the cells add_row writes as JSON members, in the same order; with
 * compare, the earlier period's cells and the changes after them (prev NULL: none). */
static void csv_row(struct strbuf *sb, enum an_dim dim, const struct an_row *row, int metric,
		    int compare, const struct kpi_sums *prev)
{
	const char *label = row->label ? row->label : "";
	char t[40];
	switch (dim) {
	case AN_CAMPAIGN:
		kpi_csv_int(sb, row->key);
		strbuf_add(sb, ",", 1);
		kpi_csv_text(sb, label, strlen(label)); /* no name set: an empty cell */
		break;
	case AN_PUBLISHER:
		kpi_csv_int(sb, row->key);
		strbuf_add(sb, ",", 1);
		kpi_csv_text(sb, label, strlen(label)); /* NULL (no name yet) as an empty cell */
		break;
	case AN_INDUSTRY:
	case AN_DEVICE:
		kpi_csv_text(sb, label, strlen(label));
		break;
	case AN_WEEKDAY_HOUR:
		strbuf_addf(sb, "%" PRId64 ",%" PRId64, row->key / 24 + 1, row->key % 24);
		break;
	case AN_DAY:
	case AN_HOURLY:
		ts_format_iso(row->key * 1000, t, sizeof(t));
		kpi_csv_text(sb, t, strlen(t));
		break;
	default:
		break;
	}
	if (metric >= 0) {
		if (dim != AN_TOTAL)
			strbuf_add(sb, ",", 1);
		kpi_csv_metric(sb, &row->m, api_metric_names[metric], API_DIGITS);
	} else {
		kpi_csv_metrics(sb, &row->m, API_DIGITS, dim != AN_TOTAL);
	}
	if (compare)
		kpi_csv_compare(sb, &row->m, prev, API_DIGITS);
	kpi_csv_end_row(sb);
}

struct csv_ctx {
	struct strbuf *sb;
	enum an_dim dim;
	int metric;
	struct kpi_groups *prev; /* with compare= */
};

static int csv_add_row(void *arg, const struct an_row *row)
{
	struct csv_ctx *c = arg;
	csv_row(c->sb, c->dim, row, c->metric, c->prev != NULL,
		c->prev ? kpi_groups_find(c->prev, row->key, row->label) : NULL);
	return 0;
}

/* ---- compare= ---- */

static int keep_group(void *arg, const struct an_row *row)
{
	kpi_groups_add(arg, row->key, row->label, &row->m);
	return 0;
}

/* The earlier period's groups of dim, for the rows of the current one to find theirs. */
static int prev_groups(struct anstore *as, enum an_dim dim, const struct api_params *p,
		       struct kpi_groups *gs, struct jerr *err)
{
	memset(gs, 0, sizeof(*gs));
	return api_query(as, p, dim, &p->prev, keep_group, gs, err);
}

/* A row's "previous" (its sums over the earlier range, null when it had none) and
 * "change" (each KPI's change in percent) members. */
static void add_compared(json_t *o, const struct kpi_sums *cur, const struct kpi_sums *prev)
{
	static const struct kpi_sums none;
	json_object_set_new(o, "previous", prev ? kpi_json_add(json_object(), prev) : json_null());
	json_object_set_new(o, "change", kpi_json_change(cur, prev ? prev : &none));
}

/* A time series' points are times, not groups: the earlier range's own points. */
static int time_dim(enum an_dim dim)
{
	return dim == AN_DAY || dim == AN_HOURLY;
}

/* The start of the first whole hour at or after s: the range's effect on hour_start. */
static int64_t hour_ceil(int64_t s)
{
	if (s == INT64_MIN || s == INT64_MAX)
		return s;
	int64_t q = s / 3600;
	if (q * 3600 < s)
		q++;
	return q * 3600;
}

/* ---- one page of a grouped route ---- */

/* A group kept for sorting: what the page's JSON needs, and its sort value. */
struct prow {
	struct an_row row; /* label points into the row's own copy */
	int64_t iv;	   /* counts, ids */
	double dv;	   /* spend, ratios */
	int has;	   /* 0: the value is NULL (a ratio over 0): last either way */
};

struct page_ctx {
	struct prow *rows;
	size_t n, cap;
	int sort;
};

static int sort_is_int(int sort)
{
	const char *n = sort >= 0 && sort < API_SORT_CAMPAIGN ? api_metric_names[sort] : "";
	return sort == API_SORT_CAMPAIGN || sort == API_SORT_PUBLISHER_ID ||
	       strcmp(n, "records") == 0 || strcmp(n, "impressions") == 0 ||
	       strcmp(n, "clicks") == 0 || strcmp(n, "applies") == 0;
}

static int sort_is_text(int sort)
{
	return sort == API_SORT_PUBLISHER_NAME || sort == API_SORT_INDUSTRY ||
	       sort == API_SORT_DEVICE;
}

static int keep_row(void *arg, const struct an_row *row)
{
	struct page_ctx *c = arg;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->rows = xrealloc(c->rows, c->cap * sizeof(*c->rows));
	}
	struct prow *p = &c->rows[c->n++];
	memset(p, 0, sizeof(*p));
	p->row = *row;
	p->row.label = row->label ? xstrdup(row->label) : NULL;
	p->has = 1;
	if (c->sort == API_SORT_CAMPAIGN || c->sort == API_SORT_PUBLISHER_ID) {
		p->iv = row->key;
	} else if (sort_is_text(c->sort)) {
		p->has = p->row.label != NULL;
	} else {
		const char *name = api_metric_names[c->sort];
		struct kpis k;
		kpi_compute(&row->m, &k);
		if (strcmp(name, "records") == 0)
			p->iv = row->m.records;
		else if (strcmp(name, "impressions") == 0)
			p->iv = row->m.impressions;
		else if (strcmp(name, "clicks") == 0)
			p->iv = row->m.clicks;
		else if (strcmp(name, "applies") == 0)
			p->iv = row->m.applies;
		else if (strcmp(name, "spend") == 0)
			p->dv = k.spend;
		else {
			const struct kpi_value *kv = strcmp(name, "ctr") == 0	? &k.ctr
						     : strcmp(name, "cpc") == 0 ? &k.cpc
						     : strcmp(name, "cpa") == 0 ? &k.cpa
										: &k.apply_rate;
			p->has = kv->has;
			p->dv = kv->v;
		}
	}
	return 0;
}

static _Thread_local int sort_field, sort_desc; /* for qsort's comparator */

static int cmp_prow(const void *a, const void *b)
{
	const struct prow *x = a, *y = b;
	int c = 0;
	if (x->has != y->has)
		return x->has ? -1 : 1; /* NULL last, whichever way */
	if (x->has) {
		if (sort_is_text(sort_field))
			c = strcmp(x->row.label, y->row.label);
		else if (sort_is_int(sort_field))
			c = (x->iv > y->iv) - (x->iv < y->iv);
		else
			c = (x->dv > y->dv) - (x->dv < y->dv);
		if (sort_desc)
			c = -c;
	}
	if (c == 0) /* a stable order, so that pages do not overlap */
		c = (x->row.key > y->row.key) - (x->row.key < y->row.key);
	if (c == 0 && x->row.label && y->row.label)
		c = strcmp(x->row.label, y->row.label);
	return c;
}

static const char *sort_name(int sort)
{
	switch (sort) {
	case API_SORT_CAMPAIGN:
		return "campaign_id";
	case API_SORT_PUBLISHER_ID:
		return "publisher_id";
	case API_SORT_PUBLISHER_NAME:
		return "publisher_name";
	case API_SORT_INDUSTRY:
		return "industry";
	case API_SORT_DEVICE:
		return "device";
	default:
		return api_metric_names[sort];
	}
}

/*
 * The page's members as JSON text: {"total":N,"limit":..,"offset":..,"sort":..,
 * "rows":[...]}, or with format=csv the page's rows as CSV under a header row.
 * Returns NULL when the store failed (err set) or out of memory.
 */
static char *page_text(struct anstore *as, enum an_dim dim, const struct api_params *p, size_t *len,
		       int *q, struct jerr *err)
{
	struct page_ctx c = {NULL, 0, 0, p->sort};
	struct strbuf sb = {0};
	struct kpi_groups prev = {0};
	int ok = 1, compare = p->compare != KPI_COMPARE_NONE;
	*q = compare ? prev_groups(as, dim, p, &prev, err) : J_OK;
	if (*q == J_OK)
		*q = api_query(as, p, dim, &p->f, keep_row, &c, err);
	if (*q == J_OK) {
		sort_field = p->sort;
		sort_desc = p->sort_desc;
		if (c.n > 1)
			qsort(c.rows, c.n, sizeof(*c.rows), cmp_prow);
		if (p->format == API_CSV)
			csv_header(&sb, dim, -1, compare);
		else
			strbuf_addf(&sb,
				    "{\"total\":%zu,\"limit\":%d,\"offset\":%" PRId64
				    ",\"sort\":\"%s%s\",\"rows\":[",
				    c.n, p->limit, p->offset, p->sort_desc ? "-" : "",
				    sort_name(p->sort));
		for (size_t i = (size_t)p->offset, k = 0; ok && i < c.n && k < (size_t)p->limit;
		     i++, k++) {
			const struct an_row *row = &c.rows[i].row;
			const struct kpi_sums *was =
			    compare ? kpi_groups_find(&prev, row->key, row->label) : NULL;
			if (p->format == API_CSV) {
				csv_row(&sb, dim, row, -1, compare, was);
				continue;
			}
			struct rows_ctx one = {json_array(), dim, -1, NULL};
			add_row(&one, row);
			if (compare)
				add_compared(json_array_get(one.arr, 0), &row->m, was);
			char *t = json_dumps(json_array_get(one.arr, 0),
					     JSON_COMPACT | JSON_REAL_PRECISION(API_DIGITS));
			json_decref(one.arr);
			if (!t) {
				ok = 0;
				break;
			}
			if (k)
				strbuf_add(&sb, ",", 1);
			strbuf_add(&sb, t, strlen(t));
			free(t);
		}
		if (p->format != API_CSV)
			strbuf_add(&sb, "]}", 2);
	}
	for (size_t i = 0; i < c.n; i++)
		free((char *)c.rows[i].row.label);
	free(c.rows);
	kpi_groups_free(&prev);
	if (*q != J_OK || !ok) {
		strbuf_release(&sb);
		return NULL;
	}
	*len = sb.len;
	return sb.buf;
}

/*
 * compare=: the members of the answer as one JSON object. The total as "total"
 * beside the earlier range's "previous" and the "change"; rows and heatmap cells
 * under `name`, each with its own "previous" and "change"; a time series' points
 * under `name` and the earlier range's as "previous_points".
 */
static json_t *compared_json(struct anstore *as, enum an_dim dim, const struct api_params *p,
			     int metric, const char *name, int *q, struct jerr *err)
{
	struct kpi_groups prev = {0};
	json_t *doc = json_object();
	struct rows_ctx c = {json_array(), dim, metric, NULL};
	if (time_dim(dim)) {
		struct rows_ctx pc = {json_array(), dim, metric, NULL};
		*q = api_query(as, p, dim, &p->f, add_row, &c, err);
		if (*q == J_OK)
			*q = api_query(as, p, dim, &p->prev, add_row, &pc, err);
		json_object_set_new(doc, name, c.arr);
		json_object_set_new(doc, "previous_points", pc.arr);
		return doc;
	}
	*q = prev_groups(as, dim, p, &prev, err);
	if (dim == AN_TOTAL) {
		static const struct kpi_sums none;
		struct kpi_groups cur = {0};
		if (*q == J_OK)
			*q = api_query(as, p, AN_TOTAL, &p->f, keep_group, &cur, err);
		const struct kpi_sums *now = cur.n ? &cur.g[0].m : &none;
		const struct kpi_sums *was = prev.n ? &prev.g[0].m : &none;
		json_object_set_new(doc, name, kpi_json_add(json_object(), now));
		json_object_set_new(doc, "previous", kpi_json_add(json_object(), was));
		json_object_set_new(doc, "change", kpi_json_change(now, was));
		kpi_groups_free(&cur);
		json_decref(c.arr);
	} else {
		c.prev = &prev;
		if (*q == J_OK)
			*q = api_query(as, p, dim, &p->f, add_row, &c, err);
		json_object_set_new(doc, name, c.arr);
	}
	kpi_groups_free(&prev);
	return doc;
}

/*
 * One grouped query's answer as JSON text: the array of rows, or for AN_TOTAL
 * its one row; with format=csv, the rows as CSV under a header row. From the cache when the data
 * has not changed since it was kept (cache.c), else from the store. On failure replies 503 itself
 * and returns NULL.
 */
static char *query_text(struct req *r, enum an_dim dim, const struct api_params *p, int metric,
			const char *name, size_t *len)
{
	const struct an_filter *f = &p->f;
	int paged = p->limit > 0;
	struct anstore *as = NULL;
	struct jerr err;
	int64_t cursor = 0, run = 0;
	struct strbuf key = {0};
	char *text = NULL;
	int q = pool_an_get(r->w, &as, &err);
	if (q == J_OK)
		q = anstore_data_version(as, &cursor, &run, &err);
	if (q == J_OK) {
		strbuf_addf(&key, "%d|%d|%" PRId64 "|%" PRId64 "|%d|%d|%zu:%s|%zu:%s", (int)dim,
			    metric, hour_ceil(f->from_s), hour_ceil(f->to_s), (int)f->campaign_id,
			    (int)f->publisher_id, f->industry ? strlen(f->industry) : 0,
			    f->industry ? f->industry : "", f->device ? strlen(f->device) : 0,
			    f->device ? f->device : "");
		if (paged)
			strbuf_addf(&key, "|%d|%" PRId64 "|%d|%d", p->limit, p->offset, p->sort,
				    p->sort_desc);
		strbuf_addf(&key, "|%d|%s|r%" PRIu64, (int)p->format,
			    p->zone ? tz_name(p->zone) : "",
			    (uint64_t)atomic_load(&r->w->camp_rev));
		if (p->compare !=
		    KPI_COMPARE_NONE) /* the earlier range moves with now when to is open */
			strbuf_addf(&key, "|c%d|%" PRId64 "|%" PRId64, (int)p->compare,
				    hour_ceil(p->prev.from_s), hour_ceil(p->prev.to_s));
		text = qcache_get(&r->w->cache, key.buf, cursor, run, len);
	}
	int claim = QCACHE_COMPUTE;
	if (q == J_OK && !text) {
		claim = qcache_claim(&r->w->cache, key.buf, cursor, run);
		if (claim == QCACHE_LOOK_AGAIN)
			text = qcache_get(&r->w->cache, key.buf, cursor, run, len);
	}
	int slot = q == J_OK && !text;
	if (slot)
		while (sem_wait(&r->w->query_slots) != 0 && errno == EINTR)
			;
	if (q == J_OK && !text && paged) {
		text = page_text(as, dim, p, len, &q, &err);
		if (text)
			qcache_put(&r->w->cache, key.buf, cursor, run, text, *len);
	} else if (q == J_OK && !text && p->format == API_CSV) {
		struct strbuf sb = {0};
		struct kpi_groups prev = {0};
		int compare = p->compare != KPI_COMPARE_NONE;
		struct csv_ctx c = {&sb, dim, metric, compare ? &prev : NULL};
		csv_header(&sb, dim, metric, compare);
		if (compare)
			q = prev_groups(as, dim, p, &prev, &err);
		if (q == J_OK)
			q = api_query(as, p, dim, f, csv_add_row, &c, &err);
		kpi_groups_free(&prev);
		if (q == J_OK) {
			text = sb.buf;
			*len = sb.len;
			qcache_put(&r->w->cache, key.buf, cursor, run, text, *len);
		} else {
			strbuf_release(&sb);
		}
	} else if (q == J_OK && !text && p->compare != KPI_COMPARE_NONE) {
		json_t *doc = compared_json(as, dim, p, metric, name, &q, &err);
		if (q == J_OK) {
			text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(API_DIGITS));
			if (text) {
				*len = strlen(text);
				qcache_put(&r->w->cache, key.buf, cursor, run, text, *len);
			}
		}
		json_decref(doc);
	} else if (q == J_OK && !text) {
		struct rows_ctx c = {json_array(), dim, metric, NULL};
		q = api_query(as, p, dim, f, add_row, &c, &err);
		if (q == J_OK) {
			json_t *v = dim == AN_TOTAL ? json_array_get(c.arr, 0) : c.arr;
			text = json_dumps(v ? v : json_object(),
					  JSON_COMPACT | JSON_REAL_PRECISION(API_DIGITS));
			if (text) {
				*len = strlen(text);
				qcache_put(&r->w->cache, key.buf, cursor, run, text, *len);
			}
		}
		json_decref(c.arr);
	}
	if (slot)
		sem_post(&r->w->query_slots);
	if (claim == QCACHE_CLAIMED)
		qcache_unclaim(&r->w->cache, key.buf, cursor, run);
	pool_an_put(r->w, as, q != J_OK);
	strbuf_release(&key);
	if (q != J_OK || !text) {
		free(text);
		if (q != J_OK && err.code == 400) /* tz= that the facts cannot answer (zone.c) */
			reply_error(r, 400, "%s", err.msg);
		else
			reply_error(r, 503, "analytics store: %s",
				    q != J_OK ? err.msg : "out of memory");
		return NULL;
	}
	return text;
}

/* Reply with doc plus "name": text (JSON text, spliced in without parsing it again);
 * with name NULL, text is an object whose members are added to doc's. */
static int reply_with(struct req *r, json_t *doc, const char *name, char *text, size_t len)
{
	char *head = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(API_DIGITS));
	struct strbuf sb = {0};
	json_decref(doc);
	if (!head) {
		free(text);
		return reply_error(r, 500, "could not encode the reply");
	}
	size_t hl = strlen(head); /* "{...}" */
	strbuf_add(&sb, head, hl - 1);
	if (name) {
		strbuf_addf(&sb, "%s\"%s\":", hl > 2 ? "," : "", name);
		strbuf_add(&sb, text, len);
	} else if (len > 2) {
		strbuf_add(&sb, hl > 2 ? "," : "", hl > 2);
		strbuf_add(&sb, text + 1, len - 2);
	}
	strbuf_add(&sb, "}", 1);
	int st = reply(r, 200, "application/json", sb.buf, sb.len, NULL);
	strbuf_release(&sb);
	free(head);
	free(text);
	return st;
}

json_t *api_doc(const struct api_params *p)
{
	json_t *doc = json_object();
	json_object_set_new(doc, "range", range_json(&p->f));
	json_object_set_new(doc, "filters", filters_json(&p->f));
	return doc;
}

/* A CSV answer as a download named after the route ("campaigns.csv"). */
static int reply_csv(struct req *r, char *text, size_t len)
{
	char headers[160];
	const char *name = strrchr(web_route_name(r->route), '/');
	snprintf(headers, sizeof(headers),
		 "Content-Disposition: attachment; filename=\"%s.csv\"\r\n", name + 1);
	int st = reply(r, 200, "text/csv; charset=utf-8", text, len, headers);
	free(text);
	return st;
}

/* The analytics store's reporting time zone as the answer's "tz": the zone its
 * hours, weekdays and days are in (docs/architecture.md). */
static void add_zone(struct req *r, json_t *doc)
{
	struct anstore *as = NULL;
	struct jerr err;
	char zone[256];
	if (json_object_get(doc, "tz")) /* tz= asked for another zone: that one */
		return;
	if (pool_an_get(r->w, &as, &err) != J_OK)
		return;
	int q = as->ops->zone(as, zone, sizeof(zone), &err);
	pool_an_put(r->w, as, q != J_OK);
	if (q == J_OK)
		json_object_set_new(doc, "tz", json_string(zone));
}

int api_answer(struct req *r, json_t *doc, enum an_dim dim, const struct api_params *p, int metric,
	       const char *name)
{
	size_t len = 0;
	char *text = query_text(r, dim, p, metric, name, &len);
	if (!text) {
		json_decref(doc);
		return r->status;
	}
	if (p->format == API_CSV) {
		json_decref(doc); /* range and filters are the caller's own query */
		return reply_csv(r, text, len);
	}
	if (p->compare != KPI_COMPARE_NONE) {
		json_t *c = json_object();
		json_object_set_new(c, "mode", json_string(kpi_compare_name(p->compare)));
		json_object_set_new(c, "range", range_json(&p->prev));
		json_object_set_new(doc, "compare", c);
		if (name) /* compared_json answered the members themselves */
			name = NULL;
	}
	add_zone(r, doc);
	return reply_with(r, doc, name, text, len);
}

int api_kpis(struct req *r)
{
	struct api_params p;
	if (api_query_params(r, AP_RANGE | AP_FILTERS | AP_FORMAT | AP_COMPARE, &p))
		return r->status;
	return api_answer(r, api_doc(&p), AN_TOTAL, &p, -1, "total");
}

int api_grouped(struct req *r)
{
	enum route_id id = r->route;
	struct api_params p;
	enum an_dim dim = id == R_CAMPAIGNS    ? AN_CAMPAIGN
			  : id == R_PUBLISHERS ? AN_PUBLISHER
			  : id == R_INDUSTRIES ? AN_INDUSTRY
					       : AN_DEVICE;
	if (api_query_params(r, AP_RANGE | AP_FILTERS | AP_PAGE | AP_FORMAT | AP_COMPARE, &p))
		return r->status;
	if (p.sort < 0) { /* spend, largest first: a dashboard's top N */
		for (p.sort = 0; strcmp(api_metric_names[p.sort], "spend") != 0; p.sort++)
			;
		p.sort_desc = 1;
	}
	int own = dim == AN_CAMPAIGN ? p.sort == API_SORT_CAMPAIGN
		  : dim == AN_PUBLISHER
		      ? p.sort == API_SORT_PUBLISHER_ID || p.sort == API_SORT_PUBLISHER_NAME
		  : dim == AN_INDUSTRY ? p.sort == API_SORT_INDUSTRY
				       : p.sort == API_SORT_DEVICE;
	if (p.sort >= API_SORT_CAMPAIGN && !own)
		return reply_error(r, 400, "sort: %s is not a field of this route",
				   sort_name(p.sort));
	if (!p.limit)
		p.limit = API_PAGE_DEFAULT;
	return api_answer(r, api_doc(&p), dim, &p, -1, NULL);
}
