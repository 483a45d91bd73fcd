# The original job, in PySpark, as an oracle (issue 15): on a real Apache
# Cassandra node (scripts/cassandra.sh), the DataStax Python driver writes the
# original's job_ads.tracking as its generator did; jobads imports the table
# (`jobads ingest cassandra://...?table=tracking`) and runs the ETL; then more
# rows arrive, most of them late (a ts below what was there), and jobads imports
# the table again (every earlier row a duplicate). The original transform,
# written from ../shared/seed/original-stack-facts.md as a PySpark job reading
# the table through the Spark Cassandra Connector and writing MariaDB through
# JDBC (original_job.py), then runs over all rows: jobads' seed-compatible views
# must equal its five summaries (counts exactly, ratio means within 1e-9
# relative). Its incremental runs (`ts > last_ts`) beside it show the original's
# loss: the late rows are never read.
#
#   bash t_real_spark.sh PATH/TO/jobads WORKDIR
#
# Needs the node (skipped like t_real_node.sh when its jars cannot be had) and
# the MariaDB test server (JOBADS_TEST_MYSQL_URL); PySpark is installed from
# PyPI (requirements.txt) and the connector and JDBC driver fetched from Maven
# Central by Spark into ~/.cache/jobads/ivy. With CI=true, anything missing is
# a failure.
HERE=$(cd "$(dirname "$0")" && pwd) # lib.sh changes to WORKDIR
TOP=$HERE/../../..
JOBADS_TEST_BACKEND=cassandra-ev
JOBADS_TEST_CASSANDRA_URL=cassandra://127.0.0.1:1 # until the node is up
export JOBADS_TEST_BACKEND JOBADS_TEST_CASSANDRA_URL
source "$HERE/../lib.sh" "$@"
if [ "${CI:-}" = true ] && [ -z "${JOBADS_TEST_MYSQL_URL:-}" ]; then
    echo "$TEST_NAME: CI needs the MariaDB test server (JOBADS_TEST_MYSQL_URL)" >&2
    exit 1
fi
my_connect
venv() { # DIR REQUIREMENTS: the environment's python, installed if needed
    "$TOP/scripts/pyvenv.sh" setup "$1" "$2" >&2 ||
        { echo "$TEST_NAME: could not install $2" >&2; exit 1; }
    "$TOP/scripts/pyvenv.sh" python "$1"
}
DRIVER=$(venv "$WORK/../pydriver" "$HERE/../cassandra/requirements.txt")
SPARK=$(venv "$WORK/../spark" "$HERE/requirements.txt")
source "$HERE/../cassandra/node_lib.sh"

export JOBADS_EVENTS=sqlite:$WORK/events.db
ORIG="$CQL_URL/job_ads_orig?table=tracking"
FULL_DB=$(my_db full)
INCR_DB=$(my_db incremental)
for db in "$FULL_DB" "$INCR_DB"; do my -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\`"; done
original() { # full|incremental DB
    "$SPARK" "$HERE/original_job.py" --cassandra "127.0.0.1:$JOBADS_CASSANDRA_PORT" \
        --keyspace job_ads_orig --jdbc "jdbc:mariadb://$MY_HOST:$MY_PORT/$2" --user "$MY_USER" \
        --mode "$1" --watermark "$WORK/last_ts.json"
}
# the original's table after a run, in TSV by key, for oracle_check.py
dump() { # DB DIR
    mkdir -p "$2"
    my "$1" -N -B -e "SELECT campaign_id, total_impressions, total_clicks, total_applies, avg_ctr, avg_cpc, avg_cpa, avg_roi FROM campaign_summary" >"$2/campaign_summary.tsv"
    my "$1" -N -B -e "SELECT publisher_id, total_impressions, total_clicks, total_applies, avg_quality_score, avg_ctr, avg_cpc, avg_cpa, avg_roi, publisher_name FROM publisher_summary" >"$2/publisher_summary.tsv"
    my "$1" -N -B -e "SELECT industry, clicks, applications, quality FROM industry_summary" >"$2/industry_summary.tsv"
    my "$1" -N -B -e "SELECT hour, impressions, clicks, applies FROM hourly_stats" >"$2/hourly_stats.tsv"
    my "$1" -N -B -e "SELECT day_of_week, clicks, applies FROM daily_stats" >"$2/daily_stats.tsv"
}
csum() { awk -F'\t' -v c="$2" '{ s += $c } END { print s + 0 }' "$1"; } # FILE COLUMN

assert_status "the driver writes 4000 records of the last 30 days" 0 \
    "$DRIVER" "$TOP/tests/integration/cassandra/original_writer.py" 127.0.0.1 \
    "$JOBADS_CASSANDRA_PORT" job_ads_orig 4000 31 first.tsv --no-bad --days-ago 2,30
assert_status "init" 0 jobads init
assert_status "jobads imports the table" 0 jobads ingest --quiet "$ORIG"
assert_status "and runs the ETL" 0 jobads etl --quiet
assert_status "the original's first incremental run" 0 original incremental "$INCR_DB"
assert_grep "reads every row" 'incremental: 4000 rows read' "$WORK/last.out"

# more rows: 600 late (3 to 30 days old, below the watermark) and 400 new
assert_status "600 late records" 0 "$DRIVER" "$TOP/tests/integration/cassandra/original_writer.py" \
    127.0.0.1 "$JOBADS_CASSANDRA_PORT" job_ads_orig 600 32 late.tsv --no-bad --days-ago 3,30
assert_status "400 new ones" 0 "$DRIVER" "$TOP/tests/integration/cassandra/original_writer.py" \
    127.0.0.1 "$JOBADS_CASSANDRA_PORT" job_ads_orig 400 33 new.tsv --no-bad --days-ago 0,1
assert_status "jobads imports the table again" 0 jobads ingest "$ORIG"
assert_grep "the earlier rows are duplicates" 'ingest: 1,000 stored, 4,000 duplicates' "$WORK/last.err"
assert_status "and runs the ETL" 0 jobads etl --quiet
assert_eq "jobads counts every record once" 5000 "$(an_sql 'SELECT SUM(records) FROM fact_hourly')"
assert_verify "after the second import"

assert_status "the original's second incremental run" 0 original incremental "$INCR_DB"
assert_grep "reads only the rows past its watermark: the 400 new ones" 'incremental: 400 rows read' "$WORK/last.out"
assert_status "the original job over all rows" 0 original full "$FULL_DB"
assert_grep "reads every row" 'full: 5000 rows read' "$WORK/last.out"
dump "$FULL_DB" full
assert_status "jobads' views equal the original's summaries over all rows" 0 \
    python3 "$HERE/oracle_check.py" "$WORK/analytics.db" full
cat "$WORK/last.out"

# the original's loss, as a count: its incremental totals lack exactly the late rows
dump "$INCR_DB" incr
late_clicks=$(csum late.tsv 7)
lost=$(( $(csum full/campaign_summary.tsv 3) - $(csum incr/campaign_summary.tsv 3) ))
echo "$TEST_NAME: the original's incremental runs lost 600 late records ($lost clicks); jobads counted them"
assert_eq "the incremental runs lost the 600 late records' clicks" "$late_clicks" "$lost"
assert_eq "jobads has them" "$(( $(csum full/campaign_summary.tsv 3) ))" "$(an_sql 'SELECT SUM(clicks) FROM fact_hourly')"
echo "$TEST_NAME: $((SECONDS - t0)) s with the node"
finish
