# lib.sh - shared helpers for the lsmfs shell tests (tests/t0*.sh).
#
# Source it first. It sets -eu, makes a private temp directory holding
# $DATA (the store) and $MNT (the mount point), and installs a trap that on
# every exit unmounts with fusermount3 -u, stops the daemon it started (by
# pid) and removes the temp directory.
#
#   need_fuse          exit 77 (skip) only when /dev/fuse is absent, saying so
#   mount_fs [ARGS]    start "lsmfs -f ARGS $DATA $MNT" and wait for the mount
#   unmount_fs         fusermount3 -u and wait for a clean daemon exit
#   remount [ARGS]     both
#   kill_fs            SIGKILL the daemon and clear the dead mount
#   fail MSG / expect_eq GOT WANT MSG / expect_errno ERRTEXT CMD...
#
# A test that needs more undone on exit (a tmpfs it mounted) defines
# test_cleanup; it runs after the unmount and the daemon's end, before the
# temp directory goes.
#
# Binaries: $LSMFS (default ${top_builddir:-.}/fs/lsmfs) and $LSM (default
# ${top_builddir:-.}/tools/lsm).

set -eu
export LC_ALL=C

top_builddir=${top_builddir:-.}
LSMFS=${LSMFS:-$top_builddir/fs/lsmfs}
LSM=${LSM:-$top_builddir/tools/lsm}
case $LSMFS in /*) ;; *) LSMFS=$PWD/$LSMFS ;; esac
case $LSM in /*) ;; *) LSM=$PWD/$LSM ;; esac

TEST_NAME=$(basename "$0" .sh)
TESTDIR=$(mktemp -d "${TMPDIR:-/tmp}/lsmfs-$TEST_NAME.XXXXXX")
DATA=$TESTDIR/data
MNT=$TESTDIR/mnt
LOG=$TESTDIR/lsmfs.log
LSMFS_PID=
mkdir -p "$MNT"

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

note() {
	echo "# $*"
}

is_mounted() {
	grep -qs " $MNT fuse" /proc/mounts
}

lib_cleanup() {
	rc=$?
	set +e
	# a reader that went away must not stop the cleanup half-way
	trap '' PIPE
	cd /
	if is_mounted; then
		fusermount3 -u "$MNT" 2>/dev/null ||
			fusermount3 -uz "$MNT" 2>/dev/null
	fi
	if [ -n "$LSMFS_PID" ]; then
		# give a clean unmount time to close the store, then insist
		for _ in $(seq 50); do
			kill -0 "$LSMFS_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$LSMFS_PID" 2>/dev/null
		wait "$LSMFS_PID" 2>/dev/null
	fi
	if command -v test_cleanup >/dev/null 2>&1; then
		test_cleanup
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -s "$LOG" ]; then
		echo "--- lsmfs log ---" >&2
		tail -n 30 "$LOG" >&2
	fi
	rm -rf "$TESTDIR"
	exit "$rc"
}
trap lib_cleanup EXIT
trap 'exit 130' INT TERM HUP

need_fuse() {
	if [ ! -e /dev/fuse ]; then
		echo "SKIP: $TEST_NAME: /dev/fuse is absent, cannot mount" >&2
		exit 77
	fi
	[ -x "$LSMFS" ] || fail "lsmfs binary '$LSMFS' not built"
}

need_lsm() {
	[ -x "$LSM" ] || fail "lsm tool '$LSM' not built"
}

mount_fs() {
	[ -z "$LSMFS_PID" ] || fail "mount_fs: already mounted"
	"$LSMFS" -f "$@" "$DATA" "$MNT" >>"$LOG" 2>&1 &
	LSMFS_PID=$!
	for _ in $(seq 200); do
		if is_mounted; then
			return 0
		fi
		if ! kill -0 "$LSMFS_PID" 2>/dev/null; then
			wait "$LSMFS_PID" || true
			LSMFS_PID=
			cat "$LOG" >&2
			fail "lsmfs exited instead of mounting"
		fi
		sleep 0.05
	done
	fail "lsmfs did not mount within 10 s"
}

unmount_fs() {
	[ -n "$LSMFS_PID" ] || fail "unmount_fs: not mounted"
	cd /
	fusermount3 -u "$MNT" || fail "fusermount3 -u failed"
	st=0
	wait "$LSMFS_PID" || st=$?
	LSMFS_PID=
	[ "$st" -eq 0 ] || fail "lsmfs exited with status $st after unmount"
}

remount() {
	unmount_fs
	mount_fs "$@"
}

kill_fs() {
	[ -n "$LSMFS_PID" ] || fail "kill_fs: not mounted"
	cd /
	kill -9 "$LSMFS_PID"
	wait "$LSMFS_PID" 2>/dev/null || true
	LSMFS_PID=
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
}

expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# expect_errno TEXT CMD...: CMD must fail and say TEXT (strerror text).
expect_errno() {
	want=$1
	shift
	if out=$("$@" 2>&1); then
		fail "'$*' succeeded, want '$want'"
	fi
	case $out in
	*"$want"*) ;;
	*) fail "'$*' said '$out', want '$want'" ;;
	esac
}
