/*
 * internal.h - what the web server's files share: the request being served,
 * reply helpers, the store connection pools and the metrics counters.
 */
#ifndef JOBADS_WEB_INTERNAL_H
#define JOBADS_WEB_INTERNAL_H

#include <civetweb.h>
#include <jansson.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "jobads/tz.h"
#include "jobads/web.h"

/* Routes, for dispatch and for the metrics' route label. */
enum route_id {
	R_DASHBOARD,
	R_ASSET,
	R_KPIS,
	R_CAMPAIGNS,
	R_PUBLISHERS,
	R_INDUSTRIES,
	R_DEVICES,
	R_HEATMAP,
	R_TIMESERIES,
	R_RUNS,
	R_HEALTH,
	R_EVENTS,
	R_METRICS,
	R_CAMPAIGN, /* /api/campaigns/ID: one campaign's attributes */
	R_PACING,
	R_OTHER,
	R__COUNT
};

/*
 * A pool of open store connections: SQLite connections are not shared between
 * threads at once, so each request borrows one and gives it back. Connections
 * beyond `keep` idle ones are closed.
 */
#define POOL_MAX 256 /* most idle connections a pool keeps (keep is clamped to it) */
struct store_pool {
	pthread_mutex_t mu;
	void *idle[POOL_MAX];
	int n, keep;
};

/* Answers of the read routes by query and data version (cache.c). */
#define QCACHE_MAX 256
struct qentry {
	char *key, *text;
	size_t len;
	int64_t v1, v2; /* cursor, newest etl_runs id */
	uint64_t used;
};
#define QCACHE_FLIGHTS 64
struct qflight {
	char *key; /* NULL: free */
	int64_t v1, v2;
};
struct qcache {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a claimed query finished */
	struct qflight flight[QCACHE_FLIGHTS];
	struct qentry e[QCACHE_MAX];
	int n;
	size_t bytes, max_bytes; /* 0: off */
	uint64_t clock, hits, misses;
};
void qcache_init(struct qcache *c, size_t max_bytes);
void qcache_release(struct qcache *c);
/* A copy of the text kept for key at version (v1, v2), or NULL; the caller frees it. */
char *qcache_get(struct qcache *c, const char *key, int64_t v1, int64_t v2, size_t *len);
void qcache_put(struct qcache *c, const char *key, int64_t v1, int64_t v2, const char *text,
		size_t len);
/* Drop every entry whose key starts with prefix: answers no one will ask for again. */
void qcache_forget(struct qcache *c, const char *prefix);
/*
 * Before asking the store on a miss: QCACHE_CLAIMED (ask, put, then unclaim),
 * QCACHE_LOOK_AGAIN (another request asked meanwhile: look in the cache; ask
 * when it is still not there) or QCACHE_COMPUTE (just ask).
 */
enum { QCACHE_COMPUTE, QCACHE_CLAIMED, QCACHE_LOOK_AGAIN };
int qcache_claim(struct qcache *c, const char *key, int64_t v1, int64_t v2);
void qcache_unclaim(struct qcache *c, const char *key, int64_t v1, int64_t v2);

struct web_server {
	struct mg_context *ctx;
	struct web_opts o;
	char *listen, *events, *analytics, *ingest_token, *admin_token;
	char *listen_host;   /* the host part of --listen, a name Host may carry */
	char **allowed_host; /* --allowed-host, NULL-terminated */
	int port;
	char owner[160];
	struct store_pool an_pool, ev_pool;
	struct qcache cache;
	struct pacing_cache *pacing; /* the campaigns' hourly spend (pacing.h) */
	/* Store queries computing an answer at once (query_text): each holds its groups
	 * in memory, so the count, not --threads, bounds the server's peak memory. */
	sem_t query_slots;
	int n_query_slots;
	/* metrics */
	atomic_uint_least64_t http[R__COUNT][600];
	atomic_uint_least64_t ev_accepted, ev_duplicate, ev_rejected, ev_batches;
	/* Bumped by every PUT /api/campaigns/ID: a part of the cache's key, as names
	 * are in the answers but change without an ETL run (campaigns.c). */
	atomic_uint_least64_t camp_rev;
	pthread_mutex_t runs_mu; /* the run counters below */
	struct run_count {
		char trigger[16], state[16];
		uint64_t n;
	} run_counts[32];
	int n_run_counts;
};

