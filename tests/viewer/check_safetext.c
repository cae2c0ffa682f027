/* check_safetext.c - unit tests of viewer/safetext.c, the one function
 * both viewers pass every name from a database through: escape sequences,
 * C0 and C1 controls, bidirectional overrides and bytes that are not UTF-8
 * come out as visible escapes; valid UTF-8 comes out as it went in; a copy
 * cut short never splits a character or an escape. Expected strings are
 * written out by hand from the rules in safetext.h. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_support.h"
#include "safetext.h"

static const char *safe(const char *src)
{
    static char buf[256];
    return safetext_copy(buf, sizeof buf, src);
}

START_TEST(an_escape_sequence_that_clears_the_screen_is_shown_not_obeyed)
{
    ck_assert_str_eq(safe("main\x1b[2J"), "main\\x1b[2J");
    ck_assert_str_eq(safe("\x1b]0;pwned\x07tail"), "\\x1b]0;pwned\\x07tail");
}
END_TEST

START_TEST(every_c0_control_and_del_becomes_a_hex_escape)
{
    ck_assert_str_eq(safe("a\tb\nc\rd"), "a\\x09b\\x0ac\\x0dd");
    ck_assert_str_eq(safe("\x01\x1f\x7f"), "\\x01\\x1f\\x7f");
}
END_TEST

START_TEST(c1_controls_and_bidi_overrides_become_unicode_escapes)
{
    ck_assert_str_eq(safe("x\xc2\x9b" "31m"), "x\\u009b31m");        /* U+009B, CSI */
    ck_assert_str_eq(safe("a\xe2\x80\xae" "cba"), "a\\u202ecba");   /* U+202E, RLO */
    ck_assert_str_eq(safe("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u2066x\\u2069"); /* isolates */
}
END_TEST

START_TEST(bytes_that_are_not_utf8_become_hex_escapes_one_each)
{
    ck_assert_str_eq(safe("/bin/p\xff\xfe"), "/bin/p\\xff\\xfe");
    ck_assert_str_eq(safe("\x9b" "2J"), "\\x9b2J");                 /* a lone C1 byte */
    ck_assert_str_eq(safe("\xc0\xaf"), "\\xc0\\xaf");               /* overlong '/' */
    ck_assert_str_eq(safe("\xed\xa0\x80"), "\\xed\\xa0\\x80");       /* a surrogate */
    ck_assert_str_eq(safe("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
    ck_assert_str_eq(safe("ab\xe2\x82"), "ab\\xe2\\x82");           /* cut at the end */
}
END_TEST

START_TEST(valid_utf8_and_printable_ascii_are_copied_as_they_are)
{
    const char *names[] = {"std::vector<int>::push_back", "caf\xc3\xa9_open",
                           "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80 emoji", "", "a\\x1b"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ck_assert_str_eq(safe(names[i]), names[i]);
        ck_assert(safetext_is_clean(names[i]));
    }
    ck_assert(!safetext_is_clean("a\x1b"));
    ck_assert_str_eq(safe(NULL), "");
}
END_TEST

START_TEST(a_short_copy_is_cut_between_characters_and_escapes)
{
    char buf[8];
    /* "ab\x1b" needs 2 + 4 bytes: with room for 7 it fits, then "cd" is cut. */
    ck_assert_str_eq(safetext_copy(buf, sizeof buf, "ab\x1b" "cd"), "ab\\x1bc");
    char small[5];
    ck_assert_str_eq(safetext_copy(small, sizeof small, "ab\x1b"), "ab");      /* not "ab\x" */
    ck_assert_str_eq(safetext_copy(small, sizeof small, "\xc3\xa9\xc3\xa9\xc3\xa9"),
                     "\xc3\xa9\xc3\xa9"); /* two whole characters, not half of the third */
    char one[1];
    ck_assert_str_eq(safetext_copy(one, sizeof one, "abc"), "");
}
END_TEST

START_TEST(the_size_and_the_malloced_copy_agree_with_the_copy)
{
    const char *src = "f\x1b[2J\xff\xc2\x9b\xc3\xa9";
    char buf[64];
    safetext_copy(buf, sizeof buf, src);
    ck_assert_uint_eq(safetext_size(src), strlen(buf) + 1);
    char *dup = safetext_dup(src);
    ck_assert_str_eq(dup, buf);
    ck_assert_str_eq(dup, "f\\x1b[2J\\xff\\u009b\xc3\xa9");
    free(dup);
    ck_assert_ptr_null(safetext_dup(NULL));
}
END_TEST

static Suite *safetext_suite(void)
{
    Suite *s = suite_create("safetext");
    TCase *tc = tcase_create("safetext");
    tcase_add_test(tc, an_escape_sequence_that_clears_the_screen_is_shown_not_obeyed);
    tcase_add_test(tc, every_c0_control_and_del_becomes_a_hex_escape);
    tcase_add_test(tc, c1_controls_and_bidi_overrides_become_unicode_escapes);
    tcase_add_test(tc, bytes_that_are_not_utf8_become_hex_escapes_one_each);
    tcase_add_test(tc, valid_utf8_and_printable_ascii_are_copied_as_they_are);
    tcase_add_test(tc, a_short_copy_is_cut_between_characters_and_escapes);
    tcase_add_test(tc, the_size_and_the_malloced_copy_agree_with_the_copy);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(safetext_suite)
