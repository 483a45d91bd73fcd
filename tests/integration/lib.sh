# Shared helpers for the integration tests. Each test is run by CTest as
#   bash t_NAME.sh PATH/TO/jobads WORKDIR
# and works in WORKDIR, which it empties first.
#
# One definition, several backends: JOBADS_TEST_BACKEND picks where the stores
# live, and the helpers below (store URLs, SQL against a store, the independent
# recompute of the views) work the same on each:
#   sqlite    (default) both stores are SQLite files in WORKDIR
#   mysql-an  events in SQLite, the analytics store on MySQL/MariaDB
#   mysql-ev  the event store on MySQL/MariaDB, analytics in SQLite
#   mysql     both on MySQL/MariaDB
# The mysql ones need a server: JOBADS_TEST_MYSQL_URL (mysql://USER@HOST:PORT,
# no database) and JOBADS_MYSQL_PASSWORD, as `scripts/mariadb.sh env DIR`
# prints. Each test uses its own databases (jt_<test>_<backend>_<store>),
# dropped when it starts. Without a server a mysql test exits 77 (skipped).
#   cassandra-ev  the event store on Cassandra, analytics in SQLite: on the
#             in-memory CQL test server (cqlsrv, tests/cql/srv/, JOBADS_TEST_CQLSRV),
#             started here on a free loopback port and stopped on exit, or on
#             a real Cassandra when JOBADS_TEST_CASSANDRA_URL is set
#             (cassandra://[USER@]HOST[,HOST][:PORT], no keyspace; password in
#             JOBADS_CASSANDRA_PASSWORD). Keyspaces jt_<test>_<name>; on a
#             node that outlives a test, tests/integration/cassandra/shared_node.sh
#             drops them before the test starts. The raw events are read through
#             tests/cql/cqltool (JOBADS_TEST_CQLTOOL), which copies them with
#             their seq into a SQLite file, so ev_sql runs the same SQL.
set -euo pipefail

JOBADS=$(readlink -f "$1")
WORK=$2
BACKEND=${JOBADS_TEST_BACKEND:-sqlite}
TEST_NAME=$(basename "$0" .sh)
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
FAILS=0
CHECKS=0

case $BACKEND in
sqlite) EV_KIND=sqlite AN_KIND=sqlite ;;
mysql-an) EV_KIND=sqlite AN_KIND=mysql ;;
mysql-ev) EV_KIND=mysql AN_KIND=sqlite ;;
mysql) EV_KIND=mysql AN_KIND=mysql ;;
cassandra-ev) EV_KIND=cassandra AN_KIND=sqlite ;;
*) echo "JOBADS_TEST_BACKEND: unknown backend '$BACKEND' (sqlite, mysql-an, mysql-ev, mysql, cassandra-ev)" >&2; exit 2 ;;
esac

if [ "$EV_KIND" = cassandra ]; then
    CQLTOOL=${JOBADS_TEST_CQLTOOL:-$(dirname "$JOBADS")/tests/cqltool}
    if [ -n "${JOBADS_TEST_CASSANDRA_URL:-}" ]; then
        CQL_URL=${JOBADS_TEST_CASSANDRA_URL%/}
    else
        CQLSRV=${JOBADS_TEST_CQLSRV:-$(dirname "$JOBADS")/tests/cqlsrv}
        "$CQLSRV" --port 0 --port-file "$WORK/cqlsrv.port" 2>"$WORK/cqlsrv.log" &
        CQLSRV_PID=$!
        trap 'kill $CQLSRV_PID 2>/dev/null; wait $CQLSRV_PID 2>/dev/null || true' EXIT
        for _ in $(seq 100); do [ -s "$WORK/cqlsrv.port" ] && break; sleep 0.05; done
        [ -s "$WORK/cqlsrv.port" ] || { echo "$TEST_NAME: the CQL test server did not start: $(cat "$WORK/cqlsrv.log")" >&2; exit 1; }
        CQL_URL="cassandra://127.0.0.1:$(cat "$WORK/cqlsrv.port")"
    fi
    CQL_PREFIX="jt_${TEST_NAME#t_}"
    # one writer, sequential steps: read everything stored (settle 0), 1 s buckets
    CQL_PARAMS="settle=0&bucket=1"
fi

