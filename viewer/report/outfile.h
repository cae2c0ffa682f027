/* outfile.h - where the file outputs go: a path, or stdout for "-", opened
 * and closed with the checks that turn a full disk or a bad directory into
 * one line instead of a silently short file. */
#ifndef ORTHO_REPORT_OUTFILE_H
#define ORTHO_REPORT_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

/* Opens path for writing ("-": stdout); `what` names the output in the
 * error ("flame graph"). NULL with the reason in err. */
FILE *outfile_open(const char *path, const char *what, char *err, size_t err_cap);

/* Flushes and closes what outfile_open returned (stdout is only flushed);
 * -1 with the reason in err when any write failed. */
int outfile_close(FILE *f, const char *path, char *err, size_t err_cap);

#endif
