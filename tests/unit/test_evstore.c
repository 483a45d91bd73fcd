/*
 * test_evstore.c - the SQLite event store's reads, on a real file: the ETL's
 * range scan (rows handed over from inside the statement by jobads_rows()),
 * the cursor scan, and the publisher read, each against the rows inserted;
 * its ingest batch, which holds its rows until commit and writes them a spill
 * at a time, larger spills in a larger store, and the duplicate check's two key
 * tables and their merge; and store.c's URL helpers that keep a password out
 * of every message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobads/event.h"
#include "jobads/store.h"
#include "jobads/util.h"

#define NROWS 50

static char dir[] = "/tmp/test_evstore.XXXXXX";
static char url[64];

static const char *industries[] = {"Tech", "Health", "O'Brien \"Q\" \\ ; DROP TABLE tracking; --",
				   "Caf\xc3\xa9 \xf0\x9f\x98\x80"};

/* Row i of the test data: every field differs from row to row. */
static void mk(int i, struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->event_id, sizeof(ev->event_id), "00000000-0000-4000-8000-%012d", i);
	ev->ts_ms = 1772359200000LL + (int64_t)i * 61000;
	ev->publisher_id = 1 + i % 3;
	ev->publisher_name = ev_str_of(i % 3 == 0 ? "Google Ads" : "LinkedIn");
	ev->publisher_traffic = i % 2 ? ev_str_of("high") : ev_str_of("");
	ev->bid = -1;
	ev->job_id = 7;
	ev->campaign_id = 100 + i;
	ev->industry = ev_str_of(industries[i % 4]);
	ev->location = ev_str_of(i % 5 ? "Berlin" : "S\xc3\xa3o Paulo");
	ev->device = ev_str_of(i % 2 ? "mobile" : "desktop");
	ev->impressions = 1000 + i;
	ev->clicks = 10 + i;
	ev->apply_count = i;
	ev->cost_micros = 1234567LL * i;
	ev->quality_score = i % 101;
}

struct seen {
	int n;
	int stop_after; /* 0: never stop */
	int64_t seq[NROWS];
	int ok[NROWS];
};

static int same(struct ev_str a, struct ev_str b)
{
	return a.n == b.n && memcmp(a.s, b.s, a.n) == 0;
}

