# The scheduler and the run lock: slots and logs, one run at a time across
# processes (a manual etl, two schedulers), a killed scheduler's run marked
# failed, SIGTERM and SIGHUP, retries with backoff while the analytics store is
# unavailable (a SQLite file made unwritable, or the MariaDB server stopped),
# and the per-run timeout. Runs on every backend (lib.sh).
source "$(dirname "$0")/lib.sh" "$@"
# with the analytics store on MySQL, this test stops and starts its own server
[ "$AN_KIND" != mysql ] || use_private_server

# Runs as an unprivileged user where the test runs as root: root ignores file
# modes, and one check makes the analytics store unwritable with chmod.
chmod 777 "$WORK"
AS=()
if [ "$(id -u)" -eq 0 ]; then
    AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
jobads() { "${AS[@]}" "$JOBADS" "$@"; }
# the test's own sqlite3 runs as that user too: a root sqlite3 that finds no WAL
# creates the -wal and -shm files root-owned, and every jobads run after it then
# fails with "attempt to write a readonly database"
sq() { "${AS[@]}" sqlite3 -batch -bail "$@"; }
bg_jobads() { "${AS[@]}" "$JOBADS" "$@" & }
HOST=$(hostname)
# this machine's boot and pid namespace, as lock owners name them (src/core/owner.c)
SPACE="$(tr -d '-' </proc/sys/kernel/random/boot_id | cut -c1-16)-$(readlink /proc/self/ns/pid | tr -dc 0-9)"
OWNER_RE="$HOST:[0-9]+:[0-9a-f]{16}-[0-9]+:[0-9a-f]{16}"
running() { an_sql "SELECT COUNT(*) FROM etl_runs WHERE state = 'running'"; }
run_recorded() { [ "$(running)" = 1 ]; }
max_seq() { ev_sql 'SELECT MAX(seq) FROM tracking'; }
lock_owner() { an_sql 'SELECT owner FROM etl_lock'; }
# unix ms of a timestamp as either store prints it (ISO text, or DATETIME(3))
to_ms() { date -u -d "$1" +%s%3N; }
# the rows of a query on one line, rows separated by spaces
rows() { echo $(an_sql "$@"); }
# wait_for WHAT SECONDS command...: poll until the command succeeds
wait_for() {
    local what=$1 secs=$2 i=0
    shift 2
    while ! "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt $((secs * 20)) ]; then
            fail "timed out after ${secs}s waiting for: $what"
            return 1
        fi
        sleep 0.05
    done
}

# --- usage errors: exit status 2 and a message naming the problem
assert_status "no --every or --cron" 2 jobads schedule
assert_grep "says what it wants" 'give one of --every' "$WORK/last.err"
assert_status "both --every and --cron" 2 jobads schedule --every 1m --cron '* * * * *'
assert_status "bad cron: minute 61" 2 jobads schedule --cron '61 * * * *'
assert_grep "bad cron names the field" "field 1 \(minute\): 61 is out of range 0-59" "$WORK/last.err"
assert_status "bad cron: four fields" 2 jobads schedule --cron '*/5 * * *'
assert_grep "bad cron: field count" '4 fields, want five' "$WORK/last.err"
assert_status "bad cron: a name in the wrong field" 2 jobads schedule --cron '0 mon * * *'
assert_status "bad interval" 2 jobads schedule --every 0s
assert_status "bad retries" 2 jobads schedule --every 1m --retries -1

