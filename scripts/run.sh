#!/usr/bin/env bash
# The main job on built-in defaults: installs what is missing, builds, and serves the gRPC API
# (labelcheck.v1.LabelVerifier, health, reflection) on 127.0.0.1:50051 with metrics on
# http://127.0.0.1:9464/metrics and the bundled model (models/), until SIGTERM or Ctrl-C.
# Extra arguments go to `labelcheck serve` (see `labelcheck serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet
exec ./target/release/labelcheck serve "$@"
