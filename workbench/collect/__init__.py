"""Collect: generate and score runs against any OpenAI-compatible endpoint, resumably.

Sample N completions per problem (vLLM, SGLang, llama.cpp server, hosted APIs), score them with
an LLM-as-judge (P("yes") from logprobs) or a reward endpoint (vLLM pooling API), build tree
banks for exact beam / lookahead / DVTS replay and revision chains; every unit of work is
journaled so an interrupted collection resumes with no duplicate and no lost sample. The result
is a run directory in the canonical Parquet format (`workbench ingest` / `RunStore.import_run`).

>>> from workbench.collect import FakeOpenAIServer, collect, parse_config
>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> with FakeOpenAIServer() as srv:
...     cfg = parse_config({"run_id": "demo", "out": str(out), "problems": {"n": 3},
...                         "sampling": {"n": 2}, "judge": [{"name": "j"}],
...                         "endpoint": {"base_url": srv.base_url, "model": "fake"}})
...     result = collect(cfg)
>>> result.run_ids, result.units["samples"], sorted(p.name for p in out.iterdir())
(('demo',), 6, ['outcome_scores.parquet', 'problems.parquet', 'run.json', 'samples.parquet'])
"""

from workbench.collect.client import Completion, EndpointClient, TokenBucket, backoff_delay
from workbench.collect.config import (
    CollectConfig,
    EndpointConfig,
    JudgeConfig,
    ModelConfig,
    ProblemsConfig,
    RevisionsConfig,
    RewardConfig,
    SamplingConfig,
    TreeConfig,
    load_config,
    parse_config,
)
from workbench.collect.fake_server import FakeOpenAIServer
from workbench.collect.journal import Journal
from workbench.collect.judge import yes_no_score
from workbench.collect.problems import extract_answer, generate_problems
from workbench.collect.reward import parse_pooling
from workbench.collect.runner import CollectResult, StagePlan, collect, load_problems, plan

__all__ = [
    "CollectConfig", "CollectResult", "Completion", "EndpointClient", "EndpointConfig",
    "FakeOpenAIServer", "Journal", "JudgeConfig", "ModelConfig", "ProblemsConfig",
    "RevisionsConfig", "RewardConfig", "SamplingConfig", "StagePlan", "TokenBucket",
    "TreeConfig", "backoff_delay", "collect", "extract_answer", "generate_problems",
    "load_config", "load_problems", "parse_config", "parse_pooling", "plan", "yes_no_score",
]
