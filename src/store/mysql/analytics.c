/*
 * mysql/analytics.c - the analytics store on MySQL 8 or MariaDB: the same tables
 * and views as the SQLite store, InnoDB, utf8mb4 with bytewise collation.
 *
 * apply() is one transaction: it first moves the cursor with a compare-and-set
 * (which also locks the etl_state row, so two runs queue there instead of
 * deadlocking on fact rows), then adds the deltas with multi-row
 * INSERT ... ON DUPLICATE KEY UPDATE statements, upserts publishers and
 * commits. Any failure rolls the whole transaction back.
 *
 * The connection is not thread-safe; a mutex serialises the ops so that a
 * lease renewal from another thread cannot interleave with an apply.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/store.h"
#include "conn.h"

#include <mysqld_error.h>

#include "jobads/banned.h"

/* Upserts go in blocks of 2^k rows, k < UPS_LEVELS: at most 512 rows, 8192 parameters. */
#define UPS_LEVELS   10
#define UPS_MAX_ROWS (1u << (UPS_LEVELS - 1))
#define UPS_COLS     16

struct an_mysql {
	struct anstore base;
	struct my_url url;
	MYSQL *db;
	int mariadb;
	pthread_mutex_t mu;
	MYSQL_STMT *getcur, *setcur;
	MYSQL_STMT *ups[UPS_LEVELS];
	MYSQL_STMT *pubs[UPS_LEVELS]; /* dim_publisher, 2^k rows */
	MYSQL_STMT *q[AN__COUNT];
	MYSQL_BIND *pb;	     /* UPS_MAX_ROWS * UPS_COLS parameter binds */
	unsigned long *plen; /* 3 text lengths per row */
	int64_t *pv;	     /* 6 measures per row, as int64 */
	unsigned up_errno;   /* the server's error for the last upsert, 0 if none */
	int bulk;	     /* the server takes array binding (MariaDB 10.2+) */
	MYSQL_STMT *ups1;    /* the one-row upsert, executed for arrays of groups */
	struct bulk_cols *bc;
};

/*
 * Array binding (COM_STMT_BULK_EXECUTE): the one-row upsert runs for an array
 * of groups in one round trip, column by column. The server sets up one row
 * of 16 parameters instead of a 512-row statement's 8192, which cut its CPU for
 * 1 M events from 0.17 s to 0.14 s; MySQL 8 has no such command and gets the
 * multi-row statements (also with ?bulk=0, which the tests use to keep that
 * path tested).
 */
#define BULK_MAX_ROWS 4096

struct bulk_cols {
	int64_t i64[7][BULK_MAX_ROWS]; /* hour_start, records .. quality_sum */
	int32_t i32[2][BULK_MAX_ROWS]; /* campaign_id, publisher_id */
	const char *str[3][BULK_MAX_ROWS];
	unsigned long len[3][BULK_MAX_ROWS];
	char ind[3][BULK_MAX_ROWS];
	double dbl[4][BULK_MAX_ROWS];
};

#define FACT_COLS                                                                                  \
	"hour_start, campaign_id, publisher_id, industry, location, device, records,"              \
	" impressions, clicks, applies, cost_micros, quality_sum, ctr_sum, cpc_sum, cpa_sum,"      \
	" roi_sum"

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

#define SQL_GETCUR "SELECT `cursor` FROM etl_state WHERE id = 1"
#define SQL_SETCUR                                                                                 \
	"UPDATE etl_state SET `cursor` = ?, updated_at = UTC_TIMESTAMP(3)"                         \
	" WHERE id = 1 AND `cursor` = ?"

#define SQL_FACTS                                                                                  \
	"SELECT " FACT_COLS " FROM fact_hourly ORDER BY hour_start, campaign_id, publisher_id,"    \
	" industry, location, device"

#define SQL_SCHEMA_VERSION "SELECT version FROM jobads_schema WHERE store = 'analytics'"

/* Report queries: one key expression, one label expression, the shared filter. */
/* SUM over BIGINT is an exact DECIMAL: read as such (MY_SUM_TYPES), never cast to
 * SIGNED, which would clip a total past int64 to its limit. */
