#!/usr/bin/python3
"""Independent check of recpromo's off-policy evaluation.

- Reference: IPS, SNIPS, DM, DR and the effective sample size recomputed
  with numpy from the formulas of doc/experiments.md (per-arm ridge reward model solved by
  numpy.linalg.solve), against evaluate_policy_arrays and evaluate_policy
  (target table, jsonb and float8[] contexts, propensity and uplift model
  targets), to 1e-9.
- Bootstrap: the percentile intervals reproduced exactly (rounds in the
  canonical order, xoshiro256** streams as documented in src/core/rp_rng.h
  and rp_ope.h), to 1e-9; shuffling the rounds changes nothing.
- Simulation with known truth: 100 seeded logs of an epsilon-greedy logging
  policy on a linear-reward environment, a stochastic target whose value is
  known exactly; every estimator's 95 % interval covers it in >= 90 of 100
  logs, and doubly robust varies less than IPS across logs.
- Errors: SQLSTATEs of bad propensities, non-finite values, unknown arms,
  probabilities not summing to 1, a missing bandit function.

Runs inside the test cluster (libpq environment set); prints
"N passed, N failed".
"""
import os
import sys

import numpy as np
import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, fresh_database, report  # noqa: E402

M64 = (1 << 64) - 1


def close(a, b, tol=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(1.0, abs(b))


# --- reference estimators -------------------------------------------------

def estimates(x, arm, r, prop, pi, lam, c=None):
    """IPS, SNIPS, DM, DR (formulas of doc/experiments.md) with multiplicities c; and ESS."""
    n, k = pi.shape
    c = np.ones(n) if c is None else c
    X = np.c_[np.ones(n), x] if x is not None else np.ones((n, 1))
    p = X.shape[1]
    D = np.eye(p); D[0, 0] = 0
    q = np.zeros((n, k))
    for a in range(k):
        s = arm == a
        if c[s].sum() == 0:
            continue
        A = (X[s] * c[s, None]).T @ X[s] + lam * D
        beta = np.linalg.solve(A, (X[s] * c[s, None]).T @ r[s])
        q[:, a] = X @ beta
    w = pi[np.arange(n), arm] / prop
    N = c.sum()
    ips = (c * w * r).sum() / N
    snips = (c * w * r).sum() / (c * w).sum() if (c * w).sum() > 0 else None
    dm = (c * (pi * q).sum(1)).sum() / N
    dr = dm + (c * w * (r - q[np.arange(n), arm])).sum() / N
    ess = (c * w).sum() ** 2 / (c * w * w).sum()
    return {"ips": ips, "snips": snips, "dm": dm, "dr": dr}, ess


def splitmix(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def rotl(v, s):
    return ((v << s) | (v >> (64 - s))) & M64


def xoshiro(seed):
    st, s = seed & M64, []
    for _ in range(4):
        st, z = splitmix(st)
        s.append(z)
    while True:
        r = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = rotl(s[3], 45)
        yield r


def canonical(x, arm, r, prop, pi):
    """The rounds in rp_ope_row_order's order: by arm, reward, propensity, context, target."""
    keys = [pi[:, a] for a in reversed(range(pi.shape[1]))]
    if x is not None:
        keys += [x[:, u] for u in reversed(range(x.shape[1]))]
    o = np.lexsort(keys + [prop, r, arm])
    return (None if x is None else x[o]), arm[o], r[o], prop[o], pi[o]


def bootstrap(x, arm, r, prop, pi, lam, B, seed, alpha):
    x, arm, r, prop, pi = canonical(x, arm, r, prop, pi)
    n = len(r)
    vals = {e: [] for e in ("ips", "snips", "dm", "dr")}
    for b in range(B):
        g = xoshiro(seed + b * 0x9E3779B97F4A7C15)
        c = np.zeros(n)
        for _ in range(n):
            c[(next(g) * n) >> 64] += 1
        est, _ = estimates(x, arm, r, prop, pi, lam, c)
        for e in vals:
            if est[e] is not None:
                vals[e].append(est[e])
    return {e: (np.quantile(v, alpha / 2), np.quantile(v, 1 - alpha / 2)) for e, v in vals.items()}


# --- environment of the simulation ------------------------------------------
# x ~ U(-1, 1)^2; q(x, a) = C[a] + S[a] x1 - 0.2 x2; reward = q + N(0, 0.1^2).
# Logging: epsilon-greedy (eps 0.3) on the rule "arm 1 if x1 > 0 else 0".
# Target: 0.8 on arm 2 if x1 > 0 else on arm 0, 0.1 on each other arm.
C = np.array([0.3, 0.5, 0.4])
S = np.array([-0.2, 0.1, 0.4])
K = 3


def target_probs(x):
    pi = np.full((len(x), K), 0.1)
    pi[np.arange(len(x)), np.where(x[:, 0] > 0, 2, 0)] = 0.8
    return pi


def true_value():
    # E[x2] = 0; given the side of x1, E[x1 | x1 > 0] = 0.5, E[x1 | x1 < 0] = -0.5
    v = 0.0
    for side, best in ((0.5, 2), (-0.5, 0)):
        pi = np.full(K, 0.1); pi[best] = 0.8
        v += 0.5 * (pi * (C + S * side)).sum()
    return v


def make_log(rng, n):
    x = rng.uniform(-1, 1, (n, 2))
    greedy = np.where(x[:, 0] > 0, 1, 0)
    mu = np.full((n, K), 0.3 / K)
    mu[np.arange(n), greedy] += 0.7
    u = rng.random(n)
    arm = (u[:, None] > np.cumsum(mu, 1)).sum(1)
    arm = np.minimum(arm, K - 1)
    prop = mu[np.arange(n), arm]
    r = C[arm] + S[arm] * x[:, 0] - 0.2 * x[:, 1] + rng.normal(0, 0.1, n)
    return x, arm, r, prop


def sql_arrays(cur, x, arm, r, prop, pi, B=0, seed=0, alpha=0.05, lam=1.0, est="{ips,snips,dm,dr}"):
    cur.execute(
        "SELECT estimator, estimate, ci_low, ci_high, ess, n FROM recpromo.evaluate_policy_arrays("
        "%s::float8[], %s::int[], %s::float8[], %s::float8[], %s::float8[], %s::text[], %s, %s, %s, %s)",
        (None if x is None else x.tolist(), (arm + 1).tolist(), r.tolist(), prop.tolist(), pi.tolist(),
         est, B, seed, alpha, lam))
    return {row[0]: row[1:] for row in cur.fetchall()}


def sqlstate(cur, sql, args=None):
    try:
        cur.execute(sql, args)
        cur.fetchall()
        return None
    except psycopg2.Error as e:
        return e.pgcode, e.pgerror


def main():
    # a database of its own, so an extension left in $PGDATABASE by an older build is no matter
    admin, conn = fresh_database("regress_rp_ope")
    cur = conn.cursor()
    cur.execute("RESET client_min_messages")
    cur.execute("DROP SCHEMA IF EXISTS ref_ope CASCADE; CREATE SCHEMA ref_ope")

    # 1. reference values, arrays entry point, with and without contexts
    rng = np.random.default_rng(11)
    x, arm, r, prop = make_log(rng, 700)
    pi = target_probs(x)
    for lam in (0.01, 1.0, 30.0):
        for ctx in (x, None, x[:, :1]):
            want, ess = estimates(ctx, arm, r, prop, pi, lam)
            got = sql_arrays(cur, ctx, arm, r, prop, pi, lam=lam)
            d = 0 if ctx is None else ctx.shape[1]
            for e in want:
                check(f"reference {e} lambda={lam} d={d}", close(got[e][0], want[e]), (got[e][0], want[e]))
                check(f"reference ess {e} lambda={lam} d={d}", close(got[e][3], ess) and got[e][4] == 700)

    # 2. bootstrap intervals reproduced exactly
    xs, arms, rs, props = x[:150], arm[:150], r[:150], prop[:150]
    pis = pi[:150]
    want = bootstrap(xs, arms, rs, props, pis, 1.0, 40, 2024, 0.1)
    got = sql_arrays(cur, xs, arms, rs, props, pis, B=40, seed=2024, alpha=0.1)
    for e in want:
        check(f"bootstrap {e} low", close(got[e][1], want[e][0]), (got[e][1], want[e][0]))
        check(f"bootstrap {e} high", close(got[e][2], want[e][1]), (got[e][2], want[e][1]))

    # the rounds' order does not matter: a shuffled copy gives the same intervals
    o = np.random.default_rng(3).permutation(150)
    got2 = sql_arrays(cur, xs[o], arms[o], rs[o], props[o], pis[o], B=40, seed=2024, alpha=0.1)
    check("order of the rounds does not matter", got2 == got, (got2, got))

    # 3. the table entry point: jsonb and float8[] contexts, target table keyed by decision id
    cur.execute("CREATE TABLE ref_ope.log (id int PRIMARY KEY, ctx jsonb, ctxa float8[], arm text, reward float8, p float8)")
    names = ["a", "b", "c"]
    cur.executemany("INSERT INTO ref_ope.log VALUES (%s, %s, %s, %s, %s, %s)",
                    [(i, '{"x1": %r, "x2": %r, "tag": "t"}' % (x[i, 0], x[i, 1]), x[i].tolist(), names[arm[i]],
                      float(r[i]), float(prop[i])) for i in range(len(r))])
    cur.execute("CREATE TABLE ref_ope.target (id int, arm text, probability float8)")
    cur.executemany("INSERT INTO ref_ope.target VALUES (%s, %s, %s)",
                    [(i, names[a], float(pi[i, a])) for i in range(len(r)) for a in range(K)])
    want, ess = estimates(x, arm, r, prop, pi, 1.0)
    for col in ("ctx", "ctxa"):
        cur.execute("SELECT estimator, estimate, ess, n FROM recpromo.evaluate_policy('ref_ope.log', %s, 'arm', 'reward', 'p',"
                    " target_probs => 'ref_ope.target', key_col => 'id', bootstrap => 0)", (col,))
        got = {row[0]: row[1:] for row in cur.fetchall()}
        for e in want:
            check(f"table {col} {e}", close(got[e][0], want[e]) and close(got[e][1], ess) and got[e][2] == len(r),
                  (got[e], want[e]))

    # 4. model targets: the deterministic policies of a propensity and an uplift model
    n = 3000
    z = rng.uniform(0, 1, (n, 2))
    treated = rng.random(n) < 0.5
    conv = (rng.random(n) < 0.2 + 0.3 * treated * (z[:, 0] > 0.5)).astype(int)
    cur.execute("CREATE TABLE ref_ope.camp (id int PRIMARY KEY, f1 float8, f2 float8, arm text, converted int, p float8)")
    cur.executemany("INSERT INTO ref_ope.camp VALUES (%s, %s, %s, %s, %s, 0.5)",
                    [(i, float(z[i, 0]), float(z[i, 1]), "coupon" if treated[i] else "control", int(conv[i])) for i in range(n)])
    cur.execute("SELECT recpromo.train_uplift('ref_ope_up', 'ref_ope.camp', 'arm', 'converted', '{f1, f2}')")
    cur.execute("SELECT recpromo.train_propensity('ref_ope_pr', 'ref_ope.camp', 'converted', '{f1, f2}')")
    cur.execute("SELECT key::int, uplift FROM recpromo.score_uplift('ref_ope_up', 'ref_ope.camp', 'id') ORDER BY 1")
    up = np.array([u for _, u in cur.fetchall()])
    cur.execute("SELECT key::int, score FROM recpromo.score_propensity('ref_ope_pr', 'ref_ope.camp', 'id') ORDER BY 1")
    sc = np.array([s for _, s in cur.fetchall()])
    arm2 = treated.astype(int)        # arms in byte order: control = 0, coupon = 1
    prop2 = np.full(n, 0.5)
    for label, choose, extra in (("uplift", up > 0, {}), ("propensity", sc > 0.3, {"treatment": "coupon", "threshold": 0.3})):
        pim = np.zeros((n, 2)); pim[np.arange(n), choose.astype(int)] = 1
        want, ess = estimates(z, arm2, conv.astype(float), prop2, pim, 1.0)
        model = "ref_ope_up" if label == "uplift" else "ref_ope_pr"
        cur.execute("SELECT estimator, estimate, ess FROM recpromo.evaluate_policy('ref_ope.camp',"
                    " NULL, 'arm', 'converted', 'p', target_model => %s, key_col => 'id', bootstrap => 0,"
                    " treatment => %s, threshold => %s)", (model, extra.get("treatment"), extra.get("threshold")))
        got = {row[0]: row[1:] for row in cur.fetchall()}
        want0, ess0 = estimates(None, arm2, conv.astype(float), prop2, pim, 1.0)
        for e in want0:
            check(f"model {label} {e}", close(got[e][0], want0[e]) and close(got[e][1], ess0), (got[e], want0[e]))

    # 5. simulation with known truth: 100 seeded logs, one SQL call each; a
    # small ridge penalty, so that the (well specified) reward model is good
    V = true_value()
    cover = {e: 0 for e in ("ips", "snips", "dm", "dr")}
    values = {e: [] for e in cover}
    for s in range(100):
        g = np.random.default_rng(1000 + s)
        xs, arms, rs, props = make_log(g, 500)
        got = sql_arrays(cur, xs, arms, rs, props, target_probs(xs), B=200, seed=s, lam=0.01)
        for e in cover:
            cover[e] += got[e][1] <= V <= got[e][2]
            values[e].append(got[e][0])
    for e in cover:
        check(f"coverage {e} {cover[e]}/100", cover[e] >= 90, cover[e])
        check(f"unbiased {e}", abs(np.mean(values[e]) - V) < 3 * np.std(values[e]) / 10 + 1e-3,
              (np.mean(values[e]), V))
    vi, vd = np.var(values["ips"]), np.var(values["dr"])
    check(f"dr variance {vd:.2e} below ips {vi:.2e}", vd < 0.5 * vi)
    print(f"simulation: true value {V:.4f}; coverage {cover}; variance ips {vi:.2e}, snips "
          f"{np.var(values['snips']):.2e}, dm {np.var(values['dm']):.2e}, dr {vd:.2e}")

    # 6. errors
    one = ("SELECT * FROM recpromo.evaluate_policy_arrays(NULL, %s::int[], %s::float8[], %s::float8[], %s::float8[])")
    cases = [
        ("propensity 0", one, ([1, 2], [1, 0], [0.5, 0], [[0.5, 0.5], [0.5, 0.5]]), "22003"),
        ("propensity above 1", one, ([1, 2], [1, 0], [0.5, 1.5], [[0.5, 0.5], [0.5, 0.5]]), "22003"),
        ("propensity NaN", one, ([1, 2], [1, 0], [0.5, float("nan")], [[0.5, 0.5], [0.5, 0.5]]), "22000"),
        ("reward infinite", one, ([1, 2], [1, float("inf")], [0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]]), "22000"),
        ("sum not 1", one, ([1, 2], [1, 0], [0.5, 0.5], [[0.5, 0.6], [0.5, 0.5]]), "22023"),
        ("arm out of range", one, ([1, 3], [1, 0], [0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]]), "22023"),
        ("unlogged arm", one, ([1, 1], [1, 0], [0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]]), "22023"),
        ("context NaN", "SELECT * FROM recpromo.evaluate_policy_arrays('{{1},{NaN}}'::float8[], %s::int[], %s::float8[], %s::float8[], %s::float8[])",
         ([1, 2], [1, 0], [0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]]), "22000"),
    ]
    for name, sql, args, code in cases:
        st = sqlstate(cur, sql, args)
        check(f"error {name}", st is not None and st[0] == code, st)
    cur.execute("CREATE TABLE ref_ope.badt AS SELECT id, arm, probability FROM ref_ope.target")
    cur.execute("UPDATE ref_ope.badt SET arm = 'zz' WHERE id = 3 AND arm = 'a'")
    st = sqlstate(cur, "SELECT * FROM recpromo.evaluate_policy('ref_ope.log', 'ctx', 'arm', 'reward', 'p',"
                  " target_probs => 'ref_ope.badt', key_col => 'id')")
    check("error unknown arm in target table", st is not None and st[0] == "22023" and '"zz"' in st[1], st)
    cur.execute("UPDATE ref_ope.log SET p = 0 WHERE id = 5")
    st = sqlstate(cur, "SELECT * FROM recpromo.evaluate_policy('ref_ope.log', 'ctx', 'arm', 'reward', 'p',"
                  " target_probs => 'ref_ope.target', key_col => 'id')")
    check("error propensity 0 in table", st is not None and st[0] == "22003", st)
    cur.execute("UPDATE ref_ope.log SET p = %s WHERE id = 5", (float(prop[5]),))

    # 7. bandit targets.  Without the bandits (before they are merged) the
    # call is a clear 42883; the path itself is then checked against stubs
    # of bandit_action_probabilities that return the target of section 3.
    cur.execute("SELECT pg_catalog.to_regprocedure('recpromo.bandit_action_probabilities(text, jsonb)') IS NULL")
    if cur.fetchone()[0]:
        st = sqlstate(cur, "SELECT * FROM recpromo.evaluate_policy('ref_ope.log', 'ctx', 'arm', 'reward', 'p',"
                      " target_bandit => 'b')")
        check("error bandit function missing", st is not None and st[0] == "42883", st)
        cur.execute("""
CREATE FUNCTION recpromo.bandit_action_probabilities(bandit text, context jsonb DEFAULT NULL)
RETURNS TABLE (arm text, probability float8) LANGUAGE sql AS $$
  SELECT a, CASE WHEN a = (CASE WHEN (context->>'x1')::float8 > 0 THEN 'c' ELSE 'a' END) THEN 0.8 ELSE 0.1 END
    FROM unnest(ARRAY['a', 'b', 'c']) a $$;
CREATE FUNCTION recpromo.bandit_action_probabilities(bandit text, context float8[])
RETURNS TABLE (arm text, probability float8) LANGUAGE sql AS $$
  SELECT a, CASE WHEN a = (CASE WHEN context[1] > 0 THEN 'c' ELSE 'a' END) THEN 0.8 ELSE 0.1 END
    FROM unnest(ARRAY['a', 'b', 'c']) a $$""")
        want, ess = estimates(x, arm, r, prop, pi, 1.0)
        for col in ("ctx", "ctxa"):
            cur.execute("SELECT estimator, estimate, ess FROM recpromo.evaluate_policy('ref_ope.log', %s, 'arm',"
                        " 'reward', 'p', target_bandit => 'stub', bootstrap => 0)", (col,))
            got = {row[0]: row[1:] for row in cur.fetchall()}
            for e in want:
                check(f"bandit stub {col} {e}", close(got[e][0], want[e]) and close(got[e][1], ess), (got[e], want[e]))
        cur.execute("""CREATE OR REPLACE FUNCTION recpromo.bandit_action_probabilities(bandit text, context jsonb DEFAULT NULL)
RETURNS TABLE (arm text, probability float8) LANGUAGE sql AS $$ VALUES ('a', 0.5), ('zz', 0.5) $$""")
        st = sqlstate(cur, "SELECT * FROM recpromo.evaluate_policy('ref_ope.log', 'ctx', 'arm', 'reward', 'p',"
                      " target_bandit => 'stub')")
        check("error bandit plays an unlogged arm", st is not None and st[0] == "22023" and '"zz"' in st[1], st)
        cur.execute("DROP FUNCTION recpromo.bandit_action_probabilities(text, jsonb);"
                    "DROP FUNCTION recpromo.bandit_action_probabilities(text, float8[])")
    else:
        # the real bandits: a LinUCB bandit trained on a few scripted rounds;
        # its action probabilities, read here context by context, are the target
        cur.execute("SELECT recpromo.drop_bandit('ref_ope_lin', if_exists => true)")
        cur.execute("SELECT recpromo.create_bandit('ref_ope_lin', ARRAY['a', 'b', 'c'], policy => 'linucb',"
                    " features => '{x1, x2}', reward => 'amount')")
        cur.execute("""SELECT recpromo.reward('ref_ope_lin', c.decision_id,
                              CASE c.arm WHEN 'c' THEN 0.5 + g % 3 ELSE 0.2 END::float8)
                         FROM generate_series(1, 60) g,
                              LATERAL recpromo.choose('ref_ope_lin', jsonb_build_object('x1', (g % 7) / 7.0 - 0.5,
                                                                                         'x2', (g % 5) / 5.0)) c""")
        for col in ("ctx", "ctxa"):
            cur.execute(f"SELECT l.id, b.arm, b.probability FROM ref_ope.log l,"
                        f" recpromo.bandit_action_probabilities('ref_ope_lin', l.{col}) b")
            pib = np.zeros_like(pi)
            for i, a, p in cur.fetchall():
                pib[i, names.index(a)] = p
            want, ess = estimates(x, arm, r, prop, pib, 1.0)
            cur.execute("SELECT estimator, estimate, ess FROM recpromo.evaluate_policy('ref_ope.log', %s, 'arm',"
                        " 'reward', 'p', target_bandit => 'ref_ope_lin', bootstrap => 0)", (col,))
            got = {row[0]: row[1:] for row in cur.fetchall()}
            check(f"bandit {col}: the target is not uniform", np.ptp(pib) > 0.1, np.ptp(pib))
            for e in want:
                check(f"bandit {col} {e}", close(got[e][0], want[e]) and close(got[e][1], ess), (got[e], want[e]))
        cur.execute("SELECT recpromo.drop_bandit('ref_ope_lin')")

    cur.execute("DROP SCHEMA ref_ope CASCADE")
    cur.execute("DELETE FROM recpromo.model WHERE name IN ('ref_ope_up', 'ref_ope_pr')")
    conn.close()
    admin.cursor().execute("DROP DATABASE IF EXISTS regress_rp_ope")
    admin.close()
    return report()


if __name__ == "__main__":
    sys.exit(main())
