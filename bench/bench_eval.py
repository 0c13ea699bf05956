#!/usr/bin/python3
"""Benchmark of recpromo's evaluate() (not pass/fail).

    pg_virtualenv -t -v 15 /usr/bin/python3 bench/bench_eval.py [--quick] [--skip-scale] [--skip-retail]

Needs a server with recpromo installed (libpq variables set, e.g. by pg_virtualenv); works in
its own scratch database, dropped at the end.  Prints, in one run:

1. Scale: evaluate() of an ALS model (64 factors) over 100,000 test users at k = 10 against
   20,000 items, side by side with two peers doing the same work:
   - numpy: the same evaluation written with numpy (blocked U V^T by matmul, training items set
     to -inf, argpartition + sort for the top 10, the same metrics), on factor matrices of the
     same shape read from the model (so the peer's lists are the model's lists);
   - SQL per user: recommend() for each test user + evaluate_rankings(), the way one would
     evaluate without evaluate() (timed on a sample of users and scaled up).
   The generated data: 100,000 users x 20,000 items, item popularity ~ (j + 1)^-0.8, 12
   training and 2 test interactions per user (hash-based, deterministic).
2. Online Retail (UCI, Chen et al. 2012) clean purchases with a time split: train before
   2011-10-01, test on each known customer's purchases after it; popularity, ALS, item_knn,
   user_knn and EASE at k = 10, training items excluded (new products only) and not excluded.
"""
import gzip
import os
import struct
import sys
import time
import functools

print = functools.partial(print, flush=True)

import numpy as np
import psycopg2

RETAIL = os.environ.get("RETAIL_CSV", "/work/shared/data/online-retail/online-retail.csv.gz")
QUICK = "--quick" in sys.argv
DB = "recpromo_bench_eval"


def connect():
    base = psycopg2.connect("")
    base.autocommit = True
    with base.cursor() as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB}")
        c.execute(f"CREATE DATABASE {DB}")
    conn = psycopg2.connect(dbname=DB)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS recpromo")
    cur.execute("SET search_path = recpromo, public")
    cur.execute("SET client_min_messages = warning")
    # parallel query only adds noise to single-call timings on a small shared machine
    cur.execute("SET max_parallel_workers_per_gather = 0")
    return base, conn, cur


def timed(cur, sql, args=None):
    t = time.perf_counter()
    cur.execute(sql, args)
    rows = cur.fetchall() if cur.description else None
    return time.perf_counter() - t, rows


def model_part(cur, model, part):
    cur.execute("SELECT p.data FROM recpromo.model_part p JOIN recpromo.model m ON m.id = p.model_id"
                " WHERE m.name = %s AND p.part = %s ORDER BY p.seq", (model, part))
    return b"".join(bytes(r[0]) for r in cur.fetchall())


def numpy_eval(U, V, train_csr, test_sets, users, k, item_keys, block=2048):
    """The same evaluation in numpy: P, R, NDCG, MAP, hit, MRR means."""
    indptr, indices = train_csr
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    sums = np.zeros(6)
    n = 0
    for b0 in range(0, len(users), block):
        ub = users[b0:b0 + block]
        S = U[ub] @ V.T
        for r, u in enumerate(ub):
            S[r, indices[indptr[u]:indptr[u + 1]]] = -np.inf
        top = np.argpartition(-S, k, axis=1)[:, :k]
        sc = np.take_along_axis(S, top, axis=1)
        order = np.lexsort((top, -sc), axis=1)
        top = item_keys[np.take_along_axis(top, order, axis=1)]
        for r, u in enumerate(ub):
            rel_set = test_sets[u]
            rel = np.fromiter((i in rel_set for i in top[r]), dtype=float, count=k)
            h = rel.sum()
            nr = len(rel_set)
            ideal = min(k, nr)
            first = np.nonzero(rel)[0]
            sums += (h / k, h / nr, (rel * disc).sum() / disc[:ideal].sum(),
                     (rel * np.cumsum(rel) / np.arange(1, k + 1)).sum() / ideal,
                     float(h > 0), 1.0 / (first[0] + 1) if len(first) else 0.0)
            n += 1
    return sums / n