static int collect(void *arg, const struct event *ev)
{
	struct seen *s = arg;
	struct event want;
	int i = (int)ev->seq - 1;
	assert_true(i >= 0 && i < NROWS);
	mk(i, &want);
	s->seq[s->n] = ev->seq;
	s->ok[s->n] = ev->ts_ms == want.ts_ms && ev->publisher_id == want.publisher_id &&
		      ev->campaign_id == want.campaign_id && same(ev->industry, want.industry) &&
		      same(ev->location, want.location) && same(ev->device, want.device) &&
		      ev->impressions == want.impressions && ev->clicks == want.clicks &&
		      ev->apply_count == want.apply_count && ev->cost_micros == want.cost_micros &&
		      ev->quality_score == want.quality_score;
	if (!s->ok[s->n])
		print_error("row seq %lld differs from what was inserted\n", (long long)ev->seq);
	s->n++;
	return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

static int setup(void **state)
{
	struct evstore *es;
	struct jerr err;
	int64_t late;
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/ev.db", dir);
	assert_int_equal(evstore_open(url, STORE_CREATE, &es, &err), J_OK);
	assert_int_equal(es->ops->begin(es, &err), J_OK);
	for (int i = 0; i < NROWS; i++) {
		struct event ev;
		int dup = -1;
		mk(i, &ev);
		assert_int_equal(es->ops->insert(es, &ev, &dup, &err), J_OK);
		assert_int_equal(dup, 0);
	}
	assert_int_equal(es->ops->commit(es, &late, &err), J_OK);
	evstore_close(es);
	return 0;
}

static int teardown(void **state)
{
	char path[96];
	(void)state;
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/ev.db%s", dir, suffix[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

static void scan_range_reads_every_field(void **state)
{
	struct evstore *es, *es2;
	struct jerr err;
	struct seen s;
	size_t n = 0;
	(void)state;
	assert_int_equal(evstore_open(url, STORE_OPEN_EXISTING, &es, &err), J_OK);
	assert_non_null(es->ops->scan_range);

	memset(&s, 0, sizeof(s));
	assert_int_equal(es->ops->scan_range(es, 0, NROWS, collect, &s, &n, &err), J_OK);
	assert_int_equal(n, NROWS);
	assert_int_equal(s.n, NROWS);
	for (int i = 0; i < NROWS; i++) {
		assert_int_equal(s.seq[i], i + 1); /* in seq order */
		assert_true(s.ok[i]);
	}

	/* (lo, hi]: lo excluded, hi included; on a second connection too */
	assert_int_equal(es->ops->reopen(es, &es2, &err), J_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(es2->ops->scan_range(es2, 10, 17, collect, &s, &n, &err), J_OK);
	assert_int_equal(n, 7);
	assert_int_equal(s.seq[0], 11);
	assert_int_equal(s.seq[6], 17);

	/* an empty range, and a range past the end */
	memset(&s, 0, sizeof(s));
	assert_int_equal(es->ops->scan_range(es, 20, 20, collect, &s, &n, &err), J_OK);
	assert_int_equal(n, 0);
	assert_int_equal(es->ops->scan_range(es, NROWS, NROWS + 100, collect, &s, &n, &err), J_OK);
	assert_int_equal(n, 0);

	/* the row function's stop is returned, and no row is handed over after it */
	memset(&s, 0, sizeof(s));
	s.stop_after = 3;
	assert_int_equal(es->ops->scan_range(es, 0, NROWS, collect, &s, &n, &err), 42);
	assert_int_equal(s.n, 3);
	/* and the statement is usable again */
	memset(&s, 0, sizeof(s));
	assert_int_equal(es->ops->scan_range(es, 0, 5, collect, &s, &n, &err), J_OK);
	assert_int_equal(n, 5);
	evstore_close(es2);
	evstore_close(es);
}

static void scan_and_scan_range_agree(void **state)
{
	struct evstore *es;
	struct jerr err;
	struct seen a, b;
	size_t n = 0;
	int64_t upto = 0;
	(void)state;
	assert_int_equal(evstore_open(url, STORE_OPEN_EXISTING, &es, &err), J_OK);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(es->ops->scan(es, 5, 20, collect, &a, &n, &upto, &err), J_OK);
	assert_int_equal(n, 20);
	assert_int_equal(upto, 25);
	assert_int_equal(es->ops->scan_range(es, 5, 25, collect, &b, &n, &err), J_OK);
	assert_int_equal(n, 20);
	assert_memory_equal(a.seq, b.seq, sizeof(a.seq));
	for (int i = 0; i < 20; i++)
		assert_true(a.ok[i] && b.ok[i]);

	/* a stop ends the scan at the row that asked for it, which is how far upto goes */
	memset(&a, 0, sizeof(a));
	a.stop_after = 3;
	assert_int_equal(es->ops->scan(es, 5, 20, collect, &a, &n, &upto, &err), 42);
	assert_int_equal(a.n, 3);
	assert_int_equal(upto, 8);
	/* nothing after the newest row: upto stays where it was asked from */
	memset(&a, 0, sizeof(a));
	assert_int_equal(es->ops->scan(es, NROWS, 20, collect, &a, &n, &upto, &err), J_OK);
	assert_int_equal(n, 0);
	assert_int_equal(upto, NROWS);
	evstore_close(es);
}

struct pub {
	int32_t id;
	char name[32], traffic[32];
	uint32_t traffic_n;
};

/* The strings live in the statement until the call returns: copy them. */
static int pub_row(void *arg, const struct event *ev)
{
	struct pub *p = arg;
	p->id = ev->publisher_id;
	snprintf(p->name, sizeof(p->name), "%.*s", (int)ev->publisher_name.n, ev->publisher_name.s);
	snprintf(p->traffic, sizeof(p->traffic), "%.*s", (int)ev->publisher_traffic.n,
		 ev->publisher_traffic.s);
	p->traffic_n = ev->publisher_traffic.n;
	return 0;
}

static void publisher_read_by_seq(void **state)
{
	struct evstore *es;
	struct jerr err;
	struct pub got;
	(void)state;
	assert_int_equal(evstore_open(url, STORE_OPEN_EXISTING, &es, &err), J_OK);
	assert_int_equal(es->ops->row_publisher(es, 4, pub_row, &got, &err), J_OK);
	assert_int_equal(got.id, 1 + 3 % 3);
	assert_string_equal(got.name, "Google Ads");
	assert_string_equal(got.traffic, "high");
	assert_int_equal(es->ops->row_publisher(es, 3, pub_row, &got, &err), J_OK);
	assert_string_equal(got.name, "LinkedIn");
	assert_int_equal(got.traffic_n, 0); /* absent */
	assert_int_equal(es->ops->row_publisher(es, 999, pub_row, &got, &err), J_ERROR);
	assert_non_null(strstr(err.msg, "seq 999"));
	evstore_close(es);
}

static int64_t rows_in(struct evstore *s)
{
	struct jerr err;
	int64_t max_seq, rows = -1;
	assert_int_equal(s->ops->stats(s, &max_seq, &rows, &err), J_OK);
	return rows;
}

static void put(struct evstore *s, int i)
{
	struct jerr err;
	struct event ev;
	int dup = -1;
	mk(i, &ev);
	assert_int_equal(s->ops->insert(s, &ev, &dup, &err), J_OK);
	assert_int_equal(dup, 0); /* SQLite learns of duplicates at commit */
}

/*
 * An open batch does not hold the file's write lock: another connection
 * writes and commits while it is open (before, it waited out the 10 s busy
 * timeout and failed), and the batch's duplicates, of its own rows and of the
 * other writer's, are counted at commit. A rolled-back batch leaves nothing; a
 * batch past the rows held in memory spills and still commits whole.
 */
static void open_batch_leaves_the_write_lock(void **state)
{
	char u[96];
	struct evstore *a, *b;
	struct jerr err;
	int64_t late = -1;
	(void)state;
	snprintf(u, sizeof(u), "sqlite:%s/batch.db", dir);
	assert_int_equal(evstore_open(u, STORE_CREATE, &a, &err), J_OK);
	assert_int_equal(evstore_open(u, STORE_OPEN_EXISTING, &b, &err), J_OK);

	assert_int_equal(a->ops->begin(a, &err), J_OK);
	for (int i = 0; i < 10; i++)
		put(a, i);
	put(a, 3); /* again in the same batch */
	assert_int_equal(b->ops->begin(b, &err), J_OK);
	for (int i = 5; i < 15; i++)
		put(b, i);
	assert_int_equal(b->ops->commit(b, &late, &err), J_OK);
	assert_int_equal(late, 0);
	assert_int_equal(rows_in(b), 10);
	assert_int_equal(a->ops->commit(a, &late, &err), J_OK);
	assert_int_equal(late, 1 + 5); /* row 3 twice, rows 5..9 stored by b */
	assert_int_equal(rows_in(a), 15);

	assert_int_equal(a->ops->begin(a, &err), J_OK);
	for (int i = 100; i < 103; i++)
		put(a, i);
	a->ops->rollback(a);
	assert_int_equal(a->ops->commit(a, &late, &err), J_OK); /* nothing open: nothing written */
	assert_int_equal(rows_in(a), 15);

	assert_int_equal(a->ops->begin(a, &err), J_OK);
	for (int i = 1000; i < 6000; i++) {
		struct event ev;
		int dup = -1;
		mk(i, &ev);
		assert_int_equal(a->ops->insert(a, &ev, &dup, &err), J_OK);
	}
	assert_int_equal(a->ops->commit(a, &late, &err), J_OK);
	assert_int_equal(late, 0);
	assert_int_equal(rows_in(b), 5015);
	evstore_close(a);
	evstore_close(b);
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(u, sizeof(u), "%s/batch.db%s", dir, suffix[i]);
		unlink(u);
	}
}

struct batch_seen {
	int64_t first_seq; /* the seq of input position 0 */
	const int *pos_of; /* input position -> event i, -1 where it repeats an earlier one */
	int npos, n, bad;
	int64_t last;
};

/* Every row of the batch: at the seq of its place in the input, with its event's fields. */
static int batch_row(void *arg, const struct event *ev)
{
	struct batch_seen *b = arg;
	int64_t p = ev->seq - b->first_seq;
	struct event want;
	if (p < 0 || p >= b->npos || b->pos_of[p] < 0 || ev->seq <= b->last) {
		b->bad++;
		return 0;
	}
	b->last = ev->seq;
	mk(b->pos_of[p], &want);
	if (ev->ts_ms != want.ts_ms || ev->campaign_id != want.campaign_id ||
	    !same(ev->industry, want.industry) || !same(ev->location, want.location) ||
	    !same(ev->device, want.device) || ev->cost_micros != want.cost_micros ||
	    ev->apply_count != want.apply_count || ev->quality_score != want.quality_score)
		b->bad++;
	b->n++;
	return 0;
}

/* Whether this process maps path (/proc/self/maps names it). */
static int file_is_mapped(const char *path)
{
	char line[512];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		size_t n = strlen(line), m = strlen(path);
		found = n >= m && strcmp(line + n - m, path) == 0;
	}
	fclose(f);
	return found;
}

/*
 * A store that has handed out 5,000,000 seqs holds 65,536 rows per spill
 * instead of 16,384 (spill_rows_for): the batch's first 16,384 rows go on
 * being held, then spill, then the rest commit. Duplicates placed across both
 * boundaries and against an earlier batch are each stored once, every other
 * row at the seq of its place in the input, its fields whole.
 */
static void spills_grow_with_the_store(void **state)
{
	enum { N = 140000 };
	char u[96], path[96];
	struct evstore *s;
	struct jerr err;
	sqlite3 *db;
	int64_t late = -1, max_seq = 0, rows = 0;
	(void)state;
	snprintf(path, sizeof(path), "%s/big.db", dir);
	snprintf(u, sizeof(u), "sqlite:%s", path);
	assert_int_equal(evstore_open(u, STORE_CREATE, &s, &err), J_OK);
	assert_int_equal(s->ops->begin(s, &err), J_OK);
	put(s, 3 * N); /* an event of an earlier batch, sent again below */
	assert_int_equal(s->ops->commit(s, &late, &err), J_OK);
	evstore_close(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "UPDATE sqlite_sequence SET seq = 5000000 WHERE name = 'tracking'",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	/* input positions: events 0..N-1 in order, and four repeats (-1 in pos_of) */
	int npos = N + 4;
	int *ev_at = xmalloc((size_t)npos * sizeof(int)),
	    *pos_of = xmalloc((size_t)npos * sizeof(int));
	for (int p = 0, i = 0; p < npos; p++) {
		pos_of[p] = -1;
		if (p == 16384 + 5)
			ev_at[p] = 16380; /* its first is before the 16,384th row, this after */
		else if (p == 65536 + 9)
			ev_at[p] = 100; /* its first is in the 65,536-row spill the writer wrote */
		else if (p == N + 1)
			ev_at[p] = 3 * N; /* stored by the earlier batch */
		else if (p == N + 2)
			ev_at[p] = 70000; /* its first is in this batch's second spill */
		else
			ev_at[p] = pos_of[p] = i++;
	}
	assert_int_equal(evstore_open(u, STORE_OPEN_EXISTING, &s, &err), J_OK);
	assert_int_equal(s->ops->begin(s, &err), J_OK);
	for (int p = 0; p < npos; p++) {
		struct event ev;
		int dup = -1;
		mk(ev_at[p], &ev);
		assert_int_equal(s->ops->insert(s, &ev, &dup, &err), J_OK);
	}
	assert_int_equal(s->ops->commit(s, &late, &err), J_OK);
	assert_int_equal(late, 4); /* the four repeats */
	assert_int_equal(s->ops->stats(s, &max_seq, &rows, &err), J_OK);
	assert_int_equal(rows, 1 + N);
	assert_int_equal(max_seq, 5000000 + (int64_t)npos); /* the last position is new */

	struct batch_seen b = {.first_seq = 5000001, .pos_of = pos_of, .npos = npos};
	size_t n = 0;
	assert_int_equal(s->ops->scan_range(s, 5000000, max_seq, batch_row, &b, &n, &err), J_OK);
	assert_int_equal(b.bad, 0);
	assert_int_equal(b.n, N);

	/*
	 * 5,140,004 seqs past merged_upto (0) is past KEY_MERGE_MIN: that commit
	 * moved every key into tracking_key, in the same transaction as the rows.
	 * The next batch finds them there, and claims new ones in tracking_key_new.
	 */
	int64_t n_keys = -1, n_new = -1, merged = -1;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT (SELECT COUNT(*) FROM tracking_key),"
					    " (SELECT COUNT(*) FROM tracking_key_new),"
					    " (SELECT merged_upto FROM tracking_key_state)",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n_keys = sqlite3_column_int64(st, 0);
	n_new = sqlite3_column_int64(st, 1);
	merged = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	assert_int_equal(n_keys, 1 + N);
	assert_int_equal(n_new, 0);
	assert_int_equal(merged, max_seq);
	assert_int_equal(s->ops->begin(s, &err), J_OK);
	for (int i = N - 5; i < N + 5; i++) /* five merged, five new */
		put(s, i);
	put(s, 3 * N);
	assert_int_equal(s->ops->commit(s, &late, &err), J_OK);
	assert_int_equal(late, 6);
	assert_int_equal(rows_in(s), 1 + N + 5);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 1 + N);
	assert_int_equal(sqlite3_column_int64(st, 1), 5);
	sqlite3_reset(st);

	/*
	 * With over 1 M seqs merged, a batch that fills SPILL_ROWS_MIN rows reads the
	 * file through mmap from then on (map_for_lookups), until the store closes.
	 * Out of order: events N - 10,000 to N + 4 are stored (most in tracking_key,
	 * five in tracking_key_new), the rest are new; each is found once and
	 * stored once.
	 */
	assert_false(file_is_mapped(path));
	assert_int_equal(s->ops->begin(s, &err), J_OK);
	for (int p = 0; p < 30000; p++)
		put(s, N - 10000 + (int)(((int64_t)p * 7919) % 30000));
	assert_int_equal(s->ops->commit(s, &late, &err), J_OK);
	assert_true(file_is_mapped(path));
	assert_int_equal(late, 10005);
	assert_int_equal(rows_in(s), 1 + N + 20000);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 1 + N);
	assert_int_equal(sqlite3_column_int64(st, 1), 20000);
	sqlite3_finalize(st);
	sqlite3_close(db);
	evstore_close(s);
	assert_false(file_is_mapped(path));
	free(ev_at);
	free(pos_of);
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/big.db%s", dir, suffix[i]);
		unlink(path);
	}
}

