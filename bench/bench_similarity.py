#!/usr/bin/python3
"""Similarity benchmark of recpromo (issue 2): not a pass/fail test.

Run inside a throwaway cluster, with the extension installed, e.g.

    flock /tmp/recpromo.lock sh -c 'make -s with_llvm=no install &&
        pg_virtualenv -t -v 15 /usr/bin/python3 bench/bench_similarity.py'

Part A  dense cosine_similarity() on 1,000-element float8[] (and float4[])
        pairs, calls per second, against the cost of only reading the same
        arrays (sum(cardinality(a) + cardinality(b)) over the same rows).
        Goal: within 2x.
Part B  the seed pipeline end to end, the way a user would write it in
        Python (read the purchases, pandas pivot to a dense user x item
        matrix, scikit-learn cosine_similarity, the 20 most similar users,
        their ratings averaged with similarity weights into top-10
        recommendations excluding what the user bought), against the same
        pipeline in the database: recpromo.train(method => 'user_knn') +
        recommend() for the same users.  On the real Online Retail purchases
        (all 4,338 customers) and on a generated set 10x larger (43,380
        customers; a fixed sample of every 20th customer, because the dense
        43,380 x 43,380 similarity matrix of the Python pipeline alone would
        need 15 GB).  Time and peak memory side by side: Python's ru_maxrss
        of a child process; the backend's VmHWM from /proc/<pid>/status (it
        includes the shared buffers the backend touched; a fresh backend's
        value is printed as the baseline).  The two pipelines' top-10 lists
        are compared (same formula: score = sum sim*r / sum |sim| over the
        neighbours, missing ratings 0).

Ratings: one per purchase line (Quantity > 0, UnitPrice > 0, customer known,
invoice not cancelled), summed per (customer, product): train()'s rule for a
NULL rating column.
"""
import argparse
import csv
import gzip
import io
import json
import os
import subprocess
import sys
import time

import numpy as np
import psycopg2

DATA = "/work/shared/data/online-retail/online-retail.csv.gz"
NEIGHBOURS = 20
TOP_N = 10


def connect():
    conn = psycopg2.connect("")
    conn.autocommit = True
    return conn


def vmhwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def best_of(cur, sql, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        cur.execute(sql)
        cur.fetchall()
        times.append(time.perf_counter() - t)
    return min(times)


# ---------------------------------------------------------------- part A
def part_a(rows, repeat):
    conn = connect()
    cur = conn.cursor()
    cur.execute("SET max_parallel_workers_per_gather = 0")
    cur.execute("SET jit = off")
    cur.execute("DROP TABLE IF EXISTS bench_dense")
    cur.execute("SELECT setseed(0.42)")
    cur.execute("""
        CREATE TABLE bench_dense AS
        SELECT i,
               array(SELECT random() + i * 0 FROM generate_series(1, 1000)) AS a,
               array(SELECT random() + i * 0 FROM generate_series(1, 1000)) AS b
        FROM generate_series(1, %s) i""", (rows,))
    cur.execute("ALTER TABLE bench_dense ADD a4 float4[], ADD b4 float4[]")
    cur.execute("UPDATE bench_dense SET a4 = a::float4[], b4 = b::float4[]")
    cur.execute("VACUUM ANALYZE bench_dense")
    read = "SELECT sum(cardinality(a) + cardinality(b)) FROM bench_dense"
    cos = "SELECT sum(recpromo.cosine_similarity(a, b)) FROM bench_dense"
    read4 = "SELECT sum(cardinality(a4) + cardinality(b4)) FROM bench_dense"
    cos4 = "SELECT sum(recpromo.cosine_similarity(a4, b4)) FROM bench_dense"
    # numpy peer on the same data, for scale (the arrays already in memory)
    cur.execute("SELECT a, b FROM bench_dense ORDER BY i LIMIT 2000")
    pairs = [(np.asarray(a), np.asarray(b)) for a, b in cur.fetchall()]
    for q in (read, cos, read4, cos4):
        cur.execute(q)		# warm the cache
    t_read = best_of(cur, read, repeat)
    t_cos = best_of(cur, cos, repeat)
    t_read4 = best_of(cur, read4, repeat)
    t_cos4 = best_of(cur, cos4, repeat)
    t = time.perf_counter()
    for a, b in pairs:
        float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    t_np = (time.perf_counter() - t) / len(pairs) * rows

    print("## A. dense cosine_similarity on 1,000-element arrays (%d rows, best of %d)" % (rows, repeat))
    print("%-46s %10s %12s %8s" % ("query", "seconds", "calls/s", "ratio"))
    print("%-46s %10.3f %12.0f %8s" % ("read only: sum(cardinality(a)+cardinality(b))", t_read, rows / t_read, "1.00"))
    print("%-46s %10.3f %12.0f %8.2f" % ("sum(cosine_similarity(a, b)) float8[]", t_cos, rows / t_cos, t_cos / t_read))
    print("%-46s %10.3f %12.0f %8s" % ("read only, float4[]", t_read4, rows / t_read4, "1.00"))
    print("%-46s %10.3f %12.0f %8.2f" % ("sum(cosine_similarity(a4, b4)) float4[]", t_cos4, rows / t_cos4, t_cos4 / t_read4))
    print("%-46s %10.3f %12.0f %8s" % ("peer: numpy a@b/(|a||b|), arrays in memory", t_np, rows / t_np, "-"))
    print("goal: cosine within 2x of reading -> float8 %.2fx, float4 %.2fx" % (t_cos / t_read, t_cos4 / t_read4))
    print()
    cur.execute("DROP TABLE bench_dense")
    conn.close()


# ---------------------------------------------------------------- data
def load_retail(cur):
    """Clean purchases of the real data set: (customer_id bigint, stock_code text)."""
    cur.execute("DROP TABLE IF EXISTS purchases")
    cur.execute("CREATE TABLE purchases (customer_id bigint NOT NULL, stock_code text NOT NULL)")
    buf = io.StringIO()
    n = 0
    with gzip.open(DATA, "rt", newline="") as f:
        for row in csv.DictReader(f):
            if not row["CustomerID"] or row["InvoiceNo"].startswith("C"):
                continue
            if int(row["Quantity"]) <= 0 or float(row["UnitPrice"]) <= 0:
                continue
            buf.write("%d\t%s\n" % (int(float(row["CustomerID"])), row["StockCode"]))
            n += 1
    buf.seek(0)
    cur.copy_expert("COPY purchases FROM STDIN", buf)
    cur.execute("ANALYZE purchases")
    return n


def make_10x(cur, factor=10, seed=7):
    """purchases10x: each real customer cloned `factor` times; each clone
    keeps a basket of the same size with ~30% of its products swapped for
    products drawn by popularity (deterministic seed)."""
    cur.execute("SELECT customer_id, stock_code FROM purchases ORDER BY customer_id, stock_code")
    rows = cur.fetchall()
    cust = np.array([r[0] for r in rows])
    codes, item = np.unique(np.array([r[1] for r in rows], dtype=object), return_inverse=True)
    pop = np.bincount(item).astype(float)
    pop /= pop.sum()
    rng = np.random.default_rng(seed)
    starts = np.r_[0, np.flatnonzero(np.diff(cust)) + 1]
    ends = np.r_[starts[1:], len(cust)]
    buf = io.StringIO()
    new_id = 0
    n = 0
    for k in range(factor):
        for s, e in zip(starts, ends):
            new_id += 1
            basket = item[s:e].copy()
            swap = rng.random(len(basket)) < 0.3
            basket[swap] = rng.choice(len(codes), size=int(swap.sum()), p=pop)
            for j in basket:
                buf.write("%d\t%s\n" % (new_id, codes[j]))
            n += len(basket)
    cur.execute("DROP TABLE IF EXISTS purchases10x")
    cur.execute("CREATE TABLE purchases10x (customer_id bigint NOT NULL, stock_code text NOT NULL)")
    buf.seek(0)
    cur.copy_expert("COPY purchases10x FROM STDIN", buf)
    cur.execute("ANALYZE purchases10x")
    return n


# ---------------------------------------------------------------- part B, Python
def python_child(table, sample_mod, out):
    """The seed pipeline in pandas + scikit-learn (run in a child process)."""
    import pandas as pd
    from sklearn.metrics.pairwise import cosine_similarity

    t = {}
    t0 = time.perf_counter()
    conn = connect()
    cur = conn.cursor()
    cur.execute("SELECT customer_id, stock_code FROM %s" % table)
    df = pd.DataFrame(cur.fetchall(), columns=["customer_id", "stock_code"])
    conn.close()
    df["rating"] = 1.0
    t1 = time.perf_counter()
    m = df.pivot_table(index="customer_id", columns="stock_code", values="rating",
                       aggfunc="sum", fill_value=0.0)
    x = m.to_numpy(dtype=np.float64)
    users = m.index.to_numpy()
    items = m.columns.to_numpy()
    rows = np.flatnonzero(users % sample_mod == 0) if sample_mod > 1 else np.arange(len(users))
    t2 = time.perf_counter()
    sims = cosine_similarity(x[rows], x)
    t3 = time.perf_counter()
    recs = {}
    for k, u in enumerate(rows):
        s = sims[k].copy()
        s[u] = -np.inf
        nb = np.argpartition(-s, NEIGHBOURS)[:NEIGHBOURS]
        w = s[nb]
        denom = np.abs(w).sum()
        score = (w @ x[nb]) / denom if denom > 0 else np.zeros(x.shape[1])
        score[x[u] > 0] = -np.inf
        top = np.argpartition(-score, TOP_N)[:TOP_N]
        top = sorted(top, key=lambda j: (-score[j], items[j]))
        recs[int(users[u])] = [str(items[j]) for j in top if score[j] > 0]
    t4 = time.perf_counter()
    t["read"] = t1 - t0
    t["pivot"] = t2 - t1
    t["cosine"] = t3 - t2
    t["recommend"] = t4 - t3
    t["total"] = t4 - t0
    t["users"] = len(rows)
    t["dense_mb"] = x.nbytes / 2**20
    t["sims_mb"] = sims.nbytes / 2**20
    with open(out, "w") as f:
        json.dump({"times": t, "recs": recs}, f)


def run_python(table, sample_mod, out):
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", table,
                          str(sample_mod), out])
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit("python pipeline failed (status %d)" % status)
    with open(out) as f:
        res = json.load(f)
    res["recs"] = {int(k): v for k, v in res["recs"].items()}
    return res, usage.ru_maxrss		# kB on Linux


