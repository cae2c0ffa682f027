/* check_report.c - one-line diagnostics (report.c): the hand-written
 * formatters (decimal, hex with no leading zeros, byte counts the way users
 * write them back: "16G", "512K", "100"), cutting text at REPORT_LINE_MAX
 * without writing past the buffer, and report_emit, which must send exactly
 * one newline-terminated line to fd 2 (captured here through a pipe), count
 * it, and after REPORT_MAX_LINES lines print one suppression notice and then
 * stay silent. Check forks each test, so every test starts with the
 * process-wide line count at zero. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "check_support.h"
#include "stderr_capture.h"
#include "report.h"


/* ---- formatting helpers -------------------------------------------------- */

static struct report_line line;

static void begin_line(void)
{
    memset(&line, 0x7e, sizeof line); /* garbage: report_begin must clear it */
    report_begin(&line);
}

static const char *u64_text(uint64_t value)
{
    report_u64(&line, value);
    return line.text;
}

static const char *hex_text(uint64_t value)
{
    report_hex(&line, value);
    return line.text;
}

static const char *bytes_text(uint64_t value)
{
    report_bytes(&line, value);
    return line.text;
}

/* ---- building a line ----------------------------------------------------- */

START_TEST(a_new_line_is_empty)
{
    ck_assert_uint_eq(line.len, 0);
    ck_assert_str_eq(line.text, "");
}
END_TEST

START_TEST(strings_append_in_order)
{
    report_str(&line, "orthotope: ");
    report_str(&line, "double free");
    ck_assert_str_eq(line.text, "orthotope: double free");
    ck_assert_uint_eq(line.len, strlen("orthotope: double free"));
}
END_TEST

START_TEST(a_null_string_appends_a_placeholder_instead_of_crashing)
{
    report_str(&line, NULL);
    ck_assert_str_eq(line.text, "(null)");
}
END_TEST

START_TEST(numbers_append_after_text)
{
    report_str(&line, "thread ");
    report_u64(&line, 4121);
    report_str(&line, " at ");
    report_hex(&line, 0x7f3a1c000a40ull);
    ck_assert_str_eq(line.text, "thread 4121 at 0x7f3a1c000a40");
}
END_TEST

/* ---- decimal -------------------------------------------------------------- */

START_TEST(zero_prints_as_0)
{
    ck_assert_str_eq(u64_text(0), "0");
}
END_TEST

START_TEST(a_decimal_number_prints_every_digit)
{
    ck_assert_str_eq(u64_text(1234567890), "1234567890");
}
END_TEST

START_TEST(the_largest_u64_prints_all_20_digits)
{
    ck_assert_str_eq(u64_text(UINT64_MAX), "18446744073709551615");
}
END_TEST

/* ---- hex ------------------------------------------------------------------ */

START_TEST(zero_prints_in_hex_as_0x0)
{
    ck_assert_str_eq(hex_text(0), "0x0");
}
END_TEST

START_TEST(hex_uses_lower_case_without_leading_zeros)
{
    ck_assert_str_eq(hex_text(0xdeadbeef), "0xdeadbeef");
}
END_TEST

START_TEST(hex_keeps_zeros_inside_and_at_the_end)
{
    ck_assert_str_eq(hex_text(0x1000f0), "0x1000f0");
}
END_TEST

START_TEST(the_largest_u64_prints_16_hex_digits)
{
    ck_assert_str_eq(hex_text(UINT64_MAX), "0xffffffffffffffff");
}
END_TEST

START_TEST(a_value_with_only_the_top_nibble_set_prints_16_hex_digits)
{
    ck_assert_str_eq(hex_text(0x8000000000000000ull), "0x8000000000000000");
}
END_TEST

/* ---- byte counts ---------------------------------------------------------- */

START_TEST(sixteen_gib_prints_as_16g)
{
    ck_assert_str_eq(bytes_text((uint64_t)16 << 30), "16G");
}
END_TEST

START_TEST(half_a_mib_prints_as_512k)
{
    ck_assert_str_eq(bytes_text(512 * 1024), "512K");
}
END_TEST

START_TEST(a_count_below_1024_prints_as_plain_bytes)
{
    ck_assert_str_eq(bytes_text(100), "100");
}
END_TEST

