#!/usr/bin/env bash
# Build the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# from the sources, replay every input in regress/ (each crash ever found is
# kept there as a test), then fuzz each target for SECONDS from corpus/.
# usage: run.sh SOURCE_DIR BUILD_DIR SECONDS [TARGET...]   (default: body params)
set -euo pipefail
src=$1 build=$2 secs=${3:-20}
shift 3 || shift $#
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(body params)
out=$build/fuzz
mkdir -p "$out"
command -v clang >/dev/null || { echo "clang missing: run scripts/bootstrap.sh" >&2; exit 1; }
[ -f "$build/sql_embed.c" ] || { echo "$build/sql_embed.c missing: build first" >&2; exit 1; }

# the core and the SQLite backends only (store.c leaves the others out without
# JOBADS_HAVE_MYSQL): the parsers need no server library
core=("$src"/src/core/*.c "$src"/src/store/store.c "$src"/src/store/url.c "$src"/src/store/sqlite/*.c "$build/sql_embed.c"
      "$src/src/web/params.c" "$src/src/web/body.c" "$src/src/cql/cql_codec.c")
flags=(-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE '-DJOBADS_VERSION="fuzz"'
       -I"$src/include" -I"$src/src" $(pkg-config --cflags glib-2.0) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
libs=($(pkg-config --libs sqlite3 jansson nettle glib-2.0) -lpthread -lm)
fails=0
for t in "${targets[@]}"; do
    if [ ! -x "$out/fuzz_$t" ] || [ -n "$(find "${core[@]}" "$src/tests/fuzz/fuzz_$t.c" -newer "$out/fuzz_$t" 2>/dev/null | head -1)" ]; then
        clang "${flags[@]}" -o "$out/fuzz_$t" "$src/tests/fuzz/fuzz_$t.c" "${core[@]}" "${libs[@]}"
    fi
    regress=("$src/tests/fuzz/regress/$t"/*)
    if [ -e "${regress[0]}" ]; then
        "$out/fuzz_$t" "${regress[@]}" >"$out/$t.regress.log" 2>&1 || { echo "fuzz_$t: a regression input fails again (see $out/$t.regress.log)"; fails=$((fails + 1)); }
    fi
    mkdir -p "$out/corpus_$t"
    cp -n "$src/tests/fuzz/corpus/$t"/* "$out/corpus_$t/" 2>/dev/null || true
    if "$out/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -artifact_prefix="$out/crash_$t-" "$out/corpus_$t" >"$out/$t.log" 2>&1; then
        echo "fuzz_$t: $(grep -oE '#[0-9]+' "$out/$t.log" | tail -1 | tr -d '#') runs in ${secs}s, no crash"
    else
        echo "fuzz_$t: CRASH, input saved as $(ls "$out"/crash_"$t"-* 2>/dev/null | head -1); copy it into tests/fuzz/regress/$t/"
        tail -30 "$out/$t.log"
        fails=$((fails + 1))
    fi
done
echo "$((${#targets[@]} - fails)) passed, $fails failed"
[ $fails -eq 0 ]
