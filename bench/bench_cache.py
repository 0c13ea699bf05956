#!/usr/bin/python3
"""Shared model cache benchmark (not pass/fail): prints numbers and ratios.

Run inside a throwaway cluster, holding the install lock (it uses the
installed extension and reads /proc of the server's backends, so it must run
on the server's machine as the server's user or root):

    flock /tmp/recpromo.lock pg_virtualenv -t -v 15 /usr/bin/python3 bench/bench_cache.py

What it measures, for models of 20,000 and 200,000 items x 64 factors (the
`factors` method, 2,000 users, as bench/bench_serving.py builds them):
  first call  the first recommend(user, 10) in a new backend that has loaded
              the library (one trivial recpromo call before), wall time and
              the backend's CPU time (/proc/<pid>/schedstat), median of
              several backends: with recpromo.shared_cache_size = 0 (each
              backend loads the model from its tables: the per-backend path,
              what every backend paid before the cache) and with the cache
              (the backend attaches the image another backend wrote).  Also
              the same call in a backend that already served another model
              (what attaching itself costs, without the backend's own
              first-query costs: catalog caches, planning, the lookup plan),
              and the first load on the server (load + writing the image).
  memory      20 backends serving the 200k model: the sum of their PSS
              (/proc/<pid>/smaps_rollup) after serving minus before, against
              one copy of the model (the image size; the per-backend path's
              private memory growth is shown too, measured on 3 backends).
  first query the goal of issue 14: in a brand-new connection, the client-side
              time of the first `SELECT * FROM recpromo.recommend(u, 10)`
              (default model m200000), once another backend has loaded the
              model, next to the first `SELECT 1` of a new connection (the
              baseline every first query pays), medians over BENCH_CONNS
              (default 40) connections, alternated; the connection itself
              is established before the clock starts.  Also the backend's
              CPU time, and the same with session_preload_libraries =
              'recpromo' (the library loaded while the connection starts:
              that moves its load into the connection time, which is shown
              too).  Whether shared_preload_libraries holds recpromo is
              printed: run the script once without and once with it
              (restart in between) for both figures.  With BENCH_HEAVY (the
              default) the same again for h200000, whose heavy-tailed item
              norms (as ALS factors have) let the call prune: m200000's
              Gaussian factors make every call screen all 200,000 items.
              With BENCH_OTHER_PORT (and BENCH_OTHER_HOST, its socket
              directory or host, when it differs from PGHOST's), every
              connection is alternated with one
              to the server on that port (another build of the library, the
              same models: run this script once against it first to create
              them), and the ratio of the medians is printed.
  load        the first call after a retrain (the load from the tables and
              the image write) and a per-backend load (cache off), CPU time.
Figures depend on the machine's load: on a shared machine, compare CPU times.

Only the first-query and load figures (quicker, the goals' figures):

    BENCH_ONLY_FIRST=1 /usr/bin/python3 bench/bench_cache.py
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import psycopg2  # noqa: E402

import bench_serving as bs  # noqa: E402

TRIALS = int(os.environ.get("BENCH_TRIALS", "7"))


def connect(opts="", port=None):
    other = {"port": port, "host": os.environ.get("BENCH_OTHER_HOST") or os.environ.get("PGHOST")}
    c = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"), options=opts,
                         **(other if port else {}))
    c.autocommit = True
    return c


def one(cur, sql, args=None):
    cur.execute(sql, args)
    return cur.fetchone()[0]


def cpu_ms(pid):
    """CPU time of a process so far (ns precision), in ms."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0]) / 1e6


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def private_kb(pid):
    tot = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                tot += int(line.split()[1])
    return tot


def backend(opts=""):
    c = connect(opts)
    cur = c.cursor()
    pid = one(cur, "SELECT pg_backend_pid()")
    one(cur, "SELECT recpromo.blas_corename() IS NOT NULL")
    return c, cur, pid


def timed(cur, pid, model, user=1):
    c0 = cpu_ms(pid)
    w0 = time.perf_counter()
    cur.execute("SELECT count(*) FROM recpromo.recommend(%s, 10, model => %s)", (user, model))
    cur.fetchall()
    return (time.perf_counter() - w0) * 1000.0, cpu_ms(pid) - c0


def median_pair(rows):
    return statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)


