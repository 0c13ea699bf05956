#!/usr/bin/python3
"""ALS storage precision: user factor rows stored as float32 ("als_user_f4").

Since 0.5.0 train() and forget_user/forget_item store the ALS user rows as
float32 (n_users x dim x 4 bytes, part "als_user_f4"); the item rows stay
float64 ("als_item"); models saved by 0.4.0 and earlier hold the user rows
as float64 ("als_user") and keep serving from it.  Checks, for als and
als_explicit:

1. the parts' sizes, and no float64 user part;
2. the served scores are the stored floats, widened, times the item rows
   (numpy, to 1e-12): nothing rounds twice, nothing stays in double;
3. a model in the 0.4.0 layout (the same rows as "als_user" float64, with
   their checksum) serves exactly the same scores; forget_user rewrites it
   in the new layout (float32 only, the kept rows unchanged);
4. a tampered "als_user_f4" (NaN, an infinity, a float beyond the factor
   bound, a wrong length, a length that is not whole floats, the float64
   part left beside it, a changed constant column of als_explicit; every
   checksum recomputed so that the structural checks are what catches it)
   is refused by recommend, similar_users and forget_user with XX001 naming
   the part, never served.

Runs inside the test cluster (libpq variables set).  Prints "N passed, N
failed"; exits non-zero on a failure.
"""
import os
import struct
import sys

import numpy as np
import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, crc32c_int4, fresh_database, finish  # noqa: E402

DB = "rp_als_storage"
admin, conn = fresh_database(DB)
cur = conn.cursor()
cur.execute("SET recpromo.erasure_secret = 'als-storage-test'")


def q(sql, args=()):
    cur.execute(sql, args)
    try:
        return cur.fetchall()
    except psycopg2.ProgrammingError:
        return None


rng = np.random.default_rng(14)
rows = []
for u in range(1, 61):
    for i in np.unique(rng.integers(1, 31, size=int(rng.integers(4, 14)))):
        rows.append((u, int(i), float(rng.integers(1, 6))))
q("CREATE TABLE buys (cust bigint, item bigint, qty float8)")
q("INSERT INTO buys VALUES " + ",".join(f"({u},{i},{v})" for u, i, v in rows))
q("CREATE INDEX ON buys (cust)")
USERS = sorted(set(u for u, _, _ in rows))
ITEMS = sorted(set(i for _, i, _ in rows))
MODELS = {"st": ("als", 6, 6), "stx": ("als_explicit", 5, 7), "so": ("als", 6, 6)}   # method, factors, dim
for name, (method, k, _) in MODELS.items():
    q("SELECT name FROM recpromo.train(%s, 'buys', 'cust', 'item', 'qty', %s, factors => %s, "
      "iterations => 4, seed => 5)", (name, method, k))


def parts(name):
    return {p: bytes(d) for p, d in q(
        "SELECT p.part, string_agg(p.data, ''::bytea ORDER BY p.seq) FROM recpromo.model_part p "
        "JOIN recpromo.model m ON m.id = p.model_id WHERE m.name = %s GROUP BY p.part", (name,))}


def scores(name, users=USERS[::5]):
    return [(u, q("SELECT item, score FROM recpromo.recommend(%s::bigint, %s, model => %s, exclude_seen => false) "
                  "ORDER BY rank", (u, len(ITEMS), name))) for u in users]


# ---------------------------------------------------------------------------
# 1. sizes
for name, (method, k, dim) in MODELS.items():
    p = parts(name)
    check(f"{name} ({method}): als_user_f4 holds n_users x dim float32",
          len(p.get("als_user_f4", b"")) == len(USERS) * dim * 4, str({a: len(b) for a, b in p.items()}))
    check(f"{name}: als_item holds n_items x dim float64", len(p["als_item"]) == len(ITEMS) * dim * 8)
    check(f"{name}: no float64 user part", "als_user" not in p)