#define MEASURES                                                                                   \
	" COALESCE(SUM(records), 0), COALESCE(SUM(impressions), 0), COALESCE(SUM(clicks), 0),"     \
	" COALESCE(SUM(applies), 0), COALESCE(SUM(cost_micros), 0), COALESCE(SUM(quality_sum), "   \
	"0),"                                                                                      \
	" COALESCE(SUM(ctr_sum), 0), COALESCE(SUM(cpc_sum), 0), COALESCE(SUM(cpa_sum), 0),"        \
	" COALESCE(SUM(roi_sum), 0) FROM fact_hourly f"

/* hour_start leads the primary key: a time range reads only its rows. */
#define FILTER                                                                                     \
	" WHERE hour_start >= ? AND hour_start < ? AND (? = 0 OR campaign_id = ?)"                 \
	" AND (? = 0 OR publisher_id = ?) AND (? IS NULL OR industry = ?)"                         \
	" AND (? IS NULL OR device = ?)"
#define FILTER_PARAMS 10

#define GROUPED(key, label)                                                                        \
	"SELECT " key ", " label "," MEASURES FILTER " GROUP BY " key " ORDER BY " key

static const char *const query_sql[AN__COUNT] = {
    [AN_TOTAL] = "SELECT 0, NULL," MEASURES FILTER,
    [AN_CAMPAIGN] = GROUPED("campaign_id", "NULL"),
    [AN_PUBLISHER] = "SELECT publisher_id, (SELECT d.publisher_name FROM dim_publisher d"
		     " WHERE d.publisher_id = f.publisher_id)," MEASURES FILTER
		     " GROUP BY publisher_id ORDER BY publisher_id",
    [AN_INDUSTRY] = "SELECT 0, industry," MEASURES FILTER " GROUP BY industry ORDER BY industry",
    [AN_LOCATION] = "SELECT 0, location," MEASURES FILTER " GROUP BY location ORDER BY location",
    [AN_DEVICE] = "SELECT 0, device," MEASURES FILTER " GROUP BY device ORDER BY device",
    [AN_HOUR_OF_DAY] = GROUPED("(hour_start DIV 3600) % 24", "NULL"),
    [AN_WEEKDAY] = GROUPED("((hour_start DIV 86400) + 3) % 7 + 1", "NULL"),
    [AN_DAY] = GROUPED("(hour_start DIV 86400) * 86400", "NULL"),
    [AN_HOURLY] = GROUPED("hour_start", "NULL"),
    [AN_WEEKDAY_HOUR] =
	GROUPED("(((hour_start DIV 86400) + 3) % 7) * 24 + (hour_start DIV 3600) % 24", "NULL"),
};

#define SQL_RUN_BEGIN                                                                              \
	"INSERT INTO etl_runs (`trigger`, attempt, state, owner, started_at, cursor_from)"         \
	" VALUES (?, ?, ?, ?, FROM_UNIXTIME(? / 1000), ?)"

#define SQL_RUN_END                                                                                \
	"UPDATE etl_runs SET state = ?, finished_at = FROM_UNIXTIME(? / 1000), events_read = ?,"   \
	" groups_written = ?, cursor_from = ?, cursor_to = ?, error = ? WHERE id = ?"

#define SQL_RUNS                                                                                   \
	"SELECT id, `trigger`, attempt, state, owner,"                                             \
	" CAST(ROUND(UNIX_TIMESTAMP(started_at) * 1000) AS SIGNED),"                               \
	" CAST(ROUND(UNIX_TIMESTAMP(finished_at) * 1000) AS SIGNED),"                              \
	" events_read, groups_written, cursor_from, cursor_to, error"                              \
	" FROM etl_runs ORDER BY id DESC LIMIT ?"

#define SQL_LOCK_READ "SELECT owner, acquired_ms, expires_ms FROM etl_lock WHERE id = 1 FOR UPDATE"
#define SQL_LOCK_SET  "UPDATE etl_lock SET owner = ?, acquired_ms = ?, expires_ms = ? WHERE id = 1"
#define SQL_LOCK_RENEW                                                                             \
	"UPDATE etl_lock SET expires_ms = ? WHERE id = 1 AND owner = ? AND owner <> ''"
#define SQL_LOCK_RELEASE                                                                           \
	"UPDATE etl_lock SET owner = '', acquired_ms = 0, expires_ms = 0"                          \
	" WHERE id = 1 AND owner = ?"
