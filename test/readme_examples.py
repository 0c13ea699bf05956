#!/usr/bin/python3
"""Runs every ```sql block of the documentation, in order, in ONE psql session per language.

The English documentation is README.md and the reference files in doc/ (SETS below lists them in
their fixed order); their blocks run, file after file, in one session on a fresh database.  The
Chinese edition (README.zh-CN.md, then doc/zh-CN/) is a second set, in a session and database of
its own; the counts add up, and block locations name the file.  A doc/*.md or doc/zh-CN/*.md
file with ```sql blocks that SETS does not list is a failure.  `test/readme_examples.py FILE...`
checks the files named, in that order, in one session.

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
show = "--show" in sys.argv
db_base = "recpromo_readme"
# The documentation in sets; each set runs in ONE session, its files in this order, their blocks
# in the order of the file.  The order is the order in which the blocks depend on each other: the
# quick start in README.md creates the shop's tables and model `shop` that the reference files
# use, and each doc file keeps the order its sections had in the single README (the same
# session, the same tables), so the English files must stay in this order.  A new doc/*.md
# file with ```sql blocks must be added here: the check below fails while it is missing.
SETS = [
    ["README.md",
     "doc/similarity.md", "doc/training.md", "doc/serving.md", "doc/evaluation.md",
     "doc/promotions.md", "doc/experiments.md", "doc/privacy.md", "doc/operations.md",
     "doc/scaling.md", "doc/charts.md"],
    # the Chinese quick start, its worked example (tables of its own), then serving (model `shop`
    # of the quick start), evaluation and promotions
    ["README.zh-CN.md"] + ["doc/zh-CN/" + f for f in ("serving.md", "evaluation.md", "promotions.md")],
]
sets = []
args = sys.argv[1:]
given = []
while args:
    a = args.pop(0)
    if a == "--db":
        db_base = args.pop(0)
    elif a != "--show":
        given.append(a)
if given:
    sets = [given]                      # the files named, in one session, in the order given
else:
    sets = [[f for f in s if os.path.exists(os.path.join(root, f))] for s in SETS]
    sets = [s for s in sets if s]

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

def check_set(names, db):
    """Runs the blocks of the files names, in order, in one session on database db; returns
    (passed, failed, psql ok).  Blocks are numbered across the set; locations name the file."""
    passed = failed = 0
    blocks = []
    for name in names:
        text = open(os.path.join(root, name), encoding="utf-8").read()
        blocks += [(f"{name}:{b[0]}",) + b[1:] for b in parse(text)]


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

    details = []
    for n, (line, indent, sql, expected) in enumerate(blocks, 1):
        where = line
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
            diff = difflib.unified_diff(normalise(expected), normalise(out), f"{where.split(':')[0]} (shown)",
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
    return passed, failed, r.returncode == 0


def unlisted():
    """doc/*.md and doc/zh-CN/*.md files with ```sql blocks that no set lists."""
    listed = {f for s_ in SETS for f in s_}
    out = []
    for d in ("doc", "doc/zh-CN"):
        if not os.path.isdir(os.path.join(root, d)):
            continue
        for f in sorted(os.listdir(os.path.join(root, d))):
            path = f"{d}/{f}"
            if f.endswith(".md") and path not in listed and \
                    parse(open(os.path.join(root, path), encoding="utf-8").read()):
                out.append(path)
    return out


total_p = total_f = 0
psql_ok = True
for i, names in enumerate(sets):
    print("== " + ", ".join(names))
    p_, f_, ok_ = check_set(names, db_base if i == 0 else f"{db_base}_{i}")
    total_p += p_
    total_f += f_
    psql_ok = psql_ok and ok_
if not given:
    for f in unlisted():
        total_f += 1
        print(f"FAILED  {f} has sql blocks but is not in SETS of test/readme_examples.py: its "
              "examples are not checked (add it where its blocks' dependencies are met)")
print(f"readme: {total_p} passed, {total_f} failed")
sys.exit(1 if total_f or not psql_ok else 0)
