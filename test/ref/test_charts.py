#!/usr/bin/python3
"""The chart functions plot exactly what the public functions return.

Every chart_* output is parsed as XML (xml.etree); the marks
(<g class="mark">, each with a <title>) carry data-series / data-x / data-y
/ data-lo / data-hi, and those numbers must EQUAL (as doubles, not to a
tolerance) the output of the function the chart draws, called here
directly: evaluate, uplift_curve, uplift_by_decile, assign_offers_curve,
rfm, kmeans_clusters, bandit_stats.  Shares and indexes a chart derives are
recomputed here in the same order of double operations.  Also: hostile
names are escaped (the SVG still parses and shows them), missing values
are not drawn, the bootstrap band is seeded, the errors and privileges are
those of the underlying function (the chart runs as its caller), and
report() is one page with no script and nothing fetched.

Runs inside the test cluster (libpq environment set); prints
"N passed, N failed".
"""
import os
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, fresh_database, report  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
DB = "rp_charts"

SETUP = """
SET search_path = recpromo, public;
CREATE TABLE shop_orders AS
  SELECT c AS customer_id, p AS product_id, 1 + abs(hashint4(c * 7 + p)) % 3 AS quantity,
         date '2024-01-01' + abs(hashint4(c * 13 + p)) % 365 AS ordered_on
  FROM generate_series(1, 300) c, generate_series(1, 60) p
  WHERE abs(hashint4(c * 1000 + p)) % 1000 <
        CASE WHEN (p - 1) % 6 = c % 6 THEN 260 WHEN (p - 1) % 6 = (c / 6) % 6 THEN 80 ELSE 10 END;
CREATE VIEW shop_train AS SELECT * FROM shop_orders WHERE NOT in_test_set(customer_id, product_id, 0.2);
CREATE VIEW shop_test  AS SELECT * FROM shop_orders WHERE in_test_set(customer_id, product_id, 0.2);
SELECT name FROM train('pop', 'shop_train', 'customer_id', 'product_id', method => 'popularity');
SELECT name FROM train('als', 'shop_train', 'customer_id', 'product_id', 'quantity',
                       method => 'als', factors => 8, iterations => 5, seed => 7);
SELECT name FROM train('x<y&"z''', 'shop_train', 'customer_id', 'product_id', method => 'popularity');
CREATE TABLE campaign AS
  SELECT c AS customer, (abs(hashint4(c)) % 100) / 100.0 AS score,
         CASE WHEN abs(hashint4(c * 3)) % 2 = 0 THEN 'coupon' ELSE 'control' END AS treatment,
         (abs(hashint4(c * 5)) % 1000 < 100 + CASE WHEN abs(hashint4(c * 3)) % 2 = 0
                                                 THEN 200 * (abs(hashint4(c)) % 100) / 100 ELSE 0 END)::int AS bought
  FROM generate_series(1, 1500) c;
CREATE TABLE offer_candidates AS
  SELECT c AS customer_id, o AS offer, 5 + abs(hashint4(c * 11 + o)) % 20 AS value, 2 + o * 2 AS cost
  FROM generate_series(1, 100) c, generate_series(1, 3) o;
CREATE TABLE order_values AS
  SELECT customer_id, ordered_on AS ordered_at, quantity * 4.55 AS amount FROM shop_orders;
CREATE TABLE profiles AS
  SELECT customer, recency_days, frequency, monetary
  FROM rfm('order_values', 'customer_id', 'ordered_at', 'amount', '2025-01-01');
SELECT create_bandit('coupons', ARRAY['pct10', 'pct20', 'free & <ship>'], seed => 7) > 0;
DO $$
DECLARE d record;
BEGIN
  FOR i IN 1..300 LOOP
    SELECT * INTO d FROM recpromo.choose('coupons');
    PERFORM recpromo.reward('coupons', d.decision_id, CASE WHEN d.arm = 'pct20' AND i % 3 = 0 THEN 1 ELSE 0 END);
  END LOOP;
END $$;
-- bandits with a history at fixed times: decisions every 7 minutes, rewards
-- 30 minutes later (every fifth decision is never rewarded)
SELECT create_bandit('timed', ARRAY['red', 'green', 'blue & <co>'], seed => 11, prior_a => 2, prior_b => 3) > 0;
SELECT create_bandit('basket', ARRAY['small', 'large'], reward => 'amount', seed => 5, prior_mean => 4,
                     prior_var => 9) > 0;
DO $$
DECLARE d record;
BEGIN
  FOR i IN 1..120 LOOP
    SELECT * INTO d FROM recpromo.choose('timed');
    UPDATE recpromo.bandit_decision SET decided_at = timestamptz '2024-03-01 08:00:00+00' + i * interval '7 minutes'
     WHERE decision_id = d.decision_id;
    IF i % 5 <> 0 THEN
      PERFORM recpromo.reward('timed', d.decision_id,
                              CASE WHEN (d.arm = 'green' AND i % 2 = 0) OR i % 7 = 0 THEN 1 ELSE 0 END);
      UPDATE recpromo.bandit_reward SET rewarded_at = timestamptz '2024-03-01 08:30:00+00' + i * interval '7 minutes'
       WHERE decision_id = d.decision_id;
    END IF;
    SELECT * INTO d FROM recpromo.choose('basket');
    UPDATE recpromo.bandit_decision SET decided_at = timestamptz '2024-03-01 08:00:00+00' + i * interval '1 day'
     WHERE decision_id = d.decision_id;
    PERFORM recpromo.reward('basket', d.decision_id, (i % 4) * 2.5 + CASE WHEN d.arm = 'large' THEN 5 ELSE 0 END);
    UPDATE recpromo.bandit_reward SET rewarded_at = timestamptz '2024-03-01 09:00:00+00' + i * interval '1 day'
     WHERE decision_id = d.decision_id;
  END LOOP;
END $$;
SELECT create_bandit('idle', ARRAY['x', 'y']) > 0;
CREATE TABLE shop_groups AS
  SELECT p AS product_id, CASE WHEN p % 3 = 0 THEN 'house brand' WHEN p <= 20 THEN 'a & <b>' ELSE 'others' END AS grp
  FROM generate_series(1, 60) p;
"""


