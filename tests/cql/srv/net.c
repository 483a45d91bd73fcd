/*
 * net.c - the test server's side of the native protocol v4: a client's
 * frames (STARTUP, the SASL PLAIN exchange of --auth, OPTIONS, QUERY,
 * PREPARE, EXECUTE, BATCH, REGISTER; stream ids answered as they come), the
 * ERROR of a frame of another version, TLS (--tls-cert), and the poll loop
 * that accepts, reads and writes every connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "srv.h"

#include "jobads/banned.h"

char *auth_user, *auth_pass;
SSL_CTX *tls_ctx;

int fail(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->code = code;
	return -1;
}

/* ---------- frames ---------- */

static void put_error(struct cql_buf *b, const struct err *e)
{
	cqlb_i32(b, e->code);
	cqlb_string(b, e->msg, strlen(e->msg));
	switch (e->code) {
	case CQL_E_ALREADY_EXISTS:
		cqlb_string(b, e->ks, strlen(e->ks));
		cqlb_string(b, e->tbl, strlen(e->tbl));
		break;
	case CQL_E_UNPREPARED:
		cqlb_sbytes(b, e->ks, 16); /* the id travels in ks */
		break;
	default:
		break;
	}
}

/* A response; warning (may be NULL) goes before the body with the warning flag, as a real node
 * sends it. */
static void respond_warned(struct client *c, int16_t stream, uint8_t op, const struct cql_buf *body,
			   const char *warning)
{
	size_t st = cql_frame_begin(&c->out, CQL_VERSION_RESP, op, stream);
	if (warning) {
		c->out.p[st + 1] |= CQL_FLAG_WARNING;
		cqlb_u16(&c->out, 1);
		cqlb_string(&c->out, warning, strlen(warning));
	}
	if (body)
		cqlb_raw(&c->out, body->p, body->len);
	cql_frame_end(&c->out, st);
}

static void respond(struct client *c, int16_t stream, uint8_t op, const struct cql_buf *body)
{
	respond_warned(c, stream, op, body, NULL);
}

/* A real node's batch_size_warn_threshold (5 KiB), applied here to the request's size. */
#define BATCH_WARN_BYTES 5120

void respond_error(struct client *c, int16_t stream, const struct err *e)
{
	struct cql_buf b = {0};
	put_error(&b, e);
	respond(c, stream, CQL_OP_ERROR, &b);
	cqlb_release(&b);
}

/* Query parameters: values, page size, paging state. */
struct qparams {
	uint16_t consistency;
	uint8_t flags;
	struct vals v;
	int32_t page_size;
	const uint8_t *ps;
	size_t psl;
};

static int read_params(struct cql_rd *r, struct qparams *q, struct err *e)
{
	memset(q, 0, sizeof(*q));
	q->consistency = cqlr_u16(r);
	q->flags = cqlr_u8(r);
	if (q->flags & CQL_QF_VALUES) {
		int n = cqlr_u16(r);
		if (n > MAXTERMS)
			return fail(e, CQL_E_INVALID, "too many values");
		if (q->flags & 0x40)
			return fail(e, CQL_E_PROTOCOL, "named values are not supported");
		q->v.n = n;
		for (int i = 0; i < n; i++) {
			int32_t l;
			q->v.p[i] = cqlr_bytes(r, &l);
			q->v.len[i] = l;
		}
	}
	if (q->flags & CQL_QF_PAGE_SIZE)
		q->page_size = cqlr_i32(r);
	if (q->flags & CQL_QF_PAGING_STATE) {
		int32_t l;
		q->ps = cqlr_bytes(r, &l);
		q->psl = l > 0 ? (size_t)l : 0;
	}
	if (q->flags & CQL_QF_SERIAL)
		cqlr_u16(r);
	if (q->flags & CQL_QF_TIMESTAMP)
		cqlr_i64(r);
	if (r->bad)
		return fail(e, CQL_E_PROTOCOL, "malformed query parameters");
	return 0;
}

