/*
 * exec.c - statements run against the table engine: bound values and literals
 * turned into cells, SELECT (a partition looked up by its whole key, any other
 * condition a filter, ORDER BY, LIMIT, paging), INSERT [IF NOT EXISTS], DELETE
 * of a row, the DDL, and the RESULT bodies they answer with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv.h"

#include "jobads/banned.h"

/* ---------- values ---------- */

/* A term's bytes for a column type; literals are converted into buf. */
static int term_bytes(const struct term *t, uint16_t type, const struct vals *v, uint8_t *buf,
		      const uint8_t **p, int32_t *len, struct err *e)
{
	if (t->bind >= 0) {
		if (t->bind >= v->n)
			return fail(e, CQL_E_INVALID,
				    "There were %d markers(?) in CQL but %d bound variables",
				    t->bind + 1, v->n);
		*p = v->p[t->bind];
		*len = v->len[t->bind];
		if (*len >= 0 &&
		    (((type == CQL_T_INT) && *len != 4) ||
		     ((type == CQL_T_BIGINT || type == CQL_T_TIMESTAMP || type == CQL_T_DOUBLE) &&
		      *len != 8) ||
		     ((type == CQL_T_UUID || type == CQL_T_TIMEUUID) && *len != 16)))
			return fail(e, CQL_E_INVALID, "Expected %d bytes for a %s value, got %d",
				    type == CQL_T_INT				   ? 4
				    : type == CQL_T_UUID || type == CQL_T_TIMEUUID ? 16
										   : 8,
				    type == CQL_T_INT				   ? "int"
				    : type == CQL_T_UUID || type == CQL_T_TIMEUUID ? "uuid"
										   : "64-bit",
				    *len);
		if (type == CQL_T_TIMEUUID && *len == 16 && (v->p[t->bind][6] >> 4) != 1)
			return fail(e, CQL_E_INVALID,
				    "Unsupported UUID for timeuuid column: version %d",
				    v->p[t->bind][6] >> 4);
		return 0;
	}
	const struct tok *k = t->lit;
	char tmp[128];
	if (k->n >= sizeof(tmp) && k->k != K_STR)
		return fail(e, CQL_E_INVALID, "literal too long");
	switch (type) {
	case CQL_T_VARCHAR:
	case CQL_T_ASCII: {
		if (k->k != K_STR)
			return fail(e, CQL_E_INVALID,
				    "Invalid INTEGER constant (%.*s) for a text column", (int)k->n,
				    k->s);
		size_t o = 0;
		for (size_t i = 0; i < k->n && o < 4096; i++) {
			buf[o++] = (uint8_t)k->s[i];
			if (k->s[i] == '\'')
				i++;
		}
		*p = buf;
		*len = (int32_t)o;
		return 0;
	}
	case CQL_T_INT:
	case CQL_T_BIGINT:
	case CQL_T_TIMESTAMP: {
		if (k->k != K_NUM)
			return fail(e, CQL_E_INVALID,
				    "Invalid constant (%.*s) for an integer column", (int)k->n,
				    k->s);
		memcpy(tmp, k->s, k->n);
		tmp[k->n] = '\0';
		char *end;
		long long x = strtoll(tmp, &end, 10);
		if (*end)
			return fail(e, CQL_E_INVALID, "Invalid integer constant %s", tmp);
		int n = type == CQL_T_INT ? 4 : 8;
		for (int i = 0; i < n; i++)
			buf[i] = (uint8_t)((uint64_t)x >> (8 * (n - 1 - i)));
		*p = buf;
		*len = n;
		return 0;
	}
	case CQL_T_DOUBLE: {
		memcpy(tmp, k->s, k->n);
		tmp[k->n] = '\0';
		double d = strtod(tmp, NULL);
		uint64_t u;
		memcpy(&u, &d, 8);
		for (int i = 0; i < 8; i++)
			buf[i] = (uint8_t)(u >> (56 - 8 * i));
		*p = buf;
		*len = 8;
		return 0;
	}
	case CQL_T_BOOLEAN:
		buf[0] = is_kw(k, "true");
		*p = buf;
		*len = 1;
		return 0;
	case CQL_T_UUID:
	case CQL_T_TIMEUUID: {
		/* a uuid literal lexes as one or several tokens: rebuild from the source text */
		if (k->n != 36 || uuid_from_text(k->s, 36, buf) != 0)
			return fail(e, CQL_E_INVALID, "Invalid UUID constant (%.*s)", (int)k->n,
				    k->s);
		*p = buf;
		*len = 16;
		return 0;
	}
	default:
		return fail(e, CQL_E_INVALID, "literals of this type are not supported here");
	}
}

