"""Generated tokens per second of the in-process GPU backend against plain `model.generate`.

    python benchmarks/generation.py GGUF PROBLEMS.jsonl [--prompts 128] [--n 2] [--max-new 256]
        [--slots 2048] [--out FILE.json]

Baseline (what research code does): the same weights in a Hugging Face transformers model,
`model.generate(do_sample=True, temperature=0.8, top_k=0, top_p=1.0)` on one left-padded batch of
all sequences. Ours: `workbench.gpu.generate` (continuous batching over a static KV cache) on
the same prompts and settings, first with as many rows as the baseline's batch (same
parallelism), then with `--slots` rows (how the collection runs). Both count sampled tokens
(stop tokens included) over wall time, after one warm-up call each. Needs a CUDA GPU for
meaningful numbers (it runs on the CPU too, slowly).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.gpu.decoder import Decoder  # noqa: E402
from workbench.gpu.generate import generate  # noqa: E402
from workbench.gpu.hf_baseline import hf_model  # noqa: E402
from workbench.gpu.job import chatml  # noqa: E402
from workbench.gpu.weights import load_tokenizer, read_gguf  # noqa: E402

SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


def hf_tokens_per_s(model, tok, prompts, n, max_new, stop) -> tuple[float, int, float]:
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    batch = tok([p for p in prompts for _ in range(n)], return_tensors="pt", padding=True,
                add_special_tokens=False).to(model.device)
    t0 = time.monotonic()
    with torch.inference_mode():
        out = model.generate(**batch, do_sample=True, temperature=0.8, top_k=0, top_p=1.0,
                             max_new_tokens=max_new, eos_token_id=stop,
                             pad_token_id=tok.pad_token_id)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.monotonic() - t0
    gen = out[:, batch["input_ids"].shape[1]:]
    # tokens up to and including the first stop token, as ours counts them
    is_stop = torch.isin(gen, torch.tensor(stop, device=gen.device))
    first = torch.where(is_stop.any(1), is_stop.float().argmax(1) + 1,
                        torch.full_like(is_stop[:, 0], gen.shape[1], dtype=torch.long))
    tokens = int(first.sum())
    return tokens / dt, tokens, dt


def ours_tokens_per_s(dec, ids, n, max_new, stop, slots) -> tuple[float, int, float]:
    stats = generate(dec, ids, n, max_new=max_new, temperature=0.8, stop_ids=stop, slots=slots,
                     seed=0, on_done=lambda g: None)
    return stats.tokens_per_second, stats.tokens, stats.seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gguf")
    ap.add_argument("problems")
    ap.add_argument("--prompts", type=int, default=128)
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--max-new", type=int, default=256)
    ap.add_argument("--slots", type=int, default=2048)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    cfg, w = read_gguf(a.gguf)
    dec = Decoder(cfg, w, device=device)
    del w
    tok = load_tokenizer(a.gguf)
    qs = [json.loads(x)["question"] for x in open(a.problems, encoding="utf-8") if x.strip()]
    prompts = [chatml(SYSTEM, q) for q in qs[: a.prompts]]
    ids = [tok.encode(p, add_special_tokens=False) for p in prompts]
    stop = sorted({tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>")} - {None})
    model = hf_model(dec)
    hf_tokens_per_s(model, tok, prompts[:8], 1, 8, stop)  # warm-up
    ours_tokens_per_s(dec, ids[:8], 1, 8, stop, 8)
    base = hf_tokens_per_s(model, tok, prompts, a.n, a.max_new, stop)
    del model
    same = ours_tokens_per_s(dec, ids, a.n, a.max_new, stop, len(ids) * a.n)
    many_n = max(a.n, a.slots // max(1, len(ids)))
    wide = ours_tokens_per_s(dec, ids, many_n, a.max_new, stop, a.slots)
    rows = [
        (f"plain model.generate (baseline), batch {len(ids) * a.n}", *base),
        (f"workbench.gpu.generate, {len(ids) * a.n} rows (same parallelism)", *same),
        (f"workbench.gpu.generate, {a.slots} rows, {len(ids) * many_n} sequences", *wide),
    ]
    gpu = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    print(f"model {cfg.name} ({dec.n_params / 1e6:.0f} M parameters) on {gpu}; "
          f"temperature 0.8, up to {a.max_new} new tokens")
    print(f"{'':58s} {'tok/s':>9s} {'tokens':>9s} {'seconds':>8s} {'vs baseline':>11s}")
    for name, tps, n_tok, secs in rows:
        print(f"{name:58s} {tps:9.0f} {n_tok:9d} {secs:8.1f} {tps / rows[0][1]:10.1f}x")
    if a.out:
        Path(a.out).write_text(json.dumps({"gpu": gpu, "model": cfg.name, "rows": [
            {"what": r[0], "tokens_per_s": r[1], "tokens": r[2], "seconds": r[3]} for r in rows]},
            indent=1))


if __name__ == "__main__":
    main()
