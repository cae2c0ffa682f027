/* launch.c - how a traced process image reaches its collector: the first
 * traced image of a tree starts one (posix_spawn of ortho-collector, which
 * opens the database, binds an abstract unix socket and daemonizes before
 * its first process exits, so a zero exit status means "ready"); every
 * image, that one included, then registers its segment by sending the
 * memfd over that socket and waiting for a one-word ack (the collector's
 * pid). The socket's name travels to exec'd children in ORTHO_TRACE_SOCK.
 * Runs from the library constructor and from the fork-child hook: it uses
 * syscalls and fixed buffers only, never malloc, except setenv at start-up
 * (outside any allocator call, with tracing still off).
 *
 * Trust: the socket's name is visible to every user (/proc/net/unix), so
 * before sending anything the process checks that the listener runs as its
 * own user (SO_PEERCRED): a collector of another user would get to write
 * into this process's segment. The collector starts with no ORTHO_TRACE*
 * variable and no LD_PRELOAD, and programs that must never be traced (the
 * collector, ortho-run) say so with ORTHO_NEVER_TRACE_SYMBOL. */
#define _GNU_SOURCE
#include "launch.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prim.h"
#include "report.h"
#include "segment.h"

extern char **environ;

/* How every collector socket name this library makes begins: orthotope-PID-NS
 * (launch_collector), which launch_started_by reads back. */
#define LAUNCH_SOCK_PREFIX "orthotope-"

/* Copies src into dst (cap bytes, always NUL-terminated); false if cut. */
static bool launch_copy(char *dst, size_t cap, const char *src)
{
    size_t len = strlen(src);
    if (len >= cap)
        return false;
    memcpy(dst, src, len + 1);
    return true;
}

/* The directory of the file that holds this code (liborthotope.so), with
 * a trailing slash, in dir. */
static bool launch_library_dir(char *dir, size_t cap)
{
    Dl_info info;
    if (dladdr((const void *)launch_library_dir, &info) == 0 || info.dli_fname == NULL)
        return false;
    if (!launch_copy(dir, cap, info.dli_fname))
        return false;
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return launch_copy(dir, cap, "./");
    slash[1] = '\0';
    return true;
}

/* Defined (and exported) by the programs that must never be traced. */
extern const int ortho_never_trace __attribute__((weak, visibility("default")));

bool launch_never_trace(void)
{
    return &ortho_never_trace != NULL;
}

bool launch_find_collector(const char *configured, char *path, size_t cap)
{
    if (configured != NULL)
        return launch_copy(path, cap, configured);
    char dir[1024];
    if (!launch_library_dir(dir, sizeof dir))
        return false;
    /* The build tree keeps the collector next to the library; an install
     * puts it in libexec/orthotope beside lib/. */
    static const char *const candidates[] = {"ortho-collector", "../libexec/orthotope/ortho-collector",
                                             "../../libexec/orthotope/ortho-collector"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        size_t dlen = strlen(dir), clen = strlen(candidates[i]);
        if (dlen + clen + 1 > cap)
            continue;
        memcpy(path, dir, dlen);
        memcpy(path + dlen, candidates[i], clen + 1);
        if (access(path, X_OK) == 0)
            return true;
    }
    /* Report the install location: it is what a user can fix. */
    size_t dlen = strlen(dir), clen = strlen(candidates[1]);
    if (dlen + clen + 1 <= cap) {
        memcpy(path, dir, dlen);
        memcpy(path + dlen, candidates[1], clen + 1);
    }
    return false;
}

/* Whether an environment entry is kept for the collector: not LD_PRELOAD
 * (it must not run on the allocator it is tracing) and no ORTHO_TRACE*
 * (it must not trace itself, nor point children at itself) but for
 * ORTHO_TRACE_DEBUG_PATH, which is the collector's own option. */
