# The SQLite event store's older layouts upgraded in place to layout 4 (event_id
# as 16 bytes, the duplicate check's keys in two tables, a Bloom filter of the
# large one's keys): by `jobads init` from layout 1 (event_id as 36 characters of
# text) and layout 2 (the keys as a unique index on tracking), by any command
# from layout 3 (it only adds the filter's table). Every row, seq and column
# kept, AUTOINCREMENT's high-water mark kept, every stored event's key in
# tracking_key, so the duplicate check still finds each one, the original's view
# unchanged, verify passes; a store that cannot be upgraded is left as it was.
# SQLite only: the layout is the SQLite event store's.
source "$(dirname "$0")/lib.sh" "$@"

FIX=$(dirname "$0")/fixtures/events_layout1.sql
FIX2=$(dirname "$0")/fixtures/events_layout2.sql
FIX3=$(dirname "$0")/fixtures/events_layout3.sql
COLS="ts, publisher_id, publisher_name, publisher_traffic, publisher_quality, bid, job_id,
      campaign_id, industry, location, impressions, clicks, apply_count, cost_micros,
      quality_score, device, hour, day_of_week"
ORIG_COLS="event_id ts publisher_id publisher_name publisher_traffic publisher_quality bid job_id campaign_id industry location impressions clicks apply_count cost quality_score device hour day_of_week"

# Rows as layout 4 writes them (shuffled, one duplicate batch, a record without
# an id), copied into a store of layout 1 with their text ids.
jobads generate --count 20000 --days 10 --shuffle --seed 7 --output gen.ndjson --quiet
now_ms=$(($(date +%s) * 1000))
echo "{\"ts\":$now_ms,\"publisher_id\":3,\"publisher_name\":\"Noid\",\"job_id\":1,\"campaign_id\":101,\"industry\":\"IT\",\"location\":\"HN\",\"impressions\":5,\"clicks\":1,\"apply_count\":0,\"cost\":\"1.5\",\"quality_score\":40,\"device\":\"mobile\"}" >>gen.ndjson
assert_status "ingest into a new store" 0 jobads ingest --events "sqlite:$WORK/src.db" --quiet gen.ndjson
sq src.db "SELECT seq, $(ev_id), $COLS FROM tracking ORDER BY seq" >rows.txt
assert_eq "20,001 rows to upgrade" 20001 "$(wc -l <rows.txt)"

make_layout1() {
    rm -f "$WORK/events.db" "$WORK/events.db-wal" "$WORK/events.db-shm"
    sq events.db <"$FIX"
    sq events.db "ATTACH '$WORK/src.db' AS s;
        INSERT INTO tracking (seq, event_id, $COLS)
        SELECT seq, substr(lower(hex(event_id)), 1, 8) || '-' || substr(lower(hex(event_id)), 9, 4) || '-' ||
               substr(lower(hex(event_id)), 13, 4) || '-' || substr(lower(hex(event_id)), 17, 4) || '-' ||
               substr(lower(hex(event_id)), 21, 12), $COLS FROM s.tracking ORDER BY seq;
        UPDATE sqlite_sequence SET seq = seq + 500 WHERE name = 'tracking';"
}
make_layout1
assert_eq "layout 1: text ids" "text 1" "$(sq events.db 'SELECT DISTINCT typeof(event_id) FROM tracking; PRAGMA user_version' | paste -sd' ')"
hw=$(sq events.db "SELECT seq FROM sqlite_sequence WHERE name = 'tracking'")
sq events.db "SELECT * FROM tracking_original ORDER BY event_id" >orig_before.txt

# anything but init refuses layout 1 and says what to do
assert_status "etl on layout 1" 1 jobads etl --quiet
assert_grep "etl names the upgrade" "layout 1 predates this jobads \(4\); run 'jobads init' to upgrade it in place" "$WORK/last.err"
assert_status "ingest on layout 1" 1 jobads ingest --quiet gen.ndjson
assert_grep "ingest names the upgrade" "run 'jobads init'" "$WORK/last.err"
assert_eq "nothing changed by the refusals" "text 1 20001" \
    "$(sq events.db 'SELECT DISTINCT typeof(event_id) FROM tracking; PRAGMA user_version; SELECT COUNT(*) FROM tracking' | paste -sd' ')"

# the upgrade
assert_status "jobads init upgrades" 0 jobads init
assert_eq "layout 4: 16-byte ids" "blob 16 4" \
    "$(sq events.db 'SELECT DISTINCT typeof(event_id), length(event_id) FROM tracking; PRAGMA user_version' | tr '|\n' '  ' | sed 's/ $//')"
