#!/usr/bin/env bash
# The main job on built-in defaults: installs what is missing, builds, and checks the bundled
# sample photo with the bundled model (models/). Extra arguments go to `labelcheck check`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet
exec ./target/release/labelcheck check testdata/000_full_match.jpg "$@"
