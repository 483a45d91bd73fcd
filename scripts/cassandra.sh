#!/usr/bin/env bash
# A private, real Apache Cassandra node for tests and benchmarks: the server's
# jars from Maven Central (cassandra-all and its run-time dependencies, pinned
# by scripts/cassandra/pom.xml) run by java directly, with its own
# cassandra.yaml, data, commitlog, hints and saved-caches folders and loopback
# ports under DIR. No system service, no bin/cassandra, nothing installed
# system-wide.
#
#   scripts/cassandra.sh fetch          copy the pinned jars (once) into $JOBADS_CASSANDRA_LIB
#                                       (default build/peers/cassandra/lib)
#   scripts/cassandra.sh start DIR      fetch if needed, write DIR/cassandra.yaml, start on
#                                       127.0.0.1, wait until the CQL port answers a query
#   scripts/cassandra.sh env DIR        print export lines: JOBADS_TEST_CASSANDRA_URL
#                                       (cassandra://127.0.0.1:PORT, no keyspace, as
#                                       tests/integration/lib.sh takes it),
#                                       JOBADS_CASSANDRA_PORT, JOBADS_CASSANDRA_PID,
#                                       JOBADS_CASSANDRA_DIR; with authentication (below)
#                                       cassandra://jobads@... and JOBADS_CASSANDRA_PASSWORD
#   scripts/cassandra.sh stop DIR       SIGTERM (the node flushes and stops), SIGKILL when it
#                                       is still there after 60 s
#   scripts/cassandra.sh status DIR     exit 0 when the CQL port answers a query
#   scripts/cassandra.sh version        the version of the fetched jars (their manifest)
#
# Maven's local repository is ${XDG_CACHE_HOME:-$HOME/.cache}/jobads/m2, outside
# the clone, so a fresh clone (CI) copies the jars from it instead of downloading
# them again. The CQL port is random unless JOBADS_CASSANDRA_PORT is set, and kept
# across restarts in DIR/port; the storage (gossip) port is the next one. The
# node listens on 127.0.0.1 only, without authentication unless
# JOBADS_CASSANDRA_AUTH=1 at the first start of DIR: then PasswordAuthenticator
# and CassandraAuthorizer, the superuser `cassandra` gets a random password
# (DIR/superuser.password, mode 600), and a login role `jobads` (not a
# superuser) a random password (DIR/password, mode 600) and CREATE on all
# keyspaces only (a keyspace's creator gets every permission on it). The
# password holds ':' and '@', so that a test putting it in a URL must
# percent-encode it. DIR remembers the choice (DIR/auth) for later starts;
# `env` then prints the user in the URL and the password in
# JOBADS_CASSANDRA_PASSWORD, and every probe of the node logs in as `jobads`,
# the credentials given in the environment, never on a command line. JOBADS_CASSANDRA_HEAP
# (default 1g) is the heap's maximum; a start waits JOBADS_CASSANDRA_START_TIMEOUT
# seconds (default 240) for the first answer. JOBADS_CASSANDRA_EXTRA_YAML=FILE
# appends FILE to the written cassandra.yaml, for experiments.
set -euo pipefail

die() { echo "cassandra.sh: $*" >&2; exit 1; }

top=$(cd "$(dirname "$0")/.." && pwd)
pom=$top/scripts/cassandra/pom.xml
lib=${JOBADS_CASSANDRA_LIB:-$top/build/peers/cassandra/lib}
m2=${XDG_CACHE_HOME:-$HOME/.cache}/jobads/m2
heap=${JOBADS_CASSANDRA_HEAP:-1g}
start_timeout=${JOBADS_CASSANDRA_START_TIMEOUT:-240}

