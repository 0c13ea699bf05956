#!/usr/bin/python3
"""Erasure speed (issue 13): forget_user of one customer with 50 purchases.

    bench_forget.py [--quick]

Builds, in a scratch database bench_forget (libpq environment), a
popularity-skewed purchase table, trains one model per method and times
forget_user(customer, model => m) for each, three customers each (the
median is printed), together with the part of it spent writing the new
model version (recpromo.models.store_seconds of the erased model), the
model's size, and the train time for comparison.  Sizes:
  kNN / popularity: 20,000 customers, 5,000 items, about 400,000 purchases
  ease:             the same data (5,000 items)
  als:              60,000 customers, 20,000 items, 64 factors
--quick divides the sizes by 10 (for a smoke run).  Not pass/fail: prints
figures.  Timings depend on the machine and its load.
"""
import statistics
import sys
import time

import psycopg2

QUICK = "--quick" in sys.argv
DB = "bench_forget"
S = 10 if QUICK else 1

admin = psycopg2.connect(dbname="postgres")
admin.autocommit = True
admin.cursor().execute(f"DROP DATABASE IF EXISTS {DB}")
admin.cursor().execute(f"CREATE DATABASE {DB}")
conn = psycopg2.connect(dbname=DB)
conn.autocommit = True
cur = conn.cursor()
cur.execute("SET client_min_messages = warning")
cur.execute("CREATE EXTENSION recpromo")
cur.execute("SET recpromo.erasure_secret = 'bench-secret'")
cur.execute("SET recpromo.memory_limit = '3GB'")


def make(table, users, items, per_user):
    cur.execute("SELECT setseed(0.13)")
    cur.execute(f"CREATE TABLE {table} (cust bigint, item bigint, qty float8)")
    # item = floor(items * u^2): a popularity skew; duplicates are summed by training
    cur.execute(f"""INSERT INTO {table}
        SELECT u, floor({items} * pow(random(), 2))::bigint + 1, 1 + floor(random() * 3)
          FROM generate_series(1, {users}) u, generate_series(1, {per_user}) k""")
    # three test customers with 50 distinct purchases each, spread over the catalogue
    for c in range(3):
        cur.execute(f"""INSERT INTO {table}
            SELECT {10**12 + c}, 1 + (g * {items // 53} + {c}) % {items}, 1
              FROM generate_series(1, 50) g""")
    cur.execute(f"CREATE INDEX ON {table} (cust)")
    cur.execute(f"ANALYZE {table}")


def timed(sql, args=()):
    t = time.perf_counter()
    cur.execute(sql, args)
    rows = cur.fetchall()
    return time.perf_counter() - t, rows


def bench(name, table, method, params):
    tt, _ = timed("SELECT name FROM recpromo.train(%s, %s, 'cust', 'item', 'qty', %s, params => %s::jsonb)",
                  (name, table, method, params))
    cur.execute("SELECT n_users, n_items, nnz FROM recpromo.models WHERE name = %s", (name,))
    nu, ni, nnz = cur.fetchone()
    cur.execute("SELECT pg_catalog.sum(pg_catalog.length(p.data)) FROM recpromo.model_part p "
                "JOIN recpromo.model m ON m.id = p.model_id WHERE m.name = %s", (name,))
    size = cur.fetchone()[0]
    times = []
    stores = []
    how = ""
    for c in range(3):
        t, rows = timed("SELECT rows_removed, exact, note FROM recpromo.forget_user(%s::bigint, model => %s)",
                        (10**12 + c, name))
        cur.execute("SELECT store_seconds FROM recpromo.model WHERE name = %s", (name,))
        stores.append(cur.fetchone()[0])
        times.append(t)
        how = rows[0]
    print(f"{name:12s} {method:12s} users {nu:6d} items {ni:6d} nnz {nnz:8d} model {size / 2**20:8.1f} MB  "
          f"train {tt:7.2f} s  forget {statistics.median(times) * 1000:9.1f} ms "
          f"(of which save {statistics.median(stores) * 1000:8.1f} ms)  removed {how[0]} exact {how[1]}",
          flush=True)


make("buys", 20000 // S, 5000 // S, 20)
bench("pop", "buys", "popularity", "{}")
bench("uknn", "buys", "user_knn", "{}")
bench("iknn", "buys", "item_knn", '{"neighbours": 20}')
bench("iknn_bm25", "buys", "item_knn", '{"neighbours": 20, "weighting": "bm25"}')
bench("ease", "buys", "ease", '{"lambda": 200}')
make("buys_big", 60000 // S, 20000 // S, 15)
bench("als", "buys_big", "als", '{"factors": 64, "iterations": 3}')
bench("als_explicit", "buys_big", "als_explicit", '{"factors": 64, "iterations": 3}')

conn.close()
admin.cursor().execute(f"DROP DATABASE {DB}")
