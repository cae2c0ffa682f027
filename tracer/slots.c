/* slots.c - the segments of this traced image and the slots in them: one
 * per thread that traces at once, with no fixed limit. The image starts
 * with segment 0 (SEGMENT_LEAD_SLOTS slots of the configured ring). A
 * thread that finds every slot taken makes the next segment - at least as
 * many slots as all before it together, with smaller rings (slots.h) - and
 * registers it with the collector the way segment 0 was (launch.c), while
 * any other thread that finds none waits for it. Slots of exited threads
 * come back once the collector has drained and released them (segment.h:
 * claim protocol), and the collector gives their pages back to the kernel
 * then, so shared memory follows the threads alive, not the threads ever
 * started.
 *
 * Finding a slot costs O(1) while no thread has exited: each segment's
 * slots_high is the cursor of its never-used slots. Used slots are looked
 * through only while threads have exited since the last reuse, and once
 * before a segment is added (a thread that died without its exit hook
 * leaves a slot the collector reclaims on its own).
 *
 * Rules: the list of segments is process-local; it is written only by the
 * thread that grows it (one at a time, under `growing`) and in a fork
 * child, and published with a release store of `count`. No malloc: a hook
 * runs inside malloc. Addresses come from the geometry kept here, never
 * from the shared headers. */
#define _GNU_SOURCE
#include "slots.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "launch.h"
#include "prim.h"

#define SLOTS_MAX_SEGMENT_BYTES ((uint64_t)1 << 36) /* 64 GiB of a later segment, at most */
#define SLOTS_GROW_WAIT_NS 100000000ull             /* re-check a growth at least this often */

static struct {
    segment_t *segs[SEGMENT_MAX_SEGMENTS];
    segment_geometry_t geo[SEGMENT_MAX_SEGMENTS]; /* as made: what addresses come from */
    _Atomic uint32_t count;        /* segments published */
    _Atomic uint32_t growing;      /* a thread is making the next segment (a futex word) */
    _Atomic uint32_t cannot_grow;  /* growing failed once: never again */
    _Atomic uint64_t exits;        /* threads that gave a slot back, less the slots reused */
} slots;

_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "growing is waited on as a futex word");

uint32_t slots_segment_slots(uint32_t index)
{
    if (index == 0)
        return SEGMENT_LEAD_SLOTS;
    uint32_t shift = index - 1 < 16 ? index - 1 : 16;
    uint64_t n = (uint64_t)SEGMENT_MORE_SLOTS << shift;
    return n < SEGMENT_MAX_SLOTS ? (uint32_t)n : SEGMENT_MAX_SLOTS;
}

uint32_t slots_ring_capacity(uint32_t index, uint32_t first_capacity, bool joined)
{
    if (index == 0 && !joined)
        return first_capacity;
    uint32_t capacity =
        first_capacity / (index <= 1 ? SLOTS_MORE_RING_DIVISOR : SLOTS_MANY_RING_DIVISOR);
    if (capacity < SLOTS_MORE_MIN_CAPACITY)
        capacity = SLOTS_MORE_MIN_CAPACITY;
    return capacity < first_capacity ? capacity : first_capacity;
}

/* Slots of segment `index` for rings of `capacity` records: later
 * segments stay under SLOTS_MAX_SEGMENT_BYTES. */
static uint32_t slots_count_for(uint32_t index, uint32_t capacity)
{
    uint64_t count = slots_segment_slots(index);
    uint64_t slot_bytes = segment_slot_bytes(capacity);
    if (index > 0 && count * slot_bytes > SLOTS_MAX_SEGMENT_BYTES)
        count = SLOTS_MAX_SEGMENT_BYTES / slot_bytes ? SLOTS_MAX_SEGMENT_BYTES / slot_bytes : 1;
    return (uint32_t)count;
}

size_t slots_segment_bytes(uint32_t index, uint32_t first_capacity, bool joined)
{
    uint32_t capacity = slots_ring_capacity(index, first_capacity, joined);
    return SEGMENT_HEADER_BYTES +
           (size_t)slots_count_for(index, capacity) * segment_slot_bytes(capacity);
}

bool slots_fit_file_limit(size_t bytes)
{
    struct rlimit fsize;
    return getrlimit(RLIMIT_FSIZE, &fsize) != 0 || fsize.rlim_cur == RLIM_INFINITY ||
           (uint64_t)bytes <= (uint64_t)fsize.rlim_cur;
}

