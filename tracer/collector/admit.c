/* admit.c - see admit.h. The checks run in the order that costs an
 * attacker the most and the collector the least: credentials at accept
 * (before a byte is read), then the message, then the memfd's type, size
 * and seals (before it is mapped), then one copy of its header (the live
 * header is never read again here). A refused memfd is closed unmapped. */
#define _GNU_SOURCE
#include "admit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define ADMIT_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)
#define ADMIT_MAX_SEGMENT_BYTES ((uint64_t)1 << 40) /* far above 256 rings of 256 MiB */

void admit_init(struct admit *a, int listen_fd, uint32_t uid, struct health *health)
{
    memset(a, 0, sizeof *a);
    a->listen_fd = listen_fd;
    a->uid = uid;
    a->health = health;
}

static void admit_refuse(struct admit *a, int fd, enum health_kind kind, uint32_t uid,
                         uint32_t pid, const char *detail)
{
    health_note(a->health, kind, uid, pid, 0, detail);
    close(fd);
}

void admit_accept(struct admit *a, uint64_t now_ns)
{
    /* With every pending place taken, the rest wait in the listen backlog
     * (their connect waits too, once it is full): a fork storm of a
     * thousand children registers at the collector's pace, all of it. */
    a->backlog_empty = false;
    for (unsigned i = 0; i < ADMIT_ACCEPTS_PER_PASS && a->pending_count < ADMIT_PENDING_MAX; i++) {
        int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            a->backlog_empty = errno == EAGAIN || errno == EWOULDBLOCK;
            return;
        }
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
            admit_refuse(a, fd, HEALTH_BAD_HELLO, UINT32_MAX, 0, "its credentials cannot be read");
            continue;
        }
        if (cred.uid != a->uid) {
            char detail[96];
            snprintf(detail, sizeof detail, "it runs as another user than the collector (uid %u)",
                     a->uid);
            admit_refuse(a, fd, HEALTH_OTHER_USER, cred.uid, (uint32_t)cred.pid, detail);
            continue;
        }
        a->pending[a->pending_count++] = (struct admit_pending){
            .fd = fd, .pid = (uint32_t)cred.pid, .uid = cred.uid,
            .deadline_ns = now_ns + ADMIT_HELLO_NS};
    }
}

/* Receives p's hello and memfd without waiting. 1: got them (*memfd may be
 * -1 if none came); 0: nothing yet; -1: the peer closed or sent garbage. */
static int admit_receive(const struct admit_pending *p, segment_hello_t *hello, int *memfd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = hello, .iov_len = sizeof *hello};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    *memfd = -1;
    ssize_t got;
    do {
        got = recvmsg(p->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    /* Any descriptor that came is ours to close, even in a bad message. */
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
            if (*memfd < 0)
                *memfd = fd;
            else
                close(fd);
        }
    }
    if (got != (ssize_t)sizeof *hello || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
        if (*memfd >= 0)
            close(*memfd);
        *memfd = -1;
        return -1;
    }
    return 1;
}

/* Checks p's registration and maps its segment into out. false: refused
 * (counted; memfd closed, nothing mapped). */
