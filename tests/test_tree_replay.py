"""Tree replay (beam, lookahead, DVTS, ToT BFS) against known truth.

Synthetic trees (labelled as such, built here with a seeded generator): the Monte-Carlo replay
is compared with an exact enumeration, written independently below in plain Python, of every
child subset the search can draw. Real data: replaying ToT's breadth-5 search over the cached
Game-of-24 tree must reproduce the logged final candidates of all 100 puzzles, read from the raw
JSON with `json` only.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from collections import defaultdict

import numpy as np
import pytest

from tests.store_helpers import mirror_path
from workbench.engine.cost import CostModel
from workbench.engine.data import RunData
from workbench.engine.strategies.beam import BeamSearch
from workbench.engine.strategies.bfs import BreadthFirst, bfs_replay
from workbench.engine.strategies.dvts import DVTS
from workbench.engine.strategies.lookahead import Lookahead
from workbench.engine.strategy import STRATEGIES, get_strategy
from workbench.engine.tree import TreeData, load_tree
from workbench.errors import (
    BiasedEstimateWarning,
    CoverageWarning,
    InputError,
    StrategyError,
)
from workbench.importers import tot_game24
from workbench.store import Problem, Run, RunBundle, RunStore, Sample, TreeNode

DRAWS = 3000

# --- synthetic trees ----------------------------------------------------------------------------


def synthetic_nodes(pid: str, seed: int, *, depth: int = 3, root_children: int = 5,
                    early_stop: float = 0.15) -> list[TreeNode]:
    """A random fully expanded tree (synthetic). Scores are distinct (no ties), answers come
    from {"a", "b", "c"} with "a" correct; some nodes above the last depth finish early."""
    rng = np.random.default_rng(seed)
    nodes = [TreeNode(pid, "r", None, 0, expanded=True)]
    frontier = ["r"]
    for d in range(1, depth + 1):
        nxt = []
        for parent in frontier:
            k = root_children if d == 1 else int(rng.integers(3, 5))
            for i in range(k):
                nid = f"{parent}.{i}"
                terminal = d == depth or rng.random() < early_stop
                key = str(rng.choice(["a", "b", "c"], p=[0.35, 0.4, 0.25])) if terminal else None
                nodes.append(TreeNode(
                    pid, nid, parent, d, score=float(rng.random()), tokens=int(rng.integers(5, 50)),
                    is_terminal=terminal, answer_key=key,
                    is_correct=(key == "a") if terminal else None, expanded=not terminal,
                ))
                if not terminal:
                    nxt.append(nid)
        frontier = nxt
    return nodes


@pytest.fixture(scope="module")
def forest(forest_nodes) -> TreeData:
    nodes = [nd for ns in forest_nodes.values() for nd in ns]
    return TreeData.from_records("synthetic/forest", nodes)


class Exact:
    """Independent exact enumeration over one synthetic problem, straight from the records."""

    def __init__(self, nodes: list[TreeNode], max_depth: int):
        self.by_id = {nd.node_id: nd for nd in nodes}
        self.kids: dict[str, list[str]] = defaultdict(list)
        for nd in nodes:
            if nd.parent_id is not None:
                self.kids[nd.parent_id].append(nd.node_id)
        self.root = next(nd.node_id for nd in nodes if nd.parent_id is None)
        self.max_depth = max_depth

    def score(self, nid: str) -> float:
        return float(self.by_id[nid].score)  # type: ignore[arg-type]

    def done(self, nid: str) -> bool:
        nd = self.by_id[nid]
        return nd.is_terminal or nd.depth >= self.max_depth

    def vote(self, finished: list[str]) -> float:
        """Weighted best-of-N over finished nodes: expected correctness (uniform over ties)."""
        tally: dict[str, float] = defaultdict(float)
        right: dict[str, bool] = {}
        for nid in finished:
            nd = self.by_id[nid]
            if nd.is_terminal:
                tally[nd.answer_key or nid] += self.score(nid)
                right[nd.answer_key or nid] = bool(nd.is_correct)
        if not tally:
            return 0.0
        best = max(tally.values())
        winners = [a for a, v in tally.items() if math.isclose(v, best, rel_tol=1e-12)]
        return sum(right[a] for a in winners) / len(winners)

    def subsets(self, nid: str, m: int) -> list[tuple[str, ...]]:
        kids = self.kids[nid]
        assert self.by_id[nid].expanded and len(kids) >= m, "synthetic trees are fully covered"
        return list(itertools.combinations(kids, m))

    def rollout_score(self, nid: str, k: int) -> float:
        for _ in range(k):
            if self.done(nid):
                break
            nid = max(self.kids[nid], key=self.score)
        return self.score(nid)

    def beam(self, n: int, m: int, k: int = 0) -> float:
        """Exact expected success of beam(n, m) (lookahead depth k) by enumeration."""
        keep = n // m

        def go(frontier: list[str], width: int, finished: list[str]) -> float:
            choices = [self.subsets(f, width) for f in frontier]
            total = 0.0
            combos = list(itertools.product(*choices))
            for combo in combos:
                cand = [c for group in combo for c in group]
                new = [c for c in cand if self.done(c)]
                active = [c for c in cand if not self.done(c)]
                active.sort(key=lambda c: self.rollout_score(c, k), reverse=True)
                # the final pool stops at n: the first to finish, a uniformly random subset
                # of those finishing at the same step filling the places left
                room = n - len(finished)
                adds = [new] if len(new) <= room else itertools.combinations(new, room)
                outcomes = [self.vote(finished + list(add)) if not active
                            else go(active[:keep], m, finished + list(add)) for add in adds]
                total += sum(outcomes) / len(outcomes)
            return total / len(combos)

        return go([self.root], n, [])

    def dvts(self, n: int, m: int) -> float:
        """Exact expected success of dvts(n, m): every ordered draw of n first-step candidates
        (consecutive groups of m = subtrees), then each subtree's final-node distribution."""

        def subtree(group: tuple[str, ...]) -> dict[tuple[str, ...], float]:
            """Distribution of the subtree's last expansion (its final m candidates)."""
            best = max(group, key=self.score)
            if self.done(best):
                return {group: 1.0}
            out: dict[tuple[str, ...], float] = defaultdict(float)
            subs = self.subsets(best, m)
            for sub in subs:
                for last, p in subtree(sub).items():
                    out[last] += p / len(subs)
            return out

        perms = list(itertools.permutations(self.kids[self.root], n))
        total = 0.0
        for perm in perms:
            dists = [subtree(perm[i:i + m]) for i in range(0, n, m)]
            for finals in itertools.product(*(d.items() for d in dists)):
                p = math.prod(q for _, q in finals)
                total += p * self.vote([c for group, _ in finals for c in group])
        return total / len(perms)


