#!/usr/bin/env bash
# The installed CLI (dist/, built by `prepare`) on the Node on PATH: a quick code-interp training run,
# which starts the sandbox's isolates, runs episodes and writes a run folder.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
echo "== gym train --env code-interp --preset quick on Node $(node -v)"
npx gym train --env code-interp --preset quick --no-progress --out "$out"
test -f "$out"/*/summary.json
# Episodes the sandbox could not serve would end aborted (and cold start would find no oracle episode).
grep -q '"ending":"terminated"' "$out"/*/trajectories/sft-data.jsonl
if grep -q '"ending":"aborted"' "$out"/*/trajectories/*.jsonl; then
  echo "gym train: aborted episodes on Node $(node -v)" >&2
  exit 1
fi
rm -rf "$out"
