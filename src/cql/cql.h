/*
 * cql.h - a client for the Cassandra native protocol, version 4, written here
 * (Debian packages no C or C++ driver). Two layers:
 *
 *   codec   frames, the protocol's notation ([short], [string], [bytes], ...),
 *           result metadata and rows, typed values. No I/O: the unit tests and
 *           the benchmark feed it recorded frames, and the test server
 *           (tests/cql/srv/) speaks through the same notation helpers.
 *   session one connection at a time to one of several contact points, with
 *           failover on connect; STARTUP / SASL PLAIN; requests pipelined on
 *           stream ids; PREPARE / EXECUTE with re-prepare on Unprepared; QUERY;
 *           unlogged BATCH; paging; connect and request timeouts.
 *
 * Errors return J_OK / J_RETRY (connection lost, timeout, or a server
 * error that says "try again": unavailable, overloaded, read/write timeout) /
 * J_ERROR (enum jrc, util.h: the one result type of every layer), with
 * a message in struct jerr naming the host and, for server errors, the code
 * and the server's message. For a server ERROR frame err->code is its error
 * code (enum cql_error_code), for any other failure 0 (so is a server error
 * 0x0000, which no caller tells apart): callers classify by err->code, never
 * by the text.
 */
#ifndef JOBADS_CQL_H
#define JOBADS_CQL_H

#include <stddef.h>
#include <stdint.h>

#include "jobads/util.h"

#define CQL_VERSION_REQ	 0x04
#define CQL_VERSION_RESP 0x84
#define CQL_HEADER_LEN	 9
#define CQL_MAX_BODY	 (256u << 20) /* the protocol's limit */
#define CQL_MAX_STREAMS	 128	      /* requests in flight on one connection */

enum cql_opcode {
	CQL_OP_ERROR = 0x00,
	CQL_OP_STARTUP = 0x01,
	CQL_OP_READY = 0x02,
	CQL_OP_AUTHENTICATE = 0x03,
	CQL_OP_OPTIONS = 0x05,
	CQL_OP_SUPPORTED = 0x06,
	CQL_OP_QUERY = 0x07,
	CQL_OP_RESULT = 0x08,
	CQL_OP_PREPARE = 0x09,
	CQL_OP_EXECUTE = 0x0A,
	CQL_OP_REGISTER = 0x0B,
	CQL_OP_EVENT = 0x0C,
	CQL_OP_BATCH = 0x0D,
	CQL_OP_AUTH_CHALLENGE = 0x0E,
	CQL_OP_AUTH_RESPONSE = 0x0F,
	CQL_OP_AUTH_SUCCESS = 0x10,
};

enum cql_result_kind {
	CQL_RES_VOID = 1,
	CQL_RES_ROWS = 2,
	CQL_RES_SET_KEYSPACE = 3,
	CQL_RES_PREPARED = 4,
	CQL_RES_SCHEMA_CHANGE = 5,
};

enum cql_type {
	CQL_T_CUSTOM = 0x0000,
	CQL_T_ASCII = 0x0001,
	CQL_T_BIGINT = 0x0002,
	CQL_T_BLOB = 0x0003,
	CQL_T_BOOLEAN = 0x0004,
	CQL_T_COUNTER = 0x0005,
	CQL_T_DECIMAL = 0x0006,
	CQL_T_DOUBLE = 0x0007,
	CQL_T_FLOAT = 0x0008,
	CQL_T_INT = 0x0009,
	CQL_T_TIMESTAMP = 0x000B,
	CQL_T_UUID = 0x000C,
	CQL_T_VARCHAR = 0x000D,
	CQL_T_VARINT = 0x000E,
	CQL_T_TIMEUUID = 0x000F,
	CQL_T_INET = 0x0010,
	CQL_T_DATE = 0x0011,
	CQL_T_TIME = 0x0012,
	CQL_T_SMALLINT = 0x0013,
	CQL_T_TINYINT = 0x0014,
	CQL_T_LIST = 0x0020,
	CQL_T_MAP = 0x0021,
	CQL_T_SET = 0x0022,
	CQL_T_UDT = 0x0030,
	CQL_T_TUPLE = 0x0031,
};

enum cql_consistency {
	CQL_ANY = 0x0000,
	CQL_ONE = 0x0001,
	CQL_TWO = 0x0002,
	CQL_THREE = 0x0003,
	CQL_QUORUM = 0x0004,
	CQL_ALL = 0x0005,
	CQL_LOCAL_QUORUM = 0x0006,
	CQL_EACH_QUORUM = 0x0007,
	CQL_SERIAL = 0x0008,
	CQL_LOCAL_SERIAL = 0x0009,
	CQL_LOCAL_ONE = 0x000A,
};