START_TEST(zero_bytes_prints_as_0)
{
    ck_assert_str_eq(bytes_text(0), "0");
}
END_TEST

START_TEST(a_count_that_is_not_a_kib_multiple_prints_in_bytes)
{
    ck_assert_str_eq(bytes_text(1536), "1536");
}
END_TEST

START_TEST(a_count_uses_the_largest_unit_that_divides_it)
{
    ck_assert_str_eq(bytes_text(((uint64_t)1 << 20) + 1024), "1025K");
}
END_TEST

START_TEST(one_tib_prints_as_1t)
{
    ck_assert_str_eq(bytes_text((uint64_t)1 << 40), "1T");
}
END_TEST

START_TEST(counts_beyond_tib_stay_in_t)
{
    ck_assert_str_eq(bytes_text((uint64_t)1 << 50), "1024T");
}
END_TEST

/* ---- truncation ----------------------------------------------------------- */

/* A line with guard bytes behind it, to see any write past the struct. A
 * short overrun of text would land on len, which the tests check exactly. */
static struct {
    struct report_line line;
    unsigned char guard[64];
} guarded;

static void fill_guarded(void)
{
    memset(&guarded, 0, sizeof guarded);
    memset(guarded.guard, 0xcd, sizeof guarded.guard);
    report_begin(&guarded.line);
    char chunk[101];
    memset(chunk, 'x', 100);
    chunk[100] = '\0';
    for (int i = 0; i < 10; i++) /* 1000 bytes into a 512-byte line */
        report_str(&guarded.line, chunk);
}

static void assert_guard_intact(void)
{
    for (size_t i = 0; i < sizeof guarded.guard; i++)
        ck_assert_msg(guarded.guard[i] == 0xcd, "guard byte %zu overwritten", i);
}

START_TEST(text_beyond_the_line_limit_is_cut_leaving_room_for_newline_and_nul)
{
    fill_guarded();
    ck_assert_uint_eq(guarded.line.len, REPORT_LINE_MAX - 2);
    ck_assert_uint_eq(strlen(guarded.line.text), REPORT_LINE_MAX - 2);
}
END_TEST

START_TEST(cutting_a_long_line_writes_nothing_past_the_buffer)
{
    fill_guarded();
    report_u64(&guarded.line, UINT64_MAX);
    report_hex(&guarded.line, UINT64_MAX);
    report_bytes(&guarded.line, 12345);
    ck_assert_uint_eq(guarded.line.len, REPORT_LINE_MAX - 2);
    assert_guard_intact();
}
END_TEST

START_TEST(a_number_that_does_not_fit_keeps_its_leading_digits)
{
    /* Fill to three bytes short of the cut, then print five digits. */
    report_begin(&line);
    for (size_t i = 0; i < REPORT_LINE_MAX - 2 - 3; i++)
        report_str(&line, "y");
    report_u64(&line, 12345);
    ck_assert_uint_eq(line.len, REPORT_LINE_MAX - 2);
    ck_assert_str_eq(line.text + line.len - 3, "123");
}
END_TEST

START_TEST(emitting_a_cut_line_writes_it_with_its_newline_and_no_overflow)
{
    fill_guarded();
    struct capture c;
    char out[2 * REPORT_LINE_MAX];
    capture_begin(&c);
    report_emit(&guarded.line);
    size_t len = capture_end(&c, out, sizeof out);
    ck_assert_uint_eq(len, REPORT_LINE_MAX - 1);
    ck_assert_int_eq(out[len - 1], '\n');
    ck_assert_int_eq(guarded.line.text[REPORT_LINE_MAX - 1], '\0');
    assert_guard_intact();
}
END_TEST

/* ---- emitting ------------------------------------------------------------- */

START_TEST(emitting_writes_the_line_and_a_newline_to_stderr)
{
    report_str(&line, "orthotope: test line");
    struct capture c;
    char out[1024];
    capture_begin(&c);
    report_emit(&line);
    capture_end(&c, out, sizeof out);
    ck_assert_str_eq(out, "orthotope: test line\n");
}
END_TEST

START_TEST(emitting_counts_the_line)
{
    unsigned before = report_lines_emitted();
    report_str(&line, "counted");
    struct capture c;
    char out[1024];
    capture_begin(&c);
    report_emit(&line);
    capture_end(&c, out, sizeof out);
    ck_assert_uint_eq(report_lines_emitted(), before + 1);
}
END_TEST

