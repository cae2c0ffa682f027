/* check_pool.c - one class's central pool (pool.c): batches pushed and
 * popped last-in first-out with their lengths intact; the block and batch
 * counters; popping an empty pool; pool_take_all detaching every batch as a
 * walkable chain and leaving the pool empty and reusable; and four threads
 * (fixed seeds) pushing and popping batches concurrently, after which every
 * batch is held exactly once, by a thread or by the pool, and the block
 * count is exact. A batch here is only its first header (the pool never
 * looks further), taken from 64-aligned storage. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_support.h"
#include "header.h"
#include "pool.h"

#define HEADERS 512

static struct pool pool;
static header_t *headers; /* HEADERS batch heads */

static void setup_pool(void)
{
    memset(&pool, 0, sizeof pool);
    headers = aligned_alloc(64, HEADERS * sizeof(header_t));
    ck_assert_ptr_nonnull(headers);
    memset(headers, 0, HEADERS * sizeof(header_t));
}

static void teardown_pool(void)
{
    free(headers);
    headers = NULL;
}

static uint64_t pool_blocks(void)
{
    return atomic_load(&pool.blocks);
}

static uint64_t pool_batches(void)
{
    return atomic_load(&pool.batch_count);
}

/* ---- push and pop -------------------------------------------------------- */

START_TEST(a_new_pool_is_empty)
{
    uint64_t blocks = 99;
    ck_assert_ptr_null(pool_pop(&pool, &blocks));
    ck_assert_uint_eq(blocks, 0);
    ck_assert_uint_eq(pool_blocks(), 0);
    ck_assert_uint_eq(pool_batches(), 0);
}
END_TEST

START_TEST(a_pushed_batch_pops_with_its_length)
{
    pool_push(&pool, &headers[0], 32);
    uint64_t blocks = 0;
    ck_assert_ptr_eq(pool_pop(&pool, &blocks), &headers[0]);
    ck_assert_uint_eq(blocks, 32);
}
END_TEST

START_TEST(batches_pop_last_in_first_out)
{
    pool_push(&pool, &headers[0], 3);
    pool_push(&pool, &headers[1], 5);
    pool_push(&pool, &headers[2], 7);
    uint64_t blocks;
    ck_assert_ptr_eq(pool_pop(&pool, &blocks), &headers[2]);
    ck_assert_uint_eq(blocks, 7);
    ck_assert_ptr_eq(pool_pop(&pool, &blocks), &headers[1]);
    ck_assert_uint_eq(blocks, 5);
    ck_assert_ptr_eq(pool_pop(&pool, &blocks), &headers[0]);
    ck_assert_uint_eq(blocks, 3);
}
END_TEST

START_TEST(popping_the_last_batch_leaves_the_pool_empty)
{
    pool_push(&pool, &headers[0], 3);
    uint64_t blocks;
    pool_pop(&pool, &blocks);
    ck_assert_ptr_null(pool_pop(&pool, &blocks));
    ck_assert_uint_eq(blocks, 0);
}
END_TEST

START_TEST(pushes_count_blocks_and_batches)
{
    pool_push(&pool, &headers[0], 3);
    pool_push(&pool, &headers[1], 5);
    ck_assert_uint_eq(pool_blocks(), 8);
    ck_assert_uint_eq(pool_batches(), 2);
}
END_TEST

START_TEST(a_pop_takes_its_batch_off_the_counts)
{
    pool_push(&pool, &headers[0], 3);
    pool_push(&pool, &headers[1], 5);
    uint64_t blocks;
    pool_pop(&pool, &blocks);
    ck_assert_uint_eq(pool_blocks(), 3);
    ck_assert_uint_eq(pool_batches(), 1);
}
END_TEST

START_TEST(popping_an_empty_pool_leaves_the_counts_at_zero)
{
    uint64_t blocks;
    pool_pop(&pool, &blocks);
    pool_pop(&pool, &blocks);
    ck_assert_uint_eq(pool_blocks(), 0);
    ck_assert_uint_eq(pool_batches(), 0);
}
END_TEST

START_TEST(a_batch_can_be_pushed_again_after_it_was_popped)
{
    uint64_t blocks;
    pool_push(&pool, &headers[0], 4);
    pool_push(&pool, &headers[1], 6);
    header_t *first = pool_pop(&pool, &blocks);
    pool_push(&pool, first, blocks);
    ck_assert_ptr_eq(pool_pop(&pool, &blocks), &headers[1]);
    ck_assert_uint_eq(blocks, 6);
    ck_assert_ptr_eq(pool_pop(&pool, &blocks), &headers[0]);
    ck_assert_uint_eq(blocks, 4);
}
END_TEST

