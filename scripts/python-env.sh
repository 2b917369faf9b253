#!/usr/bin/env bash
# Creates .venv with what the Python scripts need (opencv-python-headless, numpy). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv 2>/dev/null; then
    source scripts/setup.sh
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq python3-venv >/dev/null; else sudo apt-get install -y -qq python3-venv >/dev/null; fi
    python3 -m venv .venv
  fi
fi
.venv/bin/pip install -q opencv-python-headless numpy
echo "ready: PATH=.venv/bin:\$PATH scripts/bench_vs_opencv.py"
