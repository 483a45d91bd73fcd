# Crash safety: kill -9 the ETL at least 20 times at varied moments of a long
# run, then let it finish: verify passes, no event lost, none counted twice.
source "$(dirname "$0")/lib.sh" "$@"

# JOBADS_TEST_CRASH_EVENTS: fewer for a store that takes events slowly (the
# real Cassandra node, @cassandra-real: about 2,500 events/s here, so 600,000
# would take four minutes to write); each top-up below is a sixth of it.
n_events=${JOBADS_TEST_CRASH_EVENTS:-600000}
assert_status "generate" 0 jobads generate --count "$n_events" --days 30 --seed 7 --quiet
total=$(events_count)
newest=$(newest_seq)
# the analytics store exists before the first kill, so that etl_runs can be polled
assert_status "init" 0 jobads init
kills=0
recorded=0 # kills that landed in a run already recorded in etl_runs
attempts=0
RANDOM=42
topups=0
# Until 25 kills have landed and work is left: a fast store (MySQL after the
# merges got through 26k events per attempt) may finish every event before the
# 25th kill, so more events are written then instead of counting on timing.
while [ $attempts -lt 200 ]; do
    attempts=$((attempts + 1))
    at=$(cursor 2>/dev/null || echo 0)
    [ $kills -ge 25 ] && [ "$at" != "$newest" ] && break
    if [ "$at" == "$newest" ]; then
        topups=$((topups + 1))
        assert_status "more events ($topups)" 0 \
            jobads generate --count $((n_events / 6)) --days 30 --seed $((7 + topups)) --quiet
        total=$(events_count)
        newest=$(newest_seq)
    fi
    last_run=$(an_sql 'SELECT COALESCE(MAX(id), 0) FROM etl_runs')
    "$JOBADS" etl --chunk 200 --quiet 2>/dev/null &
    pid=$!
    # Four kills in five wait (up to 10 s) until the run is recorded, so that the
    # count of runs marked failed below does not depend on how fast a process
    # starts (under ASan on a loaded machine every kill once landed before it);
    # the fifth may land at any moment from right after start (opening, locking).
    in_run=0
    if [ $((attempts % 5)) -ne 1 ]; then
        for _ in $(seq 200); do
            if [ "$(an_sql "SELECT COUNT(*) FROM etl_runs WHERE id > $last_run")" != 0 ]; then
                in_run=1
                break
            fi
            kill -0 $pid 2>/dev/null || break
            sleep 0.05
        done
    fi
    # varied moments: from the first read to deep in a run
    delay=$(printf '0.%03d' $((RANDOM % 30 + 3)))
    sleep "$delay"
    if kill -9 $pid 2>/dev/null; then
        kills=$((kills + 1))
        recorded=$((recorded + in_run))
    fi
    wait $pid 2>/dev/null || true
done
echo "killed the ETL $kills times in $attempts attempts, $recorded in a recorded run; cursor $(cursor) of $total ($topups top-ups)" >&2
assert_eq "at least 20 kills landed in a running ETL" 1 "$(( kills >= 20 ))"
assert_eq "at least 15 of them in a run already recorded" 1 "$(( recorded >= 15 ))"
assert_eq "the kills left work to do" 1 "$(( $(cursor) < newest ))"
assert_verify "after the kills, before finishing"
assert_views_match "after the kills"
assert_status "finish the run" 0 jobads etl --quiet
assert_eq "cursor reaches the newest event" "$newest" "$(cursor)"
assert_eq "every event counted once" "$total" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after finishing"
assert_views_match "after finishing"
# a killed run holds the run lock and its etl_runs row says 'running': the next
# run takes the lock from the dead process and marks those rows failed
assert_eq "no run is left 'running' after the kills" 0 \
    "$(an_sql "SELECT COUNT(*) FROM etl_runs WHERE state = 'running'")"
died=$(an_sql "SELECT COUNT(*) FROM etl_runs WHERE state = 'failed' AND error LIKE '%died%'")
assert_eq "killed runs are marked failed, saying why ($died of $kills kills, $recorded recorded)" 1 \
    "$(( died >= recorded && died <= kills ))"
assert_eq "the run lock is free" "" "$(an_sql 'SELECT owner FROM etl_lock')"

# SIGTERM stops cleanly between chunks and leaves a consistent state
assert_status "rebuild" 0 jobads rebuild --chunk 100000 --quiet
an_sql 'DELETE FROM fact_hourly; DELETE FROM dim_publisher; UPDATE etl_state SET `cursor` = 0'
"$JOBADS" etl --chunk 1000 >"$WORK/term.out" 2>&1 &
pid=$!
sleep 0.3
kill -TERM $pid
status=0
wait $pid || status=$?
assert_eq "SIGTERM: exit status 0" 0 "$status"
assert_verify "after SIGTERM"
finish
