/* gzip_out.c - see gzip_out.h. zlib's deflate with windowBits 15 + 16
 * writes the gzip header and trailer itself; output goes out in chunks so
 * a large profile never needs a second copy in memory. */
#include "gzip_out.h"

#include <stdint.h>

#ifdef ORTHO_REPORT_HAVE_ZLIB
#include <zlib.h>

#define GZIP_CHUNK 65536
#define GZIP_WINDOW_BITS (15 + 16) /* 32 KiB window, gzip wrapper */
#define GZIP_MEM_LEVEL 8           /* zlib's default */

bool gzip_out_available(void)
{
    return true;
}

int gzip_out_write(FILE *out, const void *data, size_t len, char *err, size_t err_cap)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, GZIP_WINDOW_BITS, GZIP_MEM_LEVEL,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        snprintf(err, err_cap, "cannot start gzip compression (zlib %s)", zlibVersion());
        return -1;
    }
    const uint8_t *in = data;
    size_t left = len;
    unsigned char chunk[GZIP_CHUNK];
    int rc;
    do {
        /* avail_in is 32 bits: feed at most 1 GiB at a time. */
        if (z.avail_in == 0 && left > 0) {
            size_t step = left > (1u << 30) ? (1u << 30) : left;
            z.next_in = (Bytef *)in;
            z.avail_in = (uInt)step;
            in += step;
            left -= step;
        }
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        rc = deflate(&z, left == 0 ? Z_FINISH : Z_NO_FLUSH);
        size_t produced = sizeof chunk - z.avail_out;
        if (rc == Z_STREAM_ERROR || fwrite(chunk, 1, produced, out) != produced) {
            deflateEnd(&z);
            snprintf(err, err_cap, "writing the compressed profile failed");
            return -1;
        }
    } while (rc != Z_STREAM_END);
    deflateEnd(&z);
    return 0;
}

#else

bool gzip_out_available(void)
{
    return false;
}

int gzip_out_write(FILE *out, const void *data, size_t len, char *err, size_t err_cap)
{
    if (fwrite(data, 1, len, out) != len) {
        snprintf(err, err_cap, "writing the profile failed");
        return -1;
    }
    return 0;
}

#endif