# --- slots, key=value logs, runs recorded with trigger schedule
assert_status "generate" 0 jobads generate --count 5000 --days 3 --seed 11 --quiet
assert_status "two slots" 0 jobads schedule --every 1s --slots 2 --log-file "$WORK/s.log"
assert_eq "two run_start lines" 2 "$(grep -c 'level=info event=run_start trigger=schedule attempt=1' s.log)"
assert_grep "run_end with counts" "event=run_end run=[0-9]+ state=success events=5000 groups=[0-9]+ cursor_from=0 cursor_to=5000" s.log
assert_grep "start line names the owner" "event=scheduler_start owner=$OWNER_RE every_s=1" s.log
assert_eq "two schedule runs recorded" "success|5000 success|0" \
    "$(rows "SELECT state, events_read FROM etl_runs WHERE \`trigger\` = 'schedule' ORDER BY id")"
# the slots as the log has them (a run's started_at comes after its stores are open,
# which on a first MySQL connection took 137 ms and made the gap look like 867 ms)
first_start=$(grep 'event=run_start' s.log | sed -n '1s/^ts=\([^ ]*\) .*/\1/p')
last_start=$(grep 'event=run_start' s.log | sed -n '2s/^ts=\([^ ]*\) .*/\1/p')
gap=$(( $(to_ms "$last_start") - $(to_ms "$first_start") ))
assert_eq "the slots were a second apart (${gap} ms)" 1 "$(( gap >= 900 && gap <= 1600 ))"
assert_eq "the lock is free after" "" "$(lock_owner)"
assert_status "runs --json" 0 jobads runs --json --limit 1
assert_grep "runs --json has the owner" "\"owner\": \"$OWNER_RE\"" "$WORK/last.out"
assert_verify "after scheduled runs"

# --- a version 1 analytics store (before the run lock) is upgraded in place
if [ "$AN_KIND" = sqlite ]; then
    sq analytics.db 'DROP TABLE etl_lock; DROP INDEX etl_runs_state;
        ALTER TABLE etl_runs DROP COLUMN owner; PRAGMA user_version = 1'
    assert_status "runs on a version 1 store" 0 jobads runs --limit 1
    assert_eq "upgraded to the current version (6: campaigns)" 6 "$(sq analytics.db 'PRAGMA user_version')"
    assert_eq "with the lock table, the owner column and the index" "1|1|1" \
        "$(sq analytics.db "SELECT (SELECT COUNT(*) FROM etl_lock),
            (SELECT COUNT(*) FROM pragma_table_info('etl_runs') WHERE name = 'owner'),
            (SELECT COUNT(*) FROM sqlite_master WHERE name = 'etl_runs_state')")"
    assert_eq "and the history kept" "success|5000 success|0" \
        "$(rows "SELECT state, events_read FROM etl_runs WHERE \`trigger\` = 'schedule' ORDER BY id")"
fi

# --- the run lock, held by someone else
lock() { an_sql "UPDATE etl_lock SET owner = '$1', acquired_ms = 1000, expires_ms = $2"; }
far=$(( $(date +%s) * 1000 + 3600000 ))
assert_status "generate more" 0 jobads generate --count 100 --seed 12 --quiet
lock "otherhost:4242" "$far"
before=$(an_sql 'SELECT COUNT(*) FROM etl_runs')
assert_status "manual etl while another host holds the lock" 3 jobads etl
assert_grep "says a run is in progress and by whom" 'a run is in progress by otherhost:4242' "$WORK/last.err"
assert_status "a scheduler slot while the lock is held" 0 jobads schedule --every 1s --slots 1
assert_grep "the slot is skipped, naming the holder" 'event=run_skipped reason="a run is in progress" holder=otherhost:4242' "$WORK/last.err"
assert_eq "nothing was run or recorded" "$before 5000" "$(echo $(an_sql 'SELECT COUNT(*) FROM etl_runs') $(cursor))"
lock "$HOST:$$:$SPACE:00000000000000aa" "$far" # this shell: a live process here
assert_status "a live local holder keeps the lock" 3 jobads etl
facts=$(an_sql 'SELECT COUNT(*), SUM(records) FROM fact_hourly')
assert_status "rebuild waits for the lock too" 3 jobads rebuild
assert_grep "rebuild says so" '^jobads: rebuild: a run is in progress by' "$WORK/last.err"
assert_eq "and empties nothing" "$facts 5000" "$(an_sql 'SELECT COUNT(*), SUM(records) FROM fact_hourly') $(cursor)"
lock "otherhost:4242" $(( $(date +%s) * 1000 - 1000 ))
assert_status "an expired lease is taken over" 0 jobads etl --quiet
assert_eq "and the run applied" "$(max_seq)" "$(cursor)"
sleep 0.01 &
deadpid=$!
wait $deadpid
lock "$HOST:$deadpid:$SPACE:00000000000000bb" "$far"
assert_status "generate again" 0 jobads generate --count 100 --seed 13 --quiet
assert_status "a dead local holder's lock is taken at once" 0 jobads etl --quiet
assert_eq "and that run applied" "$(max_seq)" "$(cursor)"

# --- kill -9 the scheduler in the middle of a run
assert_status "a long backlog" 0 jobads generate --count 300000 --days 10 --seed 14 --quiet
bg_jobads schedule --every 1h --chunk 200 --log-file "$WORK/k.log"
pid=$!
# killed once the run is recorded (run_start is logged before the stores open,
# which can take longer than a fixed sleep on a loaded machine)
wait_for "the scheduler's run to be recorded" 30 run_recorded
sleep 0.1
kill -9 $pid
wait $pid 2>/dev/null || true
assert_eq "the killed run is left 'running'" 1 "$(running)"
assert_eq "with part of the backlog applied" 1 "$(( $(cursor) < $(max_seq) ))"
assert_grep "the dead scheduler still holds the lock" "^$OWNER_RE$" <(lock_owner)
assert_status "a restarted scheduler" 0 jobads schedule --every 1h --slots 1 --log-file "$WORK/k2.log"
assert_grep "it marks the old run failed" 'level=warn event=stale_runs_failed count=1' k2.log
assert_grep "and goes on" 'event=run_end run=[0-9]+ state=success' k2.log
assert_eq "no run is left running" 0 "$(running)"
assert_eq "the killed run is failed, saying why" 1 \
    "$(an_sql "SELECT COUNT(*) FROM etl_runs WHERE state = 'failed' AND error LIKE '%process running it died%'")"
assert_eq "the backlog is done" "$(max_seq)" "$(cursor)"
assert_verify "after kill -9 of the scheduler"
assert_views_match "after kill -9 of the scheduler"

# --- SIGTERM in the middle of a run: the chunk finishes, the run is recorded, exit 0
assert_status "another backlog" 0 jobads generate --count 300000 --days 10 --seed 15 --quiet
bg_jobads schedule --every 1h --chunk 200 --log-file "$WORK/t.log"
pid=$!
wait_for "the run to be recorded" 30 run_recorded
sleep 0.1
kill -TERM $pid
status=0
wait $pid || status=$?
assert_eq "SIGTERM: exit status 0" 0 "$status"
assert_grep "the run ends, stopped by the signal" 'event=run_end .*state=success .*stopped=yes' t.log
assert_grep "the scheduler says why it stopped" 'event=scheduler_stop reason=signal' t.log
assert_eq "the run is recorded, not left running" 0 "$(running)"
assert_eq "the lock is released" "" "$(lock_owner)"
assert_eq "the stop came before the end of the backlog" 1 "$(( $(cursor) < $(max_seq) ))"
assert_verify "after SIGTERM"

# --- the per-run timeout: the run stops between chunks and fails (no retry left)
assert_status "a backlog that takes more than a second in chunks of 20" 0 \
    jobads generate --count 400000 --days 10 --seed 18 --quiet
before_timeout=$(cursor)
assert_status "a timed-out run" 0 jobads schedule --every 1h --slots 1 --chunk 20 --timeout 1s \
    --retries 0 --log-file "$WORK/to.log"
assert_grep "the timeout is logged as the failure" 'event=run_end .*state=failed .*error="timed out after 1\.[0-9] s' to.log
assert_eq "and recorded" 1 "$(an_sql "SELECT COUNT(*) FROM etl_runs WHERE state = 'failed' AND error LIKE 'timed out%'")"
assert_verify "after a timeout"
# what one second of chunks of 20 applies on this backend, to size the next backlog:
# the run's events over its recorded time (which starts once the stores are open,
# so that a slow first connection does not make the backend look slow)
ts_of() { to_ms "$(an_sql "SELECT $1 FROM etl_runs WHERE id = $2")"; }
to_run=$(an_sql 'SELECT MAX(id) FROM etl_runs')
to_ms_taken=$(( $(ts_of finished_at $to_run) - $(ts_of started_at $to_run) ))
per_second=$(( ($(cursor) - before_timeout) * 1000 / (to_ms_taken > 0 ? to_ms_taken : 1) ))
# stopped while waiting to retry: the attempt recorded as 'retrying' becomes 'failed'
bg_jobads schedule --every 1h --chunk 20 --timeout 1s --retries 2 --retry-delay 60s \
    --log-file "$WORK/r.log"
pid=$!
wait_for "the first attempt to time out" 30 grep -q 'event=run_retry' r.log
kill -TERM $pid
status=0
wait $pid || status=$?
assert_eq "stopped during the backoff: exit status 0" 0 "$status"
assert_grep "logged as failed" 'event=run_end .*state=failed .*error="stopped while waiting to retry"' r.log
assert_eq "no run is left 'retrying' in the history" 0 \
    "$(an_sql "SELECT COUNT(*) FROM etl_runs WHERE state = 'retrying'")"
assert_eq "the attempt is failed, saying it was not retried" 1 \
    "$(an_sql "SELECT COUNT(*) FROM etl_runs WHERE state = 'failed' AND error LIKE 'timed out%not retried: the scheduler was stopped%'")"
assert_status "finish the backlog" 0 jobads etl --quiet

# --- no pile-up: a run that overruns its slots delays the next, and the missed
# slots are skipped, not run back to back once it ends
assert_status "a backlog of about 4 s in chunks of 20" 0 \
    jobads generate --count $(( per_second * 4 )) --days 3 --seed 19 --quiet
first=$(an_sql 'SELECT MAX(id) FROM etl_runs')
assert_status "three 1 s slots, the first with a long backlog" 0 \
    jobads schedule --every 1s --slots 3 --chunk 20 --timeout 0 --log-file "$WORK/o.log"
s1=$(ts_of started_at $((first + 1))) f1=$(ts_of finished_at $((first + 1)))
s2=$(ts_of started_at $((first + 2))) s3=$(ts_of started_at $((first + 3)))
d1=$((f1 - s1)) g12=$((s2 - f1)) g23=$((s3 - s2))
echo "overrun: first run ${d1} ms, then ${g12} ms to the next start, ${g23} ms between the next two" >&2
assert_eq "the first run overran its slot" 1 "$(( d1 > 1000 ))"
assert_eq "the next run waited for it" 1 "$(( g12 >= 0 ))"
assert_eq "the missed slots were skipped, not run in a burst" 1 "$(( g23 >= 900 ))"
assert_eq "and the backlog is done" "$(max_seq)" "$(cursor)"

# --- SIGHUP reopens the log file (for logrotate)
bg_jobads schedule --every 1s --log-file "$WORK/h.log"
pid=$!
wait_for "a first run" 30 grep -q 'event=run_end' h.log
mv h.log h.log.1
kill -HUP $pid
wait_for "a new log file after SIGHUP" 30 grep -q 'event=log_reopened' h.log
wait_for "runs logged in the new file" 30 grep -q 'event=run_end' h.log
kill -TERM $pid
wait $pid || true
assert_grep "the old file kept its lines" 'event=scheduler_start' h.log.1
assert_grep "the new file has the stop" 'event=scheduler_stop reason=signal' h.log

# --- the analytics store unavailable: retries with backoff, recorded as retrying then
# failed (once the store is back), and the next slot succeeds. SQLite: the file made
# unwritable; MySQL: the server stopped.
assert_status "new events" 0 jobads generate --count 2000 --seed 16 --quiet
runs_before=$(an_sql 'SELECT MAX(id) FROM etl_runs')
if [ "$AN_KIND" = mysql ]; then
    "$MARIADB_SH" stop "$SERVER_DIR"
    down_error='Can.t connect|Lost connection|gone away'
else
    chmod 444 analytics.db
    down_error='readonly'
fi
bg_jobads schedule --every 6s --slots 2 --retries 2 --retry-delay 1s --log-file "$WORK/u.log"
pid=$!
wait_for "the slot's last attempt to fail" 30 grep -q 'event=run_end .*state=failed' u.log
if [ "$AN_KIND" = mysql ]; then
    "$MARIADB_SH" start "$SERVER_DIR"
else
    chmod 644 analytics.db analytics.db-* 2>/dev/null || chmod 644 analytics.db
fi
status=0
wait $pid || status=$?
assert_eq "the scheduler exits 0 after its slots" 0 "$status"
assert_eq "two retries were logged" 2 "$(grep -c 'level=warn event=run_retry' u.log)"
assert_grep "the first retry waits 1 s" "event=run_retry run=- attempt=1 delay_s=1 transient=yes error=\".*($down_error)" u.log
assert_grep "the second waits 2 s (backoff)" 'event=run_retry run=- attempt=2 delay_s=2 ' u.log
assert_grep "the next slot succeeds" 'event=run_end run=[0-9]+ state=success events=2000 ' u.log
assert_eq "the attempts are recorded once the store is back" "retrying|1 retrying|2 failed|3 success|1" \
    "$(rows "SELECT state, attempt FROM etl_runs WHERE id > $runs_before ORDER BY id")"
assert_grep "with the error" "$down_error" <(an_sql "SELECT error FROM etl_runs WHERE id = $runs_before + 1")
assert_verify "after the store came back"

# --- two schedulers for a while, with events flowing in: never two runs at once
bg_jobads generate --follow --rate 3000 --seed 17 --quiet
gen=$!
bg_jobads schedule --every 1s --chunk 300 --log-file "$WORK/a.log"
s1=$!
sleep 0.5 # slots half a second apart, so that each gets runs; they still contend at start
bg_jobads schedule --every 1s --chunk 300 --log-file "$WORK/b.log"
s2=$!
sleep 8
kill -TERM $gen
wait $gen || true
kill -TERM $s1 $s2
wait $s1 || true
wait $s2 || true
assert_status "a last manual run" 0 jobads etl --quiet
assert_eq "both schedulers ran" 2 \
    "$(an_sql "SELECT COUNT(DISTINCT owner) FROM etl_runs WHERE \`trigger\` = 'schedule' AND id > $runs_before + 4")"
assert_eq "no two runs overlap in time" 0 \
    "$(an_sql "SELECT COUNT(*) FROM etl_runs a JOIN etl_runs b ON a.id < b.id WHERE a.started_at < b.finished_at AND b.started_at < a.finished_at")"
assert_eq "none left running" 0 "$(running)"
assert_eq "every event counted once" "$(events_count)" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after two schedulers"
assert_views_match "after two schedulers"
finish
