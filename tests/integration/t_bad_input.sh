# Bad input: each bad record gets a clear error naming the record (file:line),
# the field and the reason; nothing of it is stored; every good record beside
# it is. Bad files and databases fail with a clear error and exit status 1.
source "$(dirname "$0")/lib.sh" "$@"

now_iso=$(date -u +%Y-%m-%dT%H:%M:%SZ)
future_iso=$(date -u -d '3 hours' +%Y-%m-%dT%H:%M:%SZ)
good() { # good EVENT_ID
    echo "{\"event_id\":\"$1\",\"ts\":\"$now_iso\",\"publisher_id\":1,\"publisher_name\":\"Facebook Ads\",\"job_id\":1,\"campaign_id\":101,\"industry\":\"IT\",\"location\":\"HCM\",\"impressions\":100,\"clicks\":5,\"apply_count\":1,\"cost\":10,\"quality_score\":50,\"device\":\"mobile\"}"
}
long=$(head -c 70000 /dev/zero | tr '\0' 'x')
{
    good 00000000-0000-4000-8000-000000000001                                  # line 1
    echo '{"event_id": "00000000-0000-4000-8000-000000000002", "ts": '         # 2 malformed
    good 00000000-0000-4000-8000-000000000003 | sed 's/"clicks":5/"clicks":"five"/'     # 3 wrong type
    good 00000000-0000-4000-8000-000000000004 | sed 's/"industry":"IT",//'              # 4 missing
    good 00000000-0000-4000-8000-000000000005 | sed 's/"clicks":5/"clicks":-5/'         # 5 negative
    good 00000000-0000-4000-8000-000000000006 | sed 's/"quality_score":50/"quality_score":101/' # 6 range
    good 00000000-0000-4000-8000-000000000007 | sed "s/$now_iso/$future_iso/"           # 7 future
    good not-a-uuid                                                                     # 8 bad uuid
    echo "{\"event_id\":\"00000000-0000-4000-8000-000000000009\",\"pad\":\"$long\"}"  # 9 too long
    good 00000000-0000-4000-8000-000000000010                                  # line 10
    good 00000000-0000-4000-8000-000000000011 | sed 's/"ts":"[^"]*"/"ts":"2026-13-01T00:00:00Z"/' # 11 bad date
    good 00000000-0000-4000-8000-000000000012 | sed 's/"cost":10/"cost":"ten"/'         # 12 bad cost
    good 00000000-0000-4000-8000-000000000013 | sed 's/"device":"mobile"/"device":{"a":1}/' # 13 nested
    good 00000000-0000-4000-8000-000000000014 | sed 's/"ts":"[^"]*"/"ts":"1999-12-31T23:59:59Z"/' # 14 old
    echo 'not json at all'                                                      # 15
    good 00000000-0000-4000-8000-000000000016                                  # line 16
} >mixed.ndjson

assert_status "ingest of a mixed file exits 1" 1 jobads ingest --reject-file rejects.ndjson mixed.ndjson
err=$WORK/last.err
assert_grep "line 2 malformed JSON" 'mixed.ndjson:2: malformed JSON' "$err"
assert_grep "line 3 wrong type" 'mixed.ndjson:3: clicks: expected an integer, got a string' "$err"
assert_grep "line 4 missing field" 'mixed.ndjson:4: industry: missing' "$err"
assert_grep "line 5 negative count" 'mixed.ndjson:5: clicks: must be >= 0' "$err"
assert_grep "line 6 quality out of range" 'mixed.ndjson:6: quality_score: out of range 0..100' "$err"
assert_grep "line 7 future" 'mixed.ndjson:7: ts: more than 1 h in the future' "$err"
assert_grep "line 8 bad uuid" "mixed.ndjson:8: event_id: not a UUID: 'not-a-uuid'" "$err"
assert_grep "line 9 over-long" 'mixed.ndjson:9: record too long' "$err"
assert_grep "line 11 bad date" 'mixed.ndjson:11: ts: date or time field out of range' "$err"
assert_grep "line 12 bad cost" "mixed.ndjson:12: cost: not a decimal number" "$err"
assert_grep "line 13 nested" 'mixed.ndjson:13: device: expected a scalar value' "$err"
assert_grep "line 14 before 2000" 'mixed.ndjson:14: ts: before 2000-01-01' "$err"
assert_grep "line 15 not json" 'mixed.ndjson:15: malformed JSON' "$err"
assert_grep "summary" '3 stored, 0 duplicates, 13 rejected' "$err"
assert_eq "the good records are stored" \
    "00000000-0000-4000-8000-000000000001 00000000-0000-4000-8000-000000000010 00000000-0000-4000-8000-000000000016" \
    "$(ev_sql "SELECT $(ev_id) FROM tracking ORDER BY seq" | tr '\n' ' ' | sed 's/ $//')"
