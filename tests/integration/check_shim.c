/* check_shim.c - the drop-in malloc as a preloaded program sees it. The
 * suite links nothing of Orthotope: CMake runs it with
 * LD_PRELOAD=liborthotope.so, so every malloc, free and operator new below
 * (and in Check itself, which forks a child per test) lands on our
 * allocator, and the first test proves it. It pins the POSIX and glibc
 * contracts real programs depend on (malloc(0), free(NULL), errno and NULL on
 * impossible sizes, every valid alignment, realloc keeping contents and
 * growing in place within a class, zeroed calloc memory after reuse,
 * malloc_usable_size, mallinfo2, reallocarray), then the process-level
 * situations a drop-in allocator meets: threads freeing each other's blocks,
 * threads exiting with live blocks (also a thread that first allocates in its
 * last destructor round), fork (also while other threads allocate), exec,
 * dlopen/dlclose, exit handlers that free, and a C++ program whose output
 * must not change with the preload. */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration_support.h"

/* ---- the preload ------------------------------------------------------- */

START_TEST(the_preloaded_library_serves_malloc)
{
    const char *preload = getenv("LD_PRELOAD");
    ck_assert_msg(preload != NULL && strstr(preload, "liborthotope") != NULL,
                  "run this suite with LD_PRELOAD=liborthotope.so (ctest does)");
    ck_assert_ptr_nonnull(dlsym(RTLD_DEFAULT, "ortho_alloc"));
    Dl_info info;
    ck_assert_int_ne(dladdr((void *)(uintptr_t)malloc, &info), 0);
    ck_assert_msg(strstr(info.dli_fname, "liborthotope") != NULL, "malloc comes from %s",
                  info.dli_fname);
    /* glibc would say 24 here; our smallest class is 64 bytes. */
    void *p = malloc(1);
    ck_assert_uint_eq(malloc_usable_size(p), SMALLEST_CLASS_BYTES);
    ck_assert(is_aligned(p, 64));
    free(p);
}
END_TEST

/* ---- POSIX and glibc contracts ----------------------------------------- */

START_TEST(malloc_of_zero_bytes_returns_a_unique_freeable_pointer)
{
    void *a = malloc(opaque_size(0));
    void *b = malloc(opaque_size(0));
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_ne(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(free_of_null_is_a_no_op_that_keeps_errno)
{
    errno = 1234;
    free(NULL);
    ck_assert_int_eq(errno, 1234);
    void *p = malloc(10);
    ck_assert_ptr_nonnull(p);
    free(p);
}
END_TEST

START_TEST(free_keeps_errno_on_every_path)
{
    /* POSIX 2024 and glibc 2.33+: free does not change errno, even when it
     * returns pages or a whole mapping to the OS. */
    static const size_t sizes[] = {1, 300, 5000, 300 * KiB, 2 * MiB, 20 * MiB, 300 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        p[0] = 1;
        errno = 4321;
        free(p);
        ck_assert_msg(errno == 4321, "free of %zu bytes changed errno to %d", sizes[i], errno);
    }
}
END_TEST

START_TEST(calloc_whose_count_times_size_overflows_returns_null_with_enomem)
{
    static const size_t pairs[][2] = {
        {SIZE_MAX / 2 + 1, 2}, {2, SIZE_MAX / 2 + 1}, {SIZE_MAX, SIZE_MAX},
        {(size_t)1 << 32, (size_t)1 << 32}, {SIZE_MAX / 3 + 1, 3},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        errno = 0;
        void *p = calloc(opaque_size(pairs[i][0]), opaque_size(pairs[i][1]));
        ck_assert_msg(p == NULL, "calloc(%zu, %zu) returned a block", pairs[i][0], pairs[i][1]);
        ck_assert_int_eq(errno, ENOMEM);
    }
}
END_TEST

START_TEST(calloc_of_zero_elements_returns_unique_freeable_pointers)
{
    void *a = calloc(opaque_size(0), 16);
    void *b = calloc(16, opaque_size(0));
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_ne(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(malloc_of_an_impossible_size_returns_null_with_enomem)
{
    static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 63, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX + 1,
                                   (size_t)1 << 62, (size_t)1 << 50};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        void *p = malloc(opaque_size(sizes[i]));
        ck_assert_msg(p == NULL, "malloc(%zu) returned a block", sizes[i]);
        ck_assert_int_eq(errno, ENOMEM);
    }
    /* The allocator is fine afterwards. */
    void *p = malloc(100);
    ck_assert_ptr_nonnull(p);
    free(p);
}
END_TEST

START_TEST(realloc_to_an_impossible_size_returns_null_with_enomem_and_keeps_the_block)
{
    static const size_t sizes[] = {100, 5000, 2 * MiB, 20 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = malloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        pattern_fill(p, sizes[i], (uint32_t)i);
        errno = 0;
        void *q = realloc(p, opaque_size(SIZE_MAX));
        ck_assert_ptr_null(q);
        ck_assert_int_eq(errno, ENOMEM);
        errno = 0;
        q = realloc(p, opaque_size((size_t)1 << 62));
        ck_assert_ptr_null(q);
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_msg(pattern_intact(p, sizes[i], (uint32_t)i), "block of %zu changed", sizes[i]);
        ck_assert_uint_ge(malloc_usable_size(p), sizes[i]);
        /* Still a live block: it can grow for real, and be freed. */
        q = realloc(p, sizes[i] * 2);
        ck_assert_ptr_nonnull(q);
        ck_assert(pattern_intact(q, sizes[i], (uint32_t)i));
        free(q);
    }
}
END_TEST

START_TEST(realloc_of_null_allocates_like_malloc)
{
    char *p = realloc(NULL, 200);
    ck_assert_ptr_nonnull(p);
    memset(p, 'r', 200);
    ck_assert_uint_eq(malloc_usable_size(p), 256);
    free(p);
}
END_TEST

START_TEST(realloc_to_zero_frees_the_block_and_returns_null_as_glibc_does)
{
    size_t before = mallinfo2().uordblks;
    void *p = malloc(1000);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(mallinfo2().uordblks, before + 1000);
    void *q = realloc(p, opaque_size(0));
    ck_assert_ptr_null(q);
    ck_assert_uint_eq(mallinfo2().uordblks, before);
}
END_TEST

START_TEST(posix_memalign_with_a_bad_alignment_returns_einval_and_leaves_out_alone)
{
    static const size_t alignments[] = {0, 1, 2, 3, 4, 12, 24, 48, 100, 4095, SIZE_MAX,
                                        SIZE_MAX / 2};
    for (size_t i = 0; i < sizeof alignments / sizeof alignments[0]; i++) {
        void *out = &out;
        errno = 777;
        int rc = posix_memalign(&out, opaque_size(alignments[i]), 64);
        ck_assert_msg(rc == EINVAL, "alignment %zu gave %d", alignments[i], rc);
        ck_assert_ptr_eq(out, &out);
        ck_assert_int_eq(errno, 777); /* the result carries the error, not errno */
    }
}
END_TEST

START_TEST(posix_memalign_of_an_impossible_size_returns_enomem)
{
    void *out = &out;
    ck_assert_int_eq(posix_memalign(&out, 64, opaque_size(SIZE_MAX)), ENOMEM);
    ck_assert_int_eq(posix_memalign(&out, 2 * MiB, opaque_size(SIZE_MAX - MiB)), ENOMEM);
    ck_assert_ptr_eq(out, &out);
}
END_TEST

START_TEST(aligned_alloc_with_a_non_power_of_two_alignment_returns_null_with_einval)
{
    static const size_t alignments[] = {0, 3, 24, 100, 3 * 4096};
    for (size_t i = 0; i < sizeof alignments / sizeof alignments[0]; i++) {
        errno = 0;
        ck_assert_ptr_null(aligned_alloc(opaque_size(alignments[i]), 64));
        ck_assert_int_eq(errno, EINVAL);
    }
}
END_TEST

/* One aligned allocation through `api` (0 aligned_alloc, 1 memalign,
 * 2 posix_memalign). */
static void *allocate_aligned(int api, size_t alignment, size_t size)
{
    switch (api) {
    case 0:
        return aligned_alloc(alignment, size);
    case 1:
        return memalign(alignment, size);
    default: {
        void *p = NULL;
        return posix_memalign(&p, alignment, size) == 0 ? p : NULL;
    }
    }
}

START_TEST(every_power_of_two_alignment_up_to_64_mib_works_for_all_aligned_apis)
{
    static const char *const apis[] = {"aligned_alloc", "memalign", "posix_memalign"};
    static const size_t sizes[] = {1, 100, 4096, 70000, 20 * MiB};
    int api = _i;
    uint32_t seed = 0;
    for (size_t alignment = sizeof(void *); alignment <= 64 * MiB; alignment *= 2) {
        void *blocks[sizeof sizes / sizeof sizes[0]];
        size_t usable[sizeof sizes / sizeof sizes[0]];
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            void *p = allocate_aligned(api, alignment, sizes[s]);
            ck_assert_msg(p != NULL, "%s(%zu, %zu) failed: %s", apis[api], alignment, sizes[s],
                          strerror(errno));
            ck_assert_msg(is_aligned(p, alignment), "%s(%zu, %zu) = %p", apis[api], alignment,
                          sizes[s], p);
            usable[s] = malloc_usable_size(p);
            ck_assert_uint_ge(usable[s], sizes[s]);
            pattern_fill(p, usable[s], seed + (uint32_t)s); /* all of it is ours */
            blocks[s] = p;
        }
        /* All live at once: neighbours must not overlap. */
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            ck_assert_msg(pattern_intact(blocks[s], usable[s], seed + (uint32_t)s),
                          "%s(%zu, %zu) block was overwritten", apis[api], alignment, sizes[s]);
            free(blocks[s]);
        }
        seed += 16;
    }
}
END_TEST

