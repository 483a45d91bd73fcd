/*
 * metrics.c - GET /metrics in Prometheus' text format: events ingested, the
 * cursor and how far behind it is (or that the store cannot tell), ETL runs by
 * trigger and state, requests by route and status. Counters are atomics the
 * routes bump; run counts are kept under a mutex (note_run).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "jobads/pacing.h"

#include "jobads/banned.h"

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

/*
 * Per budgeted campaign (pacing.h): budget, spend, expected and projected spend
 * of its current period, in the cost's units, and its state as a 1-valued
 * series, for alerting rules (docs/operations.md). Labelled by campaign_id
 * only: a name can change, and a series should not.
 */
static void pacing_metrics(struct web_server *w, int64_t now_s, struct strbuf *sb)
{
	struct anstore *as = NULL;
	struct pacing *ps = NULL;
	struct campaign *cs = NULL;
	struct jerr err;
	size_t n = 0;
	static const struct {
		const char *name, *help;
		size_t off;
	} g[] = {
	    {"jobads_campaign_budget", "The budget of the campaign's current period.",
	     offsetof(struct pacing, budget_micros)},
	    {"jobads_campaign_spend", "Spend so far in the campaign's current period.",
	     offsetof(struct pacing, spent_micros)},
	    {"jobads_campaign_expected_spend",
	     "Spend expected by now, following the campaign's hour-of-week shape.",
	     offsetof(struct pacing, expected_micros)},
	    {"jobads_campaign_projected_spend",
	     "Spend projected to the end of the period at the current rate.",
	     offsetof(struct pacing, projected_micros)},
	};
	int q = pool_an_get(w, &as, &err);
	if (q == J_OK)
		q = pacing_read(as, now_s, w->pacing, &ps, &cs, &n, &err);
	pool_an_put(w, as, q != J_OK);
	if (q != J_OK || n == 0) {
		free(ps);
		free(cs);
		return;
	}
	for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		strbuf_addf(sb, "# HELP %s %s\n# TYPE %s gauge\n", g[k].name, g[k].help, g[k].name);
		for (size_t i = 0; i < n; i++) {
			int64_t v;
			if (g[k].off == offsetof(struct pacing, projected_micros) &&
			    !ps[i].has_projected)
				continue;
			memcpy(&v, (const char *)&ps[i] + g[k].off, sizeof(v));
			strbuf_addf(sb, "%s{campaign_id=\"%d\"} %" PRId64 ".%06d\n", g[k].name,
				    (int)ps[i].id, v / 1000000, (int)(v % 1000000));
		}
	}
	strbuf_addf(sb, "# HELP jobads_campaign_pacing_state The campaign's pacing state"
			" (on track, over-pacing, under-pacing, exhausted, inactive).\n"
			"# TYPE jobads_campaign_pacing_state gauge\n");
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "jobads_campaign_pacing_state{campaign_id=\"%d\",state=\"%s\"} 1\n",
			    (int)ps[i].id, pacing_state_name(ps[i].state));
	free(ps);
	free(cs);
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
	if (pool_an_get(w, &as, &err) == J_OK) {
		an_ok = as->ops->get_cursor(as, &cursor, &err) == J_OK &&
			as->ops->runs(as, 1, copy_run, &last, &err) == J_OK;
		pool_an_put(w, as, !an_ok);
	}
	if (pool_ev_get(w, &evs, &err) == J_OK) {
		ev_ok = evs->ops->stats(evs, &max_seq, NULL, &err) == J_OK &&
			(!an_ok || evstore_behind(evs, cursor, &behind, &err) == J_OK);
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
	if (an_ok)
		pacing_metrics(w, r->now_ms / 1000, &sb);
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
	int entries = w->cache.n;
	size_t bytes = w->cache.bytes;
	pthread_mutex_unlock(&w->cache.mu);
	strbuf_addf(
	    &sb,
	    "# HELP jobads_query_cache_total Read-route answers served from the cache "
	    "(hit) or the store (miss).\n"
	    "# TYPE jobads_query_cache_total counter\n"
	    "jobads_query_cache_total{result=\"hit\"} %" PRIu64 "\n"
	    "jobads_query_cache_total{result=\"miss\"} %" PRIu64 "\n"
	    "# HELP jobads_query_cache_entries Answers kept in the cache.\n"
	    "# TYPE jobads_query_cache_entries gauge\n"
	    "jobads_query_cache_entries %d\n"
	    "# HELP jobads_query_cache_bytes Bytes of the answers kept (at most --cache-mb).\n"
	    "# TYPE jobads_query_cache_bytes gauge\n"
	    "jobads_query_cache_bytes %zu\n",
	    hits, misses, entries, bytes);
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
