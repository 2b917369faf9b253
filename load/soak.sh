#!/usr/bin/env bash
# A soak against a real server on 127.0.0.1: for DURATION seconds (default 1800), mixed traffic
# at once:
#   - valid photos (the testdata mix) at concurrency 2 x workers;
#   - bad inputs (garbage bytes, a truncated JPEG, an empty file) at concurrency 1;
#   - calls with a 150 ms deadline, most of them cancelled mid-check, at concurrency 2;
#   - every 60 s, a 5 s overload burst at concurrency 64 x workers;
# while the server's RSS and its call count are sampled every 10 s. Prints the samples and the
# RSS slope after warm-up (the first fifth of the run), in MiB per 10,000 calls, by least squares;
# and the calls each OCR engine has served. Bounded: every client stops at DURATION, the server
# is stopped at the end.
# VALID_ONLY=1 drives the valid photos only, in rounds of ROUND seconds (default 55), each
# followed by PAUSE seconds (default 5) with no call in flight, at the end of which RSS is sampled
# again, with the C allocator's bytes in use (the server's labelcheck_heap_bytes metric): what the
# server holds between checks, free of the swings of checks in flight that the 10 s samples catch.
# The summary then adds the slopes of those idle samples. Idle RSS still swings by the freed
# memory the allocator keeps for reuse; the heap in use does not, so a leak shows there.
# Usage: [VALID_ONLY=1 [ROUND=55] [PAUSE=5]] load/soak.sh [DURATION] [WORKERS]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-1800}
WORKERS=${2:-$(nproc)}
PORT=${PORT:-50171}
export OMP_THREAD_LIMIT=1
cargo build --release --quiet --bin labelcheck
BIN=./target/release/labelcheck
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; kill $SERVER 2>/dev/null || true; rm -rf "$OUT"' EXIT

# Bad inputs, each a row of a manifest.
SERIAL=DS-7204HQHI-K10420231115AAWRS39003340
head -c 4096 /dev/urandom > "$OUT/garbage.jpg"
head -c 20000 "testdata/$(ls testdata | grep -m1 '\.jpg$')" > "$OUT/truncated.jpg"
: > "$OUT/empty.jpg"
printf 'photo,reported_serial\n%s,%s\n%s,%s\n%s,%s\n' \
  "$OUT/garbage.jpg" $SERIAL "$OUT/truncated.jpg" $SERIAL "$OUT/empty.jpg" $SERIAL > "$OUT/bad.csv"

"$BIN" serve --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$((PORT + 1)) \
  --workers "$WORKERS" 2>"$OUT/server.log" &
SERVER=$!
for _ in $(seq 100); do grep -q "labelcheck serving" "$OUT/server.log" 2>/dev/null && break; sleep 0.1; done

calls() {
  python3 - "$PORT" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{int(sys.argv[1]) + 1}/metrics", timeout=5).read().decode()
print(int(sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith("labelcheck_requests_total{"))))
PY
}
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' /proc/$SERVER/status; }
heap_mib() {
  python3 - "$PORT" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{int(sys.argv[1]) + 1}/metrics", timeout=5).read().decode()
print("%.1f" % (sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith("labelcheck_heap_bytes ")) / 2**20))
PY
}

load() { "$BIN" load --target 127.0.0.1:$PORT --duration "$DURATION" --json "$@"; }
start=$SECONDS
if [ "${VALID_ONLY:-0}" = 1 ]; then
  ROUND=${ROUND:-55}
  PAUSE=${PAUSE:-5}
  echo "seconds,calls,rss_mib,heap_mib" > "$OUT/idle.csv"
  (
    while [ $((SECONDS - start + ROUND + PAUSE)) -le "$DURATION" ]; do
      "$BIN" load --target 127.0.0.1:$PORT --duration "$ROUND" --json \
        --manifest testdata/manifest.csv --concurrency $((2 * WORKERS)) >> "$OUT/valid.jsonl"
      sleep "$PAUSE"
      echo "$((SECONDS - start)),$(calls),$(rss_mib),$(heap_mib)" | tee -a "$OUT/idle.csv" | sed 's/^/idle,/'
    done
  ) &
