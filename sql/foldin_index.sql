-- train() says, with the CREATE INDEX statement, when fold-in cannot use an index on the user
-- column.  (Each training here stops with an error on a parameter the method does not take,
-- after the check: the NOTICE of a successful training contains its duration.)
SET search_path = recpromo, public;
SET client_min_messages = notice;
\set SHOW_CONTEXT never

CREATE SCHEMA "Shop Data";
CREATE TABLE "Shop Data"."Order Lines" ("Customer Id" int, sku int, qty int);
INSERT INTO "Shop Data"."Order Lines" VALUES (1, 10, 1), (1, 20, 2), (2, 10, 1);

-- no index: the NOTICE names the statement, identifiers quoted
SELECT name FROM train('fi', '"Shop Data"."Order Lines"', 'Customer Id', 'sku', method => 'popularity',
                       params => '{"not_a_parameter": 1}');
-- neither a partial index, an expression index nor one with the user column second serves it
CREATE INDEX fi_partial ON "Shop Data"."Order Lines" ("Customer Id") WHERE qty > 1;
CREATE INDEX fi_expr ON "Shop Data"."Order Lines" (("Customer Id" + 0));
CREATE INDEX fi_second ON "Shop Data"."Order Lines" (sku, "Customer Id");
SELECT name FROM train('fi', '"Shop Data"."Order Lines"', 'Customer Id', 'sku', method => 'popularity',
                       params => '{"not_a_parameter": 1}');
-- a btree whose first column is the user column does: no NOTICE
CREATE INDEX fi_user ON "Shop Data"."Order Lines" ("Customer Id", sku);
SELECT name FROM train('fi', '"Shop Data"."Order Lines"', 'Customer Id', 'sku', method => 'popularity',
                       params => '{"not_a_parameter": 1}');
-- so does a hash index
DROP INDEX "Shop Data".fi_user;
CREATE INDEX fi_hash ON "Shop Data"."Order Lines" USING hash ("Customer Id");
SELECT name FROM train('fi', '"Shop Data"."Order Lines"', 'Customer Id', 'sku', method => 'popularity',
                       params => '{"not_a_parameter": 1}');
-- a view: its plan cannot be checked, and the NOTICE says so
CREATE VIEW "Shop Data".recent AS SELECT * FROM "Shop Data"."Order Lines" WHERE qty > 0;
SELECT name FROM train('fi', '"Shop Data".recent', 'Customer Id', 'sku', method => 'popularity',
                       params => '{"not_a_parameter": 1}');
-- a partitioned table: its partitioned indexes count
CREATE TABLE fi_parts (customer int, sku int) PARTITION BY RANGE (customer);
CREATE TABLE fi_parts_1 PARTITION OF fi_parts FOR VALUES FROM (0) TO (100);
INSERT INTO fi_parts VALUES (1, 10);
SELECT name FROM train('fi', 'fi_parts', 'customer', 'sku', method => 'popularity',
                       params => '{"not_a_parameter": 1}');
CREATE INDEX ON fi_parts (customer);
SELECT name FROM train('fi', 'fi_parts', 'customer', 'sku', method => 'popularity',
                       params => '{"not_a_parameter": 1}');
