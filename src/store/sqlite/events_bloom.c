/*
 * sqlite/events_bloom.c - a Bloom filter of the keys in tracking_key, so that
 * the duplicate check of a new event into a large store does not look its key
 * up there (sql/sqlite/events.sql, tracking_key_bloom).
 *
 * Into a store of 10 M, a batch's lookups in tracking_key were a third of its
 * time: a sorted spill of 65,536 keys still descends the table once per key and
 * visits most of its 25,000 leaves (docs/performance.md). A key the filter does
 * not hold is not in tracking_key, so only the keys it holds are looked up:
 * re-sent events, and a few percent of new ones (its false positives). A false
 * positive costs one lookup, never a wrong answer; the filter can only be wrong
 * by missing a key, and it never misses one of the keys it was built for.
 *
 * The filter holds the keys of tracking_key as of merged_upto (its stamp), and is
 * used only while tracking_key_state.merged_upto still has that value: keys enter
 * tracking_key only by a merge (or an upgrade), which moves merged_upto, and in
 * the same transaction the merge adds its keys to the filter and stores it with
 * the new stamp. A prune deletes keys and leaves merged_upto alone: the filter then
 * holds more keys than the table, which costs lookups, not answers. A stamp that
 * does not match (a store upgraded, or merged by an older jobads) makes the next
 * batch build the filter again from tracking_key, once, in its own transaction.
 *
 * Blocked (Putze, Sanders, Singler, "Cache-, Hash- and Space-Efficient Bloom
 * Filters", 2007): all of a key's BLOOM_K bits are in one 64-byte block, so a
 * probe touches one cache line; XXH3's 128-bit hash of the key picks the block
 * (its low half) and the bits (its high half). The stored form is the blocks'
 * bytes, bit p of a block in byte p / 8 at bit p % 8, so it reads the same on any
 * machine, and XXH3's output is fixed by its specification since xxHash 0.8.
 */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "events.h"

#include "jobads/banned.h"

#define BLOCK_BYTES 64
#define BLOCK_BITS  (BLOCK_BYTES * 8)
#define BLOOM_K	    6 /* bits per key: 9 bits of the hash each */
/*
 * Built with BUILD_BITS per key, added to while it keeps MIN_BITS or more: with
 * 6 bits of a 512-bit block per key, about 0.5 % false positives at 16 and 2.5 %
 * at 8. Capped at MAX_BYTES (a store of 100 M keys then gets 2.7 bits per key and
 * about a third of its new keys looked up, still fewer than all of them).
 */
#define BUILD_BITS 12
#define MIN_BITS   8
#define MAX_BYTES  ((size_t)32 << 20)

#define SQL_BLOOM_LOAD "SELECT merged_upto, blocks, bits FROM tracking_key_bloom WHERE id = 1"
#define SQL_BLOOM_SAVE                                                                             \
	"INSERT INTO tracking_key_bloom (id, merged_upto, blocks, bits) VALUES (1, ?1, ?2, ?3)"    \
	" ON CONFLICT (id) DO UPDATE SET merged_upto = excluded.merged_upto,"                      \
	" blocks = excluded.blocks, bits = excluded.bits"
#define SQL_KEYS_OF(t) "SELECT ts, event_id FROM " t
#define SQL_MERGED     "SELECT merged_upto FROM tracking_key_state WHERE id = 1"

static XXH128_hash_t key_hash(int64_t ts_ms, const unsigned char *id)
{
	unsigned char k[8 + EV_UUID_BYTES];
	uint64_t t = (uint64_t)ts_ms;
	for (int i = 0; i < 8; i++) /* little-endian whatever the machine */
		k[i] = (unsigned char)(t >> (8 * i));
	memcpy(k + 8, id, EV_UUID_BYTES);
	return XXH3_128bits(k, sizeof(k));
}

static unsigned char *block_of(const struct key_bloom *b, XXH128_hash_t h)
{
	/* Lemire's multiply-shift: a block in [0, blocks) without a division */
	uint64_t i = (uint64_t)(((unsigned __int128)h.low64 * b->blocks) >> 64);
	return b->bits + i * BLOCK_BYTES;
}

static void bloom_add(struct key_bloom *b, int64_t ts_ms, const unsigned char *id)
{
	XXH128_hash_t h = key_hash(ts_ms, id);
	unsigned char *blk = block_of(b, h);
	uint64_t p = h.high64;
	for (int k = 0; k < BLOOM_K; k++, p >>= 9)
		blk[(p & (BLOCK_BITS - 1)) >> 3] |= (unsigned char)(1u << (p & 7));
}

int ev_bloom_may_hold(const struct key_bloom *b, int64_t ts_ms, const unsigned char *id)
{
	XXH128_hash_t h = key_hash(ts_ms, id);
	const unsigned char *blk = block_of(b, h);
	uint64_t p = h.high64;
	for (int k = 0; k < BLOOM_K; k++, p >>= 9)
		if (!(blk[(p & (BLOCK_BITS - 1)) >> 3] & (1u << (p & 7))))
			return 0;
	return 1;
}

void ev_bloom_drop(struct key_bloom *b)
{
	free(b->bits);
	*b = (struct key_bloom){0};
}

