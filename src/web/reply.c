/*
 * reply.c - what every route answers with: a status and body (reply, reply_json,
 * reply_error, whose text is JSON's "error"), and what it reads of a request
 * beyond the route: its bearer token, and its body within the deadline and
 * minimum rate that keep a slow client from holding a worker.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#include "jobads/banned.h"

int reply(struct req *r, int status, const char *ctype, const void *body, size_t n,
	  const char *extra_headers)
{
	const char *text = mg_get_response_code_text(r->c, status);
	const char *extra = extra_headers ? extra_headers : "";
	mg_printf(r->c,
		  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		  "%sX-Content-Type-Options: nosniff\r\n%s\r\n",
		  status, text ? text : "", ctype, n,
		  strstr(extra, "Cache-Control:") ? "" : "Cache-Control: no-store\r\n", extra);
	if (n && strcmp(r->ri->request_method, "HEAD") != 0)
		mg_write(r->c, body, n);
	r->status = status;
	return status;
}

int reply_str(struct req *r, int status, const char *ctype, const char *body,
	      const char *extra_headers)
{
	return reply(r, status, ctype, body, strlen(body), extra_headers);
}

int reply_json(struct req *r, int status, json_t *doc)
{
	char *txt = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(doc);
	if (!txt)
		return reply_str(r, 500, "application/json",
				 "{\"error\":\"could not encode the reply\",\"status\":500}", NULL);
	int s = reply(r, status, "application/json", txt, strlen(txt), NULL);
	free(txt);
	return s;
}

int reply_error(struct req *r, int status, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* the message may quote client bytes: keep it valid UTF-8 for JSON */
	if (ev_utf8_len(msg, strlen(msg)) < 0)
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	json_t *o = json_object();
	json_object_set_new(o, "error", json_string(msg));
	json_object_set_new(o, "status", json_integer(status));
	return reply_json(r, status, o);
}

const char *bearer_token(struct req *r, size_t *n)
{
	const char *h = mg_get_header(r->c, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	*n = strlen(h);
	while (*n && h[*n - 1] == ' ')
		(*n)--;
	return h;
}

/*
 * A body read without pre-allocating from Content-Length, within a deadline and
 * at a minimum rate. civetweb's mg_read returns within header_timeout_ms with
 * what it has for a sized body, but for a chunked one it waits until the whole
 * buffer is filled (each byte within header_timeout_ms), so there the read size
 * follows the client's rate down to a few bytes: a trickle then still comes
 * back here to be judged within seconds.
 */
int web_read_body(struct req *r, struct strbuf *sb)
{
	const struct web_opts *o = &r->w->o;
	size_t max = o->max_body, want = 16384;
	long long cl = r->ri->content_length;
	char buf[16384];
	double t0 = time_mono(), secs = 0;
	if (cl > (long long)max) {
		mg_disable_keep_alive(r->c); /* the unread body must not be taken for a request */
		return reply_error(r, 413, "body of %lld bytes is over the limit of %zu bytes", cl,
				   max);
	}
	/* a client that asks first (curl does for large bodies) would wait a second for it */
	const char *expect = mg_get_header(r->c, "Expect");
	if (expect && strcasecmp(expect, "100-continue") == 0) {
		mg_printf(r->c, "HTTP/1.1 100 Continue\r\n\r\n");
		r->continued = 1;
	}
	if (cl < 0)
		want = 64;
	while (cl < 0 || (long long)sb->len < cl) {
		int n = mg_read(r->c, buf, want);
		secs = time_mono() - t0;
		if (n < 0)
			return reply_error(r, 400, "could not read the body (cut off)");
		if (n == 0 && cl < 0)
			break; /* the end of a chunked body */
		if (sb->len + (size_t)n > max) {
			mg_disable_keep_alive(r->c);
			return reply_error(r, 413, "body over the limit of %zu bytes", max);
		}
		strbuf_add(sb, buf, (size_t)n);
		if ((long long)sb->len == cl)
			break;
		if (secs * 1000 > o->request_timeout_ms) {
			mg_disable_keep_alive(r->c);
			return reply_error(r, 408,
					   "body not complete within %.0f s (%zu bytes read)",
					   o->request_timeout_ms / 1000.0, sb->len);
		}
		double rate = secs > 0 ? (double)sb->len / secs : (double)sizeof(buf);
		if (secs > 1.0 && rate < (double)o->min_body_rate) {
			mg_disable_keep_alive(r->c);
			return reply_error(r, 408,
					   "body too slow: %zu bytes in %.1f s, under the minimum "
					   "of %zu bytes/s",
					   sb->len, secs, o->min_body_rate);
		}
		if (cl < 0) /* what a quarter second brings at this rate */
			want = rate / 4 < 16		? 16
			       : rate / 4 > sizeof(buf) ? sizeof(buf)
							: (size_t)(rate / 4);
	}
	return 0;
}

enum { DRAIN_MS = 2000 };

void web_drain_body(struct req *r)
{
	char buf[16384];
	size_t left = r->w->o.max_body;
	double t0 = time_mono();
	const char *expect = mg_get_header(r->c, "Expect");
	if (r->framing_bad || r->ri->content_length == 0)
		return;
	/* a client that asked first and was answered without a 100 sends nothing */
	if (expect && strcasecmp(expect, "100-continue") == 0 && !r->continued)
		return;
	while (left > 0 && (time_mono() - t0) * 1000 < DRAIN_MS) {
		int n = mg_read(r->c, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n <= 0)
			return;
		left -= (size_t)n;
	}
}
