#!/usr/bin/python3
"""Benchmark of recpromo's neighbourhood core against the sparse scikit-learn pipeline.

    /usr/bin/python3 bench/bench_knn.py [--quick] [--ease-only] [--no-ease]
    pg_virtualenv -t -v 15 /usr/bin/python3 bench/bench_knn.py --sql   (extension installed)

Prints, side by side in one run (not pass/fail):
  1. item_knn (k = 20, cosine, no shrinkage) training time and peak memory on a generated
     100,000 users x 20,000 items x 5,000,000 interactions power-law set: the C core
     (bench/bench_knn_core.c, 1 and 2 threads) against scipy.sparse CSR +
     sklearn.metrics.pairwise.cosine_similarity(dense_output=False) + top-k per row.
     Both sides start from the same (user, item) pairs in memory and include building the
     CSR matrices; each runs in its own process so peak RSS is its own.
  2. EASE (lambda = 500) on the Online Retail purchases (clean rows, customer x stock code):
     the C core (bench/bench_ease_core.c) against the numpy closed form (G = X'X + lambda I,
     P = inv(G), B = -P / diag(P)).

With --sql (inside a cluster, libpq variables set, the extension installed) it instead trains
every method of this area in the database with train(), on the same generated set (item_knn)
and on the Online Retail purchases (item_knn, user_knn, ease, content on the descriptions,
hybrid), and prints train() wall times next to the core's.

The generated set: item popularity p_j ~ (j + 1)^-0.8 and user activity p_u ~ (u + 1)^-0.5
(both Zipf-like power laws), 5,000,000 (user, item) draws with numpy's default_rng(42);
repeated pairs are summed (so the matrix holds somewhat fewer distinct non-zeros).
"""
import gzip
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RETAIL = os.environ.get("RETAIL_CSV", "/work/shared/data/online-retail/online-retail.csv.gz")
BLAS_CFLAGS = "-I/usr/include/x86_64-linux-gnu/openblas-pthread"


def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout


def pkgconf(what, fallback):
    try:
        return sh("pkg-config %s openblas" % what).strip()
    except Exception:
        return fallback


def build(driver, tmp):
    exe = os.path.join(tmp, driver)
    cflags = pkgconf("--cflags", BLAS_CFLAGS)
    libs = pkgconf("--libs", "-lopenblas")
    sh("gcc -std=gnu11 -O2 -pthread -I%s/src/core %s -o %s %s/bench/%s.c %s/src/core/*.c %s -lm"
       % (ROOT, cflags, exe, ROOT, driver, ROOT, libs))
    return exe


def generate(n_users, n_items, n, seed=42):
    rng = np.random.default_rng(seed)
    pi = (np.arange(n_items) + 1.0) ** -0.8
    pu = (np.arange(n_users) + 1.0) ** -0.5
    items = rng.choice(n_items, size=n, p=pi / pi.sum()).astype(np.int32)
    users = rng.choice(n_users, size=n, p=pu / pu.sum()).astype(np.int32)
    # shuffle ids so that popularity is not aligned with the index order
    items = rng.permutation(n_items).astype(np.int32)[items]
    users = rng.permutation(n_users).astype(np.int32)[users]
    return users, items


def write_pairs(path, n_users, n_items, users, items):
    with open(path, "wb") as f:
        np.array([n_users, n_items], dtype=np.int32).tofile(f)
        np.array([len(users)], dtype=np.int64).tofile(f)
        users.tofile(f)
        items.tofile(f)


