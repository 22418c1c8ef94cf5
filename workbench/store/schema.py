"""The canonical DuckDB schema, its forward migrations and its documented views.

Migrations are applied in order; `schema_version` records each one applied. A migration is never
edited once released: a schema change is a new entry at the end of `MIGRATIONS`.
"""

from __future__ import annotations

SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS problems (
    dataset      VARCHAR NOT NULL,
    problem_id   VARCHAR NOT NULL,
    question     VARCHAR,
    gold_answer  VARCHAR,
    subject      VARCHAR,
    level        VARCHAR,
    meta         JSON,
    PRIMARY KEY (dataset, problem_id)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id        VARCHAR PRIMARY KEY,
    dataset       VARCHAR NOT NULL,
    policy_model  VARCHAR NOT NULL,
    policy_params DOUBLE,
    sampler       JSON,
    prompt        VARCHAR,
    source        VARCHAR NOT NULL,
    meta          JSON,
    created_at    TIMESTAMP NOT NULL,
    content_hash  VARCHAR NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS samples (
    run_id        VARCHAR NOT NULL,
    problem_id    VARCHAR NOT NULL,
    sample_idx    INTEGER NOT NULL,
    answer        VARCHAR,
    answer_key    VARCHAR,
    is_correct    BOOLEAN,
    output_tokens INTEGER,
    prompt_tokens INTEGER,
    n_steps       INTEGER,
    text          VARCHAR,
    chain_id      INTEGER,
    revision_idx  INTEGER,
    PRIMARY KEY (run_id, problem_id, sample_idx)
);
CREATE TABLE IF NOT EXISTS step_scores (
    run_id      VARCHAR NOT NULL,
    verifier    VARCHAR NOT NULL,
    problem_id  VARCHAR NOT NULL,
    sample_idx  INTEGER NOT NULL,
    step_idx    INTEGER NOT NULL,
    score       DOUBLE NOT NULL,
    step_tokens INTEGER,
    PRIMARY KEY (run_id, verifier, problem_id, sample_idx, step_idx)
);
CREATE TABLE IF NOT EXISTS outcome_scores (
    run_id     VARCHAR NOT NULL,
    verifier   VARCHAR NOT NULL,
    problem_id VARCHAR NOT NULL,
    sample_idx INTEGER NOT NULL,
    score      DOUBLE NOT NULL,
    PRIMARY KEY (run_id, verifier, problem_id, sample_idx)
);
CREATE TABLE IF NOT EXISTS tree_nodes (
    run_id      VARCHAR NOT NULL,
    problem_id  VARCHAR NOT NULL,
    node_id     VARCHAR NOT NULL,
    parent_id   VARCHAR,
    depth       INTEGER NOT NULL,
    text        VARCHAR,
    score       DOUBLE,
    tokens      INTEGER,
    is_terminal BOOLEAN NOT NULL,
    answer_key  VARCHAR,
    is_correct  BOOLEAN,
    expanded    BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, problem_id, node_id)
);
CREATE TABLE IF NOT EXISTS problem_counts (
    run_id     VARCHAR NOT NULL,
    problem_id VARCHAR NOT NULL,
    n          INTEGER NOT NULL,
    c          INTEGER NOT NULL,
    PRIMARY KEY (run_id, problem_id)
);
"""

# Views are (re)created on every read-write open, so they can change without a migration.
VIEWS = """
-- step_agg: one row per (run, verifier, sample) with the PRM step scores aggregated four ways
-- (Snell et al. 2024 use `last`; `prod` is computed in log space to avoid underflow and is 0
-- when any step score is 0). Scores are assumed in [0, 1] for `prod`.
CREATE OR REPLACE VIEW step_agg AS
SELECT run_id, verifier, problem_id, sample_idx,
       count(*)                                  AS n_scored_steps,
       arg_max(score, step_idx)                  AS agg_last,
       min(score)                                AS agg_min,
       CASE WHEN min(score) <= 0 THEN 0.0
            ELSE exp(sum(ln(score))) END         AS agg_prod,
       avg(score)                                AS agg_mean,
       sum(step_tokens)                          AS step_tokens
