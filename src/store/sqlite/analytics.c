/*
 * sqlite/analytics.c - the embedded analytics store: fact_hourly, dim_publisher,
 * etl_state, etl_runs and the views, in one SQLite file. apply() is the heart of
 * exactly-once: deltas and the cursor move in one transaction, guarded by a
 * compare-and-set on the cursor.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/campaign.h"
#include "jobads/store.h"
#include "jobads/tz.h"
#include "analytics.h"
#include "db.h"

#include "jobads/banned.h"

/* PRAGMA user_version that sql/sqlite/analytics.sql sets. */
#define AN_SQLITE_VERSION 6

/*
 * SQLite's + turns an int64 overflow into a REAL, which the INTEGER column
 * would then keep, rounded. Every measure is >= 0, so a sum that would pass
 * INT64_MAX is made NULL instead, and NOT NULL refuses the row (apply names it).
 */
#define CHECKED_ADD(c)                                                                             \
	" " c " = CASE WHEN excluded." c " <= 9223372036854775807 - " c " THEN " c                 \
	" + excluded." c " END"
#define CHECKED_SET                                                                                \
	CHECKED_ADD("records")                                                                     \
	"," CHECKED_ADD("impressions") "," CHECKED_ADD("clicks") "," CHECKED_ADD(                  \
	    "applies") "," CHECKED_ADD("cost_micros") "," CHECKED_ADD("quality_sum")

#define SQL_UPSERT                                                                                 \
	"INSERT INTO fact_hourly (hour_start, campaign_id, publisher_id, industry, location,"      \
	" device, records, impressions, clicks, applies, cost_micros, quality_sum, ctr_sum,"       \
	" cpc_sum, cpa_sum, roi_sum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"   \
	" ?13, ?14, ?15, ?16)"                                                                     \
	" ON CONFLICT (hour_start, campaign_id, publisher_id, industry, location, device)"         \
	" DO UPDATE SET" CHECKED_SET ", ctr_sum = ctr_sum + excluded.ctr_sum,"                     \
	" cpc_sum = cpc_sum + excluded.cpc_sum, cpa_sum = cpa_sum + excluded.cpa_sum,"             \
	" roi_sum = roi_sum + excluded.roi_sum"

#define SQL_PUBLISHER                                                                              \
	"INSERT INTO dim_publisher (publisher_id, publisher_name, publisher_traffic,"              \
	" publisher_quality, last_seq) VALUES (?1, ?2, ?3, ?4, ?5)"                                \
	" ON CONFLICT (publisher_id) DO UPDATE SET publisher_name = excluded.publisher_name,"      \
	" publisher_traffic = COALESCE(excluded.publisher_traffic, publisher_traffic),"            \
	" publisher_quality = COALESCE(excluded.publisher_quality, publisher_quality),"            \
	" last_seq = excluded.last_seq WHERE excluded.last_seq > dim_publisher.last_seq"

#define SQL_GETCUR "SELECT cursor FROM etl_state WHERE id = 1"
#define SQL_SETCUR                                                                                 \
	"UPDATE etl_state SET cursor = ?1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"     \
	" WHERE id = 1 AND cursor = ?2"

#define SQL_FACTS                                                                                  \
	"SELECT hour_start, campaign_id, publisher_id, industry, location, device, records,"       \
	" impressions, clicks, applies, cost_micros, quality_sum, ctr_sum, cpc_sum, cpa_sum,"      \
	" roi_sum FROM fact_hourly ORDER BY hour_start, campaign_id, publisher_id, industry,"      \
	" location, device"

/* Report queries: one key expression, one label expression, the shared filter. */
/* jobads_sum (sqlite/db.c): exact past int64, where SUM would fail the query. */
#define MEASURES                                                                                   \
	" jobads_sum(records), jobads_sum(impressions), jobads_sum(clicks), jobads_sum(applies),"  \
	" jobads_sum(cost_micros), jobads_sum(quality_sum),"                                       \
	" TOTAL(ctr_sum), TOTAL(cpc_sum), TOTAL(cpa_sum), TOTAL(roi_sum) FROM fact_hourly f"