# ---------------------------------------------------------------------------
# 2. what is served is the stored floats, widened
for name in ("st", "stx"):
    method, k, dim = MODELS[name]
    p = parts(name)
    U = np.frombuffer(p["als_user_f4"], dtype=np.float32).astype(np.float64).reshape(-1, dim)
    V = np.frombuffer(p["als_item"], dtype=np.float64).reshape(-1, dim)
    mu = np.frombuffer(p["als_mean"], dtype=np.float64)[0]
    worst = 0.0
    for u, lst in scores(name):
        ref = mu + V @ U[USERS.index(u)]
        for item, s in lst:
            worst = max(worst, abs(s - ref[ITEMS.index(item)]) / max(1.0, abs(ref[ITEMS.index(item)])))
    check(f"{name}: served scores = mean + V . widened float32 user row (1e-12)", worst < 1e-12, f"{worst:.3g}")

# ---------------------------------------------------------------------------
# 3. the 0.4.0 layout: the same rows as float64 "als_user"


moves = [100000]


def move_id(name):
    """A fresh id, as a retraining gives: no cache (the backend's, the shared
    one) holds the model under it, so it is loaded from the parts.  Never
    the same id twice, even in rolled-back transactions (a cached model of
    an earlier case would be served)."""
    moves[0] += 1
    q("SET LOCAL session_replication_role = replica")
    old = q("SELECT id FROM recpromo.model WHERE name = %s", (name,))[0][0]
    q("UPDATE recpromo.model SET id = %s WHERE name = %s", (old + moves[0], name))
    q("UPDATE recpromo.model_part SET model_id = %s WHERE model_id = %s", (old + moves[0], old))
    q("SET LOCAL session_replication_role = origin")


def put_part(name, part, data):
    """Replaces (or adds) part `part` of model `name` by one chunk of data."""
    q("DELETE FROM recpromo.model_part p USING recpromo.model m WHERE m.id = p.model_id AND m.name = %s "
      "AND p.part = %s", (name, part))
    q("INSERT INTO recpromo.model_part (model_id, part, seq, data, checksum, version) "
      "SELECT m.id, %s, 0, %s, %s, m.version FROM recpromo.model m WHERE m.name = %s",
      (part, psycopg2.Binary(data), crc32c_int4(data), name))


def drop_part(name, part):
    q("DELETE FROM recpromo.model_part p USING recpromo.model m WHERE m.id = p.model_id AND m.name = %s "
      "AND p.part = %s", (name, part))


served_f4 = scores("so")
p = parts("so")
U32 = np.frombuffer(p["als_user_f4"], dtype=np.float32)
q("BEGIN")
drop_part("so", "als_user_f4")
put_part("so", "als_user", U32.astype(np.float64).tobytes())
move_id("so")
q("COMMIT")
check("0.4.0 layout: the model holds als_user only", "als_user" in parts("so") and "als_user_f4" not in parts("so"))
served_f8 = scores("so")
check("0.4.0 layout: serves exactly what the float32 layout served", served_f8 == served_f4)
dim = MODELS["so"][2]
gone = USERS[-1]                # the last user: the others keep their row numbers
res = q("SELECT rows_removed, exact FROM recpromo.forget_user(%s::bigint, 'so')", (gone,))
check("0.4.0 layout: forget_user erases", res and res[0][0] > 0, str(res))
p2 = parts("so")
check("forget_user rewrites the 0.4.0 model in the float32 layout",
      "als_user_f4" in p2 and "als_user" not in p2, str(sorted(p2)))
U2 = np.frombuffer(p2.get("als_user_f4", b""), dtype=np.float32).reshape(-1, dim)
check("forget_user: the kept user rows are the stored floats, unchanged",
      U2.shape[0] == len(USERS) - 1 and np.array_equal(U2, U32.reshape(-1, dim)[:-1]))
check("forget_user: the rewritten model serves", len(scores("so", USERS[:2])[0][1]) > 0)

