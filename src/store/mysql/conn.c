/*
 * mysql/conn.c - helpers shared by the MySQL/MariaDB event and analytics stores.
 */
#include "conn.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/banned.h"

#define DEFAULT_CONNECT_TIMEOUT 10
/*
 * Long enough for verify's GROUP BY over a large raw table to send its first
 * row, short enough that a hung server fails a run within minutes.
 */
#define DEFAULT_READ_TIMEOUT 120
#define DEFAULT_SETTLE_MS    5000
#define DEFAULT_LEASE_MS     10000

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_end(void)
{
	mysql_library_end();
}

/* mysql_library_init is not thread-safe: run it once, before any thread connects. */
static void lib_init(void)
{
	mysql_library_init(0, NULL, NULL);
	atexit(lib_end);
}

static int parse_secs(const char *v, size_t n, int64_t lo_ms, int64_t hi_ms, int64_t *ms)
{
	/* seconds with up to three decimals: "5", "0.5", "30" */
	int64_t whole = 0, frac = 0, scale = 1000;
	size_t i = 0;
	if (n == 0)
		return -1;
	for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
		whole = whole * 10 + (v[i] - '0');
		if (whole > 100000000)
			return -1;
	}
	if (i < n && v[i] == '.') {
		i++;
		for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
			if (scale > 1) {
				scale /= 10;
				frac += (v[i] - '0') * scale;
			}
		}
	}
	if (i != n || (n == 1 && v[0] == '.'))
		return -1;
	*ms = whole * 1000 + frac;
	return *ms < lo_ms || *ms > hi_ms ? -1 : 0;
}

int my_url_parse(const char *rest, const char *default_db, struct my_url *u, char **name,
		 struct jerr *err)
{
	struct strbuf nm = {0};
	const char *p = rest, *at, *hostp, *slash, *q, *end;
	memset(u, 0, sizeof(*u));
	*name = NULL;
	u->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
	u->read_timeout = DEFAULT_READ_TIMEOUT;
	u->write_timeout = 0;
	u->settle_ms = DEFAULT_SETTLE_MS;
	u->lease_ms = DEFAULT_LEASE_MS;