# ---------------------------------------------------------------- part B, database
def run_db(table, sample_mod):
    conn = connect()
    cur = conn.cursor()
    cur.execute("SET max_parallel_workers_per_gather = 0")
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    cur.execute("DROP TABLE IF EXISTS bench_users")
    cur.execute("CREATE TEMP TABLE bench_users AS SELECT DISTINCT customer_id FROM %s "
                "WHERE customer_id %% %d = 0 ORDER BY 1" % (table, sample_mod))
    base = vmhwm_kb(pid)
    t0 = time.perf_counter()
    cur.execute("SELECT recpromo.drop_model('bench_knn', if_exists => true)")
    cur.execute("SELECT name FROM recpromo.train('bench_knn', %s::regclass, 'customer_id', "
                "'stock_code', method => 'user_knn', neighbours => %s)", (table, NEIGHBOURS))
    t1 = time.perf_counter()
    cur.execute("CREATE TEMP TABLE bench_recs AS SELECT u.customer_id, r.item, r.score, r.rank "
                "FROM bench_users u CROSS JOIN LATERAL "
                "recpromo.recommend(u.customer_id::text, %s, model => 'bench_knn') r" % TOP_N)
    t2 = time.perf_counter()
    cur.execute("SELECT count(*) FROM bench_users u CROSS JOIN LATERAL "
                "recpromo.similar_users(u.customer_id::text, %s, model => 'bench_knn') s" % NEIGHBOURS)
    t3 = time.perf_counter()
    hwm = vmhwm_kb(pid)
    cur.execute("SELECT customer_id, item FROM bench_recs WHERE score > 0 ORDER BY customer_id, rank")
    recs = {}
    for c, i in cur.fetchall():
        recs.setdefault(int(c), []).append(i)
    cur.execute("SELECT nnz, n_users, n_items FROM recpromo.models WHERE name = 'bench_knn'")
    nnz, n_users, n_items = cur.fetchone()
    cur.execute("SELECT recpromo.drop_model('bench_knn')")
    cur.execute("DROP TABLE bench_recs, bench_users")
    conn.close()
    return {"train": t1 - t0, "recommend": t2 - t1, "total": t2 - t0,
            "similar_users": t3 - t2, "base_kb": base, "hwm_kb": hwm,
            "nnz": nnz, "n_users": n_users, "n_items": n_items}, recs


