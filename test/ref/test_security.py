#!/usr/bin/python3
"""Security suite (issue 10, "How it is checked").

A non-superuser role, recpromo_attacker, plants trojans where a superuser's
name lookups can reach them; every trojan runs the canary of pg_pathman's
pathman_CVE-2020-14350 test: it tries ALTER ROLE recpromo_attacker SUPERUSER
(which works only when a superuser runs it), bumps a sequence (kept even when
the calling statement rolls back), inserts a row into a canary table and
raises a WARNING naming itself.  The suite asserts that nothing fired and that
the attacker is still not a superuser.

1. Install into a hostile schema (the CVE-2022-2625 pattern): in a database
   owned by the attacker, the attacker creates the schema recpromo (with
   format() overloads and operators in it, or empty); the superuser's
   CREATE EXTENSION recpromo must fail with a clear message.
2. Runtime capture: the attacker has CREATE on public and plants same-name
   functions, aggregates, operators, domains named like built-in types and
   views named like catalogs or recpromo's tables there, with argument types
   that match calls better than pg_catalog's.  The superuser then calls every
   function of the extension (enumerated from pg_depend; a function without a
   sample call here is a failure, so new functions get covered) under
   search_path = public, pg_catalog; public, recpromo (the README's); and
   public, pg_catalog, recpromo.  After each call: no canary, attacker not
   superuser, and no "is not unique" error (42725), which would mean that name
   resolution reached the attacker's objects.
3. Internal entry points (names starting with "_") are not executable by
   PUBLIC (issue 18), except the entries of ALLOW_PUBLIC, each with the
   reason it is still there, and the internal helpers of the promotion
   layer up to 0.2.0 exist no more.
4. Every SQL and PL/pgSQL function of the extension has
   SET search_path = pg_catalog, pg_temp (pg_temp last) and none has a
   SQL-standard body.

Runs inside the test cluster as a superuser (libpq environment set); creates
and drops its own databases and role; prints "N passed, N failed".
"""
import io
import json
import os
import sys
import time

import psycopg2
import psycopg2.extensions

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rptest import check, connect, report  # noqa: E402

ATTACKER = "recpromo_attacker"
DB_INSTALL = "recpromo_sec_install"
DB_INSTALL_EMPTY = "recpromo_sec_install_empty"
DB_RUN = "recpromo_sec_runtime"
HOSTILE_PATHS = ["public, pg_catalog", "public, recpromo", "public, pg_catalog, recpromo"]

fired_report = {}      # function signature -> set of (path, trojan label)
error_report = {}      # function signature -> set of (path, sqlstate, message)


def run(cur, sql, args=None):
    cur.execute(sql, args)
    try:
        return cur.fetchall()
    except psycopg2.ProgrammingError:
        return None


# ---------------------------------------------------------------------------
# Trojans
# ---------------------------------------------------------------------------

def canary_sql(schema):
    """The canary objects, owned by the attacker, usable by everyone."""
    return f"""
CREATE SEQUENCE {schema}.rp_canary_seq;
CREATE TABLE {schema}.rp_canary (label pg_catalog.text, by_role pg_catalog.text);
GRANT USAGE, UPDATE, SELECT ON SEQUENCE {schema}.rp_canary_seq TO PUBLIC;
GRANT INSERT, SELECT ON {schema}.rp_canary TO PUBLIC;
CREATE FUNCTION {schema}.rp_canary_fire(label pg_catalog.text) RETURNS pg_catalog.bool
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
    flag pg_catalog.text := 'rp_canary.l' || pg_catalog.left(pg_catalog.md5(label), 16);
BEGIN
    -- once per label and transaction: the rest of a statement adds nothing
    IF pg_catalog.current_setting(flag, true) IS NOT DISTINCT FROM 'on' THEN
        RETURN true;
    END IF;
    PERFORM pg_catalog.set_config(flag, 'on', true);
    PERFORM pg_catalog.nextval('{schema}.rp_canary_seq'::pg_catalog.regclass);
    BEGIN
        EXECUTE 'ALTER ROLE {ATTACKER} SUPERUSER';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    BEGIN
        INSERT INTO {schema}.rp_canary VALUES (label, current_user);
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    RAISE WARNING 'recpromo trojan fired: % (as %)', label, current_user;
    RETURN true;
END
$f$;
"""


# functions: (name, argument list, return type, real expression over $1..$n)
FUNCTION_TROJANS = [
    ("format", "pg_catalog.text", "pg_catalog.text", "pg_catalog.format($1)"),
    ("format", "pg_catalog.text, pg_catalog.name", "pg_catalog.text", "pg_catalog.format($1, $2)"),
    ("format", "pg_catalog.text, pg_catalog.text", "pg_catalog.text", "pg_catalog.format($1, $2)"),
    ("format", "pg_catalog.text, pg_catalog.regclass", "pg_catalog.text", "pg_catalog.format($1, $2)"),
    ("format", "pg_catalog.text, pg_catalog.float8", "pg_catalog.text", "pg_catalog.format($1, $2)"),
    ("format", "pg_catalog.text, pg_catalog.jsonb", "pg_catalog.text", "pg_catalog.format($1, $2)"),
    ("format", "pg_catalog.text, pg_catalog.name, pg_catalog.regclass", "pg_catalog.text",
     "pg_catalog.format($1, $2, $3)"),
    ("format", "pg_catalog.text, pg_catalog.name, pg_catalog.name, pg_catalog.regclass", "pg_catalog.text",
     "pg_catalog.format($1, $2, $3, $4)"),
    ("format", "pg_catalog.text, pg_catalog.name, pg_catalog.text, pg_catalog.regclass", "pg_catalog.text",
     "pg_catalog.format($1, $2, $3, $4)"),
    ("format", "pg_catalog.text, VARIADIC pg_catalog.name[]", "pg_catalog.text",
     "pg_catalog.format($1, VARIADIC $2)"),
    ("format", "pg_catalog.text, VARIADIC pg_catalog.text[]", "pg_catalog.text",
     "pg_catalog.format($1, VARIADIC $2)"),
    ("nextval", "pg_catalog.text", "pg_catalog.int8", "pg_catalog.nextval($1::pg_catalog.regclass)"),
    ("lower", "pg_catalog.text", "pg_catalog.text", "pg_catalog.lower($1)"),
    ("lower", "pg_catalog.name", "pg_catalog.text", "pg_catalog.lower($1)"),
    ("lower", "pg_catalog.varchar", "pg_catalog.text", "pg_catalog.lower($1)"),
    ("upper", "pg_catalog.text", "pg_catalog.text", "pg_catalog.upper($1)"),
    ("upper", "pg_catalog.name", "pg_catalog.text", "pg_catalog.upper($1)"),
    ("btrim", "pg_catalog.text", "pg_catalog.text", "pg_catalog.btrim($1)"),
    ("btrim", "pg_catalog.name", "pg_catalog.text", "pg_catalog.btrim($1)"),
    ("length", "pg_catalog.text", "pg_catalog.int4", "pg_catalog.length($1)"),
    ("length", "pg_catalog.name", "pg_catalog.int4", "pg_catalog.length($1)"),
    ("quote_ident", "pg_catalog.text", "pg_catalog.text", "pg_catalog.quote_ident($1)"),
    ("quote_ident", "pg_catalog.name", "pg_catalog.text", "pg_catalog.quote_ident($1)"),
    ("quote_literal", "pg_catalog.text", "pg_catalog.text", "pg_catalog.quote_literal($1)"),
    ("replace", "pg_catalog.text, pg_catalog.text, pg_catalog.text", "pg_catalog.text",
     "pg_catalog.replace($1, $2, $3)"),
    ("array_to_string", "pg_catalog.text[], pg_catalog.text", "pg_catalog.text",
     "pg_catalog.array_to_string($1, $2)"),
    ("array_to_string", "pg_catalog.name[], pg_catalog.text", "pg_catalog.text",
     "pg_catalog.array_to_string($1, $2)"),
    ("cardinality", "pg_catalog.text[]", "pg_catalog.int4", "pg_catalog.cardinality($1)"),
    ("cardinality", "pg_catalog.name[]", "pg_catalog.int4", "pg_catalog.cardinality($1)"),
    ("cardinality", "pg_catalog.float8[]", "pg_catalog.int4", "pg_catalog.cardinality($1)"),
    ("to_regclass", "pg_catalog.text", "pg_catalog.regclass", "pg_catalog.to_regclass($1)"),
    ("to_jsonb", "pg_catalog.text[]", "pg_catalog.jsonb", "pg_catalog.to_jsonb($1)"),
    ("to_jsonb", "pg_catalog.name[]", "pg_catalog.jsonb", "pg_catalog.to_jsonb($1)"),
    ("to_jsonb", "pg_catalog.text", "pg_catalog.jsonb", "pg_catalog.to_jsonb($1)"),
    ("jsonb_build_object", "VARIADIC pg_catalog.text[]", "pg_catalog.jsonb",
     "pg_catalog.jsonb_build_object(VARIADIC $1)"),
    ("jsonb_build_object", "pg_catalog.text, pg_catalog.name", "pg_catalog.jsonb",
     "pg_catalog.jsonb_build_object($1, $2)"),
    ("jsonb_build_object", "pg_catalog.text, pg_catalog.float8", "pg_catalog.jsonb",
     "pg_catalog.jsonb_build_object($1, $2)"),
    ("jsonb_build_array", "VARIADIC pg_catalog.text[]", "pg_catalog.jsonb",
     "pg_catalog.jsonb_build_array(VARIADIC $1)"),
    ("jsonb_typeof", "pg_catalog.jsonb", "pg_catalog.text", "pg_catalog.jsonb_typeof($1)"),
    ("jsonb_strip_nulls", "pg_catalog.jsonb", "pg_catalog.jsonb", "pg_catalog.jsonb_strip_nulls($1)"),
    ("sqrt", "pg_catalog.float8", "pg_catalog.float8", "pg_catalog.sqrt($1)"),
    ("abs", "pg_catalog.float8", "pg_catalog.float8", "pg_catalog.abs($1)"),
    ("floor", "pg_catalog.float8", "pg_catalog.float8", "pg_catalog.floor($1)"),
    ("round", "pg_catalog.float8", "pg_catalog.float8", "pg_catalog.round($1)"),
    ("exp", "pg_catalog.float8", "pg_catalog.float8", "pg_catalog.exp($1)"),
    ("ln", "pg_catalog.float8", "pg_catalog.float8", "pg_catalog.ln($1)"),
    ("now", "", "pg_catalog.timestamptz", "pg_catalog.now()"),
    ("clock_timestamp", "", "pg_catalog.timestamptz", "pg_catalog.clock_timestamp()"),
    ("current_setting", "pg_catalog.text", "pg_catalog.text", "pg_catalog.current_setting($1)"),
    ("pg_typeof", "pg_catalog.text", "pg_catalog.regtype", "pg_catalog.pg_typeof($1)"),
    ("regexp_replace", "pg_catalog.text, pg_catalog.text, pg_catalog.text", "pg_catalog.text",
     "pg_catalog.regexp_replace($1, $2, $3)"),
    ("substr", "pg_catalog.text, pg_catalog.int4, pg_catalog.int4", "pg_catalog.text",
     "pg_catalog.substr($1, $2, $3)"),
    ("md5", "pg_catalog.text", "pg_catalog.text", "pg_catalog.md5($1)"),
    ("trunc", "pg_catalog.numeric", "pg_catalog.numeric", "pg_catalog.trunc($1)"),
    ("octet_length", "pg_catalog.bytea", "pg_catalog.int4", "pg_catalog.octet_length($1)"),
    ("sigmoid", "pg_catalog.float8", "pg_catalog.float8", "1 / (1 + pg_catalog.exp(-$1))"),
]

