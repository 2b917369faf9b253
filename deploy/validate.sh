#!/usr/bin/env bash
# Validates the Kubernetes manifests in deploy/k8s/ against Kubernetes' own OpenAPI schemas,
# strictly (an unknown or misspelt field fails), for the oldest and the newest API version
# checked. Uses kubernetes-validate from PyPI (pinned; the schemas ship inside the package), in
# target/k8s-venv. Needs no cluster and no container runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/k8s-venv
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet kubernetes-validate==1.37.0
fi
for version in 1.30.0 1.37.0; do
  "$venv/bin/kubernetes-validate" --strict -k "$version" deploy/k8s/*.yaml
done
