/*
 * store.c - URL dispatch to the backends. Adding a backend is one row in each
 * table below and one file implementing the ops (docs/architecture.md).
 */
#include "jobads/store.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jobads/banned.h"

static const struct evstore_ops *const ev_backends[] = {
    &evstore_sqlite_ops,
#ifdef JOBADS_HAVE_MYSQL
    &evstore_mysql_ops,
#endif
#ifdef JOBADS_HAVE_CASSANDRA
    &evstore_cassandra_ops,
#endif
};

static const struct anstore_ops *const an_backends[] = {
    &anstore_sqlite_ops,
#ifdef JOBADS_HAVE_MYSQL
    &anstore_mysql_ops,
#endif
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

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* url for a message: "scheme://user:PASSWORD@host" loses its password. */
static const char *redact(const char *url, char *buf, size_t len)
{
	const char *auth = strstr(url, "://");
	if (!auth)
		return url;
	auth += 3;
	const char *end = auth + strcspn(auth, "/?");
	const char *at = NULL, *colon;
	for (const char *c = auth; c < end; c++)
		if (*c == '@')
			at = c;
	if (!at || !(colon = memchr(auth, ':', (size_t)(at - auth))))
		return url;
	snprintf(buf, len, "%.*s:***%s", (int)(colon - url), url, at);
	return buf;
}

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

int evstore_open(const char *url, enum store_mode mode, struct evstore **out, struct jerr *err)
{
	char scheme[32];
	const char *rest;
	split_url(url, scheme, sizeof(scheme), &rest);
	for (size_t i = 0; i < N_ELEMS(ev_backends); i++)
		if (strcmp(ev_backends[i]->scheme, scheme) == 0)
			return ev_backends[i]->open(rest, mode, out, err);
	char shown[512];
	jerr_set(err, "%s: unknown event store scheme '%s' (this build has: " BACKENDS ")",
		 redact(url, shown, sizeof(shown)), scheme);
	return STORE_ERROR;
}

void evstore_close(struct evstore *s)
{
	if (s)
		s->ops->close(s);
}

int anstore_open(const char *url, enum store_mode mode, struct anstore **out, struct jerr *err)
{
	char scheme[32];
	const char *rest;
	split_url(url, scheme, sizeof(scheme), &rest);
	for (size_t i = 0; i < N_ELEMS(an_backends); i++)
		if (strcmp(an_backends[i]->scheme, scheme) == 0)
			return an_backends[i]->open(rest, mode, out, err);
	char shown[512];
	jerr_set(err, "%s: unknown analytics store scheme '%s' (this build has: " BACKENDS ")",
		 redact(url, shown, sizeof(shown)), scheme);
	return STORE_ERROR;
}

void anstore_close(struct anstore *s)
{
	if (s)
		s->ops->close(s);
}

void an_filter_all(struct an_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->from_s = INT64_MIN;
	f->to_s = INT64_MAX;
}
