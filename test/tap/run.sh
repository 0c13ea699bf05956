#!/usr/bin/env bash
# Runs the TAP tests of test/tap/t (PostgreSQL::Test::Cluster from PGXS; each
# test makes its own clusters with the initdb of the pg_config on PATH, so
# the extension must be installed there) and prints "tap: N passed, N failed".
# Needs prove and IPC::Run (Debian: libipc-run-perl, see test/install_deps.sh).
# initdb refuses to run as root: as root, the tests run as the postgres user
# in a scratch copy of test/tap.
set -u
here=$(cd "$(dirname "$0")" && pwd)
pgxs=$(dirname "$(pg_config --pgxs)")/..
perl_lib=$(cd "$pgxs/test/perl" && pwd)
bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/recpromo_tap.XXXXXX)
cp -r "$here/t" "$work/"
cmd="cd '$work' && PATH='$bindir':\$PATH PG_REGRESS='$pgxs/test/regress/pg_regress' prove -v -I '$perl_lib' t/*.pl"
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres "$work"
	out=$(su postgres -s /bin/bash -c "$cmd" 2>&1); rc=$?
else
	out=$(bash -c "$cmd" 2>&1); rc=$?
fi
echo "$out" | grep -vE '^ok [0-9]+' | tail -40
p=$(echo "$out" | grep -cE '^ok [0-9]+')
f=$(echo "$out" | grep -cE '^not ok [0-9]+')
[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
[ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1
if [ "$f" -ne 0 ]; then
	for l in "$work"/tmp_check/log/*; do echo "== $l"; tail -30 "$l"; done
fi
[ "$f" -eq 0 ] && rm -rf "$work"
echo "tap: $p passed, $f failed"
[ "$f" -eq 0 ]
