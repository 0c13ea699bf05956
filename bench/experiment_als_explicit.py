#!/usr/bin/python3
"""Choosing the defaults of `als_explicit`: k-fold RMSE over regularization x factors.

Not pass/fail; prints a table.  Run against a database with recpromo installed
(libpq environment variables), e.g. in a throwaway cluster:

    pg_virtualenv -t -v 15 /usr/bin/python3 bench/experiment_als_explicit.py
    /usr/bin/python3 bench/experiment_als_explicit.py --quick     # 3 folds, smaller grid
    /usr/bin/python3 bench/experiment_als_explicit.py --set-b     # the second data set

Data (generated with a fixed seed, MovieLens-100k-like in shape): 943 users x
1,682 items, about 82,000 ratings on a 1-5 star scale.  Users rate between 20
and ~700 items (log-normal activity), items are drawn with Zipf-like
popularity.  A rating is round(mu + b_u + c_i + x_u . y_i + noise), clipped to
1..5, with mu 3.5, b_u ~ N(0, 0.4), c_i ~ N(0, 0.5), x_u . y_i of rank 10 and
standard deviation about 0.6, noise ~ N(0, 0.8): so a perfect model would
reach RMSE about 0.8 plus the rounding, the bias-only model cannot see the
rank-10 part.  With --set-b: 2,000 users x 800 items (median activity 90),
rank 20 with standard deviation 0.8, noise 0.7: denser and more structured.

For each fold (rows assigned to k folds by a seeded permutation), the method
is trained on the other folds through recpromo.train() (15 iterations, seed
42, the conjugate-gradient solver: the defaults), and every held-out rating is
predicted with recpromo.predict(); RMSE is over all held-out rows (an item
that only appears in the held-out fold gets the training mean).  The
bias-only baseline is mu + b_u + c_i fitted by alternating damped means
(Koren 2010, "Factor in the neighbors", eq. 2: c_i = sum (r - mu - b_u) /
(lambda + n_i), b_u likewise, 10 sweeps), with its lambda chosen from a grid
on the same folds.
"""
import io
import os
import sys
import time

import numpy as np
import psycopg2

SEED = 7


def generate(rng, n_users=943, n_items=1682, rank=10, median_act=65, signal=0.6, noise=0.8):
    act = np.clip(np.exp(rng.normal(np.log(median_act), 0.9, n_users)), 20, 700).astype(int)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    pop = pop[rng.permutation(n_items)]
    pop /= pop.sum()
    bu = rng.normal(0, 0.4, n_users)
    ci = rng.normal(0, 0.5, n_items)
    X = rng.normal(0, 1, (n_users, rank))
    Y = rng.normal(0, 1, (n_items, rank))
    scale = signal / np.sqrt(rank)
    rows = []
    for u in range(n_users):
        items = rng.choice(n_items, size=min(act[u], n_items), replace=False, p=pop)
        r = 3.5 + bu[u] + ci[items] + scale * (Y[items] @ X[u]) + rng.normal(0, noise, len(items))
        r = np.clip(np.rint(r), 1, 5)
        rows.extend(zip([u + 1] * len(items), (items + 1).tolist(), r.tolist()))
    return np.array(rows)


def bias_only(train, test, lam, sweeps=10):
    mu = train[:, 2].mean()
    nu = int(max(train[:, 0].max(), test[:, 0].max())) + 1
    ni = int(max(train[:, 1].max(), test[:, 1].max())) + 1
    u = train[:, 0].astype(int)
    i = train[:, 1].astype(int)
    r = train[:, 2]
    bu = np.zeros(nu)
    bi = np.zeros(ni)
    cu = np.bincount(u, minlength=nu)
    ci = np.bincount(i, minlength=ni)
    for _ in range(sweeps):
        bi = np.bincount(i, weights=r - mu - bu[u], minlength=ni) / (lam + ci)
        bu = np.bincount(u, weights=r - mu - bi[i], minlength=nu) / (lam + cu)
    p = mu + bu[test[:, 0].astype(int)] + bi[test[:, 1].astype(int)]
    return np.sqrt(np.mean((p - test[:, 2]) ** 2))


