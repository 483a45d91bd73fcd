/*
 * url.c - the one URL toolkit of the backends: a URL with its password hidden for
 * messages, the one percent-decoder (strict: a malformed escape or %00 is an
 * error), and where the user info ends. Each backend parses its own parameters
 * (src/store/mysql/conn.c, src/store/cassandra/url.c) with these.
 */
#include <stdio.h>
#include <string.h>

#include "jobads/store.h"
#include "jobads/util.h"

#include "jobads/banned.h"

const char *store_url_redact(const char *url, char *buf, size_t len)
{
	const char *auth = strstr(url, "://");
	const char *at = strrchr(url, '@'), *colon;
	snprintf(buf, len, "%s", url);
	if (!auth || !at || at < auth)
		return buf;
	auth += 3;
	/* no ':' before the '@': a user name alone, nothing secret */
	if (!(colon = memchr(auth, ':', (size_t)(at - auth))))
		return buf;
	snprintf(buf, len, "%.*s:***%s", (int)(colon - url), url, at);
	return buf;
}

enum jrc store_url_unescape(const char *name, const char *part, const char *s, size_t n, char *out,
			    size_t cap, struct jerr *err)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int h = i + 2 < n ? hex_digit((unsigned char)s[i + 1]) : -1;
			int l = i + 2 < n ? hex_digit((unsigned char)s[i + 2]) : -1;
			if (h < 0 || l < 0) {
				jerr_set(err,
					 "%s: %s: a '%%' not followed by two hex digits (write "
					 "'%%' as %%25)",
					 name, part);
				return J_ERROR;
			}
			c = h * 16 + l;
			i += 2;
			if (c == 0) {
				jerr_set(err, "%s: %s: %%00 (a NUL byte) is not allowed", name,
					 part);
				return J_ERROR;
			}
		}
		if (o + 1 >= cap) {
			jerr_set(err, "%s: %s: longer than %zu bytes", name, part, cap - 1);
			return J_ERROR;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return J_OK;
}

enum jrc store_url_userinfo_end(const char *scheme, const char *auth, const char *end,
				const char **at, struct jerr *err)
{
	*at = NULL;
	for (const char *c = auth; c < end; c++)
		if (*c == '@')
			*at = c;
	if (!strchr(end, '@'))
		return J_OK;
	struct strbuf url = {0};
	char shown[512];
	strbuf_addf(&url, "%s://%s", scheme, auth);
	jerr_set(err,
		 "%s: '@' after the host: a '/' or '?' in the user name or password, or a '@' "
		 "in a parameter, must be percent-encoded (%%2F, %%3F, %%40)",
		 store_url_redact(url.buf, shown, sizeof(shown)));
	strbuf_release(&url);
	return J_ERROR;
}
