#!/usr/bin/env bash
# Makes the generated label sets that are too large to commit, under target/labelsets/<set>/, and
# checks them against the manifests' checksums committed in testdata/labelsets.sha256:
#   validation  630 photos from the wider generator (the last 30 slips), measured and never
#               tuned against
#   sweep       labels one look-alike away from the reported serial (must never MATCH)
#   tampered    40 labels whose text shows the reported serial and whose codes a neighbour's
#   slips       40 labels showing the reported serial, with a slip or sticker laid over or beside
#               them showing another device's serial
#   tuning      (only when named) a split of the wider generator to fit rules and thresholds on
#               (630 photos, the last 30 slips)
# A set already there, matching its checksum and with its verification_codes.csv is kept (the
# cache); otherwise it is made again.
# The same command regenerates each set byte for byte: each photo's SHA-256 is in its manifest,
# and the tests check every photo they read against it.
# Usage: scripts/labelsets.sh [validation] [sweep] [tampered] [slips] [tuning]
#        (default: validation sweep tampered slips)
set -euo pipefail
cd "$(dirname "$0")/.."
sets=("$@")
[ "${#sets[@]}" -gt 0 ] || sets=(validation sweep tampered slips)
for set in "${sets[@]}"; do
  dir=target/labelsets/$set
  want=$(awk -v s="$set" '$2 == s {print $1}' testdata/labelsets.sha256)
  have=$( [ -f "$dir/manifest.csv" ] && sha256sum "$dir/manifest.csv" | cut -d' ' -f1 || true)
  if [ -n "$want" ] && [ "$want" = "$have" ] && [ -f "$dir/verification_codes.csv" ]; then
    echo "labelsets: $set is up to date ($dir)" >&2
    continue
  fi
  echo "labelsets: generating $set into $dir" >&2
  rm -rf "$dir"
  count=600
  case $set in tampered | slips) count=40 ;; esac
  # The release profile, as scripts/run.sh builds it: the two share every compiled dependency.
  cargo run --release --example gen_testdata -- --set "$set" --count "$count" --out "$dir" >&2
  have=$(sha256sum "$dir/manifest.csv" | cut -d' ' -f1)
  if [ -n "$want" ] && [ "$want" != "$have" ]; then
    echo "labelsets: $set's manifest is $have, testdata/labelsets.sha256 records $want: the generator or a font package changed" >&2
    exit 1
  fi
done
