# Money at the edge of its range (issue 12, finding 7): a cost past the
# per-record bound is refused with its line and field, the good records beside
# it kept; records at the bound are summed exactly; a fact row that would pass
# int64 is refused naming its grain while the cursor stays; totals past int64
# are exact in `report`, `report --json` and every API route (none answers
# 503); `verify` stays a clean yes or no. Run on SQLite and, through the
# mysql-an / mysql-ev variants, with either store on MySQL.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"

INT64_MAX=9223372036854775807
# one line per record; $1 ts, $2 cost, $3 campaign
rec() {
    printf '{"ts":"%s","publisher_id":2,"publisher_name":"Google Ads","job_id":1,"campaign_id":%s,"industry":"IT","location":"HCM","device":"mobile","impressions":1000000000,"clicks":1000000000,"apply_count":1000000000,"cost":%s,"quality_score":100,"bid":1000000}\n' "$1" "$3" "$2"
}

jobads init >/dev/null

# --- the issue's reproduction: cost 1e12 per record is now out of range ---
: >huge.ndjson
for i in $(seq 0 9); do rec "2026-01-05T10:0${i}:00Z" 1e12 101 >>huge.ndjson; done
rec "2026-01-05T10:30:00Z" 1000000 101 >>huge.ndjson # the good one beside them
assert_status "ingest refuses the 1e12 costs" 1 jobads ingest huge.ndjson
assert_grep "the reason names line and field" 'huge.ndjson:1: cost: out of range \(at most 1000000\)' last.err
assert_eq "ten rejected, one kept" 1 "$(events_count)"

# --- at the bound: ten max-cost records in one grain, ten in ten hours ---
: >edge.ndjson
for i in $(seq 1 9); do rec "2026-01-05T10:4${i}:00Z" 1000000 101 >>edge.ndjson; done
for h in $(seq 10 19); do rec "2026-01-06T${h}:00:00Z" 1000000 102 >>edge.ndjson; done
assert_status "records at the bound are accepted" 0 jobads ingest edge.ndjson
assert_status "etl" 0 jobads etl
assert_eq "one grain holds ten max-cost records, exactly" "10000000000000|10|10000000000" \
    "$(an_sql 'SELECT cost_micros, records, impressions FROM fact_hourly WHERE campaign_id = 101')"
assert_status "verify" 0 jobads verify
assert_status "report --json" 0 jobads report --json
assert_eq "total cost, exactly" 20000000000000 \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["cost_micros"])' last.out)"

# --- a fact row that would pass int64 is refused, naming the grain ---
an_sql "UPDATE fact_hourly SET cost_micros = $((INT64_MAX - 500000000000)) WHERE campaign_id = 101"
before=$(cursor)
rec "2026-01-05T10:59:00Z" 1000000 101 >one.ndjson
assert_status "one more max-cost record is stored" 0 jobads ingest one.ndjson
assert_status "the etl refuses the fact row" 1 jobads etl
assert_grep "the error names measure and grain" \
    'fact_hourly: cost_micros would pass 9223372036854775807 \(int64\) in hour 2026-01-05T10:00:00.000Z campaign 101 publisher 2 IT/HCM/mobile' last.err
assert_eq "the cursor did not move" "$before" "$(cursor)"
assert_eq "the fact row is as it was" "$((INT64_MAX - 500000000000))" \
    "$(an_sql 'SELECT cost_micros FROM fact_hourly WHERE campaign_id = 101')"
assert_status "and so does the next run, the same way" 1 jobads etl
assert_grep "same refusal" 'cost_micros would pass' last.err
if [ "$AN_KIND" = mysql ]; then # the multi-row upserts (MySQL 8's way) refuse alike
    assert_status "bulk=0 refuses too" 1 jobads etl --analytics "$JOBADS_ANALYTICS?bulk=0"
    assert_grep "bulk=0 names the grain" 'cost_micros would pass .* in hour 2026-01-05T10:00:00.000Z campaign 101 publisher 2 IT/HCM/mobile' last.err
    assert_eq "bulk=0: the cursor did not move" "$before" "$(cursor)"
