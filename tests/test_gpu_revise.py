"""The GPU job's revise stage without a model: prompts, their fit in the context, the config
checks and the fold probes that score revision attempts. (The stage itself, with SmolLM2 on
the CPU, is in tests/test_gpu_backend.py, e2e.)"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from workbench.errors import ConfigError
from workbench.gpu.job import RevisionSpec, load_job
from workbench.gpu.revise import fit_prompt, revision_prompt

SPEC = RevisionSpec(policy="p", shown=4, attempt_chars=300)


def test_revision_prompt_shows_the_question_and_the_last_attempts_in_order():
    attempts = [f"attempt number {i} \\boxed{{{i}}}" for i in range(6)]
    text = revision_prompt("Be careful.", "What is 6 * 7?", attempts, SPEC)
    assert text.startswith("<|im_start|>system\nBe careful.<|im_end|>\n<|im_start|>user\n"
                           "What is 6 * 7?\n\n")
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")
    # the last `shown` = 4 attempts, oldest first, numbered 1..4
    shown = re.findall(r"Attempt (\d):\nattempt number (\d)", text)
    assert shown == [("1", "2"), ("2", "3"), ("3", "4"), ("4", "5")]
    assert "attempt number 1 " not in text
    assert "\\boxed{}" in text  # the instruction asks for a boxed answer


def test_one_previous_attempt_is_shown_unnumbered():
    text = revision_prompt("", "Q?", ["  only one  "], SPEC)
    assert "Attempt 1" not in text
    assert "oldest first:\n\nonly one\n\nThey may" in text


def test_long_attempts_are_cut_in_the_middle_keeping_the_answer():
    long = "start " + "x" * 5000 + " the answer is \\boxed{12}"
    text = revision_prompt("", "Q?", [long, "short"], SPEC)
    body = text.split("Attempt 1:\n")[1].split("\n\nAttempt 2:")[0]
    assert body.startswith("start ")
    assert body.endswith("\\boxed{12}")  # the tail survives the cut
    assert re.search(r"\[\.\.\. \d+ characters cut \.\.\.\]", body)
    assert len(body) < 400
    assert "Attempt 2:\nshort" in text  # a short attempt is untouched


def test_prompts_are_cut_harder_until_they_fit_the_context():
    def enc(s: str) -> list[int]:  # one "token" per character
        return list(range(len(s)))

    attempts = ["y" * 2000] * 4
    spec = RevisionSpec(policy="p", attempt_chars=2000, context_tokens=3000)
    ids = fit_prompt(enc, "", "Q?", attempts, spec, max_new=1000)
    assert len(ids) + 1000 <= 3000
    loose = fit_prompt(enc, "", "Q?", attempts, RevisionSpec(policy="p", attempt_chars=2000),
                       max_new=1000)
    assert len(loose) > 8000  # with room in the context nothing is cut beyond attempt_chars
    from workbench.errors import CollectError

    with pytest.raises(CollectError, match="leaves no room"):
        fit_prompt(enc, "", "Q?", attempts, RevisionSpec(policy="p", context_tokens=1200),
                   max_new=1000)


def _job_toml(tmp_path, revisions: str) -> str:
    probs = tmp_path / "p.jsonl"
    probs.write_text(json.dumps({"problem_id": "a", "question": "1+1?", "gold_answer": "2"})
                     + "\n")
    path = tmp_path / "job.toml"
    path.write_text(f'''run_prefix = "t"
dataset = "d"
problems = "{probs}"
out = "{tmp_path}/out"
workdir = "{tmp_path}/work"
system = "s"
max_new_tokens = 64
[[policy]]
name = "small"
gguf = "x.gguf"
n = 3
[revisions]
{revisions}
''')
    return str(path)


def test_the_revisions_table_is_read_and_checked(tmp_path):
    cfg = load_job(_job_toml(tmp_path, 'policy = "small"\nproblems = 1\nchains = 2\nlength = 3'))
    assert cfg.revisions == RevisionSpec(policy="small", problems=1, chains=2, length=3)
    for bad, msg in [('policy = "small"\nchains = 4', r"\[revisions\] chains = 4: must be "
                      r"between 1 and the policy's n \(3\)"),
                     ('policy = "small"\nlength = 1', r"length = 1: must be >= 2"),
                     ('policy = "big"', r"no \[\[policy\]\] named 'big'"),
                     ('policy = "small"\nchains = 2\nprompt = "again"',
                      r"must contain \{previous\}"),
                     ('policy = "small"\nchain = 2', r"unexpected keyword argument 'chain'")]:
        with pytest.raises(ConfigError, match=msg):
            load_job(_job_toml(tmp_path, bad))


def test_fitted_probes_score_a_problem_with_the_probe_that_held_it_out(tmp_path):
    """Synthetic data with a known signal: the kept fold probes reproduce crossfit_probe's
    held-out scores exactly, row by row."""
    pytest.importorskip("torch")
    from workbench.gpu.probe import FittedProbes, crossfit_probe

    rng = np.random.default_rng(0)
    groups = np.repeat([f"p{i}" for i in range(20)], 12)
    y = rng.random(groups.size) < 0.5
    x = rng.normal(size=(groups.size, 5)) + y[:, None] * np.array([1.0, 0, 0, 0, 0])
    res = crossfit_probe(x, y, groups, folds=4, seed=1)
    keys = sorted(res.fold_of)
    np.savez(tmp_path / "probe.npz", mean=res.mean, std=res.std, weights=res.weights, layer=7,
             problem_ids=np.array(keys, dtype=str), fold=np.array([res.fold_of[k] for k in keys]))
    fitted = FittedProbes.load(tmp_path / "probe.npz")
    assert fitted.layer == 7
    got = fitted.score(x, groups.tolist())
    np.testing.assert_allclose(got, res.scores, atol=1e-5)
    # the same rows under another fold's probe score differently: the fold matters
    shifted = {k: (f + 1) % 4 for k, f in fitted.fold_of.items()}
    other = FittedProbes(fitted.mean, fitted.std, fitted.weights, 7, shifted)
    assert np.abs(other.score(x, groups.tolist()) - res.scores).max() > 1e-3
    # a problem no fold saw is scored by fold 0 (no fold saw its labels either)
    x0 = (x[:1] - fitted.mean[0]) / fitted.std[0]
    want = 1 / (1 + np.exp(-(x0 @ fitted.weights[0, :-1] + fitted.weights[0, -1])))
    np.testing.assert_allclose(fitted.score(x[:1], ["unseen"]), want)
