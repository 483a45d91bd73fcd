/*
 * runs.c - the routes about the pipeline rather than the numbers: GET
 * /api/health (both stores reachable, the cursor, how far behind it is), GET
 * /api/runs (etl_runs), and POST /api/runs, which starts an ETL run under the
 * run lock (admin token; 409 naming the holder when a run is in progress).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "jobads/banned.h"

static json_t *ms_iso(int64_t ms)
{
	char t[40];
	return ms > 0 ? json_string(ts_format_iso(ms, t, sizeof(t))) : json_null();
}

static json_t *run_json(const struct etl_run_rec *rec)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(rec->id));
	json_object_set_new(o, "trigger", json_string(rec->trigger));
	json_object_set_new(o, "attempt", json_integer(rec->attempt));
	json_object_set_new(o, "state", json_string(rec->state));
	json_object_set_new(o, "owner", json_string(rec->owner));
	json_object_set_new(o, "started", ms_iso(rec->started_ms));
	json_object_set_new(o, "finished", ms_iso(rec->finished_ms));
	json_object_set_new(o, "duration_s",
			    rec->finished_ms > 0
				? json_real((double)(rec->finished_ms - rec->started_ms) / 1000.0)
				: json_null());
	json_object_set_new(o, "events_read", json_integer(rec->events_read));
	json_object_set_new(o, "groups_written", json_integer(rec->groups_written));
	json_object_set_new(o, "cursor_from", json_integer(rec->cursor_from));
	json_object_set_new(o, "cursor_to", json_integer(rec->cursor_to));
	json_object_set_new(o, "error", rec->error[0] ? json_string(rec->error) : json_null());
	return o;
}

static int add_run(void *arg, const struct etl_run_rec *rec)
{
	json_array_append_new(arg, run_json(rec));
	return 0;
}

/* Cursor, newest seq and events behind; *ok 0 when a store did not answer. */
static json_t *pipeline_json(struct req *r, json_t *last_run, int *ev_ok, int *an_ok)
{
	struct jerr err;
	struct evstore *evs;
	struct anstore *as;
	int64_t cursor = 0, max_seq = 0, rows = 0, behind = -1;
	json_t *o = json_object();
	*ev_ok = *an_ok = 0;
	if (pool_an_get(r->w, &as, &err) == J_OK) {
		*an_ok = as->ops->get_cursor(as, &cursor, &err) == J_OK;
		if (*an_ok && last_run)
			*an_ok = as->ops->runs(as, 1, add_run, last_run, &err) == J_OK;
		pool_an_put(r->w, as, !*an_ok);
	}
	if (!*an_ok)
		json_object_set_new(o, "analytics_error", json_string(err.msg));
	if (pool_ev_get(r->w, &evs, &err) == J_OK) {
		*ev_ok = evs->ops->stats(evs, &max_seq, &rows, &err) == J_OK &&
			 (!*an_ok || evstore_behind(evs, cursor, &behind, &err) == J_OK);
		pool_ev_put(r->w, evs, !*ev_ok);
	}
	if (!*ev_ok)
		json_object_set_new(o, "events_error", json_string(err.msg));
	if (*an_ok)
		json_object_set_new(o, "cursor", json_integer(cursor));
	if (*ev_ok) {
		json_object_set_new(o, "newest_seq", json_integer(max_seq));
		json_object_set_new(o, "events_stored", json_integer(rows));
	}
	if (*an_ok && *ev_ok) /* null: the event store cannot count its backlog (Cassandra) */
		json_object_set_new(o, "events_behind",
				    behind >= 0 ? json_integer(behind) : json_null());
	return o;
}

int api_health(struct req *r)
{
	struct api_params p;
	int ev_ok, an_ok;
	if (api_query_params(r, 0, &p))
		return r->status;
	json_t *runs = json_array();
	json_t *doc = pipeline_json(r, runs, &ev_ok, &an_ok);
	json_t *last = json_array_get(runs, 0);
	json_object_set(doc, "last_run", last ? last : json_null());
	json_decref(runs);
	json_object_set_new(doc, "status", json_string(ev_ok && an_ok ? "ok" : "degraded"));
	json_object_set_new(doc, "version", json_string(JOBADS_VERSION));
	json_object_set_new(doc, "time", ms_iso(r->now_ms));
	return reply_json(r, ev_ok && an_ok ? 200 : 503, doc);
}