/* ---------- results ---------- */

static void put_type(struct cql_buf *b, const struct col *c)
{
	cqlb_u16(b, c->type);
	if (c->type == CQL_T_SET || c->type == CQL_T_LIST)
		cqlb_u16(b, c->sub1);
	else if (c->type == CQL_T_MAP) {
		cqlb_u16(b, c->sub1);
		cqlb_u16(b, c->sub2);
	}
}

void put_colspecs(struct cql_buf *b, const struct table *t, const int *cols, int n, int flags_extra,
		  int pk_count, const int *pk_idx, int prepared)
{
	cqlb_i32(b, CQL_MF_GLOBAL_SPEC | flags_extra);
	cqlb_i32(b, n);
	if (prepared) {
		cqlb_i32(b, pk_count);
		for (int i = 0; i < pk_count; i++)
			cqlb_u16(b, (uint16_t)pk_idx[i]);
	}
	cqlb_string(b, t->ks, strlen(t->ks));
	cqlb_string(b, t->name, strlen(t->name));
	for (int i = 0; i < n; i++) {
		if (cols[i] == COL_LIMIT) {
			cqlb_string(b, "[limit]", 7);
			cqlb_u16(b, CQL_T_INT);
		} else if (cols[i] == COL_APPLIED) {
			cqlb_string(b, "[applied]", 9);
			cqlb_u16(b, CQL_T_BOOLEAN);
		} else if (cols[i] == COL_COUNT) {
			cqlb_string(b, "count", 5);
			cqlb_u16(b, CQL_T_BIGINT);
		} else if (cols[i] == COL_TIMESTAMP) {
			cqlb_string(b, "[timestamp]", 11);
			cqlb_u16(b, CQL_T_BIGINT);
		} else if (cols[i] == COL_NOW) {
			cqlb_string(b, "system.now()", 12);
			cqlb_u16(b, CQL_T_TIMEUUID);
		} else {
			cqlb_string(b, t->cols[cols[i]].name, strlen(t->cols[cols[i]].name));
			put_type(b, &t->cols[cols[i]]);
		}
	}
}

/* ---------- execution ---------- */

static uint8_t litbuf[MAXTERMS][4200];

/* A statement's write timestamp (USING TIMESTAMP), else now in microseconds, as Cassandra. */
static int stmt_ts(struct stmt *s, const struct vals *v, int64_t *ts, struct err *e)
{
	if (!s->has_ts) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		*ts = (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
		return 0;
	}
	const uint8_t *p;
	int32_t l;
	if (term_bytes(&s->ts, CQL_T_BIGINT, v, litbuf[MAXTERMS - 1], &p, &l, e))
		return -1;
	if (l != 8)
		return fail(e, CQL_E_INVALID, "Invalid value for USING TIMESTAMP");
	*ts = be_int(p, 8);
	return 0;
}

/* Partition key bytes from = conditions, or -1 when the key is not fully given. */
static int where_partition_key(struct stmt *s, const struct vals *v, struct cql_buf *key,
			       struct err *e)
{
	struct table *t = s->t;
	for (int i = 0; i < t->npk; i++) {
		int found = 0;
		for (int c = 0; c < s->nconds; c++)
			if (s->conds[c].col == t->pk[i] && s->conds[c].op == OP_EQ) {
				const uint8_t *p;
				int32_t l;
				if (term_bytes(&s->conds[c].t, t->cols[t->pk[i]].type, v, litbuf[c],
					       &p, &l, e))
					return -2;
				cqlb_bytes(key, p, l);
				found = 1;
				break;
			}
		if (!found)
			return -1;
	}
	return 0;
}

