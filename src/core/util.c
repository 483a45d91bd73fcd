/*
 * util.c - calendar math, error text, strbuf, PRNG. The calendar functions use
 * Howard Hinnant's days-from-civil algorithm so that no libc time-zone state is
 * involved: every derivation is UTC and pure.
 */
#include "jobads/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "jobads/banned.h"

void jerr_set(struct jerr *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->code = 0;
}

void jerr_setc(struct jerr *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->code = code;
}

void jerr_prefix(struct jerr *e, const char *fmt, ...)
{
	char pre[256], old[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", pre, old);
}

void jlog_error(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "jobads: %s\n", line);
}

_Noreturn void jobads_bug(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "jobads: BUG at %s:%d: %s\n", file, line, msg);
	abort();
}

int64_t time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double time_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int civil_date_valid(int64_t y, int64_t m, int64_t d)
{
	static const unsigned char mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m < 1 || m > 12 || d < 1)
		return 0;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int ts_hour(int64_t ms)
{
	int64_t s = floor_div(ms, 1000);
	return (int)((s - floor_div(s, 86400) * 86400) / 3600);
}

int ts_weekday(int64_t ms)
{
	/* 1970-01-01 was a Thursday (ISO 4). */
	int64_t days = floor_div(ms, 86400000);
	int64_t w = (days + 3) % 7;
	if (w < 0)
		w += 7;
	return (int)w + 1;
}

static int digits(const char *s, size_t n, size_t at, size_t count, int *out)
{
	int v = 0;
	if (at + count > n)
		return -1;
	for (size_t i = 0; i < count; i++) {
		char c = s[at + i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*out = v;
	return 0;
}

int ts_parse_iso(const char *s, size_t n, int64_t *ms, const char **why)
{
	int y, mo, d, h, mi, sec = 0, frac = 0;
	size_t i;

	*why = "not an ISO-8601 timestamp (want YYYY-MM-DDTHH:MM:SS[.fff] with Z or an offset)";
	if (digits(s, n, 0, 4, &y) || n < 16 || s[4] != '-' || digits(s, n, 5, 2, &mo) ||
	    s[7] != '-' || digits(s, n, 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s, n, 11, 2, &h) ||
	    s[13] != ':' || digits(s, n, 14, 2, &mi))
		return -1;
	i = 16;
	if (i < n && s[i] == ':') {
		if (digits(s, n, 17, 2, &sec))
			return -1;
		i = 19;
		if (i < n && (s[i] == '.' || s[i] == ',')) {
			size_t nd = 0;
			i++;
			while (i < n && s[i] >= '0' && s[i] <= '9') {
				if (nd < 3)
					frac = frac * 10 + (s[i] - '0');
				nd++;
				i++;
			}
			if (nd == 0)
				return -1;
			for (; nd < 3; nd++)
				frac *= 10;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60) {
		*why = "date or time field out of range";
		return -1;
	}
	if (!civil_date_valid(y, mo, d)) {
		*why = "day out of range for its month";
		return -1;
	}
	int64_t off = 0;
	if (i >= n) {
		*why = "timestamp has no zone (add Z or an offset such as +07:00)";
		return -1;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
		off = 0;
	} else if (s[i] == '+' || s[i] == '-') {
		int oh, om;
		int sign = s[i] == '-' ? -1 : 1;
		if (digits(s, n, i + 1, 2, &oh))
			return -1;
		if (i + 3 == n) {
			om = 0;
		} else if (s[i + 3] == ':' && i + 6 == n) {
			if (digits(s, n, i + 4, 2, &om))
				return -1;
		} else if (i + 5 == n) {
			if (digits(s, n, i + 3, 2, &om))
				return -1;
		} else {
			return -1;
		}
		if (oh > 23 || om > 59) {
			*why = "zone offset out of range";
			return -1;
		}
		off = sign * (oh * 3600 + om * 60);
	} else {
		return -1;
	}
	/*
	 * A leap second is only ever inserted as 23:59:60 UTC; it is folded into the
	 * second before it. Any other :60 is not a time that happened.
	 */
	if (sec == 60) {
		int64_t utc_min = ((h * 60 + mi - off / 60) % 1440 + 1440) % 1440;
		if (utc_min != 23 * 60 + 59) {
			*why = "second 60 is only a leap second at 23:59:60 UTC";
			return -1;
		}
		sec = 59;
	}
	int64_t secs =
	    days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - off;
	*ms = secs * 1000 + frac;
	*why = NULL;
	return 0;
}

char *ts_format_iso(int64_t ms, char *buf, size_t len)
{
	int64_t s = floor_div(ms, 1000), days = floor_div(s, 86400), y;
	int64_t rem = s - days * 86400;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
		 (int)(rem / 3600), (int)(rem % 3600 / 60), (int)(rem % 60), (int)(ms - s * 1000));
	return buf;
}

int parse_int64(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0;
	if (n == 0)
		return -1;
	if (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-';
		i++;
	}
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
		return -1;
	/* negate in unsigned arithmetic: -(2^63) has no positive int64 */
	int64_t r = neg ? (int64_t)(0 - v) : (int64_t)v;
	if (r < lo || r > hi)
		return -1;
	*out = r;
	return 0;
}

int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int uuid_from_text(const char *s, size_t n, uint8_t out[16])
{
	if (n != 36)
		return -1;
	int k = 0;
	for (size_t i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			i++;
			continue;
		}
		int hi = hex_digit((unsigned char)s[i]), lo = hex_digit((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[k++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

void uuid_to_text(const uint8_t u[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	int k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[u[i] >> 4];
		out[k++] = hex[u[i] & 15];
	}
	out[36] = '\0';
}

int parse_duration(const char *s, int64_t *secs)
{
	size_t n = strlen(s);
	int64_t v, mul = 1;
	if (n < 1)
		return -1;
	switch (s[n - 1]) {
	case 's':
		n--;
		break;
	case 'm':
		mul = 60;
		n--;
		break;
	case 'h':
		mul = 3600;
		n--;
		break;
	case 'd':
		mul = 86400;
		n--;
		break;
	case 'w':
		mul = 7 * 86400;
		n--;
		break;
	default:
		break;
	}
	if (parse_int64(s, n, 0, INT64_MAX / (7 * 86400), &v))
		return -1;
	*secs = v * mul;
	return 0;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		jlog_error("out of memory (%zu bytes)", n);
		abort();
	}
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		jlog_error("out of memory (%zu x %zu bytes)", n, size);
		abort();
	}
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		jlog_error("out of memory (%zu bytes)", n);
		abort();
	}
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->alloc)
		return;
	size_t want = sb->alloc ? sb->alloc : 64;
	while (want < sb->len + extra + 1)
		want *= 2;
	sb->buf = xrealloc(sb->buf, want);
	sb->alloc = want;
}

void strbuf_add(struct strbuf *sb, const void *p, size_t n)
{
	strbuf_grow(sb, n);
	memcpy(sb->buf + sb->len, p, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;
	strbuf_grow(sb, 64);
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sb->alloc - sb->len) {
		strbuf_grow(sb, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_double(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)(hi - lo) + 1;
	return lo + (int64_t)(rng_next(r) % span);
}

double rng_normal(struct rng *r, double mean, double sd)
{
	/* Box-Muller; one value per call keeps the stream simple to reproduce. */
	double u1 = rng_double(r), u2 = rng_double(r);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return mean + sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			jlog_error("getrandom: %s", strerror(errno));
			abort();
		}
		p += got;
		n -= (size_t)got;
	}
}
