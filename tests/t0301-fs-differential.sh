#!/bin/sh
# Differential test (issue 9, item 6): tests/fsdiff.py applies one seeded
# random sequence of operations to a directory on the mount and to a
# reference directory on tmpfs (/dev/shm when it is a writable tmpfs, else
# the test's temp directory), compares every result, and finally both trees
# byte for byte. Its remount operations remount lsmfs here.
#
# CI: 4 seeds x 25,000 operations. LSMFS_DIFF_OPS sets the operations per
# seed, LSMFS_DIFF_SEEDS the seeds ("1 2 3 4"), LSMFS_DIFF_ARGS more
# options of fsdiff.py (e.g. "--trace 500" to see more history).
. "$(dirname "$0")/lib.sh"
need_fuse
command -v python3 >/dev/null || fail "python3 is needed"

FSDIFF=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)/tests/fsdiff.py
OPS=${LSMFS_DIFF_OPS:-25000}
SEEDS=${LSMFS_DIFF_SEEDS:-1 2 3 4}

REFBASE=
if [ -d /dev/shm ] && [ -w /dev/shm ] &&
	[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	REFBASE=$(mktemp -d /dev/shm/lsmfs-fsdiff.XXXXXX)
else
	REFBASE=$TESTDIR/ref
	mkdir "$REFBASE"
fi
# remove the reference tree too, then run lib.sh's cleanup (same status)
trap 'trc=$?; set +e; case $REFBASE in /dev/shm/*) rm -rf "$REFBASE" ;; esac; (exit $trc); lib_cleanup' EXIT
note "reference on $(stat -f -c %T "$REFBASE"), $OPS operations per seed"

mount_fs
for seed in $SEEDS; do
	mkdir "$MNT/s$seed" "$REFBASE/s$seed"
	# (not "st": lib.sh's unmount_fs uses that name)
	drc=3
	while [ "$drc" -eq 3 ]; do
		drc=0
		# shellcheck disable=SC2086 # extra options, split on purpose
		python3 "$FSDIFF" ${LSMFS_DIFF_ARGS:-} --seed "$seed" --ops "$OPS" \
			--state "$TESTDIR/fsdiff.state" \
			"$MNT/s$seed" "$REFBASE/s$seed" || drc=$?
		case $drc in
		0) ;;
		3) remount ;;
		*) fail "seed $seed: lsmfs differs from the reference" ;;
		esac
	done
done
# after a last clean remount the trees are still equal (no operations)
remount
for seed in $SEEDS; do
	python3 "$FSDIFF" --ops 0 "$MNT/s$seed" "$REFBASE/s$seed" >/dev/null ||
		fail "seed $seed: trees differ after the last remount"
done
unmount_fs
echo "t0301: ok"