#define FILTER_REST                                                                                \
	" (?3 = 0 OR campaign_id = ?3)"                                                            \
	" AND (?4 = 0 OR publisher_id = ?4) AND (?5 IS NULL OR industry = ?5)"                     \
	" AND (?6 IS NULL OR device = ?6)"
#define FILTER " WHERE hour_start >= ?1 AND hour_start < ?2 AND" FILTER_REST

#define GROUPED(key, label) "SELECT " key ", " label "," MEASURES FILTER " GROUP BY 1 ORDER BY 1"

/*
 * Local time parts (hour of day, weekday, day) join each fact row to the offset
 * span of the store's zone that holds it. The spans lead (CROSS JOIN fixes the
 * order): for each of the few spans that meet the range, one range of
 * fact_hourly's primary key, so every fact row is read once, as without a zone.
 * The range is only in ON: with FILTER's hour_start bounds beside it SQLite
 * took those for the index and scanned from the range's start for every span
 * (0.82 s instead of 0.11 s for a year of Europe/Berlin, 260 k fact rows).
 * AN_DAY's key is the local midnight counted as if local were UTC; query() turns
 * it into the UTC instant the local day starts (tz_day_start).
 */
#define TZ_MEASURES                                                                                \
	" jobads_sum(records), jobads_sum(impressions), jobads_sum(clicks), jobads_sum(applies),"  \
	" jobads_sum(cost_micros), jobads_sum(quality_sum),"                                       \
	" TOTAL(ctr_sum), TOTAL(cpc_sum), TOTAL(cpa_sum), TOTAL(roi_sum)"                          \
	" FROM tz_offsets z CROSS JOIN fact_hourly f"                                              \
	" ON f.hour_start >= MAX(z.from_s, ?1) AND f.hour_start < MIN(z.to_s, ?2)"
#define GROUPED_TZ(key)                                                                            \
	"SELECT " key ", NULL," TZ_MEASURES " WHERE" FILTER_REST                                   \
	" AND z.to_s > ?1 AND z.from_s < ?2"                                                       \
	" GROUP BY 1 ORDER BY 1"

static const char *const query_sql[AN__COUNT] = {
    [AN_TOTAL] = "SELECT 0, NULL," MEASURES FILTER,
    [AN_CAMPAIGN] = GROUPED("campaign_id", "(SELECT c.name FROM dim_campaign c"
					   " WHERE c.campaign_id = f.campaign_id)"),
    [AN_PUBLISHER] = GROUPED("publisher_id", "(SELECT d.publisher_name FROM dim_publisher d"
					     " WHERE d.publisher_id = f.publisher_id)"),
    [AN_INDUSTRY] = "SELECT 0, industry," MEASURES FILTER " GROUP BY 2 ORDER BY 2",
    [AN_LOCATION] = "SELECT 0, location," MEASURES FILTER " GROUP BY 2 ORDER BY 2",
    [AN_DEVICE] = "SELECT 0, device," MEASURES FILTER " GROUP BY 2 ORDER BY 2",
    [AN_HOUR_OF_DAY] = GROUPED_TZ("((hour_start + z.offset_s) / 3600) % 24"),
    [AN_WEEKDAY] = GROUPED_TZ("(((hour_start + z.offset_s) / 86400) + 3) % 7 + 1"),
    [AN_DAY] = GROUPED_TZ("((hour_start + z.offset_s) / 86400) * 86400"),
    [AN_HOURLY] = GROUPED("hour_start", "NULL"),
    [AN_WEEKDAY_HOUR] = GROUPED_TZ("((((hour_start + z.offset_s) / 86400) + 3) % 7) * 24"
				   " + ((hour_start + z.offset_s) / 3600) % 24"),
    /* spend only, in the primary key's order: no sort (campaign_id is column CAMPAIGN_COL) */
    [AN_CAMPAIGN_HOURLY] =
	"SELECT hour_start, NULL, 0, 0, 0, 0, jobads_sum(cost_micros), 0, 0, 0, 0, 0, campaign_id"
	" FROM fact_hourly f" FILTER " GROUP BY hour_start, campaign_id",
};
#define CAMPAIGN_COL 12

/* Version 1 stores lack etl_runs.owner; the schema script adds etl_lock and the
 * etl_runs_state index (version 3) to 1 and 2 alike. */