START_TEST(freed_over_aligned_blocks_are_reused_without_overlapping_their_neighbours)
{
    /* An over-aligned block's header sits inside its block; freeing it must
     * recycle the whole block, or the next owner of the class overlaps the
     * block after it. */
    enum { ALIGNED = 32, PLAIN = 96 };
    static const size_t cases[][2] = {{128, 100}, {256, 200}, {4096, 100}, {4096, 3000},
                                      {8192, 5000}, {65536, 1000}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t alignment = cases[c][0], size = cases[c][1];
        void *aligned[ALIGNED];
        for (int i = 0; i < ALIGNED; i++) {
            aligned[i] = aligned_alloc(alignment, size);
            ck_assert_ptr_nonnull(aligned[i]);
            memset(aligned[i], 'a', size);
        }
        for (int i = 0; i < ALIGNED; i++)
            free(aligned[i]);
        /* Plain requests of the class the aligned ones came from. */
        size_t plain_size = size + alignment - 64;
        void *plain[PLAIN];
        size_t usable[PLAIN];
        for (int i = 0; i < PLAIN; i++) {
            plain[i] = malloc(plain_size);
            ck_assert_ptr_nonnull(plain[i]);
            usable[i] = malloc_usable_size(plain[i]);
            pattern_fill(plain[i], usable[i], (uint32_t)(c * 1000 + (size_t)i));
        }
        for (int i = 0; i < PLAIN; i++) {
            ck_assert_msg(pattern_intact(plain[i], usable[i], (uint32_t)(c * 1000 + (size_t)i)),
                          "after freeing aligned_alloc(%zu, %zu) blocks, block %d of %zu bytes "
                          "was overwritten by a neighbour",
                          alignment, size, i, plain_size);
        }
        for (int i = 0; i < PLAIN; i++)
            free(plain[i]);
    }
}
END_TEST

START_TEST(realloc_of_an_over_aligned_block_keeps_its_contents)
{
    static const size_t alignments[] = {128, 4096, 2 * MiB};
    for (size_t a = 0; a < sizeof alignments / sizeof alignments[0]; a++) {
        char *p = aligned_alloc(alignments[a], 1000);
        ck_assert_ptr_nonnull(p);
        pattern_fill(p, 1000, 77);
        char *q = realloc(p, 1500);
        ck_assert_ptr_nonnull(q);
        ck_assert(pattern_intact(q, 1000, 77));
        char *r = realloc(q, 100000);
        ck_assert_ptr_nonnull(r);
        ck_assert(pattern_intact(r, 1000, 77));
        free(r);
    }
}
END_TEST

