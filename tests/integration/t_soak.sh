# Soak: a pipeline as it runs in production, for SOAK_SECONDS (default 25).
# A live feed piped into `jobads ingest` (default batch size, as `tail -F log |
# jobads ingest` would run), a client POSTing batches to `jobads serve` and
# retrying until it gets a 200, and `jobads schedule --every 1s`, all at once;
# every few seconds one of them is killed with SIGKILL and started again (the
# feed then re-sends from a little before where it was, as a collector that
# keeps a checkpoint would). A tenth of the POSTed events are also in the feed:
# duplicates across writers and batches. At the end every event written is
# counted exactly once: verify, the SQL recompute of the seed-compatible views,
# and a recompute in Python from the lines the writers sent.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh" "$@"

SOAK_SECONDS=${SOAK_SECONDS:-25}
CLIENTS="$HERE/soak_clients.py"
FEED_RATE=150    # lines/s into the pipe
POST_BATCH=40
POST_RATE=5      # requests/s
# Lines a restarted feed re-sends: 4 s of feed. A live ingest must commit well
# within that (a batch closes when its input stalls or it is 2 s old); one that
# keeps its batch open until --batch rows loses what the rewind does not cover.
REWIND=600

if [ "$EV_KIND" = cassandra ]; then
    # several writers at once: the ETL must wait for buckets to settle
    CQL_PARAMS="settle=2&bucket=1"
    export JOBADS_EVENTS=$(ev_url events)
fi
settle_wait=1
case $EV_KIND in mysql) settle_wait=6 ;; cassandra) settle_wait=4 ;; esac

assert_status "init" 0 jobads init
jobads generate --count 20000 --days 2 --seed 101 --output feed.ndjson 2>/dev/null
jobads generate --count 20000 --days 3 --seed 202 --output post.src 2>/dev/null
# every tenth POSTed line is one the feed also sends
python3 - feed.ndjson post.src post.ndjson <<'PY'
import sys
feed = open(sys.argv[1]).read().splitlines()
post = open(sys.argv[2]).read().splitlines()
with open(sys.argv[3], "w") as out:
    for i, line in enumerate(post):
        out.write((feed[i] if i % 10 == 9 else line) + "\n")
PY

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p state
STOP=$WORK/state/stop
FEED_PID="" INGEST_PID="" SERVE_PID="" SCHED_PID="" POST_PID=""

start_feed() {
    local from=$1
    rm -f feed.fifo
    mkfifo feed.fifo
    python3 "$CLIENTS" feed feed.ndjson "$from" state "$STOP" "$FEED_RATE" >feed.fifo &
    FEED_PID=$!
    "$JOBADS" ingest --quiet <feed.fifo 2>>ingest.err &
    INGEST_PID=$!
}
start_serve() {
    "$JOBADS" serve --listen "127.0.0.1:$PORT" >>serve.out 2>>serve.err &
    SERVE_PID=$!
}
start_sched() {
    "$JOBADS" schedule --every 1s --retries 100 --retry-delay 1s --retry-max 1s --log-file sched.log &
    SCHED_PID=$!
}
cleanup() {
    local p
    for p in $FEED_PID $INGEST_PID $SERVE_PID $SCHED_PID $POST_PID ${CQLSRV_PID:-}; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT

start_feed 0
start_serve
start_sched
python3 "$CLIENTS" post post.ndjson "http://127.0.0.1:$PORT/api/events" state "$STOP" "$POST_BATCH" "$POST_RATE" 2>>post.err &
POST_PID=$!

kills_ingest=0 kills_serve=0 kills_sched=0 round=0
RANDOM=7
end=$((SECONDS + SOAK_SECONDS))
while [ $SECONDS -lt $end ]; do
    sleep "$((2 + RANDOM % 2)).$((RANDOM % 10))"
    # each writer in turn: the ingest is killed every 6 to 9 s
    victim=$((round++ % 3))
    case $victim in
    0)
        kill -KILL "$INGEST_PID" 2>/dev/null || true
        wait "$INGEST_PID" 2>/dev/null || true
        wait "$FEED_PID" 2>/dev/null || true # it dies of EPIPE at its next line
        pos=$(cat state/pos 2>/dev/null || echo 0)
        from=$((pos > REWIND ? pos - REWIND : 0))
        start_feed "$from"
        kills_ingest=$((kills_ingest + 1))
        echo "soak: $(date +%T) killed ingest, feed restarted at line $from" >>kills.log
        ;;
    1)
        kill -KILL "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
        start_serve
        kills_serve=$((kills_serve + 1))
        echo "soak: $(date +%T) killed serve" >>kills.log
        ;;
    2)
        kill -KILL "$SCHED_PID" 2>/dev/null || true
        wait "$SCHED_PID" 2>/dev/null || true
        start_sched
        kills_sched=$((kills_sched + 1))
        echo "soak: $(date +%T) killed schedule" >>kills.log
        ;;
    esac
