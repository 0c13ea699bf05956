-- Uplift: two-model and class-transformation models, several treatments,
-- Qini / AUUC / uplift@k with bootstrap intervals, balance check.
SET search_path = recpromo, public;
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

-- Hand example (8 customers, scores 8..1): treated converters at ranks 1, 3,
-- control converters at ranks 6, 8.  By the README formulas:
--   q(1/4) = (1 - 0) / 4 = 0.25,  q(1/2) = 2/4 = 0.5,  q(3/4) = (2 - 1*3/3)/4 = 0.25,
--   q(1) = ATE = 2/4 - 2/4 = 0; uplift@25% = 1/1 - 0/1 = 1.
CREATE TABLE pu_hand (id int, score float8, arm text, y int);
INSERT INTO pu_hand VALUES (1, 8, 'A', 1), (2, 7, 'control', 0), (3, 6, 'A', 1), (4, 5, 'control', 0),
                           (5, 4, 'A', 0), (6, 3, 'control', 1), (7, 2, 'A', 0), (8, 1, 'control', 1);
SELECT fraction, qini, uplift, random FROM uplift_curve('pu_hand', 'score', 'arm', 'y', points => 4);
-- Qini coefficient = trapezoids of q(phi) - phi q(1) over phi = k/8, with
-- q(k/8) for k = 1..8: 0 (no control yet), 1/4, 1/2, 1/2, 1/2, 1/4, (2 - 4/3)/4, 0.
SELECT metric, round(value::numeric, 6) AS value, ci_low, ci_high
  FROM uplift_evaluate('pu_hand', 'score', 'arm', 'y', k_percent => 25, n_boot => 0);
SELECT round(sum((a + b) / 2 / 8)::numeric, 6) AS qini_by_hand
  FROM (SELECT q AS b, lag(q, 1, 0::float8) OVER (ORDER BY k) AS a
          FROM (VALUES (1, 0), (2, 0.25), (3, 0.5), (4, 0.5), (5, 0.5), (6, 0.25), (7, 1 / 6.0), (8, 0)) v(k, q)) s;
SELECT * FROM uplift_by_decile('pu_hand', 'score', 'arm', 'y', bins => 2);

-- Generated campaign: 3 arms (control, A, B), 30,000 customers, known
-- heterogeneous effects tau_A = 0.3 x1 - 0.05 and tau_B = 0.2 x2 on a base
-- rate 0.1 + 0.1 x2.
CREATE FUNCTION pu_u(i int, salt text) RETURNS float8 LANGUAGE sql IMMUTABLE
RETURN ('x' || substr(md5(i::text || salt), 1, 8))::bit(32)::bigint / 4294967296.0;
CREATE TABLE pu_camp AS
SELECT i AS id, pu_u(i, 'a') AS x1, pu_u(i, 'b') AS x2,
       (ARRAY['control', 'A', 'B'])[1 + (pu_u(i, 't') * 3)::int % 3] AS arm
  FROM generate_series(1, 30000) i;
ALTER TABLE pu_camp ADD COLUMN tau_a float8, ADD COLUMN tau_b float8, ADD COLUMN y int, ADD COLUMN revenue float8;
UPDATE pu_camp SET tau_a = 0.3 * x1 - 0.05, tau_b = 0.2 * x2;
UPDATE pu_camp SET y = (pu_u(id, 'y') < 0.1 + 0.1 * x2 + CASE arm WHEN 'A' THEN tau_a WHEN 'B' THEN tau_b ELSE 0 END)::int,
                   revenue = 20 * x2 + CASE arm WHEN 'A' THEN 30 * tau_a ELSE 0 END + 10 * (pu_u(id, 'r') - 0.5);

-- randomisation check
SELECT treatment, feature, round(smd::numeric, 2) AS smd, balanced
  FROM uplift_balance('pu_camp', 'arm', '{x1, x2}') ORDER BY 1, 2;

SELECT treatment, customers, control_customers, round(ate::numeric, 3) AS ate
  FROM train_uplift('pu_tm', 'pu_camp', 'arm', 'y', '{x1, x2}');
SELECT treatment, customers, round(ate::numeric, 3) AS ate
  FROM train_uplift('pu_ct', 'pu_camp', 'arm', 'y', '{x1, x2}', method => 'class_transformation');
