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

import importlib
from typing import Any

# Exports load on first use (PEP 562): `workbench.collect.prompts` and friends import without
# httpx or the store, so the in-process GPU backend (workbench.gpu) runs where DuckDB is absent.
_EXPORTS = {
    "Completion": "client", "EndpointClient": "client", "TokenBucket": "client",
    "backoff_delay": "client",
    "CollectConfig": "config", "EndpointConfig": "config", "JudgeConfig": "config",
    "ModelConfig": "config", "ProblemsConfig": "config", "RevisionsConfig": "config",
    "RewardConfig": "config", "SamplingConfig": "config", "TreeConfig": "config",
    "load_config": "config", "parse_config": "config",
    "FakeOpenAIServer": "fake_server", "Journal": "journal", "yes_no_score": "judge",
    "extract_answer": "problems", "generate_problems": "problems", "parse_pooling": "reward",
    "CollectResult": "runner", "StagePlan": "runner", "collect": "runner",
    "load_problems": "runner", "plan": "runner",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"workbench.collect.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'workbench.collect' has no attribute {name!r}")


__all__ = [
    "CollectConfig", "CollectResult", "Completion", "EndpointClient", "EndpointConfig",
    "FakeOpenAIServer", "Journal", "JudgeConfig", "ModelConfig", "ProblemsConfig",
    "RevisionsConfig", "RewardConfig", "SamplingConfig", "StagePlan", "TokenBucket",
    "TreeConfig", "backoff_delay", "collect", "extract_answer", "generate_problems",
    "load_config", "load_problems", "parse_config", "parse_pooling", "plan", "yes_no_score",
]
