/* sec_probe.c - what a hostile or broken local process does to tracing,
 * driven by security.sh. It speaks the collector's registration protocol
 * itself (segment.h), so it can say what the real library never would:
 *
 *   idle SOCK N SECONDS      opens N connections to the collector and sends
 *                            nothing; reopens any the collector closes. At
 *                            the end prints "idle: N opened, M closed by
 *                            the collector".
 *   register SOCK [--pid P] [--via root|fork|exec] [--unsealed] [--shrink]
 *            [--hold SECONDS] [--unterminated] [--no-answer]
 *                            registers a well-formed segment (sealed unless
 *                            --unsealed) claiming to be process P (default:
 *                            itself); prints "ack PID" or "refused"; with
 *                            --shrink then truncates the memfd to nothing
 *                            and prints "shrunk" or "shrink refused";
 *                            stays alive --hold seconds (default 0).
 *                            --unterminated fills the program and
 *                            argument fields with bytes and no NUL;
 *                            --no-answer leaves at once after sending,
 *                            printing "sent" (the process is gone before
 *                            the collector reads it).
 *   listen NAME SECONDS      plays a collector under the abstract socket
 *                            NAME for SECONDS: takes registrations, acks
 *                            them with its own pid, and prints "listener:
 *                            N connections, M segments received".
 *   sizes SIZE COUNT PAUSE_MS
 *                            traced work with known counts: prints "sock
 *                            NAME pid PID" (its collector's socket, from
 *                            ORTHO_TRACE_SOCK), then COUNT malloc/free
 *                            pairs of SIZE bytes, half before and half
 *                            after a pause of PAUSE_MS.
 *   extend                   traced: registers four more segments of its
 *                            own with its collector (ORTHO_TRACE_SOCK):
 *                            index 1 with another start time, index 3,
 *                            index 1 as its image states it, and index 1
 *                            again; prints "ack PID" or "refused" for each
 *                            on one line. Untraced: index 1 once.
 *   scribble REGION SIZE COUNT
 *                            traced: COUNT pairs of SIZE bytes, then
 *                            overwrites part of its own trace segment
 *                            (REGION: identity, header, ring, free), then COUNT
 *                            pairs more. The bytes come from a fixed seed.
 *
 * Exit status 0 unless the probe itself could not do what it was asked
 * (bad arguments, no segment found): 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "segment.h"

#define PROBE_SLOTS 4u
#define PROBE_RING_CAPACITY 512u
#define PROBE_MAX_IDLE 64

static void *volatile probe_sink;

static _Noreturn void probe_usage(const char *what)
{
    fprintf(stderr, "sec_probe: %s\n", what);
    exit(2);
}

/* Connects to the collector's abstract socket; -1 on failure. */
static int probe_connect(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    if (len + 1 > sizeof addr.sun_path) {
        close(fd);
        return -1;
    }
    memcpy(addr.sun_path + 1, name, len);
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
    if (connect(fd, (struct sockaddr *)&addr, addr_len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static uint64_t probe_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int probe_idle(const char *sock, int count, int seconds)
{
    if (count < 1 || count > PROBE_MAX_IDLE)
        probe_usage("idle: N must be 1 to 64");
    int fds[PROBE_MAX_IDLE];
    unsigned opened = 0, closed = 0;
    for (int i = 0; i < count; i++) {
        fds[i] = probe_connect(sock);
        opened += fds[i] >= 0;
    }
    uint64_t end = probe_now_ns() + (uint64_t)seconds * 1000000000ull;
    while (probe_now_ns() < end) {
        for (int i = 0; i < count; i++) {
            if (fds[i] < 0) {
                fds[i] = probe_connect(sock);
                opened += fds[i] >= 0;
                continue;
            }
            struct pollfd p = {.fd = fds[i], .events = POLLIN};
            if (poll(&p, 1, 0) == 1) { /* the collector closed it (or answered) */
                close(fds[i]);
                fds[i] = -1;
                closed++;
            }
        }
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
    }
    printf("idle: %u opened, %u closed by the collector\n", opened, closed);
    return 0;
}

static int probe_listen(const char *name, int seconds)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    if (fd < 0 || len + 1 > sizeof addr.sun_path)
        probe_usage("listen: bad name");
    memcpy(addr.sun_path + 1, name, len);
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
    if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0 || listen(fd, 8) != 0)
        probe_usage("listen: cannot listen");
    unsigned connections = 0, segments = 0;
    uint64_t end = probe_now_ns() + (uint64_t)seconds * 1000000000ull;
    while (probe_now_ns() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) != 1)
            continue;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        connections++;
        struct timeval timeout = {.tv_sec = 2};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        segment_hello_t hello;
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } control;
        struct iovec iov = {.iov_base = &hello, .iov_len = sizeof hello};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof control.buf};
        if (recvmsg(c, &msg, MSG_CMSG_CLOEXEC) > 0) {
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
                segments += cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS;
            uint32_t ack = (uint32_t)getpid();
            send(c, &ack, sizeof ack, MSG_NOSIGNAL);
        }
        close(c);
    }
    printf("listener: %u connections, %u segments received\n", connections, segments);
    return 0;
}

