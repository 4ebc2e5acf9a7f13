#!/usr/bin/env bash
# Starts the product: installs what is missing, builds the extension, then serves a real VS Code with a
# copy of examples/ (outside the repository) open and the extension loaded (scripts/start.mjs). Stays in the foreground; Ctrl+C stops it.
# Usage: bash scripts/start.sh   (or npm start; PORT=9000 npm start for a fixed port)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ! -d node_modules ]]; then
  echo "[start] installing npm dependencies"
  export ONNXRUNTIME_NODE_INSTALL=skip # its postinstall only fetches optional GPU files from outside the registry
  if [[ -f package-lock.json ]]; then npm ci; else npm install; fi
fi
bash scripts/setup-vscode.sh
echo "[start] building the extension"
npm run build
exec node scripts/start.mjs "$@"
