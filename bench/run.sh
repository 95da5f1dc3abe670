#!/usr/bin/env bash
# Every figure of issue 9 side by side, in one command: start-up against a Go
# hello (and lua5.1 when installed), memory per idle connection against a Go
# server, a Redis reply parser and exact reads against Go's bufio, echo
# throughput against a Go server from a separate load generator (echo.sh),
# and the 256 MiB upload against socat plus fsync (upload.sh, when socat is
# installed), then in Go beside plain Go with and without md5 at both ends
# (BenchmarkUpload). Each prints its own same-run ratios; run it on a quiet
# machine.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== start-up (wirelab -e 'print(1)' against a Go hello)"
go test -count=1 . -run XXX -bench Startup -benchtime 40x | grep -E '^Benchmark'
echo "== memory per idle connection (10,000 held, Lua against Go)"
go test -count=1 ./lua -run TestTenThousandConnections -v | grep -E 'per connection'
echo "== exact reads and Redis replies (Lua against Go's bufio)"
go test -count=1 ./lua -run XXX -bench 'RecvExact|RESP' -benchtime 200000x | grep -E '^Benchmark'
echo "== echo (50 clients in a process of their own, 3 rounds)"
bench/echo.sh
echo "== upload, 256 MiB, md5 at both ends (3 rounds)"
if command -v socat >/dev/null; then
  bench/upload.sh
else
  echo "skipped: socat is not installed"
fi
echo "== upload in Go: against socat, plain Go, and plain Go with md5 at both ends (3 rounds)"
go test -count=1 ./scripts -run XXX -bench Upload -benchtime 3x | grep -E '^Benchmark'
