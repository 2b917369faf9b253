"""Reads every other held-apart detector line (training photos 1080 and on, cut by
`training/finetune_rec.sh`'s `lines` step into target/training/rec-lines) with recogniser graphs,
as cut and shrunk to small print (`degrade.small_print`, seeded), and prints how many lines each
graph reads exactly either way.

    python training/small_print_check.py GRAPH.onnx [GRAPH.onnx ...]

Inputs as the service makes them (`src/engines/learned.rs`): widened 1.2x, 48 px tall, pixels /
127.5 - 1, padded right to at least 320 columns; decoded greedily over the graph's characters.
Needs numpy, Pillow and onnxruntime.
"""
import glob
import math
import random
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

from degrade import small_print

HEIGHT = 48
STRETCH = 1.2
LINES = "target/training/rec-lines"


def to_input(img):
    w, h = img.size
    sw = max(1, min(3200, math.ceil(w * STRETCH * HEIGHT / max(h, 1))))
    a = np.asarray(img.resize((sw, HEIGHT), Image.BILINEAR), dtype=np.float32) / 127.5 - 1.0
    x = np.zeros((1, 3, HEIGHT, max(320, (sw + 7) // 8 * 8)), np.float32)
    x[0, :, :, :sw] = a
    return x


def main():
    items = []
    for png in sorted(glob.glob(f"{LINES}/eval-*.png"))[::2]:
        with open(png[:-4] + ".gt.txt", encoding="utf-8") as f:
            items.append((png, f.read().strip()))
    for graph in sys.argv[1:]:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(graph, options)
        chars = ["<blank>"] + session.get_modelmeta().custom_metadata_map["character"].split("\n") + [" "]
        exact = {}
        for mode in ("as cut", "small print"):
            rng, right = random.Random(11), 0
            for png, text in items:
                img = Image.open(png).convert("L")
                if mode == "small print":
                    img = small_print(img, rng)
                best = session.run(None, {"x": to_input(img)})[0][0].argmax(-1)
                out, prev = [], 0
                for c in best:
                    if c != prev and c != 0:
                        out.append(chars[c])
                    prev = c
                right += "".join(out).strip() == text
            exact[mode] = f"{right}/{len(items)}"
        print(graph, exact, flush=True)


if __name__ == "__main__":
    sys.exit(main())
