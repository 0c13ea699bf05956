#!/usr/bin/env bash
# Installs the Debian packages recpromo needs to build, test and benchmark,
# when run as root and something is missing.  Idempotent.  The extension
# links the pthreads OpenBLAS by its directory (libopenblas-pthread-dev, see
# the Makefile), whatever libopenblas-dev's alternatives point to.  chromium
# renders report() for test/browser, which reports itself skipped without it.
set -u
pkgs="build-essential pkg-config postgresql-15 postgresql-server-dev-15 postgresql-contrib
      libopenblas-dev libopenblas-pthread-dev liblapack-dev python3-numpy python3-scipy python3-sklearn python3-pandas
      python3-psycopg2 libipc-run-perl chromium"
missing=""
for p in $pkgs; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq $missing >/dev/null
