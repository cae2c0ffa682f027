/* segment.h - the shared-memory segment one traced process image shares
 * with the collector: a header, then a fixed array of slots, each holding
 * one thread's ring (ring.h) and that thread's private stack cache. The
 * process creates it (memfd), hands the descriptor to the collector over a
 * unix socket once, and from then on the two sides talk only through this
 * memory: threads claim a slot with one CAS and push records without locks;
 * the collector drains slots, releases the ones whose thread has finished,
 * and answers the process's exit handshake. Like ring.h it holds no
 * pointers, only offsets and address-free atomics, and both sides check
 * magic, version and sizes before trusting it.
 *
 * Trust: the process may write any byte of the segment at any time (a bug,
 * a stray pointer, or on purpose), so the collector copies the geometry
 * once, at registration (segment_geometry_t), computes every address from
 * that copy, and treats the identity fields changing afterwards as damage
 * (SEGMENT_IDENTITY_BYTES). The collector is authenticated (same user) and
 * the process trusts what it writes.
 *
 * Many threads: an image starts with one segment of SEGMENT_LEAD_SLOTS
 * slots, the largest rings, for its first threads (the main thread and
 * the few a program starts first carry most of its allocations: a ring
 * that absorbs a burst of frees spares them waits on the collector). When
 * every slot is taken, the process makes another segment (index 1 of
 * SEGMENT_MORE_SLOTS slots, then 2, ... each at least as large as all
 * before it together, slots.h says their rings),
 * sealed like the first, and registers it the same way; the collector
 * accepts it only as the next index of a running image of that pid with
 * the same start time. The header fields past the identity (handshakes,
 * stack ids, the clock) are read and written in segment 0 only; a later
 * segment's header states its identity and geometry and counts its own
 * slots_high.
 *
 * Slot claim protocol: claim_tid 0 means free. A thread CASes 0 -> its tid,
 * formats the ring, pushes. At thread exit it closes the ring; the
 * collector drains it, releases the ring, gives the pages of the slot's
 * stack cache and ring back to the kernel (they read as zeros after), and
 * stores claim_tid = 0 last (release), making the slot claimable again. A slot whose thread died
 * without closing (the process went on; a thread never runs its exit hook
 * after a late allocation in a TSD destructor) is reclaimed by the
 * collector once the tid no longer exists and the ring is empty. */
#ifndef ORTHO_TRACER_SEGMENT_H
#define ORTHO_TRACER_SEGMENT_H

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "class_table.h"
#include "clock.h"
#include "ring.h"

#define SEGMENT_MAGIC 0x4745534f48545230ull /* "0RTHOSEG" */
#define SEGMENT_VERSION 9u /* 5: the collector's abandoned flag; 6: the class table; 7: index;
                              8: exe and cmdline; 9: coarse_ns */
#define SEGMENT_HEADER_BYTES 4096u
#define SEGMENT_EXE_BYTES 1024u     /* segment_t.exe */
#define SEGMENT_CMDLINE_BYTES 1536u /* segment_t.cmdline */
#define SEGMENT_SLOT_HEADER_BYTES 128u
#define SEGMENT_STACK_CACHE_ENTRIES 2048u /* per thread, direct-mapped */
#define SEGMENT_LEAD_SLOTS 4u           /* slots of an image's segment 0 */
#define SEGMENT_MORE_SLOTS 256u         /* slots of segment 1; each later one doubles */
#define SEGMENT_MAX_SLOTS 65536u        /* slots of any one segment, at most */
#define SEGMENT_MAX_SEGMENTS 32u        /* segments of one image, at most */

/* The exit handshake: the process sets exit_requested, sends this signal
 * to collector_pid so the collector's wait ends at once (it would
 * otherwise see the request only at its next pass, up to a millisecond
 * later), and sleeps on exit_acked as a futex, which the collector wakes
 * when it stores the ack. SIGCHLD because its default action is to
 * ignore: should the pid have been reused by another of the user's
 * programs, that program is unharmed (and a SIGCHLD handler must already
 * cope with finding no child). The collector has no children of its
 * own. ortho-run's hint that the tree is done is SIGURG: a standard
 * signal does not queue, so one signal could not carry both. */
