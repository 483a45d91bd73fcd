#!/usr/bin/env bash
# Install the Debian packages jobads needs to build and test, if any is missing.
# Quick when everything is there: it asks dpkg first and runs apt-get only for
# what is absent. Uses sudo when not root.
set -euo pipefail

packages=(
    build-essential cmake pkg-config   # compiler and build
    libsqlite3-dev sqlite3             # embedded stores; sqlite3 CLI for tests and benches
    libjansson-dev                     # JSON output (report --json, reject files)
    libglib2.0-dev tzdata              # the reporting time zone (GTimeZone, src/core/tz.c)
    nettle-dev                         # SHA-1 for derived event ids (UUIDv5)
    libxxhash-dev                      # XXH3, the duplicate check's Bloom filter (header only)
    libcmocka-dev                      # unit tests
    clang-format                       # format check in the test suite
    bc time                            # bench/bench.sh arithmetic and peak RSS
    python3                            # tests: the Airflow DAG compiles
    util-linux                         # tests: setpriv, to drop root for a file-mode check
    libmariadb-dev                     # the mysql:// backends (MariaDB Connector/C)
    mariadb-server mariadb-client      # a private test server (scripts/mariadb.sh) and its CLI
    libcivetweb-dev                    # jobads serve: the HTTP server
    libssl-dev openssl                 # cassandra:// TLS (headers; libssl3 loaded at run time); test certs
    curl chromium                      # serve tests: HTTP client; the dashboard's browser test
    clang                              # fuzz targets (libFuzzer)
    wrk                                # bench/bench_web.sh: HTTP load
    faketime                           # tests: a writer whose clock is behind (t_cql_late)
    openjdk-17-jre-headless maven      # a real Cassandra node for the tests (scripts/cassandra.sh)
    python3-venv                       # a real Airflow for the tests (scripts/airflow.sh)
)
# npm comes with Debian's nodejs, or with a nodejs from elsewhere: ask for the command
# (the browser test and the CQL driver test, tests/cql/, install their packages with it)
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
updated=0
install() {
    echo "bootstrap: installing $*" >&2
    [ $updated -eq 1 ] || { $SUDO apt-get update -qq; updated=1; }
    $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
[ ${#missing[@]} -eq 0 ] || install "${missing[@]}"

# The fuzz targets link clang's libFuzzer and sanitizer runtimes, which Debian
# ships apart from clang (libclang-rt-N-dev, not pulled in without recommends).
clang_major=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
if [ -n "$clang_major" ] &&
    ! dpkg-query -W -f='${Status}' "libclang-rt-$clang_major-dev" 2>/dev/null | grep -q "install ok installed"; then
    install "libclang-rt-$clang_major-dev"
fi
