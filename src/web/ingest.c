/*
 * ingest.c - POST /api/events: the tracking endpoint. The body is read whole
 * (up to --max-body; more is a 413), decoded record by record with ingest's
 * rules (body.c), and every valid event is inserted in ONE event-store
 * transaction that is committed before the reply: a 200 means stored durably.
 * A client that gets no reply re-sends the batch; the store's duplicate check
 * on (event_id, ts) makes that safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "jobads/banned.h"

/* Rejections listed in a reply; the counts are always complete. */
#define MAX_LISTED_REJECTS 10000

struct post {
	struct evstore *evs;
	int64_t accepted, dups, rejected;
	json_t *rejects;
	struct jerr err;
	int failed;
};

static int on_event(void *arg, long index, const struct event *ev)
{
	struct post *p = arg;
	int dup = 0;
	(void)index;
	if (p->evs->ops->insert(p->evs, ev, &dup, &p->err) != STORE_OK) {
		p->failed = 1;
		return -2; /* stop: the batch will be rolled back */
	}
	if (dup)
		p->dups++;
	else
		p->accepted++;
	return 0;
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
	if (pool_ev_get(w, &p.evs, &p.err) != STORE_OK ||
	    p.evs->ops->begin(p.evs, &p.err) != STORE_OK) {
		pool_ev_put(w, p.evs, 1);
		json_decref(p.rejects);
		strbuf_release(&body);
		return reply_error(r, 503, "event store: %s", p.err.msg);
	}
	int d = body_decode(body.buf ? body.buf : "", body.len, r->now_ms, on_event, on_reject, &p,
			    why, sizeof(why));
	if (d == 0 && p.evs->ops->commit(p.evs, &p.err) != STORE_OK) {
		p.failed = 1;
		d = -2;
	}
	if (d != 0)
		p.evs->ops->rollback(p.evs);
	pool_ev_put(w, p.evs, p.failed);
	strbuf_release(&body);
	if (d == -1) {
		json_decref(p.rejects);
		return reply_error(r, 400, "%s", why);
	}
	if (p.failed) {
		json_decref(p.rejects);
		/* nothing of the batch was stored: the client may send it again as it is */
		return reply_error(r, 503, "event store: %s; nothing of this batch was stored",
				   p.err.msg);
	}
	atomic_fetch_add(&w->ev_accepted, (uint64_t)p.accepted);
	atomic_fetch_add(&w->ev_duplicate, (uint64_t)p.dups);
	atomic_fetch_add(&w->ev_rejected, (uint64_t)p.rejected);
	atomic_fetch_add(&w->ev_batches, 1);
	json_t *doc = json_object();
	json_object_set_new(doc, "accepted", json_integer(p.accepted));
	json_object_set_new(doc, "duplicate", json_integer(p.dups));
	json_object_set_new(doc, "rejected", json_integer(p.rejected));
	json_object_set_new(doc, "errors", p.rejects);
	return reply_json(r, 200, doc);
}
