/*
 * server.c - `jobads serve`'s HTTP server on civetweb: start and stop, the
 * checks before any route (routes.c has the routes), reply helpers, the store
 * connection pools, and /metrics.
 *
 * Every request runs in one of civetweb's worker threads and borrows its own
 * store connections from a pool, since a SQLite connection must not be used by
 * two threads at once. Nothing here logs a request's headers: tokens travel in
 * them and must never reach a log.
 *
 * A worker is held by its connection for as long as the client takes, so every
 * wait on a client is bounded: a request head within header_timeout_ms (also
 * the idle keep-alive wait), a body within request_timeout_ms and at
 * min_body_rate. Before any route runs, the request must frame its body one
 * way only (a smuggling guard), name this server in Host (DNS rebinding) and
 * come from this server's own pages when a browser says where it comes from
 * (Origin: cross-site requests).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#include "jobads/banned.h"

void web_opts_init(struct web_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->listen = WEB_DEFAULT_LISTEN;
	o->max_body = WEB_DEFAULT_MAX_BODY;
	o->threads = 64;
	/* a real client sends its head with the connection's first packet; a worker
	 * held by a head sent a byte at a time is free again within 500 ms */
	o->header_timeout_ms = 500;
	o->request_timeout_ms = 30000;
	/* 16 KiB/s: a batch of 1000 events (~300 KB) over a slow uplink still passes */
	o->min_body_rate = 16384;
	o->chunk = ETL_DEFAULT_CHUNK;
	o->cache_bytes = 32u << 20;
}

/* ---- replies ---- */

int reply(struct req *r, int status, const char *ctype, const void *body, size_t n,
	  const char *extra_headers)
{
	const char *text = mg_get_response_code_text(r->c, status);
	const char *extra = extra_headers ? extra_headers : "";
	mg_printf(r->c,
		  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		  "%sX-Content-Type-Options: nosniff\r\n%s\r\n",
		  status, text ? text : "", ctype, n,
		  strstr(extra, "Cache-Control:") ? "" : "Cache-Control: no-store\r\n", extra);
	if (n && strcmp(r->ri->request_method, "HEAD") != 0)
		mg_write(r->c, body, n);
	r->status = status;
	return status;
}

int reply_str(struct req *r, int status, const char *ctype, const char *body,
	      const char *extra_headers)
{
	return reply(r, status, ctype, body, strlen(body), extra_headers);
}

int reply_json(struct req *r, int status, json_t *doc)
{
	char *txt = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(doc);
	if (!txt)
		return reply_str(r, 500, "application/json",
				 "{\"error\":\"could not encode the reply\",\"status\":500}", NULL);
	int s = reply(r, status, "application/json", txt, strlen(txt), NULL);
	free(txt);
	return s;
}

int reply_error(struct req *r, int status, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* the message may quote client bytes: keep it valid UTF-8 for JSON */
	if (ev_utf8_len(msg, strlen(msg)) < 0)
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	json_t *o = json_object();
	json_object_set_new(o, "error", json_string(msg));
	json_object_set_new(o, "status", json_integer(status));
	return reply_json(r, status, o);
}

