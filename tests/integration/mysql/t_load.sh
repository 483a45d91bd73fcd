# The MySQL event store's LOAD DATA LOCAL way (the default) against its row
# way (?load=0): the same records store the same bytes; duplicates leave seqs
# that tracking_void marks, so an ETL right after ingest reads everything
# without waiting the settle time; a row whose reserved seq another writer took
# goes in again; a value the server would change fails the batch; with
# local_infile off on the server, ingest falls back to the row way.
source "$(dirname "$0")/../lib.sh" "$@"
EV_DB=$(my_db ev_events)
seqs_top() { ev_sql 'SELECT GREATEST(COALESCE(MAX(seq), 0), (SELECT COALESCE(MAX(to_seq), 0) FROM tracking_void)) FROM tracking'; }
seqs_used() { ev_sql 'SELECT (SELECT COUNT(*) FROM tracking) + (SELECT COALESCE(SUM(to_seq - from_seq + 1), 0) FROM tracking_void)'; }
ROWS_URL="$MY_URL/$(my_db ev_rows)?load=0"
export JOBADS_EVENTS="$(ev_url events)?settle=30"

# --- the same bytes both ways: text LOAD DATA would read as an escape, NULLs
now=$(date -u +%s)
jrec() { # jrec N NAME-JSON TRAFFIC-JSON BID-JSON
    printf '{"event_id":"%08d-0000-4000-8000-00000000000a","ts":%d,"publisher_id":%d,"publisher_name":%s,"publisher_traffic":%s,"bid":%s,"job_id":1,"campaign_id":101,"industry":%s,"location":"HN","impressions":%d,"clicks":1,"apply_count":1,"cost":"1.25","quality_score":50,"device":"mobile"}\n' \
        "$1" $(( (now - 60 * $1) * 1000 )) $(( $1 % 3 + 1 )) "$2" "$3" "$4" "$2" $(( 100 + $1 ))
}
names=('"tab\there"' '"new\nline"' '"cr\rhere"' '"back\\slash"' '"\\N"' '"NULL"' '"\\t not a tab"'
       '"trailing\\"' '"\u00c4rzte \ud83d\ude00"' "\"'; DROP TABLE tracking; --\"")
: >text.ndjson
for i in "${!names[@]}"; do
    if [ $((i % 2)) -eq 0 ]; then jrec "$i" "${names[$i]}" '"HIGH"' 12 >>text.ndjson
    else jrec "$i" "${names[$i]}" null null >>text.ndjson; fi
