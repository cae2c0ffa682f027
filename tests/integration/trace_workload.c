/* trace_workload.c - a program with known allocation behaviour, run under
 * ORTHO_TRACE by trace_db.sh, which compares the trace database with the
 * facts below. Every fact is fixed by construction here (counts, sizes,
 * which function leaks, which thread frees), never read back from the
 * allocator. Sizes are odd values nothing else in the process asks for, so
 * the size histogram isolates them; classes B8K and up are used by nothing
 * but this program, so their class_totals must match exactly.
 *
 *   counts       the ground-truth workload (see the table in trace_db.sh)
 *   kill N       allocate N blocks of 777 bytes, print each, then SIGKILL self
 *   threads N    N short-lived threads, each one malloc/free of 1234 bytes
 *   together N   N threads alive at once: each mallocs/frees 1235 bytes,
 *                waits at a barrier until all N have, then 1236 bytes
 *   spike N P    N threads alive at once, each P malloc/free pairs of 1237
 *                bytes, then all exit; prints the shared memory resident
 *                at the barrier and, once the threads are joined, the least
 *                seen within 10 s: "spike shmem_kib=PEAK after_kib=AFTER"
 *   misuse N [K] N bad frees of p + 8 for a 100-byte block p (misaligned_pointer,
 *                the longest kind name) from misuse_site, then p itself;
 *                for ORTHO_ON_CORRUPTION=report. With K > 1 the frees
 *                take K call paths in turn (misuse_site under 0 .. K-1
 *                levels of misuse_nest): K stacks, so K corruption groups
 *   fork         parent: 3 x 555 bytes; fork child: 5 x 666 bytes, exit
 *   forks N      a parent of 4 threads (3 x 1238 bytes) forks N children at
 *                once, each leaking 667 bytes from leak_site_two, then reaps
 *                them all: "forks done N"
 *   churn SECS   malloc/free 48 bytes for SECS seconds (drop mode, readers)
 *   shapes       call paths that look alike to the tracer's stack memo:
 *                two sites at one depth, one inner function under two
 *                callers, recursion to four depths, variable-length frames;
 *                each path allocates a fixed number of times, on the main
 *                thread and on a second thread
 *   wrappers     leaks through allocation wrappers (an xmalloc and a
 *                g_malloc of its own, libc's strdup): 4, 3 and 2 blocks, each
 *                from a caller of its own
 *   plugin PATH  dlopen PATH as given (a relative "./libplugin.so" is the
 *                point) and leak 6 greetings of 64 bytes the plugin's
 *                plugin_make_greeting allocates; the plugin stays loaded
 *   pingpong R [T]  T threads (2 if not given, at most 64) pass a batch of
 *                96 blocks of 7000 bytes (class B8K) round in a ring R
 *                times, each freeing the batch it gets and allocating the
 *                next for the one after it: "pingpong mallocs=M frees=M"
 */
#include <alloca.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;

__attribute__((noinline)) static void *leak_site_one(size_t n)
{
    return malloc(n);
}

__attribute__((noinline)) static void *leak_site_two(size_t n)
{
    return malloc(n);
}

#define HANDOFF 40
static void *handoff[HANDOFF];

static void *free_handoff(void *arg)
{
    (void)arg;
    for (int i = 0; i < HANDOFF; i++)
        free(handoff[i]); /* cross-thread: main allocated them */
    return NULL;
}

