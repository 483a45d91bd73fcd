# Retention (issue 16): jobads prune --raw-older-than deletes raw events older
# than a fact-hour boundary that the ETL has processed, never one past the
# cursor, and keeps the facts. After prunes, late events into pruned hours, etl,
# verify, rebuild and kill -9 during a prune, every hour's sums equal an
# independent recompute (prune_check.py, zoneinfo) over every event ever
# ingested. In Asia/Kolkata, so that the boundary is a half-hour in UTC.
source "$(dirname "$0")/lib.sh" "$@"

CHECK="python3 $(dirname "$(readlink -f "$0")")/prune_check.py Asia/Kolkata"
FILES=()

facts_by_hour() {
    an_sql 'SELECT hour_start, SUM(records), SUM(impressions), SUM(clicks), SUM(applies),
            SUM(cost_micros) FROM fact_hourly GROUP BY hour_start ORDER BY hour_start'
}
# every hour's sums against the recompute over every file ingested so far
assert_recompute() {
    $CHECK "${FILES[@]}" >want.txt
    facts_by_hour >got.txt
    if diff want.txt got.txt >diff.txt; then ok; else
        fail "$1: facts differ from the recompute over all events ingested: $(head -c 600 diff.txt)"
    fi
}
# gen NAME COUNT DAYS SEED: a file of events, ingested
gen() {
    jobads generate --count "$2" --days "$3" --seed "$4" --output "$1.ndjson"
    assert_status "ingest $1" 0 jobads ingest --quiet "$1.ndjson"
    FILES+=("$1.ndjson")
}
raw_from() { an_sql 'SELECT raw_from FROM etl_retention'; }
kept_upto() { an_sql 'SELECT kept_upto FROM etl_retention'; }
# stored rows that must survive any prune under the boundary now recorded
must_stay() { ev_sql "SELECT COUNT(*) FROM tracking WHERE ts >= $(raw_from)000 OR seq > $(kept_upto)"; }

# The Cassandra event store prunes whole partitions (ingest-time bucket, shard)
# before the cursor's, whose every row is old: events ingested apart by age.
if [ "$EV_KIND" = cassandra ]; then
    assert_status "init" 0 jobads init --tz Asia/Kolkata
    jobads generate --count 6000 --days 20 --seed 1 --output all.ndjson
    # Old events are older than 11 days, new ones younger than 9, none between: the
    # 10d boundary falls in the gap. With new events from 11 days on, the ones
    # between 11 and 10 days old were older than the boundary too, and a partition
    # of only those (the first rows of an ingest that crossed a bucket's second
    # under the sanitizer) went with the old ones: 256 events fewer than counted.
    now=$(date +%s)
    cut=$(((now - 11 * 86400) * 1000))
    young=$(((now - 9 * 86400) * 1000))
    # split SRC OLD NEW: the events of SRC before cut and from young on
    split() {
        python3 - "$cut" "$young" "$@" <<'PY'
import json, sys
from datetime import datetime
cut, young = int(sys.argv[1]), int(sys.argv[2])
with open(sys.argv[3]) as f, open(sys.argv[4], "w") as o, open(sys.argv[5], "w") as n:
    for line in f:
        ms = datetime.fromisoformat(json.loads(line)["ts"].replace("Z", "+00:00")).timestamp() * 1000
        if ms < cut:
            o.write(line)
        elif ms >= young:
            n.write(line)
PY
    }
    split all.ndjson old.ndjson new.ndjson
    FILES=(old.ndjson new.ndjson)
    assert_status "ingest the old events" 0 jobads ingest --quiet old.ndjson
    sleep 1.2 # the next ingest in buckets of its own (bucket=1 s)
    assert_status "ingest the new events" 0 jobads ingest --quiet new.ndjson
    assert_status "etl" 0 jobads etl --quiet
    # held back: only old events, in partitions past the cursor's
    jobads generate --count 1600 --days 20 --seed 2 --output held-all.ndjson
    split held-all.ndjson held.ndjson held-new.ndjson
    sleep 1.2
    assert_status "ingest events held back from the ETL" 0 jobads ingest --quiet held.ndjson
    FILES+=(held.ndjson)
    before=$(facts_by_hour)
    assert_status "prune 10d on cassandra" 0 jobads prune --raw-older-than 10d
    assert_eq "the old events' partitions are gone, nothing else" \
        $(($(wc -l <new.ndjson) + $(wc -l <held.ndjson))) "$(events_count)"
    assert_eq "the facts are untouched by prune" "$before" "$(facts_by_hour)"
    assert_status "etl after prune" 0 jobads etl --quiet
    assert_recompute "cassandra: after prune and etl"
    assert_verify "cassandra: after prune"
    assert_grep "cassandra: verify says which hours it skipped" "hours before .* skipped" "$WORK/last.out"
    jobads generate --count 500 --days 20 --seed 3 --output late.ndjson
    sleep 1.2
    assert_status "late events" 0 jobads ingest --quiet late.ndjson
    FILES+=(late.ndjson)
    assert_status "rebuild with late events unprocessed" 0 jobads rebuild --quiet
    assert_status "etl after the rebuild" 0 jobads etl --quiet
    assert_recompute "cassandra: rebuild after prune"
    assert_verify "cassandra: rebuild after prune"
    finish
    exit 0
