#!/usr/bin/python3
"""Bandit state survives a crash in the middle of choose + reward (issue 12).

Four client threads run transactions on a binary Thompson bandit and a LinUCB
bandit (amount rewards, float8[3] contexts): choose + reward committed,
choose + reward rolled back, and choose now / reward in a later transaction
(late rewards).  Each client writes down what the server acknowledged.  Once
some hundreds of transactions are in, the test sends SIGKILL to the backend
of one client while it works.  The postmaster treats a backend killed that
way as a crash: it terminates every other backend and reinitialises shared
memory, and the startup process replays the WAL (crash recovery), all within
the running cluster, which the test leaves running.  After the server
accepts connections again (at most 60 s), the checks:

- recount_bandit() reports every arm of both bandits consistent (pulls,
  rewards, sums, sums of squares, matrices: state = recount from the logs);
- every decision and reward whose COMMIT was acknowledged is in the log,
  with its bandit and value (synchronous_commit = on);
- nothing of a transaction that was rolled back, or that failed before its
  COMMIT was sent, is in the log;
- the transaction whose COMMIT was in flight at the crash (at most one per
  client) is all there or not there at all;
- the log holds no other decisions or rewards;
- every client lost its connection (the crash reset all backends), the
  postmaster is the same process (no restart from outside), and both
  bandits choose and learn afterwards.

The kill needs the server's processes on this machine and the right to
signal them: root (as in CI) or the server's OS user.  Runs inside the test
cluster (libpq environment set, a superuser); prints "N passed, N failed".
"""
import os
import signal
import sys
import threading
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, connect, finish, fresh_database  # noqa: E402

DB = "recpromo_crash"
CLIENTS = 4


