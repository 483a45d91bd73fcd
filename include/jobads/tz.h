/*
 * tz.h - the reporting time zone: an IANA zone from the system's tzdata (read
 * by GLib's GTimeZone), as the list of its UTC offset intervals, and the rule
 * that puts an event in the local hour it happened in (docs/architecture.md,
 * "The reporting time zone").
 *
 * A struct tz is immutable once opened, so threads may share one; the lookup
 * hints (size_t *hint) are the caller's, one per thread or scan.
 */
#ifndef JOBADS_TZ_H
#define JOBADS_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "jobads/util.h"

/* The first and last interval reach these, standing for "forever". */
#define TZ_MIN_S (-(INT64_C(1) << 62))
#define TZ_MAX_S (INT64_C(1) << 62)

/* [from_s, to_s) in unix seconds, with the zone's offset east of UTC there. */
struct tz_span {
	int64_t from_s, to_s;
	int32_t offset_s;
};

struct tz;

/*
 * Open an IANA zone by name ("UTC", "Asia/Ho_Chi_Minh"). Only names of files
 * under the tzdata directory are taken: not paths, nor POSIX TZ strings.
 * J_ERROR with "time zone NAME: ..." for an unknown one. Close with tz_close.
 */
enum jrc tz_open(const char *name, struct tz **out, struct jerr *err);
void tz_close(struct tz *z);
const char *tz_name(const struct tz *z);
/* 1 when the zone is UTC at every instant (its one span has offset 0). */
int tz_is_utc(const struct tz *z);

/* Every interval, in time order, the first from TZ_MIN_S and the last to TZ_MAX_S;
 * the zone keeps the storage. Adjacent spans have different offsets. */
const struct tz_span *tz_spans(const struct tz *z, size_t *n);

/* The offset at UTC instant t. *hint (start it at 0) remembers the span last found. */
int32_t tz_offset_at(const struct tz *z, int64_t t, size_t *hint);

/*
 * The bucket rule: the UTC instant at which the local hour holding t starts,
 * floor((t + off) / 3600) * 3600 - off with off the offset at t. For a whole-hour
 * offset that is t truncated to the UTC hour.
 */
int64_t tz_hour_start(const struct tz *z, int64_t t, size_t *hint);

/*
 * The first UTC instant of the local day that starts at local_day (seconds of
 * local midnight counted as if the local clock were UTC): where a change skips
 * midnight, the instant the clock jumps past it.
 */
int64_t tz_day_start(const struct tz *z, int64_t local_day);

#endif
