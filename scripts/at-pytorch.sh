#!/usr/bin/env bash
# The PyTorch side of docs/training.md: bench/pytorch/train_ref.py (PyTorch 1.13 from Debian's python3-torch,
# `apt-get install python3-torch`) on the same model, data and recipe as scripts/at-experiments.sh, one JSON
# line per held-out measurement into ${OUT:-runs/at-pytorch}/NAME.jsonl (a finished file is skipped).
# Held-out PGD here is counted both ways: final iterate (pgd10_acc, pgd20_acc) and any iterate (*_any_acc).
# Summarise with: node --import tsx scripts/at-pytorch-table.ts
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/at-pytorch}
mkdir -p "$OUT"
ref() {
  local name=$1; shift
  [ -f "$OUT/$name.jsonl" ] && grep -q '"final": true' "$OUT/$name.jsonl" && { echo "== $name: done"; return; }
  echo "== $name"
  /usr/bin/python3 bench/pytorch/train_ref.py --epochs "${EPOCHS:-10}" "$@" > "$OUT/$name.jsonl.tmp"
  mv "$OUT/$name.jsonl.tmp" "$OUT/$name.jsonl"
}
ref gradalign-e0.2   --method gradalign --eps 0.2 --lam 0.2 --eval-every 469
for seed in 0 1 2; do ref fgsm-e0.2-s$seed --method fgsm --eps 0.2 --eval-every 117 --seed "$seed"; done
ref pgd-e0.2         --method pgd --eps 0.2 --eval-every 469
ref pgd-e0.1         --method pgd --eps 0.1 --eval-every 469
# Does PGD-AT at ε = 0.2 sometimes stay at chance in PyTorch too (advlab's seed 1 does)? 3 epochs show it.
for seed in 1 2; do ref pgd-e0.2-s$seed-3ep --method pgd --eps 0.2 --eval-every 469 --seed "$seed" --epochs 3; done