@pytest.fixture(scope="module")
def forest_nodes() -> dict[str, list[TreeNode]]:
    return {f"p{s}": synthetic_nodes(f"p{s}", seed=s) for s in range(4)}


def exact_for(forest_nodes: dict[str, list[TreeNode]], pid: str) -> Exact:
    return Exact(forest_nodes[pid], max_depth=3)


def assert_close(curve, truth: np.ndarray) -> None:
    """Monte-Carlo estimate within 4 standard errors of the exact value, per cell. The SE is
    the replay's own, floored by the Bernoulli bound at the true value (a cell whose every draw
    happened to agree reports SE 0)."""
    floor = np.sqrt(truth * (1 - truth) / DRAWS)
    tol = 4 * np.maximum(curve.mc_se, floor) + 1e-12
    err = np.abs(curve.per_problem - truth)
    assert (err <= tol).all(), (curve.per_problem, truth, tol)


# --- Monte Carlo against exact enumeration -------------------------------------------------------


@pytest.mark.parametrize(("n", "m"), [(4, 2), (2, 1), (3, 3)])
def test_beam_matches_exact_enumeration(forest, forest_nodes, n, m):
    curve = BeamSearch(width=m, draws=DRAWS).curve(forest, [n], rng=7)
    assert curve.coverage == 1.0 and not curve.biased and not curve.exact
    truth = np.array([[exact_for(forest_nodes, p).beam(n, m)] for p in curve.problem_ids])
    assert_close(curve, truth)
    # the truth is not trivial: otherwise the comparison could not fail
    assert 0.05 < truth.mean() < 0.95 and len(set(truth.ravel().round(6))) > 1


