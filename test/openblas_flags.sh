#!/bin/sh
# openblas_flags.sh --cflags | --libs
#
# Compiler and linker flags for the OpenBLAS the extension links (Debian's
# pthreads build, by exact directory; see the Makefile for why), shared by
# test/unit/run.sh and bench/bench_als.sh so that tests and benchmarks run the
# same library.  --libs adds an rpath: libopenblas.so.0 in the default search
# path is an update-alternatives link that may point to another build.  Falls
# back to pkg-config when the directory is missing (non-Debian systems).
libdir=$(ls -d /usr/lib/*/openblas-pthread 2>/dev/null | head -n 1)
if [ -n "$libdir" ] && [ -e "$libdir/libopenblas.so" ]; then
	incdir=/usr/include/$(basename "$(dirname "$libdir")")/openblas-pthread
	cflags="-I$incdir"
	libs="-L$libdir -Wl,-rpath,$libdir -lopenblas"
else
	cflags=$(pkg-config --cflags openblas 2>/dev/null)
	libs=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
fi
case "${1:-}" in
	--cflags) echo "$cflags" ;;
	--libs) echo "$libs" ;;
	*) echo "usage: $0 --cflags | --libs" >&2; exit 2 ;;
esac
