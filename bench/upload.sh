#!/usr/bin/env bash
# Issue 9's upload figure, side by side, in one command:
#
#   bench/upload.sh [MiB]          (default 256)
#
# builds wirelab (or uses $WIRELAB), makes a random file, then runs 3 rounds
# of: socat -u -b 131072 over loopback TCP into a file followed by fsync (a
# durable copy without verification), and `put` through upload_client to
# upload_server (md5 computed and checked at both ends, the file synced
# before it is linked). It prints each time, min/median/max of each, and the
# throughput ratio wirelab/socat of each round. Everything lives in one
# temporary directory (on $TMPDIR's file system), removed at the end.
# Needs bash, socat, ss or /proc/net/tcp, and go unless $WIRELAB is set.
set -euo pipefail

mib=${1:-256}
rounds=3
here=$(cd "$(dirname "$0")/.." && pwd)
command -v socat >/dev/null || { echo "socat not found: install it (apt-get install socat)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/wirelab-bench.XXXXXX")
server=
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wirelab=${WIRELAB:-}
if [ -z "$wirelab" ]; then
	wirelab=$work/wirelab
	(cd "$here" && go build -o "$wirelab" .)
fi

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

# listening PORT: whether a socket listens on 127.0.0.1:PORT, without
# connecting to it (socat accepts one connection only).
listening() {
	grep -qi "$(printf ':%04X 00000000:0000 0A' "$1")" /proc/net/tcp 2>/dev/null
}

echo "making a $mib MiB file in $work"
head -c $((mib << 20)) /dev/urandom >"$work/src.bin"
mkdir "$work/store"

"$wirelab" run upload_server --port 0 --dir "$work/store" >"$work/server.out" 2>"$work/server.err" &
server=$!
until grep -q listening "$work/server.out"; do sleep 0.01; done
port=$(sed -n 's/.*://p' "$work/server.out")

socat_run() {
	local p rx
	while :; do # a random port; another if it is taken
		p=$((20000 + RANDOM % 20000))
		listening $p && continue
		socat -u -b 131072 "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr" "OPEN:$work/dst.bin,creat,trunc" 2>/dev/null &
		rx=$!
		until listening $p || ! kill -0 $rx 2>/dev/null; do sleep 0.005; done
		listening $p && break
		wait $rx || true
	done
	local t0; t0=$(now)
	socat -u -b 131072 "OPEN:$work/src.bin" "TCP:127.0.0.1:$p"
	wait $rx
	sync "$work/dst.bin" # fsync(2) of that file
	ms "$t0" "$(now)"
	rm -f "$work/dst.bin"
}

wirelab_run() {
	local t0; t0=$(now)
	echo "put $work/src.bin" | "$wirelab" run upload_client --port "$port" >"$work/client.out"
	ms "$t0" "$(now)"
	grep -q '^uploaded ' "$work/client.out" || { cat "$work/client.out" >&2; exit 1; }
	rm -f "$work/store/src.bin"
}

# stats NUMBERS...: min median max of 3 (or more) numbers.
stats() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%s %s %s", a[1], a[int((NR+1)/2)], a[NR]}'; }

declare -a S W R
for i in $(seq $rounds); do
	s=$(socat_run)
	w=$(wirelab_run)
	r=$(awk -v s="$s" -v w="$w" 'BEGIN {printf "%.3f", s / w}')
	S+=("$s") W+=("$w") R+=("$r")
	echo "round $i: socat+fsync $s ms, wirelab $w ms, wirelab/socat $r"
done

rate() { awk -v m="$mib" -v t="$1" 'BEGIN {printf "%.0f", m / (t / 1000)}'; }
read -r smin smed smax <<<"$(stats "${S[@]}")"
read -r wmin wmed wmax <<<"$(stats "${W[@]}")"
read -r rmin rmed rmax <<<"$(stats "${R[@]}")"
echo
echo "$mib MiB, $rounds rounds (min / median / max)"
echo "socat+fsync:  $smin / $smed / $smax ms   $(rate "$smax") / $(rate "$smed") / $(rate "$smin") MiB/s"
echo "wirelab:      $wmin / $wmed / $wmax ms   $(rate "$wmax") / $(rate "$wmed") / $(rate "$wmin") MiB/s"
echo "wirelab/socat throughput ratio: $rmin / $rmed / $rmax (target >= 0.9)"
