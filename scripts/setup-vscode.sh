#!/usr/bin/env bash
# Installs a real VS Code (code-server 4.100.3 = VS Code 1.100.3) for offline integration and UI tests
# into .vscode-test/code-server/, following shared/real-vscode.md. Idempotent: a marker file records a
# complete install, so a second run only checks it and exits.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.vscode-test/code-server"
CS="$DIR/node_modules/code-server"
VSC="$CS/lib/vscode"
MARKER="$DIR/.installed-$CODE_SERVER_VERSION"
APT_PACKAGES=(chromium fonts-dejavu-core build-essential python3 pkg-config libkrb5-dev ripgrep)

log() { echo "[setup-vscode] $*"; }
die() { echo "[setup-vscode] ERROR: $*" >&2; exit 1; }

if [[ -f "$MARKER" && -x /usr/bin/chromium && -x /usr/bin/rg ]]; then
  log "code-server $CODE_SERVER_VERSION already installed ($DIR)"
  exit 0
fi
START=$SECONDS

# 1. Debian packages: the browser for Playwright, a toolchain for the native modules, ripgrep for search.
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing apt packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "apt packages present"
fi

# node-gyp must build against the local Node headers; it cannot download them offline.
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node_api.h ]]; then
  export npm_config_nodedir=/usr
fi
# Quiet, non-interactive npm: node-pty runs `npx node-gyp`, which is cancelled without `yes`.
export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

# 2. code-server itself, without its postinstall (it would download ripgrep from the web).
mkdir -p "$DIR"
cat > "$DIR/package.json" <<JSON
{ "name": "vscode-test-code-server", "private": true, "dependencies": { "code-server": "$CODE_SERVER_VERSION" } }
JSON
log "npm install code-server@$CODE_SERVER_VERSION (cold: about 1 min)"
(cd "$DIR" && npm install --ignore-scripts --loglevel=error)

# 3. The postinstall, by hand.
log "building argon2"
(cd "$DIR" && npm rebuild argon2 --loglevel=error)

log "installing VS Code's runtime dependencies"
(cd "$VSC" && npm install --ignore-scripts --omit=dev --loglevel=error)

NATIVE=(@parcel/watcher @vscode/deviceid @vscode/spdlog kerberos native-watchdog node-pty)
log "building native modules: ${NATIVE[*]}"
(cd "$VSC" && npm rebuild --loglevel=error "${NATIVE[@]}")

log "linking ripgrep and helper scripts"
mkdir -p "$VSC/node_modules/@vscode/ripgrep/bin"
ln -sfn /usr/bin/rg "$VSC/node_modules/@vscode/ripgrep/bin/rg"
ln -sfn node_modules "$VSC/node_modules.asar"
ln -sfn code-linux.sh "$VSC/bin/remote-cli/code-server"
ln -sfn browser-linux.sh "$VSC/bin/helpers/browser.sh"

log "installing the built-in extensions' dependencies"
(cd "$VSC/extensions" && npm install --omit=dev --loglevel=error)

# 4. Prove that every native module loads in this Node (npm may skip build scripts silently).
log "verifying native modules"
(cd "$VSC" && node -e '
  for (const m of process.argv.slice(1)) {
    try { require(m); } catch (e) { console.error(`cannot load ${m}: ${e.message}`); process.exitCode = 1; }
  }' "${NATIVE[@]}") || die "a native module did not build (see above)"
(cd "$DIR" && node -e 'require("argon2")') || die "argon2 did not build"
[[ -x "$VSC/node_modules/@vscode/ripgrep/bin/rg" ]] || die "ripgrep link is broken"

touch "$MARKER"
log "done in $((SECONDS - START)) s"
