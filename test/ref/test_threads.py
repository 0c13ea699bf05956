#!/usr/bin/python3
"""A backend carries no thread it did not ask for (issue 11, item 2).

After the module is loaded and a cosine has run, the backend has exactly one
thread (/proc/<pid>/task).  Debian's pthreads OpenBLAS started its pool at
library load, so this was 2 on a 2-core machine; _PG_init now stops that
pool (see src/pg/recpromo.c for why the serial OpenBLAS is not used).
With recpromo.max_threads = 2 a training or recommend_all runs on 2 threads,
and afterwards the backend is back to 1.
Thread counts are read through pg_ls_dir (superuser), so the test needs no
access to /proc of the server's user.  Prints "N passed, N failed".
"""
import math
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, connect, finish, fresh_database  # noqa: E402

DB = "rp_threads"


def threads_of(k, pid):
    k.execute("SELECT count(*) FROM pg_ls_dir(%s) AS t", (f"/proc/{pid}/task",))
    return k.fetchone()[0]


admin, setup = fresh_database(DB)
acur = admin.cursor()
s = setup.cursor()
s.execute("""CREATE TABLE buys AS
             SELECT (u * 7919 + i * 104729) % 4000 AS u,
                    (u * 31 + i * 17 + (u % 50) * i) % 3000 AS i,
                    1 + (u + i) % 3 AS q
             FROM generate_series(1, 4000) u, generate_series(1, 60) i""")
s.execute("SELECT recpromo.train('m_serve', 'buys', 'u', 'i', 'q', method => 'als', "
          "factors => 64, iterations => 2, seed => 1)")

# A fresh backend: one thread before and after loading the module.
a = connect(DB)
cur = a.cursor()
cur.execute("SELECT pg_backend_pid()")
pid = cur.fetchone()[0]
check("fresh backend: 1 thread", threads_of(cur, pid) == 1)
cur.execute("LOAD 'recpromo'")
check("after LOAD 'recpromo': 1 thread", threads_of(cur, pid) == 1, str(threads_of(cur, pid)))
cur.execute("SELECT round(recpromo.cosine_similarity(ARRAY[1, 2, 3]::float8[], ARRAY[2, 3, 4]::float8[])::numeric, 6)")
check("cosine works", float(cur.fetchone()[0]) == 0.992583)
n = threads_of(cur, pid)
check("after a cosine: 1 thread", n == 1, str(n))
cur.execute("SELECT recpromo.blas_corename()")
print("OpenBLAS core:", cur.fetchone()[0])

# max_threads = 2: the work runs on 2 threads; afterwards 1 again.
cur.execute("SET client_min_messages = warning")
cur.execute("SET recpromo.max_threads = 2")


def watch(sql, expect):
    seen = [0]
    done = threading.Event()

    def poll():
        c = connect(DB)
        k = c.cursor()
        while not done.is_set():
            seen[0] = max(seen[0], threads_of(k, pid))
        c.close()

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    cur.execute(sql)
    res = cur.fetchone()[0]
    done.set()
    t.join(60)
    return res == expect, seen[0]


for label, sql, expect in (
        ("als", "SELECT name FROM recpromo.train('m_als', 'buys', 'u', 'i', 'q', method => 'als', "
                "factors => 64, iterations => 40, seed => 1)", "m_als"),
        ("recommend_all", "SELECT count(*) FROM (SELECT * FROM recpromo.recommend_all(10, model => 'm_serve') "
                          "UNION ALL SELECT * FROM recpromo.recommend_all(10, model => 'm_serve') "
                          "UNION ALL SELECT * FROM recpromo.recommend_all(10, model => 'm_serve')) r", 120000)):
    ok, most = watch(sql, expect)
    check(label + " with max_threads = 2: result", ok)
    check(label + " with max_threads = 2: 2 threads seen", most == 2, str(most))
    n = threads_of(cur, pid)
    check(label + " with max_threads = 2: back to 1 thread", n == 1, str(n))

# The core calls BLAS from its own threads, so the OpenBLAS it links must be
# safe to call concurrently (Debian's serial build is not: two threads of
# the Cholesky solver corrupt each other's buffers).  Same model at 1 and 2
# threads.
losses = {}
for t in (1, 2):
    cur.execute(f"SET recpromo.max_threads = {t}")
    cur.execute("SELECT round(final_loss::numeric, 10) FROM recpromo.train('m_chol', 'buys', 'u', 'i', 'q', "
                "method => 'als', factors => 32, iterations => 3, seed => 3, "
                "params => '{\"solver\": \"cholesky\"}')")
    losses[t] = cur.fetchone()[0]
check("cholesky ALS: same loss at 1 and 2 threads", losses[1] == losses[2], str(losses))
cur.execute("RESET recpromo.max_threads")

# The per-iteration loss is computed only when its NOTICE is shown (and for
# the last iteration, the model's final_loss): the model is the same either
# way, and a shown NOTICE carries a finite loss for every iteration.
fits = {}
for level in ("notice", "warning"):
    cur.execute(f"SET client_min_messages = {level}")
    del cur.connection.notices[:]
    cur.execute("SELECT final_loss FROM recpromo.train('m_loss', 'buys', 'u', 'i', 'q', method => 'als', "
                "factors => 8, iterations => 4, seed => 5)")
    final = cur.fetchone()[0]
    shown = [n for n in cur.connection.notices if "als iteration" in n]
    cur.execute("SELECT array_agg(item ORDER BY u, rank) FROM generate_series(1, 50) u, "
                "recpromo.recommend(u, 5, 'm_loss') r")
    fits[level] = (final, cur.fetchone()[0], shown)
cur.execute("SET client_min_messages = warning")
check("ALS loss: final_loss the same with and without the iteration NOTICEs",
      fits["notice"][0] == fits["warning"][0] and math.isfinite(fits["warning"][0]),
      str((fits["notice"][0], fits["warning"][0])))
check("ALS loss: the same lists with and without the iteration NOTICEs", fits["notice"][1] == fits["warning"][1])
check("ALS loss: every shown NOTICE has a finite loss",
      len(fits["notice"][2]) == 4 and not any("nan" in n.split("loss ")[1].split(",")[0] for n in fits["notice"][2]),
      str(fits["notice"][2]))

# LAPACK (EASE inverts a 3,000 x 3,000 Gram matrix) starts no thread either
cur.execute("SELECT name FROM recpromo.train('m_ease', 'buys', 'u', 'i', method => 'ease')")
check("ease trains", cur.fetchone()[0] == "m_ease")
n = threads_of(cur, pid)
check("after EASE: 1 thread", n == 1, str(n))

a.close()
setup.close()
acur.execute(f"DROP DATABASE IF EXISTS {DB}")
admin.close()
finish()
