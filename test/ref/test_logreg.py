#!/usr/bin/python3
"""Independent check of recpromo's propensity model against scikit-learn.

recpromo.train_propensity minimises
    sum_i logloss_i + lambda/2 * ||w||^2      (intercept not penalised)
scikit-learn's LogisticRegression minimises
    C * sum_i logloss_i + 1/2 * ||w||^2       (intercept not penalised)
so the two agree when C = 1 / lambda.  Features are encoded the same way on
both sides: numeric columns centred by their mean and scaled by their
population standard deviation (standardize => true), categorical columns
one-hot with the first level in sort order dropped.  Coefficients must agree
to 1e-6.  Also checked: scoring (score_propensity, predict_propensity)
against sklearn's predict_proba, and AUC / log-loss against sklearn.metrics.

Runs inside the test cluster (PGHOST/PGPORT/PGUSER/PGDATABASE set); prints
"N passed, N failed".
"""
import sys

import numpy as np
import psycopg2
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", name, detail)


def main():
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS recpromo")
    cur.execute("DROP SCHEMA IF EXISTS ref_logreg CASCADE; CREATE SCHEMA ref_logreg")

    rng = np.random.default_rng(20240601)
    n = 3000
    x1 = rng.normal(50, 10, n)
    x2 = rng.exponential(2.0, n)
    x3 = rng.integers(0, 2, n).astype(bool)
    levels = np.array(["app", "shop", "web"])
    ch = levels[rng.integers(0, 3, n)]
    t = -0.5 + 0.04 * (x1 - 50) - 0.3 * x2 + 0.8 * x3 + np.where(ch == "app", 0.7, 0) \
        + np.where(ch == "web", -0.4, 0)
    y = (rng.random(n) < 1 / (1 + np.exp(-t))).astype(int)
    cur.execute("CREATE TABLE ref_logreg.d (id int, x1 float8, x2 numeric, x3 boolean, ch text, y int)")
    rows = [(i, float(x1[i]), float(x2[i]), bool(x3[i]), str(ch[i]), int(y[i])) for i in range(n)]
    args = ",".join(cur.mogrify("(%s,%s,%s,%s,%s,%s)", r).decode() for r in rows)
    cur.execute("INSERT INTO ref_logreg.d VALUES " + args)
    # numeric goes through text: read it back exactly as the server sees it
    cur.execute("SELECT x2::float8 FROM ref_logreg.d ORDER BY id")
    x2 = np.array([r[0] for r in cur.fetchall()])

    onehot = np.column_stack([(ch == "shop").astype(float), (ch == "web").astype(float)])
    for lam in (0.1, 1.0, 25.0):
        for standardize in (True, False):
            num = np.column_stack([x1, x2, x3.astype(float)])
            if standardize:
                num = (num - num.mean(axis=0)) / num.std(axis=0)
            X = np.column_stack([num, onehot])
            ref = LogisticRegression(C=1.0 / lam, penalty="l2", solver="newton-cholesky",
                                     tol=1e-12, max_iter=1000).fit(X, y)
            cur.execute("SELECT coefficient FROM recpromo.train_propensity('ref_lr', 'ref_logreg.d', 'y', "
                        "'{x1,x2,x3}', '{ch}', lambda => %s, standardize => %s)", (lam, standardize))
            got = np.array([r[0] for r in cur.fetchall()])
            want = np.concatenate([ref.intercept_, ref.coef_[0]])
            err = np.max(np.abs(got - want))
            check("coef lambda=%g std=%s" % (lam, standardize), err < 1e-6, "max diff %.3g" % err)
            print("lambda=%-5g standardize=%-5s max |coef diff| vs sklearn = %.2e" % (lam, standardize, err))

            cur.execute("SELECT s.score FROM recpromo.score_propensity('ref_lr', 'ref_logreg.d', 'id') s "
                        "ORDER BY s.key::int")
            p = np.array([r[0] for r in cur.fetchall()])
            perr = np.max(np.abs(p - ref.predict_proba(X)[:, 1]))
            check("scores lambda=%g std=%s" % (lam, standardize), perr < 1e-7, "max diff %.3g" % perr)

            cur.execute("SELECT recpromo.predict_propensity('ref_lr', to_jsonb(d)) FROM ref_logreg.d d "
                        "WHERE id < 5 ORDER BY id")
            p1 = np.array([r[0] for r in cur.fetchall()])
            check("predict_propensity", np.max(np.abs(p1 - p[:5])) < 1e-12)

            cur.execute("SELECT metric, value FROM recpromo.evaluate_propensity('ref_lr', 'ref_logreg.d', 'y')")
            m = dict(cur.fetchall())
            check("auc", abs(m["auc"] - roc_auc_score(y, p)) < 1e-9, str(m["auc"]))
            check("log_loss", abs(m["log_loss"] - log_loss(y, p)) < 1e-9, str(m["log_loss"]))

    cur.execute("DELETE FROM recpromo.model WHERE name = 'ref_lr'")
    cur.execute("DROP SCHEMA ref_logreg CASCADE")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
