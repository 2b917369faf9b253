#!/usr/bin/env bash
# The load figures of docs/performance.md, measured in one run on this machine against 127.0.0.1 only:
#   1. baseline: one worker's core pipeline, in process, over the testdata mix (examples/core_rate)
#   2. saturation: `labelcheck load` at 2 x workers concurrency over the mix
#   3. steady: concurrency 4 x workers for DURATION seconds (default 60)
#   4. at the admission limit (workers + default queue) for 30 s: the reference for admitted latency
#   5. overload: 64 x the saturation rate offered at concurrency 64 x workers for 30 s
# and the server's peak RSS. Every step is bounded; the server is stopped at the end.
# Usage: load/measure.sh [WORKERS] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS=${1:-$(nproc)}
DURATION=${2:-60}
PORT=${PORT:-50151}
export OMP_THREAD_LIMIT=1
cargo build --release --quiet --bin labelcheck --example core_rate
BIN=./target/release/labelcheck
OUT=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$OUT"' EXIT

echo "== baseline: one worker, in process, the whole testdata mix" >&2
./target/release/examples/core_rate testdata/manifest.csv --rounds 1 | tee "$OUT/baseline.json" >&2

"$BIN" serve --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
  --workers "$WORKERS" 2>"$OUT/server.log" &
SERVER=$!
for _ in $(seq 100); do grep -q "labelcheck serving" "$OUT/server.log" 2>/dev/null && break; sleep 0.1; done
peak_rss() { awk '/VmHWM/ {print $2 / 1024}' /proc/$SERVER/status; }

N=$(( $(tail -n +2 testdata/manifest.csv | wc -l) * 2 ))
echo "== saturation: $N calls at concurrency $((2 * WORKERS))" >&2
"$BIN" load --target 127.0.0.1:$PORT --manifest testdata/manifest.csv \
  --requests "$N" --concurrency $((2 * WORKERS)) --json > "$OUT/saturation.json"
echo "== steady: concurrency $((4 * WORKERS)) for ${DURATION}s" >&2
"$BIN" load --target 127.0.0.1:$PORT --manifest testdata/manifest.csv \
  --duration "$DURATION" --concurrency $((4 * WORKERS)) --json > "$OUT/steady.json"
RSS_STEADY=$(peak_rss)
LIMIT=$((WORKERS * 5))  # workers + the default queue of 4 x workers: every call admitted, none refused
echo "== at the admission limit: concurrency $LIMIT for 30s (reference for admitted latency)" >&2
"$BIN" load --target 127.0.0.1:$PORT --manifest testdata/manifest.csv \
  --duration 30 --concurrency "$LIMIT" --json > "$OUT/at_limit.json"
RATE=$(python3 -c "import json; print(64 * json.load(open('$OUT/saturation.json'))['ok_rps'])")
echo "== overload: $RATE calls/s offered at concurrency $((64 * WORKERS)) for 30s" >&2
"$BIN" load --target 127.0.0.1:$PORT --manifest testdata/manifest.csv \
  --duration 30 --rate "$RATE" --concurrency $((64 * WORKERS)) --json > "$OUT/overload.json"
RSS_OVERLOAD=$(peak_rss)
kill -TERM $SERVER; wait $SERVER || true

python3 - "$OUT" "$WORKERS" "$RSS_STEADY" "$RSS_OVERLOAD" <<'PY'
import json, sys
out, workers, rss_steady, rss_overload = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
load = lambda n: json.load(open(f"{out}/{n}.json"))
base, sat, steady, over = load("baseline"), load("saturation"), load("steady"), load("overload")
at_limit = load("at_limit")
ideal = workers * base["photos_per_second"]
print(f"workers: {workers}")
print(f"baseline: {base['photos_per_second']:.2f} photos/s per worker ({base['mean_ms']:.0f} ms mean) -> ideal {ideal:.2f}/s")
print(f"saturation: {sat['ok_rps']:.2f} OK/s = {sat['ok_rps'] / ideal:.1%} of ideal (target >= 90%); codes {sat['codes']}")
s = steady["ok"]
errors = sum(v for k, v in steady["codes"].items() if k != "Ok")
print(f"steady (c={steady['concurrency']}, {steady['seconds']:.0f}s): {steady['requests']} calls, {errors} errors, "
      f"p50 {s['p50_ms']:.0f} ms, p99 {s['p99_ms']:.0f} ms, p99/p50 {s['p99_ms'] / s['p50_ms']:.2f} (target <= 3)")
o, r = over["ok"], over["resource_exhausted"]
print(f"overload (c={over['concurrency']}, {over['throughput_rps']:.0f} calls/s answered): codes {over['codes']}")
print(f"  refused p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms (target < 5 ms)")
a = at_limit["ok"]
print(f"at the limit (c={at_limit['concurrency']}): codes {at_limit['codes']}, p50 {a['p50_ms']:.0f} ms, p99 {a['p99_ms']:.0f} ms, {at_limit['ok_rps']:.2f} OK/s")
print(f"  admitted under overload: p50 {o['p50_ms']:.0f} ms, p99 {o['p99_ms']:.0f} ms = x{o['p50_ms'] / a['p50_ms']:.2f} / x{o['p99_ms'] / a['p99_ms']:.2f} the at-limit run; {o['count'] / over['seconds']:.2f} OK/s = {o['count'] / over['seconds'] / at_limit['ok_rps']:.0%} of it")
print(f"  peak RSS: {rss_steady:.0f} MiB after steady, {rss_overload:.0f} MiB after overload")
PY
