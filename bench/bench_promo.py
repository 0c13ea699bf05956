#!/usr/bin/python3
"""Benchmark of recpromo's promotion analytics against named peers, in one run.

    PGHOST=... PGPORT=... PGUSER=... PGDATABASE=... /usr/bin/python3 bench/bench_promo.py [customers]

Default 500,000 customers.  Needs the extension installed (it is created if
missing) and a database to write scratch tables into (schema bench_promo,
dropped at the end).  Not pass/fail: it prints figures side by side.

 1. propensity: train_propensity on customers x 10 features (8 numeric, 2
    categorical, 6 one-hot columns after encoding) vs scikit-learn
    LogisticRegression(newton-cholesky) with the same penalty (C = 1/lambda)
    on the same matrix; the peer's time excludes moving the data out of the
    database, which is reported separately.  Also batch scoring.
 2. uplift: train_uplift (two_model, 2 treatments + control) and score_uplift
    over all customers, uplift_evaluate with 200 bootstrap resamples, vs a
    numpy implementation of the same Qini coefficient.
 3. assignment: assign_offers over customers x 3 offers under a budget vs
    "everyone gets the best average offer" and random targeting (profit),
    and its run time.
 4. RFM on the Online Retail data (/work/shared/data/online-retail): loader
    figures checked against SOURCE.md, rfm() vs a pandas groupby RFM, and
    the segment table.
"""
import gzip
import io
import os
import sys
import time

import numpy as np
import pandas as pd
import psycopg2
from sklearn.linear_model import LogisticRegression

N = int(sys.argv[1]) if len(sys.argv) > 1 else 500000
RETAIL = "/work/shared/data/online-retail/online-retail.csv.gz"

conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()


def q(sql, args=None):
    cur.execute(sql, args)
    return cur.fetchall() if cur.description else None


def timed(sql, args=None):
    t = time.perf_counter()
    r = q(sql, args)
    return time.perf_counter() - t, r


def row(label, ours, peer, peer_name, unit="s"):
    ratio = peer / ours if ours > 0 else float("nan")
    print("  %-34s recpromo %8.2f %s   %-22s %8.2f %s   peer/recpromo %.2fx"
          % (label, ours, unit, peer_name, peer, unit, ratio))


q("CREATE EXTENSION IF NOT EXISTS recpromo")
q("SET search_path = recpromo, public")
q("DROP SCHEMA IF EXISTS bench_promo CASCADE")
q("CREATE SCHEMA bench_promo")
print("recpromo promotion benchmark: %d customers, OpenBLAS core %s, recpromo.max_threads %s"
      % (N, q("SELECT recpromo.blas_corename()")[0][0], q("SHOW recpromo.max_threads")[0][0]))

# ---------------------------------------------------------------- data
t0 = time.perf_counter()
q("SELECT setseed(0.42)")
q("""CREATE TABLE bench_promo.cust AS
     SELECT i AS id, random() AS x1, random() AS x2, random() AS x3, random() AS x4,
            random() * 10 AS x5, random() * 100 AS x6, (random() < 0.3)::int AS x7, random() AS x8,
            (ARRAY['app','web','shop','phone'])[1 + floor(random() * 4)::int] AS channel,
            (ARRAY['north','south','east'])[1 + floor(random() * 3)::int] AS region,
            random() AS u, random() AS t, random() AS v
       FROM generate_series(1, %s) i""", (N,))
q("""ALTER TABLE bench_promo.cust ADD COLUMN bought int, ADD COLUMN arm text, ADD COLUMN y int""")
q("""UPDATE bench_promo.cust SET
       bought = (u < recpromo.sigmoid(-1 + x1 - x2 + 0.5 * x3 + 0.1 * x5 - 0.01 * x6 + 0.4 * x7
                                      + CASE channel WHEN 'app' THEN 0.5 WHEN 'web' THEN -0.3 ELSE 0 END))::int,
       arm = CASE WHEN t < 1/3.0 THEN 'control' WHEN t < 2/3.0 THEN 'coupon' ELSE 'email' END""")
q("""UPDATE bench_promo.cust SET
       y = (v < 0.05 + 0.1 * x2 + CASE arm WHEN 'coupon' THEN 0.2 * x1 - 0.03 WHEN 'email' THEN 0.08 * x3 ELSE 0 END)::int""")