static int64_t q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The next seq handed out is past n, as if n events had been stored. */
static void seq_to(sqlite3 *db, int64_t n)
{
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'tracking'",
			       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, n);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* One batch of events from..to-1 into s; its duplicates. */
static int64_t batch_of(struct evstore *s, int from, int to)
{
	struct jerr err;
	int64_t late = -1;
	assert_int_equal(s->ops->begin(s, &err), J_OK);
	for (int i = from; i < to; i++)
		put(s, i);
	int r = s->ops->commit(s, &late, &err);
	if (r != J_OK)
		print_error("%s\n", err.msg);
	assert_int_equal(r, J_OK);
	return late;
}

/*
 * The Bloom filter of tracking_key's keys (events_bloom.c): built from the table
 * at the first merge (a swap of the two tables), stored with it; added to by the
 * next merge while it has room; used by another connection only once it has
 * loaded the one stored for the table's merged_upto; rebuilt when the stored one's
 * stamp is not the table's (an older jobads merged). A key merged is a duplicate
 * from every connection at every step, a new one is stored once. (seqs are moved
 * on through sqlite_sequence, so that a few thousand rows stand for millions)
 */
static void bloom_follows_the_merges(void **state)
{
	char u[96], path[96];
	struct evstore *a, *b;
	struct jerr err;
	sqlite3 *db;
	(void)state;
	snprintf(path, sizeof(path), "%s/bloom.db", dir);
	snprintf(u, sizeof(u), "sqlite:%s", path);
	assert_int_equal(evstore_open(u, STORE_CREATE, &a, &err), J_OK);
	assert_int_equal(evstore_open(u, STORE_OPEN_EXISTING, &b, &err), J_OK);
	assert_int_equal(batch_of(a, 0, 1000), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
#define STAMP	 "SELECT merged_upto FROM tracking_key_bloom"
#define MERGED	 "SELECT merged_upto FROM tracking_key_state"
#define KEYS	 "SELECT COUNT(*) FROM tracking_key"
#define NEW_KEYS "SELECT COUNT(*) FROM tracking_key_new"
#define BLOCKS	 "SELECT blocks FROM tracking_key_bloom"
	/* b's first batch, before any merge: no filter */
	assert_int_equal(batch_of(b, 990, 1010), 10);
	assert_int_equal(q1(db, "SELECT COUNT(*) FROM tracking_key_bloom"), 0);

	/* the first merge, into a table of 5 M seqs, is a swap of the two tables (the
	 * large one is empty): tracking_key_new's B-tree becomes tracking_key's, and
	 * the filter is built from it and stored with it */
	seq_to(db, 5000000);
	int64_t root_new =
	    q1(db, "SELECT rootpage FROM sqlite_master WHERE name = 'tracking_key_new'");
	int64_t root_key = q1(db, "SELECT rootpage FROM sqlite_master WHERE name = 'tracking_key'");
	assert_int_equal(batch_of(a, 1010, 2000), 0);
	assert_int_equal(q1(db, "SELECT rootpage FROM sqlite_master WHERE name = 'tracking_key'"),
			 root_new);
	assert_int_equal(
	    q1(db, "SELECT rootpage FROM sqlite_master WHERE name = 'tracking_key_new'"), root_key);
	assert_int_equal(q1(db, MERGED), 5000990);
	assert_int_equal(q1(db, STAMP), 5000990);
	assert_int_equal(q1(db, KEYS), 2000);
	assert_int_equal(q1(db, NEW_KEYS), 0);
	int64_t blocks = q1(db, BLOCKS);
	assert_true(blocks * 512 >= 5000990LL * 12);

	/* b loads it: every merged key is a duplicate, from either end of the table */
	assert_int_equal(batch_of(b, 0, 2100), 2000);
	assert_int_equal(batch_of(b, 1995, 2005), 10); /* 2000..2004: in tracking_key_new */
	assert_int_equal(rows_in(b), 2100);

	/* the next merge, into a table that holds keys, copies tracking_key_new's keys
	 * into it and adds them to a's filter in memory (it has room) */
	seq_to(db, 7100000);
	assert_int_equal(batch_of(a, 2100, 2200), 0);
	assert_int_equal(q1(db, "SELECT rootpage FROM sqlite_master WHERE name = 'tracking_key'"),
			 root_new);
	assert_int_equal(q1(db, KEYS), 2200);
	assert_int_equal(q1(db, NEW_KEYS), 0);
	assert_int_equal(q1(db, STAMP), q1(db, MERGED));
	assert_int_equal(q1(db, BLOCKS), blocks);

	/* b's filter is older than the table: it loads the new one; b's 2000..2099 and
	 * a's 2100..2199 are duplicates, found through it */
	assert_int_equal(batch_of(b, 2000, 2210), 200);
	assert_int_equal(batch_of(a, 0, 10), 10);
	assert_int_equal(rows_in(a), 2210);

	/* the stored filter as a merge by an older jobads leaves it: its stamp is not the
	 * table's, so the next batch of a new connection builds it again from the table */
	evstore_close(a);
	evstore_close(b);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE tracking_key_bloom SET merged_upto = 1,"
				      " bits = zeroblob(length(bits))",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(evstore_open(u, STORE_OPEN_EXISTING, &a, &err), J_OK);
	assert_int_equal(batch_of(a, 0, 2220), 2210);
	assert_int_equal(q1(db, STAMP), q1(db, MERGED));
	assert_int_equal(q1(db,
			    "SELECT length(bits) = blocks * 64 AND bits != zeroblob(length(bits))"
			    " FROM tracking_key_bloom"),
			 1);
	assert_int_equal(rows_in(a), 2220);
	assert_int_equal(q1(db, "SELECT COUNT(DISTINCT event_id) FROM tracking"), 2220);
	evstore_close(a);
	sqlite3_close(db);
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/bloom.db%s", dir, suffix[i]);
		unlink(path);
	}
}

