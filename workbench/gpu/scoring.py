"""Verifier signals from forward passes: an LLM judge's P(yes) per step, hidden states per step.

Both work on a solution split into steps and re-tokenised step by step (the prompt, then each
step's tokens, with the separator's tokens between steps), so a step's end is a token position;
`step_tokens` are the tokens of each step with its separator.

The judge reads, after step i, P("Yes") / (P("Yes") + P("No")) for the question "is every step
so far correct?" (and, after the last step, "is the final answer correct?"). A separate call per
prefix would cost O(steps x length); here the whole solution is prefilled once and, for each i,
only the few question tokens are run, attending to the first `end_i` positions of that prefill
(`Decoder.suffix`), which is the same computation as the separate call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from workbench.gpu.decoder import Decoder

YES = ("Yes", " Yes", "yes", " yes", "YES")
NO = ("No", " No", "no", " no", "NO")


@dataclass(frozen=True)
class Tokenised:
    """One solution as the scorer sees it: token ids and the end position of every step."""

    ids: list[int]
    ends: list[int]  # exclusive end of step i in `ids`
    step_tokens: list[int]


def tokenise_steps(encode: Callable[[str], list[int]], prompt: str, steps: Sequence[str],
                   separator: str) -> Tokenised:
    """Prompt tokens, then each step's tokens (separator tokens between steps)."""
    ids = list(encode(prompt))
    sep = encode(separator) if separator else []
    ends, counts = [], []
    for i, step in enumerate(steps):
        start = len(ids)
        if i:
            ids += sep
        ids += encode(step)
        ends.append(len(ids))
        counts.append(len(ids) - start)
    return Tokenised(ids, ends, counts)


def token_ids(encode: Callable[[str], list[int]], words: Sequence[str]) -> list[int]:
    """Ids of the words that are single tokens (the judge's answer variants)."""
    out = []
    for w in words:
        ids = encode(w)
        if len(ids) == 1:
            out.append(ids[0])
    return sorted(set(out))


def _batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Row indices grouped by similar length, each group <= max_tokens padded tokens."""
    order = np.argsort(lengths, kind="stable")
    groups: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        width = lengths[i]  # the longest so far: rows come in increasing length
        if cur and width * (len(cur) + 1) > max_tokens:
            groups.append(cur)
            cur = []
        cur.append(int(i))
    if cur:
        groups.append(cur)
    return groups


def _padded(rows: Sequence[list[int]], device: torch.device) -> torch.Tensor:
    width = max(len(r) for r in rows)
    t = torch.zeros(len(rows), width, dtype=torch.long)
    for i, r in enumerate(rows):
        t[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return t.to(device)


@torch.inference_mode()
def judge_scores(dec: Decoder, items: Sequence[Tokenised], *, step_suffix: Sequence[int],
                 final_suffix: Sequence[int], yes_ids: Sequence[int], no_ids: Sequence[int],
                 max_tokens: int = 262_144,
                 progress: Callable[[int], None] | None = None
                 ) -> list[tuple[list[float], float, float]]:
    """Per item: (P(yes)-share after every step, the same for the final answer, and the
    smallest P(yes) + P(no) seen, which says whether the judge answered in yes/no at all)."""
    dev = dec.device
    yes = torch.tensor(yes_ids, device=dev)
    no = torch.tensor(no_ids, device=dev)
    suf_step = torch.tensor(step_suffix, device=dev)
    suf_final = torch.tensor(final_suffix, device=dev)
    out: list[tuple[list[float], float, float]] = [([], 0.5, 0.0)] * len(items)

    def read(h: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        lp = torch.log_softmax(dec.logits(h), dim=-1)
        py = lp[:, yes].exp().sum(-1)
        pn = lp[:, no].exp().sum(-1)
        tot = py + pn
        score = torch.where(tot > 0, py / tot.clamp_min(1e-30), torch.full_like(tot, 0.5))
        return score.cpu().numpy(), tot.cpu().numpy()

    for group in _batches([len(it.ids) for it in items], max_tokens):
        rows = [items[i] for i in group]
        _, kv, _ = dec.prefill(_padded([r.ids for r in rows], dev))
        n_steps = max(len(r.ends) for r in rows)
        per_step = np.full((len(rows), n_steps), np.nan)
        mass = np.ones(len(rows))
        for s in range(n_steps):
            start = torch.tensor([r.ends[min(s, len(r.ends) - 1)] for r in rows], device=dev)
            sc, tot = read(dec.suffix(kv, start, suf_step))
            has = np.array([s < len(r.ends) for r in rows])
            per_step[has, s] = sc[has]
            mass[has] = np.minimum(mass[has], tot[has])
        start = torch.tensor([r.ends[-1] for r in rows], device=dev)
        final, tot = read(dec.suffix(kv, start, suf_final))
        mass = np.minimum(mass, tot)
        for j, i in enumerate(group):
            k = len(rows[j].ends)
            out[i] = (per_step[j, :k].tolist(), float(final[j]), float(mass[j]))
        del kv
        if progress:
            progress(len(group))
    return out


@torch.inference_mode()
def hidden_features(dec: Decoder, items: Sequence[Tokenised], *, layer: int,
                    max_tokens: int = 262_144,
                    progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Per item, the residual stream after block `layer` at every step end: [steps, hidden]."""
    dev = dec.device
    out: list[np.ndarray] = [np.zeros((0, dec.cfg.hidden), np.float32)] * len(items)
    for group in _batches([len(it.ids) for it in items], max_tokens):
        rows = [items[i] for i in group]
        _, _, mid = dec.prefill(_padded([r.ids for r in rows], dev), keep_kv=False,
                                hidden_layer=layer)
        assert mid is not None
        for j, i in enumerate(group):
            idx = torch.tensor([e - 1 for e in rows[j].ends], device=dev)
            out[i] = mid[j, idx].float().cpu().numpy()
        if progress:
            progress(len(group))
    return out
