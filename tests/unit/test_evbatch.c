/*
 * test_evbatch.c - the ingest batch protocol (src/core/evbatch.c) against a
 * scripted fake event store: duplicates found only at commit, commits in two
 * halves, closing on stall and age, and what the counts say after a failure,
 * including the rows a store without transactions keeps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "jobads/evbatch.h"

/* A fake store: it records calls and fails or finds duplicates where told. */
struct fake {
	struct evstore base;
	int begins, inserts, commits, starts, waits, rollbacks;
	int open;		 /* a batch begun and not ended */
	int64_t rows;		 /* rows of the open batch */
	int64_t late_per_commit; /* rows each commit finds stored already */
	int64_t pending_late;
	int fail_insert_at; /* the n-th insert (1-based) fails; 0: never */
	int fail_wait;	    /* commit_wait fails */
	int64_t kept_rows;  /* no transactions: a failure keeps this many */
};

static enum jrc f_begin(struct evstore *s, struct jerr *err)
{
	struct fake *f = (struct fake *)s;
	(void)err;
	assert_false(f->open);
	f->open = 1;
	f->rows = 0;
	f->begins++;
	s->kept = 0;
	return J_OK;
}

static enum jrc f_insert(struct evstore *s, const struct event *ev, int *dup, struct jerr *err)
{
	struct fake *f = (struct fake *)s;
	assert_true(f->open);
	f->inserts++;
	if (f->fail_insert_at && f->inserts == f->fail_insert_at) {
		s->kept = f->kept_rows;
		jerr_set(err, "fake: insert failed");
		return J_RETRY;
	}
	*dup = ev->event_id[0] == 'd'; /* a duplicate within the batch */
	f->rows++;
	return J_OK;
}

static enum jrc f_commit(struct evstore *s, int64_t *late_dups, struct jerr *err)
{
	struct fake *f = (struct fake *)s;
	(void)err;
	assert_true(f->open);
	f->open = 0;
	f->commits++;
	*late_dups = f->late_per_commit;
	return J_OK;
}

static enum jrc f_commit_start(struct evstore *s, struct jerr *err)
{
	struct fake *f = (struct fake *)s;
	(void)err;
	assert_true(f->open);
	f->open = 0;
	f->starts++;
	f->pending_late = f->late_per_commit;
	return J_OK;
}

static enum jrc f_commit_wait(struct evstore *s, int64_t *late_dups, struct jerr *err)
{
	struct fake *f = (struct fake *)s;
	f->waits++;
	if (f->fail_wait) {
		*late_dups = 0;
		jerr_set(err, "fake: commit failed");
		return J_RETRY;
	}
	*late_dups = f->pending_late;
	return J_OK;
}

static void f_rollback(struct evstore *s)
{
	struct fake *f = (struct fake *)s;
	f->open = 0;
	f->rollbacks++;
}

static const struct evstore_ops ops_one = {.scheme = "fake",
					   .begin = f_begin,
					   .insert = f_insert,
					   .commit = f_commit,
					   .rollback = f_rollback};
static const struct evstore_ops ops_two = {.scheme = "fake2",
					   .begin = f_begin,
					   .insert = f_insert,
					   .commit = f_commit,
					   .commit_start = f_commit_start,
					   .commit_wait = f_commit_wait,
					   .rollback = f_rollback};

static void fake_init(struct fake *f, const struct evstore_ops *ops)
{
	memset(f, 0, sizeof(*f));
	f->base.ops = ops;
	f->base.name = "fake";
}

static struct event ev(int dup)
{
	struct event e;
	memset(&e, 0, sizeof(e));
	snprintf(e.event_id, sizeof(e.event_id), "%s", dup ? "d" : "n");
	return e;
}

static int put(struct evbatch *b, int dup)
{
	struct event e = ev(dup);
	int d = -1;
	int r = evbatch_insert(b, &e, &d);
	if (r == 0)
		assert_int_equal(d, dup);
	return r;
}

/*
 * The duplicates a store finds only at commit (a MySQL store's block check)
 * count as duplicates: POST /api/events once answered them as accepted.
 */
static void test_late_duplicates(void **state)
{
	(void)state;
	struct fake f;
	struct evbatch b;
	struct evbatch_opts o = {.max_rows = INT64_MAX};
	int64_t late = -1;
	fake_init(&f, &ops_one);
	f.late_per_commit = 2;
	evbatch_init(&b, &f.base, &o);
	for (int i = 0; i < 5; i++)
		assert_int_equal(put(&b, i == 4), 0);
	assert_int_equal(b.stored, 4);
	assert_int_equal(b.dups, 1);
	assert_int_equal(evbatch_commit(&b, &late), 0);
	assert_int_equal(late, 2);
	assert_int_equal(b.ok_stored, 2);
	assert_int_equal(b.ok_dups, 3);
	assert_int_equal(b.stored, 2);
	assert_int_equal(b.dups, 3);
	assert_int_equal(f.begins, 1);
	assert_int_equal(f.commits, 1);
	/* nothing open: committing again does nothing */
	assert_int_equal(evbatch_commit(&b, &late), 0);
	assert_int_equal(late, 0);
	assert_int_equal(f.commits, 1);
}