const char *bearer_token(struct req *r, size_t *n)
{
	const char *h = mg_get_header(r->c, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	*n = strlen(h);
	while (*n && h[*n - 1] == ' ')
		(*n)--;
	return h;
}

/*
 * A body read without pre-allocating from Content-Length, within a deadline and
 * at a minimum rate. civetweb's mg_read returns within header_timeout_ms with
 * what it has for a sized body, but for a chunked one it waits until the whole
 * buffer is filled (each byte within header_timeout_ms), so there the read size
 * follows the client's rate down to a few bytes: a trickle then still comes
 * back here to be judged within seconds.
 */
int web_read_body(struct req *r, struct strbuf *sb)
{
	const struct web_opts *o = &r->w->o;
	size_t max = o->max_body, want = 16384;
	long long cl = r->ri->content_length;
	char buf[16384];
	double t0 = time_mono(), secs = 0;
	if (cl > (long long)max) {
		mg_disable_keep_alive(r->c); /* the unread body must not be taken for a request */
		return reply_error(r, 413, "body of %lld bytes is over the limit of %zu bytes", cl,
				   max);
	}
	/* a client that asks first (curl does for large bodies) would wait a second for it */
	const char *expect = mg_get_header(r->c, "Expect");
	if (expect && strcasecmp(expect, "100-continue") == 0)
		mg_printf(r->c, "HTTP/1.1 100 Continue\r\n\r\n");
	if (cl < 0)
		want = 64;
	while (cl < 0 || (long long)sb->len < cl) {
		int n = mg_read(r->c, buf, want);
		secs = time_mono() - t0;
		if (n < 0)
			return reply_error(r, 400, "could not read the body (cut off)");
		if (n == 0 && cl < 0)
			break; /* the end of a chunked body */
		if (sb->len + (size_t)n > max) {
			mg_disable_keep_alive(r->c);
			return reply_error(r, 413, "body over the limit of %zu bytes", max);
		}
		strbuf_add(sb, buf, (size_t)n);
		if ((long long)sb->len == cl)
			break;
		if (secs * 1000 > o->request_timeout_ms) {
			mg_disable_keep_alive(r->c);
			return reply_error(r, 408,
					   "body not complete within %.0f s (%zu bytes read)",
					   o->request_timeout_ms / 1000.0, sb->len);
		}
		double rate = secs > 0 ? (double)sb->len / secs : (double)sizeof(buf);
		if (secs > 1.0 && rate < (double)o->min_body_rate) {
			mg_disable_keep_alive(r->c);
			return reply_error(r, 408,
					   "body too slow: %zu bytes in %.1f s, under the minimum "
					   "of %zu bytes/s",
					   sb->len, secs, o->min_body_rate);
		}
		if (cl < 0) /* what a quarter second brings at this rate */
			want = rate / 4 < 16		? 16
			       : rate / 4 > sizeof(buf) ? sizeof(buf)
							: (size_t)(rate / 4);
	}
	return 0;
}

/* ---- pools ---- */

static void *pool_take(struct store_pool *p)
{
	void *s = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->n > 0)
		s = p->idle[--p->n];
	pthread_mutex_unlock(&p->mu);
	return s;
}

/* Returns 1 when the pool kept s. */
static int pool_give(struct store_pool *p, void *s)
{
	int kept = 0;
	pthread_mutex_lock(&p->mu);
	if (p->n < p->keep) {
		p->idle[p->n++] = s;
		kept = 1;
	}
	pthread_mutex_unlock(&p->mu);
	return kept;
}

int pool_an_get(struct web_server *w, struct anstore **out, struct jerr *err)
{
	*out = pool_take(&w->an_pool);
	if (*out)
		return STORE_OK;
	int r = anstore_open(w->analytics, STORE_OPEN_EXISTING, out, err);
	if (r != STORE_OK)
		*out = NULL;
	return r;
}

void pool_an_put(struct web_server *w, struct anstore *as, int bad)
{
	if (as && (bad || !pool_give(&w->an_pool, as)))
		anstore_close(as);
}

int pool_ev_get(struct web_server *w, struct evstore **out, struct jerr *err)
{
	*out = pool_take(&w->ev_pool);
	if (*out)
		return STORE_OK;
	int r = evstore_open(w->events, STORE_OPEN_EXISTING, out, err);
	if (r != STORE_OK)
		*out = NULL;
	return r;
}

void pool_ev_put(struct web_server *w, struct evstore *evs, int bad)
{
	if (evs && (bad || !pool_give(&w->ev_pool, evs)))
		evstore_close(evs);
}

static void pool_drain_an(struct store_pool *p)
{
	void *s;
	while ((s = pool_take(p)) != NULL)
		anstore_close(s);
	pthread_mutex_destroy(&p->mu);
}

static void pool_drain_ev(struct store_pool *p)
{
	void *s;
	while ((s = pool_take(p)) != NULL)
		evstore_close(s);
	pthread_mutex_destroy(&p->mu);
}

/* ---- metrics ---- */

