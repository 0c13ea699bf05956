#!/usr/bin/python3
"""Benchmark of recpromo.tune() (not pass/fail).

Part 1, generated data with a planted optimum: users in latent groups buy
mostly inside their group, so each method's validation metric peaks inside
its search space.  For each method the exhaustive grid (strategy 'grid',
trials >= grid size) gives the best grid point's validation metric; random
search, adaptive search and successive halving with a smaller budget must
get within 2% of it on the same split (same seed).

Part 2, UCI Online Retail (../shared/data/online-retail, see its SOURCE.md;
clean purchases, the 2,000 most bought stock codes): a time split at
2011-10-01.  For each method, the model trained with train()'s defaults and
the model tuned by tune() (strategy 'adaptive', 20 trials, seed 1 by
default; time_col; split 'cut' by default, so its
validation slice is the purchases of the last fifth of the training
period, as the test is the period after it; --split latest holds out each
customer's latest purchases instead) are both evaluated on the
purchases after the cut (ndcg@10, precision@10, customers known to the
model, bought items excluded).

Usage: /usr/bin/python3 bench/bench_tune.py [--show-trials] [--skip-retail]
[--skip-generated] [--trials N] [--strategy adaptive] [--split cut]
[--seed 1] [--methods popularity,item_knn,user_knn,ease,sparse_ease,als]
(libpq variables choose the server; the script creates the database
bench_tune).  Quality figures only: they do not depend on the machine's
load (no time budget is used), the seconds it prints do.
"""
import argparse
import json
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


def setup(db='bench_tune'):
    c = connect('postgres')
    cur = c.cursor()
    cur.execute('DROP DATABASE IF EXISTS %s' % db)
    cur.execute('CREATE DATABASE %s' % db)
    c.close()
    c = connect(db)
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

SPACE_GRID = {'ease': 11, 'item_knn': 54, 'als': 120, 'popularity': 2}


def part_generated(cur, trials):
    cur.execute(GENERATED)
    print('\n== generated data: 2,000 users in 25 groups, 400 items, 25 picks each ==')
    print('%-10s %-8s %7s %10s %10s %8s  %s' % ('method', 'strategy', 'trials', 'best', 'grid best',
                                              'ratio', 'chosen'))
    for method, budget_grid in (('ease', 11), ('item_knn', 54), ('als', 60)):
        grid = q(cur, "SELECT max(value) FROM tune('g_grid', 'gen', 'u', 'item', method => %s, "
                      "strategy => 'grid', trials => %s, seed => 5)", (method, budget_grid))[0][0]
        print('%-10s %-8s %7d %10.4f %10.4f %8s' % (method, 'grid', budget_grid, grid, grid, '1.000'))
        for strategy in ('random', 'adaptive', 'halving'):
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


RETAIL_METHODS = ('popularity', 'item_knn', 'user_knn', 'ease', 'sparse_ease', 'als')


