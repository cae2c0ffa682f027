/* free_interior.c - frees p + 64 for a 200-byte block p (or, with argument
 * "large", for a 20 MiB block on the large path). The address is 64-aligned
 * and inside memory we handed out, so only the missing header betrays it:
 * the 64 bytes in front of it are user data. The line must call it an
 * interior pointer (bad_magic or misaligned_pointer), not a stranger's, and
 * name free_inside; in report mode the real block is still live and is then
 * freed normally. */
#include "misuse_program.h"

void free_inside(char *p);

MISUSE_SITE void free_inside(char *p)
{
    free(misuse_launder(p + 64));
    misuse_returned();
}

int main(int argc, char **argv)
{
    size_t size = argc > 1 && strcmp(argv[1], "large") == 0 ? (size_t)20 << 20 : 200;
    char *p = malloc(size);
    if (p == NULL)
        return 2;
    memset(p, 'I', 4096);
    misuse_announce(p + 64);
    free_inside(p);
    free(p);
    return misuse_finish();
}
