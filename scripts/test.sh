#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/setup.sh), then runs the
# protocol unit tests (swift test), the Autobahn TestSuite client cases through
# kosoku with `wsc --echo` (all 517, compression cases 12.* and 13.* included; see
# Docs/Conformance.md), the server cases against `wsc -l --echo` (all 517), and the
# integration tests against Python websockets servers and raw-socket peers (pytest).
#
#   scripts/test.sh                 the whole suite (CI runs this)
#   scripts/test.sh --sanitizers    then AddressSanitizer and ThreadSanitizer over the
#                                   integration suite (scripts/sanitizers.sh, ~20 min more)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers=false
[ "${1:-}" = "--sanitizers" ] && sanitizers=true
scripts/setup.sh

echo "== swift build (warnings are errors)" >&2
log=$(mktemp)
swift build 2>&1 | tee "$log" >&2
if grep -q "warning:" "$log"; then
  echo "test: swift build printed warnings" >&2
  exit 1
fi
rm -f "$log"

echo "== swift format lint" >&2
swift format lint --strict -r Sources Tests/WebSocketProtocolTests Tests/WebSocketDeflateTests Tests/WebSocketClientTests Package.swift >&2

echo "== unit tests" >&2
swift test

echo "== Examples/echo-client: the library used from another package" >&2
swift build --package-path Examples/echo-client --scratch-path .build/examples >&2
errlog=$(mktemp)
# The end of stdin ends nothing in listen mode: the server runs until it is killed.
.build/debug/wsc -l 127.0.0.1:0 --echo </dev/null >/dev/null 2>"$errlog" &
server=$!
port=""
for _ in $(seq 50); do
  port=$(sed -n 's|^listening on ws://127.0.0.1:\([0-9]*\)/$|\1|p' "$errlog")
  [ -n "$port" ] && break
  sleep 0.1
done
echoed=$(timeout 10 .build/examples/debug/echo-client "ws://127.0.0.1:${port:-1}/" || true)
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
rm -f "$errlog"
if [ "$echoed" != "hello" ]; then
  echo "test: echo-client printed '$echoed', not 'hello'" >&2
  exit 1
fi

echo "== Autobahn client cases, all 517 with permessage-deflate (release build, about 7 min)" >&2
swift build -c release --static-swift-stdlib -Xswiftc -use-ld=lld --product wsc >&2
.venv/bin/python Tests/Autobahn/run.py --wsc .build/release/wsc --cases "*" \
  --no-unimplemented --out .build/autobahn --summary-md .build/autobahn/summary.md

echo "== Autobahn server cases, all 517 against wsc -l --echo (release build, about 4 min)" >&2
.venv/bin/python Tests/Autobahn/run_server.py --wsc .build/release/wsc --parallelism 2 \
  --out .build/autobahn-server --summary-md .build/autobahn-server/summary.md

echo "== LeakSanitizer over listen mode (scripts/leakcheck.sh)" >&2
scripts/leakcheck.sh 20

echo "== fuzz smoke: each libFuzzer target for 10 s (scripts/fuzz.sh)" >&2
scripts/fuzz.sh 10

echo "== integration tests" >&2
WSC_BIN="$PWD/.build/debug/wsc" .venv/bin/python -m pytest Tests/Integration -q

if $sanitizers; then
  echo "== sanitizers (scripts/sanitizers.sh)" >&2
  scripts/sanitizers.sh
fi
