/*
 * cql_sess.c - one CQL connection at a time, to the first of the contact
 * points that answers; requests pipelined on stream ids (up to
 * CQL_MAX_STREAMS in flight); PREPARE on first use and again when the server
 * answers Unprepared (another node after failover, or a restarted one).
 *
 * Failover: a connection that fails (refused, timed out, lost) is closed, its
 * requests in flight fail with J_RETRY, and the next request connects again,
 * starting with the contact point after the one that failed. Requests are not
 * silently re-sent on the new connection: whether a write landed is unknown,
 * and only the caller (the ETL, the ingest batch) knows whether repeating it
 * is safe.
 */
#include "cql.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jobads/banned.h"

#define MAX_HOSTS 16

struct cql_prep {
	struct cql_prep *next;
	char *query;
	uint8_t id[64];
	size_t id_len;
	int ready;
	int nparams;
};

struct slot {
	int busy, done, failed;
	uint8_t opcode;
	uint8_t *body;
	size_t len, cap;
	struct cql_buf frame; /* the request, kept to re-send it after a re-prepare */
	struct cql_prep *preps[CQL_MAX_STREAMS];
	size_t id_off[CQL_MAX_STREAMS]; /* where each prepared id sits in the frame */
	int nprep;
	int reprepared;
};

struct cql_sess {
	char *hosts[MAX_HOSTS];
	int nhosts, cur, port;
	char *user, *password;
	char *name;
	int connect_ms, request_ms;
	struct cql_tls_opts tls_opts;
	struct cql_tls *tls; /* the live connection's TLS, or NULL */
	int fd;
	char host[300]; /* host:port of the live connection */
	struct cql_buf rbuf;
	size_t rpos;
	struct cql_buf wbuf;
	struct slot slots[CQL_MAX_STREAMS];
	struct cql_prep *preps;
	struct cql_stats st;
};

const char *cql_sess_host(const struct cql_sess *s)
{
	return s->fd >= 0 ? s->host : "";
}

void cql_sess_stats(const struct cql_sess *s, struct cql_stats *out)
{
	*out = s->st;
}

static void conn_close(struct cql_sess *s)
{
	cql_tls_close(s->tls);
	s->tls = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->rbuf.len = 0;
	s->rpos = 0;
	s->wbuf.len = 0;
	for (int i = 0; i < CQL_MAX_STREAMS; i++)
		if (s->slots[i].busy && !s->slots[i].done) {
			s->slots[i].done = 1;
			s->slots[i].failed = 1;
		}
	for (struct cql_prep *p = s->preps; p; p = p->next)
		p->ready = 0;
}

/* Fail the connection: every request in flight fails, the next one reconnects. */
static int conn_fail(struct cql_sess *s, struct jerr *err, const char *what, const char *why)
{
	jerr_set(err, "%s: %s: %s (%s)", s->name, s->host, what, why);
	conn_close(s);
	s->cur = (s->cur + 1) % s->nhosts;
	return J_RETRY;
}

static int write_all(struct cql_sess *s, struct jerr *err)
{
	size_t off = 0;
	while (off < s->wbuf.len) {
		ssize_t n = s->tls ? cql_tls_send(s->tls, s->wbuf.p + off, s->wbuf.len - off)
				   : send(s->fd, s->wbuf.p + off, s->wbuf.len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			s->st.bytes_out += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {.fd = s->fd,
					   .events =
					       (short)(s->tls ? cql_tls_want(s->tls) : POLLOUT)};
			int pr = poll(&p, 1, s->request_ms);
			if (pr == 0)
				return conn_fail(s, err, "sending a request", "timed out");
			if (pr < 0 && errno != EINTR)
				return conn_fail(s, err, "sending a request", strerror(errno));
			continue;
		}
		return conn_fail(s, err, "sending a request", strerror(errno));
	}
	s->wbuf.len = 0;
	return J_OK;
}

