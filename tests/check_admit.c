/* check_admit.c - who may hand the collector a segment (admit.c), on a real
 * listening socket with a unique abstract name: a well-formed sealed
 * registration is admitted with its geometry copied once; a registration
 * in another process's name, an unsealed memfd, a header that does not
 * describe its memory and a connection that sends nothing are refused and
 * counted (health.h) without the collector ever waiting for the peer.
 * (Another user's connection needs a second user: tests/integration/
 * security.sh.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "admit.h"
#include "check_support.h"
#include "health.h"
#include "prim.h"
#include "segment.h"

#define CAPACITY 512u
#define SLOTS 2u

struct fixture {
    int listen_fd;
    struct sockaddr_un addr;
    socklen_t addr_len;
    struct health health;
    struct admit admit;
};

static void fixture_open(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(f->listen_fd, 0);
    f->addr.sun_family = AF_UNIX;
    int len = snprintf(f->addr.sun_path + 1, sizeof f->addr.sun_path - 1, "check-admit-%d-%llu",
                       (int)getpid(), (unsigned long long)prim_now_ns());
    f->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
    ck_assert_int_eq(bind(f->listen_fd, (struct sockaddr *)&f->addr, f->addr_len), 0);
    ck_assert_int_eq(listen(f->listen_fd, 8), 0);
    admit_init(&f->admit, f->listen_fd, (uint32_t)geteuid(), &f->health);
}

static void fixture_close(struct fixture *f)
{
    admit_close(&f->admit);
    close(f->listen_fd);
    health_free(&f->health);
}

static int fixture_connect(struct fixture *f)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&f->addr, f->addr_len), 0);
    return fd;
}

/* memfd's segment mapped shared, as the process and the collector see it. */
static segment_t *map_shared(int memfd, size_t bytes)
{
    segment_t *seg = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    ck_assert_ptr_ne(seg, MAP_FAILED);
    return seg;
}

/* A memfd holding a segment as the library makes one, for pid; sealed or
 * not. *bytes_out: its size. */
static int make_segment(uint32_t pid, bool sealed, size_t *bytes_out)
{
    size_t slot = segment_slot_bytes(CAPACITY);
    size_t bytes = SEGMENT_HEADER_BYTES + SLOTS * slot;
    int fd = memfd_create("check-admit", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)bytes), 0);
    segment_t *seg = map_shared(fd, bytes);
    seg->magic = SEGMENT_MAGIC;
    seg->version = SEGMENT_VERSION;
    seg->header_bytes = SEGMENT_HEADER_BYTES;
    seg->slot_count = SLOTS;
    seg->slot_bytes = (uint32_t)slot;
    seg->ring_offset = (uint32_t)(slot - ring_bytes_for(CAPACITY));
    seg->ring_capacity = CAPACITY;
    seg->total_bytes = bytes;
    seg->pid = pid;
    munmap(seg, bytes);
    if (sealed)
        ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    *bytes_out = bytes;
    return fd;
}

/* Sends a hello naming pid with memfd over fd. */
static void send_hello(int fd, uint32_t pid, uint64_t bytes, int memfd)
{
    ck_assert_int_eq(segment_hello_send(fd, pid, bytes, memfd), (ssize_t)sizeof(segment_hello_t));
}

/* Connects to f's collector and sends the hello for memfd as `pid`'s
 * segment of `bytes`; the connection. */
static int fixture_register(struct fixture *f, uint32_t pid, uint64_t bytes, int memfd)
{
    int fd = fixture_connect(f);
    send_hello(fd, pid, bytes, memfd);
    return fd;
}

/* The count of kind in f's health, 0 if never noted. */
static uint64_t noted(const struct fixture *f, enum health_kind kind)
{
    for (size_t i = 0; i < f->health.count; i++)
        if (f->health.events[i].kind == kind)
            return f->health.events[i].count;
    return 0;
}

/* Accepts and reads what was sent; true if a registration was admitted. */
static bool admit_one(struct fixture *f, uint64_t now, struct admitted *out)
{
    admit_accept(&f->admit, now);
    return admit_next(&f->admit, now, out);
}

START_TEST(a_sealed_registration_of_the_sender_itself_is_admitted_with_its_geometry_copied)
{
    struct fixture f;
    fixture_open(&f);
    size_t bytes;
    int memfd = make_segment((uint32_t)getpid(), true, &bytes);
    int fd = fixture_register(&f, (uint32_t)getpid(), bytes, memfd);
    struct admitted r;
    ck_assert(admit_one(&f, prim_now_ns(), &r));
    ck_assert_uint_eq(r.pid, (uint32_t)getpid());
    ck_assert_uint_eq(r.geo.slot_count, SLOTS);
    ck_assert_uint_eq(r.geo.ring_capacity, CAPACITY);
    ck_assert_uint_eq(r.geo.total_bytes, bytes);
    /* The process writes its header later: the copy does not follow. */
    segment_t *live = map_shared(memfd, bytes);
    live->slot_bytes = 0xffffffffu;
    live->slot_count = 65536;
    ck_assert_uint_eq(r.head.slot_count, SLOTS);
    ck_assert_uint_eq(r.geo.slot_bytes, segment_slot_bytes(CAPACITY));
    ck_assert_uint_eq(r.seg->slot_bytes, 0xffffffffu); /* the same shared memory */
    admit_reply(&r, 4242);
    uint32_t ack = 0;
    ck_assert_int_eq(recv(fd, &ack, sizeof ack, 0), (ssize_t)sizeof ack);
    ck_assert_uint_eq(ack, 4242);
    ck_assert_uint_eq(f.health.count, 0);
    munmap(r.seg, bytes);
    munmap(live, bytes);
    close(memfd);
    close(fd);
    fixture_close(&f);
}
END_TEST

