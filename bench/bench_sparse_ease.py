#!/usr/bin/python3
"""Benchmark of sparse_ease against dense ease: time, memory and NDCG@10 as the catalogue grows.

    /usr/bin/python3 bench/bench_sparse_ease.py [--sizes 5000,10000,20000,50000,100000]
        [--dense-max 10000] [--neighbours 100] [--lambda 500] [--threads 2] [--mean 50]
        [--memory-limit 2GB]

The issue's point, 100,000 items and 5M training interactions on 2 threads:

    /usr/bin/python3 bench/bench_sparse_ease.py --sizes 100000 --mean 98 --dense-max 0

Runs inside a cluster with the extension installed (libpq variables set).  Prints (not
pass/fail) the OpenBLAS kernel, then one line per catalogue size and method:
  items, interactions, method, train() wall seconds, the training backend's CPU seconds (user +
  system, all its threads, from /proc), the 1-minute load average when the training ended,
  peak backend RSS (VmHWM of the training backend, a fresh connection per training, so it is
  that training's peak), stored model size, NDCG@10 and precision@10 on a held-out 20%
  (evaluate()).  On a busy machine wall time exceeds CPU time / threads; CPU time is the
  steadier figure.

The generated set, numpy default_rng(7): n_items items in n_items / 100 clusters, item
popularity ~ (rank + 1)^-0.8 within the catalogue; n_items * 1 users (so ~50 interactions per
user: 5M at 100k items), user activity ~ (u + 1)^-0.3 scaled to a mean of 50; each draw is,
with probability 0.7, an item of the user's cluster (by popularity within it), else an item
of the whole catalogue (by popularity).  Repeated pairs are collapsed (0/1 data).  The test
split is a fixed hash of (user, item), 20%.  Dense ease runs only up to --dense-max items
(its n^2 memory); sizes are run smallest first.
"""
import argparse
import io
import os
import time

import numpy as np
import psycopg2

ap = argparse.ArgumentParser()
ap.add_argument("--sizes", default="5000,10000,20000,50000,100000")
ap.add_argument("--dense-max", type=int, default=10000)
ap.add_argument("--neighbours", type=int, default=100)
ap.add_argument("--lambda", dest="lam", type=float, default=500.0)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--mean", type=int, default=50)
ap.add_argument("--memory-limit", default="2GB", help="recpromo.memory_limit (2GB is its default)")
args = ap.parse_args()


def connect(db="rp_bench_sparse_ease"):
    c = psycopg2.connect(dbname=db)
    c.autocommit = True
    return c