static int run_counts(void)
{
    /* B8K: 100 allocs of 7001 bytes, all freed. */
    for (int i = 0; i < 100; i++) {
        sink = malloc(7001);
        free(sink);
    }
    /* B16K: 30 of 9001 bytes, 10 leaked from leak_site_one. */
    for (int i = 0; i < 20; i++) {
        sink = malloc(9001);
        free(sink);
    }
    for (int i = 0; i < 10; i++)
        leak_site_one(9001);
    /* B64K: 40 of 40001 bytes allocated here, freed by another thread. */
    for (int i = 0; i < HANDOFF; i++)
        handoff[i] = malloc(40001);
    pthread_t t;
    pthread_create(&t, NULL, free_handoff, NULL);
    pthread_join(t, NULL);
    /* B1M: 4 of 500001 bytes, 1 leaked from leak_site_two. */
    for (int i = 0; i < 3; i++) {
        sink = calloc(1, 500001);
        free(sink);
    }
    leak_site_two(500001);
    /* LARGE: 5 of 20 MiB + 1, all freed. */
    for (int i = 0; i < 5; i++) {
        sink = malloc((20u << 20) + 1);
        free(sink);
    }
    /* Small classes, checked through the size histogram: 13 x 37 bytes, 6 x 3001. */
    for (int i = 0; i < 13; i++) {
        sink = malloc(37);
        free(sink);
    }
    for (int i = 0; i < 6; i++) {
        sink = malloc(3001);
        free(sink);
    }
    puts("counts done");
    return 0;
}

static int run_kill(int n)
{
    for (int i = 1; i <= n; i++) {
        sink = malloc(777);
        printf("allocated %d\n", i);
        fflush(stdout);
    }
    raise(SIGKILL);
    return 1;
}

static void *one_block(void *arg)
{
    (void)arg;
    sink = malloc(1234);
    free(sink);
    return NULL;
}

static int run_threads(int n)
{
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, one_block, NULL) != 0)
            return 1;
        pthread_join(t, NULL);
    }
    printf("threads done %d\n", n);
    return 0;
}

static pthread_barrier_t together_barrier;

static void *together_one(void *arg)
{
    (void)arg;
    void *volatile block = malloc(1235); /* volatile: the pair is not elided */
    free(block);
    pthread_barrier_wait(&together_barrier); /* every thread is alive here */
    block = malloc(1236);
    free(block);
    return NULL;
}

static long spike_pairs;

static void *spike_one(void *arg)
{
    (void)arg;
    for (long i = 0; i < spike_pairs; i++) {
        void *volatile block = malloc(1237);
        free(block);
    }
    pthread_barrier_wait(&together_barrier); /* every thread is alive here */
    pthread_barrier_wait(&together_barrier); /* main has measured */
    return NULL;
}

/* RssShmem of this process (kB), -1 if unknown. */
static long shmem_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "RssShmem:", 9) == 0)
            kib = atol(line + 9);
    fclose(f);
    return kib;
}

/* Starts n threads running fn, with small stacks (there may be thousands),
 * after a barrier for `parties` at together_barrier. NULL on failure. */
static pthread_t *start_threads(int n, unsigned parties, void *(*fn)(void *))
{
    if (n <= 0 || pthread_barrier_init(&together_barrier, NULL, parties) != 0)
        return NULL;
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    if (threads == NULL)
        return NULL;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (int i = 0; i < n; i++)
        if (pthread_create(&threads[i], &attr, fn, NULL) != 0) {
            fprintf(stderr, "trace_workload: cannot start thread %d of %d\n", i + 1, n);
            exit(1);
        }
    return threads;
}

static int run_spike(int n, long pairs)
{
    spike_pairs = pairs;
    pthread_t *threads = start_threads(n, (unsigned)n + 1, spike_one);
    if (threads == NULL)
        return 1;
    pthread_barrier_wait(&together_barrier);
    long peak = shmem_kib();
    pthread_barrier_wait(&together_barrier);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    /* The collector releases each slot once it has drained it. */
    long after = shmem_kib();
    for (int i = 0; i < 1000 && after > peak / 16; i++) {
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
        long now = shmem_kib();
        if (now < after)
            after = now;
    }
    printf("spike shmem_kib=%ld after_kib=%ld\n", peak, after);
    return 0;
}

static int run_together(int n)
{
    pthread_t *threads = start_threads(n, (unsigned)n, together_one);
    if (threads == NULL)
        return 1;
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    printf("together done %d\n", n);
    return 0;
}

/* The pointer goes through a volatile so the compiler cannot see the bad free. */
__attribute__((noipa)) static void misuse_site(char *p)
{
    char *volatile inside = p + 8;
    free(inside);
}

/* misuse_site under `depth` more frames: each depth is a stack of its own. */
__attribute__((noipa)) static void misuse_nest(char *p, long depth)
{
    if (depth == 0)
        misuse_site(p);
    else
        misuse_nest(p, depth - 1);
    __asm__ volatile("" ::: "memory"); /* no tail call: the frame stays */
}