static int row_matches(struct stmt *s, const uint8_t *row, const uint8_t **cp, const int32_t *cl)
{
	for (int c = 0; c < s->nconds; c++) {
		int32_t l;
		const uint8_t *x = cell_at(row, s->conds[c].col, &l);
		int r = cmp_val(s->t->cols[s->conds[c].col].type, x, l, cp[c], cl[c]);
		switch (s->conds[c].op) {
		case OP_EQ:
			if (r != 0)
				return 0;
			break;
		case OP_LT:
			if (r >= 0)
				return 0;
			break;
		case OP_LE:
			if (r > 0)
				return 0;
			break;
		case OP_GT:
			if (r <= 0)
				return 0;
			break;
		case OP_GE:
			if (r < 0)
				return 0;
			break;
		}
	}
	return 1;
}

static void put_row(struct cql_buf *b, struct stmt *s, const uint8_t *row)
{
	if (s->star) {
		cqlb_raw(b, row, row_size(row, s->t->ncols));
		return;
	}
	for (int i = 0; i < s->nproj; i++) {
		int32_t l;
		if (s->proj[i] == COL_NOW) {
			struct timespec t;
			clock_gettime(CLOCK_REALTIME, &t);
			uint64_t ticks = (uint64_t)t.tv_sec * 10000000ULL +
					 (uint64_t)t.tv_nsec / 100 + CQL_TICKS_UNIX_OFFSET;
			uint8_t id[16], node[8] = {0x80, 0, 0x01, 0, 0, 0, 0, 0};
			cql_timeuuid_make(id, ticks, node);
			cqlb_bytes(b, id, 16);
			continue;
		}
		const uint8_t *x = cell_at(row, s->proj[i], &l);
		cqlb_bytes(b, x, l);
	}
}

