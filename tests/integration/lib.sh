# Shared helpers for the integration tests. Each test is run by CTest as
#   bash t_NAME.sh PATH/TO/jobads WORKDIR
# and works on real SQLite files in WORKDIR, which it empties first.
set -euo pipefail

JOBADS=$(readlink -f "$1")
WORK=$2
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
export JOBADS_EVENTS="sqlite:$WORK/events.db"
export JOBADS_ANALYTICS="sqlite:$WORK/analytics.db"
FAILS=0
CHECKS=0

jobads() { "$JOBADS" "$@"; }

fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}

ok() { CHECKS=$((CHECKS + 1)); }

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
    if [ "$2" == "$3" ]; then ok; else fail "$1: expected [$2], got [$3]"; fi
}

# assert_status WHAT EXPECTED_CODE command...
assert_status() {
    local what=$1 want=$2 got=0
    shift 2
    "$@" >"$WORK/last.out" 2>"$WORK/last.err" || got=$?
    if [ "$got" == "$want" ]; then ok; else
        fail "$what: exit status $got, expected $want; stderr: $(head -c 600 "$WORK/last.err")"
    fi
}

# assert_grep WHAT PATTERN FILE
assert_grep() {
    if grep -qE -- "$2" "$3"; then ok; else fail "$1: no line matching /$2/ in $3: $(head -c 600 "$3")"; fi
}

sq() { sqlite3 -batch -bail "$@"; }

events_count() { sq "$WORK/events.db" 'SELECT COUNT(*) FROM tracking'; }
cursor() { sq "$WORK/analytics.db" 'SELECT cursor FROM etl_state'; }

# Compare every seed-compatible view with an independent recompute, written
# here in SQL over the raw table with the original's definitions, for the
# events the ETL has processed (seq <= cursor). Prints the mismatch count.
check_views() {
    sq "$WORK/analytics.db" <<SQL
ATTACH '$WORK/events.db' AS ev;
CREATE TEMP VIEW raw AS
  SELECT *, cost_micros / 1000000.0 AS cost,
         CASE WHEN impressions > 0 THEN clicks * 1.0 / impressions ELSE 0 END AS r_ctr,
         CASE WHEN clicks > 0 THEN (cost_micros / 1000000.0) / clicks ELSE 0 END AS r_cpc,
         CASE WHEN apply_count > 0 THEN (cost_micros / 1000000.0) / apply_count ELSE 0 END AS r_cpa,
         CASE WHEN cost_micros > 0 THEN apply_count / (cost_micros / 1000000.0) ELSE 0 END AS r_roi
  FROM ev.tracking WHERE seq <= (SELECT cursor FROM main.etl_state);
CREATE TEMP TABLE close_tol AS SELECT 1e-9 AS rel;
CREATE TEMP VIEW c AS SELECT 1;
SELECT
 (SELECT COUNT(*) FROM (SELECT campaign_id, SUM(impressions) ti, SUM(clicks) tc, SUM(apply_count) ta,
        AVG(r_ctr) a1, AVG(r_cpc) a2, AVG(r_cpa) a3, AVG(r_roi) a4 FROM raw GROUP BY campaign_id) r
   FULL JOIN campaign_summary v USING (campaign_id)
   WHERE r.ti IS NOT v.total_impressions OR r.tc IS NOT v.total_clicks OR r.ta IS NOT v.total_applies
      OR abs(r.a1 - v.avg_ctr) > 1e-9 * max(abs(r.a1), abs(v.avg_ctr)) + 1e-12
      OR abs(r.a2 - v.avg_cpc) > 1e-9 * max(abs(r.a2), abs(v.avg_cpc)) + 1e-12
      OR abs(r.a3 - v.avg_cpa) > 1e-9 * max(abs(r.a3), abs(v.avg_cpa)) + 1e-12
      OR abs(r.a4 - v.avg_roi) > 1e-9 * max(abs(r.a4), abs(v.avg_roi)) + 1e-12
      OR r.a1 IS NULL OR v.avg_ctr IS NULL)
 +
 (SELECT COUNT(*) FROM (SELECT publisher_id,
        (SELECT publisher_name FROM raw r2 WHERE r2.publisher_id = raw.publisher_id ORDER BY seq DESC LIMIT 1) pn,
        SUM(impressions) ti, SUM(clicks) tc, SUM(apply_count) ta, AVG(quality_score) aq,
        AVG(r_ctr) a1, AVG(r_cpc) a2, AVG(r_cpa) a3, AVG(r_roi) a4 FROM raw GROUP BY publisher_id) r
   FULL JOIN publisher_summary v USING (publisher_id)
   WHERE r.ti IS NOT v.total_impressions OR r.tc IS NOT v.total_clicks OR r.ta IS NOT v.total_applies
      OR r.pn IS NOT v.publisher_name
      OR abs(r.aq - v.avg_quality_score) > 1e-9 * max(abs(r.aq), abs(v.avg_quality_score)) + 1e-12
      OR abs(r.a1 - v.avg_ctr) > 1e-9 * max(abs(r.a1), abs(v.avg_ctr)) + 1e-12
      OR abs(r.a2 - v.avg_cpc) > 1e-9 * max(abs(r.a2), abs(v.avg_cpc)) + 1e-12
      OR abs(r.a3 - v.avg_cpa) > 1e-9 * max(abs(r.a3), abs(v.avg_cpa)) + 1e-12
      OR abs(r.a4 - v.avg_roi) > 1e-9 * max(abs(r.a4), abs(v.avg_roi)) + 1e-12
      OR r.a1 IS NULL OR v.avg_ctr IS NULL)
 +
 (SELECT COUNT(*) FROM (SELECT industry, SUM(clicks) c, SUM(apply_count) a, AVG(quality_score) q
        FROM raw GROUP BY industry) r
   FULL JOIN industry_summary v USING (industry)
   WHERE r.c IS NOT v.clicks OR r.a IS NOT v.applications
      OR abs(r.q - v.quality) > 1e-9 * max(abs(r.q), abs(v.quality)) + 1e-12 OR r.q IS NULL OR v.quality IS NULL)
 +
 (SELECT COUNT(*) FROM (SELECT hour, SUM(impressions) i, SUM(clicks) c, SUM(apply_count) a
        FROM raw GROUP BY hour) r
   FULL JOIN hourly_stats v USING (hour)
   WHERE r.i IS NOT v.impressions OR r.c IS NOT v.clicks OR r.a IS NOT v.applies)
 +
 (SELECT COUNT(*) FROM (SELECT day_of_week, SUM(clicks) c, SUM(apply_count) a
        FROM raw GROUP BY day_of_week) r
   FULL JOIN daily_stats v USING (day_of_week)
   WHERE r.c IS NOT v.clicks OR r.a IS NOT v.applies)
 +
 (SELECT COUNT(*) FROM (SELECT COALESCE(SUM(cost_micros), 0) m FROM raw) r, kpi_total v WHERE r.m IS NOT v.cost_micros);
SQL
}

assert_views_match() {
    local n
    n=$(check_views)
    assert_eq "$1: seed-compatible views equal the SQL recompute over raw (mismatching rows)" 0 "$n"
}

assert_verify() {
    assert_status "$1: jobads verify" 0 jobads verify
    assert_grep "$1: verify says ok" '^verify: ok' "$WORK/last.out"
}

finish() {
    if [ "$FAILS" -gt 0 ]; then
        echo "$(basename "$0"): $FAILS of $((CHECKS + FAILS)) checks failed" >&2
        exit 1
    fi
    echo "$(basename "$0"): all $CHECKS checks passed"
}