/* Full batches commit in two halves; the next batch is read meanwhile. */
static void test_two_halves(void **state)
{
	(void)state;
	struct fake f;
	struct evbatch b;
	struct evbatch_opts o = {.max_rows = 3};
	fake_init(&f, &ops_two);
	f.late_per_commit = 1;
	evbatch_init(&b, &f.base, &o);
	for (int i = 0; i < 3; i++)
		assert_int_equal(put(&b, 0), 0);
	assert_int_equal(f.starts, 1); /* full: its commit started */
	assert_int_equal(f.waits, 0);
	assert_true(b.pending);
	assert_int_equal(b.ok_stored, 0); /* not known committed yet */
	assert_int_equal(put(&b, 0), 0);  /* the next batch begins */
	assert_int_equal(f.begins, 2);
	assert_int_equal(evbatch_commit(&b, NULL), 0);
	assert_int_equal(f.starts, 2);
	assert_int_equal(f.waits, 2);
	assert_int_equal(b.batches, 2);
	assert_int_equal(b.ok_stored, 4 - 2);
	assert_int_equal(b.ok_dups, 2);
}

/* A failed commit leaves the counts of the last batch known committed. */
static void test_failed_commit(void **state)
{
	(void)state;
	struct fake f;
	struct evbatch b;
	struct evbatch_opts o = {.max_rows = 2};
	fake_init(&f, &ops_two);
	evbatch_init(&b, &f.base, &o);
	assert_int_equal(put(&b, 0), 0);
	assert_int_equal(put(&b, 0), 0); /* batch 1 starts committing */
	assert_int_equal(put(&b, 0), 0);
	assert_int_equal(put(&b, 0), 0); /* batch 1 waited for (ok), batch 2 starts */
	assert_int_equal(b.ok_stored, 2);
	f.fail_wait = 1;
	assert_int_equal(put(&b, 0), 0);
	assert_int_equal(evbatch_commit(&b, NULL), -1);
	assert_non_null(strstr(b.err.msg, "commit failed"));
	evbatch_abort(&b);
	assert_int_equal(b.stored, 2);
	assert_int_equal(b.ok_stored, 2);
	assert_int_equal(b.kept, 0);
	assert_int_equal(f.rollbacks, 1);
}

/* A store without transactions keeps what it wrote before a failure: say how much. */
static void test_failure_kept(void **state)
{
	(void)state;
	struct fake f;
	struct evbatch b;
	struct evbatch_opts o = {.max_rows = INT64_MAX};
	fake_init(&f, &ops_one);
	f.fail_insert_at = 300;
	f.kept_rows = 256;
	evbatch_init(&b, &f.base, &o);
	int r = 0;
	for (int i = 0; i < 400 && r == 0; i++)
		r = put(&b, 0);
	assert_int_equal(r, -1);
	assert_non_null(strstr(b.err.msg, "insert failed"));
	evbatch_abort(&b);
	assert_int_equal(b.ok_stored, 0);
	assert_int_equal(b.stored, 0);
	assert_int_equal(b.kept, 256);
	assert_int_equal(f.rollbacks, 1);
	assert_false(f.open);
}

/* A batch closes when its input stalls, or when it grows old. */
static void test_stall_and_age(void **state)
{
	(void)state;
	struct fake f;
	struct evbatch b;
	struct evbatch_opts o = {.max_rows = 1000, .stall_s = 0.5, .max_age_s = 2};
	fake_init(&f, &ops_two);
	evbatch_init(&b, &f.base, &o);
	assert_true(evbatch_due(&b, time_mono()) < 0); /* nothing open: never due */
	assert_int_equal(put(&b, 0), 0);
	double now = b.last;
	double due = evbatch_due(&b, now);
	assert_true(due > 0.49 && due <= 0.5);
	assert_int_equal(evbatch_tick(&b, now + 0.1), 0);
	assert_int_equal(f.starts, 0); /* not yet */
	/* stalled: committed and waited for */
	assert_int_equal(evbatch_tick(&b, now + 0.6), 0);
	assert_int_equal(f.starts, 1);
	assert_int_equal(f.waits, 1);
	assert_int_equal(b.ok_stored, 1);
	assert_true(evbatch_due(&b, now + 0.6) < 0);

	/* old: rows keep coming (no stall), the batch opened 2 s ago */
	assert_int_equal(put(&b, 0), 0);
	b.opened -= 2.5;
	due = evbatch_due(&b, b.last);
	assert_true(due == 0);
	assert_int_equal(evbatch_tick(&b, b.last + 0.01), 0);
	assert_int_equal(f.starts, 2);
	assert_int_equal(f.waits, 1); /* started, read on meanwhile */
	assert_true(b.pending);
	/* the input then stalls: the started commit is waited for, its outcome counted */
	due = evbatch_due(&b, b.last);
	assert_true(due > 0.4 && due <= 0.5);
	assert_int_equal(evbatch_tick(&b, b.last + 0.6), 0);
	assert_int_equal(f.waits, 2);
	assert_false(b.pending);
	assert_int_equal(b.ok_stored, 2);
}

/* 0 for stall and age: only max_rows and the caller close a batch. */
static void test_never(void **state)
{
	(void)state;
	struct fake f;
	struct evbatch b;
	struct evbatch_opts o = {.max_rows = 1000};
	fake_init(&f, &ops_one);
	evbatch_init(&b, &f.base, &o);
	assert_int_equal(put(&b, 0), 0);
	assert_true(evbatch_due(&b, b.last + 1e6) < 0);
	assert_int_equal(evbatch_tick(&b, b.last + 1e6), 0);
	assert_int_equal(f.commits, 0);
	assert_int_equal(evbatch_commit(&b, NULL), 0);
	assert_int_equal(f.commits, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_late_duplicates), cmocka_unit_test(test_two_halves),
	    cmocka_unit_test(test_failed_commit),   cmocka_unit_test(test_failure_kept),
	    cmocka_unit_test(test_stall_and_age),   cmocka_unit_test(test_never),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
