#!/usr/bin/python3
"""Upgrade check: every released version + ALTER EXTENSION UPDATE == a fresh install.

Run by test/run_server_suites.sh inside the test cluster (libpq variables set).
The released install scripts are frozen in test/upgrade/recpromo--0.1.0.sql,
recpromo--0.2.0.sql, recpromo--0.3.0.sql and recpromo--0.4.0.sql; they are not
installed by `make install`, so this test copies them into
$(pg_config --sharedir)/extension for its run and removes them afterwards.  The
released update scripts 0.1.0--0.2.0, 0.2.0--0.3.0 and 0.3.0--0.4.0 are
installed (committed as built); 0.4.0--0.5.0 is built by make.

1. pg_extension_update_paths('recpromo') offers exactly the chain
   0.1.0 -> 0.2.0 -> 0.3.0 -> 0.4.0 -> 0.5.0 (every source to every later
   target).
2. Database A: CREATE EXTENSION recpromo VERSION '0.1.0'; load models that the
   0.1.0 code trained (test/upgrade/models-0.1.0.sql: the model rows and their
   stored parts, byte for byte, and what 0.1.0 served from them); train two
   more through the 0.1.0 SQL API (popularity and als); ALTER EXTENSION
   recpromo UPDATE.  Database B: CREATE EXTENSION recpromo.
3. The extension's catalog objects in A and B are compared: membership,
   functions (pg_get_functiondef, which covers the settings, ROWS, SUPPORT,
   volatility and body; plus ACL and owner), aggregates, types, operators,
   casts, relations, columns in order, defaults, constraints, indexes,
   triggers, policies, views (pg_get_viewdef), sequences, comments, initial
   privileges (pg_init_privs) and configuration tables.  Every difference is
   printed as "A (updated)" against "B (fresh)".
4. In A, every model from before the update either serves what 0.1.0 served,
   or is refused with a clear error that says to retrain it (never a crash,
   never XX000); a model trained after the update serves.
5. Database C: CREATE EXTENSION recpromo VERSION '0.2.0'; database D: VERSION
   '0.3.0'; database E: VERSION '0.4.0'.  In each, train models through that
   version's API (C: popularity, als, item_knn and a propensity model; D:
   those plus ease, sparse_ease and a session_knn model; E: those plus an
   slist model) and record what they serve; ALTER EXTENSION UPDATE; the
   catalog equals B's and every model serves exactly what it served before
   the update.

Prints "N passed, N failed" last; exits non-zero on failure.
"""
import os
import re
import shutil
import subprocess
import sys

import psycopg2
import psycopg2.extensions

