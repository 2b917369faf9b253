#!/usr/bin/env bash
# Makes int8 copies of the bundled PP-OCR graphs with ONNX Runtime's dynamic quantisation, to
# measure them (docs/decisions.md), into target/int8/:
#   PP-OCRv6_rec_small_u8.onnx, PP-OCRv6_rec_small_s8.onnx   the recogniser, uint8 / int8 weights
#   ch_PP-OCRv4_det_infer_s8.onnx                            the detector (after ONNX Runtime's
#                                                            pre-processing, shapes left symbolic)
# and times the detector's two graphs on one thread in Python. The service never loads these:
# it loads only the pinned graphs. Needs the models fetched (scripts/setup.sh); installs its
# Python packages, pinned, into target/int8/venv.
# Then: cargo run --release --example reader_compare -- target/labelsets/tuning 150 \
#         target/int8/PP-OCRv6_rec_small_s8.onnx target/int8/PP-OCRv6_rec_small_u8.onnx
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/int8
mkdir -p "$out"
[ -x "$out/venv/bin/python" ] || python3 -m venv "$out/venv"
"$out/venv/bin/pip" install -q onnxruntime==1.31.1 onnx==1.23.2 sympy==1.14.0 numpy==2.4.6
# Run from $out: ONNX Runtime's pre-processing leaves a temporary graph in the working folder.
root=$PWD
cd "$out"
"venv/bin/python" - "$root" <<'PY'
import sys, time
import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process

root = sys.argv[1]
out = "."
rec, det = f"{root}/models/PP-OCRv6_rec_small.onnx", f"{root}/models/ch_PP-OCRv4_det_infer.onnx"
quantize_dynamic(rec, f"{out}/PP-OCRv6_rec_small_u8.onnx", weight_type=QuantType.QUInt8)
quantize_dynamic(rec, f"{out}/PP-OCRv6_rec_small_s8.onnx", weight_type=QuantType.QInt8)
# The detector's convolution weights are not initializers until ONNX Runtime's pre-processing
# folds them.
quant_pre_process(det, f"{out}/det_pre.onnx", skip_symbolic_shape=True)
quantize_dynamic(f"{out}/det_pre.onnx", f"{out}/ch_PP-OCRv4_det_infer_s8.onnx", weight_type=QuantType.QInt8)

options = ort.SessionOptions()
options.intra_op_num_threads = options.inter_op_num_threads = 1
sessions = {name: ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            for name, path in [("float", det), ("int8", f"{out}/ch_PP-OCRv4_det_infer_s8.onnx")]}
x = np.random.RandomState(0).rand(1, 3, 736, 960).astype(np.float32) * 2 - 1
times, maps = {}, {}
for _ in range(6):
    for name, s in sessions.items():
        t = time.perf_counter()
        maps[name] = s.run(None, {s.get_inputs()[0].name: x})[0]
        times.setdefault(name, []).append((time.perf_counter() - t) * 1e3)
for name, t in times.items():
    print(f"detector {name}: median {sorted(t)[len(t) // 2]:.1f} ms on 1x3x736x960, one thread")
print(f"largest probability difference int8 - float: {float(np.abs(maps['int8'] - maps['float']).max()):.3f}")
PY
