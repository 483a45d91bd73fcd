/*
 * store.c - URL dispatch to the backends, and the module ABI check of a backend
 * loaded with dlopen. Adding a backend is one row in each table below and one
 * folder implementing the ops (docs/architecture.md). URL helpers: url.c.
 */
#include "jobads/store.h"
#include "jobads/tz.h"

#include <inttypes.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobads/banned.h"

static const struct evstore_ops *const ev_backends[] = {
    &evstore_sqlite_ops,
#ifdef JOBADS_HAVE_CASSANDRA
    &evstore_cassandra_ops,
#endif
};

static const struct anstore_ops *const an_backends[] = {
    &anstore_sqlite_ops,
};

/*
 * Backends built as loadable modules (CMakeLists.txt says why): a scheme, the
 * module's file, and its ops symbols. The module is looked for in
 * $JOBADS_MODULE_DIR, else next to the running binary.
 */
struct module_backend {
	const char *scheme, *file, *ev_sym, *an_sym;
};
static const struct module_backend modules[] = {
#ifdef JOBADS_HAVE_MYSQL
    {"mysql", "jobads-mysql.so", "evstore_mysql_ops", "anstore_mysql_ops"},
#endif
    {NULL, NULL, NULL, NULL},
};

/* What this build can open, for "unknown scheme" messages. */
#ifdef JOBADS_HAVE_CASSANDRA
#define CASSANDRA_ROW ", cassandra (event store only)"
#else
#define CASSANDRA_ROW ""
#endif
#ifdef JOBADS_HAVE_MYSQL
#define BACKENDS "sqlite, mysql" CASSANDRA_ROW
#else
#define BACKENDS "sqlite" CASSANDRA_ROW "; mysql needs a build with libmariadb-dev"
#endif

/* The ops of a module backend for scheme (ev: event store, else analytics), or NULL. */
static const void *module_ops(const char *scheme, int ev, int *known, struct jerr *err)
{
	char dir[4096], path[4200];
	*known = 0;
	for (const struct module_backend *m = modules; m->scheme; m++) {
		if (strcmp(m->scheme, scheme) != 0)
			continue;
		*known = 1;
		const char *env = getenv("JOBADS_MODULE_DIR");
		if (env && *env) {
			snprintf(dir, sizeof(dir), "%s", env);
		} else {
			ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
			dir[n > 0 ? n : 0] = '\0';
			char *slash = strrchr(dir, '/');
			if (slash)
				*slash = '\0';
			else
				snprintf(dir, sizeof(dir), ".");
		}
		snprintf(path, sizeof(path), "%s/%s", dir, m->file);
		/* loaded once per process in effect: dlopen counts, and nothing unloads it */
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			jerr_set(err, "the %s:// backend is a module that could not be loaded: %s",
				 scheme, dlerror());
			return NULL;
		}
		const void *ops = dlsym(h, ev ? m->ev_sym : m->an_sym);
		if (!ops) {
			jerr_set(err, "%s: no symbol %s in it", path, ev ? m->ev_sym : m->an_sym);
			return NULL;
		}
		/* the version is each struct's first member, whatever the rest of its layout */
		int have = ev ? ((const struct evstore_ops *)ops)->version
			      : ((const struct anstore_ops *)ops)->version;
		int want = ev ? EVSTORE_OPS_VERSION : ANSTORE_OPS_VERSION;
		if (have != want) {
			jerr_set(err,
				 "%s: built for %s store ops version %d, this jobads has version "
				 "%d; use the module built with this jobads",
				 path, ev ? "event" : "analytics", have, want);
			return NULL;
		}
		return ops;
	}
	return NULL;
}

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Split "scheme:rest"; a string with no scheme is a path for the sqlite backend. */
static void split_url(const char *url, char *scheme, size_t slen, const char **rest)
{
	const char *colon = strchr(url, ':');
	const char *slash = strchr(url, '/');
	if (!colon || (slash && slash < colon) || colon == url) {
		snprintf(scheme, slen, "sqlite");
		*rest = url;
		return;
	}
	snprintf(scheme, slen, "%.*s", (int)(colon - url), url);
	*rest = colon + 1;
	if (strcmp(scheme, "sqlite") == 0 && strncmp(*rest, "//", 2) == 0)
		*rest += 2; /* sqlite://PATH is accepted too */
}

enum jrc evstore_open(const char *url, enum store_mode mode, struct evstore **out, struct jerr *err)
{
	char scheme[32];
	const char *rest;
	split_url(url, scheme, sizeof(scheme), &rest);
	for (size_t i = 0; i < N_ELEMS(ev_backends); i++)
		if (strcmp(ev_backends[i]->scheme, scheme) == 0)
			return ev_backends[i]->open(rest, mode, out, err);
	char shown[512];
	int known;
	const struct evstore_ops *ops = module_ops(scheme, 1, &known, err);
	if (ops)
		return ops->open(rest, mode, out, err);
	if (known) {
		jerr_prefix(err, "%s", store_url_redact(url, shown, sizeof(shown)));
		return J_ERROR;
	}
	jerr_set(err, "%s: unknown event store scheme '%s' (this build has: " BACKENDS ")",
		 store_url_redact(url, shown, sizeof(shown)), scheme);
	return J_ERROR;
}

enum jrc evstore_behind(struct evstore *s, int64_t cursor, int64_t *n, struct jerr *err)
{
	*n = -1;
	return s->ops->behind ? s->ops->behind(s, cursor, n, err) : J_OK;
}

