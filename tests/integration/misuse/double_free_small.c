/* double_free_small.c - frees a 100-byte block (the 256-byte class) twice.
 * The second free must be reported as double_free of that pointer from
 * free_twice, then abort (or, in report mode, leave the block alone and
 * continue). The small path is where a double free would otherwise put one
 * block on a free list twice and hand it out to two owners. With argument
 * "thread" the mistake happens on a second thread, whose id (not the
 * process id) the line must name. */
#include "misuse_program.h" /* first: it defines _GNU_SOURCE */

#include <pthread.h>

void free_twice(void *p);

MISUSE_SITE void free_twice(void *p)
{
    void *same = misuse_launder(p); /* the compiler must not see the repeat */
    free(p);
    free(same);
    misuse_returned();
}

static void *allocate_and_free_twice(void *arg)
{
    (void)arg;
    char *p = malloc(100);
    if (p == NULL)
        return NULL;
    memset(p, 0x5a, 100);
    misuse_announce(p);
    free_twice(p);
    return p;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "thread") == 0) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, allocate_and_free_twice, NULL) != 0 ||
            pthread_join(thread, NULL) != 0)
            return 2;
    } else {
        allocate_and_free_twice(NULL);
    }
    return misuse_finish();
}
