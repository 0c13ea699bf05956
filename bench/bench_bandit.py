#!/usr/bin/python3
"""Bandit benchmark for recpromo (not pass/fail): prints numbers.

Run against a cluster with the extension installed (libpq environment set),
e.g. inside a throwaway cluster:

    flock /tmp/recpromo.lock pg_virtualenv -t -v 15 /usr/bin/python3 bench/bench_bandit.py
    /usr/bin/python3 bench/bench_bandit.py --seconds 10 --throughput-seconds 60

Measures, with pgbench (-M prepared, per-transaction logs):
  1. choose() latency, median and p99, at 1, 4 and 8 clients, on
     - ucb1 and epsilon_greedy over 3 arms (deterministic probabilities),
     - thompson (Beta) over 3 arms with the default 100 Monte-Carlo draws
       for the propensity, and with draws => 1000,
     - linucb with 10 arms and 20 features (context: a float8[20]);
     each bandit first gets 2,000 rewarded decisions, so the state is not empty.
     The figure is the client-side transaction latency (one statement), so it
     includes the network round trip of a local socket.
  2. choose + reward throughput with 8 clients for --throughput-seconds
     (the issue's 60 s), then the check that the sharded state equals a
     recount from the decision and reward logs (recount_bandit).
The OpenBLAS kernel set (recpromo.blas_corename()) is printed with the figures.
"""
import argparse
import glob
import os
import subprocess
import tempfile

import psycopg2


def pgbench_exe():
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
    exe = os.path.join(bindir, "pgbench")
    return exe if os.path.exists(exe) else "pgbench"


def run_pgbench(script, clients, seconds, sync_commit=False):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.pgbench")
        with open(path, "w") as f:
            f.write(script)
        res = subprocess.run([pgbench_exe(), "-n", "-M", "prepared", "-c", str(clients),
                              "-j", str(min(clients, 4)), "-T", str(seconds), "-l",
                              "--log-prefix", os.path.join(tmp, "log"), "-f", path],
                             capture_output=True, text=True,
                             env=dict(os.environ, PGOPTIONS="" if sync_commit else
                                      "-c synchronous_commit=off"))
        if res.returncode != 0:
            raise RuntimeError(res.stderr[-2000:] + res.stdout[-2000:])
        lat = []
        for fn in glob.glob(os.path.join(tmp, "log*")):
            with open(fn) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 3:
                        lat.append(int(parts[2]))
        lat.sort()
        tps = [l for l in res.stdout.splitlines() if l.startswith("tps")]
        return lat, (tps[0] if tps else "")


