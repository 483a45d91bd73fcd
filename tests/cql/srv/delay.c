/*
 * delay.c - the faults of the test server (--delay-*), to show what a slow or
 * timed-out write does to the event store.
 *
 * A request whose CQL text contains delay_match (for EXECUTE the prepared
 * text, for BATCH its first statement's) is held delay_ms before it is
 * applied, for the first delay_count such requests. Mode "answer": applied
 * and answered late, as a slow replica or a long GC pause does. Mode
 * "timeout": answered at once with a write timeout (0x1100) and applied late,
 * its answer dropped, as a hinted handoff lands a write the client was told
 * had failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv.h"

#include "jobads/banned.h"

const char *delay_match;
int delay_ms, delay_count = 1, delay_timeout;

struct held {
	struct client *c;
	uint8_t *frame;
	size_t len;
	int64_t due;
	int silent;
};
static struct held *held;
static size_t nheld;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The CQL text a request runs, or NULL. */
static const char *frame_text(const struct cql_frame *f, size_t *n)
{
	struct cql_rd r;
	cqlr_init(&r, f->body, f->len);
	if (f->opcode == CQL_OP_QUERY)
		return cqlr_lstring(&r, n);
	if (f->opcode == CQL_OP_BATCH) {
		cqlr_u8(&r);
		if (cqlr_u16(&r) == 0)
			return NULL;
		if (cqlr_u8(&r) == 0)
			return cqlr_lstring(&r, n);
	} else if (f->opcode != CQL_OP_EXECUTE) {
		return NULL;
	}
	size_t idn;
	const uint8_t *id = cqlr_sbytes(&r, &idn);
	struct prepared *pr = id ? find_prepared(id, idn) : NULL;
	if (!pr)
		return NULL;
	*n = strlen(pr->text);
	return pr->text;
}

static int text_contains(const char *q, size_t n, const char *what)
{
	size_t w = strlen(what);
	for (size_t i = 0; i + w <= n; i++)
		if (memcmp(q + i, what, w) == 0)
			return 1;
	return 0;
}

int hold_frame(struct client *c, const struct cql_frame *f)
{
	size_t n = 0;
	const char *q;
	if (!delay_match || delay_count <= 0 || !(q = frame_text(f, &n)) ||
	    !text_contains(q, n, delay_match))
		return 0;
	delay_count--;
	held = xrealloc(held, (nheld + 1) * sizeof(*held));
	struct held *h = &held[nheld++];
	h->c = c;
	h->len = CQL_HEADER_LEN + f->len;
	h->frame = xmalloc(h->len);
	memcpy(h->frame, f->body - CQL_HEADER_LEN, h->len);
	h->due = mono_ms() + delay_ms;
	h->silent = delay_timeout;
	if (h->silent) {
		/* lands whether or not the client is still there, as a hint does: on a
		 * detached copy of its session state, whose answers go nowhere */
		struct client *d = xcalloc(1, sizeof(*d));
		d->fd = -1;
		d->started = c->started;
		d->authed = c->authed;
		memcpy(d->ks, c->ks, sizeof(d->ks));
		h->c = d;
	}
	fprintf(stderr, "cqlsrv: holding a request for %d ms (%.60s)\n", delay_ms, q);
	if (delay_timeout) {
		struct err e;
		memset(&e, 0, sizeof(e));
		fail(&e, CQL_E_WRITE_TIMEOUT,
		     "Operation timed out - received only 0 responses (the write lands later)");
		respond_error(c, f->stream, &e);
	}
	return 1;
}

int run_held(void)
{
	int64_t now = mono_ms(), next = 1000;
	size_t k = 0;
	for (size_t i = 0; i < nheld; i++) {
		struct held *h = &held[i];
		if (h->due > now) {
			if (h->due - now < next)
				next = h->due - now;
			held[k++] = *h;
			continue;
		}
		struct cql_frame f;
		if (h->c && cql_frame_parse(h->frame, h->len, &f) > 0)
			handle_frame(h->c, &f);
		if (h->silent) { /* the client was told it failed: the answer goes nowhere */
			cqlb_release(&h->c->in);
			cqlb_release(&h->c->out);
			free(h->c);
		}
		free(h->frame);
	}
	nheld = k;
	return (int)next;
}

void drop_held_requests(struct client *c)
{
	for (size_t i = 0; i < nheld; i++)
		if (held[i].c == c && !held[i].silent)
			held[i].c = NULL;
}
