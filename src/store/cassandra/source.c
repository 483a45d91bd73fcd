/*
 * cassandra/source.c - reading a table of tracking records from Cassandra for
 * `jobads ingest cassandra://HOST/KEYSPACE?table=tracking`: the original
 * stack's job_ads.tracking, so that a team switching to jobads brings its
 * history. A full scan by token ranges of the partition key, each range paged;
 * each row's columns become the (field, value) pairs every decoder feeds the
 * event builder, so a row is held to the same rules as any input.
 *
 * Columns are found by name in system_schema.columns: the original's
 * publisher_traffic, publisher_quality, bid, hour and day_of_week may be
 * missing, a column jobads does not know is not read, and a type no field can
 * take (a blob, a list) is refused at open, naming the column.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cassandra.h"
#include "internal.h"
#include "jobads/event.h"

#include "jobads/banned.h"

#define SOURCE_PAGE 5000

struct cass_source {
	struct cql_sess *sess;
	char *name; /* the URL as it may be printed, with .table */
	char ks[64], table[64];
	uint16_t cl;
	int ncols;
	int field[EVF__COUNT]; /* the ev_field of each selected column after the token */
	uint16_t type[EVF__COUNT];
	char *query;
	int nranges;
};

const char *cass_source_name(const struct cass_source *s)
{
	return s->name;
}

/* Types whose values a field can take (as text, a number or a boolean). */
static int type_ok(uint16_t t)
{
	switch (t) {
	case CQL_T_ASCII:
	case CQL_T_VARCHAR:
	case CQL_T_BIGINT:
	case CQL_T_COUNTER:
	case CQL_T_INT:
	case CQL_T_SMALLINT:
	case CQL_T_TINYINT:
	case CQL_T_DOUBLE:
	case CQL_T_FLOAT:
	case CQL_T_TIMESTAMP:
	case CQL_T_UUID:
	case CQL_T_TIMEUUID:
	case CQL_T_BOOLEAN:
		return 1;
	default:
		return 0;
	}
}

static int run(struct cass_source *s, const char *q, struct cql_buf *v, int nv, int32_t page,
	       const uint8_t *ps, size_t psl, struct cql_result *res, int *h, const char *what,
	       struct jerr *err)
{
	struct cql_req rq = {.query = q,
			     .values = v,
			     .nvalues = nv,
			     .consistency = s->cl,
			     .page_size = page,
			     .paging_state = ps,
			     .paging_len = psl};
	int r = cql_run(s->sess, &rq, res, h, err);
	if (r != J_OK)
		jerr_prefix(err, "%s: %s", s->name, what);
	return r;
}

/* The table's columns: which fields to select, and its partition key. */
static int read_columns(struct cass_source *s, char *pk, size_t pkcap, struct jerr *err)
{
	struct cql_buf v = {0};
	struct cql_result res;
	int h = -1, r;
	cqlv_text(&v, s->ks, strlen(s->ks));
	cqlv_text(&v, s->table, strlen(s->table));
	r = run(s,
		"SELECT column_name, kind, type FROM system_schema.columns"
		" WHERE keyspace_name = ? AND table_name = ?",
		&v, 2, 0, NULL, 0, &res, &h, "reading the table's columns", err);
	cqlb_release(&v);
	if (r != J_OK)
		return r;
	struct cql_cell c[3];
	int32_t left = res.nrows;
	int k, npk = 0, seen = 0;
	pk[0] = '\0';
	while ((k = cql_row_next(&res, &left, c, 3)) == 1) {
		char col[64];
		if (c[0].len <= 0 || c[0].len >= (int32_t)sizeof(col))
			continue;
		seen++;
		snprintf(col, sizeof(col), "%.*s", (int)c[0].len, (const char *)c[0].p);
		if (c[1].len == 13 && memcmp(c[1].p, "partition_key", 13) == 0) {
			npk++;
			snprintf(pk, pkcap, "%s", col);
		}
		int f = ev_field_lookup(col, strlen(col));
		if (f < 0 || f == EVF_HOUR || f == EVF_DAY_OF_WEEK)
			continue; /* derived from ts again, as for every input */
		s->field[s->ncols++] = f;
	}
	cql_release(s->sess, h);
	if (k < 0) {
		jerr_set(err, "%s: system_schema.columns: a malformed row", s->name);
		return J_ERROR;
	}
	if (!seen) {
		jerr_set(err, "%s: no such table (or it has no columns)", s->name);
		return J_ERROR;
	}
	for (const char *ch = pk; *ch; ch++)
		if (!((*ch >= 'a' && *ch <= 'z') || (*ch >= '0' && *ch <= '9') || *ch == '_')) {
			jerr_set(err,
				 "%s: partition key column '%s': want lowercase letters, digits "
				 "and _",
				 s->name, pk);
			return J_ERROR;
		}
	if (npk != 1) {
		jerr_set(err,
			 "%s: the partition key has %d columns; a token-range scan here wants one "
			 "(the original's event_id)",
			 s->name, npk);
		return J_ERROR;
	}
	return J_OK;
}

