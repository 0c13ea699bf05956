#!/usr/bin/python3
"""Benchmark of session-aware recommendations (not pass/fail).

UCI Online Retail (/work/shared/data/online-retail, see its SOURCE.md; clean
purchases, the 2,000 most bought stock codes).  Each customer's purchases in
invoice order form one session.  Models are trained on the purchases before
2011-10-01: session_knn (train_session, time_col = invoice time), item_knn
(BM25) and ease.

Next-invoice prediction: for every customer with purchases before the cut
and an invoice after it, the session is everything the customer bought
before that first invoice after the cut, in time order (the last invoice's
items are the most recent); the target is the set of that invoice's items.
Each model ranks 20 items for the session twice: recommend_for_session
(recency weights) and the order-blind recommend_for_items (the same items,
weight 1 each); bought items may be recommended again (repeat purchases are
most of a next invoice).  Printed: hit rate (a target item in the top 20),
MRR (1 / rank of the first target item), recall@20.  Last,
evaluate_sessions on the purchases after the cut (each customer's last item
predicted from the ones before it) with and without order_blind.

slist (SLIST, Choi et al. 2021; train(..., method => 'slist', params =>
'{"time_col": "ts", ...}')) is tuned before the test period, never on it:
its hyper-parameters are picked on a validation cut inside the training
period (models trained on the purchases before 2011-08-01, each
customer's first invoice in [2011-08-01, 2011-10-01) predicted the same
way, at most --customers of them), by a staged grid on hit rate
(recommend_for_session; MRR breaks ties): alpha x lambda, then pos_decay,
then time_decay.  The chosen values are then trained on all the
purchases before 2011-10-01 and scored on the test like the others; the
defaults of slist are scored too.  EASE's lambda gets the same treatment
(1 to 1,000, on the order-blind basket's hit rate), so that slist also
meets a tuned EASE basket (r_ease_tuned, when the choice is not the
default 500).  --no-validate skips the search and
uses the defaults.

Usage: bench/bench_session.py [--customers N] [--no-validate] (libpq
variables choose the server; creates the database bench_session).
"""
import argparse
import json
import sys
import time

import psycopg2

RETAIL = '/work/shared/data/online-retail/online-retail.csv.gz'

SETUP = """
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
CREATE TABLE r_after AS SELECT * FROM retail WHERE ts >= '2011-10-01';
CREATE TABLE v_train AS SELECT * FROM retail WHERE ts < '2011-08-01';
CREATE TABLE v_after AS SELECT * FROM r_train WHERE ts >= '2011-08-01';
CREATE INDEX ON r_train (customer);
CREATE INDEX ON v_train (customer);
ANALYZE r_train;
ANALYZE v_train
"""

CASES = """
    WITH first_after AS (
      SELECT DISTINCT ON (customer) customer, invoice FROM {after} ORDER BY customer, ts, invoice)
    SELECT f.customer,
           (SELECT array_agg(t.item ORDER BY t.ts, t.item) FROM {train} t WHERE t.customer = f.customer),
           (SELECT array_agg(DISTINCT r.item) FROM {after} r WHERE r.invoice = f.invoice)
    FROM first_after f
    WHERE EXISTS (SELECT 1 FROM {train} t WHERE t.customer = f.customer)
    ORDER BY f.customer LIMIT %s"""

SLIST_DEFAULTS = {'alpha': 0.2, 'lambda': 100, 'pos_decay': 1, 'time_decay': 0}


def score(cur, cases, fn, model, k):
    """hit rate, MRR and recall at k of next-invoice prediction, ms per call."""
    hits = rr = rec = 0.0
    t = time.time()
    for _, seq, target in cases:
        cur.execute(f"SELECT item FROM {fn}(%s::text[], %s, model => %s, exclude_input => false) "
                    "ORDER BY rank", (seq, k, model))
        got = [r[0] for r in cur.fetchall()]
        tset = set(target)
        ranks = [i for i, x in enumerate(got) if x in tset]
        if ranks:
            hits += 1
            rr += 1.0 / (ranks[0] + 1)
        rec += len(ranks) / len(tset)
    n = max(len(cases), 1)
    return hits / n, rr / n, rec / n, (time.time() - t) * 1000.0 / n


def train_slist(cur, name, source, params):
    p = dict(params, time_col='ts')
    cur.execute("SELECT train_seconds FROM train(%s, %s, 'customer', 'item', method => 'slist', "
                "params => %s::jsonb)", (name, source, json.dumps(p)))
    return cur.fetchone()[0]


