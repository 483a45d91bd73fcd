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

#include "analytics.h"
#include "jobads/tz.h"

#include <mysqld_error.h>

#include "jobads/banned.h"

#define SQL_GETCUR "SELECT `cursor` FROM etl_state WHERE id = 1"

#define SQL_FACTS                                                                                  \
	"SELECT " FACT_COLS " FROM fact_hourly ORDER BY hour_start, campaign_id, publisher_id,"    \
	" industry, location, device"

/* jobads_schema's version that sql/mysql/analytics.sql sets (2: the time zone, 3: retention,
 * 4: campaigns). */
#define AN_MYSQL_VERSION   4
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
#define FILTER_REST                                                                                \
	" (? = 0 OR campaign_id = ?)"                                                              \
	" AND (? = 0 OR publisher_id = ?) AND (? IS NULL OR industry = ?)"                         \
	" AND (? IS NULL OR device = ?)"
#define FILTER	      " WHERE hour_start >= ? AND hour_start < ? AND" FILTER_REST
#define FILTER_PARAMS 10

#define GROUPED(key, label)                                                                        \
	"SELECT " key ", " label "," MEASURES FILTER " GROUP BY " key " ORDER BY " key

/*
 * Local time parts join each fact row to the span of the store's zone that
 * holds it, the spans first (STRAIGHT_JOIN): per span that meets the range, one
 * range of the primary key. The range is in ON only (FILTER's bounds beside it
 * made SQLite scan from the range's start for every span), in the place of
 * FILTER's range, and twice more at the end (TZ_PARAMS). AN_DAY's key is the local midnight counted
 * as if local were UTC; query turns it into the UTC instant the local day starts (tz_day_start).
 */
#define TZ_MEASURES                                                                                \
	" COALESCE(SUM(records), 0), COALESCE(SUM(impressions), 0), COALESCE(SUM(clicks), 0),"     \
	" COALESCE(SUM(applies), 0), COALESCE(SUM(cost_micros), 0), COALESCE(SUM(quality_sum), "   \
	"0),"                                                                                      \
	" COALESCE(SUM(ctr_sum), 0), COALESCE(SUM(cpc_sum), 0), COALESCE(SUM(cpa_sum), 0),"        \
	" COALESCE(SUM(roi_sum), 0) FROM tz_offsets z STRAIGHT_JOIN fact_hourly f"                 \
	" ON f.hour_start >= GREATEST(z.from_s, ?) AND f.hour_start < LEAST(z.to_s, ?)"
#define GROUPED_TZ(key)                                                                            \
	"SELECT " key ", NULL," TZ_MEASURES " WHERE" FILTER_REST                                   \
	" AND z.to_s > ? AND z.from_s < ?"                                                         \
	" GROUP BY " key " ORDER BY " key
#define TZ_PARAMS 2

static int dim_local(enum an_dim dim)
{
	return dim == AN_HOUR_OF_DAY || dim == AN_WEEKDAY || dim == AN_DAY ||
	       dim == AN_WEEKDAY_HOUR;
}