START_TEST(alignments_no_allocation_can_honour_return_enomem)
{
    void *out = &out;
    ck_assert_int_eq(posix_memalign(&out, opaque_size((size_t)1 << 62), 1), ENOMEM);
    ck_assert_int_eq(posix_memalign(&out, opaque_size((size_t)1 << 63), 1), ENOMEM);
    ck_assert_ptr_eq(out, &out);
    errno = 0;
    ck_assert_ptr_null(aligned_alloc(opaque_size((size_t)1 << 63), 1));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(memalign(opaque_size((size_t)1 << 63), 1));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(aligned_alloc(4096, opaque_size(SIZE_MAX - 100)));
    ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

START_TEST(valloc_and_pvalloc_return_page_aligned_blocks_and_pvalloc_rounds_to_pages)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    static const size_t sizes[] = {0, 1, 100, 4096, 4097, 70000, 20 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *v = valloc(sizes[i]);
        char *pv = pvalloc(sizes[i]);
        ck_assert_ptr_nonnull(v);
        ck_assert_ptr_nonnull(pv);
        ck_assert(is_aligned(v, page));
        ck_assert(is_aligned(pv, page));
        size_t rounded = sizes[i] == 0 ? page : (sizes[i] + page - 1) / page * page;
        ck_assert_uint_ge(malloc_usable_size(pv), rounded);
        memset(pv, 'p', rounded); /* pvalloc promises the whole last page */
        if (sizes[i] > 0)
            memset(v, 'v', sizes[i]);
        free(v);
        free(pv);
    }
    errno = 0;
    ck_assert_ptr_null(pvalloc(opaque_size(SIZE_MAX - 100)));
    ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

START_TEST(memalign_rounds_a_non_power_of_two_alignment_up_as_glibc_does)
{
    static const size_t alignments[][2] = {{48, 64}, {100, 128}, {3000, 4096}, {5000, 8192},
                                           {3 * MiB, 4 * MiB}};
    for (size_t i = 0; i < sizeof alignments / sizeof alignments[0]; i++) {
        void *p = memalign(opaque_size(alignments[i][0]), 10);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(is_aligned(p, alignments[i][1]), "memalign(%zu) = %p", alignments[i][0], p);
        free(p);
    }
    void *p = memalign(opaque_size(0), 10);
    ck_assert_ptr_nonnull(p);
    free(p);
}
END_TEST

START_TEST(realloc_within_the_same_class_returns_the_same_pointer)
{
    static const size_t steps[][2] = {
        {100, 200}, {200, 100}, {65, 256}, {256, 65}, {257, 4096}, {1000, 4000},
        {4097, 6144}, {6145, 8192}, {9000, 16384}, {2 * MiB, 16 * MiB},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char *p = malloc(steps[i][0]);
        ck_assert_ptr_nonnull(p);
        pattern_fill(p, steps[i][0], 9);
        char *q = realloc(p, steps[i][1]);
        ck_assert_msg(q == p, "realloc(malloc(%zu), %zu) moved the block", steps[i][0],
                      steps[i][1]);
        ck_assert(pattern_prefix_intact(q, steps[i][0], steps[i][1], 9));
        memset(q, 'w', steps[i][1]); /* the whole new size is usable */
        free(q);
    }
}
END_TEST

START_TEST(realloc_keeps_the_contents_when_it_moves_across_classes)
{
    static const size_t sizes[] = {10, 100, 300, 5000, 7000, 70000, 2 * MiB, 17 * MiB, 40 * MiB,
                                   20 * MiB, 1 * MiB, 3000, 50};
    size_t size = 1;
    char *p = malloc(size);
    ck_assert_ptr_nonnull(p);
    pattern_fill(p, size, 3);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *q = realloc(p, sizes[i]);
        ck_assert_msg(q != NULL, "realloc to %zu failed", sizes[i]);
        ck_assert_msg(pattern_prefix_intact(q, size, sizes[i], 3),
                      "realloc %zu -> %zu lost contents", size, sizes[i]);
        pattern_fill(q, sizes[i], 3);
        p = q;
        size = sizes[i];
    }
    free(p);
}
END_TEST

START_TEST(calloc_returns_zeroed_memory_even_when_it_reuses_dirty_blocks)
{
    static const size_t sizes[] = {1, 64, 200, 4096, 6000, 8000, 100000, 1 * MiB, 16 * MiB,
                                   20 * MiB};
    enum { ROUNDS = 3, BLOCKS = 4 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t size = sizes[s];
        for (int round = 0; round < ROUNDS; round++) {
            char *dirty[BLOCKS];
            for (int b = 0; b < BLOCKS; b++) {
                dirty[b] = malloc(size);
                ck_assert_ptr_nonnull(dirty[b]);
                memset(dirty[b], 0xa5, size);
            }
            for (int b = 0; b < BLOCKS; b++)
                free(dirty[b]);
            for (int b = 0; b < BLOCKS; b++) {
                unsigned char *c = calloc(1, size);
                ck_assert_ptr_nonnull(c);
                size_t dirty_at = first_nonzero(c, size);
                ck_assert_msg(dirty_at == size, "calloc(1, %zu): byte %zu is %#x", size, dirty_at,
                              c[dirty_at]);
                dirty[b] = (char *)c;
            }
            for (int b = 0; b < BLOCKS; b++) {
                memset(dirty[b], 0x5a, size);
                free(dirty[b]);
            }
        }
    }
}
END_TEST

START_TEST(malloc_usable_size_reports_the_class_payload_and_all_of_it_is_writable)
{
    static const size_t expected[][2] = {
        {1, 64}, {64, 64}, {65, 256}, {256, 256}, {257, 4096}, {4096, 4096}, {4097, 6144},
        {6145, 8192}, {8193, 16384}, {70000, 131072}, {300000, 1048576},
        {16 * MiB, 16 * MiB},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        char *p = malloc(expected[i][0]);
        ck_assert_ptr_nonnull(p);
        size_t usable = malloc_usable_size(p);
        ck_assert_msg(usable == expected[i][1], "malloc_usable_size(malloc(%zu)) = %zu, want %zu",
                      expected[i][0], usable, expected[i][1]);
        memset(p, 'u', usable);
        free(p); /* a write up to the usable size is no overflow */
    }
    char *large = malloc(LARGEST_CLASS_BYTES + 1);
    ck_assert_ptr_nonnull(large);
    size_t usable = malloc_usable_size(large);
    ck_assert_uint_ge(usable, LARGEST_CLASS_BYTES + 1);
    memset(large, 'U', usable);
    free(large);
    ck_assert_uint_eq(malloc_usable_size(NULL), 0);
}
END_TEST