#define SQL_FAIL_STALE                                                                             \
	"UPDATE etl_runs SET state = 'failed', finished_at = FROM_UNIXTIME(? / 1000),"             \
	" error = ? WHERE state = 'running'"

#define LOCKED(a) pthread_mutex_lock(&(a)->mu)
#define UNLOCK(a) pthread_mutex_unlock(&(a)->mu)

static void rollback(struct an_mysql *a)
{
	/* the error that made us roll back is the one to report */
	mysql_rollback(a->db);
}

/* Execute st with params already bound; STORE_OK or an error naming what. */
static int run(struct an_mysql *a, MYSQL_STMT *st, MYSQL_BIND *params, const char *what,
	       struct jerr *err)
{
	return my_run(st, params, a->base.name, what, err);
}

static int an_mysql_init_locked(struct an_mysql *a, struct jerr *err)
{
	return my_exec_script(a->db, a->mariadb, sql_mysql_analytics, a->base.name, err);
}

static int an_mysql_init(struct anstore *s, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = an_mysql_init_locked(a, err);
	UNLOCK(a);
	return r;
}

static void close_stmt(MYSQL_STMT **st)
{
	if (*st)
		mysql_stmt_close(*st);
	*st = NULL;
}

static void an_mysql_close(struct anstore *s)
{
	struct an_mysql *a = (struct an_mysql *)s;
	if (!a)
		return;
	close_stmt(&a->getcur);
	close_stmt(&a->setcur);
	for (int i = 0; i < UPS_LEVELS; i++) {
		close_stmt(&a->ups[i]);
		close_stmt(&a->pubs[i]);
	}
	close_stmt(&a->ups1);
	free(a->bc);
	for (int i = 0; i < AN__COUNT; i++)
		close_stmt(&a->q[i]);
	if (a->db)
		mysql_close(a->db);
	pthread_mutex_destroy(&a->mu);
	memset(&a->url, 0, sizeof(a->url)); /* the password */
	free(a->pb);
	free(a->plen);
	free(a->pv);
	free(a->base.name);
	free(a);
}

static int an_mysql_open(const char *target, enum store_mode mode, struct anstore **out,
			 struct jerr *err)
{
	struct an_mysql *a = xcalloc(1, sizeof(*a));
	int r, version, init;
	a->base.ops = &anstore_mysql_ops;
	pthread_mutex_init(&a->mu, NULL);
	*out = NULL;
	r = my_url_parse(target, "ads_analytics", &a->url, &a->base.name, err);
	if (r != STORE_OK) {
		a->base.name = NULL;
		goto fail;
	}
	/* CLIENT_FOUND_ROWS: the cursor compare-and-set counts matched rows */
	r = my_connect(&a->url, a->base.name, mode, CLIENT_FOUND_ROWS, &a->db, &a->mariadb, err);
	if (r != STORE_OK)
		goto fail;
	if ((r = my_schema_version(a->db, SQL_SCHEMA_VERSION, a->base.name, &version, err)) !=
		STORE_OK ||
	    (r = store_schema_check(a->base.name, "analytics", version, 1, mode, &init, err)) !=
		STORE_OK ||
	    (init && (r = an_mysql_init_locked(a, err)) != STORE_OK))
		goto fail;
	if ((r = my_prepare(a->db, SQL_GETCUR, &a->getcur, a->base.name, err)) != STORE_OK)
		goto fail;
	a->bulk = a->mariadb && !a->url.no_bulk && my_has_bulk(a->db);
	*out = &a->base;
	return STORE_OK;
fail:
	an_mysql_close(&a->base);
	return r;
}

