# History out of time order (issue 13): shuffled files, with duplicates spread
# across batches, files and chunk boundaries, are stored and counted once
# whatever the chunking; ingest killed at varied moments loses no committed
# batch; and a run applies shuffled history in as few transactions as its
# memory allows (each fact row written once), not once per 100,000 events.
source "$(dirname "$0")/lib.sh" "$@"

assert_status "a: 100,000 shuffled" 0 jobads generate --count 100000 --days 30 --seed 21 --shuffle --quiet --output a.ndjson
assert_status "b: 10,000 shuffled" 0 jobads generate --count 10000 --days 30 --seed 22 --shuffle --quiet --output b.ndjson
assert_status "d: 20,000 shuffled" 0 jobads generate --count 20000 --days 30 --seed 23 --shuffle --quiet --output d.ndjson
# c: 3,000 of a's events again, from all over a, then 2,000 of b's before b itself
awk 'NR % 33 == 3 && n < 3000 { print; n++ }' a.ndjson >c.ndjson
awk 'NR % 5 == 1' b.ndjson >>c.ndjson
assert_eq "c holds 5,000 records" 5000 "$(wc -l <c.ndjson)"

assert_status "ingest a in batches of 7,000" 0 jobads ingest --quiet --batch 7000 a.ndjson
assert_status "ingest c" 0 jobads ingest --quiet --batch 1500 c.ndjson
assert_grep "c: a's events are duplicates, b's are new" '2,000 stored, 3,000 duplicates' "$WORK/last.err"
assert_status "a run in chunks of 4,999 events" 0 jobads etl --quiet --chunk 4999
assert_eq "a and c counted once" 102000 "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_status "ingest b" 0 jobads ingest --quiet b.ndjson
assert_grep "b: the 2,000 from c are duplicates" '8,000 stored, 2,000 duplicates' "$WORK/last.err"

# kill -9 during ingest of d at varied moments: the first K lines of d come
# through a pipe that then stalls, so the batch that stall commits (0.5 s) is
# known; killed at 0.05 s the ingest is still writing, at 0.9 s it waits
kill_ingest() { # K DELAY
    local k=$1 delay=$2 w
    rm -f feed && mkfifo feed
    { head -n "$k" d.ndjson; sleep 5; } >feed &
    w=$!
    "$JOBADS" ingest --quiet --batch 2000 - <feed 2>/dev/null &
    pid=$!
    sleep "$delay"
    kill -9 $pid 2>/dev/null && killed=$((killed + 1))
    wait $pid 2>/dev/null || true
    kill $w 2>/dev/null || true
    wait $w 2>/dev/null || true
}
killed=0
base=$(events_count)
kill_ingest 3000 0.9
assert_eq "killed after the stall's commit: those 3,000 stay stored" $((base + 3000)) "$(events_count)"
kill_ingest 15000 0.05
kill_ingest 9000 0.3
echo "killed the ingest of d $killed times; $(events_count) events stored" >&2
assert_eq "every kill landed in a running ingest" 3 "$killed"
assert_status "d again, whole" 0 jobads ingest --quiet d.ndjson
assert_eq "every event stored once" 130000 "$(events_count)"
# On a MySQL event store a killed writer's hold on its seqs lasts its lease (10 s) and
# the ETL does not pass it (a live writer's rows may still come): run until past it.
for i in $(seq 30); do
    assert_status "a run holding at most 1,000 groups per transaction" 0 jobads etl --quiet --max-groups 1000
    [ "$(cursor)" == "$(newest_seq)" ] && break
    sleep 0.5
done
echo "$i runs to reach the newest event" >&2
assert_eq "every event counted once" 130000 "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after the shuffled files"
assert_views_match "after the shuffled files"

# an independent recompute from the files: each event once, by event_id
python3 - a.ndjson b.ndjson d.ndjson >expected.txt <<'PY'
import json, sys
from decimal import Decimal
seen = {}
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line, parse_float=Decimal)
        seen[r["event_id"]] = r
tot = [0, 0, 0, 0, 0]
for r in seen.values():
    tot[0] += 1
    tot[1] += r["impressions"]
    tot[2] += r["clicks"]
    tot[3] += r["apply_count"]
    tot[4] += int(Decimal(str(r["cost"])) * 1000000)
print("|".join(str(x) for x in tot))
PY
assert_eq "the facts match a recompute from the files" "$(cat expected.txt)" \
    "$(an_sql 'SELECT SUM(records), SUM(impressions), SUM(clicks), SUM(applies), SUM(cost_micros) FROM fact_hourly')"

# the same facts whatever the chunking; a default run writes each fact row once
facts() { an_sql 'SELECT hour_start, campaign_id, publisher_id, industry, location, device, records, impressions, clicks, applies, cost_micros FROM fact_hourly ORDER BY 1, 2, 3, 4, 5, 6' | md5sum; }
before=$(facts)
assert_status "rebuild with the defaults" 0 jobads rebuild --quiet
assert_eq "the same facts as the chunked runs" "$before" "$(facts)"
assert_eq "130,000 shuffled events: each fact row written once" \
    "$(an_sql 'SELECT COUNT(*) FROM fact_hourly')" \
    "$(an_sql 'SELECT groups_written FROM etl_runs ORDER BY id DESC LIMIT 1')"
assert_verify "after the rebuild"
finish