# set-returning functions: (name, argument list, element type, real expression)
SRF_TROJANS = [
    ("unnest", "pg_catalog.text[]", "pg_catalog.text", "pg_catalog.unnest($1)"),
    ("unnest", "pg_catalog.float8[]", "pg_catalog.float8", "pg_catalog.unnest($1)"),
    ("unnest", "pg_catalog.name[]", "pg_catalog.name", "pg_catalog.unnest($1)"),
    ("jsonb_array_elements", "pg_catalog.jsonb", "pg_catalog.jsonb", "pg_catalog.jsonb_array_elements($1)"),
    ("generate_series", "pg_catalog.int4, pg_catalog.int4", "pg_catalog.int4",
     "pg_catalog.generate_series($1, $2)"),
    ("regexp_split_to_table", "pg_catalog.text, pg_catalog.text", "pg_catalog.text",
     "pg_catalog.regexp_split_to_table($1, $2)"),
    ("jsonb_each", "pg_catalog.jsonb", "record", "* FROM pg_catalog.jsonb_each($1)"),
]

# aggregates: (name, input type, state type, transition expression over s, x)
AGG_TROJANS = [
    ("array_agg", "pg_catalog.text", "pg_catalog.text[]", "pg_catalog.array_append(s, x)"),
    ("array_agg", "pg_catalog.float8", "pg_catalog.float8[]", "pg_catalog.array_append(s, x)"),
    ("array_agg", "pg_catalog.bool", "pg_catalog.bool[]", "pg_catalog.array_append(s, x)"),
    ("array_agg", "pg_catalog.int4", "pg_catalog.int4[]", "pg_catalog.array_append(s, x)"),
    ("array_agg", "pg_catalog.int8", "pg_catalog.int8[]", "pg_catalog.array_append(s, x)"),
    ("sum", "pg_catalog.float8", "pg_catalog.float8",
     "CASE WHEN x IS NULL THEN s WHEN s IS NULL THEN x ELSE s OPERATOR(pg_catalog.+) x END"),
    ("sum", "pg_catalog.numeric", "pg_catalog.numeric",
     "CASE WHEN x IS NULL THEN s WHEN s IS NULL THEN x ELSE s OPERATOR(pg_catalog.+) x END"),
    ("sum", "pg_catalog.int4", "pg_catalog.int8",
     "CASE WHEN x IS NULL THEN s WHEN s IS NULL THEN x ELSE s OPERATOR(pg_catalog.+) x END"),
    ("string_agg", "pg_catalog.text, pg_catalog.text", "pg_catalog.text",
     "CASE WHEN x IS NULL THEN s WHEN s IS NULL THEN x ELSE s OPERATOR(pg_catalog.||) y "
     "OPERATOR(pg_catalog.||) x END"),
    ("min", "pg_catalog.float8", "pg_catalog.float8",
     "CASE WHEN x IS NULL THEN s WHEN s IS NULL OR x < s THEN x ELSE s END"),
    ("max", "pg_catalog.float8", "pg_catalog.float8",
     "CASE WHEN x IS NULL THEN s WHEN s IS NULL OR x > s THEN x ELSE s END"),
    ("bool_or", "pg_catalog.bool", "pg_catalog.bool",
     "CASE WHEN x IS NULL THEN s WHEN s IS NULL THEN x ELSE s OR x END"),
]

# aggregates with a final function: (name, input type, final expression over
# the state float8[] {n, sum, sum of squares}, result type)
MOMENT_AGG_TROJANS = [
    ("avg", "pg_catalog.float8", "s[2] / s[1]", "pg_catalog.float8"),
    ("var_pop", "pg_catalog.float8", "s[3] / s[1] - (s[2] / s[1]) ^ 2", "pg_catalog.float8"),
    ("stddev_pop", "pg_catalog.float8", "pg_catalog.sqrt(pg_catalog.greatest(s[3] / s[1] - (s[2] / s[1]) ^ 2, 0))",
     "pg_catalog.float8"),
]

NUMERIC_TYPES = ["int2", "int4", "int8", "float4", "float8", "numeric"]
STRING_TYPES = ["text", "name", "varchar", "bpchar"]
OPERATOR_COMBOS = []
for _op in ["=", "<>", "<", ">", "<=", ">="]:
    for _l in NUMERIC_TYPES:
        for _r in NUMERIC_TYPES:
            OPERATOR_COMBOS.append((_op, _l, _r))
    for _l in STRING_TYPES:
        for _r in STRING_TYPES:
            OPERATOR_COMBOS.append((_op, _l, _r))
    for _t in ["bool", "uuid", "timestamptz", "date", "jsonb", "text[]", "regtype", "regclass", "oid"]:
        OPERATOR_COMBOS.append((_op, _t, _t))
for _op in ["+", "-", "*", "/"]:
    for _l in NUMERIC_TYPES:
        for _r in NUMERIC_TYPES:
            OPERATOR_COMBOS.append((_op, _l, _r))
OPERATOR_COMBOS += [("-", "timestamptz", "timestamptz"), ("-", "date", "date"),
                    ("||", "text", "text"), ("||", "text", "name"), ("||", "name", "text"),
                    ("||", "varchar", "text"), ("||", "text", "varchar"), ("||", "text", "int4"),
                    ("||", "text", "int8"), ("||", "text", "float8"), ("||", "text[]", "text"),
                    ("||", "text[]", "text[]"), ("||", "jsonb", "jsonb"), ("||", "name[]", "name"),
                    ("||", "float8[]", "float8"), ("||", "text", "bool"),
                    ("->>", "jsonb", "text"), ("->>", "jsonb", "int4"), ("->", "jsonb", "text"),
                    ("->", "jsonb", "int4"), ("@>", "jsonb", "jsonb"), ("@>", "text[]", "text[]"),
                    ("<@", "text[]", "text[]"), ("~", "text", "text"), ("~", "name", "text"),
                    ("~", "varchar", "text"), ("?", "jsonb", "text")]

# domains named like built-in types (a non-keyword type name resolves
# through search_path, and a domain CHECK runs the canary)
DOMAIN_TROJANS = ["text", "float8", "float4", "int8", "int4", "int2", "jsonb", "regclass", "regtype",
                  "timestamptz", "bool", "name", "date", "uuid", "varchar"]

# views named like catalogs or recpromo's relations, each row runs the canary
VIEW_TROJANS = ["pg_catalog.pg_attribute", "pg_catalog.pg_type", "pg_catalog.pg_class",
                "pg_catalog.pg_namespace", "pg_catalog.pg_proc", "pg_catalog.pg_roles",
                "pg_catalog.pg_extension", "pg_catalog.pg_depend", "pg_catalog.pg_index",
                "recpromo.model", "recpromo.model_part", "recpromo.models"]


def plant_trojans(cur, schema, views=True, domains=True):
    """Creates every trojan in schema (the caller has SET ROLE to the attacker)."""
    n = 0
    planted = 0

    def fn(label, args, ret, body, setof=False):
        nonlocal n, planted
        n += 1
        fname = f"{schema}.rp_trojan_{n}"
        cur.execute(f"""
CREATE FUNCTION {fname}({args}) RETURNS {'SETOF ' if setof else ''}{ret}
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $t$
BEGIN
    PERFORM {schema}.rp_canary_fire({psycopg2.extensions.QuotedString(label).getquoted().decode()});
    {body}
END
$t$""")
        planted += 1
        return fname

    for name, args, ret, expr in FUNCTION_TROJANS:
        n += 1
        label = f"function {schema}.{name}({args.replace('pg_catalog.', '')})"
        cur.execute(f"""
CREATE FUNCTION {schema}.{name}({args}) RETURNS {ret}
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $t$
BEGIN
    PERFORM {schema}.rp_canary_fire({psycopg2.extensions.QuotedString(label).getquoted().decode()});
    RETURN {expr};
END
$t$""")
        planted += 1
    for name, args, elem, expr in SRF_TROJANS:
        label = f"function {schema}.{name}({args.replace('pg_catalog.', '')})"
        ret = "TABLE (key pg_catalog.text, value pg_catalog.jsonb)" if elem == "record" else "SETOF " + elem
        cur.execute(f"""
CREATE FUNCTION {schema}.{name}({args}) RETURNS {ret}
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $t$
BEGIN
    PERFORM {schema}.rp_canary_fire({psycopg2.extensions.QuotedString(label).getquoted().decode()});
    RETURN QUERY SELECT {expr};
END
$t$""")
        planted += 1
    for name, itype, stype, expr in AGG_TROJANS:
        label = f"aggregate {schema}.{name}({itype.replace('pg_catalog.', '')})"
        two = "," in itype
        params = "s " + stype + ", x " + itype.split(",")[0] + (", y " + itype.split(",")[1] if two else "")
        sfunc = fn(label, params, stype, f"RETURN {expr};")
        cur.execute(f"CREATE AGGREGATE {schema}.{name}({itype}) (SFUNC = {sfunc}, STYPE = {stype})")
    for name, itype, final, rtype in MOMENT_AGG_TROJANS:
        label = f"aggregate {schema}.{name}({itype.replace('pg_catalog.', '')})"
        sfunc = fn(label, f"s pg_catalog.float8[], x {itype}", "pg_catalog.float8[]",
                   "RETURN CASE WHEN x IS NULL THEN s ELSE ARRAY[s[1] + 1, s[2] + x, s[3] + x * x] END;")
        ffunc = fn(label, "s pg_catalog.float8[]", rtype,
                   f"RETURN CASE WHEN s[1] = 0 THEN NULL ELSE {final} END;")
        cur.execute(f"CREATE AGGREGATE {schema}.{name}({itype}) (SFUNC = {sfunc}, STYPE = pg_catalog.float8[], "
                    f"FINALFUNC = {ffunc}, INITCOND = '{{0,0,0}}')")
    label = f"aggregate {schema}.count(*)"
    sfunc = fn(label, "s pg_catalog.int8", "pg_catalog.int8", "RETURN s + 1;")
    cur.execute(f"CREATE AGGREGATE {schema}.count(*) (SFUNC = {sfunc}, STYPE = pg_catalog.int8, INITCOND = '0')")
    for op, lt, rt in OPERATOR_COMBOS:
        try:
            cur.execute(f"SELECT pg_catalog.pg_typeof(NULL::pg_catalog.{lt} OPERATOR(pg_catalog.{op}) "
                        f"NULL::pg_catalog.{rt})::pg_catalog.text")
            ret = cur.fetchone()[0]
        except psycopg2.Error:
            continue
        if ret == "unknown":
            continue
        label = f"operator {schema}.{op}({lt},{rt})"
        f = fn(label, f"a pg_catalog.{lt}, b pg_catalog.{rt}", ret,
               f"RETURN a OPERATOR(pg_catalog.{op}) b;")
        cur.execute(f"CREATE OPERATOR {schema}.{op} (LEFTARG = pg_catalog.{lt}, "
                    f"RIGHTARG = pg_catalog.{rt}, FUNCTION = {f})")
    if domains:
        for t in DOMAIN_TROJANS:
            label = f"domain {schema}.{t}"
            chk = fn(label, "", "pg_catalog.bool", "RETURN true;")
            cur.execute(f"CREATE DOMAIN {schema}.{t} AS pg_catalog.{t} CHECK ({chk}())")
    if views:
        for rel in VIEW_TROJANS:
            nsp, name = rel.split(".")
            cols = run(cur, """SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
                                 FROM pg_catalog.pg_attribute a
                                 JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
                                WHERE t.typtype OPERATOR(pg_catalog.<>) 'p'
                                  AND a.attrelid OPERATOR(pg_catalog.=) (
                                      SELECT c.oid FROM pg_catalog.pg_class c
                                        JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                                       WHERE n.nspname OPERATOR(pg_catalog.=) %s
                                         AND c.relname OPERATOR(pg_catalog.=) %s)
                                  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
                                ORDER BY a.attnum""", (nsp, name))
            if not cols:
                continue
            label = f"view {schema}.{name}"
            chk = fn(label, "", "pg_catalog.bool", "RETURN true;")
            sel = ", ".join(f"NULL::{t} AS {psycopg2.extensions.quote_ident(c, cur)}" for c, t in cols)
            cur.execute(f"CREATE VIEW {schema}.{name} AS SELECT {sel} WHERE {chk}()")
    return planted


