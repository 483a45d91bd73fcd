/*
 * decode.c - NDJSON and CSV decoding of tracking records.
 *
 * The JSON decoder is written here rather than taken from jansson: records are
 * flat objects, and the decoder must hand the exact source text of numbers to
 * the validator ("cost": 0.1 is 100000 micros, not the double nearest 0.1),
 * which no packaged JSON library exposes. It also keeps ingest off the
 * allocator: string values point into the input line unless they hold escapes.
 */
#include "jobads/decode.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobads/banned.h"

#define READ_CHUNK (1 << 20)

void line_reader_init(struct line_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->cap = READ_CHUNK + EV_MAX_RECORD + 2;
	r->buf = xmalloc(r->cap);
}

void line_reader_release(struct line_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/*
 * Longest wait for input between looks at r->stop: a signal that lands just
 * before poll() (or in another thread) does not interrupt it.
 */
#define STOP_POLL_MS 200

/*
 * Wait until r->fd is readable: LR_LINE when it is, LR_IDLE at the deadline,
 * LR_STOPPED once *r->stop is set, LR_ERROR when poll fails.
 */
static int wait_input(struct line_reader *r)
{
	for (;;) {
		if (r->stop && *r->stop)
			return LR_STOPPED;
		int ms = -1;
		if (r->deadline > 0) {
			double left = r->deadline - time_mono();
			if (left <= 0)
				return LR_IDLE;
			ms = (int)(left * 1000.0) + 1;
		}
		if (r->stop && (ms < 0 || ms > STOP_POLL_MS))
			ms = STOP_POLL_MS;
		struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
		int n = poll(&pfd, 1, ms);
		if (n > 0)
			return LR_LINE; /* readable, at its end, or failed: read() says which */
		if (n < 0 && errno != EINTR) {
			r->err = errno;
			return LR_ERROR;
		}
	}
}

static int fill(struct line_reader *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap)
		return LR_LINE;
	for (;;) {
		if (r->deadline > 0 || r->stop) {
			int w = wait_input(r);
			if (w != LR_LINE)
				return w;
		}
		ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue; /* wait_input looks at the deadline and r->stop */
			r->err = errno;
			return LR_ERROR;
		}
		if (got == 0)
			r->eof = 1;
		r->end += (size_t)got;
		return LR_LINE;
	}
}

int line_reader_next(struct line_reader *r, const char **p, size_t *n, int *too_long)
{
	*too_long = 0;
	for (;;) {
		char *s = r->buf + r->start;
		size_t avail = r->end - r->start;
		char *nl = avail ? memchr(s, '\n', avail) : NULL;
		if (nl) {
			size_t len = (size_t)(nl - s);
			r->start += len + 1;
			r->lineno++;
			if (r->skipping || len > EV_MAX_RECORD) {
				*too_long = 1;
				*p = NULL;
				*n = r->skipped + len;
				r->skipping = 0;
				r->skipped = 0;
				return LR_LINE;
			}
			if (len > 0 && s[len - 1] == '\r')
				len--;
			*p = s;
			*n = len;
			return LR_LINE;
		}
		if (r->eof) {
			if (avail == 0 && !r->skipping)
				return LR_EOF;
			r->start = r->end;
			r->lineno++;
			if (r->skipping || avail > EV_MAX_RECORD) {
				*too_long = 1;
				*p = NULL;
				*n = r->skipped + avail;
				r->skipping = 0;
				r->skipped = 0;
				return LR_LINE;
			}
			if (avail > 0 && s[avail - 1] == '\r')
				avail--;
			*p = s;
			*n = avail;
			return LR_LINE;
		}
		if (avail > EV_MAX_RECORD) {
			/* drop what we have of an over-long line and keep reading to its end */
			r->skipping = 1;
			r->skipped += avail;
			r->start = r->end;
		}
		int f = fill(r);
		if (f != LR_LINE)
			return f;
	}
}

/* ---- JSON ---- */

struct jcur {
	const char *p, *end;
};

