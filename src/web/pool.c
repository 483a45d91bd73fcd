/*
 * pool.c - the store connections of the web server: a request borrows one
 * (opened on demand) and gives it back, since a SQLite connection must not be
 * used by two threads at once; a connection that failed is closed instead.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#include "jobads/banned.h"

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
		return J_OK;
	int r = anstore_open(w->analytics, STORE_OPEN_EXISTING, out, err);
	if (r != J_OK)
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
		return J_OK;
	int r = evstore_open(w->events, STORE_OPEN_EXISTING, out, err);
	if (r != J_OK)
		*out = NULL;
	return r;
}

void pool_ev_put(struct web_server *w, struct evstore *evs, int bad)
{
	if (evs && (bad || !pool_give(&w->ev_pool, evs)))
		evstore_close(evs);
}

void pool_drain_an(struct store_pool *p)
{
	void *s;
	while ((s = pool_take(p)) != NULL)
		anstore_close(s);
	pthread_mutex_destroy(&p->mu);
}

void pool_drain_ev(struct store_pool *p)
{
	void *s;
	while ((s = pool_take(p)) != NULL)
		evstore_close(s);
	pthread_mutex_destroy(&p->mu);
}
