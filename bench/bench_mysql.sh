#!/usr/bin/env bash
# MySQL/MariaDB benchmarks, each with its peer measured in the same run on the
# same records, on a private MariaDB server started in OUT/server (stopped at
# the end). Not a test: it prints figures; docs/performance.md keeps them.
#
#   bench/bench_mysql.sh [--events N] [--shuffle] [--out DIR]
#
#   --events N   events (default 1000000)
#   --shuffle    history out of time order: 30 days, ts random in file order
#                (`generate --shuffle`), as an export of the original's table is
#   --out DIR    work directory (default bench/out-mysql); emptied first
#
# Peers:
#   ETL     sqlite -> mysql vs sqlite -> sqlite (goal: within 1.5x), and vs
#           MariaDB's own INSERT ... SELECT ... GROUP BY computing the same fact
#           rows from a `tracking` table on the same server (goal: faster)
#   ingest  into the MySQL event store vs LOAD DATA LOCAL INFILE of the same
#           records (CSV) into the same table, unique key and all (goal: >= 1)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
N=1000000
OUT=$top/bench/out-mysql
GEN=(--days 14)
while [ $# -gt 0 ]; do
    case $1 in
    --events) N=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --shuffle) GEN=(--days 30 --shuffle); shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; exit 2 ;;
    esac
done
"$top/scripts/build.sh" "$top/build"
J=$top/build/jobads
[ -d "$OUT/server" ] && "$top/scripts/mariadb.sh" stop "$OUT/server"
rm -rf "$OUT"; mkdir -p "$OUT"; cd "$OUT"
"$top/scripts/mariadb.sh" start "$OUT/server"
trap '"$top/scripts/mariadb.sh" stop "$OUT/server"' EXIT
eval "$("$top/scripts/mariadb.sh" env "$OUT/server")"
URL=$JOBADS_TEST_MYSQL_URL
my() { mariadb --no-defaults -S "$JOBADS_TEST_MYSQL_SOCKET" -uroot --local-infile=1 "$@"; }
drop() { my -e "DROP DATABASE IF EXISTS $1"; }

source "$top/bench/lib.sh"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(my -N -B -e 'SELECT VERSION()'), sqlite $(sqlite3 --version | cut -d' ' -f1)"
echo "data: $N events, generate ${GEN[*]}, original distributions, seed 1"
"$J" generate --count "$N" "${GEN[@]}" --seed 1 --events sqlite:ev.db --quiet
"$J" generate --count "$N" "${GEN[@]}" --seed 1 --output ev.ndjson --quiet
"$J" generate --count "$N" "${GEN[@]}" --seed 1 --output ev.csv --format csv --quiet

echo
echo "== ingest into the MySQL event store"
t_ing=$(PREP='drop b_ev; "$J" init --events "$URL/b_ev" --analytics sqlite:scratch.db >/dev/null' \
    best3 "$J" ingest --quiet --events "$URL/b_ev" ev.ndjson)
# the same table (DDL from sql/mysql/events.sql), the same records as CSV
LOAD="LOAD DATA LOCAL INFILE 'ev.csv' IGNORE INTO TABLE tracking CHARACTER SET utf8mb4
  FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n' IGNORE 1 LINES
  (event_id, @ts, publisher_id, publisher_name, publisher_traffic, publisher_quality, bid, job_id,
   campaign_id, industry, location, impressions, clicks, apply_count, @cost, quality_score, device,
   hour, day_of_week)
  SET ts = ROUND(UNIX_TIMESTAMP(STR_TO_DATE(@ts, '%Y-%m-%dT%H:%i:%s.%fZ')) * 1000),
      cost_micros = ROUND(@cost * 1000000)"
t_load=$(PREP='drop b_load; my -e "CREATE DATABASE b_load"; my b_load < "$top/sql/mysql/events.sql"' \
    best3 my b_load -e "SET time_zone = '+00:00'; $LOAD")
echo "jobads ingest NDJSON:             $t_ing s  ($(rate "$N" "$t_ing") rows/s)"
echo "LOAD DATA LOCAL INFILE (CSV):     $t_load s  ($(rate "$N" "$t_load") rows/s)"
echo "rows: $(my -N -B -e 'SELECT COUNT(*) FROM b_ev.tracking') ingested, $(my -N -B -e 'SELECT COUNT(*) FROM b_load.tracking') loaded"
echo "ratio ingest speed / LOAD DATA:   $(ratio "$t_load" "$t_ing")   (goal >= 1)"

echo
echo "== ETL end to end"
PREP='rm -f an.db an.db-wal an.db-shm' t_ss=$(best3 "$J" etl --quiet --events sqlite:ev.db --analytics sqlite:an.db)
t_sm=$(PREP='drop b_an' best3 "$J" etl --quiet --events sqlite:ev.db --analytics "$URL/b_an")
"$J" verify --events sqlite:ev.db --analytics "$URL/b_an" | head -1
t_mm=$(PREP='drop b_an2' best3 "$J" etl --quiet --events "$URL/b_ev?settle=0" --analytics "$URL/b_an2")
"$J" verify --events "$URL/b_ev" --analytics "$URL/b_an2" | head -1
GB="CREATE TABLE f LIKE b_an.fact_hourly;
INSERT INTO f SELECT (ts DIV 3600000) * 3600, campaign_id, publisher_id, industry, location, device,
  COUNT(*), SUM(impressions), SUM(clicks), SUM(apply_count), SUM(cost_micros), SUM(quality_score),
  SUM(CASE WHEN impressions > 0 THEN clicks * 1e0 / impressions ELSE 0e0 END),
  SUM(CASE WHEN clicks > 0 THEN cost_micros / 1e6 / clicks ELSE 0e0 END),
  SUM(CASE WHEN apply_count > 0 THEN cost_micros / 1e6 / apply_count ELSE 0e0 END),
  SUM(CASE WHEN cost_micros > 0 THEN apply_count / (cost_micros / 1e6) ELSE 0e0 END)
FROM b_ev.tracking GROUP BY 1, 2, 3, 4, 5, 6"
t_gb=$(PREP='drop b_gb; my -e "CREATE DATABASE b_gb"' best3 my b_gb -e "$GB")
echo "rows: $(my -N -B -e 'SELECT COUNT(*) FROM b_gb.f') by GROUP BY, $(my -N -B -e 'SELECT COUNT(*) FROM b_an.fact_hourly') by jobads"
echo "jobads etl sqlite -> sqlite:           $t_ss s  ($(rate "$N" "$t_ss") events/s)"
echo "jobads etl sqlite -> mysql:            $t_sm s  ($(rate "$N" "$t_sm") events/s)"
echo "jobads etl mysql -> mysql:             $t_mm s  ($(rate "$N" "$t_mm") events/s)"
echo "MariaDB INSERT ... SELECT ... GROUP BY: $t_gb s  ($(rate "$N" "$t_gb") rows/s)"
echo "ratio sqlite->mysql / sqlite->sqlite:  $(ratio "$t_sm" "$t_ss")   (goal <= 1.5)"
echo "ratio GROUP BY time / sqlite->mysql:   $(ratio "$t_gb" "$t_sm")   (goal > 1: jobads faster)"
echo "ratio GROUP BY time / mysql->mysql:    $(ratio "$t_gb" "$t_mm")"
