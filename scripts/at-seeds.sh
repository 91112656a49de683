#!/usr/bin/env bash
# Seed spread of issue 4's acceptance runs (docs/training.md): scripts/at-experiments.sh's pgd ε = 0.1,
# zero-init FGSM ε = 0.2 and pgd ε = 0.2 runs again with seeds 1 and 2 (seed 0 is at-experiments.sh's),
# into ${OUT:-runs/at-seeds}.
# A single run's robust accuracy moves by about a point with the seed, and when FGSM training overfits
# catastrophically is close to chaotic, so one run is not evidence either way.
set -euo pipefail
OUT=${OUT:-runs/at-seeds}
source "$(dirname "$0")/at-lib.sh"
for seed in ${SEEDS:-1 2}; do
  run fgsm-e0.2-s$seed 0.2 --method fgsm --eval-every 117 --seed "$seed"
  run pgd-e0.1-s$seed  0.1 --method pgd --steps 7 --seed "$seed"
  run pgd-e0.2-s$seed  0.2 --method pgd --steps 7 --seed "$seed"
done
