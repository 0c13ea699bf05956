-- Offer assignment under a budget: one offer per customer, per-offer
-- limits, greedy on profit density with upgrades, Lagrangian bound.
SET search_path = recpromo, public;
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

-- Hand example.  Profit = value - cost; density = profit / cost.
--   c1/cheap: 3 - 1 = 2 (density 2)   c1/rich: 10 - 5 = 5 (density 1)
--   c2/cheap: 2 - 1 = 1 (density 1)   c2/rich:  4 - 5 < 0 (never)
--   c3/cheap: 0.5 - 1 < 0 (never)
CREATE TABLE pa_hand (customer int, offer text, value float8, cost float8);
INSERT INTO pa_hand VALUES (1, 'cheap', 3, 1), (1, 'rich', 10, 5), (2, 'cheap', 2, 1), (2, 'rich', 4, 5),
                           (3, 'cheap', 0.5, 1);
-- budget 2: c1 and c2 get 'cheap', profit 2 + 1 = 3
SELECT customer, offer, value, cost, profit, total_customers, total_spent, total_profit
  FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', budget => 2);
-- budget 6: the upgrade of c1 to 'rich' (+3 profit for +4 cost) fits: 5 + 1 = 6,
-- which is the unconstrained optimum, so the bound meets it
SELECT customer, offer, profit, total_profit, round(upper_bound::numeric, 6) AS upper_bound
  FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', budget => 6);
-- at most one 'cheap' offer: c2 goes without
SELECT customer, offer, total_profit
  FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', 2, '{"cheap": 1}');
-- profit versus budget
SELECT budget, customers, spent, profit FROM assign_offers_curve('pa_hand', 'customer', 'offer', 'value', 'cost',
                                                                  ARRAY[0, 1, 2, 5, 6, 100]);
-- nothing is profitable at budget 0
SELECT count(*) FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', 0);

-- Generated data: 5,000 customers, three offers with different costs and
-- customer-dependent incremental values.  The optimiser is compared with
-- "everyone gets the offer with the best average profit" and with random
-- targeting, each filling the same budget.
CREATE FUNCTION pa_u(i int, salt text) RETURNS float8 LANGUAGE sql IMMUTABLE
RETURN ('x' || substr(md5(i::text || salt), 1, 8))::bit(32)::bigint / 4294967296.0;
CREATE TABLE pa_cand AS
SELECT c AS customer, o.offer, o.cost,
       o.scale * pa_u(c, o.offer) ^ 2 * 4 AS value
  FROM generate_series(1, 5000) c,
       (VALUES ('email', 0.1, 0.5), ('coupon', 1.0, 2.5), ('free_shipping', 2.0, 5.0)) o(offer, cost, scale);
SELECT total_customers, round(total_spent::numeric, 1) AS spent, round(total_profit::numeric, 1) AS profit,
       round(upper_bound::numeric, 1) AS bound, total_profit >= 0.95 * upper_bound AS within_5pct
  FROM assign_offers('pa_cand', 'customer', 'offer', 'value', 'cost', 1500) LIMIT 1;
WITH best_avg AS (SELECT offer, avg(value - cost) AS p, min(cost) AS cost FROM pa_cand GROUP BY offer
                   ORDER BY avg(value - cost) DESC LIMIT 1),
     -- same offer to as many customers as the budget pays for (in customer order)
     blanket AS (SELECT sum(c.value - c.cost) AS profit FROM pa_cand c, best_avg b
                  WHERE c.offer = b.offer AND c.customer <= floor(1500 / b.cost)),
     -- random (customer, offer) pairs until the budget is spent
     rnd AS (SELECT customer, offer, value, cost, sum(cost) OVER (ORDER BY pa_u(customer, 'pick')) AS run
               FROM (SELECT DISTINCT ON (customer) * FROM pa_cand ORDER BY customer, pa_u(customer, offer || 'r')) s),
     random_pick AS (SELECT sum(value - cost) AS profit FROM rnd WHERE run <= 1500),
     opt AS (SELECT total_profit AS profit FROM assign_offers('pa_cand', 'customer', 'offer', 'value', 'cost', 1500) LIMIT 1)
SELECT (SELECT offer FROM best_avg) AS best_average_offer,
       round((SELECT profit FROM blanket)::numeric, 1) AS best_average_profit,
       round((SELECT profit FROM random_pick)::numeric, 1) AS random_profit,
       round((SELECT profit FROM opt)::numeric, 1) AS optimised_profit,
       (SELECT profit FROM opt) > 1.5 * (SELECT profit FROM blanket)
       AND (SELECT profit FROM opt) > 1.5 * (SELECT profit FROM random_pick) AS beats_both;
-- per-offer limits are respected
SELECT offer, count(*) FROM assign_offers('pa_cand', 'customer', 'offer', 'value', 'cost', 100000,
                                          '{"free_shipping": 100, "coupon": 50}') GROUP BY 1 ORDER BY 1;
-- the curve rises with the budget and never exceeds its bound
SELECT budget, customers, round(profit::numeric, 1) AS profit, profit <= upper_bound + 1e-9 AS below_bound
  FROM assign_offers_curve('pa_cand', 'customer', 'offer', 'value', 'cost', ARRAY[0, 250, 500, 1000, 2000, 4000, 8000]);

-- Bad inputs.
SELECT * FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', -1);
SELECT * FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', NULL);
SELECT * FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', 'NaN');
SELECT * FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'nope', 1);
SELECT * FROM assign_offers('pa_hand', 'customer', 'offer', 'offer', 'cost', 1);
SELECT * FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', 1, '{"gold": 3}');
SELECT * FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', 1, '{"cheap": -3}');
SELECT * FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', 1, '[1]');
SELECT * FROM assign_offers_curve('pa_hand', 'customer', 'offer', 'value', 'cost', ARRAY[1, -1]);
SELECT * FROM assign_offers_curve('pa_hand', 'customer', 'offer', 'value', 'cost', NULL);
INSERT INTO pa_hand VALUES (4, 'cheap', 1, -1);
SELECT * FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', 1);
UPDATE pa_hand SET cost = NULL WHERE customer = 4;
SELECT * FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', 1);
UPDATE pa_hand SET cost = 1, value = 'Infinity' WHERE customer = 4;
SELECT * FROM assign_offers('pa_hand', 'customer', 'offer', 'value', 'cost', 1);
SELECT * FROM assign_offers_from_model('no_model', 'pa_hand', 'customer', '{}', 1);
