/* check_fds.h - counting this test process's own file descriptors on a
 * file, from /proc/self/fd: how the collector suites see that a module is
 * open once however many images map it, and closed when nothing needs it. */
#ifndef ORTHO_CHECK_FDS_H
#define ORTHO_CHECK_FDS_H

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Descriptors this process holds open on the file at path. */
static inline unsigned check_fds_open_on(const char *path)
{
    char want[PATH_MAX], link[PATH_MAX], have[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(path, want));
    DIR *dir = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(dir);
    unsigned count = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, have, sizeof have - 1);
        if (n <= 0)
            continue;
        have[n] = '\0';
        count += strcmp(have, want) == 0;
    }
    closedir(dir);
    return count;
}

#endif
