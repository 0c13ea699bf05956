#!/usr/bin/python3
"""recpromo on Citus: batch scoring on the workers against recommend_all on the coordinator.

Usage: PATH=<bin dir of a PostgreSQL 15 with citus.so and recpromo installed>:$PATH \
       /usr/bin/python3 bench/bench_citus.py [customers ...]

Starts a coordinator and two workers (test/citus/test_citus.py's Node), generates
orders for N customers (about 8 orders each, 2,000 items), distributes orders,
customers and the result table by customer (32 shards), trains one ALS model
(32 factors) on the coordinator, then times, alternating, three ways to fill a
table of top-10 lists for every customer:

  coord:  INSERT INTO recs_local SELECT ... FROM recpromo.recommend_all(10, 'm')
          (one backend on the coordinator, the rows stay there)
  coord>dist: INSERT INTO recs_dist SELECT ... FROM recpromo.recommend_all(10, 'm')
          (scored on the coordinator, rows shipped to the workers' shards)
  pushed: INSERT INTO recs_dist SELECT c.id, r.* FROM customers c CROSS JOIN LATERAL
          recpromo.recommend(c.id, 10, 'm') r   (one task per shard on the workers)

and prints the medians and ratios.

       /usr/bin/python3 bench/bench_citus.py --read [rows ...]

times training's read instead: for each row count, orders with 1 row per
(customer, item) pair and with 4 (repeat purchases), distributed by customer
(32 shards) plus a local copy, a popularity model (params {"by": "sum"}, qty an integer)
trained three ways, alternating: from the local copy (direct scan), from the
distributed table with the default recpromo.source_path = auto (every row
pulled to the coordinator) and with recpromo.source_path = grouped (grouped by
customer and item on the workers, only distinct pairs travel).  It prints the
read's seconds (the DEBUG2 "recpromo read" message: rows to the finished read)
the coordinator backend's CPU seconds during the read (from the same message:
the work that does not spread over workers) and the whole train() call's,
medians of 3, and checks that the three models'
parts are byte-identical.  All three instances share this machine's
cores, so the workers' parallelism is bounded by them; on real hardware each
worker has its own.  The first pushed run includes the model loads of the
worker backends (citus.max_adaptive_executor_pool_size caps them).
"""
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "citus"))
import test_citus as tc  # noqa: E402


def timed(conn, sql):
    t = time.perf_counter()
    tc.rows(conn, sql)
    return time.perf_counter() - t


def read_seconds(conn):
    """(wall, coordinator backend cpu) seconds of the read, from its DEBUG2 message."""
    msg = [n for n in conn.notices if "recpromo read " in n][-1]
    del conn.notices[:]
    return (float(msg.split(" rows in ")[1].split(" s")[0]),
            float(msg.split("(cpu ")[1].split(" s")[0]))


