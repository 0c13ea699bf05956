-- Propensity: logistic regression trained in the database, stored as a
-- model, scored per row, evaluated (AUC, log-loss, calibration).
SET search_path = recpromo, public;
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

-- Hand example: one binary feature, no penalty.  The maximum-likelihood fit
-- reproduces the group rates: x = 0 converts 1 in 4 (logit -ln 3), x = 1
-- converts 3 in 4 (logit ln 3), so intercept = -ln 3 and slope = 2 ln 3.
CREATE TABLE pp_hand (id int, x int, y int);
INSERT INTO pp_hand VALUES (1, 0, 1), (2, 0, 0), (3, 0, 0), (4, 0, 0),
                           (5, 1, 1), (6, 1, 1), (7, 1, 1), (8, 1, 0);
SELECT feature, round(coefficient::numeric, 6) AS coefficient
  FROM train_propensity('pp_hand_model', 'pp_hand', 'y', '{x}', lambda => 0, standardize => false);
SELECT round(-ln(3)::numeric, 6) AS intercept, round(2 * ln(3)::numeric, 6) AS slope;
SELECT key, round(score::numeric, 6) AS score FROM score_propensity('pp_hand_model', 'pp_hand', 'id') ORDER BY key::int;
-- AUC by hand: 9 of 16 positive-negative pairs ordered right, 6 tied: (9 + 3) / 16 = 0.75.
-- Log-loss by hand: -(3 ln 0.75 + ln 0.25) / 4.
SELECT metric, round(value::numeric, 6) AS value FROM evaluate_propensity('pp_hand_model', 'pp_hand', 'y');
SELECT round((-(3 * ln(0.75) + ln(0.25)) / 4)::numeric, 6) AS log_loss_by_hand;
SELECT round(predict_propensity('pp_hand_model', '{"x": 1}')::numeric, 6) AS p1,
       predict_propensity('pp_hand_model', '{"z": 1}') AS missing_feature;
-- boolean target and boolean feature give the same model
CREATE TABLE pp_hand_bool AS SELECT id, x = 1 AS x, y = 1 AS y FROM pp_hand;
SELECT feature, round(coefficient::numeric, 6) AS coefficient
  FROM train_propensity('pp_hand_model', 'pp_hand_bool', 'y', '{x}', lambda => 0, standardize => false);

-- Generated data: a known logistic model with a categorical feature.
CREATE FUNCTION pp_u(i int, salt text) RETURNS float8 LANGUAGE sql IMMUTABLE
RETURN ('x' || substr(md5(i::text || salt), 1, 8))::bit(32)::bigint / 4294967296.0;
CREATE TABLE pp_cust AS
SELECT i AS id, pp_u(i, 'a') * 10 AS visits, pp_u(i, 'b') AS discount_share,
       (ARRAY['app', 'shop', 'web'])[1 + i % 3] AS channel
  FROM generate_series(1, 4000) i;
ALTER TABLE pp_cust ADD COLUMN bought int;
UPDATE pp_cust SET bought = (pp_u(id, 'y') < sigmoid(-1 + 0.3 * visits - 1.5 * discount_share
                                                      + CASE channel WHEN 'app' THEN 0.8 WHEN 'web' THEN -0.5 ELSE 0 END))::int;
SELECT feature, round(coefficient::numeric, 2) AS coefficient
  FROM train_propensity('pp_model', 'pp_cust', 'bought', '{visits, discount_share}', '{channel}',
                        lambda => 0.001, standardize => false);
SELECT method, nnz AS rows, round((metrics->>'train_auc')::numeric, 3) AS train_auc,
       (params->'features'->2->>'level') AS first_level
  FROM model WHERE name = 'pp_model';
SELECT metric, round(value::numeric, 3) AS value FROM evaluate_propensity('pp_model', 'pp_cust', 'bought');
-- calibrated: every decile's observed rate within 0.06 of its mean prediction
SELECT bin, rows, abs(mean_predicted - observed_rate) < 0.06 AS calibrated
  FROM propensity_calibration('pp_model', 'pp_cust', 'bought');
