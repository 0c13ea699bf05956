#!/usr/bin/python3
"""Model storage survives pg_dump / pg_restore.

Creates a database with the extension, a ratings table and two models,
dumps it with pg_dump -Fc, restores into a fresh database and checks that
the models list and the recommendations are identical.  Runs inside the test
cluster (libpq variables set by pg_virtualenv).  Prints "N passed, N failed".
"""
import os
import subprocess
import sys
import tempfile

import psycopg2

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
cur = admin.cursor()
for db in ("rp_dump_src", "rp_dump_dst"):
    cur.execute(f"DROP DATABASE IF EXISTS {db}")
cur.execute("CREATE DATABASE rp_dump_src")
cur.execute("CREATE DATABASE rp_dump_dst")

src = connect("rp_dump_src")
s = src.cursor()
s.execute("SET client_min_messages = warning")
s.execute("CREATE EXTENSION recpromo")
s.execute("""CREATE TABLE ratings AS
             SELECT u AS user_id, i AS item_id, (1 + abs(hashint4(u * 100 + i)) % 5)::float8 AS rating
             FROM generate_series(1, 200) u, generate_series(1, 50) i
             WHERE abs(hashint4(u * 7919 + i)) % 4 = 0""")
s.execute("SELECT recpromo.train('pop', 'ratings', 'user_id', 'item_id', 'rating', method => 'popularity')")
s.execute("SELECT recpromo.train('uk', 'ratings', 'user_id', 'item_id', 'rating', method => 'user_knn')")
q_models = "SELECT name, method, is_default, params::text, n_users, n_items, nnz FROM recpromo.models ORDER BY name"
q_recs = """SELECT u, r.item, round(r.score::numeric, 12), r.rank
            FROM generate_series(1, 200, 17) u, recpromo.recommend(u, 5, model => 'uk') r ORDER BY u, r.rank"""
s.execute(q_models)
models_before = s.fetchall()
s.execute(q_recs)
recs_before = s.fetchall()

with tempfile.TemporaryDirectory() as tmp:
    dump = os.path.join(tmp, "db.dump")
    subprocess.run(["pg_dump", "-Fc", "-f", dump, "rp_dump_src"], check=True)
    r = subprocess.run(["pg_restore", "-d", "rp_dump_dst", dump], capture_output=True, text=True)
    check("pg_restore succeeds: " + r.stderr.strip(), r.returncode == 0)

dst = connect("rp_dump_dst")
d = dst.cursor()
d.execute(q_models)
check("models restored", d.fetchall() == models_before)
d.execute(q_recs)
recs_after = d.fetchall()
check("recommendations identical after restore", recs_after == recs_before and len(recs_after) > 0)
# a retraining in the restored database draws ids past the restored ones
d.execute("SELECT recpromo.train('uk', 'ratings', 'user_id', 'item_id', 'rating', method => 'user_knn')")
d.execute("SELECT count(*) FROM recpromo.model_part p WHERE NOT EXISTS (SELECT 1 FROM recpromo.model m WHERE m.id = p.model_id)")
check("no orphaned parts after retraining a restored model", d.fetchone()[0] == 0)
d.execute(q_recs)
check("retrained restored model serves the same", d.fetchall() == recs_before)

src.close()
dst.close()
for db in ("rp_dump_src", "rp_dump_dst"):
    cur.execute(f"DROP DATABASE {db}")
print(f"test_dump_restore: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
