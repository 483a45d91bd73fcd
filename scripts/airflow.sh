#!/usr/bin/env bash
# Apache Airflow from PyPI in a virtual environment of its own under DIR, to run
# deploy/airflow/jobads_etl.py for real (tests/integration/airflow/). No daemons:
# `airflow dags test` runs a DAG in one process against a SQLite metadata DB.
#
#   scripts/airflow.sh setup DIR VERSION  create DIR/venv with apache-airflow==VERSION,
#                                         every package pinned by
#                                         deploy/airflow/constraints/airflow-VERSION-py3.11.txt,
#                                         and migrate a metadata DB in DIR/home; does
#                                         nothing when DIR already holds that install
#   scripts/airflow.sh env DIR            print export lines: JOBADS_AIRFLOW (the airflow
#                                         command), AIRFLOW_HOME, AIRFLOW__* settings
#   scripts/airflow.sh status DIR         exit 0 when DIR holds a finished install
#
# Downloads are cached outside the clone, in ${XDG_CACHE_HOME:-~/.cache}/jobads/pip
# (JOBADS_PIP_CACHE overrides): CI runs in a fresh clone, and a cache in the build
# tree would be fetched again on every run. With the cache warm, setup needs no
# network. The constraints files are `pip freeze` of an install resolved here
# (Airflow's own published constraints are served from its source repository, not
# from PyPI); the versions in them are Airflow's own choices where it pins them.
set -euo pipefail

die() { echo "airflow.sh: $*" >&2; exit 1; }

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/pip.sh
source "$top/scripts/lib/pip.sh"
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: airflow.sh setup DIR VERSION | env DIR | status DIR"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
venv=$dir/venv
home=$dir/home
stamp=$dir/installed

# The settings every airflow command here runs with: no example DAGs, the
# metadata DB in SQLite, the DAG folder of this tree, logs under DIR.
settings() {
    local h=$1
    echo "export AIRFLOW_HOME='$h'"
    echo "export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN='sqlite:///$h/airflow.db'"
    echo "export AIRFLOW__CORE__LOAD_EXAMPLES=False"
    echo "export AIRFLOW__CORE__DAGS_FOLDER='$top/deploy/airflow'"
    echo "export AIRFLOW__LOGGING__BASE_LOG_FOLDER='$h/logs'"
    echo "export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False"
}

installed() { [ -f "$stamp" ] && [ -x "$venv/bin/airflow" ]; }

setup() {
    local version=${1:-}
    [ -n "$version" ] || die "usage: airflow.sh setup DIR VERSION"
    local cons=$top/deploy/airflow/constraints/airflow-$version-py3.11.txt
    [ -f "$cons" ] || die "no pinned constraints for airflow $version ($cons); pinned: $(cd "$top/deploy/airflow/constraints" && ls | sed -n 's/^airflow-\(.*\)-py3.11.txt$/\1/p' | tr '\n' ' ')"
    local want
    want="$version $(sha256sum "$cons" | cut -c1-16)"
    if installed && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    local py
    py=$(command -v python3.11 || command -v python3) || die "python 3.11 not found"
    "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
        die "airflow $version is pinned for python 3.11, $py is $("$py" -V 2>&1)"
    rm -rf "$venv" "$home" "$stamp"
    "$py" -m venv "$venv" || die "cannot create a virtual environment in $venv (install python3-venv)"
    pip_cached_install "$venv" "$dir/pip.log" "apache-airflow==$version" -c "$cons" ||
        die "pip could not install apache-airflow $version (log: $dir/pip.log)"
    mkdir -p "$home"
    # one migrated DB to copy: a migration takes longer than the tests that use it
    (eval "$(settings "$home")" && "$venv/bin/airflow" db migrate) >"$dir/migrate.log" 2>&1 ||
        { tail -20 "$dir/migrate.log" >&2; die "airflow db migrate failed (log: $dir/migrate.log)"; }
    echo "$want" >"$stamp"
}

env_lines() {
    installed || die "no airflow in $dir (run: scripts/airflow.sh setup $dir VERSION)"
    echo "export JOBADS_AIRFLOW='$venv/bin/airflow'"
    echo "export JOBADS_AIRFLOW_VERSION='$(cut -d' ' -f1 "$stamp")'"
    echo "export JOBADS_AIRFLOW_DB_TEMPLATE='$home/airflow.db'"
    settings "$home"
}

case $cmd in
setup) setup "${3:-}" ;;
env) env_lines ;;
status) installed ;;
*) die "unknown command '$cmd' (setup, env, status)" ;;
esac