static bool launch_keep_for_collector(const char *entry)
{
    if (strncmp(entry, "ORTHO_TRACE_DEBUG_PATH=", 23) == 0)
        return true;
    return strncmp(entry, "LD_PRELOAD=", 11) != 0 && strncmp(entry, "ORTHO_TRACE", 11) != 0;
}

/* environ without what launch_keep_for_collector drops, in memory of our
 * own. NULL if no memory. */
static char **launch_collector_env(size_t *bytes)
{
    size_t count = 0;
    for (char **e = environ; e != NULL && *e != NULL; e++)
        count++;
    *bytes = (count + 1) * sizeof(char *);
    char **env = prim_map(*bytes);
    if (env == NULL)
        return NULL;
    size_t n = 0;
    for (char **e = environ; e != NULL && *e != NULL; e++)
        if (launch_keep_for_collector(*e))
            env[n++] = *e;
    env[n] = NULL;
    return env;
}

/* Decimal text of value into buf (cap >= 21), through report.h's formatter. */
static const char *launch_u64(char *buf, uint64_t value)
{
    struct report_line text;
    report_begin(&text);
    report_u64(&text, value);
    memcpy(buf, text.text, text.len + 1);
    return buf;
}

void launch_report_off(const char *what, const char *subject, int err, const char *advice)
{
    struct report_line line;
    report_begin(&line);
    report_str(&line, "orthotope: tracing off: ");
    report_str(&line, what);
    if (subject != NULL)
        report_str(&line, subject);
    if (err != 0) {
        report_str(&line, " (");
        report_str(&line, strerror(err));
        report_str(&line, ")");
    }
    if (advice != NULL) {
        report_str(&line, "; ");
        report_str(&line, advice);
    }
    report_str(&line, "; the program runs untraced");
    report_emit(&line);
}

bool launch_collector(const struct launch_request *req, char *sock_name, size_t sock_cap)
{
    /* An abstract socket name unique to this start. */
    char pid_text[24], ns_text[24], mode_text[24], interval_text[24];
    launch_u64(pid_text, (uint64_t)getpid());
    launch_u64(ns_text, prim_now_ns());
    struct report_line name;
    report_begin(&name);
    report_str(&name, LAUNCH_SOCK_PREFIX);
    report_str(&name, pid_text);
    report_str(&name, "-");
    report_str(&name, ns_text);
    if (!launch_copy(sock_name, sock_cap, name.text))
        return false;
    launch_u64(mode_text, req->mode);
    launch_u64(interval_text, req->interval_ms);

    char *argv[] = {(char *)"ortho-collector", (char *)"--socket", sock_name,
                    (char *)"--db", (char *)req->db_path, (char *)"--mode", mode_text,
                    (char *)"--interval-ms", interval_text, (char *)"--root-pid", pid_text,
                    NULL};
    size_t env_bytes;
    char **env = launch_collector_env(&env_bytes);
    if (env == NULL)
        return false;
    pid_t child;
    int rc = posix_spawn(&child, req->collector_path, NULL, NULL, argv, env);
    prim_unmap(env, env_bytes);
    if (rc != 0) {
        launch_report_off("cannot start the trace collector ", req->collector_path, rc,
                          "set ORTHO_TRACE_COLLECTOR to its path");
        return false;
    }
    /* The collector's first process exits once the database is open and the
     * socket listens (0), or after printing why it cannot (non-zero). */
    int status = 0;
    pid_t got;
    do {
        got = waitpid(child, &status, 0);
    } while (got < 0 && errno == EINTR);
    if (got != child)
        return true; /* ECHILD: SIGCHLD ignored; registration will tell */
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFEXITED(status) && WEXITSTATUS(status) == SEGMENT_COLLECTOR_REPORTED)
        return false; /* it printed its one line */
    /* Died without a word (a crash, or not our collector): say so here. */
    char code_text[24];
    struct report_line advice;
    report_begin(&advice);
    report_str(&advice, WIFSIGNALED(status) ? "it was killed by signal " : "it exited with status ");
    report_str(&advice, launch_u64(code_text, (uint64_t)(WIFSIGNALED(status) ? WTERMSIG(status)
                                                                           : WEXITSTATUS(status))));
    report_str(&advice, " before it started; set ORTHO_TRACE_COLLECTOR to ortho-collector's path");
    launch_report_off("the trace collector failed to start: ", req->collector_path, 0, advice.text);
    return false;
}

