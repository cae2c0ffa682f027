/* free_stack.c - passes the address of a local array to free. A stack
 * address is outside every region the allocator owns, so the line must say
 * foreign_pointer and name free_local; reading a "header" in front of a
 * stack address would be wrong, and glibc's allocator is not involved
 * because it holds nothing in a preloaded program. */
#include "misuse_program.h"

void free_local(void);

MISUSE_SITE void free_local(void)
{
    char local[128];
    memset(local, 'S', sizeof local);
    misuse_announce(local);
    free(misuse_launder(local));
    misuse_returned();
    if (local[0] != 'S')
        puts("the stack array was modified");
}

int main(void)
{
    free_local();
    return misuse_finish();
}