class Canary:
    """Reads the canary state through a separate, clean connection."""

    def __init__(self, db, schema="public"):
        self.conn = connect(db)
        self.cur = self.conn.cursor()
        self.cur.execute("SET search_path = pg_catalog, pg_temp")
        self.schema = schema

    def state(self):
        self.cur.execute(f"""SELECT (SELECT r.rolsuper FROM pg_catalog.pg_roles r
                                      WHERE r.rolname OPERATOR(pg_catalog.=) %s),
                                    (SELECT s.last_value FROM {self.schema}.rp_canary_seq s),
                                    (SELECT s.is_called FROM {self.schema}.rp_canary_seq s),
                                    ARRAY(SELECT c.label FROM {self.schema}.rp_canary c)""", (ATTACKER,))
        return self.cur.fetchone()

    def reset(self):
        self.cur.execute(f"ALTER ROLE {ATTACKER} NOSUPERUSER")
        self.cur.execute(f"DELETE FROM {self.schema}.rp_canary")

    def close(self):
        self.conn.close()


# ---------------------------------------------------------------------------
# Setup and teardown
# ---------------------------------------------------------------------------

def drop_everything(admin):
    cur = admin.cursor()
    for db in (DB_INSTALL, DB_INSTALL_EMPTY, DB_RUN, DB_HOSTILE):
        cur.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    cur.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (ATTACKER,))
    if cur.fetchone():
        cur.execute(f"DROP OWNED BY {ATTACKER}")
        cur.execute(f"DROP ROLE {ATTACKER}")


def scenario_install(admin):
    """Scenario 1: CREATE EXTENSION into a schema the attacker created."""
    cur = admin.cursor()
    cur.execute(f"CREATE DATABASE {DB_INSTALL} OWNER {ATTACKER}")
    cur.execute(f"CREATE DATABASE {DB_INSTALL_EMPTY}")
    cur.execute(f"GRANT CREATE ON DATABASE {DB_INSTALL_EMPTY} TO {ATTACKER}")

    # 1a: schema recpromo with trojans, in a database the attacker owns
    conn = connect(DB_INSTALL)
    c = conn.cursor()
    c.execute(f"SET ROLE {ATTACKER}")
    c.execute("CREATE SCHEMA recpromo")
    # the canary stays in public; the trojans go into the schema the
    # extension is about to be created in
    c.execute("SET search_path = pg_catalog, pg_temp")
    c.execute(canary_sql("public"))
    plant_in_schema(c, "recpromo")
    c.execute("RESET ROLE")
    c.execute("RESET search_path")
    canary = Canary(DB_INSTALL)
    err = None
    try:
        c.execute("CREATE EXTENSION recpromo")
    except psycopg2.Error as e:
        err = e
    if check("install into an attacker's schema with trojans is refused", err is not None,
             "CREATE EXTENSION recpromo succeeded in a schema created by " + ATTACKER):
        msg = (err.pgerror or "").strip().splitlines()[0] if err.pgerror else str(err)
        check("install refusal names the schema", "recpromo" in msg, msg)
        print("  refusal:", msg)
    else:
        # show what the unfixed install leads to: the superuser trains a propensity model
        c.execute("CREATE TABLE public.sec_p AS SELECT i AS id, (i % 7)::float8 AS x, "
                  "(i % 2) AS y FROM pg_catalog.generate_series(1, 40) i")
        try:
            c.execute("SELECT * FROM recpromo.train_propensity('p', 'public.sec_p', 'y', '{x}')")
        except psycopg2.Error as e:
            print("  train_propensity after the hostile install raised:", str(e).splitlines()[0])
    sup, _, called, labels = canary.state()
    check("hostile install: attacker is not superuser", not sup,
          f"{ATTACKER} became SUPERUSER; trojans: {sorted(set(labels))}")
    check("hostile install: no trojan fired", not called,
          f"trojans fired: {sorted(set(labels))}")
    if sup or called:
        print("  install scenario fired:", sorted(set(labels)))
    canary.reset()
    canary.close()
    conn.close()

    # 1b: an empty schema recpromo that the attacker created
    conn = connect(DB_INSTALL_EMPTY)
    c = conn.cursor()
    c.execute(f"SET ROLE {ATTACKER}")
    c.execute("CREATE SCHEMA recpromo")
    c.execute("RESET ROLE")
    err = None
    try:
        c.execute("CREATE EXTENSION recpromo")
    except psycopg2.Error as e:
        err = e
    check("install into an attacker's empty schema is refused", err is not None,
          "CREATE EXTENSION recpromo succeeded in an empty schema created by " + ATTACKER)
    if err is not None:
        print("  refusal:", (err.pgerror or str(err)).strip().splitlines()[0])
    conn.close()


def plant_in_schema(cur, schema):
    """format() and operator trojans in the extension's future schema (no views, no domains)."""
    # canary helpers live in public; the trojans in schema call them there
    n = 0
    for name, args, ret, expr in FUNCTION_TROJANS:
        if name not in ("format", "nextval", "lower", "to_jsonb", "jsonb_build_object", "array_to_string"):
            continue
        label = f"function {schema}.{name}({args.replace('pg_catalog.', '')})"
        cur.execute(f"""
CREATE FUNCTION {schema}.{name}({args}) RETURNS {ret}
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $t$
BEGIN
    PERFORM public.rp_canary_fire({psycopg2.extensions.QuotedString(label).getquoted().decode()});
    RETURN {expr};
END
$t$""")
    for op, lt, rt in [("=", "text", "text"), ("=", "int8", "int8"), ("=", "name", "name"),
                       ("||", "text", "text"), ("=", "float8", "int4")]:
        n += 1
        label = f"operator {schema}.{op}({lt},{rt})"
        cur.execute(f"""
CREATE FUNCTION {schema}.rp_trojan_op_{n}(a pg_catalog.{lt}, b pg_catalog.{rt}) RETURNS
    {'pg_catalog.text' if op == '||' else 'pg_catalog.bool'}
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $t$
BEGIN
    PERFORM public.rp_canary_fire({psycopg2.extensions.QuotedString(label).getquoted().decode()});
    RETURN a OPERATOR(pg_catalog.{op}) b;
END
$t$""")
        cur.execute(f"CREATE OPERATOR {schema}.{op} (LEFTARG = pg_catalog.{lt}, RIGHTARG = pg_catalog.{rt}, "
                    f"FUNCTION = {schema}.rp_trojan_op_{n})")


# ---------------------------------------------------------------------------
# Scenario 2: data, models and one sample call per function
# ---------------------------------------------------------------------------

SETUP_SQL = r"""
SET search_path = pg_catalog, pg_temp;
CREATE SCHEMA shop;
CREATE TABLE shop.orders (customer_id bigint, product_id bigint, quantity numeric,
                          ordered_at timestamptz, amount numeric, category text, invoice text);
INSERT INTO shop.orders
SELECT c, p, 1 + (c * p) % 3, timestamptz '2024-06-01 00:00+00' - ((c * 7 + p) % 90) * interval '1 day',
       ((c + p) % 5 + 1) * 2.5, (ARRAY['toys', 'books', 'food', 'garden'])[1 + p % 4], 'i' || c || '-' || (p % 3)
  FROM generate_series(1, 40) c, generate_series(1, 24) p
 WHERE (c * 5 + p * 3) % 7 < 3 OR (p % 6) = (c % 6);
CREATE TABLE shop.orders_text AS
SELECT 'c' || customer_id AS customer, 'sku' || product_id AS product, quantity FROM shop.orders;
CREATE TABLE shop.orders_int AS
SELECT customer_id::int AS customer, product_id::int AS product, quantity::int AS quantity FROM shop.orders;
CREATE TABLE shop.orders_varchar AS
SELECT ('c' || customer_id)::varchar(20) AS customer, ('sku' || product_id)::varchar(20) AS product
  FROM shop.orders;
CREATE TABLE shop.orders_uuid AS
SELECT ('00000000-0000-0000-0000-' || lpad(customer_id::text, 12, '0'))::uuid AS customer,
       product_id AS product FROM shop.orders;
CREATE TABLE shop.ratings AS
SELECT customer_id, product_id, (1 + (customer_id + product_id) % 5)::float8 AS stars FROM shop.orders;
CREATE TABLE shop.test_orders AS
SELECT customer_id, product_id, quantity FROM shop.orders WHERE (customer_id + product_id) % 4 = 0;
CREATE TABLE shop.recs AS
SELECT customer_id AS user_id, product_id AS item_id, row_number() OVER (PARTITION BY customer_id ORDER BY product_id) AS rank
  FROM shop.orders WHERE customer_id <= 10;
CREATE TABLE shop.rec_test AS
SELECT customer_id AS user_id, product_id AS item_id, quantity FROM shop.test_orders;
CREATE TABLE shop.products AS
SELECT p AS product_id, (ARRAY['toys', 'books', 'food', 'garden'])[1 + p % 4] AS category,
       ARRAY['tag' || (p % 3), 'tag' || (p % 5)] AS tags, (p * 1.5)::numeric AS price,
       'product number ' || p || ' red' AS title
  FROM generate_series(1, 30) p;
CREATE TABLE shop.boosts AS SELECT p AS item_id, 1.0 + (p % 3) * 0.5 AS weight FROM generate_series(1, 24) p;
CREATE TABLE shop.cats AS SELECT p AS item_id, (ARRAY['toys', 'books', 'food', 'garden'])[1 + p % 4] AS category
  FROM generate_series(1, 24) p;
CREATE TABLE shop.customer_vec AS
SELECT c AS id, ARRAY[sin(c), cos(c), 0.5]::float8[] AS factors FROM generate_series(1, 40) c;
CREATE TABLE shop.product_vec AS
SELECT p AS id, ARRAY[cos(p), sin(p), (p % 3) - 1.0]::float8[] AS factors FROM generate_series(1, 24) p;
CREATE TABLE shop.cust AS
SELECT i AS id, (i * 37 % 11)::float8 AS visits, ((i * 13) % 10) / 10.0 AS discount_share,
       (ARRAY['web', 'shop', 'app'])[1 + i % 3] AS channel,
       CASE WHEN (i * 37 % 11) + (i % 3) > 6 THEN 1 ELSE 0 END AS bought,
       (ARRAY['control', 'A', 'B'])[1 + (i * 7) % 3] AS arm,
       CASE WHEN (i * 7) % 3 > 0 AND i % 2 = 0 THEN 1 WHEN i % 5 = 0 THEN 1 ELSE 0 END AS y,
       (i % 9)::numeric AS revenue, ((i * 31) % 17) / 17.0 AS x1, ((i * 11) % 13) / 13.0 AS x2,
       ((i * 3) % 7) / 7.0 AS score
  FROM generate_series(1, 300) i;
CREATE TABLE shop.candidates AS
SELECT c AS customer, o AS offer, (c % 7 + 1) * 1.5 AS value, (ARRAY[1.0, 2.0])[o_i] AS cost
  FROM generate_series(1, 30) c, unnest(ARRAY['cheap', 'gold']) WITH ORDINALITY u(o, o_i);
CREATE TABLE shop.svec_io (v recpromo.svec);
INSERT INTO shop.svec_io VALUES ('{1:0.5,3:2}');
GRANT USAGE ON SCHEMA shop TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO PUBLIC;
ANALYZE;
SELECT recpromo.train('m_als', 'shop.orders', 'customer_id', 'product_id', 'quantity', method => 'als',
                      factors => 4, iterations => 3, seed => 1);
SELECT recpromo.train('m_explicit', 'shop.ratings', 'customer_id', 'product_id', 'stars',
                      method => 'als_explicit', factors => 4, iterations => 3, seed => 1);
SELECT recpromo.train('m_pop', 'shop.orders', 'customer_id', 'product_id', method => 'popularity');
SELECT recpromo.train('m_iknn', 'shop.orders', 'customer_id', 'product_id', method => 'item_knn', neighbours => 5);
SELECT recpromo.train('m_uknn', 'shop.orders', 'customer_id', 'product_id', method => 'user_knn', neighbours => 5);
SELECT recpromo.train('m_ease', 'shop.orders', 'customer_id', 'product_id', method => 'ease');
SELECT recpromo.train_content('m_content', 'shop.orders', 'customer_id', 'product_id', 'shop.products',
                              '{category, tags, price, title}', 'product_id');
SELECT recpromo.train_hybrid('m_hybrid', 'm_als', 'm_content');
SELECT recpromo.train('m_factors', 'shop.orders', 'customer_id', 'product_id', method => 'factors',
                      params => '{"user_factors": "customer_vec", "item_factors": "product_vec"}');
SELECT recpromo.train('m_text', 'shop.orders_text', 'customer', 'product', 'quantity', method => 'als',
                      factors => 4, iterations => 3, seed => 1);
SELECT recpromo.train('m_int', 'shop.orders_int', 'customer', 'product', 'quantity', method => 'item_knn');
SELECT recpromo.train_session('m_session', 'shop.orders', 'customer_id', 'product_id', 'ordered_at', neighbours => 10);
SELECT recpromo.train('m_varchar', 'shop.orders_varchar', 'customer', 'product', method => 'item_knn');
SELECT recpromo.train('m_uuid', 'shop.orders_uuid', 'customer', 'product', method => 'item_knn');
SELECT recpromo.set_default_model('m_als');
SELECT * FROM recpromo.train_propensity('pm_prop', 'shop.cust', 'bought', '{visits, discount_share}', '{channel}');
SELECT * FROM recpromo.train_uplift('pm_upl', 'shop.cust', 'arm', 'y', '{x1, x2}');
-- customers newer than the models (fold-in reads their rows from the source)
INSERT INTO shop.orders VALUES (9001, 3, 1, '2024-06-01', 5, 'toys', 'n1'), (9001, 5, 2, '2024-06-01', 5, 'food', 'n1');
INSERT INTO shop.orders_text VALUES ('new1', 'sku3', 1), ('new1', 'sku5', 2);
INSERT INTO shop.orders_int VALUES (9001, 3, 1), (9001, 5, 2);
INSERT INTO shop.orders_varchar VALUES ('new1', 'sku3'), ('new1', 'sku5');
INSERT INTO shop.orders_uuid VALUES ('00000000-0000-0000-0000-000000009001', 3), ('00000000-0000-0000-0000-000000009001', 5);
-- bandits (b-core)
SELECT recpromo.create_bandit('b_ts', ARRAY['a', 'b', 'c'], seed => 1);
SELECT recpromo.create_bandit('b_lin', ARRAY['a', 'b'], policy => 'linucb', dimension => 2, reward => 'amount');
CREATE TABLE shop.bandit_log AS
SELECT g AS t, (ARRAY['a', 'b', 'c'])[1 + g % 3] AS arm, (g % 2)::float8 AS reward, ARRAY[1, g % 5]::float8[] AS ctx
  FROM generate_series(1, 60) g;
GRANT SELECT ON shop.bandit_log TO PUBLIC;
-- off-policy evaluation (84_ope.sql): a log of uniform choices among shop.cust's arms
CREATE TABLE shop.ope_log AS
SELECT c.*, jsonb_build_object('x1', c.x1, 'x2', c.x2) AS ctx, ARRAY[c.x1, c.x2]::float8[] AS ctxa, 1.0 / 3 AS p
  FROM shop.cust c;
CREATE TABLE shop.ope_target AS
SELECT c.id, a.arm, CASE WHEN a.arm = 'A' THEN 0.5 ELSE 0.25 END AS probability
  FROM shop.cust c, unnest(ARRAY['control', 'A', 'B']) a(arm);
CREATE TABLE shop.ope_bandit_log AS SELECT l.*, 1.0 / 3 AS p FROM shop.bandit_log l;
"""

