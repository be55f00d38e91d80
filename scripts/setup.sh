#!/usr/bin/env bash
# Installs what wsc's build and tests need, only what is missing:
# Debian packages (OpenSSL, libedit and zlib headers, tmux, python3-venv, tshark) and a
# Python virtual environment in .venv with the test peers (websockets, kosoku, trustme).
# `--build-only` installs just what building wsc needs (the demo needs nothing more).
set -euo pipefail
cd "$(dirname "$0")/.."

build_only=false
[ "${1:-}" = "--build-only" ] && build_only=true

packages=(pkg-config libssl-dev libedit-dev zlib1g-dev)
$build_only || packages+=(python3-venv tmux openssl tinyproxy microsocks tshark man-db binutils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # Through env: sudo drops DEBIAN_FRONTEND, and tshark would then ask on the terminal
  # whether non-root users may capture (the default, no, is what we want).
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

$build_only && exit 0

req=Tests/Integration/requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating the Python environment in .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
