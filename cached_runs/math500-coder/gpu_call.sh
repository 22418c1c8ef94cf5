#!/usr/bin/env bash
# One call on the GPU machine (see README.md): install the carried wheels (gguf, math-verify),
# join the carried model pieces and check their SHA-256, optionally run the generation
# benchmark, run the job for MINUTES, and return every shard not returned before under $OUT.
#   bash cached_runs/math500-coder/gpu_call.sh MINUTES [bench|-] [STAGES]
# STAGES: a comma list of gen, grade, probe, judge, revise, tree (default gen,grade,probe,judge);
# `tree` grows the [tree] bank of job.toml (after the probe stage: it scores nodes with
# probe.npz).
# `revise` grows job.toml's [revisions] chains (after the probe stage too: it scores the
# revisions with probe.npz):  bash cached_runs/math500-coder/gpu_call.sh 7 - revise
# The job stops starting work after MINUTES and is killed 90 s later whatever it does, so the
# shards always come back: keep MINUTES <= the call's limit minus 2.5 minutes.
set -uo pipefail
MIN=${1:-6}; BENCH=${2:--}; STAGES=${3:-gen,grade,probe,judge}
export PYTHONUNBUFFERED=1 WORKBENCH_MODELS=/tmp/models
[ -d /tmp/site ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
  --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD
mkdir -p /tmp/models
if [ ! -d /tmp/work ]; then  # a fresh machine resumes from the committed shards
  mkdir -p /tmp/work && cp -r cached_runs/math500-coder/shards/. /tmp/work/
  (cd /tmp/work && find . -type f \( -name '*.parquet' -o -name '*.npz' \) | sort > /tmp/shipped.list)
fi
declare -A SHA=([qwen2.5-coder-0.5b-instruct]=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
                [qwen2.5-coder-1.5b-instruct]=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046)
for m in "${!SHA[@]}"; do
  f=/tmp/models/$m.gguf
  if [ ! -f "$f" ] && ls /tmp/pieces/$m.gguf.* >/dev/null 2>&1; then
    cat $(ls /tmp/pieces/$m.gguf.* | sort) > "$f.tmp"
    if [ "$(sha256sum "$f.tmp" | cut -d' ' -f1)" = "${SHA[$m]}" ]; then mv "$f.tmp" "$f"; rm -f /tmp/pieces/$m.gguf.*
    else echo "checksum mismatch for $m ($(ls /tmp/pieces/$m.gguf.* | wc -l) pieces)"; rm -f "$f.tmp"; fi
  fi
done
ls -la /tmp/models; nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader
if [ "$BENCH" = bench ]; then
  python3 benchmarks/generation.py /tmp/models/qwen2.5-coder-0.5b-instruct.gguf .run/math500.jsonl \
    --prompts 128 --n 2 --max-new 256 --slots 2048 --out /tmp/work/bench-0.5b.json 2>&1 | grep -v -i warn
fi
timeout $(python3 -c "print(int($MIN * 60 + 90))") python3 -m workbench.gpu.job \
  cached_runs/math500-coder/job.toml --minutes "$MIN" --workdir /tmp/work --stages "$STAGES" \
  > "$OUT/job.log" 2>&1
# ship what was not shipped before (one tar, cut in 15 MiB pieces: at most 8 files come back)
cd /tmp/work && touch /tmp/shipped.list
find . -type f \( -name '*.parquet' -o -name '*.npz' \) | sort | comm -23 - <(sort /tmp/shipped.list) > /tmp/new.list
cp stats.jsonl "$OUT/" 2>/dev/null
if [ -s /tmp/new.list ]; then
  tar cf - -T /tmp/new.list | split -b 15M -d -a 1 - "$OUT/shards.tar." && cat /tmp/new.list >> /tmp/shipped.list
fi
ls -la "$OUT"; grep -v -i warn "$OUT/job.log" | tail -20 | cut -c1-300