int api_runs_get(struct req *r)
{
	struct api_params p;
	struct anstore *as;
	struct jerr err;
	int ev_ok, an_ok;
	if (api_query_params(r, AP_LIMIT, &p))
		return r->status;
	json_t *runs = json_array();
	int q = pool_an_get(r->w, &as, &err);
	if (q == J_OK) {
		q = as->ops->runs(as, p.limit ? p.limit : 20, add_run, runs, &err);
		pool_an_put(r->w, as, q != J_OK);
	}
	if (q != J_OK) {
		json_decref(runs);
		return reply_error(r, 503, "analytics store: %s", err.msg);
	}
	json_t *doc = json_object();
	json_object_set_new(doc, "runs", runs);
	json_object_set_new(doc, "pipeline", pipeline_json(r, NULL, &ev_ok, &an_ok));
	return reply_json(r, 200, doc);
}

int web_admin_ok(struct req *r, const char *what)
{
	size_t n = 0;
	const char *tok;
	if (!r->w->admin_token) {
		reply_error(r, 403,
			    "%s over HTTP are disabled: start serve with --admin-token or "
			    "JOBADS_ADMIN_TOKEN",
			    what);
		return 0;
	}
	tok = bearer_token(r, &n);
	if (!tok || !web_token_equal(tok, n, r->w->admin_token)) {
		reply_error(r, 401, "%s",
			    tok ? "wrong admin token" : "an admin bearer token is required");
		return 0;
	}
	return 1;
}

int api_runs_post(struct req *r)
{
	struct api_params p;
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	struct etl_opts o;
	struct etl_result res;
	struct run_lock_info holder;
	struct jerr err;
	if (!web_admin_ok(r, "runs"))
		return r->status;
	if (api_query_params(r, 0, &p))
		return r->status;
	memset(&o, 0, sizeof(o));
	o.chunk = r->w->o.chunk;
	o.stop = r->w->o.stop;
	o.trigger = "api";
	o.attempt = 1;
	o.owner = r->w->owner;
	/* a run gets its own connections: it holds them for its whole length */
	int q = anstore_open(r->w->analytics, STORE_CREATE, &as, &err);
	if (q == J_OK)
		q = evstore_open(r->w->events, STORE_OPEN_EXISTING, &evs, &err);
	if (q == J_OK)
		q = etl_run_locked(evs, as, &o, &res, &holder, &err);
	evstore_close(evs);
	anstore_close(as);
	if (q == J_OK && res.locked) {
		note_run(r->w, "api", "skipped", NULL);
		json_t *doc = json_object();
		json_object_set_new(doc, "error",
				    json_string("another ETL run is in progress; try again later"));
		json_object_set_new(doc, "status", json_integer(409));
		json_object_set_new(doc, "holder", json_string(holder.owner));
		return reply_json(r, 409, doc);
	}
	note_run(r->w, "api", q == J_OK ? "success" : "failed", &res);
	if (q != J_OK)
		return reply_error(r, q == J_RETRY ? 503 : 500, "etl: %s", err.msg);
	json_t *doc = json_object();
	json_object_set_new(doc, "run_id", json_integer(res.run_id));
	json_object_set_new(doc, "state", json_string("success"));
	json_object_set_new(doc, "events", json_integer(res.events));
	json_object_set_new(doc, "groups", json_integer(res.groups));
	json_object_set_new(doc, "cursor_from", json_integer(res.cursor_from));
	json_object_set_new(doc, "cursor_to", json_integer(res.cursor_to));
	json_object_set_new(doc, "secs", json_real(res.secs));
	json_object_set_new(doc, "stopped", json_boolean(res.stopped));
	return reply_json(r, 200, doc);
}