static int run_statement(struct client *c, const char *q, size_t n, const struct qparams *qp,
			 struct cql_buf *out, struct err *e)
{
	struct stmt s;
	int r = parse_stmt(q, n, c->ks, &s, e);
	if (r == 0 && s.nbind != qp->v.n && (s.type == S_SELECT || s.type == S_INSERT))
		r = fail(e, CQL_E_INVALID, "There were %d markers(?) in CQL but %d bound variables",
			 s.nbind, qp->v.n);
	if (r == 0)
		r = exec_stmt(&s, &qp->v, qp->page_size, qp->ps, qp->psl,
			      (qp->flags & CQL_QF_SKIP_METADATA) && !s.if_exists, c->ks, out, e);
	free(s.newt);
	return r;
}

/* BATCH: its INSERTs, read first, then run in order; its RESULT body into out. */
static int run_batch(struct client *c, struct cql_rd *r, struct cql_buf *out, struct err *e)
{
	uint8_t type = cqlr_u8(r);
	int n = cqlr_u16(r);
	(void)type;
	/* read every statement first, then the consistency; execute in order */
	struct {
		int prepared;
		const char *q;
		size_t qn;
		struct prepared *p;
		struct vals v;
	} *items = xcalloc((size_t)n + 1, sizeof(*items));
	int rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		uint8_t kind = cqlr_u8(r);
		if (kind == 0) {
			items[i].q = cqlr_lstring(r, &items[i].qn);
		} else {
			size_t idn;
			const uint8_t *id = cqlr_sbytes(r, &idn);
			items[i].p = id ? find_prepared(id, idn) : NULL;
			if (!items[i].p) {
				rc = fail(e, CQL_E_UNPREPARED, "Prepared query with ID not found");
				memset(e->ks, 0, sizeof(e->ks));
				if (id)
					memcpy(e->ks, id, idn < 16 ? idn : 16);
				break;
			}
			items[i].q = items[i].p->text;
			items[i].qn = strlen(items[i].q);
		}
		int nv = cqlr_u16(r);
		if (nv > MAXTERMS) {
			rc = fail(e, CQL_E_INVALID, "too many values");
			break;
		}
		items[i].v.n = nv;
		for (int k = 0; k < nv; k++) {
			int32_t l;
			items[i].v.p[k] = cqlr_bytes(r, &l);
			items[i].v.len[k] = l;
		}
	}
	cqlr_u16(r); /* consistency */
	if (!rc && r->bad)
		rc = fail(e, CQL_E_PROTOCOL, "malformed BATCH");
	for (int i = 0; i < n && !rc; i++) {
		struct stmt s;
		struct cql_buf tmp = {0};
		rc =
		    parse_stmt(items[i].q, items[i].qn, items[i].p ? items[i].p->ks : c->ks, &s, e);
		if (!rc && s.type != S_INSERT)
			rc = fail(e, CQL_E_INVALID,
				  "Only INSERT, UPDATE or DELETE statements are allowed "
				  "inside a BATCH");
		if (!rc && s.if_exists)
			rc = fail(e, CQL_E_INVALID,
				  "Conditional statements are not supported in this "
				  "server's batches");
		if (!rc)
			rc = exec_insert(&s, &items[i].v, &tmp, e);
		free(s.newt);
		cqlb_release(&tmp);
	}
	free(items);
	if (rc)
		return -1;
	cqlb_i32(out, CQL_RES_VOID);
	return 0;
}