def bench_read(c, sizes):
    print("%9s %4s %9s | %7s %8s %8s | %8s %8s | %7s %8s %8s | %s" % (
        "rows", "dup", "pairs", "local", "all rows", "grouped", "all rows", "grouped", "local", "all rows",
        "grouped", "parts"))
    print("%9s %4s %9s | %25s | %17s | %25s |" % ("", "", "", "read s", "coordinator cpu s", "train() s"))
    for n in sizes:
        for dup in (1, 4):
            for t in ("orders", "orders_local"):
                tc.rows(c, "DROP TABLE IF EXISTS %s" % t)
            tc.rows(c, "CREATE TABLE orders (customer_id bigint, item_id bigint, qty int)")
            tc.rows(c, "SELECT create_distributed_table('orders', 'customer_id', shard_count => 32)")
            tc.rows(c, "INSERT INTO orders SELECT c, 1 + (c * 7 + k * 131 + (c %% 17) * k * k) %% 2000, "
                       "1 + (c + k + r) %% 3 FROM generate_series(1, %d) c, generate_series(1, 8) k, "
                       "generate_series(1, %d) r" % (n // (8 * dup), dup))
            tc.rows(c, "CREATE TABLE orders_local AS SELECT * FROM orders")
            tc.rows(c, "VACUUM ANALYZE orders_local")
            pairs = tc.rows(c, "SELECT count(*) FROM (SELECT DISTINCT customer_id, item_id FROM orders) x")[0][0]
            rd = {"local": [], "all": [], "grouped": []}
            tt = {"local": [], "all": [], "grouped": []}
            tc.rows(c, "SET client_min_messages = debug2")
            for rep in range(3):
                for way, src, path in (("local", "orders_local", "auto"), ("all", "orders", "auto"),
                                       ("grouped", "orders", "grouped")):
                    tc.rows(c, "SET recpromo.source_path = %s" % path)
                    del c.notices[:]
                    tt[way].append(timed(c, "SELECT * FROM recpromo.train('r_%s', '%s', 'customer_id', "
                                            "'item_id', 'qty', method => 'popularity', params => '{\"by\": \"sum\"}')" % (way, src)))
                    rd[way].append(read_seconds(c))
            tc.rows(c, "RESET client_min_messages")
            tc.rows(c, "RESET recpromo.source_path")
            differ = tc.rows(c, """
                SELECT count(*) FROM recpromo.model_part a JOIN recpromo.model ma ON ma.id = a.model_id
                  FULL JOIN (SELECT b.part, b.seq, b.data, mb.name FROM recpromo.model_part b
                               JOIN recpromo.model mb ON mb.id = b.model_id) b
                    ON b.part = a.part AND b.seq = a.seq AND b.name = 'r_local'
                 WHERE ma.name IN ('r_all', 'r_grouped') AND a.data IS DISTINCT FROM b.data""")[0][0]
            m = {k: statistics.median(x[0] for x in v) for k, v in rd.items()}
            u = {k: statistics.median(x[1] for x in v) for k, v in rd.items()}
            t = {k: statistics.median(v) for k, v in tt.items()}
            print("%9d %4d %9d | %7.2f %8.2f %8.2f | %8.2f %8.2f | %7.2f %8.2f %8.2f | %s" % (
                n, dup, pairs, m["local"], m["all"], m["grouped"], u["all"], u["grouped"],
                t["local"], t["all"], t["grouped"],
                "identical" if differ == 0 else "%d DIFFER" % differ), flush=True)


def main():
    read_mode = sys.argv[1:2] == ["--read"]
    args = sys.argv[2:] if read_mode else sys.argv[1:]
    sizes = [int(a) for a in args] or ([200000, 2000000] if read_mode else [5000, 20000, 80000])
    bindir = tc.pg_config("--bindir")
    as_postgres = os.geteuid() == 0
    root = tempfile.mkdtemp(prefix="rp-citus-bench-")
    if as_postgres:
        shutil.chown(root, "postgres")
    nodes = [tc.Node(root, n, bindir, as_postgres) for n in ("coord", "w1", "w2")]
    try:
        for n in nodes:
            n.start()
        c = nodes[0].connect()
        for w in nodes[1:]:
            wc = w.connect()
            tc.rows(wc, "CREATE EXTENSION citus")
            wc.close()
        tc.rows(c, "CREATE EXTENSION citus")
        tc.rows(c, "SELECT citus_set_coordinator_host('%s', %d)" % (nodes[0].sock, nodes[0].port))
        for w in nodes[1:]:
            tc.rows(c, "SELECT citus_add_node('%s', %d)" % (w.sock, w.port))
        tc.rows(c, "CREATE EXTENSION recpromo")
        tc.rows(c, "SELECT * FROM recpromo.citus_enable()")
        print("load average at start: %s" % open("/proc/loadavg").read().split()[:3])
        if read_mode:
            bench_read(c, sizes)
            sizes = []
        if sizes:
            print("%10s %12s %12s %12s %14s %14s" % ("customers", "coord s", "coord>dist s", "pushed s",
                                               "pushed/coord", "pushed/c>dist"))
        for n in sizes:
            for t in ("recs_local", "recs_dist", "customers", "orders"):
                tc.rows(c, "DROP TABLE IF EXISTS %s" % t)
            tc.rows(c, "CREATE TABLE orders (customer_id bigint, item_id bigint, qty int)")
            tc.rows(c, "SELECT create_distributed_table('orders', 'customer_id', shard_count => 32)")
            tc.rows(c, "INSERT INTO orders SELECT c, 1 + (c * 7 + k * 131 + (c %% 17) * k * k) %% 2000, 1 "
                       "FROM generate_series(1, %d) c, generate_series(1, 8) k" % n)
            tc.rows(c, "CREATE TABLE customers (id bigint PRIMARY KEY)")
            tc.rows(c, "SELECT create_distributed_table('customers', 'id', colocate_with => 'orders')")
            tc.rows(c, "INSERT INTO customers SELECT generate_series(1, %d)" % n)
            tc.rows(c, "CREATE TABLE recs_local (customer_id bigint, item bigint, rank int)")
            tc.rows(c, "CREATE TABLE recs_dist (customer_id bigint, item bigint, rank int)")
            tc.rows(c, "SELECT create_distributed_table('recs_dist', 'customer_id', colocate_with => 'orders')")
            tc.rows(c, "SELECT * FROM recpromo.train('m', 'orders', 'customer_id', 'item_id', "
                       "method => 'als', factors => 32, iterations => 5, seed => 1)")
            res = {"coord": [], "cdist": [], "pushed": []}
            for rep in range(3):
                tc.rows(c, "TRUNCATE recs_local"); tc.rows(c, "TRUNCATE recs_dist")
                res["coord"].append(timed(c, "INSERT INTO recs_local SELECT user_id, item, rank "
                                             "FROM recpromo.recommend_all(10, 'm')"))
                tc.rows(c, "TRUNCATE recs_dist")
                res["cdist"].append(timed(c, "INSERT INTO recs_dist SELECT user_id, item, rank "
                                             "FROM recpromo.recommend_all(10, 'm')"))
                tc.rows(c, "TRUNCATE recs_dist")
                res["pushed"].append(timed(c, "INSERT INTO recs_dist SELECT c.id, r.item, r.rank FROM customers c "
                                              "CROSS JOIN LATERAL recpromo.recommend(c.id, 10, 'm') r"))
            same = tc.rows(c, "SELECT count(*) FROM (SELECT * FROM recs_dist EXCEPT SELECT * FROM recs_local) x")[0][0]
            m = {k: statistics.median(v) for k, v in res.items()}
            print("%10d %12.2f %12.2f %12.2f %14.2f %14.2f   (first pushed run %.2f s; rows differing: %d)" % (
                n, m["coord"], m["cdist"], m["pushed"], m["pushed"] / m["coord"], m["pushed"] / m["cdist"],
                res["pushed"][0], same))
        print("load average at end: %s" % open("/proc/loadavg").read().split()[:3])
    finally:
        for n in nodes:
            n.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
