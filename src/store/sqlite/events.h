/*
 * sqlite/events.h - the SQLite event store's state, shared by events.c (the
 * ops) and events_writer.c (the thread that writes a batch's full spills while
 * the caller decodes the next; events.c's header says why rows are held).
 */
#ifndef JOBADS_STORE_SQLITE_EVENTS_H
#define JOBADS_STORE_SQLITE_EVENTS_H

#include <pthread.h>

#include "jobads/store.h"
#include "db.h"

struct scan_ctx {
	ev_row_fn fn;
	void *arg;
	size_t n;
	int stop;
	struct event ev;
};

/*
 * Rows held per spill: SPILL_ROWS_MIN, or more in a store that already holds many
 * events (spill_rows_for). A sorted spill of S rows lands on about as many pages
 * of the (ts, event_id) index as it has rows while the index has more leaves
 * than that; each page it lands on is read and written once per spill, so the
 * larger spill costs fewer page visits per row in a large store (docs/performance.md).
 */
#define SPILL_ROWS_MIN 16384
#define SPILL_ROWS_MAX 65536
#define N_TEXTS	       6

/*
 * A batch's row held until commit, only what the row stores (a struct event is
 * twice the size): text k is text[off[k], off[k + 1]) of its spill, empty when absent.
 */
struct held_row {
	int64_t ts_ms, bid, impressions, clicks, apply_count, cost_micros;
	int32_t publisher_id, job_id, campaign_id, quality_score;
	uint32_t off[N_TEXTS + 1];
	unsigned char id[EV_UUID_BYTES]; /* event_id as stored, made by the caller's thread */
	int8_t hour, day_of_week;
};

/* Up to spill_rows held rows and their texts. */
struct spill {
	struct held_row *rows;
	size_t n, cap;
	struct strbuf text;
};

/*
 * The spill writer: a full spill is written by this thread while the caller's
 * thread decodes and holds the next one (2 cores: ingest's decoding and SQLite's
 * inserts overlap). Only one thread uses the connection at a time: the caller
 * touches db only after writer_wait(), which every op that uses db calls first.
 */
enum { JOB_IDLE, JOB_PENDING, JOB_QUIT };
struct writer {
	pthread_t thr;
	int started, state, r;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct spill *sp; /* the spill being written */
	int64_t seq, dups;
	struct jerr err;
};

/*
 * The keys of tracking_key as of merged_upto == stamp, in a blocked Bloom filter
 * (events_bloom.c), once merged_upto is BLOOM_MIN_MERGED or more: a smaller table
 * stays in the page cache and its lookups are cheap.
 */
#define BLOOM_MIN_MERGED 1
struct key_bloom {
	unsigned char *bits; /* blocks of 64 bytes */
	uint64_t blocks;
	int64_t stamp; /* 0: none */
};

struct ev_sqlite {
	struct evstore base;
	sqlite3 *db;
	sqlite3_stmt *ins, *seen, *claim, *scan, *scan_range, *rowpub, *maxseq;
	int in_txn;
	struct scan_ctx *scanning; /* the scan in progress, for scan_step */
	struct spill sp[2];	   /* rows of the open batch not yet written: sp[cur] fills */
	int cur;
	struct writer w;
	int64_t held_dups;  /* duplicates among rows written when the batch spilled */
	int64_t seq_next;   /* the seq of the next held row to arrive, under the write lock */
	int64_t key_merged; /* tracking_key_state.merged_upto, read with seq_next */
	int scan_cache;	    /* the page cache is cut to SCAN_CACHE_KIB for scans */
	size_t spill_rows;  /* rows a spill holds: set when the first one fills (spill_rows_for) */
	int mapped;	    /* the file is read through mmap (map_for_lookups) */
	struct key_bloom bloom;
};

/* Under the write lock: claim an event's key, *dup when it is stored already. */
int ev_sqlite_claim(struct ev_sqlite *e, int64_t ts_ms, const unsigned char *id, int *dup,
		    struct jerr *err);
/* Under the write lock: write the row of a key just claimed. */
int ev_sqlite_put_row(struct ev_sqlite *e, const struct event *ev, const unsigned char *id,
		      struct jerr *err);

/* events_bloom.c */
/* 0 when the key is surely not in tracking_key (b's stamp is key_merged); 1 when it may be. */
int ev_bloom_may_hold(const struct key_bloom *b, int64_t ts_ms, const unsigned char *id);
/* Under the write lock: e->bloom for key_merged, loaded or built (and stored); J_OK
 * also without one (a small table, or no memory for it). */
int ev_bloom_ready(struct ev_sqlite *e, struct jerr *err);
/* Under the write lock: run merge_sql (tracking_key_new into tracking_key) with the
 * filter following it, stored with the new merged_upto; keys: an upper bound of
 * tracking_key's keys after it. */
int ev_bloom_merge(struct ev_sqlite *e, int64_t keys, const char *merge_sql, struct jerr *err);
void ev_bloom_drop(struct key_bloom *b);

/* events_writer.c */
/* Write a spill, keys in key order, rows in seq order (row i is seq + i); *dups += duplicates. */
int write_spill(struct ev_sqlite *e, struct spill *sp, int64_t seq, int64_t *dups,
		struct jerr *err);
/* Wait until no spill is being written; its duplicates to held_dups, its failure to err. */
int writer_wait(struct ev_sqlite *e, struct jerr *err);
/* Hand the full spill sp[cur] to the writer (idle: writer_wait came first) and switch. */
int writer_submit(struct ev_sqlite *e, struct jerr *err);
/* Wait for the writer and end its thread. */
void writer_stop(struct ev_sqlite *e);

#endif
