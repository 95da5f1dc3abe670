#!/usr/bin/env bash
# Issue 9's upload figure, side by side, in one command:
#
#   bench/upload.sh [MiB]          (default 256)
#
# builds wirelab (or uses $WIRELAB), makes a random file, then runs 5 rounds
# of: socat -u -b 131072 over loopback TCP into a file followed by fsync (a
# durable copy without verification), and `put` through upload_client to
# upload_server (the digest computed and checked at both ends, the file
# synced before it is linked) once per digest: "wirelab md5" (--hash md5,
# the upload older wirelabs made, its request the documents' one), "wirelab
# blake3" (the default between two wirelabs) and "wirelab sha256". Each
# round runs the contenders in another order (socat first in the first
# round, wirelab md5 first in the next, ...), so that none always runs on a
# machine warmed, or loaded, by the one before. It prints each round's
# times and throughput ratios wirelab/socat, then min/median/max of each
# contender and of each ratio (and, when $RESULTS names a file, appends
# them there as "RESULT<tab>figure<tab>min<tab>median<tab>max" lines for
# bench/run.sh's table). Everything lives in one temporary directory
# (on $TMPDIR's file system), removed at the end.
# Needs bash, socat, /proc/net/tcp, and go unless $WIRELAB is set.
set -euo pipefail

mib=${1:-256}
rounds=5
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

# wirelab_run ALGO: one `put` with --hash ALGO, in ms.
wirelab_run() {
	local t0; t0=$(now)
	echo "put $work/src.bin" | "$wirelab" run upload_client --port "$port" --hash "$1" >"$work/client.out"
	ms "$t0" "$(now)"
	grep -q "^uploaded .*, $1 [0-9a-f]*)\$" "$work/client.out" || { cat "$work/client.out" >&2; exit 1; }
	rm -f "$work/store/src.bin"
}

# stats NUMBERS...: min median max of 3 (or more) numbers.
stats() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%s %s %s", a[1], a[int((NR+1)/2)], a[NR]}'; }

contenders=(socat md5 blake3 sha256)
declare -A T R # T[name]="ms ms ...", R[name]="ratio ratio ..."
for i in $(seq "$rounds"); do
	k=$(( (i - 1) % ${#contenders[@]} ))
	order=("${contenders[@]:k}" "${contenders[@]:0:k}")
	declare -A t=()
	for c in "${order[@]}"; do
		if [ "$c" = socat ]; then t[$c]=$(socat_run); else t[$c]=$(wirelab_run "$c"); fi
		T[$c]+="${t[$c]} "
	done
	line="round $i (${order[*]}): socat+fsync ${t[socat]} ms"
	for c in "${contenders[@]:1}"; do
		r=$(awk -v s="${t[socat]}" -v w="${t[$c]}" 'BEGIN {printf "%.3f", s / w}')
		R[$c]+="$r "
		line+=", $c ${t[$c]} ms ($r)"
	done
	echo "$line"
done

rate() { awk -v m="$mib" -v t="$1" 'BEGIN {printf "%.0f", m / (t / 1000)}'; }
echo
echo "$mib MiB, $rounds rounds, order rotated (min / median / max)"
for c in "${contenders[@]}"; do
	read -r tmin tmed tmax <<<"$(stats ${T[$c]})"
	name="wirelab $c"
	[ "$c" = socat ] && name="socat+fsync"
	printf '%-16s %6s / %6s / %6s ms   %5s / %5s / %5s MiB/s\n' "$name:" "$tmin" "$tmed" "$tmax" \
		"$(rate "$tmax")" "$(rate "$tmed")" "$(rate "$tmin")"
done
echo "throughput ratio wirelab/socat+fsync, per round (min / median / max):"
for c in "${contenders[@]:1}"; do
	read -r rmin rmed rmax <<<"$(stats ${R[$c]})"
	target=""
	[ "$c" = blake3 ] && target="   (target: median >= 0.75)"
	printf '  %-7s %s / %s / %s%s\n' "$c" "$rmin" "$rmed" "$rmax" "$target"
	if [ -n "${RESULTS:-}" ]; then
		printf 'RESULT\tupload %s MiB %s/socat+fsync\t%s\t%s\t%s\n' "$mib" "$c" "$rmin" "$rmed" "$rmax" >>"$RESULTS"
	fi
done
