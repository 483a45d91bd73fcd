/*
 * cql_codec.c - the native protocol v4 notation, frames, results and typed
 * values, with no I/O (native_protocol_v4.spec sections 2, 3, 4.2.5, 6, 9).
 * Everything is big-endian; every read is bounds-checked through struct cql_rd,
 * which turns a short buffer into r->bad rather than an out-of-bounds read.
 */
#include "cql.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/banned.h"

void cqlb_reserve(struct cql_buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void cqlb_release(struct cql_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void cqlb_raw(struct cql_buf *b, const void *p, size_t n)
{
	cqlb_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void cqlb_u8(struct cql_buf *b, uint8_t v)
{
	cqlb_reserve(b, 1);
	b->p[b->len++] = v;
}

void cqlb_u16(struct cql_buf *b, uint16_t v)
{
	cqlb_reserve(b, 2);
	b->p[b->len++] = (uint8_t)(v >> 8);
	b->p[b->len++] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void cqlb_i32(struct cql_buf *b, int32_t v)
{
	cqlb_reserve(b, 4);
	put32(b->p + b->len, (uint32_t)v);
	b->len += 4;
}

void cqlb_i64(struct cql_buf *b, int64_t v)
{
	cqlb_reserve(b, 8);
	put32(b->p + b->len, (uint32_t)((uint64_t)v >> 32));
	put32(b->p + b->len + 4, (uint32_t)v);
	b->len += 8;
}

void cqlb_string(struct cql_buf *b, const char *s, size_t n)
{
	cqlb_u16(b, (uint16_t)n);
	cqlb_raw(b, s, n);
}

void cqlb_lstring(struct cql_buf *b, const char *s, size_t n)
{
	cqlb_i32(b, (int32_t)n);
	cqlb_raw(b, s, n);
}

void cqlb_sbytes(struct cql_buf *b, const void *p, size_t n)
{
	cqlb_u16(b, (uint16_t)n);
	cqlb_raw(b, p, n);
}

void cqlb_bytes(struct cql_buf *b, const void *p, int32_t n)
{
	cqlb_i32(b, n);
	if (n > 0)
		cqlb_raw(b, p, (size_t)n);
}

void cqlb_put_i32(struct cql_buf *b, size_t off, int32_t v)
{
	put32(b->p + off, (uint32_t)v);
}

size_t cql_frame_begin(struct cql_buf *b, uint8_t version, uint8_t opcode, int16_t stream)
{
	size_t start = b->len;
	cqlb_u8(b, version);
	cqlb_u8(b, 0);
	cqlb_u16(b, (uint16_t)stream);
	cqlb_u8(b, opcode);
	cqlb_i32(b, 0);
	return start;
}

void cql_frame_end(struct cql_buf *b, size_t start)
{
	cqlb_put_i32(b, start + 5, (int32_t)(b->len - start - CQL_HEADER_LEN));
}

void cqlv_null(struct cql_buf *b)
{
	cqlb_i32(b, -1);
}

void cqlv_int(struct cql_buf *b, int32_t v)
{
	cqlb_i32(b, 4);
	cqlb_i32(b, v);
}

void cqlv_bigint(struct cql_buf *b, int64_t v)
{
	cqlb_i32(b, 8);
	cqlb_i64(b, v);
}

void cqlv_double(struct cql_buf *b, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	cqlv_bigint(b, (int64_t)u);
}

void cqlv_text(struct cql_buf *b, const char *s, size_t n)
{
	cqlb_bytes(b, s, (int32_t)n);
}

void cqlv_uuid(struct cql_buf *b, const uint8_t u[16])
{
	cqlb_bytes(b, u, 16);
}

void cqlv_boolean(struct cql_buf *b, int v)
{
	cqlb_i32(b, 1);
	cqlb_u8(b, v ? 1 : 0);
}

/* decimal: [int scale][varint unscaled], the varint in the fewest two's-complement bytes */
void cqlv_decimal(struct cql_buf *b, int64_t unscaled, int32_t scale)
{
	uint8_t be[8];
	int n = 8;
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)((uint64_t)unscaled >> (56 - 8 * i));
	int k = 0;
	while (k < 7 &&
	       ((be[k] == 0x00 && !(be[k + 1] & 0x80)) || (be[k] == 0xff && (be[k + 1] & 0x80))))
		k++;
	n = 8 - k;
	cqlb_i32(b, 4 + n);
	cqlb_i32(b, scale);
	cqlb_raw(b, be + k, (size_t)n);
}

/* ---- reading ---- */

static int need(struct cql_rd *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return 0;
	}
	return 1;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint8_t cqlr_u8(struct cql_rd *r)
{
	if (!need(r, 1))
		return 0;
	return *r->p++;
}

uint16_t cqlr_u16(struct cql_rd *r)
{
	if (!need(r, 2))
		return 0;
	uint16_t v = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	return v;
}

int32_t cqlr_i32(struct cql_rd *r)
{
	if (!need(r, 4))
		return 0;
	uint32_t v = get32(r->p);
	r->p += 4;
	return (int32_t)v;
}

int64_t cqlr_i64(struct cql_rd *r)
{
	if (!need(r, 8))
		return 0;
	uint64_t v = (uint64_t)get32(r->p) << 32 | get32(r->p + 4);
	r->p += 8;
	return (int64_t)v;
}

const char *cqlr_string(struct cql_rd *r, size_t *n)
{
	size_t len = cqlr_u16(r);
	*n = 0;
	if (!need(r, len))
		return NULL;
	const char *s = (const char *)r->p;
	r->p += len;
	*n = len;
	return s;
}

const char *cqlr_lstring(struct cql_rd *r, size_t *n)
{
	int32_t len = cqlr_i32(r);
	*n = 0;
	if (len < 0 || !need(r, (size_t)len)) {
		r->bad = 1;
		return NULL;
	}
	const char *s = (const char *)r->p;
	r->p += len;
	*n = (size_t)len;
	return s;
}

const uint8_t *cqlr_sbytes(struct cql_rd *r, size_t *n)
{
	return (const uint8_t *)cqlr_string(r, n);
}

const uint8_t *cqlr_bytes(struct cql_rd *r, int32_t *n)
{
	int32_t len = cqlr_i32(r);
	*n = len;
	if (r->bad || len < 0)
		return NULL;
	if (!need(r, (size_t)len)) {
		*n = -1;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += len;
	return p;
}

/*
 * Nesting of type options: Cassandra itself allows a few levels (a map of
 * lists of tuples); a deeper one is a hostile or broken server, and without a
 * limit an 8 MB body of nested options ran the stack out.
 */
#define OPTION_MAX_DEPTH 16

static void skip_option(struct cql_rd *r, int depth)
{
	size_t n;
	if (depth > OPTION_MAX_DEPTH) {
		r->bad = 1;
		return;
	}
	uint16_t id = cqlr_u16(r);
	switch (id) {
	case CQL_T_CUSTOM:
		cqlr_string(r, &n);
		break;
	case CQL_T_LIST:
	case CQL_T_SET:
		skip_option(r, depth + 1);
		break;
	case CQL_T_MAP:
		skip_option(r, depth + 1);
		skip_option(r, depth + 1);
		break;
	case CQL_T_UDT: {
		cqlr_string(r, &n);
		cqlr_string(r, &n);
		uint16_t k = cqlr_u16(r);
		for (uint16_t i = 0; i < k && !r->bad; i++) {
			cqlr_string(r, &n);
			skip_option(r, depth + 1);
		}
		break;
	}
	case CQL_T_TUPLE: {
		uint16_t k = cqlr_u16(r);
		for (uint16_t i = 0; i < k && !r->bad; i++)
			skip_option(r, depth + 1);
		break;
	}
	default:
		break;
	}
}

void cqlr_skip_option(struct cql_rd *r)
{
	skip_option(r, 0);
}

long cql_frame_parse(const uint8_t *buf, size_t n, struct cql_frame *f)
{
	if (n < 1)
		return 0;
	f->version = buf[0];
	if ((buf[0] & 0x7f) != CQL_VERSION_REQ)
		return -1;
	if (n < CQL_HEADER_LEN)
		return 0;
	f->flags = buf[1];
	f->stream = (int16_t)(buf[2] << 8 | buf[3]);
	f->opcode = buf[4];
	f->len = get32(buf + 5);
	if (f->len > CQL_MAX_BODY)
		return -1;
	if (n < CQL_HEADER_LEN + (size_t)f->len)
		return 0;
	f->body = buf + CQL_HEADER_LEN;
	return (long)(CQL_HEADER_LEN + f->len);
}

int cql_frame_skip_extras(struct cql_frame *f, int *nwarnings)
{
	struct cql_rd r;
	size_t n;
	*nwarnings = 0;
	if (f->flags & CQL_FLAG_COMPRESSION)
		return -1;
	cqlr_init(&r, f->body, f->len);
	if (f->flags & CQL_FLAG_TRACING) {
		if (f->len < 16)
			return -1;
		r.p += 16;
	}
	if (f->flags & CQL_FLAG_WARNING) {
		int k = cqlr_u16(&r);
		for (int i = 0; i < k && !r.bad; i++)
			(void)cqlr_string(&r, &n);
		*nwarnings = k;
	}
	if (f->flags & CQL_FLAG_PAYLOAD) {
		int k = cqlr_u16(&r);
		for (int i = 0; i < k && !r.bad; i++) {
			int32_t bn;
			(void)cqlr_string(&r, &n);
			(void)cqlr_bytes(&r, &bn);
		}
	}
	if (r.bad)
		return -1;
	f->len -= (uint32_t)(r.p - f->body);
	f->body = r.p;
	return 0;
}

int cql_meta_parse(struct cql_rd *r, struct cql_meta *m, int prepared)
{
	size_t n;
	m->flags = (uint32_t)cqlr_i32(r);
	m->ncols = cqlr_i32(r);
	m->paging_state = NULL;
	m->paging_len = 0;
	m->pk_count = 0;
	if (m->ncols < 0 || m->ncols > CQL_MAX_COLS)
		return -1;
	if (prepared) {
		m->pk_count = cqlr_i32(r);
		if (m->pk_count < 0 || m->pk_count > m->ncols)
			return -1;
		for (int i = 0; i < m->pk_count; i++)
			cqlr_u16(r);
	} else if (m->flags & CQL_MF_MORE_PAGES) {
		int32_t len;
		m->paging_state = cqlr_bytes(r, &len);
		m->paging_len = len > 0 ? (size_t)len : 0;
		if (len <= 0)
			m->paging_state = NULL;
	}
	if (m->flags & CQL_MF_NO_METADATA)
		return r->bad ? -1 : 0;
	if (m->flags & CQL_MF_GLOBAL_SPEC) {
		cqlr_string(r, &n);
		cqlr_string(r, &n);
	}
	for (int i = 0; i < m->ncols && !r->bad; i++) {
		if (!(m->flags & CQL_MF_GLOBAL_SPEC)) {
			cqlr_string(r, &n);
			cqlr_string(r, &n);
		}
		m->cols[i].name = cqlr_string(r, &n);
		m->cols[i].name_len = (uint16_t)n;
		const uint8_t *at = r->p;
		cqlr_skip_option(r);
		m->cols[i].type = r->bad ? 0 : (uint16_t)(at[0] << 8 | at[1]);
	}
	return r->bad ? -1 : 0;
}

int cql_result_parse(const uint8_t *body, size_t n, struct cql_result *res, const char **why)
{
	struct cql_rd r;
	cqlr_init(&r, body, n);
	memset(res, 0, sizeof(*res));
	res->body = body;
	res->body_len = n;
	res->kind = cqlr_i32(&r);
	*why = "truncated result";
	switch (res->kind) {
	case CQL_RES_VOID:
		break;
	case CQL_RES_ROWS:
		if (cql_meta_parse(&r, &res->meta, 0) != 0) {
			*why = "malformed rows metadata";
			return -1;
		}
		res->nrows = cqlr_i32(&r);
		if (res->nrows < 0) {
			*why = "negative row count";
			return -1;
		}
		/* each cell takes at least its 4-byte length: a count the body cannot hold
		 * (or rows of no columns) would have callers loop over nothing */
		if (res->nrows > 0 &&
		    (res->meta.ncols == 0 || (uint64_t)res->nrows * 4 * (uint64_t)res->meta.ncols >
						 (size_t)(r.end - r.p))) {
			*why = "more rows than the body holds";
			return -1;
		}
		res->rows = r;
		break;
	case CQL_RES_SET_KEYSPACE:
		res->change = cqlr_string(&r, &res->change_len);
		break;
	case CQL_RES_PREPARED:
		res->prep_id = cqlr_sbytes(&r, &res->prep_id_len);
		if (cql_meta_parse(&r, &res->params, 1) != 0 ||
		    cql_meta_parse(&r, &res->meta, 0) != 0) {
			*why = "malformed prepared metadata";
			return -1;
		}
		break;
	case CQL_RES_SCHEMA_CHANGE:
		res->change = cqlr_string(&r, &res->change_len);
		break;
	default:
		*why = "unknown result kind";
		return -1;
	}
	return r.bad ? -1 : 0;
}

int cql_row_next(struct cql_result *res, int32_t *left, struct cql_cell *cells, int ncells)
{
	if (*left <= 0)
		return 0;
	struct cql_rd *r = &res->rows;
	/* the caller's array holds ncells: a row of another width is the server's error */
	if (res->kind != CQL_RES_ROWS || res->meta.ncols != ncells || r->bad) {
		r->bad = 1;
		return -1;
	}
	for (int i = 0; i < res->meta.ncols; i++) {
		/* inlined [bytes]: this is the decoder's hot loop */
		if (r->end - r->p < 4) {
			r->bad = 1;
			return -1;
		}
		int32_t len = (int32_t)get32(r->p);
		r->p += 4;
		cells[i].len = len;
		cells[i].p = r->p;
		if (len > 0) {
			if (r->end - r->p < len) {
				r->bad = 1;
				return -1;
			}
			r->p += len;
		}
	}
	(*left)--;
	return 1;
}

int cql_get_int(struct cql_cell c, int32_t *v)
{
	if (c.len != 4)
		return -1;
	*v = (int32_t)get32(c.p);
	return 0;
}

int cql_get_bigint(struct cql_cell c, int64_t *v)
{
	if (c.len != 8)
		return -1;
	*v = (int64_t)((uint64_t)get32(c.p) << 32 | get32(c.p + 4));
	return 0;
}

int cql_get_double(struct cql_cell c, double *v)
{
	int64_t i;
	if (cql_get_bigint(c, &i) != 0)
		return -1;
	memcpy(v, &i, 8);
	return 0;
}

int cql_get_uuid(struct cql_cell c, uint8_t u[16])
{
	if (c.len != 16)
		return -1;
	memcpy(u, c.p, 16);
	return 0;
}

int cql_get_boolean(struct cql_cell c, int *v)
{
	if (c.len != 1)
		return -1;
	*v = c.p[0] != 0;
	return 0;
}

/* 10^0 .. 10^18: every power of ten an int64 holds */
static const int64_t pow10_i64[19] = {1LL,
				      10LL,
				      100LL,
				      1000LL,
				      10000LL,
				      100000LL,
				      1000000LL,
				      10000000LL,
				      100000000LL,
				      1000000000LL,
				      10000000000LL,
				      100000000000LL,
				      1000000000000LL,
				      10000000000000LL,
				      100000000000000LL,
				      1000000000000000LL,
				      10000000000000000LL,
				      100000000000000000LL,
				      1000000000000000000LL};

int cql_get_decimal_scaled(struct cql_cell c, int32_t scale, int64_t *v)
{
	if (c.len < 5 || c.len > 12)
		return -1;
	int32_t s = (int32_t)get32(c.p);
	int64_t u = (c.p[4] & 0x80) ? -1 : 0;
	for (int32_t i = 4; i < c.len; i++)
		u = (int64_t)(((uint64_t)u << 8) | c.p[i]);
	if (u == 0) { /* zero at any scale, even an extreme one */
		*v = 0;
		return 0;
	}
	/*
	 * Bring the unscaled value from scale s to scale `scale`, exactly, in one
	 * step: a nonzero int64 times 10^19 or more overflows, and none is a
	 * multiple of 10^19, so a wider difference is refused without a loop (a
	 * loop over the difference took seconds for a scale near INT32_MIN).
	 */
	int64_t d = (int64_t)scale - s;
	if (d > 18 || d < -18)
		return -1;
	if (d > 0) {
		int64_t p = pow10_i64[d];
		if (u > INT64_MAX / p || u < INT64_MIN / p)
			return -1;
		u *= p;
	} else if (d < 0) {
		int64_t p = pow10_i64[-d];
		if (u % p != 0)
			return -1;
		u /= p;
	}
	*v = u;
	return 0;
}

int cql_error_parse(const uint8_t *body, size_t n, struct cql_error *e)
{
	struct cql_rd r;
	cqlr_init(&r, body, n);
	memset(e, 0, sizeof(*e));
	e->code = cqlr_i32(&r);
	e->msg = cqlr_string(&r, &e->msg_len);
	if (e->code == CQL_E_UNPREPARED)
		e->unprepared_id = cqlr_sbytes(&r, &e->unprepared_len);
	return r.bad ? -1 : 0;
}

const char *cql_error_name(int32_t code)
{
	switch (code) {
	case CQL_E_SERVER:
		return "server error";
	case CQL_E_PROTOCOL:
		return "protocol error";
	case CQL_E_BAD_CREDENTIALS:
		return "bad credentials";
	case CQL_E_UNAVAILABLE:
		return "unavailable";
	case CQL_E_OVERLOADED:
		return "overloaded";
	case CQL_E_BOOTSTRAPPING:
		return "bootstrapping";
	case CQL_E_TRUNCATE:
		return "truncate error";
	case CQL_E_WRITE_TIMEOUT:
		return "write timeout";
	case CQL_E_READ_TIMEOUT:
		return "read timeout";
	case CQL_E_READ_FAILURE:
		return "read failure";
	case CQL_E_FUNCTION_FAILURE:
		return "function failure";
	case CQL_E_WRITE_FAILURE:
		return "write failure";
	case CQL_E_SYNTAX:
		return "syntax error";
	case CQL_E_UNAUTHORIZED:
		return "unauthorized";
	case CQL_E_INVALID:
		return "invalid";
	case CQL_E_CONFIG:
		return "config error";
	case CQL_E_ALREADY_EXISTS:
		return "already exists";
	case CQL_E_UNPREPARED:
		return "unprepared";
	default:
		return "error";
	}
}

int cql_error_retryable(int32_t code)
{
	return code == CQL_E_UNAVAILABLE || code == CQL_E_OVERLOADED ||
	       code == CQL_E_BOOTSTRAPPING || code == CQL_E_WRITE_TIMEOUT ||
	       code == CQL_E_READ_TIMEOUT;
}

uint64_t cql_timeuuid_ticks(const uint8_t u[16])
{
	uint64_t low = (uint64_t)u[0] << 24 | (uint64_t)u[1] << 16 | (uint64_t)u[2] << 8 | u[3];
	uint64_t mid = (uint64_t)u[4] << 8 | u[5];
	uint64_t hi = ((uint64_t)u[6] & 0x0f) << 8 | u[7];
	return hi << 48 | mid << 32 | low;
}

int64_t cql_timeuuid_ms(const uint8_t u[16])
{
	return (int64_t)((cql_timeuuid_ticks(u) - CQL_TICKS_UNIX_OFFSET) / 10000);
}

void cql_timeuuid_make(uint8_t u[16], uint64_t ticks, const uint8_t low8[8])
{
	u[0] = (uint8_t)(ticks >> 24);
	u[1] = (uint8_t)(ticks >> 16);
	u[2] = (uint8_t)(ticks >> 8);
	u[3] = (uint8_t)ticks;
	u[4] = (uint8_t)(ticks >> 40);
	u[5] = (uint8_t)(ticks >> 32);
	u[6] = (uint8_t)(0x10 | ((ticks >> 56) & 0x0f));
	u[7] = (uint8_t)(ticks >> 48);
	memcpy(u + 8, low8, 8);
}