/* Paging state: [u32 partition index][the last row's clustering key cells]. */
static int exec_select(struct stmt *s, const struct vals *v, int32_t page_size,
		       const uint8_t *pstate, size_t plen, int skip_meta, struct cql_buf *out,
		       struct err *e)
{
	struct table *t = s->t;
	const uint8_t *cp[MAXCONDS];
	int32_t cl[MAXCONDS];
	for (int c = 0; c < s->nconds; c++)
		if (term_bytes(&s->conds[c].t, t->cols[s->conds[c].col].type, v, litbuf[c], &cp[c],
			       &cl[c], e))
			return -1;
	int64_t limit = INT64_MAX;
	if (s->has_limit) {
		const uint8_t *p;
		int32_t l;
		if (term_bytes(&s->limit, CQL_T_INT, v, litbuf[MAXCONDS], &p, &l, e))
			return -1;
		limit = be_int(p, 4);
		if (limit <= 0)
			return fail(e, CQL_E_INVALID, "LIMIT must be strictly positive");
	}
	struct cql_buf key = {0};
	int single = where_partition_key(s, v, &key, e);
	if (single == -2) {
		cqlb_release(&key);
		return -1;
	}
	size_t pfirst = 0, plast = t->nparts, pidx;
	if (single == 0) {
		struct part *p = find_part(t, key.p, key.len, 0, &pidx);
		if (p) {
			pfirst = pidx;
			plast = pidx + 1;
		} else {
			plast = 0;
		}
	}
	cqlb_release(&key);
	/* resume */
	const uint8_t *kp[8];
	int32_t kl[8];
	int resume = 0;
	if (pstate && plen >= 4) {
		struct cql_rd r;
		cqlr_init(&r, pstate, plen);
		size_t at = (size_t)(uint32_t)cqlr_i32(&r);
		for (int i = 0; i < t->nck; i++)
			kp[i] = cqlr_bytes(&r, &kl[i]);
		if (r.bad || at < pfirst || at >= plast + (plast == 0))
			return fail(e, CQL_E_PROTOCOL, "Invalid value for the paging state");
		pfirst = at;
		resume = 1;
	}
	int cols[MAXCOLS + 1], ncols;
	if (s->count) {
		cols[0] = COL_COUNT;
		ncols = 1;
	} else if (s->star) {
		ncols = t->ncols;
		for (int i = 0; i < ncols; i++)
			cols[i] = i;
	} else {
		ncols = s->nproj;
		memcpy(cols, s->proj, sizeof(int) * (size_t)ncols);
	}
	size_t meta_at = out->len;
	cqlb_i32(out, CQL_RES_ROWS);
	size_t flags_at = out->len;
	struct cql_buf rows = {0};
	int32_t nrows = 0;
	int64_t count = 0;
	int more = 0;
	size_t last_part = 0;
	const uint8_t *last_row = NULL;
	for (size_t pi = pfirst; pi < plast && !more; pi++) {
		struct part *p = t->parts[pi];
		size_t n = p->n;
		if (!s->desc) {
			size_t i = resume && pi == pfirst ? lower_bound(t, p, kp, kl, 1) : 0;
			for (; i < n; i++) {
				if (!row_matches(s, p->rows[i], cp, cl))
					continue;
				if (s->count) {
					count++;
					continue;
				}
				if ((int64_t)nrows >= limit)
					break;
				if (page_size > 0 && nrows == page_size) {
					more = 1;
					break;
				}
				put_row(&rows, s, p->rows[i]);
				nrows++;
				last_part = pi;
				last_row = p->rows[i];
			}
		} else {
			size_t i = resume && pi == pfirst ? lower_bound(t, p, kp, kl, 0) : n;
			while (i-- > 0) {
				if (!row_matches(s, p->rows[i], cp, cl))
					continue;
				if ((int64_t)nrows >= limit)
					break;
				if (page_size > 0 && nrows == page_size) {
					more = 1;
					break;
				}
				put_row(&rows, s, p->rows[i]);
				nrows++;
				last_part = pi;
				last_row = p->rows[i];
			}
		}
		if ((int64_t)nrows >= limit)
			break;
	}
	/*
	 * Like Cassandra, a page that comes out exactly full says there may be more
	 * without looking: the client then gets an empty last page.
	 */
	if (!more && page_size > 0 && nrows == page_size && (int64_t)nrows < limit)
		more = 1;
	out->len = flags_at;
	int flags = (more ? CQL_MF_MORE_PAGES : 0) | (skip_meta ? CQL_MF_NO_METADATA : 0);
	if (skip_meta) {
		cqlb_i32(out, flags);
		cqlb_i32(out, ncols);
	}
	struct cql_buf ps = {0};
	if (more) {
		cqlb_i32(&ps, (int32_t)last_part);
		for (int i = 0; i < t->nck; i++) {
			int32_t l;
			const uint8_t *x = cell_at(last_row, t->ck[i], &l);
			cqlb_bytes(&ps, x, l);
		}
	}
	if (!skip_meta) {
		/* flags, count, [paging state], global spec, col specs */
		cqlb_i32(out, CQL_MF_GLOBAL_SPEC | flags);
		cqlb_i32(out, ncols);
		if (more)
			cqlb_bytes(out, ps.p, (int32_t)ps.len);
		cqlb_string(out, t->ks, strlen(t->ks));
		cqlb_string(out, t->name, strlen(t->name));
		for (int i = 0; i < ncols; i++) {
			if (cols[i] == COL_COUNT) {
				cqlb_string(out, "count", 5);
				cqlb_u16(out, CQL_T_BIGINT);
			} else if (cols[i] == COL_NOW) {
				cqlb_string(out, "system.now()", 12);
				cqlb_u16(out, CQL_T_TIMEUUID);
			} else {
				cqlb_string(out, t->cols[cols[i]].name,
					    strlen(t->cols[cols[i]].name));
				put_type(out, &t->cols[cols[i]]);
			}
		}
	} else if (more) {
		cqlb_bytes(out, ps.p, (int32_t)ps.len);
	}
	cqlb_release(&ps);
	if (s->count) {
		cqlb_i32(out, 1);
		cqlv_bigint(out, count);
	} else {
		cqlb_i32(out, nrows);
		cqlb_raw(out, rows.p, rows.len);
	}
	cqlb_release(&rows);
	(void)meta_at;
	return 0;
}

