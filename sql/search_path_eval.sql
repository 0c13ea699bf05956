-- time_split and evaluate_rankings under a hostile search_path (issue 10.2):
-- trojan format() overloads in public, which match the calls these functions
-- make better than pg_catalog.format(text, VARIADIC "any") does, would make
-- the attacker superuser if called.  The functions pin their search_path and
-- qualify their calls, so the canary stays false.
SET search_path = recpromo, public;
CREATE ROLE regress_rp_sp_attacker;
CREATE TABLE public.sp_orders (customer_id int, ordered_on date, item_id int);
INSERT INTO public.sp_orders VALUES (1, '2024-01-01', 10), (1, '2024-02-01', 11), (2, '2024-01-05', 10),
                                    (2, '2024-03-01', 12), (3, '2024-01-09', 11);
CREATE TABLE public.sp_recs (user_id int, item_id int, rank int);
INSERT INTO public.sp_recs VALUES (1, 11, 1), (1, 12, 2), (2, 12, 1), (2, 11, 2);
CREATE TABLE public.sp_test (user_id int, item_id int, rating float8);
INSERT INTO public.sp_test VALUES (1, 11, 5), (2, 12, 4);
-- each trojan does what the real function does, so the caller notices nothing
CREATE FUNCTION public.format(text, name, name, regclass, text) RETURNS text
LANGUAGE sql AS $$ ALTER ROLE regress_rp_sp_attacker SUPERUSER; SELECT pg_catalog.format($1, $2, $3, $4, $5) $$;
CREATE FUNCTION public.format(text, name, name, regclass, name) RETURNS text
LANGUAGE sql AS $$ ALTER ROLE regress_rp_sp_attacker SUPERUSER; SELECT pg_catalog.format($1, $2, $3, $4, $5) $$;
CREATE FUNCTION public.format(text, regclass, name) RETURNS text
LANGUAGE sql AS $$ ALTER ROLE regress_rp_sp_attacker SUPERUSER; SELECT pg_catalog.format($1, $2, $3) $$;
SET search_path = public, pg_catalog, recpromo;
SELECT (s.rec).customer_id, (s.rec).item_id, s.is_test
  FROM time_split(NULL::sp_orders, 'customer_id', 'ordered_on') s ORDER BY 1, 2;
SELECT users_evaluated, round(precision_at_k::numeric, 4) AS p, round(ndcg_at_k::numeric, 4) AS ndcg
  FROM evaluate_rankings('sp_recs', 'sp_test', k => 2, rating_col => 'rating', relevance_threshold => 4);
SET search_path = public, recpromo;
SELECT count(*) FROM time_split(NULL::sp_orders, 'customer_id', 'ordered_on', after => '2024-02-01');
SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'regress_rp_sp_attacker';
RESET search_path;
DROP FUNCTION public.format(text, name, name, regclass, text);
DROP FUNCTION public.format(text, name, name, regclass, name);
DROP FUNCTION public.format(text, regclass, name);
DROP TABLE public.sp_orders, public.sp_recs, public.sp_test;
DROP ROLE regress_rp_sp_attacker;
