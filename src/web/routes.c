/*
 * routes.c - every route of `jobads serve` in one table: its path, its name in
 * /metrics, and its handler per method. Dispatch, the 405 that says which
 * methods a route takes, and the 404 all follow from the table, so a new route
 * is one row.
 */
#include <string.h>

#include "internal.h"

#include "jobads/banned.h"

static int asset(struct req *r)
{
	return web_asset(r, r->ri->local_uri ? r->ri->local_uri : "/");
}

/* A cross-site form or text/plain POST needs no preflight; JSON does: only JSON is taken. */
static int events_post(struct req *r)
{
	if (!web_body_type_ok(mg_get_header(r->c, "Content-Type"))) {
		mg_disable_keep_alive(r->c);
		return reply_error(r, 415,
				   "Content-Type: want application/json or "
				   "application/x-ndjson");
	}
	return api_events_post(r);
}

static const struct route {
	const char *path; /* the whole path, or with prefix its start */
	int prefix;
	enum route_id id;
	const char *name;	   /* the route label in /metrics: the first row of each id */
	int json;		   /* errors as JSON (the API) or as text (the dashboard's files) */
	int (*get)(struct req *r); /* GET and HEAD */
	int (*post)(struct req *r);
	int (*put)(struct req *r);
} routes[] = {
    {"/", 0, R_DASHBOARD, "/", 0, asset, NULL, NULL},
    {"/index.html", 0, R_DASHBOARD, "/", 0, asset, NULL, NULL},
    {"/assets/", 1, R_ASSET, "/assets", 0, asset, NULL, NULL},
    {"/api/kpis", 0, R_KPIS, "/api/kpis", 1, api_kpis, NULL, NULL},
    {"/api/campaigns", 0, R_CAMPAIGNS, "/api/campaigns", 1, api_grouped, NULL, NULL},
    {"/api/publishers", 0, R_PUBLISHERS, "/api/publishers", 1, api_grouped, NULL, NULL},
    {"/api/industries", 0, R_INDUSTRIES, "/api/industries", 1, api_grouped, NULL, NULL},
    {"/api/devices", 0, R_DEVICES, "/api/devices", 1, api_grouped, NULL, NULL},
    {"/api/heatmap", 0, R_HEATMAP, "/api/heatmap", 1, api_heatmap, NULL, NULL},
    {"/api/timeseries", 0, R_TIMESERIES, "/api/timeseries", 1, api_timeseries, NULL, NULL},
    {"/api/runs", 0, R_RUNS, "/api/runs", 1, api_runs_get, api_runs_post, NULL},
    {"/api/health", 0, R_HEALTH, "/api/health", 1, api_health, NULL, NULL},
    {"/api/campaigns/", 1, R_CAMPAIGN, "/api/campaigns/ID", 1, api_campaign_get, NULL,
     api_campaign_put},
    {"/api/pacing", 0, R_PACING, "/api/pacing", 1, api_pacing, NULL, NULL},
    {"/api/events", 0, R_EVENTS, "/api/events", 1, NULL, events_post, NULL},
    {"/metrics", 0, R_METRICS, "/metrics", 1, web_metrics, NULL, NULL},
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

const char *web_route_name(enum route_id id)
{
	for (size_t i = 0; i < N_ROUTES; i++)
		if (routes[i].id == id)
			return routes[i].name;
	return "other";
}

static int method_is(struct req *r, const char *m)
{
	return strcmp(r->ri->request_method, m) == 0;
}

/* The reply to a method the route does not take, naming those it does. */
static int not_allowed(struct req *r, const struct route *rt)
{
	if (rt->put) /* only /api/campaigns/ID */
		return reply_str(
		    r, 405, "application/json",
		    "{\"error\":\"method not allowed: use GET or PUT\",\"status\":405}",
		    "Allow: GET, HEAD, PUT\r\n");
	const char *allow = rt->get && rt->post ? "Allow: GET, HEAD, POST\r\n"
			    : rt->get		? "Allow: GET, HEAD\r\n"
						: "Allow: POST\r\n";
	if (!rt->json)
		return reply_str(r, 405, "text/plain", "method not allowed\n", allow);
	return reply_str(r, 405, "application/json",
			 rt->get && rt->post
			     ? "{\"error\":\"method not allowed: use GET or POST\",\"status\":405}"
			 : rt->get ? "{\"error\":\"method not allowed: use GET\",\"status\":405}"
				   : "{\"error\":\"method not allowed: use POST\",\"status\":405}",
			 allow);
}

int web_dispatch(struct req *r)
{
	const char *path = r->ri->local_uri ? r->ri->local_uri : "/";
	for (size_t i = 0; i < N_ROUTES; i++) {
		const struct route *rt = &routes[i];
		if (rt->prefix ? strncmp(path, rt->path, strlen(rt->path)) != 0
			       : strcmp(path, rt->path) != 0)
			continue;
		r->route = rt->id;
		if (rt->get && (method_is(r, "GET") || method_is(r, "HEAD")))
			return rt->get(r);
		if (rt->post && method_is(r, "POST"))
			return rt->post(r);
		if (rt->put && method_is(r, "PUT"))
			return rt->put(r);
		return not_allowed(r, rt);
	}
	r->route = R_OTHER;
	if (strncmp(path, "/api/", 5) == 0)
		return reply_error(r, 404, "no such route: %.100s", path);
	return reply_str(r, 404, "text/plain", "not found\n", NULL);
}
