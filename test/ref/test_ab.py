#!/usr/bin/python3
"""Independent check of recpromo's A/B analysis (ab_test, ab_srm).

- two-proportion z test (pooled SE for the test, unpooled for the interval),
  Welch's t (scipy.stats.ttest_ind, equal_var=False; Welch-Satterthwaite df;
  t interval from scipy.stats.t), relative lift by the delta method, CUPED
  (theta pooled over all arms, then Welch / z on the adjusted outcome), the
  sample-ratio chi-square (scipy.stats.chisquare): all to 1e-9;
- Holm and Bonferroni against a hand implementation, on five arms;
- the mixture SPRT p-value and confidence sequence against the formula of
  Johari, Pekelis and Walsh written out here with numpy;
- a seeded A/A simulation with 20 looks: the always-valid p-value keeps the
  false-positive rate under alpha + margin while the fixed-horizon z test
  looked at 20 times does not.

Runs inside the test cluster (libpq environment set); prints
"N passed, N failed".
"""
import io
import os
import sys

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, fresh_database, report  # noqa: E402

TOL = 1e-9


def near(a, b, tol=TOL):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(1.0, abs(b))


def load(cur, table, cols, rows):
    buf = io.StringIO()
    for r in rows:
        buf.write("\t".join("\\N" if v is None else str(v) for v in r) + "\n")
    buf.seek(0)
    cur.copy_expert(f"COPY {table} ({', '.join(cols)}) FROM STDIN", buf)


def readout(cur, sql, args=()):
    cur.execute(sql, args)
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}


def delta_rel(mt, mc, vt, vc):
    """relative lift and its delta-method SE; vt, vc are variances of the means"""
    return mt / mc - 1, np.sqrt(vt / mc ** 2 + mt ** 2 * vc / mc ** 4)


def holm(p):
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.empty(m)
    running = 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (m - j) * p[i]))
        adj[i] = running
    return adj