assert_eq "every row, seq and column kept" "" \
    "$(sq events.db "SELECT seq, $(ev_id), $COLS FROM tracking ORDER BY seq" | diff rows.txt - | head -5)"
assert_eq "AUTOINCREMENT's high-water mark kept" "$hw" "$(sq events.db "SELECT seq FROM sqlite_sequence WHERE name = 'tracking'")"
assert_eq "one sqlite_sequence row" 1 "$(sq events.db "SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'tracking'")"
assert_eq "the old table is gone" "tracking tracking_key tracking_key_bloom tracking_key_new tracking_key_state" \
    "$(sq events.db "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'tracking%' ORDER BY name" | paste -sd' ')"
keys_ok() { # every row's key once in tracking_key, none waiting, merged up to the newest row
    assert_eq "$1: keys" "20001 0 20001 $(sq events.db 'SELECT MAX(seq) FROM tracking')" \
        "$(sq events.db "SELECT COUNT(*) FROM tracking_key; SELECT COUNT(*) FROM tracking_key_new;
            SELECT COUNT(*) FROM tracking t JOIN tracking_key k ON k.ts = t.ts AND k.event_id = t.event_id;
            SELECT merged_upto FROM tracking_key_state" | paste -sd' ')"
    assert_eq "$1: no index on tracking" "" "$(sq events.db "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tracking' AND sql IS NOT NULL")"
}
keys_ok "from layout 1"
assert_eq "integrity" ok "$(sq events.db 'PRAGMA integrity_check')"
assert_eq "tracking_original: the original's columns" "$ORIG_COLS" \
    "$(sq events.db 'SELECT name FROM pragma_table_info('"'"'tracking_original'"'"')' | paste -sd' ')"
assert_eq "tracking_original: the same rows as before" "" \
    "$(sq events.db 'SELECT * FROM tracking_original ORDER BY event_id' | diff orig_before.txt - | head -5)"
assert_status "init again is a no-op" 0 jobads init
assert_eq "still 20,001 rows" 20001 "$(events_count)"

# the duplicate check still knows every upgraded event, the id-less one too
assert_status "re-ingest after the upgrade" 0 jobads ingest gen.ndjson
assert_grep "all duplicates" '0 stored, 20,001 duplicates' "$WORK/last.err"
jobads generate --count 3000 --days 1 --shuffle --seed 8 --output more.ndjson --quiet
assert_status "new events" 0 jobads ingest --quiet more.ndjson
assert_eq "3,000 new events, every seq past the high-water mark" "3000|1" \
    "$(ev_sql "SELECT COUNT(*), MIN(seq) > $hw FROM tracking WHERE seq > 20001")"
assert_status "etl" 0 jobads etl --quiet
assert_eq "cursor at the newest event" "$(newest_seq)" "$(cursor)"
assert_verify "after the upgrade"
assert_views_match "after the upgrade"

# layout 2: the same rows with 16-byte ids and the unique index; init moves the keys
make_layout2() {
    rm -f "$WORK/events.db" "$WORK/events.db-wal" "$WORK/events.db-shm"
    sq events.db <"$FIX2"
    sq events.db "ATTACH '$WORK/src.db' AS s;
        INSERT INTO tracking (seq, event_id, $COLS) SELECT seq, event_id, $COLS FROM s.tracking ORDER BY seq;
        UPDATE sqlite_sequence SET seq = seq + 500 WHERE name = 'tracking';"
}
make_layout2
assert_eq "layout 2: the unique index" "2 tracking_ts_event_id" \
    "$(sq events.db "PRAGMA user_version; SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tracking'" | paste -sd' ')"
hw=$(sq events.db "SELECT seq FROM sqlite_sequence WHERE name = 'tracking'")
assert_status "ingest on layout 2" 1 jobads ingest --quiet gen.ndjson
assert_grep "ingest names the upgrade" "layout 2 predates this jobads \(4\); run 'jobads init'" "$WORK/last.err"
assert_status "jobads init upgrades layout 2" 0 jobads init
assert_eq "layout 4" 4 "$(sq events.db 'PRAGMA user_version')"
assert_eq "layout 2: every row, seq and column kept" "" \
    "$(sq events.db "SELECT seq, $(ev_id), $COLS FROM tracking ORDER BY seq" | diff rows.txt - | head -5)"
