#!/usr/bin/python3
"""Numpy reference of the session scorer (V-SKNN) and of evaluate_sessions.

Runs inside a test cluster (libpq variables set) with the extension
installable.  Generates past sessions (session, item, time) with a fixed
seed, trains session_knn with small neighbours and sample_size (so that both
cuts bite), and for random ordered sessions (repeats and unknown items
included) recomputes here, from the raw rows, what recommend_for_session
must return:

    weights: the item at position p of the L known items weighs p / L, a
             repeated item keeps its latest position;
    candidates: past sessions sharing an item; more than sample_size: the
             most recent ones (a session's time is its last event; ties by
             the lower session key);
    sim(s, n) = sum of the weights of s's items that n contains;
    neighbours: the `neighbours` most similar (ties: more recent, lower key);
    score(j) = sum of sim over the neighbours that contain j.

Every item's score must agree to 1e-9 (n = all items, exclude_input =>
false).  evaluate_sessions' hit rate and MRR at 5 are recomputed from these
scores for held-out sessions (ties ranked by the lower item key).
Prints "N passed, N failed" last and exits non-zero on any failure.
"""
import os
import sys

import numpy as np
import psycopg2

TOL = 1e-9
DB = "rp_session_ref"
passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def connect(db):
    c = psycopg2.connect(dbname=db)
    c.autocommit = True
    return c


admin = connect(os.environ.get("PGDATABASE", "postgres"))
admin.cursor().execute(f"DROP DATABASE IF EXISTS {DB}")
admin.cursor().execute(f"CREATE DATABASE {DB}")
admin.close()
conn = connect(DB)
cur = conn.cursor()
cur.execute("SET client_min_messages = warning")
cur.execute("CREATE EXTENSION recpromo")

rng = np.random.default_rng(16)
N_SESS, N_ITEMS = 60, 30
rows = []
for s in range(1, N_SESS + 1):
    length = int(rng.integers(2, 7))
    # items cluster by session group, so neighbourhoods differ
    base = (s % 5) * 6
    for p in range(length):
        item = int(base + rng.integers(0, 8)) % N_ITEMS + 1
        rows.append((s, item, s * 100 + p))
cur.execute("CREATE TABLE past (sess int, item int, t int)")
cur.executemany("INSERT INTO past VALUES (%s, %s, %s)", rows)
NEIGHBOURS, SAMPLE = 7, 15
cur.execute("SELECT 1 FROM recpromo.train_session('sk', 'past', 'sess', 'item', 't', %s, %s)",
            (NEIGHBOURS, SAMPLE))

sessions = {}
last_time = {}
for s, i, t in rows:
    sessions.setdefault(s, set()).add(i)
    last_time[s] = max(last_time.get(s, -1), t)
items_known = sorted({i for _, i, _ in rows})
sess_keys = sorted(sessions)
sess_index = {s: k for k, s in enumerate(sess_keys)}


def reference(seq):
    known = [i for i in seq if i in set(items_known)]
    L = len(known)
    w = {}
    for p, i in enumerate(known, start=1):
        w[i] = p / L
    hist = sorted(w)
    sim = {}
    for i in hist:                      # the C order: items ascending
        for s in sess_keys:
            if i in sessions[s]:
                sim[s] = sim.get(s, 0.0) + w[i]
    cand = list(sim)
    if len(cand) > SAMPLE:
        cand.sort(key=lambda s: (-last_time[s], sess_index[s]))
        cand = cand[:SAMPLE]
    cand.sort(key=lambda s: (-sim[s], -last_time[s], sess_index[s]))
    scores = {j: 0.0 for j in items_known}
    for s in cand[:NEIGHBOURS]:
        for j in sessions[s]:
            scores[j] += sim[s]
    return scores


def served(seq):
    cur.execute("SELECT item, score FROM recpromo.recommend_for_session(%s::int[], %s, model => 'sk', "
                "exclude_input => false)", (seq, len(items_known)))
    return dict(cur.fetchall())


for case in range(40):
    L = int(rng.integers(1, 8))
    seq = [int(x) for x in rng.integers(1, N_ITEMS + 4, size=L)]   # some unknown (> 30 absent)
    if case % 7 == 0 and L > 1:
        seq[-1] = seq[0]                                         # a repeat
    ref = reference(seq)
    got = served(seq)
    if not any(i in set(items_known) for i in seq):
        continue                                                 # popularity list, not V-SKNN
    ok = set(got) == set(ref) and all(abs(got[j] - ref[j]) <= TOL * max(1.0, abs(ref[j])) for j in ref)
    check(f"session {seq}", ok, f"got {got} want {ref}")

# evaluate_sessions against the reference scores
test_rows = []
for s in range(1000, 1030):
    length = int(rng.integers(1, 6))
    base = (s % 5) * 6
    for p in range(length):
        test_rows.append((s, int(base + rng.integers(0, 8)) % N_ITEMS + 1, p))
cur.execute("CREATE TABLE fresh (sess int, item int, t int)")
cur.executemany("INSERT INTO fresh VALUES (%s, %s, %s)", test_rows)
by_sess = {}
for s, i, t in sorted(test_rows, key=lambda r: (r[0], r[2], r[1])):
    by_sess.setdefault(s, []).append(i)
K = 5
hits, rrs, skipped = [], [], 0
pop = {j: float(sum(1 for s in sessions if j in sessions[s])) for j in items_known}
for s, seq in sorted(by_sess.items()):
    if len(seq) < 2:
        skipped += 1
        continue
    prefix, target = seq[:-1], seq[-1]
    sc = reference(prefix) if any(i in set(items_known) for i in prefix) else pop
    order = sorted(items_known, key=lambda j: (-sc[j], j))[:K]
    hits.append(1.0 if target in order else 0.0)
    rrs.append(1.0 / (order.index(target) + 1) if target in order else 0.0)
cur.execute("SELECT sessions_evaluated, sessions_skipped, hit_rate, mrr FROM "
            "recpromo.evaluate_sessions('sk', 'fresh', 'sess', 'item', 't', k => %s)", (K,))
ev, sk, hr, mrr = cur.fetchone()
check("evaluate_sessions counts", ev == len(hits) and sk == skipped, f"{ev} {sk} vs {len(hits)} {skipped}")
check("evaluate_sessions hit rate", abs(hr - np.mean(hits)) <= TOL, f"{hr} vs {np.mean(hits)}")
check("evaluate_sessions mrr", abs(mrr - np.mean(rrs)) <= TOL, f"{mrr} vs {np.mean(rrs)}")

conn.close()
admin = connect(os.environ.get("PGDATABASE", "postgres"))
admin.cursor().execute(f"DROP DATABASE IF EXISTS {DB}")
admin.close()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
