#!/usr/bin/env python3
"""Measures candidate Tesseract models on the serial fields of the testdata photos.

For every legible single-label photo (|rotation| <= 15 deg), the serial field is cut out of the
upright gray photo with the manifest's ground-truth box, deskewed by the recorded rotation, scaled
so capitals are about 30 px tall, and read by the `tesseract` command (LSTM engine, one text
block) with each model. This isolates the model: the crop is an oracle, not labelcheck's locator.

Prints per model: exact serial reads, mean character error rate, and median time per crop.
Usage: scripts/compare_models.py NAME=DIR [NAME=DIR ...]   (DIR holds eng.traineddata)
Needs: tesseract (Debian tesseract-ocr), opencv-python-headless, numpy.
"""
import csv
import math
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import cv2

ROOT = pathlib.Path(__file__).resolve().parent.parent


def levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def crops(tmp):
    rows = list(csv.DictReader(open(ROOT / "testdata/manifest.csv")))
    out = []
    for row in rows:
        if row["expected_verdict"] not in ("MATCH", "MISMATCH") or "|" in row["serial_box"]:
            continue
        rotation = float(row["rotation_deg"])
        if abs(rotation) > 15:
            continue
        gray = cv2.imread(str(ROOT / "testdata" / row["photo"]), cv2.IMREAD_GRAYSCALE)
        x0, y0, x1, y1 = (float(v) for v in row["serial_box"].split())
        cap = float(row["serial_cap_px"])
        pad = cap * 1.2
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        m = cv2.getRotationMatrix2D((cx, cy), rotation, 1.0)
        upright = cv2.warpAffine(gray, m, (gray.shape[1], gray.shape[0]), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
        # After deskewing, the field is about as wide as its box's larger side.
        half_w = max(x1 - x0, y1 - y0) / 2 / max(abs(math.cos(math.radians(rotation))), 0.5)
        half_h = (y1 - y0) / 2
        crop = upright[int(max(cy - half_h - pad, 0)):int(cy + half_h + pad),
                       int(max(cx - half_w - pad, 0)):int(cx + half_w + pad)]
        scale = 30.0 / cap
        crop = cv2.resize(crop, None, fx=scale, fy=scale,
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        path = pathlib.Path(tmp) / (row["photo"] + ".png")
        cv2.imwrite(str(path), crop)
        out.append((path, row["printed_serial"]))
    return out


def read(model_dir, path):
    start = time.perf_counter()
    text = subprocess.run(
        ["tesseract", str(path), "-", "--tessdata-dir", model_dir, "-l", "eng", "--oem", "1", "--psm", "6"],
        capture_output=True, text=True, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
    ).stdout
    return text, (time.perf_counter() - start) * 1e3


def main():
    models = [arg.split("=", 1) for arg in sys.argv[1:]]
    if not models:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        items = crops(tmp)
        print(f"{len(items)} serial crops (oracle boxes, capitals scaled to 30 px)")
        for name, model_dir in models:
            exact, cers, times = 0, [], []
            for path, truth in items:
                text, ms = read(model_dir, path)
                times.append(ms)
                compact = "".join(text.split())
                exact += truth in compact
                best = min((levenshtein(truth, "".join(line.split())[-len(truth):]) for line in text.splitlines() if line.strip()),
                           default=len(truth))
                cers.append(best / len(truth))
            print(f"{name:>6}: exact {exact}/{len(items)} ({100 * exact / len(items):.0f}%), "
                  f"mean CER {100 * statistics.mean(cers):.1f}%, median {statistics.median(times):.0f} ms/crop")


if __name__ == "__main__":
    main()