START_TEST(a_batch_of_more_than_4_billion_blocks_keeps_its_length)
{
    const uint64_t huge = ((uint64_t)1 << 32) + 5;
    pool_push(&pool, &headers[0], huge);
    ck_assert_uint_eq(pool_blocks(), huge);
    uint64_t blocks;
    pool_pop(&pool, &blocks);
    ck_assert_uint_eq(blocks, huge);
}
END_TEST

START_TEST(the_pool_leaves_the_free_list_link_of_a_batch_alone)
{
    /* Blocks of a batch stay chained through next_free; the pool keeps its
     * own bookkeeping elsewhere in the first header. */
    headers[0].next_free = &headers[1];
    headers[1].next_free = NULL;
    pool_push(&pool, &headers[0], 2);
    pool_push(&pool, &headers[2], 1);
    ck_assert_ptr_eq(headers[0].next_free, &headers[1]);
}
END_TEST

/* ---- take all ----------------------------------------------------------- */

START_TEST(take_all_on_an_empty_pool_returns_null)
{
    ck_assert_ptr_null(pool_take_all(&pool));
}
END_TEST

START_TEST(take_all_returns_every_batch_as_a_chain)
{
    for (int i = 0; i < 10; i++)
        pool_push(&pool, &headers[i], (uint64_t)i + 1);
    header_t *chain = pool_take_all(&pool);
    uint64_t batches = 0, blocks = 0;
    unsigned seen = 0; /* bit i: headers[i] met */
    for (header_t *b = chain; b != NULL; b = pool_batch_next(b)) {
        ptrdiff_t index = b - headers;
        ck_assert_int_ge(index, 0);
        ck_assert_int_lt(index, 10);
        ck_assert_msg(!(seen & (1u << index)), "batch %td appears twice", index);
        seen |= 1u << index;
        ck_assert_uint_eq(pool_batch_blocks(b), (uint64_t)index + 1);
        batches++;
        blocks += pool_batch_blocks(b);
    }
    ck_assert_uint_eq(batches, 10);
    ck_assert_uint_eq(blocks, 55);
    ck_assert_uint_eq(seen, 0x3ff);
}
END_TEST

START_TEST(take_all_leaves_the_pool_empty_with_zero_counts)
{
    pool_push(&pool, &headers[0], 3);
    pool_push(&pool, &headers[1], 5);
    pool_take_all(&pool);
    uint64_t blocks;
    ck_assert_ptr_null(pool_pop(&pool, &blocks));
    ck_assert_uint_eq(pool_blocks(), 0);
    ck_assert_uint_eq(pool_batches(), 0);
}
END_TEST

START_TEST(a_pool_emptied_by_take_all_accepts_new_batches)
{
    pool_push(&pool, &headers[0], 3);
    pool_take_all(&pool);
    pool_push(&pool, &headers[1], 9);
    uint64_t blocks;
    ck_assert_ptr_eq(pool_pop(&pool, &blocks), &headers[1]);
    ck_assert_uint_eq(blocks, 9);
    ck_assert_ptr_null(pool_pop(&pool, &blocks));
}
END_TEST

/* ---- threads ------------------------------------------------------------- */

#define THREADS 4
#define BATCHES_PER_THREAD 64 /* THREADS * this <= HEADERS */
#define OPS_PER_THREAD 200000

/* Length of batch i: distinct per batch so a mix-up shows. */
static uint64_t batch_length(size_t i)
{
    return (uint64_t)(i % 61) + 1;
}

struct worker {
    pthread_t thread;
    unsigned seed;                /* fixed per thread */
    header_t *held[HEADERS];      /* batches this thread holds */
    uint64_t held_lengths[HEADERS]; /* their lengths as popped */
    size_t held_count;
};

static struct worker workers[THREADS];

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    for (int op = 0; op < OPS_PER_THREAD; op++) {
        bool push = w->held_count > 0 && (w->held_count == HEADERS || rand_r(&w->seed) % 2 == 0);
        if (push) {
            size_t pick = (size_t)rand_r(&w->seed) % w->held_count;
            pool_push(&pool, w->held[pick], w->held_lengths[pick]);
            w->held_count--;
            w->held[pick] = w->held[w->held_count];
            w->held_lengths[pick] = w->held_lengths[w->held_count];
        } else {
            uint64_t blocks;
            header_t *b = pool_pop(&pool, &blocks);
            if (b != NULL) {
                w->held[w->held_count] = b;
                w->held_lengths[w->held_count] = blocks;
                w->held_count++;
            }
        }
    }
    return NULL;
}

