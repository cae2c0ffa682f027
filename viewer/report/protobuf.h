/* protobuf.h - the few pieces of the protocol-buffers wire format that
 * pprof's profile.proto needs, written by hand: varints, tags, 64-bit
 * integers as varints, length-delimited strings and nested messages, and
 * packed repeated varints. A message is built in a growing byte buffer;
 * a nested message is built in its own buffer and then copied in with its
 * length, as the format requires the length before the bytes. */
#ifndef ORTHO_REPORT_PROTOBUF_H
#define ORTHO_REPORT_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

struct pb {
    uint8_t *data;
    size_t len, cap;
};

/* Wire types (the low three bits of a tag). */
#define PB_VARINT 0
#define PB_LEN 2

void pb_varint(struct pb *b, uint64_t v);
/* Field `field` as a varint (int64 values are their two's complement). */
void pb_uint(struct pb *b, uint32_t field, uint64_t v);
void pb_int(struct pb *b, uint32_t field, int64_t v);
void pb_bytes(struct pb *b, uint32_t field, const void *data, size_t len);
void pb_string(struct pb *b, uint32_t field, const char *s);
void pb_message(struct pb *b, uint32_t field, const struct pb *inner);
/* A packed repeated varint field: one length-delimited run of varints. */
void pb_packed(struct pb *b, uint32_t field, const uint64_t *values, size_t n);
/* Appends the fields already encoded in tail (raw bytes, no tag). */
void pb_concat(struct pb *b, const struct pb *tail);
/* Empties b for reuse, keeping its memory. */
void pb_clear(struct pb *b);
void pb_free(struct pb *b);

#endif
