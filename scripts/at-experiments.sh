#!/usr/bin/env bash
# Issue 4's acceptance experiments: wong-cnn on the full Fashion-MNIST, 10 epochs, batch 128, Adam 1e-3,
# then PGD-20 (α = ε/4, random start) on the first 1000 test images. Runs go to ${OUT:-runs/at}; a finished
# run is skipped and an interrupted one resumes. Summarise with: node --import tsx scripts/at-table.ts
set -euo pipefail
OUT=${OUT:-runs/at}
source "$(dirname "$0")/at-lib.sh"
run standard-e0.1   0.1 --method standard
run pgd-e0.1        0.1 --method pgd --steps 7
run fgsm-e0.2       0.2 --method fgsm --eval-every 117
run gradalign-e0.2  0.2 --method gradalign --lambda 0.2 --eval-every 117
run pgd-e0.2        0.2 --method pgd --steps 7
run fgsm-rs-e0.2    0.2 --method fgsm-rs --eval-every 117
run fgsm-e0.3       0.3 --method fgsm --eval-every 117
run gradalign-e0.3  0.3 --method gradalign --lambda 0.5 --eval-every 117
