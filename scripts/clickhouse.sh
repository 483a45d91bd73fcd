#!/usr/bin/env bash
# A private ClickHouse server for benchmarks (and later tests): Debian's own
# packages fetched with `apt-get download` into a cache outside the clone and
# unpacked with `dpkg -x` under the build tree, never installed system-wide;
# its own config, users, data folder and loopback ports under DIR.
#
#   scripts/clickhouse.sh fetch          download (once) and unpack the packages under
#                                        $JOBADS_CLICKHOUSE_ROOT (default build/peers/clickhouse/root)
#   scripts/clickhouse.sh start DIR      fetch if needed, write DIR/config.xml and users.xml,
#                                        start on 127.0.0.1, wait until it answers a query
#   scripts/clickhouse.sh env DIR        print export lines: JOBADS_CLICKHOUSE_PORT (native),
#                                        JOBADS_CLICKHOUSE_HTTP_PORT, JOBADS_CLICKHOUSE_PID,
#                                        JOBADS_CLICKHOUSE_CLIENT (a command that runs the client)
#   scripts/clickhouse.sh client DIR ARG...  run clickhouse-client against it
#   scripts/clickhouse.sh stop DIR       SIGTERM, then SIGKILL when it does not go within 30 s
#   scripts/clickhouse.sh status DIR     exit 0 when it answers
#   scripts/clickhouse.sh version        the unpacked server's version
#
# The packages are the closure that `apt-get install -s` says this machine lacks
# (clickhouse-server, -client, -common and the libraries they need), so the
# unpacked tree runs with LD_LIBRARY_PATH pointed into it. The cache is
# ${XDG_CACHE_HOME:-$HOME/.cache}/jobads/debs. The user `default` has no password
# and is reachable from 127.0.0.1 only.
set -euo pipefail

die() { echo "clickhouse.sh: $*" >&2; exit 1; }