	if (strncmp(p, "//", 2) != 0) {
		jerr_set(err, "mysql:%s: want mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
			 strchr(rest, '@') ? "..." : rest);
		return J_ERROR;
	}
	p += 2;
	end = p + strcspn(p, "/?");
	/* the last '@' before the path (a password may hold one), and none after */
	if (store_url_userinfo_end("mysql", p, end, &at, err) != J_OK)
		return J_ERROR;
	strbuf_addf(&nm, "mysql://");
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
		if (store_url_unescape("mysql URL", "the user name", p, ulen, u->user,
				       sizeof(u->user), err) != J_OK)
			goto fail;
		strbuf_add(&nm, p, ulen);
		if (colon) {
			char shown[300];
			snprintf(shown, sizeof(shown), "%s@...", nm.buf);
			if (store_url_unescape(shown, "the password", colon + 1,
					       (size_t)(at - colon - 1), u->pass, sizeof(u->pass),
					       err) != J_OK)
				goto fail;
			u->has_pass = 1;
		}
		strbuf_add(&nm, "@", 1);
		hostp = at + 1;
	} else {
		hostp = p;
	}
	/* host, [v6], :port */
	{
		const char *hend = end, *port = NULL;
		if (*hostp == '[') {
			const char *rb = memchr(hostp, ']', (size_t)(end - hostp));
			if (!rb) {
				jerr_set(err, "%s: unclosed '[' in the host", nm.buf);
				goto fail;
			}
			if ((size_t)(rb - hostp - 1) >= sizeof(u->host))
				goto toolong;
			memcpy(u->host, hostp + 1, (size_t)(rb - hostp - 1));
			if (rb + 1 < end && rb[1] == ':')
				port = rb + 2;
			else if (rb + 1 != end) {
				jerr_set(err, "%s: unexpected text after ']'", nm.buf);
				goto fail;
			}
		} else {
			const char *colon = memchr(hostp, ':', (size_t)(end - hostp));
			if (colon) {
				hend = colon;
				port = colon + 1;
			}
			if ((size_t)(hend - hostp) >= sizeof(u->host))
				goto toolong;
			memcpy(u->host, hostp, (size_t)(hend - hostp));
		}
		if (port) {
			int64_t pv;
			if (parse_int64(port, (size_t)(end - port), 1, 65535, &pv)) {
				jerr_set(err, "%s%.*s: the port is not a number in 1..65535",
					 nm.buf, (int)(end - hostp), hostp);
				goto fail;
			}
			u->port = (unsigned)pv;
		}
		strbuf_add(&nm, hostp, (size_t)(end - hostp));
	}
	/* /db */
	slash = *end == '/' ? end : NULL;
	q = strchr(end, '?');
	{
		const char *dbs = slash ? slash + 1 : end;
		const char *dbe = q ? q : dbs + strlen(dbs);
		size_t dn = (size_t)(dbe - dbs);
		if (dn == 0) {
			snprintf(u->db, sizeof(u->db), "%s", default_db);
		} else {
			if (dn >= sizeof(u->db)) {
				jerr_set(err, "%s/%.*s: database name longer than 64", nm.buf,
					 (int)dn, dbs);
				goto fail;
			}
			for (size_t i = 0; i < dn; i++) {
				char c = dbs[i];
				if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				      (c >= '0' && c <= '9') || c == '_' || c == '$')) {
					jerr_set(
					    err,
					    "%s/%.*s: a database name here is letters, digits, "
					    "'_' or '$'",
					    nm.buf, (int)dn, dbs);
					goto fail;
				}
			}
			memcpy(u->db, dbs, dn);
		}
		strbuf_addf(&nm, "/%s", u->db);
	}
	/* ?k=v&k=v */
	if (q) {
		strbuf_addf(&nm, "%s", q);
		const char *kv = q + 1;
		while (*kv) {
			size_t n = strcspn(kv, "&");
			const char *eq = memchr(kv, '=', n);
			size_t kn = eq ? (size_t)(eq - kv) : n;
			const char *v = eq ? eq + 1 : kv + n;
			size_t vn = eq ? n - kn - 1 : 0;
			int64_t ms;
#define KEY(k) (kn == sizeof(k) - 1 && memcmp(kv, k, kn) == 0)
			if (KEY("socket")) {
				if (!vn) {
					jerr_set(err, "%s: socket: want a path", nm.buf);
					goto fail;
				}
				if (store_url_unescape(nm.buf, "socket", v, vn, u->socket,
						       sizeof(u->socket), err) != J_OK)
					goto fail;
			} else if (KEY("connect_timeout") || KEY("read_timeout") ||
				   KEY("write_timeout")) {
				if (parse_secs(v, vn, 1000, 86400000, &ms)) {
					jerr_set(err, "%s: %.*s: want seconds in 1..86400", nm.buf,
						 (int)kn, kv);
					goto fail;
				}
				unsigned s = (unsigned)((ms + 999) / 1000);
				if (KEY("connect_timeout"))
					u->connect_timeout = s;
				else if (KEY("read_timeout"))
					u->read_timeout = s;
				else
					u->write_timeout = s;
			} else if (KEY("settle")) {
				if (parse_secs(v, vn, 0, 86400000, &ms)) {
					jerr_set(err, "%s: settle: want seconds in 0..86400",
						 nm.buf);
					goto fail;
				}
				u->settle_ms = ms;
				u->has_settle = 1;
			} else if (KEY("lease")) {
				if (parse_secs(v, vn, 1000, 86400000, &ms)) {
					jerr_set(err, "%s: lease: want seconds in 1..86400",
						 nm.buf);
					goto fail;
				}
				u->lease_ms = ms;
			} else if (KEY("bulk")) {
				if (vn != 1 || (*v != '0' && *v != '1')) {
					jerr_set(err, "%s: bulk: want 0 or 1", nm.buf);
					goto fail;
				}
				u->no_bulk = *v == '0';
			} else if (KEY("load")) {
				if (vn != 1 || (*v != '0' && *v != '1')) {
					jerr_set(err, "%s: load: want 0 or 1", nm.buf);
					goto fail;
				}
				u->no_load = *v == '0';
			} else {
				jerr_set(err,
					 "%s: unknown parameter '%.*s' (socket, connect_timeout, "
					 "read_timeout, write_timeout, settle, lease, bulk, load)",
					 nm.buf, (int)kn, kv);
				goto fail;
			}
#undef KEY
			kv += n;
			if (*kv == '&')
				kv++;
		}
	}
	if (!u->write_timeout)
		u->write_timeout = u->read_timeout;
	if (!u->has_pass) {
		const char *env = getenv("JOBADS_MYSQL_PASSWORD");
		if (env && *env) {
			snprintf(u->pass, sizeof(u->pass), "%s", env);
			u->has_pass = 1;
		}
	}
	if (!u->host[0] && !u->socket[0])
		snprintf(u->host, sizeof(u->host), "localhost");
	*name = nm.buf;
	return J_OK;