/* Server error codes (native_protocol_v4.spec section 9). */
enum cql_error_code {
	CQL_E_SERVER = 0x0000,
	CQL_E_PROTOCOL = 0x000A,
	CQL_E_BAD_CREDENTIALS = 0x0100,
	CQL_E_UNAVAILABLE = 0x1000,
	CQL_E_OVERLOADED = 0x1001,
	CQL_E_BOOTSTRAPPING = 0x1002,
	CQL_E_TRUNCATE = 0x1003,
	CQL_E_WRITE_TIMEOUT = 0x1100,
	CQL_E_READ_TIMEOUT = 0x1200,
	CQL_E_READ_FAILURE = 0x1300,
	CQL_E_FUNCTION_FAILURE = 0x1400,
	CQL_E_WRITE_FAILURE = 0x1500,
	CQL_E_SYNTAX = 0x2000,
	CQL_E_UNAUTHORIZED = 0x2100,
	CQL_E_INVALID = 0x2200,
	CQL_E_CONFIG = 0x2300,
	CQL_E_ALREADY_EXISTS = 0x2400,
	CQL_E_UNPREPARED = 0x2500,
};

/* Query parameter flags. */
#define CQL_QF_VALUES	     0x01
#define CQL_QF_SKIP_METADATA 0x02
#define CQL_QF_PAGE_SIZE     0x04
#define CQL_QF_PAGING_STATE  0x08
#define CQL_QF_SERIAL	     0x10
#define CQL_QF_TIMESTAMP     0x20
/* Rows metadata flags. */
#define CQL_MF_GLOBAL_SPEC 0x0001
#define CQL_MF_MORE_PAGES  0x0002
#define CQL_MF_NO_METADATA 0x0004

/* ---- writing the notation: a growable byte buffer ---- */

struct cql_buf {
	uint8_t *p;
	size_t len, cap;
};

void cqlb_reserve(struct cql_buf *b, size_t extra);
void cqlb_release(struct cql_buf *b);
static inline void cqlb_reset(struct cql_buf *b)
{
	b->len = 0;
}
void cqlb_raw(struct cql_buf *b, const void *p, size_t n);
void cqlb_u8(struct cql_buf *b, uint8_t v);
void cqlb_u16(struct cql_buf *b, uint16_t v);
void cqlb_i32(struct cql_buf *b, int32_t v);
void cqlb_i64(struct cql_buf *b, int64_t v);
void cqlb_string(struct cql_buf *b, const char *s, size_t n);  /* [string]: short length */
void cqlb_lstring(struct cql_buf *b, const char *s, size_t n); /* [long string] */
void cqlb_sbytes(struct cql_buf *b, const void *p, size_t n);  /* [short bytes] */
void cqlb_bytes(struct cql_buf *b, const void *p, int32_t n);  /* [bytes]; n < 0: null */
/* Overwrite a big-endian int32 at offset off (a length written before its content). */
void cqlb_put_i32(struct cql_buf *b, size_t off, int32_t v);

/* Frames: cql_frame_begin writes a header with length 0 and returns its offset. */
size_t cql_frame_begin(struct cql_buf *b, uint8_t version, uint8_t opcode, int16_t stream);
void cql_frame_end(struct cql_buf *b, size_t start);

/* Typed [value]s for QUERY / EXECUTE / BATCH (each is a [bytes]). */
void cqlv_null(struct cql_buf *b);
void cqlv_int(struct cql_buf *b, int32_t v);
void cqlv_bigint(struct cql_buf *b, int64_t v); /* bigint, timestamp (epoch ms), counter */
void cqlv_double(struct cql_buf *b, double v);
void cqlv_text(struct cql_buf *b, const char *s, size_t n);
void cqlv_uuid(struct cql_buf *b, const uint8_t u[16]); /* uuid and timeuuid */
void cqlv_decimal(struct cql_buf *b, int64_t unscaled, int32_t scale);
void cqlv_boolean(struct cql_buf *b, int v);

/* ---- reading the notation ---- */

struct cql_rd {
	const uint8_t *p, *end;
	int bad; /* set when a read ran past the end: every later read returns 0 */
};

