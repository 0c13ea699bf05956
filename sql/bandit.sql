SET search_path = recpromo, public;
-- Decision ids seed the random draws: start them at a fixed value so that
-- this file's output does not depend on which tests ran before it.
SELECT setval('recpromo.bandit_decision_seq', 1000) > 0 AS reset;

-- A Beta-Bernoulli Thompson bandit over three coupons.
SELECT create_bandit('coupons', ARRAY['ten_off', 'free_ship', 'bogo'], seed => 7) > 0 AS created;
-- (n => 1 + 0 * g makes the call depend on g: one decision per row)
CREATE TEMP TABLE d1 AS SELECT g, c.* FROM generate_series(1, 30) g, LATERAL choose('coupons', n => 1 + 0 * g) c;
-- every propensity is a Monte-Carlo frequency of 100 draws
SELECT count(*) AS decisions, bool_and(abs(propensity * 100 - round(propensity * 100)) < 1e-9) AS hundredths,
       bool_and(propensity > 0 AND propensity <= 1) AS in_range
  FROM d1;
-- free_ship converts, the others do not
SELECT count(*) AS rewarded FROM (SELECT reward('coupons', decision_id, CASE WHEN arm = 'free_ship' THEN 1 ELSE 0 END) FROM d1) r;
CREATE TEMP TABLE d2 AS SELECT g, c.* FROM generate_series(1, 30) g, LATERAL choose('coupons', n => 1 + 0 * g) c;
SELECT count(*) FILTER (WHERE arm = 'free_ship') > 20 AS mostly_free_ship FROM d2;
-- the logged propensity is the one returned
SELECT bool_and(l.propensity = d2.propensity AND l.context IS NULL) AS logged
  FROM d2 JOIN recpromo.bandit_decision l USING (decision_id);
-- stats: Beta posterior mean and interval, the sharded sums equal the log
SELECT s.arm, s.active, s.pulls = (SELECT count(*) FROM d1 WHERE d1.arm = s.arm)
                                 + (SELECT count(*) FROM d2 WHERE d2.arm = s.arm) AS pulls_ok,
       s.rewards = (SELECT count(*) FROM d1 WHERE d1.arm = s.arm) AS rewards_ok,
       round(s.mean::numeric, 6) = round(((1 + s.reward_sum) / (2 + s.rewards))::numeric, 6) AS beta_mean,
       s.lower <= s.mean AND s.mean <= s.upper AS interval_ok
  FROM bandit_stats('coupons') s ORDER BY s.arm;
SELECT round(sum(probability)::numeric, 9) AS total_probability,
       (SELECT arm FROM bandit_stats('coupons') ORDER BY probability DESC LIMIT 1) AS favourite
  FROM bandit_stats('coupons');
SELECT arm, consistent FROM recount_bandit('coupons') ORDER BY arm;
SELECT arm, round(probability::numeric, 3) >= 0 AS ok FROM bandit_action_probabilities('coupons') ORDER BY arm;

-- A rolled-back decision and reward leave no trace.
CREATE TEMP TABLE before AS SELECT * FROM bandit_stats('coupons');
BEGIN;
SELECT reward('coupons', c.decision_id, 1) FROM choose('coupons') c;
ROLLBACK;
SELECT count(*) AS changed_rows FROM (SELECT * FROM bandit_stats('coupons') EXCEPT SELECT * FROM before) x;
SELECT bool_and(consistent) AS consistent FROM recount_bandit('coupons');

-- n distinct arms per call: the propensities are conditional on the arms before.
SELECT count(DISTINCT arm) AS arms, max(propensity) AS last_propensity FROM choose('coupons', n => 3);

-- Arms come and go.
SELECT add_bandit_arms('coupons', ARRAY['bogo', 'gift']) AS added;
SELECT retire_bandit_arm('coupons', 'bogo');
SELECT arm FROM choose('coupons', n => 3) ORDER BY arm;
SELECT arm, active FROM bandit_stats('coupons') ORDER BY arm;
SELECT add_bandit_arms('coupons', ARRAY['bogo']) AS reactivated;
SELECT arm, probability > 0 AS possible FROM bandit_action_probabilities('coupons') ORDER BY arm;