START_TEST(mallinfo2_counts_live_small_and_large_allocations)
{
    struct mallinfo2 before = mallinfo2();
    ck_assert_uint_gt(before.arena, 0);
    enum { SMALL = 100 };
    void *small[SMALL];
    for (int i = 0; i < SMALL; i++) {
        small[i] = malloc(1000);
        ck_assert_ptr_nonnull(small[i]);
    }
    char *large = malloc(20 * MiB);
    ck_assert_ptr_nonnull(large);
    struct mallinfo2 during = mallinfo2();
    ck_assert_uint_ge(during.uordblks, before.uordblks + SMALL * 1000);
    ck_assert_uint_eq(during.hblks, before.hblks + 1);
    ck_assert_uint_ge(during.hblkhd, before.hblkhd + 20 * MiB);
    ck_assert_uint_ge(during.arena, before.arena);
    free(large);
    for (int i = 0; i < SMALL; i++)
        free(small[i]);
    struct mallinfo2 after = mallinfo2();
    ck_assert_uint_eq(after.uordblks, before.uordblks);
    ck_assert_uint_eq(after.hblks, before.hblks);
    ck_assert_uint_eq(after.hblkhd, before.hblkhd);
    ck_assert_uint_ge(after.fordblks, SMALL * 1000); /* the freed blocks wait in caches */
}
END_TEST

START_TEST(reallocarray_whose_count_times_size_overflows_returns_null_with_enomem)
{
    char *p = malloc(100);
    ck_assert_ptr_nonnull(p);
    pattern_fill(p, 100, 5);
    errno = 0;
    ck_assert_ptr_null(reallocarray(p, opaque_size(SIZE_MAX / 2 + 1), 2));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(reallocarray(NULL, opaque_size((size_t)1 << 33), (size_t)1 << 33));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert(pattern_intact(p, 100, 5));
    char *q = reallocarray(p, 50, 40); /* 2000 bytes: it still resizes */
    ck_assert_ptr_nonnull(q);
    ck_assert(pattern_intact(q, 100, 5));
    free(q);
}
END_TEST

/* glibc's allocator under its own names: what a block handed out before
 * the preload took effect looks like. */
extern void *__libc_malloc(size_t size);

START_TEST(a_block_from_glibcs_own_malloc_goes_back_to_glibc)
{
    char *p = __libc_malloc(100);
    ck_assert_ptr_nonnull(p);
    memset(p, 'g', 100);
    char *q = realloc(p, 5000);
    ck_assert_ptr_nonnull(q);
    ck_assert(q[0] == 'g' && q[99] == 'g');
    free(q);
    char *r = __libc_malloc(300);
    ck_assert_ptr_nonnull(r);
    /* glibc answers for its own block (at least the 300 asked for). */
    ck_assert_uint_ge(malloc_usable_size(r), 300);
    ck_assert_uint_lt(malloc_usable_size(r), 4096);
    free(r);
    /* Ours still work as before. */
    void *ours = malloc(100);
    ck_assert_uint_eq(malloc_usable_size(ours), 256);
    free(ours);
}
END_TEST

START_TEST(malloc_trim_returns_idle_memory_and_the_allocator_keeps_working)
{
    enum { BLOCKS = 64 };
    static const size_t sizes[] = {300 * KiB, 1 * MiB, 8 * MiB, 20 * MiB};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        void *blocks[BLOCKS];
        for (int i = 0; i < BLOCKS; i++) {
            blocks[i] = malloc(sizes[s]);
            ck_assert_ptr_nonnull(blocks[i]);
            memset(blocks[i], 'T', sizes[s] < 1 * MiB ? sizes[s] : 64 * KiB);
        }
        for (int i = 0; i < BLOCKS; i++)
            free(blocks[i]);
    }
    malloc_trim(0);
    /* The trimmed blocks come back usable: written in full, zero from calloc. */
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        void *blocks[BLOCKS];
        for (int i = 0; i < BLOCKS; i++) {
            blocks[i] = i % 2 ? calloc(1, sizes[s]) : malloc(sizes[s]);
            ck_assert_ptr_nonnull(blocks[i]);
            if (i % 2) {
                size_t head = sizes[s] < 1 * MiB ? sizes[s] : 64 * KiB;
                ck_assert_uint_eq(first_nonzero(blocks[i], head), head);
            }
            pattern_fill(blocks[i], sizes[s], (uint32_t)i);
        }
        for (int i = 0; i < BLOCKS; i++) {
            ck_assert(pattern_intact(blocks[i], sizes[s], (uint32_t)i));
            free(blocks[i]);
        }
    }
}
END_TEST

/* ---- threads ----------------------------------------------------------- */

enum {
    EXCHANGE_THREADS = 8,
    EXCHANGE_ROUNDS = 20000,
    EXCHANGE_SLOTS = 512,
    LOCAL_RING = 64,
};

/* A block on the move carries its own size and seed in its first bytes. */
struct stamp {
    size_t size;
    uint32_t seed;
};

static _Atomic(uintptr_t) exchange_slots[EXCHANGE_SLOTS];
static atomic_uint exchange_corrupt;
static atomic_uint exchange_cross_frees;

static size_t exchange_size(uint64_t *rng)
{
    uint64_t r = rng_next(rng);
    unsigned pick = (unsigned)(r % 1000);
    if (pick < 700)
        return sizeof(struct stamp) + (size_t)(r >> 20) % 240;
    if (pick < 900)
        return 257 + (size_t)(r >> 20) % 8000;
    if (pick < 995)
        return 8193 + (size_t)(r >> 20) % 300000;
    if (pick < 999)
        return MiB + (size_t)(r >> 20) % MiB;
    return 17 * MiB + (size_t)(r >> 20) % MiB;
}

/* The pattern starts after the stamp. */
static void *exchange_make(size_t size, uint32_t seed)
{
    struct stamp *s = malloc(size);
    if (s == NULL)
        return NULL;
    s->size = size;
    s->seed = seed;
    pattern_fill((char *)(s + 1), size - sizeof *s, seed);
    return s;
}

static void exchange_check_and_free(void *p)
{
    struct stamp *s = p;
    if (!pattern_intact((char *)(s + 1), s->size - sizeof *s, s->seed))
        atomic_fetch_add(&exchange_corrupt, 1);
    free(p);
}