static int get_cursor_locked(struct an_mysql *a, int64_t *cursor, struct jerr *err)
{
	struct my_cols c;
	int r = run(a, a->getcur, NULL, "reading the cursor", err);
	if (r != STORE_OK)
		return r;
	if ((r = my_cols_bind(&c, a->getcur, "l", a->base.name, err)) != STORE_OK)
		return r;
	int f = my_fetch(&c, a->getcur, a->base.name, "reading the cursor", err);
	if (f > 0)
		*cursor = c.i[0];
	mysql_stmt_free_result(a->getcur);
	my_cols_release(&c);
	if (f < 0)
		return STORE_ERROR;
	if (f == 0) {
		jerr_set(err, "%s: etl_state has no cursor row (run 'jobads init')", a->base.name);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static int an_mysql_get_cursor(struct anstore *s, int64_t *cursor, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = get_cursor_locked(a, cursor, err);
	UNLOCK(a);
	return r;
}

/* The upsert statement for 2^level rows, prepared on first use. */
static int upsert_stmt(struct an_mysql *a, int level, MYSQL_STMT **out, struct jerr *err)
{
	if (!a->ups[level]) {
		struct strbuf sb = {0};
		unsigned rows = 1u << level;
		strbuf_addf(&sb, "%s", SQL_UPSERT_HEAD);
		for (unsigned i = 0; i < rows; i++)
			strbuf_addf(&sb, "%s%s", i ? "," : "", SQL_UPSERT_ROW);
		strbuf_addf(&sb, "%s", SQL_UPSERT_TAIL);
		int r = my_prepare(a->db, sb.buf, &a->ups[level], a->base.name, err);
		strbuf_release(&sb);
		if (r != STORE_OK)
			return r;
	}
	*out = a->ups[level];
	return STORE_OK;
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
	if (r != STORE_OK)
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
	a->up_errno = r == STORE_OK ? 0 : mysql_stmt_errno(st);
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
		if (r != STORE_OK)
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
		if ((r = my_prepare(a->db, sql, &a->ups1, a->base.name, err)) != STORE_OK)
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
	a->up_errno = r == STORE_OK ? 0 : mysql_stmt_errno(a->ups1);
	return r;
}

/*
 * After an upsert failed with ER_DATA_OUT_OF_RANGE: find the grain whose stored
 * measure plus this chunk's delta passes INT64_MAX. Only rows within the largest
 * delta of the limit can, so one scan with those thresholds finds them; this runs
 * on that error only.
 */
static int fact_rows(struct an_mysql *a, MYSQL_STMT *st, MYSQL_BIND *params, fact_row_fn fn,
		     void *arg, const char *what, struct jerr *err);

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
	if (my_prepare(a->db, sql, &st, a->base.name, &e2) != STORE_OK)
		return r;
	fact_rows(a, st, p, over_row, &o, "finding the fact row past int64", &e2);
	mysql_stmt_close(st);
	return o.found ? STORE_ERROR : r;
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
	if (r != STORE_OK)
		return r;
	/*
	 * The cursor first: the compare-and-set locks etl_state's row, so a second
	 * run waits here and then finds the cursor moved, before touching a fact.
	 */
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &to);
	my_bind_i64(&p[1], &from);
	if ((r = run(a, a->setcur, p, "moving the cursor", err)) != STORE_OK)
		goto rollback;
	if (mysql_stmt_affected_rows(a->setcur) != 1) {
		jerr_set(err,
			 "%s: the cursor is no longer at %lld: another ETL run moved it; nothing "
			 "applied",
			 name, (long long)from);
		r = STORE_ERROR;
		goto rollback;
	}
	if (a->bulk) {
		for (uint32_t i = 0; i < ag->ngroups; i += BULK_MAX_ROWS) {
			uint32_t n =
			    ag->ngroups - i < BULK_MAX_ROWS ? ag->ngroups - i : BULK_MAX_ROWS;
			if ((r = upsert_bulk(a, ag, i, n, err)) != STORE_OK)
				goto rollback_facts;
		}
	} else {
		/* blocks of 512, 256, ... 1 rows: few statements, each prepared once */
		uint32_t i = 0;
		for (int level = UPS_LEVELS - 1; level >= 0; level--) {
			uint32_t rows = 1u << level;
			while (ag->ngroups - i >= rows) {
				if ((r = upsert_block(a, ag, i, level, err)) != STORE_OK)
					goto rollback_facts;
				i += rows;
			}
		}
	}
	for (uint32_t i = 0, level = UPS_LEVELS; level-- > 0;)
		for (uint32_t rows = 1u << level; ag->npubs - i >= rows; i += rows)
			if ((r = publisher_block(a, ag, i, (int)level, err)) != STORE_OK)
				goto rollback;
	if (mysql_commit(a->db) != 0) {
		r = my_fail(a->db, name, "committing the deltas and the cursor", err);
		goto rollback;
	}
	return STORE_OK;
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

static int an_mysql_apply(struct anstore *s, const struct agg *ag, int64_t from, int64_t to,
			  struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = apply_locked(a, ag, from, to, err);
	UNLOCK(a);
	return r;
}

static int an_mysql_reset(struct anstore *s, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	const char *name = s->name;
	int r;
	LOCKED(a);
	if ((r = my_exec(a->db, "START TRANSACTION", name, "starting a transaction", err)) ||
	    (r = my_exec(a->db, "DELETE FROM fact_hourly", name, "emptying fact_hourly", err)) ||
	    (r = my_exec(a->db, "DELETE FROM dim_publisher", name, "emptying dim_publisher",
			 err)) ||
	    (r = my_exec(a->db,
			 "UPDATE etl_state SET `cursor` = 0, updated_at = UTC_TIMESTAMP(3)"
			 " WHERE id = 1",
			 name, "resetting the cursor", err)))
		goto rollback;
	if (mysql_commit(a->db) != 0) {
		r = my_fail(a->db, name, "committing the reset", err);
		goto rollback;
	}
	UNLOCK(a);
	return STORE_OK;
rollback:
	rollback(a);
	UNLOCK(a);
	return r;
}

/* Run st (params bound or NULL) and call fn for each fact-shaped row. */
static int fact_rows(struct an_mysql *a, MYSQL_STMT *st, MYSQL_BIND *params, fact_row_fn fn,
		     void *arg, const char *what, struct jerr *err)
{
	struct my_cols c;
	struct fact_row fr;
	int f, stop = 0;
	int r = run(a, st, params, what, err);
	if (r != STORE_OK)
		return r;
	if ((r = my_cols_bind(&c, st, MY_FACT_TYPES, a->base.name, err)) != STORE_OK)
		return r;
	while ((f = my_fetch(&c, st, a->base.name, what, err)) > 0) {
		my_fact_row(&c, &fr);
		if ((stop = fn(arg, &fr)) != 0)
			break;
	}
	if (!stop && f < 0)
		r = my_code_retryable(mysql_stmt_errno(st)) ? STORE_RETRY : STORE_ERROR;
	mysql_stmt_free_result(st);
	my_cols_release(&c);
	return stop ? stop : r;
}

static int an_mysql_facts(struct anstore *s, int64_t *cursor, fact_row_fn fn, void *arg,
			  struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	const char *name = s->name;
	MYSQL_STMT *st;
	int r;
	LOCKED(a);
	/*
	 * The cursor and the facts from one snapshot, so that a run committing in
	 * between cannot make them disagree: REPEATABLE READ for this transaction
	 * whatever the server's default, and the snapshot taken at its start.
	 */
	if ((r = my_exec(a->db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", name,
			 "starting a snapshot", err)) != STORE_OK ||
	    (r = my_exec(a->db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", name,
			 "starting a snapshot", err)) != STORE_OK)
		goto out;
	r = get_cursor_locked(a, cursor, err);
	if (r == STORE_OK && (r = my_prepare(a->db, SQL_FACTS, &st, name, err)) == STORE_OK) {
		r = fact_rows(a, st, NULL, fn, arg, "reading fact_hourly", err);
		mysql_stmt_close(st);
	}
	if (r == STORE_OK && mysql_commit(a->db) != 0)
		r = my_fail(a->db, name, "ending the snapshot", err);
	if (r != STORE_OK)
		rollback(a);
out:
	UNLOCK(a);
	return r;
}

static int query_locked(struct an_mysql *a, enum an_dim dim, const struct an_filter *f,
			an_row_fn fn, void *arg, struct jerr *err)
{
	MYSQL_BIND p[FILTER_PARAMS];
	unsigned long ilen, dlen;
	my_bool inull, dnull;
	struct my_cols c;
	struct an_row row;
	int r, got, stop = 0;
	int64_t from = f->from_s, to = f->to_s;
	int32_t camp = f->campaign_id, pub = f->publisher_id;

	if ((unsigned)dim >= AN__COUNT) {
		jerr_set(err, "unknown report dimension %d", (int)dim);
		return STORE_ERROR;
	}
	if (!a->q[dim] && (r = my_prepare(a->db, query_sql[dim], &a->q[dim], a->base.name, err)))
		return r;
	MYSQL_STMT *st = a->q[dim];
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &from);
	my_bind_i64(&p[1], &to);
	my_bind_int(&p[2], &camp);
	my_bind_int(&p[3], &camp);
	my_bind_int(&p[4], &pub);
	my_bind_int(&p[5], &pub);
	inull = f->industry == NULL;
	ilen = f->industry ? (unsigned long)strlen(f->industry) : 0;
	my_bind_str(&p[6], f->industry, &ilen, &inull);
	my_bind_str(&p[7], f->industry, &ilen, &inull);
	dnull = f->device == NULL;
	dlen = f->device ? (unsigned long)strlen(f->device) : 0;
	my_bind_str(&p[8], f->device, &dlen, &dnull);
	my_bind_str(&p[9], f->device, &dlen, &dnull);
	if ((r = run(a, st, p, "running a report query", err)) != STORE_OK)
		return r;
	if ((r = my_cols_bind(&c, st, "ls" MY_SUM_TYPES, a->base.name, err)) != STORE_OK)
		return r;
	while ((got = my_fetch(&c, st, a->base.name, "running a report query", err)) > 0) {
		row.key = c.i[0];
		row.label = c.null[1] ? NULL : c.s[1];
		my_col_sums(&c, 2, &row.m);
		if ((stop = fn(arg, &row)) != 0)
			break;
	}
	if (!stop && got < 0)
		r = my_code_retryable(mysql_stmt_errno(st)) ? STORE_RETRY : STORE_ERROR;
	mysql_stmt_free_result(st);
	my_cols_release(&c);
	return stop ? stop : r;
}

