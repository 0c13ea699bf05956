#!/usr/bin/python3
"""ALS training end to end on one thread, and what storing the model costs in it.

    /usr/bin/python3 bench/bench_als_store.py [--reps 3] [--lib NAME=PATH ...]

Two builds side by side (e.g. the user rows stored as float64 before 0.5.0, float32 since):

    /usr/bin/python3 bench/bench_als_store.py --reps 3 \\
        --lib main=/tmp/main/recpromo.so --lib branch=$PWD/recpromo.so

Runs inside a cluster with the extension installed (libpq variables set).  Not pass/fail.  The
data is bench_read_src, 5,000,000 interactions of 100,000 users x 20,000 items (created once by
bench/bench_read.py's ensure_table when missing or of another size, and kept).

Each repetition, for each side in turn (each --lib; without --lib the installed library alone):
  - with --lib, the side's shared library replaces the installed recpromo.so (copied next to it,
    then renamed over it, so that running backends keep their mapping; a new connection loads
    the new file).  Both builds must have the same SQL (the extension is not recreated);
  - recpromo.model_part is vacuumed and checkpointed (untimed);
  - fresh:   train('bench_als_store', 'bench_read_src', 'u', 'i', 'v', method => 'als',
             factors => 64, iterations => 5, regularization => 0.05, alpha => 1) with
             recpromo.max_threads = 1 and client_min_messages = warning, in a new connection:
             the statement's seconds, the model's store_seconds (writing the parts) and the
             bytes of its parts;
  - retrain: the same statement again, which also deletes the parts of the version it replaces
             (not in store_seconds);
  - drop:    drop_model of the bench model, timed: the same DELETE of one version's parts that
             a retrain runs.
Backend CPU seconds (utime + stime) are printed next to the wall seconds: on a loaded machine
they are the steadier figure.
Prints every run with the load average, then the medians per side and, with two sides, the
median of the per-repetition ratios (second side / first).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_read import TABLE, cpu_seconds, ensure_table  # noqa: E402

NAME = "bench_als_store"
STMT = ("SELECT name FROM recpromo.train('%s', '%s', 'u', 'i', 'v', method => 'als', factors => 64, "
        "iterations => 5, regularization => 0.05, alpha => 1)" % (NAME, TABLE))


def pkglibdir():
    return subprocess.run(["pg_config", "--pkglibdir"], capture_output=True, text=True,
                          check=True).stdout.strip()


def install_lib(path):
    dest = os.path.join(pkglibdir(), "recpromo.so")
    tmp = dest + ".bench-tmp"
    shutil.copyfile(path, tmp)
    os.chmod(tmp, 0o755)
    os.rename(tmp, dest)


def run(stmt):
    """Runs the training in a new connection: (seconds, store_seconds, bytes of the parts, bytes
    of the user rows, backend CPU seconds)."""
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET client_min_messages = warning")
    cur.execute("SET recpromo.max_threads = 1")
    cur.execute("SELECT pg_catalog.pg_backend_pid()")
    pid = cur.fetchone()[0]
    c0 = cpu_seconds(pid)
    t0 = time.perf_counter()
    cur.execute(stmt)
    cur.fetchall()
    dt = time.perf_counter() - t0
    cpu = cpu_seconds(pid) - c0
    cur.execute("SELECT m.store_seconds, (SELECT sum(pg_catalog.length(p.data)) FROM recpromo.model_part p "
                "WHERE p.model_id = m.id), (SELECT sum(pg_catalog.length(p.data)) FROM recpromo.model_part p "
                "WHERE p.model_id = m.id AND p.part LIKE 'als\\_user%%') FROM recpromo.model m WHERE m.name = %s",
                (NAME,))
    store, total, user = cur.fetchone()
    conn.close()
    return dt, store, int(total), int(user), cpu


def reset():
    """Drops the bench model (the seconds of drop_model: the DELETE of its parts, the same as a
    retrain's delete of the version it replaces; None when there was none), then vacuums
    recpromo.model_part and checkpoints, untimed."""
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET client_min_messages = warning")
    cur.execute("SELECT count(*) FROM recpromo.model WHERE name = %s", (NAME,))
    dt = None
    if cur.fetchone()[0]:
        t0 = time.perf_counter()
        cur.execute("SELECT recpromo.drop_model(%s)", (NAME,))
        dt = time.perf_counter() - t0
    cur.execute("VACUUM recpromo.model_part")
    cur.execute("CHECKPOINT")
    conn.close()
    return dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--lib", action="append", default=[], metavar="NAME=PATH",
                    help="a build's recpromo.so; two or more are alternated")
    ap.add_argument("--rows", type=int, default=5000000)
    ap.add_argument("--users", type=int, default=100000)
    ap.add_argument("--items", type=int, default=20000)
    args = ap.parse_args()
    sides = [tuple(s.split("=", 1)) for s in args.lib] or [("installed", None)]
    saved = None
    if args.lib:
        saved = os.path.join(pkglibdir(), "recpromo.so.bench-saved")
        shutil.copyfile(os.path.join(pkglibdir(), "recpromo.so"), saved)

    conn = psycopg2.connect("")
    ensure_table(conn, args)
    conn.close()
    res = {}
    try:
        for rep in range(args.reps):
            for name, path in sides:
                reset()
                if path:
                    install_lib(path)
                for kind in ("fresh", "retrain"):
                    r = run(STMT)
                    res.setdefault((name, kind), []).append(r)
                    print("rep %d %-8s %-8s statement %6.2f s  cpu %6.2f s  store_seconds %5.2f s  parts %5.1f MB "
                          "(user rows %4.1f MB)  load %.2f" % (rep + 1, name, kind, r[0], r[4], r[1], r[2] / 1e6,
                                                                r[3] / 1e6, os.getloadavg()[0]), flush=True)
                d = reset()
                res.setdefault((name, "drop"), []).append(d)
                print("rep %d %-8s drop_model %6.2f s" % (rep + 1, name, d), flush=True)
    finally:
        if saved:
            install_lib(saved)
            os.unlink(saved)

    med = statistics.median
    print("\nmedians (%d repetitions, 1 thread)" % args.reps)
    print("%-8s %-8s %10s %9s %14s %9s" % ("side", "run", "statement", "cpu", "store_seconds", "parts MB"))
    for name, _ in sides:
        for kind in ("fresh", "retrain"):
            rs = res[(name, kind)]
            print("%-8s %-8s %9.2fs %8.2fs %13.2fs %9.1f" % (name, kind, med(r[0] for r in rs), med(r[4] for r in rs),
                                                          med(r[1] for r in rs), rs[0][2] / 1e6))
        print("%-8s drop_model (the DELETE of one version's parts) %.2f s" % (name, med(res[(name, "drop")])))
    if len(sides) >= 2:
        a, b = sides[0][0], sides[1][0]
        print("\n%s / %s, medians of the per-repetition pair ratios:" % (b, a))
        for kind in ("fresh", "retrain"):
            for i, what in ((0, "statement"), (4, "cpu"), (1, "store_seconds")):
                rr = [y[i] / x[i] for x, y in zip(res[(a, kind)], res[(b, kind)])]
                print("  %-8s %-14s %.3f" % (kind, what, med(rr)))
        rr = [y / x for x, y in zip(res[(a, "drop")], res[(b, "drop")])]
        print("  %-8s %-14s %.3f" % ("drop", "seconds", med(rr)))

if __name__ == "__main__":
    main()
