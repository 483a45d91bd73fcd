#!/usr/bin/env bash
# jobads' Cassandra event store against the official DataStax Python driver doing
# the same work (bench/peers/cql_driver_peer.py), on a real Apache Cassandra
# node (scripts/cassandra.sh) in the same run. Not a test: it prints figures;
# docs/performance.md keeps them.
#
#   bench/bench_driver.sh [--events N] [--out DIR]
#
#   --events N   events (default 50000), from `jobads generate`
#   --out DIR    work directory (default bench/out-driver); emptied first
#
# Measures, in events/s:
#   write  `jobads ingest` of the events into a keyspace made by `jobads init`,
#          against the driver sending the same requests (claims IF NOT EXISTS,
#          the partition index, one unlogged batch per block, the tracking rows)
#          with the same concurrency into a second keyspace made the same way
#   read   `jobads etl` from jobads' keyspace into SQLite (reading, aggregating
#          and writing the facts), against the driver's paged reads of the same
#          partitions (5,000 rows a page) that only decode the rows
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/bench/lib.sh"
N=50000
OUT=$top/bench/out-driver
bench_setup "$@"
"$top/scripts/pyvenv.sh" setup "$B/peers/pydriver" "$top/tests/integration/cassandra/requirements.txt" >&2
PY=$("$top/scripts/pyvenv.sh" python "$B/peers/pydriver")
trap '"$top/scripts/cassandra.sh" stop "$OUT/node" >/dev/null 2>&1 || true' EXIT
"$top/scripts/cassandra.sh" start "$OUT/node" >node.log 2>&1 || { cat node.log >&2; exit 1; }
eval "$("$top/scripts/cassandra.sh" env "$OUT/node")"
PORT=$JOBADS_CASSANDRA_PORT
A="cassandra://127.0.0.1:$PORT/bench_jobads?settle=0&bucket=1"
P="cassandra://127.0.0.1:$PORT/bench_driver?settle=0&bucket=1"
"$J" generate --count "$N" --days 7 --seed 51 --quiet --output events.ndjson
"$J" init --events "$A" --analytics "sqlite:$OUT/a.db" >/dev/null
"$J" init --events "$P" --analytics "sqlite:$OUT/p.db" >/dev/null

t0=$(now); "$J" ingest --events "$A" --quiet events.ndjson; t1=$(now)
jw=$(echo "$t1 - $t0" | bc -l)
pw=$("$PY" "$top/bench/peers/cql_driver_peer.py" write 127.0.0.1 "$PORT" bench_driver events.ndjson)
sleep 2 # bucket=1, settle=0: the last bucket has ended
t0=$(now); "$J" etl --events "$A" --analytics "sqlite:$OUT/a.db" --quiet; t1=$(now)
jr=$(echo "$t1 - $t0" | bc -l)
counted=$(sqlite3 a.db 'SELECT SUM(records) FROM fact_hourly')
pr=$("$PY" "$top/bench/peers/cql_driver_peer.py" read 127.0.0.1 "$PORT" bench_jobads)
rate_of() { echo "$1" | sed -E 's/.*rate ([0-9]+).*/\1/'; }
rows_of() { echo "$1" | sed -E 's/rows ([0-9]+).*/\1/'; }
[ "$counted" = "$N" ] || { echo "bench: jobads counted $counted of $N" >&2; exit 1; }
[ "$(rows_of "$pr")" = "$N" ] || { echo "bench: the driver read $(rows_of "$pr") of $N" >&2; exit 1; }
jwr=$(rate "$N" "$jw"); jrr=$(rate "$N" "$jr")
echo
echo "$N events, one real Cassandra $("$top/scripts/cassandra.sh" version) node; events/s"
printf '%-8s %10s %16s %14s\n' "" jobads "DataStax driver" "jobads/driver"
printf '%-8s %10s %16s %14s\n' write "$jwr" "$(rate_of "$pw")" "$(ratio "$jwr" "$(rate_of "$pw")")"
printf '%-8s %10s %16s %14s\n' read "$jrr" "$(rate_of "$pr")" "$(ratio "$jrr" "$(rate_of "$pr")")"
echo "(the driver stored $(rows_of "$pw") in $(echo "$pw" | sed -E 's/.*secs ([0-9.]+).*/\1/') s and read $(rows_of "$pr"); jobads' read is its whole ETL run)"
