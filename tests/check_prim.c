/* check_prim.c - util/prim.c's lookup of the file mapped at an address
 * (prim_mapped_path), which the tracer uses to give a module the loader
 * names relatively an absolute path: a file mapped here, by a relative
 * name and by a path longer than the function's read buffer, is found at
 * its real absolute path; anonymous memory, the vDSO and a too-small
 * buffer give false. The files are made in a temporary directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_support.h"
#include "prim.h"

static char dir[PATH_MAX];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_prim.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *real = realpath(dir, NULL); /* /tmp may be a symbolic link */
    ck_assert_ptr_nonnull(real);
    snprintf(dir, sizeof dir, "%s", real);
    free(real);
}

static void remove_dir(void)
{
    if (dir[0] == '\0')
        return;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(chdir("/"), 0);
    ck_assert_int_eq(system(cmd), 0);
}

/* Maps the first page of a new file at `relative` (under the working
 * directory) and returns the mapping. */
static void *map_new_file(const char *relative)
{
    int fd = open(relative, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    close(fd);
    return p;
}

START_TEST(a_file_mapped_by_a_relative_name_is_found_at_its_absolute_path)
{
    make_dir();
    ck_assert_int_eq(chdir(dir), 0);
    char *p = map_new_file("./mapped.bin");
    char want[PATH_MAX + 16], got[PATH_MAX];
    snprintf(want, sizeof want, "%s/mapped.bin", dir);
    errno = 1234;
    ck_assert(prim_mapped_path((uintptr_t)p + 100, got, sizeof got));
    ck_assert_int_eq(errno, 1234);
    ck_assert_str_eq(got, want);
    /* The answer does not depend on where the process is now. */
    ck_assert_int_eq(chdir("/"), 0);
    ck_assert(prim_mapped_path((uintptr_t)p, got, sizeof got));
    ck_assert_str_eq(got, want);
}
END_TEST

/* Deeper than the 512-byte buffer maps is read through: a path that
 * crosses reads is still whole. */
START_TEST(a_path_longer_than_the_read_buffer_is_found_whole)
{
    make_dir();
    ck_assert_int_eq(chdir(dir), 0);
    char name[] = "a-directory-name-of-sixty-characters-to-make-a-long-path-0123";
    size_t depth = 0;
    for (; depth < 20; depth++) {
        ck_assert_int_eq(mkdir(name, 0700), 0);
        ck_assert_int_eq(chdir(name), 0);
    }
    char *p = map_new_file("long.bin");
    char want[PATH_MAX], got[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(want, sizeof want - 16));
    strcat(want, "/long.bin");
    ck_assert_uint_gt(strlen(want), 1200);
    ck_assert(prim_mapped_path((uintptr_t)p, got, sizeof got));
    ck_assert_str_eq(got, want);
    /* One byte short of the path and its NUL: refused, not cut. */
    ck_assert(!prim_mapped_path((uintptr_t)p, got, strlen(want)));
}
END_TEST

START_TEST(memory_that_is_no_file_has_no_path)
{
    char got[PATH_MAX];
    void *anonymous = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(anonymous, MAP_FAILED);
    ck_assert(!prim_mapped_path((uintptr_t)anonymous, got, sizeof got));
    uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    if (vdso != 0)
        ck_assert(!prim_mapped_path(vdso, got, sizeof got));
    ck_assert(!prim_mapped_path(0, got, sizeof got));
}
END_TEST

static Suite *prim_suite(void)
{
    Suite *s = suite_create("prim");
    TCase *tc = tcase_create("mapped_path");
    tcase_add_checked_fixture(tc, NULL, remove_dir);
    tcase_add_test(tc, a_file_mapped_by_a_relative_name_is_found_at_its_absolute_path);
    tcase_add_test(tc, a_path_longer_than_the_read_buffer_is_found_whole);
    tcase_add_test(tc, memory_that_is_no_file_has_no_path);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(prim_suite)
