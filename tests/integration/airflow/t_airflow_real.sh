# deploy/airflow/jobads_etl.py in a real Apache Airflow (JOBADS_TEST_AIRFLOW_VERSION,
# installed by scripts/airflow.sh into JOBADS_TEST_AIRFLOW_DIR on first use): the
# DAG parses with no import error, `airflow dags test` runs `jobads etl` against
# real SQLite stores named by Airflow Variables, and a first attempt that fails
# (the event store missing) is retried by Airflow until it succeeds, with every
# event counted once. Skipped (77) when Airflow cannot be installed; fails then
# when CI=true.
SRC=$(cd "$(dirname "$0")/../../.." && pwd)
source "$(dirname "$0")/../lib.sh" "$@"
VER=${JOBADS_TEST_AIRFLOW_VERSION:?set JOBADS_TEST_AIRFLOW_VERSION}
AFDIR=${JOBADS_TEST_AIRFLOW_DIR:-$(dirname "$JOBADS")/airflow/$VER}

unavailable() {
    if [ "${CI:-}" = true ]; then echo "$TEST_NAME: FAIL: $*" >&2; exit 1; fi
    echo "$TEST_NAME: skipped: $*" >&2
    exit 77
}
"$SRC/scripts/airflow.sh" setup "$AFDIR" "$VER" 2>"$WORK/setup.err" ||
    unavailable "airflow $VER could not be installed: $(tail -n 3 "$WORK/setup.err")"
eval "$("$SRC/scripts/airflow.sh" env "$AFDIR")"

# This test's own Airflow home, from the migrated DB the install left, and its
# own DAG folder: the DAG as committed beside one that cannot import, so that
# the import-error check is seen to find errors.
export AIRFLOW_HOME=$WORK/airflow
mkdir -p "$AIRFLOW_HOME" "$WORK/dags"
cp "$JOBADS_AIRFLOW_DB_TEMPLATE" "$AIRFLOW_HOME/airflow.db"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$AIRFLOW_HOME/airflow.db
export AIRFLOW__LOGGING__BASE_LOG_FOLDER=$AIRFLOW_HOME/logs
export AIRFLOW__CORE__DAGS_FOLDER=$WORK/dags
export JOBADS_AIRFLOW_RETRY_DELAY=1 # the DAG's 30 s would make the retry check slow
cp "$SRC/deploy/airflow/jobads_etl.py" "$WORK/dags/"
printf 'from airflow import DAG\nimport jobads_no_such_module\n' >"$WORK/dags/broken_dag.py"
export PYTHONPYCACHEPREFIX=$WORK/pycache
airflow() { "$JOBADS_AIRFLOW" "$@"; }
afdb() { sqlite3 -batch -cmd '.timeout 5000' "$AIRFLOW_HOME/airflow.db" "$@"; }
T0=$(date +%s)

# 3.x reads import errors from the metadata DB unless --local parses the folder here
local_flag=()
airflow dags list-import-errors --help 2>/dev/null | grep -q -- '--local' && local_flag=(--local)
# it exits 1 when it lists an error
assert_status "airflow $VER lists the broken DAG's import error" 1 airflow dags list-import-errors "${local_flag[@]}" -o json
assert_grep "the broken DAG is reported" 'broken_dag\.py' "$WORK/last.out"
assert_eq "jobads_etl.py has no import error beside it" 0 "$(grep -c 'jobads_etl\.py' "$WORK/last.out")"
rm "$WORK/dags/broken_dag.py"
assert_status "airflow $VER lists no import error" 0 airflow dags list-import-errors "${local_flag[@]}" -o json
assert_eq "none listed" 0 "$(grep -c 'filepath' "$WORK/last.out")"

# the stores, and the Variables that name them
assert_status "generate" 0 jobads generate --count 3000 --days 2 --seed 31 --quiet
cat >"$WORK/vars.json" <<JSON
{"jobads_bin": "$JOBADS", "jobads_events": "$JOBADS_EVENTS", "jobads_analytics": "$JOBADS_ANALYTICS"}
JSON
assert_status "airflow variables import" 0 airflow variables import "$WORK/vars.json"
# the task must find the stores by the Variables, not by this shell's environment
unset JOBADS_EVENTS JOBADS_ANALYTICS
ev_store=$WORK/events.db