def main():
    # a database of its own, so an extension left in $PGDATABASE by an older build is no matter
    admin, conn = fresh_database("regress_rp_ab")
    cur = conn.cursor()
    cur.execute("RESET client_min_messages")
    cur.execute("DROP SCHEMA IF EXISTS ref_ab CASCADE; CREATE SCHEMA ref_ab")
    rng = np.random.default_rng(20131)
    alpha = 0.05

    # ---- data: five arms, binary and amount outcomes, a pre-period covariate
    arms = ["control", "A", "B", "C", "D"]
    sizes = [5000, 3000, 2500, 2000, 1500]
    rates = [0.10, 0.12, 0.10, 0.105, 0.14]
    shift = [0.0, 1.5, 0.2, -0.4, 3.0]
    rows = []
    for a, n, r, s in zip(arms, sizes, rates, shift):
        pre = rng.gamma(2.0, 20.0, n)
        amt = 0.6 * pre + rng.normal(10 + s, 15, n)
        conv = (rng.random(n) < r).astype(int)
        for i in range(n):
            rows.append((a, int(conv[i]), round(float(amt[i]), 6), round(float(pre[i]), 6)))
    # a few NULL outcomes, counted as excluded
    rows.append(("A", None, None, 3.0))
    rows.append(("control", None, None, 1.0))
    cur.execute("CREATE TABLE ref_ab.d (arm text, conv int, amt float8, pre float8)")
    load(cur, "ref_ab.d", ["arm", "conv", "amt", "pre"], rows)
    arr = {a: [r for r in rows if r[0] == a and r[1] is not None] for a in arms}
    conv = {a: np.array([r[1] for r in arr[a]], float) for a in arms}
    amt = {a: np.array([r[2] for r in arr[a]], float) for a in arms}
    pre = {a: np.array([r[3] for r in arr[a]], float) for a in arms}

    # ---- binary: two-proportion z
    got = readout(cur, "SELECT * FROM recpromo.ab_test('ref_ab.d', 'arm', 'conv', 'control', alpha => %s)", (alpha,))
    q = stats.norm.ppf(1 - alpha / 2)
    xc, nc = conv["control"].sum(), len(conv["control"])
    pc = xc / nc
    pvals = []
    for a in arms[1:]:
        xt, nt = conv[a].sum(), len(conv[a])
        pt = xt / nt
        pp = (xt + xc) / (nt + nc)
        z = (pt - pc) / np.sqrt(pp * (1 - pp) * (1 / nt + 1 / nc))
        p = 2 * stats.norm.sf(abs(z))
        se = np.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
        rr, ser = delta_rel(pt, pc, pt * (1 - pt) / nt, pc * (1 - pc) / nc)
        g = got[a]
        ok = (g["test"] == "z" and near(g["mean"], pt) and near(g["statistic"], z) and near(g["p_value"], p)
              and near(g["lift_low"], pt - pc - q * se) and near(g["lift_high"], pt - pc + q * se)
              and near(g["rel_lift"], rr) and near(g["rel_lift_low"], rr - q * ser)
              and near(g["rel_lift_high"], rr + q * ser) and g["n"] == nt)
        check(f"z test arm {a}", ok, f"{g} z={z} p={p}")
        pvals.append(p)
    check("z test control row", got["control"]["n"] == nc and got["control"]["excluded"] == 1
          and got["A"]["excluded"] == 1 and got["control"]["test"] == "control")
    adj = holm(np.array(pvals))
    check("holm over four arms", all(near(got[a]["p_adjusted"], adj[i]) for i, a in enumerate(arms[1:])),
          f"{[got[a]['p_adjusted'] for a in arms[1:]]} {adj}")
    got_b = readout(cur, "SELECT * FROM recpromo.ab_test('ref_ab.d', 'arm', 'conv', 'control', correction => 'bonferroni')")
    check("bonferroni", all(near(got_b[a]["p_adjusted"], min(1.0, 4 * pvals[i])) for i, a in enumerate(arms[1:])))
    got_n = readout(cur, "SELECT * FROM recpromo.ab_test('ref_ab.d', 'arm', 'conv', 'control', correction => 'none')")
    check("no correction", all(near(got_n[a]["p_adjusted"], pvals[i]) for i, a in enumerate(arms[1:])))

    # ---- amounts: Welch
    got = readout(cur, "SELECT * FROM recpromo.ab_test('ref_ab.d', 'arm', 'amt', 'control', alpha => %s)", (alpha,))
    yc = amt["control"]
    pvals = []
    for a in arms[1:]:
        yt = amt[a]
        res = stats.ttest_ind(yt, yc, equal_var=False)
        vt, vc = yt.var(ddof=1) / len(yt), yc.var(ddof=1) / len(yc)
        df = (vt + vc) ** 2 / (vt ** 2 / (len(yt) - 1) + vc ** 2 / (len(yc) - 1))
        w = stats.t.ppf(1 - alpha / 2, df)
        d = yt.mean() - yc.mean()
        rr, ser = delta_rel(yt.mean(), yc.mean(), vt, vc)
        g = got[a]
        ok = (g["test"] == "welch" and near(g["statistic"], res.statistic) and near(g["p_value"], res.pvalue)
              and near(g["df"], df) and near(g["lift"], d) and near(g["mean"], yt.mean())
              and near(g["lift_low"], d - w * np.sqrt(vt + vc)) and near(g["lift_high"], d + w * np.sqrt(vt + vc))
              and near(g["rel_lift"], rr) and near(g["rel_lift_low"], rr - w * ser) and near(g["rel_lift_high"], rr + w * ser))
        check(f"welch arm {a}", ok, f"{g} t={res.statistic} p={res.pvalue} df={df}")
        pvals.append(res.pvalue)
    adj = holm(np.array(pvals))
    check("holm welch", all(near(got[a]["p_adjusted"], adj[i]) for i, a in enumerate(arms[1:])))

    # ---- CUPED on amounts (Welch on Y - theta (X - mean X)) and on the binary outcome (z, unpooled)
    ally = np.concatenate([amt[a] for a in arms])
    allx = np.concatenate([pre[a] for a in arms])
    theta = np.cov(ally, allx, ddof=1)[0, 1] / allx.var(ddof=1)
    mx = allx.mean()
    got = readout(cur, "SELECT * FROM recpromo.ab_test('ref_ab.d', 'arm', 'amt', 'control', covariate => 'pre')")
    adjv = {a: amt[a] - theta * (pre[a] - mx) for a in arms}
    for a in arms[1:]:
        res = stats.ttest_ind(adjv[a], adjv["control"], equal_var=False)
        g = got[a]
        vr = 1 - adjv[a].var(ddof=1) / amt[a].var(ddof=1)
        ok = (near(g["statistic"], res.statistic) and near(g["p_value"], res.pvalue)
              and near(g["mean_cuped"], adjv[a].mean()) and near(g["lift"], adjv[a].mean() - adjv["control"].mean())
              and near(g["variance_reduction"], vr) and near(g["mean"], amt[a].mean()))
        check(f"cuped welch arm {a}", ok, f"{g} t={res.statistic} p={res.pvalue} vr={vr}")
    check("cuped reduces variance", all(got[a]["variance_reduction"] > 0.3 for a in arms))
    allb = np.concatenate([conv[a] for a in arms])
    thb = np.cov(allb, allx, ddof=1)[0, 1] / allx.var(ddof=1)
    got = readout(cur, "SELECT * FROM recpromo.ab_test('ref_ab.d', 'arm', 'conv', 'control', covariate => 'pre')")
    adjb = {a: conv[a] - thb * (pre[a] - mx) for a in arms}
    for a in arms[1:]:
        se = np.sqrt(adjb[a].var(ddof=1) / len(adjb[a]) + adjb["control"].var(ddof=1) / len(adjb["control"]))
        z = (adjb[a].mean() - adjb["control"].mean()) / se
        g = got[a]
        check(f"cuped z arm {a}", g["test"] == "z" and near(g["statistic"], z)
              and near(g["p_value"], 2 * stats.norm.sf(abs(z))), f"{g} z={z}")

    # ---- SRM
    cur.execute("SELECT arm, observed, expected, statistic, df, p_value FROM recpromo.ab_srm('ref_ab.d', 'arm', "
                "planned => '{\"control\": 0.3, \"A\": 0.2, \"B\": 0.2, \"C\": 0.15, \"D\": 0.15}')")
    srm = {r[0]: r[1:] for r in cur.fetchall()}
    obs = np.array([sum(1 for r in rows if r[0] == a) for a in arms], float)
    plan = np.array([0.3, 0.2, 0.2, 0.15, 0.15])
    res = stats.chisquare(obs, plan * obs.sum())
    check("srm jsonb", all(near(srm[a][2], res.statistic) and near(srm[a][4], res.pvalue) and srm[a][3] == 4
                           and srm[a][0] == obs[i] and near(srm[a][1], plan[i] * obs.sum())
                           for i, a in enumerate(arms)), f"{srm} {res}")
    # weights in byte order of the arm text: A B C D control
    cur.execute("SELECT statistic, p_value FROM recpromo.ab_srm('ref_ab.d', 'arm', weights => '{2,2,1.5,1.5,3}') LIMIT 1")
    st, pv = cur.fetchone()
    check("srm weights", near(st, res.statistic) and near(pv, res.pvalue))
    cur.execute("SELECT statistic, p_value FROM recpromo.ab_srm('ref_ab.d', 'arm') LIMIT 1")
    st, pv = cur.fetchone()
    res = stats.chisquare(obs)
    check("srm equal split", near(st, res.statistic) and near(pv, res.pvalue))

    # ---- mixture SPRT against the formula
    for kind, col, tau in (("binary", "conv", None), ("amount", "amt", None), ("amount", "amt", 0.5)):
        got = readout(cur, "SELECT * FROM recpromo.ab_test('ref_ab.d', 'arm', %s, 'control', sequential => true, tau => %s)",
                      (col, tau))
        src = conv if kind == "binary" else amt
        ok = True
        for a in arms[1:]:
            yt, yc = src[a], src["control"]
            if kind == "binary":
                st2, sc2 = yt.mean() * (1 - yt.mean()), yc.mean() * (1 - yc.mean())
            else:
                st2, sc2 = yt.var(ddof=1), yc.var(ddof=1)
            V = st2 / len(yt) + sc2 / len(yc)
            t2 = (tau if tau is not None else 0.1 * np.sqrt((st2 + sc2) / 2)) ** 2
            d = yt.mean() - yc.mean()
            lam = np.sqrt(V / (V + t2)) * np.exp(t2 * d * d / (2 * V * (V + t2)))
            p = min(1.0, 1 / lam)
            hw = np.sqrt(V * (V + t2) / t2 * (2 * np.log(1 / alpha) + np.log((V + t2) / V)))
            g = got[a]
            this = (g["test"] == "msprt" and near(g["p_value"], p) and near(g["lift_low"], d - hw)
                    and near(g["lift_high"], d + hw))
            if not this:
                print("  msprt", kind, a, g["p_value"], p, g["lift_low"], d - hw)
            ok = ok and this
        check(f"msprt formula {kind} tau={tau}", ok)

    # ---- power: 3000 visitors per arm converting at 10% and 14%; the always-valid
    # test is conservative but sees a lift of this size
    prng = np.random.default_rng(99)
    cur.execute("CREATE TABLE ref_ab.pw (arm text, y int)")
    load(cur, "ref_ab.pw", ["arm", "y"], [(a, int(prng.random() < r)) for a, r in (("c", 0.10), ("t", 0.14))
                                          for _ in range(3000)])
    got = readout(cur, "SELECT * FROM recpromo.ab_test('ref_ab.pw', 'arm', 'y', 'c', sequential => true)")
    check("msprt detects a real lift", got["t"]["p_value"] < alpha and got["t"]["lift_low"] > 0, got["t"])

    # ---- A/A simulation with 20 looks: always-valid vs peeked fixed-horizon
    sims, looks, batch, rate = 200, 20, 40, 0.2
    srng = np.random.default_rng(4242)
    cur.execute("CREATE TABLE ref_ab.sim (arm text, y int)")
    seq_fp = fix_fp = 0
    for s in range(sims):
        cur.execute("TRUNCATE ref_ab.sim")
        seq_hit = fix_hit = False
        for look in range(looks):
            ys = (srng.random(2 * batch) < rate).astype(int)
            load(cur, "ref_ab.sim", ["arm", "y"], [("c" if i < batch else "t", int(ys[i])) for i in range(2 * batch)])
            if not fix_hit:
                cur.execute("SELECT p_value FROM recpromo.ab_test('ref_ab.sim', 'arm', 'y', 'c') WHERE arm = 't'")
                pv = cur.fetchone()[0]
                fix_hit = pv is not None and pv < alpha
            if not seq_hit:
                cur.execute("SELECT p_value FROM recpromo.ab_test('ref_ab.sim', 'arm', 'y', 'c', sequential => true)"
                            " WHERE arm = 't'")
                pv = cur.fetchone()[0]
                seq_hit = pv is not None and pv < alpha
        seq_fp += seq_hit
        fix_fp += fix_hit
    seq_rate, fix_rate = seq_fp / sims, fix_fp / sims
    print(f"A/A, {sims} simulations x {looks} looks: false-positive rate sequential {seq_rate:.3f}, "
          f"fixed-horizon z peeked {fix_rate:.3f} (alpha {alpha})")
    check("msprt keeps the false-positive rate under peeking", seq_rate <= alpha + 0.02, seq_rate)
    check("peeked fixed-horizon z test does not", fix_rate > alpha + 0.05, fix_rate)

    cur.execute("DROP SCHEMA ref_ab CASCADE")
    conn.close()
    admin.cursor().execute("DROP DATABASE IF EXISTS regress_rp_ab")
    admin.close()
    return report()


if __name__ == "__main__":
    sys.exit(main())