static const char *const query_sql[AN__COUNT] = {
    [AN_TOTAL] = "SELECT 0, NULL," MEASURES FILTER,
    [AN_CAMPAIGN] = "SELECT campaign_id, (SELECT c.name FROM dim_campaign c"
		    " WHERE c.campaign_id = f.campaign_id)," MEASURES FILTER
		    " GROUP BY campaign_id ORDER BY campaign_id",
    [AN_PUBLISHER] = "SELECT publisher_id, (SELECT d.publisher_name FROM dim_publisher d"
		     " WHERE d.publisher_id = f.publisher_id)," MEASURES FILTER
		     " GROUP BY publisher_id ORDER BY publisher_id",
    [AN_INDUSTRY] = "SELECT 0, industry," MEASURES FILTER " GROUP BY industry ORDER BY industry",
    [AN_LOCATION] = "SELECT 0, location," MEASURES FILTER " GROUP BY location ORDER BY location",
    [AN_DEVICE] = "SELECT 0, device," MEASURES FILTER " GROUP BY device ORDER BY device",
    [AN_HOUR_OF_DAY] = GROUPED_TZ("((hour_start + z.offset_s) DIV 3600) % 24"),
    [AN_WEEKDAY] = GROUPED_TZ("(((hour_start + z.offset_s) DIV 86400) + 3) % 7 + 1"),
    [AN_DAY] = GROUPED_TZ("((hour_start + z.offset_s) DIV 86400) * 86400"),
    [AN_HOURLY] = GROUPED("hour_start", "NULL"),
    [AN_WEEKDAY_HOUR] = GROUPED_TZ("((((hour_start + z.offset_s) DIV 86400) + 3) % 7) * 24"
				   " + ((hour_start + z.offset_s) DIV 3600) % 24"),
    /* spend only, in the primary key's order; ORDER BY NULL: MariaDB sorts a GROUP BY
     * otherwise */
    [AN_CAMPAIGN_HOURLY] =
	"SELECT hour_start, NULL, 0, 0, 0, 0, COALESCE(SUM(cost_micros), 0), 0, 0, 0, 0, 0,"
	" campaign_id FROM fact_hourly f" FILTER " GROUP BY hour_start, campaign_id ORDER BY NULL",
};
#define CAMPAIGN_COL 12

static int an_mysql_init_locked(struct an_mysql *a, struct jerr *err)
{
	return my_exec_script(a->db, a->mariadb, sql_mysql_analytics, a->base.name, err);
}

static enum jrc an_mysql_init(struct anstore *s, struct jerr *err)
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
	tz_close(a->tz);
	memset(&a->url, 0, sizeof(a->url)); /* the password */
	free(a->pb);
	free(a->plen);
	free(a->pv);
	free(a->base.name);
	free(a);
}

static enum jrc an_mysql_open(const char *target, enum store_mode mode, struct anstore **out,
			      struct jerr *err)
{
	struct an_mysql *a = xcalloc(1, sizeof(*a));
	int r, version, init;
	a->base.ops = &anstore_mysql_ops;
	pthread_mutex_init(&a->mu, NULL);
	*out = NULL;
	r = my_url_parse(target, "ads_analytics", &a->url, &a->base.name, err);
	if (r != J_OK) {
		a->base.name = NULL;
		goto fail;
	}
	/* CLIENT_FOUND_ROWS: the cursor compare-and-set counts matched rows */
	r = my_connect(&a->url, a->base.name, mode, CLIENT_FOUND_ROWS, &a->db, &a->mariadb, err);
	if (r != J_OK)
		goto fail;
	if ((r = my_schema_version(a->db, SQL_SCHEMA_VERSION, a->base.name, &version, err)) !=
		J_OK ||
	    (r = store_schema_check(a->base.name, "analytics", version, AN_MYSQL_VERSION, mode,
				    &init, err)) != J_OK ||
	    (init && (r = an_mysql_init_locked(a, err)) != J_OK))
		goto fail;
	if ((r = my_prepare(a->db, SQL_GETCUR, &a->getcur, a->base.name, err)) != J_OK)
		goto fail;
	a->bulk = a->mariadb && !a->url.no_bulk && my_has_bulk(a->db);
	*out = &a->base;
	return J_OK;
fail:
	an_mysql_close(&a->base);
	return r;
}

static int get_cursor_locked(struct an_mysql *a, int64_t *cursor, struct jerr *err)
{
	struct my_cols c;
	int r = run(a, a->getcur, NULL, "reading the cursor", err);
	if (r != J_OK)
		return r;
	if ((r = my_cols_bind(&c, a->getcur, "l", a->base.name, err)) != J_OK)
		return r;
	int f = my_fetch(&c, a->getcur, a->base.name, "reading the cursor", err);
	if (f > 0)
		*cursor = c.i[0];
	mysql_stmt_free_result(a->getcur);
	my_cols_release(&c);
	if (f < 0)
		return J_ERROR;
	if (f == 0) {
		jerr_set(err, "%s: etl_state has no cursor row (run 'jobads init')", a->base.name);
		return J_ERROR;
	}
	return J_OK;
}

