#!/usr/bin/python3
"""Model owners, grants and row-level security, seen from real sessions.

Run by test/run_server_suites.sh inside the test cluster (libpq variables
set).  In a database of its own:

1. Canaries (the pg_pathman CVE-2020-14350 test pattern): a non-superuser
   plants public.nextval(text), public.= on (bigint, bigint), (text, text)
   and (oid, oid), public.array_append and public.array_remove, each of
   which would run ALTER ROLE <attacker> SUPERUSER.  A superuser then uses
   every model-management function (train, train_content, train_hybrid,
   grant_model, revoke_model, set_default_model, drop_model, the models view,
   the promotion store and parameters) and serves, under
   search_path = public, pg_catalog and under the README's
   public, recpromo.  The attacker must still not be a superuser.
   recpromo._train does not exist, and no internal model-table entry point
   is executable by PUBLIC but the checked ones.
2. Row-level security across sessions: a role that sees only the EU rows of
   orders cannot serve (recommend, explain_recommendation, similar_items,
   similar_users, predict, recommend_all, evaluate) the superuser's model
   trained on every row; after grant_model it can, and explain exposes a
   hidden customer's history (what the README says a grant exposes);
   after revoke_model it cannot again, in a session that had it cached.
3. The model tables: SELECT/INSERT/UPDATE/DELETE and nextval are refused to
   the ordinary role in its own session.

Prints "N passed, N failed" last; exits non-zero on failure.
"""
import sys

import psycopg2

DB = "regress_rp_rls_models"
ATTACKER = "rp_rlsm_attacker"
EU = "rp_rlsm_eu"

passed = 0
failed = 0


def check(cond, what, detail=None):
    global passed, failed
    if cond:
        passed += 1
        print("ok     " + what)
    else:
        failed += 1
        print("FAILED " + what + ("" if detail is None else "\n       " + str(detail)))


def connect(db, role=None):
    c = psycopg2.connect(dbname=db)
    c.autocommit = True
    if role:
        c.cursor().execute("SET ROLE " + role)
    return c


def sqlstate_of(conn, sql, args=None):
    try:
        conn.cursor().execute(sql, args)
        return None
    except psycopg2.Error as e:
        return e.pgcode


admin = connect("postgres")
a = admin.cursor()
a.execute(f"DROP DATABASE IF EXISTS {DB}")
for r in (ATTACKER, EU):
    a.execute(f"DROP ROLE IF EXISTS {r}")
a.execute(f"CREATE DATABASE {DB}")
a.execute(f"CREATE ROLE {ATTACKER}")
a.execute(f"CREATE ROLE {EU}")

su = connect(DB)
s = su.cursor()
s.execute("CREATE EXTENSION recpromo")
s.execute(f"GRANT USAGE ON SCHEMA recpromo TO {ATTACKER}, {EU}")
s.execute(f"GRANT CREATE ON SCHEMA public TO {ATTACKER}")
s.execute("""CREATE TABLE orders (region text, customer int, product int, qty int)""")
s.execute("""INSERT INTO orders
             SELECT CASE WHEN c <= 20 THEN 'EU' ELSE 'US' END, c, p, 1 + (c * p) % 3
             FROM generate_series(1, 40) c, generate_series(1, 15) p WHERE (c * 7 + p * 3) % 4 = 0""")
s.execute("CREATE TABLE items (product int, colour text)")
s.execute("INSERT INTO items SELECT p, CASE WHEN p % 2 = 0 THEN 'red' ELSE 'blue' END FROM generate_series(1, 15) p")
s.execute("CREATE TABLE customers (id int, visits float8, bought int)")
s.execute("INSERT INTO customers SELECT c, c % 5, (c % 3 = 0)::int FROM generate_series(1, 40) c")
s.execute("ALTER TABLE orders ENABLE ROW LEVEL SECURITY")
s.execute(f"CREATE POLICY eu_only ON orders TO {EU} USING (region = 'EU')")
s.execute(f"CREATE POLICY others ON orders TO PUBLIC USING (current_user <> '{EU}')")
s.execute(f"GRANT SELECT ON orders, items, customers TO {EU}, {ATTACKER}")

