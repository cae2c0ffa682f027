/* check_stress.c - many threads at once on one allocator (global and
 * instance): mixed sizes from every class and the large path, blocks handed
 * to random other threads to free, and a pattern written into each block
 * and checked before it is freed, so a block handed out twice, or written
 * by the allocator while live, is caught. Seeds are fixed: a failure
 * replays. Sized to run in a few seconds, also under the sanitizers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check_support.h"
#include "orthotope.h"

#define STRESS_THREADS 8
#define STRESS_ROUNDS 150000
#define STRESS_SLOTS 64        /* live blocks each thread keeps */
#define STRESS_MAILBOX 256     /* blocks in flight between threads */

/* A block carries its owner's pattern in its first and last 8 bytes. */
struct stress_block {
    uint64_t *p;
    size_t n;
};

/* One mailbox per thread: other threads drop blocks in, the owner frees
 * them. A mutex is fine: the allocator is under test, not the mailbox. */
struct stress_mailbox {
    pthread_mutex_t lock;
    struct stress_block items[STRESS_MAILBOX];
    int count;
};

struct stress_run {
    struct stress_mailbox boxes[STRESS_THREADS];
    ortho_allocator_t *instance; /* NULL: use the global allocator */
    atomic_int errors;
};

struct stress_thread {
    struct stress_run *run;
    int index;
};

