"""The inspect_ai task that wrote the committed logs (see README.md). Not imported by tests."""

from inspect_ai import Task, task
from inspect_ai.dataset import json_dataset
from inspect_ai.scorer import match
from inspect_ai.solver import generate, system_message

SYSTEM = "Solve the arithmetic problem. End your reply with a line 'Answer: N'."


@task
def arith() -> Task:
    return Task(
        dataset=json_dataset("arith.jsonl"),
        solver=[system_message(SYSTEM), generate()],
        scorer=match(numeric=True),
        epochs=3,
    )
