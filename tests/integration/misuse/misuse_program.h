/* misuse_program.h - what every misuse program shares, so each program is
 * only its mistake. A program announces the pointer it is about to misuse and
 * its thread id on stdout (flushed, since the default policy aborts the
 * process right after) so run_misuse.sh can compare them with the one line
 * the allocator prints. The mistake itself happens in a named, exported,
 * never-inlined function, which the line must name as the caller; pointers
 * pass through misuse_launder so the compiler neither warns about nor
 * optimises away a mistake it can see. After the mistake (reached only under
 * ORTHO_ON_CORRUPTION=report) the program shows the allocator still works
 * and exits 0. */
#ifndef IT_MISUSE_PROGRAM_H
#define IT_MISUSE_PROGRAM_H

#define _GNU_SOURCE
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A function the compiler may neither inline nor clone (a clone would have a
 * local name that dladdr cannot see). */
#if defined(__clang__)
#define MISUSE_SITE __attribute__((noinline))
#else
#define MISUSE_SITE __attribute__((noipa))
#endif

/* Returns p, opaque to the optimiser. */
MISUSE_SITE __attribute__((unused)) static void *misuse_launder(void *p)
{
    return p;
}

/* "pointer 0x... thread N" on stdout, flushed before the misuse. */
static inline void misuse_announce(const void *p)
{
    printf("pointer 0x%" PRIxPTR " thread %ld\n", (uintptr_t)p, (long)syscall(SYS_gettid));
    fflush(stdout);
}

/* Called right after the misuse: proves the call returned (report mode) and
 * keeps the misuse from being a tail call, which would drop its frame. */
static inline void misuse_returned(void)
{
    puts("returned from the misuse");
}

/* The end of every program: the allocator still serves and frees. */
static inline int misuse_finish(void)
{
    static const size_t sizes[] = {1, 100, 5000, 70000, (size_t)2 << 20, (size_t)20 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t size = sizes[i];
        unsigned char *p = malloc(size);
        if (p == NULL)
            return 2;
        p[0] = 1;
        p[size - 1] = 2;
        free(p);
    }
    puts("allocator still works");
    return 0;
}

#endif
