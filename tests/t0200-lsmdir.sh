#!/bin/sh
# The .lsm/ directory: every file listed and read while a load runs;
# flush_queue_depth seen above 0 under a burst with a slowed flush and 0
# when idle; stalls seen through .lsm/stalls and write_stalled; the wal
# ratios; level listings equal to stats.json and to the MANIFEST; JSON and
# Prometheus output valid; stable inode numbers, modes and sizes; nothing
# inside can be changed; `lsm stats` prints the same level table offline.
. "$(dirname "$0")/lib.sh"
need_fuse
need_lsm
command -v python3 >/dev/null || fail "python3 is needed to check stats.json"

L=$MNT/.lsm
LOADPID=
# stop a load still running before lib.sh unmounts
trap 'rc=$?; set +e; [ -z "$LOADPID" ] || kill $LOADPID 2>/dev/null; (exit $rc); lib_cleanup' EXIT

FIXED="README flush_queue_depth l0_files pending_compaction_bytes
write_stalled stalls memtable wal compaction cache stats stats.json
metrics.prom levels/summary"

# value NAME FILE: the value of a "name value" line
value() {
	v=$(awk -v n="$1" '$1 == n { print $2; f = 1 } END { exit !f }' "$2") ||
		fail "no '$1' in $2"
	echo "$v"
}

# load DIR COUNT KIB: writes COUNT files of KIB KiB of random bytes
load() {
	mkdir -p "$1"
	i=0
	while [ $i -lt "$2" ]; do
		dd if=/dev/urandom of="$1/f$i" bs=1k count="$3" status=none
		i=$((i + 1))
	done
}

start_load() {
	load "$@" &
	LOADPID=$!
}

finish_load() {
	wait "$LOADPID" || fail "the load failed"
	LOADPID=
}

check_json() {
	python3 -m json.tool "$1" >/dev/null || fail "$1 is not valid JSON"
}

check_prom() {
	if command -v promtool >/dev/null; then
		promtool check metrics <"$1" || fail "promtool rejects $1"
		return
	fi
	note "promtool absent (Debian package prometheus): using a local checker"
	python3 - "$1" <<'EOF' || fail "$1 is not valid Prometheus text"
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
sample = re.compile(r'^(%s)(\{(%s="(?:[^"\\\n]|\\.)*")(,%s="(?:[^"\\\n]|\\.)*")*\})? (\S+)$'
		    % (name, name, name))
help_, type_, seen = {}, {}, set()
for n, line in enumerate(open(sys.argv[1]), 1):
	line = line.rstrip('\n')
	m = re.match(r'^# (HELP|TYPE) (%s) (.+)$' % name, line)
	if m:
		d = help_ if m.group(1) == 'HELP' else type_
		assert m.group(2) not in d, 'line %d: second %s' % (n, m.group(1))
		d[m.group(2)] = m.group(3)
		continue
	m = sample.match(line)
	assert m, 'line %d: bad sample %r' % (n, line)
	metric = m.group(1)
	assert metric.startswith('lsmfs_'), 'line %d: not lsmfs_' % n
	assert metric in help_ and metric in type_, 'line %d: no HELP/TYPE' % n
	t = type_[metric]
	assert t in ('counter', 'gauge'), 'line %d: type %s' % (n, t)
	assert (t == 'counter') == metric.endswith('_total'), \
		'line %d: _total iff counter' % n
	assert not re.search(r'_(micros|millis|kb|mb)', metric), 'line %d: unit' % n
	float(m.group(5))
	key = (metric, m.group(2))
	assert key not in seen, 'line %d: duplicate series' % n
	seen.add(key)
assert seen, 'no samples'
EOF
}

