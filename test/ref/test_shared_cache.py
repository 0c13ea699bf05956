#!/usr/bin/python3
"""The shared model cache (src/pg/model_image.c), checked from outside.

- Results: for models of the methods the cache serves (als, als_explicit,
  factors, popularity, ease, item_knn; text keys for one of them), recommend, a fold-in of a user newer
  than the model, similar_items, predict and explain_recommendation give
  exactly what the per-backend path gives (recpromo.shared_cache_size = 0),
  in several backends that attach one image, including backends that start
  serving at the same moment.
- Files: one image per model version under $PGDATA/pg_recpromo_cache, mode
  0600 in a 0700 directory; a retrain replaces it; the cache turned off
  writes none; images of a dropped database and of a dropped model go at
  the next publish.
- Damage: truncated images, flipped header and table bytes, garbage and
  empty files never crash a backend, whatever recpromo.shared_cache_verify
  says: the next call reloads.  Damaged data bytes with
  shared_cache_verify = structure (offsets and indices walked at attach)
  never crash either: the next call reloads (or, for a damaged value,
  serves), and every error is a clean SQLSTATE (never XX000); with
  shared_cache_verify = on (full: the data hash too) every damaged image is
  detected and the results are the reference ones.  Files are rewritten
  through lo_export (the server's user), only while no backend has them
  mapped (a file truncated under a live mapping is the same as a truncated
  data file; the cache itself never writes in place).
- Lifetime: by default an image written (and walked) by this server is
  attached without the walk (the DEBUG1 message says so), and an image
  whose header says another server lifetime wrote it (a restart, a copy
  to a standby; 0 for libraries before 0.5.0) is removed and the model
  loaded again: reference answers, the image rewritten.
- The exact pruning index in the image: with recpromo.exact_pruning = on,
  every user's list and the scores' bits equal the per-backend path's; a
  damaged index or descriptor (magic, shape, perm out of range, negative or
  duplicated, NaN share, a truncated section; shared_cache_verify =
  structure) is rejected at attach: the image is rewritten and the lists
  are exact.
Seeds are fixed: deterministic.
"""
import os
import random
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, connect, finish, fresh_database  # noqa: E402

import psycopg2  # noqa: E402

DB = "rp_shared_cache"
OTHER = "rp_shared_cache_other"
rng = random.Random(20261201)


def q(cur, sql, args=None):
    cur.execute(sql, args)
    try:
        return cur.fetchall()
    except psycopg2.ProgrammingError:
        return None


def setup(cur):
    q(cur, "SET client_min_messages = warning")
    q(cur, "CREATE TABLE clicks (user_id int, item_id int, qty float8)")
    rows = set()
    for u in range(1, 121):
        for _ in range(rng.randint(3, 15)):
            rows.add((u, rng.randint(1, 90)))
    vals = ",".join("(%d,%d,%d)" % (u, i, 1 + (u * i) % 5) for (u, i) in sorted(rows))
    q(cur, "INSERT INTO clicks VALUES " + vals)
    q(cur, "CREATE TABLE tclicks AS SELECT 'u' || user_id AS u, 'sku-' || item_id AS i, qty FROM clicks")
    q(cur, "CREATE TABLE uf (id int, factors float8[])")
    q(cur, "CREATE TABLE itf (id int, factors float8[])")
    q(cur, "INSERT INTO uf SELECT u, ARRAY[sin(u), cos(u * 3), sin(u * 7) / 2, 0.25] FROM generate_series(1, 120) u")
    q(cur, "INSERT INTO itf SELECT i, ARRAY[cos(i), sin(i * 5), cos(i * 2) / 3, 0.5] FROM generate_series(1, 90) i")
    q(cur, """SELECT name FROM recpromo.train('a', 'clicks', 'user_id', 'item_id', 'qty', method => 'als',
              params => '{"factors": 6, "iterations": 3, "seed": 3}')""")
    q(cur, """SELECT name FROM recpromo.train('x', 'clicks', 'user_id', 'item_id', 'qty', method => 'als_explicit',
              params => '{"factors": 5, "iterations": 3, "seed": 4}')""")
    q(cur, """SELECT name FROM recpromo.train('f', 'clicks', 'user_id', 'item_id', method => 'factors',
              params => '{"user_factors": "uf", "item_factors": "itf"}')""")
    q(cur, """SELECT name FROM recpromo.train('t', 'tclicks', 'u', 'i', 'qty', method => 'als',
              params => '{"factors": 4, "iterations": 2, "seed": 5}')""")
    q(cur, "SELECT name FROM recpromo.train('p', 'clicks', 'user_id', 'item_id', method => 'popularity')")
    q(cur, """SELECT name FROM recpromo.train('e', 'clicks', 'user_id', 'item_id', 'qty', method => 'ease',
              params => '{"lambda": 50}')""")
    q(cur, """SELECT name FROM recpromo.train('k', 'clicks', 'user_id', 'item_id', 'qty', method => 'item_knn',
              params => '{"neighbours": 10}')""")
    # a customer newer than the models: folded in from the live source
    q(cur, "INSERT INTO clicks VALUES (500, 3, 2), (500, 7, 1), (500, 11, 4)")
    q(cur, "INSERT INTO tclicks VALUES ('u500', 'sku-3', 2), ('u500', 'sku-7', 1)")


