#!/usr/bin/env bash
# The whole test suite: installs what is missing, then runs every test (unit, integration, gRPC
# on 127.0.0.1 including a Python grpcio client, CLI, OpenCV parity from committed fixtures,
# testdata reproducibility) against real images and the real Tesseract model. Extra arguments go
# to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
# The cross-language client test must run here, never skip.
LABELCHECK_PYTHON=$(scripts/python-grpc-env.sh | tail -n 1)
export LABELCHECK_PYTHON LABELCHECK_REQUIRE_PYTHON_CLIENT=1
cargo test --all-targets "$@"
