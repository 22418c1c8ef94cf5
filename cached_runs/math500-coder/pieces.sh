#!/usr/bin/env bash
# Cut model files into the largest pieces that travel beside this checkout to the GPU machine:
# a call carries at most 64 MiB, tracked files included, so the piece size follows the tree.
#   bash cached_runs/math500-coder/pieces.sh /work/models/qwen2.5-coder-0.5b-instruct.gguf ...
# Pieces land in .pieces/all (ignored); send one per call with carry [".pieces/all/<name>"].
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
extra=$(git ls-files -oz --exclude-standard | xargs -0 -r du -cb | tail -1 | cut -f1)
mib=$(( (64 * 1048576 - tree - ${extra:-0} - 2 * 1048576) / 1048576 ))  # 2 MiB to spare
echo "tracked tree $((tree / 1048576)) MiB, untracked $(( ${extra:-0} / 1048576 )) MiB -> pieces of $mib MiB"
rm -rf .pieces/all
for model in "$@"; do ../shared/tools/model-kit split "$model" .pieces/all "$mib" | tail -1; done
ls .pieces/all | wc -l
