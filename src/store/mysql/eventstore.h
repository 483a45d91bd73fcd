/*
 * mysql/eventstore.h - what the event store's files share, private to them:
 * events.c (the ops, open and close, scan, stats), events_rows.c (the row
 * buffer both ingest ways fill, holds, the row-insert way) and events_load.c
 * (the LOAD DATA way and its sender thread). The design is in events.c's
 * header.
 */
#ifndef JOBADS_MYSQL_EVENTS_H
#define JOBADS_MYSQL_EVENTS_H

#include <pthread.h>
#include <stdatomic.h>

#include "jobads/store.h"
#include "conn.h"

#define INS_LEVELS 10			    /* insert statements of 2^k rows, k < INS_LEVELS */
#define BLOCK	   (1u << (INS_LEVELS - 1)) /* rows buffered before they are sent: 512 */
#define INS_COLS   19

#define LD_CHUNK    4096  /* rows per LOAD DATA statement (and seq reservation) */
#define LD_EARLY    128	  /* an idle sender takes a chunk once it holds this many rows */
#define LD_COMMIT_S 0.003 /* a COMMIT's reply is read after a chunk sent this much later */
#define LD_QUEUE    2	  /* full chunks waiting for the sender */
#define LD_NAME	    "jobads-events" /* the only "file" our local-infile handler serves */
#define LD_VOIDS    1024	    /* void ranges read per scan */

struct pend {
	char event_id[EV_UUID_LEN + 1];
	int64_t ts;
	int32_t publisher_id, job_id, campaign_id, quality_score, hour, day_of_week;
	int64_t bid, impressions, clicks, apply_count, cost_micros;
	size_t off[5]; /* publisher_name, traffic, quality, industry, location in the arena */
	size_t doff;   /* device */
	unsigned long len[7]; /* event_id + the six texts */
	my_bool null_traffic, null_quality, null_bid;
	int dup;
	uint32_t hash;
};

/* Parsed rows waiting to be sent, with a hash of their keys for duplicates. */
struct rowbuf {
	struct pend *rows;
	uint32_t n, cap;
	struct strbuf arena;
	uint32_t *slots; /* index + 1 into rows; 0 empty; cap * 4 of them */
};

struct chunk {
	int commit; /* not rows: the end of a batch (commit it) */
	struct rowbuf b;
	int64_t base; /* seq of rows[0]; rows[i] gets base + i */
	struct chunk *next;
};

/*
 * A connection and what ingest prepares on it. The LOAD way takes turns
 * between two, a batch each, so that one commits while the next batch loads
 * on the other (c[0] is the store's own connection, c[1] is opened when the
 * first batch commits).
 */
struct conn {
	MYSQL *db;
	int started;	  /* a transaction is open */
	int committing;	  /* a COMMIT was sent, its reply not read yet */
	double commit_at; /* time_mono() */
	int64_t commit_dups;
	/* this connection's row in jobads_hold: its transaction holds hold_from on */
	int held;
	int64_t hold_from;
	double renewed_at; /* time_mono() */
	MYSQL_STMT *ins[INS_LEVELS], *check, *reserve, *post, *voidins, *hold, *renew;
};

/*
 * The LOAD DATA sender: a thread started by the first chunk and kept until
 * close, so that a batch does not wait for a new thread to get going.
 */
struct loader {
	pthread_t th;
	int running, quit;
	pthread_mutex_t mu;
	pthread_cond_t work, space;
	struct chunk *head, *tail; /* queued chunks and commit markers */
	int queued;
	int busy;	    /* the sender is at work: a chunk, a COMMIT or its reply */
	struct chunk *pool; /* free chunks */
	int rc;		    /* the batch's first failure (STORE_*); its other chunks are dropped */
	struct jerr err;
	/* commit markers queued and done, and the outcome of the last one */
	uint64_t commits_sent, commits_done;
	int commit_rc;
	struct jerr commit_err;
	int64_t commit_dups;
	int inflight; /* connections with a COMMIT in flight */
	/*
	 * The caller is rolling back on the connections itself (ld_drop until the
	 * next chunk is queued): the heartbeat must not use them meanwhile.
	 */
	int hb_off;
	atomic_int idle; /* the sender waits for a chunk */
	/* the chunk the local-infile handler is serving */
	struct chunk *cur;
	uint32_t next_row;
	struct strbuf line;
	size_t line_off;
};