static enum jrc an_mysql_get_cursor(struct anstore *s, int64_t *cursor, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = get_cursor_locked(a, cursor, err);
	UNLOCK(a);
	return r;
}

static enum jrc an_mysql_reset(struct anstore *s, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	const char *name = s->name;
	int r;
	LOCKED(a);
	/*
	 * Once raw events were pruned (etl_retention.raw_from set), the facts of the
	 * hours before the boundary cannot be recomputed: they stay, with the
	 * publishers, and kept_upto remembers the cursor they cover, so that the run
	 * after the reset skips their events (agg.skip_*). Otherwise everything goes.
	 */
	if ((r = my_exec(a->db, "START TRANSACTION", name, "starting a transaction", err)) ||
	    (r = my_exec(a->db,
			 "UPDATE etl_retention r JOIN etl_state s ON s.id = 1"
			 " SET r.kept_upto = GREATEST(r.kept_upto, s.`cursor`)"
			 " WHERE r.id = 1 AND r.raw_from IS NOT NULL",
			 name, "recording the facts kept", err)) ||
	    (r = my_exec(a->db,
			 "DELETE f FROM fact_hourly f JOIN etl_retention r ON r.id = 1"
			 " WHERE r.raw_from IS NULL OR f.hour_start >= r.raw_from",
			 name, "emptying fact_hourly", err)) ||
	    (r = my_exec(a->db,
			 "DELETE d FROM dim_publisher d JOIN etl_retention r ON r.id = 1"
			 " WHERE r.raw_from IS NULL",
			 name, "emptying dim_publisher", err)) ||
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
	return J_OK;
rollback:
	rollback(a);
	UNLOCK(a);
	return r;
}

int fact_rows(struct an_mysql *a, MYSQL_STMT *st, MYSQL_BIND *params, fact_row_fn fn, void *arg,
	      const char *what, struct jerr *err)
{
	struct my_cols c;
	struct fact_row fr;
	int f, stop = 0;
	int r = run(a, st, params, what, err);
	if (r != J_OK)
		return r;
	if ((r = my_cols_bind(&c, st, MY_FACT_TYPES, a->base.name, err)) != J_OK)
		return r;
	while ((f = my_fetch(&c, st, a->base.name, what, err)) > 0) {
		my_fact_row(&c, &fr);
		if ((stop = fn(arg, &fr)) != 0)
			break;
	}
	return my_fetch_end(st, &c, f, stop, r);
}

static enum jrc an_mysql_facts(struct anstore *s, int64_t *cursor, fact_row_fn fn, void *arg,
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
			 "starting a snapshot", err)) != J_OK ||
	    (r = my_exec(a->db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", name,
			 "starting a snapshot", err)) != J_OK)
		goto out;
	r = get_cursor_locked(a, cursor, err);
	if (r == J_OK && (r = my_prepare(a->db, SQL_FACTS, &st, name, err)) == J_OK) {
		r = fact_rows(a, st, NULL, fn, arg, "reading fact_hourly", err);
		mysql_stmt_close(st);
	}
	if (r == J_OK && mysql_commit(a->db) != 0)
		r = my_fail(a->db, name, "ending the snapshot", err);
	if (r != J_OK)
		rollback(a);
out:
	UNLOCK(a);
	return r;
}

static int query_text(struct an_mysql *a, const char *sql, char *out, size_t cap, const char *what,
		      struct jerr *err);
#define SQL_ZONE_GET "SELECT name FROM tz_zone WHERE id = 1"