int exec_insert(struct stmt *s, const struct vals *v, struct cql_buf *out, struct err *e)
{
	struct table *t = s->t;
	const uint8_t *cp[MAXCOLS];
	int32_t cl[MAXCOLS];
	for (int i = 0; i < t->ncols; i++)
		cl[i] = -1;
	for (int i = 0; i < s->nins; i++) {
		int c = s->ins[i];
		if (term_bytes(&s->vals[i], t->cols[c].type, v, litbuf[i], &cp[c], &cl[c], e))
			return -1;
		if (cl[c] == -2) /* unset: leave the cell as it is */
			cl[c] = -3;
	}
	struct cql_buf key = {0};
	for (int i = 0; i < t->npk; i++) {
		if (cl[t->pk[i]] < 0) {
			cqlb_release(&key);
			return fail(e, CQL_E_INVALID,
				    "Invalid null value in condition for column %s",
				    t->cols[t->pk[i]].name);
		}
		cqlb_bytes(&key, cp[t->pk[i]], cl[t->pk[i]]);
	}
	for (int i = 0; i < t->nck; i++)
		if (cl[t->ck[i]] < 0) {
			cqlb_release(&key);
			return fail(e, CQL_E_INVALID, "Some clustering keys are missing: %s",
				    t->cols[t->ck[i]].name);
		}
	int64_t ts;
	if (stmt_ts(s, v, &ts, e)) {
		cqlb_release(&key);
		return -1;
	}
	struct part *p = find_part(t, key.p, key.len, 1, NULL);
	cqlb_release(&key);
	const uint8_t *kp[8];
	int32_t kl[8];
	struct cql_buf ckb = {0};
	for (int i = 0; i < t->nck; i++) {
		kp[i] = cp[t->ck[i]];
		kl[i] = cl[t->ck[i]];
		cqlb_bytes(&ckb, kp[i], kl[i]);
	}
	int shadowed = p->ntombs && tomb_shadows(p, ckb.p, ckb.len, ts);
	cqlb_release(&ckb);
	if (shadowed && !s->if_exists) { /* a write older than the row's deletion */
		cqlb_i32(out, CQL_RES_VOID);
		return 0;
	}
	size_t at = p->n;
	int exists = 0;
	if (p->n > 0 && (t->nck == 0 || ck_cmp(t, p->rows[p->n - 1], kp, kl) >= 0)) {
		at = t->nck == 0 ? 0 : lower_bound(t, p, kp, kl, 0);
		exists = at < p->n && (t->nck == 0 || ck_cmp(t, p->rows[at], kp, kl) == 0);
	}
	if (s->if_exists && exists) {
		cqlb_i32(out, CQL_RES_ROWS);
		int cols[MAXCOLS + 1];
		cols[0] = COL_APPLIED;
		for (int i = 0; i < t->ncols; i++)
			cols[i + 1] = i;
		put_colspecs(out, t, cols, t->ncols + 1, 0, 0, NULL, 0);
		cqlb_i32(out, 1);
		cqlv_boolean(out, 0);
		cqlb_raw(out, p->rows[at], row_size(p->rows[at], t->ncols));
		return 0;
	}
	struct cql_buf row = {0};
	for (int i = 0; i < t->ncols; i++) {
		if (cl[i] == -3 && exists) {
			int32_t l;
			const uint8_t *x = cell_at(p->rows[at], i, &l);
			cqlb_bytes(&row, x, l);
		} else if (cl[i] < 0 && exists && !s->if_exists) {
			/* a column the INSERT does not name keeps its value */
			int named = 0;
			for (int k = 0; k < s->nins; k++)
				named |= s->ins[k] == i;
			int32_t l;
			const uint8_t *x = cell_at(p->rows[at], i, &l);
			if (named)
				cqlb_i32(&row, -1);
			else
				cqlb_bytes(&row, x, l);
		} else {
			cqlb_bytes(&row, cp[i], cl[i] < 0 ? -1 : cl[i]);
		}
	}
	if (exists) {
		free(p->rows[at]);
		p->rows[at] = row.p;
	} else {
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 8;
			p->rows = xrealloc(p->rows, p->cap * sizeof(*p->rows));
		}
		memmove(p->rows + at + 1, p->rows + at, (p->n - at) * sizeof(*p->rows));
		p->rows[at] = row.p;
		p->n++;
	}
	if (s->if_exists) {
		cqlb_i32(out, CQL_RES_ROWS);
		int cols[1] = {COL_APPLIED};
		put_colspecs(out, t, cols, 1, 0, 0, NULL, 0);
		cqlb_i32(out, 1);
		cqlv_boolean(out, 1);
	} else {
		cqlb_i32(out, CQL_RES_VOID);
	}
	return 0;
}

