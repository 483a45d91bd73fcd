/*
 * server.c - `jobads serve`'s HTTP server on civetweb: start and stop, and the
 * checks before any route. The routes are in routes.c, the replies in reply.c,
 * the store connection pools in pool.c, /metrics in metrics.c.
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
#include "jobads/pacing.h"

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
		r->framing_bad = 1;
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
	struct req r = {c, mg_get_request_info(c), cbdata, 0, time_now_ms(), R_OTHER, 0, 0};
	int status = guard(&r);
	if (status == 0)
		status = web_dispatch(&r); /* routes.c */
	web_drain_body(&r);		   /* reply.c */
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
	w->pacing = pacing_cache_new();
	/* the queries are CPU-bound: more than two per core only add memory (64 distinct
	 * /api/campaigns over 40,000 campaigns at once peaked at 1 GB unbounded) */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	w->n_query_slots = cpus < 1 ? 2 : cpus > 16 ? 32 : (int)cpus * 2;
	sem_init(&w->query_slots, 0, (unsigned)w->n_query_slots);
	etl_owner_name(w->owner, sizeof(w->owner));

	/* create the stores when missing, so that the first request finds them */
	if (evstore_open(w->events, STORE_CREATE, &evs, err) != J_OK ||
	    anstore_open(w->analytics, STORE_CREATE, &as, err) != J_OK) {
		evstore_close(evs);
		web_stop(w);
		return J_ERROR;
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
		return J_ERROR;
	}
	mg_set_request_handler(w->ctx, "/", on_request, w);
	struct mg_server_port ports[4];
	int np = mg_get_server_ports(w->ctx, 4, ports);
	w->port = np > 0 ? ports[0].port : 0;
	if (w->port > 0)
		defer_accept(w->port);
	*out = w;
	return J_OK;
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
	pacing_cache_free(w->pacing);
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