else
  load --manifest testdata/manifest.csv --concurrency $((2 * WORKERS)) > "$OUT/valid.json" &
  load --manifest "$OUT/bad.csv" --concurrency 1 > "$OUT/bad.json" &
  load --manifest testdata/manifest.csv --concurrency 2 --timeout-ms 150 > "$OUT/deadline.json" &
  (
    end=$((SECONDS + DURATION))
    while [ $((SECONDS + 65)) -le $end ]; do
      sleep 60
      "$BIN" load --target 127.0.0.1:$PORT --manifest testdata/manifest.csv --duration 5 \
        --concurrency $((64 * WORKERS)) --json >> "$OUT/bursts.jsonl"
    done
  ) &
fi

echo "seconds,calls,rss_mib" | tee "$OUT/samples.csv"
while [ $((SECONDS - start)) -lt "$DURATION" ]; do
  echo "$((SECONDS - start)),$(calls),$(rss_mib)" | tee -a "$OUT/samples.csv"
  sleep 10
done
wait $(jobs -p | grep -v "^$SERVER$") 2>/dev/null || true
echo "$((SECONDS - start)),$(calls),$(rss_mib)" | tee -a "$OUT/samples.csv"
PEAK=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' /proc/$SERVER/status)
kill -TERM $SERVER; wait $SERVER || true

python3 - "$OUT" "$WORKERS" "$PEAK" <<'PY'
import csv, json, sys
out, workers, peak = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
import os
def samples(name, column="rss_mib"):
    return [(float(r["seconds"]), float(r["calls"]), float(r[column])) for r in csv.DictReader(open(f"{out}/{name}"))]
rows = samples("samples.csv")
def after_warmup(rs):
    return [r for r in rs if r[0] >= rows[-1][0] / 5]
def slope_of(rs):
    n = len(rs)
    if n < 2:
        return float("nan")
    mx = sum(r[1] for r in rs) / n
    my = sum(r[2] for r in rs) / n
    sxx = sum((r[1] - mx) ** 2 for r in rs)
    return sum((r[1] - mx) * (r[2] - my) for r in rs) / sxx if sxx else float("nan")
warm = after_warmup(rows)
slope = slope_of(warm)
def codes(name):
    if os.path.exists(f"{out}/{name}.jsonl"):  # rounds (VALID_ONLY=1): their codes summed
        total = {}
        for line in open(f"{out}/{name}.jsonl"):
            for code, n in json.loads(line).get("codes", {}).items():
                total[code] = total.get(code, 0) + n
        return total
    if not os.path.exists(f"{out}/{name}.json"):
        return None  # not driven (VALID_ONLY=1)
    try:
        return json.load(open(f"{out}/{name}.json")).get("codes", {})
    except Exception as e:
        return {"unreadable": str(e)}
idle = after_warmup(samples("idle.csv")) if os.path.exists(f"{out}/idle.csv") else []
heap = after_warmup(samples("idle.csv", "heap_mib")) if os.path.exists(f"{out}/idle.csv") else []
bursts = [json.loads(l).get("codes", {}) for l in open(f"{out}/bursts.jsonl")] if __import__("os").path.exists(f"{out}/bursts.jsonl") else []
calls = rows[-1][1]
print(json.dumps({
    "duration_s": rows[-1][0],
    "calls": calls,
    "calls_per_engine": calls / workers,
    "rss_mib_first": rows[0][2],
    "rss_mib_after_warmup": warm[0][2],
    "rss_mib_last": rows[-1][2],
    "rss_mib_peak": peak,
    "rss_slope_mib_per_10k_calls": slope * 10_000,
    "valid": codes("valid"),
    "bad": codes("bad"),
    "short_deadline": codes("deadline"),
    "bursts": len(bursts),
    "idle_samples_after_warmup": len(idle),
    "idle_rss_mib_after_warmup": idle[0][2] if idle else None,
    "idle_rss_mib_last": idle[-1][2] if idle else None,
    "idle_rss_mib_min_max": [min(r[2] for r in idle), max(r[2] for r in idle)] if idle else None,
    "idle_calls_between_first_and_last": idle[-1][1] - idle[0][1] if idle else None,
    "idle_rss_slope_mib_per_10k_calls": slope_of(idle) * 10_000 if idle else None,
    "idle_heap_mib_after_warmup": heap[0][2] if heap else None,
    "idle_heap_mib_last": heap[-1][2] if heap else None,
    "idle_heap_mib_min_max": [min(r[2] for r in heap), max(r[2] for r in heap)] if heap else None,
    "idle_heap_slope_mib_per_10k_calls": slope_of(heap) * 10_000 if heap else None,
}, indent=1))
PY