def pct(lat, q):
    return lat[min(len(lat) - 1, int(q * len(lat)))] / 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10, help="per latency run")
    ap.add_argument("--throughput-seconds", type=int, default=60)
    ap.add_argument("--clients", default="1,4,8")
    ap.add_argument("--sync-commit", action="store_true",
                    help="keep synchronous_commit on: every choose then waits for a WAL flush")
    args = ap.parse_args()
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS recpromo")
    cur.execute("SELECT recpromo.blas_corename(), pg_catalog.version()")
    core, version = cur.fetchone()
    print(f"OpenBLAS corename: {core}; {version.split(',')[0]}; nproc {os.cpu_count()}")
    bandits = {
        "bench_ucb": ("ucb1, 3 arms", "policy => 'ucb1'", 3, 0),
        "bench_eps": ("epsilon_greedy, 3 arms", "policy => 'epsilon_greedy'", 3, 0),
        "bench_ts": ("thompson, 3 arms, draws 100", "policy => 'thompson'", 3, 0),
        "bench_ts1000": ("thompson, 3 arms, draws 1000", "policy => 'thompson', draws => 1000", 3, 0),
        "bench_lin": ("linucb, 10 arms, 20 features", "policy => 'linucb', dimension => 20, reward => 'amount'", 10, 20),
    }
    for name, (label, opts, k, d) in bandits.items():
        cur.execute("SELECT recpromo.drop_bandit(%s, if_exists => true)", (name,))
        arms = ", ".join(f"'arm{i}'" for i in range(k))
        cur.execute(f"SELECT recpromo.create_bandit(%s, ARRAY[{arms}], {opts})", (name,))
        ctx = ", ARRAY(SELECT pg_catalog.random() FROM pg_catalog.generate_series(1, 20))" if d else ""
        cur.execute(f"""DO $$ BEGIN FOR i IN 1..2000 LOOP
            PERFORM recpromo.reward('{name}', c.decision_id,
                    CASE WHEN pg_catalog.random() < 0.1 + 0.05 * (pg_catalog.substr(c.arm, 4)::int % 3) THEN 1 ELSE 0 END)
              FROM recpromo.choose('{name}'{ctx}) c;
            END LOOP; END $$""")
    print()
    print("choose() inside the server, one transaction of 2,000 calls, ms per call (median / p99)")
    for name, (label, opts, k, d) in bandits.items():
        ctx = ", ARRAY(SELECT pg_catalog.random() FROM pg_catalog.generate_series(1, 20))" if d else ""
        cur.execute(f"""DO $$ DECLARE t0 timestamptz; ms float8[] := '{{}}'; BEGIN
            FOR i IN 1..2000 LOOP
              t0 := pg_catalog.clock_timestamp();
              PERFORM * FROM recpromo.choose('{name}'{ctx});
              ms := ms || (extract(epoch FROM pg_catalog.clock_timestamp() - t0) * 1000)::float8;
            END LOOP;
            CREATE TEMP TABLE IF NOT EXISTS bench_ms (ms float8[]); DELETE FROM bench_ms; INSERT INTO bench_ms VALUES (ms);
            END $$""")
        cur.execute("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY m), percentile_cont(0.99) WITHIN GROUP (ORDER BY m) "
                    "FROM bench_ms, unnest(ms) m")
        med, p99 = cur.fetchone()
        print(f"  {label:32s}{med:9.3f} /{p99:7.3f}", flush=True)

    print()
    print(f"choose() latency through pgbench, ms (median / p99), {args.seconds} s per run, "
          f"synchronous_commit {'on' if args.sync_commit else 'off'}")
    clients = [int(c) for c in args.clients.split(",")]
    print(f"{'bandit':32s}" + "".join(f"{c:>10d} cl{'':>8s}" for c in clients))
    for name, (label, opts, k, d) in bandits.items():
        ctx = ", ARRAY(SELECT pg_catalog.random() FROM pg_catalog.generate_series(1, 20))" if d else ""
        script = f"SELECT * FROM recpromo.choose('{name}'{ctx});\n"
        row = f"{label:32s}"
        for c in clients:
            lat, tps = run_pgbench(script, c, args.seconds, args.sync_commit)
            row += f"{pct(lat, 0.5):9.3f} /{pct(lat, 0.99):7.3f}"
        print(row, flush=True)

    print()
    print(f"choose + reward throughput, 8 clients, {args.throughput_seconds} s (thompson, 3 arms)")
    script = ("\\set r random(0, 1)\n"
              "SELECT recpromo.reward('bench_ts', decision_id, :r) FROM recpromo.choose('bench_ts');\n")
    lat, tps = run_pgbench(script, 8, args.throughput_seconds, args.sync_commit)
    print(f"  {tps}; latency median {pct(lat, 0.5):.3f} ms, p99 {pct(lat, 0.99):.3f} ms")
    cur.execute("SELECT bool_and(consistent), sum(log_pulls), sum(log_rewards) FROM recpromo.recount_bandit('bench_ts')")
    ok, pulls, rewards = cur.fetchone()
    print(f"  state equals the recount from the log: {ok} ({pulls} decisions, {rewards} rewards)")
    for name in bandits:
        cur.execute("SELECT recpromo.drop_bandit(%s)", (name,))


if __name__ == "__main__":
    main()
