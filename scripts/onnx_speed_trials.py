#!/usr/bin/env python3
"""Speed trials of the learned engines' graphs that were measured and not taken up
(docs/decisions.md, "Speed of the learned engines"), each on one thread with ONNX Runtime 1.31.1:

  batch      the recogniser on batches of 1, 2, 4 and 8 inputs of one width: time per input
  int8       static (calibrated, QDQ) int8 copies of both graphs: time, and how often a line
             reads differently / how many detector map pixels change
  hardswish  the detector with its x·clip(x+3, 0, 6)/6 chains written as one HardSwish op
  tiles      the detector run on two overlapping halves of a view: map pixels that change

Inputs: the line crops `examples/engine_profile --crops DIR` writes, and tuning photos.
  scripts/python-env.sh is not needed; run with scripts/onnx_speed_trials.sh (makes a venv with
  the pinned packages under target/speed-trials/) or any Python with them:
  python3 scripts/onnx_speed_trials.py CROPS_DIR PHOTOS_DIR [trial ...]
The service never loads the graphs made here (they are written under target/speed-trials/).
"""
import glob
import os
import sys
import time
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REC = f"{ROOT}/models/labelrec.onnx"
DET = f"{ROOT}/models/ch_PP-OCRv4_det_infer.onnx"
OUT = f"{ROOT}/target/speed-trials"
STRETCH = 1.2  # src/engines/learned.rs


