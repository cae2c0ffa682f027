/* check_dbfile.c - the trace database's files on disk (dbfile.c), in a
 * fresh temporary directory per test: created private whatever the umask
 * allows, never through a symbolic link (dangling or not, at the path or a
 * side file), never over another user's file or a hard-linked one, never
 * in a directory anyone can swap names in; a previous trace moved aside
 * and narrowed to its owner; a database a running collector holds refused;
 * and a file swapped in after creation caught. (The same rules against
 * the real collector, with a second user: tests/integration/security.sh.) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_support.h"
#include "dbfile.h"

static char dir[256];
static char path[512];
static char err[4096];

static void dir_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check-dbfile-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/run.db", dir);
    err[0] = '\0';
}

static void dir_teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static unsigned mode_of(const char *name)
{
    struct stat st;
    ck_assert_msg(lstat(name, &st) == 0, "%s is missing", name);
    return st.st_mode & 07777;
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, mode);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
}

static void side(char *out, size_t cap, const char *suffix)
{
    snprintf(out, cap, "%s%s", path, suffix);
}

START_TEST(the_database_and_its_side_files_are_created_private_whatever_the_umask_allows)
{
    mode_t old = umask(0);
    struct dbfile f;
    ck_assert_msg(dbfile_inspect(path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(dbfile_create(&f, path, err, sizeof err), "%s", err);
    umask(old);
    char wal[600], shm[600];
    side(wal, sizeof wal, "-wal");
    side(shm, sizeof shm, "-shm");
    ck_assert_uint_eq(mode_of(path), 0600);
    ck_assert_uint_eq(mode_of(wal), 0600);
    ck_assert_uint_eq(mode_of(shm), 0600);
    dbfile_close(&f);
}
END_TEST

START_TEST(a_symbolic_link_at_the_path_is_refused_whether_it_dangles_or_not)
{
    char target[600];
    snprintf(target, sizeof target, "%s/target", dir);
    ck_assert_int_eq(symlink(target, path), 0);
    ck_assert_int_eq(dbfile_inspect(path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "is a symbolic link") != NULL, "%s", err);
    struct stat st;
    ck_assert_int_ne(lstat(target, &st), 0); /* nothing created behind it */
    write_file(target, "", 0644);
    ck_assert_int_eq(dbfile_inspect(path, err, sizeof err), -1);
    ck_assert_uint_eq(lstat(target, &st) == 0 ? (unsigned)st.st_size : 99u, 0);
    /* dbfile_create on its own refuses it too (it clears only files of ours). */
    struct dbfile f;
    ck_assert(!dbfile_create(&f, path, err, sizeof err));
    ck_assert_uint_eq(lstat(target, &st) == 0 ? (unsigned)st.st_size : 99u, 0);
}
END_TEST

START_TEST(a_side_file_that_is_a_link_is_refused)
{
    char wal[600], target[600];
    side(wal, sizeof wal, "-wal");
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    ck_assert_int_eq(symlink(target, wal), 0);
    ck_assert_int_eq(dbfile_inspect(path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "run.db-wal is a symbolic link") != NULL, "%s", err);
}
END_TEST

START_TEST(a_file_with_other_hard_links_is_refused)
{
    char other[600];
    snprintf(other, sizeof other, "%s/other", dir);
    write_file(other, "precious", 0644);
    ck_assert_int_eq(link(other, path), 0);
    ck_assert_int_eq(dbfile_inspect(path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "hard links") != NULL, "%s", err);
}
END_TEST

START_TEST(a_file_of_another_user_is_refused)
{
    /* Registered only when running as root, which can give a file away. */
    write_file(path, "theirs", 0644);
    ck_assert_int_eq(chown(path, 65534, 65534), 0);
    ck_assert_int_eq(dbfile_inspect(path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "belongs to uid 65534") != NULL, "%s", err);
}
END_TEST

START_TEST(a_directory_anyone_may_write_without_the_sticky_bit_is_refused)
{
    ck_assert_int_eq(chmod(dir, 0777), 0);
    ck_assert_int_eq(dbfile_inspect(path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "not sticky") != NULL, "%s", err);
    ck_assert_int_eq(chmod(dir, 01777), 0); /* as /tmp: fine */
    ck_assert_msg(dbfile_inspect(path, err, sizeof err) == 0, "%s", err);
}
END_TEST

