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

and prints the medians and ratios.  All three instances share this machine's
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


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [5000, 20000, 80000]
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