START_TEST(registrations_waiting_together_are_admitted_in_the_order_they_connected)
{
    struct fixture f;
    fixture_open(&f);
    enum { N = 5 };
    int fds[N], memfds[N];
    size_t bytes = 0;
    for (int k = 0; k < N; k++) {
        memfds[k] = make_segment((uint32_t)getpid(), true, &bytes);
        segment_t *seg = map_shared(memfds[k], bytes);
        seg->start_ns = 1000 + (uint64_t)k; /* which one it is */
        munmap(seg, bytes);
        fds[k] = fixture_register(&f, (uint32_t)getpid(), bytes, memfds[k]);
    }
    uint64_t now = prim_now_ns();
    admit_accept(&f.admit, now); /* all five wait at once */
    for (int k = 0; k < N; k++) {
        struct admitted r;
        ck_assert(admit_next(&f.admit, now, &r));
        ck_assert_uint_eq(r.head.start_ns, 1000 + (uint64_t)k);
        admit_reply(&r, 7);
        munmap(r.seg, bytes);
    }
    for (int k = 0; k < N; k++) {
        close(fds[k]);
        close(memfds[k]);
    }
    fixture_close(&f);
}
END_TEST

START_TEST(a_refused_registration_says_so_in_the_segment_as_well_as_on_the_socket)
{
    struct fixture f;
    fixture_open(&f);
    size_t bytes;
    int memfd = make_segment((uint32_t)getpid(), true, &bytes);
    int fd = fixture_register(&f, (uint32_t)getpid(), bytes, memfd);
    struct admitted r;
    ck_assert(admit_one(&f, prim_now_ns(), &r));
    segment_t *live = map_shared(memfd, bytes);
    ck_assert_uint_eq(atomic_load(&live->abandoned), 0);
    admit_reply(&r, 0); /* refused after admission: the collector ran out of memory */
    ck_assert_ptr_null(r.seg);
    uint32_t ack = 1;
    ck_assert_int_eq(recv(fd, &ack, sizeof ack, 0), (ssize_t)sizeof ack);
    ck_assert_uint_eq(ack, 0);
    /* What a process that lost its socket reads instead. */
    ck_assert_uint_eq(atomic_load(&live->abandoned), 1);
    ck_assert_uint_eq(atomic_load(&live->collector_pid), 0);
    munmap(live, bytes);
    close(memfd);
    close(fd);
    fixture_close(&f);
}
END_TEST

START_TEST(a_registration_in_another_processs_name_is_refused_as_forged)
{
    struct fixture f;
    fixture_open(&f);
    size_t bytes;
    uint32_t other = (uint32_t)getppid();
    int memfd = make_segment(other, true, &bytes);
    int fd = fixture_register(&f, other, bytes, memfd);
    struct admitted r;
    ck_assert(!admit_one(&f, prim_now_ns(), &r));
    ck_assert_uint_eq(noted(&f, HEALTH_FORGED_PID), 1);
    /* The connection is closed without an ack. */
    uint32_t ack = 0;
    ck_assert_int_eq(recv(fd, &ack, sizeof ack, 0), 0);
    /* The hello may be honest and the segment lie: refused as well. */
    close(memfd);
    close(fd);
    memfd = make_segment(other, true, &bytes);
    fd = fixture_register(&f, (uint32_t)getpid(), bytes, memfd);
    ck_assert(!admit_one(&f, prim_now_ns(), &r));
    ck_assert_uint_eq(noted(&f, HEALTH_FORGED_PID), 2);
    close(memfd);
    close(fd);
    fixture_close(&f);
}
END_TEST

START_TEST(an_unsealed_segment_is_refused_before_it_is_mapped)
{
    struct fixture f;
    fixture_open(&f);
    size_t bytes;
    int memfd = make_segment((uint32_t)getpid(), false, &bytes);
    int fd = fixture_register(&f, (uint32_t)getpid(), bytes, memfd);
    struct admitted r;
    ck_assert(!admit_one(&f, prim_now_ns(), &r));
    ck_assert_uint_eq(noted(&f, HEALTH_UNSEALED), 1);
    close(memfd);
    close(fd);
    fixture_close(&f);
}
END_TEST

