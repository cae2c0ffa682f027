/* stderr_capture.h - lets a unit test read what the code under test wrote to
 * stderr: fd 2 is pointed at a pipe between capture_begin and capture_end.
 * Shared by the suites that check diagnostic lines (options, report). */
#ifndef ORTHO_STDERR_CAPTURE_H
#define ORTHO_STDERR_CAPTURE_H

#include <check.h>
#include <stddef.h>
#include <unistd.h>

struct capture {
    int saved_fd; /* the real stderr, restored by capture_end */
    int read_fd;  /* read end of the pipe fd 2 points at meanwhile */
};

static inline void capture_begin(struct capture *c)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    c->saved_fd = dup(STDERR_FILENO);
    ck_assert_int_ge(c->saved_fd, 0);
    ck_assert_int_ge(dup2(fds[1], STDERR_FILENO), 0);
    close(fds[1]);
    c->read_fd = fds[0];
}

/* Restores stderr and returns what was written meanwhile (NUL-terminated,
 * at most size - 1 bytes). Diagnostics are far below the pipe's capacity. */
static inline size_t capture_end(struct capture *c, char *out, size_t size)
{
    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(c->read_fd, out + len, size - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == size - 1)
            break;
    }
    close(c->read_fd);
    out[len] = '\0';
    return len;
}

static inline unsigned count_lines(const char *text)
{
    unsigned lines = 0;
    for (; *text != '\0'; text++)
        lines += *text == '\n';
    return lines;
}

#endif