static void *exchange_worker(void *arg)
{
    unsigned index = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (index + 1);
    void *ring[LOCAL_RING] = {0};
    for (unsigned round = 0; round < EXCHANGE_ROUNDS; round++) {
        uint32_t seed = index << 24 | round;
        size_t size = exchange_size(&rng);
        struct stamp *p = exchange_make(size, seed);
        if (p == NULL) {
            atomic_fetch_add(&exchange_corrupt, 1);
            break;
        }
        uint64_t r = rng_next(&rng);
        if (r & 1) {
            /* Publish; whatever was in the slot came from any thread. */
            uintptr_t old = atomic_exchange(&exchange_slots[(r >> 8) % EXCHANGE_SLOTS],
                                            (uintptr_t)p);
            if (old != 0) {
                exchange_check_and_free((void *)old);
                atomic_fetch_add(&exchange_cross_frees, 1);
            }
        } else if ((r & 6) == 0) {
            /* Grow or shrink through realloc; the stamped prefix must survive. */
            size_t new_size = exchange_size(&rng);
            struct stamp *q = realloc(p, new_size);
            if (q == NULL || q->seed != seed ||
                !pattern_prefix_intact((char *)(q + 1), size - sizeof *q, new_size - sizeof *q,
                                       seed)) {
                atomic_fetch_add(&exchange_corrupt, 1);
                free(q);
                continue;
            }
            q->size = new_size;
            pattern_fill((char *)(q + 1), new_size - sizeof *q, seed);
            exchange_check_and_free(q);
        } else {
            unsigned slot = round % LOCAL_RING;
            if (ring[slot] != NULL)
                exchange_check_and_free(ring[slot]);
            ring[slot] = p;
        }
    }
    for (unsigned slot = 0; slot < LOCAL_RING; slot++)
        if (ring[slot] != NULL)
            exchange_check_and_free(ring[slot]);
    return NULL;
}

START_TEST(eight_threads_with_fixed_seeds_free_each_others_blocks_intact)
{
    pthread_t threads[EXCHANGE_THREADS];
    for (unsigned t = 0; t < EXCHANGE_THREADS; t++)
        ck_assert_int_eq(pthread_create(&threads[t], NULL, exchange_worker, (void *)(uintptr_t)t),
                         0);
    for (unsigned t = 0; t < EXCHANGE_THREADS; t++)
        ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
    for (unsigned s = 0; s < EXCHANGE_SLOTS; s++) {
        uintptr_t p = atomic_exchange(&exchange_slots[s], 0);
        if (p != 0)
            exchange_check_and_free((void *)p);
    }
    ck_assert_uint_eq(atomic_load(&exchange_corrupt), 0);
    ck_assert_uint_gt(atomic_load(&exchange_cross_frees), EXCHANGE_ROUNDS);
}
END_TEST

enum { HANDOVER_BLOCKS = 40, EXIT_WAVES = 16, EXIT_WAVE_THREADS = 4 };

struct handover {
    uint32_t seed;
    void *blocks[HANDOVER_BLOCKS];
    size_t sizes[HANDOVER_BLOCKS];
};

/* Keeps deliberately leaked blocks from being optimised away. */
static void *volatile leak_sink;

/* Allocates blocks for the creator, leaks some, and leaves by pthread_exit
 * with a block as its result while all of them are live. */
static void *exit_with_live_blocks(void *arg)
{
    struct handover *h = arg;
    uint64_t rng = h->seed;
    for (int i = 0; i < HANDOVER_BLOCKS; i++) {
        h->sizes[i] = 1 + (size_t)(rng_next(&rng) % (i % 10 == 9 ? 2 * MiB : 5000));
        h->blocks[i] = malloc(h->sizes[i]);
        if (h->blocks[i] != NULL)
            pattern_fill(h->blocks[i], h->sizes[i], h->seed + (uint32_t)i);
        char *leak = malloc(1 + (size_t)(rng_next(&rng) % 3000)); /* never freed */
        if (leak != NULL)
            leak[0] = 'l';
        leak_sink = leak;
    }
    void *result = malloc(sizeof h->seed);
    if (result != NULL)
        memcpy(result, &h->seed, sizeof h->seed);
    pthread_exit(result);
}

START_TEST(threads_that_exit_with_live_blocks_hand_them_over_intact)
{
    static struct handover handovers[EXIT_WAVE_THREADS];
    for (int wave = 0; wave < EXIT_WAVES; wave++) {
        pthread_t threads[EXIT_WAVE_THREADS];
        for (int t = 0; t < EXIT_WAVE_THREADS; t++) {
            handovers[t].seed = (uint32_t)(wave * 100 + t + 1);
            ck_assert_int_eq(
                pthread_create(&threads[t], NULL, exit_with_live_blocks, &handovers[t]), 0);
        }
        for (int t = 0; t < EXIT_WAVE_THREADS; t++) {
            void *result = NULL;
            ck_assert_int_eq(pthread_join(threads[t], &result), 0);
            ck_assert_ptr_nonnull(result);
            ck_assert_mem_eq(result, &handovers[t].seed, sizeof handovers[t].seed);
            free(result);
            for (int i = 0; i < HANDOVER_BLOCKS; i++) {
                ck_assert_ptr_nonnull(handovers[t].blocks[i]);
                ck_assert_msg(pattern_intact(handovers[t].blocks[i], handovers[t].sizes[i],
                                             handovers[t].seed + (uint32_t)i),
                              "wave %d thread %d block %d changed after its thread exited", wave,
                              t, i);
                free(handovers[t].blocks[i]);
            }
        }
    }
    /* The exited threads' caches went back to the pools: all still works. */
    void *p = malloc(3000);
    ck_assert_ptr_nonnull(p);
    free(p);
}
END_TEST

static pthread_key_t tsd_key;
static atomic_uint tsd_destructor_runs;

/* A thread-specific-data destructor that frees its value, allocates and
 * frees again, and re-arms itself twice: it runs after (or before) the
 * allocator's own thread-exit hook, in the order glibc chooses. */
static void tsd_destroy(void *value)
{
    unsigned run = atomic_fetch_add(&tsd_destructor_runs, 1);
    char *block = value;
    if (block[0] != 't')
        atomic_fetch_add(&exchange_corrupt, 1);
    free(block);
    char *scratch = malloc(5000);
    if (scratch != NULL)
        memset(scratch, 's', 5000);
    free(scratch);
    char *again = malloc(40);
    if (again != NULL) {
        again[0] = 't';
        if (run % 3 != 2)
            pthread_setspecific(tsd_key, again); /* another destructor round */
        else
            free(again);
    }
}

static void *set_tsd_and_exit(void *arg)
{
    (void)arg;
    char *value = malloc(100);
    if (value == NULL)
        return NULL;
    value[0] = 't';
    pthread_setspecific(tsd_key, value);
    return NULL;
}

START_TEST(thread_exit_destructors_may_free_and_allocate_after_the_thread_cache_is_gone)
{
    ck_assert_int_eq(pthread_key_create(&tsd_key, tsd_destroy), 0);
    for (int i = 0; i < 20; i++) {
        pthread_t thread;
        ck_assert_int_eq(pthread_create(&thread, NULL, set_tsd_and_exit, NULL), 0);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);
    }
    ck_assert_uint_eq(atomic_load(&tsd_destructor_runs), 60);
    ck_assert_uint_eq(atomic_load(&exchange_corrupt), 0);
}
END_TEST