fi

# Bad input: a clear error, exit 2 for the option, 1 for the store.
for bad in abc 0 0d -5d 10 5x 1.5d ''; do
    assert_status "malformed duration '$bad'" 2 jobads prune --raw-older-than "$bad"
    assert_grep "malformed duration '$bad' named" "raw-older-than: want a duration above 0" "$WORK/last.err"
done
assert_status "no duration" 2 jobads prune
assert_grep "no duration named" "raw-older-than DUR is required" "$WORK/last.err"
assert_status "help" 0 jobads prune --help
assert_grep "help says what it keeps" "the facts are kept" "$WORK/last.out"

assert_status "init in Kolkata" 0 jobads init --tz Asia/Kolkata
# a store from before retention (SQLite user_version 4, MySQL analytics schema 2)
# is upgraded in place on open, with no boundary
if [ "$AN_KIND" = mysql ]; then
    an_sql "DROP TABLE etl_retention; UPDATE jobads_schema SET version = 2 WHERE store = 'analytics'"
else
    an_sql "DROP TABLE etl_retention; PRAGMA user_version = 4"
fi
assert_status "etl on a store from before retention" 0 jobads etl --quiet
assert_eq "upgraded: etl_retention, no boundary" "|0" "$(an_sql 'SELECT raw_from, kept_upto FROM etl_retention' | tr '\t' '|')"
if [ "$AN_KIND" = mysql ]; then
    assert_eq "upgraded: the current version (4)" 4 "$(an_sql "SELECT version FROM jobads_schema WHERE store = 'analytics'")"
else
    assert_eq "upgraded: the current version (6)" 6 "$(an_sql 'PRAGMA user_version')"
fi
gen a 20000 20 1
assert_status "prune before any ETL run" 1 jobads prune --raw-older-than 10d
assert_grep "prune before the ETL says why" "the ETL has processed no event yet" "$WORK/last.err"
assert_eq "nothing deleted before the ETL" 20000 "$(events_count)"
assert_eq "no boundary recorded before the ETL" "" "$(raw_from)"

assert_status "etl a" 0 jobads etl --quiet
# Hold the cursor back: b is stored, not processed, and spans the pruned hours.
cur=$(cursor)
gen b 3000 20 2
unprocessed=$(ev_sql "SELECT COUNT(*) FROM tracking WHERE seq > $cur")
cut_ms=$((($(date +%s) - 10 * 86400) * 1000))
old_unprocessed=$(ev_sql "SELECT COUNT(*) FROM tracking WHERE seq > $cur AND ts < $cut_ms")
[ "$old_unprocessed" -gt 500 ] && ok || fail "the held-back events should reach into the pruned hours: $old_unprocessed"
before=$(facts_by_hour)
ev_sql 'SELECT seq, ts FROM tracking' >rows.txt
now=$(date +%s)
assert_status "prune 10d" 0 jobads prune --raw-older-than 10d
assert_grep "prune says what it kept" "raw events before .* deleted .* up to seq $cur" "$WORK/last.out"
b=$(raw_from)
# the boundary is the start of the Kolkata hour holding now - 10d (UTC+05:30)
assert_eq "boundary on a Kolkata hour" 0 $((( b + 19800) % 3600))
[ "$b" -le $((now - 864000)) ] && [ $((now - 864000 - b)) -lt 3700 ] && ok ||
    fail "boundary $b is not the hour of now-10d ($((now - 864000)))"
