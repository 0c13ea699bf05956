#!/usr/bin/env bash
# Runs every recpromo test suite and ends with one line "N passed, N failed".
#
#   test/run_all.sh          (as root on a fresh Debian 12: installs what is missing)
#
# Suites: C unit tests of src/core under ASan/UBSan (test/unit), pg_regress
# (sql/ + expected/), isolation specs (test/isolation), and the independent
# reference checks in Python (test/ref, numpy/scipy/scikit-learn from Debian),
# all against a throwaway cluster made by pg_virtualenv; the TAP tests
# (test/tap: primary + hot standby clusters of their own); then the Citus
# suite (test/citus), which starts its own coordinator and workers.  Exit status is
# non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)

# 1. Packages (idempotent; only as root, e.g. in CI).
test/install_deps.sh || { echo "0 passed, 1 failed"; exit 1; }

# 2. Build with -Werror and install.
make -s clean >/dev/null 2>&1
if ! make -s with_llvm=no >build.log 2>&1 || ! make -s with_llvm=no install >>build.log 2>&1; then
	cat build.log; echo "build: failed"; echo "0 passed, 1 failed"; exit 1
fi
rm -f build.log

total_p=0; total_f=0
add() { total_p=$((total_p + $1)); total_f=$((total_f + $2)); }
count_line() {	# "label: N passed, N failed" -> "N N"
	sed -nE 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/p' | tail -1
}

# 3. Unit tests.
out=$(test/unit/run.sh 2>&1); echo "$out"
read -r p f < <(echo "$out" | grep '^unit:' | count_line); add "${p:-0}" "${f:-1}"

# 4. Everything that needs a server runs inside one throwaway cluster.
export RECPROMO_ROOT=$root
pg_virtualenv -t -v 15 test/run_server_suites.sh > server.log 2>&1
rc=$?
cat server.log
read -r p f < <(grep '^server suites:' server.log | count_line)
if [ -z "${p:-}" ]; then p=0; f=1; fi
[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
add "$p" "$f"
skipped=$(grep '^server suites:' server.log | sed -nE 's/.* ([0-9]+) skipped.*/\1/p' | tail -1)
rm -f server.log

# 5. TAP tests (they make their own clusters: a primary and a hot standby).
out=$(test/tap/run.sh 2>&1); echo "$out"
read -r p f < <(echo "$out" | grep '^tap:' | count_line); add "${p:-0}" "${f:-1}"

# 6. Citus: a coordinator and two workers of its own (skipped, visibly, when
#    Citus is neither installed nor buildable here; see test/citus/run.sh).
out=$(test/citus/run.sh 2>&1); echo "$out"
read -r p f < <(echo "$out" | grep '^citus:' | count_line)
if [ -z "${p:-}" ]; then p=0; f=1; fi
add "$p" "$f"
echo "$out" | grep -q '^citus: SKIPPED' && skipped=$(( ${skipped:-0} + 1 ))

# A skipped suite (printed SKIPPED with its reason above) is neither passed
# nor failed; the count goes on its own line, so that the last line stays
# exactly "N passed, N failed".
[ "${skipped:-0}" -gt 0 ] && echo "skipped suites: $skipped (see SKIPPED above)"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