FROM step_scores
GROUP BY run_id, verifier, problem_id, sample_idx;

-- verifiers: which verifier scored which run, and how (step = PRM, outcome = ORM).
CREATE OR REPLACE VIEW verifiers AS
SELECT DISTINCT run_id, verifier, 'step' AS kind FROM step_scores
UNION
SELECT DISTINCT run_id, verifier, 'outcome' AS kind FROM outcome_scores;

-- pool_all: every sample joined with every verifier that scored its run: the outcome score and
-- the aggregated step scores. Samples of runs without any verifier appear once with NULL scores.
CREATE OR REPLACE VIEW pool_all AS
WITH v AS (SELECT DISTINCT run_id, verifier FROM verifiers)
SELECT s.run_id, v.verifier, s.problem_id, s.sample_idx, s.answer, s.answer_key, s.is_correct,
       s.output_tokens, s.prompt_tokens, s.n_steps, s.chain_id, s.revision_idx,
       o.score AS outcome_score,
       a.agg_last, a.agg_min, a.agg_prod, a.agg_mean, a.n_scored_steps
FROM samples s
LEFT JOIN v ON v.run_id = s.run_id
LEFT JOIN outcome_scores o
       ON o.run_id = s.run_id AND o.verifier = v.verifier
      AND o.problem_id = s.problem_id AND o.sample_idx = s.sample_idx
LEFT JOIN step_agg a
       ON a.run_id = s.run_id AND a.verifier = v.verifier
      AND a.problem_id = s.problem_id AND a.sample_idx = s.sample_idx;

-- run_summary: sizes and what each run holds.
CREATE OR REPLACE VIEW run_summary AS
SELECT r.run_id, r.dataset, r.policy_model, r.source, r.created_at,
       coalesce(pc.n_problems, s.n_problems, t.n_problems, 0)  AS problems,
       coalesce(s.n_samples, pc.n_total, 0)                     AS samples,
       coalesce(s.n_correct, pc.c_total)                        AS correct,
       coalesce(ss.n, 0) > 0  AS has_step_scores,
       coalesce(os.n, 0) > 0  AS has_outcome_scores,
       coalesce(t.n_nodes, 0) > 0 AS has_tree,
       coalesce(s.n_chains, 0) > 0 AS has_chains,
       pc.n_problems IS NOT NULL AND s.n_samples IS NULL AS counts_only
FROM runs r
LEFT JOIN (SELECT run_id, count(DISTINCT problem_id) n_problems, count(*) n_samples,
                  count_if(is_correct) n_correct,
                  count(DISTINCT (problem_id, chain_id))
                      FILTER (WHERE chain_id IS NOT NULL) n_chains
           FROM samples GROUP BY run_id) s ON s.run_id = r.run_id
LEFT JOIN (SELECT run_id, count(*) n_problems, sum(n) n_total, sum(c) c_total
           FROM problem_counts GROUP BY run_id) pc ON pc.run_id = r.run_id
LEFT JOIN (SELECT run_id, count(DISTINCT problem_id) n_problems, count(*) n_nodes
           FROM tree_nodes GROUP BY run_id) t ON t.run_id = r.run_id
LEFT JOIN (SELECT run_id, count(*) n FROM step_scores GROUP BY run_id) ss ON ss.run_id = r.run_id
LEFT JOIN (SELECT run_id, count(*) n FROM outcome_scores GROUP BY run_id) os
       ON os.run_id = r.run_id;

