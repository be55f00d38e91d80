#!/usr/bin/env bash
# LeakSanitizer over listen mode (issue 21): builds wsc with AddressSanitizer in its own
# scratch path (.build/asan; the normal build is untouched), serves CLIENTS raw-socket
# clients (default 20) ending in each of six ways (Tests/Integration/peers/churn.py),
# stops the server with SIGINT and fails if AddressSanitizer or LeakSanitizer reported
# anything. Reports are kept in .build/asan/reports/.
#
#   scripts/leakcheck.sh [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-20}
[[ -x .venv/bin/python ]] || scripts/setup.sh

echo "== swift build --sanitize=address (.build/asan)" >&2
swift build --sanitize=address --scratch-path .build/asan --product wsc -Xswiftc -use-ld=lld >&2
wsc=.build/asan/debug/wsc

reports=.build/asan/reports
rm -rf "$reports"
mkdir -p "$reports"
err="$reports/wsc.stderr"
ASAN_OPTIONS="detect_leaks=1:log_path=$PWD/$reports/asan:halt_on_error=0" \
  "$wsc" -l 127.0.0.1:0 --echo --close-timeout 1 </dev/null 2>"$err" &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT

port=
for _ in $(seq 100); do
  port=$(sed -n 's|.*listening on ws://127.0.0.1:\([0-9]*\)/.*|\1|p' "$err")
  [[ -n $port ]] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
if [[ -z $port ]]; then
  echo "leakcheck: wsc -l did not start:" >&2
  cat "$err" >&2
  exit 1
fi

echo "== $clients clients on port $port" >&2
(cd Tests/Integration && ../../.venv/bin/python -m peers.churn "$port" "$clients")
# Let the last connections finish their closing handshakes.
sleep 1.5
kill -INT $pid
rc=0
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
wait $pid || rc=$?
trap - EXIT
if [[ $rc -ne 130 ]]; then
  echo "leakcheck: wsc exited $rc after SIGINT, not 130:" >&2
  tail -20 "$err" >&2
  exit 1
fi
if compgen -G "$reports/asan.*" >/dev/null; then
  echo "leakcheck: sanitizer reports:" >&2
  cat "$reports"/asan.* >&2
  exit 1
fi
echo "leakcheck: $clients clients, no AddressSanitizer or LeakSanitizer report" >&2
