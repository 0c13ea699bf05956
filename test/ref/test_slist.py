#!/usr/bin/python3
"""Numpy reference of the slist method (SLIST, Choi et al. 2021) and its serving.

Runs inside a test cluster (libpq variables set) with the extension
installable.  Generates (session, item, time) rows with a fixed seed: times
with ties (events of one time are one step, as the lines of an invoice),
repeated items, sessions of one event.  For several hyper-parameter sets
(alpha, lambda, pos_decay, time_decay, max_diagonal) it trains slist and
recomputes B here from the raw rows with dense numpy algebra:

    X: sessions x items, 1 where the session holds the item;
    per step t but the last of a session: source row S_t (items of steps
      k <= t, weight exp(-(t-k)/pos_decay)), target row T_t (items of steps
      k > t, weight exp(-(k-t)/pos_decay)); an item keeps its largest
      weight; steps farther than floor(pos_decay * ln 1e6) left out;
    w_s = exp(-(t_max - t_s)/time_decay) (1 when time_decay = 0) on every
      row of session s;
    P = (alpha X'WX + (1-alpha) S'WS + lambda I)^-1,
    B = P (alpha X'WX + (1-alpha) S'WT - diag(mu)),
      mu_j = max(0, ((P C)_jj - xi)/P_jj) with max_diagonal xi, else 0.

Every entry of B (read through recommend_for_items of one item, the
diagonal included) must agree to 1e-8; alpha = 1 with max_diagonal 0 must
equal ease on 0/1 interactions.  Serving: recommend_for_session is the
recency-weighted sum (p / L, a repeated item keeps its latest position,
unknown items skipped); recommend() of a known session equals
recommend_for_session of its stored sequence; explain's contributions sum
to predict(); evaluate_sessions against a numpy recomputation; the shared
cache serves what the per-backend path serves; forget_user equals a
retrain without the session (1e-8); bad input gives clean errors (missing
or wrong time_col, out-of-range parameters, NULL or empty sessions,
n <= 0, the memory limit: SQLSTATE 54000 (as every recpromo.memory_limit refusal) with a hint naming the sparse
models).  Prints "N passed, N failed" last and exits non-zero on any
failure.
"""
import json
import math
import os
import sys

import numpy as np
import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, connect, fresh_database, report  # noqa: E402

TOL = 1e-8
DB = "rp_slist_ref"
SECRET = "slist-reference-test-secret-0123456789"

rng = np.random.default_rng(2021)
N_SESS, N_ITEMS = 70, 24
rows = []
for s in range(1, N_SESS + 1):
    nsteps = int(rng.integers(1, 6))
    t = int(rng.integers(0, 50))
    base = (s % 4) * 5
    for _ in range(nsteps):
        for _ in range(int(rng.integers(1, 4))):
            rows.append((s, int(base + rng.integers(0, 9)) % N_ITEMS + 1, t))
        t += int(rng.integers(1, 30))
# a session of one event, and a repeated item at two steps
rows.append((N_SESS + 1, 3, 10))
rows += [(N_SESS + 2, 5, 1), (N_SESS + 2, 6, 2), (N_SESS + 2, 5, 3)]


def q(cur, sql, args=None):
    cur.execute(sql, args)
    try:
        return cur.fetchall()
    except psycopg2.ProgrammingError:
        return None


def reference(rows, alpha, lam, pos_decay, time_decay, xi):
    """B (items x items, keys ascending) from the raw rows."""
    items = sorted({i for _, i, _ in rows})
    ix = {k: n for n, k in enumerate(items)}
    n = len(items)
    sess = {}
    for s, i, t in rows:
        sess.setdefault(s, []).append((t, ix[i]))
    tmax = max(t for _, _, t in rows)
    D = math.floor(pos_decay * math.log(1e6))
    xrows, srows, trows, wx, wp = [], [], [], [], []
    for s in sorted(sess):
        ev = sorted(sess[s])
        w = math.exp(-(tmax - ev[-1][0]) / time_decay) if time_decay > 0 else 1.0
        x = np.zeros(n)
        for _, i in ev:
            x[i] = 1.0
        xrows.append(x)
        wx.append(w)
        times = sorted({t for t, _ in ev})
        steps = [[i for tt, i in ev if tt == t] for t in times]
        for t in range(len(steps) - 1):
            src, tgt = np.zeros(n), np.zeros(n)
            for k in range(len(steps)):
                d = abs(k - t)
                if d > D:
                    continue
                v = math.exp(-d / pos_decay)
                for i in steps[k]:
                    if k <= t:
                        src[i] = max(src[i], v)
                    else:
                        tgt[i] = max(tgt[i], v)
            srows.append(src)
            trows.append(tgt)
            wp.append(w)
    X = np.array(xrows)
    S = np.array(srows).reshape(-1, n)
    T = np.array(trows).reshape(-1, n)
    Wx = np.diag(wx)
    Wp = np.diag(wp)
    G = alpha * X.T @ Wx @ X + (1 - alpha) * S.T @ Wp @ S + lam * np.eye(n)
    C = alpha * X.T @ Wx @ X + (1 - alpha) * S.T @ Wp @ T
    P = np.linalg.inv(G)
    if xi is not None:
        d = np.einsum('jk,kj->j', P, C)
        mu = np.maximum(0.0, (d - xi) / np.diag(P))
        C = C - np.diag(mu)
    return items, P @ C


