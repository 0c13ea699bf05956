
-- ---------------------------------------------------------------------------
-- Bandits (since 0.2.0): policies that learn from rewards as they arrive.
--
-- A bandit is one row of recpromo.bandit (configuration, owner, readers),
-- its arms in recpromo.bandit_arm, and its state: per arm, the additive
-- sufficient statistics of the rewards (count, sum, sum of squares and, for
-- the contextual policies, G = sum x x' and b = sum r x) split over
-- `shards` rows of recpromo.bandit_state.  choose() adds the shards up;
-- reward() adds to the shard of its backend (pid modulo shards) under that
-- row's lock, so concurrent sessions rarely wait for each other and no
-- update is lost.  Every decision is logged in recpromo.bandit_decision
-- (context, features, propensity) and every reward in recpromo.bandit_reward
-- (one per decision): the state is a sum over that log, and
-- recount_bandit() checks it.  With window_size W the policy uses the last W
-- rewards only, summed from the log at each decision (exact, O(W)).
-- All of it is transactional (a rolled-back choose or reward leaves no
-- trace), WAL-logged, and dumped by pg_dump (configuration tables).
-- No role but the extension owner has privileges on the tables: the C
-- functions (src/pg/bandit.c) check owner and readers, then switch to the
-- extension owner around their fixed, qualified queries, as for models.
-- ---------------------------------------------------------------------------
CREATE SEQUENCE @extschema@.bandit_id_seq;
CREATE SEQUENCE @extschema@.bandit_decision_seq;
CREATE SEQUENCE @extschema@.bandit_reward_seq;

CREATE TABLE @extschema@.bandit (
    id          bigint PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    policy      text NOT NULL,
    reward      text NOT NULL,
    dimension   integer NOT NULL DEFAULT 0,
    features    text[],
    prior_a     float8 NOT NULL,
    prior_b     float8 NOT NULL,
    prior_mean  float8 NOT NULL,
    prior_var   float8 NOT NULL,
    epsilon     float8 NOT NULL,
    alpha       float8 NOT NULL,
    lambda      float8 NOT NULL,
    draws       integer NOT NULL,
    window_size integer,
    seed        bigint NOT NULL,
    shards      integer NOT NULL,
    owner       regrole NOT NULL,
    readers     regrole[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE @extschema@.bandit_arm (
    bandit_id bigint NOT NULL,
    arm_no    integer NOT NULL,
    arm       text NOT NULL,
    active    boolean NOT NULL DEFAULT true,
    PRIMARY KEY (bandit_id, arm_no),
    UNIQUE (bandit_id, arm)
);

CREATE TABLE @extschema@.bandit_state (
    bandit_id  bigint NOT NULL,
    arm_no     integer NOT NULL,
    shard      integer NOT NULL,
    pulls      bigint NOT NULL DEFAULT 0,
    rewards    bigint NOT NULL DEFAULT 0,
    reward_sum float8 NOT NULL DEFAULT 0,
    reward_sq  float8 NOT NULL DEFAULT 0,
    gram       float8[],
    xr         float8[],
    PRIMARY KEY (bandit_id, arm_no, shard)
);

CREATE TABLE @extschema@.bandit_decision (
    decision_id bigint PRIMARY KEY,
    bandit_id   bigint NOT NULL,
    arm_no      integer NOT NULL,
    propensity  float8 NOT NULL,
    context     jsonb,
    features    float8[],
    decided_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX bandit_decision_bandit ON @extschema@.bandit_decision (bandit_id, arm_no);

CREATE TABLE @extschema@.bandit_reward (
    decision_id bigint PRIMARY KEY,
    bandit_id   bigint NOT NULL,
    reward_seq  bigint NOT NULL,
    value       float8 NOT NULL,
    rewarded_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX bandit_reward_order ON @extschema@.bandit_reward (bandit_id, reward_seq);

REVOKE ALL ON TABLE @extschema@.bandit, @extschema@.bandit_arm, @extschema@.bandit_state,
    @extschema@.bandit_decision, @extschema@.bandit_reward FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.bandit_id_seq, @extschema@.bandit_decision_seq,
    @extschema@.bandit_reward_seq FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_arm', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_state', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_decision', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_reward', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_decision_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bandit_reward_seq', '');

COMMENT ON TABLE @extschema@.bandit IS 'bandits: policy, options, owner and readers (create_bandit)';
COMMENT ON TABLE @extschema@.bandit_arm IS 'arms of the bandits; retired arms are no longer chosen';
COMMENT ON TABLE @extschema@.bandit_state IS 'additive reward statistics per bandit, arm and shard';
COMMENT ON TABLE @extschema@.bandit_decision IS 'every choose() decision with its context and propensity';
COMMENT ON TABLE @extschema@.bandit_reward IS 'every reward(), at most one per decision';

CREATE FUNCTION @extschema@.create_bandit(name text, arms text[], policy text DEFAULT 'thompson',
    reward text DEFAULT 'binary', epsilon float8 DEFAULT 0.1, alpha float8 DEFAULT 1.0,
    dimension integer DEFAULT NULL, features text[] DEFAULT NULL, lambda float8 DEFAULT 1.0,
    prior_a float8 DEFAULT 1.0, prior_b float8 DEFAULT 1.0, prior_mean float8 DEFAULT 0.0,
    prior_var float8 DEFAULT 1.0, window_size integer DEFAULT NULL, draws integer DEFAULT 100,
    seed bigint DEFAULT 0, shards integer DEFAULT 8)
RETURNS bigint
AS 'MODULE_PATHNAME', 'recpromo_create_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.create_bandit(text, text[], text, text, float8, float8, integer,
    text[], float8, float8, float8, float8, float8, integer, integer, bigint, integer) IS
'creates a bandit owned by the caller; policies thompson, ucb1, epsilon_greedy, linucb, lin_ts; '
'reward binary (0/1) or amount; contextual policies need dimension (or features); returns its id';

CREATE FUNCTION @extschema@.create_bandit(name text, arms_from regclass, arm_column name,
    policy text DEFAULT 'thompson',
    reward text DEFAULT 'binary', epsilon float8 DEFAULT 0.1, alpha float8 DEFAULT 1.0,
    dimension integer DEFAULT NULL, features text[] DEFAULT NULL, lambda float8 DEFAULT 1.0,
    prior_a float8 DEFAULT 1.0, prior_b float8 DEFAULT 1.0, prior_mean float8 DEFAULT 0.0,
    prior_var float8 DEFAULT 1.0, window_size integer DEFAULT NULL, draws integer DEFAULT 100,
    seed bigint DEFAULT 0, shards integer DEFAULT 8)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    arm_list text[];
BEGIN
    IF arms_from IS NULL OR arm_column IS NULL THEN
        RAISE EXCEPTION 'arms_from and arm_column must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- read as the caller: table privileges and row-level security apply
    EXECUTE pg_catalog.format(
        'SELECT pg_catalog.array_agg(DISTINCT a.v ORDER BY a.v) FROM '
        '(SELECT t.%I::pg_catalog.text AS v FROM %s t) a WHERE a.v IS NOT NULL',
        arm_column, arms_from)
      INTO arm_list;
    IF arm_list IS NULL THEN
        RAISE EXCEPTION 'column "%" of "%" holds no arms', arm_column, arms_from
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A bandit needs at least one arm: the non-null values of the column.';
    END IF;
    RETURN @extschema@.create_bandit(name => name, arms => arm_list, policy => policy,
        reward => reward, epsilon => epsilon, alpha => alpha, dimension => dimension,
        features => features, lambda => lambda, prior_a => prior_a, prior_b => prior_b,
        prior_mean => prior_mean, prior_var => prior_var, window_size => window_size,
        draws => draws, seed => seed, shards => shards);
END
$$;
COMMENT ON FUNCTION @extschema@.create_bandit(text, regclass, name, text, text, float8, float8,
    integer, text[], float8, float8, float8, float8, float8, integer, integer, bigint, integer) IS
'creates a bandit whose arms are the distinct non-null values (as text) of a column of a table '
'the caller can read; same options as create_bandit(name, arms text[], ...)';

CREATE FUNCTION @extschema@.add_bandit_arms(bandit text, arms text[])
RETURNS integer
AS 'MODULE_PATHNAME', 'recpromo_add_bandit_arms'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.add_bandit_arms(text, text[]) IS
'adds arms to a live bandit, or brings retired ones back (owner only); returns how many arms '
'became active';

CREATE FUNCTION @extschema@.retire_bandit_arm(bandit text, arm text)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_retire_bandit_arm'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.retire_bandit_arm(text, text) IS
'stops choosing an arm (owner only); its statistics and log stay, and rewards for its past '
'decisions are still accepted';

CREATE FUNCTION @extschema@.drop_bandit(name text, if_exists boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'recpromo_drop_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.drop_bandit(text, boolean) IS
'removes a bandit with its state and its decision and reward log (owner only)';

CREATE FUNCTION @extschema@.grant_bandit(bandit text, role name)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_grant_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.grant_bandit(text, name) IS
'lets a role (and its members), or public, call choose, reward, bandit_stats, bandit_history, '
'bandit_action_probabilities and replay_bandit on a bandit (owner only); such a role may '
'reward any decision of the bandit, not only the ones it made';

CREATE FUNCTION @extschema@.revoke_bandit(bandit text, role name)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_revoke_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.revoke_bandit(text, name) IS
'withdraws a grant_bandit (owner only)';

CREATE FUNCTION @extschema@.choose(bandit text, context jsonb DEFAULT NULL, n integer DEFAULT 1)
RETURNS TABLE(arm text, decision_id bigint, propensity float8)
AS 'MODULE_PATHNAME', 'recpromo_choose'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION @extschema@.choose(text, jsonb, integer) IS
'chooses n distinct arms, logs each decision with the context and returns the arm, the '
'decision_id to reward and the probability with which it was chosen; a contextual bandit reads '
'its features from a JSON array or from an object keyed by the bandit''s feature names';

CREATE FUNCTION @extschema@.choose(bandit text, context float8[], n integer DEFAULT 1)
RETURNS TABLE(arm text, decision_id bigint, propensity float8)
AS 'MODULE_PATHNAME', 'recpromo_choose'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION @extschema@.choose(text, float8[], integer) IS
'choose() with the context as a feature vector';

CREATE FUNCTION @extschema@.reward(bandit text, decision_id bigint, value float8)
RETURNS void
AS 'MODULE_PATHNAME', 'recpromo_reward'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.reward(text, bigint, float8) IS
'records the reward of a decision and updates the bandit''s state; one reward per decision '
'(a second one is refused), 0 or 1 for a binary bandit; the owner and every role granted the '
'bandit may reward any of its decisions';

CREATE FUNCTION @extschema@.bandit_stats(bandit text)
RETURNS TABLE(arm text, active boolean, pulls bigint, rewards bigint, reward_sum float8,
    mean float8, lower float8, upper float8, probability float8)
AS 'MODULE_PATHNAME', 'recpromo_bandit_stats'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bandit_stats(text) IS
'per arm: decisions, rewards, reward sum, posterior (thompson) or empirical mean with a 95% '
'interval, and the current probability of being chosen (NULL for contextual bandits)';

CREATE FUNCTION @extschema@.bandit_history(bandit text, buckets integer DEFAULT 20)
RETURNS TABLE(bucket integer, bucket_start timestamptz, bucket_end timestamptz, arm text,
    decisions bigint, share float8, pulls bigint, rewards bigint, reward_sum float8,
    mean float8, lower float8, upper float8)
AS 'MODULE_PATHNAME', 'recpromo_bandit_history'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bandit_history(text, integer) IS
'the decision and reward log of a bandit in equal time buckets from its first decision to its '
'last event; per bucket and arm: decisions and their share of the bucket, cumulative decisions, '
'rewards and reward sum, and the posterior mean with a 95% interval at the bucket''s end (Beta '
'quantiles for binary rewards, a normal interval for amounts)';

CREATE FUNCTION @extschema@.bandit_action_probabilities(bandit text, context jsonb DEFAULT NULL)
RETURNS TABLE(arm text, probability float8)
AS 'MODULE_PATHNAME', 'recpromo_bandit_action_probabilities'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bandit_action_probabilities(text, jsonb) IS
'the probability with which choose() would pick each active arm now, for this context; '
'nothing is logged (Thompson policies: Monte-Carlo estimate with the bandit''s seed)';

CREATE FUNCTION @extschema@.bandit_action_probabilities(bandit text, context float8[])
RETURNS TABLE(arm text, probability float8)
AS 'MODULE_PATHNAME', 'recpromo_bandit_action_probabilities'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bandit_action_probabilities(text, float8[]) IS
'bandit_action_probabilities() with the context as a feature vector';

CREATE FUNCTION @extschema@.bandit_linear_scores(bandit text, context float8[])
RETURNS TABLE(arm text, estimate float8, width float8, ucb float8)
AS 'MODULE_PATHNAME', 'recpromo_bandit_linear_scores'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bandit_linear_scores(text, float8[]) IS
'for a linucb or lin_ts bandit and a context x, per arm: the ridge estimate x''theta '
'(theta = (lambda I + sum x x'')^-1 sum r x), the width sqrt(x''A^-1 x) and the LinUCB index '
'estimate + alpha * width';

CREATE FUNCTION @extschema@.recount_bandit(bandit text)
RETURNS TABLE(arm text, shard_pulls bigint, log_pulls bigint, shard_rewards bigint,
    log_rewards bigint, shard_sum float8, log_sum float8, consistent boolean)
AS 'MODULE_PATHNAME', 'recpromo_recount_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.recount_bandit(text) IS
'compares the sharded state of a bandit with a recount from its decision and reward log '
'(consistent: pulls, rewards, sums, sums of squares and matrices equal)';

CREATE FUNCTION @extschema@.replay_bandit(bandit text, source regclass, arm_column name,
    reward_column name, context_column name DEFAULT NULL, order_column name DEFAULT NULL,
    seed bigint DEFAULT 0)
RETURNS TABLE(policy_value float8, logging_value float8, matched bigint, events bigint)
AS 'MODULE_PATHNAME', 'recpromo_replay_bandit'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.replay_bandit(text, regclass, name, name, name, name, bigint) IS
'replay evaluation (Li et al. 2011) of the bandit''s policy, started empty, on logged '
'uniformly random decisions: the mean reward of the events where it chose the logged arm, '
'against the mean reward of the log';
