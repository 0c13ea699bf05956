#!/usr/bin/python3
"""Reading the source, end to end: recpromo in the database against the real `implicit`.

    IMPLICIT_SRC=/work/peers/implicit /usr/bin/python3 bench/bench_read.py [--reps 3]
        [--rows 5000000] [--users 100000] [--items 20000] [--only read,als,knn] [--phases]

The item_knn goal alone (issue 14: at most 0.5x implicit's CosineRecommender, 1 and 2 threads):

    IMPLICIT_SRC=/work/peers/implicit /usr/bin/python3 bench/bench_read.py --only knn --reps 5 --phases

Runs inside a cluster (libpq variables set, the extension installed).  Not pass/fail.
`implicit` 0.7.3 is imported from IMPLICIT_SRC (built in place, see bench/README.md); without
it the peer columns stay empty.

The data: a table bench_read_src (u int4, i int4, v float4) of --rows draws with Zipf-like item
and user popularity (numpy default_rng(42), as bench/bench_knn.py), v a count 1..5; repeated
(user, item) pairs are summed by both sides.  It is created once and kept between runs.

Measured, alternating recpromo and the peer in each repetition, medians printed:
  read     train(method => 'popularity'): reading the rows and building the CSR is nearly all
           of it; once through the fast path (recpromo.source_path = auto) and once through SPI
           (recpromo.source_path = spi), the issue's "today".
  before   (alone, with an older build installed) the same popularity training, for the
           figures of that build: run it, reinstall, run the rest, and quote both.
  als      train(method => 'als', factors 64, iterations 5, regularization 0.05, alpha 1, CG 3
           steps) with recpromo.max_threads = 1 and 2, against implicit's load + fit:
           COPY (binary, through psql into a pipe) of the same table into numpy arrays, keys mapped to dense indices
           (np.unique), scipy CSR (duplicates summed), AlternatingLeastSquares(factors=64,
           iterations=5, regularization=0.05, alpha=1, use_cg=True, num_threads=t) with
           OPENBLAS_NUM_THREADS=1 and the training loss off.
  batch    (with als) recommend_all(10) on the 1-thread ALS model against implicit's
           model.recommend(all users, N=10, filter_already_liked_items=True) on 1 thread.
  knn      train(method => 'item_knn', neighbours 20) with recpromo.max_threads = 1 and 2
           against the same load + implicit.nearest_neighbours.CosineRecommender(K=20).fit on
           as many threads (num_threads).
Main-thread CPU: the CPU seconds of the main thread alone (the backend; the peer's Python
process, whose OpenMP workers are other threads), i.e. the serial parts plus the main thread's
share of the parallel ones: about what the run takes on an idle machine with a core per thread,
and the figure to compare for the 2-thread goal when the machine is loaded.
Ratios: the table gives ratios of the medians; the lines after it give each repetition's pair
ratio (the two sides run back to back) and their median, for wall and CPU seconds.  CPU is the
backend's (every thread) against the peer process's plus its psql child's (the server backend
that serves the peer's COPY is not counted: that favours the peer).  On a shared machine quote
the CPU ratios next to the wall ones, with the load average printed after every repetition.
Memory: VmHWM (peak resident set) and the peak of RssAnon (anonymous memory, sampled every
10 ms from /proc/<pid>/status) of the backend during the statement, in a fresh connection; the
same for the peer's process (its whole life: Python, numpy, scipy, load and fit; the peak of
the fit alone, after the load's temporaries are freed, is printed too).
"""
import argparse
import os
import shutil
import statistics
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import psycopg2

TABLE = "bench_read_src"
phase_lines = []   # recpromo's DEBUG2 phase timings of item_knn (--phases)
main_cpu = [0.0]   # main-thread CPU seconds of the last run (either side)
mains = {}         # key -> main-thread CPU seconds of every run


