# A long-open ingest batch on a MySQL event store (issue 12, finding 1): a slow
# `jobads ingest` reading a FIFO took seq values with its first chunk (128
# rows), another writer committed later seqs, and once those were older than
# the settle time the ETL passed the open batch's seqs as a rollback: its
# events were stored later but never counted (verify differed for good).
#
# 1. By default the batch commits when its input stalls, pipe still open.
# 2. A batch kept open on purpose (--stall 0 --max-age 0) holds its seqs in
#    jobads_hold, renewed by a heartbeat past the lease: the ETL waits for it
#    however old the rows after it are, and counts it once it commits.
# 3. A writer that died: its hold is passed once its lease ran out.
# 4. A writer stopped (SIGSTOP) past its lease may have been passed: it must
#    not commit then, and says so.
# 5. The row way renews its hold from insert() (no sender thread).
source "$(dirname "$0")/../lib.sh" "$@"

EV_DB=$(my_db ev_events)
# settle 1 s, leases of 3 s: the same protocol as the defaults (5 s, 10 s), faster
EV=$(ev_url events)
export JOBADS_EVENTS="$EV?settle=1&lease=3"

assert_status "init" 0 jobads init
jobads generate --count 1200 --seed 31 --output slow.ndjson --quiet

start_live() { # start_live NAME [ingest options...]: ingest from NAME.fifo, open on fd 3
    local name=$1
    shift
    mkfifo "$name.fifo"
    "$JOBADS" ingest "$@" <"$name.fifo" >"$name.out" 2>"$name.err" &
    LIVE_PID=$!
    exec 3>"$name.fifo"
}
holds() { ev_sql "SELECT COUNT(*) FROM jobads_hold WHERE lease_until > NOW(6)"; }
check_all() { # check_all WHAT: an ETL run reads everything, each event once
    assert_status "$1: etl" 0 jobads etl --quiet
    assert_eq "$1: the cursor reaches the newest seq" "$(newest_seq)" "$(cursor)"
    assert_eq "$1: every event counted once" "$(events_count)" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
    assert_verify "$1"
}

# --- 1. the issue's reproduction: 300 events into a FIFO left open, a writer
# beside it, the settle time passes, a run; then the FIFO closes, a run
start_live a
sed -n '1,300p' slow.ndjson >&3
for i in $(seq 1 50); do [ "$(events_count)" -ge 300 ] && break; sleep 0.1; done
assert_eq "1: the stalled batch committed, its pipe still open" 300 "$(events_count)"
assert_eq "1: and it holds nothing any more" 0 "$(holds)"
assert_status "1: another writer beside it" 0 jobads generate --count 100 --seed 32 --quiet
sleep 1.5
assert_status "1: a run past the settle time" 0 jobads etl --quiet
exec 3>&-
wait "$LIVE_PID"
check_all "1: after the FIFO closed"

# --- 2. a batch held open on purpose, longer than its lease (the heartbeat renews it)
start_live b --stall 0 --max-age 0
sed -n '301,600p' slow.ndjson >&3
for i in $(seq 1 50); do [ "$(holds)" -ge 1 ] && break; sleep 0.1; done
assert_eq "2: the open batch holds its seqs" 1 "$(holds)"
held_from=$(ev_sql "SELECT from_seq FROM jobads_hold")
assert_eq "2: from the first seq it took" "$(( $(cursor) + 1 ))" "$held_from"
assert_status "2: another writer commits later seqs" 0 jobads generate --count 100 --seed 33 --quiet
sleep 4 # past the settle time, and past the 3 s lease: only the heartbeat keeps it
assert_eq "2: its hold outlives the lease" 1 "$(holds)"
assert_status "2: a run while it is open" 0 jobads etl --quiet
assert_eq "2: the run stops before the held seqs" "$((held_from - 1))" "$(cursor)"
assert_verify "2: with a batch held open"
exec 3>&-
rc=0
wait "$LIVE_PID" || rc=$?
assert_eq "2: the held batch commits" 0 "$rc"
assert_grep "2: all of it" '300 stored' b.err
assert_eq "2: its hold is gone" 0 "$(ev_sql 'SELECT COUNT(*) FROM jobads_hold')"
check_all "2: after the held batch committed"

