/* gzip_out.h - writing a buffer to a file as one gzip member (RFC 1952),
 * the compression pprof files are expected to have. Built with zlib when
 * the build found it (ORTHO_REPORT_HAVE_ZLIB); without zlib the bytes are
 * written as they are, which pprof also reads, and gzip_out_available()
 * says so, so the caller can tell the user. */
#ifndef ORTHO_REPORT_GZIP_OUT_H
#define ORTHO_REPORT_GZIP_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

bool gzip_out_available(void);

/* Writes data (compressed when available) to out. 0, or -1 with a reason. */
int gzip_out_write(FILE *out, const void *data, size_t len, char *err, size_t err_cap);

#endif
