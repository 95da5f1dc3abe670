#!/usr/bin/env bash
# Echo throughput at several payload sizes: a framed echo server in Lua on
# wirelab (bench/echo.lua) against the same server in plain Go
# (bench/nativeecho, a goroutine per connection) and in Python on asyncio
# streams (bench/pyecho.py, when python3 is installed), all driven by
# bench/loadgen from a process of its own. bench/engineecho is the server
# with a Go handler on wirelab's engine: engine/go is what the engine
# costs, the rest of lua/go the Lua handler.
#
# Each round runs every server once, in an order rotated from round to
# round, so that a machine's drift touches all alike. Beside messages per
# second it reports each server's CPU time per message, read from
# /proc/PID/stat: the steadier figure on a shared machine. It ends with
# min/median/max of each server's rate and of the same-round ratios, and
# lines "RESULT<tab>figure<tab>min<tab>median<tab>max" that bench/run.sh
# gathers into its table.
#
# Environment: SIZES ("64 1024 16384"), ROUNDS (5, at least 5), CLIENTS
# (50), N (round trips per run; by default about two seconds' worth per size).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${SIZES:-64 1024 16384} rounds=${ROUNDS:-5} clients=${CLIENTS:-50}
if [ "$rounds" -lt 5 ]; then echo "ROUNDS must be at least 5" >&2; exit 2; fi
out=$(mktemp -d)
declare -a pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
go build -o "$out/wirelab" .
go build -o "$out/loadgen" ./bench/loadgen
go build -o "$out/nativeecho" ./bench/nativeecho
go build -o "$out/engineecho" ./bench/engineecho

# serve NAME CMD...: starts a server that prints its port and serves until
# its stdin closes; records its port and pid.
declare -A port pid
serve() {
  local name=$1
  shift
  mkfifo "$out/$name.in"
  "$@" <"$out/$name.in" >"$out/$name.port" &
  pid[$name]=$!
  pids+=($!)
  exec {fd}>"$out/$name.in"
  until [ -s "$out/$name.port" ]; do sleep 0.05; done
  port[$name]=$(head -1 "$out/$name.port")
}
servers=(go engine lua)
serve go "$out/nativeecho"
serve engine "$out/engineecho"
serve lua "$out/wirelab" run bench/echo.lua
if command -v python3 >/dev/null; then
  serve python python3 bench/pyecho.py
  servers+=(python)
else
  echo "python3 not found: the asyncio reference is left out"
fi

tck=$(getconf CLK_TCK)
# cpu PID: the process's user and system time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# summary FIGURE: min, median and max of the numbers on stdin.
summary() {
  sort -g | awk -v what="$1" '{ v[NR] = $1 } END {
    printf "%-28s min %10s  median %10s  max %10s\n", what, v[1], v[int((NR + 1) / 2)], v[NR]
    printf "RESULT\t%s\t%s\t%s\t%s\n", what, v[1], v[int((NR + 1) / 2)], v[NR] >> "/dev/fd/3"
  }'
}

for size in $sizes; do
  n=${N:-}
  if [ -z "$n" ]; then
    if [ "$size" -le 256 ]; then n=200000; elif [ "$size" -le 4096 ]; then n=150000; else n=60000; fi
  fi
  echo "== echo, $size-byte payloads, $clients clients, $n round trips a run, $rounds rounds"
  for s in "${servers[@]}"; do # warm up
    "$out/loadgen" -addr "127.0.0.1:${port[$s]}" -clients "$clients" -n $((n / 10)) -size "$size" >/dev/null
  done
  declare -A rates=() cpus=()
  ratios=() eratios=() pratios=()
  k=${#servers[@]}
  for r in $(seq "$rounds"); do
    line="round $r:"
    declare -A rate=()
    for i in $(seq 0 $((k - 1))); do
      s=${servers[$(((i + r) % k))]}
      c0=$(cpu "${pid[$s]}")
      rate[$s]=$("$out/loadgen" -addr "127.0.0.1:${port[$s]}" -clients "$clients" -n "$n" -size "$size")
      c1=$(cpu "${pid[$s]}")
      us=$(awk -v d=$((c1 - c0)) -v t="$tck" -v n="$n" 'BEGIN { printf "%.2f", d / t * 1e6 / n }')
      rates[$s]+="${rate[$s]} " cpus[$s]+="$us "
      line+=" $s ${rate[$s]} msg/s ${us} us/msg,"
    done
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
    ratios+=("$(ratio "${rate[lua]}" "${rate[go]}")") eratios+=("$(ratio "${rate[engine]}" "${rate[go]}")")
    line+=" lua/go ${ratios[-1]}, engine/go ${eratios[-1]}"
    if [ -n "${rate[python]:-}" ]; then
      pratios+=("$(ratio "${rate[lua]}" "${rate[python]}")")
      line+=", lua/python ${pratios[-1]}"
    fi
    echo "$line"
  done
  for s in "${servers[@]}"; do
    printf '%s\n' ${rates[$s]} | summary "echo $size B $s msg/s"
    printf '%s\n' ${cpus[$s]} | summary "echo $size B $s CPU us/msg"
  done
  printf '%s\n' "${eratios[@]}" | summary "echo $size B engine/go"
  printf '%s\n' "${ratios[@]}" | summary "echo $size B lua/go"
  if [ ${#pratios[@]} -gt 0 ]; then printf '%s\n' "${pratios[@]}" | summary "echo $size B lua/python"; fi
done 3>>"${RESULTS:-/dev/null}"