SELECT method, params->>'outcome' AS outcome, jsonb_array_length(params->'arms') AS arms
  FROM model WHERE name IN ('pu_tm', 'pu_ct') ORDER BY name;

-- Scores and the true effects side by side.
CREATE TABLE pu_scored AS
SELECT c.*, t.treatment, t.uplift AS est_tm, k.uplift AS est_ct,
       CASE t.treatment WHEN 'A' THEN c.tau_a ELSE c.tau_b END AS tau
  FROM pu_camp c
  JOIN score_uplift('pu_tm', 'pu_camp', 'id') t ON t.key = c.id::text
  JOIN score_uplift('pu_ct', 'pu_camp', 'id') k ON k.key = c.id::text AND k.treatment = t.treatment;
-- Spearman correlation of estimated with true uplift, per arm and method
SELECT treatment, round(corr(r_tm, r_tau)::numeric, 3) AS spearman_tm, round(corr(r_ct, r_tau)::numeric, 3) AS spearman_ct,
       corr(r_tm, r_tau) > 0.9 AND corr(r_ct, r_tau) > 0.9 AS ranks_well
  FROM (SELECT treatment, rank() OVER (PARTITION BY treatment ORDER BY est_tm) AS r_tm,
               rank() OVER (PARTITION BY treatment ORDER BY est_ct) AS r_ct,
               rank() OVER (PARTITION BY treatment ORDER BY tau) AS r_tau
          FROM pu_scored) s GROUP BY 1 ORDER BY 1;
-- per-row prediction equals batch scoring
SELECT bool_and(abs(p.uplift - s.est_tm) < 1e-12) AS same
  FROM pu_scored s, predict_uplift('pu_tm', to_jsonb(s)) p
 WHERE s.id <= 20 AND p.treatment = s.treatment;

-- The Qini coefficient of the true effect: with ranking by tau, E[q(phi)]
-- = (1/N) sum of tau over the top phi N.  An "oracle" table holds each
-- customer twice, treated with outcome tau and control with outcome 0,
-- which makes q(phi) exactly that.
CREATE VIEW pu_a AS SELECT * FROM pu_scored WHERE treatment = 'A' AND arm IN ('A', 'control');
CREATE VIEW pu_oracle AS
SELECT tau, 'A' AS arm, tau AS y FROM pu_a UNION ALL SELECT tau, 'control', 0 FROM pu_a;
SELECT round(value::numeric, 4) AS true_qini FROM uplift_evaluate('pu_oracle', 'tau', 'arm', 'y', n_boot => 0)
 WHERE metric = 'qini_coefficient' \gset
SELECT :true_qini AS true_qini;
-- observed data ranked by the true effect and by each model: the true
-- Qini lies within the bootstrap interval
SELECT 'true tau' AS ranking, metric, round(value::numeric, 4) AS value, round(ci_low::numeric, 4) AS ci_low,
       round(ci_high::numeric, 4) AS ci_high, ci_low <= :true_qini AND :true_qini <= ci_high AS covers_true
  FROM uplift_evaluate('pu_a', 'tau', 'arm', 'y', 'A', n_boot => 200, seed => 7) WHERE metric = 'qini_coefficient'
UNION ALL
SELECT 'two_model', metric, round(value::numeric, 4), round(ci_low::numeric, 4), round(ci_high::numeric, 4),
       ci_low <= :true_qini AND :true_qini <= ci_high
  FROM uplift_evaluate('pu_a', 'est_tm', 'arm', 'y', 'A', n_boot => 200, seed => 7) WHERE metric = 'qini_coefficient'
UNION ALL
SELECT 'class_transformation', metric, round(value::numeric, 4), round(ci_low::numeric, 4), round(ci_high::numeric, 4),
       ci_low <= :true_qini AND :true_qini <= ci_high
  FROM uplift_evaluate('pu_a', 'est_ct', 'arm', 'y', 'A', n_boot => 200, seed => 7) WHERE metric = 'qini_coefficient';
-- all metrics of the two-model score, seeded (same seed, same intervals)
SELECT metric, round(value::numeric, 4) AS value, round(ci_low::numeric, 4) AS ci_low, round(ci_high::numeric, 4) AS ci_high
  FROM uplift_evaluate('pu_a', 'est_tm', 'arm', 'y', 'A', k_percent => 20, seed => 1);