def scale(cur):
    n_users, n_items = (20000, 20000) if QUICK else (100000, 20000)
    print("   load average before: %.2f on %d CPUs" % (os.getloadavg()[0], os.cpu_count()))
    print(f"\n== 1. evaluate() at scale: {n_users} test users x {n_items} items, k = 10, ALS 64 factors")
    # item j drawn with probability ~ (j + 1)^-0.8 by inverting the CDF of a hash-uniform draw
    t, _ = timed(cur, f"""
        CREATE TABLE s_all AS
        SELECT u AS user_id,
               least({n_items} - 1, floor((({n_items} ^ 0.2 - 1) * x + 1) ^ 5) - 1)::int AS item_id,
               d
          FROM (SELECT u, d, split_position(u, d, 99) AS x
                  FROM generate_series(0, {n_users} - 1) u, generate_series(0, 13) d) g""")
    cur.execute("CREATE TABLE s_train AS SELECT DISTINCT user_id, item_id FROM s_all WHERE d < 12")
    cur.execute("CREATE TABLE s_test AS SELECT DISTINCT a.user_id, a.item_id FROM s_all a WHERE d >= 12")
    cur.execute("SELECT count(*), count(DISTINCT item_id) FROM s_train")
    nnz, items_used = cur.fetchone()
    print(f"   data: {nnz} training pairs over {items_used} items, generated in {t:.1f} s")
    t, _ = timed(cur, "SELECT count(*) FROM train('s_als', 's_train', 'user_id', 'item_id', method => 'als',"
                      " factors => 64, iterations => 2, seed => 1)")
    print(f"   ALS training (2 iterations, for timing only): {t:.1f} s")

    results = {}
    for threads in (1, 2):
        cur.execute(f"SET recpromo.max_threads = {threads}")
        timed(cur, "SELECT * FROM evaluate('s_als', 's_test', 'user_id', 'item_id', k => 10)")  # warm cache
        t, rows = timed(cur, "SELECT * FROM evaluate('s_als', 's_test', 'user_id', 'item_id', k => 10)")
        results[threads] = (t, rows[0])
    cur.execute("SET recpromo.max_threads = 1")
    row = results[1][1]
    print(f"   evaluate(): users evaluated {row[1]}, skipped {row[2]} + {row[3]}; "
          f"precision@10 {row[4]:.5f}, ndcg@10 {row[7]:.5f}, coverage {row[11]:.3f}")

    # the numpy peer on the model's own factors
    cur.execute("SELECT n_users, n_items FROM models WHERE name = 's_als'")
    mu, mi = cur.fetchone()
    Ub = model_part(cur, "s_als", "als_user_f4")   # float32 since 0.5.0, widened as the server does
    Vb = model_part(cur, "s_als", "als_item")
    f = len(Ub) // 4 // mu
    U = np.frombuffer(Ub, dtype=np.float32).astype(np.float64).reshape(mu, f)
    V = np.frombuffer(Vb, dtype=np.float64)[: mi * f].reshape(mi, f)
    # a model's key dictionary is the sorted distinct keys: index = rank of the key
    # (every user 0..n-1 has training rows; items are looked up)
    cur.execute("SELECT user_id, item_id FROM s_train ORDER BY user_id, item_id")
    tr = np.array(cur.fetchall(), dtype=np.int64)
    item_keys = np.unique(tr[:, 1])
    indptr = np.searchsorted(tr[:, 0], np.arange(mu + 1))
    tr_idx = np.searchsorted(item_keys, tr[:, 1])
    # the numpy peer runs on a sample of users (timing scaled up); evaluate() is run on the
    # same sample to compare the figures
    np_sample = 10000
    cur.execute(f"CREATE TABLE s_test_sample AS SELECT * FROM s_test WHERE user_id < {np_sample}")
    cur.execute("SELECT * FROM evaluate('s_als', 's_test_sample', 'user_id', 'item_id', k => 10)")
    row_s = cur.fetchone()
    cur.execute("SELECT t.user_id, array_agg(t.item_id) FROM s_test_sample t"
                " WHERE NOT EXISTS (SELECT 1 FROM s_train x WHERE x.user_id = t.user_id AND x.item_id = t.item_id)"
                " GROUP BY 1 ORDER BY 1")
    test_sets = {u: set(items) for u, items in cur.fetchall()}
    users = np.array(sorted(test_sets), dtype=np.int64)
    t0 = time.perf_counter()
    ref = numpy_eval(U, V, (indptr, tr_idx), test_sets, users, 10, item_keys)
    t_np = (time.perf_counter() - t0) * row[1] / len(users)
    agree = abs(ref[0] - row_s[4]) < 1e-9 and abs(ref[2] - row_s[7]) < 1e-9 and len(users) == row_s[1]
    print(f"   on the first {len(users)} users: evaluate() precision@10 {row_s[4]:.5f}, ndcg@10 {row_s[7]:.5f};"
          f" numpy {ref[0]:.5f}, {ref[2]:.5f} ({'same figures' if agree else 'DIFFERENT figures'})")

    # recommend() per user + evaluate_rankings on a sample, scaled up
    sample = 2000
    t, _ = timed(cur, f"""CREATE TABLE s_recs AS SELECT u.user_id, r.item AS item_id, r.rank
                          FROM (SELECT DISTINCT user_id FROM s_test ORDER BY 1 LIMIT {sample}) u,
                               recommend(u.user_id, 10, 's_als') r""")
    t2, _ = timed(cur, "SELECT * FROM evaluate_rankings('s_recs', 's_test', k => 10)")
    t_sql = (t + t2) * row[1] / sample

    print(f"   {'':38s} {'seconds':>8s} {'vs evaluate() 1 thread':>24s}")
    print(f"   {'evaluate(), 1 thread':38s} {results[1][0]:8.2f} {1.0:24.2f}")
    print(f"   {'evaluate(), 2 threads':38s} {results[2][0]:8.2f} {results[2][0] / results[1][0]:24.2f}")
    print(f"   {'numpy (matmul + argpartition)':38s} {t_np:8.2f} {t_np / results[1][0]:24.2f}"
          f"   (from {len(users)} users)")
    print(f"   {'recommend() per user + evaluate_rankings':38s} {t_sql:8.2f} {t_sql / results[1][0]:24.2f}"
          f"   (from {sample} users)")
    cur.execute("SELECT drop_model('s_als')")