# newest task instance of the DAG: state|try_number
newest_ti() { afdb "SELECT state, try_number FROM task_instance WHERE dag_id = 'jobads_etl' ORDER BY start_date DESC LIMIT 1"; }

# 1. a run that succeeds at once
assert_status "airflow dags test jobads_etl" 0 airflow dags test jobads_etl
cp "$WORK/last.out" "$WORK/run1.out"
cp "$WORK/last.err" "$WORK/run1.err"
# 2.9's `dags test` leaves try_number as it was; 3.x counts the tries
case $VER in
2.*) assert_eq "the task succeeded" success "$(newest_ti | cut -d'|' -f1)" ;;
*) assert_eq "the task succeeded at its first try" "success|1" "$(newest_ti)" ;;
esac
export JOBADS_EVENTS=sqlite:$ev_store JOBADS_ANALYTICS=sqlite:$WORK/analytics.db
assert_eq "the run is in etl_runs" "manual|success|3000" \
    "$(an_sql "SELECT \`trigger\`, state, events_read FROM etl_runs ORDER BY id DESC LIMIT 1")"
assert_status "jobads runs" 0 jobads runs
assert_grep "jobads runs shows it" 'success' "$WORK/last.out"
assert_eq "it processed every event" "$(events_count)" "$(cursor)"
assert_verify "after the first DAG run"

# 2. more events, then the event store missing when the run starts: the first try
# fails, the file comes back once Airflow has put the task up for retry, and a
# later try counts the new events once
assert_status "generate more" 0 jobads generate --count 1000 --days 1 --seed 32 --quiet
total=$(events_count)
unset JOBADS_EVENTS JOBADS_ANALYTICS
mv "$ev_store" "$WORK/events.db.away"
(
    for _ in $(seq 1200); do # 120 s at most
        if [ "$(afdb "SELECT COUNT(*) FROM task_instance WHERE dag_id = 'jobads_etl' AND state = 'up_for_retry'" 2>/dev/null)" = 1 ]; then
            mv "$WORK/events.db.away" "$ev_store"
            echo restored >"$WORK/restored"
            exit 0
        fi
        sleep 0.1
    done
) &
watcher=$!
assert_status "airflow dags test jobads_etl, the store missing at first" 0 airflow dags test jobads_etl
cp "$WORK/last.out" "$WORK/run2.out"
cp "$WORK/last.err" "$WORK/run2.err"
wait $watcher || true
assert_eq "the store came back while the task was up for retry" restored "$(cat "$WORK/restored" 2>/dev/null)"
[ -f "$ev_store" ] || mv "$WORK/events.db.away" "$ev_store"
ti=$(newest_ti)
assert_eq "the task succeeded in the end" success "${ti%%|*}"
case $VER in
2.*) ;;
*) [ "${ti#*|}" -ge 2 ] 2>/dev/null && ok || fail "the task succeeded at try ${ti#*|}, expected a retry (try 2 or later)" ;;
esac
assert_grep "Airflow put the failed try up for retry" '[Uu][Pp]_[Ff][Oo][Rr]_[Rr][Ee][Tt][Rr][Yy]' "$WORK/run2.out"
# the first try's error, as jobads printed it, in Airflow's log of that try
if grep -rqs 'events.db: No such file or directory' "$AIRFLOW_HOME/logs" "$WORK/run2.out" "$WORK/run2.err"; then ok; else
    fail "the first try's error (the event store missing) is not in Airflow's logs"
fi
export JOBADS_EVENTS=sqlite:$ev_store JOBADS_ANALYTICS=sqlite:$WORK/analytics.db
assert_eq "two successful runs in etl_runs, the second with the new events" "success|3000
success|1000" "$(an_sql "SELECT state, events_read FROM etl_runs ORDER BY id")"
assert_eq "every event processed once" "$total" "$(cursor)"
assert_verify "after the retried DAG run"
echo "$TEST_NAME: airflow $VER, $(($(date +%s) - T0)) s after the install"
finish
