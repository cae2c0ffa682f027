/* outfile.c - see outfile.h. */
#include "outfile.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

FILE *outfile_open(const char *path, const char *what, char *err, size_t err_cap)
{
    if (strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        snprintf(err, err_cap, "%s: cannot write the %s (%s); give a writable path", path, what,
                 strerror(errno));
    return f;
}

int outfile_close(FILE *f, const char *path, char *err, size_t err_cap)
{
    bool failed = fflush(f) != 0 || ferror(f);
    int saved = errno;
    if (f != stdout && fclose(f) != 0)
        failed = true;
    if (failed) {
        snprintf(err, err_cap, "%s: writing failed (%s); check the disk and try again", path,
                 strerror(saved ? saved : EIO));
        return -1;
    }
    return 0;
}
