/* query_workload.c - a program whose trace holds facts known in advance, so
 * that queries.sh can check every query of docs/queries.md against real
 * output. Each fact comes from one noinline function, which becomes the
 * allocation site the trace names:
 *
 *   leak_here     7 blocks of 200 bytes (B256), never freed
 *   hand_over     50 blocks of 3000 bytes (B4K) that thread "qw-freer" frees
 *   churn         20000 blocks of 5000 bytes (B6K), each freed at once
 *   hold_long     4 blocks of 9000 bytes (B16K), freed after HOLD_MS
 *   free_twice    one block of 40 bytes (B64) freed twice (run it with
 *                 ORTHO_ON_CORRUPTION=report, or it aborts there)
 *   child_work    in a forked child that execs this program with "child":
 *                 3 blocks of 70000 bytes (B128K)
 *
 * With QW_CHILD_CLASSES set, the exec'd child runs with ORTHO_CLASSES set
 * to it, so one traced tree holds two class tables (the viewers' fixture
 * mixed.db).
 *
 * So the main thread frees 20005 blocks (100036040 bytes; the repeated free
 * is refused, not counted) and the traced tree is root -> fork -> exec.
 * Thread names other than "qw-freer" depend on the executable's name: the
 * checks must not rely on them. Nothing is printed on
 * success (stdio would add allocations of its own); exit status 0.
 * Allocations go through volatile pointers so the compiler cannot elide a
 * malloc/free pair it can see through. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LEAK_BLOCKS 7
#define LEAK_BYTES 200
#define HANDED_BLOCKS 50
#define HANDED_BYTES 3000
#define CHURN_BLOCKS 20000
#define CHURN_BYTES 5000
#define HELD_BLOCKS 4
#define HELD_BYTES 9000
#define HOLD_MS 400 /* 2^28 ns is 268 ms: the held blocks land above it */
#define TWICE_BYTES 40
#define CHILD_BLOCKS 3
#define CHILD_BYTES 70000

static void *volatile leaked[LEAK_BLOCKS];    /* reachable, yet never freed */
static void *volatile handed[HANDED_BLOCKS];  /* main allocates, the freer frees */
static void *volatile sink;                   /* defeats malloc/free elision */

__attribute__((noinline)) static void leak_here(void)
{
    for (int i = 0; i < LEAK_BLOCKS; i++)
        leaked[i] = malloc(LEAK_BYTES);
}

__attribute__((noinline)) static void hand_over(void)
{
    for (int i = 0; i < HANDED_BLOCKS; i++)
        handed[i] = malloc(HANDED_BYTES);
}

static void *freer_main(void *arg)
{
    (void)arg;
    /* Named before its first traced event, so the trace knows it by name. */
    pthread_setname_np(pthread_self(), "qw-freer");
    for (int i = 0; i < HANDED_BLOCKS; i++)
        free(handed[i]);
    return NULL;
}

__attribute__((noinline)) static void churn(void)
{
    for (int i = 0; i < CHURN_BLOCKS; i++) {
        sink = malloc(CHURN_BYTES);
        free(sink);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

__attribute__((noinline)) static void hold_long(void)
{
    void *held[HELD_BLOCKS];
    for (int i = 0; i < HELD_BLOCKS; i++)
        held[i] = sink = malloc(HELD_BYTES);
    sleep_ms(HOLD_MS);
    for (int i = 0; i < HELD_BLOCKS; i++)
        free(held[i]);
}

__attribute__((noinline)) static void free_twice(void)
{
    void *p = malloc(TWICE_BYTES);
    sink = p;
    free(p);
    free(sink); /* read back through the volatile: the compiler sees no repeat */
    /* Something after the call, so it is no tail call: the trace must find
     * free_twice on the stack, not just main. */
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void child_work(void)
{
    for (int i = 0; i < CHILD_BLOCKS; i++) {
        sink = malloc(CHILD_BYTES);
        free(sink);
    }
}

/* Forks; the child execs this program again with "child". Returns 0 once
 * the child has exited 0. The path is resolved first: exec'ing
 * /proc/self/exe itself would name the new image "exe". */
static int run_child(void)
{
    static char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return -1;
    self[len] = '\0';
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        const char *classes = getenv("QW_CHILD_CLASSES");
        if (classes != NULL && setenv("ORTHO_CLASSES", classes, 1) != 0)
            _exit(126);
        execl(self, self, "child", (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        child_work();
        return 0;
    }

    leak_here();
    hand_over();
    pthread_t freer;
    if (pthread_create(&freer, NULL, freer_main, NULL) != 0 || pthread_join(freer, NULL) != 0)
        return 2;
    churn();
    hold_long();
    free_twice();
    if (run_child() != 0)
        return 3;
    return 0;
}
