#!/usr/bin/python3
"""Benchmark of recpromo.tune() (not pass/fail).

Part 1, generated data with a planted optimum: users in latent groups buy
mostly inside their group, so each method's validation metric peaks inside
its search space.  For each method the exhaustive grid (strategy 'grid',
trials >= grid size) gives the best grid point's validation metric; random
search and successive halving with a smaller budget must get within 2% of
it on the same split (same seed).

Part 2, UCI Online Retail (../shared/data/online-retail, see its SOURCE.md;
clean purchases, the 2,000 most bought stock codes): a time split at
2011-10-01.  For each method, the model trained with train()'s defaults and
the model tuned by tune() (time_col; split 'cut' by default, so its
validation slice is the purchases of the last fifth of the training
period, as the test is the period after it; --split latest holds out each
customer's latest purchases instead) are both evaluated on the
purchases after the cut (ndcg@10, precision@10, customers known to the
model, bought items excluded).

Usage: bench/bench_tune.py [--skip-retail] [--skip-generated] [--trials N]
(libpq variables choose the server; the script creates the database
bench_tune).
"""
import argparse
import os
import subprocess
import sys
import time

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
RETAIL = os.path.join(HERE, '..', '..', '..', 'shared', 'data', 'online-retail', 'online-retail.csv.gz')
if not os.path.exists(RETAIL):
    RETAIL = '/work/shared/data/online-retail/online-retail.csv.gz'


def connect(db):
    c = psycopg2.connect(dbname=db)
    c.autocommit = True
    return c


def q(cur, sql, args=None):
    cur.execute(sql, args)
    return cur.fetchall() if cur.description else None


def setup():
    c = connect('postgres')
    cur = c.cursor()
    cur.execute('DROP DATABASE IF EXISTS bench_tune')
    cur.execute('CREATE DATABASE bench_tune')
    c.close()
    c = connect('bench_tune')
    cur = c.cursor()
    cur.execute('CREATE EXTENSION recpromo')
    cur.execute('SET search_path = recpromo, public')
    cur.execute("SET client_min_messages = warning")
    return c, cur


GENERATED = """
CREATE TABLE gen AS
WITH u AS (SELECT u, u % 25 AS g FROM generate_series(1, 2000) u),
     picks AS (
       SELECT u.u, u.g, j,
              recpromo.split_position(u.u, j, 11) AS r1,
              recpromo.split_position(u.u, j, 12) AS r2
       FROM u, generate_series(1, 25) j)
SELECT u, CASE WHEN r1 < 0.75 THEN (g * 16 + floor(16 * r2 * r2))::int      -- in-group, skewed
               ELSE floor(400 * r2)::int END AS item                       -- anywhere
FROM picks
"""

SPACE_GRID = {'ease': 11, 'item_knn': 54, 'als': 144, 'popularity': 2}


def part_generated(cur, trials):
    cur.execute(GENERATED)
    print('\n== generated data: 2,000 users in 25 groups, 400 items, 25 picks each ==')
    print('%-10s %-8s %7s %10s %10s %8s  %s' % ('method', 'strategy', 'trials', 'best', 'grid best',
                                              'ratio', 'chosen'))
    for method, budget_grid in (('ease', 11), ('item_knn', 54), ('als', 60)):
        grid = q(cur, "SELECT max(value) FROM tune('g_grid', 'gen', 'u', 'item', method => %s, "
                      "strategy => 'grid', trials => %s, seed => 5)", (method, budget_grid))[0][0]
        print('%-10s %-8s %7d %10.4f %10.4f %8s' % (method, 'grid', budget_grid, grid, grid, '1.000'))
        for strategy in ('random', 'halving'):
            n = trials
            rows = q(cur, "SELECT value, params, chosen FROM tune('g_' || %s, 'gen', 'u', 'item', "
                          "method => %s, strategy => %s, trials => %s, seed => 5)",
                     (strategy, method, strategy, n))
            chosen = [r for r in rows if r[2]][0]
            best = chosen[0]
            print('%-10s %-8s %7d %10.4f %10.4f %8.3f  %s' % (method, strategy, n, best, grid,
                                                           best / grid, chosen[1]))


