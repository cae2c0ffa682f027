/* example_args.h - the one optional argument the workload examples take: a
 * count (batches, operations, messages). A missing argument means the
 * example's default; anything other than a whole number from 1 to the
 * example's maximum is refused with one line on stderr and exit status 2,
 * so a typo never turns into a silent run of zero or of billions. */
#ifndef EXAMPLE_ARGS_H
#define EXAMPLE_ARGS_H

#include <stdio.h>
#include <stdlib.h>

/* Returns the count given as argv[1], or `fallback` when there is none.
 * Exits 2 with one line naming `program` and `what` when the argument is
 * not digits only, is 0, is above `max`, or when there is more than one. */
static inline unsigned long example_count_arg(int argc, char **argv, const char *program,
                                              const char *what, unsigned long fallback,
                                              unsigned long max)
{
    if (argc < 2)
        return fallback;
    if (argc > 2) {
        fprintf(stderr, "%s: takes at most one argument (%s), got %d\n", program, what, argc - 1);
        exit(2);
    }
    const char *text = argv[1];
    unsigned long value = 0;
    int ok = text[0] != '\0';
    for (const char *c = text; ok && *c != '\0'; c++) {
        unsigned long digit = (unsigned long)(*c - '0');
        if (*c < '0' || *c > '9')
            ok = 0;
        else if (digit > max || value > (max - digit) / 10)
            ok = 0; /* above max: tested before value * 10 + digit could overflow */
        else
            value = value * 10 + digit;
    }
    if (!ok || value == 0) {
        fprintf(stderr, "%s: %s must be a whole number from 1 to %lu, not \"%s\"\n", program,
                what, max, text);
        exit(2);
    }
    return value;
}

#endif
