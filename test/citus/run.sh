#!/usr/bin/env bash
# The Citus suite (test/citus/test_citus.py): a coordinator and two workers
# started as local PostgreSQL instances.  Needs the citus library in this
# PostgreSQL's pkglibdir.  When it is missing and the Citus 13.2.2 source
# (citus-13.2.2.tar.gz and pg15-minor-compat.patch, see doc/scaling.md,
# "Scaling out") is in $RECPROMO_CITUS_SRC (default: ../shared/citus next to the
# repository), and we are root, it is built and installed first (about 2
# minutes on 2 idle cores).  Otherwise the suite reports itself SKIPPED.
# Ends with "citus: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
src=${RECPROMO_CITUS_SRC:-$(cd .. && pwd)/shared/citus}
pkglib=$(pg_config --pkglibdir)
if [ ! -f "$pkglib/citus.so" ] && [ -f "$src/citus-13.2.2.tar.gz" ] && [ "$(id -u)" = 0 ]; then
	echo "citus: building Citus 13.2.2 from $src"
	b=$(mktemp -d)
	if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -q liblz4-dev libzstd-dev libcurl4-openssl-dev libkrb5-dev >/dev/null 2>&1 &&
		tar -xzf "$src/citus-13.2.2.tar.gz" -C "$b" &&
		(cd "$b/citus-13.2.2" && patch -s -p1 < "$src/pg15-minor-compat.patch" &&
		 ./configure PG_CONFIG="$(command -v pg_config)" >/dev/null &&
		 make -s -j2 with_llvm=no >/dev/null 2>&1 && make -s install with_llvm=no >/dev/null 2>&1); }; then
		echo "citus: the build failed"
		echo "citus: 0 passed, 1 failed"
		rm -rf "$b"; exit 1
	fi
	rm -rf "$b"
fi
out=$(/usr/bin/python3 test/citus/test_citus.py 2>&1); rc=$?
echo "$out"
line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
[ -z "$line" ] && line="0 passed, 1 failed"
if [ $rc -ne 0 ] && echo "$line" | grep -q ' 0 failed'; then line="${line% 0 failed} 1 failed"; fi
echo "citus: $line"
[ $rc -eq 0 ]