def status_kb(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class Sampler:
    """Peak RssAnon of a process, sampled every 10 ms, plus its VmHWM at the end."""

    def __init__(self, pid):
        self.pid, self.peak, self.hwm, self.peak_all = pid, 0, 0, 0
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            a = status_kb(self.pid, "RssAnon")
            h = status_kb(self.pid, "VmHWM")
            if a is not None:
                self.peak = max(self.peak, a)
                self.peak_all = max(self.peak_all, a)
            if h is not None:
                self.hwm = max(self.hwm, h)
            self.stop.wait(0.01)

    def finish(self):
        self.stop.set()
        self.t.join()
        return self.hwm / 1024.0, self.peak / 1024.0


def generate(n_users, n_items, n, seed=42):
    rng = np.random.default_rng(seed)
    pi = (np.arange(n_items) + 1.0) ** -0.8
    pu = (np.arange(n_users) + 1.0) ** -0.5
    items = rng.choice(n_items, size=n, p=pi / pi.sum()).astype(np.int32)
    users = rng.choice(n_users, size=n, p=pu / pu.sum()).astype(np.int32)
    items = rng.permutation(n_items).astype(np.int32)[items]
    users = rng.permutation(n_users).astype(np.int32)[users]
    vals = rng.integers(1, 6, size=n).astype(np.float32)
    return users, items, vals


def ensure_table(conn, args):
    cur = conn.cursor()
    cur.execute("SELECT pg_catalog.to_regclass(%s) IS NOT NULL", (TABLE,))
    if cur.fetchone()[0]:
        cur.execute("SELECT count(*) FROM " + TABLE)
        if cur.fetchone()[0] == args.rows:
            return
        cur.execute("DROP TABLE " + TABLE)
    users, items, vals = generate(args.users, args.items, args.rows)
    cur.execute("CREATE TABLE %s (u int4, i int4, v float4)" % TABLE)
    # binary COPY: 19-byte header, rows of (int16 3, 3 x (int32 4, value)), trailer -1
    row = np.dtype([("n", ">i2"), ("l1", ">i4"), ("u", ">i4"), ("l2", ">i4"), ("i", ">i4"),
                    ("l3", ">i4"), ("v", ">f4")])
    a = np.empty(len(users), dtype=row)
    a["n"], a["l1"], a["l2"], a["l3"] = 3, 4, 4, 4
    a["u"], a["i"], a["v"] = users, items, vals
    import io
    buf = io.BytesIO(b"PGCOPY\n\xff\r\n\0" + struct.pack(">ii", 0, 0) + a.tobytes() +
                     struct.pack(">h", -1))
    cur.copy_expert("COPY %s FROM STDIN (FORMAT binary)" % TABLE, buf)
    conn.commit()
    conn.autocommit = True
    cur.execute("VACUUM ANALYZE " + TABLE)
    conn.autocommit = False


def cpu_seconds(pid, children=False):
    """utime + stime of pid (and, with children, of its waited-for children: the peer's psql)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    t = int(fields[11]) + int(fields[12])
    if children:
        t += int(fields[13]) + int(fields[14])
    return t / os.sysconf("SC_CLK_TCK")


def main_thread_cpu(pid):
    """utime + stime of the process's main thread alone (/proc/<pid>/task/<pid>/stat): the
    serial part plus the main thread's share of the parallel parts, i.e. about the wall time
    the run would take on an idle machine with one core per thread."""
    try:
        with open("/proc/%d/task/%d/stat" % (pid, pid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def recpromo_run(stmt, settings, messages="debug2"):
    """Runs stmt in a fresh connection with client_min_messages = messages; returns (seconds,
    VmHWM MB, peak RssAnon MB, CPU s, the read/matrix line of the DEBUG2 message).  ALS runs use
    'warning': implicit's training loss is off, and recpromo computes the per-iteration loss only
    for a NOTICE someone sees (the final loss, which the model keeps, always)."""
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT pg_catalog.set_config('client_min_messages', %s, false)", (messages,))
    for k, v in settings.items():
        cur.execute("SELECT pg_catalog.set_config(%s, %s, false)", (k, str(v)))
    cur.execute("SELECT pg_catalog.pg_backend_pid()")
    pid = cur.fetchone()[0]
    s = Sampler(pid)
    c0 = cpu_seconds(pid)
    m0 = main_thread_cpu(pid)
    t0 = time.perf_counter()
    cur.execute(stmt)
    cur.fetchall()
    dt = time.perf_counter() - t0
    cpu = cpu_seconds(pid) - c0
    main_cpu[0] = main_thread_cpu(pid) - m0
    hwm, anon = s.finish()
    read = [n.strip() for n in conn.notices if "recpromo read " in n]
    phase_lines.extend("%s; %s" % (read[-1].split("recpromo ", 1)[1] if read else "", n.strip().split("recpromo ", 1)[1])
                       for n in conn.notices if "recpromo item_knn phases" in n)
    conn.close()
    return dt, hwm, anon, cpu, read[-1].split("recpromo ", 1)[1] if read else ""


PEER = r'''
import os, sys, time, struct, subprocess
sys.path.insert(0, os.environ["IMPLICIT_SRC"])
import numpy as np, scipy.sparse as sp, psycopg2
what, threads, table, psql = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
t0 = time.perf_counter()
conn = psycopg2.connect("")
cur = conn.cursor()
cur.execute("SELECT count(*) FROM " + table)
n = cur.fetchone()[0]
conn.close()
row = np.dtype([("n", ">i2"), ("l1", ">i4"), ("u", ">i4"), ("l2", ">i4"), ("i", ">i4"),
                ("l3", ">i4"), ("v", ">f4")])
U = np.empty(n, np.int32); I = np.empty(n, np.int32); V = np.empty(n, np.float32)
# binary COPY through psql's C client into a pipe, decoded 65536 rows at a time (psycopg2's
# copy_expert would call Python once per row)
p = subprocess.Popen([psql, "-XAtq", "-c", "COPY %s TO STDOUT (FORMAT binary)" % table],
                     stdout=subprocess.PIPE)
p.stdout.read(19)
k = 0
while k < n:
    m = min(65536, n - k)
    buf = p.stdout.read(26 * m)
    a = np.frombuffer(buf, dtype=row, count=m)
    U[k:k + m] = a["u"]; I[k:k + m] = a["i"]; V[k:k + m] = a["v"]
    k += m
p.stdout.read()
p.wait()
uk, ui = np.unique(U, return_inverse=True)
ik, ii = np.unique(I, return_inverse=True)
del U, I
X = sp.csr_matrix((V, (ui.astype(np.int32), ii.astype(np.int32))), shape=(len(uk), len(ik)))
X.sum_duplicates()
del ui, ii, V
t1 = time.perf_counter()
print("loaded", flush=True)
if what == "als":
    from implicit.cpu.als import AlternatingLeastSquares
    m = AlternatingLeastSquares(factors=64, iterations=5, regularization=0.05, alpha=1.0,
                                use_cg=True, calculate_training_loss=False, num_threads=threads,
                                random_state=42)
    m.fit(X, show_progress=False)
    t2 = time.perf_counter()
    print("load=%.3f fit=%.3f total=%.3f nnz=%d" % (t1 - t0, t2 - t1, t2 - t0, X.nnz), flush=True)
    if len(sys.argv) > 5:
        sys.stdin.readline()  # the parent has taken the memory figures of load + fit
        # batch recommend: every user's top 10, items already seen filtered
        tb = time.perf_counter()
        ids, scores = m.recommend(np.arange(X.shape[0]), X, N=10, filter_already_liked_items=True)
        print("batch=%.3f" % (time.perf_counter() - tb), flush=True)
else:
    from implicit.nearest_neighbours import CosineRecommender
    m = CosineRecommender(K=20, num_threads=threads)
    m.fit(X, show_progress=False)
    t2 = time.perf_counter()
    print("load=%.3f fit=%.3f total=%.3f nnz=%d" % (t1 - t0, t2 - t1, t2 - t0, X.nnz), flush=True)
    sys.stdin.readline()  # alive until the parent has read its CPU figures
'''


def peer_run(what, threads, batch=False):
    """implicit load + fit in its own process; (seconds, VmHWM MB, peak RssAnon MB, CPU s,
    output line, batch recommend seconds or None)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS=str(threads))
    p = subprocess.Popen([sys.executable, "-c", PEER, what, str(threads), TABLE,
                          shutil.which("psql") or "psql"] +
                         (["batch"] if batch else []), env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    s = Sampler(p.pid)
    p.stdout.readline()
    # loaded: from here on the peak of the fit alone (the load's arrays are freed)
    s.peak = 0
    first = p.stdout.readline()
    # load + fit done: its memory figures, then (batch) let it go on
    hwm, _ = s.finish()
    anon, fit_anon = s.peak_all / 1024.0, s.peak / 1024.0
    try:
        cpu = cpu_seconds(p.pid, children=True)
    except OSError:
        cpu = float("nan")
    main_cpu[0] = main_thread_cpu(p.pid)
    out, err = p.communicate("go\n" if batch or what == "knn" else None)
    out = first + out
    if p.returncode != 0:
        raise RuntimeError("implicit peer failed: " + err[-2000:])
    lines = out.strip().splitlines()
    line = [x for x in lines if x.startswith("load=")][-1]
    fields = dict(kv.split("=") for kv in line.split())
    b = [float(x.split("=")[1]) for x in lines if x.startswith("batch=")]
    return float(fields["total"]), hwm, anon, cpu, line, b[0] if b else None, fit_anon


def corename(lib):
    import ctypes
    try:
        f = ctypes.CDLL(lib).openblas_get_corename
        f.restype = ctypes.c_char_p
        return f().decode()
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rows", type=int, default=5000000)
    ap.add_argument("--users", type=int, default=100000)
    ap.add_argument("--items", type=int, default=20000)
    ap.add_argument("--only", default="read,als,batch,knn")
    ap.add_argument("--phases", action="store_true",
                    help="print item_knn's phase timings (read, matrix, transpose, neighbours) per run")
    args = ap.parse_args()
    only = args.only.split(",")
    src = os.environ.get("IMPLICIT_SRC")
    if src and not os.path.isdir(os.path.join(src, "implicit")):
        sys.exit("IMPLICIT_SRC=%s has no implicit/ package" % src)

    conn = psycopg2.connect("")
    ensure_table(conn, args)
    cur = conn.cursor()
    cur.execute("SELECT pg_catalog.version()")
    print(cur.fetchone()[0].split(",")[0])
    conn.close()
    print("rows %d, users %d x items %d; reps %d (medians); CPU %d cores; load at start %s"
          % (args.rows, args.users, args.items, args.reps, os.cpu_count(),
             " ".join(open("/proc/loadavg").read().split()[:3])))
    print("OpenBLAS core (system libopenblas, linked by the extension): %s"
          % corename("libopenblas.so.0"))
    if src:
        code = ("import sys,ctypes;sys.path.insert(0,%r);import numpy,scipy,implicit,"
                "threadpoolctl as t;i=t.threadpool_info();"
                "print(implicit.__version__ if hasattr(implicit,'__version__') else '0.7.3',"
                "numpy.__version__,scipy.__version__,"
                "','.join('%%s:%%s'%%(x.get('internal_api'),x.get('architecture')) for x in i))" % src)
        print("implicit, numpy, scipy, BLAS (peer): %s"
              % subprocess.run([sys.executable, "-c", code], capture_output=True,
                               text=True).stdout.strip())
    print()

    tag = "rp_bench_read"
    results = {}

    def add(key, val):
        results.setdefault(key, []).append(val)
        mains.setdefault(key, []).append(main_cpu[0])
        print("  %-16s %7.2f s  cpu %6.2f s  main-thread cpu %6.2f s  HWM %5.0f MB  anon %5.0f MB"
              % ("%s/%s" % key, val[0], val[3], main_cpu[0], val[1], val[2]), flush=True)

    def train(method, extra=""):
        return ("SELECT name FROM recpromo.train('%s', '%s', 'u', 'i', 'v', method => '%s'%s)"
                % (tag, TABLE, method, extra))

    als = ", factors => 64, iterations => 5, regularization => 0.05, alpha => 1"
    for rep in range(args.reps):
        if "before" in only:
            # an older build installed (no recpromo.source_path): its reading, for the record
            add(("read", "before"), recpromo_run(train("popularity"), {}))
        if "read" in only:
            for path in ("auto", "spi"):
                add(("read", path), recpromo_run(train("popularity"),
                                                 {"recpromo.source_path": path}))
        if "als" in only:
            for t in (1, 2):
                if src:
                    add(("als-peer", t), peer_run("als", t, batch=("batch" in only and t == 1)))
                add(("als", t), recpromo_run(train("als", als), {"recpromo.max_threads": t},
                                             messages="warning"))
                if "batch" in only and t == 1:
                    add(("batch", 1), recpromo_run(
                        "SELECT count(*) FROM recpromo.recommend_all(10, '%s')" % tag,
                        {"recpromo.max_threads": 1}))
        if "knn" in only:
            for t in (1, 2):
                if src:
                    add(("knn-peer", t), peer_run("knn", t))
                add(("knn", t), recpromo_run(train("item_knn", ", neighbours => 20"),
                                             {"recpromo.max_threads": t},
                                             messages="debug2" if args.phases else "warning"))
        print("rep %d done, load %s" % (rep + 1, " ".join(open("/proc/loadavg").read().split()[:3])),
              flush=True)
        if "knn" in only and args.phases:
            for r in phase_lines[-2:]:
                print("    " + r)

    def med(key, i):
        return statistics.median(r[i] for r in results[key])

    print()
    print("%-34s %7s %7s %7s %7s | %-22s %7s %7s %7s %7s | %6s %6s %6s %6s"
          % ("measured", "s", "cpu s", "HWM MB", "anon MB", "against", "s", "cpu s", "HWM MB",
             "anon MB", "t", "cpu", "HWM", "anon"))

    def row(label, key, peer_label=None, pkey=None):
        if key not in results:
            return
        s, h, a, c = med(key, 0), med(key, 1), med(key, 2), med(key, 3)
        if pkey and pkey in results:
            ps, ph, pa, pc = med(pkey, 0), med(pkey, 1), med(pkey, 2), med(pkey, 3)
            print("%-34s %7.2f %7.2f %7.0f %7.0f | %-22s %7.2f %7.2f %7.0f %7.0f | %5.2fx %5.2fx %5.2fx %5.2fx"
                  % (label, s, c, h, a, peer_label, ps, pc, ph, pa, s / ps, c / pc, h / ph, a / pa))
        else:
            print("%-34s %7.2f %7.2f %7.0f %7.0f | %-22s" % (label, s, c, h, a, peer_label or "-"))

    row("read 5M rows, the installed build", ("read", "before"))
    if ("read", "auto") in results:
        row("read 5M rows, fast path (auto)", ("read", "auto"), "SPI path (before)", ("read", "spi"))
        row("read 5M rows, SPI path", ("read", "spi"))
    row("ALS 5 it. end to end, 1 thread", ("als", 1), "implicit load+fit", ("als-peer", 1))
    row("ALS 5 it. end to end, 2 threads", ("als", 2), "implicit load+fit", ("als-peer", 2))
    row("item_knn K=20 end to end, 1 thr.", ("knn", 1), "implicit Cosine l+fit", ("knn-peer", 1))
    row("item_knn K=20 end to end, 2 thr.", ("knn", 2), "implicit Cosine l+fit", ("knn-peer", 2))
    # per-pair ratios (each repetition runs the two sides back to back), their medians
    for label, key, pkey in (("ALS 1 thread", ("als", 1), ("als-peer", 1)),
                             ("ALS 2 threads", ("als", 2), ("als-peer", 2)),
                             ("item_knn 1 thread", ("knn", 1), ("knn-peer", 1)),
                             ("item_knn 2 threads", ("knn", 2), ("knn-peer", 2))):
        if key in results and pkey in results:
            pairs = list(zip(results[key], results[pkey]))
            wall = [a[0] / b[0] for a, b in pairs]
            cpu = [a[3] / b[3] for a, b in pairs]
            mcpu = [a / b for a, b in zip(mains[key], mains[pkey])]
            print("%-20s pairs: wall %s (median %.2fx); cpu %s (median %.2fx); main-thread cpu %s (median %.2fx)"
                  % (label, " ".join("%.2f" % x for x in wall), statistics.median(wall),
                     " ".join("%.2f" % x for x in cpu), statistics.median(cpu),
                     " ".join("%.2f" % x for x in mcpu), statistics.median(mcpu)))
    if ("batch", 1) in results:
        bs = [r[5] for r in results.get(("als-peer", 1), []) if r[5] is not None]
        print("%-34s %7.2f %7.2f %7.0f %7.0f | %-22s %7s"
              % ("recommend_all(10), 1 thread", med(("batch", 1), 0), med(("batch", 1), 3),
                 med(("batch", 1), 1), med(("batch", 1), 2), "implicit recommend",
                 "%.2f" % statistics.median(bs) if bs else "-"))
    for key in (("als-peer", 1), ("als-peer", 2), ("knn-peer", 1), ("knn-peer", 2)):
        if key in results:
            print("peer %s %d thread(s): peak RssAnon of the fit alone (after the load) %.0f MB"
                  % (key[0], key[1], med(key, 6)))
            print("peer %s %d thread(s), last run: %s" % (key[0], key[1], results[key][-1][4]))
    for key in (("read", "before"), ("read", "auto"), ("read", "spi")):
        for r in results.get(key, []):
            print("%s path: %s" % (key[1], r[4]))
    print("load at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    c = psycopg2.connect("")
    c.autocommit = True
    c.cursor().execute("SELECT recpromo.drop_model('%s', true)" % tag)
    c.close()


if __name__ == "__main__":
    main()