void evstore_close(struct evstore *s)
{
	if (s)
		s->ops->close(s);
}

enum jrc anstore_open(const char *url, enum store_mode mode, struct anstore **out, struct jerr *err)
{
	char scheme[32];
	const char *rest;
	split_url(url, scheme, sizeof(scheme), &rest);
	for (size_t i = 0; i < N_ELEMS(an_backends); i++)
		if (strcmp(an_backends[i]->scheme, scheme) == 0)
			return an_backends[i]->open(rest, mode, out, err);
	char shown[512];
	int known;
	const struct anstore_ops *ops = module_ops(scheme, 0, &known, err);
	if (ops)
		return ops->open(rest, mode, out, err);
	if (known) {
		jerr_prefix(err, "%s", store_url_redact(url, shown, sizeof(shown)));
		return J_ERROR;
	}
	jerr_set(err, "%s: unknown analytics store scheme '%s' (this build has: " BACKENDS ")",
		 store_url_redact(url, shown, sizeof(shown)), scheme);
	return J_ERROR;
}

void anstore_close(struct anstore *s)
{
	if (s)
		s->ops->close(s);
}

enum jrc store_schema_check(const char *name, const char *what, int version, int known,
			    enum store_mode mode, int *init, struct jerr *err)
{
	*init = 0;
	if (version < 1 && mode == STORE_OPEN_EXISTING) {
		jerr_set(err, "%s: no %s schema here (run 'jobads init')", name, what);
		return J_ERROR;
	}
	if (version > known) {
		jerr_set(err, "%s: schema version %d is newer than this jobads knows (%d)", name,
			 version, known);
		return J_ERROR;
	}
	*init = version < known;
	return J_OK;
}

static int last_run_id(void *arg, const struct etl_run_rec *rec)
{
	*(int64_t *)arg = rec->id;
	return 0;
}

enum jrc anstore_data_version(struct anstore *s, int64_t *cursor, int64_t *run, struct jerr *err)
{
	*cursor = *run = 0;
	int q = s->ops->get_cursor(s, cursor, err);
	if (q == J_OK)
		q = s->ops->runs(s, 1, last_run_id, run, err);
	return q;
}

enum jrc anstore_tz_open(struct anstore *s, struct tz **out, struct jerr *err)
{
	char name[256];
	struct jerr e;
	*out = NULL;
	int r = s->ops->zone(s, name, sizeof(name), err);
	if (r != J_OK)
		return r;
	if (tz_open(name, out, &e) != J_OK) {
		jerr_set(err, "%s: %s", s->name, e.msg);
		return J_ERROR;
	}
	return J_OK;
}

enum jrc store_zone_refuse(const char *name, const char *cur, const char *want, struct jerr *err)
{
	jerr_set(err,
		 "%s: the facts are bucketed by the hours of %s; changing the time zone to %s"
		 " needs a rebuild from the raw events (run 'jobads init --tz %s --rebuild')",
		 name, cur, want, want);
	return J_ERROR;
}

/* --- retention (jobads prune, issue 16) --- */
enum jrc store_retention_refuse(const char *name, int64_t cursor, int64_t kept_upto,
				struct jerr *err)
{
	/* a rebuild killed before its first commit is at cursor 0, behind kept_upto */
	if (cursor <= 0 && kept_upto <= 0)
		jerr_set(err,
			 "%s: the ETL has processed no event yet (cursor 0): nothing may be "
			 "pruned (run 'jobads etl' first)",
			 name);
	else
		jerr_set(err,
			 "%s: a rebuild has not caught up yet (cursor %" PRId64 " behind %" PRId64
			 "): run 'jobads etl' to finish it, then prune",
			 name, cursor, kept_upto);
	return J_ERROR;
}

enum jrc store_zone_pruned(const char *name, int64_t raw_from, struct jerr *err)
{
	char t[40];
	jerr_set(err,
		 "%s: raw events before %s were pruned, so the facts of those hours cannot be "
		 "bucketed again in another time zone",
		 name, ts_format_iso(raw_from * 1000, t, sizeof(t)));
	return J_ERROR;
}

void an_filter_all(struct an_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->from_s = INT64_MIN;
	f->to_s = INT64_MAX;
}

/* The first measure of v that does not fit an int64 column, or NULL. */
const char *store_fact_over(const struct kpi_sums *v)
{
	if (!kpi_int_fits64(v->records))
		return "records";
	if (!kpi_int_fits64(v->impressions))
		return "impressions";
	if (!kpi_int_fits64(v->clicks))
		return "clicks";
	if (!kpi_int_fits64(v->applies))
		return "applies";
	if (!kpi_int_fits64(v->cost_micros))
		return "cost_micros";
	if (!kpi_int_fits64(v->quality_sum))
		return "quality_sum";
	return NULL;
}

/*
 * A fact row whose measure would pass int64: refused, never wrapped or rounded.
 * The whole chunk is rolled back and the cursor stays, so the run fails here
 * until the events behind it are dealt with; every later run says the same.
 */
enum jrc store_fact_refuse(const char *name, const struct agg *ag, const struct agg_group *g,
			   const char *measure, int64_t cursor, struct jerr *err)
{
	char grain[512];
	jerr_set(err,
		 "%s: fact_hourly: %s would pass 9223372036854775807 (int64) in %s; nothing "
		 "applied, the cursor stays at %lld",
		 name, measure, agg_key_name(ag, &g->key, grain, sizeof(grain)), (long long)cursor);
	return J_ERROR;
}
