#!/usr/bin/env bash
# Issue 16's acceptance: `advlab reproduce --quick` with --executor local, then with --executor slurm on a one-node
# Slurm started here (scripts/slurm-localhost.sh; needs root, slurm-wlm and munge), then the two compared figure for
# figure. Usage: scripts/cluster-acceptance.sh [OUT]   (default out/cluster-acceptance; about 20 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/cluster-acceptance}
mkdir -p "$out"
slurm_dir=$(mktemp -d)
scripts/slurm-localhost.sh start "$slurm_dir"
trap 'scripts/slurm-localhost.sh stop "$slurm_dir"' EXIT
export SLURM_CONF=$slurm_dir/slurm.conf
echo "local: $(date -u +%FT%TZ)"
npx advlab reproduce --quick --out "$out/local" > "$out/local.log" 2>&1
echo "slurm: $(date -u +%FT%TZ)"
npx advlab reproduce --quick --out "$out/slurm" --executor slurm --cpus-per-task 2 --poll 5 > "$out/slurm.log" 2>&1
echo "done: $(date -u +%FT%TZ)"
node --import tsx scripts/compare-suites.ts "$out/local" "$out/slurm"
