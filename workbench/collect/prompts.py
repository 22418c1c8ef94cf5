"""Prompt building and step splitting: the text side of collection, no I/O.

The completions API is used with a chat template applied here (so a step prefix can be
continued exactly, which the chat API cannot do). "chatml" is the template of SmolLM2, Qwen and
many others: ``<|im_start|>role\\ncontent<|im_end|>\\n`` turns, then ``<|im_start|>assistant\\n``.

>>> print(render_chat("chatml", "Be brief.", "2+2?"), end="|")
<|im_start|>system
Be brief.<|im_end|>
<|im_start|>user
2+2?<|im_end|>
<|im_start|>assistant
|
>>> split_steps("a = 1\\n\\nb = 2\\nAnswer: 2\\n", "\\n")
['a = 1', 'b = 2', 'Answer: 2']
"""

from __future__ import annotations

from collections.abc import Sequence

TEMPLATE_STOPS: dict[str, list[str]] = {"chatml": ["<|im_end|>"], "none": []}
"""Stop strings that end the assistant turn under each template."""


def render_chat(
    template: str, system: str | None, user: str, examples: Sequence[tuple[str, str]] = ()
) -> str:
    """A completions-API prompt for one user turn, ending where the assistant starts.

    `examples` are (question, answer) pairs rendered as earlier user/assistant turns.
    """
    if template == "none":
        shots = "".join(f"{q}\n{a}\n\n" for q, a in examples)
        return (system + "\n\n" if system else "") + shots + user + "\n"
    if template == "chatml":
        sys_turn = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
        shots = "".join(
            f"<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n{a}<|im_end|>\n"
            for q, a in examples
        )
        return f"{sys_turn}{shots}<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    raise ValueError(f"`template` must be one of {sorted(TEMPLATE_STOPS)}, got {template!r}")


def chat_messages(
    system: str | None, user: str, examples: Sequence[tuple[str, str]] = ()
) -> list[dict[str, str]]:
    """The same turn as chat-API messages (examples as earlier turns)."""
    msgs = [{"role": "system", "content": system}] if system else []
    for q, a in examples:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return msgs + [{"role": "user", "content": user}]


def step_spans(text: str, separator: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the non-blank steps of `text`, stripped.

    >>> step_spans(" a\\n\\nbc \\n", "\\n")
    [(1, 2), (4, 6)]
    """
    spans = []
    pos = 0
    for part in text.split(separator):
        lead = len(part) - len(part.lstrip())
        core = part.strip()
        if core:
            spans.append((pos + lead, pos + lead + len(core)))
        pos += len(part) + len(separator)
    return spans


def split_steps(text: str, separator: str) -> list[str]:
    """The non-blank steps of a completion, stripped."""
    return [text[a:b] for a, b in step_spans(text, separator)]


def tokens_per_step(
    text: str, separator: str, token_offsets: Sequence[int] | None
) -> list[int] | None:
    """How many generated tokens fall in each step (a token belongs to the step its first
    character is in; separators count towards the step before them). None without offsets.

    >>> tokens_per_step("ab\\ncd", "\\n", [0, 1, 2, 3, 4])
    [3, 2]
    """
    spans = step_spans(text, separator)
    if token_offsets is None or not spans:
        return None
    starts = [0] + [a for a, _ in spans[1:]]
    counts = [0] * len(spans)
    k = 0
    for off in token_offsets:
        while k + 1 < len(starts) and off >= starts[k + 1]:
            k += 1
        counts[k] += 1
    return counts


def prefix_text(steps: Sequence[str], separator: str) -> str:
    """The assistant text of a step prefix, ready to be continued (ends with the separator).

    >>> prefix_text(["a = 1", "b = 2"], "\\n")
    'a = 1\\nb = 2\\n'
    """
    return "".join(s + separator for s in steps)


def judge_user_message(question: str, steps: Sequence[str], *, mode: str) -> str:
    """The judge's question: is the last step (mode "step") or the answer ("outcome") right?"""
    body = "\n".join(steps) if steps else "(empty)"
    if mode == "step":
        ask = "Is the last step of this solution correct? Answer yes or no."
        label = "Solution so far"
    else:
        ask = "Is the final answer of this solution correct? Answer yes or no."
        label = "Solution"
    return f"Problem: {question}\n\n{label}:\n{body}\n\n{ask}"


def clip_middle(text: str, max_chars: int | None) -> str:
    """`text` cut to about `max_chars` characters: the head (2/3) and the tail (1/3) kept, the
    middle replaced by a marker saying how much was cut. The tail is kept because a solution's
    final answer is at its end; a run-on attempt (cut at max_tokens) mostly repeats itself.

    >>> clip_middle("abcdefghij", 6)
    'abcd\\n[... 4 characters cut ...]\\nij'
    >>> clip_middle("short", 6)
    'short'
    """
    if max_chars is None or len(text) <= max_chars:
        return text
    head = (2 * max_chars) // 3
    tail = max_chars - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut} characters cut ...]\n{text[len(text) - tail:]}"


def revision_user_message(question: str, template: str, attempts: Sequence[str], *,
                          max_chars: int | None = None) -> str:
    """The user turn asking for a revision: the question, then `template` with `{previous}`
    replaced by the previous attempts (oldest first; each stripped and cut to `max_chars` by
    `clip_middle`). One attempt is shown as is; several are numbered "Attempt 1:", ...

    >>> print(revision_user_message("2+2?", "Before:\\n{previous}\\nFix it.", ["5", " 3 "]))
    2+2?
    <BLANKLINE>
    Before:
    Attempt 1:
    5
    <BLANKLINE>
    Attempt 2:
    3
    Fix it.
    """
    if not attempts:
        raise ValueError("a revision needs at least one previous attempt")
    shown = [clip_middle(a.strip(), max_chars) for a in attempts]
    previous = shown[0] if len(shown) == 1 else "\n\n".join(
        f"Attempt {i}:\n{a}" for i, a in enumerate(shown, 1))
    return question + "\n\n" + template.replace("{previous}", previous)
