#!/usr/bin/python3
"""sparse_ease against an independent numpy reference.

On a generated purchase table (counts, power-law-ish items) trains sparse_ease and checks:
- with neighbours >= n_items - 1, B equals dense EASE's B = -P / diag(P) (numpy, double) to 1e-8;
- with a small K, every column j equals the ridge regression of item j's column on its K most
  co-occurring items N(j) (largest X^T X entry first, ties and fill to the lower index):
  (G_NN + lambda I) b = G_Nj, to 1e-8;
- recommend scores are x_u B, explain contributions sum to the score, evaluate and
  recommend_all run, the result does not depend on recpromo.max_threads;
- bad hyper-parameters and a memory limit too small give clear errors (22023 / 54000);
- a memory limit too small for all the Gram entries at once (chunks of columns) gives the same
  model, bit for bit, as the default limit;
- a cancelled retraining (statement_timeout, 57014) leaves the previous model in place.
Prints "N passed, N failed"; exits non-zero on failure.
"""
import os
import sys
import time

import numpy as np
import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, finish, fresh_database  # noqa: E402


admin, conn = fresh_database("rp_sparse_ease_ref")
cur = conn.cursor()
cur.execute("SET search_path = recpromo, public")
cur.execute("""CREATE TABLE orders AS
               SELECT u AS customer, (abs(hashint4(u * 31 + k)) % (1 + abs(hashint4(u * 7 + k)) % 60))::int AS item,
                      (1 + abs(hashint4(u * 17 + k)) % 3)::float8 AS qty
               FROM generate_series(1, 300) u, generate_series(1, 1 + u % 9) k""")
cur.execute("SELECT customer, item, qty FROM orders")
rows = cur.fetchall()
users = sorted({r[0] for r in rows})
items = sorted({r[1] for r in rows})
ui = {u: n for n, u in enumerate(users)}
ii = {i: n for n, i in enumerate(items)}
n = len(items)
X = np.zeros((len(users), n))
for u, i, q in rows:
    X[ui[u], ii[i]] += q
G = X.T @ X


def reference(lam, k):
    """B (n x n) of sparse EASE computed densely from its definition."""
    k = min(k, n - 1)
    B = np.zeros((n, n))
    for j in range(n):
        order = sorted((l for l in range(n) if l != j), key=lambda l: (-G[j, l], l))
        N = sorted(order[:k])
        A = G[np.ix_(N, N)] + lam * np.eye(k)
        B[N, j] = np.linalg.solve(A, G[N, j])
    return B


def model_B(name):
    B = np.zeros((n, n))
    for i in range(n):
        cur.execute("SELECT item, similarity FROM similar_items(%s, 100000, %s)", (items[i], name))
        for item, s in cur.fetchall():
            B[i, ii[item]] = s
    return B


def train(name, lam, k, threads=None):
    if threads is not None:
        cur.execute("SET recpromo.max_threads = %s", (threads,))
    cur.execute("SELECT 1 FROM train(%s, 'orders', 'customer', 'item', 'qty', method => 'sparse_ease', "
                "params => %s)", (name, '{"lambda": %g, "neighbours": %d}' % (lam, k)))
    cur.execute("RESET recpromo.max_threads")


# dense equivalence
for lam in (1.0, 50.0):
    train("full", lam, 2000)
    P = np.linalg.inv(G + lam * np.eye(n))
    Bd = -P / np.diag(P)
    np.fill_diagonal(Bd, 0.0)
    Bm = model_B("full")
    d = np.abs(Bm - Bd).max()
    check("K = n-1, lambda %g: B equals dense EASE" % lam, d < 1e-8 * max(1.0, np.abs(Bd).max()),
          "max diff %g" % d)

# small K against the column-wise reference
for lam, k in ((5.0, 3), (50.0, 8), (500.0, 20)):
    train("s", lam, k)
    Br = reference(lam, k)
    Bm = model_B("s")
    d = np.abs(Bm - Br).max()
    check("K %d lambda %g: B equals the per-column ridge reference" % (k, lam), d < 1e-8, "max diff %g" % d)
    nnz = (Bm != 0).sum()
    check("K %d: at most n*K non-zeros" % k, nnz <= n * k, "%d" % nnz)
    worst = 0.0
    for u in users[::23]:
        cur.execute("SELECT item, score FROM recommend(%s, 100000, 's', exclude_seen => false)", (u,))
        sc = X[ui[u]] @ Br
        for item, s in cur.fetchall():
            worst = max(worst, abs(s - sc[ii[item]]))
    check("K %d: recommend scores are x_u B" % k, worst < 1e-8, "max diff %g" % worst)

# explain sums to the score
u = users[40]
cur.execute("SELECT item, score FROM recommend(%s, 3, 's')", (u,))
ok = True
for item, s in cur.fetchall():
    cur.execute("SELECT coalesce(sum(contribution), 0) FROM explain_recommendation(%s, %s, model => 's')",
                (u, item))
    tot = cur.fetchone()[0]
    ok = ok and abs(tot - s) < 1e-9
check("explain contributions sum to the score", ok)