segment_t *slots_make_segment(const segment_t *proto, uint32_t index, uint32_t first_capacity,
                              bool joined, size_t *bytes_out, int *memfd_out)
{
    uint32_t capacity = slots_ring_capacity(index, first_capacity, joined);
    size_t slot_bytes = segment_slot_bytes(capacity);
    uint32_t count = slots_count_for(index, capacity);
    size_t bytes = slots_segment_bytes(index, first_capacity, joined);
    if (!slots_fit_file_limit(bytes)) {
        errno = EFBIG;
        return NULL;
    }
    int fd = memfd_create("orthotope-trace", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return NULL;
    /* Sealed at its size: the collector maps only sealed segments, so no
     * one can shrink one under it (a SIGBUS there) or grow it. */
    if (ftruncate(fd, (off_t)bytes) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return NULL;
    }
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) {
        int err = errno;
        close(fd);
        errno = err;
        return NULL;
    }
    segment_t *seg = mem;
    /* The identity and settings, then this segment's own geometry; the
     * process and collector lines start zeroed. */
    memcpy(seg, proto, SEGMENT_IDENTITY_BYTES);
    memcpy(&seg->classes, &proto->classes, sizeof seg->classes);
    memcpy(seg->exe, proto->exe, sizeof seg->exe);
    memcpy(seg->cmdline, proto->cmdline, sizeof seg->cmdline);
    seg->clock_source = proto->clock_source;
    seg->version = SEGMENT_VERSION;
    seg->header_bytes = SEGMENT_HEADER_BYTES;
    seg->index = index;
    seg->reserved0 = 0;
    seg->slot_count = count;
    seg->slot_bytes = (uint32_t)slot_bytes;
    seg->ring_offset = (uint32_t)(slot_bytes - ring_bytes_for(capacity));
    seg->ring_capacity = capacity;
    seg->total_bytes = bytes;
    atomic_store_explicit((_Atomic uint64_t *)&seg->magic, SEGMENT_MAGIC, memory_order_release);
    *bytes_out = bytes;
    *memfd_out = fd;
    return seg;
}

/* Records seg as segment `index` (its geometry from its header, which this
 * process wrote a moment ago) and publishes it. Only the growing thread,
 * or a single-threaded moment. */
static void slots_publish(uint32_t index, segment_t *seg, size_t bytes)
{
    slots.segs[index] = seg;
    slots.geo[index] = (segment_geometry_t){.index = index, .slot_count = seg->slot_count,
                                            .slot_bytes = seg->slot_bytes,
                                            .ring_offset = seg->ring_offset,
                                            .ring_capacity = seg->ring_capacity,
                                            .total_bytes = bytes};
    /* Release: a thread that sees the count sees the segment. */
    atomic_store_explicit(&slots.count, index + 1, memory_order_release);
}

void slots_adopt_first(segment_t *seg, size_t bytes)
{
    atomic_store_explicit(&slots.growing, 0, memory_order_relaxed);
    atomic_store_explicit(&slots.cannot_grow, 0, memory_order_relaxed);
    atomic_store_explicit(&slots.exits, 0, memory_order_relaxed);
    slots_publish(0, seg, bytes);
}

void slots_unmap_all(void)
{
    uint32_t count = atomic_load_explicit(&slots.count, memory_order_acquire);
    atomic_store_explicit(&slots.count, 0, memory_order_release);
    for (uint32_t i = 0; i < count; i++) {
        munmap(slots.segs[i], slots.geo[i].total_bytes);
        slots.segs[i] = NULL;
    }
    atomic_store_explicit(&slots.growing, 0, memory_order_relaxed);
}

/* Tries to take slot `index` of segment `s` for tid. */
static bool slots_take(uint32_t s, uint32_t index, uint32_t tid, struct slots_claim *out)
{
    const segment_geometry_t *geo = &slots.geo[s];
    segment_slot_t *slot = segment_slot_at(slots.segs[s], geo, index);
    uint32_t expected = 0;
    if (atomic_load_explicit(&slot->claim_tid, memory_order_relaxed) != 0 ||
        !atomic_compare_exchange_strong_explicit(&slot->claim_tid, &expected, tid,
                                                 memory_order_acquire, memory_order_relaxed))
        return false;
    *out = (struct slots_claim){.segment = s, .index = index, .slot = slot, .ring_mem = segment_ring_at(slot, geo),
                                .ring_bytes = ring_bytes_for(geo->ring_capacity),
                                .ring_capacity = geo->ring_capacity};
    return true;
}