@pytest.mark.parametrize(("n", "m", "k"), [(4, 2, 1), (4, 2, 2)])
def test_lookahead_matches_exact_enumeration(forest, forest_nodes, n, m, k):
    # the budget on the generations axis is N(k+1) (Snell et al.): beam width N inside
    curve = Lookahead(width=m, depth=k, draws=DRAWS).curve(forest, [n * (k + 1)], rng=11)
    assert curve.budgets.tolist() == [n * (k + 1)] and curve.meta["beam_width_n"] == [n]
    truth = np.array([[exact_for(forest_nodes, p).beam(n, m, k)] for p in curve.problem_ids])
    assert_close(curve, truth)


@pytest.mark.parametrize(("n", "m"), [(4, 2), (2, 1)])
def test_dvts_matches_exact_enumeration(forest, forest_nodes, n, m):
    curve = DVTS(width=m, draws=DRAWS).curve(forest, [n], rng=3)
    truth = np.array([[exact_for(forest_nodes, p).dvts(n, m)] for p in curve.problem_ids])
    assert_close(curve, truth)


def test_lookahead_depth_zero_is_beam(forest):
    a = BeamSearch(width=2, draws=200).curve(forest, [2, 4], rng=5)
    b = Lookahead(width=2, depth=0, draws=200).curve(forest, [2, 4], rng=5)
    np.testing.assert_array_equal(a.per_problem, b.per_problem)
    np.testing.assert_array_equal(a.cost.generations, b.cost.generations)


def test_same_seed_same_curve_and_se_shrinks(forest):
    a = BeamSearch(width=2, draws=400).curve(forest, [4], rng=1)
    b = BeamSearch(width=2, draws=400).curve(forest, [4], rng=1)
    np.testing.assert_array_equal(a.per_problem, b.per_problem)
    big = BeamSearch(width=2, draws=6400).curve(forest, [4], rng=1)
    assert big.accuracy_se[0] < 0.5 * a.accuracy_se[0]


def test_cost_counts_generated_nodes_and_tokens():
    """beam(4, 2) on a hand-built tree: 4 first-step nodes, then 2 beams x 2 children."""
    nodes = [TreeNode("p", "r", None, 0, expanded=True)]
    for i, s in enumerate([0.9, 0.8, 0.2, 0.1]):
        nodes.append(TreeNode("p", f"a{i}", "r", 1, score=s, tokens=10, expanded=True))
        for j in range(2):
            nodes.append(TreeNode("p", f"a{i}{j}", f"a{i}", 2, score=0.5 + j / 10 + i / 100,
                                  tokens=7, is_terminal=True, answer_key=str(i),
                                  is_correct=i == 1))
    curve = BeamSearch(width=2, draws=50).curve(TreeData.from_records("t", nodes), [4], rng=0)
    assert curve.cost.generations.tolist() == [8.0]
    assert curve.cost.tokens.tolist() == [4 * 10 + 4 * 7]
    # a0, a1 kept; answer "1" sums 0.51 + 0.61 > answer "0" 0.5 + 0.6
    assert curve.per_problem.tolist() == [[1.0]] and curve.mc_se.tolist() == [[0.0]]
    # lookahead(N=4, M=2, k=1) sits at budget N(k+1) = 8 on the generations axis
    look = Lookahead(width=2, depth=1, draws=50).curve(TreeData.from_records("t", nodes), [8])
    assert look.budgets.tolist() == [8] and look.meta["beam_width_n"] == [4]
    assert look.cost.generations.tolist() == [8.0 + 4]  # + one rollout step per candidate
    assert look.label == "lookahead(width=2, depth=1, rollout=verifier-greedy)"
    assert "verifier-guided proxy" in look.meta["proxy"]
    assert np.isnan(curve.cost.flops).all() and np.isnan(curve.cost.money).all()
    # through RunData, with parameter counts: both models charged each generated node's whole
    # prefix (the policy's prompt + output, what the verifier reads): 2 (P_policy + P_verifier)
    # x (4 first-step nodes x 10 + 4 second-step nodes x 17)
    data = RunData(run=Run("t", "toy", "m", "synthetic"), pool=None, counts=None,
                   tree=TreeData.from_records("t", nodes),
                   cost_model=CostModel(policy_params=1e9, verifier_params=2e9))
    priced = BeamSearch(width=2, draws=50).curve(data, [4], rng=0)
    assert priced.cost.flops.tolist() == [2e9 * (4 * 10 + 4 * 17) + 4e9 * (4 * 10 + 4 * 17)]
    assert np.isnan(priced.cost.money).all()  # no prompt tokens in a tree