MODELS = ["a", "x", "f", "t", "p", "e", "k"]


def answers(cur, model):
    """Everything the checks compare, rounded to 12 significant digits."""
    def r(rows):
        return [tuple(("%.12g" % v) if isinstance(v, float) else v for v in row) for row in rows]
    out = []
    if model == "t":
        users, item, fold = ["'u1'::text", "'u7'::text", "'u50'::text"], "'sku-3'::text", "'u500'::text"
    else:
        users, item, fold = ["1", "7", "50"], "3", "500"
    for u in users + [fold]:
        out.append(r(q(cur, "SELECT item::text, score, rank FROM recpromo.recommend(%s, 8, model => %%s) ORDER BY rank" % u, (model,))))
        out.append(r(q(cur, "SELECT recpromo.predict(%s, %s, model => %%s)" % (u, item), (model,))))
    if model == "p":
        return out
    out.append(r(q(cur, "SELECT item::text, similarity, rank FROM recpromo.similar_items(%s, 5, model => %%s) ORDER BY rank" % item, (model,))))
    if model != "x":
        out.append(r(q(cur, "SELECT history_item::text, contribution FROM recpromo.explain_recommendation(%s, %s, model => %%s) ORDER BY rank" % (users[0], item), (model,))))
    return out


def image_of(cur, model):
    """(file name, size, mode) of the current version's image, or None."""
    rows = q(cur, """
        SELECT f, (pg_stat_file('pg_recpromo_cache/' || f)).size
          FROM pg_ls_dir('pg_recpromo_cache', true, false) f, pg_database d, recpromo.model m
         WHERE d.datname = current_database() AND m.name = %s
           AND f LIKE d.oid || '\\_' || 'recpromo.model'::regclass::oid || '\\_%%\\_' || m.id || '\\_' || replace(m.version::text, '-', '') || '.img'""",
             (model,))
    return rows[0] if rows else None


M64 = (1 << 64) - 1
P1, P2 = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F


def image_hash(buf, seed):
    """rp_image_hash (src/core/rp_image.c), for forging a header in a test."""
    def rotl(x, r):
        return ((x << r) | (x >> (64 - r))) & M64

    def mix(h, w):
        return (rotl((h + w * P2) & M64, 31) * P1) & M64
    n = len(buf)
    a, b, c, d = (seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64
    i = 0
    while i + 32 <= n:
        w = struct.unpack_from("<4Q", buf, i)
        a, b, c, d = mix(a, w[0]), mix(b, w[1]), mix(c, w[2]), mix(d, w[3])
        i += 32
    h = (rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18) + n) & M64
    while i + 8 <= n:
        h = mix(h, struct.unpack_from("<Q", buf, i)[0])
        i += 8
    while i < n:
        h = mix(h, buf[i])
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    return h ^ (h >> 29)