#define SQL_UPGRADE_1_2 "ALTER TABLE etl_runs ADD COLUMN owner TEXT"

static int an_sqlite_init_from(struct an_sqlite *a, int version, struct jerr *err)
{
	const char *name = a->base.name;
	int r = sq_exec(a->db, "BEGIN IMMEDIATE", name, err);
	if (r != J_OK)
		return r;
	if (version == 1)
		r = sq_exec(a->db, SQL_UPGRADE_1_2, name, err);
	if (r == J_OK)
		r = sq_exec(a->db, sql_sqlite_analytics, name, err);
	if (r == J_OK)
		r = sq_exec(a->db, "COMMIT", name, err);
	if (r != J_OK && !sqlite3_get_autocommit(a->db))
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static enum jrc an_sqlite_init(struct anstore *s, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	int version, r = sq_user_version(a->db, s->name, &version, err);
	if (r != J_OK)
		return r;
	return an_sqlite_init_from(a, version, err);
}

static void an_sqlite_close(struct anstore *s)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	if (!a)
		return;
	sqlite3_finalize(a->upsert);
	sqlite3_finalize(a->pub);
	sqlite3_finalize(a->getcur);
	sqlite3_finalize(a->setcur);
	for (int i = 0; i < AN__COUNT; i++)
		sqlite3_finalize(a->q[i]);
	sqlite3_close(a->db);
	tz_close(a->tz);
	free(a->base.name);
	free(a);
}

static enum jrc an_sqlite_open(const char *path, enum store_mode mode, struct anstore **out,
			       struct jerr *err)
{
	struct an_sqlite *a = xcalloc(1, sizeof(*a));
	int r, version, init;
	a->base.ops = &anstore_sqlite_ops;
	a->base.name = xstrdup(path);
	*out = NULL;
	/*
	 * synchronous=NORMAL: in WAL mode a crash of the process loses nothing, and a
	 * power loss can only roll back whole recent transactions, deltas and cursor
	 * together, which the next run then redoes.
	 */
	r = sq_open(path, mode, "NORMAL", 8192, 0, &a->db, err);
	if (r != J_OK)
		goto fail;
	r = sq_user_version(a->db, path, &version, err);
	if (r != J_OK)
		goto fail;
	if ((r = store_schema_check(path, "analytics", version, AN_SQLITE_VERSION, mode, &init,
				    err)) != J_OK ||
	    (init && (r = an_sqlite_init_from(a, version, err)) != J_OK)) /* or upgrade */
		goto fail;
	if ((r = sq_prepare(a->db, SQL_GETCUR, &a->getcur, path, err)) != J_OK)
		goto fail;
	*out = &a->base;
	return J_OK;
fail:
	an_sqlite_close(&a->base);
	return r;
}

static enum jrc an_sqlite_get_cursor(struct anstore *s, int64_t *cursor, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	int rc = sqlite3_step(a->getcur);
	if (rc == SQLITE_ROW)
		*cursor = sqlite3_column_int64(a->getcur, 0);
	sqlite3_reset(a->getcur);
	if (rc == SQLITE_DONE) {
		jerr_set(err, "%s: etl_state has no cursor row (run 'jobads init')", s->name);
		return J_ERROR;
	}
	if (rc != SQLITE_ROW)
		return sq_fail(a->db, rc, s->name, "reading the cursor", err);
	return J_OK;
}

static int step_done(struct an_sqlite *a, sqlite3_stmt *st, const char *what, struct jerr *err)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(a->db, rc, a->base.name, what, err);
	return J_OK;
}

static void bind_interned(sqlite3_stmt *st, int i, const struct agg *ag, uint32_t id)
{
	size_t n;
	if (id == AGG_NONE) {
		sqlite3_bind_null(st, i);
		return;
	}
	const char *p = agg_str(ag, id, &n);
	sqlite3_bind_text(st, i, p, (int)n, SQLITE_STATIC);
}

