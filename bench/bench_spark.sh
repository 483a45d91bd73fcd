#!/usr/bin/env bash
# jobads against the job it replaces: the original transform in PySpark
# (tests/integration/spark/original_job.py) on a real Apache Cassandra node
# (scripts/cassandra.sh), both writing to MariaDB (scripts/mariadb.sh), on the
# same events, in the same run. Not a test: it prints figures;
# docs/performance.md keeps them.
#
#   bench/bench_spark.sh [--events N] [--out DIR]
#
#   --events N   records (default 100000), written by the DataStax Python driver
#                into the original's job_ads.tracking as its generator did, and
#                imported by jobads into its own event store on the same node
#   --out DIR    work directory (default bench/out-spark); emptied first
#
# Measures, each side best of three where a run can be repeated:
#   full         the first full run: PySpark over the whole table into MariaDB,
#                against jobads' ETL from cursor 0 into a MariaDB analytics store
#                (repeated as `jobads rebuild`); the Spark figure includes its
#                start (JVM, connector), as a scheduled run pays it
#   incremental  after 10% more records (half of them late, half new): the
#                original's `ts > last_ts` run, which scans the whole table,
#                against jobads' run from its cursor (once each: a run changes
#                what the next one reads)
#   loss         the late records the original's incremental run never reads,
#                as a count, and jobads' count of the same records
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/bench/lib.sh"
N=100000
OUT=$top/bench/out-spark
bench_setup "$@"
venv() { # DIR REQUIREMENTS: the environment's python, installed if needed
    "$top/scripts/pyvenv.sh" setup "$1" "$2" >&2
    "$top/scripts/pyvenv.sh" python "$1"
}
DRIVER=$(venv "$B/peers/pydriver" "$top/tests/integration/cassandra/requirements.txt")
SPARK=$(venv "$B/peers/spark" "$top/tests/integration/spark/requirements.txt")
WRITER=$top/tests/integration/cassandra/original_writer.py

stop_all() {
    "$top/scripts/cassandra.sh" stop "$OUT/node" >/dev/null 2>&1 || true
    [ -n "${OWN_MY:-}" ] && "$top/scripts/mariadb.sh" stop "$OUT/mariadb" >/dev/null 2>&1 || true
}
trap stop_all EXIT
"$top/scripts/cassandra.sh" start "$OUT/node" >node.log 2>&1 || { cat node.log >&2; exit 1; }
eval "$("$top/scripts/cassandra.sh" env "$OUT/node")"
if [ -z "${JOBADS_TEST_MYSQL_URL:-}" ]; then
    OWN_MY=1
    "$top/scripts/mariadb.sh" start "$OUT/mariadb" >mariadb.log 2>&1 || { cat mariadb.log >&2; exit 1; }
    eval "$("$top/scripts/mariadb.sh" env "$OUT/mariadb")"
fi
export JOBADS_MYSQL_PASSWORD
MY=${JOBADS_TEST_MYSQL_URL%/}
hp=${MY#*@}
MY_USER=${MY#mysql://}; MY_USER=${MY_USER%%@*}
my() { MYSQL_PWD=$JOBADS_MYSQL_PASSWORD mariadb --no-defaults -h "${hp%%:*}" -P "${hp#*:}" -u "$MY_USER" "$@"; }
for db in bench_spark_full bench_spark_incr bench_spark_jobads; do
    my -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
done
PORT=$JOBADS_CASSANDRA_PORT
export JOBADS_EVENTS="cassandra://127.0.0.1:$PORT/jobads_bench?settle=0&bucket=1"
export JOBADS_ANALYTICS="$MY/bench_spark_jobads"
ORIG="cassandra://127.0.0.1:$PORT/job_ads?table=tracking"
original() { # full|incremental DB
    "$SPARK" "$top/tests/integration/spark/original_job.py" --cassandra "127.0.0.1:$PORT" \
        --keyspace job_ads --jdbc "jdbc:mariadb://${hp%%:*}:${hp#*:}/$2" --user "$MY_USER" \
        --mode "$1" --watermark "$OUT/last_ts.json"
}
timed() { local t0 t1; t0=$(now); "$@" >>"$OUT/run.log" 2>&1; t1=$(now); printf '%.3f' "$(echo "$t1 - $t0" | bc -l)"; }
fact_sum() { my -N -B bench_spark_jobads -e "SELECT COALESCE(SUM(records), 0) FROM fact_hourly"; }

echo "== $N records into job_ads.tracking by the DataStax driver" >&2
t=$(timed "$DRIVER" "$WRITER" 127.0.0.1 "$PORT" job_ads "$N" 41 first.tsv --no-bad --days-ago 2,30)
echo "   ($t s; the writer's rate is not measured here)" >&2
echo "== jobads imports the table into its own event store on the node" >&2
"$J" init >>run.log 2>&1
t=$(timed "$J" ingest --quiet "$ORIG")
echo "   ($t s)" >&2

echo "== full runs" >&2
j_full=$(timed "$J" etl --quiet)
[ "$(fact_sum)" = "$N" ] || { echo "bench: jobads counted $(fact_sum) of $N" >&2; exit 1; }
j_best=$(best3 "$J" rebuild --quiet)
s_full=$(timed original full bench_spark_full)
s_best=$(best3 original full bench_spark_full)
grep 'original_job: full' run.log | tail -1 >&2

echo "== 10% more: $((N / 20)) late, $((N / 20)) new" >&2
original incremental bench_spark_incr >>run.log 2>&1 # the original's state before them: its watermark
"$DRIVER" "$WRITER" 127.0.0.1 "$PORT" job_ads $((N / 20)) 42 late.tsv --no-bad --days-ago 3,30 >>run.log 2>&1
"$DRIVER" "$WRITER" 127.0.0.1 "$PORT" job_ads $((N / 20)) 43 new.tsv --no-bad --days-ago 0,1 >>run.log 2>&1
"$J" ingest --quiet "$ORIG" >>run.log 2>&1
j_incr=$(timed "$J" etl --quiet)
s_incr=$(timed original incremental bench_spark_incr)
read_incr=$(grep 'original_job: incremental' run.log | tail -1 | sed -E 's/.*incremental: ([0-9]+) rows read.*/\1/')
counted=$(fact_sum)

row() { printf '%-28s %9s %11s %16s\n' "$1" "$2" "$3" "$(ratio "$3" "$2")"; }
echo
echo "jobads against the original PySpark job, $N records on a real Cassandra $("$top/scripts/cassandra.sh" version) node, into MariaDB"
printf '%-28s %9s %11s %16s\n' run "jobads s" "PySpark s" "PySpark/jobads"
row "full (first run)" "$j_full" "$s_full"
row "full (repeated, best of 3)" "$j_best" "$s_best"
row "incremental, +10%" "$j_incr" "$s_incr"
echo "late records in the +10%: $((N / 20)); the original's incremental run read $read_incr of the $((N / 10)) new rows"
echo "(lost: $((N / 10 - read_incr))); jobads counted $counted of $((N + N / 10)) records"
