#!/usr/bin/env bash
# One photo at a time on an idle server: how much of a photo's time the pool's parallel line
# reads take off. Runs the same calls (the 86 testdata photos, ROUNDS times, concurrency 1)
# against a 1-worker server and then a WORKERS-worker server (default: every CPU), on 127.0.0.1,
# and prints both latencies and their ratio (target: at most 0.6 with 2 workers).
# Usage: load/one_photo.sh [WORKERS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS=${1:-$(nproc)}
ROUNDS=${2:-2}
PORT=${PORT:-50171}
export OMP_THREAD_LIMIT=1
cargo build --release --quiet --bin labelcheck
BIN=./target/release/labelcheck
OUT=$(mktemp -d)
SERVER=
trap 'if [ -n "$SERVER" ]; then kill $SERVER 2>/dev/null || true; fi; rm -rf "$OUT"' EXIT
N=$(( $(tail -n +2 testdata/manifest.csv | wc -l) * ROUNDS ))
for workers in 1 "$WORKERS"; do
  "$BIN" serve --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
    --workers "$workers" 2>"$OUT/server.log" &
  SERVER=$!
  for _ in $(seq 100); do grep -q "labelcheck serving" "$OUT/server.log" 2>/dev/null && break; sleep 0.1; done
  echo "== $workers worker(s): $N calls at concurrency 1" >&2
  "$BIN" load --target 127.0.0.1:$PORT --manifest testdata/manifest.csv --requests "$N" \
    --concurrency 1 --json > "$OUT/w$workers.json"
  kill -TERM $SERVER; wait $SERVER || true
  SERVER=
done
python3 - "$OUT/w1.json" "$OUT/w$WORKERS.json" "$WORKERS" <<'PY'
import json, sys
one, many, workers = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
a, b = one["ok"], many["ok"]
print(f"1 worker:  mean {a['mean_ms']:.0f} ms, p50 {a['p50_ms']:.0f} ms, p99 {a['p99_ms']:.0f} ms; codes {one['codes']}")
print(f"{workers} workers: mean {b['mean_ms']:.0f} ms, p50 {b['p50_ms']:.0f} ms, p99 {b['p99_ms']:.0f} ms; codes {many['codes']}")
print(f"ratio: mean x{b['mean_ms'] / a['mean_ms']:.2f}, p50 x{b['p50_ms'] / a['p50_ms']:.2f} (target <= 0.6)")
PY