def reseal(b):
    """Recomputes header_hash (offset 64) of an image after a header change."""
    n = struct.unpack_from("<I", b, 56)[0]
    head = bytearray(b[:112])
    struct.pack_into("<Q", head, 64, 0)
    struct.pack_into("<Q", b, 64, image_hash(bytes(b[112:112 + 48 * n]), image_hash(bytes(head), 0)))


def read_image(cur, fn):
    return bytes(q(cur, "SELECT pg_read_binary_file('pg_recpromo_cache/' || %s)", (fn,))[0][0])


def write_image(cur, fn, data):
    """Rewrites the file in place as the server's user (lo_export)."""
    o = q(cur, "SELECT lo_from_bytea(0, %s)", (psycopg2.Binary(data),))[0][0]
    q(cur, "SELECT lo_export(%s, current_setting('data_directory') || '/pg_recpromo_cache/' || %s)", (o, fn))
    q(cur, "SELECT lo_unlink(%s)", (o,))


def exact_lists(cur, model):
    """recommend() of every user with the scores' full bits (repr)."""
    rows = q(cur, """SELECT u, item::text, score FROM generate_series(1, 120) u,
                     LATERAL recpromo.recommend(u, 10, model => %s) ORDER BY u, rank""", (model,))
    return [(u, i, repr(sc)) for (u, i, sc) in rows]


def serve_fresh(model, verify=False, settings=(), what=None):
    """A new backend's answers, or the SQLSTATE of its error; verify: False (the
    default, off), True (on: the boolean of 0.4.0, i.e. full) or a level name."""
    c = connect(DB)
    cur = c.cursor()
    try:
        if verify:
            q(cur, "SET recpromo.shared_cache_verify = %s" % ("on" if verify is True else verify))
        for st in settings:
            q(cur, "SET " + st)
        return (what or answers)(cur, model)
    except psycopg2.Error as e:
        return e.pgcode or "?"
    finally:
        c.close()

def pop_list(cur, model, user=1):
    return q(cur, "SELECT item::text, score::text FROM recpromo.recommend(%s, 5, model => %s) ORDER BY rank",
             (user, model))


def code_of(fn):
    try:
        fn()
        return None
    except psycopg2.Error as e:
        return e.pgcode


