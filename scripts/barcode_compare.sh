#!/usr/bin/env bash
# Measures rxing against ZBar (and labelcheck's own barcode stage) on label photo sets:
# QR and Code 128 codes decoded, the label's serial from a code, time per photo.
# Needs Debian's libzbar-dev (installed here when missing); not part of the service's build.
# Usage: scripts/barcode_compare.sh [SET_DIR...]   (default: testdata target/labelsets/tuning)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! dpkg -s libzbar-dev >/dev/null 2>&1; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get install -y --no-install-recommends libzbar-dev
fi
dirs=("$@")
[ "${#dirs[@]}" -gt 0 ] || dirs=(testdata target/labelsets/tuning)
CARGO_TARGET_DIR="$PWD/target" cargo build --release --manifest-path tools/barcode-compare/Cargo.toml
./target/release/barcode-compare "${dirs[@]}"
