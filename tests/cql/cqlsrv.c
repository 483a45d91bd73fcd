/*
 * cqlsrv.c - an in-memory CQL server for tests: the native protocol v4 and
 * the subset of CQL this project and its driver tests use. Nothing is
 * persisted; a restart starts empty (and forgets prepared statements, which
 * is how the tests make a client see Unprepared).
 *
 *   cqlsrv [--listen ADDR] [--port N] [--port-file F] [--auth USER:PASS] [--dc NAME]
 *          [--tls-cert CERT.pem KEY.pem]   (every connection TLS, OpenSSL)
 *          [--delay-match TEXT --delay-ms MS [--delay-count N] [--delay-mode answer|timeout]]
 *
 * Faults: --delay-* hold matching requests (see hold_frame), to show what a
 * slow or timed-out write does to the event store.
 *
 * Protocol: STARTUP (then AUTHENTICATE / SASL PLAIN when --auth), OPTIONS,
 * QUERY, PREPARE, EXECUTE, BATCH, REGISTER; stream ids answered as they come;
 * a frame of another version gets ERROR 0x000A "Invalid or unsupported
 * protocol version", in that version's header layout, as Cassandra does.
 *
 * CQL: CREATE/DROP KEYSPACE, CREATE/DROP TABLE, TRUNCATE, USE, INSERT
 * [IF NOT EXISTS], DELETE of a row by its whole primary key, SELECT cols|*|COUNT(*) with WHERE col
 * op term [AND ...]
 * (=, <, <=, >, >=; a partition is looked up when its whole key is given by =,
 * any other condition filters), ORDER BY the clustering column [DESC], LIMIT,
 * paging. system.local and system.peers exist, as a one-node cluster.
 * Filtering is allowed without ALLOW FILTERING: the server is lenient where
 * Cassandra refuses, so a query shape must be checked against Cassandra's
 * rules by reading it (docs/architecture.md lists the ones jobads issues).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cql/cql.h"

#include "jobads/banned.h"

#define MAXCOLS	 48
#define MAXCONDS 8
#define MAXTERMS 64
#define NAMELEN	 64

/* ---------- data ---------- */

struct col {
	char name[NAMELEN];
	uint16_t type, sub1, sub2;
};

/* A row is its cells in wire format: [int len][bytes] per column, in column order. */
struct part {
	uint8_t *key;
	size_t keylen;
	uint8_t **rows;
	size_t n, cap;
	/* row tombstones (DELETE ... USING TIMESTAMP): a clustering key's cells and the
	 * timestamp; an INSERT of that row with a timestamp not above it is shadowed */
	struct tomb {
		uint8_t *ck;
		size_t n;
		int64_t ts;
	} * tombs;
	size_t ntombs;
};

struct table {
	char ks[NAMELEN], name[NAMELEN];
	int ncols;
	struct col cols[MAXCOLS];
	int npk, pk[8], nck, ck[8], desc;
	struct part **parts;
	size_t nparts, pcap;
	uint32_t *idx; /* open addressing: part index + 1 */
	size_t icap;
	int dropped;
};

static struct table **tables;
static size_t ntables;
static char keyspaces[256][NAMELEN];
static int nkeyspaces;
static char *auth_user, *auth_pass;
static const char *datacenter = "datacenter1";

/* ---------- prepared statements ---------- */

struct prepared {
	uint8_t id[16];
	char *text;
	char ks[NAMELEN];
};
static struct prepared *preps;
static size_t npreps, cpreps;

/* ---------- errors ---------- */

struct err {
	int code;
	char msg[512];
	char ks[NAMELEN], tbl[NAMELEN];
};

static int fail(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->code = code;
	return -1;
}

/* ---------- cells ---------- */

static const uint8_t *cell_at(const uint8_t *row, int i, int32_t *len)
{
	const uint8_t *p = row;
	for (;;) {
		int32_t l = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
				      (uint32_t)p[2] << 8 | p[3]);
		if (i == 0) {
			*len = l;
			return p + 4;
		}
		p += 4 + (l > 0 ? l : 0);
		i--;
	}
}

static size_t row_size(const uint8_t *row, int ncols)
{
	int32_t l;
	const uint8_t *p = cell_at(row, ncols - 1, &l);
	return (size_t)(p - row) + (l > 0 ? (size_t)l : 0);
}

static int64_t be_int(const uint8_t *p, int n)
{
	int64_t v = (p[0] & 0x80) ? -1 : 0;
	for (int i = 0; i < n; i++)
		v = (int64_t)(((uint64_t)v << 8) | p[i]);
	return v;
}

static int cmp_bytes_signed(const uint8_t *a, const uint8_t *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i] != b[i])
			return (int8_t)a[i] < (int8_t)b[i] ? -1 : 1;
	return 0;
}

static int cmp_val(uint16_t type, const uint8_t *a, int32_t al, const uint8_t *b, int32_t bl)
{
	if (al < 0 || bl < 0)
		return (al >= 0) - (bl >= 0);
	switch (type) {
	case CQL_T_INT:
	case CQL_T_BIGINT:
	case CQL_T_TIMESTAMP:
	case CQL_T_COUNTER:
	case CQL_T_SMALLINT:
	case CQL_T_TINYINT:
		if (al > 0 && bl > 0 && al <= 8 && bl <= 8) {
			int64_t x = be_int(a, al), y = be_int(b, bl);
			return (x > y) - (x < y);
		}
		break;
	case CQL_T_DOUBLE:
		if (al == 8 && bl == 8) {
			double x, y;
			uint64_t u = (uint64_t)be_int(a, 8), w = (uint64_t)be_int(b, 8);
			memcpy(&x, &u, 8);
			memcpy(&y, &w, 8);
			return (x > y) - (x < y);
		}
		break;
	case CQL_T_TIMEUUID:
	case CQL_T_UUID:
		if (al == 16 && bl == 16 &&
		    (type == CQL_T_TIMEUUID || ((a[6] >> 4) == 1 && (b[6] >> 4) == 1))) {
			/* Cassandra's TimeUUIDType: the timestamp, then the rest as signed bytes */
			uint64_t x = cql_timeuuid_ticks(a), y = cql_timeuuid_ticks(b);
			if (x != y)
				return x < y ? -1 : 1;
			return cmp_bytes_signed(a + 8, b + 8, 8);
		}
		break;
	default:
		break;
	}
	int32_t n = al < bl ? al : bl;
	int c = n ? memcmp(a, b, (size_t)n) : 0;
	if (c)
		return c < 0 ? -1 : 1;
	return (al > bl) - (al < bl);
}

/* ---------- tables ---------- */

static int ks_exists(const char *ks)
{
	for (int i = 0; i < nkeyspaces; i++)
		if (strcmp(keyspaces[i], ks) == 0)
			return 1;
	return 0;
}

static struct table *find_table(const char *ks, const char *name)
{
	for (size_t i = 0; i < ntables; i++)
		if (!tables[i]->dropped && strcmp(tables[i]->ks, ks) == 0 &&
		    strcmp(tables[i]->name, name) == 0)
			return tables[i];
	return NULL;
}

static int col_index(const struct table *t, const char *name, size_t n)
{
	for (int i = 0; i < t->ncols; i++)
		if (strlen(t->cols[i].name) == n && strncmp(t->cols[i].name, name, n) == 0)
			return i;
	return -1;
}

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void drop_parts(struct table *t)
{
	for (size_t i = 0; i < t->nparts; i++) {
		for (size_t k = 0; k < t->parts[i]->n; k++)
			free(t->parts[i]->rows[k]);
		free(t->parts[i]->rows);
		for (size_t k = 0; k < t->parts[i]->ntombs; k++)
			free(t->parts[i]->tombs[k].ck);
		free(t->parts[i]->tombs);
		free(t->parts[i]->key);
		free(t->parts[i]);
	}
	free(t->parts);
	free(t->idx);
	t->parts = NULL;
	t->idx = NULL;
	t->nparts = t->pcap = t->icap = 0;
}

static struct part *find_part(struct table *t, const uint8_t *key, size_t n, int create,
			      size_t *index)
{
	if (t->icap == 0) {
		if (!create)
			return NULL;
		t->icap = 1024;
		t->idx = xcalloc(t->icap, sizeof(uint32_t));
	}
	uint32_t h = hash_bytes(key, n);
	size_t i = h & (t->icap - 1);
	while (t->idx[i]) {
		struct part *p = t->parts[t->idx[i] - 1];
		if (p->keylen == n && memcmp(p->key, key, n) == 0) {
			if (index)
				*index = t->idx[i] - 1;
			return p;
		}
		i = (i + 1) & (t->icap - 1);
	}
	if (!create)
		return NULL;
	if (t->nparts == t->pcap) {
		t->pcap = t->pcap ? t->pcap * 2 : 64;
		t->parts = xrealloc(t->parts, t->pcap * sizeof(*t->parts));
	}
	struct part *p = xcalloc(1, sizeof(*p));
	p->key = xmalloc(n ? n : 1);
	memcpy(p->key, key, n);
	p->keylen = n;
	t->parts[t->nparts++] = p;
	t->idx[i] = (uint32_t)t->nparts;
	if (index)
		*index = t->nparts - 1;
	if (t->nparts * 2 > t->icap) { /* grow and rehash */
		free(t->idx);
		t->icap *= 2;
		t->idx = xcalloc(t->icap, sizeof(uint32_t));
		for (size_t k = 0; k < t->nparts; k++) {
			size_t j =
			    hash_bytes(t->parts[k]->key, t->parts[k]->keylen) & (t->icap - 1);
			while (t->idx[j])
				j = (j + 1) & (t->icap - 1);
			t->idx[j] = (uint32_t)(k + 1);
		}
	}
	return p;
}

