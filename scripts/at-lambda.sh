#!/usr/bin/env bash
# GradAlign's λ at ε = 0.2 (docs/training.md): the issue's λ = 0.2 ends ~20 points of PGD-20 below PGD-AT,
# in PyTorch (bench/pytorch/train_ref.py) as in advlab; these runs show what a larger λ buys. Runs go to
# ${OUT:-runs/at-lambda}.
set -euo pipefail
OUT=${OUT:-runs/at-lambda}
source "$(dirname "$0")/at-lib.sh"
for lambda in ${LAMBDAS:-1 2}; do
  run gradalign-e0.2-l$lambda 0.2 --method gradalign --lambda "$lambda" --eval-every 469
done