done
n=${#names[@]}
assert_status "init" 0 jobads init
assert_status "init the row-way store" 0 jobads init --events "$ROWS_URL"
assert_status "ingest through LOAD DATA" 0 jobads ingest text.ndjson
assert_grep "all stored" "$n stored, 0 duplicates, 0 rejected" "$WORK/last.err"
assert_status "ingest through row inserts" 0 jobads ingest --events "$ROWS_URL" text.ndjson
assert_grep "all stored the row way" "$n stored, 0 duplicates, 0 rejected" "$WORK/last.err"
dump='SELECT event_id, ts, publisher_id, HEX(publisher_name), publisher_traffic IS NULL, HEX(publisher_traffic),
  publisher_quality IS NULL, bid IS NULL, bid, job_id, campaign_id, HEX(industry), HEX(location), impressions,
  clicks, apply_count, cost_micros, quality_score, HEX(device), hour, day_of_week FROM tracking ORDER BY event_id'
my "$EV_DB" -N -B -e "$dump" >load.tsv
my "$(my_db ev_rows)" -N -B -e "$dump" >rows.tsv
assert_eq "rows dumped" "$n" "$(wc -l <load.tsv)"
assert_eq "LOAD DATA and row inserts store the same bytes, NULLs and all" "$(md5sum <rows.tsv)" "$(md5sum <load.tsv)"
assert_eq "a tab in a name is stored as a tab" "746162096865726" \
    "$(ev_sql "SELECT LEFT(HEX(publisher_name), 15) FROM tracking WHERE event_id LIKE '00000000-%'")"
assert_eq "the text \\\\N is text, not NULL" "5C4E" \
    "$(ev_sql "SELECT HEX(publisher_name) FROM tracking WHERE event_id LIKE '00000004-%'")"
assert_eq "NULLs where the records had none" "5" "$(ev_sql 'SELECT COUNT(*) FROM tracking WHERE bid IS NULL AND publisher_traffic IS NULL')"
assert_eq "seqs 1..n, no gap" "1|$n" "$(ev_sql 'SELECT MIN(seq), MAX(seq) FROM tracking')"

# --- duplicates: their seqs are marked void, and the ETL does not wait on them
jobads generate --count 1000 --days 2 --seed 41 --output first.ndjson --quiet
jobads generate --count 500 --days 2 --seed 42 --output new.ndjson --quiet
# the first file again with the new events in between: every chunk holds both
paste -d '\n' first.ndjson <(cat new.ndjson new.ndjson) | grep . >mixed.ndjson
# and one event twice in a row: the chunk itself answers that one
head -1 new.ndjson >twice.ndjson
head -1 new.ndjson >>twice.ndjson
assert_status "ingest 1000" 0 jobads ingest first.ndjson
assert_status "ingest them again among 500 new ones" 0 jobads ingest mixed.ndjson
assert_grep "the new ones stored, the others counted as duplicates" "500 stored, 1,500 duplicates, 0 rejected" "$WORK/last.err"
assert_status "ingest one event twice" 0 jobads ingest twice.ndjson
assert_grep "both copies are duplicates now" "0 stored, 2 duplicates" "$WORK/last.err"
total=$((n + 1500))
assert_eq "stored once each" "$total" "$(events_count)"
assert_eq "unique event ids" "$total" "$(ev_sql 'SELECT COUNT(DISTINCT event_id) FROM tracking')"
max=$(ev_sql 'SELECT MAX(seq) FROM tracking')
# (the newest seqs may be void: the last rows sent were duplicates)
assert_eq "every seq is a row or void, once" "$(seqs_top)" "$(seqs_used)"
assert_eq "no void seq holds a row" 0 \
    "$(ev_sql 'SELECT COUNT(*) FROM tracking t JOIN tracking_void v ON t.seq BETWEEN v.from_seq AND v.to_seq')"
assert_status "etl at once, with a 30 s settle time" 0 jobads etl
assert_grep "it reads every event without waiting" "^etl: 1,510 events" "$WORK/last.out"
assert_eq "cursor at the newest seq" "$max" "$(cursor)"
assert_eq "every event counted once" "$total" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after duplicates"
assert_views_match "after duplicates"

# --- a reserved seq another writer took: the row goes in again, once
jobads generate --count 10 --days 1 --seed 46 --output ten.ndjson --quiet
assert_status "ingest 10 more" 0 jobads ingest ten.ndjson
jobads generate --count 300 --days 1 --seed 43 --output more.ndjson --quiet
before=$(events_count)
# The fault, for this one ingest: tests/fault/mysql_seq_shift.c, preloaded, makes
# each chunk start 5 seqs early, on rows already there. Under AddressSanitizer its
# runtime must come first in the preload list, or the process refuses to start.
fault=${JOBADS_TEST_FAULT_SEQ_SHIFT:?the seq-shift fault library (ctest sets it)}
asan=$(ldd "$JOBADS" | awk '$1 ~ /^libasan/ { print $3 }')
with_fault() { LD_PRELOAD="${asan:+$asan }$fault" "$JOBADS" "$@"; }
assert_status "ingest with each chunk's first 5 seqs taken" 0 with_fault ingest more.ndjson
assert_grep "all stored" "300 stored, 0 duplicates" "$WORK/last.err"
# the fault took effect: the first chunk's first 5 rows went in again, after the
# chunk's other rows (without it they would keep their places before row 6)
ids=($(head -6 more.ndjson | sed 's/.*"event_id":"\([^"]*\)".*/\1/'))
first5=$(printf "'%s'," "${ids[@]:0:5}")
assert_eq "the first chunk's first 5 rows moved past its others" 5 \
    "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE event_id IN (${first5%,}) AND seq > (SELECT seq FROM tracking WHERE event_id = '${ids[5]}')")"