SELECT count(*) AS same_intervals FROM uplift_evaluate('pu_a', 'est_tm', 'arm', 'y', 'A', k_percent => 20, seed => 1) a
  JOIN uplift_evaluate('pu_a', 'est_tm', 'arm', 'y', 'A', k_percent => 20, seed => 1) b USING (metric)
 WHERE a.ci_low = b.ci_low AND a.ci_high = b.ci_high;
SELECT decile, treated + control_rows AS rows, round(uplift::numeric, 2) AS uplift
  FROM uplift_by_decile('pu_a', 'est_tm', 'arm', 'y', 'A', bins => 5);

-- Revenue outcome: ridge regression per arm (two_model) and the
-- transformed outcome (class_transformation); true tau_A * 30.
SELECT treatment, round(ate::numeric, 1) AS ate FROM train_uplift('pu_rev', 'pu_camp', 'arm', 'revenue', '{x1, x2}');
SELECT params->>'outcome' AS outcome FROM model WHERE name = 'pu_rev';
SELECT p.treatment, round(p.uplift::numeric, 1) AS uplift_at_x1_0_9, CASE p.treatment WHEN 'A' THEN round((30 * (0.3 * 0.9 - 0.05))::numeric, 1) ELSE 0 END AS truth
  FROM predict_uplift('pu_rev', '{"x1": 0.9, "x2": 0.5}') p ORDER BY 1;
SELECT count(*) FROM train_uplift('pu_rev2', 'pu_camp', 'arm', 'revenue', '{x1, x2}', method => 'class_transformation');
SELECT p.treatment, abs(p.uplift - 30 * (0.3 * 0.9 - 0.05)) < 1.5 AS close
  FROM predict_uplift('pu_rev2', '{"x1": 0.9, "x2": 0.5}') p WHERE p.treatment = 'A';

-- Bad inputs.
CREATE TABLE pu_bad (id int, x float8, arm text, y int, s float8);
INSERT INTO pu_bad VALUES (1, 1, 'A', 1, 0.1), (2, 2, 'A', 0, 0.2), (3, 3, 'A', 1, 0.3);
SELECT * FROM train_uplift('m', 'pu_bad', 'arm', 'y', '{x}');                         -- no control
SELECT * FROM uplift_evaluate('pu_bad', 's', 'arm', 'y');                             -- no control
UPDATE pu_bad SET arm = 'control';
SELECT * FROM train_uplift('m', 'pu_bad', 'arm', 'y', '{x}');                         -- no treated
INSERT INTO pu_bad VALUES (4, 4, 'A', 0, 0.4), (5, 5, 'A', 0, 0.5);
SELECT * FROM train_uplift('m', 'pu_bad', 'arm', 'y', '{x}');                         -- one class in arm A
SELECT * FROM train_uplift('m', 'pu_bad', 'arm', 'y', '{x}', method => 'forest');
SELECT * FROM train_uplift('m', 'pu_bad', 'arm', 'nope', '{x}');
SELECT * FROM uplift_evaluate('pu_bad', 's', 'arm', 'y', treatment => 'Z');
SELECT * FROM uplift_evaluate('pu_bad', 's', 'arm', 'y', k_percent => 0);
SELECT * FROM uplift_evaluate('pu_bad', 's', 'arm', 'y', n_boot => 3);
SELECT * FROM uplift_evaluate('pu_bad', 's', 'arm', 'y', confidence => 1);
SELECT * FROM uplift_evaluate('pu_bad', 'arm', 'arm', 'y');
INSERT INTO pu_bad VALUES (6, 6, NULL, 0, 0.6);
SELECT * FROM uplift_evaluate('pu_bad', 's', 'arm', 'y');                             -- missing arm
UPDATE pu_bad SET arm = 'A', s = 'NaN' WHERE id = 6;
SELECT * FROM uplift_evaluate('pu_bad', 's', 'arm', 'y');                             -- NaN score
UPDATE pu_bad SET s = NULL WHERE id = 6;
SELECT * FROM uplift_evaluate('pu_bad', 's', 'arm', 'y');                             -- NULL score
SELECT * FROM score_uplift('pp_none', 'pu_bad', 'id');
SELECT * FROM uplift_balance('pu_bad', 'arm', '{}');
DELETE FROM model WHERE name LIKE 'pu\_%';