SKLEARN_KNN = r"""
import sys, time, resource
import numpy as np, scipy.sparse as sp
from sklearn.metrics.pairwise import cosine_similarity
path, k = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as f:
    nu, ni = np.fromfile(f, dtype=np.int32, count=2)
    n = int(np.fromfile(f, dtype=np.int64, count=1)[0])
    users = np.fromfile(f, dtype=np.int32, count=n)
    items = np.fromfile(f, dtype=np.int32, count=n)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
X = sp.csr_matrix((np.ones(n), (users, items)), shape=(nu, ni))   # duplicates summed
X.sum_duplicates()
A = X.T.tocsr()                                                    # items x users
t1 = time.perf_counter()
S = cosine_similarity(A, dense_output=False).tocsr()
S.setdiag(0)
S.eliminate_zeros()
# top-k per row
ip, ix, vx = S.indptr, S.indices, S.data
out_i, out_v, out_p = [], [], [0]
for r in range(ni):
    b, e = ip[r], ip[r + 1]
    if e - b > k:
        sel = np.argpartition(-vx[b:e], k - 1)[:k]
    else:
        sel = np.arange(e - b)
    out_i.append(ix[b:e][sel]); out_v.append(vx[b:e][sel]); out_p.append(out_p[-1] + len(sel))
top = sp.csr_matrix((np.concatenate(out_v), np.concatenate(out_i), np.array(out_p)), shape=(ni, ni))
t2 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("nnz=%d build_s=%.3f fit_s=%.3f kept=%d peak_mb=%.1f checksum=%.6f product_nnz=%d"
      % (X.nnz, t1 - t0, t2 - t1, top.nnz, peak / 1024.0, top.data.sum(), S.nnz))
"""


def parse(line):
    return dict(kv.split("=", 1) for kv in line.split())


def run_child(cmd):
    t0 = time.perf_counter()
    out = sh(cmd)
    wall = time.perf_counter() - t0
    d = parse(out.strip().splitlines()[-1])
    d["wall"] = wall
    return d


def bench_knn(tmp, quick):
    nu, ni, n = (100000, 20000, 5000000) if not quick else (20000, 4000, 1000000)
    users, items = generate(nu, ni, n)
    path = os.path.join(tmp, "pairs.bin")
    write_pairs(path, nu, ni, users, items)
    exe = build("bench_knn_core", tmp)
    print("item_knn, k = 20, cosine: %d users x %d items x %d interactions (power law)" % (nu, ni, n))
    rows = []
    for threads in (1, 2):
        d = run_child("%s %s 20 %d none 0" % (exe, path, threads))
        rows.append(("recpromo core, %d thread%s" % (threads, "s" if threads > 1 else ""), d))
    d = run_child("/usr/bin/python3 -c '%s' %s 20" % (SKLEARN_KNN.replace("'", "'\\''"), path))
    rows.append(("scipy + sklearn cosine_similarity", d))
    for w in ("bm25", "tfidf"):
        d = run_child("%s %s 20 1 %s 10" % (exe, path, w))
        rows.append(("recpromo core, %s + shrink 10, 1 thread" % w, d))
    ref = float(rows[2][1]["fit_s"]) + float(rows[2][1]["build_s"])
    print("%-44s %10s %10s %10s %10s %10s %14s" % ("", "build s", "fit s", "total s", "vs sklearn",
                                                   "peak MB", "checksum"))
    for name, d in rows:
        tot = float(d["build_s"]) + float(d["fit_s"])
        print("%-44s %10.2f %10.2f %10.2f %9.2fx %10.0f %14s"
              % (name, float(d["build_s"]), float(d["fit_s"]), tot, ref / tot,
                 float(d["peak_mb"]), d["checksum"]))
    print("distinct non-zeros: %s; sklearn's full similarity product held %s non-zeros"
          % (rows[0][1]["nnz"], rows[2][1].get("product_nnz")))
    print("(vs sklearn = sklearn total / this total; the checksums are sums of the kept "
          "similarities and agree between the two cosine rows up to ties at the k-th place)")


NUMPY_EASE = r"""
import sys, time, resource
import numpy as np, scipy.sparse as sp
path, lam = sys.argv[1], float(sys.argv[2])
with open(path, "rb") as f:
    nu, ni = np.fromfile(f, dtype=np.int32, count=2)
    n = int(np.fromfile(f, dtype=np.int64, count=1)[0])
    users = np.fromfile(f, dtype=np.int32, count=n)
    items = np.fromfile(f, dtype=np.int32, count=n)
    vals = np.fromfile(f, dtype=np.float64, count=n)
X = sp.csr_matrix((vals, (users, items)), shape=(nu, ni))
X.sum_duplicates()
t0 = time.perf_counter()
G = (X.T @ X).toarray()
G[np.diag_indices(ni)] += lam
P = np.linalg.inv(G)
B = P / (-np.diag(P))
B[np.diag_indices(ni)] = 0.0
t1 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("nnz=%d items=%d fit_s=%.3f peak_mb=%.1f checksum=%.6f" % (X.nnz, ni, t1 - t0, peak / 1024.0, B.sum()))
"""


