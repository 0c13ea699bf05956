#!/usr/bin/python3
"""Corruption fuzzer: no stored byte of a model crashes the server.

Trains one small model of every method (popularity, user_knn, item_knn, als,
als_explicit, ease, content, hybrid, factors, session_knn, sparse_ease, slist; user_knn and als_explicit on
text keys, so the text-key dictionaries are fuzzed too), then for every part
of every model and every corruption

    fill00, fill7f, fillff   the part's bytes all set to 0x00 / 0x7f / 0xff
    flip1..flip3             one byte (position and mask from a fixed seed)
    truncate                 the first half of the part only
    append                   eight more bytes
    swap                     the data of the part and of the next part

writes the corrupted bytes into recpromo.model_part.data and serves the model
through every serving function (recommend for a known, a folded-in and an
unknown user, recommend_for_items, recommend_for_session, similar_items, similar_users, predict,
explain_recommendation, recommend_all, evaluate).  When model_part has a
`checksum` column (CRC-32C of the chunk's data), a second pass recomputes it
after the corruption, so that the structural checks are reached and not only
the checksum (the raw pass then uses only fillff, flip1, truncate and swap,
which the checksum alone must catch).  Last, for each model, a few
corruptions of its catalog row (sizes, stored hyper-parameters that size
arrays) are served the same way.

Each case runs in one transaction that is rolled back afterwards (which
restores the part).  Inside it the model's id is moved to a fresh value, as
a retraining would, so the backend's model cache loads the corrupted model
instead of serving its cached copy; every serving call runs under a
savepoint.  A case passes when the backend survives (same pg_backend_pid(),
same postmaster start time), no NaN is served, and every error has SQLSTATE
XX001 (data_corrupted, with a message naming the model) or class 22 (data
exception); 0A000 is accepted only for a function the method does not offer
(UNSUPPORTED below).  The clean models must serve without any other error,
before and after the fuzzing.

Runs inside the test cluster (libpq variables set).  Prints the counts and
"N passed, N failed"; exits non-zero on a failure.  Options: --quick (one
fill pattern and one flip), --flips N (N flips per part instead of 3: a
longer search), --verbose (every failing call).
"""
import os
import random
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, connect, crc32c_int4, finish  # noqa: E402

T0 = time.time()
VERBOSE = "--verbose" in sys.argv
QUICK = "--quick" in sys.argv
DB = "rp_corruption"

# method -> serving functions it does not offer (0A000 is expected there)
UNSUPPORTED = {
    "popularity": {"similar_items", "similar_users", "explain"},
    "user_knn": set(),
    "item_knn": {"similar_users"},
    "als": set(),
    "als_explicit": set(),
    "ease": {"similar_users"},
    "content": {"similar_users"},
    "hybrid": {"similar_users"},
    "factors": set(),
    "session_knn": {"similar_items", "similar_users", "explain"},
    "sparse_ease": {"similar_users"},
    "slist": {"similar_users"},
}

# --flips N: N random byte flips per part (default 3; each from its own fixed seed)
FLIPS = int(sys.argv[sys.argv.index("--flips") + 1]) if "--flips" in sys.argv else 3
CORRUPTIONS = ["fill00", "fill7f", "fillff"] + [f"flip{k}" for k in range(1, FLIPS + 1)] + \
    ["truncate", "append", "swap"]
if QUICK:
    CORRUPTIONS = ["fillff", "flip1", "truncate", "swap"]


# ---------- setup ----------

admin = connect(os.environ.get("PGDATABASE", "postgres"))
admin.cursor().execute(f"DROP DATABASE IF EXISTS {DB}")
admin.cursor().execute(f"CREATE DATABASE {DB}")
admin.close()

conn = connect(DB)
cur = conn.cursor()
cur.execute("SET client_min_messages = warning")
cur.execute("CREATE EXTENSION recpromo")
cur.execute("""CREATE TABLE ri AS
    SELECT u AS user_id, i AS item_id, (1 + abs(hashint4(u * 100 + i)) % 5)::float8 AS rating
    FROM generate_series(1, 40) u, generate_series(1, 24) i
    WHERE abs(hashint4(u * 7919 + i)) % 4 = 0""")
cur.execute("""CREATE TABLE rt AS
    SELECT 'u' || user_id AS user_id, 'i' || item_id AS item_id, rating FROM ri""")
cur.execute("""CREATE TABLE attrs AS
    SELECT i AS item_id, 'cat' || (i % 4) AS category,
           ARRAY['t' || (i % 3), 't' || (i % 5)] AS tags, (i * 7 % 13)::numeric AS price
    FROM generate_series(1, 28) i""")