assert_eq "300 more rows" $((before + 300)) "$(events_count)"
assert_eq "each of them once, after the cursor" 310 \
    "$(ev_sql "SELECT COUNT(DISTINCT event_id) FROM tracking WHERE seq > $max")"
assert_eq "every seq is a row or void, once" "$(seqs_top)" "$(seqs_used)"
assert_status "etl" 0 jobads etl
assert_eq "every event counted once" "$(events_count)" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after moved rows"

# --- a value the server would change fails the whole batch, naming the event
my "$EV_DB" -e "ALTER TABLE tracking MODIFY device VARCHAR(7) NOT NULL"
jobads generate --count 5 --days 1 --seed 44 --output long.ndjson --quiet
sed -i '3s/"device":"[^"]*"/"device":"smartwatch"/' long.ndjson
long_id=$(sed -n '3s/.*"event_id":"\([^"]*\)".*/\1/p' long.ndjson)
before=$(events_count)
assert_status "ingest a device longer than the altered column" 1 jobads ingest long.ndjson
assert_grep "the error names the event and the column" "would change 1 value.*; event $long_id: .*'device'" "$WORK/last.err"
assert_eq "nothing of the batch stored" "$before" "$(events_count)"
my "$EV_DB" -e "ALTER TABLE tracking MODIFY device VARCHAR(50) NOT NULL"

# --- local_infile off on the server: the row way
my -e "SET GLOBAL local_infile = 0"
trap 'my -e "SET GLOBAL local_infile = 1"' EXIT
jobads generate --count 200 --days 1 --seed 45 --output off.ndjson --quiet
seq_before=$(ev_sql "SELECT next_seq FROM jobads_seq")
assert_status "ingest with local_infile off" 0 jobads ingest off.ndjson
assert_grep "stored all the same" "200 stored, 0 duplicates" "$WORK/last.err"
assert_eq "no seq range reserved: AUTO_INCREMENT numbered them" "$seq_before" "$(ev_sql "SELECT next_seq FROM jobads_seq")"
my -e "SET GLOBAL local_infile = 1"
assert_status "etl" 0 jobads etl --events "$(ev_url events)?settle=0"
assert_eq "every event counted once" "$(events_count)" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after the row way"

# --- a store made by an older jobads (schema version 1) is upgraded when opened
my "$EV_DB" -e "DROP TABLE jobads_seq, tracking_void, jobads_hold; UPDATE jobads_schema SET version = 1 WHERE store = 'events'"
jobads generate --count 100 --days 1 --seed 47 --output v1.ndjson --quiet
before=$(events_count)
assert_status "ingest into a version-1 store" 0 jobads ingest v1.ndjson
assert_grep "stored" "100 stored, 0 duplicates" "$WORK/last.err"
assert_eq "upgraded to version 3" 3 "$(ev_sql "SELECT version FROM jobads_schema WHERE store = 'events'")"
assert_eq "its tables are back" 3 "$(ev_sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ('jobads_seq', 'tracking_void', 'jobads_hold')")"
assert_eq "the new rows follow the old ones" "$((before + 100))|$((before + 100))" \
    "$(ev_sql "SELECT COUNT(*), COUNT(DISTINCT seq) FROM tracking")"
assert_status "etl" 0 jobads etl --events "$(ev_url events)?settle=0"
assert_eq "every event counted once" "$(events_count)" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after the upgrade"
finish
