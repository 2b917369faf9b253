#!/usr/bin/env python3
"""Times labelcheck against the data team's OpenCV recipe on the same photos, in one run.

OpenCV side (opencv-python-headless, NumPy):
  decode: cv2.imread(path, cv2.IMREAD_GRAYSCALE)
  blur:   cv2.Laplacian(gray, cv2.CV_64F).var()
labelcheck side: examples/timing.rs (release build) on the same files, right after.

Prints a table of medians and ratios; checks that both blur scores agree to 1e-9 relative.
Usage: scripts/bench_vs_opencv.py [--repeat N] [PHOTO ...]   (default: the 2 MP and 12 MP photos)
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

import cv2

ROOT = pathlib.Path(__file__).resolve().parent.parent


def median_ms(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("photos", nargs="*")
    args = parser.parse_args()
    photos = args.photos or [
        str(next((ROOT / "testdata").glob("001_*"))),
        str(next((ROOT / "testdata").glob("000_*"))),
    ]
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "timing"], cwd=ROOT, check=True)
    rows = []
    for path in photos:
        gray = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        cv_decode = median_ms(lambda: cv2.imread(path, cv2.IMREAD_GRAYSCALE), args.repeat)
        cv_blur = median_ms(lambda: cv2.Laplacian(gray, cv2.CV_64F).var(), args.repeat)
        cv_var = float(cv2.Laplacian(gray, cv2.CV_64F).var())
        out = subprocess.run(
            [str(ROOT / "target/release/examples/timing"), "--repeat", str(args.repeat), path],
            check=True, capture_output=True, text=True,
        ).stdout
        ours = json.loads(out.splitlines()[0])
        rel = abs(ours["laplacian_var"] - cv_var) / cv_var
        rows.append((path, gray.shape, cv_decode, cv_blur, ours, rel))

    print(f"OpenCV {cv2.__version__}, cv2.getNumThreads()={cv2.getNumThreads()}, "
          f"labelcheck rayon threads={rows[0][4]['threads']}, repeat={args.repeat} (medians, ms)")
    header = (f"{'photo':<28} {'size':>10} | {'cv2 decode':>10} {'lc decode':>10} {'ratio':>6} | "
              f"{'cv2 blur':>9} {'lc blur':>8} {'speedup':>8} | {'lc 1thr':>8} {'read pass':>9} "
              f"{'blur/read':>9} | {'rel diff':>9}")
    print(header)
    print("-" * len(header))
    ok = True
    for path, shape, cv_decode, cv_blur, ours, rel in rows:
        name = pathlib.Path(path).name
        size = f"{shape[1]}x{shape[0]}"
        print(f"{name:<28} {size:>10} | {cv_decode:>10.2f} {ours['decode_ms']:>10.2f} "
              f"{ours['decode_ms'] / cv_decode:>6.2f} | {cv_blur:>9.2f} {ours['blur_ms']:>8.2f} "
              f"{cv_blur / ours['blur_ms']:>7.1f}x | {ours['blur_1thread_ms']:>8.2f} "
              f"{ours['read_pass_ms']:>9.2f} {ours['blur_1thread_ms'] / ours['read_pass_ms']:>8.2f}x | "
              f"{rel:>9.1e}")
        ok &= rel <= 1e-9
    print("decode ratio = labelcheck / OpenCV (below 1 is faster); speedup = OpenCV blur / labelcheck blur;")
    print("blur/read = labelcheck blur on one thread / one plain read pass over the same buffer.")
    if not ok:
        sys.exit("blur scores differ from OpenCV by more than 1e-9 relative")


if __name__ == "__main__":
    main()