/* Read until at least one whole frame is buffered, then dispatch every whole frame. */
static int read_some(struct cql_sess *s, struct jerr *err)
{
	if (s->rpos > 0 && s->rpos == s->rbuf.len) {
		s->rbuf.len = 0;
		s->rpos = 0;
	} else if (s->rpos > (1u << 20)) {
		memmove(s->rbuf.p, s->rbuf.p + s->rpos, s->rbuf.len - s->rpos);
		s->rbuf.len -= s->rpos;
		s->rpos = 0;
	}
	cqlb_reserve(&s->rbuf, 256 * 1024);
	struct pollfd p = {.fd = s->fd, .events = (short)(s->tls ? cql_tls_want(s->tls) : POLLIN)};
	double t0 = time_mono();
	/* bytes TLS has already decrypted are not on the socket any more */
	int pr = s->tls && cql_tls_pending(s->tls) ? 1 : poll(&p, 1, s->request_ms);
	s->st.wait_s += time_mono() - t0;
	if (pr == 0)
		return conn_fail(s, err, "waiting for a response", "timed out");
	if (pr < 0) {
		if (errno == EINTR)
			return J_OK;
		return conn_fail(s, err, "waiting for a response", strerror(errno));
	}
	ssize_t n = s->tls
			? cql_tls_recv(s->tls, s->rbuf.p + s->rbuf.len, s->rbuf.cap - s->rbuf.len)
			: recv(s->fd, s->rbuf.p + s->rbuf.len, s->rbuf.cap - s->rbuf.len, 0);
	if (n == 0)
		return conn_fail(s, err, "reading a response", "connection closed by the server");
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return J_OK;
		return conn_fail(s, err, "reading a response", strerror(errno));
	}
	s->rbuf.len += (size_t)n;
	s->st.bytes_in += n;
	for (;;) {
		struct cql_frame f;
		long fl = cql_frame_parse(s->rbuf.p + s->rpos, s->rbuf.len - s->rpos, &f);
		if (fl < 0) {
			char why[64];
			snprintf(why, sizeof(why), "a frame of protocol version 0x%02x", f.version);
			return conn_fail(s, err, "reading a response", why);
		}
		if (fl == 0) {
			/* make room for a large frame in one piece */
			if (s->rbuf.len - s->rpos >= CQL_HEADER_LEN)
				cqlb_reserve(&s->rbuf, CQL_HEADER_LEN + f.len);
			break;
		}
		s->st.frames_in++;
		int nwarn;
		if (cql_frame_skip_extras(&f, &nwarn) != 0) {
			char why[64];
			snprintf(why, sizeof(why), "a malformed response (header flags 0x%02x)",
				 f.flags);
			return conn_fail(s, err, "reading a response", why);
		}
		s->st.warnings += nwarn;
		if (f.stream >= 0 && f.stream < CQL_MAX_STREAMS && s->slots[f.stream].busy &&
		    !s->slots[f.stream].done) {
			struct slot *sl = &s->slots[f.stream];
			if (sl->cap < f.len) {
				sl->body = xrealloc(sl->body, f.len ? f.len : 1);
				sl->cap = f.len;
			}
			if (f.len)
				memcpy(sl->body, f.body, f.len);
			sl->len = f.len;
			sl->opcode = f.opcode;
			sl->done = 1;
		} /* events (stream -1) and strays are dropped */
		s->rpos += (size_t)fl;
	}
	return J_OK;
}

static int alloc_slot(struct cql_sess *s, struct jerr *err)
{
	for (int i = 0; i < CQL_MAX_STREAMS; i++)
		if (!s->slots[i].busy) {
			struct slot *sl = &s->slots[i];
			sl->busy = 1;
			sl->done = sl->failed = 0;
			sl->nprep = 0;
			sl->reprepared = 0;
			sl->frame.len = 0;
			return i;
		}
	jerr_set(err, "%s: more than %d requests in flight", s->name, CQL_MAX_STREAMS);
	return -1;
}

void cql_release(struct cql_sess *s, int handle)
{
	if (handle >= 0 && handle < CQL_MAX_STREAMS)
		s->slots[handle].busy = 0;
}

/* Wait for a slot's frame; the opcode and body stay in the slot. */
static int wait_raw(struct cql_sess *s, int h, struct jerr *err)
{
	struct slot *sl = &s->slots[h];
	while (!sl->done) {
		if (s->fd < 0) {
			sl->done = sl->failed = 1;
			break;
		}
		int r = read_some(s, err);
		if (r != J_OK)
			return r;
	}
	if (sl->failed) {
		if (!err->msg[0])
			jerr_set(err, "%s: connection lost", s->name);
		return J_RETRY;
	}
	return J_OK;
}

static int server_error(struct cql_sess *s, struct slot *sl, struct jerr *err, struct cql_error *e)
{
	if (cql_error_parse(sl->body, sl->len, e) != 0) {
		jerr_set(err, "%s: %s: malformed ERROR frame", s->name, s->host);
		return J_ERROR;
	}
	/* the code goes with the message: callers decide by it, never by the text */
	jerr_setc(err, e->code, "%s: %s: %s (0x%04x): %.*s", s->name, s->host,
		  cql_error_name(e->code), (unsigned)e->code, (int)e->msg_len,
		  e->msg ? e->msg : "");
	return cql_error_retryable(e->code) ? J_RETRY : J_ERROR;
}