# ---------- 1. canaries ----------
att = connect(DB, ATTACKER)
t = att.cursor()
trojan_body = f"BEGIN ALTER ROLE {ATTACKER} SUPERUSER; EXCEPTION WHEN OTHERS THEN NULL; END;"
t.execute(f"""CREATE FUNCTION public.nextval(text) RETURNS bigint LANGUAGE plpgsql AS $$
              BEGIN {trojan_body} RETURN 1; END $$""")
for typ in ("bigint", "text", "oid"):
    t.execute(f"""CREATE FUNCTION public.trojan_eq(a {typ}, b {typ}) RETURNS boolean LANGUAGE plpgsql AS $$
                  BEGIN {trojan_body} RETURN a OPERATOR(pg_catalog.=) b; END $$""")
    t.execute(f"CREATE OPERATOR public.= (LEFTARG = {typ}, RIGHTARG = {typ}, FUNCTION = public.trojan_eq)")
t.execute(f"""CREATE FUNCTION public.array_append(anyarray, anyelement) RETURNS anyarray LANGUAGE plpgsql AS $$
              BEGIN {trojan_body} RETURN $1; END $$""")
t.execute(f"""CREATE FUNCTION public.array_remove(anyarray, anyelement) RETURNS anyarray LANGUAGE plpgsql AS $$
              BEGIN {trojan_body} RETURN $1; END $$""")
t.execute(f"""CREATE FUNCTION public.coalesce(jsonb, jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
              BEGIN {trojan_body} RETURN $1; END $$""")


def attacker_is_superuser():
    s.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (ATTACKER,))
    return s.fetchone()[0]


calls = [
    "SELECT * FROM recpromo.train('c_knn', 'orders', 'customer', 'product', 'qty', method => 'item_knn')",
    "SELECT * FROM recpromo.train('c_knn', 'orders', 'customer', 'product', 'qty', method => 'item_knn')",
    "SELECT * FROM recpromo.train_content('c_content', 'orders', 'customer', 'product', 'items', ARRAY['colour']::name[])",
    "SELECT * FROM recpromo.train_hybrid('c_hybrid', 'c_knn', 'c_content')",
    f"SELECT recpromo.grant_model('c_knn', '{EU}')",
    "SELECT recpromo.grant_model('c_knn', 'public')",
    f"SELECT recpromo.revoke_model('c_knn', '{EU}')",
    "SELECT recpromo.revoke_model('c_knn', 'public')",
    "SELECT recpromo.set_default_model('c_knn')",
    "SELECT * FROM recpromo.models",
    "SELECT * FROM recpromo.recommend(1, 5, model => 'c_knn')",
    "SELECT * FROM recpromo.recommend(1, 5, model => 'c_hybrid')",
    "SELECT * FROM recpromo.explain_recommendation(1, 2, model => 'c_knn')",
    "SELECT * FROM recpromo.similar_items(1, 3, model => 'c_knn')",
    "SELECT recpromo.predict(1, 2, model => 'c_knn')",
    "SELECT count(*) FROM recpromo.recommend_all(3, model => 'c_knn')",
    "SELECT * FROM recpromo.train_propensity('c_prop', 'customers', 'bought', ARRAY['visits']::name[])",
    "SELECT count(*) FROM recpromo.score_propensity('c_prop', 'customers', 'id')",
    "SELECT recpromo.drop_model('c_prop')",
    "SELECT recpromo.drop_model('c_hybrid')",
    "SELECT recpromo.drop_model('c_content')",
    "SELECT recpromo.drop_model('c_knn')",
]
for path in ("public, pg_catalog", "public, recpromo"):
    s.execute("SET search_path = " + path)
    for sql in calls:
        try:
            s.execute(sql)
        except psycopg2.Error as e:
            check(False, f"[{path}] {sql[:70]} runs", e.pgerror)
            continue
        check(not attacker_is_superuser(), f"[{path}] {sql[:70]}: attacker is still not superuser")
        if attacker_is_superuser():
            s.execute(f"ALTER ROLE {ATTACKER} NOSUPERUSER")
    s.execute("RESET search_path")