def direct_lookup(cur):
    """The model lookup reads recpromo.model with an index scan, not SPI
    (model_store.c, DirectLookup): the same rights, the same snapshot."""
    q(cur, "DROP ROLE IF EXISTS rp_dl_user")
    q(cur, "CREATE ROLE rp_dl_user")
    q(cur, "GRANT USAGE ON SCHEMA recpromo TO rp_dl_user")
    q(cur, "GRANT SELECT ON clicks TO rp_dl_user")
    q(cur, "SELECT name FROM recpromo.train('dl', 'clicks', 'user_id', 'item_id', method => 'popularity')")
    owner_list = serve_fresh("dl", what=pop_list)
    check("direct lookup: the owner serves", isinstance(owner_list, list) and len(owner_list) == 5, owner_list)

    def as_user(c2):
        q(c2, "SET ROLE rp_dl_user")
        return pop_list(c2, "dl")
    check("direct lookup: an ordinary role without a grant gets 42501",
          serve_fresh("dl", what=lambda c2, m: as_user(c2)) == "42501")
    q(cur, "SELECT recpromo.grant_model('dl', 'rp_dl_user')")
    check("direct lookup: a granted role serves the same list",
          serve_fresh("dl", what=lambda c2, m: as_user(c2)) == owner_list)
    q(cur, "SELECT recpromo.revoke_model('dl', 'rp_dl_user')")
    check("direct lookup: revoked again, 42501",
          serve_fresh("dl", what=lambda c2, m: as_user(c2)) == "42501")
    check("direct lookup: an unknown model is 42704", serve_fresh("dl_nope", what=pop_list) == "42704")

    # the default model (name NULL): the same row as by name
    q(cur, "SELECT recpromo.set_default_model('dl')")
    check("direct lookup: the default model serves as by name",
          serve_fresh("dl", what=lambda c2, m: q(c2, "SELECT item::text, score::text FROM recpromo.recommend(1, 5) ORDER BY rank")) == owner_list)

    # a retrain and a drop committed by another transaction: a repeatable
    # read transaction keeps serving the version its snapshot saw
    c = connect(DB, autocommit=False)
    rc = c.cursor()
    q(rc, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    before = pop_list(rc, "dl")
    check("direct lookup: serves in a repeatable read transaction", before == owner_list)
    q(cur, "CREATE TABLE clicks_few AS SELECT * FROM clicks WHERE item_id > 45")
    q(cur, "SELECT name FROM recpromo.train('dl', 'clicks_few', 'user_id', 'item_id', method => 'popularity')")
    after = serve_fresh("dl", what=pop_list)
    check("direct lookup: a new backend serves the retrained version", isinstance(after, list) and after != before, after)
    check("direct lookup: the open snapshot still serves the version it saw", pop_list(rc, "dl") == before)
    q(cur, "SELECT recpromo.drop_model('dl')")
    check("direct lookup: the open snapshot still serves after a drop elsewhere", pop_list(rc, "dl") == before)
    c.commit()
    check("direct lookup: the next transaction sees the drop (42704)", code_of(lambda: pop_list(rc, "dl")) == "42704")
    c.rollback()
    c.close()
    check("direct lookup: a new backend sees the drop (42704)", serve_fresh("dl", what=pop_list) == "42704")

    # row-level security on recpromo.model: the SPI lookup serves, same lists
    q(cur, "SELECT name FROM recpromo.train('dl', 'clicks', 'user_id', 'item_id', method => 'popularity')")
    q(cur, "ALTER TABLE recpromo.model ENABLE ROW LEVEL SECURITY")
    rls = serve_fresh("dl", what=pop_list)
    q(cur, "ALTER TABLE recpromo.model DISABLE ROW LEVEL SECURITY")
    check("direct lookup: with row-level security on recpromo.model, the SPI lookup serves the same list",
          rls == owner_list, rls)

    # parts stored compressed or inline (before the column was STORAGE
    # EXTERNAL, or rewritten by hand) go through the ordinary detoast
    ref_f = serve_fresh("f", settings=("recpromo.shared_cache_size = 0",))
    q(cur, "ALTER TABLE recpromo.model_part ALTER COLUMN data SET STORAGE EXTENDED")
    q(cur, """UPDATE recpromo.model_part p SET data = p.data || ''::bytea
               FROM recpromo.model m WHERE m.name = 'f' AND p.model_id = m.id""")
    q(cur, "ALTER TABLE recpromo.model_part ALTER COLUMN data SET STORAGE EXTERNAL")
    got = serve_fresh("f", settings=("recpromo.shared_cache_size = 0",))
    check("parts rewritten with STORAGE EXTENDED load as before", isinstance(got, list) and got == ref_f, got)
    q(cur, "DROP TABLE clicks_few")
    q(cur, "REVOKE ALL ON SCHEMA recpromo FROM rp_dl_user")
    q(cur, "REVOKE ALL ON clicks FROM rp_dl_user")
    q(cur, "DROP ROLE rp_dl_user")

def lazy_blas():
    """OpenBLAS is loaded on first use (src/core/rp_blas.c), not with the
    library: a backend that attaches an image and serves a known user never
    maps it; one that needs it maps it and still has a single thread."""
    def blas_state(c2):
        r = q(c2, """SELECT position('openblas' in pg_read_file('/proc/' || pg_backend_pid() || '/maps')) > 0,
                            (SELECT count(*) FROM pg_ls_dir('/proc/' || pg_backend_pid() || '/task') t)""")
        return r[0]

    def serve_then_state(c2, m):
        q(c2, "SELECT count(*) FROM recpromo.recommend(1, 5, model => 'f')")
        before = blas_state(c2)
        q(c2, "SELECT recpromo.blas_corename()")
        return before, blas_state(c2)
    serve_fresh("f")            # the image exists
    got = serve_fresh("f", what=serve_then_state)
    check("lazy OpenBLAS: a serving backend has not loaded it", got[0] == (False, 1), got)
    check("lazy OpenBLAS: loaded on first use, and no thread pool left", got[1] == (True, 1), got)


def main():
    admin, conn = fresh_database(DB)
    cur = conn.cursor()
    setup(cur)
    start = q(cur, "SELECT pg_postmaster_start_time()")[0][0]
    dd = q(cur, "SHOW data_directory")[0][0]

    # the reference: the per-backend path
    ref = {}
    c = connect(DB)
    rc = c.cursor()
    q(rc, "SET recpromo.shared_cache_size = 0")
    for m in MODELS:
        ref[m] = answers(rc, m)
        check("cache off: no image for model %s" % m, image_of(rc, m) is None)
    c.close()

    # several backends: the first publishes, the others attach
    for m in MODELS:
        for b in range(3):
            check("model %s, backend %d: same answers as the per-backend path" % (m, b),
                  serve_fresh(m) == ref[m])
        img = image_of(cur, m)
        check("model %s has an image" % m, img is not None)
    if os.access(os.path.join(dd, "pg_recpromo_cache"), os.R_OK):
        st = os.stat(os.path.join(dd, "pg_recpromo_cache"))
        check("cache directory mode 0700", (st.st_mode & 0o777) == 0o700, oct(st.st_mode))
        img = image_of(cur, "a")
        st = os.stat(os.path.join(dd, "pg_recpromo_cache", img[0]))
        check("image mode 0600", (st.st_mode & 0o777) == 0o600, oct(st.st_mode))

    # backends starting at the same moment on a model nobody loaded yet
    q(cur, """SELECT name FROM recpromo.train('c', 'clicks', 'user_id', 'item_id', 'qty', method => 'als',
              params => '{"factors": 6, "iterations": 3, "seed": 3}')""")
    c = connect(DB)
    rc = c.cursor()
    q(rc, "SET recpromo.shared_cache_size = 0")
    ref["c"] = answers(rc, "c")
    c.close()
    results = [None] * 6

    def worker(k):
        results[k] = serve_fresh("c")
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check("6 concurrent first backends: same answers", all(r == ref["c"] for r in results),
          str([r if isinstance(r, str) else "ok" for r in results]))
    check("6 concurrent first backends: one image", image_of(cur, "c") is not None)
    left = q(cur, "SELECT count(*) FROM pg_ls_dir('pg_recpromo_cache', true, false) f WHERE f LIKE 'tmp.%'")[0][0]
    check("no temporary file left", left == 0, str(left))

    # a retrain: a new image, the old one removed
    old = image_of(cur, "f")
    q(cur, "UPDATE itf SET factors = ARRAY[factors[2], factors[1], factors[4], factors[3]]")
    q(cur, """SELECT name FROM recpromo.train('f', 'clicks', 'user_id', 'item_id', method => 'factors',
              params => '{"user_factors": "uf", "item_factors": "itf"}')""")
    c = connect(DB)
    rc = c.cursor()
    q(rc, "SET recpromo.shared_cache_size = 0")
    ref["f"] = answers(rc, "f")
    c.close()
    check("retrained: same answers as the per-backend path", serve_fresh("f") == ref["f"])
    new = image_of(cur, "f")
    check("retrained: a new image", new is not None and new[0] != old[0])
    files = [r[0] for r in q(cur, "SELECT f FROM pg_ls_dir('pg_recpromo_cache', true, false) f")]
    check("retrained: the old image is gone", old[0] not in files)

    # damage: every case starts from the good image, no backend has it mapped
    fn, size = image_of(cur, "a")
    good = read_image(cur, fn)
    hdr = 112                       # sizeof(rp_image_header)
    table = hdr + 48 * int.from_bytes(good[56:60], "little")

    def damaged(name, data, verify, must_match):
        write_image(cur, fn, data)
        res = serve_fresh("a", verify)
        if isinstance(res, str):
            check("%s: clean error" % name, res != "XX000" and res != "?", res)
        else:
            if must_match:
                check("%s: reference answers" % name, res == ref["a"])
            else:
                check("%s: answers" % name, len(res) == len(ref["a"]))
        # the server is still up, a bad image was replaced or still serves
        check("%s: no restart" % name, q(cur, "SELECT pg_postmaster_start_time()")[0][0] == start)
        write_image(cur, fn, good)

    damaged("empty file", b"", False, True)
    damaged("shorter than the header", good[:10], False, True)
    for cut in (hdr, table, size // 2, size - 1):
        damaged("truncated to %d bytes" % cut, good[:cut], False, True)
    damaged("one byte too long", good + b"\0", False, True)
    damaged("garbage of the same size", bytes(rng.getrandbits(8) for _ in range(size)), False, True)
    for k in range(12):
        pos = rng.randrange(0, table)
        b = bytearray(good)
        b[pos] ^= 1 << rng.randrange(8)
        damaged("header/table bit flip at %d" % pos, bytes(b), False, True)
    for k in range(12):
        pos = rng.randrange(table, size)
        b = bytearray(good)
        b[pos] ^= 0xFF
        damaged("data byte flip at %d, verify on" % pos, bytes(b), True, True)
    for k in range(12):
        pos = rng.randrange(table, size)
        b = bytearray(good)
        for j in range(pos, min(size, pos + 16)):
            b[j] = rng.getrandbits(8)
        damaged("data bytes at %d, verify structure" % pos, bytes(b), "structure", False)
    check("after damage: reference answers", serve_fresh("a") == ref["a"])

    # the exact pruning index travels in the image (sections mips_desc,
    # mips_index): with pruning forced on, the lists and the scores' bits
    # are those of the per-backend path (which builds its own index)
    prune = ("recpromo.exact_pruning = on",)
    exact_ref = serve_fresh("a", settings=prune + ("recpromo.shared_cache_size = 0",), what=exact_lists)
    check("pruning on, per-backend: 1200 rows", len(exact_ref) == 1200, str(len(exact_ref)))
    for b in range(2):
        check("pruning on, image-borne index, backend %d: bit for bit" % b,
              serve_fresh("a", settings=prune, what=exact_lists) == exact_ref)

    def sections(data):
        n = int.from_bytes(data[56:60], "little")
        out = {}
        for k in range(n):
            e = data[hdr + 48 * k:hdr + 48 * (k + 1)]
            out[e[:32].rstrip(b"\0").decode()] = (int.from_bytes(e[32:40], "little"),
                                                   int.from_bytes(e[40:48], "little"))
        return out

    secs = sections(good)
    check("the image has the sections mips_desc and mips_index",
          "mips_desc" in secs and "mips_index" in secs, str(sorted(secs)))
    if "mips_desc" in secs and "mips_index" in secs:
        mo, ml = secs["mips_index"]
        do, dl = secs["mips_desc"]
        n_items = int.from_bytes(good[mo + 4:mo + 8], "little")
        off_perm = int.from_bytes(good[mo + 32:mo + 40], "little")
        perm0 = int.from_bytes(good[mo + off_perm:mo + off_perm + 4], "little")

        def patched(at, value):
            b = bytearray(good)
            b[at:at + len(value)] = value
            return bytes(b)

        mips_cases = [
            ("mips index: magic", patched(mo, bytes([good[mo] ^ 1]))),
            ("mips index: n_items", patched(mo + 4, (n_items + 1).to_bytes(4, "little"))),
            ("mips index: perm out of range", patched(mo + off_perm, n_items.to_bytes(4, "little"))),
            ("mips index: perm negative", patched(mo + off_perm + 8, (2**32 - 1).to_bytes(4, "little"))),
            ("mips index: perm duplicate", patched(mo + off_perm + 4, perm0.to_bytes(4, "little"))),
            ("mips desc: share NaN", patched(do + 16, bytes.fromhex("000000000000f87f"))),
            ("mips desc: n_items", patched(do, (n_items + 1).to_bytes(4, "little"))),
            ("mips desc: no bias flag", patched(do + 8, (1).to_bytes(4, "little"))),
            ("mips index: truncated section", patched(hdr + 48 * list(secs).index("mips_index") + 40,
                                                     (ml - 8).to_bytes(8, "little"))),
        ]
        for name, data in mips_cases:
            write_image(cur, fn, data)
            res = serve_fresh("a", "structure", settings=prune, what=exact_lists)
            check("%s: rejected, reloaded, exact lists" % name, res == exact_ref,
                  res if isinstance(res, str) else "differs")
            check("%s: the image was rewritten" % name, read_image(cur, fn) == good)
            check("%s: no restart" % name, q(cur, "SELECT pg_postmaster_start_time()")[0][0] == start)
            write_image(cur, fn, good)
        check("after mips damage: reference answers", serve_fresh("a") == ref["a"])

    # lifetime: what the attach walks, and images of another server lifetime
    def attach_notes(verify=None):
        """The DEBUG1 messages of a new backend's first call of model a."""
        c = connect(DB)
        rc = c.cursor()
        if verify:
            q(rc, "SET recpromo.shared_cache_verify = " + verify)
        q(rc, "SET client_min_messages = debug1")
        answers(rc, "a")
        notes = " ".join(c.notices)
        c.close()
        return notes

    notes = attach_notes()
    check("same lifetime, verify off: attached without the walk",
          "(checked by its writer)" in notes and "walked" not in notes, notes[-300:])
    for level in ("structure", "full", "on"):
        notes = attach_notes(level)
        check("verify %s: the walk runs" % level, "(offsets and indices walked)" in notes, notes[-300:])
    check("verify levels: SHOW", q(cur, "SHOW recpromo.shared_cache_verify")[0][0] == "off")
    b = bytearray(good)
    reseal(b)
    check("the header hash, recomputed here, is the writer's", bytes(b) == good)
    for stamp, what in ((lambda s: s + 1, "another server lifetime"), (lambda s: 0, "a library before 0.5.0")):
        b = bytearray(good)
        struct.pack_into("<Q", b, 80, stamp(struct.unpack_from("<Q", good, 80)[0]))
        reseal(b)
        write_image(cur, fn, bytes(b))
        notes = attach_notes()
        check("image of %s: removed, reloaded" % what, "written before the server started" in notes, notes[-300:])
        check("image of %s: reference answers" % what, serve_fresh("a") == ref["a"])
        check("image of %s: the image was rewritten" % what, read_image(cur, fn) == good)
        write_image(cur, fn, good)

    # cache off in a session: serves, writes nothing
    q(cur, """SELECT name FROM recpromo.train('off', 'clicks', 'user_id', 'item_id', 'qty', method => 'als',
              params => '{"factors": 6, "iterations": 3, "seed": 3}')""")
    c = connect(DB)
    rc = c.cursor()
    q(rc, "SET recpromo.shared_cache_size = 0")
    check("cache off: same answers", answers(rc, "off") == ref["c"])
    check("cache off: no image written", image_of(rc, "off") is None)
    c.close()

    # a dropped model's image goes at the next publish
    fn_c = image_of(cur, "c")[0]
    q(cur, "SELECT recpromo.drop_model('c')")
    q(cur, """SELECT name FROM recpromo.train('d', 'clicks', 'user_id', 'item_id', 'qty', method => 'als',
              params => '{"factors": 6, "iterations": 3, "seed": 3}')""")
    serve_fresh("d")
    files = [r[0] for r in q(cur, "SELECT f FROM pg_ls_dir('pg_recpromo_cache', true, false) f")]
    check("a dropped model's image is removed", fn_c not in files)

    # a dropped database's images go at the next publish
    a2 = connect(os.environ.get("PGDATABASE", "postgres"))
    q(a2.cursor(), "DROP DATABASE IF EXISTS " + OTHER)
    q(a2.cursor(), "CREATE DATABASE " + OTHER)
    oc = connect(OTHER)
    ocur = oc.cursor()
    q(ocur, "SET client_min_messages = warning")
    q(ocur, "CREATE EXTENSION recpromo")
    q(ocur, "CREATE TABLE clicks AS SELECT u AS user_id, i AS item_id FROM generate_series(1, 30) u, generate_series(1, 20) i WHERE (u * i) % 7 = 1")
    q(ocur, """SELECT name FROM recpromo.train('o', 'clicks', 'user_id', 'item_id', method => 'als',
               params => '{"factors": 3, "iterations": 2}')""")
    q(ocur, "SELECT count(*) FROM recpromo.recommend(1, 5, model => 'o')")
    other_oid = q(ocur, "SELECT oid FROM pg_database WHERE datname = current_database()")[0][0]
    oc.close()
    n_other = lambda: q(cur, "SELECT count(*) FROM pg_ls_dir('pg_recpromo_cache', true, false) f WHERE f LIKE %s",  # noqa: E731
                        ("%d\\_%%" % other_oid,))[0][0]
    check("other database: image written", n_other() == 1)
    q(a2.cursor(), "DROP DATABASE " + OTHER)
    a2.close()
    q(cur, """SELECT name FROM recpromo.train('d', 'clicks', 'user_id', 'item_id', 'qty', method => 'als',
              params => '{"factors": 6, "iterations": 3, "seed": 3}')""")
    serve_fresh("d")
    check("a dropped database's image is removed", n_other() == 0)

    # an erasure and a drop take the model's images with them (issue 13: the
    # key must be in no stored copy; the old version's image holds it)
    q(cur, "SET recpromo.erasure_secret = 'test-secret'")
    q(cur, """SELECT name FROM recpromo.train('er', 'clicks', 'user_id', 'item_id', 'qty', method => 'als',
              params => '{"factors": 6, "iterations": 3, "seed": 3}')""")
    serve_fresh("er")
    old_img = image_of(cur, "er")
    old_id = q(cur, "SELECT id FROM recpromo.model WHERE name = 'er'")[0][0]
    my_oid = q(cur, "SELECT oid FROM pg_database WHERE datname = current_database()")[0][0]
    # this database's images only: other databases of the cluster may have models of that id
    count_id = lambda i: q(cur, "SELECT count(*) FROM pg_ls_dir('pg_recpromo_cache', true, false) f "  # noqa: E731
                                "WHERE f LIKE %s", ("%d\_%%\_%d\_%%" % (my_oid, i),))[0][0]
    check("erasure: the model's image exists before", old_img is not None and count_id(old_id) == 1)
    q(cur, "SELECT * FROM recpromo.forget_user(7, model => 'er')")
    check("erasure: the image of the version that held the key is gone", count_id(old_id) == 0)
    check("erasure: the new version serves", isinstance(serve_fresh("er"), list))
    new_id = q(cur, "SELECT id FROM recpromo.model WHERE name = 'er'")[0][0]
    check("erasure: the new version's image is written on use", count_id(new_id) == 1)
    q(cur, "SELECT recpromo.drop_model('er')")
    check("drop_model: the model's image is gone", count_id(new_id) == 0)
    q(cur, "RESET recpromo.erasure_secret")

    direct_lookup(cur)
    lazy_blas()

    # the setting is for superusers
    q(cur, "DROP ROLE IF EXISTS rp_sc_user")
    q(cur, "CREATE ROLE rp_sc_user")
    q(cur, "SET ROLE rp_sc_user")
    try:
        q(cur, "SET recpromo.shared_cache_size = 0")
        check("an ordinary role cannot change shared_cache_size", False)
    except psycopg2.Error as e:
        check("an ordinary role cannot change shared_cache_size", e.pgcode == "42501", e.pgcode)
    q(cur, "RESET ROLE")
    q(cur, "DROP ROLE rp_sc_user")

    check("server never restarted", q(cur, "SELECT pg_postmaster_start_time()")[0][0] == start)
    conn.close()
    admin.cursor().execute("DROP DATABASE " + DB)
    admin.close()
    finish()


if __name__ == "__main__":
    main()