# Sample calls, keyed by the function's signature as regprocedure prints it
# under search_path = pg_catalog.  Type names in the calls are keywords or
# schema-qualified so that the calls themselves never reach a trojan.
T = "pg_catalog.text"
J = "pg_catalog.jsonb"
F8A = "double precision[]"
U9 = "'00000000-0000-0000-0000-000000009001'::pg_catalog.uuid"


def svec_recv_roundtrip(cur):
    buf = io.BytesIO()
    cur.copy_expert("COPY shop.svec_io TO STDOUT (FORMAT binary)", buf)
    buf.seek(0)
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS svec_in_tmp (v recpromo.svec)")
    cur.copy_expert("COPY svec_in_tmp FROM STDIN (FORMAT binary)", buf)


SAMPLES = {
    "recpromo.blas_corename()": ["SELECT recpromo.blas_corename()"],
    "recpromo.cosine_similarity(double precision[],double precision[])":
        [f"SELECT recpromo.cosine_similarity(ARRAY[1,2]::{F8A}, ARRAY[2,1]::{F8A})"],
    "recpromo.cosine_similarity(real[],real[])":
        ["SELECT recpromo.cosine_similarity(ARRAY[1,2]::real[], ARRAY[2,1]::real[])"],
    "recpromo.cosine_similarity(integer[],integer[])":
        ["SELECT recpromo.cosine_similarity(ARRAY[1,2]::integer[], ARRAY[2,1]::integer[])"],
    "recpromo.cosine_similarity(bigint[],bigint[])":
        ["SELECT recpromo.cosine_similarity(ARRAY[1,2]::bigint[], ARRAY[2,1]::bigint[])"],
    "recpromo.cosine_similarity(numeric[],numeric[])":
        ["SELECT recpromo.cosine_similarity(ARRAY[1,2]::numeric[], ARRAY[2,1]::numeric[])"],
    "recpromo.cosine_similarity(smallint[],smallint[])":
        ["SELECT recpromo.cosine_similarity(ARRAY[1,2]::smallint[], ARRAY[2,1]::smallint[])"],
    "recpromo.dot_product(double precision[],double precision[])":
        [f"SELECT recpromo.dot_product(ARRAY[1,2]::{F8A}, ARRAY[2,1]::{F8A})"],
    "recpromo.dot_product(real[],real[])":
        ["SELECT recpromo.dot_product(ARRAY[1,2]::real[], ARRAY[2,1]::real[])"],
    "recpromo.dot_product(integer[],integer[])":
        ["SELECT recpromo.dot_product(ARRAY[1,2]::integer[], ARRAY[2,1]::integer[])"],
    "recpromo.dot_product(bigint[],bigint[])":
        ["SELECT recpromo.dot_product(ARRAY[1,2]::bigint[], ARRAY[2,1]::bigint[])"],
    "recpromo.dot_product(numeric[],numeric[])":
        ["SELECT recpromo.dot_product(ARRAY[1,2]::numeric[], ARRAY[2,1]::numeric[])"],
    "recpromo.dot_product(smallint[],smallint[])":
        ["SELECT recpromo.dot_product(ARRAY[1,2]::smallint[], ARRAY[2,1]::smallint[])"],
    "recpromo.vector_norm(double precision[])": [f"SELECT recpromo.vector_norm(ARRAY[3,4]::{F8A})"],
    "recpromo.vector_norm(real[])": ["SELECT recpromo.vector_norm(ARRAY[3,4]::real[])"],
    "recpromo.vector_norm(integer[])": ["SELECT recpromo.vector_norm(ARRAY[3,4]::integer[])"],
    "recpromo.vector_norm(bigint[])": ["SELECT recpromo.vector_norm(ARRAY[3,4]::bigint[])"],
    "recpromo.vector_norm(numeric[])": ["SELECT recpromo.vector_norm(ARRAY[3,4]::numeric[])"],
    "recpromo.vector_norm(smallint[])": ["SELECT recpromo.vector_norm(ARRAY[3,4]::smallint[])"],
    "recpromo.cosine_agg_transfn(double precision[],double precision,double precision)":
        [f"SELECT recpromo.cosine_agg_transfn(ARRAY[0,0,0,0,0]::{F8A}, 1::double precision, "
         f"2::double precision)"],
    "recpromo.cosine_agg_combinefn(double precision[],double precision[])":
        [f"SELECT recpromo.cosine_agg_combinefn(ARRAY[1,1,2,4,2]::{F8A}, ARRAY[3,9,1,1,3]::{F8A})"],
    "recpromo.cosine_agg_finalfn(double precision[])":
        [f"SELECT recpromo.cosine_agg_finalfn(ARRAY[1,1,2,4,2]::{F8A})"],
    "recpromo.cosine_agg(double precision,double precision)":
        ["SELECT recpromo.cosine_agg(x, y) FROM (VALUES (1::double precision, 2::double precision), "
         "(3, 1)) v(x, y)"],
    "recpromo.svec_in(cstring)": ["SELECT '{1:0.5,3:2}'::recpromo.svec"],
    "recpromo.svec_out(recpromo.svec)": [f"SELECT ('{{1:0.5}}'::recpromo.svec)::{T}"],
    "recpromo.svec_recv(internal)": [svec_recv_roundtrip],
    "recpromo.svec_send(recpromo.svec)": ["SELECT recpromo.svec_send('{1:0.5}'::recpromo.svec)"],
    "recpromo.svec(bigint[],double precision[])":
        [f"SELECT recpromo.svec(ARRAY[1,4]::bigint[], ARRAY[0.5,2]::{F8A})"],
    "recpromo.svec_indices(recpromo.svec)": ["SELECT recpromo.svec_indices('{1:0.5}'::recpromo.svec)"],
    "recpromo.svec_values(recpromo.svec)": ["SELECT recpromo.svec_values('{1:0.5}'::recpromo.svec)"],
    "recpromo.svec_nnz(recpromo.svec)": ["SELECT recpromo.svec_nnz('{1:0.5}'::recpromo.svec)"],
    "recpromo.cosine_similarity(recpromo.svec,recpromo.svec)":
        ["SELECT recpromo.cosine_similarity('{1:0.5}'::recpromo.svec, '{1:1,2:1}'::recpromo.svec)"],
    "recpromo.dot_product(recpromo.svec,recpromo.svec)":
        ["SELECT recpromo.dot_product('{1:0.5}'::recpromo.svec, '{1:1,2:1}'::recpromo.svec)"],
    "recpromo.vector_norm(recpromo.svec)": ["SELECT recpromo.vector_norm('{1:3,2:4}'::recpromo.svec)"],
    # the svec_agg support functions take internal states: run through the aggregate
    "recpromo.svec_agg_transfn(internal,bigint,double precision)": ["@svec_agg"],
    "recpromo.svec_agg_combinefn(internal,internal)": ["@svec_agg"],
    "recpromo.svec_agg_serialfn(internal)": ["@svec_agg"],
    "recpromo.svec_agg_deserialfn(bytea,internal)": ["@svec_agg"],
    "recpromo.svec_agg_finalfn(internal)": ["@svec_agg"],
    "recpromo.svec_agg(bigint,double precision)":
        ["SELECT recpromo.svec_agg(i, v) FROM (VALUES (1::bigint, 0.5::double precision), (7, 2)) s(i, v)"],
    "recpromo._train(text,regclass,name,name,name,text,jsonb)":
        [f"SELECT recpromo._train('s_internal', 'shop.orders', 'customer_id', 'product_id', NULL, "
         f"'popularity', '{{}}'::{J})"],
    "recpromo.tune(text,regclass,name,name,name,text,name,text,text,text,integer,double precision,double precision,"
    "integer,jsonb)":
        ["SELECT * FROM recpromo.tune('s_tuned', 'shop.orders', 'customer_id', 'product_id', "
         "method => 'item_knn', time_col => 'ordered_at', trials => 2, seed => 1)"],
    "recpromo.train(text,regclass,name,name,name,text,integer,integer,double precision,double precision,"
    "integer,integer,jsonb)":
        ["SELECT * FROM recpromo.train('s_als', 'shop.orders', 'customer_id', 'product_id', 'quantity', "
         "method => 'als', factors => 4, iterations => 2, seed => 3)",
         "SELECT * FROM recpromo.train('s_text', 'shop.orders_text', 'customer', 'product', "
         "method => 'item_knn')",
         "SELECT * FROM recpromo.train('s_ease', 'shop.orders', 'customer_id', 'product_id', method => 'ease')",
         "SELECT * FROM recpromo.train('s_factors', 'shop.orders', 'customer_id', 'product_id', "
         "method => 'factors', params => '{\"user_factors\": \"customer_vec\", "
         "\"item_factors\": \"product_vec\"}')"],
    "recpromo.drop_model(text,boolean)":
        ["SELECT recpromo.drop_model('s_internal', true)", "SELECT recpromo.drop_model('s_nope', true)"],
    "recpromo.set_default_model(text)": ["SELECT recpromo.set_default_model('m_als')"],
    # Citus layout (issue 15): refused here (no citus), after its checks
    "recpromo.citus_enable()": ["SELECT * FROM recpromo.citus_enable()"],
    "recpromo.recommend(anyelement,integer,text,boolean,\"any\",\"any\",regclass,name,name,text,regclass,"
    "name,name,integer,text[],text[],double precision,double precision,double precision,\"any\",text[])":
        [f"SELECT * FROM recpromo.recommend({u}, 5, '{m}')"
         for m in ("m_als", "m_explicit", "m_pop", "m_iknn", "m_uknn", "m_ease", "m_content", "m_hybrid",
                   "m_factors")
         for u in ("1::bigint", "9001::bigint")] +
        ["SELECT * FROM recpromo.recommend(1::bigint)",
         "SELECT * FROM recpromo.recommend('c1'::pg_catalog.text, 5, 'm_text')",
         "SELECT * FROM recpromo.recommend('new1'::pg_catalog.text, 5, 'm_text')",
         "SELECT * FROM recpromo.recommend(9001, 5, 'm_int')",
         "SELECT * FROM recpromo.recommend('new1'::character varying, 5, 'm_varchar')",
         f"SELECT * FROM recpromo.recommend({U9}, 5, 'm_uuid')",
         "SELECT * FROM recpromo.recommend(9001::bigint, 5, 'm_als', boosts => 'shop.boosts', "
         "categories => 'shop.cats', max_per_category => 1, exclude_categories => ARRAY['food'])",
         "SELECT * FROM recpromo.recommend(1::bigint, 5, 'm_iknn', only_items => ARRAY[1,2,3,4,5]::bigint[], "
         "exclude_items => ARRAY[2]::bigint[], boosts => 'shop.boosts', boost_mode => 'add')"] +
        [f"SELECT * FROM recpromo.recommend(1::bigint, 5, '{m}', categories => 'shop.cats', max_per_category => 2, "
         "diversity => 0.3, calibration => 0.3, min_share => 0.4, share_items => ARRAY[3,4]::bigint[], "
         "share_categories => ARRAY['toys'])"
         for m in ("m_als", "m_pop", "m_iknn", "m_uknn", "m_ease", "m_content", "m_hybrid")],
    "recpromo.train_session(text,regclass,name,name,name,integer,integer)":
        ["SELECT * FROM recpromo.train_session('s_session', 'shop.orders', 'customer_id', 'product_id', "
         "'ordered_at', neighbours => 5, sample_size => 50)"],
    "recpromo.recommend_for_session(anyarray,integer,text,boolean,\"any\",\"any\",regclass,name,name,text,"
    "regclass,name,name,integer,text[],text[])":
        ["SELECT * FROM recpromo.recommend_for_session(ARRAY[3,5,3]::bigint[], 5, 'm_session')",
         "SELECT * FROM recpromo.recommend_for_session(ARRAY[3,5]::bigint[], 5, 'm_iknn', "
         "boosts => 'shop.boosts', categories => 'shop.cats', max_per_category => 1, "
         "exclude_items => ARRAY[2]::bigint[])"],
    "recpromo.evaluate_sessions(text,regclass,name,name,name,integer,boolean,boolean)":
        ["SELECT * FROM recpromo.evaluate_sessions('m_session', 'shop.orders', 'customer_id', 'product_id', "
         "'ordered_at', k => 5)",
         "SELECT * FROM recpromo.evaluate_sessions('m_iknn', 'shop.orders', 'customer_id', 'product_id', "
         "'ordered_at', k => 5, order_blind => true)"],
    "recpromo.recommend_for_items(anyarray,integer,text,boolean)":
        ["SELECT * FROM recpromo.recommend_for_items(ARRAY[3,5]::bigint[], 5, 'm_iknn')",
         "SELECT * FROM recpromo.recommend_for_items(ARRAY[3,5]::bigint[], 5, 'm_als')",
         "SELECT * FROM recpromo.recommend_for_items(ARRAY['sku3','sku5']::pg_catalog.text[], 5, 'm_text')"],
    "recpromo.similar_items(anyelement,integer,text)":
        [f"SELECT * FROM recpromo.similar_items(3::bigint, 5, '{m}')"
         for m in ("m_als", "m_iknn", "m_ease", "m_content", "m_factors")] +
        ["SELECT * FROM recpromo.similar_items('sku3'::pg_catalog.text, 5, 'm_text')"],
    "recpromo.similar_users(anyelement,integer,text)":
        [f"SELECT * FROM recpromo.similar_users({u}, 5, '{m}')"
         for m in ("m_als", "m_uknn") for u in ("1::bigint", "9001::bigint")] +
        ["SELECT * FROM recpromo.similar_users('new1'::pg_catalog.text, 5, 'm_text')"],
    "recpromo.predict(anyelement,anyelement,text)":
        [f"SELECT recpromo.predict({u}, 3::bigint, '{m}')"
         for m in ("m_als", "m_explicit", "m_iknn", "m_content") for u in ("1::bigint", "9001::bigint")] +
        ["SELECT recpromo.predict('new1'::pg_catalog.text, 'sku3'::pg_catalog.text, 'm_text')"],
    "recpromo.explain_recommendation(anyelement,anyelement,text)":
        [f"SELECT * FROM recpromo.explain_recommendation({u}, 7::bigint, '{m}')"
         for m in ("m_als", "m_iknn", "m_ease", "m_content", "m_hybrid", "m_factors")
         for u in ("1::bigint", "9001::bigint")] +
        ["SELECT * FROM recpromo.explain_recommendation('new1'::pg_catalog.text, 'sku7'::pg_catalog.text, "
         "'m_text')",
         "SELECT * FROM recpromo.explain_recommendation('new1'::character varying, "
         "'sku7'::character varying, 'm_varchar')"],
    "recpromo.recommend_all(integer,text,boolean)":
        [f"SELECT * FROM recpromo.recommend_all(3, '{m}')" for m in ("m_als", "m_iknn", "m_pop")],
    "recpromo.recommend_all(anyelement,anycompatible,integer,text,boolean)":
        ["SELECT * FROM recpromo.recommend_all(NULL::pg_catalog.text, NULL::pg_catalog.text, 3, 'm_text')"],
    "recpromo._sgemm_gflops(integer,integer,integer)": ["SELECT recpromo._sgemm_gflops(8, 8, 8)"],
    "recpromo.split_position(\"any\",\"any\",bigint)": ["SELECT recpromo.split_position(1, 2)"],
    "recpromo.in_test_set(\"any\",\"any\",double precision,bigint)":
        ["SELECT recpromo.in_test_set(1, 2, 0.5::double precision)"],
    "recpromo.time_split(anyelement,name,name,integer,timestamp with time zone)":
        ["SELECT * FROM recpromo.time_split(NULL::shop.orders, 'customer_id', 'ordered_at', holdout => 1)",
         "SELECT * FROM recpromo.time_split(NULL::shop.orders, 'customer_id', 'ordered_at', "
         "after => '2024-05-01')"],
    "recpromo.ranking_metrics(double precision[],boolean[],integer,integer)":
        [f"SELECT * FROM recpromo.ranking_metrics(ARRAY[1,2,3]::{F8A}, ARRAY[true,false,true], 2, 3)"],
    "recpromo.evaluate_rankings(regclass,regclass,name,name,name,integer,name,double precision,regclass)":
        ["SELECT * FROM recpromo.evaluate_rankings('shop.recs', 'shop.rec_test', k => 3)",
         "SELECT * FROM recpromo.evaluate_rankings('shop.recs', 'shop.rec_test', k => 3, "
         "rating_col => 'quantity', relevance_threshold => 1.5)"],
    "recpromo.exposure(text,regclass,name,name,integer,boolean,regclass,name,name,double precision)":
        [f"SELECT * FROM recpromo.exposure('{m}', 'shop.test_orders', 'customer_id', 'product_id', k => 5, "
         "item_groups => 'shop.cats', group_col => 'category')" for m in ("m_als", "m_iknn", "m_pop")],
    "recpromo.exposure_rankings(regclass,regclass,regclass,name,name,name,integer,regclass,name,name,"
    "double precision)":
        ["SELECT * FROM recpromo.exposure_rankings('shop.recs', 'shop.rec_test', 'shop.rec_test', k => 3, "
         "item_groups => 'shop.cats', group_col => 'category')"],
    "recpromo.evaluate_by_group(text,regclass,regclass,name,name,name,name,name,integer,double precision,"
    "boolean)":
        ["SELECT * FROM recpromo.evaluate_by_group('m_als', 'shop.test_orders', 'shop.products', 'customer_id', "
         "'product_id', group_user_col => 'product_id', group_col => 'category', k => 5)"],
    "recpromo.evaluate_rankings_by_group(regclass,regclass,regclass,name,name,name,name,name,integer)":
        ["SELECT * FROM recpromo.evaluate_rankings_by_group('shop.recs', 'shop.rec_test', 'shop.cats', "
         "group_user_col => 'item_id', group_col => 'category', k => 3)"],
    "recpromo.evaluate(text,regclass,name,name,name,integer,double precision,boolean)":
        [f"SELECT * FROM recpromo.evaluate('{m}', 'shop.test_orders', 'customer_id', 'product_id', k => 5)"
         for m in ("m_als", "m_iknn", "m_pop")] +
        ["SELECT * FROM recpromo.evaluate('m_explicit', 'shop.ratings', 'customer_id', 'product_id', "
         "'stars', k => 5)"],
    "recpromo.train_content(text,regclass,name,name,regclass,name[],name,name,integer,boolean)":
        ["SELECT * FROM recpromo.train_content('s_content', 'shop.orders', 'customer_id', 'product_id', "
         "'shop.products', '{category, tags, price, title}', 'product_id')"],
    "recpromo.train_hybrid(text,text,text,double precision,integer)":
        ["SELECT * FROM recpromo.train_hybrid('s_hybrid', 'm_als', 'm_content')"],
    "recpromo.sigmoid(double precision)": ["SELECT recpromo.sigmoid(0.5::double precision)"],
    # promotion checks still SQL-callable for 82_ab.sql and 84_ope.sql (issue 18)
    "recpromo.rfm(regclass,name,name,name,timestamp with time zone,name,text)":
        ["SELECT * FROM recpromo.rfm('shop.orders', 'customer_id', 'ordered_at', 'amount', "
         "'2024-07-01', order_col => 'invoice')"],
    "recpromo.category_affinity(regclass,name,name,name)":
        ["SELECT * FROM recpromo.category_affinity('shop.orders', 'customer_id', 'category', 'amount')",
         "SELECT * FROM recpromo.category_affinity('shop.orders', 'customer_id', 'category')"],
    "recpromo.kmeans(regclass,name,name[],integer,bigint,boolean,integer)":
        ["SELECT * FROM recpromo.kmeans('shop.cust', 'id', '{visits, x1}', 3)"],
    "recpromo.kmeans_clusters(regclass,name,name[],integer,bigint,boolean,integer)":
        ["SELECT * FROM recpromo.kmeans_clusters('shop.cust', 'id', '{visits, x1}', 3)"],
    "recpromo.train_propensity(text,regclass,name,name[],name[],double precision,boolean,integer,"
    "double precision)":
        ["SELECT * FROM recpromo.train_propensity('s_prop', 'shop.cust', 'bought', '{visits, discount_share}', "
         "'{channel}')"],
    "recpromo.score_propensity(text,regclass,name)":
        ["SELECT * FROM recpromo.score_propensity('pm_prop', 'shop.cust', 'id')"],
    "recpromo.predict_propensity(text,jsonb)":
        [f"SELECT recpromo.predict_propensity('pm_prop', '{{\"visits\": 3, \"discount_share\": 0.5, "
         f"\"channel\": \"web\"}}'::{J})"],
    "recpromo.evaluate_propensity(text,regclass,name)":
        ["SELECT * FROM recpromo.evaluate_propensity('pm_prop', 'shop.cust', 'bought')"],
    "recpromo.propensity_calibration(text,regclass,name,integer)":
        ["SELECT * FROM recpromo.propensity_calibration('pm_prop', 'shop.cust', 'bought', 5)"],
    "recpromo.train_uplift(text,regclass,name,name,name[],name[],text,text,double precision,boolean,integer,"
    "double precision)":
        ["SELECT * FROM recpromo.train_uplift('s_upl', 'shop.cust', 'arm', 'y', '{x1, x2}')",
         "SELECT * FROM recpromo.train_uplift('s_upl_ct', 'shop.cust', 'arm', 'y', '{x1, x2}', "
         "method => 'class_transformation')"],
    "recpromo.score_uplift(text,regclass,name)": ["SELECT * FROM recpromo.score_uplift('pm_upl', 'shop.cust', 'id')"],
    "recpromo.predict_uplift(text,jsonb)":
        [f"SELECT * FROM recpromo.predict_uplift('pm_upl', '{{\"x1\": 0.5, \"x2\": 0.1}}'::{J})"],
    "recpromo.uplift_evaluate(regclass,name,name,name,text,text,double precision,integer,bigint,"
    "double precision)":
        ["SELECT * FROM recpromo.uplift_evaluate('shop.cust', 'score', 'arm', 'y', 'A', n_boot => 10)"],
    "recpromo.uplift_curve(regclass,name,name,name,text,text,integer)":
        ["SELECT * FROM recpromo.uplift_curve('shop.cust', 'score', 'arm', 'y', 'A', points => 4)"],
    "recpromo.uplift_by_decile(regclass,name,name,name,text,text,integer)":
        ["SELECT * FROM recpromo.uplift_by_decile('shop.cust', 'score', 'arm', 'y', 'A', bins => 3)"],
    "recpromo.uplift_balance(regclass,name,name[],text)":
        ["SELECT * FROM recpromo.uplift_balance('shop.cust', 'arm', '{x1, x2}')"],
    "recpromo.assign_offers(regclass,name,name,name,name,double precision,jsonb)":
        [f"SELECT * FROM recpromo.assign_offers('shop.candidates', 'customer', 'offer', 'value', 'cost', "
         f"10::double precision, '{{\"gold\": 3}}'::{J})"],
    "recpromo.assign_offers_curve(regclass,name,name,name,name,double precision[],jsonb)":
        [f"SELECT * FROM recpromo.assign_offers_curve('shop.candidates', 'customer', 'offer', 'value', 'cost', "
         f"ARRAY[0,5,10]::{F8A})"],
    "recpromo.assign_offers_from_model(text,regclass,name,jsonb,double precision,double precision,jsonb)":
        [f"SELECT * FROM recpromo.assign_offers_from_model('pm_upl', 'shop.cust', 'id', "
         f"'{{\"A\": 0.1, \"B\": 0.2}}'::{J}, 5::double precision)"],
    # model management (0.2.0)
    "recpromo._seal_parts()": ["SELECT recpromo._seal_parts()"],
    # planner support functions (internal argument): reached by planning a call
    "recpromo._rows_at_most_n(internal)": ["EXPLAIN SELECT * FROM recpromo.recommend(17, 5, model => 'm_als')"],
    "recpromo._rows_per_source_row(internal)":
        ["EXPLAIN SELECT * FROM recpromo.score_propensity('pm_prop', 'shop.cust', 'id')"],
    # ---- A/B analysis (issue 12, src/sql/82_ab.sql) ----
    "recpromo.ab_test(regclass,name,name,text,name,double precision,text,text,boolean,double precision)":
        ["SELECT * FROM recpromo.ab_test('shop.cust', 'arm', 'y', 'control')",
         "SELECT * FROM recpromo.ab_test('shop.cust', 'arm', 'revenue', 'control', covariate => 'x1')",
         "SELECT * FROM recpromo.ab_test('shop.cust', 'arm', 'y', 'control', sequential => true)"],
    "recpromo.ab_srm(regclass,name,jsonb,double precision[])":
        [f"SELECT * FROM recpromo.ab_srm('shop.cust', 'arm', planned => '{{\"control\": 1, \"A\": 1, \"B\": 1}}'::{J})",
         f"SELECT * FROM recpromo.ab_srm('shop.cust', 'arm', weights => ARRAY[1, 1, 2]::{F8A})"],
    "recpromo.normal_cdf(double precision)": ["SELECT recpromo.normal_cdf(1.5::double precision)"],
    "recpromo.normal_quantile(double precision)": ["SELECT recpromo.normal_quantile(0.975::double precision)"],
    "recpromo.student_t_two_sided_p(double precision,double precision)":
        ["SELECT recpromo.student_t_two_sided_p(2::double precision, 10::double precision)"],
    "recpromo.student_t_quantile(double precision,double precision)":
        ["SELECT recpromo.student_t_quantile(0.975::double precision, 10::double precision)"],
    "recpromo.chi_square_sf(double precision,double precision)":
        ["SELECT recpromo.chi_square_sf(3.84::double precision, 1::double precision)"],
    # ---- end of A/B analysis ----
    # ---- off-policy evaluation (src/sql/84_ope.sql) ----
    "recpromo.evaluate_policy_arrays(double precision[],integer[],double precision[],double precision[],"
    "double precision[],text[],integer,bigint,double precision,double precision)":
        [f"SELECT * FROM recpromo.evaluate_policy_arrays('{{{{1}},{{2}}}}'::{F8A}, ARRAY[1, 2], ARRAY[1, 0]::{F8A}, "
         f"ARRAY[0.5, 0.5]::{F8A}, '{{{{0.5,0.5}},{{0.5,0.5}}}}'::{F8A}, bootstrap => 20)"],
    "recpromo.evaluate_policy(regclass,name,name,name,name,regclass,text,text,name,text[],integer,bigint,"
    "double precision,double precision,text[],double precision,text,text)": [
        "SELECT * FROM recpromo.evaluate_policy('shop.ope_log', 'ctx', 'arm', 'y', 'p', "
        "target_probs => 'shop.ope_target', key_col => 'id', bootstrap => 20)",
        "SELECT * FROM recpromo.evaluate_policy('shop.ope_log', 'ctxa', 'arm', 'y', 'p', "
        "target_probs => 'shop.ope_target', key_col => 'id', bootstrap => 20)",
        "SELECT * FROM recpromo.evaluate_policy('shop.ope_log', 'ctx', 'arm', 'y', 'p', "
        "target_model => 'pm_upl', key_col => 'id', bootstrap => 20)",
        "SELECT * FROM recpromo.evaluate_policy('shop.ope_log', NULL, 'arm', 'y', 'p', "
        "target_model => 'pm_prop', key_col => 'id', treatment => 'A', bootstrap => 20)",
        "SELECT * FROM recpromo.evaluate_policy('shop.ope_bandit_log', NULL, 'arm', 'reward', 'p', "
        "target_bandit => 'b_ts', bootstrap => 20)",
        "SELECT * FROM recpromo.evaluate_policy('shop.ope_bandit_log', 'ctx', 'arm', 'reward', 'p', "
        "target_bandit => 'b_lin', bootstrap => 20)"],
    # the PL/pgSQL bodies behind the C front doors of ab_test, ab_srm and
    # evaluate_policy (src/pg/ab_front.c): not executable by PUBLIC, called
    # here by the superuser with what the front doors would pass
    "recpromo._body_ab_test(regclass,name,name,text,name,double precision,text,text,boolean,"
    "double precision,text,text,text)":
        ["SELECT * FROM recpromo._body_ab_test('shop.cust', 'arm', 'y', 'control', NULL, 0.05, NULL, 'holm', "
         "false, NULL, '\"shop\".\"cust\"', '(y)::pg_catalog.float8', NULL)"],
    "recpromo._body_ab_srm(regclass,name,jsonb,double precision[],text)":
        ["SELECT * FROM recpromo._body_ab_srm('shop.cust', 'arm', NULL, NULL, '\"shop\".\"cust\"')"],
    "recpromo._body_evaluate_policy(regclass,name,name,name,name,regclass,text,text,name,text[],integer,bigint,"
    "double precision,double precision,text[],double precision,text,text,text,regtype,regtype,regtype,text,jsonb)":
        ["SELECT * FROM recpromo._body_evaluate_policy('shop.ope_log', 'ctx', 'arm', 'y', 'p', 'shop.ope_target', "
         "NULL, NULL, 'id', '{ips,snips,dm,dr}', 20, 0, 0.05, 1.0, NULL, NULL, NULL, 'control', "
         "'\"shop\".\"ope_log\"', (SELECT atttypid::pg_catalog.regtype FROM pg_catalog.pg_attribute "
         "WHERE attrelid OPERATOR(pg_catalog.=) 'shop.ope_log'::pg_catalog.regclass AND attname OPERATOR(pg_catalog.=) 'y'), "
         "'pg_catalog.float8', (SELECT atttypid::pg_catalog.regtype FROM pg_catalog.pg_attribute "
         "WHERE attrelid OPERATOR(pg_catalog.=) 'shop.ope_log'::pg_catalog.regclass AND attname OPERATOR(pg_catalog.=) 'ctx'), "
         "'\"shop\".\"ope_target\"', NULL)"],
    # ---- end of off-policy evaluation ----
}
# ---- bandits (b-core): src/sql/80_bandit.sql ----
_CB = ("text,text[],text,text,double precision,double precision,integer,text[],double precision,"
       "double precision,double precision,double precision,double precision,integer,integer,bigint,integer")
