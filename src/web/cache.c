/*
 * cache.c - the read routes' answer cache. fact_hourly changes only when an ETL
 * run applies a chunk, and every apply moves the cursor (a rebuild also starts a
 * new etl_runs row), so (cursor, newest run id) is a version of everything the
 * read routes show. An answer is kept under its query - dimension, hour-aligned
 * range, filters - and that version, and served again while the version holds.
 * Many people watching the same dashboard then cost one query per ETL run.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "jobads/banned.h"

void qcache_init(struct qcache *c, size_t max_bytes)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->max_bytes = max_bytes;
}

void qcache_release(struct qcache *c)
{
	for (int i = 0; i < c->n; i++) {
		free(c->e[i].key);
		free(c->e[i].text);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
}

char *qcache_get(struct qcache *c, const char *key, int64_t v1, int64_t v2, size_t *len)
{
	char *out = NULL;
	if (c->max_bytes == 0)
		return NULL;
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < c->n; i++) {
		struct qentry *e = &c->e[i];
		if (e->v1 == v1 && e->v2 == v2 && strcmp(e->key, key) == 0) {
			out = xmalloc(e->len + 1);
			memcpy(out, e->text, e->len + 1);
			*len = e->len;
			e->used = ++c->clock;
			c->hits++;
			break;
		}
	}
	if (!out)
		c->misses++;
	pthread_mutex_unlock(&c->mu);
	return out;
}

static void drop(struct qcache *c, int i)
{
	c->bytes -= c->e[i].len;
	free(c->e[i].key);
	free(c->e[i].text);
	c->e[i] = c->e[--c->n];
}

void qcache_put(struct qcache *c, const char *key, int64_t v1, int64_t v2, const char *text,
		size_t len)
{
	if (c->max_bytes == 0 || len > c->max_bytes / 4)
		return;
	pthread_mutex_lock(&c->mu);
	/* entries of older versions will not be asked for again */
	for (int i = 0; i < c->n;)
		if (c->e[i].v1 != v1 || c->e[i].v2 != v2 || strcmp(c->e[i].key, key) == 0)
			drop(c, i);
		else
			i++;
	while (c->n > 0 && (c->n == QCACHE_MAX || c->bytes + len > c->max_bytes)) {
		int lru = 0;
		for (int i = 1; i < c->n; i++)
			if (c->e[i].used < c->e[lru].used)
				lru = i;
		drop(c, lru);
	}
	struct qentry *e = &c->e[c->n++];
	e->key = xstrdup(key);
	e->text = xmalloc(len + 1);
	memcpy(e->text, text, len);
	e->text[len] = '\0';
	e->len = len;
	e->v1 = v1;
	e->v2 = v2;
	e->used = ++c->clock;
	c->bytes += len;
	pthread_mutex_unlock(&c->mu);
}

void qcache_forget(struct qcache *c, const char *prefix)
{
	size_t n = strlen(prefix);
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < c->n;)
		if (strncmp(c->e[i].key, prefix, n) == 0)
			drop(c, i);
		else
			i++;
	pthread_mutex_unlock(&c->mu);
}

/*
 * One query at a time per key and version: when 50 dashboards ask the same
 * expensive question at once (the cache is empty after every ETL run), one of
 * them asks the store and the others wait for its answer instead of each
 * running the query and sharing the cores 50 ways.
 */
int qcache_claim(struct qcache *c, const char *key, int64_t v1, int64_t v2)
{
	if (c->max_bytes == 0)
		return QCACHE_COMPUTE;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		int i, free_slot = -1;
		for (i = 0; i < QCACHE_FLIGHTS; i++) {
			struct qflight *f = &c->flight[i];
			if (!f->key) {
				if (free_slot < 0)
					free_slot = i;
			} else if (f->v1 == v1 && f->v2 == v2 && strcmp(f->key, key) == 0) {
				break;
			}
		}
		if (i < QCACHE_FLIGHTS) { /* someone is asking: wait, then look in the cache */
			pthread_cond_wait(&c->cv, &c->mu);
			int still = 0;
			for (int k = 0; k < QCACHE_FLIGHTS; k++)
				if (c->flight[k].key && c->flight[k].v1 == v1 &&
				    c->flight[k].v2 == v2 && strcmp(c->flight[k].key, key) == 0)
					still = 1;
			if (still)
				continue;
			pthread_mutex_unlock(&c->mu);
			return QCACHE_LOOK_AGAIN;
		}
		if (free_slot < 0) { /* too many different questions at once: just ask */
			pthread_mutex_unlock(&c->mu);
			return QCACHE_COMPUTE;
		}
		c->flight[free_slot].key = xstrdup(key);
		c->flight[free_slot].v1 = v1;
		c->flight[free_slot].v2 = v2;
		pthread_mutex_unlock(&c->mu);
		return QCACHE_CLAIMED;
	}
}

void qcache_unclaim(struct qcache *c, const char *key, int64_t v1, int64_t v2)
{
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < QCACHE_FLIGHTS; i++) {
		struct qflight *f = &c->flight[i];
		if (f->key && f->v1 == v1 && f->v2 == v2 && strcmp(f->key, key) == 0) {
			free(f->key);
			f->key = NULL;
			break;
		}
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}
