/* integration_support.h - what check_shim.c's tests share but is not
 * itself under test: fill patterns that prove a block was neither moved
 * wrongly nor overwritten by a neighbour, a fixed-seed PRNG, a way to hide
 * constants from the optimiser, and running a child program with or
 * without LD_PRELOAD to compare what it prints. Header-only, for one
 * translation unit. */
#ifndef IT_INTEGRATION_SUPPORT_H
#define IT_INTEGRATION_SUPPORT_H

#include <check.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
/* Orthotope's numbers, restated here because the suite links nothing of
 * ours: the smallest class payload and the largest class payload. */
#define SMALLEST_CLASS_BYTES ((size_t)64)
#define LARGEST_CLASS_BYTES (16 * MiB)
/* Blocks up to PATTERN_FULL_MAX bytes are patterned in full; of larger ones
 * only the first and last PATTERN_EDGE_BYTES (touching every page of 20 MiB
 * blocks in hundreds of cases would only cost time). */
#define PATTERN_FULL_MAX (256 * KiB)
#define PATTERN_EDGE_BYTES (4 * KiB)

/* The value n, opaque to the optimiser (so neither constant folding nor
 * -Walloc-size-larger-than sees the impossible sizes). */
static size_t opaque_size(size_t n)
{
    volatile size_t v = n;
    return v;
}

static unsigned char pattern_at(uint32_t seed, size_t i)
{
    return (unsigned char)(seed * 131u + (uint32_t)i * 7u + (uint32_t)(i >> 12));
}

/* Walks the bytes the pattern helpers cover: all of a small block, the two
 * ends of a big one. */
static void pattern_fill(void *p, size_t size, uint32_t seed)
{
    unsigned char *b = p;
    if (size <= PATTERN_FULL_MAX) {
        for (size_t i = 0; i < size; i++)
            b[i] = pattern_at(seed, i);
        return;
    }
    for (size_t i = 0; i < PATTERN_EDGE_BYTES; i++)
        b[i] = pattern_at(seed, i);
    for (size_t i = size - PATTERN_EDGE_BYTES; i < size; i++)
        b[i] = pattern_at(seed, i);
}

/* Whether byte i of a block of `size` bytes was written by pattern_fill. */
static bool pattern_covers(size_t size, size_t i)
{
    return size <= PATTERN_FULL_MAX || i < PATTERN_EDGE_BYTES || i >= size - PATTERN_EDGE_BYTES;
}

/* Whether the first `kept` bytes of a block filled as `size` bytes still hold
 * the pattern, where pattern_fill wrote them (a block that shrank keeps a
 * prefix of what was written). */
static bool pattern_prefix_intact(const void *p, size_t size, size_t kept, uint32_t seed)
{
    const unsigned char *b = p;
    if (kept > size)
        kept = size;
    size_t head = size <= PATTERN_FULL_MAX ? kept
                  : kept < PATTERN_EDGE_BYTES ? kept : PATTERN_EDGE_BYTES;
    for (size_t i = 0; i < head; i++)
        if (b[i] != pattern_at(seed, i))
            return false;
    for (size_t i = size - PATTERN_EDGE_BYTES; size > PATTERN_FULL_MAX && i < kept; i++)
        if (pattern_covers(size, i) && b[i] != pattern_at(seed, i))
            return false;
    return true;
}

static bool pattern_intact(const void *p, size_t size, uint32_t seed)
{
    return pattern_prefix_intact(p, size, size, seed);
}

/* Index of the first non-zero byte, or `size` if all are zero. */
static size_t first_nonzero(const unsigned char *p, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (p[i] != 0)
            return i;
    return size;
}

static bool is_aligned(const void *p, size_t alignment)
{
    return (uintptr_t)p % alignment == 0;
}

/* xorshift64*: a fixed seed gives every run the same sequence. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* ---- running other programs -------------------------------------------- */

struct run_result {
    int status;     /* as from waitpid */
    char *out;      /* stdout, NUL-terminated, malloc'd */
    char *err;      /* stderr, likewise */
};

/* Reads a whole file into a malloc'd string. */
static char *slurp(int fd)
{
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    lseek(fd, 0, SEEK_SET);
    for (;;) {
        if (len + 1 == cap) {
            cap *= 2;
            text = realloc(text, cap);
            ck_assert_ptr_nonnull(text);
        }
        ssize_t n = read(fd, text + len, cap - len - 1);
        ck_assert_int_ge(n, 0);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    text[len] = '\0';
    return text;
}

static int temp_file(void)
{
    char name[] = "/tmp/ortho-it-XXXXXX";
    int fd = mkstemp(name);
    ck_assert_int_ge(fd, 0);
    unlink(name);
    return fd;
}

/* Runs argv[0] (fork + exec via posix_spawn) with the suite's environment,
 * minus LD_PRELOAD unless `preloaded`, and collects its output. */
static struct run_result run_program(char *const argv[], bool preloaded)
{
    size_t count = 0;
    while (environ[count] != NULL)
        count++;
    char **env = calloc(count + 1, sizeof *env);
    ck_assert_ptr_nonnull(env);
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        if (!preloaded && strncmp(environ[i], "LD_PRELOAD=", 11) == 0)
            continue;
        env[kept++] = environ[i];
    }
    int out_fd = temp_file(), err_fd = temp_file();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
    pid_t pid;
    int spawned = posix_spawn(&pid, argv[0], &actions, NULL, argv, env);
    ck_assert_msg(spawned == 0, "cannot run %s: %s", argv[0], strerror(spawned));
    posix_spawn_file_actions_destroy(&actions);
    free(env);
    struct run_result result;
    ck_assert_int_eq(waitpid(pid, &result.status, 0), pid);
    result.out = slurp(out_fd);
    result.err = slurp(err_fd);
    close(out_fd);
    close(err_fd);
    return result;
}

static void run_result_free(struct run_result *result)
{
    free(result->out);
    free(result->err);
}

/* Runs a program with and without the preload: same stdout, both exit 0,
 * and nothing on stderr under the preload. */
static void assert_same_with_and_without_preload(char *const argv[])
{
    struct run_result plain = run_program(argv, false);
    struct run_result preloaded = run_program(argv, true);
    ck_assert_msg(WIFEXITED(plain.status) && WEXITSTATUS(plain.status) == 0,
                  "%s without the preload: status %#x\n%s", argv[0], plain.status, plain.err);
    ck_assert_msg(WIFEXITED(preloaded.status) && WEXITSTATUS(preloaded.status) == 0,
                  "%s with the preload: status %#x (signal %d)\n%s", argv[0], preloaded.status,
                  WIFSIGNALED(preloaded.status) ? WTERMSIG(preloaded.status) : 0, preloaded.err);
    ck_assert_msg(preloaded.err[0] == '\0', "stderr under the preload: %s", preloaded.err);
    ck_assert_msg(strcmp(plain.out, preloaded.out) == 0,
                  "output differs\n--- without:\n%s--- with:\n%s", plain.out, preloaded.out);
    ck_assert_msg(plain.out[0] != '\0', "%s printed nothing", argv[0]);
    run_result_free(&plain);
    run_result_free(&preloaded);
}

#endif
