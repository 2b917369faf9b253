#!/usr/bin/env bash
# Coverage-guided fuzzing of labelcheck's untrusted-input stages with AFL++ (cargo-afl, on
# stable Rust). Each target runs for SECONDS on one core, all targets at once.
#
#   fuzz/afl/run.sh [SECONDS] [TARGET...]      (default: 3600 s, targets early and check)
#
# Targets (fuzz/afl/src/bin/): early = decode, blur, codes and lines; check = the whole check
# with real Tesseract. Seeds are testdata photos re-encoded at 160 px (fuzz_photos
# --write-seeds). Output: target/afl/<target>/ (AFL++'s queue, crashes, hangs, fuzzer_stats),
# a summary line per target, and any crash or hang copied to target/afl/findings/ for
# fuzz/regressions/ (replayed by tests/fuzz_short.rs). Exits 1 if anything was found.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
seconds=${1:-3600}
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(early check)

source scripts/setup.sh
command -v cargo-afl >/dev/null 2>&1 || cargo install --locked cargo-afl --version '^0.18'
# AFL++ itself is built once per toolchain; cargo-afl refuses to build it twice.
cargo afl config --build >/dev/null 2>&1 || true

(cd fuzz/afl && cargo afl build --release --quiet)
out=target/afl
rm -rf "$out/seeds"
cargo run --release --quiet --example fuzz_photos -- --write-seeds "$out/seeds" 160

# Time bound per input, ms: the stable fuzzer's (10 s before OCR, 60 s for a full check).
declare -A timeout=([early]=10000 [check]=60000)
pids=()
for t in "${targets[@]}"; do
  rm -rf "${out:?}/$t"
  AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
    cargo afl fuzz -i "$out/seeds" -o "$out/$t" -V "$seconds" -t "${timeout[$t]}" \
    -- "fuzz/afl/target/release/$t" >"$out/$t.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done

found=0
mkdir -p "$out/findings"
for t in "${targets[@]}"; do
  stats="$out/$t/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then echo "$t: no fuzzer_stats; see $out/$t.log" >&2; found=1; continue; fi
  get() { sed -n "s/^$1 *: *//p" "$stats"; }
  echo "$t: $(get run_time) s, $(get execs_done) execs ($(get execs_per_sec)/s)," \
    "corpus $(get corpus_count) (from $(get corpus_found) found), edges $(get edges_found)/$(get total_edges)" \
    "($(get bitmap_cvg)), crashes $(get saved_crashes), hangs $(get saved_hangs)"
  for kind in crashes hangs; do
    for f in "$out/$t/default/$kind"/id:*; do
      [ -f "$f" ] || continue
      cp "$f" "$out/findings/$t-$kind-$(sha256sum "$f" | cut -c1-16).bin"
      found=1
    done
  done
done
exit "$found"
