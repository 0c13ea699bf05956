#!/usr/bin/python3
"""The hybrid's blend on Online Retail: precision@10 and how many cold products it lists.

Not pass/fail; prints a table.  Needs the Online Retail file (see
/work/shared/data/online-retail/SOURCE.md; RETAIL_CSV overrides the path) and a database with
recpromo installed (libpq environment variables):

    /usr/bin/python3 bench/experiment_hybrid.py

Clean purchase lines (customer set, not a cancellation, quantity and price > 0) go into
retail_orders; 20 % of the (customer, stock code) pairs are held out with
in_test_set(customer, stock_code, 0.2, 42), as in bench/bench_knn.py.  Trained on the rest:
item_knn (50 neighbours, BM25), content on the descriptions, and hybrids of the two at the
defaults (weight 0.5, min_history 5), at weight 0.8 / min_history 3 and at min_history 0;
ease (lambda 500) and its hybrids with content.  For each: precision, recall, NDCG, hit rate
(@10) and coverage from evaluate(), and the share of top-10 slots (over 500 test customers,
"cold") taken by products fewer than 5 training customers bought.
"""
import csv
import gzip
import io
import os

import psycopg2

RETAIL = os.environ.get("RETAIL_CSV", "/work/shared/data/online-retail/online-retail.csv.gz")


def main():
    conn = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET client_min_messages = warning")
    cur.execute("SET search_path = public, recpromo")
    rows, descr = [], {}
    with gzip.open(RETAIL, "rt", newline="") as f:
        for row in csv.DictReader(f):
            if not row["CustomerID"] or row["InvoiceNo"].startswith("C"):
                continue
            if float(row["Quantity"]) <= 0 or float(row["UnitPrice"]) <= 0:
                continue
            rows.append((str(int(float(row["CustomerID"]))), row["StockCode"], row["Quantity"]))
            if row["Description"]:
                descr.setdefault(row["StockCode"], row["Description"].replace("\t", " ").replace("\\", " "))
    cur.execute("DROP TABLE IF EXISTS xh_orders, xh_products CASCADE")
    cur.execute("CREATE TABLE xh_orders (customer text, stock_code text, qty int)")
    cur.copy_expert("COPY xh_orders FROM STDIN", io.StringIO("".join("\t".join(r) + "\n" for r in rows)))
    cur.execute("CREATE TABLE xh_products (stock_code text PRIMARY KEY, description text)")
    cur.copy_expert("COPY xh_products FROM STDIN",
                    io.StringIO("".join("%s\t%s\n" % kv for kv in sorted(descr.items()))))
    cur.execute("CREATE INDEX ON xh_orders (customer)")
    cur.execute("CREATE VIEW xh_train AS SELECT * FROM xh_orders WHERE NOT in_test_set(customer, stock_code, 0.2, 42)")
    cur.execute("CREATE VIEW xh_test AS SELECT DISTINCT customer, stock_code FROM xh_orders "
                "WHERE in_test_set(customer, stock_code, 0.2, 42)")
    cur.execute("CREATE TABLE xh_buyers AS SELECT stock_code, count(DISTINCT customer) AS c FROM xh_train GROUP BY 1")
    cur.execute("""SELECT train('xh_knn', 'xh_train', 'customer', 'stock_code', method => 'item_knn',
                   neighbours => 50, params => '{"weighting": "bm25"}')""")
    cur.execute("SELECT train_content('xh_content', 'xh_train', 'customer', 'stock_code', 'xh_products', '{description}')")
    cur.execute("SELECT train_hybrid('xh_h_default', 'xh_knn', 'xh_content')")
    cur.execute("SELECT train_hybrid('xh_h_08_3', 'xh_knn', 'xh_content', weight => 0.8, min_history => 3)")
    cur.execute("SELECT train_hybrid('xh_h_plain', 'xh_knn', 'xh_content', min_history => 0)")
    cur.execute("SELECT train('xh_ease', 'xh_train', 'customer', 'stock_code', method => 'ease')")
    cur.execute("SELECT train_hybrid('xh_he_default', 'xh_ease', 'xh_content')")
    cur.execute("SELECT train_hybrid('xh_he_08_3', 'xh_ease', 'xh_content', weight => 0.8, min_history => 3)")
    print("Online Retail: %d purchase lines; 20 %% of the pairs held out; k = 10" % len(rows))
    print("%-44s %8s %8s %8s %8s %8s %8s" % ("model", "p@10", "r@10", "ndcg@10", "hit", "coverage", "cold"))
    for name, label in (("xh_knn", "item_knn, 50 neighbours, BM25"),
                        ("xh_content", "content, descriptions"),
                        ("xh_h_default", "hybrid, defaults (0.5, min_history 5)"),
                        ("xh_h_08_3", "hybrid, weight 0.8, min_history 3"),
                        ("xh_h_plain", "hybrid, weight 0.5, min_history 0"),
                        ("xh_ease", "ease, lambda 500"),
                        ("xh_he_default", "hybrid ease + content, defaults"),
                        ("xh_he_08_3", "hybrid ease + content, 0.8, min_history 3")):
        cur.execute("SELECT precision_at_k, recall_at_k, ndcg_at_k, hit_rate_at_k, coverage "
                    "FROM evaluate(%s, 'xh_test', 'customer', 'stock_code', k => 10)", (name,))
        p, r, n, h, c = cur.fetchone()
        cur.execute("""SELECT avg((coalesce(b.c, 0) < 5)::int)
                       FROM (SELECT DISTINCT customer FROM xh_test ORDER BY customer LIMIT 500) t,
                            LATERAL recommend(t.customer, 10, %s) r
                            LEFT JOIN xh_buyers b ON b.stock_code = r.item""", (name,))
        cold = cur.fetchone()[0]
        print("%-44s %8.4f %8.4f %8.4f %8.4f %8.4f %8.3f" % (label, p, r, n, h, c, cold))
    for m in ("xh_h_default", "xh_h_08_3", "xh_h_plain", "xh_he_default", "xh_he_08_3", "xh_knn", "xh_ease",
              "xh_content"):
        cur.execute("SELECT drop_model(%s)", (m,))
    cur.execute("DROP TABLE xh_orders, xh_products, xh_buyers CASCADE")


if __name__ == "__main__":
    main()