static int an_mysql_query(struct anstore *s, enum an_dim dim, const struct an_filter *f,
			  an_row_fn fn, void *arg, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = query_locked(a, dim, f, fn, arg, err);
	UNLOCK(a);
	return r;
}

static void bind_cstr(MYSQL_BIND *b, const char *s, unsigned long *len)
{
	*len = (unsigned long)strlen(s);
	my_bind_str(b, s, len, NULL);
}

/* Prepare, bind, execute and close a statement that returns no rows. */
static int exec_once(struct an_mysql *a, const char *sql, MYSQL_BIND *p, const char *what,
		     MYSQL_STMT **keep, struct jerr *err)
{
	MYSQL_STMT *st;
	int r = my_prepare(a->db, sql, &st, a->base.name, err);
	if (r != STORE_OK)
		return r;
	r = run(a, st, p, what, err);
	if (keep)
		*keep = st;
	else
		mysql_stmt_close(st);
	return r;
}

static int an_mysql_run_begin(struct anstore *s, struct etl_run_rec *rec, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	MYSQL_BIND p[6];
	unsigned long len[3];
	int32_t attempt = rec->attempt;
	MYSQL_STMT *st = NULL;
	memset(p, 0, sizeof(p));
	bind_cstr(&p[0], rec->trigger, &len[0]);
	my_bind_int(&p[1], &attempt);
	bind_cstr(&p[2], rec->state, &len[1]);
	bind_cstr(&p[3], rec->owner, &len[2]);
	my_bind_i64(&p[4], &rec->started_ms);
	my_bind_i64(&p[5], &rec->cursor_from);
	LOCKED(a);
	int r = exec_once(a, SQL_RUN_BEGIN, p, "recording the run", &st, err);
	if (r == STORE_OK)
		rec->id = (int64_t)mysql_stmt_insert_id(st);
	if (st)
		mysql_stmt_close(st);
	UNLOCK(a);
	return r;
}