/* Send one frame built in fr (header included) on a fresh slot. */
static int send_frame(struct cql_sess *s, int h, struct jerr *err)
{
	struct slot *sl = &s->slots[h];
	/* stream id at bytes 2..3 */
	sl->frame.p[2] = (uint8_t)(h >> 8);
	sl->frame.p[3] = (uint8_t)h;
	cqlb_raw(&s->wbuf, sl->frame.p, sl->frame.len);
	s->st.frames_out++;
	return write_all(s, err);
}

static int simple_request(struct cql_sess *s, uint8_t opcode, const struct cql_buf *body,
			  int *handle, struct jerr *err)
{
	int h = alloc_slot(s, err);
	if (h < 0)
		return J_ERROR;
	struct slot *sl = &s->slots[h];
	size_t st = cql_frame_begin(&sl->frame, CQL_VERSION_REQ, opcode, 0);
	if (body)
		cqlb_raw(&sl->frame, body->p, body->len);
	cql_frame_end(&sl->frame, st);
	int r = send_frame(s, h, err);
	if (r == J_OK)
		r = wait_raw(s, h, err);
	*handle = h;
	if (r != J_OK)
		cql_release(s, h);
	return r;
}

static int handshake(struct cql_sess *s, struct jerr *err)
{
	struct cql_buf b = {0};
	struct cql_error e;
	int h, r;
	cqlb_u16(&b, 1);
	cqlb_string(&b, "CQL_VERSION", 11);
	cqlb_string(&b, "3.0.0", 5);
	r = simple_request(s, CQL_OP_STARTUP, &b, &h, err);
	cqlb_release(&b);
	if (r != J_OK)
		return r;
	struct slot *sl = &s->slots[h];
	if (sl->opcode == CQL_OP_READY) {
		cql_release(s, h);
		return J_OK;
	}
	if (sl->opcode == CQL_OP_ERROR) {
		r = server_error(s, sl, err, &e);
		cql_release(s, h);
		return r;
	}
	if (sl->opcode != CQL_OP_AUTHENTICATE) {
		cql_release(s, h);
		jerr_set(err, "%s: %s: unexpected answer 0x%02x to STARTUP", s->name, s->host,
			 sl->opcode);
		return J_ERROR;
	}
	cql_release(s, h);
	if (!s->user) {
		jerr_set(err, "%s: %s: the server requires a user name and password", s->name,
			 s->host);
		return J_ERROR;
	}
	/* SASL PLAIN: authzid NUL authcid NUL password */
	struct cql_buf tok = {0};
	cqlb_u8(&tok, 0);
	cqlb_raw(&tok, s->user, strlen(s->user));
	cqlb_u8(&tok, 0);
	if (s->password)
		cqlb_raw(&tok, s->password, strlen(s->password));
	cqlb_bytes(&b, tok.p, (int32_t)tok.len);
	memset(tok.p, 0, tok.len);
	cqlb_release(&tok);
	r = simple_request(s, CQL_OP_AUTH_RESPONSE, &b, &h, err);
	memset(b.p, 0, b.len);
	cqlb_release(&b);
	/* the password also sat in the request frame kept for re-sending */
	memset(s->slots[h].frame.p, 0, s->slots[h].frame.len);
	if (r != J_OK)
		return r;
	sl = &s->slots[h];
	if (sl->opcode == CQL_OP_AUTH_SUCCESS) {
		cql_release(s, h);
		return J_OK;
	}
	if (sl->opcode == CQL_OP_ERROR) {
		r = server_error(s, sl, err, &e);
		cql_release(s, h);
		return r == J_RETRY ? r : J_ERROR;
	}
	cql_release(s, h);
	jerr_set(err, "%s: %s: unexpected answer 0x%02x to AUTH_RESPONSE", s->name, s->host,
		 sl->opcode);
	return J_ERROR;
}

