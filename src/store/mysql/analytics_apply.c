/*
 * mysql/analytics_apply.c - the analytics store's apply (analytics.c's header):
 * one transaction that moves the cursor with a compare-and-set, adds the
 * deltas with multi-row INSERT ... ON DUPLICATE KEY UPDATE statements (or, on
 * MariaDB, one statement over arrays of groups), upserts publishers and
 * commits; on a fact that would pass BIGINT it names the grain.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"

#include <mysqld_error.h>

#include "jobads/banned.h"

#define SQL_UPSERT_HEAD "INSERT INTO fact_hourly (" FACT_COLS ") VALUES "
#define SQL_UPSERT_ROW	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define SQL_UPSERT_TAIL                                                                            \
	" ON DUPLICATE KEY UPDATE records = records + VALUES(records),"                            \
	" impressions = impressions + VALUES(impressions), clicks = clicks + VALUES(clicks),"      \
	" applies = applies + VALUES(applies), cost_micros = cost_micros + VALUES(cost_micros),"   \
	" quality_sum = quality_sum + VALUES(quality_sum), ctr_sum = ctr_sum + VALUES(ctr_sum),"   \
	" cpc_sum = cpc_sum + VALUES(cpc_sum), cpa_sum = cpa_sum + VALUES(cpa_sum),"               \
	" roi_sum = roi_sum + VALUES(roi_sum)"

/*
 * Assignments run left to right and see the columns already assigned, so
 * last_seq is moved last: every other column compares against the old one.
 */
/* dim_publisher rows go in blocks of 2^k like the upserts: one round trip per
 * publisher took 1.1 s of a 1.5 s run for 40,000 publishers in one chunk */
#define SQL_PUBLISHER_HEAD                                                                         \
	"INSERT INTO dim_publisher (publisher_id, publisher_name, publisher_traffic,"              \
	" publisher_quality, last_seq) VALUES "
#define SQL_PUBLISHER_ROW "(?, ?, ?, ?, ?)"
#define SQL_PUBLISHER_TAIL                                                                         \
	" ON DUPLICATE KEY UPDATE"                                                                 \
	" publisher_name = IF(VALUES(last_seq) > last_seq, VALUES(publisher_name),"                \
	" publisher_name),"                                                                        \
	" publisher_traffic = IF(VALUES(last_seq) > last_seq,"                                     \
	" COALESCE(VALUES(publisher_traffic), publisher_traffic), publisher_traffic),"             \
	" publisher_quality = IF(VALUES(last_seq) > last_seq,"                                     \
	" COALESCE(VALUES(publisher_quality), publisher_quality), publisher_quality),"             \
	" last_seq = GREATEST(last_seq, VALUES(last_seq))"

#define SQL_SETCUR                                                                                 \
	"UPDATE etl_state SET `cursor` = ?, updated_at = UTC_TIMESTAMP(3)"                         \
	" WHERE id = 1 AND `cursor` = ?"

/* The upsert statement for 2^level rows, prepared on first use. */
static int upsert_stmt(struct an_mysql *a, int level, MYSQL_STMT **out, struct jerr *err)
{
	if (!a->ups[level]) {
		int r = my_prepare_rows(a->db, SQL_UPSERT_HEAD, SQL_UPSERT_ROW, 1u << level,
					SQL_UPSERT_TAIL, &a->ups[level], a->base.name, err);
		if (r != J_OK)
			return r;
	}
	*out = a->ups[level];
	return J_OK;
}

static void bind_interned(MYSQL_BIND *b, const struct agg *ag, uint32_t id, unsigned long *len)
{
	static my_bool is_null = 1;
	size_t n = 0;
	if (id == AGG_NONE) {
		*len = 0;
		my_bind_str(b, NULL, len, &is_null);
		return;
	}
	const char *p = agg_str(ag, id, &n);
	*len = (unsigned long)n;
	my_bind_str(b, p, len, NULL);
}