q("ANALYZE bench_promo.cust")
print("data generated in %.1f s" % (time.perf_counter() - t0))

feats = ["x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8"]
cats = ["channel", "region"]

# ---------------------------------------------------------------- 1. propensity
print("\n1. propensity (logistic regression, lambda = 1, standardised features)")
t_fit, coef = timed("SELECT coefficient FROM recpromo.train_propensity('bench_prop', 'bench_promo.cust', 'bought', %s, %s, lambda => 1)",
                    (feats, cats))
ours = np.array([c[0] for c in coef])
t = time.perf_counter()
buf = io.StringIO()
cur.copy_expert("COPY (SELECT %s, channel, region, bought FROM bench_promo.cust) TO STDOUT WITH CSV" % ", ".join(feats), buf)
buf.seek(0)
df = pd.read_csv(buf, header=None, names=feats + cats + ["bought"])
t_export = time.perf_counter() - t
num = df[feats].to_numpy(float)
num = (num - num.mean(axis=0)) / num.std(axis=0)
oh = []
for c in cats:
    lv = sorted(df[c].unique())
    for l in lv[1:]:
        oh.append((df[c] == l).to_numpy(float))
X = np.column_stack([num] + oh)
y = df["bought"].to_numpy()
t = time.perf_counter()
ref = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-10, max_iter=100).fit(X, y)
t_sk = time.perf_counter() - t
diff = np.max(np.abs(ours - np.concatenate([ref.intercept_, ref.coef_[0]])))
row("fit (read + fit + store)", t_fit, t_sk, "sklearn fit only")
print("  %-34s %.2f s to move the data out of the database (COPY + pandas)" % ("peer data export", t_export))
print("  %-34s max |coef difference| = %.1e over %d coefficients" % ("agreement", diff, len(ours)))
t_score, _ = timed("SELECT count(*), avg(score) FROM recpromo.score_propensity('bench_prop', 'bench_promo.cust', 'id')")
t = time.perf_counter()
ref.predict_proba(X)
row("batch scoring", t_score, time.perf_counter() - t, "sklearn predict_proba")
t_eval, m = timed("SELECT metric, value FROM recpromo.evaluate_propensity('bench_prop', 'bench_promo.cust', 'bought')")
print("  %-34s %.2f s (AUC %.4f, log-loss %.4f)" % ("evaluate_propensity", t_eval, dict(m)["auc"], dict(m)["log_loss"]))

# ---------------------------------------------------------------- 2. uplift
print("\n2. uplift (two_model, arms coupon / email / control)")
t_up, arms = timed("SELECT * FROM recpromo.train_uplift('bench_up', 'bench_promo.cust', 'arm', 'y', %s, %s)", (feats, cats))
print("  %-34s %.2f s for %s" % ("train_uplift (3 logistic fits)", t_up, ", ".join("%s ATE %.4f" % (a[0], a[3]) for a in arms)))
t_sc, _ = timed("""CREATE TABLE bench_promo.scored AS
                   SELECT c.id, c.arm, c.y, c.x1, s.uplift FROM bench_promo.cust c
                     JOIN recpromo.score_uplift('bench_up', 'bench_promo.cust', 'id') s
                       ON s.key = c.id::text AND s.treatment = 'coupon'""")
print("  %-34s %.2f s (%d customers x 2 treatments scored, joined and stored)" % ("score_uplift", t_sc, N))
sp = q("""SELECT corr(a, b) FROM (SELECT rank() OVER (ORDER BY uplift) a, rank() OVER (ORDER BY x1) b
                                   FROM bench_promo.scored) s""")[0][0]
print("  %-34s %.4f (true coupon uplift is 0.2 x1 - 0.03)" % ("Spearman(estimate, truth)", sp))
t_ev, ev = timed("SELECT metric, value, ci_low, ci_high FROM recpromo.uplift_evaluate('bench_promo.scored', 'uplift', 'arm', 'y', 'coupon', n_boot => 200)")
t_ev0, ev0 = timed("SELECT metric, value FROM recpromo.uplift_evaluate('bench_promo.scored', 'uplift', 'arm', 'y', 'coupon', n_boot => 0)")
d = q("SELECT uplift, arm = 'coupon', y FROM bench_promo.scored WHERE arm IN ('coupon', 'control')")
s = np.array([r[0] for r in d]); tr = np.array([r[1] for r in d]); yy = np.array([r[2] for r in d], float)
t = time.perf_counter()
o = np.argsort(-s, kind="stable")
nt = np.cumsum(tr[o]); nc = np.cumsum(~tr[o]); yt = np.cumsum(yy[o] * tr[o]); yc = np.cumsum(yy[o] * ~tr[o])
Nt = nt[-1]
with np.errstate(divide="ignore", invalid="ignore"):
    qv = np.where(nc > 0, (yt - yc * nt / np.maximum(nc, 1)) / Nt, 0.0)