def parse(svg):
    """Root element and {series: [mark attributes]} of a chart."""
    root = ET.fromstring(svg)
    marks = {}
    for g in root.iter(SVG + "g"):
        if g.get("class") != "mark":
            continue
        marks.setdefault(g.get("data-series"), []).append(g)
    return root, marks


def num(g, attr):
    return float(g.get(attr))


def all_marks_titled(root):
    """Every mark and every drawn path carries a non-empty <title>."""
    ok = True
    for g in root.iter(SVG + "g"):
        if g.get("class") == "mark":
            t = g.find(SVG + "title")
            ok = ok and t is not None and bool(t.text)
    return ok


def main():
    admin, conn = fresh_database(DB)
    cur = conn.cursor()
    cur.execute(SETUP)
    cur.execute("SET search_path = recpromo, public")

    def one(sql, args=()):
        cur.execute(sql, args)
        return cur.fetchone()[0]

    def state(sql, args=()):
        try:
            cur.execute(sql, args)
        except psycopg2.Error as e:
            return e.pgcode
        return None

    # ---- metrics at k: every point is evaluate(model, ..., k => k)
    models = ["pop", "als", 'x<y&"z\'']
    svg = one("SELECT chart_metrics_at_k(%s, 'shop_test', 'customer_id', 'product_id', 'recall', 6)", (models,))
    root, marks = parse(svg)
    check("metrics_at_k: root is svg", root.tag == SVG + "svg" and root.get("data-chart") == "metrics_at_k")
    check("metrics_at_k: every mark titled", all_marks_titled(root))
    check("metrics_at_k: one line per model, hostile name parsed back", sorted(marks) == sorted(models), str(sorted(marks)))
    exact = True
    for m in models:
        for g in marks.get(m, []):
            k = int(num(g, "data-x"))
            want = one("SELECT recall_at_k FROM evaluate(%s, 'shop_test', 'customer_id', 'product_id', k => %s)", (m, k))
            exact = exact and num(g, "data-y") == want
        check(f"metrics_at_k {m!r}: 6 points", len(marks.get(m, [])) == 6)
    check("metrics_at_k: data-y == evaluate(...).recall_at_k exactly", exact)
    check("metrics_at_k: axis labels with units", "recall at k (fraction, 0 to 1)" in svg and "(items)" in svg)

    # ---- model comparison
    svg = one("SELECT chart_model_comparison(ARRAY['pop', 'als'], 'shop_test', 'customer_id', 'product_id', k => 5)")
    root, marks = parse(svg)
    cur.execute("SELECT precision_at_k, recall_at_k, ndcg_at_k, map_at_k, hit_rate_at_k, mrr_at_k, coverage "
                "FROM evaluate('als', 'shop_test', 'customer_id', 'product_id', k => 5)")
    want = list(cur.fetchone())
    got = [num(g, "data-y") for g in marks["als"]]
    check("model_comparison: bars == evaluate(k => 5)", got == want, f"{got} {want}")
    check("model_comparison: categories", [g.get("data-x") for g in marks["pop"]]
          == ["precision", "recall", "NDCG", "MAP", "hit rate", "MRR", "coverage"])

    # ---- uplift curve: line == uplift_curve, random line, seeded band
    args = "'campaign', 'score', 'treatment', 'bought'"
    svg = one(f"SELECT chart_uplift_curve({args}, points => 10, n_boot => 50, seed => 3)")
    root, marks = parse(svg)
    cur.execute(f"SELECT fraction, qini, random FROM uplift_curve({args}, points => 10) ORDER BY fraction")
    rows = cur.fetchall()
    line = marks["Qini curve"]
    check("qini: 11 points (0 and the 10 of uplift_curve)", len(line) == 11)
    check("qini: starts at (0, 0)", num(line[0], "data-x") == 0 and num(line[0], "data-y") == 0)
    check("qini: points == uplift_curve exactly",
          [(num(g, "data-x"), num(g, "data-y")) for g in line[1:]] == [(r[0], r[1]) for r in rows])
    check("qini: random line == uplift_curve.random",
          [num(g, "data-y") for g in marks["random targeting"][1:]] == [r[2] for r in rows])
    band = [s for s in marks if s.startswith("90% bootstrap band")]
    check("qini: a band", len(band) == 1)
    if band:
        b = marks[band[0]]
        check("qini: band lo <= hi at every point", all(num(g, "data-lo") <= num(g, "data-hi") for g in b))
        check("qini: band has a width", any(num(g, "data-lo") < num(g, "data-hi") for g in b))
    svg2 = one(f"SELECT chart_uplift_curve({args}, points => 10, n_boot => 50, seed => 3)")
    svg3 = one(f"SELECT chart_uplift_curve({args}, points => 10, n_boot => 50, seed => 4)")
    check("qini: same seed, same chart", svg == svg2)
    check("qini: other seed, other band", svg != svg3)
    svg = one(f"SELECT chart_uplift_curve({args}, curve => 'uplift', points => 10, n_boot => 0)")
    root, marks = parse(svg)
    cur.execute(f"SELECT uplift FROM uplift_curve({args}, points => 10) ORDER BY fraction")
    check("uplift curve: points == uplift_curve.uplift, no band",
          [num(g, "data-y") for g in marks["uplift curve"][1:]] == [r[0] for r in cur.fetchall()]
          and not any(s.startswith("90%") for s in marks))

    # ---- uplift by decile
    svg = one(f"SELECT chart_uplift_by_decile({args}, bins => 5)")
    root, marks = parse(svg)
    cur.execute(f"SELECT decile::text, uplift FROM uplift_by_decile({args}, bins => 5) ORDER BY decile")
    want = cur.fetchall()
    got = [(g.get("data-x"), num(g, "data-y")) for g in next(iter(marks.values()))]
    check("uplift_by_decile: bars == uplift_by_decile", got == want, f"{got} {want}")

    # ---- profit curve
    budgets = [20, 50, 100, 200, 400, 800]
    svg = one("SELECT chart_profit_curve('offer_candidates', 'customer_id', 'offer', 'value', 'cost', %s::float8[])", (budgets,))
    root, marks = parse(svg)
    cur.execute("SELECT budget, profit, upper_bound, spent FROM assign_offers_curve('offer_candidates', 'customer_id', "
                "'offer', 'value', 'cost', %s::float8[])", (budgets,))
    rows = cur.fetchall()
    for i, name in [(1, "profit of the assignment"), (2, "upper bound on profit"), (3, "budget spent")]:
        check(f"profit curve: {name} == assign_offers_curve",
              [(num(g, "data-x"), num(g, "data-y")) for g in marks[name]] == [(r[0], r[i]) for r in rows])

    # ---- RFM segments: shares in percent, summed in the chart's order
    rfm_args = "'order_values', 'customer_id', 'ordered_at', 'amount', '2025-01-01'"
    svg = one(f"SELECT chart_rfm_segments({rfm_args})")
    root, marks = parse(svg)
    cur.execute(f"SELECT segment, count(*)::float8, sum(monetary)::float8 FROM rfm({rfm_args}) GROUP BY segment")
    seg = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
    cats = [g.get("data-x") for g in marks["share of customers"]]
    check("rfm: every segment, by value", sorted(cats) == sorted(seg)
          and [seg[c][1] for c in cats] == sorted((v for _, v in seg.values()), reverse=True))
    tc = tv = 0.0
    for c in cats:
        tc += seg[c][0]
        tv += seg[c][1]
    check("rfm: customer shares exact", [num(g, "data-y") for g in marks["share of customers"]]
          == [100.0 * seg[c][0] / tc for c in cats])
    check("rfm: value shares exact", [num(g, "data-y") for g in marks["share of value (monetary)"]]
          == [100.0 * seg[c][1] / tv for c in cats])

    # ---- k-means profiles: index 100 * centre / size-weighted mean
    cols = ["recency_days", "frequency", "monetary"]
    svg = one("SELECT chart_kmeans_profiles('profiles', 'customer', %s::name[], 3)", (cols,))
    root, marks = parse(svg)
    cur.execute("SELECT size::float8, centre FROM kmeans_clusters('profiles', 'customer', %s::name[], 3) ORDER BY cluster", (cols,))
    rows = cur.fetchall()
    total = 0.0
    for s, _ in rows:
        total += s
    mean = []
    for j in range(3):
        acc = 0.0
        for s, c in rows:
            acc += s * c[j]
        mean.append(acc / total)
    ok = len(marks) == 3
    for r, (s, c) in enumerate(rows):
        name = f"cluster {r + 1} ({s:.0f} rows)"
        ok = ok and [num(g, "data-y") for g in marks.get(name, [])] == [100.0 * c[j] / mean[j] for j in range(3)]
        ok = ok and [g.get("data-x") for g in marks.get(name, [])] == cols
    check("kmeans: profile indexes exact, columns as categories", ok)

    # ---- bandit
    svg = one("SELECT chart_bandit_arms('coupons')")
    root, marks = parse(svg)
    cur.execute("SELECT arm, pulls::float8, mean, lower, upper FROM bandit_stats('coupons')")
    rows = cur.fetchall()
    tot = 0.0
    for r in rows:
        tot += r[1]
    check("bandit: shares exact", [(g.get("data-x"), num(g, "data-y")) for g in marks["share of decisions"]]
          == [(r[0], r[1] / tot) for r in rows])
    check("bandit: mean and interval exact",
          [(num(g, "data-y"), num(g, "data-lo"), num(g, "data-hi")) for g in marks["mean reward, 95% interval"]]
          == [(r[2], r[3], r[4]) for r in rows])
    check("bandit: escaped arm name shown", "free &amp; &lt;ship&gt;" in svg)

    # ---- bandit history: recomputed here from the log, at fixed times
    import datetime
    from scipy.stats import beta as beta_dist

    def history_ref(name, buckets):
        """bandit_history recomputed from the log tables (as the superuser)."""
        cur.execute("SELECT b.id, b.reward, b.prior_a, b.prior_b FROM recpromo.bandit b WHERE b.name = %s", (name,))
        bid, kind, pa, pb = cur.fetchone()
        cur.execute("SELECT arm FROM recpromo.bandit_arm WHERE bandit_id = %s ORDER BY arm_no", (bid,))
        arms = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT arm_no, decided_at FROM recpromo.bandit_decision WHERE bandit_id = %s", (bid,))
        decs = cur.fetchall()
        cur.execute("SELECT d.arm_no, r.rewarded_at, r.value FROM recpromo.bandit_reward r JOIN "
                    "recpromo.bandit_decision d USING (decision_id) WHERE r.bandit_id = %s ORDER BY r.reward_seq", (bid,))
        rews = cur.fetchall()
        us = datetime.timedelta(microseconds=1)
        t0 = min(t for _, t in decs)
        t1 = max([t for _, t in decs] + [t for _, t, _ in rews])
        span = (t1 - t0) // us
        edges = [t0 + (span // buckets * i + (span % buckets) * i // buckets) * us for i in range(buckets + 1)]

        def bucket(t):
            return max(i for i in range(buckets) if edges[i] <= t)
        k = len(arms)
        dec = [[0] * k for _ in range(buckets)]
        rn = [[0] * k for _ in range(buckets)]
        for a, t in decs:
            dec[bucket(t)][a - 1] += 1
        for a, t, v in rews:
            rn[bucket(t)][a - 1] += 1
        rows = []
        for i in range(buckets):
            tot = sum(dec[i])
            for a in range(k):
                pulls = sum(dec[j][a] for j in range(i + 1))
                n = sum(rn[j][a] for j in range(i + 1))
                s_ = sum(v for b_, t, v in rews if b_ - 1 == a and bucket(t) <= i)
                rows.append((i + 1, edges[i], edges[i + 1], arms[a], dec[i][a],
                             dec[i][a] / tot if tot else None, pulls, n, s_, kind, pa + s_, pb + n - s_))
        return rows

    cur.execute("SELECT * FROM bandit_history('timed', 6)")
    got = cur.fetchall()
    want = history_ref("timed", 6)
    check("bandit_history: 6 buckets x 3 arms", len(got) == 18, str(len(got)))
    check("bandit_history: buckets, times, arms, decisions, shares, cumulative pulls, rewards, sums",
          [g[:9] for g in got] == [w[:9] for w in want], f"{got[:2]} {want[:2]}")
    ok = True
    for g, w in zip(got, want):
        a_, b_ = w[10], w[11]
        ok = ok and g[9] == a_ / (a_ + b_)
        ok = ok and abs(g[10] - beta_dist.ppf(0.025, a_, b_)) < 1e-9 and abs(g[11] - beta_dist.ppf(0.975, a_, b_)) < 1e-9
    check("bandit_history: Beta(prior_a + s, prior_b + n - s) mean and 2.5%/97.5% quantiles (scipy)", ok)
    check("bandit_history: shares of a bucket add up to 1",
          all(abs(sum(g[5] for g in got if g[0] == b) - 1) < 1e-12 for b in range(1, 7)
              if any(g[5] is not None for g in got if g[0] == b)))
    cur.execute("SELECT arm, pulls, rewards, reward_sum FROM bandit_stats('timed')")
    st = cur.fetchall()
    check("bandit_history: the last bucket's totals are bandit_stats'", [g[3:4] + g[6:9] for g in got[-3:]] == [tuple(r) for r in st])
    # amounts: a normal interval, the last bucket's the same as bandit_stats' (exact sums of halves)
    cur.execute("SELECT arm, pulls, rewards, reward_sum, mean, lower, upper FROM bandit_history('basket', 4) "
                "WHERE bucket = 4")
    last = cur.fetchall()
    cur.execute("SELECT arm, pulls, rewards, reward_sum, mean, lower, upper FROM bandit_stats('basket')")
    check("bandit_history amounts: last bucket == bandit_stats (Gaussian posterior, mean +- 1.96 sd)",
          last == cur.fetchall())
    cur.execute("SELECT * FROM bandit_history('idle')")
    check("bandit_history: no decisions, no rows", cur.fetchall() == [])
    cur.execute("SELECT count(*) FROM bandit_history('coupons', 3)")
    check("bandit_history: decisions at one instant fall in the last bucket",
          one("SELECT sum(decisions) FROM bandit_history('coupons', 3) WHERE bucket = 3") == 300)

    # ---- chart_bandit_history: the plotted numbers are bandit_history's
    svg = one("SELECT chart_bandit_history('timed', 6)")
    root, marks = parse(svg)
    panels = [p for p in root if p.tag == SVG + "svg"]
    check("bandit history chart: two panels in one svg",
          root.get("data-chart") == "bandit_history" and [p.get("data-chart") for p in panels]
          == ["bandit_history_shares", "bandit_history_posterior"])
    check("bandit history chart: every mark titled", all_marks_titled(root))
    t0 = got[0][1]
    hours = [((g[2] - t0) // datetime.timedelta(microseconds=1)) / 3600e6 for g in got[::3]]
    ok = True
    for a, arm in enumerate(["red", "green", "blue & <co>"]):
        rows = got[a::3]
        sh = [(num(g, "data-x"), num(g, "data-y")) for g in marks.get(f"{arm}: share of decisions", [])]
        ok = ok and sh == [(h, r[5]) for h, r in zip(hours, rows) if r[5] is not None]
        pm = [(num(g, "data-x"), num(g, "data-y")) for g in marks.get(f"{arm}: posterior mean", [])]
        ok = ok and pm == [(h, r[9]) for h, r in zip(hours, rows)]
        band = [(num(g, "data-x"), num(g, "data-lo"), num(g, "data-hi")) for g in marks.get(f"{arm}: 95% interval", [])]
        ok = ok and band == [(h, r[10], r[11]) for h, r in zip(hours, rows)]
    check("bandit history chart: shares, means and bands == bandit_history exactly; x = hours since the first decision", ok)
    check("bandit history chart: axis labels with units",
          "share of the bucket&#39;s decisions (fraction)" in svg and "end of time bucket (hours since 2024-03-01" in svg
          and "posterior mean reward (reward per decision)" in svg)
    check("bandit history chart: escaped arm name", "blue &amp; &lt;co&gt;: posterior mean" in svg)
    svg = one("SELECT chart_bandit_history('basket', 4)")
    check("bandit history chart: a span of months is in days", "(days since 2024-03-0" in svg)
    svg = one("SELECT chart_bandit_history('idle')")
    check("bandit history chart: no decisions, a no-data chart", svg.count(">no data<") == 2 and not parse(svg)[1])

    # ---- chart_exposure: bars and stated measures are exposure()'s
    ex_args = ("'shop_test', 'customer_id', 'product_id', k => 5, item_groups => 'shop_groups', "
               "group_item_col => 'product_id', group_col => 'grp'")
    svg = one(f"SELECT chart_exposure(ARRAY['pop', 'als'], {ex_args})")
    root, marks = parse(svg)
    check("exposure chart: every mark titled", all_marks_titled(root))
    ok = True
    facts = {(t.get("data-group"), t.get("data-key")): float(t.get("data-value"))
             for t in root.iter(SVG + "tspan") if t.get("class") == "fact"}
    for m in ["pop", "als"]:
        cur.execute(f"SELECT measure, item_group, value FROM exposure(%s, {ex_args})", (m,))
        rows = cur.fetchall()
        glob = [(r[0], r[2]) for r in rows if r[1] is None]
        ok = ok and [(k_, facts.get((m, k_))) for k_, _ in glob] == glob and len(glob) == 4
        exp = [(r[1], r[2]) for r in rows if r[0] == "exposure_share"]
        ok = ok and [(g.get("data-x"), num(g, "data-y")) for g in marks.get(f"{m}: share of recommended slots", [])] == exp
        if m == "pop":
            rel = [(r[1], r[2]) for r in rows if r[0] == "relevant_share"]
            ok = ok and [(g.get("data-x"), num(g, "data-y")) for g in marks.get("share of relevant test items", [])] == rel
            ok = ok and sorted(r[0] for r in rel) == ["a & <b>", "house brand", "others"]
    check("exposure chart: slot shares, relevant shares, Gini, long-tail share, APLT, ARP == exposure() exactly", ok,
          str(facts))
    check("exposure chart: escaped group, measures named", "a &amp; &lt;b&gt;" in svg and "long-tail share" in svg
          and ">Gini " in svg)
    check("exposure chart: unknown model, same error as exposure",
          state("SELECT chart_exposure(ARRAY['nope'], 'shop_test', 'customer_id', 'product_id')")
          == state("SELECT * FROM exposure('nope', 'shop_test', 'customer_id', 'product_id')") is not None)
    check("exposure chart: k NULL: 22004",
          state(f"SELECT chart_exposure(ARRAY['pop'], 'shop_test', 'customer_id', 'product_id', k => NULL)") == "22004")
    check("bandit_history buckets 0: 22023", state("SELECT * FROM bandit_history('timed', 0)") == "22023")
    check("bandit_history buckets NULL: 22004", state("SELECT * FROM bandit_history('timed', NULL)") == "22004")
    check("chart_bandit_history buckets 1001: 22023 (bandit_history's)",
          state("SELECT chart_bandit_history('timed', 1001)") == "22023")
    check("bandit_history of no bandit: 42704",
          state("SELECT * FROM bandit_history('nope')") == state("SELECT chart_bandit_history('nope')") == "42704")

    # ---- generic bars: NULL values not drawn
    svg = one("SELECT chart_bars(ARRAY['a', 'b', 'c'], ARRAY[0.5, NULL, 0.25], 'exposure', 'share', 'fraction')")
    root, marks = parse(svg)
    check("bars: NULL not drawn", [g.get("data-x") for g in marks["share"]] == ["a", "c"])

    # ---- extreme values: a well-formed chart of the finite ones
    for vals, n in [("ARRAY[5e-324, 0, 'NaN']::float8[]", 2), ("ARRAY[1e308, -1e308, 'Infinity']::float8[]", 2),
                    ("ARRAY[1e15, 1e15 + 2, -0.0]::float8[]", 3)]:
        svg = one(f"SELECT chart_bars(ARRAY['a', 'b', 'c'], {vals})")
        try:
            marks = parse(svg)[1]
            ok = (sum(len(v) for v in marks.values()) == n
                  and re.search(r'[="\s,MLHV](-?nan|-?inf)', svg, re.I) is None)
        except ET.ParseError as e:
            ok = False
        check(f"extreme values {vals}: well-formed, {n} bars", ok)

    # ---- no rows: a "no data" chart, not an error
    cur.execute("CREATE TABLE empty_orders (customer_id int, ordered_at date, amount numeric)")
    svg = one("SELECT chart_rfm_segments('empty_orders', 'customer_id', 'ordered_at', 'amount', '2025-01-01')")
    check("rfm of no orders: a no-data chart", ">no data<" in svg and not parse(svg)[1])
    svg = one("SELECT chart_bars(ARRAY[]::text[], ARRAY[]::float8[])")
    check("no bars: a no-data chart", ">no data<" in svg and not parse(svg)[1])

    # ---- errors: the chart's own, and those of the function it calls

    check("unknown metric: 22023", state("SELECT chart_metrics_at_k(ARRAY['pop'], 'shop_test', 'customer_id', 'product_id', 'auc')") == "22023")
    check("max_k 0: 22023", state("SELECT chart_metrics_at_k(ARRAY['pop'], 'shop_test', 'customer_id', 'product_id', max_k => 0)") == "22023")
    check("models NULL: 22004", state("SELECT chart_model_comparison(NULL, 'shop_test')") == "22004")
    check("unknown model: same error as evaluate",
          state("SELECT chart_model_comparison(ARRAY['nope'], 'shop_test', 'customer_id', 'product_id')")
          == state("SELECT * FROM evaluate('nope', 'shop_test', 'customer_id', 'product_id')") is not None)
    check("no control group: same error as uplift_curve",
          state("SELECT chart_uplift_curve('campaign', 'score', 'treatment', 'bought', control => 'none')")
          == state("SELECT * FROM uplift_curve('campaign', 'score', 'treatment', 'bought', control => 'none')") == "22023")
    check("bars length mismatch: 2202E", state("SELECT chart_bars(ARRAY['a'], ARRAY[1.0, 2.0])") == "2202E")
    check("report without sections: 22023", state("SELECT report()") == "22023")
    check("report: item_groups without models: 22004", state("SELECT report(item_groups => 'shop_groups')") == "22004")
    old_call = one("SELECT report(orders => 'order_values', as_of => '2025-01-01', title => 'x')")
    check("report: a call without the new arguments still works", old_call.count("<svg") == 1)

    # ---- as an ordinary role: the chart runs with the caller's rights
    cur.execute("DROP ROLE IF EXISTS rp_chart_reader")
    cur.execute("CREATE ROLE rp_chart_reader")
    cur.execute("GRANT USAGE ON SCHEMA recpromo TO rp_chart_reader")
    cur.execute("GRANT SELECT ON shop_orders, shop_test TO rp_chart_reader")
    cur.execute("SET ROLE rp_chart_reader")
    s1 = state("SELECT chart_model_comparison(ARRAY['als'], 'shop_test', 'customer_id', 'product_id')")
    s2 = state("SELECT * FROM evaluate('als', 'shop_test', 'customer_id', 'product_id')")
    check("no grant on the model: same refusal as evaluate", s1 == s2 and s1 is not None, f"{s1} {s2}")
    cur.execute("RESET ROLE")
    cur.execute("SELECT grant_model('als', 'rp_chart_reader')")
    cur.execute("SET ROLE rp_chart_reader")
    s1 = state("SELECT chart_model_comparison(ARRAY['als'], 'shop_test', 'customer_id', 'product_id')")
    check("granted: the reader gets the chart", s1 is None, str(s1))
    for sql in ("SELECT * FROM bandit_history('timed')", "SELECT chart_bandit_history('timed')"):
        check(f"no grant on the bandit: {sql} refused with 42501", state(sql) == "42501")
    cur.execute("RESET ROLE")
    cur.execute("SELECT grant_bandit('timed', 'rp_chart_reader')")
    cur.execute("SET ROLE rp_chart_reader")
    cur.execute("SELECT * FROM bandit_history('timed', 6)")
    check("granted bandit: the reader gets bandit_history", cur.fetchall() == got)
    check("granted bandit: the reader gets the chart", state("SELECT chart_bandit_history('timed')") is None)
    cur.execute("RESET ROLE")

    # ---- report: one page, no script, nothing fetched
    html = one("SELECT report(models => ARRAY['pop', 'als'], test_source => 'shop_test', user_col => 'customer_id', "
               "item_col => 'product_id', k => 5, uplift_source => 'campaign', treatment_col => 'treatment', "
               "outcome_col => 'bought', candidates => 'offer_candidates', budgets => ARRAY[50, 100, 200], "
               "orders => 'order_values', as_of => '2025-01-01', segment_source => 'profiles', "
               "segment_columns => ARRAY['recency_days', 'frequency', 'monetary'], clusters => 3, bandit => 'coupons', "
               "title => 'Shop <report> & co', item_groups => 'shop_groups', group_col => 'grp')")

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.urls = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            for k, v in attrs:
                if k in ("href", "src", "xlink:href") and v and not v.startswith("#"):
                    self.urls.append(v)

    p = Tags()
    p.feed(html)
    check("report: 13 charts (15 svg elements: the bandit's history has two panels)",
          html.count('<section class="chart"') == 13 and p.tags.count("svg") == 15, str(p.tags.count("svg")))
    check("report: no script, no link, no image, nothing fetched",
          not {"script", "link", "img", "iframe", "object"} & set(p.tags) and not p.urls and "@import" not in html
          and "url(" not in html)
    check("report: title escaped", "<title>Shop &lt;report&gt; &amp; co</title>" in html)
    check("report: a text per chart", html.count('<p class="how">') == 13)
    check("report: exposure and bandit history sections", 'id="exposure"' in html and 'id="bandit-history"' in html)
    for part in html.split('<svg xmlns="')[1:]:
        frag = '<svg xmlns="' + part.split("</svg>\n</svg>")[0].split("</svg>\n</section>")[0] + "</svg>"
        if 'class="rp-panel"' in frag:
            frag += "\n</svg>"
        try:
            ET.fromstring(frag)
        except ET.ParseError as e:
            check("report: every chart is well-formed XML", False, str(e))
            break
    else:
        check("report: every chart is well-formed XML", True)

    conn.close()
    admin.cursor().execute(f"DROP DATABASE {DB}")
    admin.cursor().execute("DROP ROLE IF EXISTS rp_chart_reader")
    return report()


if __name__ == "__main__":
    sys.exit(main())