/* a->tz as the store's zone now: another process may have changed it (init --tz) */
static int zone_fresh(struct an_mysql *a, struct jerr *err)
{
	char name[256];
	struct jerr e;
	int r = query_text(a, SQL_ZONE_GET, name, sizeof(name), "reading the time zone", err);
	if (r != J_OK || (a->tz && strcmp(tz_name(a->tz), name[0] ? name : "UTC") == 0))
		return r;
	tz_close(a->tz);
	a->tz = NULL;
	if (tz_open(name[0] ? name : "UTC", &a->tz, &e) != J_OK) {
		jerr_set(err, "%s: %s", a->base.name, e.msg);
		return J_ERROR;
	}
	return J_OK;
}

static int query_locked(struct an_mysql *a, enum an_dim dim, const struct an_filter *f,
			an_row_fn fn, void *arg, struct jerr *err)
{
	MYSQL_BIND pb[FILTER_PARAMS + TZ_PARAMS], *p = pb;
	unsigned long ilen, dlen;
	my_bool inull, dnull;
	struct my_cols c;
	struct an_row row;
	int r, got, stop = 0;
	int64_t from = f->from_s, to = f->to_s;
	int32_t camp = f->campaign_id, pub = f->publisher_id;

	if ((unsigned)dim >= AN__COUNT) {
		jerr_set(err, "unknown report dimension %d", (int)dim);
		return J_ERROR;
	}
	if (!a->q[dim] && (r = my_prepare(a->db, query_sql[dim], &a->q[dim], a->base.name, err)))
		return r;
	if (dim == AN_DAY && (r = zone_fresh(a, err)) != J_OK)
		return r;
	MYSQL_STMT *st = a->q[dim];
	memset(pb, 0, sizeof(pb));
	if (dim_local(dim)) {
		my_bind_i64(&pb[FILTER_PARAMS], &from);
		my_bind_i64(&pb[FILTER_PARAMS + 1], &to);
	}
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
	if ((r = run(a, st, pb, "running a report query", err)) != J_OK)
		return r;
	if ((r = my_cols_bind(&c, st,
			      dim == AN_CAMPAIGN_HOURLY ? "ls" MY_SUM_TYPES "l" : "ls" MY_SUM_TYPES,
			      a->base.name, err)) != J_OK)
		return r;
	while ((got = my_fetch(&c, st, a->base.name, "running a report query", err)) > 0) {
		row.key = c.i[0];
		if (dim == AN_DAY)
			row.key = tz_day_start(a->tz, row.key);
		row.label = c.null[1] ? NULL : c.s[1];
		row.campaign_id = dim == AN_CAMPAIGN_HOURLY ? (int32_t)c.i[CAMPAIGN_COL] : 0;
		my_col_sums(&c, 2, &row.m);
		if ((stop = fn(arg, &row)) != 0)
			break;
	}
	return my_fetch_end(st, &c, got, stop, r);
}

static enum jrc an_mysql_query(struct anstore *s, enum an_dim dim, const struct an_filter *f,
			       an_row_fn fn, void *arg, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = query_locked(a, dim, f, fn, arg, err);
	UNLOCK(a);
	return r;
}

#define SQL_ZONE_SET  "UPDATE tz_zone SET name = ? WHERE id = 1"
#define SQL_ZONE_SPAN "INSERT INTO tz_offsets (from_s, to_s, offset_s) VALUES (?, ?, ?)"
#define SQL_HAS_FACTS                                                                              \
	"SELECT EXISTS (SELECT 1 FROM fact_hourly) OR (SELECT `cursor` FROM etl_state"             \
	" WHERE id = 1) > 0"

/* A one-column query's first row as text (cap bytes), or "" when it has none. */
static int query_text(struct an_mysql *a, const char *sql, char *out, size_t cap, const char *what,
		      struct jerr *err)
{
	MYSQL_STMT *st;
	struct my_cols c;
	int r = my_prepare(a->db, sql, &st, a->base.name, err);
	out[0] = '\0';
	if (r != J_OK)
		return r;
	if ((r = run(a, st, NULL, what, err)) == J_OK &&
	    (r = my_cols_bind(&c, st, "s", a->base.name, err)) == J_OK) {
		int got = my_fetch(&c, st, a->base.name, what, err);
		if (got > 0)
			snprintf(out, cap, "%.*s", (int)c.len[0], c.s[0]);
		r = my_fetch_end(st, &c, got, 0, r);
	}
	mysql_stmt_close(st);
	return r;
}