/* A segment laid out as the library lays one out, in a memfd: index 0,
 * starting now. */
static int probe_make_segment(uint32_t pid, uint32_t via, bool sealed, size_t *bytes_out);

/* probe_make_segment with another index and start time. */
static bool probe_unterminated; /* register --unterminated */

static int probe_make_segment_at(uint32_t pid, uint32_t via, bool sealed, uint32_t index,
                                 uint64_t start_ns, size_t *bytes_out)
{
    size_t slot = segment_slot_bytes(PROBE_RING_CAPACITY);
    size_t bytes = SEGMENT_HEADER_BYTES + PROBE_SLOTS * slot;
    int fd = memfd_create("orthotope-trace", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0)
        probe_usage("cannot make a memfd");
    segment_t *seg = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (seg == MAP_FAILED)
        probe_usage("cannot map the memfd");
    seg->magic = SEGMENT_MAGIC;
    seg->version = SEGMENT_VERSION;
    seg->header_bytes = SEGMENT_HEADER_BYTES;
    seg->slot_count = PROBE_SLOTS;
    seg->slot_bytes = (uint32_t)slot;
    seg->ring_offset = (uint32_t)(slot - ring_bytes_for(PROBE_RING_CAPACITY));
    seg->ring_capacity = PROBE_RING_CAPACITY;
    seg->total_bytes = bytes;
    seg->pid = pid;
    seg->ppid = (uint32_t)getppid();
    seg->via = via;
    seg->mode = SEGMENT_MODE_SUMMARY;
    class_table_orthotope(&seg->classes); /* a valid table: only the seal is under test */
    seg->index = index;
    seg->start_ns = start_ns;
    if (probe_unterminated) {
        memset(seg->exe, 'X', sizeof seg->exe);
        memset(seg->cmdline, 'Y', sizeof seg->cmdline);
    }
    munmap(seg, bytes);
    if (sealed)
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    *bytes_out = bytes;
    return fd;
}

static int probe_make_segment(uint32_t pid, uint32_t via, bool sealed, size_t *bytes_out)
{
    return probe_make_segment_at(pid, via, sealed, 0, probe_now_ns(), bytes_out);
}

/* Sends memfd (bytes long) as pid's registration to sock; the ack, 0 if
 * refused. */
static uint32_t probe_send(const char *sock, uint32_t pid, int memfd, size_t bytes)
{
    int fd = probe_connect(sock);
    if (fd < 0)
        probe_usage("register: cannot connect");
    uint32_t ack = 0;
    struct timeval timeout = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (segment_hello_send(fd, pid, bytes, memfd) != (ssize_t)sizeof(segment_hello_t) ||
        recv(fd, &ack, sizeof ack, 0) != (ssize_t)sizeof ack)
        ack = 0;
    close(fd);
    return ack;
}

