/*
 * web.h - `jobads serve`: the HTTP server (civetweb) with the JSON API, HTTP
 * ingest, /metrics and the dashboard. The server knows the store interfaces
 * and the core, never a backend.
 *
 * The pure parts - query parameters and request bodies - are exposed here so
 * that unit tests and fuzz targets reach them without a socket.
 */
#ifndef JOBADS_WEB_H
#define JOBADS_WEB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "jobads/compare.h"
#include "jobads/etl.h"
#include "jobads/event.h"
#include "jobads/store.h"
#include "jobads/util.h"

#define WEB_DEFAULT_LISTEN    "127.0.0.1:8080"
#define WEB_DEFAULT_MAX_BODY  (8u << 20) /* bytes in one POST /api/events */
#define WEB_MAX_ALLOWED_HOSTS 32

struct web_opts {
	const char *listen;		   /* HOST:PORT; port 0 picks a free one */
	const char *events, *analytics;	   /* store URLs */
	const char *ingest_token;	   /* NULL: POST /api/events needs no token */
	const char *admin_token;	   /* NULL: POST /api/runs is disabled (403) */
	size_t max_body;		   /* bytes; larger bodies get 413 */
	int threads;			   /* worker threads (one per open connection) */
	int header_timeout_ms;		   /* see web_opts_init */
	int request_timeout_ms;		   /* a body must arrive whole within this */
	size_t min_body_rate;		   /* bytes/s a body must average after 1 s */
	const char *const *allowed_hosts;  /* names a proxy may send as Host (NULL-ended) */
	size_t chunk;			   /* ETL chunk for POST /api/runs */
	size_t cache_bytes;		   /* answers kept for repeated queries (0: none) */
	const volatile sig_atomic_t *stop; /* set to stop a run in flight between chunks */
};

/*
 * Defaults. header_timeout_ms bounds how long a connection may hold a worker
 * without a whole request head: a new connection's headers, an idle keep-alive
 * connection, and also any one stall of a reply's writes (civetweb has one
 * timeout for all three). Short, because every connection holds one of the
 * `threads` workers while it waits.
 */
void web_opts_init(struct web_opts *o);

struct web_server;

/*
 * Start listening and serving in civetweb's worker threads. Returns J_OK
 * with *out (stop with web_stop), or J_ERROR with a reason (port in use,
 * bad address, a store that cannot be opened).
 */
int web_start(const struct web_opts *o, struct web_server **out, struct jerr *err);
/* The port actually bound (useful with port 0). */
int web_port(const struct web_server *w);
/* Stop accepting, finish the requests in flight, free everything. */
void web_stop(struct web_server *w);

/* Count an ETL run done in this process (the in-server schedule) in /metrics. */
void web_note_run(struct web_server *w, const char *trigger, const char *state,
		  const struct etl_result *res);

/* ---- query parameters (src/web/params.c) ---- */

enum api_interval { API_HOUR, API_DAY };
enum api_format { API_JSON, API_CSV };

/* Parameters a route accepts; any other is a 400 that names it. */
enum {
	AP_RANGE = 1u << 0,    /* from, to */
	AP_FILTERS = 1u << 1,  /* campaign_id, publisher_id, industry, device */
	AP_INTERVAL = 1u << 2, /* interval=hour|day */
	AP_METRIC = 1u << 3,   /* metric=clicks|... */
	AP_LIMIT = 1u << 4,    /* limit=1..1000 */
	AP_PAGE = 1u << 5,     /* limit, offset, sort=[-]FIELD (grouped routes) */
	AP_FORMAT = 1u << 6,   /* format=json|csv (the routes that answer rows) */
	AP_COMPARE = 1u << 7,  /* compare=previous|year */
	AP_TZ = 1u << 8,       /* tz=ZONE (the time routes: web/zone.c) */
};

#define API_PAGE_DEFAULT 100  /* rows of a grouped route when no limit is given */
#define API_PAGE_MAX	 1000 /* the most rows one page may have */
#define API_OFFSET_MAX	 100000000

