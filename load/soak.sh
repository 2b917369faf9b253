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
# Usage: load/soak.sh [DURATION] [WORKERS]
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

load() { "$BIN" load --target 127.0.0.1:$PORT --duration "$DURATION" --json "$@"; }
load --manifest testdata/manifest.csv --concurrency $((2 * WORKERS)) > "$OUT/valid.json" &
if [ "${VALID_ONLY:-0}" != 1 ]; then
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
start=$SECONDS
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
rows = [(float(r["seconds"]), float(r["calls"]), float(r["rss_mib"])) for r in csv.DictReader(open(f"{out}/samples.csv"))]
warm = [r for r in rows if r[0] >= rows[-1][0] / 5]
n = len(warm)
mx = sum(r[1] for r in warm) / n
my = sum(r[2] for r in warm) / n
sxx = sum((r[1] - mx) ** 2 for r in warm)
slope = sum((r[1] - mx) * (r[2] - my) for r in warm) / sxx if sxx else float("nan")
def codes(name):
    if not __import__("os").path.exists(f"{out}/{name}.json"):
        return None  # not driven (VALID_ONLY=1)
    try:
        return json.load(open(f"{out}/{name}.json")).get("codes", {})
    except Exception as e:
        return {"unreadable": str(e)}
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
}, indent=1))
PY
