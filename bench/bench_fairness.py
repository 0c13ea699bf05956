#!/usr/bin/python3
"""Benchmark of recommend()'s diversity re-ranking: accuracy against exposure
of the long tail (not pass/fail).

    /usr/bin/python3 bench/bench_fairness.py [--quick]

Needs a server with recpromo installed (libpq variables set); works in its
own scratch database, dropped at the end.

Generated data with a popularity skew: 3,000 users x 1,000 items (--quick:
800 x 300), item j drawn with probability ~ (j + 1)^-1.0, 12 training and
3 test interactions per user (numpy, seed 13).  For an ALS model (32
factors) and an item_knn model, every test user's top 10 is taken from
recommend(u, 10, model, diversity => lambda) for lambda = 0, 0.2, 0.5, 0.8
(maximal marginal relevance, Carbonell and Goldstein 1998; similarity: the
factor cosine for ALS, the neighbour similarities for item_knn), and the
lists are scored by evaluate_rankings (NDCG@10, recall@10) and
exposure_rankings (long-tail share: the exposure of the items outside the
20% most popular; APLT, Abdollahpouri et al. 2019; the Gini coefficient of
item exposure; ARP).  The table shows the trade-off; the time column is the
mean recommend() call, for information only.
"""
import functools
import sys
import time

import numpy as np
import psycopg2

print = functools.partial(print, flush=True)

QUICK = "--quick" in sys.argv
DB = "recpromo_bench_fairness"
N_USERS, N_ITEMS = (800, 300) if QUICK else (3000, 1000)
LAMBDAS = (0.0, 0.2, 0.5, 0.8)


def main():
    base = psycopg2.connect("")
    base.autocommit = True
    base.cursor().execute(f"DROP DATABASE IF EXISTS {DB}")
    base.cursor().execute(f"CREATE DATABASE {DB}")
    conn = psycopg2.connect(dbname=DB)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET client_min_messages = warning")
    cur.execute("CREATE EXTENSION recpromo")

    rng = np.random.default_rng(13)
    w = 1.0 / np.arange(1, N_ITEMS + 1) ** 1.0
    w /= w.sum()
    train, test = [], []
    for u in range(1, N_USERS + 1):
        items = rng.choice(N_ITEMS, size=15, replace=False, p=w) + 1
        train += [(u, int(i)) for i in items[:12]]
        test += [(u, int(i)) for i in items[12:]]
    cur.execute("CREATE TABLE tr (user_id int, item_id int)")
    cur.execute("CREATE TABLE te (user_id int, item_id int)")
    cur.execute("INSERT INTO tr SELECT * FROM unnest(%s::int[], %s::int[])",
                ([u for u, _ in train], [i for _, i in train]))
    cur.execute("INSERT INTO te SELECT * FROM unnest(%s::int[], %s::int[])",
                ([u for u, _ in test], [i for _, i in test]))
    cur.execute("SELECT recpromo.train('b_als', 'tr', 'user_id', 'item_id', method => 'als', factors => 32, "
                "iterations => 10, seed => 1)")
    cur.execute("SELECT recpromo.train('b_iknn', 'tr', 'user_id', 'item_id', method => 'item_knn')")
    print(f"data: {N_USERS} users x {N_ITEMS} items, {len(train)} training and {len(test)} test rows, "
          "popularity ~ (j + 1)^-1")
    print()
    print(f"{'model':8} {'lambda':>6} {'NDCG@10':>9} {'recall@10':>10} {'long tail':>10} {'APLT':>7} "
          f"{'Gini':>7} {'ARP':>7} {'ms/call':>8}")
    for model in ("b_als", "b_iknn"):
        for lam in LAMBDAS:
            cur.execute("DROP TABLE IF EXISTS recs")
            t0 = time.time()
            cur.execute("CREATE TABLE recs AS SELECT u.user_id, r.item AS item_id, r.rank "
                        "FROM (SELECT DISTINCT user_id FROM te) u, "
                        "LATERAL recpromo.recommend(u.user_id, 10, %s, diversity => %s) r",
                        (model, lam if lam > 0 else None))
            ms = (time.time() - t0) * 1000.0 / N_USERS
            cur.execute("SELECT ndcg_at_k, recall_at_k FROM recpromo.evaluate_rankings('recs', 'te', k => 10)")
            ndcg, recall = cur.fetchone()
            cur.execute("SELECT measure, value FROM recpromo.exposure_rankings('recs', 'te', 'tr', k => 10)")
            ex = dict(cur.fetchall())
            print(f"{model:8} {lam:6.1f} {ndcg:9.4f} {recall:10.4f} {ex['long_tail_share']:10.4f} "
                  f"{ex['aplt']:7.4f} {ex['gini']:7.4f} {ex['arp']:7.1f} {ms:8.2f}")
    conn.close()
    base.cursor().execute(f"DROP DATABASE {DB}")


if __name__ == "__main__":
    main()
