#!/usr/bin/env bash
# Installs the Python references of the weight-interchange and metrics tests: Debian's python3 with torch,
# torchvision, onnx and h5py (scripts/fixtures/*.py make reference files with them) and scikit-learn (the
# multi-label and segmentation metrics are checked against it). Installs missing packages with apt-get
# when running as root (CI); otherwise prints what is missing. Exits non-zero when they are not available.
set -uo pipefail

APT_PACKAGES=(python3 python3-torch python3-torchvision python3-onnx python3-h5py python3-sklearn)
PYTHON=/usr/bin/python3
CHECK='import torch, torchvision, onnx, h5py, sklearn'

log() { echo "[setup-python] $*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  if command -v apt-get >/dev/null && { [[ -z $SUDO ]] || command -v sudo >/dev/null; }; then
    log "installing apt packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      { log "ERROR: apt-get could not install ${missing[*]}" >&2; exit 1; }
  else
    log "missing Debian packages: ${missing[*]}" >&2
    log "install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if ! out=$("$PYTHON" -c "$CHECK; print(torch.__version__, torchvision.__version__, onnx.__version__, h5py.__version__, sklearn.__version__)" 2>&1); then
  log "ERROR: $PYTHON cannot import torch, torchvision, onnx, h5py and sklearn: ${out##*$'\n'}" >&2
  exit 1
fi
log "$PYTHON: torch, torchvision, onnx, h5py, sklearn $out"