enum jrc cass_source_open(const char *url, struct cass_source **out, struct jerr *err)
{
	struct cass_source *s = xcalloc(1, sizeof(*s));
	struct cass_url u;
	char *shown = NULL, pk[64];
	*out = NULL;
	int r = cass_url_parse(url + strlen("cassandra:"), &u, &shown, err);
	if (r != J_OK) {
		s->name = shown;
		goto fail;
	}
	snprintf(s->ks, sizeof(s->ks), "%s", u.ks);
	snprintf(s->table, sizeof(s->table), "%s", u.table[0] ? u.table : "tracking");
	struct strbuf nm = {0};
	strbuf_addf(&nm, "%s.%s", shown, s->table);
	s->name = nm.buf;
	free(shown);
	s->cl = u.cl;
	s->nranges = 64;
	struct cql_opts o;
	cass_url_opts(&u, s->name, &o);
	r = cql_sess_open(&o, &s->sess, err);
	memset(u.password, 0, sizeof(u.password));
	if (r != J_OK || (r = read_columns(s, pk, sizeof(pk), err)) != J_OK)
		goto fail;
	/* the table's types, from a query that reads no row */
	struct strbuf q = {0};
	strbuf_addf(&q, "SELECT token(\"%s\")", pk);
	for (int i = 0; i < s->ncols; i++)
		strbuf_addf(&q, ", \"%s\"", ev_field_name((enum ev_field)s->field[i]));
	strbuf_addf(&q, " FROM \"%s\".\"%s\" WHERE token(\"%s\") > ? AND token(\"%s\") <= ?", s->ks,
		    s->table, pk, pk);
	s->query = q.buf;
	struct cql_buf v = {0};
	struct cql_result res;
	int h = -1;
	cqlv_bigint(&v, 0);
	cqlv_bigint(&v, 0);
	r = run(s, s->query, &v, 2, 1, NULL, 0, &res, &h, "reading the table", err);
	cqlb_release(&v);
	if (r == J_OK) {
		if (res.kind != CQL_RES_ROWS || res.meta.ncols != s->ncols + 1) {
			jerr_set(err, "%s: protocol error: %d columns where %d were asked for",
				 s->name, res.meta.ncols, s->ncols + 1);
			r = J_ERROR;
		}
		for (int i = 0; r == J_OK && i < s->ncols; i++) {
			s->type[i] = res.meta.cols[i + 1].type;
			if (!type_ok(s->type[i])) {
				jerr_set(err,
					 "%s: column %s: its CQL type (0x%04x) is not one a "
					 "tracking field can take",
					 s->name, ev_field_name((enum ev_field)s->field[i]),
					 s->type[i]);
				r = J_ERROR;
			}
		}
		cql_release(s->sess, h);
	}
	if (r != J_OK)
		goto fail;
	*out = s;
	return J_OK;
fail:
	cass_source_close(s);
	return r;
}