static void url_redact(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"mysql://u:pw@h:3306/db", "mysql://u:***@h:3306/db"},
	    {"mysql://u@h/db", "mysql://u@h/db"}, /* no password: nothing hidden */
	    {"sqlite:/data/a@b:c.db", "sqlite:/data/a@b:c.db"},
	    {"data/events.db", "data/events.db"},
	    /* raw '/', '?', '#', '@', ':' in the password: hidden up to the last '@' */
	    {"mysql://u:a/b@c:d?e#f@h/db", "mysql://u:***@h/db"},
	    {"cassandra://bob:12/x@h1,h2:9042/ks?settle=0",
	     "cassandra://bob:***@h1,h2:9042/ks?settle=0"},
	    {"postgres://u:p?w@h/x", "postgres://u:***@h/x"},
	    /* a '@' in a parameter hides more than needed, never less */
	    {"mysql://u:pw@h/db?socket=/a@b", "mysql://u:***@b"},
	};
	char buf[128];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(store_url_redact(cases[i][0], buf, sizeof(buf)), cases[i][1]);
	/* truncated to fit, never overrun */
	char small[16];
	assert_int_equal(
	    strlen(store_url_redact("mysql://u:pw@a-long-host-name/db", small, sizeof(small))),
	    sizeof(small) - 1);
}