# --- coverage ----------------------------------------------------------------------------------


def gap_forest() -> TreeData:
    """Three synthetic problems: 'full' fully expanded; 'gap-top' whose best first step was
    never expanded (beam must visit it); 'gap-low' whose worst first step was never expanded
    (beam(3, 3) never keeps it)."""
    nodes: list[TreeNode] = []
    for pid, gap in (("full", None), ("gap-top", 0), ("gap-low", 2)):
        nodes.append(TreeNode(pid, "r", None, 0, expanded=True))
        for i, s in enumerate([0.9, 0.5, 0.1]):
            nodes.append(TreeNode(pid, f"a{i}", "r", 1, score=s, expanded=i != gap))
            if i == gap:
                continue
            for j in range(3):
                nodes.append(TreeNode(pid, f"a{i}{j}", f"a{i}", 2, score=0.3 + j / 10,
                                      is_terminal=True, answer_key=str(j), is_correct=j == 2))
    return TreeData.from_records("synthetic/gaps", nodes)


def test_coverage_reports_and_excludes_unexpanded_problems():
    data = gap_forest()
    with pytest.warns(CoverageWarning, match="covers 2 of 3 problems"):
        curve = BeamSearch(width=3, draws=100).curve(data, [3], rng=0)
    assert curve.coverage == pytest.approx(2 / 3)
    assert sorted(curve.problem_ids.tolist()) == ["full", "gap-low"]
    assert curve.meta["uncovered"] == {3: ["gap-top"]}
    assert curve.per_problem.tolist() == [[1.0], [1.0]]