void handle_frame(struct client *c, const struct cql_frame *f)
{
	struct cql_rd r;
	struct err e;
	struct cql_buf out = {0};
	memset(&e, 0, sizeof(e));
	cqlr_init(&r, f->body, f->len);
	if (f->opcode == CQL_OP_OPTIONS) {
		cqlb_u16(&out, 2);
		cqlb_string(&out, "CQL_VERSION", 11);
		cqlb_u16(&out, 1);
		cqlb_string(&out, "3.4.4", 5);
		cqlb_string(&out, "COMPRESSION", 11);
		cqlb_u16(&out, 0);
		respond(c, f->stream, CQL_OP_SUPPORTED, &out);
		goto done;
	}
	if (f->opcode == CQL_OP_STARTUP) {
		c->started = 1;
		if (auth_user) {
			const char *a = "org.apache.cassandra.auth.PasswordAuthenticator";
			cqlb_string(&out, a, strlen(a));
			respond(c, f->stream, CQL_OP_AUTHENTICATE, &out);
		} else {
			c->authed = 1;
			respond(c, f->stream, CQL_OP_READY, NULL);
		}
		goto done;
	}
	if (f->opcode == CQL_OP_AUTH_RESPONSE && c->started && !c->authed) {
		int32_t n;
		const uint8_t *tok = cqlr_bytes(&r, &n);
		size_t ul = strlen(auth_user), pl = strlen(auth_pass);
		/* authzid NUL user NUL password; the authzid is empty here */
		if (tok && n == (int32_t)(ul + pl + 2) && tok[0] == 0 &&
		    memcmp(tok + 1, auth_user, ul) == 0 && tok[1 + ul] == 0 &&
		    memcmp(tok + 2 + ul, auth_pass, pl) == 0) {
			c->authed = 1;
			cqlb_i32(&out, -1);
			respond(c, f->stream, CQL_OP_AUTH_SUCCESS, &out);
		} else {
			/* as Cassandra words it, naming the user the client gave */
			const uint8_t *u = tok && n > 1 ? tok + 1 : (const uint8_t *)"";
			const uint8_t *z = tok && n > 1 ? memchr(u, 0, (size_t)n - 1) : u;
			int un = z ? (int)(z - u) : n - 1;
			fail(&e, CQL_E_BAD_CREDENTIALS,
			     "Provided username %.*s and/or password are incorrect", un,
			     (const char *)u);
			respond_error(c, f->stream, &e);
		}
		goto done;
	}
	if (!c->started || !c->authed) {
		fail(&e, CQL_E_PROTOCOL, "Unexpected message %d, expecting %s", f->opcode,
		     c->started ? "AUTH_RESPONSE" : "STARTUP or OPTIONS");
		respond_error(c, f->stream, &e);
		goto done;
	}
	switch (f->opcode) {
	case CQL_OP_REGISTER:
		respond(c, f->stream, CQL_OP_READY, NULL);
		break;
	case CQL_OP_QUERY: {
		size_t n;
		const char *q = cqlr_lstring(&r, &n);
		struct qparams qp;
		if (!q || read_params(&r, &qp, &e) || run_statement(c, q, n, &qp, &out, &e))
			goto error;
		respond(c, f->stream, CQL_OP_RESULT, &out);
		break;
	}
	case CQL_OP_PREPARE: {
		size_t n;
		const char *q = cqlr_lstring(&r, &n);
		if (!q) {
			fail(&e, CQL_E_PROTOCOL, "malformed PREPARE");
			goto error;
		}
		if (prepare_stmt(q, n, c->ks, &out, &e))
			goto error;
		respond(c, f->stream, CQL_OP_RESULT, &out);
		break;
	}
	case CQL_OP_EXECUTE: {
		size_t n;
		const uint8_t *id = cqlr_sbytes(&r, &n);
		struct prepared *p = id ? find_prepared(id, n) : NULL;
		if (!p) {
			fail(&e, CQL_E_UNPREPARED, "Prepared query with ID %s not found", "(id)");
			memset(e.ks, 0, sizeof(e.ks));
			if (id)
				memcpy(e.ks, id, n < 16 ? n : 16);
			goto error;
		}
		struct qparams qp;
		char ks[NAMELEN];
		snprintf(ks, sizeof(ks), "%s", p->ks);
		char saved[NAMELEN];
		memcpy(saved, c->ks, NAMELEN);
		memcpy(c->ks, ks, NAMELEN);
		int rc = read_params(&r, &qp, &e)
			     ? -1
			     : run_statement(c, p->text, strlen(p->text), &qp, &out, &e);
		memcpy(c->ks, saved, NAMELEN);
		if (rc)
			goto error;
		respond(c, f->stream, CQL_OP_RESULT, &out);
		break;
	}
	case CQL_OP_BATCH: {
		if (run_batch(c, &r, &out, &e))
			goto error;
		/* a real node warns of a large batch in the answer: clients must read past it */
		char warn[160];
		snprintf(warn, sizeof(warn),
			 "Batch of %u bytes is exceeding the specified threshold of %d bytes",
			 (unsigned)f->len, BATCH_WARN_BYTES);
		respond_warned(c, f->stream, CQL_OP_RESULT, &out,
			       f->len > BATCH_WARN_BYTES ? warn : NULL);
		break;
	}
	default:
		fail(&e, CQL_E_PROTOCOL, "Unknown opcode %d", f->opcode);
		goto error;
	}
	goto done;
error:
	respond_error(c, f->stream, &e);
done:
	cqlb_release(&out);
}

