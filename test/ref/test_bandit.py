#!/usr/bin/python3
"""Independent checks of recpromo's bandits (src/core/rp_bandit.c, src/pg/bandit.c).

- Thompson (Beta and Gaussian), UCB1 and epsilon-greedy: after a scripted
  sequence of decisions and rewards, the state (pulls, rewards, sums), the
  posterior means and intervals and the exact choice probabilities of the
  deterministic policies equal numpy's computation from the formulas of doc/experiments.md.
- LinUCB / lin_ts: the stored matrices equal sum x x' and sum r x, and the
  estimate x' theta and width sqrt(x' A^-1 x) equal numpy.linalg.solve on
  A = lambda I + sum x x', to 1e-9.
- Concurrency: pgbench -c 8 runs choose + reward (some rewards rolled back)
  for a few seconds on a binary Thompson bandit and on a LinUCB bandit; then
  the sharded state equals a recount from the decision and reward logs
  exactly (recount_bandit and a recount here).
- replay_bandit on a uniformly random log with known arm means: the
  logging value is the log's mean, a third of the events match, the policy
  value approaches the best arm's mean, and a seed makes it deterministic.
- pg_dump -Fc / pg_restore keeps a bandit: stats, log, grants, and the
  decision sequence continues.
- The Thompson propensity is the Monte-Carlo frequency with which the arm
  is the posterior argmax: it matches the closed form P(X > Y) for two
  Beta arms to 4 standard errors.

Runs inside the test cluster (libpq environment set); prints
"N passed, N failed".  PGBENCH_SECONDS overrides the pgbench duration.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, connect, finish, fresh_database  # noqa: E402


def close(a, b, tol=1e-12):
    return abs(a - b) <= tol * max(1.0, abs(b))


def stats_of(cur, name):
    cur.execute("SELECT arm, pulls, rewards, reward_sum, mean, lower, upper, probability "
                "FROM recpromo.bandit_stats(%s) ORDER BY arm", (name,))
    return {r[0]: r[1:] for r in cur.fetchall()}


def scripted(cur):
    """A fixed script: choose n => all arms (order irrelevant), reward from a table."""
    arms = ["a", "b", "c"]
    pay = {"a": [1, 0, 0, 1, 0], "b": [1, 1, 0, 1, 1], "c": [0, 0, 0, 1, 0]}
    amount = {"a": [3.5, 1.0, 2.0], "b": [10.0, 12.5, 7.25], "c": [0.0, 1.5, 0.5]}
    cur.execute("SELECT recpromo.create_bandit('ref_ts', ARRAY['a','b','c'], prior_a => 2, prior_b => 3)")
    cur.execute("SELECT recpromo.create_bandit('ref_gauss', ARRAY['a','b','c'], reward => 'amount', "
                "prior_mean => 1, prior_var => 2)")
    cur.execute("SELECT recpromo.create_bandit('ref_ucb', ARRAY['a','b','c'], policy => 'ucb1', alpha => 0.8)")
    cur.execute("SELECT recpromo.create_bandit('ref_eps', ARRAY['a','b','c'], policy => 'epsilon_greedy', "
                "epsilon => 0.15)")
    for name in ("ref_ts", "ref_ucb", "ref_eps"):
        for t in range(5):
            cur.execute("SELECT arm, decision_id FROM recpromo.choose(%s, n => 3)", (name,))
            for arm, did in cur.fetchall():
                cur.execute("SELECT recpromo.reward(%s, %s, %s)", (name, did, pay[arm][t]))
    for t in range(3):
        cur.execute("SELECT arm, decision_id FROM recpromo.choose('ref_gauss', n => 3)")
        for arm, did in cur.fetchall():
            cur.execute("SELECT recpromo.reward('ref_gauss', %s, %s)", (did, amount[arm][t]))

    # Beta posterior: Beta(2 + s, 3 + n - s)
    st = stats_of(cur, "ref_ts")
    ok = True
    for arm in arms:
        s = float(sum(pay[arm])); n = 5.0
        a, b = 2 + s, 3 + n - s
        m = a / (a + b); sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        pulls, rewards, rsum, mean, lo, hi, prob = st[arm]
        ok &= pulls == 5 and rewards == 5 and rsum == s
        ok &= close(mean, m) and close(lo, max(0, m - 1.96 * sd)) and close(hi, min(1, m + 1.96 * sd))
    check("thompson beta state and posterior", ok, st)
    # the Monte-Carlo probabilities: 100 draws (default), within 4 SE of a numerical integral
    xs = np.linspace(0, 1, 200001)
    params = {arm: (2 + sum(pay[arm]), 3 + 5 - sum(pay[arm])) for arm in arms}
    ok = True
    for arm in arms:
        others = [stats.beta.cdf(xs, *params[o]) for o in arms if o != arm]
        p = np.trapz(stats.beta.pdf(xs, *params[arm]) * np.prod(others, axis=0), xs)
        ok &= abs(st[arm][6] - p) <= 4 * np.sqrt(p * (1 - p) / 100) + 1e-9
    check("thompson propensities = P(argmax) within 4 SE", ok, [(a, st[a][6]) for a in arms])

    # Gaussian: mu = (s + m0) / (n + 1), var = (ss - s^2/n + v0) / (n + 1)^2
    st = stats_of(cur, "ref_gauss")
    ok = True
    for arm in arms:
        y = np.array(amount[arm]); n = len(y); s = y.sum(); ss = (y * y).sum()
        mu = (s + 1) / (n + 1); sd = np.sqrt((ss - s * s / n + 2) / (n + 1) ** 2)
        pulls, rewards, rsum, mean, lo, hi, prob = st[arm]
        ok &= rewards == n and close(rsum, s) and close(mean, mu)
        ok &= close(lo, mu - 1.96 * sd) and close(hi, mu + 1.96 * sd)
    check("thompson gaussian posterior", ok, st)

    # UCB1: index = s/n + alpha sqrt(2 ln N / n): probability 1 on the argmax
    st = stats_of(cur, "ref_ucb")
    idx = {}
    for arm in arms:
        s = float(sum(pay[arm]))
        idx[arm] = s / 5 + 0.8 * np.sqrt(2 * np.log(15) / 5)
        check("ucb1 state " + arm, st[arm][:3] == (5, 5, s) and close(st[arm][3], s / 5), st[arm])
    best = max(idx, key=idx.get)
    check("ucb1 probabilities", all(st[a][6] == (1.0 if a == best else 0.0) for a in arms),
          (idx, [(a, st[a][6]) for a in arms]))
    # epsilon-greedy: (1 - eps) on the best mean + eps / 3
    st = stats_of(cur, "ref_eps")
    means = {a: sum(pay[a]) / 5 for a in arms}
    best = max(means, key=means.get)
    check("epsilon-greedy probabilities",
          all(close(st[a][6], (0.85 if a == best else 0) + 0.05) for a in arms), st)
    # intervals of the empirical mean: mean +- 1.96 sqrt(var / n), sample variance
    ok = True
    for arm in arms:
        y = np.array(pay[arm], float)
        ok &= close(st[arm][4], y.mean() - 1.96 * np.sqrt(y.var(ddof=1) / 5))
    check("epsilon-greedy intervals", ok)


def linear(cur):
    rng = np.random.default_rng(11)
    d, lam, alpha = 6, 0.7, 0.4
    cur.execute("SELECT recpromo.create_bandit('ref_lin', ARRAY['p','q','r'], policy => 'linucb', "
                "reward => 'amount', dimension => %s, lambda => %s, alpha => %s)", (d, lam, alpha))
    theta = rng.normal(size=(3, d))
    X = {a: [] for a in "pqr"}; R = {a: [] for a in "pqr"}
    for t in range(120):
        x = rng.normal(size=d)
        cur.execute("SELECT arm, decision_id FROM recpromo.choose('ref_lin', %s::float8[])", (list(x),))
        arm, did = cur.fetchone()
        r = float(x @ theta["pqr".index(arm)] + 0.1 * rng.normal())
        cur.execute("SELECT recpromo.reward('ref_lin', %s, %s)", (did, r))
        X[arm].append(x); R[arm].append(r)
    # stored matrices, summed over shards
    cur.execute("SELECT a.arm, s.gram, s.xr FROM recpromo.bandit_state s "
                "JOIN recpromo.bandit_arm a USING (bandit_id, arm_no) "
                "JOIN recpromo.bandit b ON b.id = s.bandit_id WHERE b.name = 'ref_lin'")
    G = {a: np.zeros((d, d)) for a in "pqr"}; B = {a: np.zeros(d) for a in "pqr"}
    for arm, g, xr in cur.fetchall():
        G[arm] += np.array(g).reshape(d, d); B[arm] += np.array(xr)
    ok = True
    for a in "pqr":
        Xa = np.array(X[a]).reshape(-1, d); Ra = np.array(R[a])
        ok &= np.allclose(G[a], Xa.T @ Xa, rtol=1e-12, atol=1e-12)
        ok &= np.allclose(B[a], Xa.T @ Ra, rtol=1e-12, atol=1e-12)
    check("linucb matrices = sum x x', sum r x", ok)
    x = rng.normal(size=d)
    cur.execute("SELECT arm, estimate, width, ucb FROM recpromo.bandit_linear_scores('ref_lin', %s::float8[]) "
                "ORDER BY arm", (list(x),))
    rows = cur.fetchall()
    ok = True; idx = {}
    for arm, est, width, ucb in rows:
        Xa = np.array(X[arm]).reshape(-1, d); Ra = np.array(R[arm])
        A = lam * np.eye(d) + Xa.T @ Xa
        th = np.linalg.solve(A, Xa.T @ Ra)
        w = np.sqrt(x @ np.linalg.solve(A, x))
        idx[arm] = x @ th + alpha * w
        ok &= close(est, x @ th, 1e-9) and close(width, w, 1e-9) and close(ucb, idx[arm], 1e-9)
    check("linucb estimate and width = numpy solve to 1e-9", ok, rows)
    cur.execute("SELECT arm, probability FROM recpromo.bandit_action_probabilities('ref_lin', %s::float8[])",
                (list(x),))
    probs = dict(cur.fetchall())
    best = max(idx, key=idx.get)
    check("linucb chooses the numpy argmax", probs[best] == 1.0, (idx, probs))
    # the linear policy learned: it picks the best arm most of the time by the end
    cur.execute("SELECT recpromo.create_bandit('ref_lints', ARRAY['p','q','r'], policy => 'lin_ts', "
                "reward => 'amount', dimension => %s, alpha => 0.2, draws => 200)", (d,))
    hits = 0
    for t in range(150):
        x = rng.normal(size=d)
        cur.execute("SELECT arm, decision_id, propensity FROM recpromo.choose('ref_lints', %s::float8[])",
                    (list(x),))
        arm, did, p = cur.fetchone()
        mean = theta @ x
        cur.execute("SELECT recpromo.reward('ref_lints', %s, %s)",
                    (did, float(mean["pqr".index(arm)] + 0.1 * rng.normal())))
        if t >= 100:
            hits += "pqr"[int(np.argmax(mean))] == arm
    check("lin_ts learns the best arm (>= 40 of the last 50)", hits >= 40, hits)


def pgbench(cur, dsn_env):
    seconds = int(os.environ.get("PGBENCH_SECONDS", "6"))
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
    exe = os.path.join(bindir, "pgbench")
    if not os.path.exists(exe):
        exe = "pgbench"
    cur.execute("SELECT recpromo.create_bandit('ref_pgb', ARRAY['a','b','c','d'], seed => 5, draws => 100)")
    cur.execute("SELECT recpromo.create_bandit('ref_pgl', ARRAY['a','b','c'], policy => 'linucb', "
                "dimension => 3, reward => 'amount')")
    script = """
