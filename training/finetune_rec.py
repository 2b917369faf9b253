"""Fine-tunes the learned recogniser (PP-OCRv6 small, CTC) on line crops cut from generated label
photos, and writes the result as an ONNX graph the service loads like the stock one.

    training/finetune_rec.sh      # the bundled model; this script is its last step

Steps: the stock graph (ONNX) is converted to PyTorch (onnx2torch; its two `SAME_UPPER` 2×2
paddings written out first), its 18,710-class head cut down to the characters labels print
(printable ASCII present in the stock list, plus the CTC blank and the space class), trained with
CTC loss (batch norm frozen, Adam, cosine decay), and exported again with a softmax on top and
the character list in the graph's metadata under `character`, as the stock graph has it.
Inputs are made as the service makes them (`src/engines/learned.rs`): scaled to 48 px tall with
the aspect kept, pixels / 127.5 - 1, gray copied to three channels, padded right with zeros.

Seeded; one process, `--threads` intra-op threads. Checkpoints every `--save-every` steps to
`OUT.pt` and resumes from it.
"""
import argparse
import glob
import math
import os
import random
import string
import sys
import time

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from PIL import Image, ImageFilter

from degrade import small_print

HEIGHT = 48
MAX_WIDTH = 1600
MIN_WIDTH = 320


def fix_padding(m):
    """Writes the graph's `SAME_UPPER` 2×2, stride-1 paddings out as explicit pads."""
    for n in m.graph.node:
        for a in list(n.attribute):
            if a.name == "auto_pad" and a.s == b"SAME_UPPER":
                k = [x for x in n.attribute if x.name == "kernel_shape"][0].ints
                s = [x for x in n.attribute if x.name == "strides"][0].ints
                assert list(k) == [2, 2] and list(s) == [1, 1], (k, s)
                n.attribute.remove(a)
                n.attribute.append(helper.make_attribute("pads", [0, 0, 1, 1]))


def cut_head(m):
    """Keeps the head's classes for the blank, printable ASCII in the stock list and the space;
    drops the final softmax (training wants logits). Returns the kept character list."""
    stock = [p.value for p in m.metadata_props if p.key == "character"][0].split("\n")
    wanted = set(string.printable) - set(string.whitespace)
    keep_chars = [c for c in stock if c in wanted]
    # Class i+1 is stock[i]; 0 is the blank; the last class is the space.
    index = {c: i + 1 for i, c in enumerate(stock)}
    classes = [0] + [index[c] for c in keep_chars] + [len(stock) + 1]
    softmax = m.graph.node[-1]
    assert softmax.op_type == "Softmax"
    logits = softmax.input[0]
    inits = {i.name: i for i in m.graph.initializer}
    prod = {o: n for n in m.graph.node for o in n.output}
    add = prod[prod[logits].input[0]] if prod[logits].op_type == "Identity" else prod[logits]
    assert add.op_type == "Add"
    matmul = prod[add.input[0]]
    for name, sl in ((matmul.input[1], np.s_[:, classes]), (add.input[1], np.s_[classes])):
        w = numpy_helper.to_array(inits[name])
        inits[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(w[sl]), name))
    m.graph.node.remove(softmax)
    out = m.graph.output[0]
    out.name = logits
    out.type.tensor_type.shape.dim[2].dim_value = len(classes)
    return keep_chars


