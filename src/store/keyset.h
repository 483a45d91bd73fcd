/*
 * keyset.h - the table the MySQL and Cassandra event writers keep beside the
 * rows of the batch they buffer, to see that a (ts, event_id) key is already
 * among them (a duplicate inside one batch) in one probe. Open addressing,
 * linear probing; a slot holds a row's index + 1, 0 when empty. The rows
 * themselves differ per backend, so the caller says whether row i has the key.
 * Inline: the writers call it for every event, and the compare inlines too.
 */
#ifndef JOBADS_STORE_KEYSET_H
#define JOBADS_STORE_KEYSET_H

#include <stdint.h>

#include "jobads/event.h"

/* FNV-1a over the id, seeded with the time: the key of an event. */
static inline uint32_t keyset_hash(int64_t ts, const char *id)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)ts;
	for (int i = 0; i < EV_UUID_LEN; i++)
		h = (h ^ (unsigned char)id[i]) * 1099511628211ULL;
	return (uint32_t)(h ^ (h >> 32));
}

/* Whether rows' row i has hash h and key (ts, id). */
typedef int (*keyset_same_fn)(const void *rows, uint32_t i, int64_t ts, const char *id, uint32_t h);

/*
 * The slot of the row with key (ts, id) of hash h, or the empty slot to put it
 * in. nslots is a power of two and more than the rows ever held, so that a
 * probe always ends.
 */
static inline uint32_t *keyset_find(uint32_t *slots, uint32_t nslots, const void *rows,
				    keyset_same_fn same, int64_t ts, const char *id, uint32_t h)
{
	uint32_t mask = nslots - 1, i = h & mask;
	for (;;) {
		uint32_t v = slots[i];
		if (v == 0 || same(rows, v - 1, ts, id, h))
			return &slots[i];
		i = (i + 1) & mask;
	}
}

#endif