s.execute("SELECT to_regprocedure('recpromo._train(text, regclass, name, name, name, text, jsonb)')")
check(s.fetchone()[0] is None, "recpromo._train no longer exists")
s.execute("""SELECT p.oid::regprocedure::text FROM pg_proc p
             WHERE p.pronamespace = 'recpromo'::regnamespace AND p.proname IN ('_seal_parts')
               AND has_function_privilege('public', p.oid, 'EXECUTE')""")
check(s.fetchall() == [], "_seal_parts is not executable by PUBLIC")

# ---------- 2. row-level security across sessions ----------
s.execute("SELECT name FROM recpromo.train('all_rows', 'orders', 'customer', 'product', 'qty', method => 'item_knn')")
eu = connect(DB, EU)
e = eu.cursor()
e.execute("SELECT count(*), max(customer) FROM orders")
n, last = e.fetchone()
check(last <= 20, f"the EU role sees {n} rows, customers up to {last}")
hidden = 33        # a US customer
serving = [
    ("recommend", f"SELECT * FROM recpromo.recommend({hidden}, 3, model => 'all_rows')"),
    ("explain_recommendation", f"SELECT * FROM recpromo.explain_recommendation({hidden}, 2, model => 'all_rows')"),
    ("similar_items", "SELECT * FROM recpromo.similar_items(2, 3, model => 'all_rows')"),
    ("similar_users", f"SELECT * FROM recpromo.similar_users({hidden}, 3, model => 'all_rows')"),
    ("predict", f"SELECT recpromo.predict({hidden}, 2, model => 'all_rows')"),
    ("recommend_all", "SELECT count(*) FROM recpromo.recommend_all(3, model => 'all_rows')"),
    ("evaluate", "SELECT count(*) FROM recpromo.evaluate('all_rows', 'orders', 'customer', 'product')"),
]
for name, sql in serving:
    code = sqlstate_of(eu, sql)
    check(code == "42501", f"EU role: {name} on the all-rows model is refused with 42501", code)
e.execute("SELECT count(*) FROM recpromo.models WHERE name = 'all_rows'")
check(e.fetchone()[0] == 0, "EU role: the all-rows model is not listed in models")

s.execute(f"SELECT recpromo.grant_model('all_rows', '{EU}')")
e.execute(f"SELECT count(*) FROM recpromo.explain_recommendation({hidden}, 7, model => 'all_rows')")
check(e.fetchone()[0] > 0, "after grant_model: explain shows the hidden customer's history (what a grant exposes)")
s.execute(f"SELECT recpromo.revoke_model('all_rows', '{EU}')")
code = sqlstate_of(eu, f"SELECT * FROM recpromo.recommend({hidden}, 3, model => 'all_rows')")
check(code == "42501", "after revoke_model: refused again although the session has the model cached", code)

# ---------- 3. the model tables ----------
for sql in ("SELECT count(*) FROM recpromo.model",
            "SELECT count(*) FROM recpromo.model_part",
            "UPDATE recpromo.model SET is_default = true",
            "DELETE FROM recpromo.model_part",
            "INSERT INTO recpromo.model_part VALUES (0, 'x', 0, '\\x00', 0)",
            "SELECT nextval('recpromo.model_id_seq'::regclass)"):
    code = sqlstate_of(eu, sql)
    check(code == "42501", f"ordinary role: {sql[:60]} is refused", code)

for c in (eu, att, su):
    c.close()
a.execute(f"DROP DATABASE {DB}")
for r in (ATTACKER, EU):
    a.execute(f"DROP ROLE IF EXISTS {r}")
admin.close()

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