-- pool(run, verifier): the per-sample pool a strategy draws from, as a table macro.
--   SELECT * FROM pool('qwen25-math-rm/math-cot-100', 'qwen2.5-math-rm-72b');
CREATE OR REPLACE MACRO pool(run, ver) AS TABLE
SELECT * FROM pool_all
WHERE run_id = run AND (verifier = ver OR (ver IS NULL AND verifier IS NULL));
"""

# Version 2: ingest became columnar (store/columnar.py). `run_problems` records which problems a
# run lists, so a problem without samples survives export; the three large tables lose their
# PRIMARY KEY, whose index made a 10M-row insert twice as slow and held gigabytes of memory
# (uniqueness is checked in columns before any row goes in, and a run goes in whole, in one
# transaction); content hashes are recomputed with the columnar scheme (REHASH_VERSION).
SCHEMA_V2 = """
DROP MACRO TABLE IF EXISTS pool;
DROP VIEW IF EXISTS run_summary;
DROP VIEW IF EXISTS pool_all;
DROP VIEW IF EXISTS verifiers;
DROP VIEW IF EXISTS step_agg;
CREATE TABLE run_problems (
    run_id     VARCHAR NOT NULL,
    problem_id VARCHAR NOT NULL,
    PRIMARY KEY (run_id, problem_id)
);
INSERT INTO run_problems
SELECT DISTINCT run_id, problem_id FROM (
    SELECT run_id, problem_id FROM samples
    UNION ALL SELECT run_id, problem_id FROM tree_nodes
    UNION ALL SELECT run_id, problem_id FROM problem_counts);
CREATE TABLE samples_v2 (
    run_id        VARCHAR NOT NULL,
    problem_id    VARCHAR NOT NULL,
    sample_idx    INTEGER NOT NULL,
    answer        VARCHAR,
    answer_key    VARCHAR,
    is_correct    BOOLEAN,
    output_tokens INTEGER,
    prompt_tokens INTEGER,
    n_steps       INTEGER,
    text          VARCHAR,
    chain_id      INTEGER,
    revision_idx  INTEGER
);
INSERT INTO samples_v2 SELECT * FROM samples;
DROP TABLE samples;
ALTER TABLE samples_v2 RENAME TO samples;
CREATE TABLE step_scores_v2 (
    run_id      VARCHAR NOT NULL,
    verifier    VARCHAR NOT NULL,
    problem_id  VARCHAR NOT NULL,
    sample_idx  INTEGER NOT NULL,
    step_idx    INTEGER NOT NULL,
    score       DOUBLE NOT NULL,
    step_tokens INTEGER
);
INSERT INTO step_scores_v2 SELECT * FROM step_scores;
DROP TABLE step_scores;
ALTER TABLE step_scores_v2 RENAME TO step_scores;
CREATE TABLE outcome_scores_v2 (
    run_id     VARCHAR NOT NULL,
    verifier   VARCHAR NOT NULL,
    problem_id VARCHAR NOT NULL,
    sample_idx INTEGER NOT NULL,
    score      DOUBLE NOT NULL
);
INSERT INTO outcome_scores_v2 SELECT * FROM outcome_scores;
DROP TABLE outcome_scores;
ALTER TABLE outcome_scores_v2 RENAME TO outcome_scores;
"""

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "canonical schema of DESIGN.md", SCHEMA_V1),
    (2, "columnar ingest: run_problems, no key index on the large tables, hashes recomputed",
     SCHEMA_V2),
]
"""(version, description, SQL) applied in order to bring a store up to date."""

CURRENT_VERSION = MIGRATIONS[-1][0]
REHASH_VERSION = 2
"""After this migration's SQL, `RunStore` recomputes every stored run's content hash."""

VIEW_DOCS: dict[str, str] = {
    "step_agg": "per (run, verifier, sample): n_scored_steps, agg_last/min/prod/mean, step_tokens",
    "verifiers": "which verifier scored which run: kind 'step' (PRM) or 'outcome' (ORM)",
    "pool_all": "every sample x verifier with outcome_score and aggregated step scores",
    "run_summary": "per run: problems, samples, correct, has_step_scores/outcome/tree/chains",
    "pool(run, ver)": "table macro: pool_all restricted to one run and one verifier (NULL: none)",
}