# read_all: ls -R and cat of every file; tables may vanish (compaction)
read_all() {
	ls -lR "$L" >/dev/null || fail "ls -R .lsm"
	for f in $FIXED; do
		cat "$L/$f" >"$TESTDIR/copy" || fail "cat .lsm/$f"
		[ -s "$TESTDIR/copy" ] || fail ".lsm/$f is empty"
	done
	for f in "$L"/levels/L*/*.sst; do
		[ -e "$f" ] || continue
		if ! cat "$f" >"$TESTDIR/copy" 2>"$TESTDIR/err"; then
			grep -q "No such file" "$TESTDIR/err" ||
				fail "cat $f: $(cat "$TESTDIR/err")"
		fi
	done
	# the whole text, however much it grew since getattr
	cat "$L/metrics.prom" >"$TESTDIR/m.prom"
	tail -n 1 "$TESTDIR/m.prom" | grep -q '^lsmfs_write_stalled [01]$' ||
		fail "metrics.prom cut short"
}

# wait_idle: no frozen memtable, no flush or compaction running
wait_idle() {
	for _ in $(seq 300); do
		cat "$L/memtable" "$L/compaction" >"$TESTDIR/idle"
		if [ "$(value flush_queue_depth "$TESTDIR/idle")" = 0 ] &&
		   [ "$(value running_flushes "$TESTDIR/idle")" = 0 ] &&
		   [ "$(value running_compactions "$TESTDIR/idle")" = 0 ]; then
			return 0
		fi
		sleep 0.1
	done
	fail "the store did not become idle within 30 s"
}

# ---- 1. the tree ----
mount_fs -o write_buffer_size=256K
expect_eq "$(ls "$L" | tr '\n' ' ')" \
	"README cache compaction flush_queue_depth l0_files levels memtable metrics.prom pending_compaction_bytes stalls stats stats.json wal write_stalled " \
	"ls .lsm"
expect_eq "$(ls "$L/levels" | tr '\n' ' ')" "L0 L1 L2 L3 L4 L5 L6 summary " \
	"ls .lsm/levels"
expect_eq "$(stat -c '%a %h' "$L")" "555 3" ".lsm mode and links"
expect_eq "$(stat -c '%a %h' "$L/levels")" "555 9" "levels mode and links"
expect_eq "$(stat -c '%a %h' "$L/levels/L3")" "555 2" "L3 mode and links"
for f in $FIXED; do
	expect_eq "$(stat -c '%a %h %F' "$L/$f")" "444 1 regular file" "$f"
done
for f in flush_queue_depth l0_files pending_compaction_bytes write_stalled; do
	grep -qx '[0-9][0-9]*' "$L/$f" || fail ".lsm/$f is not one integer"
	expect_eq "$(wc -l <"$L/$f")" 1 ".lsm/$f lines"
done
expect_eq "$(stat -c %s "$L/README")" "$(wc -c <"$L/README")" "README size"
expect_eq "$(stat -c %s "$L/write_stalled")" 2 "write_stalled size"
for f in $FIXED levels/L0 levels/L6; do
	grep -q "${f#levels/}" "$L/README" || fail "README does not explain $f"
done
# stable inode numbers in the virtual range
ino=$(stat -c %i "$L/README")
expect_eq "$(stat -c %i "$L/README")" "$ino" "README inode again"
python3 -c "import sys; sys.exit(int(sys.argv[1]) < 2**63)" "$ino" ||
	fail "README inode $ino below the virtual range"
[ "$(stat -c %i "$L/wal")" != "$ino" ] || fail "two files share an inode"
# hidden from listings (cp -r, tar, rsync, find copy files, not stats),
# reachable by name
! ls -a "$MNT" | grep -qx .lsm || fail ".lsm listed in the root"
[ -d "$MNT/.lsm" ] || fail ".lsm not reachable by name"

# ---- 2. a burst with a slowed flush: the queue builds, then drains ----
# the engine reads its test hooks when the store opens
unmount_fs
export LSM_TEST_FLUSH_DELAY_US=200000
mount_fs -o write_buffer_size=256K
unset LSM_TEST_FLUSH_DELAY_US
# 32 memtables of 256 KiB, each flush slowed to 0.2 s: at least 6 s of load
# with frozen memtables queued. The sweeps start once the queue was seen,
# so that on a loaded machine they cannot use up the burst before it is.
start_load "$MNT/burst" 32 256
maxq=0
sweeps=0
while kill -0 "$LOADPID" 2>/dev/null; do
	q=$(cat "$L/flush_queue_depth")
	[ "$q" -le "$maxq" ] || maxq=$q
	if [ "$maxq" -gt 0 ] && [ $sweeps -lt 3 ]; then
		read_all
		check_json "$L/stats.json"
		sweeps=$((sweeps + 1))
	fi
	sleep 0.05
done
finish_load
[ "$maxq" -gt 0 ] || fail "flush_queue_depth never above 0 under the burst"
[ $sweeps -gt 0 ] || fail "the load ended before .lsm/ was read"
note "flush_queue_depth reached $maxq"
wait_idle
expect_eq "$(cat "$L/flush_queue_depth")" 0 "flush_queue_depth when idle"
cat "$L/stalls" >"$TESTDIR/stalls"
[ "$(value memtable_limit_count "$TESTDIR/stalls")" -gt 0 ] ||
	fail "no memtable_limit stall with a slowed flush"
[ "$(value flushes "$L/memtable")" -ge 16 ] || fail "too few flushes"

# ---- 3. L0 stalls with a slowed compaction and low L0 triggers ----
unmount_fs
export LSM_TEST_COMPACTION_DELAY_US=1500000
mount_fs -o write_buffer_size=256K,l0_slowdown_trigger=4,l0_stop_trigger=5
unset LSM_TEST_COMPACTION_DELAY_US
start_load "$MNT/l0" 10 256
saw_stall=0
while kill -0 "$LOADPID" 2>/dev/null; do
	[ "$(cat "$L/write_stalled")" = 0 ] || saw_stall=1
	sleep 0.05
done
finish_load
cat "$L/stalls" >"$TESTDIR/stalls"
slow=$(value l0_slowdown_count "$TESTDIR/stalls")
stop=$(value l0_stop_count "$TESTDIR/stalls")
note "l0_slowdown_count $slow l0_stop_count $stop, write_stalled seen: $saw_stall"
[ "$slow" -gt 0 ] || fail "no l0_slowdown stall"
[ "$stop" -gt 0 ] || fail "no l0_stop stall"
[ "$(value l0_stop_micros "$TESTDIR/stalls")" -gt 100000 ] ||
	fail "l0_stop stalls lasted under 0.1 s with a 1.5 s compaction"
[ $saw_stall = 1 ] || fail "write_stalled never 1 during the L0 stall"
wait_idle
cat "$L/stalls" >"$TESTDIR/stalls"
for c in l0_slowdown l0_stop memtable_limit; do
	expect_eq "$(value ${c}_active "$TESTDIR/stalls")" 0 "$c active when idle"
done
expect_eq "$(cat "$L/write_stalled")" 0 "write_stalled when idle"
grep -q 'lsmfs_stalls_total{cause="l0_stop"} [1-9]' "$L/metrics.prom" ||
	fail "metrics.prom lacks the l0_stop stalls"

# ---- 4. group commit: concurrent durable writers ----
remount -o sync=always,write_buffer_size=256K
writers=
for w in 1 2 3 4; do
	(
		mkdir "$MNT/w$w"
		for i in $(seq 40); do echo "$w $i" >"$MNT/w$w/f$i"; done
	) &
	writers="$writers $!"
done
LOADPID=$writers
for p in $writers; do
	wait "$p" || fail "writer $p failed"
done
LOADPID=
cat "$L/wal" >"$TESTDIR/wal"
writes=$(value writes "$TESTDIR/wal")
records=$(value wal_records "$TESTDIR/wal")
syncs=$(value wal_syncs "$TESTDIR/wal")
requests=$(value sync_requests "$TESTDIR/wal")
[ "$writes" -ge 160 ] || fail "wal: $writes writes for 160 files"
[ "$requests" -ge 160 ] || fail "wal: $requests sync requests with sync=always"
[ "$syncs" -gt 0 ] || fail "wal: no syncs with sync=always"
awk -v w="$writes" -v r="$records" -v s="$syncs" -v q="$requests" \
	-v wpg="$(value writes_per_group_commit "$TESTDIR/wal")" \
	-v spr="$(value syncs_per_sync_request "$TESTDIR/wal")" 'BEGIN {
	d1 = wpg - w / r; d2 = spr - s / q
	exit !(d1 < 0.001 && d1 > -0.001 && d2 < 0.001 && d2 > -0.001 &&
	       wpg >= 1 && spr <= 1)
}' || fail "wal ratios do not match: $(tr '\n' ' ' <"$TESTDIR/wal")"
note "wal: $(grep _per_ "$TESTDIR/wal" | tr '\n' ' ')"

# ---- 5. nothing inside .lsm/ can be changed ----
echo data >"$MNT/plain"
table=$(ls "$L"/levels/L*/*.sst | head -n 1)
[ -n "$table" ] || fail "no table listed after the loads"
ls -lRi "$L" | grep -v '^total' | awk '{ print $1, $2, $NF }' >"$TESTDIR/before"
md5=$(md5sum <"$L/README")
ro="Read-only file system"
expect_errno "$ro" sh -c "echo x >'$L/flush_queue_depth'"
expect_errno "$ro" sh -c "echo x >>'$L/README'"
expect_errno "$ro" sh -c "echo x >'$table'"
expect_errno "$ro" sh -c "echo x >'$L/new'"
expect_errno "$ro" touch "$L/levels/L0/000001.sst"
expect_errno "$ro" truncate -s 0 "$L/README"
expect_errno "$ro" truncate -s 0 "$table"
expect_errno "$ro" rm -f "$L/README"
expect_errno "$ro" rm -f "$table"
expect_errno "$ro" mv "$L/README" "$L/README2"
expect_errno "$ro" mv "$L/stats" "$MNT/stats"
expect_errno "$ro" mv "$MNT/plain" "$L/plain"
expect_errno "$ro" mv "$table" "$L/levels/L6/"
expect_errno "$ro" chmod 600 "$L/README"
expect_errno "$ro" chmod 700 "$L/levels"
expect_errno "$ro" chown 1:1 "$L/README"
expect_errno "$ro" touch -d @0 "$L/README"
expect_errno "$ro" mkdir "$L/d"
expect_errno "$ro" rmdir "$L/levels/L6"
expect_errno "$ro" ln -s x "$L/sym"
expect_errno "$ro" ln "$MNT/plain" "$L/hard"
expect_errno "$ro" mkfifo "$L/fifo"
python3 -c "import os, sys; os.setxattr(sys.argv[1], 'user.x', b'1')" \
	"$L/README" 2>"$TESTDIR/err" && fail "setxattr in .lsm succeeded"
