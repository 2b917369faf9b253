#!/usr/bin/env bash
# The main job on built-in defaults: installs what is missing, builds, and serves the gRPC API
# (labelcheck.v1.LabelVerifier, health, reflection) on 127.0.0.1:50051 with metrics on
# http://127.0.0.1:9464/metrics and the bundled model (models/), until SIGTERM or Ctrl-C.
# Extra arguments go to `labelcheck serve` (see `labelcheck serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "run.sh: building labelcheck (release; the first build compiles every dependency, about 10 minutes on 2 cores)" >&2
cargo build --release
echo "run.sh: serving gRPC on 127.0.0.1:50051 (metrics on http://127.0.0.1:9464/metrics) until SIGTERM or Ctrl-C" >&2
exec ./target/release/labelcheck serve "$@"
