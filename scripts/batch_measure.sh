#!/usr/bin/env bash
# The batch figures of docs/performance.md, measured in one run on this machine:
#   1. baseline: one worker's core pipeline, in process, over the testdata mix (examples/core_rate)
#   2. `labelcheck batch` over testdata/manifest.csv with --jobs 1 and with --jobs 2
#   3. the same manifest replicated 10x (860 rows) with --jobs 2, for peak RSS
# Peak RSS is read from /proc while each run goes (VmHWM of the batch process).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_THREAD_LIMIT=1
cargo build --release --quiet --bin labelcheck --example core_rate
BIN=./target/release/labelcheck
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== baseline: one worker, in process" >&2
./target/release/examples/core_rate testdata/manifest.csv --rounds 1 > "$OUT/baseline.json"

# Runs a batch and prints "<rows/s> <peak RSS MiB>".
measure() {
  local manifest=$1 jobs=$2 name=$3
  "$BIN" batch "$manifest" --out "$OUT/$name.jsonl" --jobs "$jobs" --progress off \
    --summary-json "$OUT/$name.summary.json" 2>/dev/null &
  local pid=$! peak=0
  while kill -0 $pid 2>/dev/null; do
    local rss
    rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
    [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 0.2
  done
  wait $pid
  python3 -c "import json; s=json.load(open('$OUT/$name.summary.json')); print(s['rows_per_second'], $peak / 1024)"
}

echo "== batch, 86 rows, --jobs 1" >&2
read -r RATE1 RSS1 < <(measure testdata/manifest.csv 1 one)
echo "== batch, 86 rows, --jobs 2" >&2
read -r RATE2 RSS2 < <(measure testdata/manifest.csv 2 two)
# The manifest 10x: photo paths made absolute so the copy can live in $OUT.
python3 - "$OUT/ten.csv" <<'PY'
import csv, os, sys
rows = list(csv.reader(open("testdata/manifest.csv")))
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(rows[0])
    for _ in range(10):
        for r in rows[1:]:
            w.writerow([os.path.abspath(os.path.join("testdata", r[0]))] + r[1:])
PY
echo "== batch, 860 rows (10x), --jobs 2" >&2
read -r RATE10 RSS10 < <(measure "$OUT/ten.csv" 2 ten)

python3 - "$OUT/baseline.json" "$RATE1" "$RSS1" "$RATE2" "$RSS2" "$RATE10" "$RSS10" <<'PY'
import json, sys
base = json.load(open(sys.argv[1]))["photos_per_second"]
r1, m1, r2, m2, r10, m10 = map(float, sys.argv[2:])
print(f"baseline: {base:.2f} photos/s per worker (in process, one engine)")
print(f"batch --jobs 1: {r1:.2f} rows/s = {r1 / base:.1%} of the baseline; peak RSS {m1:.0f} MiB")
print(f"batch --jobs 2: {r2:.2f} rows/s = {r2 / r1:.2f}x --jobs 1 (target >= 1.8x), "
      f"{r2 / (2 * base):.1%} of 2 x baseline (target >= 95%); peak RSS {m2:.0f} MiB")
print(f"860 rows (10x), --jobs 2: {r10:.2f} rows/s; peak RSS {m10:.0f} MiB = {m10 / m2:.2f}x the 86-row run")
PY