def main():
    quick = "--quick" in sys.argv
    k = 3 if quick else 5
    regs = [0.05, 0.1, 0.2] if quick else [0.02, 0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3]
    factors = [16, 64] if quick else [8, 16, 32, 64, 128]
    rng = np.random.default_rng(SEED)
    if "--set-b" in sys.argv:
        data = generate(rng, n_users=2000, n_items=800, rank=20, median_act=90, signal=0.8, noise=0.7)
    else:
        data = generate(rng)
    fold = rng.permutation(len(data)) % k
    print(f"data: {len(np.unique(data[:, 0]))} users x {len(np.unique(data[:, 1]))} items, "
          f"{len(data)} ratings, mean {data[:, 2].mean():.3f}; {k}-fold")

    conn = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET client_min_messages = warning")
    cur.execute("DROP TABLE IF EXISTS public.xp_ratings CASCADE")
    cur.execute("CREATE TABLE public.xp_ratings (user_id int, item_id int, rating float8, fold int)")
    buf = io.StringIO()
    for (u, i, r), f in zip(data, fold):
        buf.write(f"{int(u)}\t{int(i)}\t{r}\t{f}\n")
    buf.seek(0)
    cur.copy_expert("COPY public.xp_ratings FROM STDIN", buf)
    cur.execute("CREATE INDEX ON public.xp_ratings (user_id)")
    cur.execute("ANALYZE public.xp_ratings")

    lams = [1, 3, 5, 10, 25]
    base = {lam: np.mean([bias_only(data[fold != f], data[fold == f], lam) for f in range(k)]) for lam in lams}
    best_lam = min(base, key=base.get)
    print("bias-only baseline RMSE by lambda: " +
          ", ".join(f"{lam}: {v:.4f}" for lam, v in base.items()) + f"  (best {base[best_lam]:.4f})")

    results = {}
    for f in range(k):
        cur.execute(f"CREATE OR REPLACE VIEW public.xp_train AS SELECT user_id, item_id, rating "
                    f"FROM public.xp_ratings WHERE fold <> {f}")
        for reg in regs:
            for fac in factors:
                for attempt in range(3):
                    # recpromo 0.1.0 stops training on any interrupt (issue 11.1): retry
                    try:
                        t0 = time.time()
                        cur.execute("SELECT recpromo.train('xp', 'public.xp_train', 'user_id', 'item_id', "
                                    "'rating', method => 'als_explicit', factors => %s, "
                                    "regularization => %s)", (fac, reg))
                        secs = time.time() - t0
                        break
                    except psycopg2.errors.QueryCanceled:
                        if attempt == 2:
                            raise
                cur.execute("""
                    SELECT sqrt(avg((coalesce(recpromo.predict(user_id, item_id, 'xp'), m.mu) - rating) ^ 2))
                    FROM public.xp_ratings,
                         (SELECT avg(rating) AS mu FROM public.xp_ratings WHERE fold <> %s) m
                    WHERE fold = %s""", (f, f))
                rmse = float(cur.fetchone()[0])
                results.setdefault((reg, fac), []).append((rmse, secs))
        print(f"fold {f + 1}/{k} done", file=sys.stderr)
    cur.execute("SELECT recpromo.drop_model('xp')")
    cur.execute("DROP VIEW public.xp_train")

    print("\nmean held-out RMSE (training seconds per model in brackets)")
    print("regularization | " + " | ".join(f"{fac} factors" for fac in factors))
    for reg in regs:
        cells = []
        for fac in factors:
            v = results[(reg, fac)]
            cells.append(f"{np.mean([x[0] for x in v]):.4f} ({np.mean([x[1] for x in v]):.1f})")
        print(f"{reg} | " + " | ".join(cells))
    best = min(results, key=lambda key: np.mean([x[0] for x in results[key]]))
    print(f"\nbest: regularization {best[0]}, {best[1]} factors: "
          f"{np.mean([x[0] for x in results[best]]):.4f}; bias-only {base[best_lam]:.4f}")


if __name__ == "__main__":
    main()