void cass_source_close(struct cass_source *s)
{
	if (!s)
		return;
	if (s->sess)
		cql_sess_close(s->sess);
	free(s->query);
	free(s->name);
	free(s);
}

static int64_t be_int(const uint8_t *p, int n)
{
	uint64_t x = (p[0] & 0x80) ? UINT64_MAX : 0;
	for (int i = 0; i < n; i++)
		x = (x << 8) | p[i];
	return (int64_t)x;
}

/*
 * One cell as a field's value: text in buf (or a view of the cell), its kind,
 * and the same value for the reject file's JSON. -1 with why when the cell
 * cannot be a value (a double that is not finite, a cell of the wrong size).
 */
static int cell_value(uint16_t type, struct cql_cell c, char *buf, size_t cap, const char **v,
		      size_t *n, enum ev_kind *kind, json_t **jv, char *why, size_t whylen)
{
	static const int ints[] = {[CQL_T_BIGINT] = 8, [CQL_T_COUNTER] = 8,  [CQL_T_TIMESTAMP] = 8,
				   [CQL_T_INT] = 4,    [CQL_T_SMALLINT] = 2, [CQL_T_TINYINT] = 1};
	*v = buf;
	*kind = EVK_NUMBER;
	if (c.len < 0) {
		*kind = EVK_NULL;
		*n = 0;
		*jv = json_null();
		return 0;
	}
	switch (type) {
	case CQL_T_ASCII:
	case CQL_T_VARCHAR:
		*v = (const char *)c.p;
		*n = (size_t)c.len;
		*kind = EVK_STRING;
		*jv = json_stringn_nocheck((const char *)c.p, (size_t)c.len);
		return 0;
	case CQL_T_UUID:
	case CQL_T_TIMEUUID:
		if (c.len != 16)
			break;
		uuid_to_text(c.p, buf);
		*n = strlen(buf);
		*kind = EVK_STRING;
		*jv = json_string(buf);
		return 0;
	case CQL_T_BOOLEAN:
		if (c.len != 1)
			break;
		*n = (size_t)snprintf(buf, cap, "%s", c.p[0] ? "true" : "false");
		*kind = EVK_BOOL;
		*jv = json_boolean(c.p[0]);
		return 0;
	case CQL_T_DOUBLE:
	case CQL_T_FLOAT: {
		double d;
		if (type == CQL_T_DOUBLE && c.len == 8) {
			uint64_t bits = (uint64_t)be_int(c.p, 8);
			memcpy(&d, &bits, sizeof(d));
		} else if (type == CQL_T_FLOAT && c.len == 4) {
			uint32_t bits = (uint32_t)be_int(c.p, 4);
			float f;
			memcpy(&f, &bits, sizeof(f));
			d = f;
		} else {
			break;
		}
		if (!isfinite(d)) {
			snprintf(why, whylen, "not a finite number (%g)", d);
			*jv = json_null();
			return -1;
		}
		*n = (size_t)snprintf(buf, cap, "%.17g", d);
		*jv = json_real(d);
		return 0;
	}
	default:
		if (type < sizeof(ints) / sizeof(ints[0]) && ints[type] && c.len == ints[type]) {
			int64_t x = be_int(c.p, c.len);
			*n = (size_t)snprintf(buf, cap, "%" PRId64, x);
			*jv = json_integer(x);
			return 0;
		}
		break;
	}
	snprintf(why, whylen, "a cell of %d bytes, which its type does not have", (int)c.len);
	*jv = json_null();
	return -1;
}