toolong:
	jerr_set(err, "%s: the host name is too long", nm.buf);
fail:
	strbuf_release(&nm);
	memset(u->pass, 0, sizeof(u->pass));
	return J_ERROR;
}

int my_code_retryable(unsigned code)
{
	switch (code) {
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_ERR_NET_READ:
	case CR_ERR_NET_WRITE:
	case ER_CON_COUNT_ERROR:
	case ER_TOO_MANY_USER_CONNECTIONS:
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case ER_QUERY_INTERRUPTED:
	case ER_NET_READ_INTERRUPTED:
	case ER_NET_WRITE_INTERRUPTED:
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_LOCK_ABORTED:
	case ER_STATEMENT_TIMEOUT:
	case ER_DISK_FULL:
	case ER_RECORD_FILE_FULL:
	case ER_OPTION_PREVENTS_STATEMENT: /* read-only, e.g. during a failover */
		return 1;
	default:
		return 0;
	}
}

/* err->code is the client's or the server's errno: callers decide by it, never by the text. */
static int fail_code(unsigned code, const char *msg, const char *name, const char *what,
		     struct jerr *err)
{
	if (code == 0) {
		jerr_set(err, "%s: %s: unknown error", name, what);
		return J_ERROR;
	}
	jerr_setc(err, (int)code, "%s: %s: %s (error %u)", name, what, msg, code);
	return my_code_retryable(code) ? J_RETRY : J_ERROR;
}

int my_fail(MYSQL *db, const char *name, const char *what, struct jerr *err)
{
	return fail_code(mysql_errno(db), mysql_error(db), name, what, err);
}

int my_stmt_fail(MYSQL_STMT *st, const char *name, const char *what, struct jerr *err)
{
	/* a fetch that lost its connection can leave the error on the connection only */
	if (mysql_stmt_errno(st) == 0 && st->mysql && mysql_errno(st->mysql) != 0)
		return fail_code(mysql_errno(st->mysql), mysql_error(st->mysql), name, what, err);
	return fail_code(mysql_stmt_errno(st), mysql_stmt_error(st), name, what, err);
}

int my_exec(MYSQL *db, const char *sql, const char *name, const char *what, struct jerr *err)
{
	if (mysql_real_query(db, sql, (unsigned long)strlen(sql)) != 0)
		return my_fail(db, name, what, err);
	MYSQL_RES *res = mysql_store_result(db);
	if (res)
		mysql_free_result(res);
	else if (mysql_field_count(db) != 0)
		return my_fail(db, name, what, err);
	return J_OK;
}

static int create_db(MYSQL *db, const struct my_url *u, int mariadb, const char *name,
		     struct jerr *err)
{
	char sql[256];
	/* u->db is [A-Za-z0-9_$]{1,64} (my_url_parse): safe between backticks */
	snprintf(sql, sizeof(sql),
		 "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE %s", u->db,
		 mariadb ? "utf8mb4_nopad_bin" : "utf8mb4_0900_bin");
	return my_exec(db, sql, name, "creating the database", err);
}