SAMPLES.update({
    f"recpromo.create_bandit({_CB})": [
        "SELECT recpromo.create_bandit('b_tmp', ARRAY['x', 'y'], policy => 'ucb1', window_size => 5)",
        "SELECT recpromo.drop_bandit('b_tmp')"],
    f"recpromo.create_bandit(text,regclass,name,{_CB.split(',', 2)[2]})": [
        "SELECT recpromo.create_bandit('b_tmp2', 'shop.bandit_log'::pg_catalog.regclass, 'arm', policy => 'epsilon_greedy')",
        "SELECT recpromo.drop_bandit('b_tmp2')"],
    "recpromo.add_bandit_arms(text,text[])": ["SELECT recpromo.add_bandit_arms('b_ts', ARRAY['d'])"],
    "recpromo.retire_bandit_arm(text,text)": ["SELECT recpromo.retire_bandit_arm('b_ts', 'd')"],
    "recpromo.drop_bandit(text,boolean)": [
        "SELECT recpromo.create_bandit('b_tmp3', ARRAY['x'])",
        "SELECT recpromo.drop_bandit('b_tmp3', if_exists => true)"],
    "recpromo.grant_bandit(text,name)": [f"SELECT recpromo.grant_bandit('b_ts', '{ATTACKER}')"],
    "recpromo.revoke_bandit(text,name)": [f"SELECT recpromo.revoke_bandit('b_ts', '{ATTACKER}')"],
    "recpromo.choose(text,jsonb,integer)": [
        f"SELECT * FROM recpromo.choose('b_ts', '{{\"page\": 1}}'::{J}, n => 2)",
        f"SELECT * FROM recpromo.choose('b_lin', '[1, 0.5]'::{J})"],
    f"recpromo.choose(text,{F8A},integer)": [f"SELECT * FROM recpromo.choose('b_lin', ARRAY[1, 2]::{F8A})"],
    "recpromo.reward(text,bigint,double precision)": [
        "SELECT recpromo.reward('b_ts', c.decision_id, 1::double precision) FROM recpromo.choose('b_ts') c",
        f"SELECT recpromo.reward('b_lin', c.decision_id, 2.5::double precision) "
        f"FROM recpromo.choose('b_lin', ARRAY[1, 3]::{F8A}) c"],
    "recpromo.bandit_stats(text)": ["SELECT * FROM recpromo.bandit_stats('b_ts')",
                                    "SELECT * FROM recpromo.bandit_stats('b_lin')"],
    "recpromo.bandit_action_probabilities(text,jsonb)": [
        "SELECT * FROM recpromo.bandit_action_probabilities('b_ts')",
        f"SELECT * FROM recpromo.bandit_action_probabilities('b_lin', '[1, 2]'::{J})"],
    f"recpromo.bandit_action_probabilities(text,{F8A})": [
        f"SELECT * FROM recpromo.bandit_action_probabilities('b_lin', ARRAY[1, 2]::{F8A})"],
    f"recpromo.bandit_linear_scores(text,{F8A})": [
        f"SELECT * FROM recpromo.bandit_linear_scores('b_lin', ARRAY[1, 2]::{F8A})"],
    "recpromo.recount_bandit(text)": ["SELECT * FROM recpromo.recount_bandit('b_ts')",
                                      "SELECT * FROM recpromo.recount_bandit('b_lin')"],
    "recpromo.replay_bandit(text,regclass,name,name,name,name,bigint)": [
        "SELECT * FROM recpromo.replay_bandit('b_ts', 'shop.bandit_log'::pg_catalog.regclass, 'arm', 'reward', "
        "order_column => 't')",
        "SELECT * FROM recpromo.replay_bandit('b_lin', 'shop.bandit_log'::pg_catalog.regclass, 'arm', 'reward', "
        "'ctx', 't', 3)"],
})
# ---- end of bandits (b-core) ----
# ---- charts and the report (c17): src/sql/90_charts.sql ----
SAMPLES.update({
    "recpromo.chart_metrics_at_k(text[],regclass,name,name,text,integer,boolean)": [
        "SELECT recpromo.chart_metrics_at_k(ARRAY['m_pop', 'm_als'], 'shop.test_orders', 'customer_id', "
        "'product_id', 'recall', 3)"],
    "recpromo.chart_model_comparison(text[],regclass,name,name,integer,boolean)": [
        "SELECT recpromo.chart_model_comparison(ARRAY['m_pop', 'm_iknn'], 'shop.test_orders', 'customer_id', "
        "'product_id', k => 3)"],
    "recpromo.chart_uplift_curve(regclass,name,name,name,text,text,text,integer,integer,bigint,double precision)": [
        "SELECT recpromo.chart_uplift_curve('shop.cust', 'score', 'arm', 'y', 'A', points => 4, n_boot => 5)",
        "SELECT recpromo.chart_uplift_curve('shop.cust', 'score', 'arm', 'y', curve => 'uplift', n_boot => 0)"],
    "recpromo.chart_uplift_by_decile(regclass,name,name,name,text,text,integer)": [
        "SELECT recpromo.chart_uplift_by_decile('shop.cust', 'score', 'arm', 'y', 'A', bins => 3)"],
    "recpromo.chart_profit_curve(regclass,name,name,name,name,double precision[],jsonb)": [
        f"SELECT recpromo.chart_profit_curve('shop.candidates', 'customer', 'offer', 'value', 'cost', "
        f"ARRAY[0,5,10]::{F8A})"],
    "recpromo.chart_rfm_segments(regclass,name,name,name,timestamp with time zone,name,text)": [
        "SELECT recpromo.chart_rfm_segments('shop.orders', 'customer_id', 'ordered_at', 'amount', "
        "'2024-07-01', order_col => 'invoice')"],
    "recpromo.chart_kmeans_profiles(regclass,name,name[],integer,bigint,boolean,integer)": [
        "SELECT recpromo.chart_kmeans_profiles('shop.cust', 'id', '{visits, x1}', 3)"],
    "recpromo.chart_bandit_arms(text)": ["SELECT recpromo.chart_bandit_arms('b_ts')"],
    "recpromo.chart_bandit_history(text,integer)": ["SELECT recpromo.chart_bandit_history('b_ts', 5)"],
    "recpromo.bandit_history(text,integer)": ["SELECT * FROM recpromo.bandit_history('b_ts', 3)",
                                              "SELECT * FROM recpromo.bandit_history('b_lin')"],
    "recpromo.chart_exposure(text[],regclass,name,name,integer,boolean,regclass,name,name,double precision)": [
        "SELECT recpromo.chart_exposure(ARRAY['m_pop', 'm_als'], 'shop.test_orders', 'customer_id', 'product_id', "
        "k => 5, item_groups => 'shop.cats', group_col => 'category')"],
    "recpromo.chart_bars(text[],double precision[],text,text,text,text)": [
        f"SELECT recpromo.chart_bars(ARRAY['a', 'b'], ARRAY[0.25, 0.75]::{F8A}, 'exposure', 'share', 'fraction')"],
    "recpromo.report(text[],regclass,name,name,integer,regclass,name,name,name,text,regclass,name,name,name,"
    "double precision[],regclass,name,name,name,timestamp with time zone,regclass,name,name[],integer,text,text,"
    "regclass,name,name,integer)": [
        "SELECT recpromo.report(models => ARRAY['m_pop'], test_source => 'shop.test_orders', "
        "user_col => 'customer_id', item_col => 'product_id', k => 3, uplift_source => 'shop.cust', "
        "treatment_col => 'arm', outcome_col => 'y', treatment => 'A', candidates => 'shop.candidates', customer_col => 'customer', "
        f"budgets => ARRAY[0,5,10]::{F8A}, segment_source => 'shop.cust', segment_key => 'id', "
        "segment_columns => '{visits, x1}', clusters => 3, bandit => 'b_ts', item_groups => 'shop.cats', group_item_col => 'item_id', "
        "group_col => 'category', bandit_buckets => 4)",
        "SELECT recpromo.report(orders => 'shop.orders', as_of => '2024-07-01')"],
})
# ---- end of charts (c17) ----

