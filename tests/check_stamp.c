/* check_stamp.c - tracer/stamp.h: the times of a thread's allocation
 * records between two reads of its clock. A window reads once and guesses
 * the rest at the pace of the window before; a pause seen against the
 * coarse clock forces a read; times only increase; and a time that must
 * pass another thread's does, unless that one is too far ahead to be a
 * clock's. The clock readings are plain numbers here. */
#include <stdbool.h>
#include <stdint.h>

#include "check_support.h"
#include "stamp.h"

/* Takes the guesses the window has left (floor 0: no coarse clock),
 * storing them in out; returns how many it gave before asking to read. */
static unsigned take_guesses(stamp_window_t *w, uint64_t *out, unsigned cap)
{
    unsigned n = 0;
    uint64_t guess;
    while (n < cap && (guess = stamp_guess(w, 0)) != 0)
        out[n++] = guess;
    return n;
}

/* A window of 4 with a measured pace of 100 ns a record: read at 1000,
 * its three guesses taken, read again at 1400. */
static void window_at_100_ns_a_record(stamp_window_t *w)
{
    stamp_init(w, 4);
    stamp_restart(w, 1000, false);
    uint64_t guesses[8];
    ck_assert_uint_eq(take_guesses(w, guesses, 8), 3);
    stamp_restart(w, 1400, false); /* 4 records in 400 ns */
}

START_TEST(a_new_window_reads_the_clock_first)
{
    stamp_window_t w;
    stamp_init(&w, 4);
    ck_assert_uint_eq(stamp_guess(&w, 0), 0);
}
END_TEST

START_TEST(a_window_reads_once_and_guesses_the_other_records)
{
    stamp_window_t w;
    stamp_init(&w, 4);
    stamp_restart(&w, 1000, false);
    uint64_t guesses[8];
    ck_assert_uint_eq(take_guesses(&w, guesses, 8), 3);
    /* No pace known yet: the guesses stay on the reading (stamp_advance
     * then spaces them a nanosecond apart). */
    ck_assert_uint_eq(guesses[0], 1000);
    ck_assert_uint_eq(guesses[2], 1000);
}
END_TEST

START_TEST(the_step_is_the_pace_of_the_window_before)
{
    stamp_window_t w;
    window_at_100_ns_a_record(&w);
    uint64_t guesses[8];
    ck_assert_uint_eq(take_guesses(&w, guesses, 8), 3);
    ck_assert_uint_eq(guesses[0], 1500);
    ck_assert_uint_eq(guesses[1], 1600);
    ck_assert_uint_eq(guesses[2], 1700);
}
END_TEST

START_TEST(a_slow_window_cannot_make_the_next_run_far_ahead)
{
    stamp_window_t w;
    stamp_init(&w, 16);
    stamp_restart(&w, 1000, false);
    uint64_t guesses[32];
    take_guesses(&w, guesses, 32);
    stamp_restart(&w, 1000 + 16 * 1000000ull, false); /* a millisecond a record */
    ck_assert_uint_eq(take_guesses(&w, guesses, 32), 15);
    uint64_t read = 1000 + 16 * 1000000ull;
    ck_assert_uint_eq(guesses[14] - read, 15ull * STAMP_STEP_MAX_NS);
    ck_assert_uint_le(guesses[14] - read, (uint64_t)STAMP_WINDOW * STAMP_STEP_MAX_NS);
}
END_TEST

START_TEST(a_guess_that_trails_the_coarse_clock_forces_a_read_and_keeps_the_step)
{
    stamp_window_t w;
    window_at_100_ns_a_record(&w);
    /* The next guess would be 1500; the collector's clock says the thread
     * was away far longer than the slack. */
    ck_assert_uint_eq(stamp_guess(&w, 1500 + STAMP_FLOOR_SLACK_NS + 1), 0);
    stamp_restart(&w, 5000000, false); /* the read the pause asked for */
    ck_assert_uint_eq(stamp_guess(&w, 0), 5000100);
}
END_TEST

START_TEST(a_guess_within_the_slack_of_the_coarse_clock_stands)
{
    stamp_window_t w;
    stamp_init(&w, 4);
    stamp_restart(&w, 1000, false);
    ck_assert_uint_eq(stamp_guess(&w, 1000 + STAMP_FLOOR_SLACK_NS), 1000);
}
END_TEST

/* Whether two windows are in the same state, field by field. */
static bool same_window(const stamp_window_t *a, const stamp_window_t *b)
{
    return a->read_ns == b->read_ns && a->guess_ns == b->guess_ns && a->step_ns == b->step_ns &&
           a->left == b->left && a->window == b->window && a->paused == b->paused;
}

