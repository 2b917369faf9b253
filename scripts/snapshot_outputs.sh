#!/usr/bin/env bash
# Writes labelcheck's observable outputs over testdata into one folder, with wall-clock timings
# and pointer addresses (Tesseract's exit warnings) removed, so that two folders can be compared with `diff -r` before and after a change that must
# not change behaviour:
#   accuracy.txt   `cargo test --release --test accuracy --test motion` output
#   batch.jsonl    `labelcheck batch testdata/manifest.csv` rows, sorted by row, timings dropped
#   grpc.jsonl     every testdata photo sent to a real `labelcheck serve` on 127.0.0.1 over gRPC
#                  (Python grpcio client), replies as JSON, timings dropped
# Usage: scripts/snapshot_outputs.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/snapshot_outputs.sh OUT_DIR}
mkdir -p "$out"
export OMP_THREAD_LIMIT=1
cargo build --release --quiet --bin labelcheck
BIN=${CARGO_TARGET_DIR:-target}/release/labelcheck

cargo test --release --quiet --test accuracy --test motion -- --nocapture --test-threads 1 2>&1 \
  | grep -vE '^(test result|running|     Running|    Finished)' \
  | sed -E 's/finished in [0-9.]+s//; s/[0-9.]+ ?ms\b/<ms>/g; s/0x[0-9a-f]+/0x_/g' > "$out/accuracy.txt"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true' EXIT
"$BIN" batch testdata/manifest.csv --out "$tmp/batch.jsonl" --jobs 2 --progress off 2>/dev/null
python3 - "$tmp/batch.jsonl" > "$out/batch.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows.sort(key=lambda r: r["row"])
for r in rows:
    r.pop("timings", None)
    print(json.dumps(r, sort_keys=True))
PY

PY_BIN=$(scripts/python-grpc-env.sh | tail -n 1)
port=$((20000 + RANDOM % 20000))
"$BIN" serve --listen "127.0.0.1:$port" --metrics-listen off --workers 2 2>"$tmp/serve.log" &
server=$!
"$PY_BIN" - "$port" testdata/manifest.csv > "$out/grpc.jsonl" <<'PY'
import csv, importlib, json, pathlib, sys, tempfile, time
import grpc
from grpc_tools import protoc
from google.protobuf.json_format import MessageToDict
port, manifest = sys.argv[1], pathlib.Path(sys.argv[2])
tmp = tempfile.mkdtemp()
include = pathlib.Path(protoc.__file__).parent / "_proto"
protoc.main(["protoc", "-Iproto", f"-I{include}", f"--python_out={tmp}", f"--grpc_python_out={tmp}",
             "labelcheck/v1/labelcheck.proto"])
sys.path.insert(0, tmp)
pb = importlib.import_module("labelcheck.v1.labelcheck_pb2")
rpc = importlib.import_module("labelcheck.v1.labelcheck_pb2_grpc")
opts = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]
with grpc.insecure_channel(f"127.0.0.1:{port}", options=opts) as ch:
    grpc.channel_ready_future(ch).result(timeout=60)
    client = rpc.LabelVerifierStub(ch)
    for row in csv.DictReader(open(manifest)):
        photo = (manifest.parent / row["photo"]).read_bytes()
        reply = client.Verify(pb.VerifyRequest(photo=photo, reported_serial=row["reported_serial"],
                                               case_id=row["photo"]), timeout=120)
        d = MessageToDict(reply, preserving_proto_field_name=True)
        d.pop("timings", None)
        print(json.dumps(d, sort_keys=True))
PY
kill "$server"; wait "$server" 2>/dev/null || true
server=
echo "wrote $out/accuracy.txt, $out/batch.jsonl, $out/grpc.jsonl" >&2
