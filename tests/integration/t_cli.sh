# Command line: help everywhere, usage errors exit 2, reproducible generation,
# report text and JSON, run history.
source "$(dirname "$0")/lib.sh" "$@"

assert_status "no arguments is a usage error" 2 jobads
assert_status "help" 0 jobads help
assert_grep "help lists commands" '^  ingest' "$WORK/last.out"
for c in init generate ingest etl verify rebuild report runs schedule serve demo; do
    assert_status "help $c" 0 jobads help "$c"
    assert_grep "help $c shows usage" "^usage: jobads $c" "$WORK/last.out"
    assert_status "$c --help" 0 jobads "$c" --help
    assert_grep "$c --help shows usage" "^usage: jobads $c" "$WORK/last.out"
    # after other arguments too, and before any is acted on (main.c, run_command)
    assert_status "$c ... -h" 0 jobads "$c" --events sqlite:/nonexistent/dir/x.db -h
    assert_grep "$c ... -h shows usage" "^usage: jobads $c" "$WORK/last.out"
done
assert_status "unknown command" 2 jobads frobnicate
assert_grep "names it" "'frobnicate' is not a command" "$WORK/last.err"
assert_status "unknown option" 2 jobads etl --bogus
assert_status "bad number" 2 jobads generate --count many
assert_grep "names the option" 'generate: --count: want a number' "$WORK/last.err"
assert_status "bad time" 2 jobads report --from yesterday-ish
assert_status "unknown scheme" 1 jobads etl --events redis://h/k
assert_grep "unknown scheme" "unknown event store scheme 'redis'" "$WORK/last.err"
assert_status "report before init" 1 jobads report
assert_grep "says to init" "run 'jobads init' first" "$WORK/last.err"

# generation is reproducible with --seed (event ids included), and not without
jobads generate --count 500 --days 2 --seed 99 --output a.ndjson
jobads generate --count 500 --days 2 --seed 99 --output b.ndjson
jobads generate --count 500 --days 2 --output c.ndjson
assert_eq "same seed, same output" "$(md5sum <a.ndjson)" "$(md5sum <b.ndjson)"
assert_eq "no seed, other output" 0 "$(cmp -s a.ndjson c.ndjson && echo 1 || echo 0)"
assert_eq "count" 500 "$(wc -l <a.ndjson)"
# fewer events than hours: most hours get none (qsort was once handed a NULL for them,
# which UBSan reports)
assert_status "three events over two days" 0 jobads generate --count 3 --days 2 --seed 5 --output few.ndjson
assert_eq "three written" 3 "$(wc -l <few.ndjson)"
# --shuffle: the same window, reproducible, out of time order
jobads generate --count 2000 --days 3 --seed 8 --shuffle --output s1.ndjson
jobads generate --count 2000 --days 3 --seed 8 --shuffle --output s2.ndjson
jobads generate --count 2000 --days 3 --seed 8 --output s3.ndjson
assert_eq "shuffle: same seed, same output" "$(md5sum <s1.ndjson)" "$(md5sum <s2.ndjson)"
assert_eq "shuffle: count" 2000 "$(wc -l <s1.ndjson)"
ts_of() { sed 's/.*"ts":"\([^"]*\)".*/\1/' "$1"; }
assert_eq "time order without it" "$(ts_of s3.ndjson | sort)" "$(ts_of s3.ndjson)"
assert_eq "out of time order with it" 0 "$([ "$(ts_of s1.ndjson | sort)" = "$(ts_of s1.ndjson)" ] && echo 1 || echo 0)"
# the same window: first and last ts within the 3 days before the last whole hour
first=$(ts_of s1.ndjson | sort | head -1) last=$(ts_of s1.ndjson | sort | tail -1)
assert_eq "shuffle: ts inside the window" 1 \
    "$([[ "$first" > "$(date -u -d '-73 hours' +%FT%T)" && "$last" < "$(date -u +%FT%H):00:00" ]] && echo 1 || echo 0)"
assert_status "shuffle needs --days" 2 jobads generate --count 3 --shuffle

