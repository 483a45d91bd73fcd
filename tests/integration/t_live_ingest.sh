# A live pipeline: `jobads ingest` reading a pipe that stays open (as under
# `tail -F log | jobads ingest`). What it has read is committed while the pipe
# is open, once the input stalls, so that other writers are not held up (on
# SQLite a batch left open held the write lock: a concurrent writer failed
# with "database is locked"); "now" for the future-timestamp rule is when a
# record is read, not when the process started; SIGTERM stops it at once,
# committing what it read; and CSV quoted fields of many lines are joined in
# linear time. POST /api/events is not held up either.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"

jobads generate --count 300 --seed 5 --output live.ndjson --quiet
jobads generate --count 10 --seed 7 --output posted.ndjson --quiet

# since T0: seconds from T0 (date +%s.%N) to now; lt A B: 1 when A < B
since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", t1 - t0 }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? 1 : 0 }'; }

# start_live NAME [ingest options...]: ingest from the FIFO NAME.fifo, kept open on fd 3
start_live() {
    local name=$1
    shift
    rm -f "$name.fifo"
    mkfifo "$name.fifo"
    "$JOBADS" ingest "$@" <"$name.fifo" >"$name.out" 2>"$name.err" &
    LIVE_PID=$!
    exec 3>"$name.fifo"
    LIVE_T0=$(date +%s.%N)
}

# wait_count N SECONDS: until the store holds N events; prints how long it took
wait_count() {
    local want=$1 secs=$2 t0 i
    t0=$(date +%s.%N)
    for i in $(seq 1 $((secs * 10))); do
        [ "$(events_count)" -ge "$want" ] && break
        sleep 0.1
    done
    since "$t0"
}

# --- what was read is stored while the pipe stays open
start_live a
head -100 live.ndjson >&3
wait_count 100 5 >/dev/null
assert_eq "stored while the pipe is open" 100 "$(events_count)"

# --- another writer is not held up by the open pipe
t0=$(date +%s.%N)
assert_status "a concurrent writer while the pipe is open" 0 jobads generate --count 100 --seed 6
took=$(since "$t0")
assert_eq "it did not wait for the pipe's batch (took $took s)" 1 "$(lt "$took" 5)"
# ... nor is POST /api/events (old code: 503 "database is locked" after 10 s)
serve_start
t0=$(date +%s.%N)
assert_eq "POST while the pipe is open" 200 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' --data-binary @posted.ndjson)"
took=$(since "$t0")
assert_eq "POST: not held up (took $took s)" 1 "$(lt "$took" 5)"
assert_eq "POST: stored" 10 "$(jget 'j["accepted"]')"
serve_stop
sed -n '101,300p' live.ndjson >&3
wait_count 410 5 >/dev/null
assert_eq "the rest of the pipe stored, the pipe still open" 410 "$(events_count)"

# --- "now" is when a record is read: an event 59 min 57 s ahead, sent 6 s after
# the start, is within the hour of its own reading (not of the process start)
while [ "$(lt "$(since "$LIVE_T0")" 6)" = 1 ]; do sleep 0.2; done
ahead=$(python3 -c 'import datetime as d; print((d.datetime.now(d.timezone.utc) + d.timedelta(minutes=59, seconds=57)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:23] + "Z")')
echo "{\"event_id\":\"9e1c2d3a-0000-4000-8000-00000000a001\",\"ts\":\"$ahead\",\"publisher_id\":2,\"publisher_name\":\"Google Ads\",\"job_id\":1,\"campaign_id\":101,\"industry\":\"IT\",\"location\":\"HCM\",\"device\":\"mobile\",\"impressions\":10,\"clicks\":1,\"apply_count\":0,\"cost\":1,\"quality_score\":50}" >&3
wait_count 411 5 >/dev/null
assert_eq "an event just under an hour ahead of its reading is stored" 1 \
    "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE $(ev_id) = '9e1c2d3a-0000-4000-8000-00000000a001'")"

exec 3>&-
rc=0
wait "$LIVE_PID" || rc=$?
assert_eq "the pipe closed: ingest ends" 0 "$rc"

# --- SIGTERM with the pipe open: stops at once, what it read is committed (a
# batch that would stay open for a minute, so only the stop can commit it)
start_live c --stall 60 --max-age 60
sed -n 1p live.ndjson | sed 's/"event_id":"[^"]*"/"event_id":"9e1c2d3a-0000-4000-8000-00000000a002"/' >&3
sleep 1
kill -TERM "$LIVE_PID"
t0=$(date +%s.%N)
for i in $(seq 1 50); do kill -0 "$LIVE_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$LIVE_PID" 2>/dev/null; then
    fail "ingest still running 5 s after SIGTERM, its pipe open"
    kill -KILL "$LIVE_PID"
else
    ok
fi
rc=0
wait "$LIVE_PID" || rc=$?
exec 3>&-
took=$(since "$t0")
assert_eq "SIGTERM: stopped within 3 s (took $took s)" 1 "$(lt "$took" 3)"
assert_eq "SIGTERM: exit status" 0 "$rc"
assert_grep "SIGTERM: says so" '1 stored.*stopped by signal' c.err
assert_eq "SIGTERM: the record read was committed" 1 \
    "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE $(ev_id) = '9e1c2d3a-0000-4000-8000-00000000a002'")"
assert_eq "every event once" 412 "$(events_count)"

# --- --stall 0 --max-age 0: the old behaviour on request (one batch until the end)
start_live b --stall 0 --max-age 0
sed -n '1,5p' live.ndjson | sed 's/"event_id":"[0-9a-f]\{8\}/"event_id":"bbbbbbbb/' >&3
sleep 1.5
assert_eq "--stall 0 --max-age 0: nothing committed while the pipe is open" 412 "$(events_count)"
exec 3>&-
wait "$LIVE_PID" || true
assert_eq "--stall 0 --max-age 0: committed at the end" 417 "$(events_count)"
assert_status "--stall wants seconds" 2 jobads ingest --stall soon live.ndjson
assert_grep "--stall: says what it wants" "stall: want seconds" "$WORK/last.err"
assert_status "--max-age wants a bound" 2 jobads ingest --max-age 99999 live.ndjson

# --- CSV records whose quoted field spans 60,000 lines (60 KB) are joined in
# linear time (rescanning the record for each line took 1.5 s a record)
python3 - <<'PY'
import csv, io, json
ev = json.loads(open("live.ndjson").readline())
cols = ["event_id", "ts", "publisher_id", "publisher_name", "job_id", "campaign_id", "industry",
        "location", "device", "impressions", "clicks", "apply_count", "cost", "quality_score"]
with open("long.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(cols + ["notes"])
    for i in range(4):
        ev["event_id"] = "9e1c2d3a-0000-4000-8000-00000000c5c%d" % i
        w.writerow([ev[c] for c in cols] + ["\n" * 60000])
PY
t0=$(date +%s.%N)
assert_status "ingest four CSV fields of 60,000 lines" 0 jobads ingest long.csv
secs=$(since "$t0")
assert_eq "joined in under a second (took $secs s)" 1 "$(lt "$secs" 1)"
assert_eq "stored" 4 "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE $(ev_id) LIKE '9e1c2d3a-0000-4000-8000-00000000c5c%'")"

assert_status "etl" 0 jobads etl --quiet
assert_eq "every event counted once" "$(events_count)" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after the live pipe"
finish
