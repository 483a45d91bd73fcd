#!/usr/bin/env bash
# A Python virtual environment with the packages of one pinned requirements file,
# for the tests that drive real systems with their own clients (the DataStax
# Cassandra driver writing the original's table). Downloads are cached outside the
# clone (scripts/lib/pip.sh).
#
#   scripts/pyvenv.sh setup DIR REQUIREMENTS  create DIR with every package of
#                                             REQUIREMENTS (each pinned with ==); does
#                                             nothing when DIR already has that file's install
#   scripts/pyvenv.sh python DIR              print the environment's python
set -euo pipefail

die() { echo "pyvenv.sh: $*" >&2; exit 1; }
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/pip.sh
source "$top/scripts/lib/pip.sh"
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pyvenv.sh setup DIR REQUIREMENTS | python DIR"
case $cmd in
setup)
    req=${3:-}
    [ -f "$req" ] || die "no requirements file '$req'"
    if grep -vE '^\s*(#|$)' "$req" | grep -vqE '^[A-Za-z0-9._-]+==[^ ]+$'; then
        die "$req: every line must pin one package as NAME==VERSION"
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    want=$(sha256sum "$req" | cut -c1-16)
    [ -f "$dir/installed" ] && [ "$(cat "$dir/installed")" = "$want" ] && [ -x "$dir/venv/bin/python" ] && exit 0
    py=$(command -v python3.11 || command -v python3) || die "python 3 not found"
    rm -rf "$dir/venv" "$dir/installed"
    "$py" -m venv "$dir/venv" || die "cannot create a virtual environment in $dir/venv (install python3-venv)"
    pip_cached_install "$dir/venv" "$dir/pip.log" -r "$req" ||
        die "pip could not install $req (log: $dir/pip.log)"
    echo "$want" >"$dir/installed"
    ;;
python)
    [ -x "$dir/venv/bin/python" ] || die "no environment in $dir (run: scripts/pyvenv.sh setup $dir REQUIREMENTS)"
    echo "$(cd "$dir" && pwd)/venv/bin/python"
    ;;
*) die "unknown command '$cmd' (setup, python)" ;;
esac
