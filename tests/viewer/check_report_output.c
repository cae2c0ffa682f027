/* check_report_output.c - unit tests of ortho-report's output building
 * blocks: the protobuf encoder (protobuf.c) against the byte sequences the
 * protocol-buffers encoding guide gives as examples, the JSON writer
 * (json.c) against RFC 8259's escaping rules, the units of the text
 * (units.c) at their boundaries, gzip output (gzip_out.c) read back by the
 * real gzip program, and the file outputs' refusal of an unwritable path. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_support.h"
#include "gzip_out.h"
#include "json.h"
#include "outfile.h"
#include "protobuf.h"
#include "units.h"

static void assert_bytes(const struct pb *b, const uint8_t *want, size_t n)
{
    ck_assert_uint_eq(b->len, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(b->data[i] == want[i], "byte %zu is 0x%02x, want 0x%02x", i, b->data[i],
                      want[i]);
}

START_TEST(the_varint_of_150_is_the_encoding_guides_96_01)
{
    struct pb b = {0};
    pb_uint(&b, 1, 150); /* the guide's first example: field 1 = 150 -> 08 96 01 */
    assert_bytes(&b, (const uint8_t[]){0x08, 0x96, 0x01}, 3);
    pb_clear(&b);
    pb_varint(&b, 0);
    pb_varint(&b, 1);
    pb_varint(&b, 127);
    pb_varint(&b, 128);
    assert_bytes(&b, (const uint8_t[]){0x00, 0x01, 0x7f, 0x80, 0x01}, 5);
    pb_free(&b);
}
END_TEST

START_TEST(a_negative_int64_takes_ten_bytes_and_the_largest_uint64_too)
{
    struct pb b = {0};
    pb_varint(&b, UINT64_MAX);
    assert_bytes(&b, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
                 10);
    pb_clear(&b);
    pb_int(&b, 2, -1);
    ck_assert_uint_eq(b.len, 11); /* one tag byte, ten varint bytes */
    ck_assert_uint_eq(b.data[0], 0x10);
    pb_free(&b);
}
END_TEST

START_TEST(a_string_is_its_tag_length_and_bytes_as_in_the_guide)
{
    struct pb b = {0};
    pb_string(&b, 2, "testing"); /* the guide: 12 07 74 65 73 74 69 6e 67 */
    assert_bytes(&b, (const uint8_t[]){0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}, 9);
    pb_free(&b);
}
END_TEST

START_TEST(a_nested_message_is_written_with_its_length_first)
{
    struct pb inner = {0}, outer = {0};
    pb_uint(&inner, 1, 150);
    pb_message(&outer, 3, &inner); /* the guide: 1a 03 08 96 01 */
    assert_bytes(&outer, (const uint8_t[]){0x1a, 0x03, 0x08, 0x96, 0x01}, 5);
    pb_free(&inner);
    pb_free(&outer);
}
END_TEST

START_TEST(packed_repeated_varints_are_one_length_delimited_run)
{
    struct pb b = {0};
    uint64_t values[] = {3, 270, 86942}; /* the guide: 22 06 03 8e 02 9e a7 05 */
    pb_packed(&b, 4, values, 3);
    assert_bytes(&b, (const uint8_t[]){0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05}, 8);
    pb_free(&b);
}
END_TEST

/* ---- JSON -------------------------------------------------------------- */

static const char *json_of(void (*write)(struct json *j))
{
    static char buf[1024];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    ck_assert_ptr_nonnull(f);
    struct json j;
    json_init(&j, f);
    write(&j);
    fclose(f);
    return buf;
}

static void write_escapes(struct json *j)
{
    json_begin_object(j, NULL);
    json_string(j, "s", "a\"b\\c\nd\te\x01");
    json_end_object(j);
}

START_TEST(strings_escape_quotes_backslashes_and_control_characters)
{
    ck_assert_str_eq(json_of(write_escapes), "{\n  \"s\": \"a\\\"b\\\\c\\nd\\te\\u0001\"\n}");
}
END_TEST

static void write_bad_bytes(struct json *j)
{
    json_begin_document(j);
    json_string(j, "s", "caf\xc3\xa9 \xff\xfe\x1b[2J\x7f\xc2\x9b\xe2\x80\xae.");
    json_end_object(j);
}

START_TEST(a_document_is_strict_utf8_and_starts_with_its_schema_version)
{
    /* Valid UTF-8 stays; each byte that is not becomes U+FFFD; ESC, DEL,
     * the C1 CSI and the right-to-left override become \u escapes. */
    ck_assert_str_eq(json_of(write_bad_bytes),
                     "{\n  \"schema_version\": 1,\n  \"s\": \"caf\xc3\xa9 \\ufffd\\ufffd\\u001b[2J"
                     "\\u007f\\u009b\\u202e.\"\n}");
}
END_TEST

static void write_nested(struct json *j)
{
    json_begin_object(j, NULL);
    json_int(j, "n", -5);
    json_begin_array(j, "a");
    json_bool(j, NULL, true);
    json_string(j, NULL, NULL);
    json_begin_object(j, NULL);
    json_end_object(j);
    json_end_array(j);
    json_begin_array(j, "empty");
    json_end_array(j);
    json_number(j, "x", 18.62);
    json_end_object(j);
}

