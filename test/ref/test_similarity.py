#!/usr/bin/python3
"""Independent reference checks of recpromo's similarity functions against
scikit-learn / numpy / scipy, inside the test cluster (libpq variables set).

- dense cosine_similarity, dot_product, vector_norm on random float8[],
  float4[] and int4[] vectors (including zero vectors: scikit-learn's
  cosine_similarity also gives 0 there);
- svec cosine/dot/norm and svec_agg against scipy.sparse rows;
- cosine_agg over a FULL JOIN against the dense cosine of the union.
Prints "N passed, N failed"; exits non-zero on failure.
"""
import sys

import numpy as np
import psycopg2
import scipy.sparse as sp
from sklearn.metrics.pairwise import cosine_similarity

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL %s %s" % (name, detail))


conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()
cur.execute("CREATE EXTENSION IF NOT EXISTS recpromo")
cur.execute("SET search_path = recpromo, public")
rng = np.random.default_rng(20261129)

# ---- dense
a = rng.normal(size=(60, 257)) * rng.choice([1e-3, 1.0, 1e3], size=(60, 1))
b = rng.normal(size=(60, 257))
a[5] = 0.0                                  # zero vector
b[7] = -a[7] * 2.5                          # opposite
ref = np.diag(cosine_similarity(a, b))
got = []
for x, y in zip(a, b):
    cur.execute("SELECT cosine_similarity(%s::float8[], %s::float8[]), dot_product(%s::float8[], %s::float8[]),"
                " vector_norm(%s::float8[])", (list(x), list(y), list(x), list(y), list(x)))
    got.append(cur.fetchone())
got = np.array(got)
check("dense float8 cosine", np.allclose(got[:, 0], ref, rtol=0, atol=1e-13),
      np.max(np.abs(got[:, 0] - ref)))
check("dense zero vector is 0 as in sklearn", got[5, 0] == 0.0 and ref[5] == 0.0)
check("dense opposite is -1", abs(got[7, 0] + 1) < 1e-15)
check("dense float8 dot", np.allclose(got[:, 1], np.einsum("ij,ij->i", a, b), rtol=1e-12, atol=1e-9))
check("dense float8 norm", np.allclose(got[:, 2], np.linalg.norm(a, axis=1), rtol=1e-13, atol=0))

a4 = a.astype(np.float32)
b4 = b.astype(np.float32)
ref4 = np.diag(cosine_similarity(a4.astype(np.float64), b4.astype(np.float64)))
got4 = []
for x, y in zip(a4, b4):
    cur.execute("SELECT cosine_similarity(%s::float4[], %s::float4[])",
                ([float(v) for v in x], [float(v) for v in y]))
    got4.append(cur.fetchone()[0])
# float4 text round-trip is exact with extra_float_digits >= 1 (the default)
check("dense float4 cosine (double sums)", np.allclose(got4, ref4, rtol=0, atol=1e-12))

ai = rng.integers(-5, 6, size=(30, 40))
bi = rng.integers(0, 6, size=(30, 40))
refi = np.diag(cosine_similarity(ai, bi))
goti = []
for x, y in zip(ai, bi):
    cur.execute("SELECT cosine_similarity(%s::int4[], %s::int4[])", ([int(v) for v in x], [int(v) for v in y]))
    goti.append(cur.fetchone()[0])
check("dense int4 cosine", np.allclose(goti, refi, rtol=0, atol=1e-14))

# ---- sparse: svec_agg from rows, then cosine between all pairs
n_users, n_items = 40, 5000
rows = []
for u in range(n_users):
    k = rng.integers(0, 60)
    items = rng.choice(n_items, size=k)             # repeats: summed
    vals = rng.integers(1, 6, size=k).astype(float)
    rows += [(u, int(i) * 1000003, float(v)) for i, v in zip(items, vals)]   # large sparse indices
cur.execute("CREATE TEMP TABLE r (u int, i bigint, v float8)")
cur.executemany("INSERT INTO r VALUES (%s, %s, %s)", rows)
m = sp.csr_matrix(([v for _, _, v in rows], ([u for u, _, _ in rows], [i // 1000003 for _, i, _ in rows])),
                  shape=(n_users, n_items))
m.sum_duplicates()
m.eliminate_zeros()
S = cosine_similarity(m)
D = (m @ m.T).toarray()
cur.execute("""
    WITH v AS (SELECT u, svec_agg(i, v) AS s FROM r GROUP BY u)
    SELECT a.u, b.u, cosine_similarity(a.s, b.s), dot_product(a.s, b.s), vector_norm(a.s), svec_nnz(a.s)
    FROM v a, v b""")
res = cur.fetchall()
present = sorted({u for u, _, _ in rows})
err_c = max(abs(c - S[x, y]) for x, y, c, _, _, _ in res)
err_d = max(abs(d - D[x, y]) for x, y, _, d, _, _ in res)
err_n = max(abs(nn - np.sqrt(D[x, x])) for x, _, _, _, nn, _ in res)
check("svec cosine vs sklearn sparse", err_c < 1e-13, err_c)
check("svec dot vs scipy", err_d < 1e-9, err_d)
check("svec norm", err_n < 1e-11, err_n)
check("svec_agg nnz", all(k == m[x].nnz for x, _, _, _, _, k in res))
check("svec_agg one vector per user with rows", len({x for x, *_ in res}) == len(present))
cur.execute("SELECT svec_indices(svec_agg(i, v)), svec_values(svec_agg(i, v)) FROM r WHERE u = %s", (present[0],))
idx, vals = cur.fetchone()
row = m[present[0]]
check("svec_agg sums duplicates, sorted",
      list(idx) == [int(j) * 1000003 for j in row.indices] and np.allclose(vals, row.data))

# ---- cosine_agg over a FULL JOIN equals the dense cosine of the union
x = {int(i): float(v) for i, v in zip(rng.choice(3000, 800, replace=False), rng.normal(size=800))}
y = {int(i): float(v) for i, v in zip(rng.choice(3000, 900, replace=False), rng.normal(size=900))}
cur.execute("CREATE TEMP TABLE ra (item int, rating float8); CREATE TEMP TABLE rb (item int, rating float8)")
cur.executemany("INSERT INTO ra VALUES (%s, %s)", list(x.items()))
cur.executemany("INSERT INTO rb VALUES (%s, %s)", list(y.items()))
cur.execute("SELECT cosine_agg(ra.rating, rb.rating) FROM ra FULL JOIN rb USING (item)")
got_agg = cur.fetchone()[0]
keys = sorted(set(x) | set(y))
vx = np.array([x.get(k, 0.0) for k in keys])
vy = np.array([y.get(k, 0.0) for k in keys])
ref_agg = cosine_similarity(vx[None, :], vy[None, :])[0, 0]
check("cosine_agg FULL JOIN vs sklearn", abs(got_agg - ref_agg) < 1e-13, (got_agg, ref_agg))

conn.close()
print("similarity reference: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