assert_eq "kept_upto is the cursor" "$cur" "$(kept_upto)"
assert_eq "no unprocessed event deleted" "$unprocessed" \
    "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE seq > $cur")"
assert_eq "no event at or after the boundary deleted" \
    "$(awk -F'|' -v b="${b}000" '$2 >= b' rows.txt | wc -l)" \
    "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE ts >= ${b}000")"
assert_eq "processed events before the boundary deleted" 0 \
    "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE seq <= $cur AND ts < ${b}000")"
assert_eq "the facts are untouched by prune" "$before" "$(facts_by_hour)"
if [ "$EV_KIND" = sqlite ]; then
    # the duplicate check's keys went with their rows, and only they
    assert_eq "prune: one key per kept row, none of a pruned one" \
        "$(ev_sql 'SELECT COUNT(*) FROM tracking') $(ev_sql 'SELECT COUNT(*) FROM tracking') 0" \
        "$(ev_sql "SELECT (SELECT COUNT(*) FROM tracking_key) + (SELECT COUNT(*) FROM tracking_key_new);
            SELECT COUNT(*) FROM tracking t WHERE EXISTS (SELECT 1 FROM tracking_key k WHERE k.ts = t.ts AND k.event_id = t.event_id)
                OR EXISTS (SELECT 1 FROM tracking_key_new k WHERE k.ts = t.ts AND k.event_id = t.event_id);
            SELECT COUNT(*) FROM tracking_key WHERE ts < ${b}000 AND NOT EXISTS (SELECT 1 FROM tracking t WHERE t.ts = tracking_key.ts AND t.event_id = tracking_key.event_id)" | paste -sd' ')"
fi

# The held-back events are processed into the kept hours by the normal ETL.
assert_status "etl b" 0 jobads etl --quiet
assert_recompute "after prune and etl"
assert_status "verify after prune" 0 jobads verify
assert_grep "verify says ok" '^verify: ok' "$WORK/last.out"
skipped=$(an_sql "SELECT COUNT(DISTINCT hour_start) FROM fact_hourly WHERE hour_start < $b")
[ "$skipped" -gt 100 ] && ok || fail "there should be pruned hours: $skipped"
assert_grep "verify says which hours it skipped" "verify: $skipped hours before .* skipped" "$WORK/last.out"

# A changed fact in a checked hour is still found; one in a pruned hour cannot be.
h=$(an_sql "SELECT MAX(hour_start) FROM fact_hourly")
an_sql "UPDATE fact_hourly SET clicks = clicks + 1 WHERE hour_start = $h AND campaign_id =
        (SELECT c FROM (SELECT MIN(campaign_id) AS c FROM fact_hourly WHERE hour_start = $h) x)" >/dev/null
assert_status "verify finds a difference after the boundary" 1 jobads verify
an_sql "UPDATE fact_hourly SET clicks = clicks - 1 WHERE hour_start = $h AND campaign_id =
        (SELECT c FROM (SELECT MIN(campaign_id) AS c FROM fact_hourly WHERE hour_start = $h) x)" >/dev/null

# Late events into pruned hours after the prune, then rebuild: counted once.
gen c 2000 20 3
assert_status "etl c" 0 jobads etl --quiet
assert_recompute "late events after prune"
assert_verify "late events after prune"
assert_status "rebuild after prune" 0 jobads rebuild --quiet
assert_eq "the rebuild reads past the pruned gaps" "$(newest_seq)" "$(cursor)"
assert_status "etl after the rebuild" 0 jobads etl --quiet
assert_recompute "rebuild after late events"
assert_verify "rebuild after late events"
# late events not processed yet when the rebuild starts are counted by it
gen d 1500 20 4
assert_status "rebuild with late events unprocessed" 0 jobads rebuild
assert_grep "rebuild says what it kept" "the facts of earlier hours kept" "$WORK/last.out"
assert_status "etl after the second rebuild" 0 jobads etl --quiet
assert_recompute "rebuild with late events unprocessed"
assert_verify "rebuild with late events unprocessed"
assert_status "a zone change of a pruned store" 1 jobads init --tz UTC --rebuild
assert_grep "the zone change says why" "were pruned" "$WORK/last.err"
assert_eq "the zone stays" "Asia/Kolkata" "$(an_sql 'SELECT name FROM tz_zone')"

