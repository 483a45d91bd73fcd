#!/usr/bin/env bash
# Cassandra event store benchmarks on the in-memory CQL test server
# (cqlsrv, tests/cql/srv/, started in OUT and stopped at the end), each with the
# SQLite event store as the peer measured in the same run on the same events.
# Not a test: it prints figures; docs/performance.md keeps them.
#
#   bench/bench_cql.sh [--events N] [--out DIR]
#
#   --events N   events (default 300000)
#   --out DIR    work directory (default bench/out-cql); emptied first
#
# Measures: ingest (jobads generate) into cassandra:// and sqlite:, the ETL
# from each into SQLite analytics, with the client's share of the time
# (JOBADS_CQL_STATS: frames encoded, values bound, rows decoded, waiting on the
# server); and the row codec alone on one core with no network, on a page of
# rows recorded from the server (goal: >= 1 M rows/s each way).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/bench/lib.sh"
N=300000
OUT=$top/bench/out-cql
bench_setup "$@"
"$B/tests/cqlsrv" --port 0 --port-file port 2>srv.log &
SRV=$!
trap 'kill $SRV 2>/dev/null; wait $SRV 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
P=$(cat port)
# settle 0: the ETL reads everything stored before it (one writer, then one reader)
CQ="cassandra://127.0.0.1:$P/bench?settle=0&bucket=1"
rate() { echo "scale=0; $1 / ($3 - $2)" | bc; }

echo "== ingest: jobads generate --count $N"
t0=$(now); JOBADS_CQL_STATS=1 "$J" generate --count "$N" --days 14 --seed 1 --quiet --events "$CQ" --analytics sqlite:an-c.db 2>gen-c.err; t1=$(now)
t2=$(now); "$J" generate --count "$N" --days 14 --seed 1 --quiet --events sqlite:ev.db --analytics sqlite:an-s.db; t3=$(now)
ic=$(rate "$N" "$t0" "$t1"); is=$(rate "$N" "$t2" "$t3")
echo "cassandra (test server): $ic events/s; sqlite: $is events/s"
cat gen-c.err

sleep 1.1 # the last 1 s bucket closes: the ETL would wait for it (settle 0)
echo "== etl into SQLite analytics"
t0=$(now); JOBADS_CQL_STATS=1 "$J" etl --events "$CQ" --analytics sqlite:an-c.db >etl-c.out 2>etl-c.err; t1=$(now)
t2=$(now); "$J" etl --events sqlite:ev.db --analytics sqlite:an-s.db >etl-s.out; t3=$(now)
ec=$(rate "$N" "$t0" "$t1"); es=$(rate "$N" "$t2" "$t3")
cat etl-c.out etl-c.err
echo "cassandra (test server): $ec events/s; sqlite: $es events/s (wall time, process start included)"
"$J" verify --events "$CQ" --analytics sqlite:an-c.db
same=$(sqlite3 an-c.db 'SELECT SUM(records), SUM(clicks), SUM(cost_micros) FROM fact_hourly')
[ "$same" = "$(sqlite3 an-s.db 'SELECT SUM(records), SUM(clicks), SUM(cost_micros) FROM fact_hourly')" ] &&
    echo "same totals from both stores: $same"

echo "== row codec, one core, no network (a recorded page of 5,000 rows)"
"$B/tests/cql_codec_bench" record 127.0.0.1 "$P" bench page.bin
"$B/tests/cql_codec_bench" decode page.bin 3
"$B/tests/cql_codec_bench" encode 3
