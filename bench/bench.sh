#!/usr/bin/env bash
# Benchmarks with a peer measured in the same run, on the same data. Not a test:
# it prints figures and ratios; docs/performance.md keeps them with this command.
#
#   bench/bench.sh [--events N] [--big M] [--out DIR]
#
#   --events N   events in the main data set (default 1000000)
#   --big M      events already stored for the "large store" ingest and the
#                memory figures (default 10000000; 0 skips those parts)
#   --out DIR    work directory (default bench/out); emptied first
#
# Peers, each run on the same records in the same run:
#   ETL        vs the sqlite3 tool's single-pass scan reading every column the ETL
#              needs (a SUM over each numeric column, a SUM of length() over each
#              text column), and vs SQLite's own GROUP BY computing the same
#              aggregates (INSERT INTO ... SELECT ... GROUP BY into a table)
#   ingest     vs the sqlite3 tool's .import of the same records from CSV into a
#              table of the same columns with no index
#   no-op ETL  vs a bare `sqlite3 events.db 'SELECT 1'` process
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
N=1000000
BIG=10000000
OUT=$top/bench/out
while [ $# -gt 0 ]; do
    case $1 in
    --events) N=$2; shift 2 ;;
    --big) BIG=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; exit 2 ;;
    esac
done
"$top/scripts/build.sh" "$top/build"
J=$top/build/jobads
rm -rf "$OUT"; mkdir -p "$OUT"; cd "$OUT"

source "$top/bench/lib.sh"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), sqlite $(sqlite3 --version | cut -d' ' -f1)"
echo "data: $N events over 14 days, original distributions, seed 1"
"$J" generate --count "$N" --days 14 --seed 1 --events sqlite:ev.db --quiet
"$J" generate --count "$N" --days 14 --seed 1 --output ev.ndjson --quiet
"$J" generate --count "$N" --days 14 --seed 1 --output ev.csv --format csv --quiet

echo
echo "== ETL end to end (events.db -> analytics.db)"
PREP='rm -f an.db an.db-wal an.db-shm' t_etl=$(best3 "$J" etl --quiet --events sqlite:ev.db --analytics sqlite:an.db)
"$J" verify --events sqlite:ev.db --analytics sqlite:an.db >/dev/null
SCAN="SELECT SUM(seq), SUM(ts), SUM(publisher_id), SUM(length(publisher_name)), SUM(length(publisher_traffic)), SUM(length(publisher_quality)), SUM(campaign_id), SUM(length(industry)), SUM(length(location)), SUM(length(device)), SUM(impressions), SUM(clicks), SUM(apply_count), SUM(cost_micros), SUM(quality_score) FROM tracking"
t_scan=$(PREP= best3 sqlite3 ev.db "$SCAN")
GROUPBY="ATTACH 'gb.db' AS gb; CREATE TABLE gb.f AS SELECT (ts / 3600000) * 3600 AS hour_start, campaign_id, publisher_id, industry, location, device, COUNT(*) AS records, SUM(impressions) AS impressions, SUM(clicks) AS clicks, SUM(apply_count) AS applies, SUM(cost_micros) AS cost_micros, SUM(quality_score) AS quality_sum, TOTAL(CASE WHEN impressions > 0 THEN clicks * 1.0 / impressions ELSE 0 END) AS ctr_sum, TOTAL(CASE WHEN clicks > 0 THEN cost_micros / 1000000.0 / clicks ELSE 0 END) AS cpc_sum, TOTAL(CASE WHEN apply_count > 0 THEN cost_micros / 1000000.0 / apply_count ELSE 0 END) AS cpa_sum, TOTAL(CASE WHEN cost_micros > 0 THEN apply_count / (cost_micros / 1000000.0) ELSE 0 END) AS roi_sum FROM tracking GROUP BY 1, 2, 3, 4, 5, 6"
t_gb=$(PREP='rm -f gb.db' best3 sqlite3 ev.db "$GROUPBY")
echo "jobads etl:                 $t_etl s  ($(rate "$N" "$t_etl") events/s)"
echo "sqlite3 single-pass scan:   $t_scan s  ($(rate "$N" "$t_scan") rows/s)"
echo "sqlite3 GROUP BY to table:  $t_gb s  ($(rate "$N" "$t_gb") rows/s)"
echo "ratio etl rate / scan rate:      $(ratio "$t_scan" "$t_etl")   (goal >= 0.8)"
echo "ratio etl speed / GROUP BY:      $(ratio "$t_gb" "$t_etl")   (goal >= 5)"