/* Add groups [from, from + 2^level) of ag in one statement. */
static int upsert_block(struct an_mysql *a, const struct agg *ag, uint32_t from, int level,
			struct jerr *err)
{
	MYSQL_STMT *st;
	unsigned rows = 1u << level;
	int r = upsert_stmt(a, level, &st, err);
	if (r != J_OK)
		return r;
	memset(a->pb, 0, sizeof(*a->pb) * rows * UPS_COLS);
	for (unsigned i = 0; i < rows; i++) {
		/* the client only reads parameter buffers: bind the groups in place */
		struct agg_group *g = (struct agg_group *)&ag->groups[from + i];
		MYSQL_BIND *b = a->pb + (size_t)i * UPS_COLS;
		unsigned long *len = a->plen + (size_t)i * 3;
		my_bind_i64(&b[0], &g->key.hour_start);
		my_bind_int(&b[1], &g->key.campaign_id);
		my_bind_int(&b[2], &g->key.publisher_id);
		bind_interned(&b[3], ag, g->key.industry, &len[0]);
		bind_interned(&b[4], ag, g->key.location, &len[1]);
		bind_interned(&b[5], ag, g->key.device, &len[2]);
		/* the sums are 128-bit: bind int64 copies (apply checked that they fit) */
		int64_t *v = a->pv + (size_t)i * 6;
		v[0] = (int64_t)g->val.records;
		v[1] = (int64_t)g->val.impressions;
		v[2] = (int64_t)g->val.clicks;
		v[3] = (int64_t)g->val.applies;
		v[4] = (int64_t)g->val.cost_micros;
		v[5] = (int64_t)g->val.quality_sum;
		for (int k = 0; k < 6; k++)
			my_bind_i64(&b[6 + k], &v[k]);
		my_bind_dbl(&b[12], &g->val.ctr_sum);
		my_bind_dbl(&b[13], &g->val.cpc_sum);
		my_bind_dbl(&b[14], &g->val.cpa_sum);
		my_bind_dbl(&b[15], &g->val.roi_sum);
	}
	r = run(a, st, a->pb, "adding deltas to fact_hourly", err);
	a->up_errno = r == J_OK ? 0 : mysql_stmt_errno(st);
	return r;
}

/* Write publishers [from, from + 2^level) of ag to dim_publisher in one statement. */
static int publisher_block(struct an_mysql *a, const struct agg *ag, uint32_t from, int level,
			   struct jerr *err)
{
	unsigned rows = 1u << level;
	if (!a->pubs[level]) {
		struct strbuf sb = {0};
		strbuf_addf(&sb, "%s", SQL_PUBLISHER_HEAD);
		for (unsigned i = 0; i < rows; i++)
			strbuf_addf(&sb, "%s%s", i ? "," : "", SQL_PUBLISHER_ROW);
		strbuf_addf(&sb, "%s", SQL_PUBLISHER_TAIL);
		int r = my_prepare(a->db, sb.buf, &a->pubs[level], a->base.name, err);
		strbuf_release(&sb);
		if (r != J_OK)
			return r;
	}
	/* a->pb and a->plen are sized for UPS_COLS binds a row: five fit */
	memset(a->pb, 0, sizeof(*a->pb) * rows * 5);
	for (unsigned i = 0; i < rows; i++) {
		struct agg_publisher *pu = (struct agg_publisher *)&ag->pubs[from + i];
		MYSQL_BIND *b = a->pb + (size_t)i * 5;
		unsigned long *len = a->plen + (size_t)i * 3;
		my_bind_int(&b[0], &pu->publisher_id);
		bind_interned(&b[1], ag, pu->name, &len[0]);
		bind_interned(&b[2], ag, pu->traffic, &len[1]);
		bind_interned(&b[3], ag, pu->quality, &len[2]);
		my_bind_i64(&b[4], &pu->last_seq);
	}
	return run(a, a->pubs[level], a->pb, "updating dim_publisher", err);
}