START_TEST(concurrent_pushes_and_pops_keep_every_batch_and_the_block_count_exact)
{
    uint64_t total_blocks = 0;
    for (int t = 0; t < THREADS; t++) {
        struct worker *w = &workers[t];
        memset(w, 0, sizeof *w);
        w->seed = 0x5eed0000u + (unsigned)t;
        for (size_t i = 0; i < BATCHES_PER_THREAD; i++) {
            size_t index = (size_t)t * BATCHES_PER_THREAD + i;
            w->held[i] = &headers[index];
            w->held_lengths[i] = batch_length(index);
            total_blocks += batch_length(index);
        }
        w->held_count = BATCHES_PER_THREAD;
    }
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&workers[t].thread, NULL, worker_run, &workers[t]), 0);
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_join(workers[t].thread, NULL), 0);

    /* Count every batch where it ended up: with a thread or in the pool. */
    unsigned char owners[HEADERS] = {0};
    uint64_t held_blocks = 0, wrong_lengths = 0;
    for (int t = 0; t < THREADS; t++) {
        for (size_t i = 0; i < workers[t].held_count; i++) {
            size_t index = (size_t)(workers[t].held[i] - headers);
            owners[index]++;
            held_blocks += workers[t].held_lengths[i];
            wrong_lengths += workers[t].held_lengths[i] != batch_length(index);
        }
    }
    uint64_t counted_pool_blocks = pool_blocks();
    uint64_t counted_pool_batches = pool_batches();
    uint64_t chain_blocks = 0, chain_batches = 0;
    for (header_t *b = pool_take_all(&pool); b != NULL; b = pool_batch_next(b)) {
        size_t index = (size_t)(b - headers);
        ck_assert_uint_lt(index, HEADERS);
        owners[index]++;
        chain_blocks += pool_batch_blocks(b);
        chain_batches++;
        wrong_lengths += pool_batch_blocks(b) != batch_length(index);
    }
    size_t lost = 0, doubled = 0;
    for (size_t i = 0; i < THREADS * BATCHES_PER_THREAD; i++) {
        lost += owners[i] == 0;
        doubled += owners[i] > 1;
    }
    ck_assert_msg(lost == 0 && doubled == 0, "%zu batches lost, %zu held twice", lost, doubled);
    ck_assert_uint_eq(wrong_lengths, 0);
    ck_assert_uint_eq(chain_blocks, counted_pool_blocks);
    ck_assert_uint_eq(chain_batches, counted_pool_batches);
    ck_assert_uint_eq(held_blocks + counted_pool_blocks, total_blocks);
}
END_TEST

Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");

    TCase *stack = tcase_create("push_pop");
    tcase_add_checked_fixture(stack, setup_pool, teardown_pool);
    tcase_add_test(stack, a_new_pool_is_empty);
    tcase_add_test(stack, a_pushed_batch_pops_with_its_length);
    tcase_add_test(stack, batches_pop_last_in_first_out);
    tcase_add_test(stack, popping_the_last_batch_leaves_the_pool_empty);
    tcase_add_test(stack, pushes_count_blocks_and_batches);
    tcase_add_test(stack, a_pop_takes_its_batch_off_the_counts);
    tcase_add_test(stack, popping_an_empty_pool_leaves_the_counts_at_zero);
    tcase_add_test(stack, a_batch_can_be_pushed_again_after_it_was_popped);
    tcase_add_test(stack, a_batch_of_more_than_4_billion_blocks_keeps_its_length);
    tcase_add_test(stack, the_pool_leaves_the_free_list_link_of_a_batch_alone);
    suite_add_tcase(s, stack);

    TCase *all = tcase_create("take_all");
    tcase_add_checked_fixture(all, setup_pool, teardown_pool);
    tcase_add_test(all, take_all_on_an_empty_pool_returns_null);
    tcase_add_test(all, take_all_returns_every_batch_as_a_chain);
    tcase_add_test(all, take_all_leaves_the_pool_empty_with_zero_counts);
    tcase_add_test(all, a_pool_emptied_by_take_all_accepts_new_batches);
    suite_add_tcase(s, all);

    TCase *threads = tcase_create("threads");
    tcase_add_checked_fixture(threads, setup_pool, teardown_pool);
    tcase_add_test(threads, concurrent_pushes_and_pops_keep_every_batch_and_the_block_count_exact);
    suite_add_tcase(s, threads);
    return s;
}

CHECK_SUPPORT_MAIN(pool_suite)