# threads do not change the result
train("t1", 20.0, 6, threads=1)
train("t2", 20.0, 6, threads=2)
check("same B on 1 and 2 threads", np.array_equal(model_B("t1"), model_B("t2")))

cur.execute("CREATE TABLE o_train AS SELECT * FROM orders WHERE abs(hashint4(customer * 13 + item)) % 5 <> 0")
cur.execute("CREATE TABLE o_test AS SELECT * FROM orders WHERE abs(hashint4(customer * 13 + item)) % 5 = 0")
cur.execute("SELECT 1 FROM train('ev', 'o_train', 'customer', 'item', 'qty', method => 'sparse_ease', "
            "params => '{\"lambda\": 20, \"neighbours\": 10}')")
cur.execute("SELECT users_evaluated > 0, ndcg_at_k > 0 FROM evaluate('ev', 'o_test', 'customer', 'item', k => 5)")
check("evaluate runs", cur.fetchone() == (True, True))
cur.execute("SELECT count(DISTINCT customer) FROM recommend_all(n => 3, model => 's') r(customer, item, score, rank)")
check("recommend_all covers the users", cur.fetchone()[0] == len(users))


def error_of(sql, params=None):
    try:
        cur.execute(sql, params)
    except psycopg2.Error as e:
        return e.pgcode, e.pgerror
    return None, None


for p, code in (('{"neighbours": 0}', "22023"), ('{"lambda": 0}', "22023"),
                ('{"neighbours": 5000}', "22023"), ('{"bogus": 1}', "22023")):
    c, m = error_of("SELECT 1 FROM train('b', 'orders', 'customer', 'item', 'qty', method => 'sparse_ease', "
                    "params => %s)", (p,))
    check("bad params %s: %s" % (p, code), c == code, "%s %s" % (c, m))
cur.execute("CREATE TABLE wide AS SELECT u AS customer, u AS item FROM generate_series(1, 5000) u")
cur.execute("SET recpromo.memory_limit = '1MB'")
c, m = error_of("SELECT 1 FROM train('b', 'wide', 'customer', 'item', NULL, method => 'sparse_ease')")
check("memory limit: 54000", c == "54000" and "sparse_ease" in (m or ""), "%s %s" % (c, m))
cur.execute("RESET recpromo.memory_limit")
check("a refused training leaves no model", error_of("SELECT 1 FROM recommend(1, 1, 'b')")[0] is not None)

# chunks: 2,000 items, K = 50; 4 MB holds the fixed part but not all Gram entries at once
cur.execute("""CREATE TABLE mid AS
               SELECT u AS customer, (abs(hashint4(u * 31 + k)) % (20 + (u % 7) * 300))::int AS item
               FROM generate_series(1, 3000) u, generate_series(1, 12) k""")


def model_rows(name):
    cur.execute("SELECT pg_catalog.array_agg(s.item ORDER BY i.item, s.item), "
                "pg_catalog.array_agg(s.similarity ORDER BY i.item, s.item) "
                "FROM (SELECT DISTINCT item FROM mid) i, similar_items(i.item, 100000, %s) s", (name,))
    return cur.fetchone()


cur.execute("SELECT 1 FROM train('whole', 'mid', 'customer', 'item', NULL, method => 'sparse_ease', "
            "params => '{\"lambda\": 5, \"neighbours\": 50}')")
cur.execute("SET recpromo.memory_limit = '4MB'")
cur.execute("SET recpromo.max_threads = 2")
cur.execute("SET client_min_messages = debug1")
cur.execute("SELECT 1 FROM train('chunked', 'mid', 'customer', 'item', NULL, method => 'sparse_ease', "
            "params => '{\"lambda\": 5, \"neighbours\": 50}')")
cur.execute("RESET client_min_messages")
cur.execute("RESET recpromo.max_threads")
cur.execute("RESET recpromo.memory_limit")
w, ch = model_rows("whole"), model_rows("chunked")
check("chunked under a 4 MB limit: the same model bit for bit", w == ch and w[0] is not None)

# cancel: a retraining stopped by statement_timeout leaves the previous model
before = model_rows("whole")
cur.execute("""CREATE TABLE big AS
               SELECT u AS customer, (abs(hashint4(u * 31 + k)) % 5000)::int AS item
               FROM generate_series(1, 20000) u, generate_series(1, 40) k""")
for threads in (1, 2):
    cur.execute("SET recpromo.max_threads = %s", (threads,))
    cur.execute("SET statement_timeout = '200ms'")
    t0 = time.monotonic()
    c, m = error_of("SELECT 1 FROM train('whole', 'big', 'customer', 'item', NULL, method => 'sparse_ease', "
                    "params => '{\"lambda\": 5, \"neighbours\": 300}')")
    took = time.monotonic() - t0
    cur.execute("RESET statement_timeout")
    cur.execute("RESET recpromo.max_threads")
    check("cancel (%d threads): 57014" % threads, c == "57014", "%s %s" % (c, m))
    # generous: the uninterrupted training takes much longer
    check("cancel (%d threads): stops promptly" % threads, took < 30, "%.1f s" % took)
    check("cancel (%d threads): the previous model is in place" % threads, model_rows("whole") == before)

finish()