-- epsilon-greedy: exact probabilities.
SELECT create_bandit('eps', ARRAY['a', 'b', 'c'], policy => 'epsilon_greedy', epsilon => 0.3) > 0 AS created;
SELECT arm, propensity FROM choose('eps', n => 3) ORDER BY propensity, arm;
CREATE TEMP TABLE e AS SELECT g, c.* FROM generate_series(1, 6) g, LATERAL choose('eps', n => 1 + 0 * g) c;
SELECT count(*) FROM (SELECT reward('eps', decision_id, CASE arm WHEN 'b' THEN 1 ELSE 0 END) FROM e) r;
SELECT arm, round(probability::numeric, 6) AS probability FROM bandit_action_probabilities('eps') ORDER BY arm;
SELECT arm, pulls, rewards, reward_sum, round(mean::numeric, 4) AS mean FROM bandit_stats('eps') ORDER BY arm;

-- UCB1 on amounts: untried arms first, then the index.
SELECT create_bandit('ucb', ARRAY['x', 'y'], policy => 'ucb1', reward => 'amount') > 0 AS created;
SELECT reward('ucb', decision_id, CASE arm WHEN 'x' THEN 2.5 ELSE 1.0 END) FROM choose('ucb', n => 2);
SELECT arm, round(probability::numeric, 3) AS probability FROM bandit_action_probabilities('ucb') ORDER BY arm;
SELECT arm, round(mean::numeric, 3) AS mean FROM bandit_stats('ucb') ORDER BY arm;

-- Gaussian Thompson on amounts.
SELECT create_bandit('basket', ARRAY['small', 'large'], reward => 'amount', prior_var => 4, seed => 3) > 0 AS created;
SELECT reward('basket', decision_id, CASE arm WHEN 'large' THEN 30 ELSE 10 END) FROM choose('basket', n => 2);
SELECT arm, round(mean::numeric, 4) AS mean, round(lower::numeric, 4) AS lower, round(upper::numeric, 4) AS upper,
       round(probability::numeric, 3) AS probability
  FROM bandit_stats('basket') ORDER BY arm;

-- LinUCB with named features; contexts as JSON objects, arrays or float8[].
SELECT create_bandit('visit', ARRAY['banner', 'email'], policy => 'linucb', reward => 'amount',
                     features => ARRAY['bias', 'mobile'], alpha => 0.5) > 0 AS created;
SELECT arm, propensity FROM choose('visit', '{"bias": 1, "mobile": 1}'::jsonb);
SELECT reward('visit', decision_id, 1) FROM choose('visit', '{"bias": 1, "mobile": 1}'::jsonb, n => 2) WHERE arm = 'banner';
SELECT reward('visit', decision_id, 2) FROM choose('visit', '[1, 0]'::jsonb, n => 2) WHERE arm = 'email';
SELECT reward('visit', decision_id, 0) FROM choose('visit', ARRAY[1, 0]::float8[], n => 2) WHERE arm = 'banner';
SELECT arm, probability FROM bandit_action_probabilities('visit', ARRAY[1, 1]::float8[]) ORDER BY arm;
SELECT arm, probability FROM bandit_action_probabilities('visit', '{"bias": 1, "mobile": 0}'::jsonb) ORDER BY arm;
SELECT l.features FROM recpromo.bandit_decision l JOIN recpromo.bandit b ON b.id = l.bandit_id
 WHERE b.name = 'visit' ORDER BY decision_id LIMIT 2;
SELECT arm, pulls, rewards, reward_sum, consistent IS NOT NULL AS has_stats
  FROM bandit_stats('visit') JOIN recount_bandit('visit') r USING (arm) ORDER BY arm;
SELECT bool_and(consistent) AS consistent FROM recount_bandit('visit');

