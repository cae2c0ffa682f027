/* check_clock.c - tracer/clock.h: converting time-stamp counter ticks with
 * a published calibration, the seqlock that publishes it (a writer thread
 * republishing while readers convert: the test that must stay clean under
 * ThreadSanitizer, and that catches a torn read as a broken invariant),
 * and, on machines with a counter, that a rate measured the way the
 * collector measures it turns ticks into CLOCK_MONOTONIC. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "check_support.h"
#include "clock.h"

START_TEST(an_unpublished_calibration_gives_no_view)
{
    clock_calibration_t cal = {0};
    clock_view_t view = {0};
    ck_assert(!clock_view_refresh(&view, &cal));
}
END_TEST

START_TEST(ticks_convert_along_the_published_line_both_ways)
{
    clock_calibration_t cal = {0};
    clock_calibration_publish(&cal, 1000, 5000, 2ull << 32); /* 2 ns per tick */
    clock_view_t view = {0};
    ck_assert(clock_view_refresh(&view, &cal));
    ck_assert_uint_eq(clock_view_convert(&view, 1000), 5000);
    ck_assert_uint_eq(clock_view_convert(&view, 1500), 6000);
    ck_assert_uint_eq(clock_view_convert(&view, 500), 4000);
}
END_TEST

START_TEST(fractional_rates_keep_their_fraction)
{
    clock_calibration_t cal = {0};
    /* 0.4347826 ns per tick: a 2.3 GHz counter. */
    uint64_t mult = (uint64_t)((1.0 / 2.3) * 4294967296.0);
    clock_calibration_publish(&cal, 0, 0, mult);
    clock_view_t view = {0};
    ck_assert(clock_view_refresh(&view, &cal));
    uint64_t ns = clock_view_convert(&view, 2300000000ull); /* one second of ticks */
    ck_assert_msg(ns > 999999990ull && ns < 1000000010ull, "converted %llu", (unsigned long long)ns);
}
END_TEST

START_TEST(a_view_follows_a_new_publication)
{
    clock_calibration_t cal = {0};
    clock_view_t view = {0};
    clock_calibration_publish(&cal, 0, 0, 1ull << 32);
    ck_assert(clock_view_refresh(&view, &cal));
    ck_assert_uint_eq(clock_view_convert(&view, 10), 10);
    clock_calibration_publish(&cal, 100, 1000000, 1ull << 32);
    ck_assert(clock_view_refresh(&view, &cal));
    ck_assert_uint_eq(clock_view_convert(&view, 110), 1000010);
}
END_TEST

START_TEST(a_rate_needs_two_increasing_pairs)
{
    ck_assert_uint_eq(clock_rate(100, 100, 100, 200), 0);
    ck_assert_uint_eq(clock_rate(100, 100, 200, 100), 0);
    ck_assert_uint_eq(clock_rate(100, 100, 50, 200), 0);
    ck_assert_uint_eq(clock_rate(0, 0, 1000, 3000), 3ull << 32);
}
END_TEST

/* Publications i = 1, 2, ... all satisfy ns_base = 3 * tsc_base and
 * mult = 7 * tsc_base: a reader that mixed two of them would see the
 * relation broken. */
#define SEQ_PUBLICATIONS 200000u
static clock_calibration_t shared_cal;
static atomic_int writer_done;

static void *seq_writer(void *arg)
{
    (void)arg;
    for (uint64_t i = 1; i <= SEQ_PUBLICATIONS; i++)
        clock_calibration_publish(&shared_cal, i, 3 * i, 7 * i);
    atomic_store(&writer_done, 1);
    return NULL;
}

static void *seq_reader(void *arg)
{
    uint64_t *consistent = arg;
    clock_view_t view = {0};
    while (!atomic_load(&writer_done)) {
        if (!clock_view_refresh(&view, &shared_cal))
            continue;
        if (view.ns_base == 3 * view.tsc_base && view.mult == 7 * view.tsc_base)
            (*consistent)++;
        else
            return (void *)1;
    }
    return NULL;
}

START_TEST(readers_never_see_half_of_a_publication)
{
    shared_cal = (clock_calibration_t){0};
    atomic_store(&writer_done, 0);
    pthread_t writer, readers[2];
    uint64_t consistent[2] = {0, 0};
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&readers[i], NULL, seq_reader, &consistent[i]), 0);
    ck_assert_int_eq(pthread_create(&writer, NULL, seq_writer, NULL), 0);
    ck_assert_int_eq(pthread_join(writer, NULL), 0);
    for (int i = 0; i < 2; i++) {
        void *torn = NULL;
        ck_assert_int_eq(pthread_join(readers[i], &torn), 0);
        ck_assert_msg(torn == NULL, "reader %d saw a torn calibration", i);
    }
    clock_view_t last = {0};
    ck_assert(clock_view_refresh(&last, &shared_cal));
    ck_assert_uint_eq(last.tsc_base, SEQ_PUBLICATIONS);
}
END_TEST

START_TEST(a_measured_rate_turns_ticks_into_clock_monotonic)
{
    if (!CLOCK_HAVE_TSC)
        return; /* no counter on this architecture: the tracer uses clock_gettime */
    uint64_t t0, n0, t1, n1;
    clock_measure_pair(&t0, &n0);
    struct timespec pause = {0, 50000000}; /* 50 ms, as the collector has after a while */
    nanosleep(&pause, NULL);
    clock_measure_pair(&t1, &n1);
    uint64_t mult = clock_rate(t0, n0, t1, n1);
    ck_assert_uint_ne(mult, 0);
    clock_calibration_t cal = {0};
    clock_calibration_publish(&cal, t1, n1, mult);
    clock_view_t view = {0};
    ck_assert(clock_view_refresh(&view, &cal));
    nanosleep(&pause, NULL);
    uint64_t before = prim_now_ns();
    uint64_t converted = clock_view_convert(&view, clock_ticks());
    uint64_t after = prim_now_ns();
    /* Generous: scheduling can land between the three reads; a wrong rate
     * or a wrong sign would be off by milliseconds or more. */
    ck_assert_msg(converted + 200000 >= before && converted <= after + 200000,
                  "converted %llu outside [%llu, %llu] +- 200 us", (unsigned long long)converted,
                  (unsigned long long)before, (unsigned long long)after);
}
END_TEST

static Suite *clock_suite(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("calibration");
    tcase_add_test(tc, an_unpublished_calibration_gives_no_view);
    tcase_add_test(tc, ticks_convert_along_the_published_line_both_ways);
    tcase_add_test(tc, fractional_rates_keep_their_fraction);
    tcase_add_test(tc, a_view_follows_a_new_publication);
    tcase_add_test(tc, a_rate_needs_two_increasing_pairs);
    tcase_add_test(tc, readers_never_see_half_of_a_publication);
    tcase_add_test(tc, a_measured_rate_turns_ticks_into_clock_monotonic);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(clock_suite)
