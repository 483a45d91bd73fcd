# The pipeline against a real Apache Cassandra node (scripts/cassandra.sh, the
# version scripts/cassandra/pom.xml pins) instead of the in-memory test server:
# init, generate, the same events sent again, the ETL into SQLite, the views
# against an SQL recompute over the stored rows, verify. The node is started in
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
CASSANDRA_SH=$HERE/../../../scripts/cassandra.sh
NODE=$WORK/node

if ! "$CASSANDRA_SH" fetch 2>"$WORK/fetch.err"; then
    cat "$WORK/fetch.err" >&2
    if [ "${CI:-}" = true ]; then
        echo "$TEST_NAME: the real Cassandra node could not be fetched, and CI needs it" >&2
        exit 1
    fi
    echo "$TEST_NAME: skipped: the real Cassandra node could not be fetched (above)" >&2
    exit 77
fi
trap '"$CASSANDRA_SH" stop "$NODE"' EXIT
t0=$SECONDS
"$CASSANDRA_SH" start "$NODE" || { echo "$TEST_NAME: the Cassandra node did not start" >&2; exit 1; }
echo "$TEST_NAME: node $("$CASSANDRA_SH" version) answered after $((SECONDS - t0)) s"
eval "$("$CASSANDRA_SH" env "$NODE")"
CQL_URL=$JOBADS_TEST_CASSANDRA_URL
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
echo "$TEST_NAME: $((SECONDS - t0)) s with the node"
finish