cur.execute("""CREATE TABLE user_emb AS
    SELECT u AS id, ARRAY[sin(u), cos(u), sin(2 * u)]::float8[] AS factors
    FROM generate_series(1, 40) u""")
cur.execute("""CREATE TABLE item_emb AS
    SELECT i AS id, ARRAY[cos(i), sin(i), cos(3 * i)]::float8[] AS factors
    FROM generate_series(1, 24) i""")
cur.execute("CREATE TABLE rs AS SELECT user_id, item_id, rating, item_id * 10 + user_id AS t FROM ri")
cur.execute("CREATE TABLE test_i AS SELECT user_id, item_id + 1 AS item_id, rating FROM ri WHERE user_id % 5 = 0")
cur.execute("CREATE TABLE test_t AS SELECT 'u' || user_id AS user_id, 'i' || item_id AS item_id, rating FROM test_i")

# name, method, source, rating column, extra SQL arguments
MODELS = [
    ("m_pop", "popularity", "ri", "rating", ""),
    ("m_uk", "user_knn", "rt", "rating", ", params => '{\"neighbours\": 5}'"),
    ("m_ik", "item_knn", "ri", "rating", ", params => '{\"neighbours\": 5}'"),
    ("m_als", "als", "ri", "rating", ", factors => 4, iterations => 3"),
    ("m_alsx", "als_explicit", "rt", "rating", ", factors => 4, iterations => 3"),
    ("m_ease", "ease", "ri", "rating", ""),
    ("m_ct", "content", "ri", None, None),
    ("m_hy", "hybrid", None, None, None),
    ("m_fx", "factors", "ri", "rating",
     ", params => '{\"user_factors\": \"user_emb\", \"item_factors\": \"item_emb\"}'"),
    ("m_sk", "session_knn", "rs", None, None),
    ("m_se", "sparse_ease", "ri", "rating", ", params => '{\"neighbours\": 5, \"lambda\": 10}'"),
    ("m_sl", "slist", "rs", None, None),
]
for name, method, src, rcol, extra in MODELS:
    if method == "content":
        cur.execute(f"""SELECT 1 FROM recpromo.train_content('{name}', 'ri', 'user_id', 'item_id',
                        'attrs', ARRAY['category', 'tags', 'price'])""")
    elif method == "hybrid":
        cur.execute(f"SELECT 1 FROM recpromo.train_hybrid('{name}', 'm_ik', 'm_ct', 0.5, 3)")
    elif method == "session_knn":
        cur.execute(f"SELECT 1 FROM recpromo.train_session('{name}', 'rs', 'user_id', 'item_id', 't', 5, 20)")
    elif method == "slist":
        cur.execute(f"""SELECT 1 FROM recpromo.train('{name}', 'rs', 'user_id', 'item_id', method => 'slist',
                        params => '{{"time_col": "t"}}')""")
    else:
        cur.execute(f"""SELECT 1 FROM recpromo.train('{name}', '{src}', 'user_id', 'item_id', '{rcol}',
                        method => '{method}'{extra})""")
# users new to every model (folded in from the live table)
cur.execute("INSERT INTO ri VALUES (1000, 1, 3), (1000, 2, 1), (1000, 5, 2)")
cur.execute("INSERT INTO rs VALUES (1000, 1, 3, 1), (1000, 2, 1, 2), (1000, 5, 2, 3)")
cur.execute("INSERT INTO rt VALUES ('unew', 'i1', 3), ('unew', 'i2', 1), ('unew', 'i5', 2)")

cur.execute("""SELECT 1 FROM pg_attribute WHERE attrelid = 'recpromo.model_part'::regclass
               AND attname = 'checksum' AND NOT attisdropped""")
HAS_CHECKSUM = cur.fetchone() is not None
setup_time = time.time() - T0


