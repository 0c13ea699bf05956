"""Helpers shared by the Python test scripts in test/ref (not a test itself).

The scripts run as `/usr/bin/python3 test/ref/test_x.py` inside the test
cluster, with the libpq variables (PGHOST, PGPORT, PGDATABASE, ...) set, and
each ends with the line "N passed, N failed" and a non-zero exit status on a
failure.  They import this module from their own directory:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from rptest import check, connect, finish, fresh_database

The name must not start with test_: test/run_server_suites.sh runs every
test/ref/test_*.py.
"""
import os
import sys

import psycopg2

passed = 0
failed = 0


def connect(db=None, autocommit=True):
    """A connection to database db (the libpq default when None), by default
    in autocommit mode."""
    c = psycopg2.connect(**({"dbname": db} if db else {}))
    c.autocommit = autocommit
    return c


def fresh_database(db):
    """Drops and creates database db through an autocommit connection to
    $PGDATABASE (postgres when unset), connects to db and creates the
    extension there (with client_min_messages = warning).  Returns (admin,
    conn): the admin connection is the one to drop db with at the end."""
    admin = connect(os.environ.get("PGDATABASE", "postgres"))
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {db}")
    admin.cursor().execute(f"CREATE DATABASE {db}")
    conn = connect(db)
    cur = conn.cursor()
    cur.execute("SET client_min_messages = warning")
    cur.execute("CREATE EXTENSION recpromo")
    return admin, conn


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C_TABLE = _crc32c_table()


def crc32c_int4(data):
    """The CRC-32C of data (Castagnoli, as pg_crc32c) as the int4 bit pattern
    stored in recpromo.model_part.checksum: what a test that rewrites a part
    must store for the load to get past the checksum (slow: small parts)."""
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    c ^= 0xFFFFFFFF
    return c - (1 << 32) if c >= (1 << 31) else c


assert crc32c_int4(b"123456789") == 0xE3069283 - (1 << 32)  # the standard check value


def check(name, cond, detail=""):
    """Counts one check; prints "FAIL: name detail" when cond is false.
    Returns cond."""
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", name, detail)
    return cond


def report(prefix=""):
    """Prints the final "N passed, N failed" line (after prefix) and returns
    the exit status: 1 when a check failed, else 0."""
    print(f"{prefix}{passed} passed, {failed} failed")
    return 1 if failed else 0


def finish(prefix=""):
    """report(prefix), then exits with its status."""
    sys.exit(report(prefix))