def part_retail(cur, trials, split, strategy, methods, show_trials, seed=1):
    t0 = time.time()
    for stmt in RETAIL_SQL.format(path=RETAIL).split(';'):
        if stmt.strip():
            cur.execute(stmt)
    n = q(cur, 'SELECT count(*), count(DISTINCT customer), count(DISTINCT item) FROM r_train')[0]
    print('\n== Online Retail, time split at 2011-10-01: train %d rows, %d customers, %d items '
          '(loaded in %.0f s) ==' % (n[0], n[1], n[2], time.time() - t0))
    print("tune(): split => %r, strategy => %r, %d trials per method, seed %d; validation only: "
          "the test period is never seen by tune()" % (split, strategy, trials, seed))
    rows_out = []
    for method in methods:
        t = time.time()
        q(cur, "SELECT name FROM train('d_' || %s, 'r_train', 'customer', 'item', method => %s)",
          (method, method))
        secs_d = time.time() - t
        d = q(cur, "SELECT ndcg_at_k, precision_at_k FROM evaluate('d_' || %s, 'r_test', 'customer', 'item', k => 10)",
              (method,))[0]
        dparams = q(cur, "SELECT params FROM models WHERE name = 'd_' || %s", (method,))[0][0]
        t = time.time()
        tr = q(cur, "SELECT trial, params, value, fraction, chosen FROM tune('t_' || %s, 'r_train', 'customer', "
                    "'item', method => %s, time_col => 'ts', split => %s, strategy => %s, trials => %s, "
                    "seed => %s) ORDER BY trial",
               (method, method, split, 'grid' if method == 'popularity' else strategy, trials, seed))
        secs_t = time.time() - t
        tu = q(cur, "SELECT ndcg_at_k, precision_at_k FROM evaluate('t_' || %s, 'r_test', 'customer', 'item', k => 10)",
               (method,))[0]
        chosen = [r for r in tr if r[4]][0]
        default_val = tr[0][2] if method != 'popularity' else None
        rows_out.append((method, d, tu, chosen, default_val, len(tr), secs_d, secs_t))
        print('\n-- %s: default vs tuned on the test period (%d trials, %.0f s; default trained in %.1f s)'
              % (method, len(tr), secs_t, secs_d))
        print('   default  ndcg@10 %.4f  prec@10 %.4f  %s' % (d[0], d[1], json.dumps(
            {k: v for k, v in dparams.items() if k in ('factors', 'regularization', 'alpha', 'lambda',
                                                         'neighbours', 'shrink', 'weighting', 'by')},
            sort_keys=True)))
        print('   tuned    ndcg@10 %.4f  prec@10 %.4f  %s (trial %d, validation %.4f)'
              % (tu[0], tu[1], json.dumps(chosen[1], sort_keys=True), chosen[0], chosen[2]))
        if show_trials:
            for r in tr:
                print('     trial %3d  share %.3f  validation %s  %s%s'
                      % (r[0], r[3], 'failed' if r[2] is None else '%.4f' % r[2],
                         json.dumps(r[1], sort_keys=True), '  <- chosen' if r[4] else ''))
    print('\n%-12s %9s %9s %8s %9s %9s %8s %11s  %s' % ('method', 'def ndcg', 'tun ndcg', 'gain',
                                                     'def prec', 'tun prec', 'gain', 'valid d/t', 'chosen'))
    for method, d, tu, chosen, dv, nt, _, _ in rows_out:
        print('%-12s %9.4f %9.4f %+7.1f%% %9.4f %9.4f %+7.1f%% %5s/%.4f  %s'
              % (method, d[0], tu[0], 100 * (tu[0] / d[0] - 1), d[1], tu[1], 100 * (tu[1] / d[1] - 1),
                 '-' if dv is None else '%.4f' % dv, chosen[2], json.dumps(chosen[1], sort_keys=True)))
    best_default = max(r[1][0] for r in rows_out)
    best_tuned = max(r[2][0] for r in rows_out)
    print('best default ndcg@10 %.4f, best tuned %.4f: the best tuned model beats every default: %s'
          % (best_default, best_tuned, best_tuned > best_default))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--skip-retail', action='store_true')
    ap.add_argument('--skip-generated', action='store_true')
    ap.add_argument('--trials', type=int, default=20)
    ap.add_argument('--split', default='cut', help="tune()'s split for Online Retail: cut or latest")
    ap.add_argument('--strategy', default='adaptive', help="tune()'s strategy for Online Retail")
    ap.add_argument('--methods', default=','.join(RETAIL_METHODS),
                    help='comma-separated methods for Online Retail')
    ap.add_argument('--show-trials', action='store_true', help='print every trial of Online Retail')
    ap.add_argument('--seed', type=int, default=1, help="tune()'s seed for Online Retail")
    ap.add_argument('--db', default='bench_tune', help='database to (re)create and use')
    a = ap.parse_args()
    c, cur = setup(a.db)
    if not a.skip_generated:
        part_generated(cur, a.trials)
    if not a.skip_retail:
        part_retail(cur, a.trials, a.split, a.strategy, a.methods.split(','), a.show_trials, a.seed)
    c.close()


if __name__ == '__main__':
    sys.exit(main())
