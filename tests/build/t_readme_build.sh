# The README's "Building by hand" steps, run as written in a scratch copy of the
# source tree (no build/, no node_modules: a fresh checkout), must give a binary
# whose dashboard has its chart library: `jobads serve` answers
# /assets/echarts.min.js with ECharts at the version dashboard/package-lock.json pins,
# not the stand-in that says the charts are missing.
#   bash t_readme_build.sh SOURCE_DIR WORKDIR
# npm downloads come from npm's own cache (~/.npm), outside the copy, so a
# machine that has built once does not fetch again. Skipped (77) only without npm.
set -euo pipefail
src=$(readlink -f "$1")
WORK=$2
rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(readlink -f "$WORK")
if ! command -v npm >/dev/null; then
    echo "t_readme_build: skipped: npm is not installed, and the README's build needs it for the charts" >&2
    exit 77
fi
FAILS=0
ok() { echo "ok: $1"; }
fail() { echo "FAIL: $1"; FAILS=$((FAILS + 1)); }

# The tree as a fresh checkout would have it: git's files, tracked and new (what a
# commit of this tree would hold), or, outside git, everything but build output.
tree=$WORK/src
mkdir -p "$tree"
if git -C "$src" rev-parse --show-toplevel >/dev/null 2>&1; then
    (cd "$src" && git ls-files -co --exclude-standard -z |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -C "$tree" -xf -
else
    tar -C "$src" --exclude='./build*' --exclude=node_modules --exclude=./data -cf - . | tar -C "$tree" -xf -
fi
if [ -e "$tree/dashboard/node_modules" ] || [ -e "$tree/build" ]; then
    echo "t_readme_build: the scratch copy has build output in it" >&2
    exit 1
fi

# The steps: the shell block under "## Building by hand", from after the package
# install (bootstrap.sh: apt-get, which the suite has run before building) up to the
# test run (the suite itself). Whatever the README adds between runs here too.
steps=$(awk '/^## Building by hand/ { s = 1; next }
             s && /^```/ { if (b) exit; b = 1; next }
             b' "$tree/README.md" | sed 's/[[:space:]]*#.*$//' | sed '/^$/d')
first=$(printf '%s\n' "$steps" | head -1)
[ "$first" = "./scripts/bootstrap.sh" ] || { echo "t_readme_build: README's block no longer starts with ./scripts/bootstrap.sh: $first" >&2; exit 1; }
build_steps=$(printf '%s\n' "$steps" | sed '1d' | sed '/ctest/,$d')
[ -n "$build_steps" ] || { echo "t_readme_build: no build steps found in README.md" >&2; exit 1; }
printf 'README step: %s\n' "$build_steps"
start=$(date +%s)
if (cd "$tree" && bash -euo pipefail -c "$build_steps") >"$WORK/build.log" 2>&1; then
    ok "the README's steps build ($(($(date +%s) - start)) s)"
else
    fail "the README's steps failed: $(grep -m3 -i 'error' "$WORK/build.log" || tail -3 "$WORK/build.log")"
    exit 1
fi
if grep -q "no charts" "$WORK/build.log"; then
    fail "the build warned that the dashboard has no charts: $(grep -m1 'no charts' "$WORK/build.log")"
fi

pinned=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"]["node_modules/echarts"]["version"])' \
    "$tree/dashboard/package-lock.json")
: >"$WORK/serve.out" # there before the sed below reads it (serve_lib.sh says why)
"$tree/build/jobads" serve --listen 127.0.0.1:0 --events "sqlite:$WORK/events.db" \
    --analytics "sqlite:$WORK/analytics.db" >"$WORK/serve.out" 2>"$WORK/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 100); do
    port=$(sed -n 's|^serve: listening on http://[0-9.]*:\([0-9]*\)/.*|\1|p' "$WORK/serve.out")
    [ -n "$port" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
[ -n "$port" ] || { echo "t_readme_build: serve did not start: $(cat "$WORK/serve.err")" >&2; exit 1; }
code=$(curl -s -o "$WORK/echarts.js" -w '%{http_code}' "http://127.0.0.1:$port/assets/echarts.min.js")
[ "$code" = 200 ] && ok "/assets/echarts.min.js is 200" || fail "/assets/echarts.min.js is $code"
if grep -q JOBADS_NO_ECHARTS "$WORK/echarts.js"; then
    fail "the dashboard was built without charts: $(head -c 300 "$WORK/echarts.js")"
else
    ok "the chart asset is not the no-charts stand-in"
fi
if grep -qF ".version=\"$pinned\"" "$WORK/echarts.js"; then
    ok "the chart asset is ECharts $pinned, as dashboard/package-lock.json pins"
else
    fail "the chart asset is not ECharts $pinned ($(stat -c %s "$WORK/echarts.js") bytes)"
fi
code=$(curl -s -o "$WORK/index.html" -w '%{http_code}' "http://127.0.0.1:$port/")
if [ "$code" = 200 ] && grep -q '/assets/echarts.min.js' "$WORK/index.html"; then
    ok "the dashboard page loads the chart asset"
else
    fail "the dashboard page ($code) does not load /assets/echarts.min.js"
fi
[ $FAILS -eq 0 ] || { echo "$FAILS check(s) failed (the copy and its build are in $tree)"; exit 1; }
trap - EXIT
kill $pid
wait $pid 2>/dev/null || true
rm -rf "$tree" # a whole second build: kept only when a check failed
echo "all checks passed"
