#!/usr/bin/python3
"""Off-policy evaluation of 1M logged rows (issue 12: "in seconds").

Builds bench_ope.log (n rows: a segment 0..99, a float8[3] context, the same
context as jsonb, 3 arms logged epsilon-greedy with their propensities, a
reward) and two target tables: bench_ope.seg_target (one distribution per
segment, 300 rows) and bench_ope.row_target (one per logged row, 3n rows).
Times evaluate_policy (default: 4 estimators, 200 bootstrap replicates, the
reward model refit in each) with each target and context form, and
evaluate_policy_arrays alone on arrays already in memory, on one thread (the
default recpromo.max_threads) and on two.  Not pass/fail.

Usage: bench/bench_ope.py [rows]   (libpq environment selects the database)
"""
import sys
import time

import psycopg2

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()
cur.execute("CREATE EXTENSION IF NOT EXISTS recpromo")
cur.execute("DROP SCHEMA IF EXISTS bench_ope CASCADE; CREATE SCHEMA bench_ope")
t0 = time.time()
cur.execute("SELECT setseed(0.42)")
cur.execute(f"""
CREATE TABLE bench_ope.log AS
SELECT i AS id, i % 100 AS segment, ARRAY[x1, x2, x3] AS ctx,
       jsonb_build_object('x1', x1, 'x2', x2, 'x3', x3) AS ctxj,
       (ARRAY['a', 'b', 'c'])[arm] AS arm,
       CASE WHEN arm = greedy THEN 0.8 ELSE 0.1 END AS propensity,
       0.3 + 0.1 * arm * x1 - 0.2 * x2 + 0.1 * x3 + (random() - 0.5) * 0.2 AS reward
  FROM (SELECT i, x1, x2, x3, greedy,
               CASE WHEN u < 0.8 THEN greedy ELSE 1 + (greedy + (u * 20)::int % 2) % 3 END AS arm
          FROM (SELECT i, random() AS x1, random() AS x2, random() AS x3, 1 + i % 3 AS greedy, random() AS u
                  FROM generate_series(1, {n}) i) s) s""")
cur.execute("""CREATE TABLE bench_ope.seg_target AS
SELECT s AS segment, a AS arm, CASE WHEN a = 'c' THEN 0.6 ELSE 0.2 END AS probability
  FROM generate_series(0, 99) s, unnest(ARRAY['a', 'b', 'c']) a""")
cur.execute("""CREATE TABLE bench_ope.row_target AS
SELECT id, a AS arm, CASE WHEN a = 'c' THEN 0.6 ELSE 0.2 END AS probability
  FROM bench_ope.log, unnest(ARRAY['a', 'b', 'c']) a""")
cur.execute("VACUUM ANALYZE bench_ope.log")
cur.execute("VACUUM ANALYZE bench_ope.row_target")
print(f"setup {n} rows: {time.time() - t0:.1f} s")


def run(label, sql):
    t = time.time()
    cur.execute(sql)
    rows = cur.fetchall()
    dt = time.time() - t
    f = lambda v: "-" if v is None else f"{v:.4f}"
    est = ", ".join(f"{r[0]} {f(r[1])} [{f(r[2])}, {f(r[3])}]" for r in rows)
    print(f"{label:58s} {dt:6.2f} s   {est}")


base = "SELECT * FROM recpromo.evaluate_policy('bench_ope.log', {ctx}, 'arm', 'reward', 'propensity', {tgt}{extra})"
run("float8[3] context, target per segment, B=200",
    base.format(ctx="'ctx'", tgt="target_probs => 'bench_ope.seg_target', key_col => 'segment'", extra=""))
run("float8[3] context, target per segment, B=0",
    base.format(ctx="'ctx'", tgt="target_probs => 'bench_ope.seg_target', key_col => 'segment'", extra=", bootstrap => 0"))
run("no context, target per segment, B=200",
    base.format(ctx="NULL", tgt="target_probs => 'bench_ope.seg_target', key_col => 'segment'", extra=""))
run("jsonb context (3 features), target per segment, B=200",
    base.format(ctx="'ctxj'", tgt="target_probs => 'bench_ope.seg_target', key_col => 'segment'", extra=""))
run("float8[3] context, target per logged row (3n rows), B=200",
    base.format(ctx="'ctx'", tgt="target_probs => 'bench_ope.row_target', key_col => 'id'", extra=""))

# the C part alone: arrays already read
cur.execute("""CREATE TEMP TABLE arrs AS
SELECT array_agg(l.ctx) AS ctx, array_agg(pg_catalog.array_position(ARRAY['a','b','c'], l.arm)) AS arm,
       array_agg(l.reward) AS reward, array_agg(l.propensity::float8) AS prop,
       array_agg(ARRAY[0.2, 0.2, 0.6]::float8[]) AS tp FROM bench_ope.log l""")
run("evaluate_policy_arrays only (float8[3]), B=200",
    "SELECT e.* FROM arrs, recpromo.evaluate_policy_arrays(arrs.ctx, arrs.arm, arrs.reward, arrs.prop, arrs.tp) e")
run("evaluate_policy_arrays only (float8[3]), B=0",
    "SELECT e.* FROM arrs, recpromo.evaluate_policy_arrays(arrs.ctx, arrs.arm, arrs.reward, arrs.prop, arrs.tp, bootstrap => 0) e")
cur.execute("SET recpromo.max_threads = 2")
run("evaluate_policy_arrays only (float8[3]), B=200, 2 threads",
    "SELECT e.* FROM arrs, recpromo.evaluate_policy_arrays(arrs.ctx, arrs.arm, arrs.reward, arrs.prop, arrs.tp) e")
run("float8[3] context, target per segment, B=200, 2 threads",
    base.format(ctx="'ctx'", tgt="target_probs => 'bench_ope.seg_target', key_col => 'segment'", extra=""))
cur.execute("DROP SCHEMA bench_ope CASCADE")
