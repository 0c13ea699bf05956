#!/usr/bin/python3
"""Independent reference checks of recpromo's evaluation functions.

Runs inside a test cluster (PGHOST/PGPORT/PGUSER/PGDATABASE set) with the
extension installed.  Every figure recpromo computes is recomputed here with
numpy, pandas and scikit-learn and must agree to 1e-9:

- ranking_metrics on strict lists (textbook formulas), on lists with ties
  (exact average over every order of the tied items) and NDCG against
  sklearn.metrics.ndcg_score (ignore_ties=False: the same tie averaging,
  ideal DCG over min(k, |R|));
- evaluate_rankings over a generated table of rankings, every column;
- evaluate() of a popularity model, re-ranked here from the raw rows;
- split_position / in_test_set against this file's implementation of the
  documented hash; time_split against pandas.

Prints "N passed, N failed" last and exits non-zero on any failure.
"""
import itertools
import math
import os
import sys

import numpy as np
import pandas as pd
import psycopg2
from sklearn.metrics import ndcg_score

TOL = 1e-9
passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TOL * max(1.0, abs(b))


# ---------------------------------------------------------------- references
def strict_metrics(rel, n_rel, k):
    """Textbook metrics of a strict list (rel: 0/1 in rank order)."""
    rel = np.asarray(rel[:k], dtype=float)
    pos = np.arange(1, len(rel) + 1)
    hits = rel.sum()
    disc = 1.0 / np.log2(pos + 1)
    ideal = min(k, n_rel)
    idcg = (1.0 / np.log2(np.arange(1, ideal + 1) + 1)).sum()
    cum = np.cumsum(rel)
    ap = float((rel * cum / pos).sum() / ideal)
    first = np.nonzero(rel)[0]
    p = hits / k
    r = hits / n_rel
    return dict(hits=hits, precision=p, recall=r,
                f1=(2 * p * r / (p + r)) if hits > 0 else 0.0,
                ndcg=float((rel * disc).sum() / idcg), average_precision=ap,
                hit=float(hits > 0),
                reciprocal_rank=(1.0 / (first[0] + 1)) if len(first) else 0.0)


def tied_metrics(ranks, rel, n_rel, k):
    """Average of strict_metrics over every order of the tied entries."""
    order = np.argsort(ranks, kind="stable")
    ranks = np.asarray(ranks)[order]
    rel = np.asarray(rel)[order]
    groups = [list(g) for _, g in itertools.groupby(range(len(ranks)), key=lambda i: ranks[i])]
    total = None
    count = 0
    for perms in itertools.product(*[itertools.permutations(g) for g in groups]):
        seq = [rel[i] for p in perms for i in p]
        m = strict_metrics(seq, n_rel, k)
        total = m if total is None else {a: total[a] + m[a] for a in m}
        count += 1
    return {a: v / count for a, v in total.items()}


# --------------------------------------------------------------- split hash
M64 = (1 << 64) - 1


def split_position(u, i, seed=0):
    h = 0xcbf29ce484222325
    for b in str(u).encode() + b"\0" + str(i).encode():
        h = ((h ^ b) * 0x100000001b3) & M64
    h ^= (seed * 0x9E3779B97F4A7C15) & M64
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & M64
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & M64
    h ^= h >> 31
    return (h >> 11) / float(1 << 53)


COLS = ["precision", "recall", "f1", "ndcg", "average_precision", "hit", "reciprocal_rank"]


def main():
    base = psycopg2.connect("")
    base.autocommit = True
    db = "recpromo_ref_metrics"
    with base.cursor() as c:
        c.execute(f"DROP DATABASE IF EXISTS {db}")
        c.execute(f"CREATE DATABASE {db}")
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = True
    cur = conn.cursor()
    try:
        cur.execute("CREATE EXTENSION recpromo")
        cur.execute("SET search_path = recpromo, public")
        cur.execute("SET client_min_messages = warning")
        run(cur)
    finally:
        conn.close()
        with base.cursor() as c:
            c.execute(f"DROP DATABASE IF EXISTS {db}")
        base.close()


def sql_metrics(cur, ranks, rel, n_rel, k):
    cur.execute("SELECT hits, precision, recall, f1, ndcg, average_precision, hit, reciprocal_rank"
                " FROM ranking_metrics(%s::float8[], %s::boolean[], %s, %s)",
                ([float(x) for x in ranks], [bool(x) for x in rel], int(n_rel), int(k)))
    row = cur.fetchone()
    return dict(zip(["hits"] + COLS, row))


