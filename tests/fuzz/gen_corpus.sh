#!/bin/bash
# gen_corpus.sh - regenerates the seed corpora in tests/fuzz/corpus/ from
# make_seeds.c (a few small, valid inputs per fuzz target, written by the
# engine's own writers). Inputs named regress-* (crashes found by fuzzing,
# kept as regression tests) are left alone.
#
#   tests/fuzz/gen_corpus.sh          (CC, CFLAGS may be set)
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
CC=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gen_corpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ -f "${top_builddir:-$src}/config.h" ]; then
	inc=${top_builddir:-$src}
else
	echo '#define PACKAGE_VERSION "0.1.0"' >"$tmp/config.h"
	inc=$tmp
fi
# shellcheck disable=SC2086
"$CC" -std=gnu11 -O1 -g ${CFLAGS:-} -I"$inc" -I"$src/engine" -I"$src/fs" \
	-o "$tmp/make_seeds" "$here/make_seeds.c" "$src"/engine/*.c \
	"$src/fs/keyspace.c" "$src/fs/keypath.c" "$src/fs/inode.c" \
	"$src/fs/filedata.c" -lzstd -lxxhash -lpthread

for t in wal sst manifest batch keyspace; do
	mkdir -p "$here/corpus/$t"
	find "$here/corpus/$t" -type f ! -name 'regress-*' -delete
done
"$tmp/make_seeds" "$here/corpus"
for t in wal sst manifest batch keyspace; do
	echo "$t: $(find "$here/corpus/$t" -type f | wc -l) inputs"
done