START_TEST(a_segment_whose_header_does_not_describe_its_memory_is_refused)
{
    struct fixture f;
    fixture_open(&f);
    size_t bytes;
    int memfd = make_segment((uint32_t)getpid(), true, &bytes);
    segment_t *seg = map_shared(memfd, bytes);
    seg->slot_count = 3; /* one slot more than the memory holds */
    munmap(seg, bytes);
    int fd = fixture_register(&f, (uint32_t)getpid(), bytes, memfd);
    struct admitted r;
    ck_assert(!admit_one(&f, prim_now_ns(), &r));
    /* A size that is not the memfd's is refused too. */
    int fd2 = fixture_register(&f, (uint32_t)getpid(), bytes * 2, memfd);
    ck_assert(!admit_one(&f, prim_now_ns(), &r));
    ck_assert_uint_eq(noted(&f, HEALTH_BAD_SEGMENT), 2);
    close(memfd);
    close(fd);
    close(fd2);
    fixture_close(&f);
}
END_TEST

START_TEST(a_silent_connection_is_never_waited_for_and_is_refused_at_its_deadline)
{
    struct fixture f;
    fixture_open(&f);
    int fd = fixture_connect(&f);
    struct admitted r;
    uint64_t t0 = prim_now_ns();
    ck_assert(!admit_one(&f, t0, &r));
    ck_assert(!admit_next(&f.admit, t0 + ADMIT_HELLO_NS - 1, &r));
    ck_assert_uint_eq(f.admit.pending_count, 1);
    ck_assert_uint_eq(noted(&f, HEALTH_SILENT), 0);
    /* Looking cost no wait: well under the deadline of real time passed. */
    ck_assert_uint_lt(prim_now_ns() - t0, ADMIT_HELLO_NS / 2);
    ck_assert(!admit_next(&f.admit, t0 + ADMIT_HELLO_NS, &r));
    ck_assert_uint_eq(f.admit.pending_count, 0);
    ck_assert_uint_eq(noted(&f, HEALTH_SILENT), 1);
    uint32_t ack = 0;
    ck_assert_int_eq(recv(fd, &ack, sizeof ack, 0), 0); /* closed on it */
    close(fd);
    fixture_close(&f);
}
END_TEST

START_TEST(connections_beyond_the_pending_limit_wait_in_the_backlog_until_a_place_frees)
{
    struct fixture f;
    fixture_open(&f);
    int fds[ADMIT_PENDING_MAX + 3];
    uint64_t now = prim_now_ns();
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        fds[i] = fixture_connect(&f);
        admit_accept(&f.admit, now); /* before the backlog of 8 fills */
    }
    ck_assert_uint_eq(f.admit.pending_count, ADMIT_PENDING_MAX);
    ck_assert_uint_eq(f.health.count, 0); /* nobody refused */
    /* Full: a wait does not wake for the listener. */
    struct pollfd pfds[1 + ADMIT_PENDING_MAX];
    ck_assert_uint_eq(admit_pollfds(&f.admit, pfds, sizeof pfds / sizeof pfds[0]),
                      ADMIT_PENDING_MAX);
    for (size_t i = 0; i < ADMIT_PENDING_MAX; i++)
        ck_assert_int_ne(pfds[i].fd, f.admit.listen_fd);
    /* The pending ones say nothing and time out: one row, however many. */
    struct admitted r;
    ck_assert(!admit_next(&f.admit, now + ADMIT_HELLO_NS, &r));
    ck_assert_uint_eq(noted(&f, HEALTH_SILENT), ADMIT_PENDING_MAX);
    ck_assert_uint_eq(f.health.count, 1);
    /* The three that waited in the backlog are taken now. */
    admit_accept(&f.admit, now + ADMIT_HELLO_NS);
    ck_assert_uint_eq(f.admit.pending_count, 3);
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        close(fds[i]);
    fixture_close(&f);
}
END_TEST

Suite *admit_suite(void)
{
    Suite *s = suite_create("admit");
    TCase *tc = tcase_create("admission");
    tcase_add_test(tc, a_sealed_registration_of_the_sender_itself_is_admitted_with_its_geometry_copied);
    tcase_add_test(tc, registrations_waiting_together_are_admitted_in_the_order_they_connected);
    tcase_add_test(tc, a_refused_registration_says_so_in_the_segment_as_well_as_on_the_socket);
    tcase_add_test(tc, a_registration_in_another_processs_name_is_refused_as_forged);
    tcase_add_test(tc, an_unsealed_segment_is_refused_before_it_is_mapped);
    tcase_add_test(tc, a_segment_whose_header_does_not_describe_its_memory_is_refused);
    tcase_add_test(tc, a_silent_connection_is_never_waited_for_and_is_refused_at_its_deadline);
    tcase_add_test(tc, connections_beyond_the_pending_limit_wait_in_the_backlog_until_a_place_frees);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(admit_suite)
