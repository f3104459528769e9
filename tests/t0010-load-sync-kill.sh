#!/bin/bash
# t0010-load-sync-kill.sh - crash test of `lsm load --sync --echo`.
#
# KEY<TAB>VALUE lines are piped into `lsm load --sync --echo DIR` in the
# background; the loader is SIGKILLed at three points (right after its first
# acknowledgement, and about 0.5 s and 1.5 s later), each time on a fresh key
# prefix of the same store. With --sync a key is echoed only once it is
# durable, so after each kill every echoed key must be in the store with
# exactly its value, and the keys present must be the echoed ones plus at
# most the one line in flight (lines are stored in input order).
#
# Needs ${top_builddir:-.}/tools/lsm (or $LSM). LSM_TEST_LINES sets the
# number of input lines per round (default 200000; the loader never gets
# through them before the kill).
set -euo pipefail
export LC_ALL=C

LSM=${LSM:-${top_builddir:-.}/tools/lsm}
LINES=${LSM_TEST_LINES:-200000}
name=$(basename "$0" .sh)

fail() {
	echo "FAIL: $name: $*" >&2
	exit 1
}

[ -x "$LSM" ] || fail "the lsm tool '$LSM' is not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
loader=
cleanup() {
	if [ -n "$loader" ]; then
		kill -9 "$loader" 2>/dev/null || true
		wait "$loader" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

store=$tmp/store

# The input of round r: keys rR/000000.. in sorted (= input) order, values
# derived from the key and of varying length.
make_input() {
	awk -v r="$1" -v n="$LINES" 'BEGIN {
		for (i = 0; i < n; i++) {
			v = ""
			for (j = 0; j <= i % 7; j++)
				v = v "v" i "." r "-"
			printf "r%d/%06d\t%s\n", r, i, v
		}
	}'
}

# Waits up to 60 s for the first echoed line in $1.
wait_first_ack() {
	for _ in $(seq 600); do
		[ -s "$1" ] && return 0
		kill -0 "$loader" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/err" >&2 || true
	fail "the loader acknowledged nothing"
}

total=0
round=0
for extra in 0 0.5 1.5; do
	round=$((round + 1))
	make_input "$round" >"$tmp/in"
	: >"$tmp/echo"
	make_input "$round" | "$LSM" load --sync --echo "$store" \
		>"$tmp/echo" 2>"$tmp/err" &
	loader=$!
	wait_first_ack "$tmp/echo"
	sleep "$extra"
	killed=yes
	kill -9 "$loader" 2>/dev/null || killed=no
	status=0
	wait "$loader" 2>/dev/null || status=$?
	loader=
	if [ "$killed" = no ]; then
		# a very fast disk: it got through everything; still check
		[ "$status" -eq 0 ] ||
			fail "round $round: the loader failed (status $status)"
		echo "# round $round: the loader finished before the kill"
	fi

	# acknowledged keys: complete echoed lines only
	if [ -n "$(tail -c 1 "$tmp/echo")" ]; then
		sed '$d' "$tmp/echo" >"$tmp/acked"
	else
		cp "$tmp/echo" "$tmp/acked"
	fi
	acked=$(wc -l <"$tmp/acked")
	[ "$acked" -ge 1 ] || fail "round $round: nothing acknowledged"

	# the store opens (the dead loader's lock is gone) and lists the keys
	"$LSM" scan "$store" "r$round/" >"$tmp/scan" ||
		fail "round $round: scan after the kill failed"
	present=$(wc -l <"$tmp/scan")
	echo "# round $round: killed $extra s after the first ack:" \
		"$acked acknowledged, $present present"

	# every acknowledged key is present with its value's length, and the
	# present keys are exactly a prefix of the input
	awk -F '\t' -v acked="$acked" -v present="$present" '
		FILENAME == ARGV[1] { len[$1] = length($2); order[NR] = $1; next }
		{ n++
		  if ($1 != order[n]) {
			printf "present key #%d is %s, want %s\n", n, $1, order[n]
			bad = 1; exit 1
		  }
		  if ($2 != len[$1]) {
			printf "%s: length %s, want %d\n", $1, $2, len[$1]
			bad = 1; exit 1
		  }
		}
		END {
			if (bad) exit 1
			if (n < acked) {
				printf "%d keys acknowledged, %d present\n", acked, n
				exit 1
			}
			if (n > acked + 1) {
				printf "%d keys present, only %d acknowledged\n", n, acked
				exit 1
			}
		}' "$tmp/in" "$tmp/scan" || fail "round $round: scan does not match"
	cmp -s <(cut -f1 "$tmp/scan" | head -n "$acked") "$tmp/acked" ||
		fail "round $round: the echoed keys are not the stored ones"

	# values: the last acknowledged keys and a sample of the others
	{
		tail -n 3 "$tmp/acked"
		awk -v step=$(((acked + 19) / 20)) 'NR % step == 1' "$tmp/acked"
	} | sort -u >"$tmp/sample"
	while read -r key; do
		want=$(awk -F '\t' -v k="$key" '$1 == k { print $2; exit }' \
			"$tmp/in")
		got=$("$LSM" get "$store" "$key") ||
			fail "round $round: acknowledged key $key is missing"
		[ "$got" = "$want" ] ||
			fail "round $round: $key holds '$got', want '$want'"
	done <"$tmp/sample"
	total=$((total + present))
done

# all three rounds are still there together
all=$("$LSM" scan "$store" | wc -l)
[ "$all" -eq "$total" ] || fail "$all keys in the store, want $total"
echo "# ok: $total keys survived three kills"