# The MySQL/MariaDB test server: MY_URL, the client's options for my(), and
# DB_PREFIX. Exits 77 (skipped) without one; a test that needs one besides its
# backend's stores calls it itself.
my_connect() {
    if [ -z "${JOBADS_TEST_MYSQL_URL:-}" ]; then
        echo "$TEST_NAME: skipped: no MySQL/MariaDB test server (set JOBADS_TEST_MYSQL_URL, see scripts/mariadb.sh)" >&2
        exit 77
    fi
    MY_URL=${JOBADS_TEST_MYSQL_URL%/}
    # mysql://USER@HOST:PORT -> the client's options (the password goes by MYSQL_PWD, not argv)
    my_hostport=${MY_URL#mysql://}
    MY_USER=${my_hostport%%@*}
    my_hostport=${my_hostport#*@}
    MY_HOST=${my_hostport%%:*}
    MY_PORT=${my_hostport#*:}
    [ "$MY_PORT" != "$my_hostport" ] || MY_PORT=3306
    DB_PREFIX="jt_${TEST_NAME#t_}_${BACKEND//-/_}"
}
if [ "$EV_KIND" = mysql ] || [ "$AN_KIND" = mysql ]; then my_connect; fi

# The mariadb client on the test server: my [DB] [client options...] < SQL
my() {
    local db=()
    if [ $# -gt 0 ] && [ "${1#-}" == "$1" ]; then db=(-D "$1"); shift; fi
    MYSQL_PWD=${JOBADS_MYSQL_PASSWORD:-} mariadb --no-defaults -h "$MY_HOST" -P "$MY_PORT" \
        -u "$MY_USER" --default-character-set=utf8mb4 "${db[@]}" "$@"
}

# Query output in sqlite3's list format: fields joined by '|', NULL empty.
my_q() {
    local db=$1
    shift
    my "$db" -N -B -e "$*" | awk 'BEGIN { FS = "\t"; OFS = "|" } { for (i = 1; i <= NF; i++) if ($i == "NULL") $i = ""; $1 = $1; print }'
}

my_db() { echo "${DB_PREFIX}_${1//[^A-Za-z0-9_]/_}"; }

# Drop this test's databases from an earlier run.
if [ -n "${DB_PREFIX:-}" ]; then
    for db in $(my -N -B -e "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '${DB_PREFIX}\\_%'"); do
        my -e "DROP DATABASE \`$db\`"
    done
fi

cql_ks() { echo "${CQL_PREFIX}_${1//[^A-Za-z0-9_]/_}" | tr 'A-Z' 'a-z'; }

# Store URLs by name: ev_url NAME, an_url NAME (a name is a file or a database).
ev_url() {
    if [ "$EV_KIND" = mysql ]; then echo "$MY_URL/$(my_db "ev_$1")"
    elif [ "$EV_KIND" = cassandra ]; then echo "$CQL_URL/$(cql_ks "$1")?$CQL_PARAMS"
    else echo "sqlite:$WORK/$1.db"; fi
}
an_url() { if [ "$AN_KIND" = mysql ]; then echo "$MY_URL/$(my_db "an_$1")"; else echo "sqlite:$WORK/$1.db"; fi; }
export JOBADS_EVENTS=$(ev_url events)
export JOBADS_ANALYTICS=$(an_url analytics)

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

# SQL against a store, output as sqlite3 prints it. Write portable SQL: quote
# `cursor` with backticks, no || for concatenation.
ev_sql_at() {
    local name=$1
    shift
    if [ "$EV_KIND" = mysql ]; then my_q "$(my_db "ev_$name")" "$@"
    elif [ "$EV_KIND" = cassandra ]; then
        "$CQLTOOL" dump "$(ev_url "$name")" "$WORK/.cql_$name.db" && sq "$WORK/.cql_$name.db" "$@"
    else sq "$WORK/$name.db" "$@"; fi
}
an_sql_at() {
    local name=$1
    shift
    if [ "$AN_KIND" = mysql ]; then my_q "$(my_db "an_$name")" "$@"; else sq "$WORK/$name.db" "$@"; fi
}
ev_sql() { ev_sql_at events "$@"; }
# event_id as the UUID's text, as a column expression for ev_sql: the SQLite
# event store keeps its 16 bytes (layout 2), MySQL and the Cassandra dump text.
ev_id() {
    if [ "$EV_KIND" = sqlite ]; then
        local h='lower(hex(event_id))'
        echo "(substr($h, 1, 8) || '-' || substr($h, 9, 4) || '-' || substr($h, 13, 4) || '-' || substr($h, 17, 4) || '-' || substr($h, 21, 12))"
    else echo event_id; fi
}
an_sql() { an_sql_at analytics "$@"; }

events_count() { ev_sql 'SELECT COUNT(*) FROM tracking'; }
# The seq of the newest stored event: what the cursor reaches when the ETL has
# read everything (the event count where seq is dense, as on SQLite).
newest_seq() {
    if [ "$EV_KIND" = cassandra ]; then "$CQLTOOL" newest "$(ev_url events)"
    else ev_sql 'SELECT COALESCE(MAX(seq), 0) FROM tracking'; fi
}
cursor() { an_sql 'SELECT `cursor` FROM etl_state'; }

# Add 1 to the clicks of one fact row (to show that verify notices).
tamper_one_fact() {
    if [ "$AN_KIND" = mysql ]; then
        an_sql 'UPDATE fact_hourly SET clicks = clicks + 1 LIMIT 1'
    else
        an_sql "UPDATE fact_hourly SET clicks = clicks + 1 WHERE (hour_start, campaign_id, publisher_id, industry, location, device) IN (SELECT hour_start, campaign_id, publisher_id, industry, location, device FROM fact_hourly LIMIT 1)"
    fi
}

# Copy a MySQL query's rows into table TABLE of the SQLite file DBFILE: text
# columns travel as hex (named in HEXCOLS, decoded with a dictionary built
# from X'..' literals), so no byte of a hostile value is lost or reinterpreted.
#   my_to_sqlite MYDB DBFILE TABLE "col TYPE, ..." "SELECT ..." [HEXCOL...]
my_to_sqlite() {
    local mydb=$1 file=$2 table=$3 cols=$4 select=$5
    shift 5
    local tsv="$WORK/.$table.tsv"
    my "$mydb" -N -B -e "$select" >"$tsv"
    {
        echo "CREATE TABLE IF NOT EXISTS hexmap (hex TEXT PRIMARY KEY, txt TEXT);"
        echo "CREATE TABLE stage_$table ($cols);"
        echo ".mode tabs"
        echo ".import '$tsv' stage_$table"
        local n=0 c
        for c in "$@"; do
            n=$(echo "$cols" | tr ',' '\n' | awk -v c="$c" '$1 == c { print NR }')
            cut -f"$n" "$tsv" | sort -u | grep -v '^NULL$' |
                awk '{ printf "INSERT OR IGNORE INTO hexmap VALUES (\x27%s\x27, CAST(X\x27%s\x27 AS TEXT));\n", $1, $1 }'
            echo "UPDATE stage_$table SET $c = (SELECT txt FROM hexmap WHERE hex = stage_$table.$c);"
        done
        echo "ALTER TABLE stage_$table RENAME TO $table;"
    } | sq "$file"
}

# Compare every seed-compatible view with an independent recompute, written
# here in SQL over the raw table with the original's definitions, for the
# events the ETL has processed (seq <= cursor). Prints the mismatch count.
# The recompute runs in SQLite; a MySQL store's rows (views read with the
# mariadb client, raw events) are copied into a scratch SQLite file first.
check_views() {
    local db="$WORK/check.db" cur
    rm -f "$db"
    cur=$(cursor)
    if [ "$EV_KIND" = mysql ]; then
        my_to_sqlite "$(my_db ev_events)" "$db" src_tracking \
            "seq INTEGER, campaign_id INTEGER, publisher_id INTEGER, publisher_name TEXT, industry TEXT, impressions INTEGER, clicks INTEGER, apply_count INTEGER, cost_micros INTEGER, quality_score INTEGER, hour INTEGER, day_of_week INTEGER" \
            "SELECT seq, campaign_id, publisher_id, HEX(publisher_name), HEX(industry), impressions, clicks, apply_count, cost_micros, quality_score, hour, day_of_week FROM tracking WHERE seq <= $cur" \
            publisher_name industry
        local events_src=src_tracking
    else
        local events_src=ev.tracking
    fi
    local attach_an=""
    if [ "$AN_KIND" = mysql ]; then
        local m
        m=$(my_db an_analytics)
        my_to_sqlite "$m" "$db" campaign_summary \
            "campaign_id INTEGER, total_impressions INTEGER, total_clicks INTEGER, total_applies INTEGER, avg_ctr REAL, avg_cpc REAL, avg_cpa REAL, avg_roi REAL" \
            "SELECT campaign_id, total_impressions, total_clicks, total_applies, avg_ctr, avg_cpc, avg_cpa, avg_roi FROM campaign_summary"
        my_to_sqlite "$m" "$db" publisher_summary \
            "publisher_id INTEGER, publisher_name TEXT, total_impressions INTEGER, total_clicks INTEGER, total_applies INTEGER, avg_quality_score REAL, avg_ctr REAL, avg_cpc REAL, avg_cpa REAL, avg_roi REAL" \
            "SELECT publisher_id, HEX(publisher_name), total_impressions, total_clicks, total_applies, avg_quality_score, avg_ctr, avg_cpc, avg_cpa, avg_roi FROM publisher_summary" \
            publisher_name
        my_to_sqlite "$m" "$db" industry_summary "industry TEXT, clicks INTEGER, applications INTEGER, quality REAL" \
            "SELECT HEX(industry), clicks, applications, quality FROM industry_summary" industry
        my_to_sqlite "$m" "$db" hourly_stats "hour INTEGER, impressions INTEGER, clicks INTEGER, applies INTEGER" \
            "SELECT hour, impressions, clicks, applies FROM hourly_stats"
        my_to_sqlite "$m" "$db" daily_stats "day_of_week INTEGER, clicks INTEGER, applies INTEGER" \
            "SELECT day_of_week, clicks, applies FROM daily_stats"
        my_to_sqlite "$m" "$db" kpi_total "cost_micros INTEGER" "SELECT cost_micros FROM kpi_total"
    else
        attach_an="ATTACH '$WORK/analytics.db' AS an;"
    fi
    local attach_ev=""
    if [ "$EV_KIND" = cassandra ]; then
        "$CQLTOOL" dump "$(ev_url events)" "$WORK/.cql_events.db"
        attach_ev="ATTACH '$WORK/.cql_events.db' AS ev;"
    elif [ "$EV_KIND" != mysql ]; then
        attach_ev="ATTACH '$WORK/events.db' AS ev;"
    fi
    sq "$db" <<SQL
$attach_ev
$attach_an
CREATE TEMP VIEW raw AS
  SELECT *, cost_micros / 1000000.0 AS cost,
         CASE WHEN impressions > 0 THEN clicks * 1.0 / impressions ELSE 0 END AS r_ctr,
         CASE WHEN clicks > 0 THEN (cost_micros / 1000000.0) / clicks ELSE 0 END AS r_cpc,
         CASE WHEN apply_count > 0 THEN (cost_micros / 1000000.0) / apply_count ELSE 0 END AS r_cpa,
         CASE WHEN cost_micros > 0 THEN apply_count / (cost_micros / 1000000.0) ELSE 0 END AS r_roi
  FROM $events_src WHERE seq <= $cur;
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

# A MariaDB server of this test's own in WORK/server (for tests that kill or
# pause it), stopped when the test exits. Points the mysql stores at it.
use_private_server() {
    MARIADB_SH=$(readlink -f "$(dirname "${BASH_SOURCE[0]}")/../../scripts/mariadb.sh")
    SERVER_DIR=$WORK/server
    "$MARIADB_SH" start "$SERVER_DIR" || exit 1
    trap '"$MARIADB_SH" stop "$SERVER_DIR"' EXIT
    eval "$("$MARIADB_SH" env "$SERVER_DIR")"
    MY_URL=${JOBADS_TEST_MYSQL_URL%/}
    local hp=${MY_URL#mysql://}
    MY_USER=${hp%%@*}
    hp=${hp#*@}
    MY_HOST=${hp%%:*}
    MY_PORT=${hp#*:}
    JOBADS_EVENTS=$(ev_url events)
    JOBADS_ANALYTICS=$(an_url analytics)
}
server_pid() { cat "$SERVER_DIR/mariadbd.pid"; }