static void skip_ws(struct jcur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit((unsigned char)p[i]);
		if (d < 0)
			return -1;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Parse a JSON string at c->p (on the opening quote). */
static int jstring(struct jcur *c, struct strbuf *scratch, const char **s, size_t *n,
		   const char **why)
{
	const char *start = ++c->p;
	while (c->p < c->end && *c->p != '"' && *c->p != '\\') {
		if ((unsigned char)*c->p < 0x20) {
			*why = "control character in a string";
			return -1;
		}
		c->p++;
	}
	if (c->p >= c->end) {
		*why = "unterminated string";
		return -1;
	}
	if (*c->p == '"') {
		*s = start;
		*n = (size_t)(c->p - start);
		c->p++;
		return 0;
	}
	/* has escapes: copy into scratch, which was reserved for the whole line */
	char *o = scratch->buf + scratch->len, *o0 = o;
	memcpy(o, start, (size_t)(c->p - start));
	o += c->p - start;
	while (c->p < c->end && *c->p != '"') {
		char ch = *c->p;
		if ((unsigned char)ch < 0x20) {
			*why = "control character in a string";
			return -1;
		}
		if (ch != '\\') {
			*o++ = ch;
			c->p++;
			continue;
		}
		if (c->end - c->p < 2) {
			*why = "unterminated string";
			return -1;
		}
		c->p++;
		switch (*c->p++) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '/':
			*o++ = '/';
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u': {
			unsigned cp, lo;
			if (c->end - c->p < 4 || hex4(c->p, &cp)) {
				*why = "bad \\u escape";
				return -1;
			}
			c->p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' ||
				    hex4(c->p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff) {
					*why = "unpaired surrogate in \\u escape";
					return -1;
				}
				c->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				*why = "unpaired surrogate in \\u escape";
				return -1;
			}
			if (cp == 0) {
				*why = "NUL character in a string";
				return -1;
			}
			/* a 6-byte escape never yields more than 4 bytes, nor a 12-byte pair */
			o += put_utf8(o, cp);
			break;
		}
		default:
			*why = "bad escape in a string";
			return -1;
		}
	}
	if (c->p >= c->end) {
		*why = "unterminated string";
		return -1;
	}
	c->p++;
	*s = o0;
	*n = (size_t)(o - o0);
	scratch->len += *n;
	return 0;
}

static int jnumber(struct jcur *c, const char **why)
{
	const char *p = c->p;
	if (p < c->end && *p == '-')
		p++;
	if (p >= c->end)
		goto bad;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < c->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		goto bad;
	}
	if (p < c->end && *p == '.') {
		p++;
		if (p >= c->end || *p < '0' || *p > '9')
			goto bad;
		while (p < c->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < c->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < c->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= c->end || *p < '0' || *p > '9')
			goto bad;
		while (p < c->end && *p >= '0' && *p <= '9')
			p++;
	}
	c->p = p;
	return 0;
bad:
	*why = "malformed number";
	return -1;
}

static int lit(struct jcur *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
		c->p += n;
		return 0;
	}
	return -1;
}

int dec_json_object(const char *p, size_t n, struct ev_builder *b, struct strbuf *scratch,
		    char *why, size_t whylen)
{
	struct jcur c = {p, p + n};
	const char *reason = NULL;
	strbuf_grow(scratch, n + 8);

	skip_ws(&c);
	if (c.p >= c.end || *c.p != '{') {
		snprintf(why, whylen, "malformed JSON: expected an object at offset %zu",
			 (size_t)(c.p - p));
		return -1;
	}
	c.p++;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
		goto tail;
	}
	for (;;) {
		const char *key, *val;
		size_t klen, vlen;
		enum ev_kind kind;
		skip_ws(&c);
		if (c.p >= c.end || *c.p != '"') {
			reason = "expected a field name";
			goto malformed;
		}
		if (jstring(&c, scratch, &key, &klen, &reason))
			goto malformed;
		skip_ws(&c);
		if (c.p >= c.end || *c.p != ':') {
			reason = "expected ':'";
			goto malformed;
		}
		c.p++;
		skip_ws(&c);
		if (c.p >= c.end) {
			reason = "expected a value";
			goto malformed;
		}
		val = c.p;
		switch (*c.p) {
		case '"':
			if (jstring(&c, scratch, &val, &vlen, &reason))
				goto malformed;
			kind = EVK_STRING;
			break;
		case 't':
		case 'f':
			if (lit(&c, "true") && lit(&c, "false")) {
				reason = "unexpected word";
				goto malformed;
			}
			kind = EVK_BOOL;
			vlen = (size_t)(c.p - val);
			break;
		case 'n':
			if (lit(&c, "null")) {
				reason = "unexpected word";
				goto malformed;
			}
			kind = EVK_NULL;
			vlen = 4;
			break;
		case '{':
		case '[':
			snprintf(why, whylen, "%.*s: expected a scalar value, got an %s",
				 (int)(klen > 40 ? 40 : klen), key,
				 *c.p == '{' ? "object" : "array");
			return -1;
		default:
			if (jnumber(&c, &reason))
				goto malformed;
			kind = EVK_NUMBER;
			vlen = (size_t)(c.p - val);
			break;
		}
		int f = ev_field_lookup(key, klen);
		if (f >= 0 && ev_builder_set(b, f, val, vlen, kind, why, whylen))
			return -1;
		skip_ws(&c);
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		if (c.p < c.end && *c.p == '}') {
			c.p++;
			break;
		}
		reason = "expected ',' or '}'";
		goto malformed;
	}
tail:
	skip_ws(&c);
	if (c.p != c.end) {
		reason = "text after the object";
		goto malformed;
	}
	return 0;
malformed:
	snprintf(why, whylen, "malformed JSON: %s at offset %zu", reason, (size_t)(c.p - p));
	return -1;
}

/* ---- CSV ---- */