static void put_schema_change(struct cql_buf *out, const char *change, const char *target,
			      const char *ks, const char *name)
{
	cqlb_i32(out, CQL_RES_SCHEMA_CHANGE);
	cqlb_string(out, change, strlen(change));
	cqlb_string(out, target, strlen(target));
	cqlb_string(out, ks, strlen(ks));
	if (name)
		cqlb_string(out, name, strlen(name));
}

static int exec_delete(struct stmt *s, const struct vals *v, struct cql_buf *out, struct err *e)
{
	struct table *t = s->t;
	struct cql_buf key = {0};
	int k = where_partition_key(s, v, &key, e);
	if (k != 0) {
		cqlb_release(&key);
		return k == -2 ? -1
			       : fail(e, CQL_E_INVALID, "Some partition key parts are missing: %s",
				      t->cols[t->pk[0]].name);
	}
	for (int i = 0; i < t->nck; i++) {
		int found = 0;
		for (int c = 0; c < s->nconds; c++)
			found |= s->conds[c].col == t->ck[i] && s->conds[c].op == OP_EQ;
		if (!found) {
			cqlb_release(&key);
			return fail(e, CQL_E_INVALID, "Some clustering keys are missing: %s",
				    t->cols[t->ck[i]].name);
		}
	}
	const uint8_t *cp[MAXCONDS];
	int32_t cl[MAXCONDS];
	for (int c = 0; c < s->nconds; c++)
		if (term_bytes(&s->conds[c].t, t->cols[s->conds[c].col].type, v, litbuf[c], &cp[c],
			       &cl[c], e)) {
			cqlb_release(&key);
			return -1;
		}
	int64_t ts;
	if (stmt_ts(s, v, &ts, e)) {
		cqlb_release(&key);
		return -1;
	}
	struct part *p = find_part(t, key.p, key.len, 1, NULL);
	cqlb_release(&key);
	if (p) {
		struct cql_buf ckb = {0};
		for (int i = 0; i < t->nck; i++)
			for (int c = 0; c < s->nconds; c++)
				if (s->conds[c].col == t->ck[i] && s->conds[c].op == OP_EQ) {
					cqlb_bytes(&ckb, cp[c], cl[c]);
					break;
				}
		p->tombs = xrealloc(p->tombs, (p->ntombs + 1) * sizeof(*p->tombs));
		p->tombs[p->ntombs].ck = ckb.p;
		p->tombs[p->ntombs].n = ckb.len;
		p->tombs[p->ntombs++].ts = ts;
		size_t j = 0;
		for (size_t i = 0; i < p->n; i++) {
			if (row_matches(s, p->rows[i], cp, cl))
				free(p->rows[i]);
			else
				p->rows[j++] = p->rows[i];
		}
		p->n = j;
	}
	cqlb_i32(out, CQL_RES_VOID);
	return 0;
}

