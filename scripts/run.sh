#!/usr/bin/env bash
# The main job on built-in defaults: installs what is missing, builds, and checks a bundled sample
# photo against its device's reported serial with the bundled model (models/). Exit code 0 means
# MATCH. Extra arguments go to `labelcheck check` (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet
exec ./target/release/labelcheck check testdata/001_short_match.jpg \
  --serial DS-7204HQHI-K10420231115AAWRS39003340 "$@"
