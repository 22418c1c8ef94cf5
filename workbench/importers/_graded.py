"""Grading shared by the importers of evaluation tools' logs (inspect_ai, lm-eval, OpenAI outputs).

A tool's log holds completion texts, often a gold answer and sometimes the tool's own verdict
on each sample. Every such importer turns one completion into a `Sample` the same way:

- ``answer`` = `grading.extract_answer(text)` (the project's extraction: last ``\\boxed{}``,
  "Answer: X", "#### X"), falling back to the tool's own extracted answer when the text has
  none of those forms; ``answer_key`` = `grading.answer_key(answer)`;
- ``is_correct`` = the tool's verdict when the tool carries one for this sample (its scorer
  judged it: inspect_ai's "C"/"I"), else `grading.is_equivalent(answer, gold)` (math-verify)
  when there is a gold answer, else None.

`Grading` counts how each sample was graded and how often the tool's verdict agrees with
math-verify, so `Run.meta["grading"]` documents the mapping on every imported run.

>>> g = Grading(tool="inspect_ai scorer `match`")
>>> s = g.sample("p1", 0, "so Answer: 7", gold="7", tool_correct=None)
>>> (s.answer, s.is_correct), g.summary()["is_correct_from"]
(('7', True), {'math-verify': 1})
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.grading import answer_key, extract_answer, is_equivalent
from workbench.store.records import Origin, Sample


@dataclass
class Grading:
    """Grades samples and keeps the tallies that go into `Run.meta["grading"]`."""

    tool: str
    counts: dict[str, int] = field(default_factory=dict)
    compared: int = 0
    agreed: int = 0

    def _count(self, how: str) -> None:
        self.counts[how] = self.counts.get(how, 0) + 1

    def sample(
        self,
        problem_id: str,
        sample_idx: int,
        text: str | None,
        *,
        gold: str | None,
        tool_correct: bool | None,
        tool_answer: str | None = None,
        output_tokens: int | None = None,
        prompt_tokens: int | None = None,
        origin: Origin | None = None,
    ) -> Sample:
        """One graded sample (see the module docstring for the rules)."""
        answer = extract_answer(text) or (tool_answer.strip() if tool_answer else None) or None
        graded = is_equivalent(answer, gold) if gold is not None else None
        if tool_correct is not None:
            is_correct: bool | None = tool_correct
            self._count(self.tool)
            if graded is not None:
                self.compared += 1
                self.agreed += int(graded == tool_correct)
        else:
            is_correct = graded
            self._count("math-verify" if graded is not None else "ungraded (no gold answer)")
        return Sample(
            problem_id=problem_id, sample_idx=sample_idx, answer=answer,
            answer_key=answer_key(answer), is_correct=is_correct, output_tokens=output_tokens,
            prompt_tokens=prompt_tokens, text=text, origin=origin,
        )

    def summary(self) -> dict[str, Any]:
        """How `is_correct` was set: samples per rule, and agreement with math-verify."""
        out: dict[str, Any] = {"is_correct_from": dict(self.counts)}
        if self.compared:
            out["tool_vs_math_verify"] = {"compared": self.compared, "agreed": self.agreed}
        return out


__all__ = ["Grading"]