def run(cur):
    rng = np.random.default_rng(20261129)

    # 1. strict lists, textbook formulas
    bad = 0
    for _ in range(300):
        n = int(rng.integers(0, 30))
        k = int(rng.integers(1, 25))
        rel = rng.random(n) < 0.3
        n_rel = int(rel.sum() + rng.integers(0, 4)) or 1
        got = sql_metrics(cur, np.arange(1, n + 1), rel, n_rel, k)
        want = strict_metrics(rel.astype(float), n_rel, k)
        bad += sum(not close(got[a], want[a]) for a in want)
    check("strict lists vs textbook formulas (300 lists)", bad == 0, f"{bad} mismatches")

    # 2. ties: exact expectation over the orders of tied entries
    bad = 0
    for _ in range(200):
        n = int(rng.integers(1, 8))
        k = int(rng.integers(1, 9))
        ranks = np.sort(rng.integers(1, 4, size=n))
        rel = rng.random(n) < 0.4
        n_rel = int(rel.sum() + rng.integers(0, 3)) or 1
        perm = rng.permutation(n)			# array order must not matter
        got = sql_metrics(cur, ranks[perm], rel[perm], n_rel, k)
        want = tied_metrics(ranks, rel.astype(float), n_rel, k)
        bad += sum(not close(got[a], want[a]) for a in want)
    check("tied lists vs enumeration of tie orders (200 lists)", bad == 0, f"{bad} mismatches")

    # 3. NDCG vs scikit-learn (lists at least k long, so unrecommended
    #    relevant items never enter the top k)
    bad = 0
    for _ in range(300):
        k = int(rng.integers(1, 15))
        n = k + int(rng.integers(0, 10))
        ranks = rng.integers(1, n + 1, size=n)	# ties likely
        rel = rng.random(n) < 0.3
        extra = int(rng.integers(0, 4))
        n_rel = int(rel.sum()) + extra
        if n_rel == 0:
            continue
        y_true = np.concatenate([rel.astype(float), np.ones(extra)])
        y_score = np.concatenate([-ranks.astype(float), np.full(extra, -1e9)])
        want = ndcg_score(y_true[None, :], y_score[None, :], k=k, ignore_ties=False) \
            if len(y_true) > 1 else 1.0 * rel[0]
        got = sql_metrics(cur, ranks, rel, n_rel, k)["ndcg"]
        bad += not close(got, want)
    check("NDCG vs sklearn.metrics.ndcg_score with ties (300 lists)", bad == 0, f"{bad} mismatches")

    # 4. evaluate_rankings: a generated ranking table, every column
    users, items, k = 400, 60, 10
    test_rows, rec_rows, train_rows = [], [], []
    for u in range(users):
        for i in rng.choice(items, size=int(rng.integers(1, 6)), replace=False):
            test_rows.append((u, int(i), float(rng.integers(1, 6))))
        if u % 17 == 0:
            continue			# no ranking: unknown
        ln = int(rng.integers(3, 15))
        for pos, i in enumerate(rng.choice(items, size=ln, replace=False)):
            rec_rows.append((u, int(i), int(pos // 2 + 1) if u % 3 == 0 else pos + 1))
        for i in rng.choice(items, size=int(rng.integers(1, 8)), replace=False):
            train_rows.append((u, int(i)))
    for u in range(users, users + 20):			# only in the rankings
        rec_rows.append((u, 1, 1))
    cur.execute("CREATE TABLE r_test (user_id int, item_id int, rating float8)")
    cur.execute("CREATE TABLE r_recs (user_id int, item_id int, rank int)")
    cur.execute("CREATE TABLE r_train (user_id int, item_id int)")
    cur.executemany("INSERT INTO r_test VALUES (%s, %s, %s)", test_rows)
    cur.executemany("INSERT INTO r_recs VALUES (%s, %s, %s)", rec_rows)
    cur.executemany("INSERT INTO r_train VALUES (%s, %s)", train_rows)
    test = pd.DataFrame(test_rows, columns=["u", "i", "r"])
    recs = pd.DataFrame(rec_rows, columns=["u", "i", "rank"])
    train = pd.DataFrame(train_rows, columns=["u", "i"])
    pop = train.drop_duplicates().groupby("i").size()
    for thr in (None, 3.0):
        rel = test if thr is None else test[test.r >= thr]
        rel_sets = rel.groupby("u").i.apply(set).to_dict()
        per_user = []
        exposure = {}
        unknown = 0
        for u in sorted(test.u.unique()):
            if u not in rel_sets:
                continue
            lst = recs[recs.u == u].sort_values("rank")
            if lst.empty:
                unknown += 1
                continue
            ranks = lst["rank"].to_numpy()
            flags = np.array([i in rel_sets[u] for i in lst.i])
            if len(set(ranks)) < len(ranks):
                per_user.append(tied_metrics(ranks, flags.astype(float), len(rel_sets[u]), k))
            else:
                per_user.append(strict_metrics(flags.astype(float), len(rel_sets[u]), k))
            # top-k weights: a tie group straddling k is shared out
            for rk, grp in lst.groupby("rank"):
                start = int((ranks < rk).sum())
                s = max(0, min(len(grp), k - start))
                for i in grp.i:
                    exposure[i] = exposure.get(i, 0.0) + s / len(grp)
        want = {a: np.mean([m[a] for m in per_user]) for a in COLS}
        cat = set(pop.index)
        want_cov = sum(1 for i, e in exposure.items() if e > 0 and i in cat) / len(cat)
        slots = sum(exposure.values())
        want_prec = sum(e * pop.get(i, 0) for i, e in exposure.items()) / slots
        want_pcat = float(pop.mean())
        cur.execute("SELECT users_evaluated, users_skipped_no_test, users_skipped_unknown,"
                    " precision_at_k, recall_at_k, f1_at_k, ndcg_at_k, map_at_k, hit_rate_at_k, mrr_at_k,"
                    " coverage, popularity_recommended, popularity_catalogue, popularity_bias"
                    " FROM evaluate_rankings('r_recs', 'r_test', k => %s, rating_col => 'rating',"
                    " relevance_threshold => %s, train => 'r_train')", (k, thr))
        row = cur.fetchone()
        n_test_users = test.u.nunique()
        ok = (row[0] == len(per_user) and row[1] == n_test_users - len(rel_sets)
              and row[2] == unknown)
        check(f"evaluate_rankings user counts (threshold {thr})", ok, str(row[:3]))
        got = dict(zip(COLS, row[3:10]))
        bad = [a for a in COLS if not close(got[a], want[a])]
        check(f"evaluate_rankings metrics (threshold {thr})", not bad,
              str([(a, got[a], want[a]) for a in bad]))
        ok = (close(row[10], want_cov) and close(row[11], want_prec) and close(row[12], want_pcat)
              and close(row[13], want_prec / want_pcat))
        check(f"evaluate_rankings coverage and popularity (threshold {thr})", ok,
              str((row[10:], want_cov, want_prec, want_pcat)))

    # 5. evaluate() of a popularity model, re-ranked from the raw rows here
    n_users, n_items, k = 300, 80, 5
    tr, te = [], []
    w = 1.0 / np.arange(1, n_items + 1) ** 0.8
    w /= w.sum()
    for u in range(n_users):
        bought = rng.choice(n_items, size=int(rng.integers(1, 12)), replace=False, p=w)
        for j, i in enumerate(bought):
            (te if split_position(u, int(i), 5) < 0.25 else tr).append((u, int(i), float(j + 1)))
    for u in range(n_users, n_users + 10):
        te.append((u, 0, 1.0))				# unknown users
    cur.execute("CREATE TABLE p_train (user_id int, item_id int, qty float8)")
    cur.execute("CREATE TABLE p_test (user_id int, item_id int, qty float8)")
    cur.executemany("INSERT INTO p_train VALUES (%s, %s, %s)", tr)
    cur.executemany("INSERT INTO p_test VALUES (%s, %s, %s)", te)
    cur.execute("SELECT count(*) FROM train('p_pop', 'p_train', 'user_id', 'item_id', method => 'popularity')")
    trd = pd.DataFrame(tr, columns=["u", "i", "q"])
    ted = pd.DataFrame(te, columns=["u", "i", "q"])
    popc = trd.groupby("i").u.nunique()
    cat_items = np.array(sorted(popc.index))
    seen = trd.groupby("u").i.apply(set).to_dict()
    per_user, exposure, skipped_no, skipped_unk = [], {}, 0, 0
    for u in sorted(ted.u.unique()):
        relset = set(ted[ted.u == u].i) - seen.get(u, set())
        if not relset:
            skipped_no += 1
            continue
        if u not in seen:
            skipped_unk += 1
            continue
        cand = [i for i in cat_items if i not in seen[u]]
        cand.sort(key=lambda i: (-popc[i], i))		# recommend(): ties by key
        top = cand[:k]
        for i in top:
            exposure[i] = exposure.get(i, 0) + 1
        per_user.append(strict_metrics([float(i in relset) for i in top], len(relset), k))
    cur.execute("SELECT users_evaluated, users_skipped_no_test, users_skipped_unknown,"
                " precision_at_k, recall_at_k, f1_at_k, ndcg_at_k, map_at_k, hit_rate_at_k, mrr_at_k,"
                " coverage, popularity_recommended, popularity_catalogue"
                " FROM evaluate('p_pop', 'p_test', 'user_id', 'item_id', k => %s)", (k,))
    row = cur.fetchone()
    check("evaluate() user counts", row[:3] == (len(per_user), skipped_no, skipped_unk),
          str((row[:3], len(per_user), skipped_no, skipped_unk)))
    want = {a: np.mean([m[a] for m in per_user]) for a in COLS}
    got = dict(zip(COLS, row[3:10]))
    bad = [a for a in COLS if not close(got[a], want[a])]
    check("evaluate() metrics vs re-ranking in pandas", not bad, str([(a, got[a], want[a]) for a in bad]))
    slots = sum(exposure.values())
    ok = (close(row[10], len(exposure) / len(cat_items))
          and close(row[11], sum(e * popc[i] for i, e in exposure.items()) / slots)
          and close(row[12], float(popc.mean())))
    check("evaluate() coverage and popularity", ok, str(row[10:]))

    # 6. the split hash, integer and text keys, several seeds
    keys = [(u, i, s) for u in (0, 1, 42, -7, 123456789012) for i in (0, 3, 99999) for s in (0, 1, -5)]
    texts = [("c1", "85123A", 0), ("ü", "ß€", 3), ("", "x", 9)]
    bad = 0
    for u, i, s in keys:
        cur.execute("SELECT split_position(%s::bigint, %s::int, %s)", (u, i, s))
        bad += cur.fetchone()[0] != split_position(u, i, s)
    for u, i, s in texts:
        cur.execute("SELECT split_position(%s::text, %s::text, %s)", (u, i, s))
        bad += cur.fetchone()[0] != split_position(u, i, s)
    check("split_position vs Python implementation of the documented hash", bad == 0, f"{bad} differ")
    cur.execute("SELECT count(*) FILTER (WHERE in_test_set(u, i, 0.3, 11))"
                " FROM generate_series(1, 200) u, generate_series(1, 50) i")
    want = sum(split_position(u, i, 11) < 0.3 for u in range(1, 201) for i in range(1, 51))
    check("in_test_set count vs Python", cur.fetchone()[0] == want)

    # 7. time_split vs pandas
    rows = []
    for u in range(200):
        for _ in range(int(rng.integers(1, 9))):
            rows.append((u, int(rng.integers(0, 50)), int(rng.integers(0, 6))))
    cur.execute("CREATE TABLE t_rows (user_id int, item_id int, day int)")
    cur.executemany("INSERT INTO t_rows VALUES (%s, %s, %s)", rows)
    df = pd.DataFrame(rows, columns=["u", "i", "d"])
    for hold in (1, 2):
        dr = df.groupby("u").d.rank(method="dense", ascending=False)
        nd = df.groupby("u").d.transform("nunique")
        want = int(((dr <= hold) & (nd > hold)).sum())
        cur.execute("SELECT count(*) FILTER (WHERE is_test) FROM time_split(NULL::t_rows, 'user_id', 'day', %s)",
                    (hold,))
        got = cur.fetchone()[0]
        check(f"time_split holdout {hold} vs pandas", got == want, f"{got} != {want}")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:			# a crash counts as a failure
        failed += 1
        print(f"FAIL exception: {e!r}")
    print(f"test_metrics.py: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