phi = np.arange(1, len(s) + 1) / len(s)
g = qv - phi * qv[-1]
qini_np = np.sum((np.concatenate([[0], g[:-1]]) + g) / 2) / len(s)
t_np = time.perf_counter() - t
row("Qini (no bootstrap)", t_ev0, t_np, "numpy (data in memory)")
print("  %-34s recpromo %.6f, numpy %.6f" % ("Qini coefficient", dict(ev0)["qini_coefficient"], qini_np))
print("  %-34s %.2f s (CI of Qini %.5f .. %.5f)" % ("with 200 bootstrap resamples", t_ev,
      [r for r in ev if r[0] == "qini_coefficient"][0][2], [r for r in ev if r[0] == "qini_coefficient"][0][3]))

# ---------------------------------------------------------------- 3. assignment
print("\n3. offer assignment (%d customers x 3 offers)" % N)
q("SELECT setseed(0.7)")
q("""CREATE TABLE bench_promo.cand AS
     SELECT c.id AS customer, o.offer, o.cost, o.scale * random() ^ 2 * 4 AS value
       FROM bench_promo.cust c,
            (VALUES ('email', 0.1, 0.5), ('coupon', 1.0, 2.5), ('free_shipping', 2.0, 5.0)) o(offer, cost, scale)""")
budget = 0.06 * N
t_as, r = timed("SELECT total_customers, total_spent, total_profit, upper_bound FROM recpromo.assign_offers('bench_promo.cand', 'customer', 'offer', 'value', 'cost', %s) LIMIT 1", (budget,))
cust, spent, profit, ub = r[0]
best = q("""SELECT offer, cost FROM bench_promo.cand GROUP BY offer, cost ORDER BY avg(value - cost) DESC LIMIT 1""")[0]
blanket = q("""SELECT sum(value - cost) FROM bench_promo.cand WHERE offer = %s AND customer <= floor(%s / %s)""",
            (best[0], budget, best[1]))[0][0]
rnd = q("""SELECT sum(value - cost) FROM (
             SELECT value, cost, sum(cost) OVER (ORDER BY md5(customer::text)) AS run FROM (
               SELECT DISTINCT ON (customer) * FROM bench_promo.cand ORDER BY customer, md5(customer::text || offer)) s) r
            WHERE run <= %s""", (budget,))[0][0]
print("  budget %.0f: recpromo %.0f profit (%d customers, spent %.0f), Lagrangian bound %.0f (gap %.2f%%)"
      % (budget, profit, cust, spent, ub, 100 * (ub - profit) / ub))
print("  best average offer (%s) to everyone affordable: %.0f profit -> recpromo %.2fx" % (best[0], blanket, profit / blanket))
print("  random targeting: %.0f profit -> recpromo %.2fx" % (rnd, profit / rnd))
print("  assign_offers time %.2f s" % t_as)
t_cv, cv = timed("SELECT budget, profit FROM recpromo.assign_offers_curve('bench_promo.cand', 'customer', 'offer', 'value', 'cost', %s)",
                 ([budget * f for f in (0.25, 0.5, 1, 2, 4)],))
print("  profit curve (%.2f s): %s" % (t_cv, ", ".join("%.0f -> %.0f" % (b, p) for b, p in cv)))

# ---------------------------------------------------------------- 4. RFM on Online Retail
print("\n4. RFM on the Online Retail data")
if not os.path.exists(RETAIL):
    print("  skipped: %s not found" % RETAIL)