struct req {
	struct mg_connection *c;
	const struct mg_request_info *ri;
	struct web_server *w;
	int status;
	int64_t now_ms;
	enum route_id route; /* set by web_dispatch */
	int framing_bad;     /* the body's length is not known: never read it */
	int continued;	     /* a 100 Continue went out: the client sends its body */
};

/* Replies; each returns the status sent. */
int reply(struct req *r, int status, const char *ctype, const void *body, size_t n,
	  const char *extra_headers);
int reply_str(struct req *r, int status, const char *ctype, const char *body,
	      const char *extra_headers);
/* Sends the JSON and drops the reference. */
int reply_json(struct req *r, int status, json_t *doc);
int reply_error(struct req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Borrow a connection (opened on demand) and give it back; bad = close it instead. */
int pool_an_get(struct web_server *w, struct anstore **out, struct jerr *err);
void pool_an_put(struct web_server *w, struct anstore *as, int bad);
int pool_ev_get(struct web_server *w, struct evstore **out, struct jerr *err);
void pool_ev_put(struct web_server *w, struct evstore *evs, int bad);
/* Close every idle connection of a pool (at web_stop). */
void pool_drain_an(struct store_pool *p);
void pool_drain_ev(struct store_pool *p);

/*
 * Read the request body into sb (grown as bytes arrive) within the body
 * deadline and minimum rate; 0, or the status already replied with (413 over
 * --max-body, 408 too slow, 400 cut off).
 */
int web_read_body(struct req *r, struct strbuf *sb);

/*
 * After the reply: read and drop what is left of the request body, at most
 * --max-body bytes and for at most DRAIN_MS, so that closing the connection
 * does not reset it while the client is still sending; a client that sends its
 * whole body before reading (most do) would get a broken pipe instead of the
 * reply. Nothing happens where the body was read, or there was none.
 */
void web_drain_body(struct req *r);

/* The bearer token of the request, or NULL; *n its length. */
const char *bearer_token(struct req *r, size_t *n);
/* The admin token guards actions (what names them): 1 when the request has it; else 0,
 * replied 403 when none is configured or 401 when it is missing or wrong (runs.c). */
int web_admin_ok(struct req *r, const char *what);

/* Parse the query string for a route taking the AP_* parameters in allowed; on error, reply 400 and
 * return -1. */
int api_query_params(struct req *r, unsigned allowed, struct api_params *p);
/* api.c: a read route's answer document (its range and filters), and the reply
 * of dim's rows over p into doc as member name (NULL: the rows' members), JSON
 * or CSV as p asks; takes doc. */
json_t *api_doc(const struct api_params *p);
int api_answer(struct req *r, json_t *doc, enum an_dim dim, const struct api_params *p, int metric,
	       const char *name);

/* zone.c: tz= on the time routes. Whether dim depends on the zone; dim's rows
 * over f in zone z (NULL: the store's own, answered by the store), folded from
 * the store's hourly series, or J_ERROR with code 400 where the store's hours
 * are not z's. */
int zone_dependent(enum an_dim dim);
enum jrc zone_query(struct anstore *as, const struct tz *z, const char *store_zone, enum an_dim dim,
		    const struct an_filter *f, an_row_fn fn, void *arg, struct jerr *err);

/* Route handlers (api.c, api_time.c, runs.c, ingest.c, assets.c, metrics.c). */
int api_kpis(struct req *r);
int api_grouped(struct req *r); /* by r->route */
int api_heatmap(struct req *r);
int api_timeseries(struct req *r);
int api_runs_get(struct req *r);
int api_runs_post(struct req *r);
int api_health(struct req *r);
int api_events_post(struct req *r);
int api_campaign_get(struct req *r); /* campaigns.c */
int api_campaign_put(struct req *r);
int api_pacing(struct req *r);
int web_metrics(struct req *r);
int web_asset(struct req *r, const char *path);
/* routes.c: run the request's route (sets r->route); a route's name in /metrics. */
int web_dispatch(struct req *r);
const char *web_route_name(enum route_id id);

void note_run(struct web_server *w, const char *trigger, const char *state,
	      const struct etl_result *res);

#endif
