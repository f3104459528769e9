/*
 * manifest_format.h - the byte grammar of MANIFEST-NNNNNN files and of the
 * version edits they hold. Tags and record types are on disk: never
 * renumber them; add new ones at the end.
 *
 * A MANIFEST is a framed-record log (wal_format.h) opened with the magic
 * "LSMMAN01". Every record has type MANIFEST_RECORD_EDIT and carries one
 * encoded version edit; the record framing supplies the length and a masked
 * CRC32C, so a torn last record is dropped like a WAL tail and a damaged one
 * before it is corruption. The first record of every MANIFEST is a snapshot:
 * an edit that adds every file of the version current when the file was
 * started and sets every counter, so a MANIFEST never depends on an older
 * one.
 *
 *   manifest    := wal_header("LSMMAN01") record*
 *   record      := wal_record(type = MANIFEST_RECORD_EDIT, payload = edit)
 *   edit        := field* end
 *   field       := varint32 tag  value
 *   end         := varint32 EDIT_TAG_END         (exactly once, last byte)
 *
 *   tag                        value
 *   EDIT_TAG_LOG_NUMBER  (1)   varint64  oldest WAL segment still needed
 *   EDIT_TAG_NEXT_FILE   (2)   varint64  next unused file number
 *   EDIT_TAG_LAST_SEQ    (3)   varint64  last sequence number used
 *   EDIT_TAG_COMPACT_PTR (4)   varint32 level, lenprefixed internal key
 *   EDIT_TAG_DELETE_FILE (5)   varint32 level, varint64 file number
 *   EDIT_TAG_ADD_FILE    (6)   varint32 level, varint64 number,
 *                              varint64 file size, lenprefixed smallest,
 *                              lenprefixed largest, varint64 entries,
 *                              varint64 tombstones, varint64 min seq,
 *                              varint64 max seq, varint64 created (unix s),
 *                              varint32 reason (SST_REASON_* of
 *                              sst_format.h: 1 flush, 2 compaction)
 *
 * varint = LEB128 (coding.h); lenprefixed = varint32 length then the bytes;
 * internal keys are user key || fixed64_le(seq << 8 | type) (dbformat.h).
 *
 * Decoding is strict: an unknown tag, a level >= LSM_NUM_LEVELS, an internal
 * key shorter than 8 bytes, smallest > largest, bytes after the end tag or a
 * missing end tag make the edit corrupt (-EIO). Because the end tag must be
 * the last byte, every truncation of an edit is rejected.
 *
 * CURRENT holds the name of the live MANIFEST and a newline
 * ("MANIFEST-000005\n"). It is replaced by writing CURRENT.tmp, syncing it,
 * renaming it over CURRENT and syncing the directory.
 */
#ifndef LSM_MANIFEST_FORMAT_H
#define LSM_MANIFEST_FORMAT_H

#define MANIFEST_MAGIC "LSMMAN01" /* 8 bytes, no NUL on disk */

enum manifest_record_type {
	MANIFEST_RECORD_EDIT = 1,
};

enum edit_tag {
	EDIT_TAG_END = 0,
	EDIT_TAG_LOG_NUMBER = 1,
	EDIT_TAG_NEXT_FILE = 2,
	EDIT_TAG_LAST_SEQ = 3,
	EDIT_TAG_COMPACT_PTR = 4,
	EDIT_TAG_DELETE_FILE = 5,
	EDIT_TAG_ADD_FILE = 6,
};

/* A MANIFEST larger than this is replaced by a fresh one holding a snapshot
 * of the current version at the next edit. */
#define MANIFEST_ROLL_SIZE (64u << 20)

#endif