int exec_stmt(struct stmt *s, const struct vals *v, int32_t page_size, const uint8_t *ps,
	      size_t psl, int skip_meta, char *cur_ks, struct cql_buf *out, struct err *e)
{
	switch (s->type) {
	case S_SELECT:
		return exec_select(s, v, page_size, ps, psl, skip_meta, out, e);
	case S_INSERT:
		return exec_insert(s, v, out, e);
	case S_DELETE:
		return exec_delete(s, v, out, e);
	case S_USE:
		if (!ks_exists(s->ks))
			return fail(e, CQL_E_INVALID, "Keyspace '%s' does not exist", s->ks);
		snprintf(cur_ks, NAMELEN, "%s", s->ks);
		cqlb_i32(out, CQL_RES_SET_KEYSPACE);
		cqlb_string(out, s->ks, strlen(s->ks));
		return 0;
	case S_CREATE_KS:
		if (ks_exists(s->ks)) {
			if (s->if_exists) {
				cqlb_i32(out, CQL_RES_VOID);
				return 0;
			}
			snprintf(e->ks, NAMELEN, "%s", s->ks);
			return fail(e, CQL_E_ALREADY_EXISTS, "Cannot add existing keyspace \"%s\"",
				    s->ks);
		}
		if (nkeyspaces >= 256)
			return fail(e, CQL_E_INVALID, "too many keyspaces");
		snprintf(keyspaces[nkeyspaces++], NAMELEN, "%s", s->ks);
		put_schema_change(out, "CREATED", "KEYSPACE", s->ks, NULL);
		return 0;
	case S_CREATE_TABLE:
		if (!ks_exists(s->ks))
			return fail(e, CQL_E_INVALID, "Keyspace %s doesn't exist", s->ks);
		if (find_table(s->ks, s->name)) {
			if (s->if_exists) {
				cqlb_i32(out, CQL_RES_VOID);
				return 0;
			}
			snprintf(e->ks, NAMELEN, "%s", s->ks);
			snprintf(e->tbl, NAMELEN, "%s", s->name);
			return fail(e, CQL_E_ALREADY_EXISTS, "Object %s.%s already exists", s->ks,
				    s->name);
		}
		add_table(s->newt);
		s->newt = NULL;
		put_schema_change(out, "CREATED", "TABLE", s->ks, s->name);
		return 0;
	case S_DROP_TABLE:
	case S_DROP_KS: {
		int found = 0;
		for (size_t i = 0; i < ntables; i++)
			if (!tables[i]->dropped && strcmp(tables[i]->ks, s->ks) == 0 &&
			    (s->type == S_DROP_KS || strcmp(tables[i]->name, s->name) == 0)) {
				tables[i]->dropped = 1;
				clear_table(tables[i]);
				found = 1;
			}
		if (s->type == S_DROP_KS) {
			found = 0;
			for (int i = 0; i < nkeyspaces; i++)
				if (strcmp(keyspaces[i], s->ks) == 0) {
					memmove(keyspaces[i], keyspaces[nkeyspaces - 1], NAMELEN);
					nkeyspaces--;
					found = 1;
					break;
				}
		}
		if (!found && !s->if_exists)
			return fail(e, CQL_E_INVALID, "%s '%s' doesn't exist",
				    s->type == S_DROP_KS ? "Keyspace" : "Table",
				    s->type == S_DROP_KS ? s->ks : s->name);
		forget_prepared(); /* as Cassandra invalidates statements on dropped tables */
		if (found)
			put_schema_change(out, "DROPPED",
					  s->type == S_DROP_KS ? "KEYSPACE" : "TABLE", s->ks,
					  s->type == S_DROP_KS ? NULL : s->name);
		else
			cqlb_i32(out, CQL_RES_VOID);
		return 0;
	}
	case S_TRUNCATE:
		clear_table(s->t);
		cqlb_i32(out, CQL_RES_VOID);
		return 0;
	}
	return fail(e, CQL_E_SERVER, "unknown statement");
}