def validate(cur, customers, k):
    """Staged grid search of slist on the validation cut (before the test)."""
    cur.execute(CASES.format(train='v_train', after='v_after'), (customers,))
    cases = cur.fetchall()
    print('validation: trained on purchases before 2011-08-01, %d customers\' first invoice in '
          '[2011-08-01, 2011-10-01) predicted' % len(cases))
    ease = {}
    for lam in (1, 3, 10, 30, 100, 300, 1000):
        cur.execute("SELECT name FROM train('v_ease', 'v_train', 'customer', 'item', method => 'ease', "
                    "params => %s::jsonb)", (json.dumps({'lambda': lam}),))
        for fn in ('recommend_for_session', 'recommend_for_items'):
            h, m, r, _ = score(cur, cases, fn, 'v_ease', k)
            print('  %-44s %-22s hit %.4f  mrr %.4f  recall %.4f'
                  % ('ease {"lambda": %d}' % lam, fn, h, m, r), flush=True)
            if fn == 'recommend_for_items':
                ease[lam] = (h, m)
    ease_lambda = max(ease, key=lambda x: ease[x])
    print('ease (order-blind basket) lambda chosen on validation:', ease_lambda)
    tried = {}

    def trial(p):
        key = json.dumps(p, sort_keys=True)
        if key not in tried:
            secs = train_slist(cur, 'v_slist', 'v_train', p)
            h, m, r, _ = score(cur, cases, 'recommend_for_session', 'v_slist', k)
            tried[key] = (h, m)
            print('  slist %-38s %-22s hit %.4f  mrr %.4f  recall %.4f  (%.1f s)'
                  % (key, 'recommend_for_session', h, m, r, secs), flush=True)
        return tried[key]

    best = dict(SLIST_DEFAULTS)
    grid = [dict(best, alpha=a, **{'lambda': l}) for a in (0.2, 0.5, 0.8) for l in (10, 100, 1000)]
    best = max(grid, key=trial)
    best = max([dict(best, pos_decay=d) for d in (0.5, 1, 2, 4)], key=trial)
    best = max([dict(best, time_decay=d * 86400) for d in (0, 30, 90, 180)], key=trial)
    print('chosen on validation:', json.dumps(best, sort_keys=True))
    return best, ease_lambda


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--customers', type=int, default=1000)
    ap.add_argument('--k', type=int, default=20)
    ap.add_argument('--no-validate', action='store_true')
    a = ap.parse_args()
    c = psycopg2.connect(dbname='postgres')
    c.autocommit = True
    c.cursor().execute('DROP DATABASE IF EXISTS bench_session')
    c.cursor().execute('CREATE DATABASE bench_session')
    c.close()
    c = psycopg2.connect(dbname='bench_session')
    c.autocommit = True
    cur = c.cursor()
    cur.execute('CREATE EXTENSION recpromo')
    cur.execute('SET search_path = recpromo, public')
    cur.execute('SET client_min_messages = warning')
    cur.execute("SET recpromo.memory_limit = '2GB'")
    t0 = time.time()
    for stmt in SETUP.format(path=RETAIL).split(';'):
        cur.execute(stmt)
    print('loaded in %.0f s' % (time.time() - t0))
    chosen, ease_lambda = (dict(SLIST_DEFAULTS), 500) if a.no_validate else validate(cur, a.customers, a.k)

    cur.execute("SELECT name, train_seconds FROM train_session('r_sknn', 'r_train', 'customer', 'item', 'ts')")
    cur.execute("SELECT name FROM train('r_iknn', 'r_train', 'customer', 'item', method => 'item_knn', "
                "params => '{\"weighting\": \"bm25\"}')")
    cur.execute("SELECT name FROM train('r_ease', 'r_train', 'customer', 'item', method => 'ease')")
    secs = train_slist(cur, 'r_slist', 'r_train', chosen)
    print('slist %s trained in %.1f s' % (json.dumps(chosen, sort_keys=True), secs))
    models = ['r_sknn', 'r_iknn', 'r_ease', 'r_slist']
    if ease_lambda != 500:
        cur.execute("SELECT name FROM train('r_ease_tuned', 'r_train', 'customer', 'item', method => 'ease', "
                    "params => %s::jsonb)", (json.dumps({'lambda': ease_lambda}),))
        models.insert(3, 'r_ease_tuned')
    if chosen != SLIST_DEFAULTS:
        train_slist(cur, 'r_slist_def', 'r_train', SLIST_DEFAULTS)
        models.append('r_slist_def')

    # sessions: items before the cut in time order; targets: the first invoice after it
    cur.execute(CASES.format(train='r_train', after='r_after'), (a.customers,))
    cases = cur.fetchall()
    print('%d customers, next-invoice prediction at k = %d (recommendations may repeat past purchases)'
          % (len(cases), a.k))
    print('%-12s %-24s %9s %7s %9s %8s' % ('model', 'scoring', 'hit_rate', 'mrr', 'recall', 'ms/call'))
    for model in models:
        for fn in ('recommend_for_session', 'recommend_for_items'):
            h, m, r, ms = score(cur, cases, fn, model, a.k)
            print('%-12s %-24s %9.4f %7.4f %9.4f %8.2f' % (model, fn, h, m, r, ms))

    print('\nevaluate_sessions on the purchases after the cut (sessions = customers, last item '
          'predicted, k = %d)' % a.k)
    print('%-12s %-12s %9s %9s %7s' % ('model', 'order_blind', 'sessions', 'hit_rate', 'mrr'))
    for model in models:
        for blind in (False, True):
            cur.execute("SELECT sessions_evaluated, hit_rate, mrr FROM evaluate_sessions(%s, 'r_after', "
                        "'customer', 'item', 'ts', k => %s, order_blind => %s)", (model, a.k, blind))
            s, h, m = cur.fetchone()
            print('%-12s %-12s %9d %9.4f %7.4f' % (model, blind, s, h, m))
    c.close()


if __name__ == '__main__':
    sys.exit(main())