int my_connect(const struct my_url *u, const char *name, enum store_mode mode, unsigned long flags,
	       MYSQL **out, int *mariadb, struct jerr *err)
{
	MYSQL *db;
	int r;
	*out = NULL;
	pthread_once(&lib_once, lib_init);
	db = mysql_init(NULL);
	if (!db) {
		jerr_set(err, "%s: out of memory for a connection", name);
		return J_ERROR;
	}
	unsigned ct = u->connect_timeout, rt = u->read_timeout, wt = u->write_timeout;
	mysql_optionsv(db, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_optionsv(db, MYSQL_OPT_READ_TIMEOUT, &rt);
	mysql_optionsv(db, MYSQL_OPT_WRITE_TIMEOUT, &wt);
	mysql_optionsv(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (u->socket[0]) {
		unsigned proto = MYSQL_PROTOCOL_SOCKET;
		mysql_optionsv(db, MYSQL_OPT_PROTOCOL, &proto);
	}
	if (!mysql_real_connect(db, u->socket[0] ? NULL : u->host, u->user[0] ? u->user : NULL,
				u->has_pass ? u->pass : NULL, NULL, u->port,
				u->socket[0] ? u->socket : NULL, flags)) {
		unsigned code = mysql_errno(db);
		r = fail_code(code, mysql_error(db), name, "cannot connect", err);
		mysql_close(db);
		return r;
	}
	*mariadb = strstr(mysql_get_server_info(db), "MariaDB") != NULL;
	/*
	 * UTC for FROM_UNIXTIME and NOW(); strict: a value that does not fit is an
	 * error, never a silent truncation.
	 */
	r = my_exec(db,
		    "SET SESSION time_zone = '+00:00', sql_mode = "
		    "'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION,ONLY_FULL_GROUP_BY'",
		    name, "setting up the session", err);
	if (r != J_OK)
		goto fail;
	if (mysql_select_db(db, u->db) != 0) {
		unsigned code = mysql_errno(db);
		if (code != ER_BAD_DB_ERROR) {
			r = my_fail(db, name, "selecting the database", err);
			goto fail;
		}
		if (mode == STORE_OPEN_EXISTING) {
			jerr_setc(err, ER_BAD_DB_ERROR,
				  "%s: no database '%s' (run 'jobads init' first)", name, u->db);
			r = J_ERROR;
			goto fail;
		}
		if ((r = create_db(db, u, *mariadb, name, err)) != J_OK)
			goto fail;
		if (mysql_select_db(db, u->db) != 0) {
			r = my_fail(db, name, "selecting the database", err);
			goto fail;
		}
	}
	*out = db;
	return J_OK;
fail:
	mysql_close(db);
	return r;
}

int my_exec_script(MYSQL *db, int mariadb, const char *script, const char *name, struct jerr *err)
{
	struct strbuf sb = {0};
	const char *p = script;
	int r = J_OK;
	while (*p) {
		/* a statement ends with ';' followed by a newline (or the end) */
		const char *e = p;
		for (;;) {
			e = strchr(e, ';');
			if (!e || e[1] == '\n' || e[1] == '\0')
				break;
			e++;
		}
		size_t n = e ? (size_t)(e - p) : strlen(p);
		strbuf_reset(&sb);
		strbuf_add(&sb, p, n);
		p += n + (e ? 1 : 0);
		/* skip statements that are only blank lines and comments */
		int empty = 1;
		for (const char *c = sb.buf; *c; c++) {
			if (*c == '-' && c[1] == '-') {
				while (*c && *c != '\n')
					c++;
				if (!*c)
					break;
			} else if (*c != ' ' && *c != '\n' && *c != '\t' && *c != '\r') {
				empty = 0;
				break;
			}
		}
		if (empty)
			continue;
		if (!mariadb) {
			char *m;
			while ((m = strstr(sb.buf, "utf8mb4_nopad_bin")) != NULL)
				memcpy(m, "utf8mb4_0900_bin ", 17);
		}
		r = my_exec(db, sb.buf, name, "applying the schema", err);
		if (r != J_OK)
			break;
	}
	strbuf_release(&sb);
	return r;
}

int my_prepare(MYSQL *db, const char *sql, MYSQL_STMT **st, const char *name, struct jerr *err)
{
	*st = mysql_stmt_init(db);
	if (!*st)
		return my_fail(db, name, "preparing a statement", err);
	if (mysql_stmt_prepare(*st, sql, (unsigned long)strlen(sql)) != 0) {
		int r = my_stmt_fail(*st, name, "preparing a statement", err);
		mysql_stmt_close(*st);
		*st = NULL;
		return r;
	}
	return J_OK;
}

void my_bind_i64(MYSQL_BIND *b, const int64_t *v)
{
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = (void *)v;
	b->is_unsigned = 0;
}

void my_bind_int(MYSQL_BIND *b, const int32_t *v)
{
	b->buffer_type = MYSQL_TYPE_LONG;
	b->buffer = (void *)v;
	b->is_unsigned = 0;
}

void my_bind_dbl(MYSQL_BIND *b, const double *v)
{
	b->buffer_type = MYSQL_TYPE_DOUBLE;
	b->buffer = (void *)v;
}

void my_bind_str(MYSQL_BIND *b, const char *s, unsigned long *len, my_bool *null)
{
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)(s ? s : "");
	b->buffer_length = *len;
	b->length = len;
	b->is_null = null;
}

int my_cols_bind(struct my_cols *c, MYSQL_STMT *st, const char *types, const char *name,
		 struct jerr *err)
{
	memset(c, 0, sizeof(*c));
	c->n = (int)strlen(types);
	if (c->n > MY_MAX_COLS || mysql_stmt_field_count(st) != (unsigned)c->n) {
		jerr_set(err, "%s: a query returned %u columns, expected %d", name,
			 mysql_stmt_field_count(st), c->n);
		return J_ERROR;
	}
	for (int i = 0; i < c->n; i++) {
		MYSQL_BIND *b = &c->b[i];
		c->type[i] = types[i];
		b->is_null = &c->null[i];
		b->error = &c->error[i];
		b->length = &c->len[i];
		switch (types[i]) {
		case 'l':
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = &c->i[i];
			break;
		case 'd':
			b->buffer_type = MYSQL_TYPE_DOUBLE;
			b->buffer = &c->d[i];
			break;
		default:
			c->s[i] = xmalloc(MY_STR_CAP + 1);
			b->buffer_type = MYSQL_TYPE_STRING;
			b->buffer = c->s[i];
			b->buffer_length = MY_STR_CAP; /* one byte more allocated for the NUL */
			break;
		}
	}
	if (mysql_stmt_bind_result(st, c->b) != 0) {
		int r = my_stmt_fail(st, name, "binding a result", err);
		my_cols_release(c);
		return r;
	}
	return J_OK;
}

void my_cols_release(struct my_cols *c)
{
	for (int i = 0; i < c->n; i++) {
		free(c->s[i]);
		c->s[i] = NULL;
	}
	c->n = 0;
}

int my_prepare_rows(MYSQL *db, const char *head, const char *row, unsigned rows, const char *tail,
		    MYSQL_STMT **out, const char *name, struct jerr *err)
{
	struct strbuf sb = {0};
	strbuf_addf(&sb, "%s", head);
	for (unsigned i = 0; i < rows; i++)
		strbuf_addf(&sb, "%s%s", i ? "," : "", row);
	strbuf_addf(&sb, "%s", tail);
	int r = my_prepare(db, sb.buf, out, name, err);
	strbuf_release(&sb);
	return r;
}

int my_fetch_end(MYSQL_STMT *st, struct my_cols *c, int got, int stop, int r)
{
	if (!stop && got < 0)
		r = my_code_retryable(mysql_stmt_errno(st)) ? J_RETRY : J_ERROR;
	mysql_stmt_free_result(st);
	my_cols_release(c);
	return stop ? stop : r;
}

int my_fetch(struct my_cols *c, MYSQL_STMT *st, const char *name, const char *what,
	     struct jerr *err)
{
	int rc = mysql_stmt_fetch(st);
	if (rc == MYSQL_NO_DATA)
		return 0;
	if (rc == 1) {
		my_stmt_fail(st, name, what, err);
		return -1;
	}
	if (rc == MYSQL_DATA_TRUNCATED) {
		for (int i = 0; i < c->n; i++) {
			if (!c->error[i])
				continue;
			if (c->type[i] == 'T') {
				c->len[i] = MY_STR_CAP;
				continue;
			}
			jerr_set(err, "%s: %s: column %d does not fit (%lu bytes)", name, what,
				 i + 1, c->len[i]);
			return -1;
		}
	}
	for (int i = 0; i < c->n; i++) {
		if (c->s[i]) {
			size_t n = c->null[i] ? 0 : c->len[i];
			if (n > MY_STR_CAP)
				n = MY_STR_CAP;
			c->s[i][n] = '\0';
		}
	}
	return 1;
}

kpi_int my_col_int(const struct my_cols *c, int i)
{
	kpi_int v = 0;
	if (c->type[i] != 'n')
		return c->i[i];
	/* SUM over BIGINT is DECIMAL: read as text, exact past int64 ("123" or "123.0") */
	if (c->null[i])
		return 0;
	size_t n = c->len[i] < MY_STR_CAP ? c->len[i] : MY_STR_CAP;
	const char *dot = memchr(c->s[i], '.', n);
	if (dot)
		n = (size_t)(dot - c->s[i]);
	return kpi_int_parse(c->s[i], n, &v) == 0 ? v : 0;
}

void my_col_sums(const struct my_cols *c, int k, struct kpi_sums *m)
{
	m->records = my_col_int(c, k);
	m->impressions = my_col_int(c, k + 1);
	m->clicks = my_col_int(c, k + 2);
	m->applies = my_col_int(c, k + 3);
	m->cost_micros = my_col_int(c, k + 4);
	m->quality_sum = my_col_int(c, k + 5);
	m->ctr_sum = c->d[k + 6];
	m->cpc_sum = c->d[k + 7];
	m->cpa_sum = c->d[k + 8];
	m->roi_sum = c->d[k + 9];
}

void my_fact_row(const struct my_cols *c, struct fact_row *fr)
{
	fr->hour_start = c->i[0];
	fr->campaign_id = (int32_t)c->i[1];
	fr->publisher_id = (int32_t)c->i[2];
	fr->industry = my_col_str(c, 3);
	fr->location = my_col_str(c, 4);
	fr->device = my_col_str(c, 5);
	my_col_sums(c, 6, &fr->m);
}

int my_has_bulk(MYSQL *db)
{
	unsigned long caps = 0;
	if (mariadb_get_infov(db, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &caps) != 0)
		return 0;
	return (caps & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32)) != 0;
}

