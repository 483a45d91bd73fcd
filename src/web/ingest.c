/*
 * ingest.c - POST /api/events: the tracking endpoint. The body is read whole
 * (up to --max-body; more is a 413), decoded record by record with ingest's
 * rules (body.c), and every valid event is inserted in ONE event-store
 * transaction that is committed before the reply: a 200 means stored durably.
 * The batch protocol is ingest's (src/core/evbatch.c), with one batch per
 * request: the counts in the reply are as of its commit, where a store that
 * sends rows in blocks (mysql) finds some duplicates only. A client that gets
 * no reply re-sends the batch; the store's duplicate check on (event_id, ts)
 * makes that safe.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "jobads/evbatch.h"

#include "jobads/banned.h"

/* Rejections listed in a reply; the counts are always complete. */
#define MAX_LISTED_REJECTS 10000

struct post {
	struct evstore *evs;
	struct evbatch batch;
	int64_t rejected;
	json_t *rejects;
	int failed;
};

static int on_event(void *arg, long index, const struct event *ev)
{
	struct post *p = arg;
	int dup = 0;
	(void)index;
	if (evbatch_insert(&p->batch, ev, &dup)) {
		p->failed = 1;
		return BODY_STOPPED; /* the batch will be rolled back */
	}
	return BODY_DONE;
}

static void on_reject(void *arg, long index, long line, const char *why)
{
	struct post *p = arg;
	p->rejected++;
	if (json_array_size(p->rejects) >= MAX_LISTED_REJECTS)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "index", json_integer(index));
	if (line > 0)
		json_object_set_new(o, "line", json_integer(line));
	json_t *s = json_string(why);
	json_object_set_new(o, "reason", s ? s : json_string("invalid text in the record"));
	json_array_append_new(p->rejects, o);
}

int api_events_post(struct req *r)
{
	struct web_server *w = r->w;
	struct strbuf body = {0};
	struct post p;
	char why[512];
	int s;

	if (w->ingest_token) {
		size_t n = 0;
		const char *tok = bearer_token(r, &n);
		if (!tok || !web_token_equal(tok, n, w->ingest_token)) {
			mg_disable_keep_alive(r->c);
			const char *msg =
			    tok ? "{\"error\":\"wrong ingest token\",\"status\":401}"
				: "{\"error\":\"a bearer token is required\",\"status\":401}";
			return reply_str(r, 401, "application/json", msg,
					 "WWW-Authenticate: Bearer realm=\"jobads\"\r\n");
		}
	}
	if ((s = web_read_body(r, &body)) != 0) {
		strbuf_release(&body);
		return s;
	}
	memset(&p, 0, sizeof(p));
	p.rejects = json_array();
	struct jerr err;
	if (pool_ev_get(w, &p.evs, &err) != J_OK) {
		pool_ev_put(w, p.evs, 1);
		json_decref(p.rejects);
		strbuf_release(&body);
		return reply_error(r, 503, "event store: %s", err.msg);
	}
	/* one request, one batch: all of it or (where the store has transactions) none */
	struct evbatch_opts bo = {.max_rows = INT64_MAX, .stall_s = 0, .max_age_s = 0};
	evbatch_init(&p.batch, p.evs, &bo);
	int d = body_decode(body.buf ? body.buf : "", body.len, r->now_ms, on_event, on_reject, &p,
			    why, sizeof(why));
	if (d == BODY_DONE && evbatch_commit(&p.batch, NULL)) {
		p.failed = 1;
		d = BODY_STOPPED;
	}
	if (d != BODY_DONE)
		evbatch_abort(&p.batch);
	pool_ev_put(w, p.evs, p.failed);
	strbuf_release(&body);
	if (d == BODY_UNREADABLE) {
		json_decref(p.rejects);
		return reply_error(r, 400, "%s", why);
	}
	if (p.failed) {
		json_decref(p.rejects);
		if (p.batch.kept > 0) {
			/* a store without transactions (cassandra) keeps the blocks it wrote */
			atomic_fetch_add(&w->ev_accepted, (uint64_t)p.batch.kept);
			return reply_error(
			    r, 503,
			    "event store: %s; %" PRId64
			    " events of this batch were stored before the failure "
			    "and stay stored, and part of the rest may be: the client "
			    "may send it again as it is (each event is stored once)",
			    p.batch.err.msg, p.batch.kept);
		}
		/* nothing of the batch was stored: the client may send it again as it is */
		return reply_error(r, 503, "event store: %s; nothing of this batch was stored",
				   p.batch.err.msg);
	}
	atomic_fetch_add(&w->ev_accepted, (uint64_t)p.batch.ok_stored);
	atomic_fetch_add(&w->ev_duplicate, (uint64_t)p.batch.ok_dups);
	atomic_fetch_add(&w->ev_rejected, (uint64_t)p.rejected);
	atomic_fetch_add(&w->ev_batches, 1);
	json_t *doc = json_object();
	json_object_set_new(doc, "accepted", json_integer(p.batch.ok_stored));
	json_object_set_new(doc, "duplicate", json_integer(p.batch.ok_dups));
	json_object_set_new(doc, "rejected", json_integer(p.rejected));
	json_object_set_new(doc, "errors", p.rejects);
	return reply_json(r, 200, doc);
}