assert_eq "reject file: one line per rejected record" 13 "$(wc -l <rejects.ndjson)"
assert_eq "reject file lines are JSON with source, line and reason" 13 \
    "$(sq :memory: "SELECT COUNT(*) FROM json_each('[' || replace(trim(readfile('rejects.ndjson'), char(10)), char(10), ',') || ']') WHERE json_extract(value, '\$.reason') IS NOT NULL AND json_extract(value, '\$.line') > 0")"
assert_grep "reject file keeps the record text" '"record":"not json at all"' rejects.ndjson

# CSV: a missing required column fails the file with a clear error, nothing stored
before=$(events_count)
printf 'event_id,ts,publisher_id,publisher_name,job_id,campaign_id,industry,location,impressions,clicks,apply_count,quality_score,device\n' >nocost.csv
printf '00000000-0000-4000-8000-0000000000c1,%s,1,A,1,101,IT,HCM,10,1,0,50,mobile\n' "$now_iso" >>nocost.csv
assert_status "CSV missing a column" 1 jobads ingest nocost.csv
assert_grep "names the column" 'nocost.csv:1: header: required column cost is missing' "$WORK/last.err"
assert_eq "nothing stored from it" "$before" "$(events_count)"

# CSV: bad rows beside good ones, quoted fields, any column order, extra columns
{
    echo 'extra,device,cost,quality_score,apply_count,clicks,impressions,location,industry,campaign_id,job_id,publisher_name,publisher_id,ts,event_id'
    echo "x,mobile,1.25,50,0,1,10,HCM,IT,101,1,\"Quote \"\"Ads\"\", Inc\",1,$now_iso,00000000-0000-4000-8000-0000000000c2"
    echo "x,mobile,1.25,50,0,1,10,HCM,IT,101,1,A,1,$now_iso"
    echo "x,mobile,1.25,500,0,1,10,HCM,IT,101,1,A,1,$now_iso,00000000-0000-4000-8000-0000000000c4"
} >mixed.csv
assert_status "mixed CSV" 1 jobads ingest mixed.csv
assert_grep "short row" 'mixed.csv:3: expected 15 columns as in the header, got 14' "$WORK/last.err"
assert_grep "range in CSV" 'mixed.csv:4: quality_score: out of range' "$WORK/last.err"
assert_eq "quoted text stored verbatim" 'Quote "Ads", Inc|1250000' \
    "$(ev_sql "SELECT publisher_name, cost_micros FROM tracking WHERE $(ev_id) = '00000000-0000-4000-8000-0000000000c2'")"

# Files that cannot be read
assert_status "missing file" 1 jobads ingest "$WORK/no-such-file.ndjson"
assert_grep "names the file" 'no-such-file.ndjson: No such file or directory' "$WORK/last.err"
assert_status "a directory" 1 jobads ingest "$WORK"
assert_grep "says directory" 'is a directory' "$WORK/last.err"
if [ "$(id -u)" != 0 ]; then
    good 00000000-0000-4000-8000-0000000000d1 >noperm.ndjson
    chmod 000 noperm.ndjson
    assert_status "unreadable file" 1 jobads ingest noperm.ndjson
    assert_grep "permission" 'Permission denied' "$WORK/last.err"
fi
# Good files after a bad one are still read
good 00000000-0000-4000-8000-0000000000e1 >good2.ndjson
assert_status "a missing file beside a good one" 1 jobads ingest "$WORK/nope.ndjson" good2.ndjson
assert_eq "the good file is stored" 1 "$(ev_sql "SELECT COUNT(*) FROM tracking WHERE $(ev_id) = '00000000-0000-4000-8000-0000000000e1'")"

# Databases that are not SQLite, or are corrupt
echo "this is not a database, just text that is long enough to look like a file header......" >notdb.db
assert_status "etl on a text file" 1 jobads etl --events sqlite:notdb.db
assert_grep "not a database" 'notdb.db: not a valid SQLite database' "$WORK/last.err"
assert_status "report on a text file" 1 jobads report --analytics sqlite:notdb.db
assert_grep "not a database (analytics)" 'notdb.db: not a valid SQLite database' "$WORK/last.err"
assert_status "etl on a missing events db" 1 jobads etl --events sqlite:"$WORK/none.db"
assert_grep "missing db" "none.db: No such file or directory \\(run 'jobads init' first\\)" "$WORK/last.err"

jobads generate --count 20000 --seed 5 --events sqlite:corrupt.db --quiet
sq corrupt.db 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
size=$(stat -c %s corrupt.db)
# overwrite the middle half of the file with garbage: a few pages alone could all be
# pages of the (ts, event_id) index, which the ETL's scan never reads (1 run in 7 did)
dd if=/dev/urandom of=corrupt.db bs=4096 seek=$((size / 4096 / 4)) count=$((size / 4096 / 2)) conv=notrunc 2>/dev/null
assert_status "etl over a corrupt events db" 1 jobads etl --events sqlite:corrupt.db --analytics sqlite:corrupt-an.db
assert_grep "says malformed" 'corrupt.db: not a valid SQLite database|corrupt.db: .*malformed' "$WORK/last.err"
finish
