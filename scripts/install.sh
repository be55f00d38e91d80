#!/usr/bin/env bash
# scripts/install.sh [PREFIX]              builds the release binary and installs it,
#                                          stripped, with the man page and completions
# scripts/install.sh --uninstall [PREFIX]  removes exactly those files
# scripts/install.sh --binary FILE [PREFIX] installs FILE instead of building (tests)
#
# PREFIX defaults to /usr/local. Files: PREFIX/bin/wsc, PREFIX/share/man/man1/wsc.1,
# and the completions where bash-completion, zsh and fish look for a system's own:
# share/bash-completion/completions/wsc, share/zsh/site-functions/_wsc,
# share/fish/vendor_completions.d/wsc.fish.
set -euo pipefail
cd "$(dirname "$0")/.."
uninstall=false
binary=
prefix=/usr/local
while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall) uninstall=true ;;
    --binary) binary=${2:?--binary needs a file}; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install: unknown option $1 (see --help)" >&2; exit 64 ;;
    *) prefix=$1 ;;
  esac
  shift
done
files=(
  "$prefix/bin/wsc"
  "$prefix/share/man/man1/wsc.1"
  "$prefix/share/bash-completion/completions/wsc"
  "$prefix/share/zsh/site-functions/_wsc"
  "$prefix/share/fish/vendor_completions.d/wsc.fish"
)
if $uninstall; then
  for f in "${files[@]}"; do
    if [ -e "$f" ]; then rm -f "$f" && echo "removed $f"; fi
  done
  exit 0
fi
if [ -z "$binary" ]; then
  scripts/setup.sh --build-only
  swift build -c release --static-swift-stdlib -Xswiftc -use-ld=lld --product wsc >&2
  binary=.build/release/wsc
fi
[ -x "$binary" ] || { echo "install: $binary is not an executable" >&2; exit 1; }
for f in "${files[@]}"; do install -d "$(dirname "$f")"; done
install -m 0755 "$binary" "${files[0]}"
# The symbols are for debugging a build tree, not for users: a third of the size.
strip --strip-unneeded "${files[0]}"
install -m 0644 Docs/wsc.1 "${files[1]}"
"${files[0]}" --generate-completion-script bash >"${files[2]}"
"${files[0]}" --generate-completion-script zsh >"${files[3]}"
"${files[0]}" --generate-completion-script fish >"${files[4]}"
chmod 0644 "${files[2]}" "${files[3]}" "${files[4]}"
for f in "${files[@]}"; do echo "installed $f"; done
echo "$("${files[0]}" --version | head -1) ($(du -h "${files[0]}" | cut -f1))"