def model_b(cur, model, items):
    """B as served: row i = recommend_for_items(ARRAY[i], all, exclude_input => false)."""
    n = len(items)
    B = np.full((n, n), np.nan)
    ix = {k: z for z, k in enumerate(items)}
    for a, i in enumerate(items):
        for item, score in q(cur, "SELECT item, score FROM recpromo.recommend_for_items(ARRAY[%s], %s, "
                                  "model => %s, exclude_input => false)", (i, n, model)):
            B[a, ix[item]] = score
    return B


def weights(seq):
    """Recency weights p / L of a session (unknown items already removed)."""
    L = len(seq)
    w = {}
    for p, i in enumerate(seq, 1):
        w[i] = p / L
    return w


def session_scores(B, items, seq):
    ix = {k: z for z, k in enumerate(items)}
    known = [i for i in seq if i in ix]
    sc = np.zeros(len(items))
    for i, w in weights(known).items():
        sc += w * B[ix[i]]
    return sc


def train(cur, name, params, source="ev"):
    p = dict(params, time_col="t")
    q(cur, "SELECT 1 FROM recpromo.train(%s, %s, 'sess', 'item', method => 'slist', params => %s::jsonb)",
      (name, source, json.dumps(p)))


def sqlstate(cur, sql, args=None):
    try:
        cur.execute(sql, args)
        cur.fetchall()
        return None, None, None
    except psycopg2.Error as e:
        return e.pgcode, e.pgerror, e.diag.message_hint