/* Token range i of n: (lo, hi], the whole ring (INT64_MIN, INT64_MAX] over all of them. */
static void token_range(int i, int n, int64_t *lo, int64_t *hi)
{
	/* in unsigned arithmetic, offsets from INT64_MIN, so that nothing overflows */
	uint64_t step = UINT64_MAX / (uint64_t)n;
	uint64_t a = (uint64_t)i * step, b = i == n - 1 ? UINT64_MAX : (uint64_t)(i + 1) * step;
	*lo = (int64_t)(a ^ (1ULL << 63));
	*hi = (int64_t)(b ^ (1ULL << 63));
}

enum jrc cass_source_scan(struct cass_source *s, cass_source_fn fn, cass_source_progress pr,
			  void *arg, const volatile sig_atomic_t *stop, struct jerr *err)
{
	struct cql_buf v = {0};
	struct cql_cell cells[EVF__COUNT + 1];
	char bufs[EVF__COUNT][64], why[300], where[128];
	int64_t rows = 0;
	int r = J_OK;
	for (int i = 0; i < s->nranges && r == J_OK; i++) {
		int64_t lo, hi;
		uint8_t *ps = NULL;
		size_t psl = 0;
		token_range(i, s->nranges, &lo, &hi);
		do {
			struct cql_result res;
			int h = -1;
			if (stop && *stop) {
				free(ps);
				return J_OK;
			}
			cqlb_reset(&v);
			cqlv_bigint(&v, lo);
			cqlv_bigint(&v, hi);
			r = run(s, s->query, &v, 2, SOURCE_PAGE, ps, psl, &res, &h,
				"reading a token range", err);
			free(ps);
			ps = NULL;
			if (r != J_OK)
				break;
			int32_t left = res.nrows;
			int k;
			while (r == J_OK &&
			       (k = cql_row_next(&res, &left, cells, s->ncols + 1)) == 1) {
				struct ev_builder b;
				json_t *rec = json_object();
				int bad = 0;
				rows++;
				where[0] = '\0';
				why[0] = '\0';
				ev_builder_begin(&b);
				for (int c = 0; c < s->ncols; c++) {
					const char *name =
					    ev_field_name((enum ev_field)s->field[c]);
					const char *val;
					size_t n;
					enum ev_kind kind;
					json_t *jv;
					char cwhy[128];
					if (cell_value(s->type[c], cells[c + 1], bufs[c],
						       sizeof(bufs[c]), &val, &n, &kind, &jv, cwhy,
						       sizeof(cwhy))) {
						if (!bad)
							snprintf(why, sizeof(why), "%s: %s", name,
								 cwhy);
						bad = 1;
					} else if (!bad && ev_builder_set(&b, s->field[c], val, n,
									  kind, why, sizeof(why))) {
						bad = 1;
					}
					if (s->field[c] == EVF_EVENT_ID && kind == EVK_STRING)
						snprintf(where, sizeof(where), "event_id %.*s",
							 (int)n, val);
					json_object_set_new(rec, name, jv);
				}
				if (!where[0])
					snprintf(where, sizeof(where), "row %" PRId64, rows);
				char *text =
				    json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(17));
				json_decref(rec);
				if (fn(arg, &b, where, text, bad ? why : NULL) != 0) {
					jerr_set(err, "%s: the import stopped", s->name);
					r = J_ERROR; /* the caller's own failure, which it reports
						      */
				}
				free(text);
			}
			if (r == J_OK && k < 0) {
				jerr_set(err, "%s: %s: protocol error: a malformed row", s->name,
					 cql_sess_host(s->sess));
				r = J_ERROR;
			}
			if (r == J_OK && res.meta.paging_state) {
				psl = res.meta.paging_len;
				ps = xmalloc(psl);
				memcpy(ps, res.meta.paging_state, psl);
			}
			cql_release(s->sess, h);
		} while (r == J_OK && ps);
		free(ps);
		if (r == J_OK && pr)
			pr(arg, i + 1, s->nranges, rows);
	}
	cqlb_release(&v);
	return r;
}
