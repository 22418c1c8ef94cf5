"""Continuous-batching sampling over a static KV cache.

`slots` rows decode together; a finished row is refilled with the next waiting sample as soon as
an eighth of the rows are free (the new prompts are prefilled in one batched pass, once per
distinct prompt, and their K/V copied into the free rows). Finished rows are found every
`check_every` steps, so the host syncs with the device rarely.

Sampling is Gumbel-max on the device at temperature T (argmax of logits / T - log E with E
exponential), optionally after nucleus (top-p) filtering. Draws come from one seeded device
generator: a run is reproducible for the same slots, prompts and hardware, not across batch
layouts (the row a sample lands in depends on when others finish).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from workbench.gpu.decoder import Decoder, KVCache


@dataclass(frozen=True)
class Generation:
    """One finished sample: generated token ids (the stop token excluded) and why it ended."""

    prompt_index: int
    sample_index: int
    tokens: list[int]
    finish_reason: str  # "stop" (a stop token, excluded), "step" (a step stop, kept) or "length"


@dataclass(frozen=True)
class StepStops:
    """Token ids that end a row as one reasoning step (finish_reason "step", the token kept).

    Tokenizers merge the step separator into tokens (".\\n\\n", "\\n\\n\\n"), so a step ends
    on a token whose text holds the separator: at once for `ends` (text before the separator
    in the token), only after the row has produced a token outside `blank` for `lead` (the
    token holds nothing but whitespace before the separator: a blank line opening a step does
    not end it). `pairs` are (tails, heads) id sets for a separator cut between two tokens
    ("\\n" then "\\n"): a head right after a tail ends the step, after non-blank text.
    `workbench.gpu.tree.step_stops` builds them from a tokenizer.
    """

    ends: tuple[int, ...]
    lead: tuple[int, ...] = ()
    blank: tuple[int, ...] = ()
    pairs: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = ()


@dataclass(frozen=True)
class GenerationStats:
    """What a `generate` call did: sampled tokens (stop tokens included) and wall time."""

    samples: int
    tokens: int
    prefill_tokens: int
    seconds: float
    steps: int
    slots: int

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("nan")


def sample_tokens(logits: torch.Tensor, *, temperature: float, top_p: float,
                  generator: torch.Generator | None) -> torch.Tensor:
    """Draw one token per row from float logits [B, V]."""
    if temperature <= 0:
        return logits.argmax(-1)
    logits = logits / temperature
    if top_p < 1.0:
        srt, idx = logits.sort(dim=-1, descending=True)
        probs = torch.softmax(srt, dim=-1)
        drop = probs.cumsum(-1) - probs > top_p  # keep the smallest prefix with mass >= top_p
        srt = srt.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, idx, srt)
    e = torch.empty_like(logits).exponential_(generator=generator)
    return (logits - e.log()).argmax(-1)


def generate(
    dec: Decoder,
    prompts: Sequence[Sequence[int]],
    n: int,
    *,
    max_new: int,
    temperature: float,
    top_p: float = 1.0,
    stop_ids: Sequence[int],
    slots: int,
    seed: int,
    on_done: Callable[[Generation], None],
    check_every: int = 8,
    refill_fraction: float = 0.125,
    deadline: float | None = None,
    items: Sequence[tuple[int, int]] | None = None,
    step_stops: StepStops | None = None,
    max_new_of: Sequence[int] | None = None,
    prefill_tokens: int = 1 << 18,
) -> GenerationStats:
    """Sample `n` completions of every prompt (or the given (prompt, sample) `items`).

    `on_done` receives each finished `Generation` (in completion order). After `deadline`
    (a `time.monotonic()` value) no new sample starts; those running finish. `step_stops`
    also end rows at a step separator (finish_reason "step"); `max_new_of` caps the new tokens
    of each prompt's rows below `max_new` (a tree node's remaining budget). Without them the
    full-sample path runs unchanged. New rows are prefilled in passes of at most
    `prefill_tokens` padded tokens (a longer prompt alone).
    """
    dev = dec.device
    work = deque(items if items is not None else
                 [(p, s) for p in range(len(prompts)) for s in range(n)])
    total = len(work)
    slots = max(1, min(slots, total)) if total else 1
    max_len = max((len(p) for p in prompts), default=1) + max_new + 1
    cache = KVCache(dec.cfg, slots, max_len, device=dev, dtype=dec.dtype)
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    stops = torch.tensor(sorted(set(stop_ids)), device=dev, dtype=torch.long)
    rows = torch.arange(slots, device=dev)
    tok = torch.zeros(slots, dtype=torch.long, device=dev)
    pos = torch.zeros(slots, dtype=torch.long, device=dev)
    ngen = torch.zeros(slots, dtype=torch.long, device=dev)
    done = torch.ones(slots, dtype=torch.bool, device=dev)
    stopped = torch.zeros(slots, dtype=torch.bool, device=dev)
    cap = torch.full((slots,), max_new, dtype=torch.long, device=dev)  # new tokens per row
    step = _StepState(step_stops, slots, dev) if step_stops is not None else None
    out = torch.zeros(slots, max_new, dtype=torch.long, device=dev)
    owner: list[tuple[int, int] | None] = [None] * slots
    live = np.zeros(slots, dtype=bool)  # rows holding a sample (host copy: no device sync)
    pos_host = np.zeros(slots, dtype=np.int64)
    free = list(range(slots - 1, -1, -1))
    t0 = time.monotonic()
    n_tokens = n_prefill = steps = finished = 0

    def admit(batch: list[tuple[int, int]], where: list[int]) -> None:
        nonlocal n_prefill
        # prompts shortest first, prefilled in chunks of at most `prefill_tokens` padded tokens:
        # one pass over 400 revision prompts of 2,500 tokens asked 10 GiB for one MLP tensor
        uniq = sorted({p for p, _ in batch}, key=lambda p: (len(prompts[p]), p))
        row_of = {p: i for i, p in enumerate(uniq)}
        lens = [len(prompts[p]) for p in uniq]
        batch_rows = [row_of[p] for p, _ in batch]
        last_parts = []
        start = 0
        while start < len(uniq):
            end = start + 1
            while end < len(uniq) and (end + 1 - start) * lens[end] <= prefill_tokens:
                end += 1
            width = lens[end - 1]
            padded = torch.zeros(end - start, width, dtype=torch.long)
            for i in range(start, end):
                padded[i - start, : lens[i]] = torch.tensor(prompts[uniq[i]], dtype=torch.long)
            h, kv, _ = dec.prefill(padded.to(dev))
            lens_c = torch.tensor(lens[start:end], device=dev)
            last_parts.append(dec.logits(h[torch.arange(end - start, device=dev), lens_c - 1]))
            sel = [j for j, r in enumerate(batch_rows) if start <= r < end]
            rc = torch.tensor([batch_rows[j] - start for j in sel], device=dev)
            sc = torch.tensor([where[j] for j in sel], device=dev)
            for li, (k, v) in enumerate(kv):
                cache.k[li][sc, :, :width] = k[rc]
                cache.v[li][sc, :, :width] = v[rc]
            del h, kv
            start = end
        n_prefill += sum(lens)
        last = torch.cat(last_parts)
        lens_t = torch.tensor(lens, device=dev)
        r = torch.tensor(batch_rows, device=dev)
        s = torch.tensor(where, device=dev)
        first = sample_tokens(last[r], temperature=temperature, top_p=top_p, generator=gen)
        is_stop = torch.isin(first, stops)
        if max_new_of is not None:
            cap[s] = torch.tensor([min(max_new, max_new_of[p]) for p, _ in batch], device=dev)
        tok[s] = first
        pos[s] = lens_t[r]
        ngen[s] = 1
        out[s, 0] = first
        stopped[s] = is_stop
        done[s] = is_stop | (cap[s] <= 1)
        if step is not None:
            done[s] |= step.admit(s, first) & ~is_stop
        for (p, smp), slot in zip(batch, where, strict=True):
            owner[slot] = (p, smp)
            live[slot] = True
            pos_host[slot] = len(prompts[p])

    def harvest() -> None:
        nonlocal finished, n_tokens
        rows_live = np.flatnonzero(live)
        if not rows_live.size:
            return
        d = done[torch.from_numpy(rows_live).to(dev)].cpu().numpy()
        fin = rows_live[d].tolist()
        if not fin:
            return
        fidx = torch.tensor(fin, device=dev)
        counts = ngen[fidx].cpu().numpy()
        stop_flags = stopped[fidx].cpu().numpy()
        step_flags = (step.ended[fidx].cpu().numpy() if step is not None
                      else np.zeros(len(fin), dtype=bool))
        toks = out[fidx].cpu().numpy()
        for j, slot in enumerate(fin):
            p, smp = owner[slot]  # type: ignore[misc]
            cnt = int(counts[j])
            n_tokens += cnt
            keep = cnt - 1 if stop_flags[j] else cnt
            reason = "stop" if stop_flags[j] else "step" if step_flags[j] else "length"
            on_done(Generation(p, smp, toks[j, :keep].tolist(), reason))
            owner[slot] = None
            live[slot] = False
            free.append(slot)
            finished += 1

    while finished < total:
        running = slots - len(free)
        may_start = deadline is None or time.monotonic() < deadline
        if work and may_start and (len(free) >= max(1, int(slots * refill_fraction))
                                   or running == 0):
            take = min(len(free), len(work))
            admit([work.popleft() for _ in range(take)], [free.pop() for _ in range(take)])
        elif not may_start:
            work.clear()
            total = finished + (slots - len(free))
            if running == 0:
                break
        for _ in range(check_every):
            upto = int(min(max_len, pos_host.max() + 1))
            h = dec.decode(tok, pos, cache, upto)
            nxt = sample_tokens(dec.logits(h), temperature=temperature, top_p=top_p,
                                generator=gen)
            active = ~done
            slot_col = ngen.clamp(max=max_new - 1)
            out[rows, slot_col] = torch.where(active, nxt, out[rows, slot_col])
            is_stop = torch.isin(nxt, stops) & active
            ngen += active.long()
            stopped |= is_stop
            done |= is_stop | (ngen >= cap) | (pos + 2 >= max_len)
            if step is not None:
                done |= step.advance(nxt, active & ~is_stop)
            tok = torch.where(active, nxt, tok)
            pos = torch.where(active, pos + 1, pos)
            pos_host[live] += 1
            np.minimum(pos_host, max_len - 1, out=pos_host)
            steps += 1
        harvest()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return GenerationStats(samples=finished, tokens=n_tokens, prefill_tokens=n_prefill,
                           seconds=time.monotonic() - t0, steps=steps, slots=slots)


class _StepState:
    """Device-side state of `StepStops` for every row: has it produced non-blank text, does its
    last token end with a separator's head part, and did it end at a step."""

    def __init__(self, stops: StepStops, slots: int, dev: torch.device) -> None:
        def ids(values: Sequence[int]) -> torch.Tensor:
            return torch.tensor(sorted(set(values)), dtype=torch.long, device=dev)

        self.ends, self.lead, self.blank = ids(stops.ends), ids(stops.lead), ids(stops.blank)
        self.pairs = [(ids(t), ids(h)) for t, h in stops.pairs]
        self.content = torch.zeros(slots, dtype=torch.bool, device=dev)
        self.tail = torch.zeros(len(self.pairs), slots, dtype=torch.bool, device=dev)
        self.ended = torch.zeros(slots, dtype=torch.bool, device=dev)

    def admit(self, rows: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        """Reset the rows for new samples whose first token is `first`; True where it ends."""
        hit = torch.isin(first, self.ends)
        self.ended[rows] = hit
        self.content[rows] = ~torch.isin(first, self.blank)
        for k, (tails, _) in enumerate(self.pairs):
            self.tail[k, rows] = torch.isin(first, tails)
        return hit

    def advance(self, nxt: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        """Take each active row's next token; True where it ends the row's step."""
        hit = torch.isin(nxt, self.ends) | (torch.isin(nxt, self.lead) & self.content)
        for k, (tails, heads) in enumerate(self.pairs):
            hit |= self.tail[k] & torch.isin(nxt, heads) & self.content
            self.tail[k] = torch.where(active, torch.isin(nxt, tails), self.tail[k])
        hit &= active
        self.content |= active & ~torch.isin(nxt, self.blank)
        self.ended |= hit
        return hit
