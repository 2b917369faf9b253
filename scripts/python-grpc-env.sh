#!/usr/bin/env bash
# Creates .venv-grpc with the Python gRPC client used by the cross-language test
# (tests/python/verify_client.py): grpcio and grpcio-tools from PyPI, pinned. Idempotent and quick
# when already there. Prints the interpreter's path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-grpc
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" >&2
fi
if ! "$VENV/bin/python" -c "import grpc, grpc_tools" 2>/dev/null; then
  "$VENV/bin/pip" install -q --disable-pip-version-check grpcio==1.76.0 grpcio-tools==1.76.0 >&2
fi
echo "$PWD/$VENV/bin/python"
