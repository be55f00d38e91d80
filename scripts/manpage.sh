#!/usr/bin/env bash
# Regenerates Docs/wsc.1 from wsc's ArgumentParser definitions (the generate-manual
# plugin of swift-argument-parser), then adds what the generator cannot know: the
# EXAMPLES of `wsc --help`. `scripts/manpage.sh --check` only says whether Docs/wsc.1
# is up to date (the test suite runs it). The date is the top release's in CHANGELOG.md,
# so the page changes only when wsc does.
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
[ "${1:-}" = "--check" ] && check=true
date=$(grep -m1 -o '^## [0-9.]* — [0-9-]*' CHANGELOG.md | grep -o '[0-9]\{4\}-[0-9-]*$')
swift package plugin generate-manual --configuration debug --date "$date" >/dev/null
generated=.build/plugins/GenerateManual/outputs/wsc/wsc.1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The generator writes "subcommand" into the synopsis of a command that has none, and
# blank lines (which mdoc warns about) where the discussion has paragraphs.
grep -v '^\.Ar subcommand$' "$generated" | sed 's/^$/.Pp/' >"$out"
{
  echo '.Sh EXAMPLES'
  echo '.Bd -literal -offset indent'
  .build/debug/wsc --help | sed -n '/^EXAMPLES:$/,$p' | tail -n +2 | sed -e 's/^  //' -e '/^$/d' -e 's/\\/\\e/g'
  echo '.Ed'
} >>"$out"
if $check; then
  if ! cmp -s "$out" Docs/wsc.1; then
    diff -u Docs/wsc.1 "$out" | head -40 >&2 || true
    echo "manpage: Docs/wsc.1 is out of date; run scripts/manpage.sh" >&2
    exit 1
  fi
  echo "manpage: Docs/wsc.1 is up to date"
else
  cp "$out" Docs/wsc.1
  echo "manpage: wrote Docs/wsc.1"
fi