struct ev_mysql {
	struct evstore base;
	struct my_url url;
	MYSQL *db;
	int mariadb;
	int load;    /* ingest through LOAD DATA LOCAL */
	int in_txn;  /* between begin and commit */
	int pending; /* commit_start called, commit_wait not yet */
	struct conn c[2];
	struct conn *sconn; /* the sender's: the connection of the batch it sends */
	MYSQL_STMT *scan, *maxseq, *voids, *holds;
	char holder[128];   /* host:pid, in jobads_hold for people to read */
	struct rowbuf blk;  /* the rows way: the block being filled */
	struct chunk *fill; /* the LOAD way: the chunk being filled */
	struct loader ld;
	MYSQL_BIND *pb;
	int64_t check_ts[BLOCK];
	int64_t late_dups;
	struct my_cols scan_cols;
	int scan_bound;
	int64_t void_from[LD_VOIDS], void_to[LD_VOIDS];
	int nvoids;
};

#define INS_COLS_SQL                                                                               \
	"event_id, ts, publisher_id, publisher_name, publisher_traffic, publisher_quality, bid,"   \
	" job_id, campaign_id, industry, location, impressions, clicks, apply_count,"              \
	" cost_micros, quality_score, device, hour, day_of_week"

static inline int run(struct ev_mysql *e, MYSQL_STMT *st, MYSQL_BIND *params, const char *what,
		      struct jerr *err)
{
	return my_run(st, params, e->base.name, what, err);
}

static inline void close_stmt(MYSQL_STMT **st)
{
	if (*st)
		mysql_stmt_close(*st);
	*st = NULL;
}

/* J_RETRY or J_ERROR for st's last error (after my_fetch filled err). */
static inline int stmt_code(MYSQL_STMT *st)
{
	return my_code_retryable(mysql_stmt_errno(st)) ? J_RETRY : J_ERROR;
}

/* The module's own: none of these is seen outside jobads-mysql.so. */
#pragma GCC visibility push(hidden)

/* events_load.c: READ COMMITTED and the local-infile handler, on each connection. */
int session_setup(struct ev_mysql *e, MYSQL *db, struct jerr *err);

/* events_rows.c: the row buffer (a chunk's or the rows way's block). */
void rowbuf_init(struct rowbuf *b, uint32_t cap);
void rowbuf_clear(struct rowbuf *b);
void rowbuf_release(struct rowbuf *b);
/* Add ev to b unless b holds its key already (*dup = 1). b must have room. */
void rowbuf_add(struct rowbuf *b, const struct event *ev, int *dup);
/* Row i of b as an event (texts point into b's arena). */
void rowbuf_event(const struct rowbuf *b, uint32_t i, struct event *ev);

/* events_rows.c: k's transaction and its hold (events.c's header). */
int start_txn(struct ev_mysql *e, struct conn *k, struct jerr *err);
int hold_take(struct ev_mysql *e, struct conn *k, int64_t from, struct jerr *err);
int hold_renew(struct ev_mysql *e, struct conn *k, struct jerr *err);
void hold_release(struct conn *k);

/* events_rows.c: the rows way. */
int rows_flush(struct ev_mysql *e, struct conn *k, struct jerr *err);
int rows_commit(struct ev_mysql *e, struct jerr *err);

/* events_load.c: the LOAD way. */
void ld_set_handler(struct ev_mysql *e, MYSQL *db);
int ld_push(struct ev_mysql *e, struct jerr *err);
int ld_commit_start(struct ev_mysql *e, struct jerr *err);
void ld_drop(struct ev_mysql *e);
void ld_stop(struct ev_mysql *e);
void rollback_conns(struct ev_mysql *e);
void chunks_free(struct chunk *c);

#pragma GCC visibility pop

#endif