/* Add groups [from, from + n) of ag in one array-bound execution (n <= BULK_MAX_ROWS). */
static int upsert_bulk(struct an_mysql *a, const struct agg *ag, uint32_t from, unsigned n,
		       struct jerr *err)
{
	struct bulk_cols *c = a->bc;
	MYSQL_BIND b[UPS_COLS];
	int r;
	if (!a->ups1) {
		static const char sql[] = SQL_UPSERT_HEAD SQL_UPSERT_ROW SQL_UPSERT_TAIL;
		if ((r = my_prepare(a->db, sql, &a->ups1, a->base.name, err)) != J_OK)
			return r;
	}
	if (!c)
		c = a->bc = xcalloc(1, sizeof(*c));
	for (unsigned i = 0; i < n; i++) {
		const struct agg_group *g = &ag->groups[from + i];
		const uint32_t ids[3] = {g->key.industry, g->key.location, g->key.device};
		c->i64[0][i] = g->key.hour_start;
		c->i32[0][i] = g->key.campaign_id;
		c->i32[1][i] = g->key.publisher_id;
		for (int k = 0; k < 3; k++) {
			size_t len = 0;
			c->ind[k][i] =
			    ids[k] == AGG_NONE ? STMT_INDICATOR_NULL : STMT_INDICATOR_NONE;
			c->str[k][i] = ids[k] == AGG_NONE ? "" : agg_str(ag, ids[k], &len);
			c->len[k][i] = (unsigned long)len;
		}
		c->i64[1][i] = (int64_t)g->val.records;
		c->i64[2][i] = (int64_t)g->val.impressions;
		c->i64[3][i] = (int64_t)g->val.clicks;
		c->i64[4][i] = (int64_t)g->val.applies;
		c->i64[5][i] = (int64_t)g->val.cost_micros;
		c->i64[6][i] = (int64_t)g->val.quality_sum;
		c->dbl[0][i] = g->val.ctr_sum;
		c->dbl[1][i] = g->val.cpc_sum;
		c->dbl[2][i] = g->val.cpa_sum;
		c->dbl[3][i] = g->val.roi_sum;
	}
	memset(b, 0, sizeof(b));
	my_bind_i64(&b[0], c->i64[0]);
	my_bind_int(&b[1], c->i32[0]);
	my_bind_int(&b[2], c->i32[1]);
	for (int k = 0; k < 3; k++) {
		/* column-wise strings: an array of pointers, one of lengths */
		b[3 + k].buffer_type = MYSQL_TYPE_STRING;
		b[3 + k].buffer = (void *)c->str[k];
		b[3 + k].length = c->len[k];
		b[3 + k].u.indicator = c->ind[k];
	}
	for (int k = 0; k < 6; k++)
		my_bind_i64(&b[6 + k], c->i64[1 + k]);
	for (int k = 0; k < 4; k++)
		my_bind_dbl(&b[12 + k], c->dbl[k]);
	unsigned int rows = n;
	if (mysql_stmt_attr_set(a->ups1, STMT_ATTR_ARRAY_SIZE, &rows) != 0)
		return my_stmt_fail(a->ups1, a->base.name, "adding deltas to fact_hourly", err);
	r = run(a, a->ups1, b, "adding deltas to fact_hourly", err);
	a->up_errno = r == J_OK ? 0 : mysql_stmt_errno(a->ups1);
	return r;
}

/*
 * After an upsert failed with ER_DATA_OUT_OF_RANGE: find the grain whose stored
 * measure plus this chunk's delta passes INT64_MAX. Only rows within the largest
 * delta of the limit can, so one scan with those thresholds finds them; this runs
 * on that error only.
 */
struct over_ctx {
	const struct agg *ag;
	const char *name;
	int64_t cursor;
	int found;
	struct jerr *err;
};

static int same_text(const struct agg *ag, uint32_t id, struct ev_str v)
{
	size_t n;
	const char *p = agg_str(ag, id, &n);
	return n == v.n && memcmp(p, v.s, n) == 0;
}

static int over_row(void *arg, const struct fact_row *fr)
{
	static const char *const names[6] = {"records", "impressions", "clicks",
					     "applies", "cost_micros", "quality_sum"};
	struct over_ctx *o = arg;
	for (uint32_t i = 0; i < o->ag->ngroups; i++) {
		const struct agg_group *g = &o->ag->groups[i];
		if (g->key.hour_start != fr->hour_start || g->key.campaign_id != fr->campaign_id ||
		    g->key.publisher_id != fr->publisher_id ||
		    !same_text(o->ag, g->key.industry, fr->industry) ||
		    !same_text(o->ag, g->key.location, fr->location) ||
		    !same_text(o->ag, g->key.device, fr->device))
			continue;
		const kpi_int have[6] = {fr->m.records, fr->m.impressions, fr->m.clicks,
					 fr->m.applies, fr->m.cost_micros, fr->m.quality_sum};
		const kpi_int add[6] = {g->val.records, g->val.impressions, g->val.clicks,
					g->val.applies, g->val.cost_micros, g->val.quality_sum};
		for (int k = 0; k < 6; k++)
			if (!kpi_int_fits64(have[k] + add[k])) {
				store_fact_refuse(o->name, o->ag, g, names[k], o->cursor, o->err);
				o->found = 1;
				return 1;
			}
	}
	return 0;
}