START_TEST(values_are_separated_by_commas_at_every_level_and_empties_stay_empty)
{
    ck_assert_str_eq(json_of(write_nested), "{\n  \"n\": -5,\n  \"a\": [\n    true,\n    null,\n"
                                            "    {}\n  ],\n  \"empty\": [],\n  \"x\": 18.62\n}");
}
END_TEST

/* ---- units ------------------------------------------------------------- */

START_TEST(bytes_switch_units_at_1024_and_keep_one_decimal)
{
    char buf[UNITS_BUF];
    ck_assert_str_eq(units_bytes(buf, sizeof buf, 0), "0 B");
    ck_assert_str_eq(units_bytes(buf, sizeof buf, 1023), "1023 B");
    ck_assert_str_eq(units_bytes(buf, sizeof buf, 1024), "1.0 KiB");
    ck_assert_str_eq(units_bytes(buf, sizeof buf, 1536), "1.5 KiB");
    ck_assert_str_eq(units_bytes(buf, sizeof buf, 1048575), "1024.0 KiB");
    ck_assert_str_eq(units_bytes(buf, sizeof buf, 1048576), "1.0 MiB");
    ck_assert_str_eq(units_bytes(buf, sizeof buf, 5.0 * 1024 * 1024 * 1024), "5.0 GiB");
    ck_assert_str_eq(units_bytes(buf, sizeof buf, -200), "-200 B");
    ck_assert_str_eq(units_bytes_delta(buf, sizeof buf, 3000), "+2.9 KiB");
    ck_assert_str_eq(units_bytes_delta(buf, sizeof buf, -64), "-64 B");
}
END_TEST

START_TEST(durations_pick_ns_us_ms_or_s)
{
    char buf[UNITS_BUF];
    ck_assert_str_eq(units_duration(buf, sizeof buf, 999), "999 ns");
    ck_assert_str_eq(units_duration(buf, sizeof buf, 1500), "1.5 us");
    ck_assert_str_eq(units_duration(buf, sizeof buf, 474300000), "474.3 ms");
    ck_assert_str_eq(units_duration(buf, sizeof buf, 2500000000), "2.50 s");
}
END_TEST

/* ---- files ------------------------------------------------------------- */

START_TEST(gzip_output_is_read_back_by_the_gzip_program)
{
    if (!gzip_out_available())
        return; /* built without zlib: the bytes are written plain, nothing to decompress */
    char path[] = "/tmp/check_report_output.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    static char text[200000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + (i * 7 + i / 13) % 26);
    char err[256];
    ck_assert_int_eq(gzip_out_write(f, text, sizeof text, err, sizeof err), 0);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "gzip -dc < %s > %s.out", path, path);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s.out", path);
    FILE *back = fopen(cmd, "rb");
    ck_assert_ptr_nonnull(back);
    static char got[sizeof text + 1];
    ck_assert_uint_eq(fread(got, 1, sizeof got, back), sizeof text);
    fclose(back);
    ck_assert(memcmp(got, text, sizeof text) == 0);
    unlink(cmd);
    unlink(path);
}
END_TEST

START_TEST(an_unwritable_output_path_is_refused_naming_it)
{
    char err[256];
    ck_assert_ptr_null(outfile_open("/nonexistent-dir/out.svg", "flame graph", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/out.svg: cannot write the flame graph"));
    ck_assert_ptr_eq(outfile_open("-", "folded stacks", err, sizeof err), stdout);
}
END_TEST

START_TEST(a_write_to_a_full_disk_is_reported_at_close)
{
    char err[256];
    FILE *f = outfile_open("/dev/full", "pprof profile", err, sizeof err);
    if (f == NULL)
        return; /* no /dev/full here */
    static char block[1 << 16];
    fwrite(block, 1, sizeof block, f);
    ck_assert_int_eq(outfile_close(f, "/dev/full", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/dev/full: writing failed"));
}
END_TEST

static Suite *report_output_suite(void)
{
    Suite *s = suite_create("report_output");
    TCase *tc = tcase_create("protobuf");
    tcase_add_test(tc, the_varint_of_150_is_the_encoding_guides_96_01);
    tcase_add_test(tc, a_document_is_strict_utf8_and_starts_with_its_schema_version);
    tcase_add_test(tc, a_negative_int64_takes_ten_bytes_and_the_largest_uint64_too);
    tcase_add_test(tc, a_string_is_its_tag_length_and_bytes_as_in_the_guide);
    tcase_add_test(tc, a_nested_message_is_written_with_its_length_first);
    tcase_add_test(tc, packed_repeated_varints_are_one_length_delimited_run);
    suite_add_tcase(s, tc);
    tc = tcase_create("json");
    tcase_add_test(tc, strings_escape_quotes_backslashes_and_control_characters);
    tcase_add_test(tc, values_are_separated_by_commas_at_every_level_and_empties_stay_empty);
    suite_add_tcase(s, tc);
    tc = tcase_create("units");
    tcase_add_test(tc, bytes_switch_units_at_1024_and_keep_one_decimal);
    tcase_add_test(tc, durations_pick_ns_us_ms_or_s);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, gzip_output_is_read_back_by_the_gzip_program);
    tcase_add_test(tc, an_unwritable_output_path_is_refused_naming_it);
    tcase_add_test(tc, a_write_to_a_full_disk_is_reported_at_close);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(report_output_suite)
