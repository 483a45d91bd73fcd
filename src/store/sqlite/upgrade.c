/*
 * sqlite/upgrade.c - rewriting a SQLite event store of an older layout
 * into the current one, for `jobads init` (docs/operations.md, "Upgrading"):
 * layout 1 (text event_id) and layout 2 (the duplicate check as a unique index).
 */
#include "jobads/event.h"
#include "jobads/util.h"
#include "db.h"

#include "jobads/banned.h"

/*
 * Layout 1 -> 2, by `jobads init` (docs/operations.md, "Upgrading"): event_id
 * from its 36-character text to the UUID's 16 bytes, every row and seq kept. The
 * old table is renamed, the schema of this version made beside it, the rows
 * copied in seq order, the duplicate check's keys written once at the end from
 * sorted keys (SQL_KEYS_BUILD) rather than row by row at random places, AUTOINCREMENT's
 * high-water mark carried over (a seq is never reused, also past deleted rows),
 * and the old table dropped: one transaction, so a failed or killed upgrade
 * leaves layout 1 as it was.
 */
#define SQL_UPGRADE1_MOVE                                                                          \
	"DROP VIEW IF EXISTS tracking_original;"                                                   \
	"DROP INDEX IF EXISTS tracking_ts_event_id;"                                               \
	"ALTER TABLE tracking RENAME TO tracking_layout1;"
#define V1_COLS                                                                                    \
	"ts, publisher_id, publisher_name, publisher_traffic, publisher_quality, bid, job_id,"     \
	" campaign_id, industry, location, impressions, clicks, apply_count, cost_micros,"         \
	" quality_score, device, hour, day_of_week"
#define SQL_UPGRADE1_COPY                                                                          \
	"INSERT INTO tracking (seq, event_id, " V1_COLS                                            \
	") SELECT seq, jobads_uuid_blob(event_id, seq), " V1_COLS                                  \
	" FROM tracking_layout1 ORDER BY seq;"                                                     \
	"UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT seq FROM sqlite_sequence"               \
	" WHERE name = 'tracking_layout1')) WHERE name = 'tracking';"                              \
	"INSERT INTO sqlite_sequence (name, seq) SELECT 'tracking', seq FROM sqlite_sequence"      \
	" WHERE name = 'tracking_layout1' AND NOT EXISTS"                                          \
	" (SELECT 1 FROM sqlite_sequence WHERE name = 'tracking');"                                \
	"DROP TABLE tracking_layout1;"

/*
 * Every stored row's key into tracking_key in key order, all of them merged
 * (layout 3's duplicate check, sql/sqlite/events.sql). From layout 2 the
 * unique index delivers them sorted; it goes after.
 */
#define SQL_KEYS_BUILD                                                                             \
	"INSERT INTO tracking_key (ts, event_id) SELECT ts, event_id FROM tracking"                \
	" ORDER BY ts, event_id;" SQL_KEYS_MERGED_NOW "DROP INDEX IF EXISTS tracking_ts_event_id;"

/* jobads_uuid_blob(text, seq): a layout-1 event_id as its 16 bytes, for the upgrade. */
static void uuid_blob_fn(sqlite3_context *fc, int argc, sqlite3_value **argv)
{
	const char *t = (const char *)sqlite3_value_text(argv[0]);
	int n = sqlite3_value_bytes(argv[0]);
	unsigned char b[EV_UUID_BYTES];
	(void)argc;
	if (!t || uuid_from_text(t, (size_t)n, b) != 0) {
		char *msg = sqlite3_mprintf("event seq %lld: event_id '%.40s' is not a UUID",
					    (long long)sqlite3_value_int64(argv[1]), t ? t : "");
		sqlite3_result_error(fc, msg ? msg : "an event_id is not a UUID", -1);
		sqlite3_free(msg);
		return;
	}
	sqlite3_result_blob(fc, b, EV_UUID_BYTES, SQLITE_TRANSIENT);
}

int ev_sqlite_upgrade_from_1(sqlite3 *db, const char *name, struct jerr *err)
{
	int r = J_OK;
	if (sqlite3_create_function_v2(db, "jobads_uuid_blob", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY,
				       NULL, uuid_blob_fn, NULL, NULL, NULL) != SQLITE_OK)
		r = sq_fail(db, sqlite3_errcode(db), name, "registering the upgrade", err);
	if (r == J_OK)
		r = sq_exec(db, SQL_UPGRADE1_MOVE, name, err);
	if (r == J_OK)
		r = sq_exec(db, sql_sqlite_events, name, err);
	if (r == J_OK)
		r = sq_exec(db, SQL_UPGRADE1_COPY, name, err);
	if (r == J_OK)
		r = sq_exec(db, SQL_KEYS_BUILD, name, err);
	return r;
}

/*
 * Layout 2 -> 3, by `jobads init`: the unique index (ts, event_id) on tracking
 * becomes the key tables of sql/sqlite/events.sql, rows untouched. One
 * transaction, like the upgrade from 1.
 */
int ev_sqlite_upgrade_from_2(sqlite3 *db, const char *name, struct jerr *err)
{
	int r = sq_exec(db, sql_sqlite_events, name, err);
	if (r == J_OK)
		r = sq_exec(db, SQL_KEYS_BUILD, name, err);
	return r;
}