bool launch_started_by(const char *sock_name, uint32_t pid)
{
    if (strncmp(sock_name, LAUNCH_SOCK_PREFIX, sizeof LAUNCH_SOCK_PREFIX - 1) != 0)
        return false;
    const char *at = sock_name + sizeof LAUNCH_SOCK_PREFIX - 1;
    uint64_t value = 0;
    size_t digits = 0;
    for (; *at >= '0' && *at <= '9' && digits < 10; at++, digits++)
        value = value * 10 + (uint64_t)(*at - '0');
    return digits > 0 && *at == '-' && value == pid;
}

int launch_register_send(const char *sock_name, int memfd, uint64_t seg_bytes,
                         struct launch_pending *out)
{
    out->fd = -1;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(sock_name);
    if (len + 1 > sizeof addr.sun_path) {
        close(fd);
        return ENAMETOOLONG;
    }
    memcpy(addr.sun_path + 1, sock_name, len); /* sun_path[0] = 0: abstract */
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
    struct timeval timeout = {.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    int rc;
    do {
        rc = connect(fd, (struct sockaddr *)&addr, addr_len);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int err = errno;
        close(fd);
        return err;
    }
    /* Anyone can listen under any free abstract name: the collector must be
     * of this process's own (effective) user before it gets the segment. */
    struct ucred peer;
    socklen_t peer_len = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0 ||
        peer.uid != geteuid()) {
        close(fd);
        return EPERM;
    }
    ssize_t sent = segment_hello_send(fd, (uint32_t)getpid(), seg_bytes, memfd);
    if (sent != (ssize_t)sizeof(segment_hello_t)) {
        int err = sent < 0 ? errno : EPROTO;
        close(fd);
        return err;
    }
    /* Kept until the answer is read, possibly much later: moved above the
     * descriptors a program usually uses, so that one reusing low numbers
     * never meets it. Which file it is is kept too (launch_register_answer
     * checks it): the program may still close it and open another. */
    int high = fcntl(fd, F_DUPFD_CLOEXEC, LAUNCH_PENDING_FD_MIN);
    if (high >= 0) {
        close(fd);
        fd = high;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return err;
    }
    out->fd = fd;
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    return 0;
}

/* Whether p's descriptor is still the socket it sent on. */
static bool launch_pending_ours(const struct launch_pending *p)
{
    struct stat st;
    return p->fd >= 0 && fstat(p->fd, &st) == 0 && st.st_dev == p->dev && st.st_ino == p->ino;
}

int launch_register_answer(struct launch_pending *p, bool wait, uint32_t *collector_pid)
{
    if (!launch_pending_ours(p)) {
        p->fd = -1;
        return EBADF;
    }
    uint32_t ack = 0;
    ssize_t got;
    do {
        got = recv(p->fd, &ack, sizeof ack, wait ? 0 : MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    if (got < 0 && !wait && (errno == EAGAIN || errno == EWOULDBLOCK))
        return EAGAIN;
    int err = got == (ssize_t)sizeof ack && ack != 0 ? 0 : (got < 0 ? errno : ECONNREFUSED);
    close(p->fd);
    p->fd = -1;
    if (err == 0)
        *collector_pid = ack;
    return err;
}

void launch_register_forget(struct launch_pending *p)
{
    if (launch_pending_ours(p))
        close(p->fd);
    p->fd = -1;
}

int launch_register(const char *sock_name, int memfd, uint64_t seg_bytes, uint32_t *collector_pid)
{
    struct launch_pending p;
    int err = launch_register_send(sock_name, memfd, seg_bytes, &p);
    return err != 0 ? err : launch_register_answer(&p, true, collector_pid);
}