class Client(threading.Thread):
    """One session looping over transactions until its connection dies.

    committed_dec: decision_id -> bandit, of acknowledged commits;
    committed_rew: decision_id -> reward value, of acknowledged commits;
    absent_dec / absent_rew: ids of transactions that certainly did not commit
    (rolled back, or failed before COMMIT was sent);
    in_doubt: (decisions, rewards) of the transaction whose COMMIT was sent
    when the connection died, or None."""

    def __init__(self, k):
        super().__init__(daemon=True)
        self.k = k
        self.committed_dec, self.committed_rew = {}, {}
        self.absent_dec, self.absent_rew = set(), set()
        self.in_doubt = None
        self.transactions = 0
        self.error = None
        self.pid = None
        self.ready = threading.Event()

    def run(self):
        conn = psycopg2.connect(dbname=DB)
        cur = conn.cursor()
        cur.execute("SET synchronous_commit = on")
        conn.commit()
        self.pid = conn.get_backend_pid()
        self.ready.set()
        late = []                      # (bandit, decision_id) committed without reward
        i = 0
        decs, rews = {}, {}
        try:
            while True:
                i += 1
                bandit = "crash_ts" if i % 2 else "crash_lin"
                kind = (i // 2) % 5
                decs, rews = {}, {}
                if bandit == "crash_ts":
                    cur.execute("SELECT decision_id FROM recpromo.choose('crash_ts')")
                    value = float((i * 7 + self.k) % 3 == 0)
                else:
                    x = [1.0, ((i * 13 + self.k) % 10) / 10.0, ((i * 7) % 5) / 5.0]
                    cur.execute("SELECT decision_id FROM recpromo.choose('crash_lin', %s::float8[])", (x,))
                    value = round(2.0 * x[1] - x[2] + ((i * 31) % 7) / 10.0, 3)
                did = cur.fetchone()[0]
                decs[did] = bandit
                if kind == 4:
                    # a late reward for an earlier decision, and a new decision left for later
                    if late:
                        lb, ld = late.pop(0)
                        cur.execute("SELECT recpromo.reward(%s, %s, %s)", (lb, ld, 1.0 if lb == "crash_ts" else 0.5))
                        rews[ld] = 1.0 if lb == "crash_ts" else 0.5
                else:
                    cur.execute("SELECT recpromo.reward(%s, %s, %s)", (bandit, did, value))
                    rews[did] = value
                if kind == 3:
                    conn.rollback()
                    self.absent_dec.update(decs)
                    self.absent_rew.update(rews)
                    continue
                self.in_doubt = (dict(decs), dict(rews))
                conn.commit()
                self.in_doubt = None
                self.committed_dec.update(decs)
                self.committed_rew.update(rews)
                if kind == 4:
                    late.append((bandit, did))
                self.transactions += 1
        except psycopg2.Error as e:
            self.error = e
            if self.in_doubt is None:
                # failed before COMMIT was sent: the transaction did not commit
                self.absent_dec.update(decs)
                self.absent_rew.update(rews)
        finally:
            try:
                conn.close()
            except psycopg2.Error:
                pass


def wait_for_server(deadline):
    """A connection to DB once the server accepts connections again, or None at deadline."""
    while time.monotonic() < deadline:
        try:
            c = connect(DB)
            c.cursor().execute("SELECT 1")
            return c
        except psycopg2.Error:
            time.sleep(0.5)
    return None


def proc_ppid(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def main():
    admin, conn = fresh_database(DB)
    cur = conn.cursor()
    cur.execute("SHOW restart_after_crash")
    if not check("restart_after_crash is on (needed to recover inside the running cluster)",
                 cur.fetchone()[0] == "on"):
        finish()
    cur.execute("SELECT pg_catalog.split_part(pg_catalog.pg_read_file("
                "pg_catalog.current_setting('data_directory') || '/postmaster.pid'), E'\\n', 1)::int")
    postmaster = cur.fetchone()[0]
    cur.execute("SELECT recpromo.create_bandit('crash_ts', ARRAY['a', 'b', 'c'], policy => 'thompson', seed => 3)")
    cur.execute("SELECT recpromo.create_bandit('crash_lin', ARRAY['p', 'q', 'r'], policy => 'linucb', "
                "dimension => 3, reward => 'amount')")
    conn.close()

    clients = [Client(k) for k in range(CLIENTS)]
    for c in clients:
        c.start()
    for c in clients:
        c.ready.wait(30)
    victim = clients[0].pid
    check("the victim is a backend of this cluster's postmaster",
          victim is not None and proc_ppid(victim) in (postmaster, None),
          f"pid {victim}, parent {proc_ppid(victim)}, postmaster {postmaster}")
    # let the load run: enough committed transactions (bounded wait, not a pass/fail figure)
    t_end = time.monotonic() + 20
    while time.monotonic() < t_end and sum(c.transactions for c in clients) < 400 \
            and all(c.error is None for c in clients):
        time.sleep(0.05)
    check("the clients ran before the crash", all(c.error is None for c in clients),
          str([c.error for c in clients]))
    try:
        os.kill(victim, signal.SIGKILL)
    except PermissionError:
        check("permission to SIGKILL a backend", False,
              f"(euid {os.geteuid()}): run this test as root (as CI does) or as the server's OS user")
        for c in clients:
            c.join(5)
        finish()
    except ProcessLookupError:
        check("the victim backend exists on this machine", False,
              "(the server must run on the test's machine)")
        finish()
    for c in clients:
        c.join(60)
    check("every client lost its connection in the crash (all backends were reset)",
          all(not c.is_alive() and c.error is not None for c in clients),
          str([(c.is_alive(), c.error) for c in clients]))

    conn = wait_for_server(time.monotonic() + 60)
    if not check("the server accepts connections again within 60 s", conn is not None):
        finish()
    admin = connect(os.environ.get("PGDATABASE", "postgres"))
    cur = conn.cursor()
    cur.execute("SELECT pg_catalog.split_part(pg_catalog.pg_read_file("
                "pg_catalog.current_setting('data_directory') || '/postmaster.pid'), E'\\n', 1)::int")
    check("same postmaster: crash recovery inside the running cluster", cur.fetchone()[0] == postmaster)

    for b in ("crash_ts", "crash_lin"):
        cur.execute("SELECT arm, consistent FROM recpromo.recount_bandit(%s) ORDER BY arm", (b,))
        rows = cur.fetchall()
        check(f"{b}: recount consistent on every arm after the crash",
              len(rows) == 3 and all(r[1] for r in rows), str(rows))

    cur.execute("SELECT d.decision_id, b.name FROM recpromo.bandit_decision d "
                "JOIN recpromo.bandit b ON b.id OPERATOR(pg_catalog.=) d.bandit_id")
    log_dec = dict(cur.fetchall())
    cur.execute("SELECT decision_id, value FROM recpromo.bandit_reward")
    log_rew = dict(cur.fetchall())

    committed_dec, committed_rew, absent_dec, absent_rew = {}, {}, set(), set()
    doubt = [c.in_doubt for c in clients if c.in_doubt is not None]
    for c in clients:
        committed_dec.update(c.committed_dec)
        committed_rew.update(c.committed_rew)
        absent_dec |= c.absent_dec
        absent_rew |= c.absent_rew
    print(f"# {sum(c.transactions for c in clients)} transactions acknowledged, "
          f"{len(committed_dec)} decisions and {len(committed_rew)} rewards committed, "
          f"{len(absent_dec)} decisions rolled back or aborted, {len(doubt)} commits in flight")
    check("some transactions were committed and some rolled back before the crash",
          len(committed_dec) > 0 and len(absent_dec) > 0)

    missing = [d for d, b in committed_dec.items() if log_dec.get(d) != b]
    check("every acknowledged decision is in the log, with its bandit", not missing, str(missing[:5]))
    wrong = [d for d, v in committed_rew.items() if log_rew.get(d) != v]
    check("every acknowledged reward is in the log, with its value", not wrong, str(wrong[:5]))
    check("no decision of a rolled-back or aborted transaction is in the log",
          not (absent_dec & set(log_dec)), str(sorted(absent_dec & set(log_dec))[:5]))
    check("no reward of a rolled-back or aborted transaction is in the log",
          not (absent_rew & set(log_rew)), str(sorted(absent_rew & set(log_rew))[:5]))
    for decs, rews in doubt:
        there = [d in log_dec for d in decs] + [log_rew.get(d) == v for d, v in rews.items()]
        check("the transaction committing at the crash is all there or not at all",
              all(there) or not any(there), f"{decs} {rews} {there}")
    known_dec = set(committed_dec) | {d for decs, _ in doubt for d in decs}
    known_rew = set(committed_rew) | {d for _, rews in doubt for d in rews}
    check("the log holds no decision the clients did not make",
          set(log_dec) <= known_dec, str(sorted(set(log_dec) - known_dec)[:5]))
    check("the log holds no reward the clients did not give",
          set(log_rew) <= known_rew, str(sorted(set(log_rew) - known_rew)[:5]))
    cur.execute("SELECT pg_catalog.sum(log_pulls)::bigint, pg_catalog.sum(log_rewards)::bigint "
                "FROM (SELECT * FROM recpromo.recount_bandit('crash_ts') "
                "UNION ALL SELECT * FROM recpromo.recount_bandit('crash_lin')) r")
    pulls, rewards = cur.fetchone()
    check("the state counts the logged decisions and rewards",
          (pulls, rewards) == (len(log_dec), len(log_rew)), f"{(pulls, rewards)} {(len(log_dec), len(log_rew))}")

    # the bandits go on after the crash
    cur.execute("SELECT recpromo.reward('crash_ts', decision_id, 1) FROM recpromo.choose('crash_ts')")
    cur.execute("SELECT recpromo.reward('crash_lin', decision_id, 1.5) "
                "FROM recpromo.choose('crash_lin', ARRAY[1, 0.5, 0.2]::float8[])")
    cur.execute("SELECT pg_catalog.bool_and(consistent) FROM (SELECT * FROM recpromo.recount_bandit('crash_ts') "
                "UNION ALL SELECT * FROM recpromo.recount_bandit('crash_lin')) r")
    check("choose and reward work after the crash, state still consistent", cur.fetchone()[0] is True)

    conn.close()
    admin.cursor().execute(f"DROP DATABASE {DB}")
    finish("bandit crash: ")


if __name__ == "__main__":
    main()
