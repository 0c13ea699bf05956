#!/usr/bin/env bash
# Builds every test/unit/test_*.c against src/core under AddressSanitizer and
# UndefinedBehaviorSanitizer, runs it, and prints "unit: N passed, N failed".
# Exit status is non-zero on any failure (a build failure counts as one).
set -u
cd "$(dirname "$0")/../.."
out=test/unit/build
mkdir -p "$out"
CC=${CC:-gcc}
# the OpenBLAS the extension links (see the Makefile)
BLAS_CFLAGS=$(test/openblas_flags.sh --cflags) || { echo "unit: 0 passed, 1 failed"; exit 1; }
BLAS_LIBS=$(test/openblas_flags.sh --libs)
CFLAGS="-std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-function -Wno-unused-parameter -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -pthread"
passed=0; failed=0
# the core is compiled once, then linked into every test program
mkdir -p "$out/core"
core=""
for c in src/core/*.c; do
	o="$out/core/$(basename "$c" .c).o"
	if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ -n "$(find src/core -name '*.h' -newer "$o")" ]; then
		$CC $CFLAGS -Isrc/core $BLAS_CFLAGS -c -o "$o" "$c" || { echo "$c: build failed"; echo "unit: 0 passed, 1 failed"; exit 1; }
	fi
	core="$core $o"
done
for t in test/unit/test_*.c; do
	name=$(basename "$t" .c)
	if ! $CC $CFLAGS -Isrc/core $BLAS_CFLAGS -o "$out/$name" "$t" $core $BLAS_LIBS -lm; then
		echo "$name: build failed"; failed=$((failed + 1)); continue
	fi
	log="$out/$name.log"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$out/$name" >"$log" 2>&1
	rc=$?
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$line" ]; then
		cat "$log"; echo "$name: crashed (exit $rc)"; failed=$((failed + 1)); continue
	fi
	p=$(echo "$line" | sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\2/')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	[ "$f" -ne 0 ] && cat "$log"
	echo "$line"
	passed=$((passed + p)); failed=$((failed + f))
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
