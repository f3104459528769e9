/*
 * sst_format.h - the on-disk grammar of an SSTable (NNNNNN.sst). Every
 * integer is little-endian; "varint" is LEB128 (coding.h); every CRC is a
 * masked CRC-32C (crc32c.h). docs/FORMAT.md describes the same bytes in
 * prose. Numbers below are on disk: never renumber them.
 *
 *   file        := data_block* [filter_block] index_block props_block footer
 *   every block := contents[size] | type u8 | crc u32
 *       type  = SST_COMPRESS_NONE (contents stored raw), SST_COMPRESS_ZSTD
 *               (contents are one zstd frame with the raw size in its header)
 *               or SST_COMPRESS_LZ4 (contents are raw size varint32 | one
 *               LZ4 block, the format of LZ4_compress_default)
 *       crc   = crc32c_mask(crc32c(contents || type))
 *     A block handle (offset, size) names contents only: the 5-byte trailer
 *     follows at offset + size.
 *
 *   data_block / index_block (raw, before compression):
 *       entry* | restart u32 * nrestarts | nrestarts u32     (nrestarts >= 1)
 *     entry := shared varint32 | non_shared varint32 | value_len varint32 |
 *              key_delta[non_shared] | value[value_len]
 *     An entry's key is the first `shared` bytes of the previous key followed
 *     by key_delta. Every SST_RESTART_INTERVAL-th entry (the first included)
 *     is a restart point: shared = 0, and its offset is in the restart array.
 *     Keys are internal keys (dbformat.h), strictly increasing in ikey_cmp
 *     order within a block and across the file.
 *     Data block values are user values (empty for tombstones).
 *     Index block: one entry per data block, in file order;
 *       key   = an internal key >= the block's last key and < the next
 *               block's first key (a shortened separator),
 *       value = offset varint64 | size varint64  (the block's handle).
 *     Data blocks are compressed (zstd or lz4) when enabled and when that
 *     saves at least 1/8 of the raw size; filter, index and props blocks are
 *     written raw, but a reader accepts any type for any block.
 *
 *   filter_block := bits[m/8] | k u8
 *     One bloom filter over the distinct USER keys of the table (bloom.h):
 *     h = XXH3_64bits(user key), probe i (0 <= i < k) sets bit
 *     ((h & 0xffffffff) + i * (h >> 32)) mod m, bit b living in byte b/8 at
 *     position b%8. Absent (handle 0, 0) when bloom_bits_per_key is 0.
 *
 *   props_block := (tag varint32 | len varint32 | value[len])*
 *     Tags are SST_PROP_*; integer values are one varint64 filling value,
 *     key values are raw bytes. Readers skip tags they do not know; every
 *     tag below is required in version 1 files except where noted.
 *
 *   footer (SST_FOOTER_SIZE = 64 bytes, the last bytes of the file):
 *        0  filter offset u64 | 8 filter size u64
 *       16  index offset u64  | 24 index size u64
 *       32  props offset u64  | 40 props size u64
 *       48  format version u32 (SST_FORMAT_VERSION)
 *       52  crc u32 = crc32c_mask(crc32c(footer[0..52)))
 *       56  magic u64 (SST_MAGIC, the ASCII bytes "lsmfsst1")
 *
 * A table is written to NNNNNN.sst.tmp, fsync'ed, renamed to NNNNNN.sst and
 * the directory fsync'ed, so a visible .sst file is always complete.
 */
#ifndef LSM_SST_FORMAT_H
#define LSM_SST_FORMAT_H

#include <stdint.h>

#include "coding.h"

#define SST_MAGIC UINT64_C(0x31747373666d736c) /* "lsmfsst1" */
#define SST_FORMAT_VERSION 1u
#define SST_FOOTER_SIZE 64
#define SST_BLOCK_TRAILER_SIZE 5
#define SST_RESTART_INTERVAL 16
/* A stored block bigger than this is corrupt (guards allocations). */
#define SST_MAX_BLOCK_SIZE (UINT64_C(1) << 30)

enum sst_compress {
	SST_COMPRESS_NONE = 0,
	SST_COMPRESS_ZSTD = 1,
	SST_COMPRESS_LZ4 = 2,
};

enum sst_prop_tag {
	SST_PROP_ENTRIES = 1,
	SST_PROP_TOMBSTONES = 2,
	SST_PROP_RAW_KEY_BYTES = 3,
	SST_PROP_RAW_VALUE_BYTES = 4,
	SST_PROP_DATA_BLOCKS = 5,
	SST_PROP_RAW_DATA_BYTES = 6,    /* data blocks before compression */
	SST_PROP_STORED_DATA_BYTES = 7, /* data blocks on disk + trailers */
	SST_PROP_SMALLEST = 8,          /* internal key; empty if no entries */
	SST_PROP_LARGEST = 9,           /* internal key; empty if no entries */
	SST_PROP_MIN_SEQ = 10,
	SST_PROP_MAX_SEQ = 11,
	SST_PROP_BLOOM_BITS = 12,
	SST_PROP_COMPRESSION = 13,  /* enum lsm_compression the writer used */
	SST_PROP_REASON = 14,       /* SST_REASON_* */
	SST_PROP_CREATED_UNIX = 15, /* seconds since the epoch */
};

enum sst_reason {
	SST_REASON_FLUSH = 1,
	SST_REASON_COMPACTION = 2,
};

struct sst_handle {
	uint64_t offset;
	uint64_t size; /* contents only, without the 5-byte trailer */
};

struct sst_footer {
	struct sst_handle filter; /* (0, 0): no filter */
	struct sst_handle index;
	struct sst_handle props;
	uint32_t version;
};

/* Encodes a handle as two varints (index block values); returns the end. */
static inline char *sst_handle_encode(char *p, struct sst_handle h)
{
	p = encode_varint64(p, h.offset);
	return encode_varint64(p, h.size);
}

/* Decodes a handle from [p, limit); NULL when malformed. */
static inline const char *sst_handle_decode(const char *p, const char *limit,
					    struct sst_handle *h)
{
	p = decode_varint64(p, limit, &h->offset);
	if (!p)
		return NULL;
	return decode_varint64(p, limit, &h->size);
}

#endif
