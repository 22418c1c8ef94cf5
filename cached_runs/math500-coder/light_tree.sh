#!/usr/bin/env bash
# While model pieces travel, only the code needs to: `light_tree.sh on` takes the run data
# (cached_runs, reports, notebooks: about 28 of the 30 MB of tracked files) out of the index and
# ignores it, so a call carries pieces of about 60 MiB instead of 33 (half the calls);
# `light_tree.sh off` puts it back (the files never leave the disk). Run `off` before the first
# job call: the job resumes from the committed shards. pieces.sh sizes the pieces after it.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
DIRS=(cached_runs reports notebooks)
EXCLUDE=.git/info/exclude
case "${1:-}" in
  on)  git rm -r -q --cached "${DIRS[@]}"
       # gitignore has no trailing comments: a marker line above each pattern
       for d in "${DIRS[@]}"; do printf '# light_tree.sh\n/%s/\n' "$d" >> "$EXCLUDE"; done ;;
  off) git reset -q -- "${DIRS[@]}"
       sed -i '/^# light_tree.sh$/,+1d' "$EXCLUDE" ;;
  *)   echo "usage: light_tree.sh on|off" >&2; exit 2 ;;
esac
git ls-files -z | xargs -0 du -cb | tail -1 | awk '{printf "tracked tree now %.1f MiB\n", $1/1048576}'