def test_fewer_children_than_width_is_uncovered_unless_replace():
    nodes = [TreeNode("p", "r", None, 0, expanded=True),
             TreeNode("p", "a", "r", 1, score=0.5, expanded=True),
             TreeNode("p", "b", "r", 1, score=0.4, expanded=True),
             TreeNode("p", "b0", "b", 2, score=0.2, is_terminal=True, answer_key="x",
                      is_correct=False)]
    nodes += [TreeNode("p", f"a{j}", "a", 2, score=s, is_terminal=True, answer_key=str(j),
                       is_correct=j == 1) for j, s in enumerate([0.05, 0.3])]
    data = TreeData.from_records("t", nodes)
    # beam(2, 2): both first steps, keep a, draw both of its children: "1" (0.3) wins
    assert BeamSearch(width=2, draws=50).curve(data, [2], rng=0).per_problem.tolist() == [[1.0]]
    # beam(2, 1): keep a and b, one child each: a1 beats b0 (0.3 > 0.2), a0 does not
    half = BeamSearch(width=1, draws=DRAWS).curve(data, [2], rng=0)
    assert half.coverage == 1.0
    assert abs(half.per_problem[0, 0] - 0.5) <= 4 * math.sqrt(0.25 / DRAWS)
    with pytest.warns(CoverageWarning, match="covers 0 of 1"):
        short = BeamSearch(width=3, draws=100).curve(data, [3], rng=0)  # root holds 2 < 3
    assert short.coverage == 0.0 and short.problem_ids.size == 0
    assert short.meta["uncovered"] == {3: ["p"]}
    with pytest.warns(BiasedEstimateWarning):
        biased = BeamSearch(width=3, draws=DRAWS).curve(data, [3], rng=0, replace=True)
    assert biased.coverage == 1.0 and biased.biased
    # With replacement: the root draws 3 of {a, b}; a is kept unless all three are b (1/8);
    # a then draws 3 of {a0, a1}: "1" wins unless all three are a0 (1/8); b can only say "x".
    truth = 7 / 8 * 7 / 8
    assert abs(biased.per_problem[0, 0] - truth) <= 4 * math.sqrt(truth * (1 - truth) / DRAWS)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "budgets", "error", "match"),
    [
        (lambda: BeamSearch(width=4), [6], StrategyError,
         "budget N=6 must be a multiple of the width M=4"),
        (lambda: DVTS(width=3), [4], StrategyError,
         "budget N=4 must be a multiple of the width M=3"),
        (lambda: Lookahead(width=2), [4, 6], StrategyError,
         r"N=6 must be a multiple of M\(k\+1\) = 2 x 2"),
        (lambda: BeamSearch(width=2), [0], ValueError, "`budgets` must be >= 1"),
        (lambda: BeamSearch(width=2), [], ValueError, "`budgets` must be a non-empty"),
        (lambda: BeamSearch(width=2), [2.5], ValueError, "`budgets` must be integers"),
        (lambda: BreadthFirst(), [0], ValueError, "`budgets` must be >= 1"),
    ],
)
def test_budget_validation(forest, make, budgets, error, match):
    with pytest.raises(error, match=match):
        make().curve(forest, budgets)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: BeamSearch(width=0), "`width` must be an integer >= 1, got 0"),
        (lambda: BeamSearch(width=2.0), r"`width` must be an integer >= 1, got 2\.0"),
        (lambda: Lookahead(width=2, depth=-1), "`depth` must be an integer >= 0"),
        (lambda: DVTS(width=2, draws=0), "`draws` must be an integer >= 1"),
        (lambda: BreadthFirst(select="best"), "`select` must be one of"),
        (lambda: BeamSearch(width=2, max_depth=0), "`max_depth` must be an integer >= 1"),
    ],
)
def test_parameter_validation(make, match):
    with pytest.raises(StrategyError, match=match):
        make()


def test_missing_tree_and_missing_scores_are_clear():
    no_tree = RunData(run=Run("r/x", "toy", "m", "synthetic"), pool=None, counts=None)
    with pytest.raises(StrategyError, match="beam replays a cached search tree, but run 'r/x'"):
        BeamSearch().curve(no_tree, [4])
    nodes = [TreeNode("p", "r", None, 0, expanded=True), TreeNode("p", "a", "r", 1)]
    with pytest.raises(StrategyError, match="node 'a' has none"):
        DVTS(width=1).curve(TreeData.from_records("t", nodes), [1])


def test_registered_by_name():
    assert {"beam", "lookahead", "dvts", "bfs"} <= set(STRATEGIES)
    s = get_strategy("lookahead", width=2, depth=3)
    assert s.params() == {"width": 2, "depth": 3}


def test_tree_building_errors_name_the_field():
    with pytest.raises(InputError, match="exactly one root"):
        TreeData.from_records("t", [TreeNode("p", "r", None, 0), TreeNode("p", "s", None, 0)])
    with pytest.raises(InputError, match="field `depth`.*'a'"):
        TreeData.from_records("t", [TreeNode("p", "r", None, 0), TreeNode("p", "a", "r", 2)])
    with pytest.raises(InputError, match="field `parent_id`.*unknown parent 'x'"):
        TreeData.from_records("t", [TreeNode("p", "r", None, 0), TreeNode("p", "a", "x", 1)])


