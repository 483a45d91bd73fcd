#!/usr/bin/env bash
# The whole test suite: install what is missing, check formatting, build with
# warnings as errors, run every test; then build again with AddressSanitizer and
# UndefinedBehaviorSanitizer and run every test again. .ci/run calls exactly this.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/bootstrap.sh"

echo "== format check (.clang-format)"
bad=0
while IFS= read -r f; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || { echo "not formatted: $f"; bad=1; }
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests bench -name '*.[ch]')
[ $bad -eq 0 ] || { echo "run: clang-format -i on the files above"; exit 1; }

# A private MariaDB server for the mysql:// tests (both builds share it), stopped on exit.
# JOBADS_TEST_MYSQL_URL already set (a server of your own) skips this.
if [ -z "${JOBADS_TEST_MYSQL_URL:-}" ]; then
    echo "== private MariaDB server in build/mariadb"
    "$top/scripts/mariadb.sh" start "$top/build/mariadb"
    trap '"$top/scripts/mariadb.sh" stop "$top/build/mariadb"' EXIT
    eval "$("$top/scripts/mariadb.sh" env "$top/build/mariadb")"
fi

echo "== build (-Wall -Wextra -Werror)"
"$top/scripts/build.sh" "$top/build"
echo "== tests"
(cd "$top/build" && ctest --output-on-failure -j1)

echo "== build with ASan + UBSan"
"$top/scripts/build.sh" "$top/build-asan" -DJOBADS_SANITIZE=ON
echo "== tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd "$top/build-asan" && ctest --output-on-failure -j1)
