/* free_unaligned.c - frees p + 8 for a 100-byte block p (or, with argument
 * "large", for a 20 MiB block on the large path): an address inside memory
 * we handed out that no block can start at (blocks are 64-aligned). The line
 * must say misaligned_pointer and name free_off_by_eight; in report mode the
 * real block is still live and is then freed normally. */
#include "misuse_program.h"

void free_off_by_eight(char *p);

MISUSE_SITE void free_off_by_eight(char *p)
{
    free(misuse_launder(p + 8));
    misuse_returned();
}

int main(int argc, char **argv)
{
    size_t size = argc > 1 && strcmp(argv[1], "large") == 0 ? (size_t)20 << 20 : 100;
    char *p = malloc(size);
    if (p == NULL)
        return 2;
    memset(p, 'A', 100);
    misuse_announce(p + 8);
    free_off_by_eight(p);
    free(p);
    return misuse_finish();
}