# A second prune moves the boundary on; the first one's hours stay as they are.
assert_status "prune 5d" 0 jobads prune --raw-older-than 5d --quiet
assert_eq "quiet prune prints nothing" "" "$(cat "$WORK/last.out")"
b2=$(raw_from)
[ "$b2" -gt "$b" ] && ok || fail "the boundary should move on: $b -> $b2"
assert_recompute "second prune"
assert_verify "second prune"

# kill -9 during a prune loses nothing that should stay.
gen e 100000 12 5
assert_status "etl e" 0 jobads etl --quiet
kills=0
for i in 1 2 3 4 5 6; do
    ev_sql 'SELECT seq, ts FROM tracking' >rows.txt
    "$JOBADS" prune --raw-older-than 3d --batch 20 --quiet 2>/dev/null &
    pid=$!
    sleep "0.$((i * 15))"
    kill -9 $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid 2>/dev/null || true
    want=$(awk -F'|' -v b="$(raw_from)000" -v k="$(kept_upto)" '$2 >= b || $1 > k' rows.txt | wc -l)
    assert_eq "kill $i: every row that should stay is there" "$want" "$(must_stay)"
done
[ $kills -ge 3 ] && ok || fail "too few kills landed in a prune: $kills"
assert_recompute "after the kills"
assert_status "prune after the kills" 0 jobads prune --raw-older-than 3d
b3=$(raw_from)
assert_eq "every processed event before the boundary is gone but the newest" 0 \
    "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE ts < ${b3}000 AND seq <= $(kept_upto)
               AND seq < (SELECT m FROM (SELECT MAX(seq) AS m FROM tracking) x)")"
assert_recompute "after the last prune"
assert_verify "after the last prune"
assert_status "rebuild after the last prune" 0 jobads rebuild --quiet
assert_status "etl after the last rebuild" 0 jobads etl --quiet
assert_recompute "after the last rebuild"
assert_verify "after the last rebuild"

# kill -9 during a rebuild of a pruned store: a prune meanwhile is refused, the next
# etl finishes the rebuild, and nothing is counted twice or lost.
gen g 1000 20 7
killed=0
for i in 1 2 3 4 5; do
    "$JOBADS" rebuild --chunk 50 --quiet 2>/dev/null &
    pid=$!
    sleep "0.$((i * 10))"
    if kill -9 $pid 2>/dev/null; then killed=$((killed + 1)); fi
    wait $pid 2>/dev/null || true
    [ "$(cursor)" -lt "$(kept_upto)" ] && break
done
[ "$(cursor)" -lt "$(kept_upto)" ] && ok || fail "no kill landed inside a rebuild ($killed kills)"
assert_status "prune while a rebuild has not caught up" 1 jobads prune --raw-older-than 2d
assert_grep "the prune says why" "a rebuild has not caught up yet" "$WORK/last.err"
assert_status "etl finishes the killed rebuild" 0 jobads etl --quiet
assert_recompute "after a rebuild killed with -9"
assert_verify "after a rebuild killed with -9"

# schedule --prune-raw: the slot's ETL run, then the prune (daily after that).
assert_status "schedule --prune-raw 0" 2 jobads schedule --every 1s --prune-raw 0
assert_grep "schedule --prune-raw 0 says why" "prune-raw: want a duration above 0" "$WORK/last.err"
gen f 2000 20 6
assert_status "schedule with --prune-raw" 0 \
    jobads schedule --every 1s --slots 2 --prune-raw 2d --log-file "$WORK/s.log"
assert_eq "the scheduler ran the ETL twice" 2 "$(grep -c 'event=run_end.*state=success' s.log)"
assert_eq "and pruned once, after the first run" 1 "$(grep -c 'event=prune_end' s.log)"
assert_grep "the prune deleted the new old events" 'event=prune_end state=success deleted=[1-9]' "$WORK/s.log"
b4=$(raw_from)
[ "$b4" -gt "$b3" ] && ok || fail "the scheduler's prune should move the boundary: $b3 -> $b4"
assert_eq "the scheduler pruned up to its run's cursor" "$(cursor)" "$(kept_upto)"
assert_recompute "after the scheduler's prune"
assert_verify "after the scheduler's prune"
finish