# --- 3. a writer killed with its batch open (a 6 s lease): waited for while
# its lease lasts, though the rows after it are older than the settle time,
# and passed once it ran out
JOBADS_EVENTS="$EV?settle=1&lease=6" start_live c --stall 0 --max-age 0
sed -n '601,900p' slow.ndjson >&3
for i in $(seq 1 50); do [ "$(holds)" -ge 1 ] && break; sleep 0.1; done
held_from=$(ev_sql "SELECT from_seq FROM jobads_hold")
kill -KILL "$LIVE_PID"
killed=$(date +%s.%N)
wait "$LIVE_PID" 2>/dev/null || true
exec 3>&-
assert_status "3: another writer after it" 0 jobads generate --count 100 --seed 34 --quiet
sleep 1.2
assert_status "3: a run inside the dead writer's lease" 0 jobads etl --quiet
assert_eq "3: it waits for the hold" "$((held_from - 1))" "$(cursor)"
# renewed at most 2 s before the kill: run out 6.5 s after it
sleep "$(awk -v k="$killed" -v t="$(date +%s.%N)" 'BEGIN { d = k + 6.5 - t; print (d > 0 ? d : 0) }')"
check_all "3: after the dead writer's lease"

# --- 4. a writer stopped past its lease must not commit (the ETL may have passed it)
start_live d --stall 0 --max-age 0
sed -n '901,1200p' slow.ndjson >&3
for i in $(seq 1 50); do [ "$(holds)" -ge 1 ] && break; sleep 0.1; done
kill -STOP "$LIVE_PID"
assert_status "4: another writer" 0 jobads generate --count 100 --seed 35 --quiet
sleep 4
assert_status "4: a run once the stopped writer's lease ran out" 0 jobads etl --quiet
assert_eq "4: it passed the stopped writer's seqs" "$(newest_seq)" "$(cursor)"
kill -CONT "$LIVE_PID"
exec 3>&-
rc=0
wait "$LIVE_PID" || rc=$?
assert_eq "4: the stopped writer fails" 1 "$rc"
assert_grep "4: saying why" 'hold on seq values from [0-9]+ ran out.*rolled back' d.err
assert_eq "4: none of its events stored" 0 "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE event_id IN ($(sed -n '901,1200p' slow.ndjson | sed 's/.*"event_id":"\([^"]*\)".*/'"'"'\1'"'"'/' | paste -sd,))")"
check_all "4: after the stopped writer"
# ingesting its input again stores it, once
assert_status "4: its input again" 0 jobads ingest <(sed -n '901,1200p' slow.ndjson)
sleep 1.2 # the seqs its last chunk reserved before it failed are a rollback's gap
check_all "4: after its input was sent again"

# --- 5. the row way (?load=0, no sender thread): a batch whose rows come
# slowly, for longer than its 2 s lease, renews its hold itself and commits
jobads generate --count 612 --seed 36 --output rows.ndjson --quiet
JOBADS_EVENTS="$EV?settle=1&lease=2&load=0" start_live e --stall 0 --max-age 0
sed -n '1,600p' rows.ndjson >&3 # a block of 512 goes: the hold is taken
for i in $(seq 601 612); do sed -n "${i}p" rows.ndjson >&3; sleep 0.25; done
assert_eq "5: the slow batch still holds its seqs" 1 "$(holds)"
exec 3>&-
rc=0
wait "$LIVE_PID" || rc=$?
assert_eq "5: it commits" 0 "$rc"
assert_grep "5: all of it" '612 stored' e.err
check_all "5: after the row way"
assert_eq "the events of the writers that lived, and the other writers', once" 1912 "$(events_count)"
finish
