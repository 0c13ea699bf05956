#!/usr/bin/python3
"""recpromo on Citus: a coordinator and two workers, every supported scenario.

Starts three local PostgreSQL 15 instances (initdb'd under a temporary
directory, `shared_preload_libraries = citus`, free ports, trust on the Unix
socket), makes one the coordinator, and compares every distributed answer
with the single-node answer from a plain copy of the same data:

 1. install: CREATE EXTENSION recpromo on the coordinator reaches the workers;
    citus_enable() makes the model tables reference tables and says so;
 2. training from a distributed table gives the model a local copy gives;
 3. serving on the coordinator and on each worker gives the same lists;
 4. pushed-down serving (customers CROSS JOIN LATERAL recommend(), run as one
    task per shard on the workers) equals recommend_all on the coordinator,
    with citus.allow_nested_distributed_execution left off;
 5. a fixed-type wrapper distributed with create_distributed_function(...,
    colocate_with => 'orders') routes single-customer calls;
 6. distributed batch scoring: INSERT ... SELECT into a distributed table of
    recommendations equals recommend_all;
 7. fold-in of a customer newer than the model works on the coordinator and
    falls back to popularity with a NOTICE inside a query on a shard;
 8. train on a worker is refused (0A000); a retrain on the coordinator is
    served by every worker; drop_model removes the model everywhere;
 9. train_propensity (a promotion model) stores through the same path.

The instances are stopped (and their directory removed) even when a check
fails.  When the citus library is not installed, the suite prints
"citus: SKIPPED (...)" and "0 passed, 0 failed": it never fakes a pass
(doc/scaling.md says how to run it).  Prints "N passed, N failed".
"""
import collections
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import psycopg2

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok     " + name)
    else:
        failed += 1
        print("FAILED " + name + ("\n       " + str(detail) if detail != "" else ""))
    return cond


