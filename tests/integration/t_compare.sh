# This period against the last: compare=previous|year on every API route and
# `report --compare`, checked by compare_check.py against the same routes asked
# for the earlier range directly, with every change recomputed from the two; an
# earlier value of 0 or null gives no percentage; bad requests are clear 400s.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"
CHECK="$(dirname "$0")/compare_check.py"

# a year and a fortnight of history, so that a year before has data too
assert_status "generate" 0 jobads generate --count 40000 --days 380 --seed 21 --quiet
assert_status "etl" 0 jobads etl --quiet
# a week ending at the last whole hour, and one that does not start on an hour
to=$(date -u -d "@$(( $(date +%s) / 3600 * 3600 ))" +%Y-%m-%dT%H:%M:%S.000Z)
from=$(date -u -d "$to - 7 days" +%Y-%m-%dT%H:%M:%S.000Z)
odd_from=$(date -u -d "$to - 61 hours - 17 minutes" +%Y-%m-%dT%H:%M:%S.000Z)

# --- report --compare
for mode in previous year; do
    assert_status "report --compare $mode --json" 0 jobads report --from "$from" --to "$to" --compare $mode --json
    cp "$WORK/last.out" cmp.json
    pf=$(python3 -c "import json; print(json.load(open('cmp.json'))['compare']['range']['from'])")
    pt=$(python3 -c "import json; print(json.load(open('cmp.json'))['compare']['range']['to'])")
    assert_status "report of the earlier range" 0 jobads report --from "$pf" --to "$pt" --json
    cp "$WORK/last.out" earlier.json
    if python3 "$CHECK" report cmp.json earlier.json >check.out; then ok; else
        fail "report --compare $mode: $(grep FAIL check.out | head -5)"
    fi
    tail -1 check.out
done
assert_status "report --compare previous (table)" 0 jobads report --from "$from" --to "$to" --compare previous
assert_grep "the table names the earlier range" '^Against the previous period: .* to '"${from%.000Z}" "$WORK/last.out"
assert_grep "and shows the change with its sign" '^  total +[0-9,.]+ +[0-9,.]+ +[+-][0-9]+\.[0-9]%' "$WORK/last.out"
assert_status "report --compare previous --format csv" 0 jobads report --from "$from" --to "$to" --compare previous --format csv
assert_grep "the CSV has the earlier and the change columns" ',previous_records,.*,change_pct_spend,' "$WORK/last.out"
assert_status "report --compare without --from" 2 jobads report --compare previous
assert_grep "says why" 'report: --compare=previous needs a from' "$WORK/last.err"
assert_status "report --compare month" 2 jobads report --from "$from" --compare month
assert_grep "names the choices" "report: --compare: want previous or year, got 'month'" "$WORK/last.err"
# a campaign with no events a year before: no percentage, not infinity
assert_status "a campaign of this week only" 0 jobads ingest --quiet <(python3 -c "
import json, time
t = int(time.time() * 1000) - 2 * 3600 * 1000
for i in range(20):
    print(json.dumps({'ts': t - i * 60000, 'publisher_id': 1, 'publisher_name': 'Google Ads', 'job_id': 9,
        'campaign_id': 777, 'industry': 'IT', 'location': 'Hue', 'device': 'mobile', 'impressions': 100,
        'clicks': 5, 'apply_count': 1, 'cost': '2.5', 'quality_score': 70}))")
assert_status "etl" 0 jobads etl --quiet
assert_status "report --campaign 777 --compare year" 0 jobads report --campaign 777 --from now-7d --compare year --json
assert_eq "its previous is null and its change has no number" "None []" \
    "$(python3 -c "import json; c=json.load(open('$WORK/last.out'))['campaigns'][0]; print(c['previous'], [k for k, v in c['change'].items() if v is not None])")"

# --- the API
serve_start
if python3 "$CHECK" api "$BASE" "$from" "$to" >check.out; then ok; else
    fail "API compare: $(grep FAIL check.out | head -5)"
fi
tail -1 check.out
if python3 "$CHECK" api "$BASE" "$odd_from" "$to" >check.out; then ok; else
    fail "API compare, a range off the hour: $(grep FAIL check.out | head -5)"
fi
tail -1 check.out
assert_eq "an open 'to' is now" 200 "$(http GET "/api/kpis?from=now-24h&compare=previous")"
assert_eq "the earlier day ends where this one begins" 1 \
    "$(jget "int(j['compare']['range']['to'] == j['range']['from'])")"
assert_eq "compare=month is 400" 400 "$(http GET "/api/kpis?from=now-7d&compare=month")"
assert_grep "says why" '"error":"compare: want previous or year, got .month."' "$WORK/http.body"
assert_eq "compare=previous without from is 400" 400 "$(http GET "/api/campaigns?compare=previous")"
assert_grep "says why" 'compare=previous needs a from' "$WORK/http.body"
assert_eq "a time series as CSV with compare is 400" 400 \
    "$(http GET "/api/timeseries?from=now-7d&compare=previous&format=csv")"
assert_grep "says why" 'a time series has no groups' "$WORK/http.body"
assert_eq "compare on a route without KPIs is 400" 400 "$(http GET "/api/runs?compare=previous")"
assert_eq "compare=year from the beginning is allowed" 200 "$(http GET "/api/kpis?compare=year")"
assert_eq "a campaign with no earlier data: change is all null" "None True" \
    "$(http GET "/api/campaigns?campaign_id=777&from=now-7d&compare=year" >/dev/null; jget "j['rows'][0]['previous'], all(v is None for v in j['rows'][0]['change'].values())")"
serve_stop
finish