def test_load_tree_from_store_keeps_cached_order():
    store = RunStore(":memory:")
    nodes = [TreeNode("p", "root", None, 0, expanded=True)] + [
        TreeNode("p", f"d1-{i:03d}", "root", 1, score=1.0, is_terminal=True, answer_key=str(i),
                 is_correct=i == 0) for i in (2, 0, 1)]
    store.ingest(RunBundle(Run("r/t", "toy", "m", "synthetic"), problems=[Problem("toy", "p")],
                           tree_nodes=nodes))
    tree = load_tree(store, "r/t")
    t = tree.problem("p")
    assert [t.node_ids[c] for c in t.children_of(t.root)] == ["d1-000", "d1-001", "d1-002"]
    # all three tie: ToT's stable sort keeps proposal order, so breadth 1 keeps d1-000
    assert [t.node_ids[i] for i in bfs_replay(t, 1, 1).final] == ["d1-000"]
    store.ingest(RunBundle(Run("r/s", "toy", "m", "synthetic"), problems=[Problem("toy", "p")],
                           samples=[Sample("p", 0)]))
    assert load_tree(store, "r/s") is None


# --- the real ToT Game-of-24 tree ----------------------------------------------------------------


@pytest.fixture(scope="module")
def tot() -> tuple[TreeData, dict[str, dict]]:
    folder = mirror_path() / "tot-game24"
    name = tot_game24.BFS_FILE
    store = RunStore(":memory:")
    for bundle in tot_game24.read({name: folder / name}):
        store.ingest(bundle)
    tree = load_tree(store, "tot-game24/gpt-4-bfs")
    assert tree is not None
    raw = {str(r["idx"]): r for r in json.loads((folder / name).read_text())}
    return tree, raw


def test_tot_breadth_5_replay_reproduces_every_logged_search(tot):
    tree, raw = tot
    assert len(tree.problems) == 100 and tree.max_depth == 4
    reproduced = 0
    for t in tree.problems:
        rep = bfs_replay(t, 5, tree.max_depth)
        rec = raw[t.problem_id]
        same_final = [t.full_text(i) for i in rep.final] == rec["ys"]
        same_grades = [int(t.is_correct[i]) for i in rep.final] == [x["r"] for x in rec["infos"]]
        same_levels = all(
            [t.full_text(i) for i in level] == step["select_new_ys"]
            for level, step in zip(rep.levels, rec["steps"], strict=True)
        )
        reproduced += rep.covered and same_final and same_grades and same_levels
    assert reproduced == 100


def test_tot_bfs_strategy_numbers_match_the_raw_log(tot):
    tree, raw = tot
    any_solved = np.mean([any(x["r"] for x in r["infos"]) for r in raw.values()])
    first_solved = np.mean([r["infos"][0]["r"] for r in raw.values()])
    any_curve = BreadthFirst(select="any").curve(tree, [5])
    top_curve = BreadthFirst(select="top").curve(tree, [5])
    assert any_curve.coverage == 1.0 and any_curve.exact
    assert any_curve.accuracy[0] == pytest.approx(any_solved)  # 0.69 in the log
    assert top_curve.accuracy[0] == pytest.approx(first_solved)  # 0.62
    # generations = every proposal of every expanded node = all logged new_ys
    proposals = np.mean([sum(len(s["new_ys"]) for s in r["steps"]) for r in raw.values()])
    assert any_curve.cost.generations[0] == pytest.approx(proposals)


def test_tot_narrower_or_wider_search_reports_partial_coverage(tot):
    tree, _ = tot
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)
        narrow = BreadthFirst().curve(tree, [3])
        with np.errstate(all="ignore"):
            wide = BreadthFirst().curve(tree, [6])
    # breadth 3 keeps a top-3 of a subset of ToT's candidates, which ToT's top 5 need not hold
    assert 0.5 < narrow.coverage < 1.0
    assert wide.coverage == 0.0  # the 6th-best candidate was never expanded
    with pytest.warns(CoverageWarning):
        beam = BeamSearch(width=2, draws=200).curve(tree, [4], rng=0)
    share = beam.meta["replayable_share"]
    assert beam.coverage < 1.0 and share.shape == (100, 1) and (share <= 1).all()