static int an_mysql_run_end(struct anstore *s, const struct etl_run_rec *rec, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	struct etl_run_rec c = *rec; /* binds need addressable, writable storage */
	MYSQL_BIND p[8];
	unsigned long len[2];
	my_bool enull = c.error[0] == '\0';
	memset(p, 0, sizeof(p));
	bind_cstr(&p[0], c.state, &len[0]);
	my_bind_i64(&p[1], &c.finished_ms);
	my_bind_i64(&p[2], &c.events_read);
	my_bind_i64(&p[3], &c.groups_written);
	my_bind_i64(&p[4], &c.cursor_from);
	my_bind_i64(&p[5], &c.cursor_to);
	len[1] = (unsigned long)strlen(c.error);
	my_bind_str(&p[6], c.error, &len[1], &enull);
	my_bind_i64(&p[7], &c.id);
	LOCKED(a);
	int r = exec_once(a, SQL_RUN_END, p, "recording the run", NULL, err);
	UNLOCK(a);
	return r;
}

static void copy_col(const struct my_cols *c, int i, char *dst, size_t len)
{
	snprintf(dst, len, "%s", c->null[i] ? "" : c->s[i]);
}

static int runs_locked(struct an_mysql *a, int limit, run_row_fn fn, void *arg, struct jerr *err)
{
	MYSQL_STMT *st;
	MYSQL_BIND p[1];
	struct my_cols c;
	struct etl_run_rec rec;
	int64_t lim = limit > 0 ? limit : INT64_MAX;
	int got, stop = 0;
	int r = my_prepare(a->db, SQL_RUNS, &st, a->base.name, err);
	if (r != STORE_OK)
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &lim);
	if ((r = run(a, st, p, "reading etl_runs", err)) != STORE_OK ||
	    (r = my_cols_bind(&c, st, "lslssllllllT", a->base.name, err)) != STORE_OK) {
		mysql_stmt_close(st);
		return r;
	}
	while ((got = my_fetch(&c, st, a->base.name, "reading etl_runs", err)) > 0) {
		memset(&rec, 0, sizeof(rec));
		rec.id = c.i[0];
		copy_col(&c, 1, rec.trigger, sizeof(rec.trigger));
		rec.attempt = (int)c.i[2];
		copy_col(&c, 3, rec.state, sizeof(rec.state));
		copy_col(&c, 4, rec.owner, sizeof(rec.owner));
		rec.started_ms = c.i[5];
		rec.finished_ms = c.null[6] ? 0 : c.i[6];
		rec.events_read = c.i[7];
		rec.groups_written = c.i[8];
		rec.cursor_from = c.null[9] ? 0 : c.i[9];
		rec.cursor_to = c.null[10] ? 0 : c.i[10];
		copy_col(&c, 11, rec.error, sizeof(rec.error));
		if ((stop = fn(arg, &rec)) != 0)
			break;
	}
	if (!stop && got < 0)
		r = my_code_retryable(mysql_stmt_errno(st)) ? STORE_RETRY : STORE_ERROR;
	mysql_stmt_free_result(st);
	my_cols_release(&c);
	mysql_stmt_close(st);
	return stop ? stop : r;
}