/* Compare a row's clustering key with key cells given as (ptr, len) arrays. */
static int ck_cmp(const struct table *t, const uint8_t *row, const uint8_t **kp, const int32_t *kl)
{
	for (int i = 0; i < t->nck; i++) {
		int32_t l;
		const uint8_t *c = cell_at(row, t->ck[i], &l);
		int r = cmp_val(t->cols[t->ck[i]].type, c, l, kp[i], kl[i]);
		if (r)
			return t->desc ? -r : r;
	}
	return 0;
}

/* First row index whose clustering key is >= key (strict: > key). */
static size_t lower_bound(const struct table *t, const struct part *p, const uint8_t **kp,
			  const int32_t *kl, int strict)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = ck_cmp(t, p->rows[mid], kp, kl);
		if (c < 0 || (strict && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---------- tokenizer ---------- */

enum { K_END, K_ID, K_QID, K_STR, K_NUM, K_MARK, K_PUNCT };

struct tok {
	int k;
	const char *s;
	size_t n;
	size_t pos;
};

struct lexer {
	struct tok t[2048];
	int n, i;
	int nmarks;
};

static int lex(const char *q, size_t qn, struct lexer *L, struct err *e)
{
	size_t i = 0;
	L->n = L->i = L->nmarks = 0;
	while (i < qn) {
		char c = q[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			i++;
			continue;
		}
		if (c == '-' && i + 1 < qn && q[i + 1] == '-') {
			while (i < qn && q[i] != '\n')
				i++;
			continue;
		}
		if (L->n >= 2046)
			return fail(e, CQL_E_SYNTAX, "statement too long");
		struct tok *t = &L->t[L->n++];
		t->pos = i;
		t->s = q + i;
		uint8_t u[16];
		if (qn - i >= 36 && uuid_from_text(q + i, 36, u) == 0) {
			t->k = K_NUM;
			t->n = 36;
			i += 36;
			continue;
		}
		if (c == '\'') {
			size_t j = i + 1;
			while (j < qn && !(q[j] == '\'' && !(j + 1 < qn && q[j + 1] == '\'')))
				j += q[j] == '\'' ? 2 : 1;
			if (j >= qn)
				return fail(e, CQL_E_SYNTAX, "line 1:%zu unterminated string", i);
			t->k = K_STR;
			t->s = q + i + 1;
			t->n = j - i - 1;
			i = j + 1;
		} else if (c == '"') {
			size_t j = i + 1;
			while (j < qn && q[j] != '"')
				j++;
			if (j >= qn)
				return fail(e, CQL_E_SYNTAX, "line 1:%zu unterminated identifier",
					    i);
			t->k = K_QID;
			t->s = q + i + 1;
			t->n = j - i - 1;
			i = j + 1;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			   (c >= '0' && c <= '9') || c == '-' || c == '+') {
			size_t j = i + 1;
			int id = !((c >= '0' && c <= '9') || c == '-' || c == '+');
			while (j < qn &&
			       ((q[j] >= 'a' && q[j] <= 'z') || (q[j] >= 'A' && q[j] <= 'Z') ||
				q[j] == '_' || (q[j] >= '0' && q[j] <= '9') ||
				(!id && (q[j] == '.' || q[j] == '-' || q[j] == 'e'))))
				j++;
			t->k = id ? K_ID : K_NUM;
			t->n = j - i;
			i = j;
		} else if (c == '?') {
			t->k = K_MARK;
			t->n = 1;
			i++;
		} else if ((c == '<' || c == '>' || c == '!') && i + 1 < qn && q[i + 1] == '=') {
			t->k = K_PUNCT;
			t->n = 2;
			i += 2;
		} else if (strchr("(),;=<>.*{}:[]", c)) {
			t->k = K_PUNCT;
			t->n = 1;
			i++;
		} else {
			return fail(e, CQL_E_SYNTAX, "line 1:%zu unexpected character '%c'", i, c);
		}
	}
	L->t[L->n].k = K_END;
	L->t[L->n].s = "";
	L->t[L->n].n = 0;
	L->t[L->n].pos = qn;
	return 0;
}

static struct tok *peek(struct lexer *L)
{
	return &L->t[L->i];
}

static int is_kw(const struct tok *t, const char *kw)
{
	return t->k == K_ID && strlen(kw) == t->n && strncasecmp(t->s, kw, t->n) == 0;
}

static int accept_kw(struct lexer *L, const char *kw)
{
	if (is_kw(peek(L), kw)) {
		L->i++;
		return 1;
	}
	return 0;
}

static int accept_p(struct lexer *L, const char *p)
{
	struct tok *t = peek(L);
	if (t->k == K_PUNCT && t->n == strlen(p) && strncmp(t->s, p, t->n) == 0) {
		L->i++;
		return 1;
	}
	return 0;
}

static int expect_kw(struct lexer *L, const char *kw, struct err *e)
{
	if (accept_kw(L, kw))
		return 0;
	struct tok *t = peek(L);
	return fail(e, CQL_E_SYNTAX, "line 1:%zu mismatched input '%.*s' expecting %s", t->pos,
		    (int)t->n, t->s, kw);
}

static int expect_p(struct lexer *L, const char *p, struct err *e)
{
	if (accept_p(L, p))
		return 0;
	struct tok *t = peek(L);
	return fail(e, CQL_E_SYNTAX, "line 1:%zu mismatched input '%.*s' expecting '%s'", t->pos,
		    (int)t->n, t->s, p);
}

/* An identifier, lowercased unless quoted. */
static int ident(struct lexer *L, char out[NAMELEN], struct err *e)
{
	struct tok *t = peek(L);
	if ((t->k != K_ID && t->k != K_QID) || t->n == 0 || t->n >= NAMELEN)
		return fail(e, CQL_E_SYNTAX, "line 1:%zu no viable alternative at input '%.*s'",
			    t->pos, (int)t->n, t->s);
	for (size_t i = 0; i < t->n; i++)
		out[i] = t->k == K_ID && t->s[i] >= 'A' && t->s[i] <= 'Z' ? (char)(t->s[i] + 32)
									  : t->s[i];
	out[t->n] = '\0';
	L->i++;
	return 0;
}

/* [ks.]name */
static int qualified(struct lexer *L, const char *cur_ks, char ks[NAMELEN], char name[NAMELEN],
		     struct err *e)
{
	if (ident(L, name, e))
		return -1;
	if (accept_p(L, ".")) {
		memcpy(ks, name, NAMELEN);
		return ident(L, name, e);
	}
	if (!cur_ks || !cur_ks[0])
		return fail(e, CQL_E_INVALID,
			    "No keyspace has been specified. USE a keyspace, or explicitly "
			    "specify keyspace.tablename");
	snprintf(ks, NAMELEN, "%s", cur_ks);
	return 0;
}

/* ---------- statements ---------- */

struct term {
	int bind; /* marker index, or -1 for a literal */
	const struct tok *lit;
};

enum { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

struct cond {
	int col, op;
	struct term t;
};

enum {
	S_SELECT,
	S_INSERT,
	S_CREATE_KS,
	S_CREATE_TABLE,
	S_DROP_KS,
	S_DROP_TABLE,
	S_TRUNCATE,
	S_USE,
	S_DELETE
};

#define COL_NOW (-5) /* a projection of now() */

struct stmt {
	int type;
	struct table *t;
	char ks[NAMELEN], name[NAMELEN];
	int if_exists; /* IF [NOT] EXISTS */
	/* select */
	int star, count, nproj, proj[MAXCOLS];
	int nconds;
	struct cond conds[MAXCONDS];
	int desc, has_limit;
	struct term limit;
	/* insert, delete: USING TIMESTAMP */
	int has_ts;
	struct term ts;
	/* insert */
	int nins, ins[MAXCOLS];
	struct term vals[MAXCOLS];
	/* bind markers: column index, or -1 for LIMIT */
	int nbind, bindcol[MAXTERMS];
	/* create table */
	struct table *newt;
};

static int term(struct lexer *L, struct stmt *s, int col, struct term *t, struct err *e)
{
	struct tok *k = peek(L);
	if (k->k == K_MARK) {
		if (s->nbind >= MAXTERMS)
			return fail(e, CQL_E_INVALID, "too many bind markers");
		t->bind = s->nbind;
		s->bindcol[s->nbind++] = col;
		L->i++;
		return 0;
	}
	if (k->k == K_STR || k->k == K_NUM || k->k == K_ID) {
		t->bind = -1;
		t->lit = k;
		L->i++;
		return 0;
	}
	return fail(e, CQL_E_SYNTAX, "line 1:%zu no viable alternative at input '%.*s'", k->pos,
		    (int)k->n, k->s);
}

static int parse_type(struct lexer *L, struct col *c, struct err *e)
{
	static const struct {
		const char *n;
		uint16_t t;
	} names[] = {{"text", CQL_T_VARCHAR},	   {"varchar", CQL_T_VARCHAR},
		     {"ascii", CQL_T_ASCII},	   {"int", CQL_T_INT},
		     {"bigint", CQL_T_BIGINT},	   {"timestamp", CQL_T_TIMESTAMP},
		     {"uuid", CQL_T_UUID},	   {"timeuuid", CQL_T_TIMEUUID},
		     {"double", CQL_T_DOUBLE},	   {"decimal", CQL_T_DECIMAL},
		     {"boolean", CQL_T_BOOLEAN},   {"inet", CQL_T_INET},
		     {"blob", CQL_T_BLOB},	   {"float", CQL_T_FLOAT},
		     {"smallint", CQL_T_SMALLINT}, {"varint", CQL_T_VARINT},
		     {"counter", CQL_T_COUNTER},   {"date", CQL_T_DATE}};
	struct tok *t = peek(L);
	if (is_kw(t, "set") || is_kw(t, "list") || is_kw(t, "map")) {
		c->type = is_kw(t, "set") ? CQL_T_SET : is_kw(t, "list") ? CQL_T_LIST : CQL_T_MAP;
		L->i++;
		struct col sub;
		if (expect_p(L, "<", e) || parse_type(L, &sub, e))
			return -1;
		c->sub1 = sub.type;
		if (c->type == CQL_T_MAP) {
			if (expect_p(L, ",", e) || parse_type(L, &sub, e))
				return -1;
			c->sub2 = sub.type;
		}
		return expect_p(L, ">", e);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (is_kw(t, names[i].n)) {
			c->type = names[i].t;
			L->i++;
			return 0;
		}
	return fail(e, CQL_E_SYNTAX, "line 1:%zu unknown type '%.*s'", t->pos, (int)t->n, t->s);
}

/* Skip to the end of the statement (WITH options we do not model). */
static void skip_rest(struct lexer *L)
{
	while (peek(L)->k != K_END && !(peek(L)->k == K_PUNCT && peek(L)->s[0] == ';'))
		L->i++;
}

static int parse_create_table(struct lexer *L, struct stmt *s, const char *cur_ks, struct err *e)
{
	if (accept_kw(L, "if")) {
		if (expect_kw(L, "not", e) || expect_kw(L, "exists", e))
			return -1;
		s->if_exists = 1;
	}
	if (qualified(L, cur_ks, s->ks, s->name, e) || expect_p(L, "(", e))
		return -1;
	struct table *t = xcalloc(1, sizeof(*t));
	s->newt = t;
	snprintf(t->ks, NAMELEN, "%s", s->ks);
	snprintf(t->name, NAMELEN, "%s", s->name);
	char pk[16][NAMELEN];
	int npk = 0, nparts = 0; /* nparts: how many of pk[] are the partition key */
	do {
		if (accept_kw(L, "primary")) {
			if (expect_kw(L, "key", e) || expect_p(L, "(", e))
				return -1;
			if (accept_p(L, "(")) {
				do {
					if (npk >= 8 || ident(L, pk[npk++], e))
						return -1;
				} while (accept_p(L, ","));
				if (expect_p(L, ")", e))
					return -1;
				nparts = npk;
			} else {
				if (ident(L, pk[npk++], e))
					return -1;
				nparts = 1;
			}
			while (accept_p(L, ","))
				if (npk >= 16 || ident(L, pk[npk++], e))
					return -1;
			if (expect_p(L, ")", e))
				return -1;
			continue;
		}
		if (t->ncols >= MAXCOLS)
			return fail(e, CQL_E_INVALID, "too many columns");
		struct col *c = &t->cols[t->ncols];
		if (ident(L, c->name, e) || parse_type(L, c, e))
			return -1;
		t->ncols++;
		if (accept_kw(L, "primary")) {
			if (expect_kw(L, "key", e))
				return -1;
			snprintf(pk[0], NAMELEN, "%s", c->name);
			npk = nparts = 1;
		}
	} while (accept_p(L, ","));
	if (expect_p(L, ")", e))
		return -1;
	if (npk == 0)
		return fail(e, CQL_E_INVALID, "No PRIMARY KEY specifed (exactly one required)");
	for (int i = 0; i < npk; i++) {
		int ci = col_index(t, pk[i], strlen(pk[i]));
		if (ci < 0)
			return fail(e, CQL_E_INVALID,
				    "Unknown definition %s referenced in PRIMARY KEY", pk[i]);
		if (i < nparts)
			t->pk[t->npk++] = ci;
		else
			t->ck[t->nck++] = ci;
	}
	if (accept_kw(L, "with")) {
		do {
			if (accept_kw(L, "clustering")) {
				if (expect_kw(L, "order", e) || expect_kw(L, "by", e) ||
				    expect_p(L, "(", e))
					return -1;
				do {
					char n[NAMELEN];
					if (ident(L, n, e))
						return -1;
					if (accept_kw(L, "desc"))
						t->desc = 1;
					else
						accept_kw(L, "asc");
				} while (accept_p(L, ","));
				if (expect_p(L, ")", e))
					return -1;
			} else {
				/* name = value: skip the value, a map or a literal */
				while (peek(L)->k != K_END && !is_kw(peek(L), "and") &&
				       !accept_p(L, ";")) {
					if (accept_p(L, "{")) {
						while (peek(L)->k != K_END && !accept_p(L, "}"))
							L->i++;
					} else {
						L->i++;
					}
				}
			}
		} while (accept_kw(L, "and"));
	}
	return 0;
}

static int parse_where(struct lexer *L, struct stmt *s, struct err *e)
{
	struct table *t = s->t;
	do {
		char n[NAMELEN];
		if (ident(L, n, e))
			return -1;
		int ci = col_index(t, n, strlen(n));
		if (ci < 0)
			return fail(e, CQL_E_INVALID, "Undefined column name %s", n);
		if (s->nconds >= MAXCONDS)
			return fail(e, CQL_E_INVALID, "too many conditions");
		struct cond *c = &s->conds[s->nconds++];
		c->col = ci;
		if (accept_p(L, "="))
			c->op = OP_EQ;
		else if (accept_p(L, "<="))
			c->op = OP_LE;
		else if (accept_p(L, ">="))
			c->op = OP_GE;
		else if (accept_p(L, "<"))
			c->op = OP_LT;
		else if (accept_p(L, ">"))
			c->op = OP_GT;
		else
			return fail(e, CQL_E_SYNTAX, "line 1:%zu unsupported operator '%.*s'",
				    peek(L)->pos, (int)peek(L)->n, peek(L)->s);
		if (term(L, s, ci, &c->t, e))
			return -1;
	} while (accept_kw(L, "and"));
	return 0;
}

static int resolve_table(struct stmt *s, struct err *e)
{
	if (!ks_exists(s->ks))
		return fail(e, CQL_E_INVALID, "Keyspace %s does not exist", s->ks);
	s->t = find_table(s->ks, s->name);
	if (!s->t)
		return fail(e, CQL_E_INVALID, "unconfigured table %s", s->name);
	return 0;
}

static int parse(const char *q, size_t qn, const char *cur_ks, struct stmt *s, struct err *e)
{
	static struct lexer L; /* single-threaded server */
	memset(s, 0, sizeof(*s));
	if (lex(q, qn, &L, e))
		return -1;
	if (accept_kw(&L, "select")) {
		s->type = S_SELECT;
		int save = L.i;
		if (accept_p(&L, "*")) {
			s->star = 1;
		} else if (accept_kw(&L, "count")) {
			if (expect_p(&L, "(", e) || (!accept_p(&L, "*") && !accept_kw(&L, "1")) ||
			    expect_p(&L, ")", e))
				return -1;
			s->count = 1;
		}
		int list_at = L.i;
		if (!s->star && !s->count) {
			/* the column list comes before FROM; resolve it after */
			while (peek(&L)->k != K_END && !is_kw(peek(&L), "from"))
				L.i++;
		}
		if (expect_kw(&L, "from", e) || qualified(&L, cur_ks, s->ks, s->name, e) ||
		    resolve_table(s, e))
			return -1;
		int after = L.i;
		if (!s->star && !s->count) {
			L.i = list_at;
			do {
				char n[NAMELEN];
				if (ident(&L, n, e))
					return -1;
				if (strcmp(n, "now") == 0 && accept_p(&L, "(")) {
					/* now(): the server's clock, a timeuuid */
					if (expect_p(&L, ")", e))
						return -1;
					s->proj[s->nproj++] = COL_NOW;
					continue;
				}
				int ci = col_index(s->t, n, strlen(n));
				if (ci < 0)
					return fail(e, CQL_E_INVALID, "Undefined column name %s",
						    n);
				s->proj[s->nproj++] = ci;
			} while (accept_p(&L, ","));
			L.i = after;
		}
		(void)save;
		if (accept_kw(&L, "where") && parse_where(&L, s, e))
			return -1;
		if (accept_kw(&L, "order")) {
			char n[NAMELEN];
			if (expect_kw(&L, "by", e) || ident(&L, n, e))
				return -1;
			if (accept_kw(&L, "desc"))
				s->desc = 1;
			else
				accept_kw(&L, "asc");
		}
		if (accept_kw(&L, "limit")) {
			s->has_limit = 1;
			if (term(&L, s, -1, &s->limit, e))
				return -1;
		}
		if (accept_kw(&L, "allow") && expect_kw(&L, "filtering", e))
			return -1;
	} else if (accept_kw(&L, "insert")) {
		s->type = S_INSERT;
		if (expect_kw(&L, "into", e) || qualified(&L, cur_ks, s->ks, s->name, e) ||
		    resolve_table(s, e) || expect_p(&L, "(", e))
			return -1;
		do {
			char n[NAMELEN];
			if (ident(&L, n, e))
				return -1;
			int ci = col_index(s->t, n, strlen(n));
			if (ci < 0)
				return fail(e, CQL_E_INVALID, "Undefined column name %s", n);
			if (s->nins >= MAXCOLS)
				return fail(e, CQL_E_INVALID, "too many columns");
			s->ins[s->nins++] = ci;
		} while (accept_p(&L, ","));
		if (expect_p(&L, ")", e) || expect_kw(&L, "values", e) || expect_p(&L, "(", e))
			return -1;
		for (int i = 0; i < s->nins; i++) {
			if (i && expect_p(&L, ",", e))
				return -1;
			if (term(&L, s, s->ins[i], &s->vals[i], e))
				return -1;
		}
		if (expect_p(&L, ")", e))
			return -1;
		if (accept_kw(&L, "if")) {
			if (expect_kw(&L, "not", e) || expect_kw(&L, "exists", e))
				return -1;
			s->if_exists = 1;
		}
		if (accept_kw(&L, "using")) {
			if (expect_kw(&L, "timestamp", e) || term(&L, s, -4, &s->ts, e))
				return -1;
			s->has_ts = 1;
		}
	} else if (accept_kw(&L, "create")) {
		if (accept_kw(&L, "keyspace")) {
			s->type = S_CREATE_KS;
			if (accept_kw(&L, "if")) {
				if (expect_kw(&L, "not", e) || expect_kw(&L, "exists", e))
					return -1;
				s->if_exists = 1;
			}
			if (ident(&L, s->ks, e) || expect_kw(&L, "with", e))
				return -1;
			skip_rest(&L);
		} else if (accept_kw(&L, "table") || accept_kw(&L, "columnfamily")) {
			s->type = S_CREATE_TABLE;
			if (parse_create_table(&L, s, cur_ks, e))
				return -1;
		} else {
			return fail(e, CQL_E_SYNTAX, "line 1:7 unsupported CREATE");
		}
	} else if (accept_kw(&L, "drop")) {
		int ks = accept_kw(&L, "keyspace");
		if (!ks && !accept_kw(&L, "table"))
			return fail(e, CQL_E_SYNTAX, "line 1:5 unsupported DROP");
		s->type = ks ? S_DROP_KS : S_DROP_TABLE;
		if (accept_kw(&L, "if")) {
			if (expect_kw(&L, "exists", e))
				return -1;
			s->if_exists = 1;
		}
		if (ks ? ident(&L, s->ks, e) : qualified(&L, cur_ks, s->ks, s->name, e))
			return -1;
	} else if (accept_kw(&L, "delete")) {
		/* DELETE FROM t WHERE <the whole primary key by => (a row) */
		s->type = S_DELETE;
		if (expect_kw(&L, "from", e) || qualified(&L, cur_ks, s->ks, s->name, e) ||
		    resolve_table(s, e))
			return -1;
		if (accept_kw(&L, "using")) {
			if (expect_kw(&L, "timestamp", e) || term(&L, s, -4, &s->ts, e))
				return -1;
			s->has_ts = 1;
		}
		if (expect_kw(&L, "where", e) || parse_where(&L, s, e))
			return -1;
	} else if (accept_kw(&L, "truncate")) {
		s->type = S_TRUNCATE;
		accept_kw(&L, "table");
		if (qualified(&L, cur_ks, s->ks, s->name, e) || resolve_table(s, e))
			return -1;
	} else if (accept_kw(&L, "use")) {
		s->type = S_USE;
		if (ident(&L, s->ks, e))
			return -1;
	} else {
		return fail(e, CQL_E_SYNTAX, "line 1:0 no viable alternative at input '%.*s'",
			    (int)peek(&L)->n, peek(&L)->s);
	}
	accept_p(&L, ";");
	if (peek(&L)->k != K_END)
		return fail(e, CQL_E_SYNTAX, "line 1:%zu extraneous input '%.*s'", peek(&L)->pos,
			    (int)peek(&L)->n, peek(&L)->s);
	return 0;
}

/* ---------- values ---------- */

struct vals {
	int n;
	const uint8_t *p[MAXTERMS];
	int32_t len[MAXTERMS];
};

/* A term's bytes for a column type; literals are converted into buf. */
static int term_bytes(const struct term *t, uint16_t type, const struct vals *v, uint8_t *buf,
		      const uint8_t **p, int32_t *len, struct err *e)
{
	if (t->bind >= 0) {
		if (t->bind >= v->n)
			return fail(e, CQL_E_INVALID,
				    "There were %d markers(?) in CQL but %d bound variables",
				    t->bind + 1, v->n);
		*p = v->p[t->bind];
		*len = v->len[t->bind];
		if (*len >= 0 &&
		    (((type == CQL_T_INT) && *len != 4) ||
		     ((type == CQL_T_BIGINT || type == CQL_T_TIMESTAMP || type == CQL_T_DOUBLE) &&
		      *len != 8) ||
		     ((type == CQL_T_UUID || type == CQL_T_TIMEUUID) && *len != 16)))
			return fail(e, CQL_E_INVALID, "Expected %d bytes for a %s value, got %d",
				    type == CQL_T_INT				   ? 4
				    : type == CQL_T_UUID || type == CQL_T_TIMEUUID ? 16
										   : 8,
				    type == CQL_T_INT				   ? "int"
				    : type == CQL_T_UUID || type == CQL_T_TIMEUUID ? "uuid"
										   : "64-bit",
				    *len);
		if (type == CQL_T_TIMEUUID && *len == 16 && (v->p[t->bind][6] >> 4) != 1)
			return fail(e, CQL_E_INVALID,
				    "Unsupported UUID for timeuuid column: version %d",
				    v->p[t->bind][6] >> 4);
		return 0;
	}
	const struct tok *k = t->lit;
	char tmp[128];
	if (k->n >= sizeof(tmp) && k->k != K_STR)
		return fail(e, CQL_E_INVALID, "literal too long");
	switch (type) {
	case CQL_T_VARCHAR:
	case CQL_T_ASCII: {
		if (k->k != K_STR)
			return fail(e, CQL_E_INVALID,
				    "Invalid INTEGER constant (%.*s) for a text column", (int)k->n,
				    k->s);
		size_t o = 0;
		for (size_t i = 0; i < k->n && o < 4096; i++) {
			buf[o++] = (uint8_t)k->s[i];
			if (k->s[i] == '\'')
				i++;
		}
		*p = buf;
		*len = (int32_t)o;
		return 0;
	}
	case CQL_T_INT:
	case CQL_T_BIGINT:
	case CQL_T_TIMESTAMP: {
		if (k->k != K_NUM)
			return fail(e, CQL_E_INVALID,
				    "Invalid constant (%.*s) for an integer column", (int)k->n,
				    k->s);
		memcpy(tmp, k->s, k->n);
		tmp[k->n] = '\0';
		char *end;
		long long x = strtoll(tmp, &end, 10);
		if (*end)
			return fail(e, CQL_E_INVALID, "Invalid integer constant %s", tmp);
		int n = type == CQL_T_INT ? 4 : 8;
		for (int i = 0; i < n; i++)
			buf[i] = (uint8_t)((uint64_t)x >> (8 * (n - 1 - i)));
		*p = buf;
		*len = n;
		return 0;
	}
	case CQL_T_DOUBLE: {
		memcpy(tmp, k->s, k->n);
		tmp[k->n] = '\0';
		double d = strtod(tmp, NULL);
		uint64_t u;
		memcpy(&u, &d, 8);
		for (int i = 0; i < 8; i++)
			buf[i] = (uint8_t)(u >> (56 - 8 * i));
		*p = buf;
		*len = 8;
		return 0;
	}
	case CQL_T_BOOLEAN:
		buf[0] = is_kw(k, "true");
		*p = buf;
		*len = 1;
		return 0;
	case CQL_T_UUID:
	case CQL_T_TIMEUUID: {
		/* a uuid literal lexes as one or several tokens: rebuild from the source text */
		if (k->n != 36 || uuid_from_text(k->s, 36, buf) != 0)
			return fail(e, CQL_E_INVALID, "Invalid UUID constant (%.*s)", (int)k->n,
				    k->s);
		*p = buf;
		*len = 16;
		return 0;
	}
	default:
		return fail(e, CQL_E_INVALID, "literals of this type are not supported here");
	}
}

/* ---------- results ---------- */

static void put_option(struct cql_buf *b, const struct col *c)
{
	cqlb_u16(b, c->type);
	if (c->type == CQL_T_SET || c->type == CQL_T_LIST)
		cqlb_u16(b, c->sub1);
	else if (c->type == CQL_T_MAP) {
		cqlb_u16(b, c->sub1);
		cqlb_u16(b, c->sub2);
	}
}

static void put_colspecs(struct cql_buf *b, const struct table *t, const int *cols, int n,
			 int flags_extra, int pk_count, const int *pk_idx, int prepared)
{
	cqlb_i32(b, CQL_MF_GLOBAL_SPEC | flags_extra);
	cqlb_i32(b, n);
	if (prepared) {
		cqlb_i32(b, pk_count);
		for (int i = 0; i < pk_count; i++)
			cqlb_u16(b, (uint16_t)pk_idx[i]);
	}
	cqlb_string(b, t->ks, strlen(t->ks));
	cqlb_string(b, t->name, strlen(t->name));
	for (int i = 0; i < n; i++) {
		if (cols[i] == -1) { /* [limit] */
			cqlb_string(b, "[limit]", 7);
			cqlb_u16(b, CQL_T_INT);
		} else if (cols[i] == -2) {
			cqlb_string(b, "[applied]", 9);
			cqlb_u16(b, CQL_T_BOOLEAN);
		} else if (cols[i] == -3) {
			cqlb_string(b, "count", 5);
			cqlb_u16(b, CQL_T_BIGINT);
		} else if (cols[i] == -4) {
			cqlb_string(b, "[timestamp]", 11);
			cqlb_u16(b, CQL_T_BIGINT);
		} else if (cols[i] == COL_NOW) {
			cqlb_string(b, "system.now()", 12);
			cqlb_u16(b, CQL_T_TIMEUUID);
		} else {
			cqlb_string(b, t->cols[cols[i]].name, strlen(t->cols[cols[i]].name));
			put_option(b, &t->cols[cols[i]]);
		}
	}
}

/* ---------- execution ---------- */

static uint8_t litbuf[MAXTERMS][4200];

/* A statement's write timestamp (USING TIMESTAMP), else now in microseconds, as Cassandra. */
static int stmt_ts(struct stmt *s, const struct vals *v, int64_t *ts, struct err *e)
{
	if (!s->has_ts) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		*ts = (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
		return 0;
	}
	const uint8_t *p;
	int32_t l;
	if (term_bytes(&s->ts, CQL_T_BIGINT, v, litbuf[MAXTERMS - 1], &p, &l, e))
		return -1;
	if (l != 8)
		return fail(e, CQL_E_INVALID, "Invalid value for USING TIMESTAMP");
	*ts = be_int(p, 8);
	return 0;
}

static int tomb_shadows(const struct part *p, const uint8_t *ck, size_t n, int64_t ts)
{
	for (size_t i = 0; i < p->ntombs; i++)
		if (p->tombs[i].n == n && memcmp(p->tombs[i].ck, ck, n) == 0 &&
		    p->tombs[i].ts >= ts)
			return 1;
	return 0;
}

/* Partition key bytes from = conditions, or -1 when the key is not fully given. */
static int where_key(struct stmt *s, const struct vals *v, struct cql_buf *key, struct err *e)
{
	struct table *t = s->t;
	for (int i = 0; i < t->npk; i++) {
		int found = 0;
		for (int c = 0; c < s->nconds; c++)
			if (s->conds[c].col == t->pk[i] && s->conds[c].op == OP_EQ) {
				const uint8_t *p;
				int32_t l;
				if (term_bytes(&s->conds[c].t, t->cols[t->pk[i]].type, v, litbuf[c],
					       &p, &l, e))
					return -2;
				cqlb_bytes(key, p, l);
				found = 1;
				break;
			}
		if (!found)
			return -1;
	}
	return 0;
}

static int row_matches(struct stmt *s, const uint8_t *row, const uint8_t **cp, const int32_t *cl)
{
	for (int c = 0; c < s->nconds; c++) {
		int32_t l;
		const uint8_t *x = cell_at(row, s->conds[c].col, &l);
		int r = cmp_val(s->t->cols[s->conds[c].col].type, x, l, cp[c], cl[c]);
		switch (s->conds[c].op) {
		case OP_EQ:
			if (r != 0)
				return 0;
			break;
		case OP_LT:
			if (r >= 0)
				return 0;
			break;
		case OP_LE:
			if (r > 0)
				return 0;
			break;
		case OP_GT:
			if (r <= 0)
				return 0;
			break;
		case OP_GE:
			if (r < 0)
				return 0;
			break;
		}
	}
	return 1;
}

static void put_row(struct cql_buf *b, struct stmt *s, const uint8_t *row)
{
	if (s->star) {
		cqlb_raw(b, row, row_size(row, s->t->ncols));
		return;
	}
	for (int i = 0; i < s->nproj; i++) {
		int32_t l;
		if (s->proj[i] == COL_NOW) {
			struct timespec t;
			clock_gettime(CLOCK_REALTIME, &t);
			uint64_t ticks = (uint64_t)t.tv_sec * 10000000ULL +
					 (uint64_t)t.tv_nsec / 100 + CQL_TICKS_UNIX_OFFSET;
			uint8_t id[16], node[8] = {0x80, 0, 0x01, 0, 0, 0, 0, 0};
			cql_timeuuid_make(id, ticks, node);
			cqlb_bytes(b, id, 16);
			continue;
		}
		const uint8_t *x = cell_at(row, s->proj[i], &l);
		cqlb_bytes(b, x, l);
	}
}

/* Paging state: [u32 partition index][the last row's clustering key cells]. */
static int exec_select(struct stmt *s, const struct vals *v, int32_t page_size,
		       const uint8_t *pstate, size_t plen, int skip_meta, struct cql_buf *out,
		       struct err *e)
{
	struct table *t = s->t;
	const uint8_t *cp[MAXCONDS];
	int32_t cl[MAXCONDS];
	for (int c = 0; c < s->nconds; c++)
		if (term_bytes(&s->conds[c].t, t->cols[s->conds[c].col].type, v, litbuf[c], &cp[c],
			       &cl[c], e))
			return -1;
	int64_t limit = INT64_MAX;
	if (s->has_limit) {
		const uint8_t *p;
		int32_t l;
		if (term_bytes(&s->limit, CQL_T_INT, v, litbuf[MAXCONDS], &p, &l, e))
			return -1;
		limit = be_int(p, 4);
		if (limit <= 0)
			return fail(e, CQL_E_INVALID, "LIMIT must be strictly positive");
	}
	struct cql_buf key = {0};
	int single = where_key(s, v, &key, e);
	if (single == -2) {
		cqlb_release(&key);
		return -1;
	}
	size_t pfirst = 0, plast = t->nparts, pidx;
	if (single == 0) {
		struct part *p = find_part(t, key.p, key.len, 0, &pidx);
		if (p) {
			pfirst = pidx;
			plast = pidx + 1;
		} else {
			plast = 0;
		}
	}
	cqlb_release(&key);
	/* resume */
	const uint8_t *kp[8];
	int32_t kl[8];
	int resume = 0;
	if (pstate && plen >= 4) {
		struct cql_rd r;
		cqlr_init(&r, pstate, plen);
		size_t at = (size_t)(uint32_t)cqlr_i32(&r);
		for (int i = 0; i < t->nck; i++)
			kp[i] = cqlr_bytes(&r, &kl[i]);
		if (r.bad || at < pfirst || at >= plast + (plast == 0))
			return fail(e, CQL_E_PROTOCOL, "Invalid value for the paging state");
		pfirst = at;
		resume = 1;
	}
	int cols[MAXCOLS + 1], ncols;
	if (s->count) {
		cols[0] = -3;
		ncols = 1;
	} else if (s->star) {
		ncols = t->ncols;
		for (int i = 0; i < ncols; i++)
			cols[i] = i;
	} else {
		ncols = s->nproj;
		memcpy(cols, s->proj, sizeof(int) * (size_t)ncols);
	}
	size_t meta_at = out->len;
	cqlb_i32(out, CQL_RES_ROWS);
	size_t flags_at = out->len;
	struct cql_buf rows = {0};
	int32_t nrows = 0;
	int64_t count = 0;
	int more = 0;
	size_t last_part = 0;
	const uint8_t *last_row = NULL;
	for (size_t pi = pfirst; pi < plast && !more; pi++) {
		struct part *p = t->parts[pi];
		size_t n = p->n;
		if (!s->desc) {
			size_t i = resume && pi == pfirst ? lower_bound(t, p, kp, kl, 1) : 0;
			for (; i < n; i++) {
				if (!row_matches(s, p->rows[i], cp, cl))
					continue;
				if (s->count) {
					count++;
					continue;
				}
				if ((int64_t)nrows >= limit)
					break;
				if (page_size > 0 && nrows == page_size) {
					more = 1;
					break;
				}
				put_row(&rows, s, p->rows[i]);
				nrows++;
				last_part = pi;
				last_row = p->rows[i];
			}
		} else {
			size_t i = resume && pi == pfirst ? lower_bound(t, p, kp, kl, 0) : n;
			while (i-- > 0) {
				if (!row_matches(s, p->rows[i], cp, cl))
					continue;
				if ((int64_t)nrows >= limit)
					break;
				if (page_size > 0 && nrows == page_size) {
					more = 1;
					break;
				}
				put_row(&rows, s, p->rows[i]);
				nrows++;
				last_part = pi;
				last_row = p->rows[i];
			}
		}
		if ((int64_t)nrows >= limit)
			break;
	}
	/*
	 * Like Cassandra, a page that comes out exactly full says there may be more
	 * without looking: the client then gets an empty last page.
	 */
	if (!more && page_size > 0 && nrows == page_size && (int64_t)nrows < limit)
		more = 1;
	out->len = flags_at;
	int flags = (more ? CQL_MF_MORE_PAGES : 0) | (skip_meta ? CQL_MF_NO_METADATA : 0);
	if (skip_meta) {
		cqlb_i32(out, flags);
		cqlb_i32(out, ncols);
	}
	struct cql_buf ps = {0};
	if (more) {
		cqlb_i32(&ps, (int32_t)last_part);
		for (int i = 0; i < t->nck; i++) {
			int32_t l;
			const uint8_t *x = cell_at(last_row, t->ck[i], &l);
			cqlb_bytes(&ps, x, l);
		}
	}
	if (!skip_meta) {
		/* flags, count, [paging state], global spec, col specs */
		cqlb_i32(out, CQL_MF_GLOBAL_SPEC | flags);
		cqlb_i32(out, ncols);
		if (more)
			cqlb_bytes(out, ps.p, (int32_t)ps.len);
		cqlb_string(out, t->ks, strlen(t->ks));
		cqlb_string(out, t->name, strlen(t->name));
		for (int i = 0; i < ncols; i++) {
			if (cols[i] == -3) {
				cqlb_string(out, "count", 5);
				cqlb_u16(out, CQL_T_BIGINT);
			} else if (cols[i] == COL_NOW) {
				cqlb_string(out, "system.now()", 12);
				cqlb_u16(out, CQL_T_TIMEUUID);
			} else {
				cqlb_string(out, t->cols[cols[i]].name,
					    strlen(t->cols[cols[i]].name));
				put_option(out, &t->cols[cols[i]]);
			}
		}
	} else if (more) {
		cqlb_bytes(out, ps.p, (int32_t)ps.len);
	}
	cqlb_release(&ps);
	if (s->count) {
		cqlb_i32(out, 1);
		cqlv_bigint(out, count);
	} else {
		cqlb_i32(out, nrows);
		cqlb_raw(out, rows.p, rows.len);
	}
	cqlb_release(&rows);
	(void)meta_at;
	return 0;
}

static int exec_insert(struct stmt *s, const struct vals *v, struct cql_buf *out, struct err *e)
{
	struct table *t = s->t;
	const uint8_t *cp[MAXCOLS];
	int32_t cl[MAXCOLS];
	for (int i = 0; i < t->ncols; i++)
		cl[i] = -1;
	for (int i = 0; i < s->nins; i++) {
		int c = s->ins[i];
		if (term_bytes(&s->vals[i], t->cols[c].type, v, litbuf[i], &cp[c], &cl[c], e))
			return -1;
		if (cl[c] == -2) /* unset: leave the cell as it is */
			cl[c] = -3;
	}
	struct cql_buf key = {0};
	for (int i = 0; i < t->npk; i++) {
		if (cl[t->pk[i]] < 0) {
			cqlb_release(&key);
			return fail(e, CQL_E_INVALID,
				    "Invalid null value in condition for column %s",
				    t->cols[t->pk[i]].name);
		}
		cqlb_bytes(&key, cp[t->pk[i]], cl[t->pk[i]]);
	}
	for (int i = 0; i < t->nck; i++)
		if (cl[t->ck[i]] < 0) {
			cqlb_release(&key);
			return fail(e, CQL_E_INVALID, "Some clustering keys are missing: %s",
				    t->cols[t->ck[i]].name);
		}
	int64_t ts;
	if (stmt_ts(s, v, &ts, e)) {
		cqlb_release(&key);
		return -1;
	}
	struct part *p = find_part(t, key.p, key.len, 1, NULL);
	cqlb_release(&key);
	const uint8_t *kp[8];
	int32_t kl[8];
	struct cql_buf ckb = {0};
	for (int i = 0; i < t->nck; i++) {
		kp[i] = cp[t->ck[i]];
		kl[i] = cl[t->ck[i]];
		cqlb_bytes(&ckb, kp[i], kl[i]);
	}
	int shadowed = p->ntombs && tomb_shadows(p, ckb.p, ckb.len, ts);
	cqlb_release(&ckb);
	if (shadowed && !s->if_exists) { /* a write older than the row's deletion */
		cqlb_i32(out, CQL_RES_VOID);
		return 0;
	}
	size_t at = p->n;
	int exists = 0;
	if (p->n > 0 && (t->nck == 0 || ck_cmp(t, p->rows[p->n - 1], kp, kl) >= 0)) {
		at = t->nck == 0 ? 0 : lower_bound(t, p, kp, kl, 0);
		exists = at < p->n && (t->nck == 0 || ck_cmp(t, p->rows[at], kp, kl) == 0);
	}
	if (s->if_exists && exists) {
		cqlb_i32(out, CQL_RES_ROWS);
		int cols[MAXCOLS + 1];
		cols[0] = -2;
		for (int i = 0; i < t->ncols; i++)
			cols[i + 1] = i;
		put_colspecs(out, t, cols, t->ncols + 1, 0, 0, NULL, 0);
		cqlb_i32(out, 1);
		cqlv_boolean(out, 0);
		cqlb_raw(out, p->rows[at], row_size(p->rows[at], t->ncols));
		return 0;
	}
	struct cql_buf row = {0};
	for (int i = 0; i < t->ncols; i++) {
		if (cl[i] == -3 && exists) {
			int32_t l;
			const uint8_t *x = cell_at(p->rows[at], i, &l);
			cqlb_bytes(&row, x, l);
		} else if (cl[i] < 0 && exists && !s->if_exists) {
			/* a column the INSERT does not name keeps its value */
			int named = 0;
			for (int k = 0; k < s->nins; k++)
				named |= s->ins[k] == i;
			int32_t l;
			const uint8_t *x = cell_at(p->rows[at], i, &l);
			if (named)
				cqlb_i32(&row, -1);
			else
				cqlb_bytes(&row, x, l);
		} else {
			cqlb_bytes(&row, cp[i], cl[i] < 0 ? -1 : cl[i]);
		}
	}
	if (exists) {
		free(p->rows[at]);
		p->rows[at] = row.p;
	} else {
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 8;
			p->rows = xrealloc(p->rows, p->cap * sizeof(*p->rows));
		}
		memmove(p->rows + at + 1, p->rows + at, (p->n - at) * sizeof(*p->rows));
		p->rows[at] = row.p;
		p->n++;
	}
	if (s->if_exists) {
		cqlb_i32(out, CQL_RES_ROWS);
		int cols[1] = {-2};
		put_colspecs(out, t, cols, 1, 0, 0, NULL, 0);
		cqlb_i32(out, 1);
		cqlv_boolean(out, 1);
	} else {
		cqlb_i32(out, CQL_RES_VOID);
	}
	return 0;
}

static void schema_change(struct cql_buf *out, const char *change, const char *target,
			  const char *ks, const char *name)
{
	cqlb_i32(out, CQL_RES_SCHEMA_CHANGE);
	cqlb_string(out, change, strlen(change));
	cqlb_string(out, target, strlen(target));
	cqlb_string(out, ks, strlen(ks));
	if (name)
		cqlb_string(out, name, strlen(name));
}

static void forget_prepared(void)
{
	for (size_t i = 0; i < npreps; i++)
		free(preps[i].text);
	npreps = 0;
}

static int exec_delete(struct stmt *s, const struct vals *v, struct cql_buf *out, struct err *e)
{
	struct table *t = s->t;
	struct cql_buf key = {0};
	int k = where_key(s, v, &key, e);
	if (k != 0) {
		cqlb_release(&key);
		return k == -2 ? -1
			       : fail(e, CQL_E_INVALID, "Some partition key parts are missing: %s",
				      t->cols[t->pk[0]].name);
	}
	for (int i = 0; i < t->nck; i++) {
		int found = 0;
		for (int c = 0; c < s->nconds; c++)
			found |= s->conds[c].col == t->ck[i] && s->conds[c].op == OP_EQ;
		if (!found) {
			cqlb_release(&key);
			return fail(e, CQL_E_INVALID, "Some clustering keys are missing: %s",
				    t->cols[t->ck[i]].name);
		}
	}
	const uint8_t *cp[MAXCONDS];
	int32_t cl[MAXCONDS];
	for (int c = 0; c < s->nconds; c++)
		if (term_bytes(&s->conds[c].t, t->cols[s->conds[c].col].type, v, litbuf[c], &cp[c],
			       &cl[c], e)) {
			cqlb_release(&key);
			return -1;
		}
	int64_t ts;
	if (stmt_ts(s, v, &ts, e)) {
		cqlb_release(&key);
		return -1;
	}
	struct part *p = find_part(t, key.p, key.len, 1, NULL);
	cqlb_release(&key);
	if (p) {
		struct cql_buf ckb = {0};
		for (int i = 0; i < t->nck; i++)
			for (int c = 0; c < s->nconds; c++)
				if (s->conds[c].col == t->ck[i] && s->conds[c].op == OP_EQ) {
					cqlb_bytes(&ckb, cp[c], cl[c]);
					break;
				}
		p->tombs = xrealloc(p->tombs, (p->ntombs + 1) * sizeof(*p->tombs));
		p->tombs[p->ntombs].ck = ckb.p;
		p->tombs[p->ntombs].n = ckb.len;
		p->tombs[p->ntombs++].ts = ts;
		size_t j = 0;
		for (size_t i = 0; i < p->n; i++) {
			if (row_matches(s, p->rows[i], cp, cl))
				free(p->rows[i]);
			else
				p->rows[j++] = p->rows[i];
		}
		p->n = j;
	}
	cqlb_i32(out, CQL_RES_VOID);
	return 0;
}

static int execute(struct stmt *s, const struct vals *v, int32_t page_size, const uint8_t *ps,
		   size_t psl, int skip_meta, char *cur_ks, struct cql_buf *out, struct err *e)
{
	switch (s->type) {
	case S_SELECT:
		return exec_select(s, v, page_size, ps, psl, skip_meta, out, e);
	case S_INSERT:
		return exec_insert(s, v, out, e);
	case S_DELETE:
		return exec_delete(s, v, out, e);
	case S_USE:
		if (!ks_exists(s->ks))
			return fail(e, CQL_E_INVALID, "Keyspace '%s' does not exist", s->ks);
		snprintf(cur_ks, NAMELEN, "%s", s->ks);
		cqlb_i32(out, CQL_RES_SET_KEYSPACE);
		cqlb_string(out, s->ks, strlen(s->ks));
		return 0;
	case S_CREATE_KS:
		if (ks_exists(s->ks)) {
			if (s->if_exists) {
				cqlb_i32(out, CQL_RES_VOID);
				return 0;
			}
			snprintf(e->ks, NAMELEN, "%s", s->ks);
			return fail(e, CQL_E_ALREADY_EXISTS, "Cannot add existing keyspace \"%s\"",
				    s->ks);
		}
		if (nkeyspaces >= 256)
			return fail(e, CQL_E_INVALID, "too many keyspaces");
		snprintf(keyspaces[nkeyspaces++], NAMELEN, "%s", s->ks);
		schema_change(out, "CREATED", "KEYSPACE", s->ks, NULL);
		return 0;
	case S_CREATE_TABLE:
		if (!ks_exists(s->ks))
			return fail(e, CQL_E_INVALID, "Keyspace %s doesn't exist", s->ks);
		if (find_table(s->ks, s->name)) {
			if (s->if_exists) {
				cqlb_i32(out, CQL_RES_VOID);
				return 0;
			}
			snprintf(e->ks, NAMELEN, "%s", s->ks);
			snprintf(e->tbl, NAMELEN, "%s", s->name);
			return fail(e, CQL_E_ALREADY_EXISTS, "Object %s.%s already exists", s->ks,
				    s->name);
		}
		tables = xrealloc(tables, (ntables + 1) * sizeof(*tables));
		tables[ntables++] = s->newt;
		s->newt = NULL;
		schema_change(out, "CREATED", "TABLE", s->ks, s->name);
		return 0;
	case S_DROP_TABLE:
	case S_DROP_KS: {
		int found = 0;
		for (size_t i = 0; i < ntables; i++)
			if (!tables[i]->dropped && strcmp(tables[i]->ks, s->ks) == 0 &&
			    (s->type == S_DROP_KS || strcmp(tables[i]->name, s->name) == 0)) {
				tables[i]->dropped = 1;
				drop_parts(tables[i]);
				found = 1;
			}
		if (s->type == S_DROP_KS) {
			found = 0;
			for (int i = 0; i < nkeyspaces; i++)
				if (strcmp(keyspaces[i], s->ks) == 0) {
					memmove(keyspaces[i], keyspaces[nkeyspaces - 1], NAMELEN);
					nkeyspaces--;
					found = 1;
					break;
				}
		}
		if (!found && !s->if_exists)
			return fail(e, CQL_E_INVALID, "%s '%s' doesn't exist",
				    s->type == S_DROP_KS ? "Keyspace" : "Table",
				    s->type == S_DROP_KS ? s->ks : s->name);
		forget_prepared(); /* as Cassandra invalidates statements on dropped tables */
		if (found)
			schema_change(out, "DROPPED", s->type == S_DROP_KS ? "KEYSPACE" : "TABLE",
				      s->ks, s->type == S_DROP_KS ? NULL : s->name);
		else
			cqlb_i32(out, CQL_RES_VOID);
		return 0;
	}
	case S_TRUNCATE:
		drop_parts(s->t);
		cqlb_i32(out, CQL_RES_VOID);
		return 0;
	}
	return fail(e, CQL_E_SERVER, "unknown statement");
}

/* ---------- prepared ---------- */

static void prep_id(const char *ks, const char *q, size_t n, uint8_t id[16])
{
	uint64_t a = 1469598103934665603ULL, b = 0x9e3779b97f4a7c15ULL;
	for (const char *k = ks; *k; k++) {
		a = (a ^ (uint8_t)*k) * 1099511628211ULL;
		b = (b ^ (uint8_t)*k) * 0x100000001b3ULL + 7;
	}
	for (size_t i = 0; i < n; i++) {
		a = (a ^ (uint8_t)q[i]) * 1099511628211ULL;
		b = (b ^ (uint8_t)q[i]) * 0x100000001b3ULL + 7;
	}
	for (int i = 0; i < 8; i++) {
		id[i] = (uint8_t)(a >> (56 - 8 * i));
		id[8 + i] = (uint8_t)(b >> (56 - 8 * i));
	}
}

static struct prepared *find_prep(const uint8_t *id, size_t n)
{
	if (n != 16)
		return NULL;
	for (size_t i = 0; i < npreps; i++)
		if (memcmp(preps[i].id, id, 16) == 0)
			return &preps[i];
	return NULL;
}

static int do_prepare(const char *q, size_t n, const char *cur_ks, struct cql_buf *out,
		      struct err *e)
{
	struct stmt s;
	if (parse(q, n, cur_ks, &s, e)) {
		free(s.newt);
		return -1;
	}
	free(s.newt);
	s.newt = NULL;
	uint8_t id[16];
	prep_id(cur_ks, q, n, id);
	if (!find_prep(id, 16)) {
		if (npreps == cpreps) {
			cpreps = cpreps ? cpreps * 2 : 64;
			preps = xrealloc(preps, cpreps * sizeof(*preps));
		}
		struct prepared *p = &preps[npreps++];
		memcpy(p->id, id, 16);
		p->text = xmalloc(n + 1);
		memcpy(p->text, q, n);
		p->text[n] = '\0';
		snprintf(p->ks, NAMELEN, "%s", cur_ks);
	}
	cqlb_i32(out, CQL_RES_PREPARED);
	cqlb_sbytes(out, id, 16);
	if (!s.t) { /* DDL: no variables, no result */
		cqlb_i32(out, 0);
		cqlb_i32(out, 0);
		cqlb_i32(out, 0);
		cqlb_i32(out, CQL_MF_NO_METADATA);
		cqlb_i32(out, 0);
		return 0;
	}
	/* the partition key's markers, in key order, when every one is bound */
	int pk_idx[8], pk_count = 0;
	for (int k = 0; k < s.t->npk; k++)
		for (int i = 0; i < s.nbind; i++)
			if (s.bindcol[i] == s.t->pk[k]) {
				pk_idx[pk_count++] = i;
				break;
			}
	if (pk_count != s.t->npk)
		pk_count = 0;
	put_colspecs(out, s.t, s.bindcol, s.nbind, 0, pk_count, pk_idx, 1);
	if (s.type == S_SELECT) {
		int cols[MAXCOLS], nc;
		if (s.count) {
			cols[0] = -3;
			nc = 1;
		} else if (s.star) {
			nc = s.t->ncols;
			for (int i = 0; i < nc; i++)
				cols[i] = i;
		} else {
			nc = s.nproj;
			memcpy(cols, s.proj, sizeof(int) * (size_t)nc);
		}
		put_colspecs(out, s.t, cols, nc, 0, 0, NULL, 0);
	} else {
		cqlb_i32(out, CQL_MF_NO_METADATA);
		cqlb_i32(out, 0);
	}
	return 0;
}

/* ---------- connections ---------- */

struct client {
	int fd;
	SSL *ssl; /* --tls-cert: every connection is TLS */
	int handshaken;
	int started, authed, closing;
	char ks[NAMELEN];
	struct cql_buf in, out;
	size_t outpos;
};

static void error_body(struct cql_buf *b, const struct err *e)
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

static void respond(struct client *c, int16_t stream, uint8_t op, const struct cql_buf *body)
{
	size_t st = cql_frame_begin(&c->out, CQL_VERSION_RESP, op, stream);
	if (body)
		cqlb_raw(&c->out, body->p, body->len);
	cql_frame_end(&c->out, st);
}

static void respond_error(struct client *c, int16_t stream, const struct err *e)
{
	struct cql_buf b = {0};
	error_body(&b, e);
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

static int run_text(struct client *c, const char *q, size_t n, const struct qparams *qp,
		    struct cql_buf *out, struct err *e)
{
	struct stmt s;
	int r = parse(q, n, c->ks, &s, e);
	if (r == 0 && s.nbind != qp->v.n && (s.type == S_SELECT || s.type == S_INSERT))
		r = fail(e, CQL_E_INVALID, "There were %d markers(?) in CQL but %d bound variables",
			 s.nbind, qp->v.n);
	if (r == 0)
		r = execute(&s, &qp->v, qp->page_size, qp->ps, qp->psl,
			    (qp->flags & CQL_QF_SKIP_METADATA) && !s.if_exists, c->ks, out, e);
	free(s.newt);
	return r;
}

static void handle_frame(struct client *c, const struct cql_frame *f)
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
			fail(&e, CQL_E_BAD_CREDENTIALS,
			     "Provided username and/or password are incorrect");
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
		if (!q || read_params(&r, &qp, &e) || run_text(c, q, n, &qp, &out, &e))
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
		if (do_prepare(q, n, c->ks, &out, &e))
			goto error;
		respond(c, f->stream, CQL_OP_RESULT, &out);
		break;
	}
	case CQL_OP_EXECUTE: {
		size_t n;
		const uint8_t *id = cqlr_sbytes(&r, &n);
		struct prepared *p = id ? find_prep(id, n) : NULL;
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
			     : run_text(c, p->text, strlen(p->text), &qp, &out, &e);
		memcpy(c->ks, saved, NAMELEN);
		if (rc)
			goto error;
		respond(c, f->stream, CQL_OP_RESULT, &out);
		break;
	}
	case CQL_OP_BATCH: {
		uint8_t type = cqlr_u8(&r);
		int n = cqlr_u16(&r);
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
			uint8_t kind = cqlr_u8(&r);
			if (kind == 0) {
				items[i].q = cqlr_lstring(&r, &items[i].qn);
			} else {
				size_t idn;
				const uint8_t *id = cqlr_sbytes(&r, &idn);
				items[i].p = id ? find_prep(id, idn) : NULL;
				if (!items[i].p) {
					rc = fail(&e, CQL_E_UNPREPARED,
						  "Prepared query with ID not found");
					memset(e.ks, 0, sizeof(e.ks));
					if (id)
						memcpy(e.ks, id, idn < 16 ? idn : 16);
					break;
				}
				items[i].q = items[i].p->text;
				items[i].qn = strlen(items[i].q);
			}
			int nv = cqlr_u16(&r);
			if (nv > MAXTERMS) {
				rc = fail(&e, CQL_E_INVALID, "too many values");
				break;
			}
			items[i].v.n = nv;
			for (int k = 0; k < nv; k++) {
				int32_t l;
				items[i].v.p[k] = cqlr_bytes(&r, &l);
				items[i].v.len[k] = l;
			}
		}
		cqlr_u16(&r); /* consistency */
		if (!rc && r.bad)
			rc = fail(&e, CQL_E_PROTOCOL, "malformed BATCH");
		for (int i = 0; i < n && !rc; i++) {
			struct stmt s;
			struct cql_buf tmp = {0};
			rc = parse(items[i].q, items[i].qn, items[i].p ? items[i].p->ks : c->ks, &s,
				   &e);
			if (!rc && s.type != S_INSERT)
				rc = fail(&e, CQL_E_INVALID,
					  "Only INSERT, UPDATE or DELETE statements are allowed "
					  "inside a BATCH");
			if (!rc && s.if_exists)
				rc = fail(&e, CQL_E_INVALID,
					  "Conditional statements are not supported in this "
					  "server's batches");
			if (!rc)
				rc = exec_insert(&s, &items[i].v, &tmp, &e);
			free(s.newt);
			cqlb_release(&tmp);
		}
		free(items);
		if (rc)
			goto error;
		cqlb_i32(&out, CQL_RES_VOID);
		respond(c, f->stream, CQL_OP_RESULT, &out);
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
static void version_error(struct client *c)
{
	uint8_t v = c->in.p[0] & 0x7f;
	struct err e;
	memset(&e, 0, sizeof(e));
	fail(&e, CQL_E_PROTOCOL,
	     "Invalid or unsupported protocol version (%d); supported versions are (4/v4)", v);
	struct cql_buf body = {0};
	error_body(&body, &e);
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

/* ---------- faults (--delay-*) ---------- */

/*
 * A request whose CQL text contains delay_match (for EXECUTE the prepared
 * text, for BATCH its first statement's) is held delay_ms before it is
 * applied, for the first delay_count such requests. Mode "answer": applied
 * and answered late, as a slow replica or a long GC pause does. Mode
 * "timeout": answered at once with a write timeout (0x1100) and applied late,
 * its answer dropped, as a hinted handoff lands a write the client was told
 * had failed.
 */
static const char *delay_match;
static int delay_ms, delay_count = 1, delay_timeout;

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
	struct prepared *pr = id ? find_prep(id, idn) : NULL;
	if (!pr)
		return NULL;
	*n = strlen(pr->text);
	return pr->text;
}

static int contains(const char *q, size_t n, const char *what)
{
	size_t w = strlen(what);
	for (size_t i = 0; i + w <= n; i++)
		if (memcmp(q + i, what, w) == 0)
			return 1;
	return 0;
}

static int hold_frame(struct client *c, const struct cql_frame *f)
{
	size_t n = 0;
	const char *q;
	if (!delay_match || delay_count <= 0 || !(q = frame_text(f, &n)) ||
	    !contains(q, n, delay_match))
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

/* Apply the held requests that are due; ms until the next one (or 1000). */
static int run_held(void)
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

static void forget_client(struct client *c)
{
	for (size_t i = 0; i < nheld; i++)
		if (held[i].c == c && !held[i].silent)
			held[i].c = NULL;
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
			version_error(c);
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

/* ---------- system tables ---------- */

static struct table *make_table(const char *ddl)
{
	struct stmt s;
	struct err e;
	if (parse(ddl, strlen(ddl), "", &s, &e) != 0) {
		fprintf(stderr, "cqlsrv: %s: %s\n", ddl, e.msg);
		exit(1);
	}
	tables = xrealloc(tables, (ntables + 1) * sizeof(*tables));
	tables[ntables++] = s.newt;
	return s.newt;
}

static void add_text(struct cql_buf *b, const char *s)
{
	cqlb_bytes(b, s, (int32_t)strlen(s));
}

static void system_tables(const char *listen)
{
	snprintf(keyspaces[nkeyspaces++], NAMELEN, "system");
	struct table *local = make_table(
	    "CREATE TABLE system.local (key text PRIMARY KEY, bootstrapped text,"
	    " broadcast_address inet, cluster_name text, cql_version text, data_center text,"
	    " gossip_generation int, host_id uuid, listen_address inet,"
	    " native_protocol_version text, partitioner text, rack text, release_version text,"
	    " rpc_address inet, schema_version uuid, thrift_version text, tokens set<text>)");
	make_table("CREATE TABLE system.peers (peer inet PRIMARY KEY, data_center text,"
		   " host_id uuid, preferred_ip inet, rack text, release_version text,"
		   " rpc_address inet, schema_version uuid, tokens set<text>)");
	/*
	 * Drivers read the schema tables to build their metadata; empty ones say
	 * "no keyspaces to describe", which they accept.
	 */
	snprintf(keyspaces[nkeyspaces++], NAMELEN, "system_schema");
	make_table("CREATE TABLE system_schema.keyspaces (keyspace_name text PRIMARY KEY,"
		   " durable_writes boolean, replication map<text, text>)");
	make_table("CREATE TABLE system_schema.tables (keyspace_name text, table_name text,"
		   " id uuid, PRIMARY KEY ((keyspace_name), table_name))");
	make_table("CREATE TABLE system_schema.columns (keyspace_name text, table_name text,"
		   " column_name text, clustering_order text, kind text, position int, type text,"
		   " PRIMARY KEY ((keyspace_name), table_name, column_name))");
	make_table("CREATE TABLE system_schema.types (keyspace_name text, type_name text,"
		   " PRIMARY KEY ((keyspace_name), type_name))");
	make_table("CREATE TABLE system_schema.functions (keyspace_name text, function_name text,"
		   " PRIMARY KEY ((keyspace_name), function_name))");
	make_table("CREATE TABLE system_schema.aggregates (keyspace_name text, aggregate_name text,"
		   " PRIMARY KEY ((keyspace_name), aggregate_name))");
	make_table("CREATE TABLE system_schema.views (keyspace_name text, view_name text,"
		   " PRIMARY KEY ((keyspace_name), view_name))");
	struct in_addr a;
	if (inet_pton(AF_INET, listen, &a) != 1)
		inet_pton(AF_INET, "127.0.0.1", &a);
	uint8_t host_id[16], schema[16];
	uuid_from_text("5c6d4a1e-0000-4000-8000-000000000001", 36, host_id);
	uuid_from_text("5c6d4a1e-0000-4000-8000-00000000abcd", 36, schema);
	struct cql_buf row = {0};
	add_text(&row, "local");
	add_text(&row, "COMPLETED");
	cqlb_bytes(&row, &a, 4);
	add_text(&row, "jobads test cluster");
	add_text(&row, "3.4.4");
	add_text(&row, datacenter);
	cqlv_int(&row, 1);
	cqlb_bytes(&row, host_id, 16);
	cqlb_bytes(&row, &a, 4);
	add_text(&row, "4");
	add_text(&row, "org.apache.cassandra.dht.Murmur3Partitioner");
	add_text(&row, "rack1");
	add_text(&row, "3.11.16");
	cqlb_bytes(&row, &a, 4);
	cqlb_bytes(&row, schema, 16);
	add_text(&row, "20.1.0");
	/* tokens: a set of one text */
	cqlb_i32(&row, 4 + 4 + 1);
	cqlb_i32(&row, 1);
	cqlb_bytes(&row, "0", 1);
	struct cql_buf key = {0};
	add_text(&key, "local");
	struct part *p = find_part(local, key.p, key.len, 1, NULL);
	cqlb_release(&key);
	p->rows = xmalloc(sizeof(*p->rows));
	p->cap = p->n = 1;
	p->rows[0] = row.p;
}

/* ---------- main loop ---------- */

/* ---------- TLS (--tls-cert, --tls-key) ---------- */

static SSL_CTX *tls_ctx;

/* recv/send through TLS when on: n > 0, 0 closed, -1 with errno (EAGAIN: later). */
static ssize_t c_recv(struct client *c, void *p, size_t n)
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

static ssize_t c_send(struct client *c, const void *p, size_t n)
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

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *listen_addr = "127.0.0.1", *port_file = NULL;
	int port = 9042;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_addr = argv[++i];
		else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
			port_file = argv[++i];
		else if (strcmp(argv[i], "--dc") == 0 && i + 1 < argc)
			datacenter = argv[++i];
		else if (strcmp(argv[i], "--auth") == 0 && i + 1 < argc) {
			char *a = argv[++i], *colon = strchr(a, ':');
			if (!colon) {
				fprintf(stderr, "cqlsrv: --auth USER:PASS\n");
				return 2;
			}
			auth_user = xstrdup(a);
			auth_user[colon - a] = '\0';
			auth_pass = auth_user + (colon - a) + 1;
		} else if (strcmp(argv[i], "--tls-cert") == 0 && i + 2 < argc) {
			/* --tls-cert CERT.pem KEY.pem */
			tls_ctx = SSL_CTX_new(TLS_server_method());
			SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
						      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
			if (SSL_CTX_use_certificate_chain_file(tls_ctx, argv[i + 1]) != 1 ||
			    SSL_CTX_use_PrivateKey_file(tls_ctx, argv[i + 2], SSL_FILETYPE_PEM) !=
				1) {
				fprintf(stderr, "cqlsrv: --tls-cert %s %s: cannot load\n",
					argv[i + 1], argv[i + 2]);
				return 2;
			}
			i += 2;
		} else if (strcmp(argv[i], "--delay-match") == 0 && i + 1 < argc) {
			delay_match = argv[++i];
		} else if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc) {
			delay_ms = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--delay-count") == 0 && i + 1 < argc) {
			delay_count = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--delay-mode") == 0 && i + 1 < argc &&
			   (strcmp(argv[i + 1], "answer") == 0 ||
			    strcmp(argv[i + 1], "timeout") == 0)) {
			delay_timeout = strcmp(argv[++i], "timeout") == 0;
		} else {
			fprintf(stderr,
				"usage: cqlsrv [--listen ADDR] [--port N] [--port-file F] [--auth "
				"USER:PASS] [--dc NAME] [--tls-cert CERT KEY] [--delay-match TEXT "
				"--delay-ms MS "
				"[--delay-count N] [--delay-mode answer|timeout]]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	system_tables(listen_addr);

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, listen_addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "cqlsrv: --listen: not an IPv4 address: %s\n", listen_addr);
		return 2;
	}
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 64) != 0) {
		fprintf(stderr, "cqlsrv: %s:%d: %s\n", listen_addr, port, strerror(errno));
		return 1;
	}
	socklen_t sl = sizeof(sa);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	port = ntohs(sa.sin_port);
	if (port_file) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
		    rename(tmp, port_file) != 0) {
			fprintf(stderr, "cqlsrv: %s: %s\n", port_file, strerror(errno));
			return 1;
		}
	}
	fprintf(stderr, "cqlsrv: listening on %s:%d\n", listen_addr, port);

	struct client **cl = NULL;
	size_t ncl = 0;
	while (!stop) {
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
					ssize_t n =
					    c_recv(c, c->in.p + c->in.len, c->in.cap - c->in.len);
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
				ssize_t n = c_send(c, c->out.p + c->outpos, c->out.len - c->outpos);
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
				forget_client(c);
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
	for (size_t i = 0; i < ntables; i++) {
		drop_parts(tables[i]);
		free(tables[i]);
	}
	free(tables);
	forget_prepared();
	free(preps);
	free(auth_user);
	close(ls);
	return 0;
}