def load_retail():
    users, items, seen_u, seen_i = [], [], {}, {}
    with gzip.open(RETAIL, "rt", newline="") as f:
        for row in csv.DictReader(f):
            if not row["CustomerID"] or row["InvoiceNo"].startswith("C"):
                continue
            if float(row["Quantity"]) <= 0 or float(row["UnitPrice"]) <= 0:
                continue
            u = seen_u.setdefault(row["CustomerID"], len(seen_u))
            i = seen_i.setdefault(row["StockCode"], len(seen_i))
            users.append(u)
            items.append(i)
    return len(seen_u), len(seen_i), np.array(users, np.int32), np.array(items, np.int32)


def bench_ease(tmp):
    if not os.path.exists(RETAIL):
        print("EASE: %s not found, skipped" % RETAIL)
        return
    nu, ni, users, items = load_retail()
    path = os.path.join(tmp, "retail.bin")
    with open(path, "wb") as f:
        np.array([nu, ni], dtype=np.int32).tofile(f)
        np.array([len(users)], dtype=np.int64).tofile(f)
        users.tofile(f)
        items.tofile(f)
        np.ones(len(users)).tofile(f)
    exe = build("bench_ease_core", tmp)
    lam = 500.0
    print()
    print("EASE, lambda = %g: Online Retail clean purchases, %d customers x %d stock codes, "
          "%d purchase lines (summed per pair)" % (lam, nu, ni, len(users)))
    rows = [("recpromo core (1 BLAS thread)",
             run_child("OPENBLAS_NUM_THREADS=1 %s %s %g" % (exe, path, lam))),
            ("numpy closed form (1 BLAS thread)",
             run_child("OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -c '%s' %s %g"
                       % (NUMPY_EASE.replace("'", "'\\''"), path, lam)))]
    ref = float(rows[1][1]["fit_s"])
    print("%-44s %10s %10s %10s %16s" % ("", "fit s", "vs numpy", "peak MB", "checksum of B"))
    for name, d in rows:
        print("%-44s %10.2f %9.2fx %10.0f %16s" % (name, float(d["fit_s"]), ref / float(d["fit_s"]),
                                                  float(d["peak_mb"]), d["checksum"]))
    print("(one dense %d x %d float64 matrix is %.0f MB)" % (ni, ni, ni * ni * 8 / 2**20))


