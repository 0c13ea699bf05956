-- Issue 18: the last four internal helpers of the promotion layer, which the
-- PL/pgSQL of ab_test, ab_srm (82_ab.sql) and evaluate_policy (84_ope.sql)
-- called and every role could therefore call too.  Those three are C front
-- doors now (src/pg/ab_front.c) that run the same checks in C and call their
-- PL/pgSQL bodies (_body_ab_test, _body_ab_srm, _body_evaluate_policy, not
-- executable by PUBLIC) through fmgr.  The public functions change language
-- through CREATE OR REPLACE (generated part of this script).
DROP FUNCTION IF EXISTS @extschema@._promo_rel(pg_catalog.regclass);
DROP FUNCTION IF EXISTS @extschema@._promo_coltype(pg_catalog.regclass, pg_catalog.name, pg_catalog.text);
DROP FUNCTION IF EXISTS @extschema@._promo_num(pg_catalog.regclass, pg_catalog.name, pg_catalog.text);
DROP FUNCTION IF EXISTS @extschema@._promo_model(pg_catalog.text, pg_catalog.text);