def agreement(a, b):
    users = sorted(set(a) | set(b))
    same = sum(1 for u in users if a.get(u, []) == b.get(u, []))
    overlap = np.mean([len(set(a.get(u, [])) & set(b.get(u, []))) / TOP_N for u in users])
    return same / len(users), overlap


def part_b(name, table, sample_mod, tmpdir):
    out = os.path.join(tmpdir, "py_%s.json" % table)
    py, py_rss = run_python(table, sample_mod, out)
    db, db_recs = run_db(table, sample_mod)
    t = py["times"]
    same, overlap = agreement(py["recs"], db_recs)
    print("## B. %s: %d users x %d items, %d non-zeros; top-%d for %d users, %d neighbours"
          % (name, db["n_users"], db["n_items"], db["nnz"], TOP_N, t["users"], NEIGHBOURS))
    print("%-34s %12s %12s %8s" % ("", "pandas+sklearn", "recpromo", "ratio"))
    print("%-34s %12.2f %12.2f %8.2f" % ("end to end, s", t["total"], db["total"], t["total"] / db["total"]))
    print("%-34s %12.2f %12s" % ("  read purchases, s", t["read"], "-"))
    print("%-34s %12.2f %12.2f" % ("  pivot / train(user_knn), s", t["pivot"], db["train"]))
    print("%-34s %12.2f %12s" % ("  cosine_similarity, s", t["cosine"], "-"))
    print("%-34s %12.2f %12.2f" % ("  neighbours + top-10 / recommend, s", t["recommend"], db["recommend"]))
    print("%-34s %12s %12.2f" % ("  (similar_users for the same users)", "-", db["similar_users"]))
    print("%-34s %12.0f %12.0f %8.2f" % ("peak memory, MB", py_rss / 1024, db["hwm_kb"] / 1024,
                                         py_rss / max(db["hwm_kb"], 1)))
    print("%-34s %12s %12.0f" % ("  fresh backend baseline VmHWM, MB", "-", db["base_kb"] / 1024))
    print("%-34s %12.0f %12s" % ("  dense matrix / similarities, MB", t["dense_mb"] + t["sims_mb"], "-"))
    print("top-10 lists identical for %.1f%% of users, mean overlap %.1f%%" % (100 * same, 100 * overlap))
    print()
    return t["total"], db["total"], py_rss, db["hwm_kb"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", nargs=3)
    ap.add_argument("--rows", type=int, default=20000, help="rows of part A")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-10x", action="store_true")
    args = ap.parse_args()
    if args.child:
        python_child(args.child[0], int(args.child[1]), args.child[2])
        return

    conn = connect()
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS recpromo")
    cur.execute("SELECT recpromo.blas_corename(), version()")
    core, version = cur.fetchone()
    print("# recpromo similarity benchmark")
    print("server: %s" % version.split(",")[0])
    print("recpromo.blas_corename(): %s; CPUs: %d" % (core, os.cpu_count()))
    import sklearn
    import pandas
    print("python %s, numpy %s, pandas %s, scikit-learn %s"
          % (sys.version.split()[0], np.__version__, pandas.__version__, sklearn.__version__))
    try:
        from threadpoolctl import threadpool_info
        print("numpy BLAS: %s" % ", ".join("%s %s" % (i.get("internal_api"), i.get("architecture", ""))
                                           for i in threadpool_info()))
    except Exception:
        pass
    print()

    part_a(args.rows, args.repeat)

    t = time.perf_counter()
    n = load_retail(cur)
    print("(loaded %d clean purchase lines in %.1f s)" % (n, time.perf_counter() - t))
    tmpdir = os.environ.get("TMPDIR", "/tmp")
    part_b("Online Retail (real)", "purchases", 1, tmpdir)
    if not args.skip_10x:
        t = time.perf_counter()
        n = make_10x(cur)
        print("(generated %d purchase lines, 10x, in %.1f s)" % (n, time.perf_counter() - t))
        part_b("generated 10x (sample: every 20th customer)", "purchases10x", 20, tmpdir)
    cur.execute("DROP TABLE IF EXISTS purchases, purchases10x")
    conn.close()


if __name__ == "__main__":
    main()