static int run_misuse(long n, long paths)
{
    char *p = malloc(100);
    if (p == NULL)
        return 1;
    for (long i = 0; i < n; i++) {
        if (paths > 1)
            misuse_nest(p, i % paths);
        else
            misuse_site(p);
    }
    free(p);
    printf("misuse done %ld\n", n);
    return 0;
}

static int run_fork(void)
{
    for (int i = 0; i < 3; i++)
        leak_site_one(555);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 5; i++)
            leak_site_two(666);
        exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    puts("fork done");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* ---- forks: a threaded parent and many short-lived children ---------- */

static pthread_barrier_t forks_started, forks_done;

/* One of the parent's other threads: allocates, then waits out the storm
 * so the children are forked from a process with four threads. */
static void *forks_bystander(void *arg)
{
    (void)arg;
    sink = malloc(1238);
    free(sink);
    pthread_barrier_wait(&forks_started);
    pthread_barrier_wait(&forks_done);
    return NULL;
}

static int run_forks(int n)
{
    enum { BYSTANDERS = 3 };
    pthread_t threads[BYSTANDERS];
    pthread_barrier_init(&forks_started, NULL, BYSTANDERS + 1);
    pthread_barrier_init(&forks_done, NULL, BYSTANDERS + 1);
    for (int i = 0; i < BYSTANDERS; i++)
        pthread_create(&threads[i], NULL, forks_bystander, NULL);
    pthread_barrier_wait(&forks_started);
    fflush(stdout);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        pid_t child = fork();
        if (child == 0) {
            leak_site_two(667);
            exit(0);
        }
        failed += child < 0;
    }
    for (int status; wait(&status) > 0;)
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    pthread_barrier_wait(&forks_done);
    for (int i = 0; i < BYSTANDERS; i++)
        pthread_join(threads[i], NULL);
    printf("forks done %d\n", n - failed);
    return failed != 0;
}

static int run_churn(double seconds)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned long long pairs = 0;
    do {
        for (int i = 0; i < 10000; i++) {
            sink = malloc(48);
            free(sink);
        }
        pairs += 10000;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    printf("churn done %llu\n", pairs);
    return 0;
}

/* ---- shapes: stacks that repeat with small differences ------------------ */

#define SHAPE_ROUNDS 600 /* per path and thread; divisible by 2, 3 and 4 */

/* noipa: no cloning or merging, so each function keeps its own frame and
 * name even where two bodies are identical. */
__attribute__((noipa)) static void *shape_site_a(size_t n)
{
    return malloc(n);
}

__attribute__((noipa)) static void *shape_site_b(size_t n)
{
    return malloc(n);
}

__attribute__((noipa)) static void *shape_inner(size_t n)
{
    return malloc(n);
}

__attribute__((noipa)) static void *shape_outer_one(size_t n)
{
    return shape_inner(n);
}

__attribute__((noipa)) static void *shape_outer_two(size_t n)
{
    return shape_inner(n);
}

static volatile int shape_depth_seen;

__attribute__((noipa)) static void *shape_recurse(int depth, size_t n)
{
    if (depth == 0)
        return malloc(n);
    void *p = shape_recurse(depth - 1, n);
    shape_depth_seen = depth; /* not a tail call: this frame stays */
    return p;
}

__attribute__((noipa)) static void *shape_vla_leaf(size_t n)
{
    return malloc(n);
}

/* A frame whose size changes from call to call. */
__attribute__((noipa)) static void *shape_vla(size_t frame_bytes, size_t n)
{
    volatile char *scratch = alloca(frame_bytes);
    scratch[0] = 1;
    scratch[frame_bytes - 1] = 2;
    return shape_vla_leaf(n);
}

static void *run_shapes_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < SHAPE_ROUNDS; i++) {
        free(i % 2 ? shape_site_a(2221) : shape_site_b(2221));
        free(i % 2 ? shape_outer_one(2222) : shape_outer_two(2222));
        free(shape_recurse(1 + i % 4, 2223));
        free(shape_vla(16 + (size_t)(i % 7) * 600, 2224));
    }
    return NULL;
}