RETAIL_SQL = """
CREATE TABLE retail_raw (invoice text, stock text, descr text, qty int, ts timestamp, price numeric,
                         customer text, country text);
COPY retail_raw FROM PROGRAM 'zcat {path}' (FORMAT csv, HEADER);
CREATE TABLE retail AS
SELECT customer::numeric::int AS customer, stock AS item, qty, ts, invoice
FROM retail_raw
WHERE customer IS NOT NULL AND invoice NOT LIKE 'C%' AND qty > 0 AND price > 0
  AND stock IN (SELECT stock FROM retail_raw WHERE customer IS NOT NULL AND qty > 0
                GROUP BY stock ORDER BY count(*) DESC, stock LIMIT 2000);
CREATE TABLE r_train AS SELECT * FROM retail WHERE ts < '2011-10-01';
CREATE TABLE r_test AS SELECT * FROM retail WHERE ts >= '2011-10-01';
CREATE INDEX ON r_train (customer);
ANALYZE r_train;
"""


def part_retail(cur, trials, split):
    t0 = time.time()
    for stmt in RETAIL_SQL.format(path=RETAIL).split(';'):
        if stmt.strip():
            cur.execute(stmt)
    n = q(cur, 'SELECT count(*), count(DISTINCT customer), count(DISTINCT item) FROM r_train')[0]
    print('\n== Online Retail, time split at 2011-10-01: train %d rows, %d customers, %d items '
          '(loaded in %.0f s) ==' % (n[0], n[1], n[2], time.time() - t0))
    print('tune(): split => %r, %d trials per method' % (split, trials))
    print('%-10s %-8s %9s %9s %8s  %s' % ('method', 'model', 'ndcg@10', 'prec@10', 'seconds', 'params'))
    results = {}
    for method, strategy in (('popularity', 'grid'), ('item_knn', 'random'), ('ease', 'random'),
                             ('als', 'random')):
        t = time.time()
        q(cur, "SELECT name FROM train('d_' || %s, 'r_train', 'customer', 'item', method => %s)",
          (method, method))
        secs_d = time.time() - t
        d = q(cur, "SELECT ndcg_at_k, precision_at_k FROM evaluate('d_' || %s, 'r_test', 'customer', 'item', k => 10)",
              (method,))[0]
        t = time.time()
        q(cur, "SELECT count(*) FROM tune('t_' || %s, 'r_train', 'customer', 'item', method => %s, "
               "time_col => 'ts', split => %s, strategy => %s, trials => %s, seed => 1)",
          (method, method, split, strategy, trials))
        secs_t = time.time() - t
        tu = q(cur, "SELECT ndcg_at_k, precision_at_k FROM evaluate('t_' || %s, 'r_test', 'customer', 'item', k => 10)",
               (method,))[0]
        p = q(cur, "SELECT params FROM tuning_trials WHERE model = 't_' || %s AND chosen", (method,))[0][0]
        print('%-10s %-8s %9.4f %9.4f %8.1f' % (method, 'default', d[0], d[1], secs_d))
        print('%-10s %-8s %9.4f %9.4f %8.1f  %s' % (method, 'tuned', tu[0], tu[1], secs_t, p))
        results[method] = (d[0], tu[0])
    best_default = max(v[0] for v in results.values())
    best_tuned = max(v[1] for v in results.values())
    print('best default ndcg@10 %.4f, best tuned %.4f: tuned beats every default: %s'
          % (best_default, best_tuned, best_tuned > best_default))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--skip-retail', action='store_true')
    ap.add_argument('--skip-generated', action='store_true')
    ap.add_argument('--trials', type=int, default=20)
    ap.add_argument('--split', default='cut', help="tune()'s split for Online Retail: cut or latest")
    a = ap.parse_args()
    c, cur = setup()
    if not a.skip_generated:
        part_generated(cur, a.trials)
    if not a.skip_retail:
        part_retail(cur, a.trials, a.split)
    c.close()


if __name__ == '__main__':
    sys.exit(main())
