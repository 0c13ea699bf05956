#!/usr/bin/python3
"""Independent numpy references of recpromo's exposure measures and
re-rankers (issue 13), to 1e-9.

Runs inside a test cluster (libpq variables set) with the extension
installed.  On generated data with a popularity skew:

- exposure() of each model and exposure_rankings() of the same lists (and
  of a table with tied ranks) against numpy: Gini coefficient (as the mean
  absolute difference, sum_ij |x_i - x_j| / (2 n sum x), an independent
  form of the sorted formula the C code uses), long-tail share, APLT, ARP,
  and each item group's exposure and relevance shares;
- the per-group accuracy of evaluate_by_group() against evaluate() run on
  per-group test views;
- recommend() with diversity (MMR), calibration (KL to the customer's
  category mix), a category cap and a minimum group share, for every
  method, against a numpy implementation of the greedy re-ranking, given
  the model's plain scores (recommend() without re-ranking) and its item
  similarities (similar_items(), or the binary cosine of the training
  columns for popularity and user_knn).

Prints "N passed, N failed" last and exits non-zero on any failure.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, fresh_database, report  # noqa: E402

TOL = 1e-9
DB = "recpromo_fairness_ref"
N_USERS, N_ITEMS = 60, 40
ALPHA = 0.01


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TOL * max(1.0, abs(b))


# ---------------------------------------------------------------- references
def gini(x):
    x = np.asarray(x, dtype=float)
    s = x.sum()
    if s == 0:
        return 0.0
    return np.abs(x[:, None] - x[None, :]).sum() / (2.0 * len(x) * s)


def head_set(pop, share, text_ties=False):
    """Items in the head: ceil(share n) most popular, ties by lower key (by
    the key's text for exposure_rankings, which compares keys as text)."""
    keys = sorted(pop)
    order = sorted(keys, key=lambda i: (-pop[i], str(i) if text_ties else i))
    nh = math.ceil(share * len(keys) - 1e-9)
    return set(order[:nh])


def exposure_ref(lists, pop, rel, groups, k, share=0.2, text_ties=False):
    """lists: user -> [(item, weight)] (weights 1, or tie shares);
    pop: item -> training users (the catalogue); rel: user -> set of
    relevant items; groups: group -> set of items."""
    cat = sorted(set(pop) | {i for l in lists.values() for i, _ in l})
    popx = {i: pop.get(i, 0.0) for i in cat}
    head = head_set(popx, share, text_ties)
    x = {i: 0.0 for i in cat}
    slots = tail = aplt = arp = 0.0
    n_lists = 0
    for u, l in lists.items():
        ln = sum(w for _, w in l)
        if ln <= 0:
            continue
        t = sum(w for i, w in l if i not in head)
        p = sum(w * popx[i] for i, w in l)
        for i, w in l:
            x[i] += w
        slots += ln
        tail += t
        aplt += t / ln
        arp += p / ln
        n_lists += 1
    out = {("gini", None): gini([x[i] for i in cat]),
           ("long_tail_share", None): tail / slots,
           ("aplt", None): aplt / n_lists,
           ("arp", None): arp / n_lists}
    listed = [u for u, l in lists.items() if sum(w for _, w in l) > 0]
    rel_pairs = [(u, i) for u in listed for i in rel.get(u, ()) if i in popx]
    for g, items in groups.items():
        out[("exposure_share", g)] = sum(x[i] for i in items if i in x) / slots
        out[("relevant_share", g)] = sum(1 for _, i in rel_pairs if i in items) / len(rel_pairs)
    return out


def greedy_ref(cand, score, n, sim=None, ld=0.0, lc=0.0, cat=None, cap=0, target=None,
               share=0.0, group=None):
    """The re-ranking of rp_fair.h, written from its formulas.  cand: items
    best first; score: their scores; sim(i) -> dict item -> similarity."""
    s = np.array(score, dtype=float)
    smin, smax = s.min(), s.max()
    rel = (s - smin) / (smax - smin) if smax > smin else np.ones_like(s)
    catof = (lambda i: cat.get(i, -1)) if cat is not None else (lambda i: -1)
    cats = sorted({c for c in (cat or {}).values()})
    # reachable count under the cap
    per = {}
    reach = 0
    for i in cand:
        c = catof(i)
        if c == -1 or cap == 0:
            reach += 1
        elif per.get(c, 0) < cap:
            per[c] = per.get(c, 0) + 1
            reach += 1
    K = min(n, reach)
    quota = math.ceil(share * K - 1e-9) if group is not None and share > 0 else 0
    taken = [False] * len(cand)
    per = {}
    maxsim = {}
    out = []
    got = 0

    def kl(counts, total):
        v = 0.0
        for c in cats:
            pc = target.get(c, 0.0)
            if pc <= 0:
                continue
            q = counts.get(c, 0) / total if total > 0 else 0.0
            v += pc * math.log(pc / ((1 - ALPHA) * q + ALPHA * pc))
        return v

    use_cal = lc > 0 and target is not None and cat is not None
    for r in range(K):
        listed = sum(per.values())

        def admissible(j):
            c = catof(cand[j])
            return not taken[j] and (c == -1 or cap == 0 or per.get(c, 0) < cap)
        forced = False
        if group is not None and share > 0 and (got < math.floor(share * (r + 1) + 1e-9) or quota - got >= K - r):
            forced = any(admissible(j) and cand[j] in group for j in range(len(cand)))
        best, best_obj = None, None
        for j in range(len(cand)):
            if not admissible(j) or (forced and cand[j] not in group):
                continue
            obj = (1 - ld - lc) * rel[j]
            if ld > 0:
                obj -= ld * maxsim.get(cand[j], 0.0)
            if use_cal:
                c = catof(cand[j])
                cnt = dict(per)
                if c != -1:
                    cnt[c] = cnt.get(c, 0) + 1
                obj -= lc * kl(cnt, listed + (1 if c != -1 else 0))
            if best is None or obj > best_obj:
                best, best_obj = j, obj
        if best is None:
            break
        it = cand[best]
        taken[best] = True
        out.append(it)
        c = catof(it)
        if c != -1:
            per[c] = per.get(c, 0) + 1
        if group is not None and it in group:
            got += 1
        if ld > 0:
            row = sim(it)
            for i2, v in row.items():
                if len(out) == 1 or v > maxsim.get(i2, -math.inf):
                    maxsim[i2] = v
    return out


# ---------------------------------------------------------------- data
def make_data():
    rng = np.random.default_rng(13)
    pop_w = 1.0 / np.arange(1, N_ITEMS + 1) ** 1.1          # Zipf-like skew
    pop_w /= pop_w.sum()
    train, test = set(), set()
    for u in range(1, N_USERS + 1):
        m = rng.integers(4, 12)
        items = rng.choice(N_ITEMS, size=m, replace=False, p=pop_w) + 1
        for a, i in enumerate(items):
            (test if a < 2 else train).add((u, int(i)))
    test -= train
    # a few test users unknown to the models
    test |= {(N_USERS + 1, 1), (N_USERS + 2, 5)}
    return sorted(train), sorted(test)


def main():
    admin, conn = fresh_database(DB)
    cur = conn.cursor()
    train, test = make_data()
    cur.execute("CREATE TABLE tr (user_id int, item_id int)")
    cur.execute("CREATE TABLE te (user_id int, item_id int)")
    cur.executemany("INSERT INTO tr VALUES (%s, %s)", train)
    cur.executemany("INSERT INTO te VALUES (%s, %s)", test)
    cat = {i: "c%d" % (i % 4) for i in range(1, N_ITEMS + 1) if i % 9 != 0}   # some uncategorised
    cur.execute("CREATE TABLE cats (item_id int, category text)")
    cur.executemany("INSERT INTO cats VALUES (%s, %s)", sorted(cat.items()))
    groups = {"brand a": {i for i in range(1, N_ITEMS + 1) if i % 5 == 0},
              "brand b": {i for i in range(1, N_ITEMS + 1) if i % 5 != 0},
              "small": {1, 2, 3}}
    cur.execute("CREATE TABLE grp (item_id int, item_group text)")
    cur.executemany("INSERT INTO grp VALUES (%s, %s)", [(i, g) for g, s in groups.items() for i in sorted(s)])
    models = {"m_pop": "popularity", "m_iknn": "item_knn", "m_uknn": "user_knn", "m_als": "als",
              "m_ease": "ease"}
    for name, method in models.items():
        extra = ", factors => 4, seed => 1, iterations => 5" if method == "als" else ""
        cur.execute(f"SELECT recpromo.train('{name}', 'tr', 'user_id', 'item_id', method => '{method}'{extra})")

    pop = {}
    seen = {}
    for u, i in train:
        pop[i] = pop.get(i, 0) + 1
        seen.setdefault(u, set()).add(i)
    rel = {}
    for u, i in test:
        if i not in seen.get(u, set()):
            rel.setdefault(u, set()).add(i)
    k = 5

    # ---- exposure of each model's lists
    for name in models:
        known = sorted(u for u in rel if u in seen)
        lists = {}
        for u in known:
            cur.execute("SELECT item FROM recpromo.recommend(%s, %s, %s) ORDER BY rank", (u, k, name))
            lists[u] = [(r[0], 1.0) for r in cur.fetchall()]
        ref = exposure_ref(lists, pop, rel, groups, k)
        cur.execute("SELECT measure, item_group, value FROM recpromo.exposure(%s, 'te', k => %s, "
                    "item_groups => 'grp')", (name, k))
        got = {(m, g): v for m, g, v in cur.fetchall()}
        check(f"exposure {name}: same measures", set(got) == set(ref), f"{sorted(got)} vs {sorted(ref)}")
        for key, v in ref.items():
            check(f"exposure {name} {key}", close(got.get(key), v), f"{got.get(key)} vs {v}")
        # the same lists as a table
        cur.execute("DROP TABLE IF EXISTS recs")
        cur.execute("CREATE TABLE recs (user_id int, item_id int, rank int)")
        cur.executemany("INSERT INTO recs VALUES (%s, %s, %s)",
                        [(u, i, r + 1) for u, l in lists.items() for r, (i, _) in enumerate(l)])
        cur.execute("SELECT measure, item_group, value FROM recpromo.exposure_rankings('recs', 'te', 'tr', "
                    "k => %s, item_groups => 'grp')", (k,))
        got = {(m, g): v for m, g, v in cur.fetchall()}
        for key, v in ref.items():
            check(f"exposure_rankings {name} {key}", close(got.get(key), v), f"{got.get(key)} vs {v}")

    # ---- exposure_rankings with ties: each user ranks 6 items, ranks 4, 5, 5, 5 straddle k = 5
    rng = np.random.default_rng(7)
    rows, lists = [], {}
    for u in sorted(rel):
        items = [int(x) + 1 for x in rng.choice(N_ITEMS, size=6, replace=False)]
        ranks = [1, 2, 3, 4, 5, 5] if u % 2 else [1, 2, 2, 4, 4, 6]
        rows += [(u, i, r) for i, r in zip(items, ranks)]
        w = []
        for i, r in zip(items, ranks):
            start = 1 + sum(1 for r2 in ranks if r2 < r)
            m = sum(1 for r2 in ranks if r2 == r)
            w.append((i, max(0, min(m, k - start + 1)) / m))
        lists[u] = [x for x in w if x[1] > 0]
    cur.execute("DROP TABLE IF EXISTS recs_t")
    cur.execute("CREATE TABLE recs_t (user_id int, item_id int, rank int)")
    cur.executemany("INSERT INTO recs_t VALUES (%s, %s, %s)", rows)
    # relevant: all test items of the user (exposure_rankings does not know "seen")
    rel_all = {}
    for u, i in test:
        rel_all.setdefault(u, set()).add(i)
    ref = exposure_ref(lists, pop, rel_all, groups, k)
    cur.execute("SELECT measure, item_group, value FROM recpromo.exposure_rankings('recs_t', 'te', 'tr', "
                "k => %s, item_groups => 'grp')", (k,))
    got = {(m, g): v for m, g, v in cur.fetchall()}
    for key, v in ref.items():
        check(f"exposure_rankings ties {key}", close(got.get(key), v), f"{got.get(key)} vs {v}")
    # head_share
    for share in (0.0, 0.5, 1.0):
        r2 = exposure_ref(lists, pop, rel_all, groups, k, share, text_ties=True)
        cur.execute("SELECT value FROM recpromo.exposure_rankings('recs_t', 'te', 'tr', k => %s, head_share => %s) "
                    "WHERE measure = 'long_tail_share'", (k, share))
        v = cur.fetchone()[0]
        check(f"long tail share, head_share {share}", close(v, r2[("long_tail_share", None)]),
              f"{v} vs {r2[('long_tail_share', None)]}")

    # ---- evaluate_by_group against evaluate() on per-group views
    cur.execute("CREATE TABLE ug (user_id int, user_group text)")
    cur.executemany("INSERT INTO ug VALUES (%s, %s)",
                    [(u, "new" if u <= 20 else "returning") for u in range(1, 51)])
    cur.execute("SELECT user_group, users_evaluated, precision_at_k, recall_at_k, ndcg_at_k, map_at_k, "
                "hit_rate_at_k, mrr_at_k FROM recpromo.evaluate_by_group('m_iknn', 'te', 'ug', k => 5)")
    by = {r[0]: r[1:] for r in cur.fetchall()}
    for g, cond in (("new", "user_id <= 20"), ("returning", "user_id BETWEEN 21 AND 50"),
                    (None, "user_id > 50")):
        cur.execute(f"CREATE OR REPLACE VIEW te_g AS SELECT * FROM te WHERE {cond}")
        cur.execute("SELECT users_evaluated, precision_at_k, recall_at_k, ndcg_at_k, map_at_k, hit_rate_at_k, "
                    "mrr_at_k FROM recpromo.evaluate('m_iknn', 'te_g', k => 5)")
        e = cur.fetchone()
        ok = g in by and by[g][0] == e[0] and all(close(a, b) for a, b in zip(by[g][1:], e[1:]))
        check(f"evaluate_by_group {g}", ok, f"{by.get(g)} vs {e}")

    # ---- re-ranking
    def bincos(i):
        ui = {u for u, s in seen.items() if i in s}
        row = {}
        for j in range(1, N_ITEMS + 1):
            uj = {u for u, s in seen.items() if j in s}
            d = len(ui) * len(uj)
            row[j] = len(ui & uj) / math.sqrt(d) if d > 0 else 0.0
        return row

    simcache = {}

    def model_sim(name):
        def f(i):
            if (name, i) in simcache:
                return simcache[(name, i)]
            if models[name] in ("popularity", "user_knn"):
                row = bincos(i)
            else:
                cur.execute("SELECT item, similarity FROM recpromo.similar_items(%s, %s, %s)",
                            (i, N_ITEMS, name))
                row = {j: 0.0 for j in range(1, N_ITEMS + 1)}
                row.update({a: b for a, b in cur.fetchall()})
                row[i] = 0.0
                if models[name] == "ease":
                    mx = max(abs(v) for j, v in row.items() if j != i)
                    row = {j: (v / mx if mx > 0 else 0.0) for j, v in row.items()}
                    # the item's own entry: B[i, i] = 0 in EASE
                else:
                    row = {j: max(-1.0, min(1.0, v)) for j, v in row.items()}
            simcache[(name, i)] = row
            return row
        return f

    catidx = {i: c for i, c in cat.items()}
    group_items = groups["brand a"]
    cases = [dict(ld=0.2), dict(ld=0.5), dict(ld=0.8), dict(lc=0.5), dict(lc=0.9),
             dict(ld=0.3, lc=0.3, cap=2, share=0.4), dict(share=0.5), dict(ld=0.5, cap=1)]
    for name in models:
        for u in (1, 7, 23, 999):
            cur.execute("SELECT item, score FROM recpromo.recommend(%s, %s, %s) ORDER BY rank",
                        (u, N_ITEMS, name))
            plain = cur.fetchall()
            cand = [r[0] for r in plain]
            sc = [r[1] for r in plain]
            hist = seen.get(u, set())
            mix = {}
            for i in hist:
                if i in catidx:
                    mix[catidx[i]] = mix.get(catidx[i], 0) + 1
            tot = sum(mix.values())
            target = {c: v / tot for c, v in mix.items()} if tot else {}
            for case in cases:
                ld, lc = case.get("ld", 0.0), case.get("lc", 0.0)
                cap, share = case.get("cap", 0), case.get("share", 0.0)
                n = 8
                ref = greedy_ref(cand, sc, n, sim=model_sim(name), ld=ld, lc=lc,
                                 cat=catidx if (lc > 0 or cap > 0) else None, cap=cap, target=target,
                                 share=share, group=group_items if share > 0 else None)
                args = ["%s", "%s", "%s"]
                vals = [u, n, name]
                if ld > 0:
                    args.append("diversity => %s")
                    vals.append(ld)
                if lc > 0:
                    args.append("calibration => %s")
                    vals.append(lc)
                if lc > 0 or cap > 0:
                    args.append("categories => 'cats'")
                if cap > 0:
                    args.append("max_per_category => %s")
                    vals.append(cap)
                if share > 0:
                    args.append("min_share => %s, share_items => %s")
                    vals += [share, sorted(group_items)]
                cur.execute(f"SELECT item, score FROM recpromo.recommend({', '.join(args)}) ORDER BY rank", vals)
                rows = cur.fetchall()
                got = [r[0] for r in rows]
                scmap = dict(zip(cand, sc))
                check(f"rerank {name} user {u} {case}", got == ref, f"{got} vs {ref}")
                check(f"rerank {name} user {u} {case}: scores are the model's",
                      all(close(s, scmap[i]) for i, s in rows))
                # exactly min(n, admissible)
                if cap > 0:
                    per = {}
                    adm = 0
                    for i in cand:
                        c = catidx.get(i, -1)
                        if c == -1:
                            adm += 1
                        elif per.get(c, 0) < cap:
                            per[c] = per.get(c, 0) + 1
                            adm += 1
                else:
                    adm = len(cand)
                check(f"rerank {name} user {u} {case}: min(n, eligible) rows", len(got) == min(n, adm),
                      f"{len(got)} vs {min(n, adm)}")

    conn.close()
    admin.cursor().execute(f"DROP DATABASE {DB}")
    return report()


if __name__ == "__main__":
    sys.exit(main())