# ---------------------------------------------------------------------------
# 4. tampering


def f4_with(data, index, value):
    a = bytearray(data)
    a[4 * index:4 * index + 4] = struct.pack("<f", value)
    return bytes(a)


def refused(name, setup):
    """Applies setup in a transaction that is rolled back; every call must
    fail with XX001 naming the model.  Returns the set of messages."""
    calls = [("recommend", "SELECT * FROM recpromo.recommend(%s::bigint, 3, model => %s)"),
             ("similar_users", "SELECT * FROM recpromo.similar_users(%s::bigint, 3, model => %s)"),
             ("forget_user", "SELECT * FROM recpromo.forget_user(%s::bigint, %s)")]
    msgs = set()
    bad = []
    q("BEGIN")
    try:
        setup()
        move_id(name)
        for what, sql in calls:
            q("SAVEPOINT s")
            try:
                q(sql, (USERS[0], name))
                bad.append(f"{what}: served")
            except psycopg2.Error as e:
                if e.pgcode != "XX001" or f'model "{name}" is corrupt' not in e.pgerror:
                    bad.append(f"{what}: {e.pgcode} {e.pgerror.strip()}")
                msgs.add(e.pgerror.splitlines()[0])
            q("ROLLBACK TO SAVEPOINT s")
    finally:
        q("ROLLBACK")
    return bad, msgs


base = parts("st")["als_user_f4"]
base_x = parts("stx")["als_user_f4"]
CASES = [
    ("NaN", "st", lambda: put_part("st", "als_user_f4", f4_with(base, 7, float("nan"))),
     'part "als_user_f4" holds a value out of range'),
    ("+Inf", "st", lambda: put_part("st", "als_user_f4", f4_with(base, 0, float("inf"))),
     'part "als_user_f4" holds a value out of range'),
    ("-Inf, last value", "st", lambda: put_part("st", "als_user_f4", f4_with(base, len(base) // 4 - 1, float("-inf"))),
     'part "als_user_f4" holds a value out of range'),
    ("a float beyond the factor bound (1e30)", "st", lambda: put_part("st", "als_user_f4", f4_with(base, 11, 1e30)),
     'part "als_user_f4" holds a value out of range'),
    ("one float short", "st", lambda: put_part("st", "als_user_f4", base[:-4]),
     'part "als_user_f4" has the wrong length'),
    ("one float more", "st", lambda: put_part("st", "als_user_f4", base + base[:4]),
     'part "als_user_f4" has the wrong length'),
    ("not whole floats", "st", lambda: put_part("st", "als_user_f4", base + b"\0\0"),
     'part "als_user_f4"'),
    ("float64 bytes under the float32 name", "st",
     lambda: put_part("st", "als_user_f4", np.frombuffer(base, dtype=np.float32).astype(np.float64).tobytes()),
     'part "als_user_f4" has the wrong length'),
    ("the float64 part left beside it", "st",
     lambda: put_part("st", "als_user", np.frombuffer(base, dtype=np.float32).astype(np.float64).tobytes()),
     'part "als_user" is left over'),
    ("neither part", "st", lambda: drop_part("st", "als_user_f4"), 'part "als_user_f4" is missing'),
    # als_explicit user rows are [x (5), b_u, 1]: the constant column is checked
    ("als_explicit: the constant column changed", "stx",
     lambda: put_part("stx", "als_user_f4", f4_with(base_x, 6, 2.0)), 'part "als_user_f4"'),
]
for label, name, setup, expect in CASES:
    bad, msgs = refused(name, setup)
    check(f"tampered ({label}): refused with XX001 by every call", not bad, "; ".join(bad))
    check(f"tampered ({label}): the message names the part", any(expect in m for m in msgs), str(msgs))
check("after the tampering (rolled back) the model serves again", len(scores("st", USERS[:1])[0][1]) == len(ITEMS))

conn.close()
admin.cursor().execute(f"DROP DATABASE {DB}")
finish()
