#!/usr/bin/env bash
# Run driver_test.js against two private cqlsrv instances (one with
# authentication) on free loopback ports. Installs the pinned driver from npm
# (package-lock.json) on first use.
#   run_driver_test.sh PATH/TO/cqlsrv WORKDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
srv=$(readlink -f "$1")
work=$2
rm -rf "$work"
mkdir -p "$work"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "skipped: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 77
fi
if [ ! -d "$here/node_modules/cassandra-driver" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || {
        echo "skipped: npm could not install cassandra-driver" >&2
        exit 77
    }
fi
"$srv" --port 0 --port-file "$work/port" 2>"$work/srv.log" &
p1=$!
"$srv" --port 0 --port-file "$work/auth-port" --auth jobads:s3cret 2>"$work/auth.log" &
p2=$!
trap 'kill $p1 $p2 2>/dev/null; wait $p1 $p2 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && [ -s "$work/auth-port" ] && break; sleep 0.05; done
node "$here/driver_test.js" "$(cat "$work/port")" "$(cat "$work/auth-port")"
