# Server faults: the MariaDB server holding the analytics store is killed with
# SIGKILL in the middle of an ETL run, and later paused with SIGSTOP beyond the
# connection's read timeout. Each time the run fails with a clear error naming
# the server, nothing is half-applied (the facts hold exactly the events up to
# the cursor), and after the server is back the next run completes and verify
# passes. Runs on a private server in WORK/server, since it kills it.
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
finish
