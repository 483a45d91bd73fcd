# Installing pinned Python packages into a virtual environment from a wheel
# folder kept outside the clone, fetching into it only what it lacks: sourced
# by scripts/airflow.sh and scripts/pyvenv.sh.
#
#   pip_cached_install VENV LOG PIP-ARGS...
#
# The wheels are kept in ${JOBADS_PIP_CACHE:-${XDG_CACHE_HOME:-~/.cache}/jobads/pip}/
# wheels-py3.11 (pip's own HTTP cache does not keep what the index marks
# uncacheable, and CI runs in a fresh clone), sdists built into wheels there, so
# that an install from it alone needs neither the network nor build tools.
# Returns non-zero with the tail of LOG on stderr when pip could not install.
pip_cached_install() {
    local venv=$1 log=$2
    shift 2
    local cache=${JOBADS_PIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jobads/pip}
    local wheels=$cache/wheels-py3.11
    mkdir -p "$wheels"
    local pip=("$venv/bin/pip" --disable-pip-version-check)
    if PIP_CACHE_DIR=$cache/pip-cache "${pip[@]}" install --no-index --find-links "$wheels" "$@" >"$log" 2>&1; then
        return 0
    fi
    if PIP_CACHE_DIR=$cache/pip-cache "${pip[@]}" wheel --find-links "$wheels" -w "$wheels" "$@" >>"$log" 2>&1 &&
        PIP_CACHE_DIR=$cache/pip-cache "${pip[@]}" install --no-index --find-links "$wheels" "$@" >>"$log" 2>&1; then
        return 0
    fi
    tail -20 "$log" >&2
    return 1
}