static enum jrc an_sqlite_apply(struct anstore *s, const struct agg *ag, int64_t from, int64_t to,
				struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	int r;

	if (!a->upsert && ((r = sq_prepare(a->db, SQL_UPSERT, &a->upsert, s->name, err)) ||
			   (r = sq_prepare(a->db, SQL_PUBLISHER, &a->pub, s->name, err)) ||
			   (r = sq_prepare(a->db, SQL_SETCUR, &a->setcur, s->name, err))))
		return r;
	r = sq_exec(a->db, "BEGIN IMMEDIATE", s->name, err);
	if (r != J_OK)
		return r;
	for (uint32_t i = 0; i < ag->ngroups; i++) {
		const struct agg_group *g = &ag->groups[i];
		sqlite3_stmt *st = a->upsert;
		sqlite3_bind_int64(st, 1, g->key.hour_start);
		sqlite3_bind_int(st, 2, g->key.campaign_id);
		sqlite3_bind_int(st, 3, g->key.publisher_id);
		bind_interned(st, 4, ag, g->key.industry);
		bind_interned(st, 5, ag, g->key.location);
		bind_interned(st, 6, ag, g->key.device);
		const char *over = store_fact_over(&g->val);
		if (over) {
			r = store_fact_refuse(s->name, ag, g, over, from, err);
			goto rollback;
		}
		sqlite3_bind_int64(st, 7, (sqlite3_int64)g->val.records);
		sqlite3_bind_int64(st, 8, (sqlite3_int64)g->val.impressions);
		sqlite3_bind_int64(st, 9, (sqlite3_int64)g->val.clicks);
		sqlite3_bind_int64(st, 10, (sqlite3_int64)g->val.applies);
		sqlite3_bind_int64(st, 11, (sqlite3_int64)g->val.cost_micros);
		sqlite3_bind_int64(st, 12, (sqlite3_int64)g->val.quality_sum);
		sqlite3_bind_double(st, 13, g->val.ctr_sum);
		sqlite3_bind_double(st, 14, g->val.cpc_sum);
		sqlite3_bind_double(st, 15, g->val.cpa_sum);
		sqlite3_bind_double(st, 16, g->val.roi_sum);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_CONSTRAINT_NOTNULL) {
			/* "NOT NULL constraint failed: fact_hourly.COLUMN": ADD_CHECKED's NULL */
			const char *col = strstr(sqlite3_errmsg(a->db), "fact_hourly.");
			r = store_fact_refuse(s->name, ag, g, col ? col + 12 : "a measure", from,
					      err);
			goto rollback;
		}
		if (rc != SQLITE_DONE) {
			r = sq_fail(a->db, rc, s->name, "adding deltas to fact_hourly", err);
			goto rollback;
		}
	}
	for (uint32_t i = 0; i < ag->npubs; i++) {
		const struct agg_publisher *p = &ag->pubs[i];
		sqlite3_bind_int(a->pub, 1, p->publisher_id);
		bind_interned(a->pub, 2, ag, p->name);
		bind_interned(a->pub, 3, ag, p->traffic);
		bind_interned(a->pub, 4, ag, p->quality);
		sqlite3_bind_int64(a->pub, 5, p->last_seq);
		if ((r = step_done(a, a->pub, "updating dim_publisher", err)) != J_OK)
			goto rollback;
	}
	sqlite3_bind_int64(a->setcur, 1, to);
	sqlite3_bind_int64(a->setcur, 2, from);
	if ((r = step_done(a, a->setcur, "moving the cursor", err)) != J_OK)
		goto rollback;
	if (sqlite3_changes(a->db) != 1) {
		jerr_set(err,
			 "%s: the cursor is no longer at %lld: another ETL run moved it; nothing "
			 "applied",
			 s->name, (long long)from);
		r = J_ERROR;
		goto rollback;
	}
	r = sq_exec(a->db, "COMMIT", s->name, err);
	if (r != J_OK)
		goto rollback;
	return J_OK;
rollback:
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/*
 * Once raw events were pruned (etl_retention.raw_from set), the facts of the
 * hours before the boundary cannot be recomputed: they stay, with the
 * publishers, and kept_upto remembers the cursor they cover, so that the run
 * after the reset skips their events (agg.skip_*). Otherwise everything goes.
 */
