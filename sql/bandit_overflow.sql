SET search_path = recpromo, public;
-- A reward whose square, or whose products with the decision's features,
-- would make the bandit's sums infinite is refused: accepted, it made every
-- later choose() fail ("state that is not finite").
-- Decision ids appear in messages: start them at a fixed value.
SELECT setval('recpromo.bandit_decision_seq', 7000) > 0 AS reset;
SELECT create_bandit('ovf_amount', ARRAY['a', 'b'], reward => 'amount', shards => 1) > 0 AS created;
SELECT reward('ovf_amount', decision_id, 1e200) FROM choose('ovf_amount');
SELECT reward('ovf_amount', decision_id, -1e155) FROM choose('ovf_amount');
SELECT reward('ovf_amount', decision_id, 1e150) FROM choose('ovf_amount');
SELECT count(*) AS chosen FROM choose('ovf_amount');
SELECT arm, rewards, reward_sum FROM bandit_stats('ovf_amount') ORDER BY arm;
SELECT bool_and(consistent) AS consistent FROM recount_bandit('ovf_amount');
-- contextual: x x' of features of 1e154 is 1e308; a second one overflows
SELECT create_bandit('ovf_lin', ARRAY['a'], policy => 'linucb', reward => 'amount',
                     dimension => 1, shards => 1) > 0 AS created;
SELECT reward('ovf_lin', decision_id, 0) FROM choose('ovf_lin', ARRAY[1e154]::float8[]);
SELECT reward('ovf_lin', decision_id, 0) FROM choose('ovf_lin', ARRAY[1e154]::float8[]);
SELECT arm FROM choose('ovf_lin', ARRAY[1]::float8[]);
SELECT arm, rewards FROM bandit_stats('ovf_lin') ORDER BY arm;
SELECT drop_bandit('ovf_amount'), drop_bandit('ovf_lin');
