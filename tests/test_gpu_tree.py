"""The GPU tree stage's text side, without a model: which tokens end a step, where a child's
text is cut, which nodes are terminal, and the step-stop state the sampler keeps per row.
(The whole stage on the CPU with SmolLM2 is in tests/test_gpu_backend.py, marked e2e.)"""

from __future__ import annotations

import pytest

from workbench.collect.prompts import split_steps
from workbench.gpu.tree import cut_step, is_terminal, path_steps, step_stops

VOCAB = ["x", " = 2", ".", "\n", "\n\n", ".\n\n", "  ", "\n\n\n", " \n\n", "\\boxed{5}", ""]
SEP = "\n\n"


def test_step_stops_sort_the_vocabulary_by_what_precedes_the_separator():
    s = step_stops(VOCAB.__getitem__, len(VOCAB), SEP)
    assert s.ends == (5,)  # ".\n\n": text before the separator ends the step at once
    assert s.lead == (4, 7, 8)  # only whitespace before it: needs non-blank text first
    assert s.blank == (3, 4, 6, 7, 8)  # "" (special tokens) is neither blank nor content
    # the separator cut between two tokens: a token ending in "\n", then one starting with it
    assert s.pairs == (((3, 4, 5, 7, 8), (3, 4, 7)),)


def test_step_stops_of_a_longer_separator_have_one_pair_per_cut():
    vocab = ["a", "--", "-", "---", "b-"]
    s = step_stops(vocab.__getitem__, len(vocab), "---")
    assert s.ends == ()
    assert s.lead == (3,)
    assert [set(t) for t, _ in s.pairs] == [{1, 2, 3, 4}, {1, 3}]  # tails of "-" and "--"
    assert [set(h) for _, h in s.pairs] == [{1, 3}, {1, 2, 3}]  # heads "--" and "-"


@pytest.mark.parametrize(("text", "reason", "want"), [
    ("x = 2.\n\n", "step", "x = 2."),
    ("x = 2.\n\n\n", "step", "x = 2."),  # the stop token "\n\n\n": its tail is dropped
    ("\n\nx = 2\n\n", "step", "x = 2"),  # a blank line opening the step is not a step
    ("  x\n\n", "step", "x"),
    ("x = 2\n\ny = 3", "length", "x = 2\n\ny = 3"),  # the rest of a solution keeps its steps
    (" so \\boxed{5}. ", "stop", "so \\boxed{5}."),
    ("", "stop", ""),
])
def test_cut_step_takes_the_first_step_as_the_gen_stage_splits(text, reason, want):
    assert cut_step(text, reason, SEP) == want
    if reason == "step":
        assert cut_step(text, reason, SEP) == split_steps(text, SEP)[0]


def test_terminal_rules():
    kw = {"depth": 1, "max_depth": 3, "used": 50, "budget": 768}
    assert not is_terminal("Let x = 2.", "step", **kw)
    assert not is_terminal("Let x = 2.", "length", **kw)  # a long step, not the end
    assert is_terminal("Let x = 2.", "stop", **kw)  # the model ended its turn
    assert is_terminal("", "step", **kw)  # the model ended (empty step): treebank's rule
    assert is_terminal("So $\\boxed{12}$.", "step", **kw)
    assert is_terminal("Answer: 12", "step", **kw)
    assert is_terminal("Let x = 2.", "step", **{**kw, "depth": 3})  # the final depth
    assert is_terminal("Let x = 2.", "length", **{**kw, "used": 768})  # the budget is spent


def test_path_steps_split_the_joined_path_like_a_sample():
    assert path_steps(["a", "", "b\n\nc"], SEP) == ["a", "b", "c"]
    assert path_steps([""], SEP) == [""]  # an empty solution is one empty step, as in gen


def _run(stops, seq):
    """Feed one row's tokens to the sampler's step state; the position where the step ends."""
    torch = pytest.importorskip("torch")
    from workbench.gpu.generate import _StepState

    st = _StepState(stops, 1, torch.device("cpu"))
    rows = torch.tensor([0])
    if bool(st.admit(rows, torch.tensor([seq[0]]))[0]):
        return 0
    for i, t in enumerate(seq[1:], start=1):
        if bool(st.advance(torch.tensor([t]), torch.tensor([True]))[0]):
            assert bool(st.ended[0])
            return i
    return None


def test_the_sampler_ends_a_step_where_the_text_has_its_first_separator():
    s = step_stops(VOCAB.__getitem__, len(VOCAB), SEP)
    x, eq, dot, nl, nn, dotnn, ws, nnn = range(8)
    assert _run(s, [x, eq, dotnn, x]) == 2
    assert _run(s, [dotnn, x]) == 0  # "." then the separator, in the first token
    assert _run(s, [nn, x, eq, nn, x]) == 3  # the opening blank line does not end it
    assert _run(s, [nnn, ws, nl, x, nnn]) == 4
    assert _run(s, [x, dot, nl, nl, x]) == 3  # the separator cut in two tokens
    assert _run(s, [nl, nl, x, nl, x]) is None  # no blank line after the text
    for seq in ([x, eq, dotnn], [nn, x, nn], [x, nl, nl], [nnn, x, nnn]):
        end = _run(s, seq)
        text = "".join(VOCAB[t] for t in seq[: end + 1])
        assert SEP in text.lstrip() and SEP not in "".join(VOCAB[t] for t in seq[:end]).lstrip()


TOML = '''
run_prefix = "t"
dataset = "d"
problems = "p.jsonl"
out = "o"
workdir = "w"
system = "s"
[[policy]]
name = "small"
gguf = "m.gguf"
n = 2
'''


@pytest.mark.parametrize(("extra", "message"), [
    ('[tree]\npolicy = "small"\n', r"job.toml: \[tree\] scores nodes with the policy's probe"),
    ('[probe]\n[tree]\npolicy = "small"\nbranching = 0\n',
     r"job.toml: \[tree\] `branching` must be an integer >= 1, got 0"),
    ('[probe]\n[tree]\npolicy = "small"\nfrontier = -1\n', r"`frontier` must be an integer >= 0"),
    ('[probe]\n[tree]\npolicy = "big"\n', r"job.toml: no \[\[policy\]\] named 'big'"),
    ('[probe]\n[tree]\npolicy = "small"\nwidth = 2\n', r"job.toml: .*width"),
])
def test_a_bad_tree_table_is_refused_naming_file_and_key(tmp_path, extra, message):
    from workbench.errors import ConfigError
    from workbench.gpu.job import load_job

    path = tmp_path / "job.toml"
    path.write_text(TOML + extra)
    with pytest.raises(ConfigError, match=message):
        load_job(path)


def test_a_tree_table_becomes_collects_tree_config(tmp_path):
    from workbench.collect.treebank import child_id, id_width, n_children
    from workbench.gpu.job import load_job
    from workbench.gpu.tree import tree_config

    path = tmp_path / "job.toml"
    path.write_text(TOML + '[probe]\n[tree]\npolicy = "small"\n')
    cfg = load_job(path)
    t = tree_config(cfg.tree, "probe")
    assert (t.branching, t.root_branching, t.max_depth, t.frontier, t.problems) == (
        4, 16, 3, 0, 200)
    assert (n_children("root", t), n_children("3", t), id_width(t)) == (16, 4, 2)
    assert child_id("root", 3, id_width(t)) == "03"  # ids sort in generation order