def to_input(img, stretch=1.0):
    """A gray PIL image as the service feeds it: [48, W] floats in -1..1, W = scaled width."""
    w, h = img.size
    sw = max(1, min(MAX_WIDTH, math.ceil(w * stretch * HEIGHT / max(h, 1))))
    img = img.resize((sw, HEIGHT), Image.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 127.5 - 1.0


def ink_columns(img):
    """First and last columns holding ink (darker than midway between the crop's ground and its
    darkest print), or None."""
    a = np.asarray(img, dtype=np.float32)
    lo, hi = np.percentile(a, 3), np.percentile(a, 60)
    if hi - lo < 30:
        return None
    cols = np.nonzero((a < (lo + hi) / 2).sum(axis=0) >= 2)[0]
    return (int(cols[0]), int(cols[-1])) if len(cols) else None


def trim(img, rng):
    """Cuts the crop close to its ink at either end, as a value's crop can end at its last
    character: a reader must not drop the characters at a crop's edges."""
    ink = ink_columns(img)
    if ink is None:
        return img
    first, last = ink
    h = img.size[1]
    right = img.size[0]
    left = 0
    if rng.random() < 0.5:
        right = min(img.size[0], last + 1 + int(rng.uniform(0, 0.12) * h))
    if rng.random() < 0.3:
        left = max(0, first - int(rng.uniform(0, 0.12) * h))
    if right - left < h:
        return img
    return img.crop((left, 0, right, h))


def augment(img, rng, small_share=0.0):
    """Photo-like damage: tight ends, small print (on a `small_share` of the lines; none for the
    bundled model), blur, contrast and brightness, noise, a little stretch."""
    img = trim(img, rng)
    if small_share > 0 and rng.random() < small_share:
        img = small_print(img, rng)
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2) * img.size[1] / 48))
    a = np.asarray(img, dtype=np.float32)
    if rng.random() < 0.5:
        lo, hi = rng.uniform(0, 80), rng.uniform(170, 255)
        a = lo + a * (hi - lo) / 255.0
    if rng.random() < 0.3:
        a = a + np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(2, 10), a.shape)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return img, rng.uniform(0.9, 1.2)


def load_lines(folder, prefixes):
    items = []
    for prefix in prefixes:
        for png in sorted(glob.glob(os.path.join(folder, prefix + "-*.png"))):
            with open(png[:-4] + ".gt.txt", encoding="utf-8") as f:
                text = f.read().strip()
            items.append((png, text))
    return items


def encode(text, table):
    return [table[c] for c in text if c in table]


def batches(items, size, rng, train):
    """Batches of similar width (sorted in buckets) to keep padding small."""
    order = list(range(len(items)))
    if train:
        rng.shuffle(order)
    for start in range(0, len(order), size * 20):
        chunk = order[start:start + size * 20]
        chunk.sort(key=lambda i: items[i][2])
        groups = [chunk[k:k + size] for k in range(0, len(chunk), size)]
        if train:
            rng.shuffle(groups)
        yield from groups


def make_batch(items, idx, table, rng, train, small_share=0.0):
    arrays, targets, lengths = [], [], []
    for i in idx:
        img = Image.open(items[i][0]).convert("L")
        stretch = 1.0
        if train:
            img, stretch = augment(img, rng, small_share)
        arrays.append(to_input(img, stretch))
        t = encode(items[i][1], table)
        targets.extend(t)
        lengths.append(len(t))
    width = max(MIN_WIDTH, max(a.shape[1] for a in arrays))
    width = (width + 7) // 8 * 8
    x = np.zeros((len(arrays), 3, HEIGHT, width), dtype=np.float32)
    for k, a in enumerate(arrays):
        x[k, :, :, : a.shape[1]] = a
    return torch.from_numpy(x), torch.tensor(targets), torch.tensor(lengths)


def greedy(logits, chars):
    best = logits.argmax(-1).tolist()
    out, prev = [], 0
    for c in best:
        if c != prev and c != 0:
            out.append(chars[c])
        prev = c
    return "".join(out).strip()


def evaluate(net, items, table, chars, size):
    net.eval()
    exact = 0
    with torch.no_grad():
        for idx in batches(items, size, None, False):
            x, _, _ = make_batch(items, idx, table, None, False)
            y = net(x)
            for k, i in enumerate(idx):
                exact += greedy(y[k], chars) == items[i][1].strip()
    return exact, len(items)


def freeze_batchnorm(net):
    for mod in net.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.eval()


