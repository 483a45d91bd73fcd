# Rows that appear late in a Cassandra event store (issue 12, finding 6), with
# the CQL test server holding a request to make them late:
#  A. a row lands inside a partition the ETL has read: a new process resumes
#     after the last id it read (scan_marks), not at a position, so no row is
#     read twice (by position it re-read one)
#  B. a row write held 8 s, longer than the bound (half the settle time): the
#     writer takes its rows back and writes them at new places, so the ETL,
#     which passed the old place meanwhile, still reads them, once
#  C. a claim round held 8 s: the ids are made again after it, before any row
#     is written, so the rows do not land behind the ETL
#  D. a row write answered "write timeout" that lands 6 s later (a hinted
#     handoff), after the batch was sent again and moved: the move's tombstone
#     shadows the late copy, so the event is stored and counted once
#  E. a writer whose clock is 8 s behind the ETL host's (faketime): ids and
#     the settle horizon follow the cluster's clock, so its rows do not land
#     in buckets the ETL has already read
source "$(dirname "$0")/../lib.sh" "$@"
source "$(dirname "$0")/cqlsrv.sh"
records() { sq "$WORK/$1.db" 'SELECT COALESCE(SUM(records), 0) FROM fact_hourly'; }
stored() { "$CQLTOOL" dump "$1" "$WORK/dump.db" && sq "$WORK/dump.db" 'SELECT COUNT(*) FROM tracking'; }

# A: resume by id
start_srv a
EV="cassandra://127.0.0.1:$PORT/jt_late_a?settle=0&bucket=1"
AN="sqlite:$WORK/an_a.db"
assert_status "A: 100 events" 0 jobads generate --count 100 --seed 1 --quiet --events "$EV"
assert_status "A: first run" 0 jobads etl --quiet --events "$EV" --analytics "$AN"
assert_eq "A: first run read them" 100 "$(records an_a)"
assert_status "A: a row lands before them" 0 "$CQLTOOL" late "$EV"
assert_status "A: 10 more events" 0 jobads generate --count 10 --seed 2 --quiet --events "$EV"
assert_status "A: a new process resumes" 0 jobads etl --quiet --events "$EV" --analytics "$AN"
assert_eq "A: it read the 10 new events and none of the 100 again" 110 "$(records an_a)"
# the late row itself sits behind the cursor: verify says so (preventing such rows is B and C)
assert_status "A: verify sees the row behind the cursor" 1 jobads verify --events "$EV" --analytics "$AN"

# B and C: a request held 8 s while another writer's rows are read past its place
held_write() { # CASE MATCH
    local c=$1 match=$2
    start_srv "$c" --delay-match "$match" --delay-ms 8000 --delay-count 1 --delay-mode answer
    local ev="cassandra://127.0.0.1:$PORT/jt_late_$c?settle=2&bucket=1" an="sqlite:$WORK/an_$c.db"
    assert_status "$c: init" 0 jobads init --events "$ev" --analytics "$an"
    jobads generate --count 50 --seed 11 --quiet --events "$ev" >"$WORK/$c.held.out" 2>&1 &
    local held=$!
    sleep 1.2
    assert_status "$c: another writer, not held" 0 jobads generate --count 50 --seed 12 --quiet --events "$ev"
    # the ETL reads the other writer's rows as soon as they settle, passing the held write's place
    local n=0
    for _ in $(seq 40); do
        jobads etl --quiet --events "$ev" --analytics "$an" >/dev/null 2>&1 || true
        n=$(records "an_$c")
        [ "$n" -ge 50 ] && break
        sleep 0.2
    done
    assert_eq "$c: the ETL read the other writer's rows first" 50 "$n"
    if kill -0 $held 2>/dev/null; then ok; else fail "$c: the held write ended before the ETL passed it"; fi
    local rc=0
    wait $held || rc=$?
    assert_eq "$c: the held writer succeeds" 0 "$rc"
    sleep 3.5 # settle 2 s, buckets of 1 s
    assert_status "$c: the next run" 0 jobads etl --quiet --events "$ev" --analytics "$an"
    assert_eq "$c: every event counted once" 100 "$(records "an_$c")"
    assert_eq "$c: every event stored once" 100 "$(stored "$ev")"
    assert_status "$c: verify" 0 jobads verify --events "$ev" --analytics "$an"
}
held_write b "events_by_bucket (bucket, shard"
held_write c "?, ?, ?, ?, ?) IF NOT EXISTS"
# D: a write reported as failed lands later
start_srv d --delay-match "events_by_bucket (bucket, shard" --delay-ms 6000 --delay-count 1 --delay-mode timeout
EV="cassandra://127.0.0.1:$PORT/jt_late_d?settle=2&bucket=1"
AN="sqlite:$WORK/an_d.db"
assert_status "D: init" 0 jobads init --events "$EV" --analytics "$AN"
assert_status "D: 50 events to send" 0 jobads generate --count 50 --seed 21 --quiet --output "$WORK/d.ndjson"
rc=0
jobads ingest --quiet --events "$EV" "$WORK/d.ndjson" >"$WORK/d1.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] && grep -q 'write timeout' "$WORK/d1.out"; then ok; else fail "D: the first send should fail with a write timeout (rc $rc): $(cat "$WORK/d1.out")"; fi
sleep 1.5 # older than the write bound (1 s): the second send moves the events
assert_status "D: sent again" 0 jobads ingest --quiet --events "$EV" "$WORK/d.ndjson"
sleep 8 # the first write lands (6 s), then settles
assert_status "D: the ETL" 0 jobads etl --quiet --events "$EV" --analytics "$AN"
assert_eq "D: every event counted once" 50 "$(records an_d)"
assert_eq "D: every event stored once" 50 "$(stored "$EV")"
assert_status "D: verify" 0 jobads verify --events "$EV" --analytics "$AN"
# E: a writer's clock behind (libfaketime shifts every clock of that process)
start_srv e
EV="cassandra://127.0.0.1:$PORT/jt_late_e?settle=2&bucket=1"
AN="sqlite:$WORK/an_e.db"
assert_status "E: init" 0 jobads init --events "$EV" --analytics "$AN"
assert_status "E: 50 events" 0 jobads generate --count 50 --seed 31 --quiet --events "$EV"
sleep 3.5
assert_status "E: the ETL reads them" 0 jobads etl --quiet --events "$EV" --analytics "$AN"
assert_eq "E: the first 50" 50 "$(records an_e)"
skewed=$(ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" faketime -f "-8s" \
    "$JOBADS" generate --count 50 --seed 32 --quiet --events "$EV" 2>&1) &&
    ok || fail "E: the writer 8 s behind failed: $skewed"
ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" faketime -f "-8s" date +%s >"$WORK/e.date"
assert_eq "E: faketime puts that writer's clock behind" 1 "$(( $(date +%s) - $(cat "$WORK/e.date") >= 7 ))"
sleep 3.5
assert_status "E: the next run" 0 jobads etl --quiet --events "$EV" --analytics "$AN"
assert_eq "E: every event counted once" 100 "$(records an_e)"
assert_eq "E: every event stored once" 100 "$(stored "$EV")"
assert_status "E: verify" 0 jobads verify --events "$EV" --analytics "$AN"
grep -q 'holding a request' "$WORK/d.srv.log" || fail "D: the server held no request"
grep -q 'holding a request' "$WORK/b.srv.log" && grep -q 'holding a request' "$WORK/c.srv.log" && ok ||
    fail "the server held no request"
finish
