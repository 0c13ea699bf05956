#!/usr/bin/python3
"""Long recpromo calls stop for a real cancel only (issue 11, item 1).

A backend receives many interrupts that are not cancels: another session's
pg_log_backend_memory_contexts(pid), a ProcSignalBarrier (DROP DATABASE of
another database waits until every backend has absorbed one), the periodic
client_connection_check_interval timer.  A training or recommend_all that is
running when one arrives must go on and finish; only pg_cancel_backend,
statement_timeout (and termination) stop it, with SQLSTATE 57014.

Session A runs the work; a thread with its own connection disturbs it until
A is done.  Pass/fail depends on no timing except generous upper bounds:
the disturbing thread simply keeps going for as long as the work runs.
Runs inside the test cluster (libpq variables set).  Prints
"N passed, N failed".
"""
import os
import sys
import threading
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, connect, finish, fresh_database  # noqa: E402

DB = "rp_interrupts"


admin, a = fresh_database(DB)
acur = admin.cursor()
acur.execute("DROP DATABASE IF EXISTS rp_interrupts_barrier")

cur = a.cursor()
# 4,000 customers x 3,000 items, about 230,000 interactions: an ALS
# iteration takes tens of milliseconds, EASE about a second.
cur.execute("""CREATE TABLE buys AS
               SELECT (u * 7919 + i * 104729) % 4000 AS u,
                      (u * 31 + i * 17 + (u % 50) * i) % 3000 AS i,
                      1 + (u + i) % 3 AS q
               FROM generate_series(1, 4000) u, generate_series(1, 60) i""")
cur.execute("SELECT pg_backend_pid()")
pid = cur.fetchone()[0]

ALS = ("SELECT name FROM recpromo.train('m_als', 'buys', 'u', 'i', 'q', method => 'als', "
       "factors => 64, iterations => %d, seed => 1)")
EASE = "SELECT name FROM recpromo.train('m_ease', 'buys', 'u', 'i', method => 'ease')"
RECALL = "SELECT count(*) FROM recpromo.recommend_all(10, model => 'm_serve')"
# the model recommend_all serves, trained undisturbed
cur.execute("SELECT recpromo.train('m_serve', 'buys', 'u', 'i', 'q', method => 'als', "
            "factors => 64, iterations => 2, seed => 1)")


class Disturber(threading.Thread):
    """Runs `action(cursor)` in a loop on its own connection until stopped."""

    def __init__(self, action, db=DB, pause=0.02):
        super().__init__(daemon=True)
        self.action = action
        self.db = db
        self.pause = pause
        self.stop = threading.Event()
        self.count = 0
        self.error = None

    def run(self):
        try:
            c = connect(self.db)
            k = c.cursor()
            while not self.stop.is_set():
                self.action(k)
                self.count += 1
                time.sleep(self.pause)
            c.close()
        except Exception as e:  # reported by the caller
            self.error = e


def run_disturbed(label, sql, action, expect, db=DB, pause=0.02):
    """Runs sql in session A while `action` disturbs it; checks the result."""
    d = Disturber(action, db, pause)
    d.start()
    # let the disturber send its first interrupt before the work starts
    while d.count == 0 and d.error is None and d.is_alive():
        time.sleep(0.01)
    err = None
    res = None
    try:
        cur.execute(sql)
        res = cur.fetchone()[0]
    except psycopg2.Error as e:
        err = e
    d.stop.set()
    d.join(120)
    check(label + ": disturber ran", d.error is None and d.count > 0, repr(d.error))
    check(label + ": completes", err is None and res == expect,
          "" if err is None else f"{err.pgcode} {err.pgerror.strip()}")


def log_contexts(k):
    k.execute("SELECT pg_log_backend_memory_contexts(%s)", (pid,))


# --- harmless interrupts: the work completes -------------------------------
run_disturbed("als + pg_log_backend_memory_contexts", ALS % 40, log_contexts, "m_als")
run_disturbed("ease + pg_log_backend_memory_contexts", EASE, log_contexts, "m_ease")
run_disturbed("recommend_all + pg_log_backend_memory_contexts", RECALL, log_contexts, 40000)

cur.execute("SET recpromo.max_threads = 2")
run_disturbed("als 2 threads + pg_log_backend_memory_contexts", ALS % 40, log_contexts, "m_als")
run_disturbed("recommend_all 2 threads + pg_log_backend_memory_contexts", RECALL, log_contexts, 40000)
cur.execute("RESET recpromo.max_threads")