/* Fields a grouped route may be sorted by, after the metrics (api_metric_names). */
enum api_sort_key {
	API_SORT_CAMPAIGN = 100,
	API_SORT_PUBLISHER_ID,
	API_SORT_PUBLISHER_NAME,
	API_SORT_INDUSTRY,
	API_SORT_DEVICE,
};

struct tz;

struct api_params {
	struct an_filter f; /* industry and device point into the buffers below */
	char industry[128], device[64];
	enum api_interval interval;
	int metric; /* index into api_metric_names, -1: none given */
	int limit;  /* 0: not given */
	int64_t offset;
	int sort;      /* index into api_metric_names, an api_sort_key, or -1: not given */
	int sort_desc; /* "-FIELD" */
	enum api_format format;
	enum kpi_compare compare; /* KPI_COMPARE_NONE: not asked */
	struct an_filter prev;	  /* with compare: f over the earlier range (kpi_compare_range) */
	char tz[64];		  /* tz=: an IANA zone name as given, "" when none */
	/* set by the route from tz: the zone opened, NULL when none or the store's own */
	const struct tz *zone;
	char store_zone[64]; /* the analytics store's zone, for zone's messages */
};

/* Metric names /api/timeseries accepts, NULL-terminated. */
extern const char *const api_metric_names[];

/*
 * Parse a raw (percent-encoded) query string of n bytes, accepting the
 * parameters in `allowed`. Times are read by time_arg_parse against now_ms.
 * Returns 0, or -1 with "NAME: reason" in why (a 400 for the client).
 */
int api_params_parse(const char *qs, size_t n, unsigned allowed, int64_t now_ms,
		     struct api_params *p, char *why, size_t whylen);

/* ---- who may ask (src/web/params.c) ---- */

/*
 * Host header check against DNS rebinding: 1 when host (the header's value)
 * names this server: an IP address literal, a loopback name, listen_host, or
 * one of allowed (NULL-terminated, case-insensitive, matched without the port).
 * A rebinding attack needs a name the attacker controls, so IP literals pass.
 */
int web_host_allowed(const char *host, const char *listen_host, const char *const *allowed);

/*
 * Origin header check against cross-site requests: 1 when origin is
 * "http(s)://AUTHORITY" with AUTHORITY equal to the request's host (same
 * origin, default ports normalised) or with a host in allowed (a proxy's public
 * name). "null" and anything malformed are refused.
 */
int web_origin_allowed(const char *origin, const char *host, const char *const *allowed);

/* 1 when a POST body's Content-Type is JSON or NDJSON (parameters such as charset allowed). */
int web_body_type_ok(const char *content_type);

/* ---- request bodies of POST /api/events (src/web/body.c) ---- */

/* What body_decode returns; an event callback returns BODY_DONE to go on, BODY_STOPPED to stop. */
enum { BODY_UNREADABLE = -1, BODY_DONE = 0, BODY_STOPPED = 1 };

/* Called for each valid event (valid during the call) and each rejected record. */
typedef int (*body_event_fn)(void *arg, long index, const struct event *ev);
typedef void (*body_reject_fn)(void *arg, long index, long line, const char *why);

/*
 * Decode a body: a JSON array of flat objects, or NDJSON (one object per line).
 * Each record goes through the same decoder and ev_builder rules as `ingest`.
 * Record indexes count from 0; line is the NDJSON line (0 for an array).
 * Returns BODY_DONE when the body's structure was readable (records may still
 * have been rejected one by one), BODY_UNREADABLE with the reason in why when it
 * was not (a 400), or BODY_STOPPED when an event callback stopped it.
 */
int body_decode(const char *body, size_t n, int64_t now_ms, body_event_fn on_event,
		body_reject_fn on_reject, void *arg, char *why, size_t whylen);

/* 1 when the n bytes of a equal the NUL-terminated secret, in time independent of a. */
int web_token_equal(const char *a, size_t n, const char *secret);

#endif