-- 10 arms and 20 features (results outlive the SPI connection: this crashed
-- before they were kept in the caller's memory context).
SELECT create_bandit('wide', ARRAY(SELECT 'arm' || i FROM generate_series(1, 10) i), policy => 'linucb',
                     dimension => 20, reward => 'amount') > 0 AS created;
SELECT count(*), round(sum(propensity)::numeric, 9) AS propensities FROM choose('wide', ARRAY(SELECT 1.0 / i FROM generate_series(1, 20) i)::float8[], n => 10);
SELECT count(*), round(sum(probability)::numeric, 9) AS total FROM bandit_action_probabilities('wide', ARRAY(SELECT 1.0 / i FROM generate_series(1, 20) i)::float8[]);
SELECT count(*), round(sum(width)::numeric, 6) AS width FROM bandit_linear_scores('wide', ARRAY(SELECT 1.0 / i FROM generate_series(1, 20) i)::float8[]);

-- A sliding window: only the last 2 rewards count.
SELECT create_bandit('win', ARRAY['only'], policy => 'ucb1', reward => 'amount', window_size => 2) > 0 AS created;
SELECT reward('win', decision_id, 100) FROM choose('win');
SELECT reward('win', decision_id, 1) FROM choose('win');
SELECT reward('win', decision_id, 3) FROM choose('win');
SELECT arm, pulls, rewards, reward_sum, mean FROM bandit_stats('win');

-- Arms from a table.
CREATE TEMP TABLE offers (code text, shop int);
INSERT INTO offers VALUES ('spring', 1), ('summer', 1), ('spring', 2), (NULL, 3);
SELECT create_bandit('from_table', 'offers', 'code', policy => 'ucb1') > 0 AS created;
SELECT arm FROM bandit_stats('from_table') ORDER BY arm;

-- Owners and grants: the creator owns a bandit; grantees may choose, reward and read.
CREATE ROLE regress_bandit_owner;
CREATE ROLE regress_bandit_reader;
GRANT USAGE ON SCHEMA recpromo TO regress_bandit_owner, regress_bandit_reader;
SET ROLE regress_bandit_owner;
SELECT create_bandit('owned', ARRAY['a', 'b', 'c'], policy => 'ucb1') > 0 AS created;
SET ROLE regress_bandit_reader;
SELECT * FROM choose('owned');
SELECT drop_bandit('owned');
SET ROLE regress_bandit_owner;
SELECT grant_bandit('owned', 'regress_bandit_reader');
SET ROLE regress_bandit_reader;
SELECT count(*) AS chosen FROM choose('owned');
SELECT count(*) AS arms FROM bandit_stats('owned');
SELECT retire_bandit_arm('owned', 'a');
SELECT grant_bandit('owned', 'public');
SELECT * FROM recpromo.bandit;
SELECT * FROM recpromo.bandit_decision;
SET ROLE regress_bandit_owner;
SELECT revoke_bandit('owned', 'regress_bandit_reader');
SET ROLE regress_bandit_reader;
SELECT count(*) FROM bandit_stats('owned');
SET ROLE regress_bandit_owner;
SELECT drop_bandit('owned');
RESET ROLE;
REVOKE USAGE ON SCHEMA recpromo FROM regress_bandit_owner, regress_bandit_reader;
DROP ROLE regress_bandit_owner;
DROP ROLE regress_bandit_reader;

-- Replay (Li et al. 2011) on a uniformly random log where arm 'b' pays 0.8, 'a' 0.2.
CREATE TEMP TABLE logged AS
SELECT g AS t, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END AS arm,
       CASE WHEN g % 2 = 0 THEN (g % 10 = 0)::int ELSE (g % 10 <> 1)::int END AS reward
  FROM generate_series(1, 2000) g;
SELECT create_bandit('replayed', ARRAY['a', 'b'], policy => 'ucb1', alpha => 0.2) > 0 AS created;
SELECT round(policy_value::numeric, 2) > 0.7 AS learns, round(logging_value::numeric, 2) AS logging_value,
       matched > 500 AS enough, events
  FROM replay_bandit('replayed', 'logged', 'arm', 'reward', order_column => 't');

-- Dropping removes the log too.
SELECT drop_bandit('coupons');
SELECT drop_bandit('coupons', if_exists => true);
SELECT count(*) FROM recpromo.bandit_decision l WHERE NOT EXISTS (SELECT FROM recpromo.bandit b WHERE b.id = l.bandit_id);