def calls(name, method):
    """(function, SQL) pairs serving the model through every entry point."""
    text = method in ("user_knn", "als_explicit")
    if text:
        u, unew, unone, i1, i2, cast = "'u5'", "'unew'", "'nobody'", "'i3'", "'i7'", "::text"
        rall = f"recpromo.recommend_all(NULL::text, NULL::text, 3, model => '{name}')"
        test = "test_t"
    else:
        u, unew, unone, i1, i2, cast = "5", "1000", "99999", "3", "7", "::bigint"
        rall = f"recpromo.recommend_all(3, model => '{name}')"
        test = "test_i"
    m = f"model => '{name}'"
    return [
        ("recommend", f"SELECT item, score FROM recpromo.recommend({u}{cast}, 5, {m})"),
        ("recommend", f"SELECT item, score FROM recpromo.recommend({unew}{cast}, 5, {m})"),
        ("recommend", f"SELECT item, score FROM recpromo.recommend({unone}{cast}, 5, {m})"),
        ("recommend", f"SELECT item, score FROM recpromo.recommend({u}{cast}, 30, {m}, exclude_seen => false)"),
        ("recommend_for_items",
         f"SELECT item, score FROM recpromo.recommend_for_items(ARRAY[{i1}{cast}, {i2}{cast}], 5, {m})"),
        ("recommend_for_session",
         f"SELECT item, score FROM recpromo.recommend_for_session(ARRAY[{i2}{cast}, {i1}{cast}, {i2}{cast}], 5, {m})"),
        ("similar_items", f"SELECT item, similarity FROM recpromo.similar_items({i1}{cast}, 5, {m})"),
        ("similar_users", f"SELECT neighbour, similarity FROM recpromo.similar_users({u}{cast}, 5, {m})"),
        ("similar_users", f"SELECT neighbour, similarity FROM recpromo.similar_users({unew}{cast}, 5, {m})"),
        ("predict", f"SELECT recpromo.predict({u}{cast}, {i1}{cast}, {m})"),
        ("predict", f"SELECT recpromo.predict({unew}{cast}, {i2}{cast}, {m})"),
        ("explain", f"SELECT history_item, contribution FROM recpromo.explain_recommendation({u}{cast}, {i1}{cast}, {m})"),
        ("explain", f"SELECT history_item, contribution FROM recpromo.explain_recommendation({unew}{cast}, {i2}{cast}, {m})"),
        ("recommend_all", f"SELECT count(*), sum(score) FROM {rall}"),
        ("evaluate", f"SELECT users_evaluated, ndcg_at_k FROM recpromo.evaluate('{name}', '{test}', k => 3)"),
    ]


def state(c):
    k = c.cursor()
    k.execute("SELECT pg_backend_pid(), pg_postmaster_start_time()")
    return k.fetchone()


def serve(c, name, method, expect_clean=False):
    """Runs every call under a savepoint; returns (sqlstates, bad, crashed, nan)."""
    k = c.cursor()
    states = []
    bad = []
    nan = 0
    for fn, sql in calls(name, method):
        k.execute("SAVEPOINT s")
        try:
            k.execute(sql)
            try:
                rows = k.fetchall()
            except UnicodeDecodeError as e:
                # the server sent text that is not valid in its encoding
                bad.append((fn, sql, "invalid text returned: " + str(e)))
                states.append("badtext")
                k.execute("ROLLBACK TO SAVEPOINT s")
                continue
            for row in rows:
                for v in row:
                    if isinstance(v, float) and v != v:
                        nan += 1
            k.execute("RELEASE SAVEPOINT s")
            states.append(None)
        except psycopg2.Error as e:
            if c.closed or isinstance(e, (psycopg2.OperationalError, psycopg2.InterfaceError)) \
                    and e.pgcode is None:
                return states, bad + [(fn, sql, "connection lost: " + str(e).strip())], True, nan
            code = e.pgcode or "?????"
            states.append(code)
            ok = (code == "XX001" or code.startswith("22")) and not expect_clean
            # a corruption error names the model (and says what is wrong)
            msg = e.pgerror or ""
            if code == "XX001" and (f'model "{name}"' not in msg or "(null)" in msg):
                ok = False
            if code == "0A000" and fn in UNSUPPORTED[method]:
                ok = True
            if not ok:
                bad.append((fn, sql, f"{code}: {e.pgerror.strip() if e.pgerror else e}"))
            k.execute("ROLLBACK TO SAVEPOINT s")
    return states, bad, False, nan


def wait_for_server():
    for _ in range(300):
        try:
            c = connect(DB, autocommit=False)
            return c
        except psycopg2.OperationalError:
            time.sleep(0.2)
    print("server did not come back")
    sys.exit(2)


conn.close()
conn = connect(DB, autocommit=False)
cur = conn.cursor()

# the clean models serve without error (0A000 only where unsupported)
methods = {}
for name, method, *_ in MODELS:
    methods[name] = method
    _, bad, crashed, _ = serve(conn, name, method, expect_clean=True)
    check(f"clean model {name} ({method}) serves", not bad and not crashed, bad)
conn.rollback()

# the parts of each model
parts = {}
for name, _m, *_ in MODELS:
    cur.execute("""SELECT p.part, p.seq, p.data FROM recpromo.model_part p
                   JOIN recpromo.model m ON m.id = p.model_id
                   WHERE m.name = %s ORDER BY p.part, p.seq""", (name,))
    parts[name] = [(r[0], r[1], bytes(r[2])) for r in cur.fetchall()]
