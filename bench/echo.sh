#!/usr/bin/env bash
# Echo throughput: a framed echo server in Lua on wirelab (bench/echo.lua)
# against the same server in Go (bench/nativeecho), all driven by
# bench/loadgen from its own process. Between the two, bench/engineecho
# is the server with a Go handler on wirelab's engine: engine/native is
# what the engine costs, the rest of lua/native the Lua handler. Rounds
# alternate the servers; each round prints the rates and ratios, and the
# end the min, median and max of the ratios. ROUNDS (3), N messages per run (200000), CLIENTS
# (50) and SIZE payload bytes (64) can be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3} n=${N:-200000} clients=${CLIENTS:-50} size=${SIZE:-64}
out=$(mktemp -d)
declare -a pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$out"
}
trap cleanup EXIT
go build -o "$out/wirelab" .
go build -o "$out/loadgen" ./bench/loadgen
go build -o "$out/nativeecho" ./bench/nativeecho
go build -o "$out/engineecho" ./bench/engineecho

# serve NAME CMD...: starts a server that prints its port and serves until
# its stdin closes; sets port.
serve() {
  local name=$1
  shift
  mkfifo "$out/$name.in"
  "$@" <"$out/$name.in" >"$out/$name.port" &
  pids+=($!)
  exec {fd}>"$out/$name.in"
  until [ -s "$out/$name.port" ]; do sleep 0.05; done
  port=$(head -1 "$out/$name.port")
}
serve native "$out/nativeecho"
nport=$port
serve engine "$out/engineecho"
eport=$port
serve lua "$out/wirelab" run bench/echo.lua
lport=$port

# Warm both up.
"$out/loadgen" -addr "127.0.0.1:$nport" -clients "$clients" -n 20000 -size "$size" >/dev/null
"$out/loadgen" -addr "127.0.0.1:$eport" -clients "$clients" -n 20000 -size "$size" >/dev/null
"$out/loadgen" -addr "127.0.0.1:$lport" -clients "$clients" -n 20000 -size "$size" >/dev/null

ratios=() eratios=()
for r in $(seq "$rounds"); do
  native=$("$out/loadgen" -addr "127.0.0.1:$nport" -clients "$clients" -n "$n" -size "$size")
  engine=$("$out/loadgen" -addr "127.0.0.1:$eport" -clients "$clients" -n "$n" -size "$size")
  lua=$("$out/loadgen" -addr "127.0.0.1:$lport" -clients "$clients" -n "$n" -size "$size")
  ratio=$(awk -v a="$lua" -v b="$native" 'BEGIN { printf "%.3f", a / b }')
  eratio=$(awk -v a="$engine" -v b="$native" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio") eratios+=("$eratio")
  echo "round $r: native $native msg/s, engine $engine msg/s, lua $lua msg/s, engine/native $eratio, lua/native $ratio"
done
summary() {
  sort -n | awk -v what="$1" '{ v[NR] = $1 } END { printf "echo %s over %d rounds: min %s median %s max %s\n", what, NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
}
printf '%s\n' "${eratios[@]}" | summary engine/native
printf '%s\n' "${ratios[@]}" | summary lua/native
