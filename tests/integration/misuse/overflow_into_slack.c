/* overflow_into_slack.c - writes one byte past a 100-byte request (still
 * inside its 256-byte block) and frees it. Under ORTHO_CHECK=full the free
 * must report an overflow of that pointer at offset 100 from
 * free_after_overflow, then abort (or, in report mode, free the block and
 * go on). With argument "aligned" the block comes from posix_memalign with
 * a 256-byte alignment, whose header sits inside its block. */
#include "misuse_program.h" /* first: it defines _GNU_SOURCE */

#define REQUEST_BYTES 100

void free_after_overflow(unsigned char *p);

MISUSE_SITE void free_after_overflow(unsigned char *p)
{
    /* One past the end; volatile, or the compiler drops a store to memory
     * freed right after. */
    ((volatile unsigned char *)p)[REQUEST_BYTES] = 'x';
    free(p);
    misuse_returned();
}

int main(int argc, char **argv)
{
    unsigned char *p = NULL;
    if (argc > 1 && strcmp(argv[1], "aligned") == 0) {
        if (posix_memalign((void **)&p, 256, REQUEST_BYTES) != 0)
            return 2;
    } else {
        p = malloc(REQUEST_BYTES);
    }
    if (p == NULL)
        return 2;
    memset(p, 0x5a, REQUEST_BYTES);
    misuse_announce(p);
    free_after_overflow(misuse_launder(p));
    return misuse_finish();
}
