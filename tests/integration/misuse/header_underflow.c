/* header_underflow.c - a buffer underflow: writes argv[1] bytes (1 to 64,
 * default 64) just before a 100-byte block p, i.e. over the end of its
 * header, then frees p. The header's magic and checksum exist to catch this;
 * freeing on a corrupt header would put garbage on a free list. The line must
 * report the header (bad_magic or bad_checksum) for p from
 * free_after_underflow. The 1-byte case is the classic off-by-one
 * (buffer[-1] = 0). */
#include "misuse_program.h"

void free_after_underflow(char *p);

MISUSE_SITE void free_after_underflow(char *p)
{
    free(p);
    misuse_returned();
}

int main(int argc, char **argv)
{
    size_t bytes = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
    if (bytes < 1 || bytes > 64)
        return 2;
    char *p = malloc(100);
    if (p == NULL)
        return 2;
    memset(p, 'P', 100);
    char *before = misuse_launder(p);
    memset(before - bytes, 'U', bytes);
    misuse_announce(p);
    free_after_underflow(misuse_launder(p));
    return misuse_finish();
}
