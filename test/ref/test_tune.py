#!/usr/bin/python3
"""tune() against train(): the search starts where train() stands, and ends
with the model train() would build.

1. For every method tune() searches, trial 1 of the default search (and of
   a single-trial search) holds train()'s own defaults for the searched
   parameters: tune.c keeps a copy of the defaults (its start point), and
   this fails when a method's default changes without it.
2. The model tune() leaves is the one train() builds with the chosen values
   on all the data: same stored params, same recommendations.
3. The default strategy is 'adaptive', deterministic under a seed (two calls,
   the same trials; another seed, other trials), and the defaults stay chosen
   unless a trial beats them by more than 0.5 % of their validation metric.

Runs inside the test cluster (libpq variables set).  Prints "N passed, N failed".
"""
import os
import sys

import psycopg2
import psycopg2.extras

passed = failed = 0


def check(name, cond):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", name)


def connect(db):
    c = psycopg2.connect(dbname=db)
    c.autocommit = True
    return c


admin = connect(os.environ.get("PGDATABASE", "postgres"))
acur = admin.cursor()
acur.execute("DROP DATABASE IF EXISTS rp_tune_ref")
acur.execute("CREATE DATABASE rp_tune_ref")
c = connect("rp_tune_ref")
cur = c.cursor()
cur.execute("CREATE EXTENSION recpromo")
cur.execute("SET search_path = recpromo, public")
cur.execute("SET client_min_messages = warning")
# 300 users in 10 groups, 120 items; quantities 1..3
cur.execute("""
CREATE TABLE tr_events AS
SELECT u, CASE WHEN recpromo.split_position(u, j, 1) < 0.7
               THEN (u % 10) * 12 + floor(12 * recpromo.split_position(u, j, 2))::int
               ELSE floor(120 * recpromo.split_position(u, j, 2))::int END AS item,
       1 + (u + j) % 3 AS qty, j AS t
FROM generate_series(1, 300) u, generate_series(1, 12) j
""")

SEARCHED = {
    "popularity": ["by"],
    "item_knn": ["neighbours", "shrink", "weighting"],
    "user_knn": ["neighbours", "shrink", "weighting"],
    "ease": ["lambda"],
    "sparse_ease": ["lambda", "neighbours"],
    "als": ["factors", "regularization", "alpha"],
    "als_explicit": ["factors", "regularization"],
    "slist": ["alpha", "lambda", "pos_decay"],
    "session_knn": ["neighbours", "sample_size"],
}


def num(v):
    return float(v) if isinstance(v, (int, float)) else v


# 1. the start point is train()'s defaults
for method, keys in SEARCHED.items():
    rating = "'qty'" if method == "als_explicit" else "NULL"
    metric = "rmse" if method == "als_explicit" else "ndcg@10"
    fixed = ('{"iterations": 3}' if method.startswith("als") else
             '{"time_col": "t"}' if method in ("slist", "session_knn") else "{}")
    cur.execute(f"SELECT params FROM train('tr_def', 'tr_events', 'u', 'item', {rating}, method => %s, "
                "params => %s)", (method, fixed))
    dparams = cur.fetchone()[0]
    cur.execute(f"SELECT trial, params FROM tune('tr_t', 'tr_events', 'u', 'item', {rating}, method => %s, "
                "metric => %s, trials => 1, params => %s) ORDER BY trial", (method, metric, fixed))
    rows = cur.fetchall()
    check(f"{method}: one trial", len(rows) == 1)
    t1 = rows[0][1]
    for k in keys:
        check(f"{method}: trial 1 {k} = train() default ({t1.get(k)} vs {dparams.get(k)})",
              k in t1 and k in dparams and num(t1[k]) == num(dparams[k]))

# 2. the tuned model is train() with the chosen values
cur.execute("SELECT params FROM tune('tr_knn', 'tr_events', 'u', 'item', method => 'item_knn', "
            "trials => 6, seed => 3) WHERE chosen")
chosen = cur.fetchone()[0]
cur.execute("SELECT params FROM models WHERE name = 'tr_knn'")
tuned_params = cur.fetchone()[0]
cur.execute("SELECT params FROM train('tr_knn2', 'tr_events', 'u', 'item', method => 'item_knn', params => %s)",
            (psycopg2.extras.Json(chosen),))
retrained = cur.fetchone()[0]
check("tuned model stores the chosen values", all(num(tuned_params[k]) == num(v) for k, v in chosen.items()))
check("train() with the chosen values stores the same params", tuned_params == retrained)
cur.execute("""
SELECT count(*) FROM (SELECT u FROM generate_series(1, 300) u) x,
  LATERAL (SELECT a.item AS ai, b.item AS bi, a.score AS a_s, b.score AS b_s
           FROM recommend(x.u, 10, 'tr_knn') a FULL JOIN recommend(x.u, 10, 'tr_knn2') b USING (rank)) y
WHERE ai IS DISTINCT FROM bi OR a_s IS DISTINCT FROM b_s
""")
check("tuned and retrained models recommend the same", cur.fetchone()[0] == 0)

# 3. adaptive by default, seeded, the defaults kept within the margin
q = ("SELECT trial, params::text, value FROM tune('tr_a', 'tr_events', 'u', 'item', method => 'als', "
     "trials => 6, seed => %s, params => '{\"iterations\": 3}') ORDER BY trial")
cur.execute(q, (11,))
a1 = cur.fetchall()
cur.execute(q, (11,))
a2 = cur.fetchall()
cur.execute(q, (12,))
a3 = cur.fetchall()
check("adaptive: same seed, same trials", a1 == a2 and len(a1) == 6)
check("adaptive: another seed, other trials", [r[1] for r in a1[1:]] != [r[1] for r in a3[1:]])
cur.execute("SELECT metrics -> 'tuning' ->> 'strategy' FROM models WHERE name = 'tr_a'")
check("default strategy is adaptive", cur.fetchone()[0] == "adaptive")
cur.execute("SELECT trial, value, chosen FROM tuning_trials WHERE model = 'tr_a' ORDER BY trial")
tr = cur.fetchall()
best = max(r[1] for r in tr if r[1] is not None)
ch = [r for r in tr if r[2]][0]
default_v = tr[0][1]
if best > default_v * 1.005:
    check("the best trial beyond the margin is chosen", ch[1] == best)
else:
    check("the defaults within the margin stay chosen", ch[0] == 1)

c.close()
acur.execute("DROP DATABASE rp_tune_ref")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