# the original's distributions
jobads generate --count 20000 --seed 3 --quiet
assert_eq "publishers 1..10, campaigns 101..110" "1|10|101|110" \
    "$(ev_sql 'SELECT MIN(publisher_id), MAX(publisher_id), MIN(campaign_id), MAX(campaign_id) FROM tracking')"
assert_eq "campaign = job + 100" 0 "$(ev_sql 'SELECT COUNT(*) FROM tracking WHERE campaign_id != job_id + 100')"
assert_eq "cost = clicks * bid" 0 "$(ev_sql 'SELECT COUNT(*) FROM tracking WHERE cost_micros != clicks * bid * 1000000')"
assert_eq "HIGH traffic impressions in 500..4000" "500|4000" \
    "$(ev_sql "SELECT MIN(impressions), MAX(impressions) FROM tracking WHERE publisher_traffic = 'HIGH'")"
assert_eq "mobile share about 0.75" 1 \
    "$(ev_sql "SELECT abs(AVG(device = 'mobile') - 0.75) < 0.02 FROM tracking")"
assert_eq "clicks/impressions within 1%..8%" 0 \
    "$(ev_sql 'SELECT COUNT(*) FROM tracking WHERE clicks > impressions * 0.08 + 1')"
assert_eq "LinkedIn bids 20..50" "20|50" \
    "$(ev_sql "SELECT MIN(bid), MAX(bid) FROM tracking WHERE publisher_id = 3")"
assert_eq "HIGH quality mean about 85" 1 \
    "$(ev_sql "SELECT abs(AVG(quality_score) - 84.5) < 1 FROM tracking WHERE publisher_quality = 'HIGH'")"

# --days: the daily shape puts more traffic at 10:00 than at 03:00 UTC
jobads generate --count 20000 --days 14 --seed 4 --events "$(ev_url shape)" --quiet
assert_eq "daily shape" 1 \
    "$(ev_sql_at shape 'SELECT (SELECT COUNT(*) FROM tracking WHERE hour = 10) > 3 * (SELECT COUNT(*) FROM tracking WHERE hour = 3)')"
assert_eq "time order" 0 \
    "$(ev_sql_at shape 'SELECT COUNT(*) FROM tracking a JOIN tracking b ON b.seq = a.seq + 1 WHERE b.ts < a.ts')"

assert_status "etl" 0 jobads etl
assert_grep "etl summary" "^etl: 20,000 events, .* groups, cursor 0 -> $(newest_seq)" "$WORK/last.out"
assert_status "report" 0 jobads report
for s in Totals Campaigns Publishers Industries Devices 'Hour of day' Weekday; do
    assert_grep "report has $s" "^$s" "$WORK/last.out"
done
assert_status "report --json" 0 jobads report --json
cp "$WORK/last.out" report.json
assert_eq "JSON is valid and its total matches the store" \
    "$(an_sql 'SELECT SUM(clicks) FROM fact_hourly')" \
    "$(sq :memory: "SELECT json_extract(readfile('report.json'), '\$.total.clicks')")"
assert_eq "JSON campaign rows" 10 "$(sq :memory: "SELECT json_array_length(readfile('report.json'), '\$.campaigns')")"
assert_status "report filtered" 0 jobads report --json --campaign 101 --device mobile --from now-1d --to now+1h
cp "$WORK/last.out" f.json
assert_eq "filtered total matches SQL" \
    "$(an_sql "SELECT SUM(clicks) FROM fact_hourly WHERE campaign_id = 101 AND device = 'mobile'")" \
    "$(sq :memory: "SELECT json_extract(readfile('f.json'), '\$.total.clicks')")"
assert_status "report for an empty range" 0 jobads report --json --from 2001-01-01 --to 2001-01-02
cp "$WORK/last.out" e.json
assert_eq "zero denominators are null" "0|" \
    "$(sq :memory: "SELECT json_extract(readfile('e.json'), '\$.total.impressions') || '|' || COALESCE(json_extract(readfile('e.json'), '\$.total.ctr'), '')")"
assert_status "runs" 0 jobads runs
assert_grep "runs lists the run" 'manual .* success' "$WORK/last.out"
assert_status "runs --json" 0 jobads runs --json
finish