#define SEGMENT_EXIT_WAKE_SIGNAL SIGCHLD

/* exit_requested's values. WAIT: the handshake above. NOWAIT
 * (ORTHO_TRACE_EXIT=nowait, ortho-run's trees): the process is exiting
 * cleanly and does not wait; the collector writes its counters and live
 * rows with its end, once it sees the process gone. A process may set
 * either; the collector only believes it as far as the end reason. */
#define SEGMENT_EXIT_WAIT 1u
#define SEGMENT_EXIT_NOWAIT 2u

/* Trace modes (ORTHO_TRACE). */
#define SEGMENT_MODE_SUMMARY 1u /* ORTHO_TRACE=1: aggregates, leaks, corruption */
#define SEGMENT_MODE_FULL 2u    /* ORTHO_TRACE=full: plus one row per allocation */

/* Where record times come from (segment.clock_source). */
#define SEGMENT_CLOCK_MONOTONIC 0u /* clock_gettime in every record */
#define SEGMENT_CLOCK_TSC 1u       /* the time-stamp counter, calibrated by the collector */

/* How the image came to be (processes.via in the database). */
#define SEGMENT_VIA_ROOT 0u /* started the collector */
#define SEGMENT_VIA_FORK 1u /* a fork() child of a traced image */
#define SEGMENT_VIA_EXEC 2u /* a new program image found an existing collector */

/* One entry of a thread's stack cache: hash of the PCs -> stack id. */
typedef struct segment_stack_entry {
    uint64_t hash;
    uint32_t id;
    uint32_t pad;
} segment_stack_entry_t;

/* A slot: its header (claim word, per-thread tracer state), the stack
 * cache, then the ring, all at fixed offsets given by the segment header. */
typedef struct segment_slot {
    /* Line 0: the claim, which the collector reads on every pass. */
    _Atomic uint32_t claim_tid;       /* 0: free; else the producer thread */
    uint32_t generation;              /* bumped by each claim (producer) */
    _Atomic uint64_t stacks_truncated; /* stacks cut at the depth limit */
    _Atomic uint64_t stacks_sent;     /* STACK_DEF records sent */
    uint8_t pad0[64 - 24];
    /* Line 1: the producer's own, written with every record. On the
     * collector's line, each of those writes would miss after a pass. */
    uint64_t last_ts_ns;              /* last timestamp handed out */
    int64_t sample_countdown;         /* bytes until the next sampled stack */
    uint64_t rng;                     /* sampler's random state */
    uint8_t pad1[SEGMENT_SLOT_HEADER_BYTES - 64 - 24];
} segment_slot_t;
_Static_assert(sizeof(segment_slot_t) == SEGMENT_SLOT_HEADER_BYTES, "slot header size");
_Static_assert(offsetof(segment_slot_t, last_ts_ns) == 64, "producer fields start the second line");