java_bin() {
    local j=${JAVA_HOME:+$JAVA_HOME/bin/}java
    command -v "$j" >/dev/null 2>&1 || die "java not found (Cassandra 5.0 needs Java 17: apt-get install openjdk-17-jre-headless)"
    local v
    v=$("$j" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')
    # 5.0 runs on 11 and 17 only; the module flags below are the ones 17 needs
    [ "$v" = 17 ] || die "java at $(command -v "$j") is version ${v:-unknown}; Cassandra 5.0 here needs Java 17 (set JAVA_HOME)"
    command -v "$j"
}

# The pom's hash is kept beside the jars, so that a changed pin fetches again.
pom_hash() { sha256sum "$pom" | cut -c1-16; }

fetch() {
    [ -f "$lib/.fetched" ] && [ "$(cat "$lib/.fetched")" = "$(pom_hash)" ] && return 0
    command -v mvn >/dev/null || die "mvn not found: the Cassandra node's jars come from Maven Central (apt-get install maven)"
    mkdir -p "$m2" "$(dirname "$lib")"
    local tmp=$lib.part log=$(dirname "$lib")/mvn-fetch.log
    rm -rf "$tmp"
    echo "cassandra.sh: fetching the jars of $(pinned) from Maven Central (cached in $m2) into $lib" >&2
    if ! mvn -B -f "$pom" -Dmaven.repo.local="$m2" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" >"$log" 2>&1; then
        # Say what Maven refused, in its own words: this part is blocked then, not faked.
        grep -E '^\[ERROR\]' "$log" | grep -v '^\[ERROR\] *$' | head -5 >&2 || tail -5 "$log" >&2
        die "Maven could not fetch the pinned Cassandra jars (log: $log)"
    fi
    compgen -G "$tmp/cassandra-all-*.jar" >/dev/null || die "Maven fetched no cassandra-all jar into $tmp (log: $log)"
    rm -rf "$lib"
    mv "$tmp" "$lib"
    pom_hash >"$lib/.fetched"
}

pinned() { sed -n 's:.*<cassandra.version>\(.*\)</cassandra.version>.*:\1:p' "$pom"; }

running_pid() {
    [ -f "$1/cassandra.pid" ] || return 1
    local pid
    pid=$(cat "$1/cassandra.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# cql_query PORT: print the node's release_version, read by a real CQL query
# (native protocol v4: STARTUP, then QUERY "SELECT release_version FROM
# system.local" at ONE), spoken over bash's /dev/tcp so that the script needs
# neither a build tree nor cqlsh. Fails on anything but a one-row result; run
# under timeout by `cassandra.sh cql-query PORT`.
be16() { printf '\\x%02x\\x%02x' $(($1 >> 8 & 255)) $(($1 & 255)); }
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
hexin() { head -c "$1" <&3 | od -An -v -tx1 | tr -s ' \n' '  '; }
# a response header: version, flags, stream (2), opcode, body length (4)
frame_in() {
    local h
    read -r -a h <<<"$(hexin 9)"
    [ "${#h[@]}" = 9 ] || return 1
    op=${h[4]}
    len=$((16#${h[5]}${h[6]}${h[7]}${h[8]}))
}
# An ERROR body's message (after its [int] code) on stderr, for the caller's log.
error_out() {
    local -a e
    read -r -a e <<<"$(hexin "$len")"
    local n=$((16#${e[4]}${e[5]})) k out=
    for ((k = 6; k < 6 + n && k < ${#e[@]}; k++)); do out+=$(printf "\\x${e[k]}"); done
    echo "cassandra.sh: the node answered: $out" >&2
}
cql_query_raw() {
    local port=$1 op len q b i=0 v flags
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    local opt=CQL_VERSION ver=3.0.0
    local body
    body="$(be16 1)$(be16 ${#opt})$opt$(be16 ${#ver})$ver"
    # STARTUP (0x01), stream 1; the answer must be READY (0x02), or AUTHENTICATE
    # (0x03) on a node with authentication
    printf "\\x04\\x00$(be16 1)\\x01$(be32 $((2 + 2 + ${#opt} + 2 + ${#ver})))$body" >&3
    frame_in || return 1
    if [ "$op" = 03 ]; then
        hexin "$len" >/dev/null
        [ -n "${CQL_AUTH_USER:-}" ] || { echo "cassandra.sh: the node asks for a password" >&2; return 1; }
        # AUTH_RESPONSE (0x0f), stream 1: [bytes] SASL PLAIN, NUL user NUL password;
        # printf is bash's own, so the password is in no process's arguments
        local u=$CQL_AUTH_USER p=${CQL_AUTH_PASS:-}
        printf "\\x04\\x00$(be16 1)\\x0f$(be32 $((4 + 2 + ${#u} + ${#p})))$(be32 $((2 + ${#u} + ${#p})))" >&3
        printf '\x00%s\x00%s' "$u" "$p" >&3
        frame_in || return 1
        [ "$op" = 10 ] || { [ "$op" = 00 ] && error_out; return 1; } # AUTH_SUCCESS
        [ "$len" = 0 ] || hexin "$len" >/dev/null
    elif [ "$op" = 02 ]; then
        [ "$len" = 0 ] || hexin "$len" >/dev/null
    else
        return 1
    fi
    # QUERY (0x07), stream 2: [long string] query, consistency ONE, no flags.
    # CQL_QUERY (the environment, not argv: it may set a password) runs another
    # statement, whose result is not read.
    q=${CQL_QUERY:-SELECT release_version FROM system.local}
    printf "\\x04\\x00$(be16 2)\\x07$(be32 $((4 + ${#q} + 3)))$(be32 ${#q})" >&3
    printf '%s' "$q" >&3
    printf "$(be16 1)\\x00" >&3
    frame_in || return 1
    # RESULT; an ERROR (0x00) says the node is not ready, or what it refused
    [ "$op" = 08 ] || { [ "$op" = 00 ] && error_out; return 1; }
    [ -z "${CQL_QUERY:-}" ] || return 0
    read -r -a b <<<"$(hexin "$len")"
    int() { v=$((16#${b[i]}${b[i + 1]}${b[i + 2]}${b[i + 3]})); i=$((i + 4)); }
    str() { i=$((i + 2 + 16#${b[i]}${b[i + 1]})); }
    int
    [ "$v" = 2 ] || return 1 # kind: Rows
    int
    flags=$v
    int
    [ "$v" = 1 ] || return 1 # one column
    if ((flags & 2)); then int; ((v < 0x80000000)) && i=$((i + v)); fi # paging state
    if ((flags & 1)); then str; str; str; else str; str; str; fi       # keyspace, table, name
    i=$((i + 2))                                                          # type: varchar
    int
    [ "$v" = 1 ] || return 1 # one row
    int
    [ "$v" -gt 0 ] && [ "$v" -lt 64 ] || return 1
    local k out=
    for ((k = i; k < i + v; k++)); do out+=$(printf "\\x${b[k]}"); done
    echo "$out"
}

cql_query() { timeout 10 bash "$0" cql-query "$1"; }

# With authentication: who the probes log in as. Before the roles are made
# (DIR/auth says "new"), the superuser with the default password Cassandra
# gives it; then the jobads role.
auth_on() { [ -f "$1/auth" ]; }
as_login() {
    local dir=$1
    shift
    if ! auth_on "$dir"; then "$@"; return; fi
    if [ "$(cat "$dir/auth")" = ready ]; then
        CQL_AUTH_USER=jobads CQL_AUTH_PASS=$(cat "$dir/password") "$@"
    else
        CQL_AUTH_USER=cassandra CQL_AUTH_PASS=cassandra "$@"
    fi
}

answers() { [ -f "$1/port" ] && as_login "$1" cql_query "$(cat "$1/port")" >/dev/null 2>&1; }

# First start with authentication: the jobads role, then the superuser's own
# password (the default one is public knowledge).
make_roles() {
    local dir=$1 port pw su
    port=$(cat "$dir/port")
    random_pw() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n' | head -c 20; }
    (umask 077; pw=$(random_pw); echo "${pw:0:10}:${pw:10:5}@${pw:15}" >"$dir/password")
    (umask 077; random_pw >"$dir/superuser.password")
    pw=$(cat "$dir/password")
    su=$(cat "$dir/superuser.password")
    local q
    for q in "CREATE ROLE IF NOT EXISTS jobads WITH PASSWORD = '$pw' AND LOGIN = true AND SUPERUSER = false" \
        "GRANT CREATE ON ALL KEYSPACES TO jobads" \
        "ALTER ROLE cassandra WITH PASSWORD = '$su'"; do
        CQL_AUTH_USER=cassandra CQL_AUTH_PASS=cassandra CQL_QUERY=$q cql_query "$port" ||
            die "could not make the roles of the node in $dir (log: $dir/log/system.log)"
    done
    echo ready >"$dir/auth"
    answers "$dir" || die "the node in $dir does not let the jobads role in"
}

write_config() {
    local dir=$1 port=$2 storage=$3
    # The required keys, every folder under DIR, loopback only, and the
    # background work kept small: a test node on a shared 2-core machine.
    # auto_snapshot off: the tests drop their keyspaces at every run.
    cat >"$dir/cassandra.yaml" <<YAML
# written by scripts/cassandra.sh: a private single node under this folder
cluster_name: jobads
num_tokens: 16
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
commitlog_sync: periodic
commitlog_sync_period: 10000ms
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:$storage"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: $storage
native_transport_port: $port
start_native_transport: true
data_file_directories:
  - $dir/data
commitlog_directory: $dir/commitlog
hints_directory: $dir/hints
saved_caches_directory: $dir/saved_caches
cdc_raw_directory: $dir/cdc_raw
authenticator: $(auth_on "$dir" && echo PasswordAuthenticator || echo AllowAllAuthenticator)
authorizer: $(auth_on "$dir" && echo CassandraAuthorizer || echo AllowAllAuthorizer)
role_manager: CassandraRoleManager
auto_snapshot: false
concurrent_compactors: 1
concurrent_reads: 8
concurrent_writes: 16
concurrent_counter_writes: 8
memtable_heap_space: 128MiB
memtable_offheap_space: 128MiB
key_cache_size: 16MiB
disk_failure_policy: stop
commit_failure_policy: stop
YAML
    mkdir -p "$dir/triggers"
    # an experiment's settings (say, a batch warning threshold), appended as they are
    if [ -n "${JOBADS_CASSANDRA_EXTRA_YAML:-}" ]; then
        [ -r "$JOBADS_CASSANDRA_EXTRA_YAML" ] || die "JOBADS_CASSANDRA_EXTRA_YAML: cannot read $JOBADS_CASSANDRA_EXTRA_YAML"
        cat "$JOBADS_CASSANDRA_EXTRA_YAML" >>"$dir/cassandra.yaml"
    fi
    cat >"$dir/logback.xml" <<XML
<?xml version="1.0"?>
<!-- written by scripts/cassandra.sh: INFO and above to log/system.log -->
<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$dir/log/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
  <logger name="org.apache.cassandra" level="INFO"/>
</configuration>
XML
}

jvm_flags() {
    local dir=$1
    local jamm
    jamm=$(compgen -G "$lib/jamm-*.jar" | head -1) || die "no jamm jar in $lib (fetch again: rm -rf $lib)"
    # The JPMS exports and opens that Java 17 needs for Cassandra 5.0 (its
    # conf/jvm17-server.options), G1 as there, a small heap, and jamm as the
    # agent that measures memtables.
    flags=(
        -Xms512m "-Xmx$heap" -Xss256k -XX:+UseG1GC -XX:+ParallelRefProcEnabled
        -XX:MaxTenuringThreshold=1 -XX:MaxGCPauseMillis=300 -XX:+PerfDisableSharedMem
        -XX:-HeapDumpOnOutOfMemoryError -XX:+ExitOnOutOfMemoryError
        -Djava.net.preferIPv4Stack=true -Djdk.attach.allowAttachSelf=true
        -Dio.netty.tryReflectionSetAccessible=true
        -Dio.netty.allocator.useCacheForAllThreads=true -Dio.netty.allocator.maxOrder=11
        --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
        --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
        --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
        --add-exports java.sql/java.sql=ALL-UNNAMED
        --add-exports java.base/java.lang.ref=ALL-UNNAMED
        --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
        --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
        --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
        --add-opens java.base/java.lang.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
        --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
        --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
        --add-opens java.base/jdk.internal.math=ALL-UNNAMED
        --add-opens java.base/jdk.internal.module=ALL-UNNAMED
        --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
        --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
        --add-opens java.base/sun.nio.ch=ALL-UNNAMED
        --add-opens java.base/java.io=ALL-UNNAMED
        --add-opens java.base/java.lang.reflect=ALL-UNNAMED
        --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
        --add-opens java.base/java.lang=ALL-UNNAMED
        --add-opens java.base/java.util=ALL-UNNAMED
        "-javaagent:$jamm"
        "-Dcassandra.config=file://$dir/cassandra.yaml"
        "-Dcassandra.storagedir=$dir"
        "-Dcassandra.logdir=$dir/log"
        "-Dcassandra.triggers_dir=$dir/triggers"
        "-Dlogback.configurationFile=file://$dir/logback.xml"
        -Dcassandra-foreground=yes
        # one node that is its own seed: nothing to wait for at start
        -Dcassandra.skip_wait_for_gossip_to_settle=0
        -Dcassandra.load_ring_state=false
        # with authentication: the default superuser at once, not 10 s after the start
        -Dcassandra.superuser_setup_delay_ms=0
        -cp "$lib/*"
        org.apache.cassandra.service.CassandraDaemon
    )
}

start() {
    local dir=$1
    answers "$dir" && return 0
    # a node that runs but does not answer (paused by a test, or still starting)
    # is not started twice over the same folders
    if running_pid "$dir" >/dev/null; then
        die "a node runs in $dir (pid $(running_pid "$dir")) but does not answer on port $(cat "$dir/port" 2>/dev/null); stop it first"
    fi
    local java
    java=$(java_bin)
    fetch
    # the choice of a first start, kept: a restart of DIR must not drop the passwords
    if [ "${JOBADS_CASSANDRA_AUTH:-0}" = 1 ] && ! auth_on "$dir"; then
        [ -z "$(ls -A "$dir/data" 2>/dev/null)" ] ||
            die "JOBADS_CASSANDRA_AUTH=1 needs a new DIR: $dir already holds a node without authentication"
        echo new >"$dir/auth"
    fi
    mkdir -p "$dir/data" "$dir/commitlog" "$dir/hints" "$dir/saved_caches" "$dir/cdc_raw" "$dir/log"
    local tries port storage pid t0=$SECONDS
    for tries in 1 2 3 4 5; do
        if [ -n "${JOBADS_CASSANDRA_PORT:-}" ]; then
            port=$JOBADS_CASSANDRA_PORT
            [ "$tries" = 1 ] || die "port $port (JOBADS_CASSANDRA_PORT) or $((port + 1)) is taken"
        elif [ "$tries" = 1 ] && [ -f "$dir/port" ]; then
            # a restart keeps its port when it can, so that URLs stay valid
            port=$(cat "$dir/port")
        else
            port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        fi
        storage=$((port + 1))
        port_free "$port" && port_free "$storage" || continue
        local flags
        jvm_flags "$dir"
        write_config "$dir" "$port" "$storage"
        echo "$port" >"$dir/port"
        rm -f "$dir/cassandra.pid"
        : >"$dir/log/system.log"
        # The node outlives this script: it must not keep the descriptors it was
        # given, such as a lock the caller holds while it starts the node (flock).
        (
            cd "$dir"
            for f in /proc/$BASHPID/fd/*; do
                f=${f##*/}
                [ "$f" -gt 2 ] && eval "exec $f>&-" 2>/dev/null
            done
            exec "$java" "${flags[@]}" </dev/null >"$dir/log/stdout.log" 2>&1
        ) &
        pid=$!
        echo "$pid" >"$dir/cassandra.pid"
        while [ $((SECONDS - t0)) -lt "$start_timeout" ]; do
            if answers "$dir"; then
                [ "$(cat "$dir/auth" 2>/dev/null)" != new ] || make_roles "$dir"
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
            rm -f "$dir/cassandra.pid"
            grep -E '^(ERROR|WARN)' "$dir/log/system.log" | tail -10 >&2 || true
            die "the Cassandra node in $dir did not answer a CQL query within $start_timeout s (log: $dir/log/system.log)"
        fi
        rm -f "$dir/cassandra.pid"
        # it exited: a port taken between our check and its bind is worth another try
        grep -q "Address already in use" "$dir/log/system.log" "$dir/log/stdout.log" 2>/dev/null && continue
        { grep -E '^ERROR' "$dir/log/system.log" | tail -10; tail -10 "$dir/log/stdout.log"; } >&2 || true
        die "the Cassandra node in $dir exited at start (log: $dir/log/system.log, $dir/log/stdout.log)"
    done
    die "could not find a free port pair for the Cassandra node"
}

stop() {
    local dir=$1 pid
    pid=$(running_pid "$dir") || { rm -f "$dir/cassandra.pid"; return 0; }
    kill -CONT "$pid" 2>/dev/null || true # a test may have paused it
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 120); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$dir/cassandra.pid"; return 0; }
        sleep 0.5
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/cassandra.pid"
}

env_lines() {
    local dir=$1
    answers "$dir" || die "no Cassandra node answers in $dir (run: scripts/cassandra.sh start $dir)"
    local port
    port=$(cat "$dir/port")
    if auth_on "$dir"; then
        echo "export JOBADS_TEST_CASSANDRA_URL='cassandra://jobads@127.0.0.1:$port'"
        echo "export JOBADS_CASSANDRA_PASSWORD='$(cat "$dir/password")'"
    else
        echo "export JOBADS_TEST_CASSANDRA_URL='cassandra://127.0.0.1:$port'"
    fi
    echo "export JOBADS_CASSANDRA_PORT='$port'"
    echo "export JOBADS_CASSANDRA_PID='$(running_pid "$dir")'"
    echo "export JOBADS_CASSANDRA_DIR='$dir'"
}

cmd=${1:-}
case $cmd in
cql-query) cql_query_raw "$2"; exit ;;
fetch) fetch; exit 0 ;;
version)
    fetch
    unzip -p "$(compgen -G "$lib/cassandra-all-*.jar" | head -1)" META-INF/MANIFEST.MF 2>/dev/null |
        sed -n 's/^Implementation-Version: *\([^[:space:]]*\).*/\1/p' | grep . || pinned
    exit 0
    ;;
esac
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: cassandra.sh fetch|version|start|stop|env|status DIR"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case $cmd in
start) start "$dir" ;;
stop) stop "$dir" ;;
env) env_lines "$dir" ;;
status) answers "$dir" ;;
*) die "unknown command '$cmd' (fetch, version, start, stop, env, status)" ;;
esac
