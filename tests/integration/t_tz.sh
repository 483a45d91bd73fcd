# The reporting time zone (issue 16): for UTC, Asia/Ho_Chi_Minh, America/New_York,
# Europe/Berlin (a 23- and a 25-hour day), Asia/Kolkata (+05:30), Asia/Kathmandu
# (+05:45) and Australia/Adelaide (+09:30, DST +10:30), events around each 2026
# DST change and on the quarter hours are put in the local hour they happened
# in: hourly_stats, daily_stats, report's hour and weekday tables, /api/heatmap
# and /api/timeseries?interval=day equal a recompute with Python's zoneinfo over
# the raw events (tz_check.py), and verify passes. init --tz on a store with
# facts refuses without --rebuild and keeps the old zone; an unknown zone is a
# usage error. tz= on the API answers another zone exactly where the store's
# hours are its hours too (checked the same way) and is a 400 that says why
# where they are not.
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/serve_lib.sh"
CHECK="$(dirname "$0")/tz_check.py"

python3 - >events.ndjson <<'PY'
import datetime, json, random
rnd = random.Random(16)
def at(s):
    return int(datetime.datetime.fromisoformat(s).replace(tzinfo=datetime.timezone.utc).timestamp())
ts = []
# the 2026 changes of Berlin, New York and Adelaide, 36 h either side every 7 min
for c in ("2026-03-29T01:00:00", "2026-10-25T01:00:00", "2026-03-08T07:00:00",
          "2026-11-01T06:00:00", "2026-04-04T16:30:00", "2026-10-03T16:30:00"):
    t = at(c)
    ts += [t - 1, t, t + 1]
    ts += range(t - 36 * 3600, t + 36 * 3600, 420)
# either side of the quarter and half hours (Kolkata's and Kathmandu's hour boundaries)
for _ in range(150):
    h = at("2026-01-01T00:00:00") + rnd.randrange(0, 320 * 24) * 3600
    for m in (15, 30, 45):
        ts += [h + m * 60 - 1, h + m * 60]
ts += [at("2026-01-01T00:00:00") + rnd.randrange(0, 320 * 86400) for _ in range(1500)]
for i, t in enumerate(ts):
    ms = t * 1000 + rnd.randrange(1000)
    print(json.dumps({"ts": ms, "publisher_id": 1 + i % 4, "publisher_name": "p%d" % (1 + i % 4),
                      "job_id": 1, "campaign_id": 101 + i % 3, "industry": "IT", "location": "Hue",
                      "device": "mobile" if i % 2 else "desktop", "impressions": 10 + i % 50,
                      "clicks": i % 7, "apply_count": i % 3, "cost": "0.%06d" % (i * 7919 % 1000000),
                      "quality_score": 70}))
PY
assert_status "init" 0 jobads init
assert_status "ingest" 0 jobads ingest --quiet events.ndjson
assert_status "etl (UTC)" 0 jobads etl --quiet
ev_sql 'SELECT ts, impressions, clicks, apply_count, cost_micros FROM tracking' | tr '|' '\t' >events.tsv
echo "$(wc -l <events.tsv) events"

# a store made before zones (SQLite user_version 3, MySQL analytics schema 1) is
# upgraded in place on open, and is UTC
if [ "$AN_KIND" = mysql ]; then
    an_sql "DROP TABLE tz_zone; DROP TABLE tz_offsets; UPDATE jobads_schema SET version = 1 WHERE store = 'analytics'"
else
    an_sql "DROP TABLE tz_zone; DROP TABLE tz_offsets; PRAGMA user_version = 3"
fi
assert_status "report on a store from before zones" 0 jobads report
assert_grep "it is UTC" "^Time zone UTC " "$WORK/last.out"
assert_eq "upgraded: tz_zone" UTC "$(an_sql 'SELECT name FROM tz_zone')"
assert_eq "upgraded: one offset span" "1|0" "$(an_sql 'SELECT COUNT(*), MAX(offset_s) FROM tz_offsets' | tr '\t' '|')"

assert_status "an unknown zone" 2 jobads init --tz Mars/Olympus_Mons
assert_grep "says why" "init: --tz: time zone Mars/Olympus_Mons: not a zone of the system's tzdata" "$WORK/last.err"
assert_status "--rebuild wants --tz" 2 jobads init --rebuild

