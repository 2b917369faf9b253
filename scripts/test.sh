#!/usr/bin/env bash
# The whole test suite: installs what is missing, then runs every test (unit, integration, gRPC
# on 127.0.0.1 including a Python grpcio client, CLI, OpenCV parity from committed fixtures,
# testdata reproducibility, accuracy over testdata, the validation set and the look-alike sweep)
# against real images and the real Tesseract model. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export LABELCHECK_SETUP_TESTS=1
source scripts/setup.sh
# The generated label sets (validation, look-alike sweep): made once, cached under target/.
echo "test.sh: making the generated label sets (cached under target/labelsets/)" >&2
scripts/labelsets.sh
export LABELCHECK_REQUIRE_LABELSETS=1
# The cross-language client test must run here, never skip.
LABELCHECK_PYTHON=$(scripts/python-grpc-env.sh | tail -n 1)
export LABELCHECK_PYTHON LABELCHECK_REQUIRE_PYTHON_CLIENT=1
# The release profile, as scripts/run.sh builds it: after run.sh, only labelcheck's own test
# binaries are compiled here, not every dependency again.
echo "test.sh: building and running every test (release profile)" >&2
cargo test --release --all-targets "$@"