fi

# --- totals past int64: exact everywhere, never an error ---
an_sql "UPDATE fact_hourly SET cost_micros = $((INT64_MAX - 7)), clicks = $((INT64_MAX - 1)) WHERE campaign_id = 102 AND hour_start = $(python3 -c 'import calendar; print(calendar.timegm((2026,1,6,10,0,0)))')"
# cost: (2^63-1-5e11) + (2^63-8) + 9 * 1e12; clicks: 10 * 1e9 + (2^63-2) + 9 * 1e9
want_cost=$(python3 -c "print((2**63-1-500000000000) + (2**63-8) + 9*10**12)")
want_clicks=$(python3 -c "print(10*10**9 + (2**63-2) + 9*10**9)")
assert_status "report past int64" 0 jobads report
assert_grep "report prints the exact spend" "$(python3 -c "
c=$want_cost; u=(c+5000)//10000
print('{:,}.{:02d}'.format(u//100, u%100))")" last.out
assert_status "report --json past int64" 0 jobads report --json
assert_eq "report --json: exact cost_micros" "$want_cost" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["cost_micros"])' last.out)"
assert_eq "report --json: exact clicks" "$want_clicks" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["clicks"])' last.out)"
assert_status "verify finds the tampered rows, and says so cleanly" 1 jobads verify
assert_grep "verify reports differences, not an error" 'differences between fact_hourly and the raw events' last.err
if grep -qi overflow last.err; then fail "verify: $(cat last.err)"; else ok; fi

serve_start
for route in /api/kpis /api/campaigns /api/publishers /api/industries /api/devices \
    /api/heatmap '/api/timeseries?interval=hour' '/api/timeseries?interval=day' \
    '/api/timeseries?interval=day&metric=clicks' /api/health /api/runs /metrics; do
    assert_eq "GET $route answers 200" 200 "$(http GET "$route")"
done
http GET /api/kpis >/dev/null
assert_eq "/api/kpis: exact cost_micros" "$want_cost" "$(jget 'j["total"]["cost_micros"]')"
assert_eq "/api/kpis: spend a number" "True" "$(jget 'isinstance(j["total"]["spend"], float)')"
http GET /api/campaigns >/dev/null
assert_eq "/api/campaigns: campaign 102 exact" "$(python3 -c "print(2**63-8 + 9*10**12)")" \
    "$(jget '[r["cost_micros"] for r in j["rows"] if r["campaign_id"] == 102][0]')"

# --- POST /api/events: the same bounds for anyone who can reach it ---
body=$(for i in $(seq 0 19); do rec "2026-01-07T10:0$((i % 10)):00Z" 1e12 103; done)
assert_eq "POST of twenty 1e12 costs: 200" 200 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' --data-binary "$body")"
assert_eq "all twenty rejected" "0 20" "$(jget 'j["accepted"], j["rejected"]' | tr -d '(),')"
assert_eq "each names the field" "cost: out of range (at most 1000000): '1e12'" "$(jget 'j["errors"][0]["reason"]')"
body=$(for i in $(seq 0 9); do rec "2026-01-07T11:0${i}:00Z" 1000000 104; done)
assert_eq "POST of ten at the bound: 200" 200 "$(http POST /api/events -H 'Content-Type: application/x-ndjson' --data-binary "$body")"
assert_eq "all ten accepted" "10 0" "$(jget 'j["accepted"], j["rejected"]' | tr -d '(),')"
assert_eq "GET /api/kpis still answers" 200 "$(http GET /api/kpis)"
serve_stop

echo "$TEST_NAME ($BACKEND): $CHECKS checks, $FAILS failures"
[ "$FAILS" -eq 0 ]
