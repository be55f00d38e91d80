#!/usr/bin/env bash
# The main job with nothing else installed: builds wsc, starts `wsc -l 127.0.0.1:0 --echo`
# (wsc as an echo server) in the background and connects wsc to it. Type lines (Ctrl-D
# ends), or pipe them in: `printf 'hello\n' | scripts/demo.sh`. Extra arguments go to the
# connecting wsc. Needs Swift and the Debian packages scripts/setup.sh installs; no Python.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --build-only
swift build -c release --static-swift-stdlib -Xswiftc -use-ld=lld --product wsc >&2
wsc=.build/release/wsc
log=$(mktemp)
"$wsc" -l 127.0.0.1:0 --echo </dev/null 2>"$log" &
server=$!
trap 'rc=$?; kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; rm -f "$log"; exit $rc' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$log" && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.05
done
url=$(grep -o 'ws://[^ ]*' "$log" | head -1 || true)
[ -n "$url" ] || { cat "$log" >&2; echo "demo: the echo server did not start" >&2; exit 1; }
port=${url##*:}
echo "demo: 'wsc -l 127.0.0.1:${port%/} --echo' is echoing; wsc is connected to $url — type a line" >&2
"$wsc" "$@" "$url"
