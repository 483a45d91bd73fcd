/*
 * event.h - the tracking event (one row of the raw table `tracking`) and the
 * rules that make a record valid (design.md, "The event").
 *
 * Text fields are (pointer, length) views into storage the caller owns: the
 * decoder's input line, a SQLite row, a generator buffer. An event is only
 * valid while that storage is.
 */
#ifndef JOBADS_EVENT_H
#define JOBADS_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EV_UUID_LEN   36
#define EV_UUID_BYTES 16
#define EV_MAX_RECORD 65536 /* bytes in one NDJSON line or CSV record */
/*
 * What one tracking record can really carry (README, docs/architecture.md
 * "Value bounds"). A record is one publisher's events for one job: the
 * original generator's largest is 4,000 impressions, 320 clicks and a cost of
 * 16,000 units (320 clicks at a bid of 50). Counts keep design.md's 1e9; cost
 * and bid stop at a million units, 60 times that largest record, so that a
 * fact row takes 9.2 million records at the limit in one hour and grain to
 * reach int64, where the analytics store refuses it rather than wrap.
 */
#define EV_COUNT_MAX	  1000000000LL
#define EV_COST_MAX_UNITS 1000000LL	 /* 1e12 micros */
#define EV_BID_MAX	  1000000LL	 /* units per click */
#define EV_MIN_TS_MS	  946684800000LL /* 2000-01-01T00:00:00Z */
#define EV_FUTURE_MS	  3600000LL	 /* at most one hour ahead of now */

struct ev_str {
	const char *s; /* not NUL-terminated in general */
	uint32_t n;
};

/* A view of a C string, as the decoders make of their input. */
static inline struct ev_str ev_str_of(const char *s)
{
	return (struct ev_str){s, (uint32_t)strlen(s)};
}

struct event {
	char event_id[EV_UUID_LEN + 1]; /* canonical lowercase, NUL-terminated */
	int64_t seq;			/* set by the store; 0 before */
	int64_t ts_ms;
	int32_t publisher_id;
	struct ev_str publisher_name;
	struct ev_str publisher_traffic; /* n == 0: absent */
	struct ev_str publisher_quality; /* n == 0: absent */
	int64_t bid;			 /* -1: absent; else 0..EV_BID_MAX */
	int32_t job_id;
	int32_t campaign_id;
	struct ev_str industry;
	struct ev_str location;
	struct ev_str device;
	int64_t impressions;
	int64_t clicks;
	int64_t apply_count;
	int64_t cost_micros;
	int32_t quality_score;
	int8_t hour;	    /* derived from ts_ms, UTC */
	int8_t day_of_week; /* derived, ISO 1 = Monday */
};

/* The fields a record may carry, in the original's column order. */
enum ev_field {
	EVF_EVENT_ID,
	EVF_TS,
	EVF_PUBLISHER_ID,
	EVF_PUBLISHER_NAME,
	EVF_PUBLISHER_TRAFFIC,
	EVF_PUBLISHER_QUALITY,
	EVF_BID,
	EVF_JOB_ID,
	EVF_CAMPAIGN_ID,
	EVF_INDUSTRY,
	EVF_LOCATION,
	EVF_IMPRESSIONS,
	EVF_CLICKS,
	EVF_APPLY_COUNT,
	EVF_COST,
	EVF_QUALITY_SCORE,
	EVF_DEVICE,
	EVF_HOUR,
	EVF_DAY_OF_WEEK,
	EVF__COUNT
};

/* How a value was written in its source: a JSON type, or raw CSV text. */
enum ev_kind { EVK_STRING, EVK_NUMBER, EVK_BOOL, EVK_NULL, EVK_RAW };

/* Field name as in the original's schema; -1 from ev_field_lookup when unknown. */
const char *ev_field_name(enum ev_field f);
int ev_field_lookup(const char *name, size_t n);

/*
 * Building an event from (field, value) pairs: ev_builder_begin, then
 * ev_builder_set for each pair, then ev_builder_finish, which checks that every
 * required field is there, derives hour and weekday, fills a missing event_id
 * with ev_derive_id and checks the time window against now_ms. rng_or_null is
 * no longer used (ids are derived, not drawn); callers may pass NULL.
 * Each returns 0, or -1 with "field: reason" in why (why >= 256 bytes).
 */
struct ev_builder {
	struct event ev;
	uint32_t seen; /* bit per enum ev_field */
};

struct rng;
void ev_builder_begin(struct ev_builder *b);
int ev_builder_set(struct ev_builder *b, int field, const char *v, size_t n, enum ev_kind kind,
		   char *why, size_t whylen);
int ev_builder_finish(struct ev_builder *b, int64_t now_ms, struct rng *rng_or_null, char *why,
		      size_t whylen);

/* Checks and conversions used by the builder, exposed for tests and other decoders. */
int ev_parse_uuid(const char *s, size_t n, char out[EV_UUID_LEN + 1]);
void ev_uuid_v4(char out[EV_UUID_LEN + 1], struct rng *rng_or_null);
/* UUIDv5 (RFC 9562 sec. 5.5): SHA-1 over the namespace's 16 bytes and the name. */
void ev_uuid_v5(const unsigned char ns[16], const void *name, size_t n, char out[EV_UUID_LEN + 1]);
/*
 * The id of a record that came without one: ev_uuid_v5 under the jobads
 * namespace 88e27c8c-896f-416f-bee8-b623bfd3c7f9 over ev_canonical(ev), so the
 * same record sent twice is one event (README.md, "Input records").
 */
void ev_derive_id(struct event *ev);
/*
 * The validated values of ev as compact JSON: keys sorted, no whitespace,
 * integers in decimal (ts as ts_ms, cost as cost_micros), strings escaped as
 * RFC 8785 does, absent optional fields and the derived hour and day_of_week
 * left out. Writes a NUL-terminated string into buf and returns its length.
 * Text fields within their limits fit EV_CANONICAL_MAX: at most 450 characters
 * of text, 6 bytes each when escaped, plus under 600 bytes of keys and numbers.
 */
#define EV_CANONICAL_MAX 4096
size_t ev_canonical(const struct event *ev, char *buf, size_t len);
/* Decimal text ("12", "12.5", "1e-3") to micros, rounded half up at the 7th decimal. */
int ev_parse_cost(const char *s, size_t n, int64_t *micros, const char **why);
/*
 * The same for any amount of money up to max_units (<= 9e12) units: a budget.
 * Past it, *why is ev_money_range ("out of range"), for the caller to say the bound.
 */
int ev_parse_money(const char *s, size_t n, int64_t max_units, int64_t *micros, const char **why);
extern const char ev_money_range[];
/* Count UTF-8 code points; -1 when the bytes are not valid UTF-8 or hold a NUL. */
long ev_utf8_len(const char *s, size_t n);

/* Derive hour and day_of_week from ts_ms. */
void ev_derive(struct event *ev);

#endif
