/*
 * srv.h - what the files of the in-memory CQL test server (cqlsrv) share: the
 * table engine's data (table.c), a parsed statement (lex.c), its execution
 * (exec.c), the prepared statements (prepare.c), a client connection and its
 * frames (net.c), the held requests of --delay-* (delay.c). main.c reads the
 * options into the globals below and starts net.c's loop.
 *
 * The server is single-threaded: every global here belongs to that one thread.
 */
#ifndef CQLSRV_SRV_H
#define CQLSRV_SRV_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "cql/cql.h"

#define MAXCOLS	 48
#define MAXCONDS 8
#define MAXTERMS 64
#define NAMELEN	 64

/* ---------- errors ---------- */

/* An error answer: its CQL error code, message, and the code's extra fields. */
struct err {
	int code;
	char msg[512];
	char ks[NAMELEN], tbl[NAMELEN]; /* for UNPREPARED, ks carries the 16-byte id */
};

/* Fill e with code and the formatted message; returns -1. */
int fail(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---------- the table engine (table.c) ---------- */

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

/* Every table ever created (a dropped one stays, marked, emptied), and the keyspaces. */
extern struct table **tables;
extern size_t ntables;
extern char keyspaces[256][NAMELEN];
extern int nkeyspaces;
extern const char *datacenter; /* system.local's data_center (--dc) */

/* The cell i of row: its bytes, its length in *len (-1: null). */
const uint8_t *cell_at(const uint8_t *row, int i, int32_t *len);
size_t row_size(const uint8_t *row, int ncols);
/* n big-endian bytes as a signed integer. */
int64_t be_int(const uint8_t *p, int n);
/* Compare two cells of a column type as Cassandra orders them. */
int cmp_val(uint16_t type, const uint8_t *a, int32_t al, const uint8_t *b, int32_t bl);
int ks_exists(const char *ks);
struct table *find_table(const char *ks, const char *name);
/* Takes the table, which the engine owns from then on. */
void add_table(struct table *t);
int col_index(const struct table *t, const char *name, size_t n);
/* Remove every row and partition (TRUNCATE, DROP, exit). */
void clear_table(struct table *t);
/* The partition of a key, created when create; its index in t->parts in *index. */
struct part *find_part(struct table *t, const uint8_t *key, size_t n, int create, size_t *index);
/* Compare a row's clustering key with key cells given as (ptr, len) arrays. */
int ck_cmp(const struct table *t, const uint8_t *row, const uint8_t **kp, const int32_t *kl);
/* First row index whose clustering key is >= key (strict: > key). */
size_t lower_bound(const struct table *t, const struct part *p, const uint8_t **kp,
		   const int32_t *kl, int strict);
/* Whether a row deletion of this clustering key at or after ts hides a write at ts. */
int tomb_shadows(const struct part *p, const uint8_t *ck, size_t n, int64_t ts);
/* system.local, system.peers and the empty system_schema tables of a one-node cluster. */
void create_system_tables(const char *listen);
/* Free every table (at exit). */
void free_tables(void);

/* ---------- a parsed statement (lex.c) ---------- */

enum { K_END, K_ID, K_QID, K_STR, K_NUM, K_MARK, K_PUNCT };

/* A token: its kind, its text in the statement (quotes stripped), its offset. */
struct tok {
	int k;
	const char *s;
	size_t n;
	size_t pos;
};

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

/*
 * Columns that are no column of the table, where a column index goes: the
 * variables of LIMIT ? and USING TIMESTAMP ?, the [applied] of a conditional
 * INSERT, COUNT(*), and a projection of now().
 */
enum { COL_LIMIT = -1, COL_APPLIED = -2, COL_COUNT = -3, COL_TIMESTAMP = -4, COL_NOW = -5 };

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
	/* bind markers: a column index, or COL_LIMIT, COL_TIMESTAMP */
	int nbind, bindcol[MAXTERMS];
	/* create table */
	struct table *newt;
};

int is_kw(const struct tok *t, const char *kw);
/*
 * Parse one statement of q into s, its tables resolved in cur_ks. Its tokens
 * point into q, and stay valid until the next call (one static lexer). The
 * caller frees s->newt (CREATE TABLE) unless it has been given to add_table.
 */
int parse_stmt(const char *q, size_t qn, const char *cur_ks, struct stmt *s, struct err *e);

/* ---------- execution (exec.c) ---------- */

/* The values bound to a statement's markers (they point into the request frame). */
struct vals {
	int n;
	const uint8_t *p[MAXTERMS];
	int32_t len[MAXTERMS];
};

/* Column specs of a result or of a prepared statement's variables (prepared). */
void put_colspecs(struct cql_buf *b, const struct table *t, const int *cols, int n, int flags_extra,
		  int pk_count, const int *pk_idx, int prepared);
int exec_insert(struct stmt *s, const struct vals *v, struct cql_buf *out, struct err *e);
/* Run s, its RESULT body into out; USE changes cur_ks. */
int exec_stmt(struct stmt *s, const struct vals *v, int32_t page_size, const uint8_t *ps,
	      size_t psl, int skip_meta, char *cur_ks, struct cql_buf *out, struct err *e);

/* ---------- prepared statements (prepare.c) ---------- */

struct prepared {
	uint8_t id[16];
	char *text;
	char ks[NAMELEN];
};

struct prepared *find_prepared(const uint8_t *id, size_t n);
/* PREPARE: remember q (its id a hash of cur_ks and q), its RESULT body into out. */
int prepare_stmt(const char *q, size_t n, const char *cur_ks, struct cql_buf *out, struct err *e);
void forget_prepared(void);
/* Forget every statement and free the registry (at exit). */
void free_prepared(void);

/* ---------- connections (net.c) ---------- */

struct client {
	int fd;
	SSL *ssl; /* --tls-cert: every connection is TLS */
	int handshaken;
	int started, authed, closing;
	char ks[NAMELEN];
	struct cql_buf in, out;
	size_t outpos;
};

extern char *auth_user, *auth_pass;	     /* --auth; NULL: no authentication */
extern SSL_CTX *tls_ctx;		     /* --tls-cert; NULL: plain TCP */
extern volatile sig_atomic_t stop_requested; /* set by SIGTERM and SIGINT */

void respond_error(struct client *c, int16_t stream, const struct err *e);
/* Answer one request frame into c->out. */
void handle_frame(struct client *c, const struct cql_frame *f);
/* Accept and serve clients on the listening socket ls until stop_requested. */
int serve(int ls);

/* ---------- held requests (delay.c) ---------- */

extern const char *delay_match;
extern int delay_ms, delay_count, delay_timeout;

/* Whether f is held for later (then its answer, if any, is already queued). */
int hold_frame(struct client *c, const struct cql_frame *f);
/* Apply the held requests that are due; ms until the next one (or 1000). */
int run_held(void);
/*
 * c is closing: its held requests are dropped, but those of --delay-mode
 * timeout, which run on a copy of the session and land all the same.
 */
void drop_held_requests(struct client *c);

#endif