else:
    q("""CREATE TABLE bench_promo.retail (invoice_no text, stock_code text, description text, quantity int,
         invoice_date timestamp, unit_price numeric, customer_id text, country text)""")
    t = time.perf_counter()
    with gzip.open(RETAIL, "rt", encoding="utf-8") as f:
        cur.copy_expert("COPY bench_promo.retail FROM STDIN WITH (FORMAT csv, HEADER)", f)
    print("  loaded in %.1f s" % (time.perf_counter() - t))
    q("UPDATE bench_promo.retail SET customer_id = NULLIF(replace(customer_id, '.0', ''), '')")
    figs = q("""SELECT count(*), count(DISTINCT invoice_no), count(DISTINCT stock_code), count(DISTINCT customer_id),
                       count(DISTINCT country), sum(quantity), round(sum(quantity * unit_price), 3),
                       count(*) FILTER (WHERE customer_id IS NULL), count(*) FILTER (WHERE invoice_no LIKE 'C%%')
                  FROM bench_promo.retail""")[0]
    want = (541909, 25900, 4070, 4372, 38, 5176450, 9747747.934, 135080, 9288)
    names = ("rows", "invoices", "stock codes", "customer ids", "countries", "sum(quantity)",
             "sum(quantity*price)", "rows without customer", "cancellation rows")
    for nm, g, w in zip(names, figs, want):
        print("  %-24s %14s  SOURCE.md %14s  %s" % (nm, g, w, "ok" if float(g) == float(w) else "MISMATCH"))
    clean = q("""SELECT count(*), count(DISTINCT customer_id) FROM bench_promo.retail
                  WHERE customer_id IS NOT NULL AND invoice_no NOT LIKE 'C%%' AND quantity > 0 AND unit_price > 0""")[0]
    print("  %-24s %14s  SOURCE.md %14s  %s" % ("clean purchase rows", clean[0], 397884, "ok" if clean[0] == 397884 else "MISMATCH"))
    print("  %-24s %14s  SOURCE.md %14s  %s" % ("clean customers", clean[1], 4338, "ok" if clean[1] == 4338 else "MISMATCH"))
    q("""CREATE VIEW bench_promo.lines AS SELECT invoice_no, customer_id, invoice_date, quantity * unit_price AS amount
           FROM bench_promo.retail WHERE customer_id IS NOT NULL AND unit_price > 0""")
    as_of = "2011-12-10 00:00:00"
    q("SET TimeZone = 'UTC'")
    t_rfm, seg = timed("""SELECT segment, count(*), round(avg(recency_days), 1), round(avg(frequency), 2), round(avg(monetary)::numeric, 2)
                            FROM recpromo.rfm('bench_promo.lines', 'customer_id', 'invoice_date', 'amount', %s, order_col => 'invoice_no')
                           GROUP BY 1 ORDER BY 2 DESC""", (as_of,))
    t = time.perf_counter()
    buf = io.StringIO()
    cur.copy_expert("COPY (SELECT invoice_no, customer_id, invoice_date, amount FROM bench_promo.lines) TO STDOUT WITH CSV", buf)
    buf.seek(0)
    d = pd.read_csv(buf, header=None, names=["inv", "cust", "ts", "amt"], parse_dates=["ts"])
    t_exp = time.perf_counter() - t
    t = time.perf_counter()
    o = d.groupby(["cust", "inv"]).agg(ts=("ts", "min"), amt=("amt", "sum")).reset_index()
    pos = o[o.amt > 0]
    per = pos.groupby("cust").agg(last=("ts", "max"), freq=("inv", "count"))
    per["mon"] = o.groupby("cust").amt.sum().reindex(per.index)
    per["rec"] = ((pd.Timestamp(as_of) - per["last"]).dt.total_seconds() // 86400).astype(int)
    n = len(per)
    r = 1 + (5 * (per.rec.rank(method="min", ascending=False) - 1) // n)
    f = 1 + (5 * (per.freq.rank(method="min") - 1) // n)
    t_pd = time.perf_counter() - t
    row("rfm() %d customers" % sum(s[1] for s in seg), t_rfm, t_pd, "pandas groupby")
    print("  (pandas needs %.2f s more to get the rows out of the database)" % t_exp)
    ours = {x[0]: x for x in seg}
    print("  pandas check: %d customers, mean recency %.1f, mean frequency %.2f"
          % (n, per.rec.mean(), per.freq.mean()))
    print("\n  | segment | customers | mean recency (days) | mean frequency (invoices) | mean monetary |")
    print("  |---|---:|---:|---:|---:|")
    for s in seg:
        print("  | %s | %d | %s | %s | %s |" % s)

q("DELETE FROM recpromo.model WHERE name IN ('bench_prop', 'bench_up')")
q("DROP SCHEMA bench_promo CASCADE")