START_TEST(a_peeked_guess_changes_nothing_until_it_is_taken)
{
    /* The tracer's free fast path peeks, may back out, and then the
     * general path guesses: both must see the same window. */
    stamp_window_t w, same;
    window_at_100_ns_a_record(&w);
    same = w;
    ck_assert_uint_eq(stamp_peek(&w, 0), 1500);
    ck_assert_uint_eq(stamp_peek(&w, 0), 1500);
    ck_assert(same_window(&w, &same));
    /* Taking it is stamp_guess. */
    stamp_take(&w, 1500);
    ck_assert_uint_eq(stamp_guess(&same, 0), 1500);
    ck_assert(same_window(&w, &same));
    /* Where stamp_guess gives none, peeking gives none either and leaves
     * the pause for stamp_guess to see. */
    uint64_t far = 1600 + STAMP_FLOOR_SLACK_NS + 1;
    ck_assert_uint_eq(stamp_peek(&w, far), 0);
    ck_assert(!w.paused);
    ck_assert_uint_eq(stamp_guess(&w, far), 0);
    ck_assert(w.paused);
}
END_TEST

START_TEST(a_window_of_one_reads_for_every_record)
{
    stamp_window_t w;
    stamp_init(&w, 1);
    for (uint64_t now = 1000; now < 1010; now++) {
        ck_assert_uint_eq(stamp_guess(&w, 0), 0);
        stamp_restart(&w, now, false);
    }
    stamp_init(&w, 0); /* no window at all is a window of one */
    stamp_restart(&w, 2000, false);
    ck_assert_uint_eq(stamp_guess(&w, 0), 0);
}
END_TEST

START_TEST(a_reading_out_of_turn_starts_a_window_and_keeps_the_step)
{
    stamp_window_t w;
    window_at_100_ns_a_record(&w);
    ck_assert_uint_eq(stamp_guess(&w, 0), 1500);
    stamp_restart(&w, 9000, true); /* stamp_after's read: not a window's pace */
    uint64_t guesses[8];
    ck_assert_uint_eq(take_guesses(&w, guesses, 8), 3);
    ck_assert_uint_eq(guesses[0], 9100);
}
END_TEST

START_TEST(times_only_increase_for_the_thread)
{
    uint64_t last = 0;
    ck_assert_uint_eq(stamp_advance(&last, 500), 500);
    ck_assert_uint_eq(stamp_advance(&last, 500), 501);
    ck_assert_uint_eq(stamp_advance(&last, 100), 502); /* a guess behind the last time */
    ck_assert_uint_eq(stamp_advance(&last, 9000), 9000);
    ck_assert_uint_eq(last, 9000);
}
END_TEST

START_TEST(a_time_that_must_pass_another_threads_passes_it)
{
    ck_assert(stamp_passes(101, 100));
    ck_assert(!stamp_passes(100, 100));
    /* The guess trailed; the clock, read, is behind the other time too. */
    ck_assert_uint_eq(stamp_after(100, 150, 200), 201);
    /* The clock, read, is past it already. */
    ck_assert_uint_eq(stamp_after(100, 300, 200), 300);
    /* A guess past the clock stays: times never go back. */
    ck_assert_uint_eq(stamp_after(400, 300, 200), 400);
}
END_TEST

START_TEST(a_time_too_far_ahead_to_be_a_clocks_is_not_adopted)
{
    uint64_t now = 1000000000ull;
    ck_assert_uint_eq(stamp_after(now - 10, now, now + STAMP_ADOPT_MAX_NS), now + STAMP_ADOPT_MAX_NS + 1);
    ck_assert_uint_eq(stamp_after(now - 10, now, now + STAMP_ADOPT_MAX_NS + 1), now);
    ck_assert_uint_eq(stamp_after(now - 10, now, UINT64_MAX), now); /* a smashed tag */
}
END_TEST

static Suite *stamp_suite(void)
{
    Suite *s = suite_create("stamp");
    TCase *tc = tcase_create("window");
    tcase_add_test(tc, a_new_window_reads_the_clock_first);
    tcase_add_test(tc, a_window_reads_once_and_guesses_the_other_records);
    tcase_add_test(tc, the_step_is_the_pace_of_the_window_before);
    tcase_add_test(tc, a_slow_window_cannot_make_the_next_run_far_ahead);
    tcase_add_test(tc, a_guess_that_trails_the_coarse_clock_forces_a_read_and_keeps_the_step);
    tcase_add_test(tc, a_guess_within_the_slack_of_the_coarse_clock_stands);
    tcase_add_test(tc, a_peeked_guess_changes_nothing_until_it_is_taken);
    tcase_add_test(tc, a_window_of_one_reads_for_every_record);
    tcase_add_test(tc, a_reading_out_of_turn_starts_a_window_and_keeps_the_step);
    suite_add_tcase(s, tc);
    TCase *order = tcase_create("order");
    tcase_add_test(order, times_only_increase_for_the_thread);
    tcase_add_test(order, a_time_that_must_pass_another_threads_passes_it);
    tcase_add_test(order, a_time_too_far_ahead_to_be_a_clocks_is_not_adopted);
    suite_add_tcase(s, order);
    return s;
}

CHECK_SUPPORT_MAIN(stamp_suite)