def image_size(cur, model):
    r = one(cur, """SELECT sum((pg_stat_file('pg_recpromo_cache/' || f)).size)
                      FROM pg_ls_dir('pg_recpromo_cache', true, false) f, recpromo.model m
                     WHERE m.name = %s AND f LIKE '%%\\_' || m.id || '\\_' || replace(m.version::text, '-', '') || '.img'""",
            (model,))
    return int(r or 0)


def first_calls(n_items, other, model=None):
    model = model or "m%d" % n_items
    print("\n%s (%d items x %d factors)" % (model, n_items, bs.F))
    # per-backend path: every backend loads from the tables
    rows = []
    for _ in range(max(3, TRIALS // 2)):
        c, cur, pid = backend("-c recpromo.shared_cache_size=0")
        rows.append(timed(cur, pid, model))
        c.close()
    w, u = median_pair(rows)
    print("  first call, per-backend load (cache off):   wall %8.1f ms   cpu %8.1f ms" % (w, u))
    load = (w, u)
    # one backend serves the model once: the image exists from here on
    c, cur, pid = backend()
    timed(cur, pid, model)
    c.close()
    rows = []
    for _ in range(TRIALS):
        c, cur, pid = backend()
        rows.append(timed(cur, pid, model))
        c.close()
    w, u = median_pair(rows)
    print("  first call, attach (cache on):              wall %8.1f ms   cpu %8.1f ms   (%.0fx less cpu)"
          % (w, u, load[1] / max(u, 1e-3)))
    rows = []
    for _ in range(TRIALS):
        c, cur, pid = backend()
        timed(cur, pid, other)
        rows.append(timed(cur, pid, model))
        c.close()
    w, u = median_pair(rows)
    print("  same, backend already warm (attach + call): wall %8.1f ms   cpu %8.1f ms" % (w, u))
    rows = []
    c, cur, pid = backend()
    timed(cur, pid, model)
    for k in range(TRIALS):
        rows.append(timed(cur, pid, model, 1 + k))
    c.close()
    w, u = median_pair(rows)
    print("  later calls in one backend:                 wall %8.1f ms   cpu %8.1f ms" % (w, u))
    # the image-borne pruning index against the image path without one
    # (exact_pruning = off: the screening pass, what an attached backend
    # did before the index travelled in the image), same users, alternated
    c, cur, pid = backend()
    timed(cur, pid, model)
    auto, on, off = [], [], []
    for k in range(5 * TRIALS):
        cur.execute("SET recpromo.exact_pruning = auto")
        auto.append(timed(cur, pid, model, 1 + k))
        cur.execute("SET recpromo.exact_pruning = on")
        on.append(timed(cur, pid, model, 1 + k))
        cur.execute("SET recpromo.exact_pruning = off")
        off.append(timed(cur, pid, model, 1 + k))
    c.close()
    w0, u0 = median_pair(off)
    for label, rows in (("auto", auto), ("on", on)):
        w1, u1 = median_pair(rows)
        print("  later calls, pruning %-4s (image index):    wall %8.2f ms   cpu %8.2f ms   (%.2fx off)"
              % (label, w1, u1, u1 / max(u0, 1e-3)))
    print("  later calls, pruning off (screening pass):  wall %8.2f ms   cpu %8.2f ms" % (w0, u0))
    c, cur, pid = backend()
    print("  image size: %.1f MB" % (image_size(cur, model) / 1e6))
    c.close()


def retrain(model, schema):
    """Trains model again from the factor tables of schema: a new version."""
    c, cur, pid = backend()
    cur.execute("SET client_min_messages = warning")
    cur.execute("""SELECT name FROM recpromo.train(%s, %s, 'user_id', 'item_id', method => 'factors',
                   params => jsonb_build_object('user_factors', %s, 'item_factors', %s))""",
                (model, schema + ".orders", schema + ".user_emb", schema + ".item_emb"))
    c.close()


def first_load(n_items):
    """The first load on the server: retrain (a new version), then serve."""
    model = "m%d" % n_items
    schema = "b%d" % n_items
    retrain(model, schema)
    c, cur, pid = backend()
    w, u = timed(cur, pid, model)
    c.close()
    print("  first call after a retrain (load + write image): wall %8.1f ms   cpu %8.1f ms" % (w, u))


def memory(n_items, n_backends=20):
    model = "m%d" % n_items
    print("\nmemory: %d backends serving %s" % (n_backends, model))
    conns = [backend() for _ in range(n_backends)]
    before = sum(pss_kb(pid) for _, _, pid in conns)
    for k, (c, cur, pid) in enumerate(conns):
        for u in range(1, 6):
            timed(cur, pid, model, 1 + (k * 5 + u) % 2000)
    after = sum(pss_kb(pid) for _, _, pid in conns)
    c0, cur0, _ = conns[0]
    copy_kb = image_size(cur0, model) / 1024.0
    for c, _, _ in conns:
        c.close()
    added = after - before
    print("  one copy (image): %.1f MB; %d backends add %.1f MB of PSS = %.2fx one copy"
          % (copy_kb / 1024, n_backends, added / 1024, added / copy_kb))
    # the per-backend path, on a few backends
    conns = [backend("-c recpromo.shared_cache_size=0") for _ in range(3)]
    before = [private_kb(pid) for _, _, pid in conns]
    for c, cur, pid in conns:
        timed(cur, pid, model)
    grow = [private_kb(pid) - b for (_, _, pid), b in zip(conns, before)]
    for c, _, _ in conns:
        c.close()
    print("  per-backend path: each backend adds %.1f MB of private memory (%d backends: %.1f MB)"
          % (statistics.median(grow) / 1024, n_backends, n_backends * statistics.median(grow) / 1024))


def first_query(n_conns=None, model="m200000"):
    """The first query of brand-new connections: SELECT 1 against recommend(); with
    BENCH_OTHER_PORT, each connection alternated with one to that server."""
    n_conns = n_conns or int(os.environ.get("BENCH_CONNS", "40"))
    ports = [None] + ([os.environ["BENCH_OTHER_PORT"]] if os.environ.get("BENCH_OTHER_PORT") else [])
    preload = None
    for port in ports:
        c = connect(port=port)
        cur = c.cursor()
        pid = one(cur, "SELECT pg_backend_pid()")
        preload = preload or one(cur, "SHOW shared_preload_libraries")
        cur.execute("SELECT recpromo.set_default_model(%s)", (model,))
        timed(cur, pid, model)          # the image exists from here on
        c.close()
    print("\nfirst query of a new connection (%s, shared_preload_libraries = '%s')" % (model, preload))
    sides = {}
    connect_ms = {}
    for k in range(n_conns):
        for spl in ("", "spl"):
            opts = "-c session_preload_libraries=recpromo" if spl else ""
            for what in ("select1", "recommend"):
                for port in ports:
                    t0 = time.perf_counter()
                    c = connect(opts, port)
                    connect_ms.setdefault((spl, port), []).append((time.perf_counter() - t0) * 1000.0)
                    cur = c.cursor()
                    pid = c.get_backend_pid()
                    c0 = cpu_ms(pid)
                    w0 = time.perf_counter()
                    if what == "select1":
                        cur.execute("SELECT 1")
                    else:
                        cur.execute("SELECT * FROM recpromo.recommend(%s, 10)", (1 + k % 2000,))
                    cur.fetchall()
                    w = (time.perf_counter() - w0) * 1000.0
                    sides.setdefault((what + ("+spl" if spl else ""), port), []).append((w, cpu_ms(pid) - c0))
                    c.close()
    for label, key in (("first SELECT 1", "select1"), ("first recommend(u, 10)", "recommend"),
                       ("first SELECT 1, session_preload", "select1+spl"),
                       ("first recommend, session_preload", "recommend+spl")):
        w, u = median_pair(sides[(key, None)])
        line = "  %-34s wall %7.2f ms   cpu %7.2f ms" % (label, w, u)
        if len(ports) > 1:
            w2, u2 = median_pair(sides[(key, ports[1])])
            line += "   | port %s: wall %7.2f ms   cpu %7.2f ms   ratio %.2f / %.2f" % (
                ports[1], w2, u2, w / w2, u / u2)
        print(line)
    print("  connection set-up (not in the above):  plain %.1f ms, session_preload %.1f ms"
          % (statistics.median(connect_ms[("", None)]), statistics.median(connect_ms[("spl", None)])))


def load_times(n=3, model="m200000"):
    """CPU time of a first call that loads from the tables: after a retrain
    (load + image write) and with the cache off (load + per-backend panels)."""
    schema = "b" + model[1:]
    rows, off = [], []
    for _ in range(n):
        retrain(model, schema)
        c, cur, pid = backend()
        rows.append(timed(cur, pid, model))
        c.close()
        c, cur, pid = backend("-c recpromo.shared_cache_size=0")
        off.append(timed(cur, pid, model))
        c.close()
    w, u = median_pair(rows)
    print("\nload of %s from its tables (median of %d)" % (model, n))
    print("  first call after a retrain (load + image write): wall %8.1f ms   cpu %8.1f ms" % (w, u))
    w, u = median_pair(off)
    print("  per-backend load (cache off):                    wall %8.1f ms   cpu %8.1f ms" % (w, u))


def setup_heavy(cur, n_items, rng, n_users=2000):
    """A factors model whose item norms are heavy-tailed (log-normal, as
    ALS factors are), so that the exact pruning index prunes: model hN."""
    schema = "h%d" % n_items
    bs.q(cur, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s" % (schema, schema))
    V = rng.standard_normal((n_items, bs.F)) / 8.0 * np.exp(2.0 * rng.standard_normal((n_items, 1)))
    U = rng.standard_normal((n_users, bs.F)) / 8.0
    bs.q(cur, "CREATE TABLE %s.item_emb (id int PRIMARY KEY, factors float8[])" % schema)
    bs.q(cur, "CREATE TABLE %s.user_emb (id int PRIMARY KEY, factors float8[])" % schema)
    bs.q(cur, "CREATE TABLE %s.orders (user_id int, item_id int)" % schema)
    bs.copy_rows(cur, schema + ".item_emb", ((str(i + 1), bs.arr(V[i])) for i in range(n_items)))
    bs.copy_rows(cur, schema + ".user_emb", ((str(u + 1), bs.arr(U[u])) for u in range(n_users)))
    hist = rng.integers(0, n_items, size=(n_users, 20))
    rows = [(str(u + 1), str(hist[u, k] + 1)) for u in range(n_users) for k in range(20)]
    rows += [(str(1000000 + i % 5000), str(i + 1)) for i in range(n_items)]
    bs.copy_rows(cur, schema + ".orders", rows)
    bs.q(cur, """SELECT name FROM recpromo.train('h%d', '%s.orders', 'user_id', 'item_id',
              method => 'factors', params => '{"user_factors": "%s.user_emb", "item_factors": "%s.item_emb"}')"""
         % (n_items, schema, schema, schema))


def main():
    rng = np.random.default_rng(7)
    c = connect()
    cur = c.cursor()
    cur.execute("SET client_min_messages = warning")
    cur.execute("CREATE EXTENSION IF NOT EXISTS recpromo")
    for n in (20000, 200000):
        if one(cur, "SELECT count(*) FROM recpromo.model WHERE name = %s", ("m%d" % n,)) == 0:
            bs.setup_latency(cur, n, "b%d" % n, rng)
    if os.environ.get("BENCH_HEAVY", "1") == "1" and \
            one(cur, "SELECT count(*) FROM recpromo.model WHERE name = 'h200000'") == 0:
        setup_heavy(cur, 200000, rng)
    c.close()
    c = connect()
    print("load average: %s; OpenBLAS kernel: %s" % (open("/proc/loadavg").read().strip(),
                                                   one(c.cursor(), "SELECT recpromo.blas_corename()")))
    c.close()
    first_query()
    if os.environ.get("BENCH_HEAVY", "1") == "1":
        # the same with heavy-tailed item norms (as ALS factors have): the
        # call prunes and reads a small part of the image, where m200000's
        # Gaussian factors take the screening pass over all 200,000 items
        first_query(model="h200000")
    load_times()
    if os.environ.get("BENCH_ONLY_FIRST") == "1":
        return
    only_heavy = os.environ.get("BENCH_ONLY_HEAVY") == "1"
    for n, other in ((20000, "m200000"), (200000, "m20000")):
        if only_heavy:
            break
        first_calls(n, other)
        first_load(n)
    if os.environ.get("BENCH_HEAVY", "1") == "1":
        # heavy-tailed norms: the image-borne index prunes (auto)
        first_calls(200000, "m20000", model="h200000")
    if not only_heavy:
        memory(200000)


if __name__ == "__main__":
    main()
