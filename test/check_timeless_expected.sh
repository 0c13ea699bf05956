#!/usr/bin/env bash
# Fails when an expected test output contains a time, a duration or a rate:
# figures that depend on the machine and its load (issue 11, item 3: a
# "trained model ... in 0.000 s" NOTICE in expected/serving_factors.out
# printed 0.006 s on a busy machine and CI failed on a clean clone).  Tests
# must keep such figures out of their output (client_min_messages = warning,
# or compare them: `train_seconds >= 0`).  Scans expected/*.out and
# test/isolation/expected/*.out; prints each offending line and
# "timeless expected outputs: N passed, N failed".
set -u
cd "${RECPROMO_ROOT:-$(dirname "$0")/..}"
. test/report_offenders.sh
# decimal durations ("0.000 s", "1.5ms", "2.0 seconds"), integer durations in
# a message ("in 3 s", "12 ms" not inside a quoted SQL literal), rates
# ("GFLOP/s", "rows/s", "per second"), \timing lines, words that introduce a
# measured time, and timestamps with fractional seconds (now(), clock_timestamp())
pattern='[0-9]\.[0-9]+ ?(s|ms|us|µs|ns|sec|secs|seconds?|min|minutes?)\b'
pattern+="|\\bin [0-9]+ ?(s|ms|us|sec|seconds?)\\b|(^|[^'0-9])[0-9]+ ?(ms|us|µs|ns|msec|milliseconds?)\\b"
pattern+='|[A-Za-z]+/s\b|per second|^Time: |\b(took|elapsed)\b'
pattern+='|[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+'
files=$(ls expected/*.out test/isolation/expected/*.out 2>/dev/null)
bad=$(grep -nHiP "$pattern" $files 2>/dev/null)
report_offenders "timeless expected outputs" \
	"expected outputs with a time, duration or rate (machine- and load-dependent):" \
	"$files" "$bad"
