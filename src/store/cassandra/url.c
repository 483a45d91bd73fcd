/*
 * cassandra/url.c - the cassandra:// URL: contact points, port, keyspace,
 * user and password, and the parameters (settle and bucket times, timeouts,
 * replication, consistency, TLS). Percent-decoding and where the user info
 * ends are the shared helpers of src/store/url.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#include "jobads/banned.h"

/* A keyspace name that may go into a statement as it is: [a-z_][a-z0-9_]*, at most 48. */
static int valid_ident(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 48)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return s[0] < '0' || s[0] > '9';
}

/* indexed by the protocol's consistency code */
static const char *const consistency_names[] = {
    "ANY",	    "ONE",	   "TWO",    "THREE",	     "QUORUM",	 "ALL",
    "LOCAL_QUORUM", "EACH_QUORUM", "SERIAL", "LOCAL_SERIAL", "LOCAL_ONE"};

/*
 * datacenter=NAME:RF[,NAME:RF]: NetworkTopologyStrategy's replication map,
 * into out; -1 when a part is not NAME:RF with NAME of [A-Za-z0-9_-].
 */
static int datacenter_replication(const char *v, size_t vn, char *out, size_t cap)
{
	struct strbuf r = {0};
	strbuf_addf(&r, "{'class': 'NetworkTopologyStrategy'");
	const char *d = v, *dend = v + vn;
	while (d < dend) {
		size_t dn = strcspn(d, ",&");
		if (dn > (size_t)(dend - d))
			dn = (size_t)(dend - d);
		const char *colon = memchr(d, ':', dn);
		int64_t x;
		if (!colon ||
		    parse_int64(colon + 1, (size_t)(d + dn - colon - 1), 1, 99, &x) != 0) {
			strbuf_release(&r);
			return -1;
		}
		for (const char *c = d; c < colon; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')) {
				strbuf_release(&r);
				return -1;
			}
		strbuf_addf(&r, ", '%.*s': %d", (int)(colon - d), d, (int)x);
		d += dn + 1;
	}
	strbuf_addf(&r, "}");
	snprintf(out, cap, "%s", r.buf);
	strbuf_release(&r);
	return 0;
}

