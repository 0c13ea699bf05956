#!/usr/bin/python3
"""Independent check of recpromo's uplift models and metrics.

- two_model: each arm's coefficients equal scikit-learn LogisticRegression
  (C = 1/lambda) fitted on that arm alone; class_transformation: equal to a
  fit of z = y t + (1-y)(1-t) with sample weights that give both groups
  equal total weight (sklearn's sample_weight), to 1e-6.
- uplift_evaluate / uplift_curve: Qini coefficient, AUUC, uplift@k and the
  curves recomputed here with numpy from the formulas of doc/promotions.md, on data with
  many tied scores, to 1e-9.

Runs inside the test cluster (libpq environment set); prints
"N passed, N failed".
"""
import sys

import numpy as np
import psycopg2
from sklearn.linear_model import LogisticRegression

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", name, detail)


def curves(score, treated, y):
    """q and u at every tie-group boundary, and the metrics, by the formulas of doc/promotions.md."""
    order = np.argsort(-score, kind="stable")
    s, t, yy = score[order], treated[order], y[order]
    N, Nt = len(s), t.sum()
    ends = np.r_[np.nonzero(s[1:] != s[:-1])[0], len(s) - 1]
    nt = np.cumsum(t)[ends]; nc = np.cumsum(~t)[ends]
    yt = np.cumsum(yy * t)[ends]; yc = np.cumsum(yy * ~t)[ends]
    phi = (ends + 1) / N
    q = np.where(nc > 0, (yt - yc * nt / np.maximum(nc, 1)) / Nt, 0.0)
    u = np.where((nt > 0) & (nc > 0), (yt / np.maximum(nt, 1) - yc / np.maximum(nc, 1)) * (nt + nc) / N, 0.0)
    ate = q[-1]
    P = np.r_[0, phi]; Q = np.r_[0, q - phi * ate]; U = np.r_[0, u]
    qini = np.sum(np.diff(P) * (Q[1:] + Q[:-1]) / 2)
    auuc = np.sum(np.diff(P) * (U[1:] + U[:-1]) / 2)
    return phi, q, u, qini, auuc, ate


def main():
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS recpromo")
    cur.execute("DROP SCHEMA IF EXISTS ref_uplift CASCADE; CREATE SCHEMA ref_uplift")
    rng = np.random.default_rng(7)
    n = 6000
    x1 = rng.random(n); x2 = rng.normal(0, 1, n)
    arm = rng.choice(["control", "A", "B"], n, p=[0.5, 0.3, 0.2])
    tau = np.where(arm == "A", 0.3 * x1, np.where(arm == "B", 0.1 * (x2 > 0), 0))
    y = (rng.random(n) < 0.1 + 0.05 * x1 + tau).astype(int)
    score = np.round(rng.random(n) * 20) / 20 + 0.2 * x1   # many ties
    cur.execute("CREATE TABLE ref_uplift.d (id int, x1 float8, x2 float8, arm text, y int, s float8)")
    args = ",".join(cur.mogrify("(%s,%s,%s,%s,%s,%s)", (i, float(x1[i]), float(x2[i]), str(arm[i]), int(y[i]), float(score[i]))).decode()
                    for i in range(n))
    cur.execute("INSERT INTO ref_uplift.d VALUES " + args)
    X = np.column_stack([x1, x2])
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)
    lam = 0.5

    cur.execute("SELECT count(*) FROM recpromo.train_uplift('ref_up', 'ref_uplift.d', 'arm', 'y', '{x1,x2}', lambda => %s)", (lam,))
    cur.execute("SELECT params FROM recpromo.model WHERE name = 'ref_up'")
    p = cur.fetchone()[0]
    for lbl, coef in [("control", p["control_coef"])] + [(a["treatment"], a["coef"]) for a in p["arms"]]:
        m = arm == lbl
        ref = LogisticRegression(C=1 / lam, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(Xs[m], y[m])
        err = np.max(np.abs(np.array(coef) - np.r_[ref.intercept_, ref.coef_[0]]))
        check("two_model %s" % lbl, err < 1e-6, "%.3g" % err)
        print("two_model arm %-7s max |coef diff| vs sklearn %.2e" % (lbl, err))

    cur.execute("SELECT count(*) FROM recpromo.train_uplift('ref_ct', 'ref_uplift.d', 'arm', 'y', '{x1,x2}', "
                "method => 'class_transformation', lambda => %s)", (lam,))
    cur.execute("SELECT params FROM recpromo.model WHERE name = 'ref_ct'")
    p = cur.fetchone()[0]
    for a in p["arms"]:
        m = (arm == a["treatment"]) | (arm == "control")
        t = (arm[m] == a["treatment"])
        z = np.where(t, y[m], 1 - y[m])
        nt, nc = t.sum(), (~t).sum()
        w = np.where(t, (nt + nc) / (2 * nt), (nt + nc) / (2 * nc))
        ref = LogisticRegression(C=1 / lam, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(Xs[m], z, sample_weight=w)
        err = np.max(np.abs(np.array(a["coef"]) - np.r_[ref.intercept_, ref.coef_[0]]))
        check("class_transformation %s" % a["treatment"], err < 1e-6, "%.3g" % err)
        print("class_transformation arm %s max |coef diff| vs sklearn %.2e" % (a["treatment"], err))

    for treatment in ("A", "B", None):
        m = (arm == "control") | ((arm == treatment) if treatment else (arm != "control"))
        phi, q, u, qini, auuc, ate = curves(score[m], arm[m] != "control", y[m].astype(float))
        cur.execute("SELECT metric, value FROM recpromo.uplift_evaluate('ref_uplift.d', 's', 'arm', 'y', %s, "
                    "k_percent => 30, n_boot => 0)", (treatment,))
        got = dict(cur.fetchall())
        k_end = np.argmax(phi >= 0.3 - 1e-12)
        check("qini %s" % treatment, abs(got["qini_coefficient"] - qini) < 1e-9, "%r %r" % (got["qini_coefficient"], qini))
        check("auuc %s" % treatment, abs(got["auuc"] - auuc) < 1e-9)
        check("ate %s" % treatment, abs(got["ate"] - ate) < 1e-9)
        # uplift@30%: means over the tie groups up to the first boundary >= 30%
        order = np.argsort(-score[m], kind="stable")
        cnt = int(round(phi[k_end] * m.sum()))
        top = order[:cnt]
        tt = (arm[m] != "control")[top]; yy = y[m][top]
        at_k = yy[tt].mean() - yy[~tt].mean()
        check("uplift_at_k %s" % treatment, abs(got["uplift_at_k"] - at_k) < 1e-9, "%r %r" % (got["uplift_at_k"], at_k))
        cur.execute("SELECT fraction, qini, uplift FROM recpromo.uplift_curve('ref_uplift.d', 's', 'arm', 'y', %s, points => 20)",
                    (treatment,))
        rows = np.array(cur.fetchall())
        qi = np.interp(rows[:, 0], np.r_[0, phi], np.r_[0, q])
        ui = np.interp(rows[:, 0], np.r_[0, phi], np.r_[0, u])
        check("curves %s" % treatment, np.max(np.abs(rows[:, 1] - qi)) < 1e-9 and np.max(np.abs(rows[:, 2] - ui)) < 1e-9)
        print("treatment %-4s Qini %.6f AUUC %.6f uplift@30%% %.6f: match numpy" % (treatment, qini, auuc, at_k))

    cur.execute("DELETE FROM recpromo.model WHERE name IN ('ref_up', 'ref_ct')")
    cur.execute("DROP SCHEMA ref_uplift CASCADE")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
