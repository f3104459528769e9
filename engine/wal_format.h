/*
 * wal_format.h - the byte grammar of write-ahead log segments (NNNNNN.wal)
 * and of the framed-record log that MANIFEST files reuse
 * (manifest_format.h). Record types are on disk: never renumber them; add
 * new ones at the end. docs/FORMAT.md says the same in prose.
 *
 *   log         := wal_header(magic) record* tail
 *   wal_header  := magic[8]                      "LSMWAL01" for a WAL,
 *                                                "LSMMAN01" for a MANIFEST;
 *                                                the last two characters are
 *                                                the format version
 *   record      := fixed32 crc  fixed32 length  u8 type  payload[length]
 *      crc      = crc32c_mask(crc32c(type || payload))     (crc32c.h)
 *      length   <= WAL_MAX_PAYLOAD
 *      type     != 0 (0 is reserved so that zeroed bytes never parse)
 *   tail        := nothing, or the torn remains of the last append:
 *                  a partial record or zero bytes
 *
 *   fixed32/fixed64 are little-endian (coding.h). Records are not
 *   fragmented: one record is one wal_writer_add(), written with one
 *   append. There is no padding or alignment between records.
 *
 * Recovery (wal_reader.c). A record is good when its header is complete,
 * its length is within the limit and the file, its type is not 0 and its
 * checksum verifies. At the first bad record at offset N:
 *   - if no good record starts at any later offset, the bytes from N to the
 *     end are a torn tail (a crash during the last append, or a zero-filled
 *     tail): they are dropped, one line is logged, and reading ends
 *     normally. A file shorter than the header is an empty log.
 *   - otherwise the log is corrupt in the middle: in LSM_WAL_RECOVERY_STRICT
 *     mode reading fails with -EIO; in LSM_WAL_RECOVERY_SKIP mode the bytes
 *     up to the next good record are skipped (and logged) and reading goes
 *     on from there.
 * A payload is never returned unless its checksum verified.
 *
 * WAL record types and payloads:
 *
 *   WAL_RECORD_BATCH (1)  payload = batch
 *
 *   batch       := fixed64 first_seq  fixed32 count  entry{count}
 *   entry       := u8 TYPE_VALUE (1)  varint32 klen  key  varint32 vlen  value
 *                | u8 TYPE_DELETE (0) varint32 klen  key
 *
 *   Entry i (from 0) has sequence number first_seq + i. varint32 is LEB128
 *   (coding.h); entry types are those of dbformat.h. Keys and values are
 *   arbitrary bytes and may be empty. A batch is applied atomically: it is
 *   one record, so it is either wholly in the log or wholly torn off.
 */
#ifndef LSM_WAL_FORMAT_H
#define LSM_WAL_FORMAT_H

#define WAL_MAGIC "LSMWAL01" /* 8 bytes, no NUL on disk */
#define WAL_MAGIC_LEN 8
#define WAL_HEADER_LEN WAL_MAGIC_LEN

/* crc (4) + length (4) + type (1) */
#define WAL_RECORD_HEADER_LEN 9

/* Larger lengths are rejected by the writer (-EINVAL) and, on read, treated
 * as a damaged record. */
#define WAL_MAX_PAYLOAD (256u << 20)

enum wal_record_type {
	WAL_RECORD_RESERVED = 0, /* never written */
	WAL_RECORD_BATCH = 1,
};

/* The batch payload header: fixed64 first_seq, fixed32 count. */
#define BATCH_HEADER_LEN 12

#endif
