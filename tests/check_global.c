/* check_global.c - the process-global allocator (global.c, api.c): the
 * ortho_* calls a program makes without an instance, status codes and their
 * messages, the version, caches handed back at thread exit, frees from a
 * thread that never allocated, and a working allocator in both parent and
 * child after fork(). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_support.h"
#include "orthotope.h"

START_TEST(every_status_has_a_name_and_a_message)
{
    for (int s = 0; s < ORTHO_STATUS_COUNT; s++) {
        ck_assert_ptr_nonnull(ortho_strerror((ortho_status_t)s));
        ck_assert_uint_gt(strlen(ortho_strerror((ortho_status_t)s)), 4);
        ck_assert_ptr_nonnull(ortho_status_name((ortho_status_t)s));
    }
    ck_assert_str_eq(ortho_status_name(ORTHO_E_DOUBLE_FREE), "double_free");
    ck_assert_str_eq(ortho_status_name(ORTHO_E_FOREIGN), "foreign_pointer");
    ck_assert_str_eq(ortho_status_name(ORTHO_E_MISALIGNED), "misaligned_pointer");
    ck_assert_str_eq(ortho_status_name(ORTHO_E_SIZE_MISMATCH), "size_mismatch");
}
END_TEST

START_TEST(an_unknown_status_still_gets_a_message)
{
    ck_assert_str_eq(ortho_strerror((ortho_status_t)999), "unknown status");
    ck_assert_str_eq(ortho_status_name((ortho_status_t)-1), "unknown");
}
END_TEST

START_TEST(the_runtime_version_matches_the_header)
{
    ck_assert_uint_eq(ortho_version(), ORTHO_VERSION_NUMBER);
}
END_TEST

START_TEST(the_global_allocator_serves_every_class_and_the_large_path)
{
    for (unsigned cls = 0; cls <= ortho_class_count(); cls++) {
        size_t n = cls < ortho_class_count() ? ortho_class_payload(cls) : ((size_t)16 << 20) + 1;
        unsigned char *p = ortho_alloc(n);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(ortho_class_of(n), cls);
        p[0] = 1;
        p[n - 1] = 2;
        ck_assert_uint_ge(ortho_usable_size(p), n);
        ck_assert_int_eq(ortho_free_sized(p, n), ORTHO_OK);
    }
}
END_TEST

START_TEST(a_request_of_size_max_fails_with_nomem)
{
    errno = 0;
    ck_assert_ptr_null(ortho_alloc(SIZE_MAX));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(ortho_last_status(), ORTHO_E_NOMEM);
    ck_assert_ptr_null(ortho_alloc_aligned(SIZE_MAX - 100, 4096));
    ck_assert_int_eq(ortho_last_status(), ORTHO_E_NOMEM);
}
END_TEST

START_TEST(sizes_above_4_gib_keep_their_full_size)
{
    size_t n = ((size_t)5 << 30) + 3;
    char *p = ortho_alloc(n);
    ck_assert_ptr_nonnull(p); /* address space only: pages are never touched */
    ck_assert_uint_ge(ortho_usable_size(p), n);
    ortho_stats_t s;
    ortho_stats(&s);
    ck_assert_uint_eq(s.large_live_requested_bytes, n);
    ck_assert_int_eq(ortho_free_sized(p, n), ORTHO_OK);
}
END_TEST

START_TEST(stats_refuse_a_null_output)
{
    ck_assert_int_eq(ortho_stats(NULL), ORTHO_E_BAD_CONFIG);
}
END_TEST

static void *free_from_fresh_thread(void *p)
{
    return (void *)(intptr_t)ortho_free(p);
}

START_TEST(a_thread_that_never_allocated_can_free_another_threads_block)
{
    void *p = ortho_alloc(300);
    pthread_t t;
    void *status;
    pthread_create(&t, NULL, free_from_fresh_thread, p);
    pthread_join(t, &status);
    ck_assert_int_eq((int)(intptr_t)status, ORTHO_OK);
    ck_assert_int_eq(ortho_free(p), ORTHO_E_DOUBLE_FREE);
}
END_TEST