top=$(cd "$(dirname "$0")/.." && pwd)
root=${JOBADS_CLICKHOUSE_ROOT:-$top/build/peers/clickhouse/root}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/jobads/debs
pkgs=(clickhouse-server clickhouse-client)
libpath() { echo "$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; }

fetch() {
    [ -x "$root/usr/sbin/clickhouse-server" ] && [ -f "$root/.unpacked" ] && return 0
    command -v apt-get >/dev/null || die "apt-get not found: the ClickHouse peer needs Debian's packages"
    local need
    # what installing would add on this machine: the packages and the libraries it lacks
    need=$(apt-get install -s --no-install-recommends "${pkgs[@]}" 2>&1 | awk '/^Inst / {print $2}') ||
        die "apt-get install -s ${pkgs[*]} failed (run apt-get update first?)"
    [ -n "$need" ] || die "apt-get install -s ${pkgs[*]} lists nothing to fetch (already installed system-wide? then it is not used here)"
    mkdir -p "$cache"
    local missing=() p
    for p in $need; do
        compgen -G "$cache/${p}_*.deb" >/dev/null || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "clickhouse.sh: apt-get download ${missing[*]} into $cache" >&2
        (cd "$cache" && apt-get download "${missing[@]}" >"$cache/download.log" 2>&1) || {
            tail -5 "$cache/download.log" >&2
            die "apt-get download refused: ${missing[*]}"
        }
    fi
    rm -rf "$root"
    mkdir -p "$root"
    for p in $need; do
        local deb
        deb=$(ls -t "$cache/${p}_"*.deb | head -1)
        dpkg -x "$deb" "$root" || die "dpkg -x $deb failed"
    done
    LD_LIBRARY_PATH=$(libpath) "$root/usr/bin/clickhouse-client" --version >/dev/null 2>&1 ||
        die "the unpacked clickhouse-client does not run (missing library? ldd $root/usr/bin/clickhouse-client)"
    echo "$need" >"$root/.unpacked"
}

client_raw() {
    local dir=$1
    shift
    LD_LIBRARY_PATH=$(libpath) "$root/usr/bin/clickhouse-client" --host 127.0.0.1 \
        --port "$(cat "$dir/port")" "$@"
}

answers() {
    [ -f "$1/port" ] && client_raw "$1" --connect_timeout 2 --query 'SELECT 1' >/dev/null 2>&1
}

running_pid() {
    [ -f "$1/server.pid" ] || return 1
    local pid
    pid=$(cat "$1/server.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
    local dir=$1 port=$2 http=$3
    # Caches kept modest: a benchmark server on a shared 2-core, 24 GiB machine.
    cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<!-- written by scripts/clickhouse.sh: a private server under this folder -->
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/log/server.log</log>
        <errorlog>$dir/log/server.err.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$port</tcp_port>
    <http_port>$http</http_port>
    <max_connections>64</max_connections>
    <max_concurrent_queries>16</max_concurrent_queries>
    <uncompressed_cache_size>1073741824</uncompressed_cache_size>
    <mark_cache_size>536870912</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
XML
    cat >"$dir/users.xml" <<'XML'
<?xml version="1.0"?>
<!-- written by scripts/clickhouse.sh -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>8000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
XML
}

start() {
    local dir=$1
    answers "$dir" && return 0
    fetch
    mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
    local tries port http pid
    for tries in 1 2 3 4 5; do
        if [ "$tries" = 1 ] && [ -f "$dir/port" ]; then
            port=$(cat "$dir/port")
        else
            port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        fi
        http=$((port + 1))
        port_free "$port" && port_free "$http" || continue
        write_config "$dir" "$port" "$http"
        echo "$port" >"$dir/port"
        echo "$http" >"$dir/http_port"
        rm -f "$dir/server.pid"
        (cd "$dir" && LD_LIBRARY_PATH=$(libpath) exec "$root/usr/sbin/clickhouse-server" \
            --config-file="$dir/config.xml" --pid-file="$dir/server.pid" \
            >"$dir/log/stdout.log" 2>&1) &
        pid=$!
        local i
        for i in $(seq 1 120); do
            answers "$dir" && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        if answers "$dir"; then
            echo "$pid" >"$dir/server.pid"
            return 0
        fi
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
            tail -20 "$dir/log/server.err.log" >&2 2>/dev/null || true
            die "clickhouse-server in $dir did not answer within 30 s (log: $dir/log)"
        fi
        # it exited: a port taken between our check and its bind is worth another try
        grep -q "Address already in use" "$dir/log/server.err.log" "$dir/log/stdout.log" 2>/dev/null && continue
        tail -20 "$dir/log/server.err.log" "$dir/log/stdout.log" >&2 2>/dev/null || true
        die "clickhouse-server in $dir exited at start (log: $dir/log)"
    done
    die "could not find a free port pair for clickhouse-server"
}

stop() {
    local dir=$1 pid
    pid=$(running_pid "$dir") || return 0
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 120); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$dir/server.pid"; return 0; }
        sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/server.pid"
}

env_lines() {
    local dir=$1
    answers "$dir" || die "no server answers in $dir (run: scripts/clickhouse.sh start $dir)"
    echo "export JOBADS_CLICKHOUSE_PORT='$(cat "$dir/port")'"
    echo "export JOBADS_CLICKHOUSE_HTTP_PORT='$(cat "$dir/http_port")'"
    echo "export JOBADS_CLICKHOUSE_PID='$(running_pid "$dir")'"
    echo "export JOBADS_CLICKHOUSE_CLIENT='$top/scripts/clickhouse.sh client $dir'"
}

cmd=${1:-}
case $cmd in
fetch) fetch; exit 0 ;;
version)
    fetch
    LD_LIBRARY_PATH=$(libpath) "$root/usr/bin/clickhouse-client" --version | sed 's/.*version //; s/\.$//'
    exit 0
    ;;
esac
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: clickhouse.sh fetch|version|start|stop|env|status|client DIR"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case $cmd in
start) start "$dir" ;;
stop) stop "$dir" ;;
env) env_lines "$dir" ;;
status) answers "$dir" ;;
client) shift 2; client_raw "$dir" "$@" ;;
*) die "unknown command '$cmd' (fetch, version, start, stop, env, status, client)" ;;
esac
