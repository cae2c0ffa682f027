/* heap_corruption.c - a bug orthotope catches: an encoder writes one byte
 * before its buffer (an off-by-one underflow), and the free that follows
 * finds the block header overwritten. Run it under the preload:
 *   LD_PRELOAD=./build/liballoc/liborthotope.so ./build/examples/ortho-heap-corruption
 * It aborts with one line naming bad_checksum, the pointer, the thread and
 * main (the caller of free). With ORTHO_ON_CORRUPTION=report it reports and goes on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Encodes a record as a one-byte length followed by the text. The bug:
 * the buffer was sized for the text only, and the length byte is written
 * in front of it, into the byte before the block. Exported (the build
 * links with -rdynamic) so the diagnostic can name it. */
unsigned char *parse_record(const char *text)
{
    size_t len = strlen(text);
    unsigned char *buf = malloc(len);
    if (buf == NULL)
        return NULL;
    /* The out-of-bounds write is the point of the example: tell GCC. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
    unsigned char *out = buf - 1; /* meant: malloc(len + 1) and out = buf */
    out[0] = (unsigned char)len;
#pragma GCC diagnostic pop
    memcpy(out + 1, text, len);
    return buf;
}

int main(void)
{
    unsigned char *record = parse_record("id=42;name=tensor");
    printf("parsed: %.17s\n", (const char *)record);
    fflush(stdout);
    free(record); /* orthotope validates the header here */
    printf("still running (ORTHO_ON_CORRUPTION=report)\n");
    return 0;
}