serve_start
prev=UTC
for zone in UTC Asia/Ho_Chi_Minh America/New_York Europe/Berlin Asia/Kolkata Asia/Kathmandu Australia/Adelaide; do
    if [ "$zone" != "$prev" ]; then
        assert_status "$zone: init --tz without --rebuild" 1 jobads init --tz "$zone"
        assert_grep "$zone: says a rebuild is needed" "the facts are bucketed by the hours of $prev; changing the time zone to $zone needs a rebuild from the raw events \(run 'jobads init --tz $zone --rebuild'\)" "$WORK/last.err"
        assert_eq "$zone: the zone stays $prev" "$prev" "$(an_sql 'SELECT name FROM tz_zone')"
        assert_status "$zone: init --tz --rebuild" 0 jobads init --tz "$zone" --rebuild
        assert_grep "$zone: rebuilt" "^etl: [0-9,]+ events" "$WORK/last.out"
    fi
    assert_eq "$zone: recorded" "$zone" "$(an_sql 'SELECT name FROM tz_zone')"
    assert_verify "$zone"
    an_sql 'SELECT hour, impressions, clicks, applies, records, cost_micros FROM hourly_stats' | tr '|' '\t' >hourly.tsv
    an_sql 'SELECT day_of_week, impressions, clicks, applies, records, cost_micros FROM daily_stats' | tr '|' '\t' >daily.tsv
    assert_status "$zone: report" 0 jobads report --format json
    cp "$WORK/last.out" report.json
    assert_status "$zone: report table" 0 jobads report
    assert_grep "$zone: report says the zone" "^Time zone $zone " "$WORK/last.out"
    assert_eq "$zone: heatmap" 200 "$(http GET "/api/heatmap?from=2025-12-01&to=2027-01-01")"
    cp "$WORK/http.body" heatmap.json
    assert_eq "$zone: daily timeseries" 200 "$(http GET "/api/timeseries?interval=day&from=2025-12-01&to=2027-01-01")"
    cp "$WORK/http.body" days.json
    for kind in hourly:hourly.tsv daily:daily.tsv report:report.json heatmap:heatmap.json days:days.json; do
        if python3 "$CHECK" events.tsv "$zone" "${kind%%:*}" "${kind#*:}" >check.out; then ok; else
            fail "$zone ${kind%%:*} differs from the zoneinfo recompute: $(head -5 check.out)"
        fi
    done
    # tz= another zone on the time routes: exact where the store's hours are that
    # zone's hours too (offsets a whole number of hours apart), a 400 where not
    case $zone in
    UTC) asks="Asia/Ho_Chi_Minh:200 Europe/Berlin:200 America/New_York:200 Asia/Kolkata:400" ;;
    Europe/Berlin) asks="America/New_York:200 Asia/Kathmandu:400" ;;
    Asia/Kolkata) asks="Australia/Adelaide:200 UTC:400 Asia/Kathmandu:400" ;;
    Australia/Adelaide) asks="Asia/Kolkata:200 UTC:400" ;;
    *) asks="" ;;
    esac
    for a in $asks; do
        q=${a%%:*} want=${a#*:}
        assert_eq "$zone store, tz=$q: heatmap" "$want" "$(http GET "/api/heatmap?from=2025-12-01&to=2027-01-01&tz=$q")"
        cp "$WORK/http.body" heatmap_q.json
        assert_eq "$zone store, tz=$q: daily timeseries" "$want" \
            "$(http GET "/api/timeseries?interval=day&from=2025-12-01&to=2027-01-01&tz=$q")"
        cp "$WORK/http.body" days_q.json
        if [ "$want" = 200 ]; then
            for kind in heatmap:heatmap_q.json days:days_q.json; do
                if python3 "$CHECK" events.tsv "$q" "${kind%%:*}" "${kind#*:}" >check.out; then ok; else
                    fail "$zone store, tz=$q ${kind%%:*} differs from the zoneinfo recompute: $(head -5 check.out)"
                fi
            done
        else
            assert_grep "$zone store, tz=$q: says why" "\"error\":\"tz: the facts are kept by the hours of the store's zone $zone, and the hour starting [0-9T:.-]+Z is not one of $q's hours" heatmap_q.json
        fi
    done
    prev=$zone
done
assert_eq "tz= an unknown zone is 400" 400 "$(http GET "/api/heatmap?tz=Mars/Olympus_Mons")"
assert_grep "says why" '"error":"tz: time zone Mars/Olympus_Mons: not a zone' "$WORK/http.body"
assert_eq "tz= a path is 400" 400 "$(http GET "/api/heatmap?tz=../../etc/passwd")"
assert_grep "says what it wants" 'tz: want an IANA time zone name' "$WORK/http.body"
assert_eq "tz= on a route without hours is 400" 400 "$(http GET "/api/kpis?tz=UTC")"
# the 23- and 25-hour days of Berlin are in the last Berlin timeseries checked
# above; here the day buckets of Adelaide's change are told apart by their starts
assert_grep "Adelaide's 25-hour 5 April starts at 13:30Z (+10:30)" '"t":"2026-04-04T13:30:00.000Z"' days.json
assert_grep "... and 6 April at 14:30Z (+09:30)" '"t":"2026-04-05T14:30:00.000Z"' days.json
serve_stop
finish