typedef struct segment {
    /* Identity and settings: written by the process before it registers. */
    uint64_t magic;
    uint32_t version;
    uint32_t header_bytes;      /* SEGMENT_HEADER_BYTES */
    uint32_t slot_count;
    uint32_t slot_bytes;        /* header + stack cache + ring, bytes */
    uint32_t ring_offset;       /* within a slot, bytes */
    uint32_t ring_capacity;     /* records per ring */
    uint64_t total_bytes;       /* the whole segment, bytes */
    uint32_t pid;
    uint32_t ppid;
    uint32_t via;               /* SEGMENT_VIA_* */
    uint32_t mode;              /* SEGMENT_MODE_* */
    uint32_t stack_depth;       /* 0: no stacks */
    uint32_t overflow_drop;     /* 1: ORTHO_TRACE_OVERFLOW=drop */
    uint64_t sample_bytes;      /* 0: every allocation gets a stack */
    uint64_t start_ns;          /* CLOCK_MONOTONIC at set-up */
    uint64_t start_realtime_ns; /* CLOCK_REALTIME at set-up, for display */
    uint32_t index;             /* 0: the image's first segment; k: its k-th more */
    uint32_t reserved0;         /* zero */
    uint8_t pad0[128 - 96];

    /* Written by the process. */
    _Atomic uint32_t next_stack_id;   /* last stack id handed out */
    _Atomic uint32_t slots_high;      /* slots ever claimed: scan [0, slots_high) */
    _Atomic uint64_t lost_no_slot;    /* records lost: no slot free (drop mode) */
    _Atomic uint32_t forks_started;   /* fork() calls while traced */
    _Atomic uint32_t exit_requested;  /* SEGMENT_EXIT_*: the process is exiting */
    _Atomic uint32_t disabled;        /* the process stopped tracing (reason below) */
    uint32_t clock_source;            /* SEGMENT_CLOCK_*: asks the collector for a calibration */
    uint8_t pad1b[128 - 32];

    /* Written by the collector. */
    _Atomic uint32_t collector_pid;
    _Atomic uint32_t exit_acked;      /* everything before exit_requested is committed (a futex word) */
    _Atomic uint64_t heartbeat_ns;    /* CLOCK_MONOTONIC of the collector's last pass */
    _Atomic uint32_t abandoned;       /* the collector stopped reading: the segment was damaged */
    uint8_t pad2[64 - 20];

    /* Written by the collector at most once a second, read for every
     * record: its own line, so the heartbeat written on every pass does
     * not take it from the producers' caches (that cost about 40 ns per
     * record, two cache misses per malloc/free pair). */
    clock_calibration_t clock;        /* SEGMENT_CLOCK_TSC: ticks -> ns (clock.h) */
    /* CLOCK_MONOTONIC of a recent pass, written at most every
     * COLLECTOR_COARSE_EVERY_NS: the floor under the times a thread
     * interpolates between two reads of its clock (tracer.c), so a thread
     * back from a pause reads its clock again at once. In the calibration's
     * line, which producers read anyway, and rarely written. */
    _Atomic uint64_t coarse_ns;
    uint8_t pad3[512 - 320 - sizeof(clock_calibration_t) - sizeof(uint64_t)];

    /* The image's size classes (ORTHO_CLASSES), written by the process
     * before it registers; the collector copies and checks them once. */
    struct class_table classes;

    /* The program and its arguments as the process saw them at set-up
     * (NUL-terminated; cmdline's arguments NUL-separated as in /proc,
     * cut at the field's end). The collector reads /proc/PID instead
     * while the process lives; these are for a process that exited
     * before its registration was read (ORTHO_TRACE_EXIT=nowait), and
     * only ever displayed. */
    char exe[SEGMENT_EXE_BYTES];
    char cmdline[SEGMENT_CMDLINE_BYTES];
    uint8_t pad4[SEGMENT_HEADER_BYTES - 512 - sizeof(struct class_table) - SEGMENT_EXE_BYTES -
                 SEGMENT_CMDLINE_BYTES];
} segment_t;
_Static_assert(sizeof(segment_t) == SEGMENT_HEADER_BYTES, "segment header size");
_Static_assert(offsetof(segment_t, next_stack_id) == 128, "process line starts at 128");
_Static_assert(offsetof(segment_t, collector_pid) == 256, "collector line starts at 256");
_Static_assert(offsetof(segment_t, clock) == 320, "the calibration has a line of its own");
_Static_assert(offsetof(segment_t, coarse_ns) + sizeof(uint64_t) <= 384,
               "the coarse clock shares the calibration's line");
_Static_assert(offsetof(segment_t, classes) == 512, "the class table follows the header lines");

/* The header bytes the process writes before it registers and never after
 * (magic to start_realtime_ns): the collector keeps a copy and compares. */
#define SEGMENT_IDENTITY_BYTES offsetof(segment_t, pad0)

/* Where things are in a segment, as the collector copied it at
 * registration. Addresses on the collector side come from this, never from
 * the live header. */
typedef struct segment_geometry {
    uint32_t index;         /* segment_t.index */
    uint32_t slot_count;    /* slots */
    uint32_t slot_bytes;    /* bytes per slot */
    uint32_t ring_offset;   /* within a slot, bytes */
    uint32_t ring_capacity; /* records per ring */
    uint64_t total_bytes;   /* the mapping, bytes */
} segment_geometry_t;