static void *allocate_and_cache_then_exit(void *unused)
{
    (void)unused;
    void *blocks[64];
    for (int i = 0; i < 64; i++)
        blocks[i] = ortho_alloc(4000);
    for (int i = 0; i < 64; i++)
        ortho_free(blocks[i]);
    return NULL;
}

START_TEST(thread_exit_hands_the_threads_cached_blocks_back_to_the_pool)
{
    ortho_stats_t before, after;
    ortho_stats(&before);
    pthread_t t;
    pthread_create(&t, NULL, allocate_and_cache_then_exit, NULL);
    pthread_join(t, NULL);
    ortho_stats(&after);
    ck_assert_uint_eq(after.threads, before.threads);
    ck_assert_uint_eq(after.classes[2].cached_blocks, before.classes[2].cached_blocks);
    ck_assert_uint_ge(after.classes[2].pool_blocks, before.classes[2].pool_blocks + 64);
    ck_assert_uint_eq(after.classes[2].live_blocks, before.classes[2].live_blocks);
}
END_TEST

static void *hold_cached_blocks(void *arg)
{
    pthread_barrier_t *barrier = arg;
    ortho_free(ortho_alloc(256));
    pthread_barrier_wait(barrier); /* cache is populated */
    pthread_barrier_wait(barrier); /* parent has forked */
    return NULL;
}

START_TEST(a_forked_child_has_a_working_allocator_and_reclaims_other_threads_caches)
{
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, hold_cached_blocks, &barrier);
    pthread_barrier_wait(&barrier);
    pid_t pid = fork();
    if (pid == 0) {
        ortho_stats_t s;
        ortho_stats(&s);
        /* The other thread is gone in the child: its cache was reclaimed
         * (this thread never allocated, so it has no cache either). */
        int ok = s.threads == 0 && s.classes[1].cached_blocks == 0 &&
                 s.classes[1].pool_blocks > 0;
        for (int i = 0; i < 10000 && ok; i++) {
            char *p = ortho_alloc((size_t)(i % 9000) + 1);
            ok = p != NULL && ortho_free(p) == ORTHO_OK;
        }
        _exit(ok ? 0 : 1);
    }
    pthread_barrier_wait(&barrier);
    pthread_join(t, NULL);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    void *p = ortho_alloc(100); /* the parent still works too */
    ck_assert_int_eq(ortho_free(p), ORTHO_OK);
}
END_TEST

START_TEST(trim_of_the_global_allocator_releases_retained_large_mappings)
{
    void *p = ortho_alloc((size_t)32 << 20);
    ortho_free(p);
    ck_assert_uint_ge(ortho_trim(), (size_t)32 << 20);
}
END_TEST

Suite *global_suite(void)
{
    Suite *s = suite_create("global");
    TCase *api = tcase_create("api");
    tcase_add_test(api, every_status_has_a_name_and_a_message);
    tcase_add_test(api, an_unknown_status_still_gets_a_message);
    tcase_add_test(api, the_runtime_version_matches_the_header);
    tcase_add_test(api, the_global_allocator_serves_every_class_and_the_large_path);
    tcase_add_test(api, a_request_of_size_max_fails_with_nomem);
    tcase_add_test(api, sizes_above_4_gib_keep_their_full_size);
    tcase_add_test(api, stats_refuse_a_null_output);
    tcase_add_test(api, trim_of_the_global_allocator_releases_retained_large_mappings);
    suite_add_tcase(s, api);
    TCase *threads = tcase_create("threads and fork");
    tcase_add_test(threads, a_thread_that_never_allocated_can_free_another_threads_block);
    tcase_add_test(threads, thread_exit_hands_the_threads_cached_blocks_back_to_the_pool);
    tcase_add_test(threads, a_forked_child_has_a_working_allocator_and_reclaims_other_threads_caches);
    suite_add_tcase(s, threads);
    return s;
}

CHECK_SUPPORT_MAIN(global_suite)