class WithSoftmax(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.softmax(self.net(x), dim=-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stock", required=True)
    ap.add_argument("--lines", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--seed", type=int, default=7500005)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save-every", type=int, default=250)
    ap.add_argument("--eval-only", action="store_true")
    ap.add_argument("--skip-first-eval", action="store_true")
    # Tried and dropped (docs/decisions.md, "The learned reader"): 0.35 read small print better
    # line by line but mended no photo whose print is small, and moved others both ways.
    ap.add_argument("--small-print", type=float, default=0.0,
                    help="share of training lines shrunk to small print (small_print)")
    a = ap.parse_args()

    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = random.Random(a.seed)

    from onnx2torch import convert

    m = onnx.load(a.stock)
    fix_padding(m)
    chars = cut_head(m)
    net = convert(m)
    classes = ["<blank>"] + chars + [" "]
    table = {c: i for i, c in enumerate(classes) if i > 0}

    train = load_lines(a.lines, ["photo", "synth"])
    held = load_lines(a.lines, ["eval"])
    # Lines with a character outside the kept list, or too many characters for the steps, are
    # left out.
    def usable(text, w, h):
        steps = min(MAX_WIDTH, math.ceil(w * HEIGHT / max(h, 1))) // 8
        return text and all(c in table for c in text) and 2 * len(text) + 1 <= steps
    def sized(items):
        out = []
        for png, text in items:
            w, h = Image.open(png).size
            if usable(text, w, h):
                out.append((png, text, w * HEIGHT / max(h, 1)))
        return out
    train, held = sized(train), sized(held)
    print(f"{len(train)} training lines, {len(held)} held apart, {len(classes)} classes", flush=True)

    ckpt = a.out + ".pt"
    step = 0
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    if os.path.exists(ckpt):
        state = torch.load(ckpt)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        print(f"resumed at step {step}", flush=True)
    if (step == 0 and not a.skip_first_eval) or a.eval_only:
        e, n = evaluate(net, held, table, chars=classes, size=a.batch)
        print(f"step {step}: held-apart lines exact {e}/{n}", flush=True)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    start, seen, running = time.time(), 0, None
    while step < a.steps and not a.eval_only:
        for idx in batches(train, a.batch, rng, True):
            if step >= a.steps:
                break
            net.train()
            freeze_batchnorm(net)
            lr = a.lr * 0.5 * (1 + math.cos(math.pi * step / a.steps))
            for g in opt.param_groups:
                g["lr"] = lr
            x, targets, lengths = make_batch(train, idx, table, rng, True, a.small_print)
            logp = torch.log_softmax(net(x), dim=-1).permute(1, 0, 2)
            steps_in = torch.full((x.shape[0],), logp.shape[0], dtype=torch.long)
            loss = ctc(logp, targets, steps_in, lengths)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            step += 1
            seen += x.shape[0]
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            if step % 25 == 0:
                print(f"step {step} loss {running:.4f} lr {lr:.2e} {seen / (time.time() - start):.1f} lines/s", flush=True)
            if step % a.save_every == 0 or step == a.steps:
                torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step}, ckpt)
                e, n = evaluate(net, held[::3], table, chars=classes, size=a.batch)
                print(f"step {step}: a third of the held-apart lines exact {e}/{n}", flush=True)

    if not a.eval_only:
        e, n = evaluate(net, held, table, chars=classes, size=a.batch)
        print(f"step {step}: held-apart lines exact {e}/{n}", flush=True)
    net.eval()
    x = torch.zeros(1, 3, HEIGHT, MIN_WIDTH)
    torch.onnx.export(
        WithSoftmax(net), (x,), a.out, input_names=["x"], output_names=["fetch_name_0"],
        dynamic_axes={"x": {0: "n", 3: "w"}, "fetch_name_0": {0: "n", 1: "t"}}, opset_version=17,
    )
    out = onnx.load(a.out)
    p = out.metadata_props.add()
    p.key, p.value = "character", "\n".join(chars)
    onnx.save(out, a.out)
    print(f"wrote {a.out}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