def pg_config(flag):
    return subprocess.run(["pg_config", flag], capture_output=True, text=True, check=True).stdout.strip()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Node:
    def __init__(self, root, name, bindir, as_postgres):
        self.dir = os.path.join(root, name)
        self.sock = root
        self.port = free_port()
        self.bindir = bindir
        self.as_postgres = as_postgres
        self.log = os.path.join(root, name + ".log")

    def run(self, *args):
        cmd = [os.path.join(self.bindir, args[0])] + list(args[1:])
        if self.as_postgres:
            cmd = ["su", "postgres", "-c", " ".join("'%s'" % a for a in cmd)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        self.run("initdb", "-D", self.dir, "-A", "trust", "-U", "postgres", "--no-sync")
        with open(os.path.join(self.dir, "postgresql.conf"), "a") as f:
            f.write("shared_preload_libraries = 'citus'\nwal_level = logical\n"
                    "max_prepared_transactions = 100\nlisten_addresses = ''\n"
                    "unix_socket_directories = '%s'\nport = %d\nfsync = off\n"
                    "max_connections = 60\n" % (self.sock, self.port))
        self.run("pg_ctl", "-D", self.dir, "-l", self.log, "-w", "start")

    def stop(self):
        try:
            self.run("pg_ctl", "-D", self.dir, "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass

    def connect(self, db="postgres"):
        c = psycopg2.connect(host=self.sock, port=self.port, user="postgres", dbname=db)
        c.autocommit = True
        return c


def rows(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else []


def error_of(conn, sql):
    try:
        rows(conn, sql)
    except psycopg2.Error as e:
        return e.pgcode, e.diag.message_primary
    return None


DATA = """
CREATE TABLE orders (customer_id bigint, item_id bigint, qty int);
INSERT INTO orders
SELECT c, ((c * 7 + k * 13 + (c % 5) * k) % 60) + 1, 1 + (c + k) % 3
  FROM generate_series(1, 400) c, generate_series(1, 6 + (c % 5)) k;
CREATE TABLE customers (id bigint PRIMARY KEY, segment text);
INSERT INTO customers SELECT c, CASE WHEN c % 3 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 420) c;
CREATE TABLE orders_local AS SELECT * FROM orders;
CREATE TABLE buyers (id bigint, recency float8, spend float8, bought int);
INSERT INTO buyers SELECT i, (i % 7)::float8, ((i * 13) % 11)::float8,
       CASE WHEN (i * 7919) % 10 < 3 + (i % 7) / 2 THEN 1 ELSE 0 END FROM generate_series(1, 300) i;
CREATE TABLE buyers_local AS SELECT * FROM buyers;
"""

ALS = "'qty', method => 'als', factors => 8, iterations => 5, seed => 7"


def lists(conn, model, users, n=5):
    out = {}
    for u in users:
        out[u] = rows(conn, "SELECT item, round(score::numeric, 9), rank FROM recpromo.recommend(%s::bigint, %s, %s) "
                            "ORDER BY rank", (u, n, model))
    return out

READ_DATA = """
CREATE TABLE rd (customer_id bigint, item_id int, qty int, price float8, note text);
INSERT INTO rd SELECT c, 1 + (c * 3 + k) % 25, 1 + (c + k + r) % 4, 0.1 * ((c + k + r) % 7) + 0.3, 'x'
  FROM generate_series(1, 120) c, generate_series(1, 5) k, generate_series(1, 1 + c % 3) r;
INSERT INTO rd VALUES (1, 1, NULL, NULL, 'a'), (1, NULL, 2, 1.5, 'b'), (3, NULL, NULL, 2.5, 'c'),
                      (2, 7, NULL, 0.7, 'd'), (5000, 3, NULL, NULL, 'e');
CREATE TABLE rd_local AS SELECT * FROM rd;
CREATE TABLE rd_neg AS SELECT * FROM rd;
UPDATE rd_neg SET qty = -1 WHERE customer_id = 7 AND item_id = (SELECT min(item_id) FROM rd WHERE customer_id = 7);
CREATE TABLE rd_neg_local AS SELECT * FROM rd_neg;
"""


def train_path(conn, name, src, rating, extra=""):
    """(path message, rows_read, rows_skipped) of a training of `name` from `src`."""
    conn.notices = collections.deque(maxlen=10000)  # Citus's DEBUG1 lines overflow psycopg2's 50
    rows(conn, "SET client_min_messages = debug1")
    try:
        r = rows(conn, "SELECT rows_read, rows_skipped FROM recpromo.train('%s', '%s', 'customer_id', "
                       "'item_id', %s%s)" % (name, src, rating, extra))
    finally:
        rows(conn, "RESET client_min_messages")
    path = [n.strip() for n in conn.notices if "recpromo reads" in n]
    conn.notices = []
    return path, r[0]


def parts_differ(conn, a, b):
    return rows(conn, """
        SELECT count(*) FILTER (WHERE x.data IS DISTINCT FROM y.data), count(*)
          FROM (SELECT p.part, p.seq, p.data FROM recpromo.model_part p JOIN recpromo.model m ON m.id = p.model_id
                 WHERE m.name = %s) x
          FULL JOIN (SELECT p.part, p.seq, p.data FROM recpromo.model_part p JOIN recpromo.model m ON m.id = p.model_id
                      WHERE m.name = %s) y USING (part, seq)""", (a, b))[0]


def rd_counts(c):
    """(rows read, rows skipped) of rd with qty as the rating, counted in SQL."""
    return rows(c, "SELECT count(*) FILTER (WHERE customer_id IS NOT NULL AND item_id IS NOT NULL AND qty IS NOT NULL), "
                   "count(*) FILTER (WHERE customer_id IS NULL OR item_id IS NULL OR qty IS NULL) FROM rd")[0]


def read_grouping(c):
    for stmt in READ_DATA.strip().split(";\n"):
        if stmt.strip():
            rows(c, stmt)
    rows(c, "SELECT create_distributed_table('rd', 'customer_id', colocate_with => 'orders')")
    rows(c, "SELECT create_distributed_table('rd_neg', 'customer_id', colocate_with => 'orders')")
    rows(c, "SET recpromo.source_path = grouped")
    cases = [("integer rating", "'qty'", ", method => 'popularity', params => '{\"by\": \"sum\"}'", "grouped"),
             ("integer rating, item_knn", "'qty'", ", method => 'item_knn'", "grouped"),
             ("no rating column", "NULL", ", method => 'popularity'", "grouped"),
             ("float8 rating", "'price'", ", method => 'popularity', params => '{\"by\": \"sum\"}'", "SPI")]
    for k, (what, rating, extra, want) in enumerate(cases):
        pd, rd = train_path(c, "g%d_dist" % k, "rd", rating, extra)
        pl, rl = train_path(c, "g%d_local" % k, "rd_local", rating, extra)
        differ = parts_differ(c, "g%d_dist" % k, "g%d_local" % k)
        check("%s: the read %s, parts byte-identical to the local copy's, same rows read and skipped"
              % (what, "is grouped on the workers" if want == "grouped" else "pulls every row (sums in row order)"),
              differ[0] == 0 and differ[1] > 0 and rd == rl and len(pd) == 1 and
              (("grouped by user and item on the Citus workers" in pd[0]) == (want == "grouped")),
              (differ, rd, rl, pd, pl))
    # the default (auto): the plain query, row by row (never the empty shell by a direct scan)
    rows(c, "RESET recpromo.source_path")
    ps, rs = train_path(c, "g_spi", "rd", "'qty'", ", method => 'popularity', params => '{\"by\": \"sum\"}'")
    differ = parts_differ(c, "g_spi", "g0_local")
    check("recpromo.source_path = auto reads the distributed table row by row through SPI, same parts",
          differ[0] == 0 and len(ps) == 1 and "through SPI" in ps[0] and rs == rd_counts(c), (differ, ps))
    rows(c, "SET recpromo.source_path = grouped")
    # a negative rating in a group still raises the error of a negative row (item_knn is nonneg)
    e_d = error_of(c, "SELECT * FROM recpromo.train('g_neg', 'rd_neg', 'customer_id', 'item_id', 'qty', "
                      "method => 'item_knn')")
    e_l = error_of(c, "SELECT * FROM recpromo.train('g_negl', 'rd_neg_local', 'customer_id', 'item_id', 'qty', "
                      "method => 'item_knn')")
    check("a negative rating read grouped raises the same error as row by row", e_d is not None and e_d == e_l,
          (e_d, e_l))
    # privileges: the grouped query runs as the caller
    rows(c, "CREATE ROLE rd_reader LOGIN")
    rows(c, "GRANT USAGE ON SCHEMA recpromo TO rd_reader")
    rows(c, "SET ROLE rd_reader")
    try:
        e_d = error_of(c, "SELECT * FROM recpromo.train('g_priv', 'rd', 'customer_id', 'item_id', 'qty')")
        e_l = error_of(c, "SELECT * FROM recpromo.train('g_privl', 'rd_local', 'customer_id', 'item_id', 'qty')")
    finally:
        rows(c, "RESET ROLE")
    check("without SELECT on the distributed source, training is refused as for the local table (42501)",
          e_d is not None and e_d[0] == "42501" and e_l is not None and e_l[0] == "42501", (e_d, e_l))
    print("       %s / %s" % (e_d, e_l))
    # an ordinary role that may read the source trains on the coordinator, and serves its model
    # on a worker (train() reads its models row as the extension owner: the models view over
    # the reference table would be checked on its shard as the caller)
    rows(c, "GRANT SELECT ON rd TO rd_reader")
    rows(c, "SET ROLE rd_reader")
    try:
        e_o = error_of(c, "SELECT * FROM recpromo.train('g_ordinary', 'rd', 'customer_id', 'item_id', 'qty')")
        mine = rows(c, "SELECT count(*) FROM recpromo.recommend(1::bigint, 5, 'g_ordinary')") if e_o is None else None
    finally:
        rows(c, "RESET ROLE")
    check("an ordinary role with SELECT on the distributed source trains on the coordinator and serves",
          e_o is None and mine == [(5,)], (e_o, mine))
    if e_o is None:
        rows(c, "SELECT recpromo.drop_model('g_ordinary')")
    rows(c, "RESET recpromo.source_path")
    for m in ["g%d_%s" % (k, s) for k in range(len(cases)) for s in ("dist", "local")] + ["g_spi"]:
        rows(c, "SELECT recpromo.drop_model(%s)", (m,))


def scenarios(coord, workers, wconns):
    c = coord.connect()
    # ---- 1. install
    for w in workers:
        wc = w.connect()
        rows(wc, "CREATE EXTENSION citus")
        wc.close()
    rows(c, "CREATE EXTENSION citus")
    rows(c, "SELECT citus_set_coordinator_host('%s', %d)" % (coord.sock, coord.port))
    for w in workers:
        rows(c, "SELECT citus_add_node('%s', %d)" % (w.sock, w.port))
    try:
        rows(c, "CREATE EXTENSION recpromo")
    except psycopg2.Error as e:
        check("CREATE EXTENSION recpromo on the coordinator", False, e)
        return
    ok = all(rows(w.connect(), "SELECT extversion FROM pg_extension WHERE extname = 'recpromo'")
             == rows(c, "SELECT extversion FROM pg_extension WHERE extname = 'recpromo'") for w in workers)
    check("CREATE EXTENSION recpromo on the coordinator reaches both workers", ok)
    wconns.extend(w.connect() for w in workers)
    steps = rows(c, "SELECT step, detail FROM recpromo.citus_enable()")
    check("citus_enable() makes both model tables reference tables",
          sum(1 for s, d in steps if s == "reference table" and "now a reference table" in d) == 2, steps)
    again = rows(c, "SELECT step, detail FROM recpromo.citus_enable()")
    check("citus_enable() a second time changes nothing",
          sum(1 for s, d in again if "already" in d) == 2, again)
    parts = rows(c, "SELECT logicalrelid::text, partmethod FROM pg_dist_partition "
                    "WHERE logicalrelid::text LIKE 'recpromo.model%' ORDER BY 1")
    check("pg_dist_partition lists recpromo.model and model_part as reference tables ('n')",
          parts == [("recpromo.model", "n"), ("recpromo.model_part", "n")], parts)
    err = error_of(wconns[0], "SELECT * FROM recpromo.citus_enable()")
    check("citus_enable() on a worker is refused (0A000)", err is not None and err[0] == "0A000", err)

    # data: orders and customers distributed and colocated, local copies for the single-node answers
    for stmt in DATA.strip().split(";\n"):
        if stmt.strip():
            rows(c, stmt)
    rows(c, "SELECT create_distributed_table('orders', 'customer_id', shard_count => 8)")
    rows(c, "SELECT create_distributed_table('customers', 'id', colocate_with => 'orders')")
    rows(c, "SELECT create_distributed_table('buyers', 'id', colocate_with => 'orders')")

    # ---- 2. training from a distributed table
    rows(c, "SELECT * FROM recpromo.train('m_dist', 'orders', 'customer_id', 'item_id', %s)" % ALS)
    rows(c, "SELECT * FROM recpromo.train('m_local', 'orders_local', 'customer_id', 'item_id', %s)" % ALS)
    same_parts = rows(c, """
        SELECT count(*) FILTER (WHERE a.data IS DISTINCT FROM b.data), count(*)
          FROM (SELECT p.part, p.seq, p.data FROM recpromo.model_part p JOIN recpromo.model m ON m.id = p.model_id
                 WHERE m.name = 'm_dist') a
          FULL JOIN (SELECT p.part, p.seq, p.data FROM recpromo.model_part p JOIN recpromo.model m ON m.id = p.model_id
                      WHERE m.name = 'm_local') b USING (part, seq)""")
    check("training from the distributed table stores the same parts as from a local copy",
          same_parts[0][0] == 0 and same_parts[0][1] > 0, same_parts)
    users = [1, 2, 3, 57, 200, 399]
    want = lists(c, "m_local", users)
    check("the coordinator serves the distributed-source model as the local one",
          lists(c, "m_dist", users) == want)

    # ---- 2b. training's read grouped by (user, item) on the workers
    read_grouping(c)

    # ---- 3. serving on each worker
    for i, wc in enumerate(wconns):
        got = lists(wc, "m_dist", users)
        check("worker %d serves the same lists as the coordinator" % (i + 1), got == want,
              {u: (got[u], want[u]) for u in users if got[u] != want[u]})

    # ---- 4. pushed-down serving
    nested = rows(c, "SHOW citus.allow_nested_distributed_execution")[0][0]
    all_rows = rows(c, "SELECT user_id, item, rank FROM recpromo.recommend_all(5, 'm_dist') "
                       "ORDER BY 1, 3")
    try:
        pushed = rows(c, "SELECT c.id, r.item::bigint, r.rank FROM customers c "
                         "CROSS JOIN LATERAL recpromo.recommend(c.id, 5, 'm_dist', exclude_seen => true) r "
                         "WHERE c.id <= 400 ORDER BY 1, 3")
        check("pushed-down serving (one task per shard) equals recommend_all, nested execution left %s" % nested,
              pushed == all_rows and len(pushed) > 0, (len(pushed), len(all_rows)))
    except psycopg2.Error as e:
        check("pushed-down serving runs without citus.allow_nested_distributed_execution", False,
              "%s %s" % (e.pgcode, e))
    explain = "\n".join(r[0] for r in rows(c, "EXPLAIN SELECT c.id, r.item FROM customers c "
                                              "CROSS JOIN LATERAL recpromo.recommend(c.id, 5, 'm_dist') r"))
    check("the lateral recommend() is planned as tasks on the workers (Custom Scan (Citus Adaptive), 8 tasks)",
          "Citus Adaptive" in explain and "Task Count: 8" in explain, explain)

    # ---- 5. routed single-customer calls through a fixed-type wrapper
    rows(c, """CREATE FUNCTION public.recommend_for(customer_id bigint, n int DEFAULT 5)
               RETURNS TABLE (item bigint, rank int) LANGUAGE sql STABLE
               AS $$ SELECT r.item::bigint, r.rank FROM recpromo.recommend(customer_id, n, 'm_dist') r $$""")
    rows(c, "SELECT create_distributed_function('public.recommend_for(bigint,int)', 'customer_id', "
            "colocate_with => 'orders')")
    routed_ok = True
    for u in users:
        got = rows(c, "SELECT item, rank FROM public.recommend_for(%s) ORDER BY rank", (u,))
        routed_ok &= got == [(int(i), r) for i, _, r in want[u]]
    check("create_distributed_function(recommend_for(bigint,int), colocate_with => 'orders') serves each "
          "customer as the coordinator", routed_ok)

    # ---- 6. distributed batch scoring
    rows(c, "CREATE TABLE recs (customer_id bigint, item bigint, rank int)")
    rows(c, "SELECT create_distributed_table('recs', 'customer_id', colocate_with => 'orders')")
    rows(c, "INSERT INTO recs SELECT c.id, r.item::bigint, r.rank FROM customers c "
            "CROSS JOIN LATERAL recpromo.recommend(c.id, 5, 'm_dist', exclude_seen => true) r WHERE c.id <= 400")
    batch = rows(c, "SELECT customer_id, item, rank FROM recs ORDER BY 1, 3")
    check("distributed batch scoring (INSERT ... SELECT, colocated) equals recommend_all",
          batch == all_rows, (len(batch), len(all_rows)))

    # ---- 7. fold-in
    rows(c, "INSERT INTO orders VALUES (410, 5, 1), (410, 9, 2), (410, 17, 1)")
    folded = rows(c, "SELECT item::bigint FROM recpromo.recommend(410::bigint, 5, 'm_dist') ORDER BY rank")
    popular = rows(c, "SELECT item::bigint FROM recpromo.recommend(999999::bigint, 5, 'm_dist', "
                      "exclude_seen => false) ORDER BY rank")
    check("fold-in of a new customer works on the coordinator (not the popularity list)",
          len(folded) == 5 and folded != popular, (folded, popular))
    notices_before = len(c.notices)
    pushed_new = rows(c, "SELECT r.item::bigint FROM customers c CROSS JOIN LATERAL "
                         "recpromo.recommend(c.id, 5, 'm_dist', exclude_seen => false) r WHERE c.id = 410 "
                         "ORDER BY r.rank")
    notes = " ".join(c.notices[notices_before:])
    routed_new = rows(c, "SELECT item FROM public.recommend_for(410) ORDER BY rank")
    print("       pushed-down call for the new customer: %s; notices: %s" % (pushed_new, notes.strip() or "none"))
    check("inside a query on a shard, a new customer gets popularity and a NOTICE that says why",
          pushed_new == popular and "popularity" in notes and "shard" in notes, (pushed_new, popular, notes))
    check("a routed single-customer call (delegated to the worker) folds the new customer in as the coordinator",
          [r[0] for r in routed_new] == [r[0] for r in folded], (routed_new, folded))

    # ---- 8. training on a worker, retrain, drop
    err = error_of(wconns[0], "SELECT * FROM recpromo.train('m_w', 'orders', 'customer_id', 'item_id')")
    check("train() on a worker is refused with 0A000 and says to train on the coordinator",
          err is not None and err[0] == "0A000" and "coordinator" in err[1], err)
    rows(c, "SELECT * FROM recpromo.train('m_dist', 'orders', 'customer_id', 'item_id', "
            "'qty', method => 'als', factors => 8, iterations => 5, seed => 8)")
    want2 = lists(c, "m_dist", users)
    check("the retrain changes the lists", want2 != want)
    for i, wc in enumerate(wconns):
        check("worker %d serves the retrained model" % (i + 1), lists(wc, "m_dist", users) == want2)
    rows(c, "SELECT recpromo.drop_model('m_local')")
    for i, wc in enumerate(wconns):
        err = error_of(wc, "SELECT * FROM recpromo.recommend(1::bigint, 5, 'm_local')")
        check("after drop_model on the coordinator, worker %d no longer knows the model" % (i + 1),
              err is not None and err[0] == "42704", err)

    # ---- 9. a promotion model from a distributed table
    try:
        a = rows(c, "SELECT feature, round(coefficient::numeric, 9) FROM recpromo.train_propensity('p_dist', "
                    "'buyers', 'bought', ARRAY['recency', 'spend']::name[]) ORDER BY 1")
        b = rows(c, "SELECT feature, round(coefficient::numeric, 9) FROM recpromo.train_propensity('p_local', "
                    "'buyers_local', 'bought', ARRAY['recency', 'spend']::name[]) ORDER BY 1")
        check("train_propensity from a distributed table stores and equals the local fit", a == b and len(a) == 3,
              (a, b))
        s = rows(wconns[1], "SELECT round(recpromo.predict_propensity('p_dist', "
                            "'{\"recency\": 3, \"spend\": 5}')::numeric, 9)")
        s0 = rows(c, "SELECT round(recpromo.predict_propensity('p_dist', "
                     "'{\"recency\": 3, \"spend\": 5}')::numeric, 9)")
        check("a worker scores with the propensity model trained on the coordinator", s == s0, (s, s0))
    except psycopg2.Error as e:
        check("train_propensity on Citus", False, "%s %s" % (e.pgcode, e))


def main():
    pkglib = pg_config("--pkglibdir")
    if not os.path.exists(os.path.join(pkglib, "citus.so")):
        print("citus: SKIPPED (citus.so is not in %s; build Citus 13.2 as doc/scaling.md says)" % pkglib)
        print("0 passed, 0 failed")
        return 0
    bindir = pg_config("--bindir")
    as_postgres = os.geteuid() == 0
    root = tempfile.mkdtemp(prefix="rp-citus-")
    if as_postgres:
        shutil.chown(root, "postgres")
    nodes = [Node(root, n, bindir, as_postgres) for n in ("coord", "w1", "w2")]
    wconns = []
    try:
        t0 = time.time()
        for n in nodes:
            n.start()
        print("coordinator and two workers started in %.0f s" % (time.time() - t0))
        scenarios(nodes[0], nodes[1:], wconns)
    except Exception as e:  # a crash of the suite is a failure, never a silent pass
        check("citus suite ran to the end", False, repr(e))
        for n in nodes:
            if os.path.exists(n.log):
                print("---- %s (tail)" % n.log)
                with open(n.log) as f:
                    print("".join(f.readlines()[-15:]))
    finally:
        for wc in wconns:
            wc.close()
        for n in nodes:
            n.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
