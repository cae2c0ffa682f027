/* realloc_freed.c - frees a 100-byte block, then reallocs it to 300 bytes.
 * Growing a freed block would copy from and free memory that may already
 * belong to someone else; the line must say use_after_free for the pointer
 * from grow_after_free. In report mode realloc returns NULL and the program
 * goes on. */
#include "misuse_program.h"

void grow_after_free(char *p);

MISUSE_SITE void grow_after_free(char *p)
{
    char *q = realloc(p, 300);
    misuse_returned();
    printf("realloc returned %s\n", q == NULL ? "NULL" : "a block");
    if (q != NULL)
        free(q);
}

int main(void)
{
    char *p = malloc(100);
    if (p == NULL)
        return 2;
    memset(p, 'R', 100);
    misuse_announce(p);
    char *same = misuse_launder(p); /* the compiler must not see the use after free */
    free(p);
    grow_after_free(same);
    return misuse_finish();
}
