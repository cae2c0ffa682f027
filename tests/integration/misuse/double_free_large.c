/* double_free_large.c - frees a large block (above 16 MiB, the large path)
 * twice. Size in MiB from argv[1], default 20. The large path unmaps or
 * recycles whole mappings, so a second free must be recognised as
 * double_free before anything is unmapped twice or handed out again; the
 * 300 MiB variant exceeds the default retain budget, so the first free
 * unmaps the block outright. */
#include "misuse_program.h"

void free_twice(void *p);

MISUSE_SITE void free_twice(void *p)
{
    void *same = misuse_launder(p); /* the compiler must not see the repeat */
    free(p);
    free(same);
    misuse_returned();
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 20;
    size_t size = mib << 20;
    char *p = malloc(size);
    if (p == NULL)
        return 2;
    p[0] = 'a';
    p[size - 1] = 'z';
    misuse_announce(p);
    free_twice(p);
    return misuse_finish();
}
