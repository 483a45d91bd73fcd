# Server faults: the MariaDB server holding the analytics store is killed with
# SIGKILL in the middle of an ETL run, and later paused with SIGSTOP beyond the
# connection's read timeout. Each time the run fails with a clear error naming
# the server, nothing is half-applied (the facts hold exactly the events up to
# the cursor), and after the server is back the next run completes and verify
# passes. Then the server is killed in the middle of an ingest into a MySQL
# event store, whose batches commit while the next one is read: the ingest
# fails naming the server, reports no more than the table holds, and ingesting
# the file again after a restart stores the rest exactly once. Runs on a
# private server in WORK/server, since it kills it.
JOBADS_TEST_BACKEND=mysql-an
source "$(dirname "$0")/../lib.sh" "$@"
use_private_server
AN_DB=$(my_db an_analytics)

assert_status "generate" 0 jobads generate --count 400000 --days 20 --seed 41 --quiet
total=$(events_count)
assert_status "init" 0 jobads init

# the facts hold exactly the events up to the cursor: nothing half-applied
consistent() {
    assert_eq "$1: records in fact_hourly equal the cursor" "$(cursor)" \
        "$(an_sql 'SELECT COALESCE(SUM(records), 0) FROM fact_hourly')"
    assert_verify "$1"
    assert_views_match "$1"
}

wait_cursor_moved() { # wait until a run has applied something past $1
    local i
    for i in $(seq 1 400); do
        [ "$(cursor 2>/dev/null || echo 0)" -gt "$1" ] && return 0
        sleep 0.025
    done
    return 1
}

# --- kill -9 mid-run
"$JOBADS" etl --chunk 3000 --quiet >"$WORK/kill.out" 2>"$WORK/kill.err" &
etl=$!
wait_cursor_moved 0 || fail "the ETL applied nothing within 10 s"
kill -9 "$(server_pid)"
status=0
wait $etl || status=$?
assert_eq "killed server: the run fails (exit 1)" 1 "$status"
assert_grep "killed server: the error names the server" "mysql://jobads@127.0.0.1:$MY_PORT/$AN_DB" "$WORK/kill.err"
assert_grep "killed server: the error says the connection was lost" 'Lost connection|gone away|Can.t connect' "$WORK/kill.err"
assert_grep "killed server: retryable" 'transient: run again to retry' "$WORK/kill.err"
"$MARIADB_SH" start "$SERVER_DIR"
at=$(cursor)
echo "the server was killed with the cursor at $at of $total" >&2
assert_eq "the kill landed mid-run" 1 "$(( at > 0 && at < total ))"
consistent "after the kill and a restart"
assert_status "the next run completes" 0 jobads etl --quiet
assert_eq "cursor at the newest event" "$total" "$(cursor)"
consistent "after the run that followed the kill"

# --- SIGSTOP beyond the read timeout
assert_status "more events" 0 jobads generate --count 300000 --days 5 --seed 42 --quiet
total=$(events_count)
before=$(cursor)
"$JOBADS" etl --chunk 3000 --quiet --analytics "$JOBADS_ANALYTICS?read_timeout=2" \
    >"$WORK/stop.out" 2>"$WORK/stop.err" &
etl=$!
wait_cursor_moved "$before" || fail "the ETL applied nothing within 10 s"
kill -STOP "$(server_pid)"
t0=$(date +%s)
status=0
wait $etl || status=$?
secs=$(( $(date +%s) - t0 ))
kill -CONT "$(server_pid)"
echo "the paused server failed the run after ${secs} s" >&2
assert_eq "paused server: the run fails (exit 1)" 1 "$status"
assert_eq "paused server: it gives up within 20 s (read timeout 2 s)" 1 "$(( secs <= 20 ))"
assert_grep "paused server: the error names the server" "mysql://jobads@127.0.0.1:$MY_PORT/$AN_DB" "$WORK/stop.err"
assert_grep "paused server: the error says why" 'Lost connection|timed out|timeout|gone away' "$WORK/stop.err"
at=$(cursor)
assert_eq "the pause landed mid-run" 1 "$(( at > before && at < total ))"
consistent "after the pause"
assert_status "the next run completes" 0 jobads etl --quiet
assert_eq "cursor at the newest event" "$total" "$(cursor)"
consistent "after the run that followed the pause"

# --- kill -9 mid-ingest into a MySQL event store
EV_URL="$MY_URL/$(my_db ev_ingest)"
jobads generate --count 400000 --days 5 --seed 43 --output big.ndjson --quiet
assert_status "init the event store" 0 jobads init --events "$EV_URL" --analytics "sqlite:$WORK/scratch.db"
commas() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
ing_count() { my "$(my_db ev_ingest)" -N -B -e 'SELECT COUNT(*) FROM tracking' 2>/dev/null || echo 0; }
"$JOBADS" ingest --events "$EV_URL" big.ndjson >"$WORK/ing.out" 2>"$WORK/ing.err" &
ing=$!
for i in $(seq 1 400); do [ "$(ing_count)" -gt 0 ] && break; sleep 0.025; done
kill -9 "$(server_pid)"
status=0
wait $ing || status=$?
assert_eq "killed server: the ingest fails (exit 1)" 1 "$status"
assert_grep "killed server: the ingest error names the server" "mysql://jobads@127.0.0.1:$MY_PORT/$(my_db ev_ingest)" "$WORK/ing.err"
assert_grep "killed server: it says the batch was rolled back" "rolled back" "$WORK/ing.err"
reported=$(sed -n 's/^ingest: \([0-9,]*\) stored.*/\1/p' "$WORK/ing.err" | tr -d ,)
"$MARIADB_SH" start "$SERVER_DIR"
held=$(ing_count)
echo "the server was killed with $held of 400000 events stored, $reported reported" >&2
assert_eq "the kill landed mid-ingest" 1 "$(( held > 0 && held < 400000 ))"
# a commit the server made durable just before it died may not have been confirmed
assert_eq "the ingest reported no more than the table holds" 1 "$(( ${reported:-0} <= held ))"
assert_status "ingest the file again" 0 jobads ingest --events "$EV_URL" big.ndjson
assert_grep "the rest is stored, what was there counted as duplicates" \
    "^ingest: $(commas $((400000 - held))) stored, $(commas "$held") duplicates" "$WORK/last.err"
assert_eq "every event once" 400000 "$(my "$(my_db ev_ingest)" -N -B -e 'SELECT COUNT(DISTINCT event_id) FROM tracking')"
assert_status "etl from it" 0 jobads etl --quiet --events "$EV_URL?settle=0" --analytics "sqlite:$WORK/after.db"
assert_status "verify" 0 jobads verify --events "$EV_URL" --analytics "sqlite:$WORK/after.db"
assert_grep "verify says ok" '^verify: ok' "$WORK/last.out"
finish