/* A frame of another version: answer in its own header layout, then close. */
static void answer_bad_version(struct client *c)
{
	uint8_t v = c->in.p[0] & 0x7f;
	struct err e;
	memset(&e, 0, sizeof(e));
	fail(&e, CQL_E_PROTOCOL,
	     "Invalid or unsupported protocol version (%d); supported versions are (4/v4)", v);
	struct cql_buf body = {0};
	put_error(&body, &e);
	int16_t stream = 0;
	if (v >= 3 && c->in.len >= 4)
		stream = (int16_t)(c->in.p[2] << 8 | c->in.p[3]);
	else if (c->in.len >= 3)
		stream = (int8_t)c->in.p[2];
	cqlb_u8(&c->out, (uint8_t)(0x80 | v));
	cqlb_u8(&c->out, 0);
	if (v >= 3)
		cqlb_u16(&c->out, (uint16_t)stream);
	else
		cqlb_u8(&c->out, (uint8_t)stream);
	cqlb_u8(&c->out, CQL_OP_ERROR);
	cqlb_i32(&c->out, (int32_t)body.len);
	cqlb_raw(&c->out, body.p, body.len);
	cqlb_release(&body);
	c->closing = 1;
}

static void process_input(struct client *c)
{
	size_t pos = 0;
	while (!c->closing) {
		struct cql_frame f;
		long n = cql_frame_parse(c->in.p + pos, c->in.len - pos, &f);
		if (n < 0) {
			if (pos > 0) {
				memmove(c->in.p, c->in.p + pos, c->in.len - pos);
				c->in.len -= pos;
				pos = 0;
			}
			answer_bad_version(c);
			break;
		}
		if (n == 0)
			break;
		if (!hold_frame(c, &f))
			handle_frame(c, &f);
		pos += (size_t)n;
	}
	if (pos > 0) {
		memmove(c->in.p, c->in.p + pos, c->in.len - pos);
		c->in.len -= pos;
	}
}

/* ---------- TLS (--tls-cert) ---------- */

/* recv/send through TLS when on: n > 0, 0 closed, -1 with errno (EAGAIN: later). */
static ssize_t client_recv(struct client *c, void *p, size_t n)
{
	if (!c->ssl)
		return recv(c->fd, p, n, 0);
	if (!c->handshaken) {
		int rc = SSL_accept(c->ssl);
		if (rc != 1) {
			int e = SSL_get_error(c->ssl, rc);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				errno = EAGAIN;
				return -1;
			}
			char why[256] = "closed";
			unsigned long le = ERR_get_error();
			if (le)
				ERR_error_string_n(le, why, sizeof(why));
			fprintf(stderr, "cqlsrv: TLS handshake failed: %s\n", why);
			return 0;
		}
		c->handshaken = 1;
	}
	int rc = SSL_read(c->ssl, p, (int)n);
	if (rc > 0)
		return rc;
	int e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