static int tcp_connect(struct cql_sess *s, const char *host, struct jerr *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int fd = -1, gai;
	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(s->host, sizeof(s->host), "%s:%d", host, s->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		jerr_set(err, "%s: %s: %s", s->name, s->host, gai_strerror(gai));
		return J_RETRY;
	}
	const char *why = "no address";
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (rc != 0 && errno == EINPROGRESS) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int pr = poll(&p, 1, s->connect_ms);
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (pr == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
			    soerr == 0)
				rc = 0;
			else
				why =
				    pr == 0 ? "connect timed out" : strerror(soerr ? soerr : errno);
		} else if (rc != 0) {
			why = strerror(errno);
		}
		if (rc == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		jerr_set(err, "%s: %s: %s", s->name, s->host, why);
		return J_RETRY;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->tls_opts.on) {
		char tls_why[300];
		if (cql_tls_connect(fd, host, &s->tls_opts, s->connect_ms, &s->tls, tls_why,
				    sizeof(tls_why)) != 0) {
			close(fd);
			jerr_set(err, "%s: %s: %s", s->name, s->host, tls_why);
			/* a certificate or a server without TLS: not a matter of trying again */
			return J_ERROR;
		}
	}
	s->fd = fd;
	return J_OK;
}

/* Connect to a contact point, starting with s->cur and trying each once. */
static int ensure_conn(struct cql_sess *s, struct jerr *err)
{
	if (s->fd >= 0)
		return J_OK;
	char msgs[400] = "";
	int r = J_RETRY;
	for (int k = 0; k < s->nhosts; k++) {
		int i = (s->cur + k) % s->nhosts;
		r = tcp_connect(s, s->hosts[i], err);
		if (r == J_OK) {
			r = handshake(s, err);
			if (r == J_OK) {
				s->cur = i;
				return J_OK;
			}
			conn_close(s);
		}
		if (r == J_ERROR) /* bad credentials, protocol: another host will say the same */
			return r;
		size_t used = strlen(msgs);
		snprintf(msgs + used, sizeof(msgs) - used, "%s%s", used ? "; " : "",
			 err->msg + (strncmp(err->msg, s->name, strlen(s->name)) == 0
					 ? strlen(s->name) + 2
					 : 0));
	}
	if (s->nhosts > 1)
		jerr_set(err, "%s: no contact point answered: %s", s->name, msgs);
	return r;
}

int cql_sess_open(const struct cql_opts *o, struct cql_sess **out, struct jerr *err)
{
	struct cql_sess *s = xcalloc(1, sizeof(*s));
	s->fd = -1;
	s->port = o->port > 0 ? o->port : 9042;
	s->connect_ms = o->connect_ms > 0 ? o->connect_ms : 5000;
	s->request_ms = o->request_ms > 0 ? o->request_ms : 12000;
	s->name = xstrdup(o->name ? o->name : "cassandra");
	s->user = o->user && o->user[0] ? xstrdup(o->user) : NULL;
	s->password = o->password ? xstrdup(o->password) : NULL;
	s->tls_opts = o->tls;
	s->tls_opts.ca = o->tls.ca ? xstrdup(o->tls.ca) : NULL;
	const char *h = o->hosts;
	while (h && *h && s->nhosts < MAX_HOSTS) {
		size_t n = strcspn(h, ",");
		if (n > 0 && n < 256) {
			s->hosts[s->nhosts] = xmalloc(n + 1);
			memcpy(s->hosts[s->nhosts], h, n);
			s->hosts[s->nhosts][n] = '\0';
			s->nhosts++;
		}
		h += n;
		if (*h == ',')
			h++;
	}
	*out = NULL;
	if (s->nhosts == 0) {
		jerr_set(err, "%s: no contact point", s->name);
		cql_sess_close(s);
		return J_ERROR;
	}
	int r = ensure_conn(s, err);
	if (r != J_OK) {
		cql_sess_close(s);
		return r;
	}
	*out = s;
	return J_OK;
}

void cql_sess_close(struct cql_sess *s)
{
	if (!s)
		return;
	cql_tls_close(s->tls);
	if (s->fd >= 0)
		close(s->fd);
	for (int i = 0; i < s->nhosts; i++)
		free(s->hosts[i]);
	for (int i = 0; i < CQL_MAX_STREAMS; i++) {
		free(s->slots[i].body);
		cqlb_release(&s->slots[i].frame);
	}
	struct cql_prep *p = s->preps;
	while (p) {
		struct cql_prep *n = p->next;
		free(p->query);
		free(p);
		p = n;
	}
	if (s->password) {
		memset(s->password, 0, strlen(s->password));
		free(s->password);
	}
	free(s->user);
	free((char *)s->tls_opts.ca);
	free(s->name);
	cqlb_release(&s->rbuf);
	cqlb_release(&s->wbuf);
	free(s);
}