-- batch and per-row scores agree
SELECT count(*) AS rows, max(abs(s.score - predict_propensity('pp_model', to_jsonb(c)))) < 1e-12 AS same
  FROM pp_cust c JOIN score_propensity('pp_model', 'pp_cust', 'id') s ON s.key = c.id::text;

-- Retraining replaces the model under a new id, in one row.
SELECT id AS old_id FROM model WHERE name = 'pp_model' \gset
SELECT count(*) FROM train_propensity('pp_model', 'pp_cust', 'bought', '{visits}');
SELECT count(*) AS models, bool_and(id > :old_id) AS new_id, min(params->>'lambda') AS lambda
  FROM model WHERE name = 'pp_model';

-- Bad inputs.
CREATE TABLE pp_bad (id int, x float8, c float8, t text, y int, yb int, y2 int);
INSERT INTO pp_bad VALUES (1, 1, 5, 'a', 0, 0, 0), (2, 2, 5, 'b', 1, 0, 2), (3, NULL, 5, 'a', 1, 0, 1),
                          (4, 'NaN', 5, 'b', 0, 0, NULL);
CREATE VIEW pp_bad_ok AS SELECT * FROM pp_bad WHERE id < 3;
SELECT * FROM train_propensity('m', 'pp_bad', 'y', '{x}');                 -- missing values
SELECT * FROM train_propensity('m', 'pp_bad', 'y', '{c}');                 -- constant feature
SELECT * FROM train_propensity('m', 'pp_bad', 'yb', '{c}');                -- one class
SELECT * FROM train_propensity('m', 'pp_bad', 'y2', '{c}');                -- target missing
SELECT * FROM train_propensity('m', 'pp_bad_ok', 'y2', '{x}');             -- target not 0/1
SELECT * FROM train_propensity('m', 'pp_bad_ok', 'y', '{nope}');           -- unknown column
SELECT * FROM train_propensity('m', 'pp_bad_ok', 'nope', '{x}');           -- unknown target
SELECT * FROM train_propensity('m', 'pp_bad_ok', 'y', '{t}');              -- text as numeric
SELECT * FROM train_propensity('m', 'pp_bad_ok', 'y', '{}');               -- no features
SELECT * FROM train_propensity('m', 'pp_bad_ok', 'y', '{x,x}');            -- twice
SELECT * FROM train_propensity('m', 'pp_bad_ok', 'y', '{x}', lambda => -1);
SELECT * FROM train_propensity('m', 'pp_bad_ok', 'y', '{x}', lambda => 'NaN');
SELECT * FROM train_propensity('', 'pp_bad_ok', 'y', '{x}');
SELECT * FROM train_propensity('m', NULL, 'y', '{x}');
SELECT * FROM train_propensity('m', 'pp_bad_ok', 'y', '{x}', '{c}');       -- one level
DELETE FROM pp_bad WHERE id = 4;
UPDATE pp_bad SET x = 'Infinity' WHERE id = 3;
SELECT * FROM train_propensity('m', 'pp_bad', 'y', '{x}');                 -- infinite
SELECT * FROM score_propensity('no_such_model', 'pp_bad', 'id');
SELECT * FROM score_propensity('pp_model', 'pp_bad', 'nope');
SELECT * FROM propensity_calibration('pp_model', 'pp_cust', 'bought', 0);
SELECT * FROM evaluate_propensity('pp_model', 'pp_cust', 'channel');
-- perfectly separated classes without a penalty: warns, still returns
CREATE TABLE pp_sep AS SELECT i AS id, i::float8 AS x, (i > 5)::int AS y FROM generate_series(1, 10) i;
SELECT count(*) FROM train_propensity('pp_sep', 'pp_sep', 'y', '{x}', lambda => 0, max_iter => 5);
SELECT count(*) FROM train_propensity('pp_sep', 'pp_sep', 'y', '{x}', lambda => 1);
DELETE FROM model WHERE name LIKE 'pp\_%';
