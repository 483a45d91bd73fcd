/*
 * util.h - small helpers every module shares: UTC calendar math, error text,
 * a growable byte buffer, a tiny PRNG, hex digits and UUID text. Nothing here
 * allocates behind the caller's back except strbuf, whose storage the caller owns.
 */
#ifndef JOBADS_UTIL_H
#define JOBADS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes shared by every command (design.md). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_LOCKED = 3 };

/* Error text a function fills for its caller: one line, lowercase, no full stop. */
/*
 * The one result type of every layer (the stores and their ops, the CQL client,
 * the ETL, the web server's start): J_OK; J_RETRY, failed for a reason that can
 * pass (busy, deadlock, a lost connection, a server's timeout or overload: the
 * caller may try again); J_ERROR, failed. What failed, and the code of the layer
 * that knows it, are in struct jerr.
 */
enum jrc { J_OK = 0, J_RETRY = 1, J_ERROR = 2 };

/*
 * An error for the user: msg says what failed, naming the store, record or
 * field; code is the code of the layer that knows it (a CQL error code, a
 * MySQL/MariaDB errno, a SQLite extended result code), 0 when there is none.
 * A caller decides by the operation's result (J_OK/RETRY/ERROR) and by
 * code, never by searching msg.
 */
struct jerr {
	char msg[512];
	int code;
};

/* Set msg; code becomes 0. */
void jerr_set(struct jerr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set msg and the layer's code. */
void jerr_setc(struct jerr *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the current message with "what: " (code is kept). */
void jerr_prefix(struct jerr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "jobads: <msg>" on stderr. */
void jlog_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A programmer error: an interface used against its contract (an op called out
 * of order, a value a caller promised it validated). Never for bad input or a
 * failing store, which are errors for the user. Says where, then aborts, so
 * that the suite (and a core dump) catches it rather than a user reading it
 * as an error of theirs.
 */
#define BUG(...) jobads_bug(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void jobads_bug(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Milliseconds since the epoch, UTC (CLOCK_REALTIME) and a monotonic clock in seconds. */
int64_t time_now_ms(void);
double time_mono(void);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* 1 when (y, m, d) is a real date (month 1..12, day within that month and year). */
int civil_date_valid(int64_t y, int64_t m, int64_t d);

/* Hour of day 0..23 and ISO weekday 1 (Monday) .. 7 of an epoch-ms instant, UTC. */
/* a / b rounded toward minus infinity (b != 0): the bucket of a time before 1970 too. */
int64_t floor_div(int64_t a, int64_t b);
int ts_hour(int64_t ms);
int ts_weekday(int64_t ms);

/*
 * Parse an ISO-8601 instant with a zone ("2026-03-01T10:00:00Z",
 * "2026-03-01 10:00:00.123+07:00", "...+0700"). Fractions beyond milliseconds are
 * truncated. Returns 0 and sets *ms, or -1 with a reason in *why (a static string).
 */
int ts_parse_iso(const char *s, size_t n, int64_t *ms, const char **why);

/* Format epoch ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (buf >= 32 bytes); returns buf. */
char *ts_format_iso(int64_t ms, char *buf, size_t len);

/*
 * Parse a duration or a relative time, for options: "30s", "5m", "1h", "7d".
 * Returns 0 and seconds in *secs, -1 when malformed.
 */
int parse_duration(const char *s, int64_t *secs);

/*
 * A time argument as people type it (report --from, the web API's from/to):
 * ISO-8601, epoch milliseconds, a bare date (its midnight UTC), now, or now
 * plus or minus a duration (now-7d, now+1h), relative to now_ms. Returns 0
 * with epoch seconds in *secs, -1 when it is none of these. (src/core/timearg.c)
 */
int time_arg_parse(const char *s, size_t n, int64_t now_ms, int64_t *secs);

/* Strict integer parse of a whole string; -1 when not an integer or out of [lo, hi]. */
int parse_int64(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out);

/* The value 0..15 of one hex digit (either case), -1 for any other character. */
int hex_digit(int c);

/*
 * A UUID's 36-character text (8-4-4-4-12 hex digits, either case) as its 16
 * bytes, and 16 bytes as lowercase text (out >= 37 bytes, NUL-terminated).
 * The one text form every layer uses: the core's event ids, the CQL client's
 * uuid and timeuuid values. uuid_from_text returns 0, or -1 if s is not one.
 */
int uuid_from_text(const char *s, size_t n, uint8_t out[16]);
void uuid_to_text(const uint8_t u[16], char out[37]);

/* Growable buffer; the caller owns .buf and frees it with strbuf_release. */
struct strbuf {
	char *buf;
	size_t len, alloc;
};
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *p, size_t n);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_reset(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);

/* Allocation that aborts on failure: out of memory is not a recoverable input error. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* splitmix64 / xoshiro256** PRNG: reproducible streams for the generator and tests. */
struct rng {
	uint64_t s[4];
};
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
double rng_double(struct rng *r);			  /* [0, 1) */
int64_t rng_range(struct rng *r, int64_t lo, int64_t hi); /* inclusive */
double rng_normal(struct rng *r, double mean, double sd);

/* Fill buf with n bytes from the OS CSPRNG; aborts if the OS cannot. */
void random_bytes(void *buf, size_t n);

#endif
