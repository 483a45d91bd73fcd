#!/usr/bin/env bash
# A private MariaDB server for tests and benchmarks: its own data directory,
# socket and loopback port under DIR, run as the current user, no system
# service and no config files read (--no-defaults).
#
#   scripts/mariadb.sh start DIR   install a data directory if missing, start, wait, create
#                                  user jobads; prints nothing but errors
#   scripts/mariadb.sh env DIR     print export lines: JOBADS_TEST_MYSQL_URL (no password in
#                                  it), JOBADS_MYSQL_PASSWORD, JOBADS_TEST_MYSQL_SOCKET,
#                                  JOBADS_TEST_MYSQL_DIR
#   scripts/mariadb.sh stop DIR    mariadb-admin shutdown, or kill when it does not answer
#   scripts/mariadb.sh status DIR  exit 0 when it answers
#
# The root account has no password and is reachable on the socket only; the
# jobads account (127.0.0.1 and localhost) has a random password kept in
# DIR/password (mode 600) and all privileges on every database, since each test
# creates and drops its own.
set -euo pipefail

die() { echo "mariadb.sh: $*" >&2; exit 1; }

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: mariadb.sh start|stop|env|status DIR"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sock=$dir/mysql.sock
pidf=$dir/mariadbd.pid
log=$dir/error.log

find_bin() {
    local b
    for b in "$@"; do
        if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
        for p in /usr/sbin /usr/local/sbin /usr/libexec; do
            [ -x "$p/$b" ] && { echo "$p/$b"; return 0; }
        done
    done
    return 1
}

admin() { "$(find_bin mariadb-admin mysqladmin)" --no-defaults --socket="$sock" -uroot "$@"; }
client() { "$(find_bin mariadb mysql)" --no-defaults --socket="$sock" -uroot "$@"; }

answers() { [ -S "$sock" ] && admin --connect-timeout=2 ping >/dev/null 2>&1; }

running_pid() {
    [ -f "$pidf" ] || return 1
    local pid
    pid=$(cat "$pidf" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
    if answers; then return 0; fi
    local mysqld install user=()
    mysqld=$(find_bin mariadbd mysqld) || die "mariadbd not found (install mariadb-server)"
    install=$(find_bin mariadb-install-db mysql_install_db) ||
        die "mariadb-install-db not found (install mariadb-server)"
    [ "$(id -u)" -eq 0 ] && user=(--user=root)
    if [ ! -d "$dir/data/mysql" ]; then
        rm -rf "$dir/data"
        "$install" --no-defaults "${user[@]}" --datadir="$dir/data" \
            --auth-root-authentication-method=normal --skip-test-db \
            >"$dir/install.log" 2>&1 || { tail -20 "$dir/install.log" >&2; die "mariadb-install-db failed in $dir/data"; }
    fi
    local tries port pid
    for tries in 1 2 3 4 5; do
        # a restart keeps its port when it can, so that URLs stay valid
        if [ "$tries" = 1 ] && [ -f "$dir/port" ]; then
            port=$(cat "$dir/port")
        else
            port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        fi
        port_free "$port" || continue
        rm -f "$sock" "$pidf"
        # Small buffers: a test server on a shared 2-core machine. The log is
        # flushed at each commit, as a production server would.
        "$mysqld" --no-defaults "${user[@]}" --datadir="$dir/data" --socket="$sock" \
            --port="$port" --bind-address=127.0.0.1 --pid-file="$pidf" --log-error="$log" \
            --innodb-buffer-pool-size=256M --innodb-log-file-size=256M \
            --max-connections=200 --skip-name-resolve --local-infile=1 \
            --character-set-server=utf8mb4 --collation-server=utf8mb4_nopad_bin \
            >/dev/null 2>&1 &
        pid=$!
        local i
        for i in $(seq 1 120); do
            if answers; then break; fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if answers; then
            echo "$port" >"$dir/port"
            break
        fi
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
            tail -20 "$log" >&2 || true
            die "mariadbd in $dir did not answer within 60 s (log: $log)"
        fi
        # it exited: a port taken between our check and its bind is worth another try
        grep -q "Address already in use\|Can't start server: Bind" "$log" 2>/dev/null && continue
        tail -20 "$log" >&2 || true
        die "mariadbd in $dir exited at start (log: $log)"
    done
    answers || die "could not find a free port for mariadbd"
    if [ ! -f "$dir/password" ]; then
        (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$dir/password")
    fi
    local pw
    pw=$(cat "$dir/password")
    client <<SQL || die "cannot create the jobads user in $dir"
CREATE USER IF NOT EXISTS 'jobads'@'127.0.0.1' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'jobads'@'localhost' IDENTIFIED BY '$pw';
ALTER USER 'jobads'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER 'jobads'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO 'jobads'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'jobads'@'localhost';
FLUSH PRIVILEGES;
SQL
}

stop() {
    local pid
    pid=$(running_pid) || { rm -f "$sock"; return 0; }
    kill -CONT "$pid" 2>/dev/null || true # a test may have paused it
    admin --connect-timeout=5 shutdown >/dev/null 2>&1 || true
    local i
    for i in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    kill -9 "$pid" 2>/dev/null || true
}

env_lines() {
    answers || die "no server answers on $sock (run: scripts/mariadb.sh start $dir)"
    echo "export JOBADS_TEST_MYSQL_URL='mysql://jobads@127.0.0.1:$(cat "$dir/port")'"
    echo "export JOBADS_MYSQL_PASSWORD='$(cat "$dir/password")'"
    echo "export JOBADS_TEST_MYSQL_SOCKET='$sock'"
    echo "export JOBADS_TEST_MYSQL_DIR='$dir'"
}

case $cmd in
start) start ;;
stop) stop ;;
env) env_lines ;;
status) answers ;;
*) die "unknown command '$cmd' (start, stop, env, status)" ;;
esac
