#!/usr/bin/env bash
# Does the weight initialisation explain the gap to the PyTorch reference? The same runs as
# scripts/at-experiments.sh with PyTorch's default init (--init torch). Runs go to ${OUT:-runs/at}.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/at}
EPOCHS=${EPOCHS:-10}
source scripts/at-lib.sh
run pgd-e0.2-torchinit   0.2 --method pgd --steps 7 --init torch
run fgsm-e0.2-torchinit  0.2 --method fgsm --eval-every 117 --init torch
run gradalign-e0.2-torchinit 0.2 --method gradalign --lambda 0.2 --eval-every 117 --init torch
