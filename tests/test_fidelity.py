"""Fidelity to Snell et al. 2024 and search-and-learn (issue 10, item 3): one hand-worked example
per item, each small enough to check on paper. Trees and pools here are SYNTHETIC (labelled).
Other items pinned elsewhere: signed weighted best-of-N scores (test_engine_exact_vote), the
revision chain's gold grade (test_revisions), lookahead's N(k+1) against enumeration
(test_tree_replay)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.engine import RunData, SamplePool, simulate
from workbench.engine.cost import CostModel
from workbench.engine.strategies.beam import BeamSearch
from workbench.engine.strategies.dvts import DVTS
from workbench.engine.strategies.lookahead import Lookahead
from workbench.engine.tree import TreeData
from workbench.store import TreeNode


def node(nid: str, parent: str | None, depth: int, score: float | None = None, *,
         answer: str | None = None, correct: bool = False, tokens: float = 10) -> TreeNode:
    return TreeNode("p", nid, parent, depth, score=score, tokens=tokens,
                    is_terminal=answer is not None, answer_key=answer,
                    is_correct=correct if answer is not None else None,
                    expanded=answer is None)


def test_beam_final_pool_never_exceeds_n() -> None:
    """beam(N=2, M=2) on: root -> a (terminal "7", wrong, 0.9), b (0.5) -> b1, b2 (terminal
    "5", right, 0.6 each). Step 1 draws a and b; a finishes, b is kept and expanded by 2; b1 and
    b2 finish. Uncapped, the pool {a, b1, b2} votes "5" (1.2) over "7" (0.9): right. With the
    pool capped at N = 2 (the first two to finish, as search-and-learn keeps
    completed_beams[:n]): {a, b1 or b2} votes "7" (0.9 > 0.6): wrong, in every draw."""
    tree = TreeData.from_records("toy", [
        node("root", None, 0), node("a", "root", 1, 0.9, answer="7"), node("b", "root", 1, 0.5),
        node("b1", "b", 2, 0.6, answer="5", correct=True),
        node("b2", "b", 2, 0.6, answer="5", correct=True)])
    curve = BeamSearch(width=2, draws=200).curve(tree, [2], rng=0)
    assert curve.per_problem.tolist() == [[0.0]]
    assert curve.cost.generations.tolist() == [4.0]  # the search still made all 4 generations


def test_dvts_votes_over_every_final_sibling() -> None:
    """dvts(N=4, M=4): one subtree. root -> a1 (terminal "5", right, 0.9), a2 and a3 (terminal
    "7", wrong, 0.5 and 0.45), a4 (terminal "9", wrong, 0.2). The kept candidate a1 is terminal,
    so the subtree ends with its last expansion {a1, a2, a3, a4}, all of which search-and-learn
    returns and votes over: "7" (0.95) beats "5" (0.9): wrong. Voting over the kept candidate
    alone (the old replay) said "5": right."""
    tree = TreeData.from_records("toy", [
        node("root", None, 0),
        node("a1", "root", 1, 0.9, answer="5", correct=True),
        node("a2", "root", 1, 0.5, answer="7"), node("a3", "root", 1, 0.45, answer="7"),
        node("a4", "root", 1, 0.2, answer="9")])
    assert DVTS(width=4, draws=50).curve(tree, [4], rng=0).per_problem.tolist() == [[0.0]]
    # four subtrees of one (M = 1): the same four finals, the same vote
    assert DVTS(width=1, draws=50).curve(tree, [4], rng=0).per_problem.tolist() == [[0.0]]


def test_lookahead_sits_at_n_times_k_plus_one_and_says_it_is_a_proxy() -> None:
    """lookahead(N=2, M=2, k=1) costs N(k+1) = 4 generations per step on the generations axis;
    budget 2 (N(k+1) = 2 means N = 1 < M) is refused; the label names the proxy rollout."""
    tree = TreeData.from_records("toy", [
        node("root", None, 0), node("a", "root", 1, 0.9), node("b", "root", 1, 0.1),
        node("a1", "a", 2, 0.1, answer="1"), node("a2", "a", 2, 0.2, answer="2"),
        node("b1", "b", 2, 0.8, answer="3", correct=True),
        node("b2", "b", 2, 0.7, answer="3", correct=True)])
    look = Lookahead(width=2, depth=1, draws=20).curve(tree, [4], rng=0)
    assert look.budgets.tolist() == [4] and look.meta["beam_width_n"] == [2]
    # the rollout from b reaches b1 (0.8) > a's a2 (0.2): b kept, its children "3" win
    assert look.per_problem.tolist() == [[1.0]]
    assert look.params["rollout"] == "verifier-greedy" and "proxy" in look.meta["proxy"]
    from workbench.errors import StrategyError

    with pytest.raises(StrategyError, match=r"multiple of M\(k\+1\)"):
        Lookahead(width=2, depth=1).curve(tree, [2])


def test_flops_charge_policy_and_verifier_over_prompt_and_output() -> None:
    """One problem, 2 samples of 100 prompt + 50 output tokens, policy 1e9 and verifier 7e9
    parameters. best_of_n at N = 2: policy 2 x 1e9 x 2 x 150, verifier 2 x 7e9 x 2 x 150 (both
    prompt + output); majority (no verifier): the policy term alone."""
    pool = SamplePool.from_arrays(correct=[[1, 0]], answer=[[1, 2]], score=[[0.9, 0.1]],
                                  output_tokens=[[50, 50]], prompt_tokens=[[100, 100]],
                                  verifier="v")
    data = RunData.from_pool(pool, cost_model=CostModel(policy_params=1e9,
                                                        verifier_params=7e9))
    bon = simulate(data, "best_of_n", [2]).cost
    assert bon.flops.tolist() == [2 * 1e9 * 300 + 2 * 7e9 * 300]
    assert simulate(data, "majority", [2]).cost.flops.tolist() == [2 * 1e9 * 300]
    assert bon.tokens.tolist() == [100.0]  # the tokens axis counts generated tokens
    assert np.isnan(CostModel(policy_params=1e9).cost(
        np.array([1.0]), output_tokens=np.array([50.0]),
        prompt_tokens=np.array([np.nan])).flops).all()  # unknown prompt: FLOPs unknown