echo
echo "== ingest with duplicate detection"
t_imp=$(PREP='rm -f imp.db*; printf "CREATE TABLE tracking (event_id TEXT, ts TEXT, publisher_id INTEGER, publisher_name TEXT, publisher_traffic TEXT, publisher_quality TEXT, bid INTEGER, job_id INTEGER, campaign_id INTEGER, industry TEXT, location TEXT, impressions INTEGER, clicks INTEGER, apply_count INTEGER, cost REAL, quality_score INTEGER, device TEXT, hour INTEGER, day_of_week INTEGER);\n.mode csv\n.import --skip 1 ev.csv tracking\n" > imp.sql' best3 sh -c 'sqlite3 imp.db < imp.sql')
t_ing=$(PREP='rm -f in.db*' best3 "$J" ingest --quiet --events sqlite:in.db ev.ndjson)
t_gen=$(PREP='rm -f gen.db*' best3 "$J" generate --count "$N" --days 14 --seed 1 --quiet --events sqlite:gen.db)
echo "sqlite3 .import CSV (no index): $t_imp s  ($(rate "$N" "$t_imp") rows/s)"
echo "jobads ingest NDJSON:           $t_ing s  ($(rate "$N" "$t_ing") rows/s)"
echo "jobads generate (into store):   $t_gen s  ($(rate "$N" "$t_gen") rows/s)"
echo "ratio ingest / .import:         $(ratio "$t_imp" "$t_ing")   (goal >= 0.7)"
echo "ratio generate / .import:       $(ratio "$t_imp" "$t_gen")   (goal >= 0.7)"

echo
echo "== an incremental run with nothing new (200 runs)"
t0=$(now); for _ in $(seq 200); do "$J" etl --quiet --events sqlite:ev.db --analytics sqlite:an.db; done; t1=$(now)
t_noop=$(echo "($t1 - $t0) / 200" | bc -l)
t0=$(now); for _ in $(seq 200); do sqlite3 ev.db 'SELECT 1' >/dev/null; done; t1=$(now)
t_one=$(echo "($t1 - $t0) / 200" | bc -l)
printf 'jobads etl, nothing new:      %.2f ms\n' "$(echo "$t_noop * 1000" | bc -l)"
printf "sqlite3 events.db 'SELECT 1': %.2f ms\n" "$(echo "$t_one * 1000" | bc -l)"
echo "ratio:                        $(ratio "$t_noop" "$t_one")   (goal <= 3)"

[ "$BIG" -gt 0 ] || exit 0
echo
echo "== large store: $BIG events already stored"
t0=$(now)
"$J" generate --count "$BIG" --days 60 --seed 2 --events sqlite:big.db --quiet
echo "(filled in $(printf '%.1f' "$(echo "$(now) - $t0" | bc -l)") s)"
# new events arrive now, after the stored history: the live case
"$J" generate --count "$N" --seed 3 --output live.ndjson --quiet
cp big.db big0.db
t_big=$(PREP='cp big0.db big.db; rm -f big.db-wal big.db-shm' best3 "$J" ingest --quiet --events sqlite:big.db live.ndjson)
t_empty=$(PREP='rm -f empty.db*' best3 "$J" ingest --quiet --events sqlite:empty.db live.ndjson)
echo "ingest $N into an empty store:      $t_empty s  ($(rate "$N" "$t_empty") rows/s)"
echo "ingest $N into a $BIG-row store:   $t_big s  ($(rate "$N" "$t_big") rows/s)"
echo "ratio large / empty:                $(ratio "$t_empty" "$t_big")   (goal >= 0.7)"
rm -f big0.db

echo
echo "== peak RSS of one ETL run"
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
rm -f an1.db* anb.db*
r1=$(rss "$J" etl --quiet --events sqlite:ev.db --analytics sqlite:an1.db)
rb=$(rss "$J" etl --quiet --events sqlite:big.db --analytics sqlite:anb.db)
echo "backlog $N:   $r1 KiB"
echo "backlog $(sqlite3 big.db 'SELECT COUNT(*) FROM tracking'): $rb KiB   (goal < 65536 KiB, about the same as above)"
"$J" verify --events sqlite:big.db --analytics sqlite:anb.db
