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

Usage: bench/bench_session.py [--customers N] (libpq variables choose the
server; creates the database bench_session).
"""
import argparse
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
CREATE INDEX ON r_train (customer);
ANALYZE r_train
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--customers', type=int, default=1000)
    ap.add_argument('--k', type=int, default=20)
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
    t0 = time.time()
    for stmt in SETUP.format(path=RETAIL).split(';'):
        cur.execute(stmt)
    print('loaded in %.0f s' % (time.time() - t0))
    cur.execute("SELECT name, train_seconds FROM train_session('r_sknn', 'r_train', 'customer', 'item', 'ts')")
    cur.execute("SELECT name FROM train('r_iknn', 'r_train', 'customer', 'item', method => 'item_knn', "
                "params => '{\"weighting\": \"bm25\"}')")
    cur.execute("SELECT name FROM train('r_ease', 'r_train', 'customer', 'item', method => 'ease')")

    # sessions: items before the cut in time order; targets: the first invoice after it
    cur.execute("""
        WITH first_after AS (
          SELECT DISTINCT ON (customer) customer, invoice FROM r_after ORDER BY customer, ts, invoice)
        SELECT f.customer,
               (SELECT array_agg(t.item ORDER BY t.ts, t.item) FROM r_train t WHERE t.customer = f.customer),
               (SELECT array_agg(DISTINCT r.item) FROM r_after r WHERE r.invoice = f.invoice)
        FROM first_after f
        WHERE EXISTS (SELECT 1 FROM r_train t WHERE t.customer = f.customer)
        ORDER BY f.customer LIMIT %s""", (a.customers,))
    cases = cur.fetchall()
    print('%d customers, next-invoice prediction at k = %d (recommendations may repeat past purchases)'
          % (len(cases), a.k))
    print('%-12s %-24s %9s %7s %9s %8s' % ('model', 'scoring', 'hit_rate', 'mrr', 'recall', 'ms/call'))
    for model in ('r_sknn', 'r_iknn', 'r_ease'):
        for fn in ('recommend_for_session', 'recommend_for_items'):
            hits = rr = rec = 0.0
            t = time.time()
            for _, seq, target in cases:
                cur.execute(f"SELECT item FROM {fn}(%s::text[], %s, model => %s, exclude_input => false) "
                            "ORDER BY rank", (seq, a.k, model))
                got = [r[0] for r in cur.fetchall()]
                tset = set(target)
                ranks = [i for i, x in enumerate(got) if x in tset]
                if ranks:
                    hits += 1
                    rr += 1.0 / (ranks[0] + 1)
                rec += len(ranks) / len(tset)
            ms = (time.time() - t) * 1000.0 / max(len(cases), 1)
            n = max(len(cases), 1)
            print('%-12s %-24s %9.4f %7.4f %9.4f %8.2f' % (model, fn, hits / n, rr / n, rec / n, ms))

    print('\nevaluate_sessions on the purchases after the cut (sessions = customers, last item '
          'predicted, k = %d)' % a.k)
    print('%-12s %-12s %9s %9s %7s' % ('model', 'order_blind', 'sessions', 'hit_rate', 'mrr'))
    for model in ('r_sknn', 'r_iknn', 'r_ease'):
        for blind in (False, True):
            cur.execute("SELECT sessions_evaluated, hit_rate, mrr FROM evaluate_sessions(%s, 'r_after', "
                        "'customer', 'item', 'ts', k => %s, order_blind => %s)", (model, a.k, blind))
            s, h, m = cur.fetchone()
            print('%-12s %-12s %9d %9.4f %7.4f' % (model, blind, s, h, m))
    c.close()


if __name__ == '__main__':
    sys.exit(main())