conn.rollback()


def corrupt(kind, data, other, rnd):
    if kind.startswith("fill"):
        return bytes([int(kind[4:], 16)]) * len(data)
    if kind.startswith("flip"):
        if not data:
            return None
        b = bytearray(data)
        pos = rnd.randrange(len(b))
        b[pos] ^= rnd.randrange(1, 256)
        return bytes(b)
    if kind == "truncate":
        return data[: len(data) // 2] if data else None
    if kind == "append":
        return data + b"\x01\x02\x03\x04\x05\x06\x07\x08"
    if kind == "swap":
        return other
    raise ValueError(kind)


modes = ["raw"] + (["checksum"] if HAS_CHECKSUM else [])
new_id = 10 ** 12
cases = 0
skipped = 0
crashes = 0
bad_cases = 0
calls_total = 0
code_counts = {}
nan_cases = []
hit_parts = {}
ids0 = state(conn)

for mode in modes:
    for name, method, *_ in MODELS:
        plist = parts[name]
        for pi, (part, seq, data) in enumerate(plist):
            partner = plist[(pi + 1) % len(plist)]
            # with checksums, raw corruptions only reach the CRC check: a few
            # suffice there, the structural checks get the full set
            kinds = CORRUPTIONS if mode == "checksum" or not HAS_CHECKSUM else \
                [k for k in CORRUPTIONS if k in ("fillff", "flip1", "truncate", "swap")]
            for kind in kinds:
                rnd = random.Random(f"{name}/{part}/{seq}/{kind}")
                if kind == "swap":
                    if len(plist) < 2 or partner[2] == data:
                        skipped += 1
                        continue
                    newdata = corrupt(kind, data, partner[2], rnd)
                else:
                    newdata = corrupt(kind, data, None, rnd)
                if newdata is None or newdata == data:
                    skipped += 1
                    continue
                cases += 1
                new_id += 1
                try:
                    cur.execute("SELECT id FROM recpromo.model WHERE name = %s", (name,))
                    old_id = cur.fetchone()[0]
                    cur.execute("UPDATE recpromo.model_part SET data = %s WHERE model_id = %s AND part = %s AND seq = %s",
                                (psycopg2.Binary(newdata), old_id, part, seq))
                    if kind == "swap":
                        cur.execute("UPDATE recpromo.model_part SET data = %s WHERE model_id = %s AND part = %s AND seq = %s",
                                    (psycopg2.Binary(data), old_id, partner[0], partner[1]))
                    if mode == "checksum":
                        for p, s, d in ((part, seq, newdata), (partner[0], partner[1], data)):
                            if p == part or kind == "swap":
                                cur.execute("UPDATE recpromo.model_part SET checksum = %s WHERE model_id = %s AND part = %s AND seq = %s",
                                            (crc32c_int4(d), old_id, p, s))
                    # a fresh id, as a retraining gives: the cache reloads
                    # (replica role: no foreign key or trigger fires on the move)
                    cur.execute("SET LOCAL session_replication_role = replica")
                    cur.execute("UPDATE recpromo.model SET id = %s WHERE name = %s", (new_id, name))
                    cur.execute("UPDATE recpromo.model_part SET model_id = %s WHERE model_id = %s", (new_id, old_id))
                    cur.execute("SET LOCAL session_replication_role = origin")
                    states, bad, crashed, nan = serve(conn, name, method)
                except psycopg2.Error as e:
                    states, bad, crashed, nan = [], [("setup", "", str(e))], conn.closed != 0, 0
                calls_total += len(states)
                for s in states:
                    code_counts[s or "ok"] = code_counts.get(s or "ok", 0) + 1
                label = f"{mode} {name} ({method}) part \"{part}\" {kind}"
                if nan:
                    # a corrupted model must be refused, not serve NaN scores
                    nan_cases.append(f"{mode}/{name}/{part}/{kind}")
                    bad.append(("any", "", f"{nan} NaN values served without an error"))
                if crashed:
                    crashes += 1
                    hit_parts.setdefault(f"{method}:{part}", []).append(kind)
                    check(label + ": backend survives", False, bad[-1][2] if bad else "")
                    try:
                        conn.close()
                    except Exception:
                        pass
                    time.sleep(0.5)
                    conn = wait_for_server()
                    cur = conn.cursor()
                    ids0 = state(conn)
                    conn.rollback()
                    continue
                try:
                    after = state(conn)
                    conn.rollback()  # restores the part, its checksum and the id
                except psycopg2.Error:
                    after = None
                if after is None or after[0] != ids0[0] or after[1] != ids0[1]:
                    crashes += 1
                    check(label + ": backend survives", False, "pid or postmaster start time changed")
                    conn = wait_for_server()
                    cur = conn.cursor()
                    ids0 = state(conn)
                    conn.rollback()
                    continue
                if bad:
                    bad_cases += 1
                    hit_parts.setdefault(f"{method}:{part}", []).append(kind)
                    if VERBOSE or bad_cases <= 15:
                        for fn, sql, msg in bad[:3]:
                            print(f"  {label}: {fn}: {msg}")
                check(label, not bad, "" if not bad else f"{len(bad)} calls with a wrong SQLSTATE")

# corruptions of the catalog row: sizes and stored hyper-parameters
ROW_CASES = [("n_users + 1", "n_users = n_users + 1"), ("n_items = -1", "n_items = -1"),
             ("nnz + 1", "nnz = nnz + 1")]
PARAM_CASES = {
    "user_knn": ['{"neighbours": 0}', '{"bm25_b": 7}'],
    "als": ['{"factors": 1000000}', '{"factors": 3}'],
    "als_explicit": ['{"factors": 0}', '{"factors": 5}'],
    "content": ['{"n_tokens": 2000000000}', '{"n_tokens": -1}'],
    "hybrid": ['{"weight": 2}', '{"models": ["m_hy", "m_ct"]}', '{"models": 7}'],
    "factors": ['{"regularization": -1}'],
    "session_knn": ['{"neighbours": 0}', '{"sample_size": -5}'],
    "sparse_ease": ['{"neighbours": 0}', '{"lambda": -1}'],
    "slist": ['{"alpha": 5}', '{"pos_decay": 0}'],
}
for name, method, *_ in MODELS:
    changes = list(ROW_CASES) + [(f"params {p}", f"params = params || '{p}'::jsonb")
                                 for p in PARAM_CASES.get(method, [])]
    for label, change in changes:
        cases += 1
        new_id += 1
        label = f"row {name} ({method}) {label}"
        try:
            cur.execute("SELECT id FROM recpromo.model WHERE name = %s", (name,))
            old_id = cur.fetchone()[0]
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute(f"UPDATE recpromo.model SET id = %s, {change} WHERE name = %s", (new_id, name))
            cur.execute("UPDATE recpromo.model_part SET model_id = %s WHERE model_id = %s", (new_id, old_id))
            cur.execute("SET LOCAL session_replication_role = origin")
        except psycopg2.Error as e:
            conn.rollback()
            skipped += 1
            print(f"  {label}: skipped ({e.pgcode})")
            continue
        states, bad, crashed, nan = serve(conn, name, method)
        calls_total += len(states)
        for st in states:
            code_counts[st or "ok"] = code_counts.get(st or "ok", 0) + 1
        if nan:
            bad.append(("any", "", f"{nan} NaN values served without an error"))
        if crashed:
            crashes += 1
            check(label + ": backend survives", False, bad[-1][2] if bad else "")
            conn = wait_for_server()
            cur = conn.cursor()
            ids0 = state(conn)
            conn.rollback()
            continue
        after = state(conn)
        conn.rollback()
        check(label + ": backend survives", after == ids0)
        if bad:
            bad_cases += 1
            for fn, sql, msg in bad[:3]:
                print(f"  {label}: {fn}: {msg}")
        check(label, not bad, "" if not bad else f"{len(bad)} calls with a wrong SQLSTATE")

# the models are intact afterwards
for name, method, *_ in MODELS:
    _, bad, crashed, _ = serve(conn, name, method, expect_clean=True)
    check(f"model {name} serves again after the fuzzing", not bad and not crashed, bad)
conn.rollback()
conn.close()

elapsed = time.time() - T0
print(f"checksum column: {'yes' if HAS_CHECKSUM else 'no'}; modes: {', '.join(modes)}")
print(f"models: {len(MODELS)}, parts: {sum(len(p) for p in parts.values())}, "
      f"cases: {cases} (skipped no-op: {skipped}), serving calls: {calls_total}")
print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(code_counts.items())))
print(f"crashes: {crashes}, cases with a wrong SQLSTATE: {bad_cases}")
if hit_parts:
    print("parts hit: " + "; ".join(f"{k} [{','.join(sorted(set(v)))}]" for k, v in sorted(hit_parts.items())))
if nan_cases:
    print(f"cases that served a NaN without error: {len(nan_cases)} (e.g. {', '.join(nan_cases[:5])})")
print(f"time: setup {setup_time:.1f} s, total {elapsed:.1f} s")
finish()