START_TEST(a_previous_trace_is_moved_aside_with_its_wal_and_narrowed_to_its_owner)
{
    char wal[600], old[600], old_wal[600];
    side(wal, sizeof wal, "-wal");
    side(old, sizeof old, ".old");
    side(old_wal, sizeof old_wal, ".old-wal");
    write_file(path, "previous", 0644);
    write_file(wal, "pages", 0644);
    ck_assert_msg(dbfile_inspect(path, err, sizeof err) == 1, "%s", err);
    ck_assert_msg(dbfile_retire(path, err, sizeof err), "%s", err);
    struct stat st;
    ck_assert_int_ne(lstat(path, &st), 0);
    ck_assert_uint_eq(mode_of(old), 0600);
    ck_assert_uint_eq(mode_of(old_wal), 0600);
}
END_TEST

START_TEST(a_database_a_running_collector_holds_is_refused)
{
    struct dbfile first;
    ck_assert_msg(dbfile_create(&first, path, err, sizeof err), "%s", err);
    ck_assert_int_eq(dbfile_inspect(path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "being written by a running trace collector") != NULL, "%s", err);
    struct dbfile second; /* racing past dbfile_inspect does not help */
    bool made = dbfile_create(&second, path, err, sizeof err);
    if (made)
        dbfile_close(&second);
    ck_assert(!made);
    dbfile_close(&first);
    ck_assert_msg(dbfile_inspect(path, err, sizeof err) == 0, "%s", err); /* let go */
}
END_TEST

/* Opens the three files as SQLite does and checks they pass; then puts
 * another -wal in place and opens it too - after closing the first -wal
 * (SQLite opened it only after the swap), or keeping it (a second open of
 * the same name) - and checks verify catches it either way. */
static void swap_after_open(bool keep_first_wal)
{
    struct dbfile f;
    ck_assert_msg(dbfile_create(&f, path, err, sizeof err), "%s", err);
    char wal[600], shm[600], swap[600];
    side(wal, sizeof wal, "-wal");
    side(shm, sizeof shm, "-shm");
    int main_fd = open(path, O_RDWR), wal_fd = open(wal, O_RDWR), shm_fd = open(shm, O_RDWR);
    ck_assert_msg(dbfile_verify(&f, path, err, sizeof err), "%s", err);
    if (!keep_first_wal) {
        close(wal_fd);
        wal_fd = -1;
    }
    snprintf(swap, sizeof swap, "%s/swap", dir);
    write_file(swap, "", 0600);
    ck_assert_int_eq(rename(swap, wal), 0);
    int swapped_fd = open(wal, O_RDWR);
    ck_assert(!dbfile_verify(&f, path, err, sizeof err));
    ck_assert_msg(strstr(err, "run.db-wal was replaced") != NULL, "%s", err);
    close(swapped_fd);
    close(main_fd);
    if (wal_fd >= 0)
        close(wal_fd);
    close(shm_fd);
    dbfile_close(&f);
}

START_TEST(files_swapped_in_after_creation_are_caught_by_verify)
{
    swap_after_open(false);
}
END_TEST

START_TEST(a_second_open_that_found_a_swapped_file_is_caught_though_the_first_found_ours)
{
    swap_after_open(true);
}
END_TEST

Suite *dbfile_suite(void)
{
    Suite *s = suite_create("dbfile");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, the_database_and_its_side_files_are_created_private_whatever_the_umask_allows);
    tcase_add_test(tc, a_symbolic_link_at_the_path_is_refused_whether_it_dangles_or_not);
    tcase_add_test(tc, a_side_file_that_is_a_link_is_refused);
    tcase_add_test(tc, a_file_with_other_hard_links_is_refused);
    if (geteuid() == 0)
        tcase_add_test(tc, a_file_of_another_user_is_refused);
    tcase_add_test(tc, a_directory_anyone_may_write_without_the_sticky_bit_is_refused);
    tcase_add_test(tc, a_previous_trace_is_moved_aside_with_its_wal_and_narrowed_to_its_owner);
    tcase_add_test(tc, a_database_a_running_collector_holds_is_refused);
    tcase_add_test(tc, files_swapped_in_after_creation_are_caught_by_verify);
    tcase_add_test(tc, a_second_open_that_found_a_swapped_file_is_caught_though_the_first_found_ours);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(dbfile_suite)