def generate(n_items, seed=7):
    rng = np.random.default_rng(seed)
    n_users = n_items
    n_cl = max(1, n_items // 100)
    pop = (np.arange(n_items) + 1.0) ** -0.8
    perm = rng.permutation(n_items)         # popularity rank -> item id
    cl = rng.integers(0, n_cl, n_items)     # cluster of each item (by rank)
    act = (np.arange(n_users) + 1.0) ** -0.3
    act = np.maximum(1, np.round(act / act.mean() * args.mean)).astype(int)
    total = int(act.sum())
    ucl = rng.integers(0, n_cl, n_users)
    users = np.repeat(np.arange(n_users), act)
    gp = pop / pop.sum()
    glob = rng.choice(n_items, size=total, p=gp)
    # within-cluster draws: per cluster, items by popularity
    loc = np.empty(total, dtype=np.int64)
    uc = ucl[users]
    order = np.argsort(uc, kind="stable")
    bounds = np.searchsorted(uc[order], np.arange(n_cl + 1))
    for c in range(n_cl):
        idx = order[bounds[c]:bounds[c + 1]]
        members = np.nonzero(cl == c)[0]
        if len(members) == 0:
            loc[idx] = glob[idx]
            continue
        p = pop[members] / pop[members].sum()
        loc[idx] = rng.choice(members, size=len(idx), p=p)
    pick = np.where(rng.random(total) < 0.7, loc, glob)
    pairs = np.unique(users.astype(np.int64) * n_items + pick)
    return pairs // n_items, perm[pairs % n_items]


def load(cur, table, u, i):
    cur.execute(f"DROP TABLE IF EXISTS {table}")
    cur.execute(f"CREATE TABLE {table} (u int, i int)")
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([u, i]), fmt="%d", delimiter="\t")
    buf.seek(0)
    cur.copy_expert(f"COPY {table} FROM STDIN", buf)
    cur.execute(f"ANALYZE {table}")


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(name, method, params):
    c = connect()
    k = c.cursor()
    k.execute("SET search_path = recpromo, public")
    k.execute("SET recpromo.max_threads = %s", (args.threads,))
    k.execute("SELECT pg_catalog.set_config('recpromo.memory_limit', %s, false)", (args.memory_limit,))
    k.execute("SELECT pg_backend_pid()")
    pid = k.fetchone()[0]
    c0 = cpu_seconds(pid)
    t0 = time.time()
    try:
        k.execute("SELECT size_bytes FROM train(%s, 'bench_train', 'u', 'i', NULL, method => %s, params => %s)",
                  (name, method, params))
        size = k.fetchone()[0]
    except psycopg2.Error as e:
        c.close()
        return None, str(e).splitlines()[0]
    secs = time.time() - t0
    cpu = cpu_seconds(pid) - c0
    loadavg = os.getloadavg()[0]
    rss = peak_rss_kb(pid)
    k.execute("SELECT ndcg_at_k, precision_at_k FROM evaluate(%s, 'bench_test', 'u', 'i', k => 10)", (name,))
    ndcg, prec = k.fetchone()
    c.close()
    return (secs, cpu, loadavg, rss, size, ndcg, prec), None


admin = connect("postgres")
admin.cursor().execute("DROP DATABASE IF EXISTS rp_bench_sparse_ease")
admin.cursor().execute("CREATE DATABASE rp_bench_sparse_ease")
conn = connect()
cur = conn.cursor()
cur.execute("CREATE EXTENSION recpromo")
cur.execute("SET search_path = recpromo, public")
cur.execute("SELECT recpromo.blas_corename()")
print(f"# sparse_ease neighbours={args.neighbours} lambda={args.lam} threads={args.threads} "
      f"openblas={cur.fetchone()[0]} cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f}")
print(f"{'items':>7} {'nnz':>9} {'method':>12} {'train_s':>8} {'cpu_s':>7} {'load':>5} {'peak_MB':>8} {'model_MB':>8} "
      f"{'ndcg@10':>8} {'prec@10':>8}")
for n in [int(s) for s in args.sizes.split(",")]:
    t0 = time.time()
    u, i = generate(n)
    test = (((u * 2654435761) ^ (i * 40503)) % 5) == 0
    load(cur, "bench_train", u[~test], i[~test])
    load(cur, "bench_test", u[test], i[test])
    gen = time.time() - t0
    runs = [("sparse_ease", '{"lambda": %g, "neighbours": %d}' % (args.lam, args.neighbours))]
    if n <= args.dense_max:
        runs.append(("ease", '{"lambda": %g}' % args.lam))
    for method, params in runs:
        res, err = run(f"b_{method}", method, params)
        if err:
            print(f"{n:>7} {int((~test).sum()):>9} {method:>12} error: {err}", flush=True)
            continue
        secs, cpu, loadavg, rss, size, ndcg, prec = res
        print(f"{n:>7} {int((~test).sum()):>9} {method:>12} {secs:8.1f} {cpu:7.1f} {loadavg:5.1f} {rss / 1024:8.0f} "
              f"{size / 2**20:8.1f} {ndcg:8.4f} {prec:8.4f}", flush=True)
        cur.execute("SELECT drop_model(%s)", (f"b_{method}",))
    print(f"#   (data generation and load: {gen:.0f} s)", flush=True)