/* A thread whose first allocator call comes in the last round of its
 * thread-specific-data destructors (PTHREAD_DESTRUCTOR_ITERATIONS): glibc
 * runs no further round, so a thread-exit hook armed only now never runs.
 * The allocator must still not keep a dead thread's cache in its registry,
 * or the next thread that reuses the stack (and so the TLS) corrupts it. */
static pthread_key_t late_key;
static _Thread_local int late_rounds;

static void late_destroy(void *value)
{
    (void)value;
    if (++late_rounds < PTHREAD_DESTRUCTOR_ITERATIONS) {
        pthread_setspecific(late_key, &late_key); /* one more round */
        return;
    }
    free(malloc(100)); /* this thread's first allocator call */
}

static void *allocate_first_in_the_last_destructor_round(void *arg)
{
    (void)arg;
    pthread_setspecific(late_key, &late_key);
    return NULL;
}

static void *allocate_and_read_mallinfo2(void *arg)
{
    free(malloc(5000));
    struct mallinfo2 info = mallinfo2();
    *(size_t *)arg = info.arena;
    return NULL;
}

START_TEST(a_thread_whose_first_allocation_is_in_its_last_destructor_round_breaks_nothing)
{
    ck_assert_int_eq(pthread_key_create(&late_key, late_destroy), 0);
    for (int i = 0; i < 4; i++) {
        pthread_t thread;
        ck_assert_int_eq(
            pthread_create(&thread, NULL, allocate_first_in_the_last_destructor_round, NULL), 0);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);
        /* Likely on the same (cached) stack: the same TLS block. */
        size_t arena = 0;
        ck_assert_int_eq(pthread_create(&thread, NULL, allocate_and_read_mallinfo2, &arena), 0);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);
        ck_assert_uint_gt(arena, 0);
    }
    /* Statistics and fork (both walk every thread's cache) still work. */
    ck_assert_uint_gt(mallinfo2().arena, 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        free(malloc(300));
        _exit(mallinfo2().arena > 0 ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
}
END_TEST

/* A thread whose very first allocator call is a free or a realloc of a
 * block another thread allocated (its cache is not set up yet). */
static void *first_call_frees(void *arg)
{
    free(arg);
    return NULL;
}

static void *first_call_reallocs(void *arg)
{
    char *p = realloc(arg, 20000);
    if (p == NULL || !pattern_intact(p, 100, 11))
        atomic_fetch_add(&exchange_corrupt, 1);
    return p;
}

START_TEST(a_thread_whose_first_call_is_free_or_realloc_works)
{
    for (int i = 0; i < 20; i++) {
        pthread_t thread;
        void *block = malloc(i % 2 ? 100 : 30 * MiB);
        ck_assert_ptr_nonnull(block);
        ck_assert_int_eq(pthread_create(&thread, NULL, first_call_frees, block), 0);
        ck_assert_int_eq(pthread_join(thread, NULL), 0);

        char *grow = malloc(100);
        ck_assert_ptr_nonnull(grow);
        pattern_fill(grow, 100, 11);
        void *grown = NULL;
        ck_assert_int_eq(pthread_create(&thread, NULL, first_call_reallocs, grow), 0);
        ck_assert_int_eq(pthread_join(thread, &grown), 0);
        ck_assert_ptr_nonnull(grown);
        free(grown);
    }
    ck_assert_uint_eq(atomic_load(&exchange_corrupt), 0);
}
END_TEST

static void *short_lived(void *arg)
{
    uint64_t rng = (uintptr_t)arg;
    void *blocks[16];
    for (int i = 0; i < 16; i++)
        blocks[i] = malloc(1 + (size_t)(rng_next(&rng) % 20000));
    for (int i = 0; i < 16; i += 2)
        free(blocks[i]);
    return blocks[1]; /* the others are the creator's to free */
}

START_TEST(hundreds_of_short_lived_threads_leave_a_working_allocator)
{
    for (int wave = 0; wave < 50; wave++) {
        pthread_t threads[8];
        for (int t = 0; t < 8; t++)
            ck_assert_int_eq(
                pthread_create(&threads[t], NULL, short_lived, (void *)(uintptr_t)(wave * 8 + t + 1)),
                0);
        for (int t = 0; t < 8; t++) {
            void *result;
            ck_assert_int_eq(pthread_join(threads[t], &result), 0);
            free(result);
        }
    }
    struct mallinfo2 info = mallinfo2();
    ck_assert_uint_gt(info.arena, 0);
}
END_TEST

/* ---- processes --------------------------------------------------------- */

START_TEST(a_forked_child_allocates_frees_and_exits_cleanly)
{
    enum { KEPT = 64 };
    void *kept[KEPT];
    size_t sizes[KEPT];
    for (int i = 0; i < KEPT; i++) {
        sizes[i] = (size_t)1 << (i % 26); /* 1 byte to 32 MiB */
        kept[i] = malloc(sizes[i]);
        ck_assert_ptr_nonnull(kept[i]);
        pattern_fill(kept[i], sizes[i], (uint32_t)i);
    }
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int bad = 0;
        /* The parent's blocks are the child's copies: intact and freeable. */
        for (int i = 0; i < KEPT; i++) {
            if (!pattern_intact(kept[i], sizes[i], (uint32_t)i))
                bad++;
            free(kept[i]);
        }
        uint64_t rng = 42;
        for (int i = 0; i < 5000; i++) {
            size_t size = 1 + (size_t)(rng_next(&rng) % 100000);
            char *p = malloc(size);
            if (p == NULL) {
                bad++;
                continue;
            }
            pattern_fill(p, size, (uint32_t)i);
            if (!pattern_intact(p, size, (uint32_t)i))
                bad++;
            free(p);
        }
        _exit(bad == 0 ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    for (int i = 0; i < KEPT; i++) {
        ck_assert(pattern_intact(kept[i], sizes[i], (uint32_t)i));
        free(kept[i]);
    }
}
END_TEST

static atomic_bool churn_stop;

static void *churn_until_stopped(void *arg)
{
    uint64_t rng = (uintptr_t)arg;
    void *ring[32] = {0};
    for (unsigned i = 0; !atomic_load(&churn_stop); i++) {
        free(ring[i % 32]);
        uint64_t r = rng_next(&rng);
        size_t size = r % 64 == 0 ? 17 * MiB : 1 + (size_t)(r % 70000);
        ring[i % 32] = malloc(size);
    }
    for (unsigned i = 0; i < 32; i++)
        free(ring[i]);
    return NULL;
}

START_TEST(forking_while_other_threads_allocate_leaves_the_child_a_working_allocator)
{
    pthread_t churners[2];
    atomic_store(&churn_stop, false);
    for (int t = 0; t < 2; t++)
        ck_assert_int_eq(
            pthread_create(&churners[t], NULL, churn_until_stopped, (void *)(uintptr_t)(t + 7)), 0);
    for (int round = 0; round < 40; round++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            /* Every lock the other threads might have held is usable here. */
            int bad = 0;
            for (size_t size = 1; size <= 32 * MiB; size = size * 3 + 1) {
                char *p = malloc(size);
                if (p == NULL) {
                    bad++;
                    continue;
                }
                p[0] = 'c';
                p[size - 1] = 'c';
                free(p);
            }
            void *aligned = NULL;
            if (posix_memalign(&aligned, 2 * MiB, 100) != 0)
                bad++;
            free(aligned);
            _exit(bad == 0 ? 0 : 1);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "child %d status %#x", round, status);
    }
    atomic_store(&churn_stop, true);
    for (int t = 0; t < 2; t++)
        ck_assert_int_eq(pthread_join(churners[t], NULL), 0);
}
END_TEST

/* Threads that allocate from ever-new call paths: traced with stacks,
 * nearly every allocation unwinds and defines a stack, inside glibc's
 * dl_iterate_phdr, whose loader lock a fork does not reset. */
static atomic_bool wander_stop;
static void *volatile wander_sink;

static __attribute__((noinline)) void wander_a(uint64_t *rng, int depth);
static __attribute__((noinline)) void wander_b(uint64_t *rng, int depth);

static void wander_step(uint64_t *rng, int depth)
{
    if (depth == 0) {
        void *p = malloc(1 + (size_t)(rng_next(rng) % 5000));
        wander_sink = p;
        free(p);
    } else if (rng_next(rng) % 2 == 0) {
        wander_a(rng, depth - 1);
    } else {
        wander_b(rng, depth - 1);
    }
}

static __attribute__((noinline)) void wander_a(uint64_t *rng, int depth)
{
    wander_step(rng, depth);
    __asm__ volatile("" ::: "memory"); /* a frame of its own, not a tail call */
}

static __attribute__((noinline)) void wander_b(uint64_t *rng, int depth)
{
    wander_step(rng, depth);
    __asm__ volatile("" ::: "memory");
}

static void *wander_until_stopped(void *arg)
{
    uint64_t rng = (uintptr_t)arg;
    while (!atomic_load(&wander_stop))
        wander_step(&rng, 1 + (int)(rng_next(&rng) % 30));
    return NULL;
}

/* Waits up to `seconds` for the child; kills it if it is still there. */
static bool wait_child_within(pid_t pid, int seconds, int *status)
{
    for (int ms = 0; ms < seconds * 1000; ms++) {
        pid_t done = waitpid(pid, status, WNOHANG);
        if (done == pid)
            return true;
        usleep(1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return false;
}

/* The tracer's unwinds hold the loader's lock; a child forked while one
 * is in flight on another thread would wait for that lock for good at its
 * first unwind. Before the tracer's fork gate this hung about one fork in
 * a thousand here, so the test forks many times; it can pass by luck on a
 * broken tracer, never fail on a working one. */
START_TEST(children_forked_while_other_threads_unwind_never_hang)
{
    enum { THREADS = 4, ROUNDS = 400 };
    pthread_t wanderers[THREADS];
    atomic_store(&wander_stop, false);
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&wanderers[t], NULL, wander_until_stopped,
                                        (void *)(uintptr_t)(t * 7919 + 3)),
                         0);
    int hung = -1;
    for (int round = 0; round < ROUNDS && hung < 0; round++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            uint64_t rng = (uint64_t)round + 1;
            for (int k = 0; k < 4; k++)
                wander_step(&rng, 1 + (int)(rng_next(&rng) % 30));
            _exit(0);
        }
        int status;
        if (!wait_child_within(pid, 10, &status))
            hung = round;
        else
            ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                          "child %d status %#x", round, status);
    }
    atomic_store(&wander_stop, true);
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_join(wanderers[t], NULL), 0);
    ck_assert_msg(hung < 0, "the child of fork %d hung for 10 s (killed)", hung);
}
END_TEST

