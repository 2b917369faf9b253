#!/usr/bin/env bash
# Fine-tunes the learned recogniser (PP-OCRv6 small) on label lines, reproducibly:
#   1. photos: the same 1200 generated label photos as training/train.sh (`gen_testdata --set
#      training`, seed 7500005: no photo of validation, tuning or testdata), shared with it;
#   2. lines: every line the learned detector finds on the legible photos (on the locator's
#      region, as the pipeline finds them), cut by the pipeline's own crop code and labelled from
#      the generator's truth (photos 1080 and on held apart), plus synthetic lines (serial grammar
#      with look-alikes, captions, other fields, in every installed font);
#   3. training/finetune_rec.py: the stock graph converted to PyTorch, its head cut to the
#      characters labels print, trained with CTC, exported as models/labelrec.onnx.
# Usage: training/finetune_rec.sh   (environment: STEPS, BATCH, LR, SYNTHETIC, SMALL_PRINT)
# Python packages are pinned in training/requirements-finetune.txt and installed into
# target/finetune-venv (PyTorch's wheel from PyPI, about 3 GB with its CUDA libraries; training
# runs on the CPU). A step whose output exists is skipped; training resumes from its checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${STEPS:-1100}
batch=${BATCH:-16}
lr=${LR:-1.5e-4}
synthetic=${SYNTHETIC:-4000}
small_print=${SMALL_PRINT:-0}
work=target/training
log() { echo "finetune: $(date +%T) $*" >&2; }

LABELCHECK_SETUP_TESTS=1 scripts/setup.sh >&2
venv=target/finetune-venv
if [ ! -x $venv/bin/python ]; then
  log "installing the pinned Python packages into $venv"
  python3 -m venv $venv
  $venv/bin/pip install --quiet -r training/requirements-finetune.txt
fi

if [ ! -f $work/photos/lines.jsonl ]; then
  log "generating the training photos"
  cargo run --release --quiet --example gen_testdata -- --set training --count 1200 --lines \
    --out $work/photos >&2
fi
if [ ! -f $work/rec-lines/done ]; then
  log "cutting and labelling the detector's lines"
  rm -rf $work/rec-lines
  cargo run --release --quiet --example training_lines -- --photos $work/photos \
    --detector models --hold-from 1080 --synthetic "$synthetic" --seed 7500005 \
    --out $work/rec-lines >&2
  touch $work/rec-lines/done
fi
log "fine-tuning: $steps steps of $batch lines"
$venv/bin/python -W ignore training/finetune_rec.py --stock models/PP-OCRv6_rec_small.onnx \
  --lines $work/rec-lines --out $work/labelrec.onnx --steps "$steps" --batch "$batch" --lr "$lr" \
  --small-print "$small_print"
cp $work/labelrec.onnx models/labelrec.onnx
log "models/labelrec.onnx: $(sha256sum models/labelrec.onnx | cut -d' ' -f1)"
