#!/usr/bin/env bash
# The whole test suite: installs what is missing, then runs every test (unit, integration, CLI,
# OpenCV parity from committed fixtures, testdata reproducibility) against real images and the
# real Tesseract model. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo test --all-targets "$@"
