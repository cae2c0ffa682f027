/* protobuf.c - see protobuf.h. Little-endian base-128 varints: seven bits
 * per byte, low group first, the high bit set on all but the last byte. */
#include "protobuf.h"

#include <stdlib.h>
#include <string.h>

#include "report_mem.h"

static void pb_append(struct pb *b, const void *data, size_t len)
{
    mem_reserve((void **)&b->data, &b->cap, b->len + len, 1);
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
}

void pb_varint(struct pb *b, uint64_t v)
{
    uint8_t bytes[10];
    size_t n = 0;
    do {
        uint8_t group = v & 0x7f;
        v >>= 7;
        bytes[n++] = v ? (uint8_t)(group | 0x80) : group;
    } while (v != 0);
    pb_append(b, bytes, n);
}

static void pb_tag(struct pb *b, uint32_t field, unsigned wire_type)
{
    pb_varint(b, ((uint64_t)field << 3) | wire_type);
}

void pb_uint(struct pb *b, uint32_t field, uint64_t v)
{
    pb_tag(b, field, PB_VARINT);
    pb_varint(b, v);
}

void pb_int(struct pb *b, uint32_t field, int64_t v)
{
    pb_uint(b, field, (uint64_t)v);
}

void pb_bytes(struct pb *b, uint32_t field, const void *data, size_t len)
{
    pb_tag(b, field, PB_LEN);
    pb_varint(b, len);
    pb_append(b, data, len);
}

void pb_string(struct pb *b, uint32_t field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

void pb_message(struct pb *b, uint32_t field, const struct pb *inner)
{
    pb_bytes(b, field, inner->data, inner->len);
}

void pb_packed(struct pb *b, uint32_t field, const uint64_t *values, size_t n)
{
    struct pb run = {0};
    for (size_t i = 0; i < n; i++)
        pb_varint(&run, values[i]);
    pb_message(b, field, &run);
    pb_free(&run);
}

void pb_concat(struct pb *b, const struct pb *tail)
{
    pb_append(b, tail->data, tail->len);
}

void pb_clear(struct pb *b)
{
    b->len = 0;
}

void pb_free(struct pb *b)
{
    free(b->data);
    *b = (struct pb){0};
}