static bool admit_check(struct admit *a, const struct admit_pending *p, const segment_hello_t *hello,
                        int memfd, struct admitted *out)
{
    char detail[160];
    enum health_kind kind = HEALTH_BAD_HELLO;
    struct stat sb;
    int seals;
    if (memfd < 0 || hello->magic != SEGMENT_MAGIC) {
        snprintf(detail, sizeof detail, "it did not send a trace registration");
    } else if (hello->version != SEGMENT_VERSION) {
        snprintf(detail, sizeof detail,
                 "it registers segments of version %u, this collector reads version %u (two "
                 "orthotope installations?)",
                 hello->version, SEGMENT_VERSION);
    } else if (hello->pid != p->pid) {
        kind = HEALTH_FORGED_PID;
        snprintf(detail, sizeof detail, "it registered in the name of process %u", hello->pid);
    } else if (fstat(memfd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
               (uint64_t)sb.st_size != hello->bytes || hello->bytes < sizeof(segment_t) ||
               hello->bytes > ADMIT_MAX_SEGMENT_BYTES) {
        kind = HEALTH_BAD_SEGMENT;
        snprintf(detail, sizeof detail, "its segment is not a file of the %llu bytes it announced",
                 (unsigned long long)hello->bytes);
    } else if ((seals = fcntl(memfd, F_GET_SEALS)) < 0 || (seals & ADMIT_SEALS) != ADMIT_SEALS) {
        kind = HEALTH_UNSEALED;
        snprintf(detail, sizeof detail,
                 "its segment is not sealed against shrinking and growing (a shrink would "
                 "crash the collector)");
    } else {
        void *mem = mmap(NULL, hello->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
        if (mem == MAP_FAILED) {
            kind = HEALTH_BAD_SEGMENT;
            snprintf(detail, sizeof detail, "its segment cannot be mapped read-write (%s)",
                     strerror(errno));
        } else {
            /* One copy, checked; the live header may change from here on. */
            memcpy(&out->head, mem, sizeof out->head);
            if (!segment_geometry_from(&out->head, hello->bytes, &out->geo)) {
                kind = HEALTH_BAD_SEGMENT;
                snprintf(detail, sizeof detail, "its segment's header does not describe its memory");
            } else if (out->head.pid != p->pid) {
                kind = HEALTH_FORGED_PID;
                snprintf(detail, sizeof detail, "its segment names process %u", out->head.pid);
            } else {
                close(memfd);
                out->fd = p->fd;
                out->pid = p->pid;
                out->seg = mem;
                return true;
            }
            munmap(mem, hello->bytes);
        }
    }
    if (memfd >= 0)
        close(memfd);
    admit_refuse(a, p->fd, kind, p->uid, p->pid, detail);
    return false;
}

bool admit_next(struct admit *a, uint64_t now_ns, struct admitted *out)
{
    for (size_t i = 0; i < a->pending_count;) {
        struct admit_pending p = a->pending[i];
        segment_hello_t hello;
        int memfd;
        int got = admit_receive(&p, &hello, &memfd);
        if (got == 0 && now_ns < p.deadline_ns) {
            i++;
            continue;
        }
        /* p leaves the list either way; the rest keep their order, which
         * is the order the processes connected in: a fork child's
         * registration must come before that of the image it exec'd
         * into, which finds it by pid (with registrations not waited for,
         * both can wait here at once). */
        memmove(&a->pending[i], &a->pending[i + 1],
                (a->pending_count - i - 1) * sizeof a->pending[0]);
        a->pending_count--;
        if (got == 0) {
            admit_refuse(a, p.fd, HEALTH_SILENT, p.uid, p.pid,
                         "it sent no registration within a second");
        } else if (got < 0) {
            admit_refuse(a, p.fd, HEALTH_BAD_HELLO, p.uid, p.pid,
                         "it closed the connection or sent a malformed registration");
        } else if (admit_check(a, &p, &hello, memfd, out)) {
            return true;
        }
    }
    return false;
}

bool admit_caught_up(const struct admit *a)
{
    return a->backlog_empty && a->pending_count == 0;
}

void admit_reply(struct admitted *r, uint32_t ack)
{
    /* Four bytes into an empty socket buffer: never blocks, and a peer that
     * went away costs nothing (MSG_NOSIGNAL). */
    send(r->fd, &ack, sizeof ack, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(r->fd);
    r->fd = -1;
    if (ack == 0 && r->seg != NULL) {
        /* Said in the segment too: a process that lost its socket before
         * reading this answer (it closed every descriptor) reads it there
         * instead of waiting for a pid that never comes. */
        atomic_store_explicit(&r->seg->abandoned, 1, memory_order_release);
        munmap(r->seg, r->geo.total_bytes);
        r->seg = NULL;
    }
}

size_t admit_pollfds(const struct admit *a, struct pollfd *fds, size_t cap)
{
    size_t n = 0;
    /* Full: the listener would wake every wait for connections left in
     * the backlog on purpose; a pending one's hello or deadline frees a place. */
    if (n < cap && a->pending_count < ADMIT_PENDING_MAX)
        fds[n++] = (struct pollfd){.fd = a->listen_fd, .events = POLLIN};
    for (size_t i = 0; i < a->pending_count && n < cap; i++)
        fds[n++] = (struct pollfd){.fd = a->pending[i].fd, .events = POLLIN};
    return n;
}

void admit_close(struct admit *a)
{
    for (size_t i = 0; i < a->pending_count; i++)
        close(a->pending[i].fd);
    a->pending_count = 0;
}
