/*
 * body.c - the body of POST /api/events: a JSON array of flat objects, or
 * NDJSON. Records are cut out here and handed, one at a time, to the same
 * decoder (dec_json_object) and rules (ev_builder) as `jobads ingest`, so a
 * record is judged alike whichever way it arrives. Only the array's own
 * structure is checked here; what is inside an element is the decoder's job.
 */
#include <stdio.h>
#include <string.h>

#include "jobads/decode.h"
#include "jobads/web.h"

#include "jobads/banned.h"

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skip a JSON string starting at s[*i] == '"'; -1 when it does not end. */
static int skip_string(const char *s, size_t n, size_t *i)
{
	for (size_t k = *i + 1; k < n; k++) {
		if (s[k] == '\\')
			k++;
		else if (s[k] == '"') {
			*i = k + 1;
			return 0;
		}
	}
	return -1;
}

/*
 * The extent of one array element starting at s[*i]: an object or array up to
 * its matching close (strings skipped), or a scalar up to the next ',' or ']'.
 */
static int element_end(const char *s, size_t n, size_t *i)
{
	size_t k = *i;
	if (s[k] == '{' || s[k] == '[') {
		long depth = 0;
		while (k < n) {
			char c = s[k];
			if (c == '"') {
				if (skip_string(s, n, &k))
					return -1;
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if (c == '}' || c == ']') {
				if (--depth == 0) {
					*i = k + 1;
					return 0;
				}
			}
			k++;
		}
		return -1;
	}
	if (s[k] == '"') {
		if (skip_string(s, n, &k))
			return -1;
		*i = k;
		return 0;
	}
	while (k < n && s[k] != ',' && s[k] != ']' && !is_ws(s[k]))
		k++;
	*i = k;
	return 0;
}

struct one {
	int64_t now_ms;
	struct strbuf scratch;
	body_event_fn on_event;
	body_reject_fn on_reject;
	void *arg;
};

/* Decode one record; returns what the event callback returned (0 to go on). */
static int one_record(struct one *o, long index, long line, const char *p, size_t n)
{
	struct ev_builder b;
	char why[512];
	if (n > EV_MAX_RECORD) {
		snprintf(why, sizeof(why), "record too long (%zu bytes, the limit is %d)", n,
			 EV_MAX_RECORD);
		o->on_reject(o->arg, index, line, why);
		return 0;
	}
	strbuf_reset(&o->scratch);
	ev_builder_begin(&b);
	if (dec_json_object(p, n, &b, &o->scratch, why, sizeof(why)) ||
	    ev_builder_finish(&b, o->now_ms, NULL, why, sizeof(why))) {
		o->on_reject(o->arg, index, line, why);
		return 0;
	}
	return o->on_event(o->arg, index, &b.ev);
}

static int decode_array(struct one *o, const char *s, size_t n, size_t i, char *why, size_t whylen)
{
	long index = 0;
	int r;
	i++; /* '[' */
	while (i < n && is_ws(s[i]))
		i++;
	if (i < n && s[i] == ']') {
		i++;
		goto tail;
	}
	for (;;) {
		while (i < n && is_ws(s[i]))
			i++;
		if (i >= n || s[i] == ',' || s[i] == ']') {
			snprintf(why, whylen,
				 "malformed JSON array: expected a value at offset %zu", i);
			return -1;
		}
		size_t start = i;
		if (element_end(s, n, &i)) {
			snprintf(why, whylen,
				 "malformed JSON array: element %ld at offset %zu does not end",
				 index, start);
			return -1;
		}
		if (s[start] != '{') {
			char msg[64];
			snprintf(msg, sizeof(msg), "not a JSON object");
			o->on_reject(o->arg, index, 0, msg);
		} else if ((r = one_record(o, index, 0, s + start, i - start)) != 0) {
			return r;
		}
		index++;
		while (i < n && is_ws(s[i]))
			i++;
		if (i < n && s[i] == ',') {
			i++;
			continue;
		}
		if (i < n && s[i] == ']') {
			i++;
			break;
		}
		snprintf(why, whylen, "malformed JSON array: expected ',' or ']' at offset %zu", i);
		return -1;
	}
tail:
	while (i < n && is_ws(s[i]))
		i++;
	if (i < n) {
		snprintf(why, whylen,
			 "malformed JSON: unexpected text after the array at offset %zu", i);
		return -1;
	}
	return 0;
}

static int decode_ndjson(struct one *o, const char *s, size_t n)
{
	long index = 0, line = 0;
	size_t i = 0;
	int r;
	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - s) : n, len = end - i;
		const char *p = s + i;
		line++;
		i = end + 1;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		size_t k = 0;
		while (k < len && is_ws(p[k]))
			k++;
		if (k == len)
			continue; /* blank line */
		if ((r = one_record(o, index, line, p, len)) != 0)
			return r;
		index++;
	}
	return 0;
}

int body_decode(const char *body, size_t n, int64_t now_ms, body_event_fn on_event,
		body_reject_fn on_reject, void *arg, char *why, size_t whylen)
{
	struct one o = {now_ms, {0}, on_event, on_reject, arg};
	size_t i = 0;
	int r;
	if (n >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		i = 3; /* a UTF-8 byte order mark */
	while (i < n && is_ws(body[i]))
		i++;
	if (i == n) {
		snprintf(why, whylen, "empty body: want a JSON array of events or NDJSON");
		return -1;
	}
	if (body[i] == '[')
		r = decode_array(&o, body, n, i, why, whylen);
	else if (body[i] == '{')
		r = decode_ndjson(&o, body + i, n - i);
	else {
		snprintf(why, whylen,
			 "malformed JSON: want a JSON array of events or NDJSON, got '%c' at "
			 "offset %zu",
			 (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : '?', i);
		r = -1;
	}
	strbuf_release(&o.scratch);
	return r;
}

int web_token_equal(const char *a, size_t n, const char *secret)
{
	size_t m = strlen(secret);
	unsigned char diff = (unsigned char)(n != m);
	/* walk the secret's length whatever a is, so timing says nothing about a match */
	for (size_t i = 0; i < m; i++)
		diff |=
		    (unsigned char)((i < n ? (unsigned char)a[i] : 0) ^ (unsigned char)secret[i]);
	return diff == 0;
}
