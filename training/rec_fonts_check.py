"""Reads lines drawn by another renderer (Pillow's FreeType) in fonts the fine-tuning never saw,
with any number of recogniser graphs, and prints how many lines each reads exactly.

    target/finetune-venv/bin/python training/rec_fonts_check.py GRAPH.onnx [GRAPH.onnx ...]

The lines: full and short serials (with look-alike characters at random positions), captions
with a value, and other label fields, drawn in GNU FreeFont (sans, mono, serif, regular and bold)
and Inconsolata, 18–60 px, dark on a light ground, then blurred, noised and JPEG-compressed; cut
as the pipeline cuts a line (text 32 px tall, the crop 1.45 text heights tall, one text height of
margin before the text). Every graph decodes greedily over the same printable-ASCII characters,
so the stock graph's 18,710 classes do not count against it. Seeded: the same lines every run.
"""
import io
import random
import string
import sys

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = [
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
    "/usr/share/fonts/truetype/freefont/FreeMono.ttf",
    "/usr/share/fonts/truetype/freefont/FreeMonoBold.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSerif.ttf",
    "/usr/share/fonts/truetype/inconsolata/Inconsolata.otf",
]
LOOKALIKES = {"0": "OD", "O": "0D", "1": "IL", "I": "1L", "5": "S", "S": "5", "8": "B", "B": "8",
              "2": "Z", "Z": "2", "6": "G", "G": "6"}
COUNT = 600


def serial(rng):
    model = rng.choice(["DS-2CD2143G2-I", "DS-7608NI-K2/8P", "DS-2DE4425IW-DE", "DS-KV6113-WPE1",
                        "iDS-7216HQHI-M1/S", "DS-2CD1023G0E-I"])
    date = f"20{rng.randint(15, 26)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
    short = rng.choice(string.ascii_uppercase + string.digits) + "".join(
        rng.choice(string.digits) for _ in range(8))
    return model + date + letters + short, short


def lookalikes(text, rng):
    return "".join(rng.choice(LOOKALIKES[c]) if c in LOOKALIKES and rng.random() < 0.15 else c
                   for c in text)


def line_text(rng):
    full, short = serial(rng)
    kind = rng.random()
    if kind < 0.3:
        return lookalikes(full, rng)
    if kind < 0.5:
        return lookalikes(short, rng)
    if kind < 0.8:
        cap = rng.choice(["S/N:", "SN:", "Serial No.:", "SerialNo:", "Serial Number:", "S/N"])
        return cap + " " + lookalikes(rng.choice([full, short]), rng)
    return rng.choice(["Model: ", "P/N: ", "MAC: ", "Power: "]) + rng.choice(
        ["DS-2CD2143G2-I", "12V DC 0.5A", "A4:14:37:9B:C2:0F", "PoE 802.3af"])


def draw(text, rng):
    font = ImageFont.truetype(rng.choice(FONTS), rng.randint(18, 60))
    cap = font.getbbox("H")[3] - font.getbbox("H")[1]
    x0, y0, x1, y1 = font.getbbox(text)
    bg, ink = rng.randint(170, 255), rng.randint(0, 90)
    pad = 2 * cap
    img = Image.new("L", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), bg)
    ImageDraw.Draw(img).text((pad - x0, pad - y0), text, fill=ink, font=font)
    if rng.random() < 0.6:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, cap / 14)))
    a = np.asarray(img, dtype=np.float32) + np.random.default_rng(rng.randrange(1 << 30)).normal(
        0, rng.uniform(0, 8), (img.height, img.width))
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(40, 95))
    img = Image.open(buf).convert("L")
    # Cut as the pipeline cuts: the cap height is the text height.
    k = 32.0 / cap
    top_of_caps = pad - y0 + font.getbbox("H")[1]
    mid = top_of_caps + cap / 2
    box = (pad - cap, mid - 0.725 * cap, pad + (x1 - x0) + 0.2 * cap, mid + 0.725 * cap)
    crop = img.crop(tuple(int(round(v)) for v in box))
    return crop.resize((max(8, int(crop.width * k)), max(8, int(crop.height * k))), Image.BILINEAR)


def to_input(img):
    w, h = img.size
    sw = max(1, min(3200, -(-w * 48 // h)))
    a = np.asarray(img.resize((sw, 48), Image.BILINEAR), dtype=np.float32) / 127.5 - 1.0
    x = np.zeros((1, 3, 48, max(sw, 320)), dtype=np.float32)
    x[0, :, :, :sw] = a
    return x


def reader(path):
    m = onnx.load(path)
    chars = [p.value for p in m.metadata_props if p.key == "character"][0].split("\n")
    wanted = set(string.printable) - set(string.whitespace)
    keep = [0] + [i + 1 for i, c in enumerate(chars) if c in wanted] + [len(chars) + 1]
    table = ["" ] + chars + [" "]
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    s = ort.InferenceSession(path, o)

    def read(x):
        p = s.run(None, {"x": x})[0][0][:, keep]
        out, prev = [], 0
        for c in p.argmax(-1):
            if c != prev and c != 0:
                out.append(table[keep[c]])
            prev = c
        return " ".join("".join(out).split())
    return read


def main():
    rng = random.Random(20261205)
    lines = [(t, draw(t, rng)) for t in (line_text(rng) for _ in range(COUNT))]
    for path in sys.argv[1:]:
        read = reader(path)
        exact = sum(read(to_input(img)) == text for text, img in lines)
        print(f"{path}: {exact}/{len(lines)} lines exact ({100 * exact / len(lines):.1f}%)")


if __name__ == "__main__":
    main()
