"""The collection config: a TOML file validated up front, before any request is sent.

Every error is a `ConfigError` naming the file and the dotted key (``sampling.temperature``),
with the allowed values; unknown keys are refused (with a "did you mean" hint) so that a typo
cannot silently fall back to a default. Secrets never live in the file: `endpoint.api_key_env`
names the environment variable that holds the key.

A minimal config (everything else has a documented default)::

    run_id = "my-model/arith"
    out = "cached_runs/my-model-arith"

    [endpoint]
    base_url = "http://127.0.0.1:8080/v1"
    model = "my-model"

    [sampling]
    n = 8

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "c.toml"
>>> _ = p.write_text('run_id = "a"\\nout = "o"\\n[endpoint]\\nbase_url = "http://x/v1"\\n'
...                  'model = "m"\\n[sampling]\\nn = 4\\ntemprature = 1.0\\n')
>>> try:
...     load_config(p)
... except ConfigError as exc:
...     print(str(exc).split(": ", 1)[1])
key `sampling.temprature`: unknown key (did you mean `temperature`?)
"""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
import types
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from workbench.errors import ConfigError

TEMPLATES = ("chatml", "none")
"""Built-in chat templates for the completions API ("none" = the question as the raw prompt)."""


@dataclass(frozen=True)
class EndpointConfig:
    """Where the policy model is served (any OpenAI-compatible server)."""

    base_url: str
    model: str
    replicas: list[str] = field(default_factory=list)  # more servers of the same model
    api: str = "completions"  # "completions" (needed for tree banks) or "chat"
    template: str = "chatml"  # how chat turns become a completions prompt
    api_key_env: str | None = None  # name of the environment variable holding the key
    concurrency: int = 2
    rate_limit: float = 0.0  # requests per second; 0 = unlimited
    burst: int = 1  # token-bucket capacity
    max_retries: int = 5
    backoff: float = 0.5  # seconds; doubled per retry, with full jitter
    max_backoff: float = 30.0
    timeout: float = 300.0


@dataclass(frozen=True)
class ModelConfig:
    """What the policy model is (recorded in the run; `params` feeds FLOPs estimates)."""

    name: str = "unknown"
    params: float | None = None
    price_per_1k_tokens: float | None = None


@dataclass(frozen=True)
class ProblemsConfig:
    """The problems: generated arithmetic word problems or a JSONL file."""

    source: str = "arithmetic"  # "arithmetic" or "jsonl"
    n: int = 10  # arithmetic: how many
    seed: int = 0  # arithmetic: generator seed
    levels: list[int] = field(default_factory=lambda: [1, 2, 3])
    path: str | None = None  # jsonl: one {"problem_id", "question", "gold_answer"} per line
    dataset: str | None = None  # jsonl: the dataset name


@dataclass(frozen=True)
class ExampleConfig:
    """A worked example shown to the policy as an earlier chat turn (few-shot prompting)."""

    question: str
    answer: str


@dataclass(frozen=True)
class SamplingConfig:
    """N independent completions per problem."""

    n: int = 8
    temperature: float = 0.8
    top_p: float = 1.0
    max_tokens: int = 128
    separator: str = "\n"  # splits a completion into steps
    system: str = (
        "Solve the math word problem step by step, one short step per line. "
        "End with a line 'Answer: <number>'."
    )
    examples: list[ExampleConfig] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    step_tokens: bool = True  # ask for logprobs to count tokens per step exactly


@dataclass(frozen=True)
class JudgeConfig:
    """An LLM-as-judge verifier: score = P(yes) / (P(yes) + P(no)) from the first token."""

    name: str
    mode: str = "outcome"  # "outcome": one score per answer; "step": one per step prefix
    base_url: str | None = None  # default: the policy endpoint (and its replicas)
    model: str | None = None
    api: str = "completions"  # "completions" (logprobs) or "chat" (top_logprobs)
    template: str | None = None  # completions API: default endpoint.template
    params: float | None = None  # the judge's parameter count (FLOPs)
    top_logprobs: int = 20
    system: str = "You check solutions to math word problems. Reply with yes or no."


@dataclass(frozen=True)
class RewardConfig:
    """A reward-model endpoint in vLLM's pooling API shape (POST {url} {"model", "input"})."""

    name: str
    base_url: str
    model: str
    kind: str = "step"  # "step": one score per step tag; "outcome": the last value
    path: str = "/pooling"
    step_tag: str = "\n\n"  # appended after every step of the input text
    positive_index: int = 1  # which class of a [p_neg, p_pos] row is "good"
    params: float | None = None


