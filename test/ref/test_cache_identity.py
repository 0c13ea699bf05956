#!/usr/bin/python3
"""The serving cache never serves a model the row it looked up does not name.

Each backend caches loaded models; the key is (database oid, extension oid,
model id, version token), the token being 128 random bits drawn at every
save (src/pg/model_cache.c, src/sql/20_models.sql).  Model ids repeat:
DROP/CREATE EXTENSION restarts recpromo.model_id_seq, and a restore brings
back the ids (and tokens) of the dump.  Two backends:

1. Reinstall seen from another session: backend 1 serves model m (items
   1-5, id 1); backend 2 reinstalls the extension and trains m on disjoint
   items 101-105 (id 1 again); backend 1 must serve 101-105.
2. pg_restore --clean into a database where a backend holds the model:
   the dump has m trained on items 1-5; after it, the extension is
   reinstalled and m retrained on 101-105 (id 1 again) and backend 1
   caches that; pg_restore --clean brings back the dumped m (id 1, its own
   token); backend 1 must serve 1-5.  The restored row keeps the dumped
   token: a token names the bytes it was drawn for, and the restore
   brings back those very bytes, so a backend that still held the dumped
   version could serve it from its cache (the extension oid differs after
   --clean all the same).
3. After the restore, the dumped token is in the row and in every part row.

Runs inside the test cluster (libpq environment set); creates and drops its
own databases.  Prints "N passed, N failed".
"""
import os
import subprocess
import sys
import tempfile

import psycopg2

passed = failed = 0
DB1, DB2 = "rp_cache_ident_reinstall", "rp_cache_ident_restore"
A_ITEMS, B_ITEMS = [1, 3, 4], [101, 103, 104]


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok  ", name)
    else:
        failed += 1
        print("FAIL", name, detail)


def connect(db):
    c = psycopg2.connect(dbname=db)
    c.autocommit = True
    return c


def setup_tables(cur):
    cur.execute("""CREATE TABLE public.ident_a AS
                   SELECT u AS user_id, i AS item_id FROM generate_series(1, 4) u, generate_series(1, 5) i
                    WHERE (u + i) % 3 <> 0""")
    cur.execute("CREATE TABLE public.ident_b AS SELECT user_id, item_id + 100 AS item_id FROM public.ident_a")


def train(cur, table):
    cur.execute(f"SELECT 1 FROM recpromo.train('m', 'public.{table}', 'user_id', 'item_id', method => 'popularity')")
    cur.execute("SELECT id, version::text FROM recpromo.model WHERE name = 'm'")
    return cur.fetchone()


def serve(cur):
    cur.execute("SELECT item FROM recpromo.recommend(4, 3, model => 'm', exclude_seen => false) ORDER BY item")
    return [r[0] for r in cur.fetchall()]


def reinstall(cur):
    cur.execute("SET client_min_messages = warning")
    cur.execute("DROP EXTENSION recpromo CASCADE")
    cur.execute("CREATE EXTENSION recpromo")


admin = connect(os.environ.get("PGDATABASE", "postgres"))
acur = admin.cursor()
for db in (DB1, DB2):
    acur.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
try:
    # 1. reinstall by another session
    acur.execute(f"CREATE DATABASE {DB1}")
    b1, b2 = connect(DB1), connect(DB1)
    c1, c2 = b1.cursor(), b2.cursor()
    c2.execute("CREATE EXTENSION recpromo")
    setup_tables(c2)
    id_a, tok_a = train(c2, "ident_a")
    check("reinstall: backend 1 serves the first model", serve(c1) == A_ITEMS)
    reinstall(c2)
    id_b, tok_b = train(c2, "ident_b")
    check("reinstall: the new model got the same id, another token", id_a == id_b and tok_a != tok_b,
          f"ids {id_a} {id_b}")
    got = serve(c1)
    check("reinstall: backend 1, which cached the old model, serves the new one", got == B_ITEMS, f"got {got}")
    b1.close()
    b2.close()

    # 2. pg_restore --clean under a backend that holds the model
    acur.execute(f"CREATE DATABASE {DB2}")
    b1, b2 = connect(DB2), connect(DB2)
    c1, c2 = b1.cursor(), b2.cursor()
    c2.execute("CREATE EXTENSION recpromo")
    setup_tables(c2)
    id_dumped, tok_dumped = train(c2, "ident_a")
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "db.dump")
        subprocess.run(["pg_dump", "-Fc", "-f", dump, DB2], check=True)
        reinstall(c2)
        id_b, tok_b = train(c2, "ident_b")
        got = serve(c1)
        check("restore: backend 1 caches the model trained after the dump", got == B_ITEMS, f"got {got}")
        check("restore: that model has the dumped model's id", id_b == id_dumped, f"ids {id_dumped} {id_b}")
        r = subprocess.run(["pg_restore", "--clean", "--if-exists", "-d", DB2, dump],
                           capture_output=True, text=True)
        check("restore: pg_restore --clean succeeds", r.returncode == 0, r.stderr[-2000:])
    c2.execute("SELECT id, version::text FROM recpromo.model WHERE name = 'm'")
    row = c2.fetchone()
    check("restore: the restored row has the dumped id and token", row == (id_dumped, tok_dumped),
          f"{row} vs {(id_dumped, tok_dumped)}")
    c2.execute("""SELECT count(*), bool_and(p.version = m.version) FROM recpromo.model m
                    JOIN recpromo.model_part p ON p.model_id = m.id WHERE m.name = 'm'""")
    n, same = c2.fetchone()
    check("restore: every restored part carries its row's token", n > 0 and same, f"{n} parts, {same}")
    got = serve(c1)
    check("restore: backend 1, which cached the later model of that id, serves the restored one",
          got == A_ITEMS, f"got {got}")
    # a backend that cached the restored version keeps serving it, and a
    # retraining after the restore is seen
    got = serve(c1)
    check("restore: backend 1 serves the restored model again (cached)", got == A_ITEMS, f"got {got}")
    train(c2, "ident_b")
    got = serve(c1)
    check("restore: a retraining after the restore is seen by backend 1", got == B_ITEMS, f"got {got}")
    b1.close()
    b2.close()
finally:
    for db in (DB1, DB2):
        acur.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    admin.close()

print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
