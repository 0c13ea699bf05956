#!/usr/bin/python3
"""Neighbourhood, EASE and content models against independent numpy/scipy code.

On a generated purchase table (counts, power-law-ish) trains item_knn with every weighting
and with shrinkage, ease and content, and compares similar_items / recommend with the same
quantities computed here from the raw rows with numpy: weighted cosine, support shrinkage,
top-k, B = -P / diag(P), TF-IDF cosine.  Runs inside the test cluster (libpq variables set by
pg_virtualenv).  Prints "N passed, N failed"; exits non-zero on failure.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, finish, fresh_database  # noqa: E402


admin, conn = fresh_database("rp_knn_ref")
cur = conn.cursor()
cur.execute("SET search_path = recpromo, public")
cur.execute("""CREATE TABLE orders AS
               SELECT u AS customer, (abs(hashint4(u * 31 + k)) % 60)::int AS item,
                      (1 + abs(hashint4(u * 17 + k)) % 3)::float8 AS qty
               FROM generate_series(1, 300) u, generate_series(1, 1 + u % 9) k""")
cur.execute("SELECT customer, item, qty FROM orders")
rows = cur.fetchall()
users = sorted({r[0] for r in rows})
items = sorted({r[1] for r in rows})
ui = {u: n for n, u in enumerate(users)}
ii = {i: n for n, i in enumerate(items)}
X = np.zeros((len(users), len(items)))
for u, i, q in rows:
    X[ui[u], ii[i]] += q             # duplicates summed, like train()


def weight(A, how, k1=1.2, b=0.75):
    """Rows of A are documents, columns terms (formulas of doc/training.md)."""
    N = A.shape[0]
    df = (A > 0).sum(axis=0)
    if how == "none":
        return A.copy()
    if how == "tfidf":
        return A * (np.log((1.0 + N) / (1.0 + df)) + 1.0)
    length = A.sum(axis=1, keepdims=True)
    avg = length.mean()
    idf = np.log1p((N - df + 0.5) / (df + 0.5))
    with np.errstate(invalid="ignore", divide="ignore"):
        W = A * (k1 + 1.0) / (A + k1 * (1.0 - b + b * length / avg)) * idf
    return np.where(A > 0, W, 0.0)


def cosine(W, shrink):
    n = np.linalg.norm(W, axis=1)
    S = W @ W.T
    den = np.outer(n, n)
    S = np.divide(S, den, out=np.zeros_like(S), where=den > 0)
    if shrink > 0:
        ov = (W != 0).astype(float) @ (W != 0).astype(float).T
        S = S * ov / (ov + shrink)
    np.fill_diagonal(S, 0.0)
    return S


def topk(S, k):
    out = []
    for i in range(S.shape[0]):
        cand = [(-S[i, j], j) for j in range(S.shape[1]) if j != i and S[i, j] > 0]
        cand.sort()
        out.append(cand[:k])
    return out


# item_knn: every weighting, with and without shrinkage
K = 7
for how in ("none", "tfidf", "bm25"):
    for shrink in (0.0, 5.0):
        cur.execute("SELECT 1 FROM train('k', 'orders', 'customer', 'item', 'qty', method => 'item_knn', "
                    "neighbours => %s, params => %s)",
                    (K, '{"weighting": "%s", "shrink": %g}' % (how, shrink)))
        S = cosine(weight(X.T, how), shrink)
        ref = topk(S, K)
        bad = 0
        worst = 0.0
        for i, item in enumerate(items):
            cur.execute("SELECT item, similarity FROM similar_items(%s, 100, 'k') ORDER BY rank", (item,))
            got = cur.fetchall()
            exp = [(items[j], -s) for s, j in ref[i]]
            if len(got) != len(exp):
                bad += 1
                continue
            for (gi, gs), (ei, es) in zip(got, exp):
                worst = max(worst, abs(gs - es))
                # an exact tie at the k-th place may pick either index; values must agree
                if gi != ei and abs(gs - es) > 1e-12:
                    bad += 1
        check("item_knn %s shrink %g: neighbours" % (how, shrink), bad == 0, "%d items differ" % bad)
        check("item_knn %s shrink %g: similarities" % (how, shrink), worst < 1e-10, "max diff %g" % worst)

        # scores of known users: sum over history of r_ui * S_kept(i, j)
        Sk = np.zeros_like(S)
        for i in range(len(items)):
            for s, j in ref[i]:
                Sk[i, j] = -s
        worst = 0.0
        for u in users[::23]:
            cur.execute("SELECT item, score FROM recommend(%s, 100, 'k', exclude_seen => false)", (u,))
            sc = X[ui[u]] @ Sk
            for item, s in cur.fetchall():
                worst = max(worst, abs(s - sc[ii[item]]))
        check("item_knn %s shrink %g: scores" % (how, shrink), worst < 1e-10, "max diff %g" % worst)

# user_knn: weighted user vectors (users are the documents), similar_users and scores
for how, shrink in (("none", 0.0), ("bm25", 3.0), ("tfidf", 0.0)):
    cur.execute("SELECT 1 FROM train('u', 'orders', 'customer', 'item', 'qty', method => 'user_knn', "
                "neighbours => 6, params => %s)", ('{"weighting": "%s", "shrink": %g}' % (how, shrink),))
    S = cosine(weight(X, how), shrink)
    ref = topk(S, 6)
    worst_sim = worst_score = 0.0
    bad = 0
    for u in users[::13]:
        n = ui[u]
        cur.execute("SELECT neighbour, similarity FROM similar_users(%s, 6, 'u') ORDER BY rank", (u,))
        got = cur.fetchall()
        exp = [(users[j], -s) for s, j in ref[n]]
        for (gv, gs), (ev, es) in zip(got, exp):
            worst_sim = max(worst_sim, abs(gs - es))
            if gv != ev and abs(gs - es) > 1e-12:
                bad += 1
        sc = np.zeros(len(items))
        tot = 0.0
        for s, j in ref[n]:
            sc += -s * X[j]
            tot += -s
        sc = sc / tot if tot > 0 else sc
        cur.execute("SELECT item, score FROM recommend(%s, 1000, 'u', exclude_seen => false)", (u,))
        for item, s in cur.fetchall():
            worst_score = max(worst_score, abs(s - sc[ii[item]]))
    check("user_knn %s: neighbours" % how, bad == 0, "%d differ" % bad)
    check("user_knn %s: similarities" % how, worst_sim < 1e-10, "max diff %g" % worst_sim)
    check("user_knn %s: scores" % how, worst_score < 1e-10, "max diff %g" % worst_score)

# ease
for lam in (1.0, 50.0):
    cur.execute("SELECT 1 FROM train('e', 'orders', 'customer', 'item', 'qty', method => 'ease', params => %s)",
                ('{"lambda": %g}' % lam,))
    G = X.T @ X + lam * np.eye(len(items))
    P = np.linalg.inv(G)
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    worst = 0.0
    for i in range(0, len(items), 5):
        cur.execute("SELECT item, similarity FROM similar_items(%s, 1000, 'e')", (items[i],))
        for item, s in cur.fetchall():
            worst = max(worst, abs(s - B[i, ii[item]]))
    # B is stored in float4: relative precision about 6e-8
    check("ease lambda %g: B" % lam, worst < 1e-6 * max(1.0, np.abs(B).max()), "max diff %g" % worst)
    worst = 0.0
    for u in users[::29]:
        cur.execute("SELECT item, score FROM recommend(%s, 1000, 'e', exclude_seen => false)", (u,))
        sc = X[ui[u]] @ B
        for item, s in cur.fetchall():
            worst = max(worst, abs(s - sc[ii[item]]))
    check("ease lambda %g: scores" % lam, worst < 1e-5, "max diff %g" % worst)

# content: attributes of every item plus 10 new ones; TF-IDF cosine
cur.execute("""CREATE TABLE products AS
               SELECT i AS item, 'c' || (i % 7) AS category,
                      ARRAY['t' || (i % 5), 't' || (i % 3)] AS tags
               FROM generate_series(0, 69) i""")
cur.execute("SELECT 1 FROM train_content('c', 'orders', 'customer', 'item', 'products', "
            "'{category,tags}', rating_col => 'qty')")
cur.execute("SELECT item, category, tags FROM products")
prods = cur.fetchall()
citems = sorted(p[0] for p in prods)
ci = {it: n for n, it in enumerate(citems)}
toks = sorted({"category=" + p[1] for p in prods} | {"tags=" + t for p in prods for t in p[2]})
ti = {t: n for n, t in enumerate(toks)}
M = np.zeros((len(citems), len(toks)))
for it, c, tags in prods:
    M[ci[it], ti["category=" + c]] += 1
    for t in tags:
        M[ci[it], ti["tags=" + t]] += 1
V = weight(M, "tfidf")
V = V / np.linalg.norm(V, axis=1, keepdims=True)
worst = 0.0
for it in citems[::4]:
    cur.execute("SELECT item, similarity FROM similar_items(%s, 1000, 'c')", (it,))
    got = dict(cur.fetchall())
    exp = V @ V[ci[it]]
    for j, other in enumerate(citems):
        if other != it and exp[j] > 1e-12:
            worst = max(worst, abs(got.get(other, -1) - exp[j]))
check("content: similarities", worst < 1e-10, "max diff %g" % worst)
worst = 0.0
for u in users[::31]:
    h = np.zeros(len(citems))
    for i, item in enumerate(items):
        h[ci[item]] = X[ui[u], i]
    p = h @ V
    exp = V @ p / np.linalg.norm(p)
    cur.execute("SELECT item, score FROM recommend(%s, 1000, 'c', exclude_seen => false)", (u,))
    got = cur.fetchall()
    check("content: every item scored for %d" % u, len(got) == len(citems))
    for item, s in got:
        worst = max(worst, abs(s - exp[ci[item]]))
check("content: scores", worst < 1e-10, "max diff %g" % worst)

conn.close()
admin.cursor().execute("DROP DATABASE rp_knn_ref")
finish("test_knn_reference: ")
