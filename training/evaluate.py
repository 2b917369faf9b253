#!/usr/bin/env python3
"""Character and line error of a Tesseract model on held-apart line crops, and its CPU time.

    training/evaluate.py MODEL_DIR LANGUAGE PSM LINES_DIR [PREFIX]

Reads every LINES_DIR/PREFIX-*.png (default prefix `eval`: the photo lines training/train.sh
holds apart) in one `tesseract` process (one thread, the model loaded once), compares each line
with its .gt.txt and prints one JSON object: lines, exact lines, character error rate
(Levenshtein distance over truth length), CPU seconds and milliseconds per character read.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def main() -> None:
    model_dir, language, psm, lines_dir = sys.argv[1:5]
    prefix = sys.argv[5] if len(sys.argv) > 5 else "eval"
    images = sorted(Path(lines_dir).glob(f"{prefix}-*.png"))
    truths = [p.with_suffix("").with_suffix(".gt.txt").read_text().strip() for p in images]
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "list.txt"
        listing.write_text("".join(f"{p}\n" for p in images))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(
            ["tesseract", str(listing), "-", "--tessdata-dir", model_dir, "-l", language,
             "--oem", "1", "--psm", psm],
            capture_output=True, text=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            check=True,
        ).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    reads = [" ".join(page.split()) for page in out.split("\f")][: len(images)]
    reads += [""] * (len(images) - len(reads))
    errors = sum(distance(r, t) for r, t in zip(reads, truths))
    chars = sum(len(t) for t in truths)
    print(json.dumps({
        "model": language, "psm": int(psm), "lines": len(images),
        "exact_lines": sum(r == t for r, t in zip(reads, truths)),
        "cer_pct": round(100 * errors / max(chars, 1), 2),
        "cpu_s": round(cpu, 2), "ms_per_char": round(1000 * cpu / max(chars, 1), 3),
    }))


if __name__ == "__main__":
    main()
