# Server faults on a real Apache Cassandra node (scripts/cassandra.sh): the node
# killed with kill -9 in the middle of an ingest and of an ETL run, and paused
# with SIGSTOP past the request timeout during a run. Each time the command
# fails with an error that names the node; after the node is back, the next
# ingest and run complete, nothing is counted twice or lost (every event of the
# input stored once, SUM(records) = the stored events), and verify passes.
#
#   bash t_real_faults.sh PATH/TO/jobads WORKDIR
#
# Skipped (77) like t_real_node.sh when the node's jars cannot be had, a failure
# with CI=true.
HERE=$(cd "$(dirname "$0")" && pwd) # lib.sh changes to WORKDIR
JOBADS_TEST_BACKEND=cassandra-ev
JOBADS_TEST_CASSANDRA_URL=cassandra://127.0.0.1:1 # until the node is up
export JOBADS_TEST_BACKEND JOBADS_TEST_CASSANDRA_URL
source "$HERE/../lib.sh" "$@"
source "$HERE/node_lib.sh"
NODE_NAME=127.0.0.1:$JOBADS_CASSANDRA_PORT
# short timeouts, so that a paused node is noticed within the test
JOBADS_EVENTS="$(ev_url events)&request_timeout=5&connect_timeout=3"
node_pid() { cat "$NODE/cassandra.pid"; }
restart() {
    "$CASSANDRA_SH" stop "$NODE" >/dev/null 2>&1 || true
    "$CASSANDRA_SH" start "$NODE" || { echo "$TEST_NAME: the node did not start again" >&2; exit 1; }
}
# wait_until SECONDS COMMAND...: poll until it succeeds; 1 when it never did
wait_until() {
    local secs=$1 i
    shift
    for i in $(seq 1 $((secs * 10))); do "$@" && return 0; sleep 0.1; done
    return 1
}

assert_status "init on the real node" 0 jobads init
assert_status "an input of 30000 events" 0 jobads generate --count 30000 --seed 31 --days 5 --output all.ndjson

# --- kill -9 of the node in the middle of an ingest
"$JOBADS" ingest --batch 500 all.ndjson >ing.out 2>ing.err &
ing=$!
some_stored() { [ "$(events_count 2>/dev/null || echo 0)" -ge 5000 ]; }
wait_until 60 some_stored ||
    fail "the ingest stored nothing in 60 s"
kill -9 "$(node_pid)"
status=0
wait $ing || status=$?
assert_eq "the ingest fails when the node dies" 1 "$status"
assert_grep "naming the node" "$NODE_NAME" ing.err
restart
stored_before=$(events_count)
echo "$TEST_NAME: $stored_before of 30000 events stored when the node was killed"
assert_eq "the kill came in the middle of the ingest" 1 "$(( stored_before > 0 && stored_before < 30000 ))"
assert_status "the same input again" 0 jobads ingest all.ndjson
assert_grep "stores the rest, what was stored before a duplicate" ' stored, [0-9,]+ duplicates, 0 rejected' "$WORK/last.err"
sleep 2 # bucket=1 and settle=0: the last bucket has ended
assert_eq "every event of the input is stored once" 30000 "$(events_count)"

echo "$TEST_NAME: the ingest part took $((SECONDS - t0)) s with the node start"
# --- kill -9 of the node in the middle of an ETL run
"$JOBADS" etl --chunk 1000 --max-groups 1000 >etl.out 2>etl.err &
etl=$!
moved_from() { [ "$(cursor 2>/dev/null || echo "$1")" != "$1" ]; }
wait_until 60 moved_from 0 ||
    fail "the ETL run applied nothing in 60 s"
kill -9 "$(node_pid)"
status=0
wait $etl || status=$?
assert_eq "the ETL run fails when the node dies" 1 "$(( status != 0 ))"
assert_grep "naming the node" "$NODE_NAME" etl.err
restart
assert_status "the next run" 0 jobads etl
assert_eq "the cursor reached the newest stored row" "$(newest_seq)" "$(cursor)"
assert_eq "every event counted once" 30000 "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after kill -9 of the node during the ETL"

echo "$TEST_NAME: ETL kill part done at $((SECONDS - t0)) s"
# --- the node paused (SIGSTOP) past the request timeout during a run
assert_status "more events" 0 jobads generate --count 15000 --seed 32 --days 5
sleep 2
c0=$(cursor)
"$JOBADS" etl --chunk 1000 --max-groups 1000 >stop.out 2>stop.err &
etl=$!
wait_until 60 moved_from "$c0" ||
    fail "the ETL run applied nothing in 60 s"
kill -STOP "$(node_pid)"
t_stop=$SECONDS
status=0
wait $etl || status=$?
waited=$((SECONDS - t_stop))
kill -CONT "$(node_pid)"
assert_eq "the run fails while the node is paused" 1 "$(( status != 0 ))"
assert_grep "naming the node and the timeout" "$NODE_NAME.*(timed out|timeout)" stop.err
assert_eq "within the request timeout and a retry (${waited} s)" 1 "$(( waited <= 30 ))"
# the resumed node may take a moment to answer again
for i in 1 2 3 4 5; do "$JOBADS" etl --quiet >/dev/null 2>&1 && break; sleep 2; done
assert_status "the next run" 0 jobads etl
assert_eq "every event counted once" 45000 "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after the node was paused during the ETL"
echo "$TEST_NAME: $((SECONDS - t0)) s with the node"
finish
