#!/usr/bin/env bash
# The weight initialisation decides whether adversarial training at ε = 0.2 learns at all (docs/training.md):
# the ε = 0.2 runs of scripts/at-experiments.sh with He-normal kernels and zero biases (--init he), the
# zoo's default before 2026-11-25. Runs go to ${OUT:-runs/at-he}.
set -euo pipefail
OUT=${OUT:-runs/at-he}
source "$(dirname "$0")/at-lib.sh"
run pgd-e0.2        0.2 --method pgd --steps 7 --init he
run fgsm-e0.2       0.2 --method fgsm --eval-every 117 --init he
run gradalign-e0.2  0.2 --method gradalign --lambda 0.2 --eval-every 117 --init he
