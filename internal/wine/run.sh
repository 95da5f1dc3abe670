#!/usr/bin/env bash
# Runs the Windows test binaries under Wine (Debian's wine64, 8.0): builds
# the ProcessPrng DLL that Go 1.24+ needs and Wine 8.0 lacks
# (bcryptprimitives.c) into a Wine prefix of its own, cross-builds the
# test binaries of the packages below and wirelab.exe with the tag "wine"
# (internal/winefix), and runs each under Wine from its package's
# directory. It fails if any fails. Tests that Wine cannot run skip with
# a message that names Wine's limit (testbin.SkipWine).
#
#   internal/wine/run.sh [package ...]   (default: the five below, then
#                                         TestWineDemos on Linux)
#
# WINEPREFIX defaults to a cache directory; WINE_TEST_FLAGS adds test
# flags (-test.run=...). Needs wine64 and gcc-mingw-w64-x86-64-win32.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

wine=$(command -v wine64 || command -v wine || true)
[ -z "$wine" ] && [ -x /usr/lib/wine/wine64 ] && wine=/usr/lib/wine/wine64
if [ -z "$wine" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  echo "wine: wine64 or x86_64-w64-mingw32-gcc missing (apt-get install wine64 gcc-mingw-w64-x86-64-win32)" >&2
  exit 1
fi
export WINEPREFIX=${WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/wirelab-wine}
export WINEDEBUG=-all WINEARCH=win64
# No Wine window system: nothing here draws.
export DISPLAY=

wineserver=$(command -v wineserver || echo "$(dirname "$wine")/wineserver")
out=$(mktemp -d)
# The prefix's wineserver (and a test binary a failure left) ends with
# the run: nothing of it lingers on the CI machine. "|| true": under set -e a
# failing command in the trap (no server left to kill) would make a run
# that passed exit 1.
trap '"$wineserver" -k 2>/dev/null || true; rm -rf "$out"' EXIT
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  mkdir -p "$WINEPREFIX"
  "$wine" wineboot -i >/dev/null 2>&1
fi
x86_64-w64-mingw32-gcc -O2 -shared -o "$out/bcryptprimitives.dll" internal/wine/bcryptprimitives.c -ladvapi32
cp "$out/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"

# The tag and the linker flag let internal/winefix switch the standard
# library to the file removal Wine has.
flags=(-tags wine -ldflags=-checklinkname=0)
GOOS=windows GOARCH=amd64 go build "${flags[@]}" -o "$out/wirelab.exe" .
# The test binaries use this wirelab.exe (testbin.BinaryEnv): no Go
# toolchain runs under Wine.
export WIRELAB_TEST_BINARY="Z:${out//\//\\}\\wirelab.exe"

pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=(./netproto ./engine ./lua ./scripts .)
failed=()
for pkg in "${pkgs[@]}"; do
  name=$(echo "$pkg" | tr -c 'a-zA-Z0-9\n' _)
  GOOS=windows GOARCH=amd64 go test -c "${flags[@]}" -o "$out/$name.test.exe" "$pkg"
  start=$SECONDS
  # -test.short: the long soak and load tests, which prove nothing more
  # about Windows, stay on Linux.
  # -test.v: the skips and their reasons are listed.
  run() { (cd "$pkg" && "$wine" "$out/$name.test.exe" -test.v -test.short -test.count=1 -test.timeout=10m ${WINE_TEST_FLAGS:-} >"$out/$name.log" 2>&1); }
  # Wine 8.0 now and then fails to start a process ("fork/exec ...:
  # Internal error.") on a loaded machine: a package that fails runs once
  # more, and the first run's failures are shown either way.
  ok=true
  if ! run; then
    echo "wine: $pkg failed once, running it again; the first run's failures:"
    grep -E -- '^(\s*--- FAIL|panic)' -B3 "$out/$name.log" | grep -v -e '^--$' | head -40 | sed 's/^/wine:   first: /' || true
    run || ok=false
  fi
  if $ok; then
    echo "wine: ok   $pkg ($((SECONDS - start))s, $(grep -c -- '--- PASS' "$out/$name.log" || true) passed, $(grep -c -- '--- SKIP' "$out/$name.log" || true) skipped)"
    grep -B1 -- '--- SKIP' "$out/$name.log" | grep -v -e '^--$' -e '^=== ' | sed 's/^/wine:      /' || true
  else
    echo "wine: FAIL $pkg ($((SECONDS - start))s)"
    grep -E -- '^(\s*--- FAIL|panic|\s+\S+_test\.go:[0-9]+:)' "$out/$name.log" | head -100 || tail -50 "$out/$name.log"
    failed+=("$pkg")
  fi
  if [ -n "${WINE_KEEP_LOGS:-}" ]; then cp "$out/$name.log" "$WINE_KEEP_LOGS/"; fi
done
# Issue 22's demonstration, from the Linux side: wirelab.exe under Wine
# serves the documents' Python clients (python3 here) over loopback.
if [ $# -eq 0 ]; then
  start=$SECONDS
  if WIRELAB_WINE_EXE="$out/wirelab.exe" WIRELAB_WINE="$wine" go test -count=1 -run '^TestWineDemos$' -v . >"$out/demos.log" 2>&1; then
    echo "wine: ok   TestWineDemos ($((SECONDS - start))s)"
    grep -E -- '--- (PASS|SKIP)|python3 got|skipped|not set|not installed' "$out/demos.log" | sed 's/^/wine:      /' || true
  else
    echo "wine: FAIL TestWineDemos ($((SECONDS - start))s)"
    tail -40 "$out/demos.log"
    failed+=(TestWineDemos)
  fi
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "wine: failed: ${failed[*]}" >&2
  exit 1
fi