static inline void cqlr_init(struct cql_rd *r, const uint8_t *p, size_t n)
{
	r->p = p;
	r->end = p + n;
	r->bad = 0;
}
uint8_t cqlr_u8(struct cql_rd *r);
uint16_t cqlr_u16(struct cql_rd *r);
int32_t cqlr_i32(struct cql_rd *r);
int64_t cqlr_i64(struct cql_rd *r);
/* [string] / [long string] / [short bytes] / [bytes]: a view; [bytes] returns n < 0 for null. */
const char *cqlr_string(struct cql_rd *r, size_t *n);
const char *cqlr_lstring(struct cql_rd *r, size_t *n);
const uint8_t *cqlr_sbytes(struct cql_rd *r, size_t *n);
const uint8_t *cqlr_bytes(struct cql_rd *r, int32_t *n);
/* Skip a type [option], nested ones (list, map, set, udt, tuple) included, at most
 * 16 levels deep (deeper sets r->bad). */
void cqlr_skip_option(struct cql_rd *r);

/* Frame header: returns the frame's total length when buf holds all of it, 0
 * when more bytes are needed, -1 when the header is not a v4 frame (then
 * *version holds the version byte it carried). */
struct cql_frame {
	uint8_t version, flags, opcode;
	int16_t stream;
	uint32_t len;
	const uint8_t *body;
};
long cql_frame_parse(const uint8_t *buf, size_t n, struct cql_frame *f);

/* Response header flags (protocol v4, section 2.2). */
#define CQL_FLAG_COMPRESSION 0x01
#define CQL_FLAG_TRACING     0x02
#define CQL_FLAG_PAYLOAD     0x04
#define CQL_FLAG_WARNING     0x08

/*
 * Move a response's body past what its flags put before the message: the
 * tracing id, the server's warnings (a real node adds them to a large or
 * multi-partition batch's answer), a custom payload. *nwarnings gets the number
 * of warnings. Returns 0, or -1 when those parts are malformed or the body is
 * compressed (this client never asks for compression).
 */
int cql_frame_skip_extras(struct cql_frame *f, int *nwarnings);

/* ---- results ---- */

#define CQL_MAX_COLS 64

struct cql_col {
	const char *name; /* a view into the response body */
	uint16_t name_len;
	uint16_t type; /* enum cql_type; the element type of collections is not kept */
};

struct cql_meta {
	uint32_t flags;
	int ncols;
	struct cql_col cols[CQL_MAX_COLS];
	const uint8_t *paging_state; /* a view; NULL when there is no further page */
	size_t paging_len;
	int pk_count; /* prepared metadata only */
};

struct cql_result {
	const uint8_t *body; /* the RESULT body parsed (for recording frames) */
	size_t body_len;
	int kind;
	struct cql_meta meta;
	int32_t nrows;
	struct cql_rd rows; /* positioned on the first row's first cell */
	/* prepared */
	const uint8_t *prep_id;
	size_t prep_id_len;
	struct cql_meta params;
	/* schema change / set keyspace: the change ("CREATED") and target name */
	const char *change;
	size_t change_len;
};

/* A cell: data and length, len < 0 for null. */
struct cql_cell {
	const uint8_t *p;
	int32_t len;
};

/*
 * Decode a RESULT body. Views point into body, which must outlive the result.
 * Returns 0, or -1 when the body is malformed (why says where).
 */
int cql_result_parse(const uint8_t *body, size_t n, struct cql_result *res, const char **why);
/* Parse rows metadata (also the second half of a PREPARED result); prepared: with pk indexes. */
int cql_meta_parse(struct cql_rd *r, struct cql_meta *m, int prepared);
/*
 * Next row's cells into cells[0..ncells-1]: ncells is both the caller's
 * capacity and the width it expects, and a result of any other width is
 * refused (-1) before a cell is written. Returns 1 with a row, 0 at the end,
 * -1 when malformed or of another width.
 */
int cql_row_next(struct cql_result *res, int32_t *left, struct cql_cell *cells, int ncells);

/* Typed cell decoders; each returns 0, or -1 when the cell is null or has the wrong size. */
int cql_get_int(struct cql_cell c, int32_t *v);
int cql_get_bigint(struct cql_cell c, int64_t *v); /* bigint, timestamp, counter */
int cql_get_double(struct cql_cell c, double *v);
int cql_get_uuid(struct cql_cell c, uint8_t u[16]);
int cql_get_boolean(struct cql_cell c, int *v);
/* decimal to an integer at scale `scale` (exact; -1 when it would round or overflow) */
int cql_get_decimal_scaled(struct cql_cell c, int32_t scale, int64_t *v);

/* Server ERROR body: code and message (a view), plus the Unprepared id. */
struct cql_error {
	int32_t code;
	const char *msg;
	size_t msg_len;
	const uint8_t *unprepared_id;
	size_t unprepared_len;
};
int cql_error_parse(const uint8_t *body, size_t n, struct cql_error *e);
const char *cql_error_name(int32_t code);
/* Whether a server error code means "try again later". */
int cql_error_retryable(int32_t code);

