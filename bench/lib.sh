# Timing helpers the benchmarks share: source "$(dirname "$0")/lib.sh".
now() { date +%s.%N; }
# best of three wall-clock seconds for a command (stdout/stderr discarded);
# $PREP, when set, is run (eval) before each of the three
best3() {
    local best="" t0 t1 d
    for _ in 1 2 3; do
        [ -n "${PREP:-}" ] && eval "$PREP"
        t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
        d=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$d < $best" | bc -l)" = 1 ]; then best=$d; fi
    done
    printf '%.3f' "$best"
}
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
rate() { printf '%.0f' "$(echo "$1 / $2" | bc -l)"; }

# The options of a benchmark that takes --events N and --out DIR (N and OUT
# set to its defaults first), -h printing its opening comment: parse them,
# build jobads if needed (B, J), and start in an emptied OUT.
bench_setup() {
    while [ $# -gt 0 ]; do
        case $1 in
        --events) N=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "bench: unknown option $1" >&2; exit 2 ;;
        esac
    done
    B=${JOBADS_BUILD:-$top/build}
    [ -x "$B/jobads" ] || "$top/scripts/build.sh" "$B"
    J=$B/jobads
    rm -rf "$OUT"; mkdir -p "$OUT"; cd "$OUT"
}
