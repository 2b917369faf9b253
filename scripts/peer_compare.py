#!/usr/bin/env python3
"""labelcheck against the obvious alternative, on the same testdata photos in one run.

(a) labelcheck:  target/release/labelcheck check PHOTO --serial S --json
(b) alternative: tesseract PHOTO - (whole photo, default page segmentation, LSTM, tessdata_fast
    from models/), then a regular expression for a full serial or a captioned short serial:
    MATCH if the reported serial (or, for a short-only read, its short serial) is found,
    MISMATCH if only other serials are found, NOT_FOUND otherwise.

Both run as whole processes (model loading included) with OMP_THREAD_LIMIT=1, one at a time.
Prints per-photo p50 wall time for each, their ratio, labelcheck's in-process p50, and both
accuracies against the manifest's expected verdicts.
Usage: scripts/peer_compare.py [--every N]   (every Nth photo of the manifest; default 1 = all)
Needs: tesseract (Debian tesseract-ocr) and a release build.
"""
import argparse
import csv
import json
import os
import pathlib
import re
import statistics
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENV = dict(os.environ, OMP_THREAD_LIMIT="1")
FULL = re.compile(r"([A-Z]{1,4}-[A-Z0-9/-]{2,}?)(20\d{6})([A-Z]{4})([A-Z0-9]\d{8})([A-Z]{2,6})?(?![0-9])")
SHORT = re.compile(r"(?:S/N|SN|SERIAL\s*NO\.?|SERIAL\s*NUMBER)\s*:?\s*([A-Z0-9]\d{8})\b")


def alternative_verdict(text, reported):
    upper = text.upper()
    compact = re.sub(r"\s+", "", upper)
    fulls = {"".join(g for g in m.groups() if g) for m in FULL.finditer(compact)}
    shorts = set(SHORT.findall(upper))
    short_of_reported = FULL.search(reported).group(4)
    if reported in fulls or (not fulls and short_of_reported in shorts):
        return "MATCH"
    if fulls or shorts:
        return "MISMATCH"
    return "NOT_FOUND"


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT)
    return out, (time.perf_counter() - start) * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--every", type=int, default=1)
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    rows = list(csv.DictReader(open(ROOT / "testdata/manifest.csv")))[:: args.every]
    ours_ms, ours_inproc_ms, theirs_ms = [], [], []
    ours_right = theirs_right = 0
    print(f"{'photo':<28} {'expected':<13} {'labelcheck':<13} {'ms':>7} {'tesseract+regex':<16} {'ms':>7}")
    for row in rows:
        photo = str(ROOT / "testdata" / row["photo"])
        out, ms = timed([str(ROOT / "target/release/labelcheck"), "check", photo, "--serial", row["reported_serial"], "--json"])
        report = json.loads(out.stdout)
        ours_ms.append(ms)
        ours_inproc_ms.append(report["timings"]["total_ms"])
        out2, ms2 = timed(["tesseract", photo, "-", "--tessdata-dir", str(ROOT / "models"), "-l", "eng", "--oem", "1"])
        theirs = alternative_verdict(out2.stdout, row["reported_serial"])
        theirs_ms.append(ms2)
        ours_right += report["verdict"] == row["expected_verdict"]
        theirs_right += theirs == row["expected_verdict"]
        print(f"{row['photo']:<28} {row['expected_verdict']:<13} {report['verdict']:<13} {ms:>7.0f} {theirs:<16} {ms2:>7.0f}")
    n = len(rows)
    p50 = statistics.median
    print()
    print(f"photos: {n}")
    print(f"labelcheck:      p50 {p50(ours_ms):.0f} ms per photo (process), {p50(ours_inproc_ms):.0f} ms in-process; right {ours_right}/{n} ({100 * ours_right / n:.0f}%)")
    print(f"tesseract+regex: p50 {p50(theirs_ms):.0f} ms per photo (process); right {theirs_right}/{n} ({100 * theirs_right / n:.0f}%)")
    print(f"speed ratio (alternative / labelcheck, processes): {p50(theirs_ms) / p50(ours_ms):.1f}x")


if __name__ == "__main__":
    main()
