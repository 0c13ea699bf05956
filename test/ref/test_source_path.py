#!/usr/bin/python3
"""The two ways train() reads its source: a direct table scan and SPI.

Run by test/run_server_suites.sh inside the test cluster (libpq variables set), in a
database of its own.  The path taken is read from the DEBUG1 message "recpromo reads
<relation> through a direct table scan | through SPI" (client_min_messages = debug1).

1. Same models: for integer keys (smallint, integer, bigint), text and varchar keys,
   ratings of every converted type (smallint, integer, bigint, real, double precision,
   numeric) and no rating column, with duplicates and NULLs, the models trained through
   the scan (recpromo.source_path = auto) and through SPI (= spi) have byte-identical
   parts (model_part.data) and the same rows_read, rows_skipped, n_users, n_items, nnz.
2. The scan is taken only when allowed: a plain table the caller can SELECT (as owner,
   through a table grant, through column grants on exactly the columns read); never for a
   view, a materialised view, a partitioned table, a table with inheritance children (and
   the children's rows are read, as by a SELECT), a table with row-level security enabled
   (policies apply: the role reads only its rows), key types converted through their text
   form (bpchar, uuid), or with recpromo.source_path = spi.  A role without SELECT gets the
   same permission error as before (42501); with SELECT on only some of the columns too.
3. Errors are those of the SPI path, with the same text: non-finite and negative ratings
   (22000), NULL rows skipped with the same NOTICE.
4. A statement timeout interrupts the scan (57014).

Prints "N passed, N failed" last; exits non-zero on failure.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, connect, finish, fresh_database  # noqa: E402

import psycopg2  # noqa: E402

DB = "regress_rp_source_path"
ROLE = "rp_srcpath_reader"
COLROLE = "rp_srcpath_cols"
NOROLE = "rp_srcpath_none"


def path_of(conn):
    """The path named by the last DEBUG1 message of conn, then clears the notices."""
    msgs = [n for n in conn.notices if "recpromo reads" in n]
    del conn.notices[:]
    if not msgs:
        return None
    return "scan" if "direct table scan" in msgs[-1] else "spi"


def train(conn, name, rel, ucol, icol, rcol, method="als", path="auto", extra=""):
    cur = conn.cursor()
    cur.execute("SET client_min_messages = debug1")
    cur.execute("SET recpromo.source_path = " + path)
    del conn.notices[:]
    cur.execute("SELECT rows_read, rows_skipped, n_users, n_items, nnz FROM recpromo.train("
                "%s, %s, %s, %s, %s, method => %s" + extra + ")",
                (name, rel, ucol, icol, rcol, method))
    row = cur.fetchone()
    p = path_of(conn)
    cur.execute("SET client_min_messages = warning")
    cur.execute("RESET recpromo.source_path")
    return row, p


def parts(admin, name):
    cur = admin.cursor()
    cur.execute("SELECT part, seq, pg_catalog.md5(data) FROM recpromo.model_part p "
                "JOIN recpromo.model m ON m.id = p.model_id WHERE m.name = %s "
                "ORDER BY part, seq", (name,))
    return cur.fetchall()


def sqlstate(conn, sql, args=None):
    try:
        conn.cursor().execute(sql, args)
        return None
    except psycopg2.Error as e:
        return e.pgcode, e.pgerror


def main():
    admin0, conn = fresh_database(DB)
    cur = conn.cursor()
    cur.execute("SET client_min_messages = warning")
    for r in (ROLE, COLROLE, NOROLE):
        cur.execute("DROP ROLE IF EXISTS " + r)
        cur.execute("CREATE ROLE " + r)
    cur.execute("GRANT USAGE ON SCHEMA recpromo TO %s, %s, %s" % (ROLE, COLROLE, NOROLE))

    # 1. identical models on both paths, every converted type
    cur.execute("""
        CREATE TABLE src AS
        SELECT (g * 7919) % 97 AS u4, ((g * 7919) % 97)::smallint AS u2,
               ((g * 7919) % 97)::bigint * 1000000007 AS u8,
               'user ' || ((g * 7919) % 97) AS ut, ('v' || ((g * 31) % 53))::varchar(10) AS iv,
               (g * 31) % 53 AS i4,
               (g % 5 + 1)::smallint AS r2, g % 5 + 1 AS r4, (g % 5 + 1)::bigint AS r8,
               ((g % 5 + 1) / 3.0)::real AS rr, (g % 5 + 1) / 7.0 AS rf,
               ((g % 5 + 1) / 3.0)::numeric(12, 6) AS rn
        FROM generate_series(1, 3000) g""")
    cur.execute("INSERT INTO src (u4, i4, r4) VALUES (NULL, 1, 1), (1, NULL, 1), (1, 1, NULL)")
    cur.execute("UPDATE src SET rf = NULL WHERE u4 = 5 AND i4 < 10")
    cur.execute("ANALYZE src")
    cases = [("u4", "i4", "r4", "als"), ("u2", "i4", "r2", "als"), ("u8", "i4", "r8", "als"),
             ("ut", "iv", "rr", "als"), ("u4", "iv", "rf", "als_explicit"),
             ("ut", "i4", "rn", "als"), ("u4", "i4", None, "als"),
             ("u8", "iv", "rf", "item_knn"), ("ut", "i4", None, "popularity")]
    for k, (u, i, r, m) in enumerate(cases):
        extra = ", factors => 8, iterations => 3" if m.startswith("als") else ""
        a, pa = train(conn, "scan%d" % k, "src", u, i, r, m, "auto", extra)
        b, pb = train(conn, "spi%d" % k, "src", u, i, r, m, "spi", extra)
        what = "%s/%s/%s %s" % (u, i, r, m)
        check("scan path taken for " + what, pa == "scan", pa)
        check("spi path taken when set for " + what, pb == "spi", pb)
        check("same sizes on both paths for " + what, a == b, (a, b))
        pa_, pb_ = parts(conn, "scan%d" % k), parts(conn, "spi%d" % k)
        check("byte-identical model parts for " + what, pa_ == pb_ and len(pa_) > 0,
              (pa_[:3], pb_[:3]))
    a, _ = train(conn, "nulls", "src", "u4", "i4", "rf", "als", "auto", ", factors => 4, iterations => 1")
    cur.execute("SELECT count(*) FILTER (WHERE u4 IS NULL OR i4 IS NULL OR rf IS NULL) FROM src")
    check("NULL rows skipped and counted on the scan path", a[1] == cur.fetchone()[0] and a[1] > 3, a)

    # integer keys that move between the direct map and the hash: small ones, then large and
    # negative ones, then small ones again beyond the first map; distinct counts must hold and
    # the stored dictionary must load (strictly increasing keys)
    cur.execute("""CREATE TABLE src_keys AS
        SELECT k AS u, (k % 7) AS i FROM (
            SELECT g AS k FROM generate_series(0, 99) g
            UNION ALL SELECT g * 1000003 FROM generate_series(-50, 50) g
            UNION ALL SELECT -g FROM generate_series(1, 40) g
            UNION ALL SELECT g FROM generate_series(0, 300000, 7) g
            UNION ALL SELECT g FROM generate_series(0, 99) g) s""")
    cur.execute("SELECT count(DISTINCT u), count(DISTINCT i) FROM src_keys")
    du, di = cur.fetchone()
    a, p = train(conn, "keys_mixed", "src_keys", "u", "i", None, "popularity")
    check("mixed integer keys: the scan", p == "scan", p)
    check("mixed integer keys: every distinct key once", a[2] == du and a[3] == di, (a, du, di))
    cur.execute("SELECT count(*) FROM recpromo.recommend(-3000009::bigint, 3, model => 'keys_mixed')")
    check("mixed integer keys: the model loads and serves", cur.fetchone()[0] == 3)
    cur.execute("SELECT count(*) FROM recpromo.recommend(299999::bigint, 3, model => 'keys_mixed')")
    check("mixed integer keys: a large key serves", cur.fetchone()[0] == 3)

    # the key types converted through their text form read through SPI
    cur.execute("CREATE TABLE src_bp AS SELECT u4::char(4) AS ub, "
                "pg_catalog.md5(i4::text)::uuid AS iu, r4 FROM src WHERE u4 IS NOT NULL "
                "AND i4 IS NOT NULL")
    _, p = train(conn, "bp", "src_bp", "ub", "iu", "r4", "popularity")
    check("bpchar / uuid keys read through SPI", p == "spi", p)

    # 2. the scan only where it returns what a SELECT would
    cur.execute("CREATE VIEW src_v AS SELECT u4, i4, r4 FROM src")
    cur.execute("CREATE MATERIALIZED VIEW src_mv AS SELECT u4, i4, r4 FROM src")
    cur.execute("CREATE TABLE src_part (u4 int, i4 int, r4 int) PARTITION BY RANGE (u4)")
    cur.execute("CREATE TABLE src_part_a PARTITION OF src_part FOR VALUES FROM (MINVALUE) TO (50)")
    cur.execute("CREATE TABLE src_part_b PARTITION OF src_part FOR VALUES FROM (50) TO (MAXVALUE)")
    cur.execute("INSERT INTO src_part SELECT u4, i4, r4 FROM src WHERE u4 IS NOT NULL")
    cur.execute("CREATE TABLE src_parent (u4 int, i4 int, r4 int)")
    cur.execute("CREATE TABLE src_child () INHERITS (src_parent)")
    cur.execute("INSERT INTO src_parent SELECT u4, i4, r4 FROM src WHERE u4 < 50")
    cur.execute("INSERT INTO src_child SELECT u4, i4, r4 FROM src WHERE u4 >= 50")
    for rel in ("src_v", "src_mv", "src_part", "src_parent"):
        a, p = train(conn, "k_" + rel, rel, "u4", "i4", "r4", "popularity")
        check("%s read through SPI" % rel, p == "spi", p)
        check("%s: every row read" % rel, a[0] == 3000, a)

    # grants: table, columns, none, some columns
    cur.execute("CREATE TABLE src_acl AS SELECT u4, i4, r4, 'secret'::text AS note FROM src")
    cur.execute("GRANT SELECT ON src_acl TO " + ROLE)
    cur.execute("GRANT SELECT (u4, i4, r4) ON src_acl TO " + COLROLE)
    cur.execute("GRANT SELECT (u4, i4) ON src_acl TO " + NOROLE)
    for role in (ROLE, COLROLE):
        c = connect(DB)
        c.cursor().execute("SET ROLE " + role)
        a, p = train(c, "acl_" + role, "src_acl", "u4", "i4", "r4", "popularity")
        check("%s (SELECT granted) reads through the scan" % role, p == "scan", p)
        check("%s reads every row" % role, a[0] == 3000, a)
        c.close()
    c = connect(DB)
    c.cursor().execute("SET ROLE " + NOROLE)
    for path in ("auto", "spi"):
        c.cursor().execute("SET recpromo.source_path = " + path)
        e = sqlstate(c, "SELECT recpromo.train('x', 'src_acl', 'u4', 'i4', 'r4', "
                        "method => 'popularity')")
        check("without SELECT on the rating column: 42501 (%s)" % path,
              e is not None and e[0] == "42501" and "permission denied" in e[1], e)
        e = sqlstate(c, "SELECT recpromo.train('x', 'src', 'u4', 'i4', 'r4', "
                        "method => 'popularity')")
        check("without SELECT on the table: 42501 (%s)" % path,
              e is not None and e[0] == "42501" and "permission denied for table src" in e[1], e)
    a, p = train(c, "acl_none2", "src_acl", "u4", "i4", None, "popularity")
    check("SELECT on the two key columns is enough without a rating", p == "scan" and a[0] == 3001,
          (a, p))
    c.close()

    # row-level security: policies apply, through SPI
    cur.execute("CREATE TABLE src_rls AS SELECT u4, i4, r4 FROM src")
    cur.execute("ALTER TABLE src_rls ENABLE ROW LEVEL SECURITY")
    cur.execute("CREATE POLICY low ON src_rls FOR SELECT TO %s USING (u4 < 10)" % ROLE)
    cur.execute("GRANT SELECT ON src_rls TO " + ROLE)
    cur.execute("SELECT count(*) FROM src_rls WHERE u4 < 10 AND i4 IS NOT NULL AND r4 IS NOT NULL")
    low = cur.fetchone()[0]
    c = connect(DB)
    c.cursor().execute("SET ROLE " + ROLE)
    a, p = train(c, "rls_role", "src_rls", "u4", "i4", "r4", "popularity")
    check("RLS: the role reads through SPI", p == "spi", p)
    check("RLS: the role reads only the rows its policy shows", a[0] == low and low < 3000,
          (a, low))
    c.close()
    a, p = train(conn, "rls_owner", "src_rls", "u4", "i4", "r4", "popularity")
    check("RLS enabled: even the owner (bypassing it) reads through SPI", p == "spi", p)
    check("RLS: the owner reads every row", a[0] == 3000, a)
    cur.execute("ALTER TABLE src_rls DISABLE ROW LEVEL SECURITY")
    a, p = train(conn, "rls_off", "src_rls", "u4", "i4", "r4", "popularity")
    check("RLS disabled again: the scan", p == "scan" and a[0] == 3000, (a, p))

    # 3. the same errors on both paths
    cur.execute("CREATE TABLE src_bad (u text, i int, r float8)")
    cur.execute("INSERT INTO src_bad VALUES ('a', 1, 1), ('b', 2, 'NaN'), ('c', 3, -1)")
    cur.execute("CREATE TABLE src_neg (u bigint, i text, r numeric)")
    cur.execute("INSERT INTO src_neg VALUES (1, 'x', 1), (2, 'y', -2.5)")
    seen = {}
    for rel, m in (("src_bad", "popularity"), ("src_neg", "als")):
        errs = seen[rel] = []
        for path in ("auto", "spi"):
            cur.execute("SET recpromo.source_path = " + path)
            try:
                cur.execute("SELECT recpromo.train('bad', %s, %s, 'i', 'r', method => %s)",
                            (rel, "u", m))
                errs.append(None)
            except psycopg2.Error as e:
                errs.append((e.pgcode, e.pgerror, e.diag.message_detail))
        cur.execute("RESET recpromo.source_path")
        check("%s: the same error on both paths" % rel,
              errs[0] is not None and errs[0] == errs[1] and errs[0][0] == "22000", errs)
    check("non-finite rating names the row", seen["src_bad"][0][2] == "User b, item 2 has rating NaN.",
          seen["src_bad"])
    check("negative rating names the row", seen["src_neg"][0][2] == "User 2, item y has rating -2.5.",
          seen["src_neg"])

    # 4. interrupts
    cur.execute("CREATE TABLE src_big AS SELECT g % 1000 AS u, g % 777 AS i "
                "FROM generate_series(1, 3000000) g")
    cur.execute("SET statement_timeout = '100ms'")
    e = sqlstate(conn, "SELECT recpromo.train('big', 'src_big', 'u', 'i', method => 'popularity')")
    cur.execute("RESET statement_timeout")
    check("statement_timeout cancels the scan (57014)", e is not None and e[0] == "57014", e)

    conn.close()
    admin0.cursor().execute("DROP DATABASE " + DB)
    for r in (ROLE, COLROLE, NOROLE):
        admin0.cursor().execute("DROP ROLE IF EXISTS " + r)
    finish()


if __name__ == "__main__":
    main()
