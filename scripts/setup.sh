#!/usr/bin/env bash
# Installs everything advlab needs on a fresh Debian machine: the system packages (the real
# Fashion-MNIST dataset, oneDNN for the native backend, Chromium for the browser tests), the npm workspace, the native
# addon and the packages' builds.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
need=()
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
[ -f /usr/include/oneapi/dnnl/dnnl.hpp ] || need+=(libdnnl-dev)
[ -x /usr/bin/chromium ] || need+=(chromium)  # the report's browser test
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
npm ci --no-audit --no-fund
# The native oneDNN backend (packages/onednn); advlab falls back to wasm when it is missing.
npm run build:native
# Every package's dist/ (JavaScript + .d.ts): the advlab command runs the built CLI.
npm run build
