"""Revision chains: the model revises its previous answer, sequentially within each chain.

Chain c of a problem starts from sample c of the main run (revision 0, reused as is); revision
r >= 1 shows the model the question and its attempt r - 1 and asks for a corrected solution.
Chains of one problem and different problems run concurrently; each attempt is journaled under
(problem, chain, revision), so an interrupted chain resumes at its first missing attempt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.collect.prompts import revision_user_message, split_steps
from workbench.collect.sampler import completion_record, request_seed
from workbench.store.records import Problem

if TYPE_CHECKING:
    from workbench.collect.judge import Judge
    from workbench.collect.sampler import Policy
    from workbench.collect.session import Session


async def revise(
    s: Session, policy: Policy, judges: dict[str, Judge], problems: list[Problem]
) -> None:
    """Grow every chain to `length` attempts (sequential within a chain), then judge them."""
    cfg, r = s.cfg, s.cfg.revisions
    assert r is not None
    samples, revs = s.journal("samples"), s.journal("revisions")
    rev_problems = problems[: r.problems] if r.problems else problems
    by_id = {p.problem_id: p for p in rev_problems}

    def previous(pid: str, chain: int, rev: int) -> str:
        if rev == 1:
            return str(samples[(pid, chain)]["text"])
        return str(revs[(pid, chain, rev - 1)]["text"])

    async def run_chain(pid: str, chain: int) -> None:
        for rev in range(1, r.length):
            key = (pid, chain, rev)
            if key in revs:
                continue
            p = by_id[pid]
            user = revision_user_message(p.question or "", r.prompt,
                                         [previous(pid, chain, rev)])
            seed = request_seed(cfg.seed, "revisions", pid, chain, rev)
            comp = await policy.generate(user, route=pid, seed=seed)
            revs.put(key, completion_record(comp, p, cfg.sampling.separator, seed))
            s.new_units += 1
            done[0] += 1
            s.progress("revisions", done[0], total)

    total = len(rev_problems) * r.chains * (r.length - 1)
    done = [sum(1 for k, _ in revs.items() if k[0] in by_id)]
    s.progress("revisions", done[0], total)
    await s.run_all("revisions", (run_chain(p.problem_id, c) for p in rev_problems
                                  for c in range(r.chains)))
    if r.judge:
        judge = judges[r.judge]
        keys = [(p.problem_id, c, v) for p in rev_problems for c in range(r.chains)
                for v in range(1, r.length)]
        await s.stage(
            f"revision-judge:{r.judge}", s.journal(f"revision-judge:{r.judge}"), keys,
            lambda k: judge.score(by_id[k[0]].question or "",
                                  split_steps(revs[k]["text"], cfg.sampling.separator),
                                  mode="outcome", route=k[0]),
        )