static int probe_register(const char *sock, int argc, char **argv)
{
    uint32_t pid = (uint32_t)getpid(), via = SEGMENT_VIA_EXEC;
    bool sealed = true, shrink = false, no_answer = false;
    int hold = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--pid") == 0 && i + 1 < argc)
            pid = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--via") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            via = strcmp(v, "root") == 0 ? SEGMENT_VIA_ROOT
                  : strcmp(v, "fork") == 0 ? SEGMENT_VIA_FORK
                                           : SEGMENT_VIA_EXEC;
        } else if (strcmp(argv[i], "--unsealed") == 0)
            sealed = false;
        else if (strcmp(argv[i], "--shrink") == 0)
            shrink = true;
        else if (strcmp(argv[i], "--hold") == 0 && i + 1 < argc)
            hold = atoi(argv[++i]);
        else if (strcmp(argv[i], "--unterminated") == 0)
            probe_unterminated = true;
        else if (strcmp(argv[i], "--no-answer") == 0)
            no_answer = true;
        else
            probe_usage("register: unknown argument");
    }
    size_t bytes;
    int memfd = probe_make_segment(pid, via, sealed, &bytes);
    if (no_answer) {
        int fd = probe_connect(sock);
        if (fd < 0 || segment_hello_send(fd, pid, bytes, memfd) != (ssize_t)sizeof(segment_hello_t))
            probe_usage("register: cannot send");
        printf("sent\n");
        return 0;
    }
    uint32_t ack = probe_send(sock, pid, memfd, bytes);
    if (ack == 0)
        printf("refused\n");
    else
        printf("ack %u\n", ack);
    fflush(stdout);
    if (shrink) {
        printf(ftruncate(memfd, 0) == 0 ? "shrunk\n" : "shrink refused\n");
        fflush(stdout);
    }
    if (hold > 0)
        sleep((unsigned)hold);
    return 0;
}

static segment_t *probe_own_segment(void);

static int probe_extend(void)
{
    const char *sock = getenv("ORTHO_TRACE_SOCK");
    if (sock == NULL || strcmp(sock, "off") == 0)
        probe_usage("extend: not traced (ORTHO_TRACE_SOCK unset)");
    segment_t *own = probe_own_segment();
    uint32_t pid = (uint32_t)getpid();
    struct {
        uint32_t index;
        uint64_t start_ns;
    } tries[4] = {{1, 0}, {3, 0}, {1, 0}, {1, 0}};
    tries[0].start_ns = own != NULL ? own->start_ns + 1 : 1;
    for (int i = 1; i < 4; i++)
        tries[i].start_ns = own != NULL ? own->start_ns : 0;
    int count = own != NULL ? 4 : 1;
    for (int i = 0; i < count; i++) {
        size_t bytes;
        int memfd = probe_make_segment_at(pid, SEGMENT_VIA_EXEC, true, tries[i].index,
                                          tries[i].start_ns, &bytes);
        uint32_t ack = probe_send(sock, pid, memfd, bytes);
        close(memfd);
        if (ack == 0)
            printf("%srefused", i ? " " : "");
        else
            printf("%sack %u", i ? " " : "", ack);
    }
    printf("\n");
    return 0;
}

static void probe_pairs(size_t size, long count)
{
    for (long i = 0; i < count; i++) {
        probe_sink = malloc(size);
        free(probe_sink);
    }
}

static int probe_sizes(size_t size, long count, long pause_ms)
{
    const char *sock = getenv("ORTHO_TRACE_SOCK");
    printf("sock %s pid %d\n", sock != NULL ? sock : "-", (int)getpid());
    fflush(stdout);
    probe_pairs(size, count / 2);
    struct timespec pause = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    probe_pairs(size, count - count / 2);
    printf("sizes done\n");
    return 0;
}

