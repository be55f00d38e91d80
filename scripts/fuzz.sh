#!/usr/bin/env bash
# libFuzzer over the parsers a hostile peer feeds (issue 15): the frame decoder and
# WebSocketConnection's receive path in both roles (with and without permessage-deflate,
# a 4 KiB maxMessageSize), the HTTP head parser with the client's response checks, the
# server's request parser, the extension-header parser and the URL parser (Fuzz/).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   each target for SECONDS (default 60)
#
# Targets are built only here (WSC_FUZZ=1, .build/fuzz, -sanitize=fuzzer,address); the
# seed corpora in Fuzz/corpus/ are copied to .build/fuzz/corpus/ and grow there. A crash,
# a leak, a timeout (10 s) or more than 1 GiB of memory is a finding: its input is kept
# in .build/fuzz/artifacts/ and the script exits 1. One line of figures per target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(FuzzFrameClient FuzzFrameServer FuzzClientHandshake FuzzServerHandshake
  FuzzExtensionHeader FuzzURI)
scripts/setup.sh --build-only
echo "== swift build -c release -sanitize=fuzzer,address (.build/fuzz)" >&2
WSC_FUZZ=1 swift build --scratch-path .build/fuzz -c release -Xswiftc -sanitize=fuzzer,address \
  -Xswiftc -use-ld=lld >&2
work=.build/fuzz
mkdir -p "$work/artifacts" "$work/logs"
status=0
# The Swift runtime's backtracer and AddressSanitizer both want a crashing process.
export SWIFT_BACKTRACE=enable=no
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t"
  cp -n Fuzz/corpus/"$t"/* "$work/corpus/$t/" 2>/dev/null || true
  dict=()
  case $t in FuzzClientHandshake|FuzzServerHandshake|FuzzExtensionHeader) dict=(-dict=Fuzz/http.dict) ;; esac
  log="$work/logs/$t.log"
  set +e
  "$work/release/$t" "$work/corpus/$t" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(ls "$work/corpus/$t" | wc -l)
  findings=$(ls "$work/artifacts" | grep -c "^$t-" || true)
  printf '%-22s %8ss %12s execs  cov %6s  ft %6s  corpus %5s  findings %s\n' \
    "$t" "$seconds" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$corp" "$findings"
  if [[ $rc -ne 0 || $findings -ne 0 ]]; then
    echo "fuzz: $t found something (exit $rc); see $log and $work/artifacts/" >&2
    grep -m5 -E "ERROR|failure|Fatal|SUMMARY" "$log" >&2 || true
    status=1
  fi
done
exit $status