/* Bytes of one slot for a ring of `capacity` records. */
static inline size_t segment_slot_bytes(size_t capacity)
{
    return SEGMENT_SLOT_HEADER_BYTES + SEGMENT_STACK_CACHE_ENTRIES * sizeof(segment_stack_entry_t) +
           ring_bytes_for(capacity);
}

/* Checks a copy of a header against the size of its mapping and fills
 * geo from it. false: the header is not one this version made, or it does
 * not fit the mapping. */
static inline bool segment_geometry_from(const segment_t *head, uint64_t bytes,
                                         segment_geometry_t *geo)
{
    if (bytes < sizeof *head || head->magic != SEGMENT_MAGIC ||
        head->version != SEGMENT_VERSION || head->header_bytes != SEGMENT_HEADER_BYTES ||
        head->index >= SEGMENT_MAX_SEGMENTS || head->slot_count == 0 ||
        head->slot_count > SEGMENT_MAX_SLOTS ||
        head->ring_capacity < RING_MIN_CAPACITY || head->total_bytes != bytes)
        return false;
    size_t slot = segment_slot_bytes(head->ring_capacity);
    if (ring_bytes_for(head->ring_capacity) == 0 || head->slot_bytes != slot ||
        (size_t)head->ring_offset + ring_bytes_for(head->ring_capacity) != slot ||
        SEGMENT_HEADER_BYTES + (uint64_t)head->slot_count * slot > bytes)
        return false;
    *geo = (segment_geometry_t){.index = head->index, .slot_count = head->slot_count,
                                .slot_bytes = head->slot_bytes,
                                .ring_offset = head->ring_offset,
                                .ring_capacity = head->ring_capacity, .total_bytes = bytes};
    return true;
}

/* Slot `index` (< geo->slot_count) and its ring, from a geometry kept apart
 * from the live header (the collector's copy, the producer's own). */
static inline segment_slot_t *segment_slot_at(void *seg, const segment_geometry_t *geo,
                                              uint32_t index)
{
    return (segment_slot_t *)((char *)seg + SEGMENT_HEADER_BYTES +
                              (size_t)index * geo->slot_bytes);
}

static inline ring_t *segment_ring_at(segment_slot_t *slot, const segment_geometry_t *geo)
{
    return (ring_t *)((char *)slot + geo->ring_offset);
}

static inline segment_stack_entry_t *segment_stack_cache(segment_slot_t *slot)
{
    return (segment_stack_entry_t *)((char *)slot + SEGMENT_SLOT_HEADER_BYTES);
}

/* Exit status of the collector's first process (the one the library
 * waits for) when it printed its one line on why it cannot start; 0 means
 * ready. Any other outcome - a crash, a program that is not our collector,
 * a collector of another version refusing its arguments - the library
 * reports itself. */
#define SEGMENT_COLLECTOR_REPORTED 3

/* The registration message sent with the memfd (SCM_RIGHTS). */
typedef struct segment_hello {
    uint64_t magic;   /* SEGMENT_MAGIC */
    uint32_t version; /* SEGMENT_VERSION */
    uint32_t pid;
    uint64_t bytes;   /* size of the segment */
} segment_hello_t;

/* Sends the hello for `pid`'s segment of `bytes`, with the segment's memfd
 * attached (SCM_RIGHTS), over the connected socket fd: the one message a
 * process registers with (admit.c reads it). Retries EINTR; returns what
 * sendmsg returned (sizeof(segment_hello_t) when all went). */
static inline ssize_t segment_hello_send(int fd, uint32_t pid, uint64_t bytes, int memfd)
{
    segment_hello_t hello = {.magic = SEGMENT_MAGIC, .version = SEGMENT_VERSION, .pid = pid,
                             .bytes = bytes};
    struct iovec iov = {.iov_base = &hello, .iov_len = sizeof hello};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &memfd, sizeof(int));
    ssize_t sent;
    do {
        sent = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

#endif
