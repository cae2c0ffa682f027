/* guard_sampled.c - misuses a block that ORTHO_GUARD_SAMPLE=1 put in the
 * guard pool (a 4032-byte request: right-aligned to 64 bytes, it ends
 * exactly at its slot's guard page). The access must fault at once and be
 * reported from the function that made it, with the block's pointer, then
 * kill the process with SIGSEGV (or, in report mode, open the slot and go
 * on). The argument says which mistake:
 *   overflow   writes one byte past the end
 *   read_freed reads the block after freeing it
 *   write_freed writes into the block after freeing it */
#include "misuse_program.h" /* first: it defines _GNU_SOURCE */

#define BLOCK_BYTES 4032

void access_the_block(volatile unsigned char *p, size_t at, int write);

MISUSE_SITE void access_the_block(volatile unsigned char *p, size_t at, int write)
{
    if (write)
        p[at] = 0x41;
    else if (p[at] == 0x41)
        puts("read 0x41");
    misuse_returned();
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "overflow";
    unsigned char *p = malloc(BLOCK_BYTES);
    if (p == NULL)
        return 2;
    memset(p, 0x5a, BLOCK_BYTES);
    misuse_announce(p);
    unsigned char *dangling = misuse_launder(p);
    if (strcmp(how, "overflow") == 0) {
        access_the_block(p, BLOCK_BYTES, 1);
        free(p);
    } else if (strcmp(how, "read_freed") == 0 || strcmp(how, "write_freed") == 0) {
        free(p);
        access_the_block(dangling, 100, how[0] == 'w');
    } else {
        fprintf(stderr, "usage: guard_sampled overflow|read_freed|write_freed\n");
        return 2;
    }
    return misuse_finish();
}
