#!/usr/bin/env bash
# Builds and installs recpromo, then runs the demo (demo/demo.sql) on a
# throwaway cluster made by pg_virtualenv and prints its results; writes
# demo/report.html (report(): every chart in one page, open it in a browser)
# and prints its path.
set -eu
cd "$(dirname "$0")/.."
test/install_deps.sh
make -s with_llvm=no
make -s with_llvm=no install
report="$(pwd)/demo/report.html"
rm -f "$report"
pg_virtualenv -t -v 15 psql -X -v ON_ERROR_STOP=1 -v report="$report" -f demo/demo.sql
echo "report: $report"