/* UUID text to bytes and back is uuid_from_text / uuid_to_text (jobads/util.h). */
/* 100 ns ticks since 1582-10-15 of a timeuuid, and ms since the Unix epoch. */
uint64_t cql_timeuuid_ticks(const uint8_t u[16]);
int64_t cql_timeuuid_ms(const uint8_t u[16]);
/* A timeuuid from ticks, clock sequence and node (the low 8 bytes as given). */
void cql_timeuuid_make(uint8_t u[16], uint64_t ticks, const uint8_t low8[8]);
#define CQL_TICKS_UNIX_OFFSET 122192928000000000ULL /* 1582-10-15 to 1970-01-01 in 100 ns */

/* ---- session ---- */

struct cql_sess;

/* TLS (cql_tls.c): verify the chain against ca (NULL: the system's CAs), and the host name. */
struct cql_tls_opts {
	int on;
	const char *ca;
	int verify_host;
};

struct cql_opts {
	const char *hosts; /* "h1,h2,h3" */
	int port;	   /* default 9042 */
	const char *user, *password;
	int connect_ms, request_ms;
	const char *name; /* for messages: the store's URL without its password */
	struct cql_tls_opts tls;
};

/* The TLS layer (libssl loaded on first use); why gets a one-line reason. */
struct cql_tls;
int cql_tls_connect(int fd, const char *host, const struct cql_tls_opts *o, int timeout_ms,
		    struct cql_tls **out, char *why, size_t n);
long cql_tls_send(struct cql_tls *t, const void *p, size_t n);
long cql_tls_recv(struct cql_tls *t, void *p, size_t n);
int cql_tls_pending(const struct cql_tls *t);
int cql_tls_want(const struct cql_tls *t);
void cql_tls_close(struct cql_tls *t);

/* Connect to the first contact point that answers (trying each in turn). */
int cql_sess_open(const struct cql_opts *o, struct cql_sess **out, struct jerr *err);
void cql_sess_close(struct cql_sess *s);
/* The host:port of the live connection (for messages), "" when none. */
const char *cql_sess_host(const struct cql_sess *s);

/* A prepared statement: prepared on first use, re-prepared after failover or Unprepared. */
struct cql_prep;
struct cql_prep *cql_prep_new(struct cql_sess *s, const char *query);
/* Bind-marker and result metadata of a prepared statement (prepares if needed). */
int cql_prep_ready(struct cql_sess *s, struct cql_prep *p, struct jerr *err);
int cql_prep_nparams(const struct cql_prep *p);

/*
 * One request: values is the concatenation of nvalues [value]s (cqlv_*).
 * paging: page_size 0 for none; state/state_len from the previous page's meta.
 */
struct cql_req {
	struct cql_prep *prep; /* EXECUTE this, or */
	const char *query;     /* QUERY this text */
	const struct cql_buf *values;
	int nvalues;
	uint16_t consistency;
	int32_t page_size;
	const uint8_t *paging_state;
	size_t paging_len;
};

/*
 * Pipelining: submit up to CQL_MAX_STREAMS requests, then wait for each by
 * its handle. A response lives until the next wait on the same handle or
 * cql_release; its result views point into it.
 */
int cql_submit(struct cql_sess *s, const struct cql_req *rq, int *handle, struct jerr *err);
int cql_wait(struct cql_sess *s, int handle, struct cql_result *res, struct jerr *err);
void cql_release(struct cql_sess *s, int handle);
/* Submit and wait. The response stays valid until cql_release(s, *handle). */
int cql_run(struct cql_sess *s, const struct cql_req *rq, struct cql_result *res, int *handle,
	    struct jerr *err);

/* Unlogged BATCH of prepared statements: stmts[i] with its values (each values[i] holds
 * nvalues[i] [value]s). */
int cql_batch_submit(struct cql_sess *s, struct cql_prep **stmts, const struct cql_buf *values,
		     const int *nvalues, int n, uint16_t consistency, int *handle,
		     struct jerr *err);

/* Counters for the benchmark: seconds spent encoding and decoding frames. */
struct cql_stats {
	double encode_s, decode_s, wait_s;
	int64_t frames_out, frames_in, bytes_out, bytes_in;
	int64_t warnings; /* warnings the server sent with its answers (read past, counted) */
};
void cql_sess_stats(const struct cql_sess *s, struct cql_stats *out);

#endif
