#!/usr/bin/env bash
# The main job with nothing else needed: installs what is missing, builds wsc, starts a
# local echo server (Python websockets) and connects wsc to it. Type lines (Ctrl-D
# ends), or pipe them in: `printf 'hello\n' | scripts/demo.sh`. Extra arguments go to wsc.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product wsc >&2
portfile=$(mktemp)
.venv/bin/python scripts/echo-server.py >"$portfile" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$portfile"' EXIT
for _ in $(seq 1 100); do
  [ -s "$portfile" ] && break
  sleep 0.1
done
port=$(head -1 "$portfile")
[ -n "$port" ] || { echo "demo: the echo server did not start" >&2; exit 1; }
echo "demo: echo server on ws://127.0.0.1:$port/ — wsc is connected; type a line" >&2
.build/release/wsc "$@" "ws://127.0.0.1:$port/"
