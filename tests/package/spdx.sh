#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file names its licence in its first lines (an SPDX
# identifier, as LICENSE and debian/copyright say).  Data the programs read
# (JSON definitions and configuration, fuzz inputs) and documentation
# (Markdown) are covered by debian/copyright instead.
# Usage: spdx.sh SOURCE_DIR
set -uo pipefail
cd "$1" || exit 1
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -co --exclude-standard)
else
  mapfile -t files < <(find . -type f -not -path './build/*' -not -path './.git/*' | sed 's|^\./||')
fi
checked=0 missing=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  case "$f" in
    build/*|tests/fuzz/corpus/*|tests/fuzz/crashes/*) continue ;;
    *.json|*.md|LICENSE|debian/changelog|debian/copyright|debian/control|debian/source/*) continue ;;
    debian/*.install|debian/*.docs|debian/not-installed) continue ;;
  esac
  case "$f" in
    *.c|*.h|*.in|*.py|*.sh|*.js|*.css|*.html|*.svg|*.cmake|*CMakeLists.txt|*.rules|\
    *.sysusers|*.target|*.[158]|*.dict|*.bash-completion|.gitignore|*/run|debian/*) ;;
    *) continue ;;
  esac
  checked=$((checked + 1))
  head -n 5 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0' || missing+=("$f")
done
if [ ${#missing[@]} -gt 0 ]; then
  printf 'no SPDX-License-Identifier in the first 5 lines: %s\n' "${missing[@]}"
  echo "$checked files checked, ${#missing[@]} without"
  exit 1
fi
echo "$checked files checked, all name their licence"
