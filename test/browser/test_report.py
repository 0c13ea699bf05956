#!/usr/bin/python3
"""report() rendered by a real browser: Debian's chromium, headless.

Builds the fixture of test/ref/test_charts.py in a fresh database, writes
report(...) with every section to an HTML file and has chromium
  - take a screenshot (--screenshot) with console logging on stderr
    (--enable-logging=stderr --v=0): no console message at all may appear
    (the page has no script, so any message is an error: a resource that
    failed to load, a parse or security complaint);
  - dump the DOM after rendering (--dump-dom): every chart's title, axis
    labels and legend entries must be there, 13 charts (15 <svg>
    elements: the bandit's history is one image of two panels);
and decodes the PNG (zlib + the PNG filters, no image library) for pixel
statistics: the page is not blank (enough non-background pixels, many
distinct colours) and the palette's colours are on screen.
Both detectors are first shown to work on control pages: one with a
console error, one blank.

If chromium is not installed the suite prints "SKIPPED" with the reason
and "0 passed, 0 failed, 1 skipped": it counts as neither a pass nor a
failure.  Runs inside the test cluster (libpq environment set).
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ref"))
from rptest import check, fresh_database  # noqa: E402
import rptest  # noqa: E402
from test_charts import SETUP  # noqa: E402

DB = "rp_browser"
WIDTH = 1000
TMP = None      # the suite's temporary directory


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def run_chromium(exe, url, *args, timeout=180):
    """(returncode, stdout, stderr) of one headless chromium run, with a fresh
    profile under the suite's temporary directory (removed at the end)."""
    cmd = [exe, "--headless", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
           "--disable-extensions", "--disable-background-networking", "--enable-logging=stderr", "--v=0",
           f"--user-data-dir={tempfile.mkdtemp(prefix='profile-', dir=TMP)}"]
    if os.geteuid() == 0:
        cmd.append("--no-sandbox")
    cmd += list(args) + [url]
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def console_messages(stderr):
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


def decode_png(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB/RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype})")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return w, h, rows


def pixel_stats(path):
    """(share of pixels that are neither the page background nor white,
    number of distinct colours, set of colours)."""
    w, h, rows = decode_png(path)
    colours = {}
    for r in rows:
        for px in r:
            colours[px] = colours.get(px, 0) + 1
    background = {(0xf4, 0xf4, 0xf4), (255, 255, 255)}
    ink = sum(n for c, n in colours.items() if c not in background)
    return ink / float(w * h), len(colours), set(colours)