struct cql_prep *cql_prep_new(struct cql_sess *s, const char *query)
{
	struct cql_prep *p = xcalloc(1, sizeof(*p));
	p->query = xstrdup(query);
	p->next = s->preps;
	s->preps = p;
	return p;
}

int cql_prep_nparams(const struct cql_prep *p)
{
	return p->nparams;
}

int cql_prep_ready(struct cql_sess *s, struct cql_prep *p, struct jerr *err)
{
	int r = ensure_conn(s, err);
	if (r != J_OK || p->ready)
		return r;
	struct cql_buf b = {0};
	int h;
	cqlb_lstring(&b, p->query, strlen(p->query));
	r = simple_request(s, CQL_OP_PREPARE, &b, &h, err);
	cqlb_release(&b);
	if (r != J_OK)
		return r;
	struct slot *sl = &s->slots[h];
	struct cql_result res;
	const char *why;
	if (sl->opcode == CQL_OP_ERROR) {
		struct cql_error e;
		r = server_error(s, sl, err, &e);
		jerr_prefix(err, "preparing '%.60s'", p->query);
	} else if (sl->opcode != CQL_OP_RESULT || cql_result_parse(sl->body, sl->len, &res, &why) ||
		   res.kind != CQL_RES_PREPARED || res.prep_id_len == 0 ||
		   res.prep_id_len > sizeof(p->id)) {
		jerr_set(err, "%s: %s: preparing '%.60s': unexpected answer", s->name, s->host,
			 p->query);
		r = J_ERROR;
	} else {
		memcpy(p->id, res.prep_id, res.prep_id_len);
		p->id_len = res.prep_id_len;
		p->nparams = res.params.ncols;
		p->ready = 1;
	}
	cql_release(s, h);
	return r;
}

static void put_params(struct cql_buf *f, const struct cql_req *rq)
{
	uint8_t flags = 0;
	if (rq->nvalues > 0)
		flags |= CQL_QF_VALUES;
	if (rq->page_size > 0)
		flags |= CQL_QF_PAGE_SIZE;
	if (rq->paging_state && rq->paging_len)
		flags |= CQL_QF_PAGING_STATE;
	cqlb_u16(f, rq->consistency);
	cqlb_u8(f, flags);
	if (flags & CQL_QF_VALUES) {
		cqlb_u16(f, (uint16_t)rq->nvalues);
		cqlb_raw(f, rq->values->p, rq->values->len);
	}
	if (flags & CQL_QF_PAGE_SIZE)
		cqlb_i32(f, rq->page_size);
	if (flags & CQL_QF_PAGING_STATE)
		cqlb_bytes(f, rq->paging_state, (int32_t)rq->paging_len);
}

/*
 * The start and the end every request shares (a query, an EXECUTE, a BATCH):
 * a connection and a free stream slot for its frame, then closing the frame
 * begun at st, counting its encoding time from t0, and sending it.
 */
static int start_request(struct cql_sess *s, int *h, double *t0, struct jerr *err)
{
	int r = ensure_conn(s, err);
	if (r != J_OK)
		return r;
	*t0 = time_mono();
	*h = alloc_slot(s, err);
	return *h < 0 ? J_ERROR : J_OK;
}

static int finish_request(struct cql_sess *s, int h, size_t st, double t0, int *handle,
			  struct jerr *err)
{
	cql_frame_end(&s->slots[h].frame, st);
	s->st.encode_s += time_mono() - t0;
	*handle = h;
	return send_frame(s, h, err);
}

int cql_submit(struct cql_sess *s, const struct cql_req *rq, int *handle, struct jerr *err)
{
	int r;
	*handle = -1;
	if (rq->prep && (r = cql_prep_ready(s, rq->prep, err)) != J_OK)
		return r;
	double t0;
	int h;
	if ((r = start_request(s, &h, &t0, err)) != J_OK)
		return r;
	struct slot *sl = &s->slots[h];
	size_t st;
	if (rq->prep) {
		st = cql_frame_begin(&sl->frame, CQL_VERSION_REQ, CQL_OP_EXECUTE, 0);
		sl->preps[0] = rq->prep;
		sl->id_off[0] = sl->frame.len + 2;
		sl->nprep = 1;
		cqlb_sbytes(&sl->frame, rq->prep->id, rq->prep->id_len);
	} else {
		st = cql_frame_begin(&sl->frame, CQL_VERSION_REQ, CQL_OP_QUERY, 0);
		cqlb_lstring(&sl->frame, rq->query, strlen(rq->query));
	}
	put_params(&sl->frame, rq);
	return finish_request(s, h, st, t0, handle, err);
}