def session(path):
    o = ort.SessionOptions()
    o.intra_op_num_threads = o.inter_op_num_threads = 1
    o.enable_mem_pattern = False
    o.log_severity_level = 3
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def median_ms(fn, n=7):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[n // 2] * 1e3


def line_input(path):
    """A crop as the learned reader feeds it: 48 px high, widened 1.2×, [-1, 1], 3 channels."""
    im = Image.open(path).convert("L")
    w, h = im.size
    sw = max(1, min(3200, round(w * STRETCH * 48 / h)))
    a = np.asarray(im.resize((sw, 48), Image.BILINEAR), dtype=np.float32) / 127.5 - 1.0
    x = np.zeros((1, 3, 48, max(sw, 32)), np.float32)
    x[0, :, :, :sw] = a
    return x


def view_input(path, w=1024, h=768):
    a = np.asarray(Image.open(path).convert("L").resize((w, h), Image.BILINEAR), np.float32)
    return np.repeat((a / 127.5 - 1.0)[None, None], 3, axis=1)


def greedy(probs, chars):
    out, prev = [], 0
    for i in probs[0].argmax(-1):
        if i != prev and i != 0:
            out.append(chars[i] if i < len(chars) else "?")
        prev = i
    return "".join(out)


def trial_batch(crops, photos):
    s = session(REC)
    name = s.get_inputs()[0].name
    rng = np.random.default_rng(0)
    for w in (128, 256, 512, 1024):
        one = rng.uniform(-1, 1, (1, 3, 48, w)).astype(np.float32)
        row = [f"width {w}: 1 input {median_ms(lambda: s.run(None, {name: one})):.1f} ms"]
        for b in (2, 4, 8):
            x = rng.uniform(-1, 1, (b, 3, 48, w)).astype(np.float32)
            row.append(f"batch {b} {median_ms(lambda: s.run(None, {name: x})) / b:.1f} ms/input")
        print("; ".join(row), flush=True)


class Feed(CalibrationDataReader):
    def __init__(self, name, inputs):
        self.it = iter([{name: x} for x in inputs])

    def get_next(self):
        return next(self.it, None)


def int8(src, dst, name, calibration):
    """A static int8 copy of `src` (QDQ, weights per channel), calibrated on `calibration`."""
    quantize_static(src, dst, Feed(name, calibration), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)


def trial_int8(crops, photos):
    os.makedirs(OUT, exist_ok=True)
    # Recogniser: calibrated on every 9th crop, compared on others.
    m = onnx.load(REC)
    chars = [None] + {p.key: p.value for p in m.metadata_props}["character"].splitlines() + [" "]
    quant_pre_process(REC, f"{OUT}/rec_pre.onnx", skip_optimization=True, skip_symbolic_shape=True)
    name = session(REC).get_inputs()[0].name
    int8(f"{OUT}/rec_pre.onnx", f"{OUT}/rec_int8.onnx", name, [line_input(p) for p in crops[0::9][:100]])
    fp, q8 = session(REC), session(f"{OUT}/rec_int8.onnx")
    test = [line_input(p) for p in crops[1::7][:120]]
    t_fp = sum(median_ms(lambda: fp.run(None, {name: x}), 3) for x in test)
    t_q8 = sum(median_ms(lambda: q8.run(None, {name: x}), 3) for x in test)
    same = sum(greedy(fp.run(None, {name: x})[0], chars) == greedy(q8.run(None, {name: x})[0], chars)
               for x in test)
    print(f"recogniser int8: {t_q8 / t_fp:.2f}x the float time; {same}/{len(test)} lines read the same")
    # Detector: its weights become initializers after ONNX Runtime's pre-processing; per-channel
    # DequantizeLinear needs opset 13 or later.
    quant_pre_process(DET, f"{OUT}/det_pre0.onnx", skip_symbolic_shape=True)
    m = onnx.version_converter.convert_version(onnx.load(f"{OUT}/det_pre0.onnx"), 17)
    onnx.save(m, f"{OUT}/det_pre.onnx")
    name = session(DET).get_inputs()[0].name
    int8(f"{OUT}/det_pre.onnx", f"{OUT}/det_int8.onnx", name, [view_input(p) for p in photos[0::30][:20]])
    compare_detectors("detector int8", session(DET), session(f"{OUT}/det_int8.onnx"), photos)


def compare_detectors(label, a, b, photos, run_b=None):
    name = a.get_inputs()[0].name
    run_b = run_b or (lambda x: b.run(None, {name: x})[0][0, 0])
    ta = tb = 0.0
    changed = total = 0
    for p in photos[3::40][:8]:
        x = view_input(p)
        ta += median_ms(lambda: a.run(None, {name: x}), 3)
        tb += median_ms(lambda: run_b(x), 3)
        ma, mb = a.run(None, {name: x})[0][0, 0], run_b(x)
        # The pipeline binarises the 8-bit map at 77 (src/pipeline/detect.rs).
        changed += int((((ma * 255).round() >= 77) != ((mb * 255).round() >= 77)).sum())
        total += ma.size
    print(f"{label}: {tb / ta:.2f}x the float time; {changed} of {total} binarised map pixels change")


def trial_hardswish(crops, photos):
    os.makedirs(OUT, exist_ok=True)
    m = onnx.load(DET)
    g = m.graph
    consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    consts.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t)
                   for n in g.node if n.op_type == "Constant"})
    scalar = lambda n: float(consts[n].reshape(-1)[0]) if n in consts and consts[n].size == 1 else None
    by_out = {o: n for n in g.node for o in n.output}
    users = Counter(i for n in g.node for i in n.input)
    replace, drop = {}, set()
    for div in g.node:
        if div.op_type != "Div" or scalar(div.input[1]) != 6.0:
            continue
        mul = by_out.get(div.input[0])
        if mul is None or mul.op_type != "Mul":
            continue
        for k in (0, 1):
            x, clip = mul.input[k], by_out.get(mul.input[1 - k])
            if clip is None or clip.op_type != "Clip" or (scalar(clip.input[1]), scalar(clip.input[2])) != (0.0, 6.0):
                continue
            add = by_out.get(clip.input[0])
            if add is None or add.op_type != "Add" or x not in add.input or 3.0 not in map(scalar, add.input):
                continue
            if any(users[n.output[0]] != 1 for n in (add, clip, mul)):
                continue
            replace[id(div)] = helper.make_node("HardSwish", [x], [div.output[0]], name=div.name + "_hardswish")
            drop |= {id(add), id(clip), id(mul)}
            break
    nodes = [replace.get(id(n), n) for n in g.node if id(n) not in drop]
    del g.node[:]
    g.node.extend(nodes)
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = max(o.version, 14)
    onnx.save(m, f"{OUT}/det_hardswish.onnx")
    print(f"{len(replace)} chains written as HardSwish")
    compare_detectors("detector with HardSwish", session(DET), session(f"{OUT}/det_hardswish.onnx"), photos)


def trial_tiles(crops, photos):
    s = session(DET)
    name = s.get_inputs()[0].name
    for overlap in (32, 64, 96):
        def halves(x):
            mid = x.shape[2] // 2 // 32 * 32
            top = s.run(None, {name: x[:, :, :mid + overlap]})[0][0, 0]
            bottom = s.run(None, {name: x[:, :, mid - overlap:]})[0][0, 0]
            return np.concatenate([top[:mid], bottom[overlap:]], axis=0)
        compare_detectors(f"detector on two halves, {overlap} px overlap (one thread)", s, s, photos, halves)


TRIALS = {"batch": trial_batch, "int8": trial_int8, "hardswish": trial_hardswish, "tiles": trial_tiles}

if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    crops = sorted(glob.glob(os.path.join(sys.argv[1], "*.png")))
    photos = sorted(glob.glob(os.path.join(sys.argv[2], "*.jpg")))
    for trial in sys.argv[3:] or TRIALS:
        TRIALS[trial](crops, photos)