ROOT = os.environ.get("RECPROMO_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODELS = os.path.join(ROOT, "test", "upgrade", "models-0.1.0.sql")
OLD, MID, V3, LAST, NEW = "0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0"
RELEASED = (OLD, MID, V3, LAST)    # install scripts frozen in test/upgrade
CHAIN = RELEASED + (NEW,)
DB_A, DB_B, DB_C, DB_D, DB_E = ("regress_rp_upgrade_a", "regress_rp_upgrade_b", "regress_rp_upgrade_c",
                                "regress_rp_upgrade_d", "regress_rp_upgrade_e")

passed = 0
failed = 0


def ok(what):
    global passed
    passed += 1
    print("ok     " + what)


def fail(what, detail=None):
    global failed
    failed += 1
    print("FAILED " + what)
    if detail:
        for line in str(detail).rstrip().splitlines():
            print("       " + line)


def check(cond, what, detail=None):
    if cond:
        ok(what)
    else:
        fail(what, detail)
    return cond


OPEN = []


def connect(db):
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = True
    OPEN.append(conn)
    return conn


def rows(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else []


def error_text(e):
    d = e.diag
    return "%s: %s%s%s" % (e.pgcode, d.message_primary,
                           (" DETAIL: " + d.message_detail) if d.message_detail else "",
                           (" HINT: " + d.message_hint) if d.message_hint else "")


# --------------------------------------------------------------------------
# Catalog snapshot of the extension in one database: {category: {key: value}}
# --------------------------------------------------------------------------
SNAPSHOT = {
    "extension": """
        SELECT e.extname, e.extversion || ' relocatable=' || e.extrelocatable
               || ' schema=' || n.nspname || ' owner=' || e.extowner::regrole
               || ' config=' || coalesce((SELECT string_agg(c::regclass::text, ',' ORDER BY c::regclass::text)
                                            FROM unnest(e.extconfig) c), '')
               || ' conditions=' || coalesce(array_to_string(e.extcondition, ','), '')
          FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'recpromo'""",
    "schema": """
        SELECT n.nspname, 'owner=' || n.nspowner::regrole || ' acl=' || coalesce(n.nspacl::text, '')
               || ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '')
          FROM pg_namespace n WHERE n.nspname = 'recpromo'""",
    "member": """
        SELECT pg_describe_object(d.classid, d.objid, d.objsubid), 'member'
          FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
         WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'recpromo'""",
    "function": """
        SELECT p.oid::regprocedure::text,
               CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE pg_get_functiondef(p.oid) END
               || E'\\nowner=' || p.proowner::regrole || ' acl=' || coalesce(
                    (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(p.proacl) a), 'default')
               || ' parallel=' || p.proparallel::text || ' leakproof=' || p.proleakproof
               || ' prosrc=' || md5(p.prosrc) || ' probin=' || coalesce(p.probin, '')
          FROM pg_proc p WHERE p.pronamespace = 'recpromo'::regnamespace""",
    "aggregate": """
        SELECT a.aggfnoid::regprocedure::text,
               concat_ws(' ', 'kind=' || a.aggkind::text, 'direct=' || a.aggnumdirectargs,
                         'sfunc=' || a.aggtransfn::regprocedure, 'final=' || a.aggfinalfn::regproc,
                         'combine=' || a.aggcombinefn::regproc, 'serial=' || a.aggserialfn::regproc,
                         'deserial=' || a.aggdeserialfn::regproc, 'msfunc=' || a.aggmtransfn::regproc,
                         'minv=' || a.aggminvtransfn::regproc, 'mfinal=' || a.aggmfinalfn::regproc,
                         'extra=' || a.aggfinalextra, 'mextra=' || a.aggmfinalextra,
                         'modify=' || a.aggfinalmodify::text, 'mmodify=' || a.aggmfinalmodify::text,
                         'sortop=' || a.aggsortop::regoperator, 'stype=' || a.aggtranstype::regtype,
                         'space=' || a.aggtransspace, 'mstype=' || a.aggmtranstype::regtype,
                         'init=' || coalesce(a.agginitval, 'NULL'), 'minit=' || coalesce(a.aggminitval, 'NULL'))
          FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
         WHERE p.pronamespace = 'recpromo'::regnamespace""",
    "type": """
        SELECT t.typname::text,
               concat_ws(' ', 'type=' || t.typtype::text, 'len=' || t.typlen, 'byval=' || t.typbyval,
                         'cat=' || t.typcategory::text, 'pref=' || t.typispreferred, 'delim=' || t.typdelim::text,
                         'rel=' || t.typrelid::regclass, 'elem=' || t.typelem::regtype,
                         'array=' || t.typarray::regtype, 'in=' || t.typinput::regproc,
                         'out=' || t.typoutput::regproc, 'recv=' || t.typreceive::regproc,
                         'send=' || t.typsend::regproc, 'modin=' || t.typmodin::regproc,
                         'modout=' || t.typmodout::regproc, 'analyze=' || t.typanalyze::regproc,
                         'subscript=' || t.typsubscript::regproc, 'align=' || t.typalign::text,
                         'storage=' || t.typstorage::text, 'notnull=' || t.typnotnull,
                         'base=' || t.typbasetype::regtype, 'typmod=' || t.typtypmod,
                         'collation=' || t.typcollation, 'default=' || coalesce(t.typdefault, 'NULL'),
                         'owner=' || t.typowner::regrole,
                         'acl=' || coalesce(t.typacl::text, 'default'))
          FROM pg_type t WHERE t.typnamespace = 'recpromo'::regnamespace""",
    "operator": """
        SELECT o.oid::regoperator::text,
               concat_ws(' ', 'kind=' || o.oprkind::text, 'merge=' || o.oprcanmerge, 'hash=' || o.oprcanhash,
                         'result=' || o.oprresult::regtype, 'code=' || o.oprcode::regproc,
                         'com=' || o.oprcom::regoperator, 'neg=' || o.oprnegate::regoperator,
                         'rest=' || o.oprrest::regproc, 'join=' || o.oprjoin::regproc)
          FROM pg_operator o WHERE o.oprnamespace = 'recpromo'::regnamespace""",
    "opclass": """
        SELECT c.opcname || ' ' || am.amname, 'family=' || f.opfname || ' type=' || c.opcintype::regtype
               || ' default=' || c.opcdefault
          FROM pg_opclass c JOIN pg_am am ON am.oid = c.opcmethod JOIN pg_opfamily f ON f.oid = c.opcfamily
         WHERE c.opcnamespace = 'recpromo'::regnamespace""",
    "cast": """
        SELECT format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL),
               'func=' || c.castfunc::regprocedure || ' context=' || c.castcontext::text || ' method=' || c.castmethod::text
          FROM pg_cast c
         WHERE c.castsource IN (SELECT oid FROM pg_type WHERE typnamespace = 'recpromo'::regnamespace)
            OR c.casttarget IN (SELECT oid FROM pg_type WHERE typnamespace = 'recpromo'::regnamespace)
            OR c.castfunc IN (SELECT oid FROM pg_proc WHERE pronamespace = 'recpromo'::regnamespace)""",
    "relation": """
        SELECT c.relname::text,
               concat_ws(' ', 'kind=' || c.relkind::text, 'persistence=' || c.relpersistence::text,
                         'owner=' || c.relowner::regrole, 'acl=' || coalesce(c.relacl::text, 'default'),
                         'options=' || coalesce(c.reloptions::text, ''), 'rls=' || c.relrowsecurity,
                         'forcerls=' || c.relforcerowsecurity, 'replident=' || c.relreplident::text,
                         'am=' || coalesce((SELECT amname FROM pg_am WHERE oid = c.relam), ''),
                         'ispartition=' || c.relispartition)
               || CASE WHEN c.relkind IN ('v', 'm') THEN E'\\n' || pg_get_viewdef(c.oid) ELSE '' END
          FROM pg_class c WHERE c.relnamespace = 'recpromo'::regnamespace
           AND c.relkind NOT IN ('t')""",
    "columns": """
        SELECT c.relname::text,
               string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                          || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                          || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
                          || CASE WHEN a.attidentity <> '' THEN ' IDENTITY ' || a.attidentity::text ELSE '' END
                          || CASE WHEN a.attgenerated <> '' THEN ' GENERATED ' || a.attgenerated::text ELSE '' END
                          || ' storage=' || a.attstorage::text
                          || coalesce(' compression=' || nullif(a.attcompression::text, ''), '')
                          || coalesce(' collate=' || (SELECT collname FROM pg_collation WHERE oid = a.attcollation
                                                        AND a.attcollation <> 100), '')
                          || coalesce(' acl=' || a.attacl::text, '')
                          -- pg_attver=N: a per-database value some builds keep in attoptions
                          || coalesce(' options=' || (SELECT array_agg(o ORDER BY o)::text FROM unnest(a.attoptions) o
                                                       WHERE o NOT LIKE 'pg\\_attver=%%'), ''),
                          E'\\n' ORDER BY a.attnum)
          FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.relnamespace = 'recpromo'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
           AND a.attnum > 0 AND NOT a.attisdropped
         GROUP BY c.relname""",
    "constraint": """
        SELECT coalesce(c.relname, t.typname)::text || '.' || k.conname,
               pg_get_constraintdef(k.oid) || ' deferrable=' || k.condeferrable
          FROM pg_constraint k LEFT JOIN pg_class c ON c.oid = k.conrelid
          LEFT JOIN pg_type t ON t.oid = k.contypid
         WHERE k.connamespace = 'recpromo'::regnamespace""",
    "index": """
        SELECT i.relname::text, pg_get_indexdef(i.oid)
          FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
         WHERE i.relnamespace = 'recpromo'::regnamespace""",
    "trigger": """
        SELECT c.relname || '.' || g.tgname, pg_get_triggerdef(g.oid) || ' enabled=' || g.tgenabled::text
          FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
         WHERE c.relnamespace = 'recpromo'::regnamespace AND NOT g.tgisinternal""",
    "policy": """
        SELECT p.tablename || '.' || p.policyname,
               concat_ws(' ', p.permissive, p.cmd, p.roles::text, 'using=' || p.qual, 'check=' || p.with_check)
          FROM pg_policies p WHERE p.schemaname = 'recpromo'""",
    "sequence": """
        SELECT c.relname::text,
               concat_ws(' ', 'type=' || s.seqtypid::regtype, 'start=' || s.seqstart, 'inc=' || s.seqincrement,
                         'max=' || s.seqmax, 'min=' || s.seqmin, 'cache=' || s.seqcache, 'cycle=' || s.seqcycle,
                         'owned_by=' || coalesce((SELECT pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
                                                    FROM pg_depend d
                                                   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                                     AND d.deptype IN ('a', 'i')), 'none'))
          FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
         WHERE c.relnamespace = 'recpromo'::regnamespace""",
    "comment": """
        SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
          FROM pg_description d
         WHERE (d.classoid = 'pg_proc'::regclass
                AND d.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'recpromo'::regnamespace))
            OR (d.classoid = 'pg_class'::regclass
                AND d.objoid IN (SELECT oid FROM pg_class WHERE relnamespace = 'recpromo'::regnamespace))
            OR (d.classoid = 'pg_type'::regclass
                AND d.objoid IN (SELECT oid FROM pg_type WHERE typnamespace = 'recpromo'::regnamespace))
            OR (d.classoid = 'pg_operator'::regclass
                AND d.objoid IN (SELECT oid FROM pg_operator WHERE oprnamespace = 'recpromo'::regnamespace))
            OR (d.classoid = 'pg_constraint'::regclass
                AND d.objoid IN (SELECT oid FROM pg_constraint WHERE connamespace = 'recpromo'::regnamespace))
            OR (d.classoid = 'pg_extension'::regclass
                AND d.objoid = (SELECT oid FROM pg_extension WHERE extname = 'recpromo'))""",
    "init_privs": """
        SELECT pg_describe_object(i.classoid, i.objoid, i.objsubid),
               i.privtype::text || ' ' || (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(i.initprivs) a)
          FROM pg_init_privs i
         WHERE (i.classoid = 'pg_proc'::regclass
                AND i.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'recpromo'::regnamespace))
            OR (i.classoid = 'pg_class'::regclass
                AND i.objoid IN (SELECT oid FROM pg_class WHERE relnamespace = 'recpromo'::regnamespace))
            OR (i.classoid = 'pg_type'::regclass
                AND i.objoid IN (SELECT oid FROM pg_type WHERE typnamespace = 'recpromo'::regnamespace))
            OR (i.classoid = 'pg_namespace'::regclass
                AND i.objoid = 'recpromo'::regnamespace)""",
    "outside_schema": """
        SELECT pg_describe_object(d.classid, d.objid, d.objsubid), 'member outside the schema'
          FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
         WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'recpromo'
           AND NOT (   (d.classid = 'pg_proc'::regclass
                        AND d.objid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'recpromo'::regnamespace))
                    OR (d.classid = 'pg_class'::regclass
                        AND d.objid IN (SELECT oid FROM pg_class WHERE relnamespace = 'recpromo'::regnamespace))
                    OR (d.classid = 'pg_type'::regclass
                        AND d.objid IN (SELECT oid FROM pg_type WHERE typnamespace = 'recpromo'::regnamespace))
                    OR (d.classid = 'pg_operator'::regclass
                        AND d.objid IN (SELECT oid FROM pg_operator WHERE oprnamespace = 'recpromo'::regnamespace)))""",
}


def snapshot(conn):
    snap = {}
    for cat, sql in SNAPSHOT.items():
        d = {}
        for key, val in rows(conn, sql):
            if key in d:
                d[key] = d[key] + "\n" + (val or "")
            else:
                d[key] = val or ""
        snap[cat] = d
    return snap


def compare(a, b):
    """Prints every difference; returns their number."""
    import difflib
    ndiff = 0
    for cat in SNAPSHOT:
        da, db = a[cat], b[cat]
        for key in sorted(set(da) | set(db)):
            if key not in db:
                print("  [%s] %s: only in A (released + UPDATE)" % (cat, key))
                ndiff += 1
            elif key not in da:
                print("  [%s] %s: only in B (fresh %s)" % (cat, key, NEW))
                ndiff += 1
            elif da[key] != db[key]:
                print("  [%s] %s differs (--- A updated, +++ B fresh):" % (cat, key))
                for line in difflib.unified_diff(da[key].splitlines(), db[key].splitlines(),
                                                 "A", "B", lineterm="", n=1):
                    print("      " + line)
                ndiff += 1
    return ndiff


RETRAIN = re.compile(r"retrain|train (it|the model|them)? ?again|recpromo\.train|train\(\)", re.I)


def serve_check(conn, model, expected, what):
    """expected: {user: [(item, score, rank)]} as served before, or None."""
    for user in sorted(expected or {3: None}):
        try:
            got = rows(conn, "SELECT item, score, rank FROM recpromo.recommend(%s::bigint, 5, %s) ORDER BY rank",
                       (user, model))
        except psycopg2.OperationalError as e:
            fail("%s: recommend(%d) on model %s after the update: the backend died" % (what, user, model), e)
            return "crash"
        except psycopg2.Error as e:
            text = error_text(e)
            if e.pgcode == "XX000" or not RETRAIN.search(text):
                fail("%s: model %s after the update is refused without a clear retrain message" % (what, model),
                     text)
                return "error"
            ok("%s: model %s is refused after the update with a retrain message (%s)" % (what, model, e.pgcode))
            print("       " + text)
            return "refused"
        if expected is None:
            if not check(len(got) == 5, "%s: model %s serves after the update" % (what, model), got):
                return "error"
            continue
        want = expected[user]
        same = len(got) == len(want) and all(
            g[0] == w[0] and g[2] == w[2] and abs(g[1] - w[1]) <= 1e-9 * max(1.0, abs(w[1]))
            for g, w in zip(got, want))
        if not check(same, "%s: model %s serves user %d as 0.1.0 did" % (what, model, user),
                     "0.1.0 served %s\nnow       %s" % (want, got)):
            return "error"
    return "serves"


def main():
    sharedir = subprocess.run(["pg_config", "--sharedir"], capture_output=True, text=True,
                              check=True).stdout.strip()
    extdir = os.path.join(sharedir, "extension")
    saved = {}
    copied = []
    try:
        for version in RELEASED:
            target = os.path.join(extdir, "recpromo--%s.sql" % version)
            if os.path.exists(target):
                with open(target, "rb") as f:
                    saved[target] = f.read()
                print("note: %s already exists (a stale install?); it is restored after the test" % target)
            try:
                shutil.copyfile(os.path.join(ROOT, "test", "upgrade", "recpromo--%s.sql" % version), target)
                copied.append(target)
            except OSError as e:
                fail("install the %s fixture into %s for the test" % (version, extdir),
                     "%s\nThe upgrade test needs write access to the extension directory "
                     "(CI runs it as root)." % e)
                return
        ok("released install scripts %s copied to %s" % (", ".join(RELEASED), extdir))
        allowed = {"recpromo--%s.sql" % v for v in CHAIN} | {
            "recpromo--%s--%s.sql" % (a, b) for a, b in zip(CHAIN, CHAIN[1:])}
        stray = sorted(f for f in os.listdir(extdir)
                       if f.startswith("recpromo--") and f.endswith(".sql") and f not in allowed)
        check(not stray, "no other recpromo scripts in the extension directory", stray)

        admin = connect(os.environ.get("PGDATABASE") or "postgres")
        try:
            for db in (DB_A, DB_B, DB_C, DB_D, DB_E):
                rows(admin, "DROP DATABASE IF EXISTS " + db)
                rows(admin, "CREATE DATABASE " + db)
            run(admin, extdir)
            run_from(MID, DB_C, MID_MODELS)
            run_from(V3, DB_D, MID_MODELS + V3_MODELS)
            run_from(LAST, DB_E, MID_MODELS + V3_MODELS + LAST_MODELS)
        finally:
            for conn in OPEN:
                if conn is not admin and not conn.closed:
                    conn.close()
            for db in (DB_A, DB_B, DB_C, DB_D, DB_E):
                try:
                    rows(admin, "DROP DATABASE IF EXISTS " + db)
                except psycopg2.Error as e:
                    print("note: could not drop %s: %s" % (db, e))
            admin.close()
    finally:
        for target in copied:
            if target in saved:
                with open(target, "wb") as f:
                    f.write(saved[target])
            else:
                os.remove(target)
        print("fixtures removed from %s" % extdir)


MID_USERS = (1, 2, 3, 4)


def mid_serves(conn, models):
    out = {}
    for m in models:
        for u in MID_USERS:
            out[(m, u)] = rows(conn, "SELECT item, score, rank FROM recpromo.recommend(%s::bigint, 5, %s) "
                                     "ORDER BY rank", (u, m))
    out["propensity"] = rows(conn, "SELECT key, score FROM recpromo.score_propensity('upg20_prop', "
                                   "'upg_customers', 'id') ORDER BY key")
    return out


def _train(name, extra):
    return (name, "SELECT name FROM recpromo.train('%s', 'upg_events', 'user_id', 'item_id', %s)" % (name, extra))


MID_MODELS = (_train("upg20_pop", "method => 'popularity'"),
              _train("upg20_als", "'qty', method => 'als', factors => 4, iterations => 3, seed => 1"),
              _train("upg20_knn", "method => 'item_knn'"))
# methods that 0.3.0 added; the session model reads the events' order from a time column
V3_MODELS = (_train("upg30_ease", "method => 'ease'"),
             _train("upg30_sease", "method => 'sparse_ease'"),
             ("upg30_sknn", "SELECT name FROM recpromo.train_session('upg30_sknn', 'upg_events_t', "
                            "'user_id', 'item_id', 'ts')"))
# the method that 0.4.0 added (sessions, with the events' order)
LAST_MODELS = (("upg40_slist", "SELECT name FROM recpromo.train('upg40_slist', 'upg_events_t', "
                               "'user_id', 'item_id', method => 'slist', "
                               "params => '{\"time_col\": \"ts\"}')"),)


def run_from(version, db, trainings):
    """version + ALTER EXTENSION UPDATE: same catalog as fresh, models serve as before."""
    c = connect(db)
    try:
        rows(c, "CREATE EXTENSION recpromo VERSION %s", (version,))
    except psycopg2.Error as e:
        fail("CREATE EXTENSION recpromo VERSION '%s' with the new library" % version, error_text(e))
        return
    ok("CREATE EXTENSION recpromo VERSION '%s' (%s SQL on the new library)" % (version, version))
    with open(MODELS) as f:
        rows(c, "\n".join(l for l in f.read().splitlines()
                          if "recpromo.model" not in l and "model_id_seq" not in l))
    rows(c, """CREATE TABLE public.upg_customers AS
               SELECT i AS id, (i % 7)::float8 AS recency, ((i * 13) % 11)::float8 AS spend,
                      CASE WHEN (i * 7919) % 10 < 3 + (i % 7) / 2 THEN 1 ELSE 0 END AS bought
                 FROM generate_series(1, 300) i""")
    rows(c, """CREATE TABLE public.upg_events_t AS
               SELECT user_id, item_id, qty,
                      timestamp '2026-01-01' + (row_number() OVER (ORDER BY user_id, item_id)) * interval '1 hour' AS ts
                 FROM public.upg_events""")
    models = []
    try:
        for name, call in trainings:
            rows(c, call)
            models.append(name)
        rows(c, "SELECT * FROM recpromo.train_propensity('upg20_prop', 'upg_customers', 'bought', "
                "ARRAY['recency', 'spend']::name[])")
        before = mid_serves(c, models)
        ok("models trained through the %s API: %s, upg20_prop" % (version, ", ".join(models)))
    except psycopg2.Error as e:
        fail("train through the %s API" % version, error_text(e))
        return
    try:
        rows(c, "ALTER EXTENSION recpromo UPDATE")
    except psycopg2.Error as e:
        fail("ALTER EXTENSION recpromo UPDATE (%s -> %s)" % (version, NEW), error_text(e))
        return
    v = rows(c, "SELECT extversion FROM pg_extension WHERE extname = 'recpromo'")
    check(v == [(NEW,)], "ALTER EXTENSION recpromo UPDATE from %s reaches %s" % (version, NEW), v)
    c.close()
    c = connect(db)
    b = connect(DB_B)
    print("comparing the catalogs of %s (%s + UPDATE) and B (fresh) ..." % (db, version))
    n = compare(snapshot(c), snapshot(b))
    check(n == 0, "%s + ALTER EXTENSION UPDATE gives the same catalog objects as a fresh install" % version,
          "%d difference(s), listed above" % n if n else None)
    try:
        after = mid_serves(c, models)
    except psycopg2.Error as e:
        fail("serve the %s models after the update" % version, error_text(e))
        return
    for key in sorted(before, key=str):
        want, got = before[key], after[key]
        same = len(got) == len(want) and all(
            g[0] == w[0] and all(abs(x - y) <= 1e-9 * max(1.0, abs(y)) for x, y in zip(g[1:], w[1:]))
            for g, w in zip(got, want))
        check(same and len(want) > 0, "%s model %s serves as before the update" % (version, key),
              "before %s\nafter  %s" % (want, got))
    c.close()
    b.close()


def run(admin, extdir):
    paths = rows(admin, "SELECT source, target, path FROM pg_extension_update_paths('recpromo') "
                        "WHERE path IS NOT NULL ORDER BY 1, 2")
    want_paths = sorted((CHAIN[i], CHAIN[j], "--".join(CHAIN[i:j + 1]))
                        for i in range(len(CHAIN)) for j in range(i + 1, len(CHAIN)))
    check(paths == want_paths,
          "pg_extension_update_paths('recpromo') offers the chain %s only" % " -> ".join(CHAIN), paths)
    versions = rows(admin, "SELECT version FROM pg_available_extension_versions "
                           "WHERE name = 'recpromo' ORDER BY 1")
    check([v for v, in versions] == list(CHAIN), "available versions are %s" % ", ".join(CHAIN), versions)

    a = connect(DB_A)
    try:
        rows(a, "CREATE EXTENSION recpromo VERSION %s", (OLD,))
    except psycopg2.Error as e:
        fail("CREATE EXTENSION recpromo VERSION '0.1.0' with the new library", error_text(e))
        return
    ok("CREATE EXTENSION recpromo VERSION '0.1.0' (0.1.0 SQL on the new library)")
    with open(MODELS) as f:
        rows(a, f.read())
    expected = {}
    for model, user, item, score, rank in rows(a, "SELECT model, user_id, item, score, rank FROM upg_expected "
                                                  "ORDER BY model, user_id, rank"):
        expected.setdefault(model, {}).setdefault(user, []).append((item, score, rank))
    ok("models trained by 0.1.0 loaded: %s" % ", ".join(sorted(expected)))

    # training through the 0.1.0 SQL API, before the update (new library)
    trained_old_api = []
    for name, extra in (("upg_api_pop", "method => 'popularity'"),
                        ("upg_api_als", "'qty', method => 'als', factors => 4, iterations => 3, seed => 1")):
        try:
            rows(a, "SELECT name FROM recpromo.train('%s', 'upg_events', 'user_id', 'item_id', %s)" % (name, extra))
            trained_old_api.append(name)
            ok("train('%s') through the 0.1.0 SQL API before the update" % name)
        except psycopg2.OperationalError as e:
            fail("train('%s') through the 0.1.0 SQL API: the backend died" % name, e)
            a = connect(DB_A)
        except psycopg2.Error as e:
            check(e.pgcode != "XX000",
                  "train('%s') through the 0.1.0 SQL API before the update is refused cleanly" % name,
                  error_text(e))
            print("       " + error_text(e))

    try:
        rows(a, "ALTER EXTENSION recpromo UPDATE")
    except psycopg2.Error as e:
        fail("ALTER EXTENSION recpromo UPDATE (%s)" % " -> ".join(CHAIN), error_text(e))
        return
    v = rows(a, "SELECT extversion FROM pg_extension WHERE extname = 'recpromo'")
    check(v == [(NEW,)], "ALTER EXTENSION recpromo UPDATE reaches %s" % NEW, v)

    b = connect(DB_B)
    rows(b, "CREATE EXTENSION recpromo")
    ok("CREATE EXTENSION recpromo (fresh %s)" % NEW)

    # the catalogs: a new session on A, so nothing cached from before the update
    a.close()
    a = connect(DB_A)
    sa, sb = snapshot(a), snapshot(b)
    counts = ", ".join("%d %s" % (len(sb[c]), c) for c in ("function", "relation", "type", "comment"))
    print("comparing the catalogs of A (0.1.0 + UPDATE) and B (fresh): %s ..." % counts)
    n = compare(sa, sb)
    check(n == 0 and len(sb["function"]) > 0,
          "0.1.0 + ALTER EXTENSION UPDATE gives the same catalog objects as a fresh install",
          "%d difference(s), listed above" % n if n else None)

    # models from before the update
    for model in sorted(expected):
        serve_check(a, model, expected[model], "trained by 0.1.0")
    for model in trained_old_api:
        serve_check(a, model, None, "trained through the 0.1.0 API")
    try:
        listed = rows(a, "SELECT name FROM recpromo.models ORDER BY name")
        ok("recpromo.models after the update lists %s" % ", ".join(r[0] for r in listed))
    except psycopg2.Error as e:
        fail("SELECT FROM recpromo.models after the update", error_text(e))

    # the updated database trains and serves like a fresh one
    try:
        rows(a, "SELECT name FROM recpromo.train('upg_after', 'upg_events', 'user_id', 'item_id', 'qty', "
                "method => 'als', factors => 4, iterations => 3, seed => 1)")
        got_a = rows(a, "SELECT item, round(score::numeric, 6) FROM recpromo.recommend(3::bigint, 5, 'upg_after') "
                        "ORDER BY rank")
        with open(MODELS) as f:
            rows(b, "\n".join(l for l in f.read().splitlines()
                              if "recpromo.model" not in l and "model_id_seq" not in l))
        rows(b, "SELECT name FROM recpromo.train('upg_after', 'upg_events', 'user_id', 'item_id', 'qty', "
                "method => 'als', factors => 4, iterations => 3, seed => 1)")
        got_b = rows(b, "SELECT item, round(score::numeric, 6) FROM recpromo.recommend(3::bigint, 5, 'upg_after') "
                        "ORDER BY rank")
        check(got_a == got_b and len(got_a) == 5,
              "a model trained after the update serves as in a fresh install", "A %s\nB %s" % (got_a, got_b))
    except psycopg2.Error as e:
        fail("train and serve after the update", error_text(e))
    a.close()
    b.close()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report, never hide a failure behind a traceback only
        fail("upgrade test aborted", repr(e))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