# erasure (issue 13, e13): a key that is in no model, so nothing changes
SAMPLES.update({
    "recpromo.forget_user(anyelement,text,integer)": [
        "SET recpromo.erasure_secret = 'security-suite'",
        "SELECT * FROM recpromo.forget_user(987654321::bigint, model => 'm_pop')"],
    "recpromo.forget_item(anyelement,text)": [
        "SET recpromo.erasure_secret = 'security-suite'",
        "SELECT * FROM recpromo.forget_item(987654321::bigint, model => 'm_pop')"],
    "recpromo.erasure_logged(anyelement,text)": [
        "SET recpromo.erasure_secret = 'security-suite'",
        "SELECT recpromo.erasure_logged(987654321::bigint)"],
})

# model grants (issue 10, "Models get owners and grants"), under the
# signatures they may take
for _sig in ("text,regrole", "text,name", "text,text", "text,name,boolean"):
    SAMPLES[f"recpromo.grant_model({_sig})"] = [f"SELECT recpromo.grant_model('m_pop', '{ATTACKER}')"]
    SAMPLES[f"recpromo.revoke_model({_sig})"] = [f"SELECT recpromo.revoke_model('m_pop', '{ATTACKER}')"]
SAMPLES["recpromo.grant_model(text,name,boolean)"].append(
    f"SELECT recpromo.grant_model('m_uknn', '{ATTACKER}', similar_users => true)")
