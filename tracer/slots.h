/* slots.h - the segments of this traced process image and the claim of a
 * thread's slot in them (slots.c). Producer side: no malloc, no lock a
 * hook could deadlock on; growing makes a syscall round trip to the
 * collector while the other threads that found no slot wait for it. */
#ifndef ORTHO_TRACER_SLOTS_H
#define ORTHO_TRACER_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"
#include "segment.h"

/* Records per ring of the segments after the first, which holds the
 * configured ring (ORTHO_TRACE_RING_SIZE, 4 MiB by default) for the first
 * SEGMENT_LEAD_SLOTS threads: segment 1 (the next 256 threads) an eighth
 * of it, later segments a 128th, each at least SLOTS_MORE_MIN_CAPACITY and
 * never more than the first's. By default that is 512 KiB and 32 KiB: a
 * program with thousands of threads keeps the shared memory of its rings
 * in the hundreds of MiB at worst, while the main thread, which in most
 * programs makes most allocations, rides out a burst of frees (python3
 * dropping a pass's objects) without waiting on the collector: its ring
 * waits fell from 160 ms to 26 ms (tracing python3, bench/README.md).
 * An image that joins a tree (forked, or exec'd by another process:
 * `joined`) has segment 1's rings in segment 0 too: a thousand busy
 * children hold 512 KiB each, not 4 MiB (4 GiB in all, measured), while
 * the program the tree starts with, the one that usually matters, keeps
 * the large ring. */
#define SLOTS_MORE_RING_DIVISOR 8u
#define SLOTS_MANY_RING_DIVISOR 128u
#define SLOTS_MORE_MIN_CAPACITY 1024u

/* A claimed slot: where the thread's ring goes and how large it is. */
struct slots_claim {
    uint32_t segment;       /* index of the slot's segment */
    uint32_t index;         /* of the slot in it */
    segment_slot_t *slot;
    void *ring_mem;         /* the ring's memory, to ring_init */
    size_t ring_bytes;      /* bytes there */
    uint32_t ring_capacity; /* records */
};

/* Slots of segment `index` and its ring capacity, given the configured
 * capacity (first_capacity records) and whether the image joined a tree. */
uint32_t slots_segment_slots(uint32_t index);
uint32_t slots_ring_capacity(uint32_t index, uint32_t first_capacity, bool joined);
/* Bytes of segment `index`, and whether that fits the file size limit
 * (ulimit -f: a memfd grown past it kills the program with SIGXFSZ). */
size_t slots_segment_bytes(uint32_t index, uint32_t first_capacity, bool joined);
bool slots_fit_file_limit(size_t bytes);

/* Creates and maps segment `index` of this image: proto's identity and
 * settings (everything but geometry and magic) with its own geometry,
 * sealed at its size. The descriptor goes to *memfd (the caller sends it
 * and closes it) and the size to *bytes. NULL, errno set: no memory, or
 * the segment would pass the file size limit (EFBIG). */
segment_t *slots_make_segment(const segment_t *proto, uint32_t index, uint32_t first_capacity,
                              bool joined, size_t *bytes, int *memfd);

/* Makes seg (bytes long, index 0) the image's only segment, forgetting
 * (not unmapping) any before: a fork child's mappings are gone with
 * slots_unmap_all first. */
void slots_adopt_first(segment_t *seg, size_t bytes);

/* Unmaps every segment of the image and forgets them (fork child,
 * failed set-up). */
void slots_unmap_all(void);

/* Claims a free slot for thread tid: a slot of an exited thread the
 * collector has released, or one never used. false: every slot of every
 * segment is taken. */
bool slots_claim(uint32_t tid, struct slots_claim *out);

/* The calling thread is giving its slot back (its ring is closed): the
 * next claim looks among the used slots first. */
void slots_note_exit(void);
/* Whether threads have given slots back that no claim has reused yet (the
 * collector releases a slot once it has drained it). */
bool slots_exits_pending(void);

/* What slots_grow did. */
enum slots_growth {
    SLOTS_GREW,       /* a segment was added (by this thread or another): claim again */
    SLOTS_FAILED,     /* this call could not add one (*err: errno; 0: the maximum) */
    SLOTS_FULL,       /* an earlier call could not: none will be tried again */
};

/* Adds the next segment and registers it with the collector at sock_name
 * (launch_register), or waits while another thread does. On failure (the
 * maximum, the file size limit, no memory, the collector refused) no
 * segment is tried again: the first failure is SLOTS_FAILED, every one
 * after it SLOTS_FULL. */
enum slots_growth slots_grow(const segment_t *proto, uint32_t first_capacity, bool joined,
                             const char *sock_name, int *err);

#endif
