#!/usr/bin/python3
"""Runs every ```sql block of README.md, in order, in ONE psql session, as a reader would.

The README is a tutorial read top to bottom: its first block sets the search_path, later blocks
use tables that earlier ones created.  So this checker does not prepend anything: it feeds all
blocks, in order, into a single `psql -X -q` process on a fresh database, with a marker before
each block (`\\echo` on stdout, `\\warn` on stderr) so that output and errors can be attributed
to the block that produced them.  A block fails when it prints an error (ERROR, FATAL, or a psql
error such as an invalid backslash command) or when its output differs from the one shown.

Expected output (the contract for README writers):

    ```sql
    SELECT dot_product(ARRAY[1,2,3], ARRAY[4,5,6]);
    ```
    ```
     dot_product
    -------------
              32
    (1 row)
    ```

  An untagged ``` block that starts on the line right after a ```sql block's closing fence is
  that block's expected output: everything the block prints on standard output under
  `psql -X -q` (aligned format, headers, "(n rows)" footers, a blank line between results;
  command tags such as "CREATE TABLE" are not printed with -q, NOTICEs go to standard error and
  are not compared).  Trailing spaces and leading/trailing blank lines are ignored; everything
  else must match exactly.  Every number a README example shows must be in such a block (or in
  prose labelled as a benchmark or test figure with its script): do not write results in `--`
  comments, where nothing checks them.

Blocks whose first line is `-- not run` (sketches that need a scheduler, another server or a
real data file) are skipped.  Blocks indented inside list items are run with the indent removed.

Prints one line per block (ok / FAILED / skipped), then the error or a diff for each failure, and a
final "readme: N passed, N failed" line; exits non-zero on failure.  Used by
test/run_server_suites.sh.  Options: --show prints every block's actual output (to write or
update an expected block: check it by hand first); --db NAME chooses the scratch database.
"""
import difflib
import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
readme = os.path.join(root, "README.md")
show = "--show" in sys.argv
db = "recpromo_readme"
if "--db" in sys.argv:
    db = sys.argv[sys.argv.index("--db") + 1]

MARK = "@@readme-block"


def parse(text):
    """Returns [(line number of the ```sql fence, indent, sql, expected output or None)]."""
    lines = text.split("\n")
    blocks = []
    i = 0
    while i < len(lines):
        m = re.match(r"^( *)```sql\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent = m.group(1)
        start = i + 1
        j = start
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        sql = "\n".join(l[len(indent):] if l.startswith(indent) else l for l in lines[start:j])
        expected = None
        k = j + 1
        if k < len(lines) and re.match(r"^ *```\s*$", lines[k]):
            e = k + 1
            while e < len(lines) and lines[e].strip() != "```":
                e += 1
            expected = "\n".join(l[len(indent):] if l.startswith(indent) else l for l in lines[k + 1:e])
            k = e + 1
        blocks.append((start, indent, sql, expected))
        i = k
    return blocks


def normalise(s):
    out = [l.rstrip() for l in s.split("\n")]
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    return out


def split_by_marker(stream):
    """{block number: text printed after that block's marker}."""
    parts = {}
    current = None
    buf = []
    for line in stream.split("\n"):
        m = re.match(r"^%s (\d+)$" % MARK, line)
        if m:
            if current is not None:
                parts[current] = "\n".join(buf)
            current = int(m.group(1))
            buf = []
        elif current is not None:
            buf.append(line)
        # (psql prints nothing before the first marker)
    if current is not None:
        parts[current] = "\n".join(buf)
    return parts


# server errors, and psql's own ("invalid command \\x", "\\x: extra argument ...", "unterminated ...")
PROBLEM = re.compile(r"\b(ERROR|FATAL|PANIC):|^invalid command|^\\\w+: |unterminated|^psql:[^:]*:\d+: "
                     r"(?!(NOTICE|WARNING|INFO|LOG|DEBUG|DETAIL|HINT|CONTEXT|QUERY|LINE)\b)")

text = open(readme, encoding="utf-8").read()
blocks = parse(text)


def psql_postgres(sql, **kw):
    return subprocess.run(["psql", "-X", "-q", "-At", "-d", "postgres", "-c", sql],
                          capture_output=True, text=True, **kw)


# Roles are global to the cluster: the ones the README creates are dropped at the end, unless
# they existed before the run (then their block fails with "already exists", as for a reader).
run_sql = "\n".join(sql for _, _, sql, _ in blocks if not sql.lstrip().startswith("-- not run"))
roles = sorted(set(re.findall(r"CREATE\s+ROLE\s+(\w+)", run_sql, flags=re.I)))
existing = set()
if roles:
    existing = set(psql_postgres("SELECT rolname FROM pg_roles WHERE rolname IN (%s)"
                                 % ", ".join("'%s'" % r for r in roles), check=True).stdout.split())
    for r_ in sorted(existing):
        print(f"note: role {r_} exists before the run; the README's CREATE ROLE {r_} will fail")
psql_postgres(f"DROP DATABASE IF EXISTS {db}", check=True)
subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-c", f"CREATE DATABASE {db}"], check=True)

script = []
for n, (line, indent, sql, expected) in enumerate(blocks, 1):
    if sql.lstrip().startswith("-- not run"):
        continue
    script.append(f"\\echo {MARK} {n}\n\\warn {MARK} {n}\n{sql}\n")
script.append(f"\\echo {MARK} 0\n\\warn {MARK} 0\n")
r = subprocess.run(["psql", "-X", "-q", "-d", db], input="".join(script),
                   capture_output=True, text=True)
outs = split_by_marker(r.stdout)
errs = split_by_marker(r.stderr)

passed = failed = 0
details = []
for n, (line, indent, sql, expected) in enumerate(blocks, 1):
    where = f"README.md:{line}"
    if sql.lstrip().startswith("-- not run"):
        print(f"skipped block {n} ({where}): not run")
        continue
    out = outs.get(n)
    err = errs.get(n, "")
    err_lines = err.strip().split("\n")
    problems = [i for i, l in enumerate(err_lines) if PROBLEM.search(l)]
    why = None
    if out is None:
        why = "did not run (psql stopped before it)"
    elif problems:
        why = "error:\n" + "\n".join("    " + l for l in err_lines[problems[0]:problems[0] + 20])
    elif expected is not None and normalise(out) != normalise(expected):
        diff = difflib.unified_diff(normalise(expected), normalise(out), "README (shown)",
                                    "psql (actual)", lineterm="", n=2)
        why = "output differs:\n" + "\n".join("    " + l for l in diff)
    if show and out is not None:
        print(f"--- block {n} ({where}) output:\n" + "\n".join(normalise(out)) + "\n")
    if why is None:
        passed += 1
        print(f"ok      block {n} ({where})" + (", output compared" if expected is not None else ""))
    else:
        failed += 1
        first = sql.strip().split("\n")[0][:80]
        print(f"FAILED  block {n} ({where}) {first}")
        details.append(f"--- block {n} ({where}) {first}\n  {why}")

# the details last, so that a caller showing the tail of the output shows them
for d in details:
    print(d)

if r.returncode != 0:
    print(f"psql exited with status {r.returncode}: {r.stderr.strip()[-400:]}")
psql_postgres(f"DROP DATABASE {db}")
for r_ in roles:
    if r_ not in existing:
        psql_postgres(f"DROP ROLE IF EXISTS {r_}")
print(f"readme: {passed} passed, {failed} failed")
sys.exit(1 if failed or r.returncode != 0 else 0)
