# The pipeline against a real Apache Cassandra node (scripts/cassandra.sh, the
# version scripts/cassandra/pom.xml pins) instead of the in-memory test server:
# init, generate, the same events sent again, the ETL into SQLite, the views
# against an SQL recompute over the stored rows, verify; then the migration from
# the original's job_ads.tracking written by the DataStax Python driver
# (`jobads ingest cassandra://...`, interrupted by kill -9 and run again). The node is started in
# WORKDIR/node and stopped on exit.
#
#   bash t_real_node.sh PATH/TO/jobads WORKDIR
#
# Exits 77 (skipped) when the node's jars cannot be had (no mvn or Java 17, or
# Maven Central refuses them); with CI=true that is a failure instead, since CI
# is where the real node must run. A node that was fetched but does not start
# fails everywhere.
HERE=$(cd "$(dirname "$0")" && pwd) # lib.sh changes to WORKDIR
JOBADS_TEST_BACKEND=cassandra-ev
# a placeholder until the node is up: lib.sh must not start the test server
JOBADS_TEST_CASSANDRA_URL=cassandra://127.0.0.1:1
export JOBADS_TEST_BACKEND JOBADS_TEST_CASSANDRA_URL
source "$HERE/../lib.sh" "$@"
source "$HERE/node_lib.sh"
JOBADS_EVENTS=$(ev_url events)

assert_status "init on the real node" 0 jobads init
assert_status "init again (idempotent)" 0 jobads init
assert_status "generate 5000 events" 0 jobads generate --count 5000 --seed 15 --days 3
cat "$WORK/last.out" "$WORK/last.err" >"$WORK/last.all"
assert_grep "all of them stored" '5,?000 events stored, 0 duplicates' "$WORK/last.all"
assert_status "write 1000 more to a file" 0 jobads generate --count 1000 --seed 16 --days 3 --output more.ndjson
assert_status "ingest them" 0 jobads ingest more.ndjson
assert_grep "stored" '1,?000 stored, 0 duplicates' "$WORK/last.err"
assert_status "ingest the same file again" 0 jobads ingest more.ndjson
assert_grep "every event is a duplicate" '0 stored, 1,?000 duplicates' "$WORK/last.err"
sleep 2 # bucket=1 and settle=0: the last bucket has ended
assert_status "etl" 0 jobads etl
assert_eq "the ETL counted every stored event once" 6000 "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_eq "the cursor reached the newest stored row" "$(newest_seq)" "$(cursor)"
assert_eq "the node holds 6000 rows" 6000 "$(events_count)"
assert_views_match "after the ETL"
assert_verify "after the ETL"
assert_status "a second run reads nothing new" 0 jobads etl
assert_grep "no events" '^etl: 0 events' "$WORK/last.out"

# --- migrating from the original: its job_ads.tracking, written by the DataStax
# Python driver as the original generator wrote it, read by `jobads ingest
# cassandra://...` into an SQLite event store and into an event store on the node
PYENV=$WORK/../pydriver
"$HERE/../../../scripts/pyvenv.sh" setup "$PYENV" "$HERE/requirements.txt" ||
    { echo "$TEST_NAME: the DataStax driver could not be installed" >&2; exit 1; }
PY=$("$HERE/../../../scripts/pyvenv.sh" python "$PYENV")
ORIG="$CQL_URL/job_ads_orig"
assert_status "the driver writes 20000 records and 5 bad ones" 0 \
    "$PY" "$HERE/original_writer.py" 127.0.0.1 "$JOBADS_CASSANDRA_PORT" job_ads_orig 20000 7 expected.tsv
cp "$WORK/last.out" bad.txt
assert_eq "five bad rows" 5 "$(wc -l <bad.txt)"
IMPORT_EVENTS=sqlite:$WORK/imported.db
commas() { python3 -c "import sys; print(f'{int(sys.argv[1]):,}')" "$1"; }
# the stored rows as the driver's rows: id, ts, ids, counts, cost in micros, text
imported() {
    sqlite3 -separator "$(printf '\t')" "$WORK/imported.db" "SELECT lower(substr(h, 1, 8) || '-' ||
        substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' ||
        substr(h, 21, 12)) AS id, ts, publisher_id, job_id, campaign_id, impressions, clicks,
        apply_count, cost_micros, quality_score, device, location
        FROM (SELECT hex(event_id) AS h, * FROM tracking) ORDER BY id"
}
assert_status "init the SQLite event store" 0 jobads init --events "$IMPORT_EVENTS"
# interrupted: kill -9 once part of the table is stored, then run again
"$JOBADS" ingest --events "$IMPORT_EVENTS" --batch 100 --quiet "$ORIG?table=tracking" \
    >/dev/null 2>&1 &
pid=$!
for i in $(seq 1 200); do
    n=$(sqlite3 "$WORK/imported.db" 'SELECT COUNT(*) FROM tracking' 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 500 ] && break
    sleep 0.05
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
part=$(sqlite3 "$WORK/imported.db" 'SELECT COUNT(*) FROM tracking')
echo "$TEST_NAME: $part of 20000 rows stored when the import was killed"
assert_eq "the kill came in the middle of the import" 1 "$(( part > 0 && part < 20000 ))"
assert_status "the import run again" 1 jobads ingest --events "$IMPORT_EVENTS" \
    --reject-file rejects.ndjson "$ORIG"
assert_grep "stores the rest, the rest of what was stored a duplicate, and rejects the bad rows" \
    "ingest: $(commas $((20000 - part))) stored, $(commas "$part") duplicates, 5 rejected" "$WORK/last.err"
assert_grep "with progress by token range" 'job_ads_orig.tracking: 64 of 64 token ranges, 20,005 rows read' "$WORK/last.err"
assert_eq "every record once, each equal to what the driver wrote" "" "$(imported | diff - expected.tsv | head -3)"
while read -r id field; do
    assert_grep "the bad $field row is rejected, named by its event_id" \
        "job_ads_orig.tracking: event_id $id: $field: " "$WORK/last.err"
done <bad.txt
assert_eq "each reject is in the reject file with its row" 5 \
    "$(python3 -c "import json,sys; print(sum(1 for l in open('rejects.ndjson') if json.loads(json.loads(l)['record'])['event_id']))")"
assert_status "the import run a third time" 1 jobads ingest --events "$IMPORT_EVENTS" --quiet "$ORIG"
assert_grep "stores nothing twice" 'ingest: 0 stored, 20,000 duplicates, 5 rejected' "$WORK/last.err"
# into an event store on the node itself, and the ETL over it
assert_status "the same table into the node's own event store" 1 jobads ingest --quiet "$ORIG"
assert_grep "all 20000" 'ingest: 20,000 stored, 0 duplicates, 5 rejected' "$WORK/last.err"
assert_status "a missing table" 1 jobads ingest "$ORIG?table=nosuch"
assert_grep "says so" 'job_ads_orig.nosuch: no such table' "$WORK/last.err"
assert_status "table= on an event store URL" 1 jobads etl --events "$ORIG?table=tracking"
assert_grep "says what it is for" 'table= names a table to import' "$WORK/last.err"
echo "$TEST_NAME: $((SECONDS - t0)) s with the node"
finish
