#!/usr/bin/env python3
"""Computes OpenCV reference values for the parity tests and writes them as a committed fixture.

For each listed testdata photo it records what the data team's notebooks see:
  * the grayscale buffer: cv2.imread(path, cv2.IMREAD_GRAYSCALE) for JPEG (libjpeg-turbo decodes
    the luma channel only; EXIF orientation applied), and
    cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY) for PNG and WebP;
  * the SHA-256 of that buffer, so the Rust decoder can prove it produces the same bytes;
  * cv2.Laplacian(gray, cv2.CV_64F).var(), the blur score labelcheck must match to 1e-9.

Usage: scripts/opencv_reference.py [--out testdata/fixtures/opencv_reference.json]
Needs opencv-python-headless and numpy (scripts/python-env.sh installs them into .venv).
"""
import argparse
import hashlib
import json
import pathlib
import platform

import cv2
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Photos by index: 12 MP (000), 2 MP (001), 8 MP (011), EXIF orientations 6, 8, 3, 6 (012, 025, 038,
# 051), blurred (016), mild blur (006), 90° and 180° labels (009, 010), PNG (084) and WebP (085).
INDICES = ["000", "001", "002", "006", "009", "010", "011", "012", "016", "025", "038", "051", "084", "085"]


def gray_like_notebooks(path: pathlib.Path) -> np.ndarray:
    if path.suffix.lower() in (".jpg", ".jpeg"):
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    else:
        gray = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
    if gray is None:
        raise SystemExit(f"{path}: OpenCV could not read it")
    return np.ascontiguousarray(gray)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "testdata/fixtures/opencv_reference.json"))
    args = parser.parse_args()
    photos = []
    for index in INDICES:
        path = next((ROOT / "testdata").glob(f"{index}_*.*"))
        name = path.name
        gray = gray_like_notebooks(path)
        photos.append({
            "photo": name,
            "width": int(gray.shape[1]),
            "height": int(gray.shape[0]),
            "gray_sha256": hashlib.sha256(gray.tobytes()).hexdigest(),
            "laplacian_var": float(cv2.Laplacian(gray, cv2.CV_64F).var()),
        })
    fixture = {
        "generated_by": "scripts/opencv_reference.py",
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "photos": photos,
    }
    pathlib.Path(args.out).write_text(json.dumps(fixture, indent=2) + "\n")
    print(f"wrote {len(photos)} reference values to {args.out}")


if __name__ == "__main__":
    main()