grep -q "$ro" "$TESTDIR/err" || fail "setxattr: $(cat "$TESTDIR/err")"
# .lsm itself
expect_errno "File exists" mkdir "$MNT/.lsm"
rmdir "$MNT/.lsm" 2>/dev/null && fail "rmdir .lsm succeeded"
rm -rf "$MNT/.lsm" 2>/dev/null && fail "rm -rf .lsm succeeded"
mv "$MNT/.lsm" "$MNT/moved" 2>/dev/null && fail "rename of .lsm succeeded"
mkdir "$MNT/dir"
mv "$MNT/dir" "$MNT/.lsm" 2>/dev/null && fail "rename onto .lsm succeeded"
[ -d "$MNT/dir" ] || fail "dir lost"
ls -lRi "$L" | grep -v '^total' | awk '{ print $1, $2, $NF }' >"$TESTDIR/after"
cmp -s "$TESTDIR/before" "$TESTDIR/after" ||
	fail ".lsm changed: $(diff "$TESTDIR/before" "$TESTDIR/after")"
expect_eq "$(md5sum <"$L/README")" "$md5" "README after the attempts"
expect_eq "$(cat "$MNT/plain")" data "plain after the attempts"

# ---- 6. level listings: stats.json, the tables themselves, MANIFEST ----
wait_idle
cat "$L/stats.json" >"$TESTDIR/stats.json"
cat "$L/metrics.prom" >"$TESTDIR/metrics.prom"
cat "$L/levels/summary" >"$TESTDIR/summary"
check_json "$TESTDIR/stats.json"
check_prom "$TESTDIR/metrics.prom"
for d in "$L"/levels/L*; do
	l=${d##*/}
	ls -l "$d" | awk -v l="$l" 'NF > 2 { print l, $NF, $5 }'
done | sort >"$TESTDIR/listed"
[ -s "$TESTDIR/listed" ] || fail "no tables listed"
python3 - "$TESTDIR/stats.json" <<'EOF' | sort >"$TESTDIR/json"
import json, sys
for f in json.load(open(sys.argv[1]))["files"]:
	print("L%d %06d.sst %d" % (f["level"], f["number"], f["size"]))
EOF
cmp -s "$TESTDIR/listed" "$TESTDIR/json" ||
	fail "levels/ and stats.json differ: $(diff "$TESTDIR/listed" "$TESTDIR/json")"
while read -r l name size; do
	cat "$L/levels/$l/$name" >"$TESTDIR/table"
	expect_eq "$(value name "$TESTDIR/table")" "$name" "$l/$name name"
	expect_eq "$(value level "$TESTDIR/table")" "${l#L}" "$l/$name level"
	expect_eq "$(value size "$TESTDIR/table")" "$size" "$l/$name size"
	[ "$(value entries "$TESTDIR/table")" -gt 0 ] || fail "$name: no entries"
	[ "$(value data_blocks "$TESTDIR/table")" -gt 0 ] || fail "$name: no blocks"
	expect_eq "$(value bloom_bits_per_key "$TESTDIR/table")" 10 "$name bloom"
	value compression_ratio "$TESTDIR/table" | grep -qx '[0-9]*\.[0-9]\{3\}' ||
		fail "$name: compression_ratio"
	value reason "$TESTDIR/table" | grep -qx 'flush\|compaction' ||
		fail "$name: reason"
	for k in tombstones smallest_key largest_key min_sequence max_sequence \
		 raw_data_bytes stored_data_bytes compression; do
		value $k "$TESTDIR/table" >/dev/null
	done
done <"$TESTDIR/listed"
# an absent table, a non-canonical name
[ ! -e "$L/levels/L0/999999999.sst" ] || fail "absent table exists"
n=$(head -n 1 "$TESTDIR/listed" | awk '{ print $2 }')
l=$(head -n 1 "$TESTDIR/listed" | awk '{ print $1 }')
[ ! -e "$L/levels/$l/0$n" ] || fail "0$n exists"
unmount_fs

# what the MANIFEST says is live: replay its adds and deletes
current=$(cat "$DATA/CURRENT")
"$LSM" dump-manifest "$DATA/$current" | awk '
	$1 == "add" { live[$2 " " $3] = $5 }
	$1 == "delete" { delete live[$2 " " $3] }
	END { for (k in live) print k, live[k] }' | sort >"$TESTDIR/manifest"
cmp -s "$TESTDIR/listed" "$TESTDIR/manifest" ||
	fail "levels/ and MANIFEST differ: $(diff "$TESTDIR/listed" "$TESTDIR/manifest")"
note "$(wc -l <"$TESTDIR/listed") tables, as in the MANIFEST"

# ---- 7. offline: lsm stats prints the same level table; no .lsm key ----
# the remount turns the WAL into a table, so that `lsm stats` opens a store
# with nothing to replay, in the state the mount showed last
mount_fs
expect_eq "$(stat -c %i "$L/README")" "$ino" "README inode after remount"
expect_eq "$(md5sum <"$L/README")" "$md5" "README after remount"
wait_idle
cat "$L/levels/summary" >"$TESTDIR/summary"
unmount_fs
"$LSM" stats "$DATA" >"$TESTDIR/offline" || fail "lsm stats"
head -n 8 "$TESTDIR/offline" | awk '{ print $1, $2, $3, $4 }' >"$TESTDIR/off"
awk '{ print $1, $2, $3, $4 }' "$TESTDIR/summary" >"$TESTDIR/on"
cmp -s "$TESTDIR/on" "$TESTDIR/off" ||
	fail "lsm stats level table differs: $(diff "$TESTDIR/on" "$TESTDIR/off")"
"$LSM" stats --json "$DATA" >"$TESTDIR/offline.json" || fail "lsm stats --json"
check_json "$TESTDIR/offline.json"
"$LSM" stats --prometheus "$DATA" >"$TESTDIR/offline.prom" ||
	fail "lsm stats --prometheus"
check_prom "$TESTDIR/offline.prom"
"$LSM" scan "$DATA" >"$TESTDIR/scan" || fail "lsm scan"
grep -q 'plain' "$TESTDIR/scan" || fail "lsm scan does not show the files"
! grep -q '\.lsm' "$TESTDIR/scan" || fail "lsm scan shows .lsm"
"$LSM" put "$DATA" .lsm/x v 2>/dev/null && fail "lsm put .lsm/x succeeded"
"$LSM" scan "$DATA" | grep -q '\.lsm' && fail ".lsm key stored"
echo "t0200: ok"
