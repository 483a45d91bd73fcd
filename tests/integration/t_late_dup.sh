# Late and duplicate events: records days in the past, ingested after a run,
# land in their own hour after the next run; an event_id ingested twice is
# stored and counted once.
source "$(dirname "$0")/lib.sh" "$@"

assert_status "generate today" 0 jobads generate --count 2000 --seed 11
assert_status "first run" 0 jobads etl --quiet

# Late: three days ago, 09:xx UTC, in an hour nothing else has.
day=$(date -u -d '3 days ago' +%Y-%m-%d)
hour_start=$(date -u -d "$day 09:00:00" +%s)
cat >late.ndjson <<JSON
{"event_id":"11111111-2222-4333-8444-555555555555","ts":"${day}T09:15:00Z","publisher_id":77,"publisher_name":"Late Board","job_id":1,"campaign_id":901,"industry":"IT","location":"HCM","impressions":1000,"clicks":50,"apply_count":5,"cost":"125.5","quality_score":70,"device":"tablet"}
{"event_id":"11111111-2222-4333-8444-555555555556","ts":"${day}T09:45:30.250+00:00","publisher_id":77,"publisher_name":"Late Board","job_id":1,"campaign_id":901,"industry":"IT","location":"HCM","impressions":500,"clicks":0,"apply_count":0,"cost":0,"quality_score":40,"device":"tablet"}
JSON
assert_status "ingest late events" 0 jobads ingest late.ndjson
assert_status "second run" 0 jobads etl --quiet
row=$(an_sql "SELECT records, impressions, clicks, applies, cost_micros, quality_sum FROM fact_hourly WHERE hour_start = $hour_start AND campaign_id = 901")
assert_eq "late events land in their own hour" "2|1500|50|5|125500000|110" "$row"
assert_eq "hour and weekday derived from ts" "9|$(date -u -d "$day" +%u)" \
    "$(ev_sql "SELECT DISTINCT hour, day_of_week FROM tracking WHERE campaign_id = 901")"
assert_verify "after late events"
assert_views_match "after late events"

# Duplicates: the same file again, and a duplicate inside one file.
assert_status "ingest the same file again" 0 jobads ingest late.ndjson
assert_grep "duplicates are counted" '0 stored, 2 duplicates' "$WORK/last.err"
head -1 late.ndjson >dup.ndjson
head -1 late.ndjson >>dup.ndjson
assert_status "ingest a file holding one event twice" 0 jobads ingest dup.ndjson
assert_grep "in-file duplicate counted" '0 stored, 2 duplicates' "$WORK/last.err"
assert_eq "stored once" 1 "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE $(ev_id) = '11111111-2222-4333-8444-555555555555'")"
# The same new event twice in one file, with events of earlier times between
# them and a different cost on the second copy: the first copy is the one kept
# (a batch's rows are written in (ts, event_id) order, ties in arrival order).
first=$(head -1 late.ndjson | sed 's/11111111-2222-4333-8444-555555555555/11111111-2222-4333-8444-5555555555f1/; s/"campaign_id":901/"campaign_id":903/')
{
    echo "$first"
    for i in 1 2 3 4 5; do
        echo "$first" | sed "s/5555555555f1/5555555555e$i/; s/09:15:00Z/08:0$i:00Z/"
    done
    echo "$first" | sed 's/"cost":"125.5"/"cost":"999"/'
} >twice.ndjson
assert_status "ingest one event twice among others" 0 jobads ingest twice.ndjson
assert_grep "one duplicate" '6 stored, 1 duplicates' "$WORK/last.err"
assert_eq "the first copy is kept" "125500000" \
    "$(ev_sql "SELECT cost_micros FROM tracking WHERE $(ev_id) = '11111111-2222-4333-8444-5555555555f1'")"
assert_eq "seq follows the file" "$(printf '%s\n' f1 e1 e2 e3 e4 e5 | paste -sd' ')" \
    "$(ev_sql "SELECT substr($(ev_id), 35, 2) FROM tracking WHERE $(ev_id) LIKE '11111111-2222-4333-8444-5555555555%' AND campaign_id = 903 ORDER BY seq" | paste -sd' ')"
# the same event_id in upper case is the same event (UUIDs are stored lowercase)
line1=$(head -1 late.ndjson | sed 's/11111111-2222-4333-8444-555555555555/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/')
echo "$line1" >lower.ndjson
echo "$line1" | sed 's/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE/' >upper.ndjson
assert_status "ingest lowercase id" 0 jobads ingest lower.ndjson
assert_status "ingest uppercase id" 0 jobads ingest upper.ndjson
assert_grep "uppercase is a duplicate" '0 stored, 1 duplicates' "$WORK/last.err"
assert_status "third run" 0 jobads etl --quiet
assert_eq "counted once after the retries" "3|2500" \
    "$(an_sql "SELECT records, impressions FROM fact_hourly WHERE hour_start = $hour_start AND campaign_id = 901")"

# A generated stream re-sent whole (a client retry) adds nothing.
jobads generate --count 3000 --days 2 --seed 12 --output batch.ndjson
assert_status "send a batch" 0 jobads ingest batch.ndjson
assert_status "re-send the batch" 0 jobads ingest batch.ndjson
assert_grep "all duplicates" '0 stored, 3,000 duplicates' "$WORK/last.err"
assert_status "run" 0 jobads etl --quiet
assert_eq "records equal stored events" "$(events_count)" "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after duplicates"
assert_views_match "after duplicates"
finish
