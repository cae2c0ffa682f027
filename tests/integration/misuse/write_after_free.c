/* write_after_free.c - frees a 3000-byte block (the 4 KiB class, which
 * nothing else in the program uses after start-up), writes into it, then
 * asks for the same size 64 times. The first of those would hand the
 * written block out again: the allocator must refuse it and report
 * use_after_free of that pointer from reuse_after_write, then abort (or, in
 * report mode, leave the block out of use and serve the 64 requests from
 * other blocks). The argument says what the dangling write does:
 *   header   zeroes the 64-byte header in front of the block
 *   pointer  plants a pointer in the first 16 bytes of the payload
 *   fill     fills the whole payload with 0x41 */
#include "misuse_program.h" /* first: it defines _GNU_SOURCE */

#define BLOCK_BYTES 3000
#define REQUESTS 64

void reuse_after_write(void);

MISUSE_SITE void reuse_after_write(void)
{
    void *again[REQUESTS];
    for (int i = 0; i < REQUESTS; i++) {
        again[i] = misuse_launder(malloc(BLOCK_BYTES));
        if (again[i] == NULL)
            exit(2);
        memset(again[i], 0x7e, BLOCK_BYTES);
    }
    misuse_returned();
    for (int i = 0; i < REQUESTS; i++)
        free(again[i]);
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "fill";
    unsigned char *p = malloc(BLOCK_BYTES);
    if (p == NULL)
        return 2;
    memset(p, 0x5a, BLOCK_BYTES);
    misuse_announce(p);
    unsigned char *dangling = misuse_launder(p);
    free(p);
    if (strcmp(how, "header") == 0) {
        memset(dangling - 64, 0, 64);
    } else if (strcmp(how, "pointer") == 0) {
        void *planted[2] = {&argc, argv};
        memcpy(dangling, planted, sizeof planted);
    } else if (strcmp(how, "fill") == 0) {
        memset(dangling, 0x41, BLOCK_BYTES);
    } else {
        fprintf(stderr, "usage: write_after_free header|pointer|fill\n");
        return 2;
    }
    reuse_after_write();
    return misuse_finish();
}