static int find_over(struct an_mysql *a, const struct agg *ag, int64_t cursor, int r,
		     struct jerr *err)
{
	static const char sql[] = "SELECT " FACT_COLS " FROM fact_hourly WHERE records > ? OR"
				  " impressions > ? OR clicks > ? OR applies > ? OR"
				  " cost_micros > ? OR quality_sum > ?";
	int64_t th[6] = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
	MYSQL_BIND p[6];
	MYSQL_STMT *st;
	struct jerr e2;
	struct over_ctx o = {ag, a->base.name, cursor, 0, err};
	for (uint32_t i = 0; i < ag->ngroups; i++) {
		const struct kpi_sums *v = &ag->groups[i].val;
		const kpi_int d[6] = {v->records, v->impressions, v->clicks,
				      v->applies, v->cost_micros, v->quality_sum};
		for (int k = 0; k < 6; k++)
			if (INT64_MAX - d[k] < th[k])
				th[k] = (int64_t)(INT64_MAX - d[k]);
	}
	memset(p, 0, sizeof(p));
	for (int k = 0; k < 6; k++)
		my_bind_i64(&p[k], &th[k]);
	if (my_prepare(a->db, sql, &st, a->base.name, &e2) != J_OK)
		return r;
	fact_rows(a, st, p, over_row, &o, "finding the fact row past int64", &e2);
	mysql_stmt_close(st);
	return o.found ? J_ERROR : r;
}

static int apply_locked(struct an_mysql *a, const struct agg *ag, int64_t from, int64_t to,
			struct jerr *err)
{
	const char *name = a->base.name;
	MYSQL_BIND p[2];
	int r;

	if (!a->setcur && (r = my_prepare(a->db, SQL_SETCUR, &a->setcur, name, err)))
		return r;
	if (!a->pb) {
		a->pb = xcalloc((size_t)UPS_MAX_ROWS * UPS_COLS, sizeof(*a->pb));
		a->plen = xcalloc((size_t)UPS_MAX_ROWS * 3, sizeof(*a->plen));
		a->pv = xcalloc((size_t)UPS_MAX_ROWS * 6, sizeof(*a->pv));
	}
	for (uint32_t i = 0; i < ag->ngroups; i++) {
		const char *over = store_fact_over(&ag->groups[i].val);
		if (over)
			return store_fact_refuse(name, ag, &ag->groups[i], over, from, err);
	}
	r = my_exec(a->db, "START TRANSACTION", name, "starting a transaction", err);
	if (r != J_OK)
		return r;
	/*
	 * The cursor first: the compare-and-set locks etl_state's row, so a second
	 * run waits here and then finds the cursor moved, before touching a fact.
	 */
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &to);
	my_bind_i64(&p[1], &from);
	if ((r = run(a, a->setcur, p, "moving the cursor", err)) != J_OK)
		goto rollback;
	if (mysql_stmt_affected_rows(a->setcur) != 1) {
		jerr_set(err,
			 "%s: the cursor is no longer at %lld: another ETL run moved it; nothing "
			 "applied",
			 name, (long long)from);
		r = J_ERROR;
		goto rollback;
	}
	if (a->bulk) {
		for (uint32_t i = 0; i < ag->ngroups; i += BULK_MAX_ROWS) {
			uint32_t n =
			    ag->ngroups - i < BULK_MAX_ROWS ? ag->ngroups - i : BULK_MAX_ROWS;
			if ((r = upsert_bulk(a, ag, i, n, err)) != J_OK)
				goto rollback_facts;
		}
	} else {
		/* blocks of 512, 256, ... 1 rows: few statements, each prepared once */
		uint32_t i = 0;
		for (int level = UPS_LEVELS - 1; level >= 0; level--) {
			uint32_t rows = 1u << level;
			while (ag->ngroups - i >= rows) {
				if ((r = upsert_block(a, ag, i, level, err)) != J_OK)
					goto rollback_facts;
				i += rows;
			}
		}
	}
	for (uint32_t i = 0, level = UPS_LEVELS; level-- > 0;)
		for (uint32_t rows = 1u << level; ag->npubs - i >= rows; i += rows)
			if ((r = publisher_block(a, ag, i, (int)level, err)) != J_OK)
				goto rollback;
	if (mysql_commit(a->db) != 0) {
		r = my_fail(a->db, name, "committing the deltas and the cursor", err);
		goto rollback;
	}
	return J_OK;
rollback_facts:
	/* a stored fact plus its delta passed BIGINT: say which grain, once rolled back */
	if (a->up_errno == ER_DATA_OUT_OF_RANGE) {
		rollback(a);
		return find_over(a, ag, from, r, err);
	}
rollback:
	rollback(a);
	return r;
}

enum jrc an_mysql_apply(struct anstore *s, const struct agg *ag, int64_t from, int64_t to,
			struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = apply_locked(a, ag, from, to, err);
	UNLOCK(a);
	return r;
}