\\set r random(0, 1)
\\set x1 random(-3, 3)
\\set x2 random(0, 5)
BEGIN;
SELECT recpromo.reward('ref_pgb', decision_id, :r) FROM recpromo.choose('ref_pgb');
SELECT recpromo.reward('ref_pgl', decision_id, :x1 + :r) FROM recpromo.choose('ref_pgl', ARRAY[1, :x1, :x2]::float8[]);
END;
BEGIN;
SELECT recpromo.reward('ref_pgb', decision_id, 1) FROM recpromo.choose('ref_pgb', n => 2);
ROLLBACK;
SELECT decision_id FROM recpromo.choose('ref_pgb');
"""
    with tempfile.NamedTemporaryFile("w", suffix=".pgbench", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        res = subprocess.run([exe, "-n", "-c", "8", "-j", "2", "-T", str(seconds), "-f", path],
                             capture_output=True, text=True)
    finally:
        os.unlink(path)
    check("pgbench ran", res.returncode == 0 and "number of failed transactions: 0" in res.stdout,
          res.stdout[-800:] + res.stderr[-800:])
    tx = [l for l in res.stdout.splitlines() if "number of transactions actually processed" in l]
    print("pgbench:", tx[0].strip() if tx else res.stdout[-300:])
    for name in ("ref_pgb", "ref_pgl"):
        cur.execute("SELECT bool_and(consistent), sum(log_pulls) FROM recpromo.recount_bandit(%s)", (name,))
        ok, pulls = cur.fetchone()
        check("state = recount after pgbench (%s, %s decisions)" % (name, pulls), ok and pulls > 100)
    # and recounted here, exactly, straight from the tables
    cur.execute("""
        SELECT s.arm_no, s.pulls, s.rewards, s.reward_sum, s.reward_sq, l.pulls, l.rewards, l.reward_sum, l.reward_sq
          FROM (SELECT st.arm_no, sum(st.pulls) pulls, sum(st.rewards) rewards, sum(st.reward_sum) reward_sum,
                       sum(st.reward_sq) reward_sq
                  FROM recpromo.bandit_state st JOIN recpromo.bandit b ON b.id = st.bandit_id
                 WHERE b.name = 'ref_pgb' GROUP BY st.arm_no) s
          JOIN (SELECT d.arm_no, count(*) pulls, count(r.value) rewards, coalesce(sum(r.value), 0) reward_sum,
                       coalesce(sum(r.value * r.value), 0) reward_sq
                  FROM recpromo.bandit_decision d JOIN recpromo.bandit b ON b.id = d.bandit_id
                  LEFT JOIN recpromo.bandit_reward r USING (decision_id)
                 WHERE b.name = 'ref_pgb' GROUP BY d.arm_no) l USING (arm_no)""")
    rows = cur.fetchall()
    check("binary state equals the log exactly", len(rows) == 4 and all(r[1:5] == r[5:9] for r in rows), rows)
    cur.execute("SELECT count(DISTINCT st.shard) FROM recpromo.bandit_state st JOIN recpromo.bandit b "
                "ON b.id = st.bandit_id WHERE b.name = 'ref_pgb' AND st.pulls > 0")
    check("several shards were written", cur.fetchone()[0] >= 2)


def replay(cur):
    """Replay on a uniformly random log with known arm means 0.2, 0.5, 0.8."""
    rng = np.random.default_rng(21)
    n = 3000
    arm = rng.choice(["a", "b", "c"], n)
    mu = {"a": 0.2, "b": 0.5, "c": 0.8}
    y = (rng.random(n) < np.array([mu[a] for a in arm])).astype(float)
    cur.execute("DROP TABLE IF EXISTS public.ref_bandit_log")
    cur.execute("CREATE TABLE public.ref_bandit_log (t int, arm text, y float8)")
    cur.executemany("INSERT INTO public.ref_bandit_log VALUES (%s, %s, %s)",
                    [(i, arm[i], float(y[i])) for i in range(n)])
    for name, opts in (("ref_rep_ucb", "policy => 'ucb1', alpha => 0.5"), ("ref_rep_ts", "policy => 'thompson'")):
        cur.execute(f"SELECT recpromo.create_bandit(%s, ARRAY['a','b','c'], {opts})", (name,))
        q = ("SELECT policy_value, logging_value, matched, events FROM recpromo.replay_bandit(%s, "
             "'public.ref_bandit_log', 'arm', 'y', order_column => 't', seed => 4)")
        cur.execute(q, (name,))
        pv, lv, matched, events = cur.fetchone()
        cur.execute(q, (name,))
        again = cur.fetchone()
        check(f"replay {name}: logging value = the log's mean", close(lv, y.mean()) and events == n)
        check(f"replay {name}: about a third of the events match", 800 <= matched <= 1200, matched)
        check(f"replay {name}: the policy's value approaches the best arm (0.8)", 0.7 <= pv <= 0.85, pv)
        check(f"replay {name}: deterministic for a seed", again == (pv, lv, matched, events))
        cur.execute("SELECT recpromo.drop_bandit(%s)", (name,))
    cur.execute("DROP TABLE public.ref_bandit_log")


def dump_restore():
    """A bandit survives pg_dump -Fc / pg_restore: state, log, grants, sequences."""
    admin, src = fresh_database("rp_bandit_src")
    a = admin.cursor()
    a.execute("DROP DATABASE IF EXISTS rp_bandit_dst")
    a.execute("CREATE DATABASE rp_bandit_dst")  # empty: pg_restore creates the extension
    c = src.cursor()
    c.execute("SELECT recpromo.create_bandit('kept', ARRAY['a','b','c'], policy => 'linucb', dimension => 2, "
              "reward => 'amount')")
    for t in range(30):
        c.execute("SELECT recpromo.reward('kept', decision_id, %s) FROM recpromo.choose('kept', %s::float8[])",
                  (t % 4, [1, t % 3]))
    c.execute("SELECT recpromo.grant_bandit('kept', 'public')")
    query = ("SELECT arm, pulls, rewards, reward_sum, mean FROM recpromo.bandit_stats('kept') ORDER BY arm")
    c.execute(query)
    before = c.fetchall()
    c.execute("SELECT max(decision_id) FROM recpromo.bandit_decision")
    last = c.fetchone()[0]
    src.close()
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "b.dump")
        subprocess.run(["pg_dump", "-Fc", "-f", dump, "rp_bandit_src"], check=True)
        r = subprocess.run(["pg_restore", "-d", "rp_bandit_dst", dump], capture_output=True, text=True)
    check("pg_restore of a database with a bandit succeeds", r.returncode == 0, r.stderr)
    dst = connect("rp_bandit_dst")
    c = dst.cursor()
    c.execute(query)
    check("restored bandit has the same stats", c.fetchall() == before)
    c.execute("SELECT bool_and(consistent) FROM recpromo.recount_bandit('kept')")
    check("restored bandit equals its recount", c.fetchone()[0])
    c.execute("SELECT decision_id FROM recpromo.choose('kept', ARRAY[1, 1]::float8[])")
    check("restored decision sequence continues", c.fetchone()[0] > last)
    c.execute("SELECT readers::text FROM recpromo.bandit WHERE name = 'kept'")
    check("restored grants", c.fetchone()[0] == "{-}")
    dst.close()
    for db in ("rp_bandit_src", "rp_bandit_dst"):
        a.execute(f"DROP DATABASE IF EXISTS {db}")
    admin.close()


def main():
    conn = connect()
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS recpromo")
    for n in ("ref_ts", "ref_gauss", "ref_ucb", "ref_eps", "ref_lin", "ref_lints", "ref_pgb", "ref_pgl"):
        cur.execute("SELECT recpromo.drop_bandit(%s, if_exists => true)", (n,))
    scripted(cur)
    linear(cur)
    pgbench(cur, None)
    replay(cur)
    dump_restore()
    for n in ("ref_ts", "ref_gauss", "ref_ucb", "ref_eps", "ref_lin", "ref_lints", "ref_pgb", "ref_pgl"):
        cur.execute("SELECT recpromo.drop_bandit(%s, if_exists => true)", (n,))
    finish()


if __name__ == "__main__":
    main()