void note_run(struct web_server *w, const char *trigger, const char *state,
	      const struct etl_result *res)
{
	pthread_mutex_lock(&w->runs_mu);
	int i;
	for (i = 0; i < w->n_run_counts; i++)
		if (strcmp(w->run_counts[i].trigger, trigger) == 0 &&
		    strcmp(w->run_counts[i].state, state) == 0)
			break;
	if (i == w->n_run_counts && i < (int)(sizeof(w->run_counts) / sizeof(w->run_counts[0]))) {
		snprintf(w->run_counts[i].trigger, sizeof(w->run_counts[i].trigger), "%s", trigger);
		snprintf(w->run_counts[i].state, sizeof(w->run_counts[i].state), "%s", state);
		w->run_counts[i].n = 0;
		w->n_run_counts++;
	}
	if (i < w->n_run_counts)
		w->run_counts[i].n++;
	(void)res;
	pthread_mutex_unlock(&w->runs_mu);
}

void web_note_run(struct web_server *w, const char *trigger, const char *state,
		  const struct etl_result *res)
{
	note_run(w, trigger, state, res);
}

static int copy_run(void *arg, const struct etl_run_rec *rec)
{
	*(struct etl_run_rec *)arg = *rec;
	return 0;
}

int web_metrics(struct req *r)
{
	struct web_server *w = r->w;
	struct strbuf sb = {0};
	struct jerr err;
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	int64_t max_seq = 0, cursor = 0, behind = -1;
	int ev_ok = 0, an_ok = 0;

	strbuf_addf(&sb,
		    "# HELP jobads_events_ingested_total Events stored by POST /api/events.\n"
		    "# TYPE jobads_events_ingested_total counter\n"
		    "jobads_events_ingested_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&w->ev_accepted));
	strbuf_addf(&sb,
		    "# HELP jobads_events_duplicate_total Events POSTed again (same event_id and "
		    "ts): not stored twice.\n"
		    "# TYPE jobads_events_duplicate_total counter\n"
		    "jobads_events_duplicate_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&w->ev_duplicate));
	strbuf_addf(&sb,
		    "# HELP jobads_events_rejected_total Records of POST /api/events that broke "
		    "a rule.\n"
		    "# TYPE jobads_events_rejected_total counter\n"
		    "jobads_events_rejected_total %" PRIu64 "\n",
		    (uint64_t)atomic_load(&w->ev_rejected));

	pthread_mutex_lock(&w->runs_mu);
	strbuf_addf(&sb, "# HELP jobads_etl_runs_total ETL runs started by this server, by "
			 "trigger (api, schedule) and how they ended.\n"
			 "# TYPE jobads_etl_runs_total counter\n");
	for (int i = 0; i < w->n_run_counts; i++)
		strbuf_addf(&sb, "jobads_etl_runs_total{trigger=\"%s\",state=\"%s\"} %" PRIu64 "\n",
			    w->run_counts[i].trigger, w->run_counts[i].state, w->run_counts[i].n);
	pthread_mutex_unlock(&w->runs_mu);

	/* the newest run in the store, whoever ran it (this server, a scheduler, a person) */
	struct etl_run_rec last;
	memset(&last, 0, sizeof(last));
	if (pool_an_get(w, &as, &err) == STORE_OK) {
		an_ok = as->ops->get_cursor(as, &cursor, &err) == STORE_OK &&
			as->ops->runs(as, 1, copy_run, &last, &err) == STORE_OK;
		pool_an_put(w, as, !an_ok);
	}
	if (pool_ev_get(w, &evs, &err) == STORE_OK) {
		ev_ok = evs->ops->stats(evs, &max_seq, NULL, &err) == STORE_OK &&
			(!an_ok || evstore_behind(evs, cursor, &behind, &err) == STORE_OK);
		pool_ev_put(w, evs, !ev_ok);
	}
	if (last.id > 0) {
		strbuf_addf(&sb,
			    "# HELP jobads_etl_last_run_info The newest ETL run in etl_runs.\n"
			    "# TYPE jobads_etl_last_run_info gauge\n"
			    "jobads_etl_last_run_info{id=\"%" PRId64
			    "\",trigger=\"%s\",state=\"%s\"} 1\n",
			    last.id, last.trigger, last.state);
		if (last.finished_ms > 0)
			strbuf_addf(&sb,
				    "# HELP jobads_etl_last_run_duration_seconds Wall time of the "
				    "newest finished-or-running ETL run.\n"
				    "# TYPE jobads_etl_last_run_duration_seconds gauge\n"
				    "jobads_etl_last_run_duration_seconds %.3f\n"
				    "# HELP jobads_etl_last_run_timestamp_seconds When it ended.\n"
				    "# TYPE jobads_etl_last_run_timestamp_seconds gauge\n"
				    "jobads_etl_last_run_timestamp_seconds %.3f\n",
				    (double)(last.finished_ms - last.started_ms) / 1000.0,
				    (double)last.finished_ms / 1000.0);
	}
	strbuf_addf(&sb,
		    "# HELP jobads_store_up 1 when the store answered this scrape.\n"
		    "# TYPE jobads_store_up gauge\n"
		    "jobads_store_up{store=\"events\"} %d\n"
		    "jobads_store_up{store=\"analytics\"} %d\n",
		    ev_ok, an_ok);
	if (ev_ok && an_ok && behind >= 0)
		strbuf_addf(&sb,
			    "# HELP jobads_events_behind Events stored but not yet aggregated "
			    "(stored events with a seq past the ETL cursor).\n"
			    "# TYPE jobads_events_behind gauge\n"
			    "jobads_events_behind %" PRId64 "\n",
			    behind);
	else if (ev_ok && an_ok) /* absent rather than a wrong number */
		strbuf_addf(&sb, "# jobads_events_behind: this event store cannot count the events "
				 "past the cursor\n");
	if (an_ok)
		strbuf_addf(&sb,
			    "# HELP jobads_etl_cursor The ETL cursor (last seq aggregated).\n"
			    "# TYPE jobads_etl_cursor gauge\n"
			    "jobads_etl_cursor %" PRId64 "\n",
			    cursor);

	pthread_mutex_lock(&w->cache.mu);
	uint64_t hits = w->cache.hits, misses = w->cache.misses;
	pthread_mutex_unlock(&w->cache.mu);
	strbuf_addf(&sb,
		    "# HELP jobads_query_cache_total Read-route answers served from the cache "
		    "(hit) or the store (miss).\n"
		    "# TYPE jobads_query_cache_total counter\n"
		    "jobads_query_cache_total{result=\"hit\"} %" PRIu64 "\n"
		    "jobads_query_cache_total{result=\"miss\"} %" PRIu64 "\n",
		    hits, misses);
	strbuf_addf(&sb, "# HELP jobads_http_requests_total HTTP requests by route and status.\n"
			 "# TYPE jobads_http_requests_total counter\n");
	for (int rt = 0; rt < R__COUNT; rt++)
		for (int st = 100; st < 600; st++) {
			uint64_t v = atomic_load(&w->http[rt][st]);
			if (v)
				strbuf_addf(
				    &sb,
				    "jobads_http_requests_total{route=\"%s\",status=\"%d\"} "
				    "%" PRIu64 "\n",
				    web_route_name((enum route_id)rt), st, v);
		}
	int s = reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", sb.buf, sb.len, NULL);
	strbuf_release(&sb);
	return s;
}

/*
 * The checks every request passes before its route: one body framing, a Host
 * that names this server, an Origin (when a browser sends one) of this server.
 * Returns 0, or the status replied with.
 */
static int guard(struct req *r)
{
	int n_cl = 0, n_te = 0;
	const char *cl = NULL;
	for (int i = 0; i < r->ri->num_headers; i++) {
		const char *name = r->ri->http_headers[i].name;
		if (strcasecmp(name, "Content-Length") == 0) {
			n_cl++;
			cl = r->ri->http_headers[i].value;
		} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
			n_te++;
		}
	}
	/* a proxy that reads the framing another way would see a second request in the
	 * body (request smuggling): refuse every ambiguity, and the connection with it */
	if (n_cl > 1 || n_te > 1 || (n_cl && n_te) ||
	    (cl && (!*cl || cl[strspn(cl, "0123456789")]))) {
		mg_disable_keep_alive(r->c);
		return reply_error(r, 400, "%s",
				   n_cl > 1   ? "Content-Length: given more than once"
				   : n_te > 1 ? "Transfer-Encoding: given more than once"
				   : n_cl     ? (n_te ? "Content-Length: not allowed with "
							"Transfer-Encoding"
						      : "Content-Length: want digits only")
					      : "bad framing");
	}
	const char *host = mg_get_header(r->c, "Host");
	if (!web_host_allowed(host, r->w->listen_host, (const char *const *)r->w->allowed_host)) {
		mg_disable_keep_alive(r->c);
		return reply_error(r, 421,
				   "Host: '%.100s' is not a name of this server (start serve with "
				   "--allowed-host NAME for a proxy's name)",
				   host);
	}
	const char *origin = mg_get_header(r->c, "Origin");
	if (origin && !web_origin_allowed(origin, host, (const char *const *)r->w->allowed_host)) {
		mg_disable_keep_alive(r->c);
		return reply_error(r, 403,
				   "Origin: '%.100s' is not this server: cross-site requests are "
				   "refused",
				   origin);
	}
	return 0;
}

static int on_request(struct mg_connection *c, void *cbdata)
{
	struct req r = {c, mg_get_request_info(c), cbdata, 0, time_now_ms(), R_OTHER};
	int status = guard(&r);
	if (status == 0)
		status = web_dispatch(&r); /* routes.c */
	if (status < 100 || status > 599)
		status = 500;
	atomic_fetch_add(&r.w->http[r.route][status], 1);
	return status;
}

/* While mg_start2 runs (in the starting thread), keep its first complaint for the error. */
static _Thread_local int starting;
static _Thread_local char start_msg[256];

static int on_log(const struct mg_connection *c, const char *msg)
{
	(void)c;
	if (starting) {
		if (!start_msg[0])
			snprintf(start_msg, sizeof(start_msg), "%s", msg);
		return 1;
	}
	jlog_error("serve: %s", msg);
	return 1;
}

/*
 * A connection that sends nothing must not hold a worker, and civetweb gives
 * each accepted connection one until its request head arrives. With
 * TCP_DEFER_ACCEPT the kernel keeps a connection from accept() until its first
 * bytes come, so idle sockets wait in the listen queue (listen_backlog), not
 * in a worker; one that sends nothing for about a minute is dropped there (60 s
 * outlasts the kernel's SYN-ACK retries). Without it 400 idle connections kept
 * /api/health from answering for 10 s; with a 5 s deferral they still came in
 * bursts. civetweb has no hook for its listening sockets, so they are found
 * among this process's descriptors: those listening on our port.
 */
static void defer_accept(int port)
{
	struct rlimit rl;
	int max = 4096, secs = 60;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
		max = (int)rl.rlim_cur;
	for (int fd = 0; fd < max; fd++) {
		int on = 0, p = -1;
		socklen_t len = sizeof(on);
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0 || !on ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
			continue;
		if (ss.ss_family == AF_INET)
			p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		if (p == port)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
	}
}

int web_start(const struct web_opts *o, struct web_server **out, struct jerr *err)
{
	struct web_server *w = xcalloc(1, sizeof(*w));
	struct evstore *evs = NULL;
	struct anstore *as = NULL;
	char threads[16], timeout[24];
	char errtext[256] = "";
	unsigned errcode = 0;

	*out = NULL;
	w->o = *o;
	/* civetweb takes addresses, not names: localhost is the one name worth knowing */
	if (strncmp(o->listen, "localhost:", 10) == 0) {
		struct strbuf sb = {0};
		strbuf_addf(&sb, "127.0.0.1:%s", o->listen + 10);
		w->listen = sb.buf;
	} else {
		w->listen = xstrdup(o->listen);
	}
	w->events = xstrdup(o->events);
	w->analytics = xstrdup(o->analytics);
	const char *colon = strrchr(o->listen, ':');
	size_t hl = colon ? (size_t)(colon - o->listen) : 0;
	w->listen_host = xmalloc(hl + 1);
	memcpy(w->listen_host, o->listen, hl);
	w->listen_host[hl] = '\0';
	size_t na = 0;
	while (o->allowed_hosts && o->allowed_hosts[na])
		na++;
	w->allowed_host = xcalloc(na + 1, sizeof(char *));
	for (size_t i = 0; i < na; i++)
		w->allowed_host[i] = xstrdup(o->allowed_hosts[i]);
	w->ingest_token = o->ingest_token && *o->ingest_token ? xstrdup(o->ingest_token) : NULL;
	w->admin_token = o->admin_token && *o->admin_token ? xstrdup(o->admin_token) : NULL;
	pthread_mutex_init(&w->an_pool.mu, NULL);
	pthread_mutex_init(&w->ev_pool.mu, NULL);
	pthread_mutex_init(&w->runs_mu, NULL);
	/* one kept connection per worker thread: a request that finds the pool empty opens
	 * a store (schema parse, prepares), which under 50 concurrent clients made the
	 * slowest 1% of cached answers ten times slower than the rest */
	w->an_pool.keep = w->ev_pool.keep = o->threads < 16	    ? 16
					    : o->threads > POOL_MAX ? POOL_MAX
								    : o->threads;
	qcache_init(&w->cache, o->cache_bytes);
	/* the queries are CPU-bound: more than two per core only add memory (64 distinct
	 * /api/campaigns over 40,000 campaigns at once peaked at 1 GB unbounded) */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	w->n_query_slots = cpus < 1 ? 2 : cpus > 16 ? 32 : (int)cpus * 2;
	sem_init(&w->query_slots, 0, (unsigned)w->n_query_slots);
	etl_owner_name(w->owner, sizeof(w->owner));

	/* create the stores when missing, so that the first request finds them */
	if (evstore_open(w->events, STORE_CREATE, &evs, err) != STORE_OK ||
	    anstore_open(w->analytics, STORE_CREATE, &as, err) != STORE_OK) {
		evstore_close(evs);
		web_stop(w);
		return STORE_ERROR;
	}
	pool_ev_put(w, evs, 0);
	pool_an_put(w, as, 0);

	snprintf(threads, sizeof(threads), "%d", o->threads);
	snprintf(timeout, sizeof(timeout), "%d", o->header_timeout_ms);
	/* civetweb's request_timeout_ms bounds a request head (from when a worker takes
	 * the connection), each wait inside mg_read and each stalled write; the body's
	 * own deadline and rate are web_read_body's. An idle keep-alive connection
	 * holds a worker too, so it waits no longer than a new one. */
	const char *opts[] = {"listening_ports", w->listen, "num_threads", threads,
			      "request_timeout_ms", timeout, "enable_keep_alive", "yes",
			      "keep_alive_timeout_ms", timeout,
			      /* a reply goes out in two writes (head, body): without this,
				 Nagle holds the second until the client's delayed ACK, 40 ms */
			      "tcp_nodelay", "1",
			      /* idle connections wait here (defer_accept); the kernel caps it
				 at net.core.somaxconn */
			      "listen_backlog", "4096", NULL};
	struct mg_callbacks cb;
	memset(&cb, 0, sizeof(cb));
	cb.log_message = on_log;
	struct mg_init_data init = {&cb, w, opts};
	struct mg_error_data ed = {&errcode, errtext, sizeof(errtext)};
	mg_init_library(0);
	starting = 1;
	start_msg[0] = '\0';
	w->ctx = mg_start2(&init, &ed);
	starting = 0;
	if (!w->ctx) {
		jerr_set(err, "cannot listen on %s: %s", w->listen,
			 start_msg[0] ? start_msg
			 : errtext[0] ? errtext
				      : "the HTTP server did not start");
		web_stop(w);
		return STORE_ERROR;
	}
	mg_set_request_handler(w->ctx, "/", on_request, w);
	struct mg_server_port ports[4];
	int np = mg_get_server_ports(w->ctx, 4, ports);
	w->port = np > 0 ? ports[0].port : 0;
	if (w->port > 0)
		defer_accept(w->port);
	*out = w;
	return STORE_OK;
}

int web_port(const struct web_server *w)
{
	return w->port;
}

void web_stop(struct web_server *w)
{
	if (!w)
		return;
	if (w->ctx) {
		mg_stop(w->ctx);
		mg_exit_library();
	}
	pool_drain_an(&w->an_pool);
	pool_drain_ev(&w->ev_pool);
	pthread_mutex_destroy(&w->runs_mu);
	qcache_release(&w->cache);
	if (w->n_query_slots)
		sem_destroy(&w->query_slots);
	free(w->listen);
	free(w->listen_host);
	for (size_t i = 0; w->allowed_host && w->allowed_host[i]; i++)
		free(w->allowed_host[i]);
	free(w->allowed_host);
	free(w->events);
	free(w->analytics);
	free(w->ingest_token);
	free(w->admin_token);
	free(w);
}