int my_run(MYSQL_STMT *st, MYSQL_BIND *params, const char *name, const char *what, struct jerr *err)
{
	if (params && mysql_stmt_bind_param(st, params) != 0)
		return my_stmt_fail(st, name, what, err);
	if (mysql_stmt_execute(st) != 0)
		return my_stmt_fail(st, name, what, err);
	return J_OK;
}

int my_schema_version(MYSQL *db, const char *sql, const char *name, int *version, struct jerr *err)
{
	static const char what[] = "reading the schema version";
	struct my_cols c;
	int r;
	*version = 0;
	MYSQL_STMT *st = mysql_stmt_init(db);
	if (!st)
		return my_fail(db, name, what, err);
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		/* no version table: a database that was never initialised */
		r = mysql_stmt_errno(st) == ER_NO_SUCH_TABLE ? J_OK
							     : my_stmt_fail(st, name, what, err);
		mysql_stmt_close(st);
		return r;
	}
	r = my_run(st, NULL, name, what, err);
	if (r == J_OK && (r = my_cols_bind(&c, st, "l", name, err)) == J_OK) {
		int f = my_fetch(&c, st, name, what, err);
		if (f < 0)
			r = J_ERROR;
		else if (f > 0)
			*version = (int)c.i[0];
		my_cols_release(&c);
	}
	mysql_stmt_close(st);
	return r;
}