SAMPLES["recpromo.revoke_model(text,name,boolean)"].append(
    f"SELECT recpromo.revoke_model('m_uknn', '{ATTACKER}', similar_users => true)")

# Internal functions (names starting with "_") that PUBLIC may still
# execute.  None remains (issue 18: internal helpers must not be callable
# by users at all): the promotion layer's helpers (70_promo.sql) are gone,
# its public functions are C, and ab_test, ab_srm and evaluate_policy are C
# front doors over PL/pgSQL bodies that PUBLIC may not execute
# (src/pg/ab_front.c).  Keep it empty: an entry needs a reason here.
ALLOW_PUBLIC = {}

# Planner support functions take and return `internal`: no SQL statement
# can call them, the planner calls them without an EXECUTE check.  They may
# stay executable by PUBLIC only with a reason listed here (none is).
PLANNER_SUPPORT_PUBLIC = {}

# The internal SQL functions of the promotion layer up to 0.2.0 (issue 18):
# none may exist any more, executable or not.
REMOVED_PROMO_HELPERS = ['_promo_rel', '_promo_coltype', '_promo_num', '_promo_model', '_promo_fit', '_kmeans_fit', '_uplift_metrics', '_uplift_curve', '_assign_run', '_assign_curve', '_promo_feature_spec', '_promo_linear_jsonb', '_promo_params', '_promo_store', '_promo_check_name', '_promo_raise_missing', '_kmeans_read', '_promo_binary_target', '_uplift_arms', '_uplift_read', '_promo_money', '_promo_spec_problem', '_promo_coef_problem', '_promo_params_problem', '_promo_spec_values', '_promo_coef', '_promo_design', '_promo_linear_sql', '_promo_check_columns', '_propensity_metrics', '_uplift_expr', '_assign_read', '_assign_solve', '_model_set_metrics']


def extension_functions(cur):
    cur.execute("""SELECT p.oid, p.oid::pg_catalog.regprocedure::pg_catalog.text, p.proname, l.lanname,
                          p.proconfig, p.prosqlbody IS NOT NULL, p.proacl, p.prokind
                     FROM pg_catalog.pg_proc p
                     JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
                     JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                          AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
                     JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
                    WHERE e.extname OPERATOR(pg_catalog.=) 'recpromo'
                    ORDER BY p.oid""")
    return cur.fetchall()


def scenario_runtime(admin):
    cur = admin.cursor()
    cur.execute(f"CREATE DATABASE {DB_RUN}")
    conn = connect(DB_RUN)
    su = conn.cursor()
    su.execute("CREATE EXTENSION recpromo")
    t0 = time.time()
    su.execute(SETUP_SQL)
    print(f"  setup: {time.time() - t0:.1f} s")
    funcs = extension_functions(su)

    # 3. internal entry points and 4. function settings (static checks)
    su.execute("SET search_path = pg_catalog, pg_temp")
    present = sorted(sig for oid, sig, name, lang, config, sqlbody, acl, kind in funcs
                     if name in REMOVED_PROMO_HELPERS)
    check("no internal helper of the promotion layer is left (issue 18)", not present,
          "still there: " + "; ".join(present))
    for oid, sig, name, lang, config, sqlbody, acl, kind in funcs:
        if name.startswith("_") and "(internal" in sig and name in PLANNER_SUPPORT_PUBLIC:
            continue
        if name.startswith("_") and name not in ALLOW_PUBLIC:
            su.execute("""SELECT p.proacl IS NULL OR EXISTS (
                                 SELECT 1 FROM pg_catalog.aclexplode(p.proacl) a
                                  WHERE a.grantee OPERATOR(pg_catalog.=) 0
                                    AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE')
                            FROM pg_catalog.pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) %s""", (oid,))
            check(f"internal {sig} is not executable by PUBLIC", not su.fetchone()[0],
                  f"proacl {acl}")
        if lang in ("sql", "plpgsql"):
            path = None
            for setting in config or []:
                if setting.startswith("search_path="):
                    path = [s.strip() for s in setting[len("search_path="):].split(",")]
            ok = path is not None and path[0] == "pg_catalog" and path[-1] == "pg_temp" and \
                all(s in ("pg_catalog", "pg_temp", "recpromo") for s in path)
            check(f"{sig} has SET search_path = pg_catalog, pg_temp", ok, f"proconfig {config}")
            check(f"{sig} has no SQL-standard body", not sqlbody)

    # 2. trojans in public, planted by the attacker
    su.execute("RESET search_path")
    su.execute(f"GRANT CREATE ON SCHEMA public TO {ATTACKER}")
    su.execute(f"SET ROLE {ATTACKER}")
    su.execute("SET search_path = pg_catalog, pg_temp")
    su.execute(canary_sql("public"))
    t0 = time.time()
    planted = plant_trojans(su, "public")
    su.execute("RESET ROLE")
    print(f"  planted {planted} trojan functions in public ({time.time() - t0:.1f} s)")
    canary = Canary(DB_RUN)
    sup, base_seq, base_called, _ = canary.state()
    check("canary starts clean", not sup and not base_called)

    missing = [f[1] for f in funcs if f[1] not in SAMPLES]
    check("every function of the extension has a sample call", not missing,
          "no sample call for: " + "; ".join(missing))

    calls = ok_calls = 0
    for path in HOSTILE_PATHS:
        for oid, sig, name, lang, config, sqlbody, acl, kind in funcs:
            for stmt in SAMPLES.get(sig, []):
                if stmt == "@svec_agg":
                    stmt = SAMPLES["recpromo.svec_agg(bigint,double precision)"][0]
                su.execute(f"SET search_path = {path}")
                del conn.notices[:]
                calls += 1
                err = None
                try:
                    if callable(stmt):
                        stmt(su)
                    else:
                        su.execute(stmt)
                        if su.description is not None:
                            su.fetchall()
                    ok_calls += 1
                except psycopg2.Error as e:
                    err = e
                sup, seq, called, labels = canary.state()
                fired = (seq, called) != (base_seq, base_called)
                notes = {n.split("recpromo trojan fired: ", 1)[1].split(" (as")[0]
                         for n in conn.notices if "recpromo trojan fired" in n}
                if fired or sup:
                    fired_report.setdefault(sig, set()).update((path, x) for x in set(labels) | notes)
                    if not (set(labels) | notes):
                        fired_report[sig].add((path, "(unnamed)"))
                if err is not None:
                    error_report.setdefault(sig, set()).add(
                        (path, err.pgcode, (err.pgerror or str(err)).strip().splitlines()[0][:160]))
                ambiguous = err is not None and err.pgcode == "42725"
                if fired or sup or ambiguous:
                    canary.reset()
                    base_seq, base_called = seq, called
                    break
        su.execute("RESET search_path")
    for oid, sig, name, lang, config, sqlbody, acl, kind in funcs:
        for path in HOSTILE_PATHS:
            hits = sorted(x for p, x in fired_report.get(sig, ()) if p == path)
            amb = sorted(m for p, c, m in error_report.get(sig, ()) if p == path and c == "42725")
            check(f"{sig} under search_path = {path}: no trojan fired, attacker not superuser",
                  not hits and not amb,
                  ("fired " + ", ".join(hits[:6]) + (" ..." if len(hits) > 6 else "") if hits else "") +
                  (" name resolution reached attacker objects: " + amb[0] if amb else ""))
    errs = sorted((s, p, c, m) for s, v in error_report.items() for p, c, m in v if c != "42725")
    print(f"  {calls} sample calls, {ok_calls} succeeded, {calls - ok_calls} raised errors")
    for s, p, c, m in errs[:40]:
        print(f"  error under [{p}] {s.split('(')[0]}: {c} {m}")
    canary.close()
    conn.close()


