#!/usr/bin/env bash
# Issue 20's relay figure, side by side, in one command:
#
#   bench/proxy.sh [MiB] [rounds]      (default 512 and 5)
#
# builds wirelab (or uses $WIRELAB), starts one sink (socat into /dev/null)
# and two relays in front of it: socat TCP-LISTEN,fork TCP: and wirelab
# proxy (no faults: the system's splice). Each round sends MiB of zeros
# through each relay with socat, the order of the two rotated every round,
# and prints each time; then min/median/max of each and of the throughput
# ratio wirelab/socat. Needs bash, socat, and go unless $WIRELAB is set.
set -euo pipefail

mib=${1:-512}
rounds=${2:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
command -v socat >/dev/null || { echo "socat not found: install it (apt-get install socat)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/wirelab-bench.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wirelab=${WIRELAB:-}
if [ -z "$wirelab" ]; then
	wirelab=$work/wirelab
	(cd "$here" && go build -o "$wirelab" .)
fi

free_port() { # a port nothing listens on
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		grep -qi "$(printf ':%04X 00000000:0000 0A' "$p")" /proc/net/tcp 2>/dev/null || { echo $p; return; }
	done
}
wait_port() { until grep -qi "$(printf ':%04X 00000000:0000 0A' "$1")" /proc/net/tcp; do sleep 0.01; done; }

sink=$(free_port)
socat -u -b 131072 "TCP-LISTEN:$sink,bind=127.0.0.1,reuseaddr,fork" OPEN:/dev/null &
pids+=($!)
wait_port "$sink"
sp=$(free_port)
socat -b 131072 "TCP-LISTEN:$sp,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$sink" &
pids+=($!)
wait_port "$sp"
"$wirelab" proxy 0 "127.0.0.1:$sink" 2>"$work/proxy.err" &
pids+=($!)
until grep -q listening "$work/proxy.err"; do sleep 0.01; done
wp=$(sed -n 's/.*://p' "$work/proxy.err")

now() { date +%s%N; }
send() { # PORT: the time, in ms, to send $mib MiB through it
	local t0 t1
	t0=$(now)
	head -c $((mib << 20)) /dev/zero | socat -u -b 131072 STDIN "TCP:127.0.0.1:$1"
	t1=$(now)
	echo $(( (t1 - t0) / 1000000 ))
}

declare -a ts tw ratio
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) -eq 1 ]; then a=$(send "$sp"); b=$(send "$wp"); else b=$(send "$wp"); a=$(send "$sp"); fi
	ts+=("$a"); tw+=("$b")
	ratio+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')")
	echo "round $r: socat relay $a ms, wirelab proxy $b ms, throughput wirelab/socat ${ratio[-1]}"
done
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "min %s median %s max %s", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
echo "socat relay (ms):         $(stats "${ts[@]}")"
echo "wirelab proxy (ms):       $(stats "${tw[@]}")"
echo "throughput wirelab/socat: $(stats "${ratio[@]}")"