static uint64_t stress_rand(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static size_t stress_size(uint64_t *seed)
{
    uint64_t r = stress_rand(seed);
    switch (r % 16) {
    case 0: return (size_t)(r >> 8) % ((size_t)4 << 20) + 16;           /* up to B16M */
    case 1: return (r >> 8) % 64 == 0 ? ((size_t)17 << 20) : 70000;    /* rare large */
    case 2: case 3: return (size_t)(r >> 8) % 65536 + 16; /* >= 16: head and tail patterns do not overlap */
    default: return (size_t)(r >> 8) % 512 + 16;
    }
}

static uint64_t stress_pattern(const void *p, size_t n)
{
    return ((uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull) ^ n;
}

static void stress_fill(uint64_t *p, size_t n)
{
    uint64_t pattern = stress_pattern(p, n);
    p[0] = pattern;
    memcpy((char *)p + n - 8, &pattern, 8);
}

static int stress_check(const uint64_t *p, size_t n)
{
    uint64_t pattern = stress_pattern(p, n), tail;
    memcpy(&tail, (const char *)p + n - 8, 8);
    return p[0] == pattern && tail == pattern;
}

/* Counts an error and says which block and why, so a failure is legible. */
static void stress_error(struct stress_run *run, const char *what, const void *p, size_t n, int status)
{
    fprintf(stderr, "stress: %s: block %p of %zu bytes (status %s)\n", what, p, n,
            ortho_status_name((ortho_status_t)status));
    atomic_fetch_add(&run->errors, 1);
}

static void *stress_worker(void *arg)
{
    struct stress_thread *self = arg;
    struct stress_run *run = self->run;
    ortho_cache_t *cache = NULL;
    if (run->instance != NULL)
        ortho_cache_create(run->instance, &cache);
    uint64_t seed = 0x1234567ull + (uint64_t)self->index * 7919;
    struct stress_block slots[STRESS_SLOTS] = {{0}};
    for (int round = 0; round < STRESS_ROUNDS; round++) {
        int slot = (int)(stress_rand(&seed) % STRESS_SLOTS);
        struct stress_block *b = &slots[slot];
        if (b->p != NULL) {
            if (!stress_check(b->p, b->n))
                stress_error(run, "pattern overwritten while live", b->p, b->n, 0);
            int target = (int)(stress_rand(&seed) % STRESS_THREADS);
            struct stress_mailbox *box = &run->boxes[target];
            pthread_mutex_lock(&box->lock);
            int posted = box->count < STRESS_MAILBOX;
            if (posted)
                box->items[box->count++] = *b;
            pthread_mutex_unlock(&box->lock);
            if (!posted) {
                ortho_status_t st = cache ? ortho_cache_free(cache, b->p) : ortho_free(b->p);
                if (st != ORTHO_OK)
                    stress_error(run, "own free refused", b->p, b->n, st);
            }
            b->p = NULL;
        } else {
            b->n = stress_size(&seed);
            b->p = cache ? ortho_cache_alloc(cache, b->n) : ortho_alloc(b->n);
            if (b->p == NULL)
                stress_error(run, "allocation failed", NULL, b->n, ortho_last_status());
            else
                stress_fill(b->p, b->n);
        }
        if (round % 16 == 0) { /* drain my mailbox: blocks from other threads */
            struct stress_mailbox *box = &run->boxes[self->index];
            pthread_mutex_lock(&box->lock);
            for (int i = 0; i < box->count; i++) {
                struct stress_block *m = &box->items[i];
                if (!stress_check(m->p, m->n))
                    stress_error(run, "pattern overwritten in transit", m->p, m->n, 0);
                ortho_status_t st = cache ? ortho_cache_free(cache, m->p) : ortho_free(m->p);
                if (st != ORTHO_OK)
                    stress_error(run, "cross-thread free refused", m->p, m->n, st);
            }
            box->count = 0;
            pthread_mutex_unlock(&box->lock);
        }
    }
    for (int i = 0; i < STRESS_SLOTS; i++) {
        if (slots[i].p != NULL) {
            if (!stress_check(slots[i].p, slots[i].n))
                stress_error(run, "pattern overwritten at the end", slots[i].p, slots[i].n, 0);
            ortho_status_t st = cache ? ortho_cache_free(cache, slots[i].p) : ortho_free(slots[i].p);
            if (st != ORTHO_OK)
                stress_error(run, "final free refused", slots[i].p, slots[i].n, st);
        }
    }
    if (cache != NULL)
        ortho_cache_destroy(cache);
    return NULL;
}

/* Runs the stress and frees what is left in the mailboxes; returns errors. */
static int stress_run(ortho_allocator_t *instance)
{
    static struct stress_run run;
    memset(&run, 0, sizeof run);
    run.instance = instance;
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_mutex_init(&run.boxes[i].lock, NULL);
    pthread_t threads[STRESS_THREADS];
    struct stress_thread args[STRESS_THREADS];
    for (int i = 0; i < STRESS_THREADS; i++) {
        args[i] = (struct stress_thread){&run, i};
        pthread_create(&threads[i], NULL, stress_worker, &args[i]);
    }
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_join(threads[i], NULL);
    ortho_cache_t *cache = NULL;
    if (instance != NULL)
        ortho_cache_create(instance, &cache);
    for (int i = 0; i < STRESS_THREADS; i++) {
        for (int j = 0; j < run.boxes[i].count; j++) {
            struct stress_block *m = &run.boxes[i].items[j];
            if (!stress_check(m->p, m->n))
                stress_error(&run, "pattern overwritten in a mailbox", m->p, m->n, 0);
            ortho_status_t st = cache ? ortho_cache_free(cache, m->p) : ortho_free(m->p);
            if (st != ORTHO_OK)
                stress_error(&run, "mailbox free refused", m->p, m->n, st);
        }
    }
    if (cache != NULL)
        ortho_cache_destroy(cache);
    return atomic_load(&run.errors);
}

START_TEST(eight_threads_with_cross_thread_frees_never_share_or_lose_a_block_globally)
{
    ck_assert_int_eq(stress_run(NULL), 0);
    ortho_stats_t s;
    ortho_stats(&s);
    for (unsigned cls = 0; cls < ortho_class_count(); cls++) {
        ck_assert_uint_eq(s.classes[cls].live_blocks, 0);
        ck_assert_uint_eq(s.classes[cls].live_requested_bytes, 0);
    }
    ck_assert_uint_eq(s.large_live_blocks, 0);
}
END_TEST

START_TEST(eight_threads_on_one_instance_leave_every_block_accounted_for)
{
    ortho_allocator_t *a;
    ck_assert_int_eq(ortho_allocator_create(NULL, &a), ORTHO_OK);
    ck_assert_int_eq(stress_run(a), 0);
    ortho_stats_t s;
    ortho_allocator_stats(a, &s);
    for (unsigned cls = 0; cls < ortho_class_count(); cls++) {
        ck_assert_uint_eq(s.classes[cls].live_blocks, 0);
        ck_assert_uint_eq(s.classes[cls].cached_blocks, 0); /* all caches destroyed */
        ck_assert_uint_eq(s.classes[cls].pool_blocks, s.classes[cls].carved_blocks);
    }
    /* Large blocks, many freed by a thread whose cache did not hold them. */
    ck_assert_uint_gt(s.large_allocs, 0);
    ck_assert_uint_eq(s.large_frees, s.large_allocs);
    ck_assert_uint_eq(s.large_live_blocks, 0);
    ck_assert_uint_eq(s.large_live_requested_bytes, 0);
    ck_assert_int_eq(ortho_allocator_destroy(a), ORTHO_OK);
}
END_TEST

Suite *stress_suite(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, eight_threads_with_cross_thread_frees_never_share_or_lose_a_block_globally);
    tcase_add_test(tc, eight_threads_on_one_instance_leave_every_block_accounted_for);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(stress_suite)