/* cassandra://[user[:pass]@]host[,host...][:port]/keyspace[?k=v&...] */
int cass_url_parse(const char *target, struct cass_url *u, char **name, struct jerr *err)
{
	const char *t = target;
	memset(u, 0, sizeof(*u));
	u->port = 9042;
	u->connect_ms = 5000;
	u->request_ms = 12000;
	u->settle_ms = 5000;
	u->bucket_ms = 60000;
	u->cl = CQL_LOCAL_QUORUM;
	u->verify_host = 1;
	snprintf(u->replication, sizeof(u->replication),
		 "{'class': 'SimpleStrategy', 'replication_factor': 1}");
	if (strncmp(t, "//", 2) != 0)
		goto bad;
	t += 2;
	const char *slash = strchr(t, '/');
	const char *end = slash ? slash : t + strlen(t);
	const char *at;
	if (store_url_userinfo_end("cassandra", t, end, &at, err) != J_OK) {
		*name = xstrdup("cassandra://...");
		return J_ERROR;
	}
	struct strbuf shown = {0};
	strbuf_addf(&shown, "cassandra://");
	if (at) {
		const char *colon = memchr(t, ':', (size_t)(at - t));
		size_t ulen = colon ? (size_t)(colon - t) : (size_t)(at - t);
		if (store_url_unescape("cassandra URL", "the user name", t, ulen, u->user,
				       sizeof(u->user), err) != J_OK ||
		    (colon && store_url_unescape("cassandra URL", "the password", colon + 1,
						 (size_t)(at - colon - 1), u->password,
						 sizeof(u->password), err) != J_OK)) {
			strbuf_release(&shown);
			*name = xstrdup("cassandra://...");
			return J_ERROR;
		}
		strbuf_addf(&shown, "%.*s@", (int)ulen, t);
		t = at + 1;
	}
	const char *pc = NULL;
	for (const char *c = t; c < end; c++)
		if (*c == ':')
			pc = c;
	size_t hlen = pc ? (size_t)(pc - t) : (size_t)(end - t);
	if (hlen == 0 || hlen >= sizeof(u->hosts))
		goto bad_shown;
	memcpy(u->hosts, t, hlen);
	if (memchr(u->hosts, ':', hlen)) { /* host1:9042,host2:9042 */
		strbuf_release(&shown);
		*name = xstrdup("cassandra://...");
		jerr_set(err, "cassandra URL: one port for every host, after the last one"
			      " (cassandra://HOST1,HOST2:PORT/KEYSPACE), not a port per host");
		return J_ERROR;
	}
	if (pc) {
		int64_t port;
		if (parse_int64(pc + 1, (size_t)(end - pc - 1), 1, 65535, &port) != 0)
			goto bad_shown;
		u->port = (int)port;
	}
	strbuf_addf(&shown, "%.*s", (int)(end - t), t);
	const char *q = slash ? strchr(slash, '?') : NULL;
	size_t klen = slash ? (q ? (size_t)(q - slash - 1) : strlen(slash + 1)) : 0;
	if (klen == 0)
		snprintf(u->ks, sizeof(u->ks), "job_ads");
	else if (klen < sizeof(u->ks))
		snprintf(u->ks, sizeof(u->ks), "%.*s", (int)klen, slash + 1);
	strbuf_addf(&shown, "/%s", u->ks);
	*name = xstrdup(shown.buf);
	strbuf_release(&shown);
	if (!valid_ident(u->ks)) {
		jerr_set(err, "%s: keyspace: want lowercase letters, digits and _ (at most 48)",
			 *name);
		return J_ERROR;
	}
	while (q && *q) {
		q++;
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		if (!eq) {
			jerr_set(err, "%s: parameter '%.*s' has no value", *name, (int)n, q);
			return J_ERROR;
		}
		size_t kn = (size_t)(eq - q), vn = n - kn - 1;
		const char *v = eq + 1;
		int64_t x;
#define KEY(s) (kn == strlen(s) && strncmp(q, s, kn) == 0)
		if (KEY("settle") && parse_int64(v, vn, 0, 3600, &x) == 0)
			u->settle_ms = x * 1000;
		else if (KEY("settle_ms") && parse_int64(v, vn, 0, 3600000, &x) == 0)
			u->settle_ms = x;
		else if (KEY("bucket") && parse_int64(v, vn, 1, 3600, &x) == 0)
			u->bucket_ms = x * 1000;
		else if (KEY("connect_timeout") && parse_int64(v, vn, 1, 3600, &x) == 0)
			u->connect_ms = (int)x * 1000;
		else if (KEY("request_timeout") && parse_int64(v, vn, 1, 3600, &x) == 0)
			u->request_ms = (int)x * 1000;
		else if (KEY("replication_factor") && parse_int64(v, vn, 1, 99, &x) == 0)
			snprintf(u->replication, sizeof(u->replication),
				 "{'class': 'SimpleStrategy', 'replication_factor': %d}", (int)x);
		else if (KEY("datacenter")) {
			if (datacenter_replication(v, vn, u->replication, sizeof(u->replication)) !=
			    0)
				goto bad_param;
		} else if (KEY("table") && vn > 0 && vn < sizeof(u->table)) {
			snprintf(u->table, sizeof(u->table), "%.*s", (int)vn, v);
			if (!valid_ident(u->table))
				goto bad_param;
		} else if (KEY("tls") && parse_int64(v, vn, 0, 1, &x) == 0) {
			u->tls = (int)x;
		} else if (KEY("verify_host") && parse_int64(v, vn, 0, 1, &x) == 0) {
			u->verify_host = (int)x;
		} else if (KEY("ca") && vn > 0) {
			if (store_url_unescape(*name, "ca", v, vn, u->ca, sizeof(u->ca), err) !=
			    J_OK)
				return J_ERROR;
			u->tls = 1; /* a CA file means TLS */
		} else if (KEY("consistency")) {
			int found = 0;
			for (size_t i = 0;
			     i < sizeof(consistency_names) / sizeof(*consistency_names); i++)
				if (strlen(consistency_names[i]) == vn &&
				    strncasecmp(consistency_names[i], v, vn) == 0) {
					u->cl = (uint16_t)i;
					found = 1;
				}
			if (!found)
				goto bad_param;
		} else {
			goto bad_param;
		}
#undef KEY
		q += n;
		continue;
	bad_param:
		jerr_set(err,
			 "%s: bad parameter '%.*s' (settle=S, settle_ms=MS, bucket=S, "
			 "connect_timeout=S, request_timeout=S, replication_factor=N, "
			 "datacenter=NAME:N[,NAME:N], consistency=LEVEL, tls=0|1, ca=PATH, "
			 "verify_host=0|1, table=NAME to import a table with ingest)",
			 *name, (int)n, q);
		return J_ERROR;
	}
	if (!u->password[0]) {
		const char *pw = getenv("JOBADS_CASSANDRA_PASSWORD");
		if (pw)
			snprintf(u->password, sizeof(u->password), "%s", pw);
	}
	return J_OK;
bad_shown:
	strbuf_release(&shown);
bad:
	*name = xstrdup("cassandra://...");
	jerr_set(err,
		 "cassandra URL: want cassandra://[USER[:PASS]@]HOST[,HOST...][:PORT]/KEYSPACE");
	return J_ERROR;
}

void cass_url_opts(const struct cass_url *u, const char *name, struct cql_opts *o)
{
	*o = (struct cql_opts){
	    .hosts = u->hosts,
	    .port = u->port,
	    .user = u->user,
	    .password = u->password,
	    .connect_ms = u->connect_ms,
	    .request_ms = u->request_ms,
	    .name = name,
	    .tls = {.on = u->tls, .ca = u->ca[0] ? u->ca : NULL, .verify_host = u->verify_host}};
}