@dataclass(frozen=True)
class TreeConfig:
    """A tree bank: children of each expanded node are B sampled next steps, each judged."""

    judge: str  # name of a [[judge]] whose scores become node scores
    branching: int = 4
    root_branching: int | None = None  # children of the root (default: branching)
    max_depth: int = 3  # the depth-max_depth node is the rest of the solution (terminal)
    frontier: int = 0  # 0 = expand every non-terminal node; K = the top K by score per depth
    problems: int | None = None  # the first k problems get a tree (default: all)
    max_tokens: int = 64  # per step (the final depth uses sampling.max_tokens)


@dataclass(frozen=True)
class RevisionsConfig:
    """Revision chains: the model revises its previous answer, `length - 1` times per chain.

    Revision 0 of chain c is sample c of the main run (reused, not regenerated).
    """

    run_id: str
    out: str
    chains: int = 4
    length: int = 4
    judge: str | None = None  # outcome judge scoring every revision
    problems: int | None = None
    prompt: str = (
        "Here is a previous attempt:\n{previous}\n\n"
        "Check it and write a corrected solution, one short step per line. "
        "End with a line 'Answer: <number>'."
    )


@dataclass(frozen=True)
class CollectConfig:
    """The whole collection: one validated, immutable object."""

    run_id: str
    out: str
    endpoint: EndpointConfig
    seed: int = 0
    workdir: str | None = None  # default: "<out>.work"
    model: ModelConfig = field(default_factory=ModelConfig)
    problems: ProblemsConfig = field(default_factory=ProblemsConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    judge: list[JudgeConfig] = field(default_factory=list)
    reward: list[RewardConfig] = field(default_factory=list)
    tree: TreeConfig | None = None
    revisions: RevisionsConfig | None = None
    source_file: str | None = field(default=None, compare=False)

    def stage_fingerprints(self) -> dict[str, str]:
        """Per journal, a hash of exactly the settings that determine its units' content.

        Counts are left out on purpose (problems.n, sampling.n, tree.problems,
        revisions.chains/length/problems): unit i does not depend on how many units there are,
        so a finished run can be grown by raising a count and rerunning. Transport settings
        (URLs, concurrency, retries) and parameter counts are not data either.
        """
        e, p, s = self.endpoint, self.problems, self.sampling
        base = {
            "seed": self.seed,
            "endpoint": {"model": e.model, "api": e.api, "template": e.template},
            "problems": {k: v for k, v in asdict(p).items() if k != "n"},
            "sampling": {k: v for k, v in asdict(s).items() if k != "n"},
        }

        def h(*parts: Any) -> str:
            blob = json.dumps([base, *parts], sort_keys=True, default=str).encode()
            return hashlib.sha256(blob).hexdigest()[:16]

        def judge_part(j: JudgeConfig) -> dict[str, Any]:
            return {k: v for k, v in asdict(j).items() if k not in ("base_url", "params")}

        out = {"samples": h()}
        for j in self.judge:
            out[f"judge:{j.name}"] = h(judge_part(j))
        for r in self.reward:
            out[f"reward:{r.name}"] = h({k: v for k, v in asdict(r).items()
                                        if k not in ("base_url", "params")})
        if self.tree is not None:
            t = {k: v for k, v in asdict(self.tree).items() if k != "problems"}
            out["tree"] = h(t)
            out["tree-judge"] = h(t, judge_part(self.judge_named(self.tree.judge)))
        if self.revisions is not None:
            rv = {"prompt": self.revisions.prompt}
            out["revisions"] = h(rv)
            if self.revisions.judge:
                out[f"revision-judge:{self.revisions.judge}"] = h(
                    rv, judge_part(self.judge_named(self.revisions.judge)))
        return out

    def fingerprint(self) -> str:
        """One hash of all stage fingerprints (shown by `workbench collect --dry-run`)."""
        blob = json.dumps(self.stage_fingerprints(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def workdir_path(self) -> Path:
        return Path(self.workdir) if self.workdir else Path(self.out + ".work")

    def judge_named(self, name: str) -> JudgeConfig:
        for j in self.judge:
            if j.name == name:
                return j
        raise KeyError(name)

    def public_dict(self) -> dict[str, Any]:
        """The config as recorded in the run's metadata (no paths, no secrets)."""
        d = asdict(self)
        for k in ("source_file", "workdir", "out"):
            d.pop(k)
        for k in ("base_url", "replicas", "api_key_env"):
            d["endpoint"].pop(k)
        for v in [*d["judge"], *d["reward"]]:
            v.pop("base_url")
        if d["revisions"]:
            d["revisions"].pop("out")
        return d


# -- validation ----------------------------------------------------------------------------


class _Fail(Exception):
    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message


def _type_label(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_label(a) for a in get_args(tp) if a is not type(None))
    if origin is list:
        return f"a list of {_type_label(get_args(tp)[0])}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return _coerce(value, args[0], key)
    if origin is list:
        (inner,) = get_args(tp)
        if not isinstance(value, list):
            raise _Fail(key, f"expected {_type_label(tp)}, got {value!r:.60}")
        return [_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise _Fail(key, f"expected true/false, got {value!r:.60}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Fail(key, f"expected an integer, got {value!r:.60}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Fail(key, f"expected a number, got {value!r:.60}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _Fail(key, f"expected a string, got {value!r:.60}")
        return value
    if isinstance(tp, type) and hasattr(tp, "__dataclass_fields__"):
        if not isinstance(value, dict):
            raise _Fail(key, f"expected a table [{key}], got {value!r:.60}")
        return _build(tp, value, key)
    raise _Fail(key, f"unsupported type {tp!r}")  # pragma: no cover - schema bug


def _build(cls: type, table: dict[str, Any], prefix: str) -> Any:
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls) if f.name != "source_file"]
    dotted = (lambda k: f"{prefix}.{k}") if prefix else (lambda k: k)
    for key in table:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else f"; known: {', '.join(names)}"
            raise _Fail(dotted(key), f"unknown key{hint}")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name == "source_file":
            continue
        if f.name not in table:
            if f.default is MISSING and f.default_factory is MISSING:
                raise _Fail(dotted(f.name), "is required")
            continue
        tp = hints[f.name]
        if get_origin(tp) is list and hasattr(get_args(tp)[0], "__dataclass_fields__"):
            (inner,) = get_args(tp)
            value = table[f.name]
            if isinstance(value, dict):
                value = [value]
            if not isinstance(value, list):
                raise _Fail(dotted(f.name), f"expected [[{dotted(f.name)}]] tables")
            kwargs[f.name] = [
                _coerce(v, inner, f"{dotted(f.name)}[{i}]") for i, v in enumerate(value)
            ]
        else:
            kwargs[f.name] = _coerce(table[f.name], tp, dotted(f.name))
    return cls(**kwargs)


def _need(cond: bool, key: str, message: str) -> None:
    if not cond:
        raise _Fail(key, message)


def _check(cfg: CollectConfig) -> None:
    """Ranges and cross-references that types alone cannot express."""
    _need(bool(cfg.run_id.strip()), "run_id", "must not be empty")
    e = cfg.endpoint
    _need(e.base_url.startswith(("http://", "https://")), "endpoint.base_url",
          f"must start with http:// or https://, got {e.base_url!r}")
    for i, url in enumerate(e.replicas):
        _need(url.startswith(("http://", "https://")), f"endpoint.replicas[{i}]",
              f"must start with http:// or https://, got {url!r}")
    _need(e.api in ("completions", "chat"), "endpoint.api",
          f"must be 'completions' or 'chat', got {e.api!r}")
    _need(e.template in TEMPLATES, "endpoint.template",
          f"must be one of {', '.join(TEMPLATES)}, got {e.template!r}")
    _need(e.concurrency >= 1, "endpoint.concurrency", f"must be >= 1, got {e.concurrency}")
    _need(e.rate_limit >= 0, "endpoint.rate_limit", f"must be >= 0, got {e.rate_limit}")
    _need(e.burst >= 1, "endpoint.burst", f"must be >= 1, got {e.burst}")
    _need(e.max_retries >= 0, "endpoint.max_retries", f"must be >= 0, got {e.max_retries}")
    _need(e.backoff >= 0, "endpoint.backoff", f"must be >= 0, got {e.backoff}")
    _need(e.timeout > 0, "endpoint.timeout", f"must be > 0, got {e.timeout}")
    p = cfg.problems
    _need(p.source in ("arithmetic", "jsonl"), "problems.source",
          f"must be 'arithmetic' or 'jsonl', got {p.source!r}")
    if p.source == "jsonl":
        _need(p.path is not None, "problems.path", "is required when problems.source = 'jsonl'")
        _need(p.dataset is not None, "problems.dataset",
              "is required when problems.source = 'jsonl'")
    else:
        _need(p.n >= 1, "problems.n", f"must be >= 1, got {p.n}")
        _need(bool(p.levels) and all(lv in (1, 2, 3) for lv in p.levels), "problems.levels",
              f"must be a non-empty list drawn from 1, 2, 3, got {p.levels}")
    s = cfg.sampling
    _need(s.n >= 1, "sampling.n", f"must be >= 1, got {s.n}")
    _need(s.temperature >= 0, "sampling.temperature", f"must be >= 0, got {s.temperature}")
    _need(0 < s.top_p <= 1, "sampling.top_p", f"must be in (0, 1], got {s.top_p}")
    _need(s.max_tokens >= 1, "sampling.max_tokens", f"must be >= 1, got {s.max_tokens}")
    _need(bool(s.separator), "sampling.separator", "must not be empty")
    names = [j.name for j in cfg.judge] + [r.name for r in cfg.reward]
    for i, j in enumerate(cfg.judge):
        _need(bool(j.name.strip()), f"judge[{i}].name", "must not be empty")
        _need(j.mode in ("outcome", "step"), f"judge[{i}].mode",
              f"must be 'outcome' or 'step', got {j.mode!r}")
        _need(1 <= j.top_logprobs <= 20, f"judge[{i}].top_logprobs",
              f"must be in 1..20, got {j.top_logprobs}")
        _need(j.api in ("completions", "chat"), f"judge[{i}].api",
              f"must be 'completions' or 'chat', got {j.api!r}")
        _need(j.template is None or j.template in TEMPLATES, f"judge[{i}].template",
              f"must be one of {', '.join(TEMPLATES)}, got {j.template!r}")
    for i, r in enumerate(cfg.reward):
        _need(r.kind in ("step", "outcome"), f"reward[{i}].kind",
              f"must be 'step' or 'outcome', got {r.kind!r}")
        _need(r.base_url.startswith(("http://", "https://")), f"reward[{i}].base_url",
              f"must start with http:// or https://, got {r.base_url!r}")
        _need(r.positive_index >= 0, f"reward[{i}].positive_index", "must be >= 0")
    dup = sorted({n for n in names if names.count(n) > 1})
    _need(not dup, "judge", f"verifier names must be unique, repeated: {', '.join(dup)}")
    if cfg.tree is not None:
        t = cfg.tree
        _need(e.api == "completions", "tree",
              "a tree bank continues step prefixes, which needs endpoint.api = 'completions'")
        _need(t.judge in names and any(j.name == t.judge for j in cfg.judge), "tree.judge",
              f"must name a [[judge]], got {t.judge!r}; judges: {[j.name for j in cfg.judge]}")
        _need(t.branching >= 1, "tree.branching", f"must be >= 1, got {t.branching}")
        _need(t.root_branching is None or t.root_branching >= 1, "tree.root_branching",
              f"must be >= 1, got {t.root_branching}")
        _need(t.max_depth >= 1, "tree.max_depth", f"must be >= 1, got {t.max_depth}")
        _need(t.frontier >= 0, "tree.frontier", f"must be >= 0, got {t.frontier}")
        _need(t.problems is None or t.problems >= 1, "tree.problems", "must be >= 1")
        _need(t.max_tokens >= 1, "tree.max_tokens", f"must be >= 1, got {t.max_tokens}")
    if cfg.revisions is not None:
        rv = cfg.revisions
        _need(bool(rv.run_id.strip()) and rv.run_id != cfg.run_id, "revisions.run_id",
              "must be non-empty and differ from run_id")
        _need(rv.chains >= 1, "revisions.chains", f"must be >= 1, got {rv.chains}")
        _need(rv.chains <= s.n, "revisions.chains",
              f"must be <= sampling.n ({s.n}): revision 0 of chain c is sample c")
        _need(rv.length >= 2, "revisions.length", f"must be >= 2, got {rv.length}")
        _need("{previous}" in rv.prompt, "revisions.prompt", "must contain {previous}")
        _need(rv.judge is None or any(j.name == rv.judge and j.mode == "outcome"
                                     for j in cfg.judge), "revisions.judge",
              f"must name an outcome [[judge]], got {rv.judge!r}")
        _need(rv.problems is None or rv.problems >= 1, "revisions.problems", "must be >= 1")


def parse_config(data: dict[str, Any], *, source: str = "<config>") -> CollectConfig:
    """Validate a config mapping (as read from TOML); raise `ConfigError` naming the key.

    >>> cfg = parse_config({"run_id": "r", "out": "o",
    ...                     "endpoint": {"base_url": "http://h/v1", "model": "m"}})
    >>> cfg.sampling.n, cfg.endpoint.concurrency
    (8, 2)
    """
    try:
        cfg = _build(CollectConfig, data, "")
        _check(cfg)
    except _Fail as fail:
        raise ConfigError(f"{source}: key `{fail.key}`: {fail.message}") from None
    return CollectConfig(**{**cfg.__dict__, "source_file": source})


def load_config(path: str | Path) -> CollectConfig:
    """Read and validate a TOML collection config; errors name the file and the key."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except OSError as exc:  # a folder, no permission, a dangling link...
        raise ConfigError(f"{p}: cannot read the config file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # TOML is UTF-8 by definition: name the line and byte so the user can find it
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{p}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save the config as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    return parse_config(data, source=str(p))