done
echo "soak: $SOAK_SECONDS s, killed ingest $kills_ingest, serve $kills_serve, schedule $kills_sched times" >&2

# Stop: the writers finish what they have in hand, then the scheduler and the server.
touch "$STOP"
rc=0
wait "$POST_PID" || rc=$?
assert_eq "the HTTP client got every batch it sent confirmed (post.err: $(tail -c 300 post.err 2>/dev/null))" 0 "$rc"
POST_PID=""
rc=0
wait "$FEED_PID" || rc=$?
assert_eq "the last feed ran to its end" 0 "$rc"
FEED_PID=""
rc=0
wait "$INGEST_PID" || rc=$?
# rejects are not expected: every line is a valid event
assert_eq "the last ingest committed and exited 0 ($(tail -c 300 ingest.err))" 0 "$rc"
INGEST_PID=""
kill -TERM "$SCHED_PID"
rc=0
wait "$SCHED_PID" || rc=$?
assert_eq "schedule stops on SIGTERM with exit 0" 0 "$rc"
SCHED_PID=""
kill -TERM "$SERVE_PID" 2>/dev/null || true
wait "$SERVE_PID" || true
SERVE_PID=""

# Let the last commits settle, then process everything.
sleep "$settle_wait"
assert_status "final etl" 0 jobads etl --quiet
assert_eq "the cursor reached the newest event" "$(newest_seq)" "$(cursor)"
assert_verify "after the soak"
assert_views_match "after the soak"

# What the writers sent: the feed's lines up to where it ended, the POSTed lines
# the server confirmed. Each distinct event once, recomputed here from the lines.
fed=$(cat state/max)
acked=$(cat state/acked)
echo "soak: fed $fed lines, POSTed $acked confirmed, $(cat state/retries 2>/dev/null || echo 0) retried requests" >&2
expect=$(python3 - feed.ndjson "$fed" post.ndjson "$acked" <<'PY'
import json, sys
from decimal import Decimal, ROUND_HALF_UP
events = {}
for path, n in ((sys.argv[1], int(sys.argv[2])), (sys.argv[3], int(sys.argv[4]))):
    with open(path) as f:
        for i, line in zip(range(n), f):
            e = json.loads(line)
            events[e["event_id"]] = e
per = {}
for e in events.values():
    c = per.setdefault(e["campaign_id"], [0, 0, 0, 0, 0])
    c[0] += 1
    c[1] += e["impressions"]
    c[2] += e["clicks"]
    c[3] += e["apply_count"]
    c[4] += int((Decimal(str(e["cost"])) * 1000000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
print(len(events))
for k in sorted(per):
    print(k, *per[k])
PY
)
got_n=$(events_count)
assert_eq "every distinct event written is stored once" "$(echo "$expect" | head -1)" "$got_n"
got=$(an_sql 'SELECT campaign_id, SUM(records), SUM(impressions), SUM(clicks), SUM(applies), SUM(cost_micros) FROM fact_hourly GROUP BY campaign_id ORDER BY campaign_id' | tr '|' ' ')
assert_eq "facts per campaign equal the recompute from the lines sent" "$(echo "$expect" | tail -n +2)" "$got"
[ "$kills_ingest" -gt 0 ] && [ "$kills_serve" -gt 0 ] && [ "$kills_sched" -gt 0 ] && ok ||
    fail "the soak killed every kind of writer (ingest $kills_ingest, serve $kills_serve, schedule $kills_sched)"
# One writer's open batch must not hold up another: the HTTP client had every
# batch confirmed within a few seconds, restarts of the server included.
slowest=$(cat state/slowest)
assert_eq "slowest POST batch confirmed within 4 s (took $slowest s)" 1 "$(python3 -c "print(int($slowest < 4))")"
finish
