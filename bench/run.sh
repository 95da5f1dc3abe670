#!/usr/bin/env bash
# Every benchmark side by side, in one command, ending in one table:
# start-up against a Go hello (and lua5.1 when installed), memory per idle
# connection against a Go server, a Redis reply parser and exact reads
# against Go's bufio, echo at 64 B, 1 KiB and 16 KiB against a Go server
# and Python asyncio from a separate load generator (echo.sh), and the
# 256 MiB upload against socat plus fsync (upload.sh, when socat is
# installed), then in Go beside plain Go with and without md5 at both ends
# (BenchmarkUpload).
#
# Every figure is a same-run ratio against its reference, over at least 5
# rounds (ROUNDS, default 5) whose order alternates or rotates; the table
# gives min, median and max of the rounds. Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
if [ "$rounds" -lt 5 ]; then echo "ROUNDS must be at least 5" >&2; exit 2; fi
export ROUNDS=$rounds
RESULTS=$(mktemp)
export RESULTS
trap 'rm -f "$RESULTS"' EXIT
trap 'exit 130' INT TERM

# show: copies stdin to stdout and to stderr (tee /dev/stderr would reopen
# stderr, and so overwrite a log file that stdout and stderr share).
show() { while IFS= read -r line; do printf '%s\n' "$line" >&2; printf '%s\n' "$line"; done; }

# metric NAME FIGURE: the value of metric NAME on each benchmark line on
# stdin, gathered into a RESULT line for FIGURE.
metric() {
  awk -v m="$1" '{ for (i = 2; i <= NF; i++) if ($i == m) print $(i - 1) }' | sort -g |
    awk -v what="$2" '{ v[NR] = $1 } END { if (NR) printf "RESULT\t%s\t%s\t%s\t%s\n", what, v[1], v[int((NR + 1) / 2)], v[NR] }' >>"$RESULTS"
}

echo "== start-up (wirelab -e 'print(1)' against a Go hello), $rounds rounds"
go test -count="$rounds" . -run XXX -bench Startup -benchtime 40x | grep -E '^Benchmark' | show | metric wirelab/go "start-up time wirelab/go (lower is better)"
echo "== memory per idle connection (10,000 held, Lua against Go), $rounds rounds"
go test -count="$rounds" ./lua -run TestTenThousandConnections -v | grep -E 'per connection' | show |
  sed 's/.*lua\/native \([0-9.]*\).*/x \1 lua\/native/' | metric lua/native "idle connection memory lua/go (lower is better)"
echo "== exact reads and Redis replies (Lua against Go's bufio), $rounds rounds"
go test -count="$rounds" ./lua -run XXX -bench 'RecvExact|RESP' -benchtime 200000x | grep -E '^Benchmark' | show >"$RESULTS.reads"
grep RecvExact "$RESULTS.reads" | metric lua/native "recv_exact(64) lua/go"
grep RESP "$RESULTS.reads" | metric lua/native "Redis replies lua/go"
rm -f "$RESULTS.reads"
echo "== echo (50 clients in a process of their own, $rounds rounds, order rotated)"
bench/echo.sh
echo "== upload, 256 MiB ($rounds rounds, order rotated)"
if command -v socat >/dev/null; then
  bench/upload.sh
else
  echo "skipped: socat is not installed"
fi
echo "== upload in Go: against plain Go, and plain Go with md5 at both ends ($rounds rounds, order rotated)"
go test -count=1 ./scripts -run XXX -bench Upload -benchtime "${rounds}x" | grep -E '^Benchmark' | show > "$RESULTS.up"
for m in native verified; do
  awk -v m="wirelab/$m" -v ref="$m" '{ for (i = 2; i <= NF; i++) { if ($i == m "-min") lo = $(i - 1); if ($i == m) mid = $(i - 1); if ($i == m "-max") hi = $(i - 1) } }
    END { if (mid != "") printf "RESULT\tupload in Go, wirelab md5/Go %s (middle: summed)\t%s\t%s\t%s\n", ref, lo, mid, hi }' "$RESULTS.up" >>"$RESULTS"
done
rm -f "$RESULTS.up"

echo
echo "== all figures: same-run ratios over $rounds rounds (for echo also rates and CPU per message)"
printf '%-58s %10s %10s %10s\n' figure min median max
awk -F'\t' '$1 == "RESULT" { printf "%-58s %10s %10s %10s\n", $2, $3, $4, $5 }' "$RESULTS"