def retail(cur):
    print("\n== 2. Online Retail purchases, time split at 2011-10-01, k = 10")
    cur.execute("""CREATE TABLE retail_raw (invoice text, stock_code text, description text, quantity int,
                   invoice_date timestamp, unit_price numeric, customer_id float8, country text)""")
    with gzip.open(RETAIL, "rt", encoding="utf-8", errors="replace") as f:
        cur.copy_expert("COPY retail_raw FROM STDIN (FORMAT csv, HEADER)", f)
    cur.execute("""CREATE TABLE purchases AS
                   SELECT customer_id::bigint AS customer_id, stock_code, quantity, invoice_date
                     FROM retail_raw
                    WHERE customer_id IS NOT NULL AND invoice NOT LIKE 'C%'
                      AND quantity > 0 AND unit_price > 0""")
    cur.execute("SELECT count(*), count(DISTINCT customer_id) FROM purchases")
    print("   clean purchases: %d rows, %d customers (expected 397,884 and 4,338)" % cur.fetchone())
    cur.execute("""CREATE TABLE p_split AS
                   SELECT (s.rec).*, s.is_test
                     FROM time_split(NULL::purchases, 'customer_id', 'invoice_date', after => '2011-10-01') s""")
    cur.execute("CREATE TABLE p_train AS SELECT customer_id, stock_code FROM p_split WHERE NOT is_test")
    cur.execute("CREATE TABLE p_test AS SELECT customer_id, stock_code FROM p_split WHERE is_test")
    cur.execute("SELECT (SELECT count(*) FROM p_train), (SELECT count(*) FROM p_test),"
                " (SELECT count(DISTINCT customer_id) FROM p_test)")
    print("   train rows %d, test rows %d, test customers %d" % cur.fetchone())
    models = [
        ("popularity", "method => 'popularity'"),
        ("als", "method => 'als', factors => 64, iterations => 15, regularization => 0.05, alpha => 10, seed => 1"),
        ("item_knn", "method => 'item_knn', neighbours => 50"),
        ("user_knn", "method => 'user_knn', neighbours => 50"),
        ("ease", "method => 'ease'"),
    ]
    header = ("model", "train s", "eval s", "users", "p@10", "r@10", "ndcg@10", "map@10", "hit@10", "mrr",
              "coverage", "pop bias")
    for excl in (True, False):
        print(f"\n   exclude_seen => {str(excl).lower()}"
              + ("  (only products new to the customer count)" if excl else "  (repeat purchases count too)"))
        print("   " + " ".join(f"{h:>9s}" for h in header))
        for name, args in models:
            if excl:
                t_train, _ = timed(cur, f"SELECT count(*) FROM train('r_{name}', 'p_train', 'customer_id',"
                                        f" 'stock_code', {args})")
                cur.execute("SELECT train_seconds FROM models WHERE name = %s", (f"r_{name}",))
                t_train = cur.fetchone()[0]
            else:
                cur.execute("SELECT train_seconds FROM models WHERE name = %s", (f"r_{name}",))
                t_train = cur.fetchone()[0]
            t_eval, rows = timed(cur, "SELECT * FROM evaluate(%s, 'p_test', 'customer_id', 'stock_code', k => 10,"
                                      " exclude_seen => %s)", (f"r_{name}", excl))
            r = rows[0]
            vals = (name, f"{t_train:.2f}", f"{t_eval:.2f}", str(r[1]), *(f"{x:.4f}" for x in
                    (r[4], r[5], r[7], r[8], r[9], r[10], r[11])), f"{r[14]:.2f}")
            print("   " + " ".join(f"{v:>9s}" for v in vals))
        if excl:
            print(f"   skipped: {r[2]} customers with no new product in the test period,"
                  f" {r[3]} customers unknown at training (first purchase after the cut)")


def main():
    base, conn, cur = connect()
    try:
        if "--skip-scale" not in sys.argv:
            scale(cur)
        if "--skip-retail" not in sys.argv and os.path.exists(RETAIL):
            retail(cur)
    finally:
        conn.close()
        with base.cursor() as c:
            c.execute(f"DROP DATABASE IF EXISTS {DB}")
        base.close()


if __name__ == "__main__":
    main()