static int an_mysql_runs(struct anstore *s, int limit, run_row_fn fn, void *arg, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = runs_locked(a, limit, fn, arg, err);
	UNLOCK(a);
	return r;
}

static int lock_acquire_locked(struct an_mysql *a, const char *owner, const char *steal,
			       int64_t now_ms, int64_t lease_ms, int *got,
			       struct run_lock_info *holder, struct jerr *err)
{
	const char *name = a->base.name;
	MYSQL_STMT *st = NULL;
	struct my_cols c;
	MYSQL_BIND p[3];
	unsigned long len;
	int r, f;

	*got = 0;
	memset(holder, 0, sizeof(*holder));
	if ((r = my_exec(a->db, "START TRANSACTION", name, "starting a transaction", err)))
		return r;
	if ((r = my_prepare(a->db, SQL_LOCK_READ, &st, name, err)) ||
	    (r = run(a, st, NULL, "reading the run lock", err)))
		goto rollback;
	if ((r = my_cols_bind(&c, st, "sll", name, err)) != STORE_OK)
		goto rollback;
	f = my_fetch(&c, st, name, "reading the run lock", err);
	if (f > 0) {
		copy_col(&c, 0, holder->owner, sizeof(holder->owner));
		holder->acquired_ms = c.i[1];
		holder->expires_ms = c.i[2];
	}
	mysql_stmt_free_result(st);
	my_cols_release(&c);
	mysql_stmt_close(st);
	st = NULL;
	if (f < 0) {
		r = STORE_ERROR;
		goto rollback;
	}
	if (f == 0) {
		jerr_set(err, "%s: etl_lock has no row (run 'jobads init')", name);
		r = STORE_ERROR;
		goto rollback;
	}
	int mine = strcmp(holder->owner, owner) == 0;
	if (holder->owner[0] == '\0' || holder->expires_ms <= now_ms || mine ||
	    (steal && strcmp(holder->owner, steal) == 0)) {
		int64_t acquired = mine ? holder->acquired_ms : now_ms;
		int64_t expires = now_ms + lease_ms;
		memset(p, 0, sizeof(p));
		bind_cstr(&p[0], owner, &len);
		my_bind_i64(&p[1], &acquired);
		my_bind_i64(&p[2], &expires);
		if ((r = exec_once(a, SQL_LOCK_SET, p, "taking the run lock", NULL, err)))
			goto rollback;
		if (mysql_commit(a->db) != 0) {
			r = my_fail(a->db, name, "taking the run lock", err);
			goto rollback;
		}
		*got = 1;
		snprintf(holder->owner, sizeof(holder->owner), "%s", owner);
		holder->acquired_ms = acquired;
		holder->expires_ms = expires;
		return STORE_OK;
	}
	if (mysql_commit(a->db) != 0) {
		r = my_fail(a->db, name, "reading the run lock", err);
		goto rollback;
	}
	return STORE_OK;
rollback:
	if (st)
		mysql_stmt_close(st);
	rollback(a);
	return r;
}