static enum jrc an_mysql_zone(struct anstore *s, char *name, size_t cap, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = query_text(a, SQL_ZONE_GET, name, cap, "reading the time zone", err);
	UNLOCK(a);
	if (r == J_OK && !name[0])
		snprintf(name, cap, "UTC");
	return r;
}

static int zone_write(struct an_mysql *a, const struct tz *z, struct jerr *err)
{
	MYSQL_BIND p[3];
	MYSQL_STMT *st;
	unsigned long len;
	size_t n;
	const struct tz_span *sp = tz_spans(z, &n);
	int64_t from, to;
	int32_t off;
	int r;
	memset(p, 0, sizeof(p));
	bind_cstr(&p[0], tz_name(z), &len);
	if ((r = exec_once(a, SQL_ZONE_SET, p, "recording the time zone", NULL, err)) != J_OK ||
	    (r = my_exec(a->db, "DELETE FROM tz_offsets", a->base.name, "emptying tz_offsets",
			 err)) != J_OK ||
	    (r = my_prepare(a->db, SQL_ZONE_SPAN, &st, a->base.name, err)) != J_OK)
		return r;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], &from);
	my_bind_i64(&p[1], &to);
	my_bind_int(&p[2], &off);
	for (size_t i = 0; i < n && r == J_OK; i++) {
		from = sp[i].from_s;
		to = sp[i].to_s;
		off = sp[i].offset_s;
		r = run(a, st, p, "writing tz_offsets", err);
	}
	mysql_stmt_close(st);
	return r;
}

/* --- retention (jobads prune, issue 16) --- */

static int retention_locked(struct an_mysql *a, const char *lock, int64_t *raw_from,
			    int64_t *kept_upto, struct jerr *err)
{
	char sql[160];
	MYSQL_STMT *st;
	struct my_cols c;
	const char *what = "reading the retention boundary";
	*raw_from = INT64_MIN;
	*kept_upto = 0;
	snprintf(sql, sizeof(sql),
		 "SELECT raw_from IS NULL, COALESCE(raw_from, 0), kept_upto FROM etl_retention"
		 " WHERE id = 1%s",
		 lock); /* a constant clause, never a value */
	int r = my_prepare(a->db, sql, &st, a->base.name, err);
	if (r != J_OK)
		return r;
	if ((r = run(a, st, NULL, what, err)) == J_OK &&
	    (r = my_cols_bind(&c, st, "lll", a->base.name, err)) == J_OK) {
		int got = my_fetch(&c, st, a->base.name, what, err);
		if (got > 0) {
			if (!c.i[0])
				*raw_from = c.i[1];
			*kept_upto = c.i[2];
		}
		r = my_fetch_end(st, &c, got, 0, r);
	}
	mysql_stmt_close(st);
	return r;
}

static enum jrc an_mysql_retention(struct anstore *s, int64_t *raw_from, int64_t *kept_upto,
				   struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	LOCKED(a);
	int r = retention_locked(a, "", raw_from, kept_upto, err);
	UNLOCK(a);
	return r;
}