def main():
    admin, conn = fresh_database(DB)
    cur = conn.cursor()
    q(cur, "CREATE TABLE ev (sess int, item int, t int)")
    cur.executemany("INSERT INTO ev VALUES (%s, %s, %s)", rows)

    configs = [
        dict(alpha=0.2, **{"lambda": 10.0}),
        dict(alpha=0.5, pos_decay=2.5, time_decay=40.0, **{"lambda": 3.0}),
        dict(alpha=0.0, pos_decay=0.5, max_diagonal=0.1, **{"lambda": 1.0}),
        dict(alpha=0.7, pos_decay=100.0, max_diagonal=-0.05, **{"lambda": 2.0}),
        dict(alpha=1.0, max_diagonal=0.0, **{"lambda": 5.0}),
    ]
    for c, params in enumerate(configs):
        name = "sl%d" % c
        train(cur, name, params)
        items, Bref = reference(rows, params["alpha"], params["lambda"], params.get("pos_decay", 1.0),
                                params.get("time_decay", 0.0), params.get("max_diagonal"))
        B = model_b(cur, name, items)
        err = np.nanmax(np.abs(B - Bref)) if not np.isnan(B).all() else np.inf
        check("B of %s" % json.dumps(params), not np.isnan(B).any() and err < TOL, "max error %g" % err)

    # alpha = 1, max_diagonal = 0: EASE on 0/1 interactions
    q(cur, "CREATE TABLE ev01 AS SELECT DISTINCT sess, item FROM ev")
    q(cur, "SELECT 1 FROM recpromo.train('e01', 'ev01', 'sess', 'item', method => 'ease', params => '{\"lambda\": 5}')")
    items = sorted({i for _, i, _ in rows})
    Be = model_b(cur, "e01", items)
    Bs = model_b(cur, "sl4", items)
    # ease's B is float4 when served: compare at its precision
    check("alpha 1, max_diagonal 0 equals ease", np.nanmax(np.abs(Be - Bs)) < 1e-6,
          "max difference %g" % np.nanmax(np.abs(Be - Bs)))

    # serving of sl1
    items, Bref = reference(rows, 0.5, 3.0, 2.5, 40.0, None)
    n = len(items)
    for seq in ([3, 7, 3, 12], [20, 999, 1, 2, 1], [8]):
        got = dict(q(cur, "SELECT item, score FROM recpromo.recommend_for_session(%s, %s, model => 'sl1', "
                          "exclude_input => false)", (seq, n)))
        ref = session_scores(Bref, items, seq)
        err = max(abs(got[k] - ref[z]) for z, k in enumerate(items))
        check("recommend_for_session %s" % seq, len(got) == n and err < TOL, "max error %g" % err)
    # a known session: its stored sequence (time, then item), recency-weighted
    for s in (3, 17, N_SESS + 2):
        seq = [i for _, i, t in sorted((t, i, t) for ss, i, t in rows if ss == s)]
        ref = session_scores(Bref, items, seq)
        got = q(cur, "SELECT item, score FROM recpromo.recommend(%s, %s, model => 'sl1')", (s, n))
        ix = {k: z for z, k in enumerate(items)}
        err = max([abs(sc - ref[ix[i]]) for i, sc in got] or [0.0])
        check("recommend(%d) = session of its stored sequence" % s, len(got) > 0 and err < TOL,
              "max error %g" % err)
        top = q(cur, "SELECT item FROM recpromo.recommend(%s, 1, model => 'sl1', exclude_seen => false)", (s,))[0][0]
        contrib = q(cur, "SELECT coalesce(sum(contribution), 0) FROM recpromo.explain_recommendation(%s, %s, model => 'sl1')",
                    (s, top))[0][0]
        pred = q(cur, "SELECT recpromo.predict(%s, %s, model => 'sl1')", (s, top))[0][0]
        check("explain sums to predict (%d)" % s, abs(contrib - pred) < TOL and abs(pred - ref[ix[top]]) < TOL,
              "%r %r %r" % (contrib, pred, ref[ix[top]]))
    sims = q(cur, "SELECT item, similarity FROM recpromo.similar_items(5, 3, model => 'sl1')")
    ix = {k: z for z, k in enumerate(items)}
    row = Bref[ix[5]].copy()
    row[ix[5]] = -np.inf
    check("similar_items = row of B", [i for i, _ in sims] == [items[z] for z in np.argsort(-row, kind="stable")[:3]])

    # evaluate_sessions on held-out sessions: last item from the ones before it
    held = [(900 + s, int(i), int(t)) for s in range(12)
            for t, i in enumerate(rng.integers(1, N_ITEMS + 3, size=int(rng.integers(1, 6))))]
    q(cur, "CREATE TABLE held (sess int, item int, t int)")
    cur.executemany("INSERT INTO held VALUES (%s, %s, %s)", held)
    hits = rr = 0.0
    evaluated = 0
    for s in sorted({s for s, _, _ in held}):
        seq = [i for _, i, _ in sorted(((t, i, s) for ss, i, t in held if ss == s))]
        if len(seq) < 2:
            continue
        evaluated += 1
        sc = session_scores(Bref, items, seq[:-1])
        known = [i for i in seq[:-1] if i in ix]
        if not known:
            pops = {}
            for ss, i, _ in rows:
                pops.setdefault(i, set()).add(ss)
            sc = np.array([len(pops[k]) for k in items], dtype=float)
        top = list(np.argsort(-sc, kind="stable")[:5])
        if seq[-1] in ix and ix[seq[-1]] in top:
            hits += 1
            rr += 1.0 / (top.index(ix[seq[-1]]) + 1)
    got = q(cur, "SELECT sessions_evaluated, hit_rate, mrr FROM recpromo.evaluate_sessions('sl1', 'held', "
                 "'sess', 'item', 't', k => 5)")[0]
    check("evaluate_sessions", got[0] == evaluated and abs(got[1] - hits / evaluated) < 1e-12
          and abs(got[2] - rr / evaluated) < 1e-12, "%r vs %r" % (got, (evaluated, hits / evaluated, rr / evaluated)))

    # the shared cache serves what the per-backend path serves
    c2 = connect(DB)
    k2 = c2.cursor()
    q(k2, "SET recpromo.shared_cache_size = 0")
    a = q(k2, "SELECT item, score FROM recpromo.recommend(17, 6, model => 'sl1')")
    a += q(k2, "SELECT item, score FROM recpromo.recommend_for_session(ARRAY[3, 7], 6, model => 'sl1')")
    c2.close()
    for _ in range(2):
        c3 = connect(DB)
        k3 = c3.cursor()
        b = q(k3, "SELECT item, score FROM recpromo.recommend(17, 6, model => 'sl1')")
        b += q(k3, "SELECT item, score FROM recpromo.recommend_for_session(ARRAY[3, 7], 6, model => 'sl1')")
        img = q(k3, """
            SELECT count(*) FROM pg_ls_dir('pg_recpromo_cache', true, false) f, pg_database d,
                   recpromo.model m
             WHERE d.datname = current_database() AND m.name = 'sl1'
               AND f LIKE d.oid || '\\_' || 'recpromo.model'::regclass::oid || '\\_%%\\_' || m.id || '\\_' ||
                          replace(m.version::text, '-', '') || '.img'""")[0][0]
        c3.close()
        check("shared cache serves the same", a == b, "%r vs %r" % (a, b))
        check("shared cache holds an image of the slist model", img == 1, "%r" % img)

    # forget_user equals a retrain without the session
    q(cur, f"SET recpromo.erasure_secret = '{SECRET}'")
    train(cur, "fg", configs[1])
    q(cur, "SELECT 1 FROM recpromo.forget_user(17, model => 'fg')")
    q(cur, "CREATE TABLE ev_wo AS SELECT * FROM ev WHERE sess <> 17")
    train(cur, "rt", configs[1], "ev_wo")
    Bf = model_b(cur, "fg", items)
    Br = model_b(cur, "rt", items)
    _, Bn = reference([r for r in rows if r[0] != 17], 0.5, 3.0, 2.5, 40.0, None)
    check("forget_user = retrain", np.nanmax(np.abs(Bf - Br)) < TOL and np.nanmax(np.abs(Bf - Bn)) < TOL,
          "%g %g" % (np.nanmax(np.abs(Bf - Br)), np.nanmax(np.abs(Bf - Bn))))
    how = q(cur, "SELECT method FROM recpromo.models WHERE name = 'fg'")
    check("forgotten session unknown", q(cur, "SELECT count(*) FROM recpromo.recommend(17, 3, model => 'fg')")[0][0] == 3)

    # bad input
    code, _, hint = sqlstate(cur, "SELECT recpromo.train('x', 'ev', 'sess', 'item', method => 'slist')")
    check("time_col missing", code == "22023" and hint and "time_col" in hint, code)
    code, _, _ = sqlstate(cur, "SELECT recpromo.train('x', 'ev', 'sess', 'item', method => 'slist', params => '{\"time_col\": \"nope\"}')")
    check("time_col unknown", code == "42703", code)
    q(cur, "CREATE TABLE evtxt AS SELECT sess, item, t::text AS t FROM ev")
    code, _, _ = sqlstate(cur, "SELECT recpromo.train('x', 'evtxt', 'sess', 'item', method => 'slist', params => '{\"time_col\": \"t\"}')")
    check("time_col of a wrong type", code == "42804", code)
    for bad in ({"alpha": 1.5}, {"lambda": 0}, {"pos_decay": 0}, {"time_decay": -1}, {"alpha": "x"}, {"max_diagonal": 1e9}):
        code, _, _ = sqlstate(cur, "SELECT recpromo.train('x', 'ev', 'sess', 'item', method => 'slist', params => %s::jsonb)",
                              (json.dumps(dict(bad, time_col="t")),))
        check("bad parameter %s" % bad, code == "22023", code)
    code, _, _ = sqlstate(cur, "SELECT * FROM recpromo.recommend_for_session(NULL::int[], 3, model => 'sl0')")
    check("NULL session", code == "22004", code)
    code, _, _ = sqlstate(cur, "SELECT * FROM recpromo.recommend_for_session(ARRAY[1], -1, model => 'sl0')")
    check("n < 0", code == "22023", code)
    check("n = 0", q(cur, "SELECT count(*) FROM recpromo.recommend_for_session(ARRAY[1], 0, model => 'sl0')")[0][0] == 0)
    pop = q(cur, "SELECT item FROM recpromo.recommend_for_session(ARRAY[]::int[], 3, model => 'sl0')")
    unk = q(cur, "SELECT item FROM recpromo.recommend_for_session(ARRAY[NULL, 999]::int[], 3, model => 'sl0')")
    check("empty or unknown session: popularity", len(pop) == 3 and pop == unk, "%r %r" % (pop, unk))
    q(cur, "CREATE TABLE wide AS SELECT s AS sess, (s * 7 + p) % 600 AS item, p AS t "
           "FROM generate_series(1, 300) s, generate_series(0, 9) p")
    q(cur, "SET recpromo.memory_limit = '4MB'")
    code, msg, hint = sqlstate(cur, "SELECT recpromo.train('w', 'wide', 'sess', 'item', method => 'slist', params => '{\"time_col\": \"t\"}')")
    check("memory limit", code == "54000" and hint and "sparse" in hint and "memory_limit" in msg, "%r %r" % (code, msg))
    q(cur, "RESET recpromo.memory_limit")

    conn.close()
    admin.cursor().execute(f"DROP DATABASE {DB}")
    return report()


if __name__ == "__main__":
    sys.exit(main())
