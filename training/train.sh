#!/usr/bin/env bash
# Trains labelcheck's label-text OCR model (a Tesseract LSTM) from scratch, reproducibly:
#   1. photos: 1200 generated label photos (`gen_testdata --set training`, seed 7500005, its own
#      seed: no photo of validation, tuning or testdata), with the text drawn on each (--lines);
#   2. lines: every line labelcheck's own locator finds on the legible photos, cut by its own crop
#      code and labelled from the generator's truth (photos 1080 and on held apart for evaluation),
#      plus 6000 synthetic lines (serial grammar with look-alikes, captions, other fields);
#   3. lstmf files (raw-line mode, --psm 13), a character set from the training text;
#   4. lstmtraining from scratch, then converted to an int8 model;
#   5. character and line error of the int8 model on the held-apart photo lines (lstmeval).
# Usage: training/train.sh [NAME]   (environment: NET, ITERATIONS, SYNTHETIC, JOBS)
# Output: target/training/NAME/NAME.traineddata and NAME.eval.txt. Every step is seeded; a step
# whose output exists is skipped (delete target/training to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-labeltext}
net=${NET:-'[1,24,0,1Ct3,3,16Mp3,3Lfys48Lbx96O1c###]'}
iterations=${ITERATIONS:-130000}
synthetic=${SYNTHETIC:-6000}
jobs=${JOBS:-$(nproc)}
export OMP_THREAD_LIMIT=1
work=target/training
out=$work/$name
log() { echo "train: $(date +%T) $*" >&2; }

LABELCHECK_SETUP_TESTS=1 scripts/setup.sh >&2
command -v lstmtraining >/dev/null || {
  echo "train: needs Debian's tesseract-ocr (lstmtraining, combine_lang_model)" >&2; exit 1; }

if [ ! -f $work/photos/lines.jsonl ]; then
  log "generating the training photos"
  cargo run --release --quiet --example gen_testdata -- --set training --count 1200 --lines \
    --out $work/photos >&2
fi
if [ ! -f $work/lines/done ]; then
  log "cutting and labelling lines"
  rm -rf $work/lines
  cargo run --release --quiet --example training_lines -- --photos $work/photos \
    --hold-from 1080 --synthetic "$synthetic" --seed 7500005 --out $work/lines >&2
  log "making lstmf files"
  find $work/lines -name '*.png' | sort | xargs -P "$jobs" -n 50 sh -c \
    'for f in "$@"; do tesseract "$f" "${f%.png}" --psm 13 lstm.train >/dev/null 2>&1 || true; done' _
  touch $work/lines/done
fi
# Seeded shuffle: the training order is part of the recipe.
seeded() { openssl enc -aes-256-ctr -pass pass:7500005 -nosalt </dev/zero 2>/dev/null; }
find $work/lines -name 'photo-*.lstmf' -o -name 'synth-*.lstmf' | sort \
  | shuf --random-source=<(seeded) > $work/train.list
find $work/lines -name 'eval-*.lstmf' | sort > $work/eval.list
log "$(wc -l < $work/train.list) training lines, $(wc -l < $work/eval.list) held apart"

mkdir -p "$out/lang/$name" "$out/scripts" "$out/ckpt"
if [ ! -f "$out/lang/$name/$name.traineddata" ]; then
  cat $work/lines/*.gt.txt > "$out/all.txt"
  unicharset_extractor --output_unicharset "$out/$name.unicharset" --norm_mode 1 "$out/all.txt" >&2
  printf '4E00\t1.0\n' > "$out/scripts/radical-stroke.txt"
  combine_lang_model --input_unicharset "$out/$name.unicharset" --script_dir "$out/scripts" \
    --output_dir "$out/lang" --lang "$name" --pass_through_recoder >&2
fi
classes=$(head -1 "$out/$name.unicharset")
spec=${net//###/$classes}
log "training $spec for $iterations iterations"
start=$(date +%s)
# A run that stopped (or ran to fewer iterations) goes on from its last checkpoint.
resume=()
[ -f "$out/ckpt/${name}_checkpoint" ] && resume=(--continue_from "$out/ckpt/${name}_checkpoint")
lstmtraining "${resume[@]}" --traineddata "$out/lang/$name/$name.traineddata" --net_spec "$spec" \
  --model_output "$out/ckpt/$name" --learning_rate 0.002 --train_listfile $work/train.list \
  --max_iterations "$iterations" --target_error_rate 0.001 --debug_interval 0 \
  > "$out/train.log" 2>&1
log "trained in $(( $(date +%s) - start )) s"
lstmtraining --stop_training --convert_to_int --continue_from "$out/ckpt/${name}_checkpoint" \
  --traineddata "$out/lang/$name/$name.traineddata" --model_output "$out/$name.traineddata" >&2
lstmeval --model "$out/$name.traineddata" --eval_listfile $work/eval.list 2>&1 | tail -3 \
  | tee "$out/$name.eval.txt" >&2
sha256sum "$out/$name.traineddata" >&2
