#!/bin/bash
# run.sh [SECONDS] - builds the libFuzzer targets with clang (ASan and UBSan
# on) and runs each for SECONDS (default 20) on its corpus.
#
#   tests/fuzz/run.sh 20      what CI runs (about 20 s per target)
#   tests/fuzz/run.sh 300     the longer run (`make fuzz`)
#
# Targets: fuzz_wal, fuzz_sst, fuzz_manifest, fuzz_batch, fuzz_keyspace
# (tests/fuzz/fuzz_*.c). FUZZ_SEED=N fixes libFuzzer's random seed, so that
# a run retraces the same inputs (CI uses it: a fuzzer that wanders into a
# new crash on its own should fail a fuzzing session, not an unrelated
# landing). FUZZ_TARGETS="wal sst" picks some; FUZZ_BUILD=DIR
# keeps the build (and the inputs found) in DIR instead of a temporary
# directory. New inputs go to DIR/corpus/TARGET, the committed seeds in
# tests/fuzz/corpus/TARGET are only read. A crash leaves its input in
# DIR/crash-TARGET-*: copy it to tests/fuzz/corpus/TARGET/regress-NAME (so
# tests/check_fuzz_corpus replays it in `make check`) and fix the bug.
# Exit status: 0 all clean, 1 a target crashed, 77 clang/libFuzzer missing.
set -euo pipefail
export LC_ALL=C

secs=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
CC=${FUZZ_CC:-clang}
targets=${FUZZ_TARGETS:-wal sst manifest batch keyspace}

if [ -n "${FUZZ_BUILD:-}" ]; then
	build=$FUZZ_BUILD
	mkdir -p "$build"
	keep=yes
else
	build=$(mktemp -d "${TMPDIR:-/tmp}/lsm-fuzz.XXXXXX")
	keep=
fi
cleanup() {
	rc=$?
	if [ -z "$keep" ]; then
		if [ "$rc" -ne 0 ] && ls "$build"/crash-* >/dev/null 2>&1; then
			echo "run.sh: crash inputs kept in $build" >&2
		else
			rm -rf "$build"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT

# Is there a working libFuzzer?
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)
{ (void)d; (void)n; return 0; }' >"$build/probe.c"
if ! "$CC" -fsanitize=fuzzer "$build/probe.c" -o "$build/probe" \
	2>"$build/probe.err"; then
	echo "SKIP: run.sh: '$CC -fsanitize=fuzzer' does not work" \
		"(apt-get install clang libclang-rt-dev):" >&2
	head -n 3 "$build/probe.err" >&2
	exit 77
fi

if [ -f "${top_builddir:-$src}/config.h" ]; then
	inc=${top_builddir:-$src}
else
	echo '#define PACKAGE_VERSION "0.1.0"' >"$build/config.h"
	inc=$build
fi
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-std=gnu11 -O1 -g -fno-omit-frame-pointer $san -I$inc -I$src/engine -I$src/fs"

# the engine and schema objects, built once for every target
mkdir -p "$build/obj"
objs=
for f in "$src"/engine/*.c "$src/fs/keyspace.c" "$src/fs/keypath.c" \
	"$src/fs/inode.c" "$src/fs/filedata.c"; do
	o=$build/obj/$(basename "$f" .c).o
	if [ ! -f "$o" ] || [ "$f" -nt "$o" ]; then
		# shellcheck disable=SC2086
		"$CC" $cflags -fsanitize=fuzzer-no-link -c "$f" -o "$o"
	fi
	objs="$objs $o"
done

failed=
for t in $targets; do
	# shellcheck disable=SC2086
	"$CC" $cflags -fsanitize=fuzzer "$here/fuzz_$t.c" $objs \
		-lzstd -llz4 -lxxhash -lpthread -o "$build/fuzz_$t"
	mkdir -p "$build/corpus/$t"
	echo "fuzz_$t: $secs s"
	if "$build/fuzz_$t" "$build/corpus/$t" "$here/corpus/$t" \
		${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
		-max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$build/crash-$t-" >"$build/$t.log" 2>&1; then
		grep -E '^stat::number_of_executed_units|^stat::new_units_added' \
			"$build/$t.log" | sed 's/^/  /'
	else
		echo "run.sh: fuzz_$t FAILED; the end of its log:" >&2
		tail -n 40 "$build/$t.log" >&2
		failed="$failed $t"
	fi
done
if [ -n "$failed" ]; then
	echo "run.sh: crashes in:$failed (inputs: $build/crash-*)" >&2
	exit 1
fi
echo "run.sh: all targets clean"
