"""In-process generation and scoring on one accelerator (or the CPU), for `workbench collect`.

A small, exact re-implementation of the Llama/Qwen2 decoder in plain PyTorch, loaded straight from
a GGUF file (the weights are de-quantised once, then kept as bf16 on the GPU / fp32 on the CPU),
with what a research collection needs and a generic server does not give:

- `generate`: continuous batching over a static KV cache (finished rows are refilled at once, so
  long-tailed lengths do not idle the batch) with the sampling done on the device;
- `score_suffixes`: an LLM judge's P(yes) after every step of a solution, from ONE prefill of
  the solution plus a short question suffix per step (the suffix attends to the step's prefix
  only, so each reading equals a separate call on that prefix, at a fraction of the cost);
- `hidden_at`: hidden states at step ends, for learned process verifiers (`probe`).

Only torch, numpy, gguf and the tokenizer are needed, so the same code runs on a GPU machine that
has no DuckDB; assembling the canonical run happens where the workbench is installed.
"""