# A ProcSignalBarrier: DROP DATABASE emits one (PROCSIGNAL_BARRIER_SMGRRELEASE)
# and waits until every backend, session A included, has absorbed it.
def barrier(k):
    k.execute("CREATE DATABASE rp_interrupts_barrier")
    k.execute("DROP DATABASE rp_interrupts_barrier")


run_disturbed("als + ProcSignalBarrier (DROP DATABASE)", ALS % 40, barrier, "m_als",
              db=os.environ.get("PGDATABASE", "postgres"), pause=0.0)

# The client connection check timer raises an interrupt every 10 ms.
cur.execute("SET client_connection_check_interval = '10ms'")
for label, sql, expect in (("als", ALS % 20, "m_als"), ("ease", EASE, "m_ease"),
                           ("recommend_all", RECALL, 40000)):
    try:
        cur.execute(sql)
        res = cur.fetchone()[0]
        check(label + " + client_connection_check_interval", res == expect, repr(res))
    except psycopg2.Error as e:
        check(label + " + client_connection_check_interval", False, f"{e.pgcode} {e.pgerror.strip()}")
cur.execute("RESET client_connection_check_interval")


# --- real stops: 57014 ------------------------------------------------------
def expect_cancel(label, sql, cancel_after=None, message=None):
    t = None
    if cancel_after is not None:
        def canceller():
            c = connect(DB)
            k = c.cursor()
            time.sleep(cancel_after)
            k.execute("SELECT pg_cancel_backend(%s)", (pid,))
            c.close()
        t = threading.Thread(target=canceller, daemon=True)
        t.start()
    start = time.monotonic()
    code = msg = None
    try:
        cur.execute(sql)
    except psycopg2.Error as e:
        code, msg = e.pgcode, e.pgerror
    took = time.monotonic() - start
    if t is not None:
        t.join(60)
    check(label + ": 57014", code == "57014", f"{code} {msg}")
    if message is not None:
        check(label + ": message", msg is not None and message in msg, msg)
    # generous: the uninterrupted work would take minutes
    check(label + ": stops promptly", took < 60, f"{took:.1f} s")


for threads in (1, 2):
    cur.execute(f"SET recpromo.max_threads = {threads}")
    expect_cancel(f"als pg_cancel_backend ({threads} threads)", ALS % 5000, cancel_after=0.5,
                  message="canceling statement due to user request")
    cur.execute("SET statement_timeout = '300ms'")
    expect_cancel(f"als statement_timeout ({threads} threads)", ALS % 5000,
                  message="canceling statement due to statement timeout")
    cur.execute("SET statement_timeout = '100ms'")
    expect_cancel(f"ease statement_timeout ({threads} threads)", EASE,
                  message="canceling statement due to statement timeout")
    cur.execute("RESET statement_timeout")
cur.execute("RESET recpromo.max_threads")

# the session is still usable and serves the model trained above
cur.execute("SELECT count(*) FROM recpromo.recommend(1, 5, model => 'm_serve')")
check("session usable after cancels", cur.fetchone()[0] == 5)

a.close()

# termination (pg_terminate_backend) ends a training and the session: 57P01
t_conn = connect(DB)
t_cur = t_conn.cursor()
t_cur.execute("SET recpromo.max_threads = 2")
t_cur.execute("SELECT pg_backend_pid()")
t_pid = t_cur.fetchone()[0]


def terminator():
    time.sleep(0.5)
    acur2 = connect(DB)
    acur2.cursor().execute("SELECT pg_terminate_backend(%s)", (t_pid,))
    acur2.close()


tt = threading.Thread(target=terminator, daemon=True)
tt.start()
code = None
start = time.monotonic()
try:
    t_cur.execute(ALS % 5000)
except psycopg2.Error as e:
    code = e.pgcode
took = time.monotonic() - start
tt.join(60)
# the server sends 57P01 before closing; a client may see only the closed socket
check("als pg_terminate_backend: terminated", code == "57P01" or t_conn.closed != 0, f"{code}")
check("als pg_terminate_backend: promptly", took < 60, f"{took:.1f} s")
for _ in range(300):  # the backend exits right after; wait up to 30 s
    acur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (t_pid,))
    gone = acur.fetchone()[0] == 0
    if gone:
        break
    time.sleep(0.1)
check("terminated backend is gone", gone)
acur.execute(f"DROP DATABASE IF EXISTS {DB}")
admin.close()
finish()
