/* free_global.c - passes the address of a static (zero-initialised, .bss)
 * array to free. Like a stack address it is not ours: the line must say
 * foreign_pointer and name free_static, and in report mode the array must be
 * left as it was. */
#include "misuse_program.h"

static char global_buffer[256];

void free_static(void);

MISUSE_SITE void free_static(void)
{
    free(misuse_launder(global_buffer));
    misuse_returned();
}

int main(void)
{
    memset(global_buffer, 'G', sizeof global_buffer);
    misuse_announce(global_buffer);
    free_static();
    if (global_buffer[0] != 'G' || global_buffer[sizeof global_buffer - 1] != 'G')
        puts("the static array was modified");
    return misuse_finish();
}