/* A slot some thread used and the collector has released, lowest first. */
static bool slots_claim_used(uint32_t count, uint32_t tid, struct slots_claim *out)
{
    for (uint32_t s = 0; s < count; s++) {
        uint32_t high = atomic_load_explicit(&slots.segs[s]->slots_high, memory_order_relaxed);
        if (high > slots.geo[s].slot_count)
            high = slots.geo[s].slot_count;
        for (uint32_t i = 0; i < high; i++)
            if (slots_take(s, i, tid, out))
                return true;
    }
    return false;
}

/* A slot no thread has used yet: the next one past a segment's slots_high,
 * which this claim moves on (release: the collector then scans it). */
static bool slots_claim_fresh(uint32_t count, uint32_t tid, struct slots_claim *out)
{
    for (uint32_t s = 0; s < count; s++) {
        _Atomic uint32_t *high = &slots.segs[s]->slots_high;
        uint32_t at = atomic_load_explicit(high, memory_order_relaxed);
        while (at < slots.geo[s].slot_count) {
            if (!atomic_compare_exchange_weak_explicit(high, &at, at + 1, memory_order_release,
                                                       memory_order_relaxed))
                continue; /* at now holds the current value */
            if (slots_take(s, at, tid, out))
                return true;
            at = atomic_load_explicit(high, memory_order_relaxed);
        }
    }
    return false;
}

bool slots_claim(uint32_t tid, struct slots_claim *out)
{
    uint32_t count = atomic_load_explicit(&slots.count, memory_order_acquire);
    uint64_t exits = atomic_load_explicit(&slots.exits, memory_order_relaxed);
    if (exits != 0 && slots_claim_used(count, tid, out)) {
        /* Saturating: a reused slot of a thread that died unannounced. */
        while (exits != 0 && !atomic_compare_exchange_weak_explicit(
                                 &slots.exits, &exits, exits - 1, memory_order_relaxed,
                                 memory_order_relaxed)) {
        }
        return true;
    }
    if (slots_claim_fresh(count, tid, out))
        return true;
    /* Every slot was used once: the collector may have released some of
     * them since the exits were counted, or reclaimed a dead thread's. */
    return exits == 0 && slots_claim_used(count, tid, out);
}

void slots_note_exit(void)
{
    atomic_fetch_add_explicit(&slots.exits, 1, memory_order_relaxed);
}

bool slots_exits_pending(void)
{
    return atomic_load_explicit(&slots.exits, memory_order_relaxed) != 0;
}

enum slots_growth slots_grow(const segment_t *proto, uint32_t first_capacity, bool joined,
                             const char *sock_name, int *err)
{
    *err = 0;
    uint32_t seen = atomic_load_explicit(&slots.count, memory_order_acquire);
    uint32_t idle = 0;
    if (!atomic_compare_exchange_strong_explicit(&slots.growing, &idle, 1, memory_order_acquire,
                                                 memory_order_relaxed)) {
        /* Another thread is adding a segment: sleep until it is done (a
         * futex: thousands of threads may wait here, and polling them
         * would take the CPU the collector needs to answer), then claim
         * again. */
        while (atomic_load_explicit(&slots.growing, memory_order_acquire) != 0)
            prim_wait_while((const uint32_t *)&slots.growing, 1, SLOTS_GROW_WAIT_NS, false);
        return atomic_load_explicit(&slots.count, memory_order_acquire) != seen ? SLOTS_GREW
                                                                                 : SLOTS_FULL;
    }
    uint32_t count = atomic_load_explicit(&slots.count, memory_order_acquire);
    bool grew = count != seen; /* someone else's segment was published meanwhile */
    bool full = atomic_load_explicit(&slots.cannot_grow, memory_order_relaxed);
    if (!grew && !full) {
        if (count == 0 || count >= SEGMENT_MAX_SEGMENTS) {
            *err = 0;
        } else {
            size_t bytes;
            int memfd;
            segment_t *seg =
                slots_make_segment(proto, count, first_capacity, joined, &bytes, &memfd);
            if (seg == NULL) {
                *err = errno;
            } else {
                uint32_t collector = 0;
                *err = launch_register(sock_name, memfd, bytes, &collector);
                close(memfd);
                if (*err == 0) {
                    slots_publish(count, seg, bytes);
                    grew = true;
                } else {
                    munmap(seg, bytes);
                }
            }
        }
        if (!grew)
            atomic_store_explicit(&slots.cannot_grow, 1, memory_order_relaxed);
    }
    atomic_store_explicit(&slots.growing, 0, memory_order_release);
    prim_wake_all((const uint32_t *)&slots.growing, false);
    return grew ? SLOTS_GREW : full ? SLOTS_FULL : SLOTS_FAILED;
}
