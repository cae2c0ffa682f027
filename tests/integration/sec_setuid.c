/* sec_setuid.c - the program security.sh installs setuid root: it is
 * linked with liborthotope (as a program on a system with the library in
 * /etc/ld.so.preload would be), reports its effective user, and with
 * "double-free" frees one block twice, then says whether it survived. In
 * secure execution the environment must steer none of it: no collector
 * started, no database written, and the double free aborts whatever
 * ORTHO_ON_CORRUPTION says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile sec_block;

int main(int argc, char **argv)
{
    sec_block = malloc(100);
    printf("euid %d\n", (int)geteuid());
    fflush(stdout);
    free(sec_block);
    if (argc > 1 && strcmp(argv[1], "double-free") == 0) {
        free(sec_block);
        printf("survived\n");
    }
    return 0;
}
