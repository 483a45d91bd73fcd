/*
 * agg.h - hash aggregation of events into hourly groups (the fact_hourly grain)
 * with interned strings. Memory grows with the number of distinct groups and
 * strings added since the last agg_reset, never with the number of events.
 */
#ifndef JOBADS_AGG_H
#define JOBADS_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "jobads/event.h"
#include "jobads/kpi.h"

struct tz;

/* The grain: (hour_start, campaign_id, publisher_id, industry, location, device). */
struct agg_key {
	int64_t hour_start; /* unix seconds: the start of the local hour (agg.tz) */
	int32_t campaign_id;
	int32_t publisher_id;
	uint32_t industry, location, device; /* interned string ids */
};

/*
 * Additive measures (struct kpi_sums); ratio sums follow the original's per-record rules.
 * The integer sums are 128-bit, so a chunk's sum is exact whatever its size;
 * the analytics store refuses a fact row that would not fit its int64 columns.
 */
struct agg_group {
	struct agg_key key;
	struct kpi_sums val;
};

/* Latest publisher attributes seen in the chunk (by seq), for dim_publisher. */
struct agg_publisher {
	int32_t publisher_id;
	uint32_t name, traffic, quality; /* interned; AGG_NONE when absent */
	int64_t last_seq;
	int pending; /* the attributes of last_seq are not read yet (agg_add of a row
			without them: publisher_name.s == NULL); see agg_note_publisher */
};

#define AGG_NONE UINT32_MAX

struct agg_strtab {
	char *bytes;
	size_t len, cap;
	uint32_t *off, *slen; /* per id */
	uint32_t count, idcap;
	uint32_t *slots; /* open addressing: id + 1, 0 = empty */
	uint32_t nslots;
};

struct agg {
	struct agg_strtab strs;
	struct agg_group *groups; /* dense array, insertion order */
	uint32_t ngroups, gcap;
	uint32_t *gslots; /* open addressing into groups: index + 1 */
	uint32_t ngslots;
	/*
	 * Steps (agg_step): gstep[i] is the step that last added to group i, and
	 * step_old counts the groups of earlier steps that the current one added to.
	 * The ETL reads that to tell history in time order (a step adds to few
	 * earlier groups) from history out of it (a step adds to most).
	 */
	uint32_t *gstep;
	uint32_t step, step_old;
	struct agg_publisher *pubs; /* dense array, first-seen order */
	uint32_t npubs, pcap;
	uint32_t *pslots; /* open addressing into pubs: index + 1 */
	uint32_t npslots;
	/*
	 * The zone whose local hours the groups are (tz_hour_start), NULL for UTC:
	 * set after agg_init, kept by agg_reset, owned by the caller. tz_hint is the
	 * span of the last lookup.
	 */
	const struct tz *tz;
	size_t tz_hint;
	/*
	 * Retention (jobads prune): agg_add skips an event with ts_ms < skip_before_ms
	 * and seq <= skip_upto, one that the facts a rebuild kept already hold (see
	 * anstore_ops.retention). Set after agg_init, kept by agg_reset; 0 and 0
	 * (agg_init's) skip nothing.
	 */
	int64_t skip_before_ms, skip_upto;
	/* slots looked at by every lookup (strings, groups, publishers) since
	 * agg_init: a cost that tests can bound without a clock */
	uint64_t probes;
	/* agg_add_soon's rows not added yet (agg_flush adds them), their slots prefetched */
	struct agg_soon *soon;
	uint32_t nsoon;
};

void agg_init(struct agg *a);
void agg_release(struct agg *a);
/* Forget every group and string, keeping the allocations for the next chunk. */
void agg_reset(struct agg *a);
/* Begin a step: step_old counts from 0 again. */
void agg_step(struct agg *a);
/* Add one event's measures to its group. */
void agg_add(struct agg *a, const struct event *ev);
/*
 * The same, possibly later: the row waits with up to AGG_SOON - 1 others until
 * their groups' memory was prefetched, and agg_flush adds what waits. The sums
 * come out as agg_add's would, in the same order; until agg_flush, a's groups
 * and counts miss the waiting rows (agg_merge, agg_sort and agg_reset refuse to
 * run on them). The row's strings are copied (interned) at once.
 */
void agg_add_soon(struct agg *a, const struct event *ev);
void agg_flush(struct agg *a);
#define AGG_SOON 16
/*
 * Take the publisher attributes of ev (seq, publisher_id, publisher_*) if ev is
 * the newest row of its publisher seen so far. agg_add does this for every row;
 * a row given without attributes (publisher_name.s == NULL, a store that reads
 * them once per publisher instead) leaves the publisher pending until this is
 * called with that seq's attributes.
 */
void agg_note_publisher(struct agg *a, const struct event *ev);
/* Add every group and publisher of src to dst (src is unchanged; strings re-interned). */
void agg_merge(struct agg *dst, const struct agg *src);
/* Add a whole group's measures (used to merge and by tests). */
void agg_add_group(struct agg *a, const struct agg_key *k, const struct kpi_sums *v);
uint32_t agg_intern(struct agg *a, const char *s, size_t n);
/* The interned string of id (NUL-terminated, owned by a); its length in *n if n. */
const char *agg_str(const struct agg *a, uint32_t id, size_t *n);
/* k as "hour ... campaign C publisher P industry/location/device", for messages; returns buf. */
char *agg_key_name(const struct agg *a, const struct agg_key *k, char *buf, size_t len);
/* Sort groups by grain (strings compared bytewise); invalidates lookups until agg_reset. */
void agg_sort(struct agg *a);

/* Per-record ratios as the original transform defined them (0 on a zero denominator). */
void kpi_record_ratios(int64_t impressions, int64_t clicks, int64_t applies, int64_t cost_micros,
		       double *ctr, double *cpc, double *cpa, double *roi);

#endif
