#!/usr/bin/env bash
# Runs scripts/onnx_speed_trials.py (the learned engines' speed trials that were measured and not
# taken up; docs/decisions.md) in a venv of pinned packages under target/speed-trials/, on the line
# crops of the first 60 tuning photos and on the tuning photos. Needs the models fetched
# (scripts/setup.sh) and the tuning set made (scripts/labelsets.sh tuning). About 10 minutes.
# Usage: scripts/onnx_speed_trials.sh [batch] [int8] [hardswish] [tiles]
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/speed-trials
mkdir -p "$out"
[ -x "$out/venv/bin/python" ] || python3 -m venv "$out/venv"
"$out/venv/bin/pip" install -q onnxruntime==1.31.1 onnx==1.23.2 sympy==1.14.0 numpy==2.4.6 pillow==13.0.0
if [ ! -d "$out/crops" ]; then
  OMP_THREAD_LIMIT=1 cargo run --release --quiet --example engine_profile -- \
    target/labelsets/tuning/manifest.csv --limit 60 --crops "$out/crops" >/dev/null
fi
"$out/venv/bin/python" scripts/onnx_speed_trials.py "$out/crops" target/labelsets/tuning "$@"
