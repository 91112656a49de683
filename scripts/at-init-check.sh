#!/usr/bin/env bash
# Does the weight initialisation explain the gap to the PyTorch reference? The same runs as
# scripts/at-experiments.sh with PyTorch's default init (--init torch). Runs go to ${OUT:-runs/at}.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/at}
EPOCHS=${EPOCHS:-10}
advlab() { node packages/cli/bin/advlab.js "$@"; }
run() { # name eps [train flags...]
  local name=$1 eps=$2; shift 2
  local dir="$OUT/$name"
  if [ -f "$dir/summary.json" ]; then echo "== $name: done";
  elif [ -f "$dir/config.json" ]; then advlab train --resume "$dir";
  else advlab train --model wong-cnn --epochs "$EPOCHS" --eps "$eps" --out "$dir" "$@"; fi
  [ -f "$dir/pgd20.json" ] || advlab eval --model "$dir" --attacks pgd --steps 20 --eps "$eps" --n 1000 --no-worst-case --json "$dir/pgd20.json" > /dev/null
}
run pgd-e0.2-torchinit   0.2 --method pgd --steps 7 --init torch
run fgsm-e0.2-torchinit  0.2 --method fgsm --eval-every 117 --init torch
run gradalign-e0.2-torchinit 0.2 --method gradalign --lambda 0.2 --eval-every 117 --init torch