static enum jrc an_mysql_set_retention(struct anstore *s, int64_t want, int64_t *raw_from,
				       int64_t *kept_upto, struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	const char *name = s->name;
	MYSQL_BIND p[2];
	int64_t cursor;
	int r;
	LOCKED(a);
	/*
	 * The row lock first: a reset (which updates etl_retention first) waits for
	 * this transaction, and the cursor read after it cannot predate one. An
	 * apply may move the cursor on meanwhile: kept_upto then is lower than it
	 * could be, which only keeps more raw events.
	 */
	if ((r = my_exec(a->db, "START TRANSACTION", name, "starting a transaction", err)) ||
	    (r = retention_locked(a, " FOR UPDATE", raw_from, kept_upto, err)) ||
	    (r = get_cursor_locked(a, &cursor, err)))
		goto rollback;
	if (cursor <= 0 || cursor < *kept_upto) {
		r = store_retention_refuse(name, cursor, *kept_upto, err);
		goto rollback;
	}
	if (want > *raw_from)
		*raw_from = want;
	*kept_upto = cursor;
	memset(p, 0, sizeof(p));
	my_bind_i64(&p[0], raw_from);
	my_bind_i64(&p[1], kept_upto);
	if ((r = exec_once(a, "UPDATE etl_retention SET raw_from = ?, kept_upto = ? WHERE id = 1",
			   p, "recording the retention boundary", NULL, err)))
		goto rollback;
	if (mysql_commit(a->db) != 0) {
		r = my_fail(a->db, name, "committing the retention boundary", err);
		goto rollback;
	}
	UNLOCK(a);
	return J_OK;
rollback:
	rollback(a);
	UNLOCK(a);
	return r;
}

/* --- end of retention --- */

static enum jrc an_mysql_set_zone(struct anstore *s, const struct tz *z, int reset, int *changed,
				  struct jerr *err)
{
	struct an_mysql *a = (struct an_mysql *)s;
	const char *name = s->name;
	char cur[256], has[8];
	int r;
	*changed = 0;
	LOCKED(a);
	/* FOR UPDATE on tz_zone: two inits changing the zone queue there */
	if ((r = my_exec(a->db, "START TRANSACTION", name, "starting a transaction", err)) ||
	    (r = query_text(a, SQL_ZONE_GET " FOR UPDATE", cur, sizeof(cur),
			    "reading the time zone", err)))
		goto rollback;
	if (!cur[0])
		snprintf(cur, sizeof(cur), "UTC");
	if (strcmp(cur, tz_name(z)) == 0) {
		rollback(a);
		UNLOCK(a);
		return J_OK;
	}
	if ((r = query_text(a, SQL_HAS_FACTS, has, sizeof(has), "looking for facts", err)))
		goto rollback;
	if (has[0] == '1' && !reset) {
		r = store_zone_refuse(name, cur, tz_name(z), err);
		goto rollback;
	}
	if (has[0] == '1') {
		int64_t raw_from, kept;
		if ((r = retention_locked(a, "", &raw_from, &kept, err)) != J_OK)
			goto rollback;
		if (raw_from != INT64_MIN) {
			r = store_zone_pruned(name, raw_from, err);
			goto rollback;
		}
	}
	if (has[0] == '1' &&
	    ((r = my_exec(a->db, "DELETE FROM fact_hourly", name, "emptying fact_hourly", err)) ||
	     (r = my_exec(a->db, "DELETE FROM dim_publisher", name, "emptying dim_publisher",
			  err)) ||
	     (r = my_exec(a->db,
			  "UPDATE etl_state SET `cursor` = 0, updated_at = UTC_TIMESTAMP(3)"
			  " WHERE id = 1",
			  name, "resetting the cursor", err))))
		goto rollback;
	if ((r = zone_write(a, z, err)) != J_OK)
		goto rollback;
	if (mysql_commit(a->db) != 0) {
		r = my_fail(a->db, name, "committing the time zone", err);
		goto rollback;
	}
	*changed = 1;
	tz_close(a->tz); /* read again at the next AN_DAY query */
	a->tz = NULL;
	UNLOCK(a);
	return J_OK;
rollback:
	rollback(a);
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
    .zone = an_mysql_zone,
    .set_zone = an_mysql_set_zone,
    .retention = an_mysql_retention,
    .set_retention = an_mysql_set_retention,
    .campaigns_put = an_mysql_campaigns_put,
    .campaigns = an_mysql_campaigns,
};