# ---------------------------------------------------------------------------
# 5. Hostile arguments: every internal function PUBLIC can execute, called
#    directly by an ordinary role with NULLs, empty values and garbage.
# ---------------------------------------------------------------------------

DB_HOSTILE = "recpromo_sec_hostile"

# values per argument type: (null, empty, garbage...) as SQL literals
HOSTILE_VALUES = {
    "text": ["NULL", "''", "$$x'); SELECT 1; --$$", "'propensity'", "'nosuch'"],
    "name": ["NULL", "''", "$$a\"b; --$$", "'x'", "'nosuch'"],
    "name[]": ["NULL", "'{}'", "ARRAY['x', NULL]::pg_catalog.name[]", "ARRAY[$$a\"b$$, 'y', 'x']::pg_catalog.name[]"],
    "text[]": ["NULL", "'{}'", "ARRAY['a', NULL, 'b']", "ARRAY[$$x'); --$$]"],
    "double precision": ["NULL", "0", "'NaN'", "'Infinity'", "'-Infinity'", "-1"],
    "double precision[]": ["NULL", "'{}'", "'{NaN,Infinity,1}'", "'{{1,2},{3,NaN}}'", "'{1,NULL}'",
                           "'{{1,2,3}}'"],
    "integer": ["NULL", "0", "-1", "2147483647", "1"],
    "integer[]": ["NULL", "'{}'", "'{1,NULL,-5}'"],
    "bigint": ["NULL", "0", "-1", "9223372036854775807"],
    "bigint[]": ["NULL", "'{}'", "'{1,NULL,-5}'", "'{9223372036854775807}'"],
    "boolean": ["NULL", "true", "false"],
    "boolean[]": ["NULL", "'{}'", "'{t,NULL,f}'", "'{t}'"],
    "jsonb": ["NULL", "'{}'", "'[]'", "'\"x\"'", "'null'",
              """'{"kind": "logistic", "features": [{"name": "a\\"b; --", "kind": "numeric"}], "coef": ["NaN", 1e400]}'""",
              """'{"spec": {"features": [{"name": "x", "kind": "bogus", "levels": [1, {}]}]}, "coef": {"a": 1}, "x": [[[]]]}'""",
              """'{"features": [{"name": "x", "kind": "numeric", "center": "NaN", "scale": 0}], "arms": -1}'""",
              # well-formed-looking specifications with hostile names and numbers
              ] + ["$j$%s$j$" % json.dumps(v) for v in [
                  [{"column": "x", "kind": "numeric", "bool": False, "center": 0, "scale": 1},
                   {"column": 'a"b; --', "kind": "level", "level": "x'); --"}],
                  [{"column": "x", "kind": "numeric", "bool": "t", "center": 1e300, "scale": 0},
                   {"column": "", "kind": "level", "level": None}, 7],
                  {"method": "two_model", "features": [{"column": "x", "kind": "numeric", "bool": False,
                   "center": 0, "scale": 1}], "coef": [1, 2], "intercept": True, "arms": [{"coef": [1]}],
                   "x": 1, "control": "c"}]],
    "regclass": ["NULL", "'pg_catalog.pg_class'", "'public.hostile_t'"],
    "regtype": ["NULL", "'pg_catalog.int4'", "'pg_catalog.record'"],
}


def hostile_arg_sets(argtypes, n_sets=8):
    """A few argument lists: all NULL, the first (empty) value of each type,
    then seeded mixtures of every listed value."""
    import random
    rnd = random.Random(18)
    pools = [HOSTILE_VALUES.get(t) for t in argtypes]
    if any(p is None for p in pools):
        return None
    sets = [["NULL"] * len(argtypes), [p[1] if len(p) > 1 else p[0] for p in pools]]
    for i in range(2, len(max(pools, key=len, default=[])) + 2):
        sets.append([p[min(i, len(p) - 1)] if i < len(p) else p[i % len(p)] for p in pools])
    while len(sets) < n_sets + 4:
        sets.append([rnd.choice(p) for p in pools])
    out = []
    for st in sets:
        if st not in out:
            out.append(st)
    return out


def scenario_hostile(admin):
    cur = admin.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {DB_HOSTILE}")
    cur.execute(f"CREATE DATABASE {DB_HOSTILE}")
    try:
        conn = connect(DB_HOSTILE)
        su = conn.cursor()
        su.execute("CREATE EXTENSION recpromo")
        su.execute(f"""CREATE TABLE public.hostile_t (x float8, "a""b; --" float8, y int, t text, b boolean);
                       INSERT INTO public.hostile_t VALUES (1, 2, 0, 'a', true), (2, 1, 1, 'b', false),
                                                           ('NaN', 'Infinity', 1, NULL, NULL);
                       GRANT SELECT ON public.hostile_t TO {ATTACKER};
                       GRANT USAGE ON SCHEMA recpromo TO {ATTACKER}""")
        su.execute("""SELECT p.oid::pg_catalog.regprocedure::pg_catalog.text, p.proname,
                             pg_catalog.array_agg(pg_catalog.format_type(t.oid, NULL) ORDER BY a.n)
                               FILTER (WHERE t.oid IS NOT NULL)
                        FROM pg_catalog.pg_proc p
                        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                             AND d.objid = p.oid AND d.deptype = 'e'
                        JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'recpromo'
                        LEFT JOIN LATERAL pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) WITH ORDINALITY a(t, n) ON true
                        LEFT JOIN pg_catalog.pg_type t ON t.oid = a.t
                       WHERE p.proname LIKE '\\_%%'
                         AND pg_catalog.has_function_privilege(%s, p.oid, 'EXECUTE')
                       GROUP BY p.oid, p.proname ORDER BY p.proname, p.oid""", (ATTACKER,))
        funcs = su.fetchall()
        # issue 18: the only internal functions an ordinary role can call are
        # the temporarily allowed ones (and the pass below runs on them)
        check("hostile arguments: no PUBLIC-executable internal function but those of ALLOW_PUBLIC",
              all(name in ALLOW_PUBLIC for sig, name, argtypes in funcs),
              "; ".join(sig for sig, name, argtypes in funcs if name not in ALLOW_PUBLIC))
        calls = 0
        hostile_codes = {}
        for sig, name, argtypes in funcs:
            argtypes = argtypes or []
            sets = hostile_arg_sets(argtypes)
            if sets is None:
                check(f"hostile arguments: {sig} has argument types the pass knows", False, str(argtypes))
                continue
            bad = []
            for st in sets:
                args = ", ".join(f"{v}::{t}" for v, t in zip(st, argtypes))
                stmt = f"SELECT * FROM recpromo.{name}({args})"
                calls += 1
                try:
                    su.execute(f"SET ROLE {ATTACKER}")
                    su.execute("SET statement_timeout = '20s'")
                    su.execute(stmt)
                    if su.description is not None:
                        su.fetchall()
                except psycopg2.Error as e:
                    code = e.pgcode or ""
                    hostile_codes[code] = hostile_codes.get(code, 0) + 1
                    if os.environ.get("RECPROMO_SEC_VERBOSE"):
                        print("   ", code, (e.pgerror or "").strip().splitlines()[0][:120], "<-", " ".join(stmt.split())[:400])
                    if code == "42601" or code[:2] in ("XX", "55") or not code:
                        bad.append(f"{code} {(e.pgerror or str(e)).strip().splitlines()[0][:140]} <- {stmt[:300]}")
                    elif code[:2] not in ("22", "42", "2B", "23", "0A", "57", "53", "54", "P0"):
                        bad.append(f"unexpected class {code} {(e.pgerror or '').strip().splitlines()[0][:140]} <- {stmt[:300]}")
                    elif e.pgerror is None or not e.pgerror.strip():
                        bad.append(f"{code} without a message <- {stmt[:300]}")
                if conn.closed:
                    bad.append(f"the backend died <- {stmt[:300]}")
                    conn = connect(DB_HOSTILE)
                    su = conn.cursor()
                    continue
                try:
                    su.execute("RESET ROLE")
                    su.execute("RESET statement_timeout")
                    su.execute("SELECT 1")
                except psycopg2.Error as e:
                    bad.append(f"the backend did not survive: {e} <- {stmt[:300]}")
                    conn = connect(DB_HOSTILE)
                    su = conn.cursor()
            check(f"hostile arguments: {sig}: clean 22xxx/42xxx errors, never 42601, XX, 55 or a crash "
                  f"({len(sets)} argument sets)", not bad, "\n    " + "\n    ".join(bad[:8]))
        print(f"  hostile arguments: {calls} calls over {len(funcs)} PUBLIC-executable internal functions; "
              f"errors by SQLSTATE: {dict(sorted(hostile_codes.items()))}")
        conn.close()
    finally:
        cur.execute(f"DROP DATABASE IF EXISTS {DB_HOSTILE}")


def main():
    t_start = time.time()
    admin = connect()
    acur = admin.cursor()
    acur.execute("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user")
    if not acur.fetchone()[0]:
        print("the security suite must run as a superuser")
        print("0 passed, 1 failed")
        return 1
    drop_everything(admin)
    acur.execute(f"CREATE ROLE {ATTACKER} NOLOGIN NOSUPERUSER")
    try:
        scenario_install(admin)
        scenario_runtime(admin)
        scenario_hostile(admin)
    finally:
        acur.execute(f"SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = %s", (ATTACKER,))
        row = acur.fetchone()
        check("attacker is not superuser at the end", row is not None and not row[0])
        if not os.environ.get("RECPROMO_SEC_KEEP"):
            drop_everything(admin)
        admin.close()
    if fired_report:
        print("trojans that fired, per function:")
        for sig in sorted(fired_report):
            by_path = {}
            for p, x in fired_report[sig]:
                by_path.setdefault(p, set()).add(x)
            for p in HOSTILE_PATHS:
                if p in by_path:
                    print(f"  {sig.split('(')[0]} [{p}]: {', '.join(sorted(by_path[p]))}")
    print(f"runtime {time.time() - t_start:.0f} s")
    return report()


if __name__ == "__main__":
    sys.exit(main())