int csv_quote_scan(const char *p, size_t n, int inq)
{
	if (n == 0)
		return inq;
	/* a doubled quote inside a field flips twice: the count's parity is the state */
	const char *q = p, *end = p + n;
	while (q < end && (q = memchr(q, '"', (size_t)(end - q))) != NULL) {
		inq = !inq;
		q++;
	}
	return inq;
}

int csv_open_quote(const char *rec, size_t n)
{
	return csv_quote_scan(rec, n, 0);
}

int csv_split(char *rec, size_t n, char **fields, size_t *lens, int max, char *why, size_t whylen)
{
	size_t i = 0;
	int nf = 0;
	for (;;) {
		if (nf == max) {
			snprintf(why, whylen, "more than %d columns", max);
			return -1;
		}
		char *out = rec + i;
		size_t olen = 0;
		if (i < n && rec[i] == '"') {
			i++;
			for (;;) {
				if (i >= n) {
					snprintf(why, whylen,
						 "unterminated quoted field in column %d", nf + 1);
					return -1;
				}
				if (rec[i] == '"') {
					if (i + 1 < n && rec[i + 1] == '"') {
						out[olen++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				out[olen++] = rec[i++];
			}
			if (i < n && rec[i] != ',') {
				snprintf(why, whylen, "text after a closing quote in column %d",
					 nf + 1);
				return -1;
			}
		} else {
			while (i < n && rec[i] != ',') {
				if (rec[i] == '"') {
					snprintf(why, whylen, "stray quote in column %d", nf + 1);
					return -1;
				}
				i++;
				olen++;
			}
		}
		fields[nf] = out;
		lens[nf] = olen;
		nf++;
		if (i >= n)
			return nf;
		i++; /* the comma */
	}
}

#define CSV_MAX_COLS 256

int csv_header_parse(struct csv_header *h, char *rec, size_t n, char *why, size_t whylen)
{
	char *f[CSV_MAX_COLS];
	size_t l[CSV_MAX_COLS];
	uint32_t seen = 0;
	memset(h, 0, sizeof(*h));
	/* a UTF-8 byte order mark before the header is not part of the first name */
	if (n >= 3 && (unsigned char)rec[0] == 0xef && (unsigned char)rec[1] == 0xbb &&
	    (unsigned char)rec[2] == 0xbf) {
		rec += 3;
		n -= 3;
	}
	int nf = csv_split(rec, n, f, l, CSV_MAX_COLS, why, whylen);
	if (nf < 0)
		return -1;
	h->ncols = nf;
	h->field = xcalloc((size_t)nf, sizeof(int));
	for (int i = 0; i < nf; i++) {
		/* trim spaces around header names */
		while (l[i] > 0 && (f[i][0] == ' ' || f[i][0] == '\t')) {
			f[i]++;
			l[i]--;
		}
		while (l[i] > 0 && (f[i][l[i] - 1] == ' ' || f[i][l[i] - 1] == '\t'))
			l[i]--;
		h->field[i] = ev_field_lookup(f[i], l[i]);
		if (h->field[i] >= 0) {
			if (seen & (1u << h->field[i])) {
				snprintf(why, whylen, "header: column %.*s given twice", (int)l[i],
					 f[i]);
				csv_header_release(h);
				return -1;
			}
			seen |= 1u << h->field[i];
		}
	}
	static const int required[] = {
	    EVF_TS,	  EVF_PUBLISHER_ID,  EVF_PUBLISHER_NAME, EVF_JOB_ID, EVF_CAMPAIGN_ID,
	    EVF_INDUSTRY, EVF_LOCATION,	     EVF_IMPRESSIONS,	 EVF_CLICKS, EVF_APPLY_COUNT,
	    EVF_COST,	  EVF_QUALITY_SCORE, EVF_DEVICE};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(seen & (1u << required[i]))) {
			snprintf(why, whylen, "header: required column %s is missing",
				 ev_field_name((enum ev_field)required[i]));
			csv_header_release(h);
			return -1;
		}
	return 0;
}

void csv_header_release(struct csv_header *h)
{
	free(h->field);
	h->field = NULL;
	h->ncols = 0;
}

int dec_csv_record(const struct csv_header *h, char *rec, size_t n, struct ev_builder *b, char *why,
		   size_t whylen)
{
	char *f[CSV_MAX_COLS];
	size_t l[CSV_MAX_COLS];
	int nf = csv_split(rec, n, f, l, CSV_MAX_COLS, why, whylen);
	if (nf < 0)
		return -1;
	if (nf != h->ncols) {
		snprintf(why, whylen, "expected %d columns as in the header, got %d", h->ncols, nf);
		return -1;
	}
	for (int i = 0; i < nf; i++) {
		if (h->field[i] < 0)
			continue;
		if (ev_builder_set(b, h->field[i], f[i], l[i], EVK_RAW, why, whylen))
			return -1;
	}
	return 0;
}
