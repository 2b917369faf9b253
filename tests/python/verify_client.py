#!/usr/bin/env python3
"""A client not written in Rust: Python grpcio with stubs generated from proto/ at run time.

    verify_client.py --target 127.0.0.1:50051 --photo P --serial S --expect MATCH

Generates labelcheck/v1 stubs with grpcio-tools into a temporary folder, calls
LabelVerifier.Verify with the photo and serial and checks the verdict; then sends an empty photo
and checks INVALID_ARGUMENT; then asks GetServerInfo. Exits 0 only if all three hold, and prints
one JSON line with what it saw.
"""
import argparse
import importlib
import json
import pathlib
import sys
import tempfile

import grpc
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parents[2]


def stubs(out: pathlib.Path):
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    rc = protoc.main([
        "protoc",
        f"-I{ROOT / 'proto'}",
        f"-I{include}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        "labelcheck/v1/labelcheck.proto",
    ])
    if rc != 0:
        sys.exit(f"protoc failed with {rc}")
    sys.path.insert(0, str(out))
    return (importlib.import_module("labelcheck.v1.labelcheck_pb2"),
            importlib.import_module("labelcheck.v1.labelcheck_pb2_grpc"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--photo", required=True)
    ap.add_argument("--serial", required=True)
    ap.add_argument("--expect", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pb, rpc = stubs(pathlib.Path(tmp))
        options = [("grpc.max_send_message_length", 64 << 20),
                   ("grpc.max_receive_message_length", 64 << 20)]
        with grpc.insecure_channel(args.target, options=options) as channel:
            client = rpc.LabelVerifierStub(channel)
            photo = pathlib.Path(args.photo).read_bytes()
            reply = client.Verify(
                pb.VerifyRequest(photo=photo, reported_serial=args.serial, case_id="py-1"),
                timeout=60)
            verdict = pb.Verdict.Name(reply.verdict).removeprefix("VERDICT_")
            try:
                client.Verify(pb.VerifyRequest(photo=b"", reported_serial=args.serial), timeout=60)
                empty_code = "OK"
            except grpc.RpcError as e:
                empty_code = e.code().name
            info = client.GetServerInfo(pb.GetServerInfoRequest(), timeout=10)
    seen = {
        "verdict": verdict,
        "case_id": reply.case_id,
        "reasons": [pb.Reason.Name(r) for r in reply.reasons],
        "serial_read": reply.serial_read,
        "empty_photo_code": empty_code,
        "server_workers": info.workers,
    }
    print(json.dumps(seen))
    ok = (verdict == args.expect and reply.case_id == "py-1"
          and empty_code == "INVALID_ARGUMENT" and info.workers > 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