/* This process's own trace segment, found in its mappings. */
static segment_t *probe_own_segment(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL)
        return NULL;
    char line[512];
    segment_t *found = NULL;
    while (found == NULL && fgets(line, sizeof line, maps) != NULL) {
        unsigned long lo;
        if (strstr(line, "memfd:orthotope-trace") != NULL && sscanf(line, "%lx-", &lo) == 1)
            found = (segment_t *)lo;
    }
    fclose(maps);
    return found;
}

static void probe_scramble(void *at, size_t bytes, uint64_t seed)
{
    uint8_t *p = at;
    uint64_t x = seed;
    for (size_t i = 0; i < bytes; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* A thread that allocates once (claiming a ring of its own) and then waits
 * until the process ends: its ring is the one the "ring" region scribbles,
 * so this process's own pushes never read the scribbled header. */
static int probe_gate[2];
static void *probe_ring_owner(void *arg)
{
    (void)arg;
    probe_pairs(4321, 3);
    char c = 1;
    if (write(probe_gate[1], &c, 1) != 1)
        return NULL;
    for (;;)
        pause();
    return NULL;
}

static int probe_scribble(const char *region, size_t size, long count)
{
    probe_pairs(size, count);
    segment_t *seg = probe_own_segment();
    if (seg == NULL)
        probe_usage("scribble: no trace segment in this process (run it traced)");
    /* The process does not wait for its registration's answer; what is
     * scribbled here is a segment the collector already reads (it writes
     * its pid there once the image is registered). */
    for (int i = 0; i < 10000 && atomic_load(&seg->collector_pid) == 0; i++)
        usleep(1000);
    if (atomic_load(&seg->collector_pid) == 0)
        probe_usage("scribble: the collector never registered this process");
    if (strcmp(region, "identity") == 0) {
        /* Geometry and identity: slot sizes, ring offset, counts, pid. */
        probe_scramble(seg, offsetof(segment_t, pad0), 0x5eed1);
    } else if (strcmp(region, "header") == 0) {
        probe_scramble(seg, SEGMENT_HEADER_BYTES, 0x5eed2);
    } else if (strcmp(region, "ring") == 0 || strcmp(region, "free") == 0) {
        pthread_t t;
        if (pipe(probe_gate) != 0 || pthread_create(&t, NULL, probe_ring_owner, NULL) != 0)
            probe_usage("scribble: cannot start the ring's thread");
        char c;
        if (read(probe_gate[0], &c, 1) != 1)
            probe_usage("scribble: the ring's thread did not start");
        /* The second slot is the thread's: its ring header scrambled, or
         * (free) only its state set to FREE, as if nobody produced there. */
        char *slot = (char *)seg + seg->header_bytes + seg->slot_bytes;
        ring_t *ring = (ring_t *)(slot + seg->ring_offset);
        struct timespec settle = {0, 200000000}; /* the collector has seen the ring by then */
        nanosleep(&settle, NULL);
        if (region[0] == 'r')
            probe_scramble(ring, sizeof(ring_t), 0x5eed3);
        else
            atomic_store(&ring->state, RING_STATE_FREE);
    } else {
        probe_usage("scribble: REGION is identity, header, ring or free");
    }
    probe_pairs(size, count);
    printf("scribbled %s\n", region);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "idle") == 0)
        return probe_idle(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc == 4 && strcmp(argv[1], "listen") == 0)
        return probe_listen(argv[2], atoi(argv[3]));
    if (argc >= 3 && strcmp(argv[1], "register") == 0)
        return probe_register(argv[2], argc - 3, argv + 3);
    if (argc == 2 && strcmp(argv[1], "extend") == 0)
        return probe_extend();
    if (argc == 5 && strcmp(argv[1], "sizes") == 0)
        return probe_sizes((size_t)atol(argv[2]), atol(argv[3]), atol(argv[4]));
    if (argc == 5 && strcmp(argv[1], "scribble") == 0)
        return probe_scribble(argv[2], (size_t)atol(argv[3]), atol(argv[4]));
    probe_usage("usage: sec_probe idle|listen|register|sizes|scribble ... (see sec_probe.c)");
}
