#!/usr/bin/python3
"""Runs every ```sql block of README.md, in order, in one fresh database.

Each block runs as one psql script (ON_ERROR_STOP) inside a transaction
that is committed, so later blocks see what earlier ones created.  Blocks
whose first line is `-- not run` (sketches that need a scheduler, another
server or a real data file) are skipped.  Prints each failing block with
its error and a final "readme: N passed, N failed" line.  Used by
test/run_server_suites.sh so that the README's examples keep running as
written.
"""
import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
text = open(os.path.join(root, "README.md"), encoding="utf-8").read()
blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)

db = "recpromo_readme"
subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {db}"], check=True)
subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-c", f"CREATE DATABASE {db}"], check=True)

passed = failed = 0
for n, block in enumerate(blocks, 1):
    if block.lstrip().startswith("-- not run"):
        continue
    script = "SET client_min_messages = warning;\nSET search_path = public, recpromo;\n" + block
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-o", "/dev/null"],
                       input=script, capture_output=True, text=True)
    if r.returncode == 0:
        passed += 1
    else:
        failed += 1
        print(f"--- README sql block {n} failed:\n{block.strip()[:600]}\n>>> {r.stderr.strip()[:600]}\n")

subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-c", f"DROP DATABASE {db}"])
print(f"readme: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