assert_eq "layout 2: AUTOINCREMENT's high-water mark kept" "$hw" "$(sq events.db "SELECT seq FROM sqlite_sequence WHERE name = 'tracking'")"
keys_ok "from layout 2"
assert_eq "layout 2: integrity" ok "$(sq events.db 'PRAGMA integrity_check')"
assert_eq "layout 2: tracking_original the same rows" "" \
    "$(sq events.db 'SELECT * FROM tracking_original ORDER BY event_id' | diff orig_before.txt - | head -5)"
assert_status "layout 2: re-ingest after the upgrade" 0 jobads ingest gen.ndjson
assert_grep "layout 2: all duplicates" '0 stored, 20,001 duplicates' "$WORK/last.err"
assert_status "layout 2: new events" 0 jobads ingest --quiet more.ndjson
assert_eq "layout 2: 3,000 new, their keys waiting in tracking_key_new" "23001 3000" \
    "$(sq events.db 'SELECT COUNT(*) FROM tracking; SELECT COUNT(*) FROM tracking_key_new' | paste -sd' ')"
rm -f "$WORK/analytics.db" "$WORK/analytics.db-wal" "$WORK/analytics.db-shm"
assert_status "layout 2: etl" 0 jobads etl --quiet
assert_verify "after the upgrade from layout 2"

# layout 3: the same rows and keys as layout 4 without the filter's table; any
# command that opens it adds the table (no init needed), rows and keys untouched
make_layout3() {
    rm -f "$WORK/events.db" "$WORK/events.db-wal" "$WORK/events.db-shm"
    sq events.db <"$FIX3"
    sq events.db "ATTACH '$WORK/src.db' AS s;
        INSERT INTO tracking (seq, event_id, $COLS) SELECT seq, event_id, $COLS FROM s.tracking ORDER BY seq;
        INSERT INTO tracking_key (ts, event_id) SELECT ts, event_id FROM s.tracking ORDER BY ts, event_id;
        UPDATE tracking_key_state SET merged_upto = (SELECT MAX(seq) FROM tracking);
        UPDATE sqlite_sequence SET seq = seq + 500 WHERE name = 'tracking';"
}
make_layout3
assert_eq "layout 3: no filter table" "3 0" \
    "$(sq events.db "PRAGMA user_version; SELECT COUNT(*) FROM sqlite_master WHERE name = 'tracking_key_bloom'" | paste -sd' ')"
hw=$(sq events.db "SELECT seq FROM sqlite_sequence WHERE name = 'tracking'")
assert_status "layout 3: re-ingest upgrades it" 0 jobads ingest gen.ndjson
assert_grep "layout 3: all duplicates" '0 stored, 20,001 duplicates' "$WORK/last.err"
assert_eq "layout 3 -> 4: the filter's table" "4 1" \
    "$(sq events.db "PRAGMA user_version; SELECT COUNT(*) FROM sqlite_master WHERE name = 'tracking_key_bloom'" | paste -sd' ')"
assert_eq "layout 3: every row, seq and column kept" "" \
    "$(sq events.db "SELECT seq, $(ev_id), $COLS FROM tracking ORDER BY seq" | diff rows.txt - | head -5)"
assert_eq "layout 3: AUTOINCREMENT's high-water mark kept" "$hw" "$(sq events.db "SELECT seq FROM sqlite_sequence WHERE name = 'tracking'")"
keys_ok "from layout 3"
assert_status "layout 3: new events" 0 jobads ingest --quiet more.ndjson
rm -f "$WORK/analytics.db" "$WORK/analytics.db-wal" "$WORK/analytics.db-shm"
assert_status "layout 3: etl" 0 jobads etl --quiet
assert_verify "after the upgrade from layout 3"

# an upgrade that fails (a row of layout 1 whose id is no UUID) leaves layout 1 as it was
make_layout1
sq events.db "UPDATE tracking SET event_id = 'not-a-uuid' WHERE seq = 777"
assert_status "init refuses a bad row" 1 jobads init
assert_grep "says why" 'not a UUID' "$WORK/last.err"
assert_eq "layout 1 untouched" "text 1 20001 tracking" \
    "$(sq events.db "SELECT DISTINCT typeof(event_id) FROM tracking; PRAGMA user_version; SELECT COUNT(*) FROM tracking; SELECT group_concat(name) FROM sqlite_master WHERE type = 'table' AND name LIKE 'tracking%'" | paste -sd' ')"
finish