/* The same paths on the main thread and on a second one, one after the
 * other (each thread has its own memo). */
static int run_shapes(void)
{
    run_shapes_thread(NULL);
    pthread_t thread;
    if (pthread_create(&thread, NULL, run_shapes_thread, NULL) != 0)
        return 1;
    pthread_join(thread, NULL);
    printf("shapes done\n");
    return 0;
}

/* Wrappers under the names libiberty, git and glib give theirs: a leak's
 * site is the wrapper's caller. */
__attribute__((noipa)) void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        abort();
    return p;
}

__attribute__((noipa)) void *g_malloc(size_t n)
{
    return n == 0 ? NULL : xmalloc(n); /* a wrapper of a wrapper */
}

__attribute__((noipa)) static void *leak_through_xmalloc(size_t n) { return xmalloc(n); }
__attribute__((noipa)) static void *leak_through_g_malloc(size_t n) { return g_malloc(n); }
__attribute__((noipa)) static char *leak_through_strdup(const char *s) { return strdup(s); }

static int run_wrappers(void)
{
    static void *kept[9];
    for (int i = 0; i < 4; i++)
        kept[i] = leak_through_xmalloc(3333);
    for (int i = 0; i < 3; i++)
        kept[4 + i] = leak_through_g_malloc(3334);
    for (int i = 0; i < 2; i++)
        kept[7 + i] = leak_through_strdup("a string strdup copies and nobody frees");
    sink = kept;
    printf("wrappers done\n");
    return 0;
}

static int run_plugin(const char *path)
{
    void *plugin = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (plugin == NULL) {
        fprintf(stderr, "trace_workload: dlopen %s: %s\n", path, dlerror());
        return 1;
    }
    char *(*make)(int) = (char *(*)(int))(uintptr_t)dlsym(plugin, "plugin_make_greeting");
    if (make == NULL) {
        fprintf(stderr, "trace_workload: %s has no plugin_make_greeting\n", path);
        return 1;
    }
    static char *kept[6];
    for (int i = 0; i < 6; i++)
        kept[i] = make(i);
    sink = kept;
    printf("plugin done\n");
    return 0;
}

/* Threads hand blocks on round a ring (two: back and forth), a batch of
 * PINGPONG_BATCH at a time, `rounds` times: the one that gets a batch
 * frees it and allocates the next batch of the same size, which its cache
 * serves from the blocks it just freed (and, past the cache's limit, the
 * central pool from the others'). So the same addresses are allocated
 * over and over by threads whose clocks (interpolated between reads,
 * tracer.c) never agree exactly: every free must still find its own
 * allocation. Prints the calls made. */
#define PINGPONG_BATCH 96
#define PINGPONG_BYTES 7000 /* class B8K, which nothing else here uses */
#define PINGPONG_PLAYERS_MAX 64
struct pingpong {
    void *blocks[PINGPONG_BATCH];
    _Atomic int turn; /* the thread (0 .. players - 1) that holds the batch */
    int players;
    long rounds;
};

struct pingpong_seat {
    struct pingpong *game;
    int me;
};

static void pingpong_play(struct pingpong *game, int me)
{
    for (long r = 0; r < game->rounds; r++) {
        if (r % game->players != me)
            continue;
        /* More threads than cores: a waiter gives its core to the holder. */
        while (atomic_load_explicit(&game->turn, memory_order_acquire) != me)
            if (game->players > 2)
                sched_yield();
        for (int i = 0; i < PINGPONG_BATCH; i++)
            free(game->blocks[i]);
        for (int i = 0; i < PINGPONG_BATCH; i++)
            game->blocks[i] = malloc(PINGPONG_BYTES);
        atomic_store_explicit(&game->turn, (me + 1) % game->players, memory_order_release);
    }
}

static void *pingpong_other(void *arg)
{
    struct pingpong_seat *seat = arg;
    pingpong_play(seat->game, seat->me);
    return NULL;
}