def main():
    exe = find_chromium()
    if exe is None:
        print("SKIPPED: chromium is not installed (Debian: apt-get install chromium; test/install_deps.sh does it as root)")
        print("0 passed, 0 failed, 1 skipped")
        return 0
    global TMP
    tmp = TMP = tempfile.mkdtemp(prefix="rp-browser-")

    # --- the detectors work: a console error is seen, a blank page is blank
    bad = os.path.join(tmp, "control.html")
    with open(bad, "w") as f:
        f.write('<!DOCTYPE html><html><body><p>x</p><script>console.error("control");</script></body></html>')
    _, _, err = run_chromium(exe, "file://" + bad, "--dump-dom")
    check("control: a console error is detected", len(console_messages(err)) >= 1, err[-500:])
    blank = os.path.join(tmp, "blank.html")
    with open(blank, "w") as f:
        f.write('<!DOCTYPE html><html><body style="background:#ffffff"></body></html>')
    run_chromium(exe, "file://" + blank, f"--screenshot={tmp}/blank.png", f"--window-size={WIDTH},600")
    if os.path.exists(f"{tmp}/blank.png"):
        ink, ncol, _ = pixel_stats(f"{tmp}/blank.png")
        check("control: a blank page has no ink", ink < 0.001 and ncol <= 2, f"{ink} {ncol}")
    else:
        check("control: blank screenshot written", False)

    # --- the report
    admin, conn = fresh_database(DB)
    cur = conn.cursor()
    cur.execute(SETUP)
    cur.execute("SET search_path = recpromo, public")
    cur.execute("SELECT report(models => ARRAY['pop', 'als'], test_source => 'shop_test', user_col => 'customer_id', "
                "item_col => 'product_id', k => 5, uplift_source => 'campaign', treatment_col => 'treatment', "
                "outcome_col => 'bought', candidates => 'offer_candidates', budgets => ARRAY[50, 100, 200], "
                "orders => 'order_values', as_of => '2025-01-01', segment_source => 'profiles', "
                "segment_columns => ARRAY['recency_days', 'frequency', 'monetary'], clusters => 3, "
                "bandit => 'coupons', title => 'Shop report', item_groups => 'shop_groups', group_col => 'grp')")
    html = cur.fetchone()[0]
    cur.execute("SELECT DISTINCT segment FROM rfm('order_values', 'customer_id', 'ordered_at', 'amount', '2025-01-01')")
    segments = [r[0] for r in cur.fetchall()]
    conn.close()
    admin.cursor().execute(f"DROP DATABASE {DB}")
    page = os.path.join(tmp, "report.html")
    with open(page, "w", encoding="utf-8") as f:
        f.write(html)

    png = os.path.join(tmp, "report.png")
    rc, _, err = run_chromium(exe, "file://" + page, f"--screenshot={png}", f"--window-size={WIDTH},6000")
    check("screenshot: chromium exits 0", rc == 0, err[-800:])
    msgs = console_messages(err)
    check("screenshot: no console message", not msgs, "\n".join(msgs[:5]))
    if os.path.exists(png):
        ink, ncol, cols = pixel_stats(png)
        check("screenshot: not blank (> 3% ink)", ink > 0.03, f"{ink:.4f}")
        check("screenshot: many colours (anti-aliased text and charts)", ncol > 50, str(ncol))
        for name, rgb in [("Okabe-Ito blue", (0x00, 0x72, 0xB2)), ("Okabe-Ito orange", (0xE6, 0x9F, 0x00)),
                          ("Okabe-Ito green", (0x00, 0x9E, 0x73))]:
            check(f"screenshot: {name} on screen", rgb in cols)
    else:
        check("screenshot: written", False, err[-800:])

    rc, dom, err = run_chromium(exe, "file://" + page, "--dump-dom")
    check("dump-dom: chromium exits 0", rc == 0, err[-800:])
    msgs = console_messages(err)
    check("dump-dom: no console message", not msgs, "\n".join(msgs[:5]))
    check("dump-dom: 13 charts in the DOM (15 svg elements: the bandit's history has two panels)",
          dom.count("<svg") == 15 and dom.count('<section class="chart"') == 13, str(dom.count("<svg")))
    check("dump-dom: no script element", "<script" not in dom)
    expected = {
        "model comparison": ["Models compared at k = 5", "coverage", "pop", "als", "value (fraction, 0 to 1)"],
        "precision at k": ["Precision at k, 2 models", "k, length of the recommended list (items)"],
        "recall at k": ["Recall at k, 2 models", "recall at k (fraction, 0 to 1)"],
        "NDCG at k": ["NDCG at k, 2 models"],
        "qini": ["Qini curve: incremental outcome by targeting depth", "random targeting", "bootstrap band",
                 "share of customers targeted, highest scores first (fraction)"],
        "uplift curve": ["Cumulative uplift curve by targeting depth", "uplift curve"],
        "deciles": ["Observed uplift by score bin", "score bin, 1 = highest scores"],
        "profit": ["Profit versus budget", "upper bound on profit", "budget (money)"],
        "rfm": ["RFM segments: size and value", "share of value (monetary)"] + segments,
        "clusters": ["Cluster profiles", "recency_days", "frequency", "monetary", "cluster 1 ("],
        "bandit": ["Bandit: where the traffic goes", "share of decisions", "mean reward, 95% interval",
                   "pct10", "pct20", "free &amp; &lt;ship&gt;"],
        "exposure": ["Which kinds of products the models show", "Exposure by item group, top 5",
                     "share of relevant test items", "pop: share of recommended slots",
                     "als: share of recommended slots", "house brand", "a &amp; &lt;b&gt;", "others",
                     "fraction of all slots / of all relevant items", "Gini", "long-tail share", "APLT", "ARP"],
        "bandit history": ["Bandit: how it learned", "Share of decisions per arm over time",
                           "Posterior mean reward per arm, with 95% interval", "pct20: share of decisions",
                           "free &amp; &lt;ship&gt;: posterior mean", "end of time bucket (seconds since",
                           "share of the bucket's decisions (fraction)", "posterior mean reward (reward per decision)"],
    }
    for chart, labels in expected.items():
        missing = [s for s in labels if s not in dom]
        check(f"dump-dom: {chart} labels", not missing, str(missing))
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{rptest.passed} passed, {rptest.failed} failed, 0 skipped")
    return 1 if rptest.failed else 0


if __name__ == "__main__":
    sys.exit(main())
