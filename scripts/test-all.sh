#!/usr/bin/env bash
# Every test suite: unit (plain mocha), integration (mocha inside a real VS Code = code-server) and UI
# (Playwright driving Chromium against that VS Code). Installs what is missing first. The last line is
# "N passed, N failed" summed over all suites; the exit status is non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n=== %s ===\n' "$*"; }

step "install"
# onnxruntime-node's postinstall only fetches optional GPU files from outside the registry: skip it.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || exit 1
fi
bash scripts/setup-vscode.sh || { echo "setting up VS Code (code-server) failed"; echo "0 passed, 1 failed"; exit 1; }
bash scripts/setup-python.sh || { echo "setting up the Python references (torch) failed"; echo "0 passed, 1 failed"; exit 1; }

step "build"
npm run typecheck && npm run build:dev && npm run compile-tests || { echo "0 passed, 1 failed"; exit 1; }

rm -rf test-results && mkdir -p test-results test-artifacts
passed=0
failed=0
skipped=0
add() { # suite json-file
  if [ -f "$2" ]; then
    read -r p f s < <(node -e 'const r=require(process.argv[1]);console.log(r.passed|0,r.failed|0,r.skipped|0)' "$root/$2")
    echo "$1: $p passed, $f failed, $s skipped"
  else
    p=0; f=1; s=0
    echo "$1: no results (the suite did not run to the end): counted as 1 failure"
  fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

step "lint and format (ESLint, Prettier; zero warnings)"
lint_failed=0
npm run -s lint || lint_failed=1
npm run -s format:check || lint_failed=1
node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify({ passed: process.argv[2] === "0" ? 1 : 0, failed: Number(process.argv[2]) }))' test-results/lint.json "$lint_failed"

step "unit tests"
npx mocha --config .mocharc.json --reporter spec 2>&1 | tee test-results/unit.log
node -e '
  const log = require("fs").readFileSync(process.argv[1], "utf8");
  const n = (w) => Number((log.match(new RegExp("^\\s+(\\d+) " + w, "m")) || [0, 0])[1]);
  if (/^\s+\d+ passing/m.test(log)) require("fs").writeFileSync(process.argv[2], JSON.stringify({ passed: n("passing"), failed: n("failing"), skipped: n("pending") }));
' test-results/unit.log test-results/unit.json

workspace=$(mktemp -d /tmp/densenet-it-XXXXXX)
cp -r examples/. "$workspace/"
step "integration tests (mocha in a real VS Code)"
node scripts/run-integration.mjs --tests "$root/out/test/integration/index.js" --workspace "$workspace" --results test-results/integration.json
rm -rf "$workspace"

step "UI tests (Playwright + Chromium in a real VS Code)"
node scripts/run-ui.mjs --results test-results/ui.json

step "examples: MNIST to >= 98% test accuracy, multi-MNIST to mean AUROC >= 0.98, M2NIST-like to mean IoU >= 0.7 (WASM)"
node scripts/check-example.mjs --results test-results/example.json

step "summary"
add lint test-results/lint.json
add unit test-results/unit.json
add integration test-results/integration.json
add ui test-results/ui.json
add example test-results/example.json
echo "screenshots: test-artifacts/"
if [ "$skipped" -gt 0 ]; then echo "($skipped skipped: opt-in measurements)"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