START_TEST(an_exec_child_inherits_the_preload_and_reports_it)
{
    char *const argv[] = {"/bin/sh", "-c", "grep -c liborthotope /proc/self/maps", NULL};
    struct run_result preloaded = run_program(argv, true);
    ck_assert_msg(WIFEXITED(preloaded.status) && WEXITSTATUS(preloaded.status) == 0,
                  "status %#x: %s", preloaded.status, preloaded.err);
    ck_assert_int_gt(atoi(preloaded.out), 0);
    ck_assert_str_eq(preloaded.err, "");
    run_result_free(&preloaded);
    struct run_result plain = run_program(argv, false);
    ck_assert_str_eq(plain.out, "0\n");
    run_result_free(&plain);
}
END_TEST

START_TEST(exit_handlers_and_destructors_that_free_after_main_returns_exit_cleanly)
{
    char *const argv[] = {IT_EXIT_PROGRAM, NULL};
    assert_same_with_and_without_preload(argv);
}
END_TEST

START_TEST(a_cxx_program_prints_the_same_with_and_without_the_preload)
{
    char *const argv[] = {IT_CXX_PROGRAM, NULL};
    assert_same_with_and_without_preload(argv);
}
END_TEST

/* ---- dynamic loading --------------------------------------------------- */

typedef char *(*make_greeting_fn)(int);
typedef void (*release_fn)(void *);
typedef int (*intact_fn)(void);