/* Blocks for keys at BUILD_BITS each, within MAX_BYTES; 0 when not enough memory. */
static int bloom_alloc(struct key_bloom *b, int64_t keys)
{
	uint64_t blocks = ((uint64_t)keys * BUILD_BITS + BLOCK_BITS - 1) / BLOCK_BITS;
	if (blocks > MAX_BYTES / BLOCK_BYTES)
		blocks = MAX_BYTES / BLOCK_BYTES;
	if (blocks == 0)
		blocks = 1;
	ev_bloom_drop(b);
	/* not xcalloc: without the memory the check only goes back to its lookups */
	b->bits = calloc(blocks, BLOCK_BYTES);
	b->blocks = b->bits ? blocks : 0;
	return b->bits != NULL;
}

/* Every key of table t into b. */
static int add_keys_of(struct ev_sqlite *e, const char *sql, struct key_bloom *b, struct jerr *err)
{
	sqlite3_stmt *st;
	int r = sq_prepare(e->db, sql, &st, e->base.name, err), rc;
	if (r != J_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != EV_UUID_BYTES)
			continue; /* not a key this store writes: the lookup decides for it */
		bloom_add(b, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? J_OK : sq_fail(e->db, rc, e->base.name, "reading the keys", err);
}

static int bloom_save(struct ev_sqlite *e, struct jerr *err)
{
	sqlite3_stmt *st;
	struct key_bloom *b = &e->bloom;
	int r = sq_prepare(e->db, SQL_BLOOM_SAVE, &st, e->base.name, err), rc;
	if (r != J_OK)
		return r;
	sqlite3_bind_int64(st, 1, b->stamp);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)b->blocks);
	sqlite3_bind_blob64(st, 3, b->bits, b->blocks * BLOCK_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE
		   ? J_OK
		   : sq_fail(e->db, rc, e->base.name, "storing the keys' filter", err);
}

/* The stored filter into e->bloom when its stamp is key_merged; else e->bloom is empty. */
static int bloom_load(struct ev_sqlite *e, struct jerr *err)
{
	sqlite3_stmt *st;
	int r = sq_prepare(e->db, SQL_BLOOM_LOAD, &st, e->base.name, err), rc;
	if (r != J_OK)
		return r;
	ev_bloom_drop(&e->bloom);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == e->key_merged) {
		sqlite3_int64 blocks = sqlite3_column_int64(st, 1);
		const void *bits = sqlite3_column_blob(st, 2);
		if (blocks > 0 && bits &&
		    sqlite3_column_bytes(st, 2) == blocks * (sqlite3_int64)BLOCK_BYTES &&
		    (e->bloom.bits = malloc((size_t)blocks * BLOCK_BYTES)) != NULL) {
			memcpy(e->bloom.bits, bits, (size_t)blocks * BLOCK_BYTES);
			e->bloom.blocks = (uint64_t)blocks;
			e->bloom.stamp = e->key_merged;
		}
	}
	if (rc == SQLITE_ROW) /* used, or another merged_upto's: not used */
		rc = SQLITE_DONE;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE
		   ? J_OK
		   : sq_fail(e->db, rc, e->base.name, "reading the keys' filter", err);
}

int ev_bloom_ready(struct ev_sqlite *e, struct jerr *err)
{
	if (e->key_merged < BLOOM_MIN_MERGED || e->bloom.stamp == e->key_merged)
		return J_OK;
	int r = bloom_load(e, err);
	if (r != J_OK || e->bloom.stamp == e->key_merged)
		return r;
	/* none stored for this merged_upto: build it from the table, once */
	if (!bloom_alloc(&e->bloom, e->key_merged))
		return J_OK;
	r = add_keys_of(e, SQL_KEYS_OF("tracking_key"), &e->bloom, err);
	e->bloom.stamp = e->key_merged;
	if (r == J_OK)
		r = bloom_save(e, err);
	if (r != J_OK)
		ev_bloom_drop(&e->bloom);
	return r;
}

int ev_bloom_merge(struct ev_sqlite *e, int64_t keys, const char *merge_sql, struct jerr *err)
{
	struct key_bloom *b = &e->bloom;
	int grow = 1, r = J_OK;
	if (keys >= BLOOM_MIN_MERGED && b->bits && b->stamp == e->key_merged &&
	    (b->blocks * BLOCK_BITS >= (uint64_t)keys * MIN_BITS ||
	     b->blocks * BLOCK_BYTES >= MAX_BYTES)) {
		/* it holds tracking_key's keys: add those about to join them */
		r = add_keys_of(e, SQL_KEYS_OF("tracking_key_new"), b, err);
		grow = 0;
	}
	if (r == J_OK)
		r = sq_exec(e->db, merge_sql, e->base.name, err);
	sqlite3_stmt *st;
	if (r == J_OK && (r = sq_prepare(e->db, SQL_MERGED, &st, e->base.name, err)) == J_OK) {
		int rc = sqlite3_step(st);
		int64_t merged = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW)
			r = sq_fail(e->db, rc, e->base.name, "reading merged_upto", err);
		e->key_merged = merged;
	}
	if (r == J_OK && grow) {
		/* too small for them, or none: build it from the merged table (a smaller
		 * table is looked up without one); the stored one's old stamp is never used */
		if (e->key_merged < BLOOM_MIN_MERGED || !bloom_alloc(b, e->key_merged)) {
			ev_bloom_drop(b);
			return J_OK;
		}
		r = add_keys_of(e, SQL_KEYS_OF("tracking_key"), b, err);
	}
	if (r == J_OK) {
		b->stamp = e->key_merged;
		r = bloom_save(e, err);
	}
	if (r != J_OK)
		ev_bloom_drop(b);
	return r;
}
