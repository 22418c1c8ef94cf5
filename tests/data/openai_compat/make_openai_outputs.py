"""Writes the committed OpenAI-compatible outputs (see ../README.md). Not imported by tests.

    python tests/data/openai_compat/make_openai_outputs.py LLAMA_BASE_URL OUT_DIR

1. `llama_cpp_plain/`, `llama_cpp_batch/`: real replies of llama-cpp-python's OpenAI-compatible
   server at LLAMA_BASE_URL, fetched with the `openai` client, saved with `model_dump()`:
   - `chat_completions.jsonl`: one plain chat.completion object per line, 3 requests per
     question (the server drops `n`, so repeated requests are how it gives several samples);
   - `batch_output.jsonl`: replies to the same questions in the OpenAI Batch output envelope
     (`id`, `custom_id`, `response.status_code/request_id/body`, `error`), one line per
     request, the question's id as `custom_id`, as vLLM's `run_batch` writes it. The envelope
     is written here (no batch runner runs on this machine); every `body` is the server's.
2. `fake_n3_plain/`, `fake_n3_batch/`: n = 3 choices per reply from
   workbench/collect/fake_server.py, because no real tool available offline here returns
   n > 1 (llama-cpp-python's server excludes `n` from the request it passes on). Plumbing
   only: the fake model's answers are random digits.
Each folder gets a `problems.jsonl` (problem_id, question, gold_answer, completion_ids): batch
lines name their problem by `custom_id`, plain objects by their `id` listed in `completion_ids`.
"""

import json
import sys
from pathlib import Path

from openai import OpenAI

from workbench.collect.fake_server import FakeOpenAIServer

SYSTEM = "Solve the arithmetic problem. End your reply with a line 'Answer: N'."
HERE = Path(__file__).parent
TASK = HERE.parent / "inspect_ai" / "task" / "arith.jsonl"
PROBLEMS = [json.loads(line) for line in TASK.open()]


def ask(client: OpenAI, model: str, question: str, n: int, seed: int) -> dict:
    reply = client.chat.completions.create(
        model=model, n=n, temperature=1.0, max_tokens=64, seed=seed,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
    )
    return reply.model_dump(exclude_none=True)


def write(out: str, client: OpenAI, model: str, *, n: int, repeats: int) -> None:
    plain, batch, problems = [], [], []
    for p in PROBLEMS:
        ids = []
        for r in range(repeats):
            body = ask(client, model, p["input"], n, seed=100 + r)
            plain.append(body)
            ids.append(body["id"])
            body = ask(client, model, p["input"], n, seed=200 + r)
            batch.append({"id": f"batch_req_{p['id']}_{r}", "custom_id": p["id"],
                          "response": {"status_code": 200, "request_id": f"req-{p['id']}-{r}",
                                       "body": body}, "error": None})
        problems.append({"problem_id": p["id"], "question": p["input"],
                         "gold_answer": p["target"], "completion_ids": ids})
    for folder, name, rows in ((f"{out}_plain", "chat_completions.jsonl", plain),
                               (f"{out}_batch", "batch_output.jsonl", batch)):
        Path(folder).mkdir(parents=True, exist_ok=True)
        for file, lines in ((name, rows), ("problems.jsonl", problems)):
            (Path(folder) / file).write_text("".join(json.dumps(r) + "\n" for r in lines))


if __name__ == "__main__":
    base_url, out_dir = sys.argv[1], Path(sys.argv[2])
    client = OpenAI(base_url=base_url, api_key="none")
    write(f"{out_dir}/llama_cpp", client, "qwen2.5-coder-0.5b-instruct", n=1, repeats=3)
    with FakeOpenAIServer() as fake:
        write(f"{out_dir}/fake_n3", OpenAI(base_url=fake.base_url, api_key="none"), "fake",
              n=3, repeats=1)