int cql_batch_submit(struct cql_sess *s, struct cql_prep **stmts, const struct cql_buf *values,
		     const int *nvalues, int n, uint16_t consistency, int *handle, struct jerr *err)
{
	int r;
	*handle = -1;
	for (int i = 0; i < n; i++)
		if ((r = cql_prep_ready(s, stmts[i], err)) != J_OK)
			return r;
	double t0;
	int h;
	if ((r = start_request(s, &h, &t0, err)) != J_OK)
		return r;
	struct slot *sl = &s->slots[h];
	size_t st = cql_frame_begin(&sl->frame, CQL_VERSION_REQ, CQL_OP_BATCH, 0);
	cqlb_u8(&sl->frame, 1); /* UNLOGGED */
	cqlb_u16(&sl->frame, (uint16_t)n);
	for (int i = 0; i < n; i++) {
		cqlb_u8(&sl->frame, 1); /* prepared */
		/* a statement repeated in the batch is re-prepared once, patched everywhere */
		if (sl->nprep < CQL_MAX_STREAMS) {
			sl->preps[sl->nprep] = stmts[i];
			sl->id_off[sl->nprep++] = sl->frame.len + 2;
		}
		cqlb_sbytes(&sl->frame, stmts[i]->id, stmts[i]->id_len);
		cqlb_u16(&sl->frame, (uint16_t)nvalues[i]);
		cqlb_raw(&sl->frame, values[i].p, values[i].len);
	}
	cqlb_u16(&sl->frame, consistency);
	cqlb_u8(&sl->frame, 0);
	return finish_request(s, h, st, t0, handle, err);
}

/* After Unprepared: prepare the slot's statements again and re-send its frame. */
static int reprepare_and_resend(struct cql_sess *s, int h, struct jerr *err)
{
	struct slot *sl = &s->slots[h];
	for (int i = 0; i < sl->nprep; i++)
		sl->preps[i]->ready = 0;
	for (int i = 0; i < sl->nprep; i++) {
		struct cql_prep *p = sl->preps[i];
		size_t old_len =
		    (size_t)(sl->frame.p[sl->id_off[i] - 2] << 8 | sl->frame.p[sl->id_off[i] - 1]);
		int r = cql_prep_ready(s, p, err);
		if (r != J_OK)
			return r;
		if (p->id_len != old_len) {
			jerr_set(err, "%s: %s: re-prepared id has another length", s->name,
				 s->host);
			return J_ERROR;
		}
		memcpy(sl->frame.p + sl->id_off[i], p->id, p->id_len);
	}
	sl->done = sl->failed = 0;
	sl->reprepared = 1;
	return send_frame(s, h, err);
}

int cql_wait(struct cql_sess *s, int h, struct cql_result *res, struct jerr *err)
{
	if (h < 0 || h >= CQL_MAX_STREAMS || !s->slots[h].busy) {
		jerr_set(err, "%s: waiting for an unknown request", s->name);
		return J_ERROR;
	}
	struct slot *sl = &s->slots[h];
	for (;;) {
		int r = wait_raw(s, h, err);
		if (r != J_OK)
			return r;
		if (sl->opcode == CQL_OP_ERROR) {
			struct cql_error e;
			r = server_error(s, sl, err, &e);
			if (e.code == CQL_E_UNPREPARED && sl->nprep > 0 && !sl->reprepared) {
				err->msg[0] = '\0';
				err->code = 0;
				if ((r = reprepare_and_resend(s, h, err)) != J_OK)
					return r;
				continue;
			}
			return r;
		}
		if (sl->opcode != CQL_OP_RESULT) {
			jerr_set(err, "%s: %s: unexpected answer 0x%02x", s->name, s->host,
				 sl->opcode);
			return J_ERROR;
		}
		const char *why;
		if (cql_result_parse(sl->body, sl->len, res, &why) != 0) {
			jerr_set(err, "%s: %s: %s", s->name, s->host, why);
			return J_ERROR;
		}
		return J_OK;
	}
}

int cql_run(struct cql_sess *s, const struct cql_req *rq, struct cql_result *res, int *handle,
	    struct jerr *err)
{
	int r = cql_submit(s, rq, handle, err);
	if (r == J_OK)
		r = cql_wait(s, *handle, res, err);
	if (r != J_OK && *handle >= 0) {
		cql_release(s, *handle);
		*handle = -1;
	}
	return r;
}