static void url_userinfo_end(void **state)
{
	(void)state;
	struct jerr err;
	const char *at, *auth = "u:p@ss@h:1/db?x=1";
	assert_int_equal(store_url_userinfo_end("mysql", auth, auth + 10, &at, &err), J_OK);
	assert_ptr_equal(at, auth + 6); /* the last '@' before the path */
	auth = "h:1/db";
	assert_int_equal(store_url_userinfo_end("mysql", auth, auth + 3, &at, &err), J_OK);
	assert_null(at);
	/* a raw '/' in the password: the '@' lands past the authority's end */
	auth = "u:Sx7/Kw9@h/db";
	assert_int_equal(store_url_userinfo_end("cassandra", auth, auth + 5, &at, &err), J_ERROR);
	assert_string_equal(err.msg, "cassandra://u:***@h/db: '@' after the host: a '/' or '?' in "
				     "the user name or password, or a '@' in a parameter, must be "
				     "percent-encoded (%2F, %3F, %40)");
	assert_null(strstr(err.msg, "Sx7"));
	assert_null(strstr(err.msg, "Kw9"));
}

/* The one percent-decoder of every backend's URL: strict, and silent about the text. */
static void url_unescape(void **state)
{
	(void)state;
	struct jerr err;
	char out[8];
	/* either case, and an escape that ends the text exactly */
	assert_int_equal(store_url_unescape("n", "p", "a%3a%3A%41", 10, out, sizeof(out), &err),
			 J_OK);
	assert_string_equal(out, "a::A");
	assert_int_equal(store_url_unescape("n", "p", "", 0, out, sizeof(out), &err), J_OK);
	assert_string_equal(out, "");
	/* seven bytes fit in eight with the NUL, eight do not */
	assert_int_equal(store_url_unescape("n", "p", "1234567", 7, out, sizeof(out), &err), J_OK);
	assert_int_equal(store_url_unescape("n", "p", "123456%37", 9, out, sizeof(out), &err),
			 J_OK);
	assert_string_equal(out, "1234567");
	assert_int_equal(
	    store_url_unescape("n", "the password", "Sx7Kw9%38%39", 12, out, sizeof(out), &err),
	    J_ERROR);
	assert_string_equal(err.msg, "n: the password: longer than 7 bytes");
	/* a truncated or malformed escape, and %00; n bounds the text, not a NUL */
	const char *bad[] = {"Sx7%", "Sx7%4", "Sx7%4g", "Sx7%g4", "Sx7%zz", "Sx7%%41", "Sx7%41%"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (store_url_unescape("cassandra URL", "the password", bad[i], strlen(bad[i]), out,
				       sizeof(out), &err) != J_ERROR)
			print_error("'%s' was accepted\n", bad[i]);
		assert_int_equal(store_url_unescape("cassandra URL", "the password", bad[i],
						    strlen(bad[i]), out, sizeof(out), &err),
				 J_ERROR);
		assert_string_equal(err.msg, "cassandra URL: the password: a '%' not followed by "
					     "two hex digits (write '%' as %25)");
	}
	assert_int_equal(store_url_unescape("n", "p", "%4142", 2, out, sizeof(out), &err), J_ERROR);
	assert_int_equal(
	    store_url_unescape("n", "the user name", "bob%00x", 7, out, sizeof(out), &err),
	    J_ERROR);
	assert_string_equal(err.msg, "n: the user name: %00 (a NUL byte) is not allowed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(scan_range_reads_every_field),
	    cmocka_unit_test(scan_and_scan_range_agree),
	    cmocka_unit_test(publisher_read_by_seq),
	    cmocka_unit_test(open_batch_leaves_the_write_lock),
	    cmocka_unit_test(spills_grow_with_the_store),
	    cmocka_unit_test(bloom_follows_the_merges),
	    cmocka_unit_test(url_redact),
	    cmocka_unit_test(url_userinfo_end),
	    cmocka_unit_test(url_unescape),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