def bench_sql(tmp, quick):
    import io
    import psycopg2
    conn = psycopg2.connect()
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET client_min_messages = warning")
    cur.execute("CREATE EXTENSION IF NOT EXISTS recpromo")
    cur.execute("SET search_path = recpromo, public")
    cur.execute("SELECT recpromo.blas_corename()")
    print("server OpenBLAS core: %s" % cur.fetchone()[0])

    def timed(sql, args=None):
        t0 = time.perf_counter()
        cur.execute(sql, args)
        rows = cur.fetchall()
        return time.perf_counter() - t0, rows

    def copy(table, cols, arrays):
        buf = io.StringIO()
        for row in zip(*arrays):
            buf.write("\t".join(str(v) for v in row) + "\n")
        buf.seek(0)
        cur.copy_expert("COPY %s (%s) FROM STDIN" % (table, ", ".join(cols)), buf)

    nu, ni, n = (100000, 20000, 5000000) if not quick else (20000, 4000, 1000000)
    users, items = generate(nu, ni, n)
    cur.execute("DROP TABLE IF EXISTS gen_pairs")
    cur.execute("CREATE UNLOGGED TABLE gen_pairs (user_id int, item_id int)")
    copy("gen_pairs", ("user_id", "item_id"), (users, items))
    print("item_knn, k = 20, cosine, in the database: %d users x %d items x %d rows" % (nu, ni, n))
    t, rows = timed("SELECT train_seconds FROM train('gen_pop', 'gen_pairs', 'user_id', 'item_id', "
                    "method => 'popularity')")
    print("  popularity (reading the table, key dictionaries, CSR, saving): train() wall %.2f s" % t)
    cur.execute("SELECT drop_model('gen_pop')")
    for threads in (1, 2):
        cur.execute("SET recpromo.max_threads = %d" % threads)
        t, rows = timed("SELECT train_seconds, nnz FROM train('gen_knn', 'gen_pairs', 'user_id', 'item_id', "
                        "method => 'item_knn', neighbours => 20)")
        print("  train() wall %.2f s (recorded train_seconds %.2f s, includes reading the table), %d threads"
              % (t, rows[0][0], threads))
    cur.execute("RESET recpromo.max_threads")
    cur.execute("SELECT drop_model('gen_knn')")
    cur.execute("DROP TABLE gen_pairs")

    if not os.path.exists(RETAIL):
        return
    rows = []
    descr = {}
    with gzip.open(RETAIL, "rt", newline="") as f:
        for row in csv.DictReader(f):
            if not row["CustomerID"] or row["InvoiceNo"].startswith("C"):
                continue
            if float(row["Quantity"]) <= 0 or float(row["UnitPrice"]) <= 0:
                continue
            rows.append((int(float(row["CustomerID"])), row["StockCode"], int(row["Quantity"])))
            if row["Description"]:
                descr.setdefault(row["StockCode"], row["Description"].replace("\t", " ").replace("\\", " "))
    cur.execute("DROP TABLE IF EXISTS retail_orders, retail_products")
    cur.execute("CREATE TABLE retail_orders (customer text, stock_code text, qty int)")
    copy("retail_orders", ("customer", "stock_code", "qty"), list(zip(*rows)))
    cur.execute("CREATE TABLE retail_products (stock_code text PRIMARY KEY, description text)")
    copy("retail_products", ("stock_code", "description"), list(zip(*sorted(descr.items()))))
    print()
    print("Online Retail in the database: %d purchase lines, %d described stock codes" % (len(rows), len(descr)))
    jobs = [
        ("item_knn (k 20, bm25, shrink 10)", "SELECT n_users, n_items FROM train('r_knn', 'retail_orders', 'customer', "
         "'stock_code', method => 'item_knn', params => '{\"weighting\": \"bm25\", \"shrink\": 10}')"),
        ("user_knn (k 20)", "SELECT n_users, n_items FROM train('r_uknn', 'retail_orders', 'customer', "
         "'stock_code', method => 'user_knn')"),
        ("ease (lambda 500)", "SELECT n_users, n_items FROM train('r_ease', 'retail_orders', 'customer', "
         "'stock_code', method => 'ease')"),
        ("content (descriptions)", "SELECT n_users, n_items FROM train_content('r_content', 'retail_orders', "
         "'customer', 'stock_code', 'retail_products', '{description}')"),
        ("hybrid (item_knn + content)", "SELECT n_users, n_items FROM train_hybrid('r_hybrid', 'r_knn', "
         "'r_content', weight => 0.7, min_history => 5)"),
    ]
    for name, sql in jobs:
        t, res = timed(sql)
        t2, _ = timed("SELECT * FROM recommend('12347'::text, 10, model => %s)", (sql.split("'")[1],))
        t3, _ = timed("SELECT * FROM recommend('12347'::text, 10, model => %s)", (sql.split("'")[1],))
        print("  %-34s train %6.2f s   %5d users x %5d items   first recommend %.3f s, cached %.4f s"
              % (name, t, res[0][0], res[0][1], t2, t3))
    cur.execute("SELECT item, round(similarity::numeric, 3) FROM similar_items('85123A'::text, 3, model => 'r_content')")
    print("  content: similar to 85123A (%s): %s" % (descr.get("85123A"), cur.fetchall()))
    for m in ("r_hybrid", "r_content", "r_ease", "r_uknn", "r_knn"):
        cur.execute("SELECT drop_model(%s)", (m,))

    # held-out quality: 20 % of the (customer, product) pairs, the same split for every model
    cur.execute("CREATE VIEW retail_train AS SELECT * FROM retail_orders "
                "WHERE NOT in_test_set(customer, stock_code, 0.2, 42)")
    cur.execute("CREATE VIEW retail_test AS SELECT DISTINCT customer, stock_code FROM retail_orders "
                "WHERE in_test_set(customer, stock_code, 0.2, 42)")
    models = [
        ("popularity", "SELECT 1 FROM train('q_pop', 'retail_train', 'customer', 'stock_code', method => 'popularity')"),
        ("als (64 factors)", "SELECT 1 FROM train('q_als', 'retail_train', 'customer', 'stock_code', method => 'als', "
         "factors => 64, seed => 1)"),
        ("item_knn (k 20)", "SELECT 1 FROM train('q_knn', 'retail_train', 'customer', 'stock_code', "
         "method => 'item_knn')"),
        ("item_knn (k 50, bm25)", "SELECT 1 FROM train('q_knnb', 'retail_train', 'customer', "
         "'stock_code', method => 'item_knn', neighbours => 50, params => '{\"weighting\": \"bm25\"}')"),
        ("user_knn (k 50)", "SELECT 1 FROM train('q_uknn', 'retail_train', 'customer', 'stock_code', "
         "method => 'user_knn', neighbours => 50)"),
        ("ease (lambda 500)", "SELECT 1 FROM train('q_ease', 'retail_train', 'customer', 'stock_code', method => 'ease')"),
        ("content (descriptions)", "SELECT 1 FROM train_content('q_content', 'retail_train', 'customer', "
         "'stock_code', 'retail_products', '{description}')"),
        ("hybrid (item_knn bm25 0.8 + content)", "SELECT 1 FROM train_hybrid('q_hybrid', 'q_knnb', 'q_content', "
         "weight => 0.8, min_history => 3)"),
        ("hybrid (ease 0.8 + content)", "SELECT 1 FROM train_hybrid('q_hybride', 'q_ease', 'q_content', "
         "weight => 0.8, min_history => 3)"),
    ]
    print()
    print("Online Retail, 20 % of customer-product pairs held out (in_test_set seed 42), k = 10")
    print("  %-34s %8s %8s %8s %8s %8s %8s" % ("model", "prec", "recall", "ndcg", "hit", "cover", "train s"))
    for name, sql in models:
        try:
            t, _ = timed(sql)
        except psycopg2.Error as e:
            print("  %-34s %s" % (name, str(e).splitlines()[0]))
            continue
        mname = [w for w in sql.split("'") if w.startswith("q_")][0]
        cur.execute("SELECT precision_at_k, recall_at_k, ndcg_at_k, hit_rate_at_k, coverage "
                    "FROM evaluate(%s, 'retail_test', 'customer', 'stock_code', k => 10)", (mname,))
        pr, rc, nd, hr, cv = cur.fetchone()
        print("  %-34s %8.4f %8.4f %8.4f %8.4f %8.4f %8.2f" % (name, pr, rc, nd, hr, cv, t))
    cur.execute("SELECT drop_model(name) FROM models WHERE name LIKE 'q\\_%'")
    cur.execute("DROP VIEW retail_train, retail_test")
    cur.execute("DROP TABLE retail_orders, retail_products")


def main():
    quick = "--quick" in sys.argv
    if "--sql" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            bench_sql(tmp, quick)
        return
    with tempfile.TemporaryDirectory() as tmp:
        print("OpenBLAS core: %s" % sh("%s" % build_corename(tmp)).strip())
        if "--ease-only" not in sys.argv:
            bench_knn(tmp, quick)
        if "--no-ease" not in sys.argv:
            bench_ease(tmp)


def build_corename(tmp):
    src = os.path.join(tmp, "corename.c")
    with open(src, "w") as f:
        f.write('#include <stdio.h>\n#include <cblas.h>\n'
                'int main(void){puts(openblas_get_corename());return 0;}\n')
    exe = os.path.join(tmp, "corename")
    sh("gcc %s -o %s %s %s" % (pkgconf("--cflags", BLAS_CFLAGS), exe, src, pkgconf("--libs", "-lopenblas")))
    return exe


if __name__ == "__main__":
    main()