START_TEST(after_the_line_cap_one_notice_is_printed_and_then_nothing)
{
    ck_assert_uint_eq(report_lines_emitted(), 0); /* fresh forked process */
    struct capture c;
    char out[REPORT_MAX_LINES * 64 + 256];
    capture_begin(&c);
    for (int i = 0; i < REPORT_MAX_LINES + 5; i++) {
        struct report_line each;
        report_begin(&each);
        report_str(&each, "line ");
        report_u64(&each, (uint64_t)i);
        report_emit(&each);
    }
    capture_end(&c, out, sizeof out);
    ck_assert_uint_eq(count_lines(out), REPORT_MAX_LINES + 1);
    ck_assert_msg(strstr(out, "line 15\northotope: further diagnostics suppressed\n") != NULL,
                  "got: %s", out);
    ck_assert_ptr_null(strstr(out, "line 16"));
}
END_TEST

Suite *report_suite(void)
{
    Suite *s = suite_create("report");

    TCase *build = tcase_create("building");
    tcase_add_checked_fixture(build, begin_line, NULL);
    tcase_add_test(build, a_new_line_is_empty);
    tcase_add_test(build, strings_append_in_order);
    tcase_add_test(build, a_null_string_appends_a_placeholder_instead_of_crashing);
    tcase_add_test(build, numbers_append_after_text);
    suite_add_tcase(s, build);

    TCase *numbers = tcase_create("numbers");
    tcase_add_checked_fixture(numbers, begin_line, NULL);
    tcase_add_test(numbers, zero_prints_as_0);
    tcase_add_test(numbers, a_decimal_number_prints_every_digit);
    tcase_add_test(numbers, the_largest_u64_prints_all_20_digits);
    tcase_add_test(numbers, zero_prints_in_hex_as_0x0);
    tcase_add_test(numbers, hex_uses_lower_case_without_leading_zeros);
    tcase_add_test(numbers, hex_keeps_zeros_inside_and_at_the_end);
    tcase_add_test(numbers, the_largest_u64_prints_16_hex_digits);
    tcase_add_test(numbers, a_value_with_only_the_top_nibble_set_prints_16_hex_digits);
    suite_add_tcase(s, numbers);

    TCase *bytes = tcase_create("byte_counts");
    tcase_add_checked_fixture(bytes, begin_line, NULL);
    tcase_add_test(bytes, sixteen_gib_prints_as_16g);
    tcase_add_test(bytes, half_a_mib_prints_as_512k);
    tcase_add_test(bytes, a_count_below_1024_prints_as_plain_bytes);
    tcase_add_test(bytes, zero_bytes_prints_as_0);
    tcase_add_test(bytes, a_count_that_is_not_a_kib_multiple_prints_in_bytes);
    tcase_add_test(bytes, a_count_uses_the_largest_unit_that_divides_it);
    tcase_add_test(bytes, one_tib_prints_as_1t);
    tcase_add_test(bytes, counts_beyond_tib_stay_in_t);
    suite_add_tcase(s, bytes);

    TCase *cut = tcase_create("truncation");
    tcase_add_checked_fixture(cut, begin_line, NULL);
    tcase_add_test(cut, text_beyond_the_line_limit_is_cut_leaving_room_for_newline_and_nul);
    tcase_add_test(cut, cutting_a_long_line_writes_nothing_past_the_buffer);
    tcase_add_test(cut, a_number_that_does_not_fit_keeps_its_leading_digits);
    tcase_add_test(cut, emitting_a_cut_line_writes_it_with_its_newline_and_no_overflow);
    suite_add_tcase(s, cut);

    TCase *emit = tcase_create("emitting");
    tcase_add_checked_fixture(emit, begin_line, NULL);
    tcase_add_test(emit, emitting_writes_the_line_and_a_newline_to_stderr);
    tcase_add_test(emit, emitting_counts_the_line);
    tcase_add_test(emit, after_the_line_cap_one_notice_is_printed_and_then_nothing);
    suite_add_tcase(s, emit);
    return s;
}

CHECK_SUPPORT_MAIN(report_suite)
