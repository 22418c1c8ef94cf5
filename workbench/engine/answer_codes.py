"""Integer answer codes for the answers of one problem's tree nodes or chain attempts.

Codes follow the order of first appearance. An attempt with no answer key gets a code of its
own: it can win a vote (by its score) but agrees with nothing. (`SamplePool` codes differently:
there a sample without an answer never wins, see `workbench.engine.pool`.)

>>> codes = AnswerCodes()
>>> [codes.code(k) for k in ["4", None, "4", "7"]], codes.keys
([0, 1, 0, 2], ['4', None, '7'])
>>> codes.correctness(np.array([0, 1, 0, 2]), np.array([1.0, 0.0, np.nan, np.nan])).tolist()
[1.0, 0.0, nan]
"""

from __future__ import annotations

import numpy as np


class AnswerCodes:
    """Assigns the codes of one problem; `keys[code]` is the answer key (None: unanswered)."""

    def __init__(self) -> None:
        self.keys: list[str | None] = []
        self._ids: dict[str, int] = {}

    def code(self, key: str | None) -> int:
        """The code of `key`; a new one for a key not seen yet and for every None."""
        if key is None:  # its own answer: it can win, but agrees with nothing
            self.keys.append(None)
            return len(self.keys) - 1
        if key not in self._ids:
            self._ids[key] = len(self.keys)
            self.keys.append(key)
        return self._ids[key]

    def correctness(self, answer: np.ndarray, correct: np.ndarray) -> np.ndarray:
        """(A,) mean graded correctness of each code, NaN where none of its attempts is graded.

        `answer` holds codes (-1: no attempt), `correct` the matching 1/0/NaN grades.
        """
        out = np.full(len(self.keys), np.nan)
        for a in range(len(self.keys)):
            graded = correct[(answer == a) & ~np.isnan(correct)]
            if graded.size:
                out[a] = graded.mean()
        return out