static int run_pingpong(long rounds, int players)
{
    static struct pingpong game;
    static struct pingpong_seat seats[PINGPONG_PLAYERS_MAX];
    static pthread_t others[PINGPONG_PLAYERS_MAX];
    if (players < 2 || players > PINGPONG_PLAYERS_MAX) {
        fprintf(stderr, "trace_workload: pingpong takes 2 to %d threads\n", PINGPONG_PLAYERS_MAX);
        return 2;
    }
    game.rounds = rounds;
    game.players = players;
    for (int i = 0; i < PINGPONG_BATCH; i++)
        game.blocks[i] = malloc(PINGPONG_BYTES);
    for (int k = 1; k < players; k++) {
        seats[k] = (struct pingpong_seat){&game, k};
        if (pthread_create(&others[k], NULL, pingpong_other, &seats[k]) != 0)
            return 1;
    }
    pingpong_play(&game, 0);
    for (int k = 1; k < players; k++)
        pthread_join(others[k], NULL);
    for (int i = 0; i < PINGPONG_BATCH; i++)
        free(game.blocks[i]);
    long calls = (rounds + 1) * PINGPONG_BATCH;
    printf("pingpong mallocs=%ld frees=%ld\n", calls, calls);
    return 0;
}

/* A program that closes every descriptor it did not open, as daemons and
 * fd-scrubbing launchers do, then fills those numbers with its own files
 * (one lands on the number the tracer kept its registration socket at),
 * then makes `n` allocations of 777 bytes in a fork child and itself:
 * tracing must not notice, and must not read from the program's files. */
static int run_closefds(int n)
{
    struct rlimit lim;
    int top = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 4096 ? (int)lim.rlim_cur : 4096;
    for (int fd = 3; fd < top; fd++)
        close(fd);
    for (int fd = 3; fd < 600 && fd < top; fd++)
        if (open("/dev/null", O_RDONLY) < 0)
            break;
    pid_t child = fork();
    if (child < 0)
        return 1;
    for (int i = 0; i < n; i++) {
        char *p = malloc(777);
        sink = p;
        free(p);
    }
    if (child == 0) {
        printf("closefds child done\n");
        exit(0); /* through the exit handshake, as the parent */
    }
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 1;
    printf("closefds done\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "closefds") == 0)
        return run_closefds(atoi(argv[2]));
    if (argc >= 2 && strcmp(argv[1], "counts") == 0)
        return run_counts();
    if (argc >= 3 && strcmp(argv[1], "pingpong") == 0)
        return run_pingpong(atol(argv[2]), argc >= 4 ? atoi(argv[3]) : 2);
    if (argc >= 3 && strcmp(argv[1], "kill") == 0)
        return run_kill(atoi(argv[2]));
    if (argc >= 3 && strcmp(argv[1], "threads") == 0)
        return run_threads(atoi(argv[2]));
    if (argc >= 3 && strcmp(argv[1], "together") == 0)
        return run_together(atoi(argv[2]));
    if (argc >= 4 && strcmp(argv[1], "spike") == 0)
        return run_spike(atoi(argv[2]), atol(argv[3]));
    if (argc >= 3 && strcmp(argv[1], "misuse") == 0)
        return run_misuse(atol(argv[2]), argc >= 4 ? atol(argv[3]) : 1);
    if (argc >= 2 && strcmp(argv[1], "fork") == 0)
        return run_fork();
    if (argc >= 3 && strcmp(argv[1], "forks") == 0)
        return run_forks(atoi(argv[2]));
    if (argc >= 3 && strcmp(argv[1], "churn") == 0)
        return run_churn(atof(argv[2]));
    if (argc >= 2 && strcmp(argv[1], "shapes") == 0)
        return run_shapes();
    if (argc >= 2 && strcmp(argv[1], "wrappers") == 0)
        return run_wrappers();
    if (argc >= 3 && strcmp(argv[1], "plugin") == 0)
        return run_plugin(argv[2]);
    fprintf(stderr, "usage: trace_workload counts|kill N|threads N|together N|spike N P|misuse N|fork|forks N|churn SECS|shapes|wrappers"
                    "|plugin PATH|closefds N|pingpong ROUNDS\n");
    return 2;
}