static ssize_t client_send(struct client *c, const void *p, size_t n)
{
	if (!c->ssl)
		return send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (!c->handshaken) {
		errno = EAGAIN;
		return -1;
	}
	int rc = SSL_write(c->ssl, p, (int)n);
	if (rc > 0)
		return rc;
	int e = SSL_get_error(c->ssl, rc);
	errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : EPIPE;
	return -1;
}

/* ---------- the loop ---------- */

int serve(int ls)
{
	int one = 1;
	struct client **cl = NULL;
	size_t ncl = 0;
	while (!stop_requested) {
		struct pollfd *pf = xcalloc(ncl + 1, sizeof(*pf));
		pf[0].fd = ls;
		pf[0].events = POLLIN;
		for (size_t i = 0; i < ncl; i++) {
			pf[i + 1].fd = cl[i]->fd;
			pf[i + 1].events = POLLIN | (cl[i]->out.len > cl[i]->outpos ? POLLOUT : 0);
		}
		int pr = poll(pf, ncl + 1, run_held());
		if (pr < 0) {
			free(pf);
			if (errno == EINTR)
				continue;
			perror("cqlsrv: poll");
			return 1;
		}
		size_t n0 = ncl;
		for (size_t i = 0; i < n0; i++) {
			struct client *c = cl[i];
			short re = pf[i + 1].revents;
			if (re & (POLLIN | POLLHUP | POLLERR)) {
				/* TLS holds decrypted bytes of its own: read until it has none */
				do {
					cqlb_reserve(&c->in, 65536);
					ssize_t n = client_recv(c, c->in.p + c->in.len,
								c->in.cap - c->in.len);
					if (n <= 0 &&
					    !(n < 0 && (errno == EINTR || errno == EAGAIN))) {
						c->closing = 2;
						break;
					} else if (n > 0) {
						c->in.len += (size_t)n;
						process_input(c);
					} else {
						break;
					}
				} while (c->ssl && SSL_pending(c->ssl) > 0);
			}
			if (c->out.len > c->outpos && c->closing != 2) {
				ssize_t n =
				    client_send(c, c->out.p + c->outpos, c->out.len - c->outpos);
				if (n > 0)
					c->outpos += (size_t)n;
				else if (n < 0 && errno != EAGAIN && errno != EINTR)
					c->closing = 2;
				if (c->outpos == c->out.len)
					c->out.len = c->outpos = 0;
			}
		}
		/* drop closed clients */
		size_t k = 0;
		for (size_t i = 0; i < ncl; i++) {
			struct client *c = cl[i];
			if (c->closing == 2 || (c->closing == 1 && c->out.len == c->outpos)) {
				drop_held_requests(c);
				if (c->ssl)
					SSL_free(c->ssl);
				close(c->fd);
				cqlb_release(&c->in);
				cqlb_release(&c->out);
				free(c);
			} else {
				cl[k++] = c;
			}
		}
		ncl = k;
		if (pf[0].revents & POLLIN) {
			int fd = accept(ls, NULL, NULL);
			if (fd >= 0) {
				fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
				fcntl(fd, F_SETFD, FD_CLOEXEC);
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				cl = xrealloc(cl, (ncl + 1) * sizeof(*cl));
				cl[ncl] = xcalloc(1, sizeof(**cl));
				cl[ncl]->fd = fd;
				if (tls_ctx) {
					cl[ncl]->ssl = SSL_new(tls_ctx);
					SSL_set_fd(cl[ncl]->ssl, fd);
					SSL_set_accept_state(cl[ncl]->ssl);
				}
				ncl++;
			}
		}
		free(pf);
	}
	for (size_t i = 0; i < ncl; i++) {
		close(cl[i]->fd);
		cqlb_release(&cl[i]->in);
		cqlb_release(&cl[i]->out);
		free(cl[i]);
	}
	free(cl);
	return 0;
}
