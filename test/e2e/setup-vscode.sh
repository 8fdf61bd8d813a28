#!/usr/bin/env bash
# Installs code-server (a real VS Code in the browser) into .e2e/code-server for the e2e tests.
# Idempotent. Works offline (npm registry + Debian only) with three workarounds:
#  - code-server 4.100.3 is the newest release that runs on Node 20;
#  - its postinstall needs npm_config_unsafe_perm, and node-pty's npx node-gyp needs npm_config_yes;
#  - @vscode/ripgrep downloads rg from GitHub: its download cache is seeded with Debian's ripgrep.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=.e2e/code-server
VERSION=4.100.3
if [ "${PRUNESCOPE_SKIP_E2E:-}" = 1 ]; then echo "PRUNESCOPE_SKIP_E2E=1: code-server not installed"; exit 0; fi
if [ -x "$DIR/node_modules/.bin/code-server" ]; then exit 0; fi

need=()
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
[ -f /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing Debian packages for code-server: ${need[*]}" >&2
    exit 1
  fi
fi

TMP="$(node -p 'require("os").tmpdir()')"
CACHE="$TMP/vscode-ripgrep-cache-1.15.11"
mkdir -p "$CACHE"
ASSET="$CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$ASSET" ]; then
  STAGE="$(mktemp -d)"
  cp "$(command -v rg)" "$STAGE/rg"
  tar czf "$ASSET" -C "$STAGE" rg
  rm -rf "$STAGE"
fi

mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name":"prunescope-e2e","private":true}' > package.json
npm_config_yes=true npm_config_unsafe_perm=true npm install --no-audit --no-fund --loglevel=error "code-server@$VERSION"