#define SQL_RESET                                                                                  \
	"UPDATE etl_retention SET kept_upto = MAX(kept_upto,"                                      \
	" (SELECT cursor FROM etl_state WHERE id = 1)) WHERE id = 1 AND raw_from IS NOT NULL;"     \
	" DELETE FROM fact_hourly WHERE hour_start >= COALESCE((SELECT raw_from FROM"              \
	" etl_retention WHERE id = 1), -9223372036854775807 - 1);"                                 \
	" DELETE FROM dim_publisher WHERE (SELECT raw_from FROM etl_retention WHERE id = 1)"       \
	" IS NULL;"                                                                                \
	" UPDATE etl_state SET cursor = 0,"                                                        \
	" updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = 1"

static enum jrc an_sqlite_reset(struct anstore *s, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	int r = sq_exec(a->db, "BEGIN IMMEDIATE", s->name, err);
	if (r != J_OK)
		return r;
	r = sq_exec(a->db, SQL_RESET, s->name, err);
	if (r == J_OK)
		r = sq_exec(a->db, "COMMIT", s->name, err);
	/*
	 * A statement that fails (or a COMMIT that is busy) leaves the transaction
	 * open; the run lock's release would then go into it and be lost with it,
	 * leaving the lock held until its lease ends.
	 */
	if (r != J_OK && !sqlite3_get_autocommit(a->db))
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static enum jrc an_sqlite_facts(struct anstore *s, int64_t *cursor, fact_row_fn fn, void *arg,
				struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st = NULL;
	struct fact_row fr;
	int rc, stop = 0;
	/*
	 * One read transaction: in WAL mode its snapshot is taken at the first read
	 * and kept to COMMIT, so the cursor and the facts agree even while a run
	 * commits in between (two autocommit reads would straddle it).
	 */
	int r = sq_exec(a->db, "BEGIN DEFERRED", s->name, err);
	if (r != J_OK)
		return r;
	if ((r = an_sqlite_get_cursor(s, cursor, err)) != J_OK ||
	    (r = sq_prepare(a->db, SQL_FACTS, &st, s->name, err)) != J_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sq_fact_row(st, &fr);
		if ((stop = fn(arg, &fr)) != 0)
			break;
	}
	if (!stop && rc != SQLITE_DONE)
		r = sq_fail(a->db, rc, s->name, "reading fact_hourly", err);
out:
	sqlite3_finalize(st);
	sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL); /* a read: nothing to keep or lose */
	return stop ? stop : r;
}

static enum jrc an_sqlite_zone(struct anstore *s, char *name, size_t cap, struct jerr *err);

/* a->tz as the store's zone now: another process may have changed it (init --tz) */
static int zone_fresh(struct an_sqlite *a, struct jerr *err)
{
	char name[256];
	int r = an_sqlite_zone(&a->base, name, sizeof(name), err);
	if (r != J_OK || (a->tz && strcmp(tz_name(a->tz), name) == 0))
		return r;
	tz_close(a->tz);
	a->tz = NULL;
	return anstore_tz_open(&a->base, &a->tz, err);
}

