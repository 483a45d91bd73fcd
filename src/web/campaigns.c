/*
 * campaigns.c - GET and PUT /api/campaigns/ID: one campaign's name, flight and
 * budget (campaign.h). PUT takes the admin token and a JSON object of the
 * fields to change (the others are kept; null clears one), checks it whole,
 * and stores it in one transaction: a bad field is a 400 naming it, an
 * unknown campaign a 404, and either way nothing changes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "jobads/campaign.h"
#include "jobads/pacing.h"

#include "jobads/banned.h"

/* The ID of /api/campaigns/ID; -1 when replied 404. */
static int path_id(struct req *r, int32_t *id)
{
	static const char prefix[] = "/api/campaigns/";
	const char *path = r->ri->local_uri;
	char why[200];
	/* the route matched the prefix, so path holds it */
	const char *s = path && strlen(path) >= sizeof(prefix) - 1 ? path + sizeof(prefix) - 1 : "";
	if (!path)
		path = "";
	if (camp_parse_id(s, strlen(s), id, why, sizeof(why))) {
		reply_error(r, 404, "no such route: %.100s (want /api/campaigns/ID, ID > 0)", path);
		return -1;
	}
	return 0;
}

struct find_one {
	int32_t id;
	struct campaign c;
	int found;
};

static int find_campaign(void *arg, const struct campaign *c)
{
	struct find_one *f = arg;
	if (c->id != f->id)
		return 0;
	f->c = *c;
	f->found = 1;
	return 1; /* the list is in id order: done */
}

/* The stored attributes of f->id into f (f->found = 0 when it has none). */
static enum jrc read_one(struct anstore *as, struct find_one *f, struct jerr *err)
{
	int r = as->ops->campaigns(as, find_campaign, f, err);
	return r == 1 ? J_OK : r;
}

int api_campaign_get(struct req *r)
{
	struct find_one f = {0};
	struct anstore *as = NULL;
	struct jerr err;
	if (path_id(r, &f.id))
		return r->status;
	int q = pool_an_get(r->w, &as, &err);
	if (q == J_OK)
		q = read_one(as, &f, &err);
	pool_an_put(r->w, as, q != J_OK);
	if (q != J_OK)
		return reply_error(r, q == J_RETRY ? 503 : 500, "analytics store: %s", err.msg);
	if (!f.found)
		return reply_error(r, 404, "campaign %d: no attributes set", (int)f.id);
	return reply_json(r, 200, camp_json(&f.c));
}

int api_campaign_put(struct req *r)
{
	struct find_one f = {0};
	struct anstore *as = NULL;
	struct strbuf body = {0};
	struct jerr err;
	json_error_t jerr;
	char why[400];
	size_t unknown;
	int s;
	if (!web_admin_ok(r, "campaign changes"))
		return r->status;
	if (path_id(r, &f.id))
		return r->status;
	if (!web_body_type_ok(mg_get_header(r->c, "Content-Type")))
		return reply_error(r, 415, "Content-Type: want application/json");
	if ((s = web_read_body(r, &body)) != 0) {
		strbuf_release(&body);
		return s;
	}
	json_t *doc = json_loadb(body.buf ? body.buf : "", body.len, JSON_REJECT_DUPLICATES, &jerr);
	strbuf_release(&body);
	if (!doc)
		return reply_error(r, 400, "body: not JSON: %s", jerr.text);
	int q = pool_an_get(r->w, &as, &err);
	if (q == J_OK)
		q = read_one(as, &f, &err);
	if (q != J_OK) {
		pool_an_put(r->w, as, 1);
		json_decref(doc);
		return reply_error(r, q == J_RETRY ? 503 : 500, "analytics store: %s", err.msg);
	}
	if (!f.found)
		camp_init(&f.c, f.id);
	if (camp_from_json(&f.c, doc, why, sizeof(why)) || camp_check(&f.c, why, sizeof(why))) {
		pool_an_put(r->w, as, 0);
		json_decref(doc);
		return reply_error(r, 400, "campaign %d: %s", (int)f.id, why);
	}
	json_decref(doc);
	q = as->ops->campaigns_put(as, &f.c, 1, &unknown, &err);
	pool_an_put(r->w, as, q != J_OK && unknown == 1);
	if (q != J_OK && unknown == 0)
		return reply_error(r, 404, "campaign %d: unknown (no events of it were processed)",
				   (int)f.id);
	if (q != J_OK)
		return reply_error(r, q == J_RETRY ? 503 : 500, "analytics store: %s", err.msg);
	atomic_fetch_add(&r->w->camp_rev, 1);
	return reply_json(r, 200, camp_json(&f.c));
}