static int an_mysql_lock_acquire(struct anstore *s, const char *owner, const char *steal,
				 int64_t now_ms, int64_t lease_ms, int *got,
				 struct run_lock_info *holder, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = lock_acquire_locked(a, owner, steal, now_ms, lease_ms, got, holder, err);
	UNLOCK(a);
	return r;
}

static int an_mysql_lock_renew(struct anstore *s, const char *owner, int64_t now_ms,
			       int64_t lease_ms, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	MYSQL_STMT *st = NULL;
	MYSQL_BIND p[2];
	unsigned long len;
	int64_t expires = now_ms + lease_ms;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &expires);
	bind_cstr(&p[1], owner, &len);
	LOCKED(a);
	int r = exec_once(a, SQL_LOCK_RENEW, p, "renewing the run lock", &st, err);
	if (r == STORE_OK && mysql_stmt_affected_rows(st) != 1) {
		jerr_set(err, "%s: the run lock is no longer held by %s", s->name, owner);
		r = STORE_ERROR;
	}
	if (st)
		mysql_stmt_close(st);
	UNLOCK(a);
	return r;
}

static int an_mysql_lock_release(struct anstore *s, const char *owner, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	MYSQL_BIND p[1];
	unsigned long len;
	memset(p, 0, sizeof(p));
	bind_cstr(&p[0], owner, &len);
	LOCKED(a);
	int r = exec_once(a, SQL_LOCK_RELEASE, p, "releasing the run lock", NULL, err);
	UNLOCK(a);
	return r;
}

static int an_mysql_runs_fail_stale(struct anstore *s, const char *reason, int64_t now_ms,
				    int64_t *count, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	MYSQL_STMT *st = NULL;
	MYSQL_BIND p[2];
	unsigned long len;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &now_ms);
	bind_cstr(&p[1], reason, &len);
	*count = 0;
	LOCKED(a);
	int r = exec_once(a, SQL_FAIL_STALE, p, "marking stale runs failed", &st, err);
	if (r == STORE_OK)
		*count = (int64_t)mysql_stmt_affected_rows(st);
	if (st)
		mysql_stmt_close(st);
	UNLOCK(a);
	return r;
}

const struct anstore_ops anstore_mysql_ops = {
    .version = ANSTORE_OPS_VERSION,
    .scheme = "mysql",
    .open = an_mysql_open,
    .close = an_mysql_close,
    .init = an_mysql_init,
    .get_cursor = an_mysql_get_cursor,
    .apply = an_mysql_apply,
    .reset = an_mysql_reset,
    .facts = an_mysql_facts,
    .query = an_mysql_query,
    .run_begin = an_mysql_run_begin,
    .run_end = an_mysql_run_end,
    .runs = an_mysql_runs,
    .lock_acquire = an_mysql_lock_acquire,
    .lock_renew = an_mysql_lock_renew,
    .lock_release = an_mysql_lock_release,
    .runs_fail_stale = an_mysql_runs_fail_stale,
};