static enum jrc an_sqlite_query(struct anstore *s, enum an_dim dim, const struct an_filter *f,
				an_row_fn fn, void *arg, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	struct an_row row;
	int rc, stop = 0, r;
	if ((unsigned)dim >= AN__COUNT) {
		jerr_set(err, "unknown report dimension %d", (int)dim);
		return J_ERROR;
	}
	if (!a->q[dim] && (r = sq_prepare(a->db, query_sql[dim], &a->q[dim], s->name, err)))
		return r;
	if (dim == AN_DAY && (r = zone_fresh(a, err)) != J_OK)
		return r;
	sqlite3_stmt *st = a->q[dim];
	sqlite3_bind_int64(st, 1, f->from_s);
	sqlite3_bind_int64(st, 2, f->to_s);
	sqlite3_bind_int(st, 3, f->campaign_id);
	sqlite3_bind_int(st, 4, f->publisher_id);
	if (f->industry)
		sqlite3_bind_text(st, 5, f->industry, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	if (f->device)
		sqlite3_bind_text(st, 6, f->device, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	r = J_OK;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row.key = sqlite3_column_int64(st, 0);
		if (dim == AN_DAY)
			row.key = tz_day_start(a->tz, row.key);
		row.label = (const char *)sqlite3_column_text(st, 1);
		row.campaign_id =
		    dim == AN_CAMPAIGN_HOURLY ? sqlite3_column_int(st, CAMPAIGN_COL) : 0;
		sq_col_sums(st, 2, &row.m);
		if ((stop = fn(arg, &row)) != 0)
			break;
	}
	if (!stop && rc != SQLITE_DONE)
		r = sq_fail(a->db, rc, s->name, "running a report query", err);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return stop ? stop : r;
}

#define SQL_ZONE_GET  "SELECT name FROM tz_zone WHERE id = 1"
#define SQL_ZONE_SET  "UPDATE tz_zone SET name = ?1 WHERE id = 1"
#define SQL_ZONE_SPAN "INSERT INTO tz_offsets (from_s, to_s, offset_s) VALUES (?1, ?2, ?3)"
#define SQL_HAS_FACTS                                                                              \
	"SELECT EXISTS (SELECT 1 FROM fact_hourly) OR (SELECT cursor FROM etl_state WHERE id = "   \
	"1) > 0"

static enum jrc an_sqlite_zone(struct anstore *s, char *name, size_t cap, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st;
	int r = sq_prepare(a->db, SQL_ZONE_GET, &st, s->name, err);
	if (r != J_OK)
		return r;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(name, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	else if (rc == SQLITE_DONE)
		snprintf(name, cap, "UTC");
	else
		r = sq_fail(a->db, rc, s->name, "reading the time zone", err);
	sqlite3_finalize(st);
	return r;
}

static int zone_write(struct an_sqlite *a, const struct tz *z, struct jerr *err)
{
	sqlite3_stmt *st;
	size_t n;
	const struct tz_span *sp = tz_spans(z, &n);
	int r = sq_prepare(a->db, SQL_ZONE_SET, &st, a->base.name, err);
	if (r != J_OK)
		return r;
	sqlite3_bind_text(st, 1, tz_name(z), -1, SQLITE_STATIC);
	r = step_done(a, st, "recording the time zone", err);
	sqlite3_finalize(st);
	if (r == J_OK)
		r = sq_exec(a->db, "DELETE FROM tz_offsets", a->base.name, err);
	if (r != J_OK || (r = sq_prepare(a->db, SQL_ZONE_SPAN, &st, a->base.name, err)) != J_OK)
		return r;
	for (size_t i = 0; i < n && r == J_OK; i++) {
		sqlite3_bind_int64(st, 1, sp[i].from_s);
		sqlite3_bind_int64(st, 2, sp[i].to_s);
		sqlite3_bind_int(st, 3, sp[i].offset_s);
		r = step_done(a, st, "writing tz_offsets", err);
	}
	sqlite3_finalize(st);
	return r;
}

/* --- retention (jobads prune, issue 16) --- */

static enum jrc an_sqlite_retention(struct anstore *s, int64_t *raw_from, int64_t *kept_upto,
				    struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st;
	*raw_from = INT64_MIN;
	*kept_upto = 0;
	int r = sq_prepare(a->db, "SELECT raw_from, kept_upto FROM etl_retention WHERE id = 1", &st,
			   s->name, err);
	if (r != J_OK)
		return r;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			*raw_from = sqlite3_column_int64(st, 0);
		*kept_upto = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE) {
		r = sq_fail(a->db, rc, s->name, "reading the retention boundary", err);
	}
	sqlite3_finalize(st);
	return r;
}

static enum jrc an_sqlite_set_retention(struct anstore *s, int64_t want, int64_t *raw_from,
					int64_t *kept_upto, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st = NULL;
	int64_t cursor;
	int r = sq_exec(a->db, "BEGIN IMMEDIATE", s->name, err);
	if (r != J_OK)
		return r;
	if ((r = an_sqlite_get_cursor(s, &cursor, err)) != J_OK ||
	    (r = an_sqlite_retention(s, raw_from, kept_upto, err)) != J_OK)
		goto out;
	if (cursor <= 0 || cursor < *kept_upto) {
		r = store_retention_refuse(s->name, cursor, *kept_upto, err);
		goto out;
	}
	if (want > *raw_from)
		*raw_from = want;
	*kept_upto = cursor;
	if ((r = sq_prepare(a->db,
			    "UPDATE etl_retention SET raw_from = ?1, kept_upto = ?2 WHERE id = 1",
			    &st, s->name, err)) != J_OK)
		goto out;
	sqlite3_bind_int64(st, 1, *raw_from);
	sqlite3_bind_int64(st, 2, *kept_upto);
	r = step_done(a, st, "recording the retention boundary", err);
	sqlite3_finalize(st);
out:
	if (r == J_OK)
		r = sq_exec(a->db, "COMMIT", s->name, err);
	if (r != J_OK && !sqlite3_get_autocommit(a->db))
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* --- end of retention --- */

static enum jrc an_sqlite_set_zone(struct anstore *s, const struct tz *z, int reset, int *changed,
				   struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	char cur[256];
	sqlite3_stmt *st;
	int has = 0;
	*changed = 0;
	int r = sq_exec(a->db, "BEGIN IMMEDIATE", s->name, err);
	if (r != J_OK)
		return r;
	if ((r = an_sqlite_zone(s, cur, sizeof(cur), err)) != J_OK)
		goto out;
	if (strcmp(cur, tz_name(z)) == 0)
		goto out;
	if ((r = sq_prepare(a->db, SQL_HAS_FACTS, &st, s->name, err)) != J_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW)
		has = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (has && !reset) {
		r = store_zone_refuse(s->name, cur, tz_name(z), err);
		goto out;
	}
	if (has) {
		int64_t raw_from, kept;
		if ((r = an_sqlite_retention(s, &raw_from, &kept, err)) != J_OK)
			goto out;
		if (raw_from != INT64_MIN) {
			r = store_zone_pruned(s->name, raw_from, err);
			goto out;
		}
	}
	if (has)
		r = sq_exec(a->db,
			    "DELETE FROM fact_hourly; DELETE FROM dim_publisher;"
			    " UPDATE etl_state SET cursor = 0,"
			    " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = 1",
			    s->name, err);
	if (r == J_OK && (r = zone_write(a, z, err)) == J_OK)
		*changed = 1;
out:
	if (r == J_OK)
		r = sq_exec(a->db, "COMMIT", s->name, err);
	if (r != J_OK && !sqlite3_get_autocommit(a->db))
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	if (r != J_OK)
		*changed = 0;
	tz_close(a->tz); /* read again at the next AN_DAY query */
	a->tz = NULL;
	return r;
}

/* ---- campaigns (dim_campaign, campaign.h) ---- */

#define SQL_CAMP_KNOWN                                                                             \
	"SELECT EXISTS (SELECT 1 FROM dim_campaign WHERE campaign_id = ?1)"                        \
	" OR EXISTS (SELECT 1 FROM fact_hourly WHERE campaign_id = ?1)"
#define SQL_CAMP_PUT                                                                               \
	"INSERT INTO dim_campaign (campaign_id, name, start_date, end_date, budget_micros,"        \
	" budget_per) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (campaign_id) DO UPDATE SET"     \
	" name = excluded.name, start_date = excluded.start_date, end_date = excluded.end_date,"   \
	" budget_micros = excluded.budget_micros, budget_per = excluded.budget_per"
#define SQL_CAMP_LIST                                                                              \
	"SELECT campaign_id, name, start_date, end_date, budget_micros, budget_per"                \
	" FROM dim_campaign ORDER BY campaign_id"

static void bind_date(sqlite3_stmt *st, int i, int has, int64_t day)
{
	char d[16];
	if (has)
		sqlite3_bind_text(st, i, camp_date_format(day, d, sizeof(d)), -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static int camp_put_one(struct an_sqlite *a, sqlite3_stmt *known, sqlite3_stmt *put,
			const struct campaign *c, int *is_known, struct jerr *err)
{
	int rc, r;
	sqlite3_bind_int(known, 1, c->id);
	rc = sqlite3_step(known);
	*is_known = rc == SQLITE_ROW && sqlite3_column_int(known, 0);
	sqlite3_reset(known);
	if (rc != SQLITE_ROW)
		return sq_fail(a->db, rc, a->base.name, "looking for the campaign", err);
	if (!*is_known)
		return J_OK;
	sqlite3_bind_int(put, 1, c->id);
	if (c->name[0])
		sqlite3_bind_text(put, 2, c->name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(put, 2);
	bind_date(put, 3, c->has_start, c->start_day);
	bind_date(put, 4, c->has_end, c->end_day);
	if (c->budget_micros >= 0) {
		sqlite3_bind_int64(put, 5, c->budget_micros);
		sqlite3_bind_text(put, 6, camp_period_name(c->per), -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(put, 5);
		sqlite3_bind_null(put, 6);
	}
	r = step_done(a, put, "writing dim_campaign", err);
	sqlite3_reset(put);
	sqlite3_clear_bindings(put);
	return r;
}

static enum jrc an_sqlite_campaigns_put(struct anstore *s, const struct campaign *c, size_t n,
					size_t *unknown, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *known = NULL, *put = NULL;
	int is_known = 1;
	size_t i = 0;
	*unknown = n;
	int r = sq_exec(a->db, "BEGIN IMMEDIATE", s->name, err);
	if (r != J_OK)
		return r;
	if ((r = sq_prepare(a->db, SQL_CAMP_KNOWN, &known, s->name, err)) == J_OK)
		r = sq_prepare(a->db, SQL_CAMP_PUT, &put, s->name, err);
	for (; r == J_OK && i < n; i++)
		if ((r = camp_put_one(a, known, put, &c[i], &is_known, err)) == J_OK && !is_known) {
			jerr_set(err, "%s: campaign %d: unknown (no events of it were processed)",
				 s->name, (int)c[i].id);
			*unknown = i;
			r = J_ERROR;
		}
	sqlite3_finalize(known);
	sqlite3_finalize(put);
	if (r == J_OK)
		r = sq_exec(a->db, "COMMIT", s->name, err);
	if (r != J_OK && !sqlite3_get_autocommit(a->db))
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static enum jrc an_sqlite_campaigns(struct anstore *s, campaign_fn fn, void *arg, struct jerr *err)
{
	struct an_sqlite *a = (struct an_sqlite *)s;
	sqlite3_stmt *st;
	struct campaign c;
	char why[200];
	int rc, stop = 0;
	int r = sq_prepare(a->db, SQL_CAMP_LIST, &st, s->name, err);
	if (r != J_OK)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (camp_from_row(
			&c, sqlite3_column_int(st, 0), (const char *)sqlite3_column_text(st, 1),
			(const char *)sqlite3_column_text(st, 2),
			(const char *)sqlite3_column_text(st, 3),
			sqlite3_column_type(st, 4) == SQLITE_NULL ? -1
								  : sqlite3_column_int64(st, 4),
			(const char *)sqlite3_column_text(st, 5), why, sizeof(why))) {
			jerr_set(err, "%s: dim_campaign: campaign %d: %s", s->name,
				 sqlite3_column_int(st, 0), why);
			r = J_ERROR;
			break;
		}
		if ((stop = fn(arg, &c)) != 0)
			break;
	}
	if (r == J_OK && !stop && rc != SQLITE_DONE)
		r = sq_fail(a->db, rc, s->name, "reading dim_campaign", err);
	sqlite3_finalize(st);
	return stop ? stop : r;
}

const struct anstore_ops anstore_sqlite_ops = {
    .version = ANSTORE_OPS_VERSION,
    .scheme = "sqlite",
    .open = an_sqlite_open,
    .close = an_sqlite_close,
    .init = an_sqlite_init,
    .get_cursor = an_sqlite_get_cursor,
    .apply = an_sqlite_apply,
    .reset = an_sqlite_reset,
    .facts = an_sqlite_facts,
    .query = an_sqlite_query,
    .run_begin = an_sqlite_run_begin,
    .run_end = an_sqlite_run_end,
    .runs = an_sqlite_runs,
    .lock_acquire = an_sqlite_lock_acquire,
    .lock_renew = an_sqlite_lock_renew,
    .lock_release = an_sqlite_lock_release,
    .runs_fail_stale = an_sqlite_runs_fail_stale,
    .zone = an_sqlite_zone,
    .set_zone = an_sqlite_set_zone,
    .retention = an_sqlite_retention,
    .set_retention = an_sqlite_set_retention,
    .campaigns_put = an_sqlite_campaigns_put,
    .campaigns = an_sqlite_campaigns,
};