/* The pacing answer at now_s as JSON text (a new string), from the store. */
static char *pacing_text(struct web_server *w, struct anstore *as, int64_t now_s, size_t *len,
			 int *q, struct jerr *err)
{
	struct pacing *ps;
	struct campaign *cs;
	size_t n;
	char t[40];
	*q = pacing_read(as, now_s, w->pacing, &ps, &cs, &n, err);
	if (*q != J_OK)
		return NULL;
	json_t *arr = json_array(), *doc = json_object();
	json_object_set_new(doc, "now", json_string(ts_format_iso(now_s * 1000, t, sizeof(t))));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, pacing_json(&ps[i], &cs[i]));
	json_object_set_new(doc, "campaigns", arr);
	free(ps);
	free(cs);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15)); /* as reply_json */
	json_decref(doc);
	if (!text)
		abort(); /* as xmalloc: jansson fails only when out of memory */
	*len = strlen(text);
	return text;
}

/*
 * GET /api/pacing[?now=TIME]: every budgeted campaign's pacing (pacing.h), as
 * `jobads pacing --json` prints it. The answer moves with now, by the second:
 * without now= it is kept in the cache for the second it was asked in and the
 * data version it was computed from (an ETL run or a PUT here makes it new),
 * so that many clients asking at once cost one computation a second. A budget
 * changed by `jobads campaign` from another process shows from the next second.
 */
int api_pacing(struct req *r)
{
	struct anstore *as = NULL;
	struct jerr err;
	char v[64], key[64];
	int64_t now_s = r->now_ms / 1000, cursor = 0, run = 0;
	int cached = 1;
	size_t len = 0;
	char *text = NULL;
	const char *qs = r->ri->query_string;
	if (qs && *qs) {
		int got = mg_get_var(qs, strlen(qs), "now", v, sizeof(v));
		if (got == -1)
			return reply_error(r, 400, "pacing takes one parameter, now=TIME");
		if (got < 0 || time_arg_parse(v, (size_t)got, r->now_ms, &now_s))
			return reply_error(r, 400, "now: not a time: '%.40s'", got < 0 ? "" : v);
		cached = 0; /* a campaign changed from another process shows at once */
	}
	snprintf(key, sizeof(key), "pacing|%" PRId64 "|r%" PRIu64, now_s,
		 (uint64_t)atomic_load(&r->w->camp_rev));
	int q = pool_an_get(r->w, &as, &err);
	if (q == J_OK && cached)
		q = anstore_data_version(as, &cursor, &run, &err);
	if (q == J_OK && cached)
		text = qcache_get(&r->w->cache, key, cursor, run, &len);
	int claim = QCACHE_COMPUTE;
	if (q == J_OK && cached && !text) {
		claim = qcache_claim(&r->w->cache, key, cursor, run);
		if (claim == QCACHE_LOOK_AGAIN)
			text = qcache_get(&r->w->cache, key, cursor, run, &len);
	}
	if (q == J_OK && !text) {
		text = pacing_text(r->w, as, now_s, &len, &q, &err);
		if (text && cached) { /* the answer of an earlier second is not asked for again */
			qcache_forget(&r->w->cache, "pacing|");
			qcache_put(&r->w->cache, key, cursor, run, text, len);
		}
	}
	if (claim == QCACHE_CLAIMED)
		qcache_unclaim(&r->w->cache, key, cursor, run);
	pool_an_put(r->w, as, q != J_OK);
	if (q != J_OK)
		return reply_error(r, q == J_RETRY ? 503 : 500, "analytics store: %s", err.msg);
	int st = reply(r, 200, "application/json", text, len, NULL);
	free(text);
	return st;
}
