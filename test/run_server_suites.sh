#!/usr/bin/env bash
# Runs inside pg_virtualenv (PGHOST/PGPORT/PGUSER set): pg_regress, the
# isolation specs and the Python reference checks.  Prints one line
# "server suites: N passed, N failed".
set -u
cd "${RECPROMO_ROOT:-$(dirname "$0")/..}"
bindir=$(pg_config --pgxs | sed 's|/pgxs/src/makefiles/pgxs.mk||')/pgxs/src/test
p=0; f=0; s=0

# run_counted LINES CMD...: runs CMD, shows the last LINES lines of its output
# and adds the counts of its last "N passed, N failed" line to p and f.  No
# such line counts as one failure; so does a non-zero exit with 0 failed.
# A suite that cannot run here (test/browser without chromium) prints a line
# starting with SKIPPED and "0 passed, 0 failed": it counts in s only.
run_counted() {
	local lines=$1 out rc line tp tf
	shift
	out=$("$@" 2>&1); rc=$?
	echo "$out" | tail -"$lines"
	line=$(echo "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -1)
	tp=$(echo "$line" | sed -nE 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\2/p')
	tf=$(echo "$line" | sed -nE 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\3/p')
	if [ -z "$tp" ]; then tp=0; tf=1; fi
	[ $rc -ne 0 ] && [ "$tf" -eq 0 ] && tf=1
	echo "$out" | grep -q '^SKIPPED' && s=$((s + 1))
	p=$((p + tp)); f=$((f + tf))
}

# pg_regress
make -s with_llvm=no installcheck > regress.log 2>&1
cat regress.log
rp=$(grep -cE '^(test| ) *[a-z0-9_]+ +\.\.\. ok' regress.log)
rf=$(grep -cE '\.\.\. FAILED' regress.log)
[ -f regression.diffs ] && head -200 regression.diffs
if [ "$rp" -eq 0 ] && [ "$rf" -eq 0 ]; then rf=1; fi
echo "regress: $rp passed, $rf failed"
p=$((p + rp)); f=$((f + rf))
rm -f regress.log

# isolation
specs=$(ls test/isolation/specs/*.spec 2>/dev/null | xargs -n1 basename 2>/dev/null | sed 's/\.spec$//')
if [ -n "$specs" ]; then
	"$bindir/isolation/pg_isolation_regress" --inputdir=test/isolation \
		--outputdir=output_iso --load-extension=recpromo $specs > iso.log 2>&1
	cat iso.log
	ip=$(grep -cE '\.\.\. ok' iso.log)
	if_=$(grep -cE '\.\.\. FAILED' iso.log)
	[ -f output_iso/regression.diffs ] && head -200 output_iso/regression.diffs
	if [ "$ip" -eq 0 ] && [ "$if_" -eq 0 ]; then if_=1; fi
	echo "isolation: $ip passed, $if_ failed"
	p=$((p + ip)); f=$((f + if_))
	rm -f iso.log
fi

# independent reference checks (Python, Debian's numpy/scipy/scikit-learn),
# the report in a headless chromium, and the README examples
for t in test/ref/test_*.py test/browser/test_*.py test/readme_examples.py; do
	[ -e "$t" ] || continue
	run_counted 20 /usr/bin/python3 "$t"
done

# static checks of the tree: no time in an expected output, no elog(ERROR)
for t in test/check_timeless_expected.sh test/check_no_elog_error.sh; do
	[ -x "$t" ] || continue
	run_counted 40 "$t"
done

echo "server suites: $p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