START_TEST(a_library_loaded_with_dlopen_allocates_and_frees_across_dlclose)
{
    enum { CYCLES = 25 };
    char *survivors[CYCLES];
    for (int cycle = 0; cycle < CYCLES; cycle++) {
        void *plugin = dlopen(IT_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
        ck_assert_msg(plugin != NULL, "dlopen: %s", dlerror());
        make_greeting_fn make = (make_greeting_fn)(uintptr_t)dlsym(plugin, "plugin_make_greeting");
        release_fn release = (release_fn)(uintptr_t)dlsym(plugin, "plugin_release");
        intact_fn intact = (intact_fn)(uintptr_t)dlsym(plugin, "plugin_intact_entries");
        ck_assert(make != NULL && release != NULL && intact != NULL);
        ck_assert_int_eq(intact(), 32);

        char *greeting = make(cycle);
        char expected[64];
        snprintf(expected, sizeof expected, "plugin greeting %d", cycle);
        ck_assert_str_eq(greeting, expected);
        free(greeting); /* made there, freed here */
        char *ours = malloc(777);
        ck_assert_ptr_nonnull(ours);
        release(ours); /* made here, freed there */
        survivors[cycle] = make(cycle); /* outlives the library */
        ck_assert_int_eq(dlclose(plugin), 0);
    }
    for (int cycle = 0; cycle < CYCLES; cycle++) {
        char expected[64];
        snprintf(expected, sizeof expected, "plugin greeting %d", cycle);
        ck_assert_str_eq(survivors[cycle], expected);
        free(survivors[cycle]);
    }
}
END_TEST

START_TEST(libm_loaded_with_dlopen_works_and_unloads)
{
    for (int cycle = 0; cycle < 10; cycle++) {
        void *libm = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
        ck_assert_msg(libm != NULL, "dlopen: %s", dlerror());
        double (*cosine)(double) = (double (*)(double))(uintptr_t)dlsym(libm, "cos");
        ck_assert_ptr_nonnull((void *)(uintptr_t)cosine);
        ck_assert(cosine(0.0) == 1.0);
        ck_assert_int_eq(dlclose(libm), 0);
    }
}
END_TEST

/* ---- the suite --------------------------------------------------------- */

static Suite *shim_suite(void)
{
    Suite *suite = suite_create("shim under LD_PRELOAD");

    TCase *preload = tcase_create("preload");
    tcase_add_test(preload, the_preloaded_library_serves_malloc);
    suite_add_tcase(suite, preload);

    TCase *contracts = tcase_create("contracts");
    tcase_add_test(contracts, malloc_of_zero_bytes_returns_a_unique_freeable_pointer);
    tcase_add_test(contracts, free_of_null_is_a_no_op_that_keeps_errno);
    tcase_add_test(contracts, free_keeps_errno_on_every_path);
    tcase_add_test(contracts, calloc_whose_count_times_size_overflows_returns_null_with_enomem);
    tcase_add_test(contracts, calloc_of_zero_elements_returns_unique_freeable_pointers);
    tcase_add_test(contracts, malloc_of_an_impossible_size_returns_null_with_enomem);
    tcase_add_test(contracts,
                   realloc_to_an_impossible_size_returns_null_with_enomem_and_keeps_the_block);
    tcase_add_test(contracts, realloc_of_null_allocates_like_malloc);
    tcase_add_test(contracts, realloc_to_zero_frees_the_block_and_returns_null_as_glibc_does);
    tcase_add_test(contracts,
                   posix_memalign_with_a_bad_alignment_returns_einval_and_leaves_out_alone);
    tcase_add_test(contracts, posix_memalign_of_an_impossible_size_returns_enomem);
    tcase_add_test(contracts,
                   aligned_alloc_with_a_non_power_of_two_alignment_returns_null_with_einval);
    tcase_add_loop_test(contracts, every_power_of_two_alignment_up_to_64_mib_works_for_all_aligned_apis,
                        0, 3);
    tcase_add_test(contracts,
                   freed_over_aligned_blocks_are_reused_without_overlapping_their_neighbours);
    tcase_add_test(contracts, realloc_of_an_over_aligned_block_keeps_its_contents);
    tcase_add_test(contracts, alignments_no_allocation_can_honour_return_enomem);
    tcase_add_test(contracts,
                   valloc_and_pvalloc_return_page_aligned_blocks_and_pvalloc_rounds_to_pages);
    tcase_add_test(contracts, memalign_rounds_a_non_power_of_two_alignment_up_as_glibc_does);
    tcase_add_test(contracts, realloc_within_the_same_class_returns_the_same_pointer);
    tcase_add_test(contracts, realloc_keeps_the_contents_when_it_moves_across_classes);
    tcase_add_test(contracts, calloc_returns_zeroed_memory_even_when_it_reuses_dirty_blocks);
    tcase_add_test(contracts,
                   malloc_usable_size_reports_the_class_payload_and_all_of_it_is_writable);
    tcase_add_test(contracts, mallinfo2_counts_live_small_and_large_allocations);
    tcase_add_test(contracts, reallocarray_whose_count_times_size_overflows_returns_null_with_enomem);
    tcase_add_test(contracts, a_block_from_glibcs_own_malloc_goes_back_to_glibc);
    tcase_add_test(contracts, malloc_trim_returns_idle_memory_and_the_allocator_keeps_working);
    suite_add_tcase(suite, contracts);

    TCase *threads = tcase_create("threads");
    tcase_add_test(threads, eight_threads_with_fixed_seeds_free_each_others_blocks_intact);
    tcase_add_test(threads, threads_that_exit_with_live_blocks_hand_them_over_intact);
    tcase_add_test(threads,
                   thread_exit_destructors_may_free_and_allocate_after_the_thread_cache_is_gone);
    tcase_add_test(threads, a_thread_whose_first_call_is_free_or_realloc_works);
    tcase_add_test(threads, hundreds_of_short_lived_threads_leave_a_working_allocator);
    suite_add_tcase(suite, threads);

    /* A hang here is the failure mode: bound it well below the default. */
    TCase *teardown = tcase_create("thread teardown");
    tcase_set_timeout(teardown, 20);
    tcase_add_test(teardown,
                   a_thread_whose_first_allocation_is_in_its_last_destructor_round_breaks_nothing);
    suite_add_tcase(suite, teardown);

    TCase *processes = tcase_create("processes");
    tcase_add_test(processes, a_forked_child_allocates_frees_and_exits_cleanly);
    tcase_add_test(processes,
                   forking_while_other_threads_allocate_leaves_the_child_a_working_allocator);
    tcase_add_test(processes, children_forked_while_other_threads_unwind_never_hang);
    tcase_add_test(processes, an_exec_child_inherits_the_preload_and_reports_it);
    tcase_add_test(processes, exit_handlers_and_destructors_that_free_after_main_returns_exit_cleanly);
    tcase_add_test(processes, a_cxx_program_prints_the_same_with_and_without_the_preload);
    suite_add_tcase(suite, processes);

    TCase *modules = tcase_create("modules");
    tcase_add_test(modules, a_library_loaded_with_dlopen_allocates_and_frees_across_dlclose);
    tcase_add_test(modules, libm_loaded_with_dlopen_works_and_unloads);
    suite_add_tcase(suite, modules);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(shim_suite());
    srunner_run_all(runner, CK_ENV); /* CK_VERBOSITY=verbose lists every test */
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
