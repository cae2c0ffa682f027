/* tracer.c - the producer side of tracing inside the traced process: this
 * image's segment, each thread's slot (claimed on its first traced event,
 * closed at thread exit), the allocator's trace port (liballoc/trace_port.h:
 * the hooks it calls and the one switch, trace_port_on), call stacks
 * (libunwind in the allocating thread, sent once per thread per unique
 * stack as a STACK_DEF, then named by a process-wide 32-bit id), module
 * load records for the collector's symbolizer, byte sampling, and the fork
 * and exit handshakes. Everything on the hook paths works on the thread's
 * own slot with plain stores and one ring publication: no lock, no malloc,
 * errno preserved. A per-thread busy flag makes allocations from inside a
 * hook (libunwind, dl_iterate_phdr) untraced instead of recursive. */
#define _GNU_SOURCE
#include "trace_port.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "launch.h"
#include "options.h"
#include "orthotope.h"
#include "prim.h"
#include "record.h"
#include "report.h"
#include "ring.h"
#include "segment.h"
#include "slots.h"
#include "stackmemo.h"
#include "stamp.h"

#define TRACER_EXTRA_FRAMES 12 /* room for our own frames, skipped */
#define TRACER_MAX_FRAMES 128
#define TRACER_FINISH_WAIT_NS (30ull * 1000000000ull)
#define TRACER_FINISH_SLICE_NS 5000000ull /* exit handshake: a look at the collector this often */
#define TRACER_SLOT_WAIT_NS (60ull * 1000000000ull) /* only once no segment can be added */
/* Before adding a segment, how long a thread waits for the collector to
 * release the slot of a thread that exited: threads that come and go one
 * after the other then reuse the first segment's slots. */
#define TRACER_RELEASE_WAIT_NS (50ull * 1000000ull)
#define TRACER_RELEASE_POLL_NS 100000L
/* Threads on the first slots unwind with libunwind's fast tracer, which
 * keeps a 256 KiB cache in each thread it runs in: at most this many at
 * once (16 MiB). */
#define TRACER_FAST_UNWIND_SLOTS 64u
#define TRACER_SOCK_OFF "off" /* ORTHO_TRACE_SOCK once tracing failed in an ancestor */
/* The collector's answer to segment 0's registration (tracer.ack). */
#define TRACER_ACK_NONE 0      /* answered, or nothing sent */
#define TRACER_ACK_PENDING 1   /* sent; the answer waits in tracer.pending */
#define TRACER_ACK_READING 2   /* a thread is reading it */
#define TRACER_ACK_LOST 3      /* the program closed the socket: the segment tells */
#define TRACER_ACK_WAIT_NS (10ull * 1000000000ull) /* as the socket's own timeout */
#define TRACER_ACK_REFUSED "the trace collector refused this process's trace segment (see trace_health)"

/* Process-wide tracer state. Written at start-up and in the fork child
 * (both single-threaded moments), read by every hook. */
static struct {
    segment_t *seg;          /* segment 0: handshakes, stack ids, the clock */
    size_t seg_bytes;
    segment_t proto;         /* identity and settings every segment repeats */
    uint32_t collector_pid;  /* from the registration's answer; 0: not yet (atomic access) */
    uint32_t generation;     /* bumped when the segment changes (fork child) */
    uint32_t depth;          /* frames kept per stack */
    uint64_t sample_bytes;   /* 0: every allocation has a stack */
    bool drop;               /* ORTHO_TRACE_OVERFLOW=drop */
    bool exit_nowait;        /* ORTHO_TRACE_EXIT=nowait */
    uint32_t mode;           /* SEGMENT_MODE_* */
    uint32_t ring_capacity;  /* records: the configured ring (slots.h) */
    bool joined;             /* this image joined a tree: smaller lead rings (slots.h) */
    uintptr_t own_lo, own_hi; /* this library's text: frames to skip */
    bool tsc;                /* record times from the time-stamp counter (clock.h) */
    uint32_t clock_window;   /* ALLOC/FREE records per clock read: 1 or STAMP_WINDOW */
    bool counted;            /* the start-up snapshot of caches and pools is sent:
                                allocator events count from here on */
    char sock_name[108];     /* collector socket (abstract name) */
    struct launch_pending pending; /* segment 0's registration, until answered */
    _Atomic int ack;         /* TRACER_ACK_*: where that answer stands */
    bool fork_child_attach;  /* fork child: detached, to attach (trace_port_fork_child) */
    uint32_t fork_parent_pid; /* and the parent image's pid, from its segment */
    bool fork_gate_missed;   /* this image or an ancestor forked with an unwind in flight:
                                the loader's lock may be held for good, so no stacks */
    char exe[SEGMENT_EXE_BYTES]; /* /proc/self/exe, for the main program's module */
    char cmdline[SEGMENT_CMDLINE_BYTES]; /* /proc/self/cmdline at start-up, for the segment */
    _Atomic unsigned long long known_adds; /* dl_iterate_phdr adds last announced */
    _Atomic int gone_reported;
} tracer;

/* The calling thread's binding to a slot. */
struct tracer_thread {
    segment_slot_t *slot;
    ring_t *ring;
    uint32_t tid;
    uint32_t generation; /* tracer.generation when bound */
    uint8_t busy;        /* inside a hook: nested allocations are not traced */
    bool fast_unwind;    /* unwind with libunwind's tracer (the first slots' threads) */
    clock_view_t clock;  /* this thread's copy of the collector's calibration */
    stamp_window_t stamp;     /* ALLOC/FREE times between reads of the clock (stamp.h) */
    bool memo_ready;     /* memo emptied for this binding (tracer_memo_prepare) */
    uint8_t in_gate;     /* inside the fork gate's unwind section (nesting depth) */
    bool gate_missed;    /* this thread's last fork went past the gate (the child reads it) */
    stackmemo_bounds_t stack; /* where the stack memo may read; empty: memo off */
    stackmemo_t *memo;        /* this thread's stack memo (own mapping); NULL: none */
};
static ORTHO_TLS struct tracer_thread tracer_self_state;

/* ---- stopping ------------------------------------------------------------ */

/* Turns tracing off for the rest of the process with one line saying why. */
static void tracer_stop(const char *why)
{
    if (!__atomic_exchange_n(&trace_port_on, 0, __ATOMIC_RELAXED))
        return;
    if (tracer.seg != NULL)
        atomic_store_explicit(&tracer.seg->disabled, 1, memory_order_release);
    if (atomic_exchange(&tracer.gone_reported, 1))
        return;
    struct report_line line;
    report_begin(&line);
    report_str(&line, "orthotope: tracing stopped: ");
    report_str(&line, why);
    report_str(&line, "; the program continues untraced and what was recorded stays in the database");
    report_emit(&line);
}

/* Takes the collector's answer to segment 0's registration, which the
 * process did not wait for (tracer_attach); `wait`: until it comes (the
 * exit handshake, which needs a registered image). false: refused, and
 * tracing is off (one line said why). Any thread; one reads at a time. */
static bool tracer_take_ack(bool wait)
{
    for (;;) {
        int state = atomic_load_explicit(&tracer.ack, memory_order_acquire);
        if (state == TRACER_ACK_NONE)
            return __atomic_load_n(&trace_port_on, __ATOMIC_RELAXED);
        if (state == TRACER_ACK_READING) {
            if (!wait)
                return true;
            struct timespec pause = {0, 50000};
            nanosleep(&pause, NULL);
            continue;
        }
        if (state == TRACER_ACK_LOST) {
            /* The collector writes its pid into the segment once the image
             * is registered; a refusal after mapping it sets abandoned. */
            uint64_t deadline = prim_now_ns() + (wait ? TRACER_ACK_WAIT_NS : 0);
            for (;;) {
                uint32_t pid = atomic_load_explicit(&tracer.seg->collector_pid, memory_order_acquire);
                if (pid != 0) {
                    __atomic_store_n(&tracer.collector_pid, pid, __ATOMIC_RELAXED);
                    atomic_store_explicit(&tracer.ack, TRACER_ACK_NONE, memory_order_release);
                    return true;
                }
                if (atomic_load_explicit(&tracer.seg->abandoned, memory_order_acquire) ||
                    prim_now_ns() >= deadline)
                    break;
                struct timespec pause = {0, 200000};
                nanosleep(&pause, NULL);
            }
            bool refused = atomic_load_explicit(&tracer.seg->abandoned, memory_order_acquire);
            if (!wait && !refused)
                return true;
            atomic_store_explicit(&tracer.ack, TRACER_ACK_NONE, memory_order_release);
            tracer_stop(refused ? TRACER_ACK_REFUSED
                                : "the trace collector never answered this process's registration");
            return false;
        }
        int expected = TRACER_ACK_PENDING;
        if (!atomic_compare_exchange_strong_explicit(&tracer.ack, &expected, TRACER_ACK_READING,
                                                     memory_order_acquire, memory_order_relaxed))
            continue;
        int saved = errno;
        uint32_t pid = 0;
        int err = launch_register_answer(&tracer.pending, wait, &pid);
        errno = saved;
        if (err == EAGAIN) {
            atomic_store_explicit(&tracer.ack, TRACER_ACK_PENDING, memory_order_release);
            return true;
        }
        if (err == EBADF) {
            atomic_store_explicit(&tracer.ack, TRACER_ACK_LOST, memory_order_release);
            continue;
        }
        if (err == 0)
            __atomic_store_n(&tracer.collector_pid, pid, __ATOMIC_RELAXED);
        atomic_store_explicit(&tracer.ack, TRACER_ACK_NONE, memory_order_release);
        if (err == 0)
            return true;
        tracer_stop(TRACER_ACK_REFUSED);
        return false;
    }
}

/* ring_push_blocking's give-up test: the collector process is gone. */
static bool tracer_collector_gone(void *arg)
{
    (void)arg;
    if (!__atomic_load_n(&trace_port_on, __ATOMIC_RELAXED))
        return true;
    if (!tracer_take_ack(false))
        return true;
    if (tracer.seg != NULL && atomic_load_explicit(&tracer.seg->abandoned, memory_order_acquire)) {
        tracer_stop("the trace collector stopped reading this process: its trace segment was "
                    "overwritten (see trace_health)");
        return true;
    }
    uint32_t collector = __atomic_load_n(&tracer.collector_pid, __ATOMIC_RELAXED);
    if (collector == 0 || kill((pid_t)collector, 0) == 0 || errno != ESRCH)
        return false;
    tracer_stop("the trace collector exited");
    return true;
}

/* ---- slots --------------------------------------------------------------- */

/* Current thread name, NUL-padded to 16 bytes. */
static void tracer_thread_name(char name[16])
{
    memset(name, 0, 16);
    prctl(PR_GET_NAME, name, 0, 0, 0);
}

/* CLOCK_MONOTONIC ns: from the time-stamp counter once the collector has
 * calibrated it for this segment, from clock_gettime until then. */
static inline uint64_t tracer_clock(struct tracer_thread *t)
{
    if (tracer.tsc && clock_view_refresh(&t->clock, &tracer.seg->clock))
        return clock_view_convert(&t->clock, clock_ticks());
    return prim_now_ns();
}

/* The time for the thread's next record, read from the clock. */
static uint64_t tracer_now(struct tracer_thread *t)
{
    return stamp_advance(&t->slot->last_ts_ns, tracer_clock(t));
}

/* tracer_stamp when the window says to read the clock. */
static ORTHO_NOINLINE uint64_t tracer_stamp_read(struct tracer_thread *t)
{
    uint64_t now = tracer_clock(t);
    stamp_restart(&t->stamp, now, false);
    return stamp_advance(&t->slot->last_ts_ns, now);
}

/* The time of an ALLOC, FREE or REALLOC: read from the clock for one
 * record in tracer.clock_window, interpolated for the others, under the
 * collector's coarse clock as a floor (stamp.h says why). */
static inline uint64_t tracer_stamp(struct tracer_thread *t)
{
    uint64_t floor = atomic_load_explicit(&tracer.seg->coarse_ns, memory_order_relaxed);
    uint64_t guess = stamp_guess(&t->stamp, floor);
    if (ORTHO_UNLIKELY(guess == 0))
        return tracer_stamp_read(t);
    return stamp_advance(&t->slot->last_ts_ns, guess);
}

/* tracer_after when ts does not pass `other`: the thread's guesses may
 * trail (by up to the coarse clock's age, which grows when the collector
 * gets no CPU), so the clock is read. */
static ORTHO_COLD uint64_t tracer_after_slow(struct tracer_thread *t, uint64_t ts, uint64_t other)
{
    uint64_t now = tracer_clock(t);
    stamp_restart(&t->stamp, now, true);
    return stamp_advance(&t->slot->last_ts_ns, stamp_after(ts, now, other));
}

/* ts, a time just taken, moved past `other`, the allocation time of the
 * block being freed or resized, which another thread may have handed out
 * (Lamport's rule, stamp.h): a free never comes before its allocation, and
 * a block freed here and allocated again at once never gets its old
 * allocation time back. */
static inline uint64_t tracer_after(struct tracer_thread *t, uint64_t ts, uint64_t other)
{
    if (ORTHO_LIKELY(stamp_passes(ts, other)))
        return ts;
    return tracer_after_slow(t, ts, other);
}

/* The latest time a thread had handed out when it gave blocks to the
 * central pool or freed a large block (trace_port_handoff): whoever takes
 * them adopts it first, so a block's next allocation time is later than
 * its last, whichever threads' clocks are involved. */
static _Atomic uint64_t tracer_handoff_ns;

static void tracer_publish_handoff(uint64_t ts)
{
    uint64_t seen = atomic_load_explicit(&tracer_handoff_ns, memory_order_relaxed);
    while (seen < ts && !atomic_compare_exchange_weak_explicit(&tracer_handoff_ns, &seen, ts,
                                                               memory_order_release,
                                                               memory_order_relaxed)) {
    }
}

static void tracer_adopt_handoff(struct tracer_thread *t)
{
    uint64_t ts = atomic_load_explicit(&tracer_handoff_ns, memory_order_acquire);
    if (ts > t->slot->last_ts_ns)
        t->slot->last_ts_ns = ts;
}

/* tracer_push when the inline push could not: the end of the room it knew
 * of (a full ring: wait or drop), a window boundary, a pending drop marker,
 * a framed event. Waiting may set errno. */
static ORTHO_COLD void tracer_push_slow(struct tracer_thread *t, const record_t *recs, size_t n)
{
    int saved = errno;
    if (tracer.drop)
        ring_push_or_drop_n(t->ring, recs, n);
    else
        ring_push_blocking_n(t->ring, recs, n, tracer_collector_gone, NULL);
    errno = saved;
}

static inline void tracer_push(struct tracer_thread *t, const record_t *recs, size_t n)
{
    if (ORTHO_LIKELY(ring_push_fast(t->ring, recs, n)))
        return;
    tracer_push_slow(t, recs, n);
}

/* tracer_push for one record built as words (the ALLOC and FREE hooks). */
static inline void tracer_push_words(struct tracer_thread *t, record_words_t w)
{
    if (ORTHO_LIKELY(ring_push_fast_words(t->ring, w)))
        return;
    record_t r = record_from_words(w);
    tracer_push_slow(t, &r, 1);
}

/* Pushes a THREAD_START or THREAD_EXIT with the thread's name. */
static void tracer_push_thread_record(struct tracer_thread *t, unsigned kind)
{
    char name[16];
    tracer_thread_name(name);
    record_t head = {.kind = (uint8_t)kind, .class_index = RECORD_CLASS_NONE,
                     .ts_ns = tracer_now(t)};
    head.payload_bytes = sizeof name;
    record_t frame[2];
    size_t n = record_frame_write(frame, 2, &head, name, sizeof name);
    tracer_push(t, frame, n);
}

static double tracer_uniform(uint64_t *state)
{
    /* xorshift64*: good enough for sampling gaps, no shared state. */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (double)((x * 0x2545f4914f6cdd1dull) >> 11) * 0x1.0p-53;
}

/* The natural logarithm of x > 0, without libm: the library would
 * otherwise load libm into every program it is preloaded into (a /bin/true
 * does not), for this one call. x = m * 2^e with m in [1, 2) from the
 * bits; ln m = 2 atanh(s), s = (m - 1) / (m + 1) <= 1/3, by its series to
 * s^13: relative error below 1e-7, far inside what a sampling gap needs. */
static double tracer_ln(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m;
    memcpy(&m, &bits, sizeof m);
    double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    double series = 1.0 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11 + s2 / 13)))));
    return 2.0 * s * series + (double)e * 0x1.62e42fefa39efp-1; /* ln 2 */
}

/* Bytes to the next sampled allocation: exponential with mean sample_bytes,
 * as heapprofd and jemalloc do, so every byte has the same chance. */
static ORTHO_COLD int64_t tracer_next_sample_gap(segment_slot_t *slot)
{
    double u = tracer_uniform(&slot->rng);
    if (u <= 0.0)
        u = 0x1.0p-53;
    double gap = -tracer_ln(u) * (double)tracer.sample_bytes;
    return gap < 1.0 ? 1 : (gap > 9.0e18 ? INT64_MAX : (int64_t)gap);
}

/* Gives the thread an empty stack memo (stack ids belong to a segment, so
 * a new binding forgets the old ones) and the bounds of its stack. Without
 * either the memo stays off and every stack is unwound. Run at the
 * binding's first stack, not at the binding: a short image that never
 * captures one (a fork child that execs, /bin/true) skips it all, and
 * that work was a good share of such an image's set-up. Emptying a memo
 * the fork child inherited gives its pages back instead of clearing them,
 * which would copy each of them first. Bounds found once hold for the
 * thread's life, and in a fork child, whose thread runs on the same stack
 * at the same address: finding them costs the main thread a read of
 * /proc/self/maps (glibc's pthread_getattr_np). */
static ORTHO_COLD void tracer_memo_prepare(struct tracer_thread *t)
{
    int saved = errno; /* mapping and pthread_getattr_np may set it; malloc's caller must not see it */
    t->memo_ready = true;
    if (t->memo == NULL)
        t->memo = prim_map(sizeof(stackmemo_t)); /* zero-filled */
    else
        prim_release_pages(t->memo, sizeof(stackmemo_t)); /* reads as zeros again */
    if (t->memo != NULL && t->stack.hi == 0)
        stackmemo_thread_bounds(&t->stack); /* empty if unknown; may allocate: untraced here */
    errno = saved;
}

/* One line, once per process: no segment could be added for more threads
 * (err: why; 0: the most segments an image may have). */
static void tracer_report_no_growth(int err)
{
    struct report_line line;
    report_begin(&line);
    report_str(&line, "orthotope: cannot add trace slots for more threads");
    if (err != 0) {
        report_str(&line, " (");
        report_str(&line, strerror(err));
        report_str(&line, ")");
    }
    report_str(&line, tracer.drop ? "; threads beyond the slots there run untraced, their events "
                                    "counted as lost_no_slot"
                                  : "; threads beyond the slots there wait for one to be released");
    if (err == EFBIG)
        report_str(&line, "; raise the file size limit (ulimit -f) or lower ORTHO_TRACE_RING_SIZE");
    report_emit(&line);
}

/* Formats a claimed slot for thread tid and binds t to it. */
static struct tracer_thread *tracer_bind_slot(struct tracer_thread *t, uint32_t tid,
                                              const struct slots_claim *claim)
{
    segment_slot_t *slot = claim->slot;
    slot->generation++;
    atomic_store_explicit(&slot->stacks_truncated, 0, memory_order_relaxed);
    atomic_store_explicit(&slot->stacks_sent, 0, memory_order_relaxed);
    slot->last_ts_ns = 0;
    slot->rng = prim_now_ns() ^ ((uint64_t)tid << 32) ^ 0x9e3779b97f4a7c15ull;
    slot->sample_countdown = tracer.sample_bytes != 0 ? tracer_next_sample_gap(slot) : 0;
    /* The stack cache is not cleared: an entry left by the slot's last
     * thread names a stack of this image that the collector has read (it
     * released the slot only once the ring was drained), so it is still
     * right, and a thread that allocates from a few places touches a few
     * of its pages instead of all 32 KiB. */
    t->slot = slot;
    t->ring = ring_init(claim->ring_mem, claim->ring_bytes, claim->ring_capacity);
    t->tid = tid;
    t->generation = tracer.generation;
    t->fast_unwind = claim->segment == 0 && claim->index < TRACER_FAST_UNWIND_SLOTS;
    t->clock = (clock_view_t){0}; /* a new segment: its own calibration */
    stamp_init(&t->stamp, tracer.clock_window); /* and a read of the clock first */
    tracer_adopt_handoff(t);
    t->memo_ready = false; /* stack ids belong to the segment: tracer_memo_prepare */
    tracer_push_thread_record(t, RECORD_THREAD_START);
    return t;
}

/* Claims a free slot for the calling thread, adding a segment when every
 * slot is taken; NULL if none can be had (drop mode: counted) or tracing
 * stopped while waiting for one. */
static ORTHO_COLD struct tracer_thread *tracer_bind(struct tracer_thread *t)
{
    segment_t *seg = tracer.seg;
    uint32_t tid = prim_thread_id();
    uint64_t deadline = 0, release_deadline = 0;
    for (;;) {
        struct slots_claim claim;
        if (slots_claim(tid, &claim))
            return tracer_bind_slot(t, tid, &claim);
        if (!tracer.drop && slots_exits_pending()) { /* drop mode never waits */
            uint64_t now = prim_now_ns();
            if (release_deadline == 0)
                release_deadline = now + TRACER_RELEASE_WAIT_NS;
            if (now < release_deadline) {
                struct timespec pause = {0, TRACER_RELEASE_POLL_NS};
                nanosleep(&pause, NULL);
                continue;
            }
        }
        int err;
        enum slots_growth growth =
            slots_grow(&tracer.proto, tracer.ring_capacity, tracer.joined, tracer.sock_name, &err);
        if (growth == SLOTS_GREW)
            continue;
        if (growth == SLOTS_FAILED)
            tracer_report_no_growth(err);
        if (tracer.drop) {
            atomic_fetch_add_explicit(&seg->lost_no_slot, 1, memory_order_relaxed);
            return NULL;
        }
        /* Lossless: wait for the collector to release a finished thread's
         * slot, unless it is gone. */
        uint64_t now = prim_now_ns();
        if (deadline == 0)
            deadline = now + TRACER_SLOT_WAIT_NS;
        if (tracer_collector_gone(NULL))
            return NULL;
        if (now > deadline) {
            tracer_stop("no free trace slot for a new thread for 60 s, and no more could be added");
            return NULL;
        }
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
}

/* Whether t holds a slot of the current segment (not none, nor one of
 * the parent's before a fork child re-attached). */
static inline bool tracer_bound(const struct tracer_thread *t)
{
    return t->ring != NULL && t->generation == tracer.generation;
}

/* The calling thread's binding, claiming a slot on first use. */
static struct tracer_thread *tracer_self(void)
{
    struct tracer_thread *t = &tracer_self_state;
    if (ORTHO_LIKELY(tracer_bound(t)))
        return t;
    int saved = errno; /* binding maps memory, reads the thread's stack, may wait */
    t = tracer_bind(t);
    errno = saved;
    return t;
}

/* ---- the fork gate --------------------------------------------------------
 * glibc's dl_iterate_phdr holds a loader lock that fork does not reset: a
 * thread inside it when another thread forks leaves the child a lock no
 * one will release, and the child's first unwind (libunwind looks up
 * every frame's unwind table with dl_iterate_phdr) or module check then
 * hangs for good. The tracer's own unwinds and module checks run inside
 * this gate, and fork waits until none is in flight: a Dekker pair of
 * counters, one atomic add and one load per entry, only on the unwinding
 * path (memo misses). The wait is bounded, since a thread may sit inside
 * an unwind that a signal handler interrupted, or be stopped; a child
 * forked past the bound traces without stacks and says so. The program's
 * own calls of dl_iterate_phdr (an exception thrown, a dlopen) on other
 * threads at the fork are not covered: the lock is glibc's. */
#define TRACER_FORK_GATE_WAIT_NS (2ull * 1000000000ull)

static _Atomic uint32_t tracer_gate_inside;  /* threads inside the gate */
static _Atomic uint32_t tracer_gate_forking; /* forks between prepare and parent/child */

static void tracer_gate_enter(struct tracer_thread *t)
{
    if (t->in_gate++ != 0)
        return; /* nested (a signal handler's forced stack): already counted */
    for (;;) {
        atomic_fetch_add(&tracer_gate_inside, 1);
        if (atomic_load(&tracer_gate_forking) == 0)
            return;
        atomic_fetch_sub(&tracer_gate_inside, 1);
        while (atomic_load_explicit(&tracer_gate_forking, memory_order_relaxed) != 0)
            sched_yield();
    }
}

static void tracer_gate_leave(struct tracer_thread *t)
{
    if (--t->in_gate == 0)
        atomic_fetch_sub_explicit(&tracer_gate_inside, 1, memory_order_release);
}

/* fork's prepare: closes the gate and waits (bounded) for the threads
 * inside it. true when none is left but, perhaps, the forking thread. */
static bool tracer_gate_close(void)
{
    atomic_fetch_add(&tracer_gate_forking, 1);
    uint32_t own = tracer_self_state.in_gate != 0 ? 1u : 0u;
    if (atomic_load(&tracer_gate_inside) == own)
        return own == 0;
    uint64_t deadline = prim_now_ns() + TRACER_FORK_GATE_WAIT_NS;
    while (atomic_load(&tracer_gate_inside) != own) {
        if (prim_now_ns() > deadline)
            return false;
        sched_yield();
    }
    return own == 0;
}

/* ---- modules ------------------------------------------------------------- */

struct tracer_module_scan {
    struct tracer_thread *thread;
    bool announce;                /* false: only read the adds counter */
    unsigned long long adds;
    bool first;
};

/* Pushes a MODULE_LOAD for the module at load bias `bias`, file `path`. */
static void tracer_module_announce(struct tracer_thread *t, uintptr_t bias, const char *path)
{
    size_t len = strlen(path);
    if (len > RECORD_PAYLOAD_BYTES_MAX)
        return;
    record_t head = {.kind = RECORD_MODULE_LOAD, .class_index = RECORD_CLASS_NONE,
                     .addr = (uint64_t)bias, .ts_ns = tracer_now(t)};
    head.payload_bytes = len;
    record_t frame[1 + RECORD_PAYLOAD_RECORDS_MAX];
    size_t n = record_frame_write(frame, sizeof frame / sizeof frame[0], &head, path, len);
    if (n != 0)
        tracer_push(t, frame, n);
}

/* Announces a module the loader names relatively (dlopen of
 * "./libplugin.so", a relative LD_PRELOAD or LD_LIBRARY_PATH entry) by
 * the absolute path of the file the kernel has mapped at its first
 * segment: the working directory may have changed since the load, and the
 * collector may run in another. Nothing for the vDSO or anything else that
 * is no file. Apart, so its path buffer takes stack only in that rare case. */
static ORTHO_NOINLINE void tracer_module_announce_relative(struct tracer_thread *t,
                                                           const struct dl_phdr_info *info)
{
    char absolute[PATH_MAX];
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD) {
            uintptr_t start = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
            /* The vDSO is in every scan: spare it the read of maps. */
            if (start != getauxval(AT_SYSINFO_EHDR) &&
                prim_mapped_path(start, absolute, sizeof absolute))
                tracer_module_announce(t, info->dlpi_addr, absolute);
            return;
        }
}

static int tracer_module_callback(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct tracer_module_scan *scan = arg;
    bool first = scan->first;
    scan->first = false;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs))
        scan->adds = info->dlpi_adds;
    if (!scan->announce)
        return 1; /* the counter is the same in every entry */
    const char *path = info->dlpi_name;
    if (path == NULL || path[0] == '\0')
        path = first ? tracer.exe : NULL;
    if (path == NULL)
        return 0; /* an unnamed object has no file to read */
    if (path[0] == '/')
        tracer_module_announce(scan->thread, info->dlpi_addr, path);
    else
        tracer_module_announce_relative(scan->thread, info);
    return 0;
}

/* Announces the loaded modules if the set changed since the last time
 * (dlopen); cheap otherwise: one dl_iterate_phdr step. Called before a new
 * stack is defined, so the collector has every module a stack points into
 * by the time it symbolizes it. */
static void tracer_check_modules(struct tracer_thread *t)
{
    struct tracer_module_scan scan = {.thread = t, .announce = false, .first = true};
    tracer_gate_enter(t);
    dl_iterate_phdr(tracer_module_callback, &scan);
    tracer_gate_leave(t);
    unsigned long long known = atomic_load_explicit(&tracer.known_adds, memory_order_acquire);
    if (scan.adds == known && known != 0)
        return;
    scan.announce = true;
    scan.first = true;
    tracer_gate_enter(t); /* may wait on a full ring inside: rare (a dlopen) */
    dl_iterate_phdr(tracer_module_callback, &scan);
    tracer_gate_leave(t);
    atomic_store_explicit(&tracer.known_adds, scan.adds, memory_order_release);
}

/* ---- stacks -------------------------------------------------------------- */

static uint64_t tracer_hash_pcs(void *const *pcs, int count)
{
    uint64_t h = 0x84222325cbf29ce4ull ^ (uint64_t)count;
    for (int i = 0; i < count; i++) {
        h ^= (uint64_t)(uintptr_t)pcs[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h != 0 ? h : 1;
}

static uint32_t tracer_stack_id(struct tracer_thread *t, void *const *pcs, int first, int n,
                                int want);

/* Unwinds the calling frame's stack into pcs[0..want): pcs[0] in the
 * caller, then its return addresses, as unw_backtrace gives them (inlined
 * so the frames are the caller's). libunwind's fast tracer, behind
 * unw_backtrace, keeps a 256 KiB cache per thread it runs in, which 4000
 * threads would make a gigabyte: only the threads on the first
 * TRACER_FAST_UNWIND_SLOTS slots use it. The others step frame by frame,
 * about 25 times slower per unwind, which the stack memo leaves to the
 * first two captures of each call path. */
ORTHO_INLINE int tracer_unwind(const struct tracer_thread *t, void **pcs, int want)
{
    if (t->fast_unwind)
        return unw_backtrace(pcs, want);
    unw_context_t context;
    unw_cursor_t cursor;
    int n = 0;
    if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0)
        return 0;
    do {
        unw_word_t ip;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        pcs[n++] = (void *)(uintptr_t)ip;
    } while (n < want && unw_step(&cursor) > 0);
    return n;
}

/* tracer_capture after the memo missed: unwinds the stack, names it (and
 * defines it to the collector if new) and offers the chain to the memo.
 * `here` is the frame of the hook tracer_capture is inlined into, the
 * memo's anchor; this function's own frame lies below it, so of the
 * unwound addresses pcs[0] is in this function, pcs[1] the return into
 * the hook (a slot below the anchor) and pcs[2] the first return address
 * above it. Kept out of the hooks so that a memo hit pays for none of
 * this frame's 3 KiB and saved registers. */
static ORTHO_COLD uint32_t tracer_capture_unwind(struct tracer_thread *t, uintptr_t here, bool force)
{
    stackmemo_t *memo = t->memo_ready ? t->memo : NULL;
    if (ORTHO_UNLIKELY(tracer.fork_gate_missed))
        return RECORD_STACK_NONE;
    int saved = errno; /* the unwinder and a new stack's definition may set it */
    void *pcs[TRACER_MAX_FRAMES + TRACER_EXTRA_FRAMES];
    int want = (int)tracer.depth + TRACER_EXTRA_FRAMES;
    tracer_gate_enter(t);
    int n = tracer_unwind(t, pcs, want);
    tracer_gate_leave(t);
    ring_count_unwind(t->ring); /* stack_unwinds: how often the memo missed */
    /* Our own frames come first; the stack starts at the allocating code. */
    int first = 0;
    while (first < n && (uintptr_t)pcs[first] >= tracer.own_lo && (uintptr_t)pcs[first] < tracer.own_hi)
        first++;
    uint32_t id = tracer_stack_id(t, pcs, first, n, want);
    /* The memo learns the return addresses above the anchor, pcs[2] on,
     * keyed by the return address into the allocating code, pcs[first]:
     * the frames the id names and one more (which says whether the stack
     * was cut), not the rest the unwind asked for (TRACER_EXTRA_FRAMES
     * more): each is a slot every later hit checks. */
    int learn = n - 2 < first - 1 + (int)tracer.depth ? n - 2 : first - 1 + (int)tracer.depth;
    if (memo != NULL && !force && id != RECORD_STACK_NONE && first >= 2 && learn > 0)
        stackmemo_offer(memo, here, &t->stack, pcs + 2, learn, first - 2, id);
    errno = saved;
    return id;
}

/* The stack id for the current call (stacks on): 0 if the sampler skips
 * this allocation of `bytes`. Defines new stacks to the collector.
 * Inlined, with the memo's check, into the hook that calls it, whose
 * frame is the memo's anchor: a memo hit is then no call at all (as a
 * function of its own, its call, prologue and epilogue were some 20
 * instructions an allocation, jq). The rest is tracer_capture_unwind's.
 *
 * Why the frame of any function it is inlined into serves as the anchor
 * of one memo: that function's caller's return address sits just above
 * its frame address (the frame pointer, which __builtin_frame_address
 * makes it keep), so whichever function captures at a given address, the
 * memo's first slot names the code that called it, and each further slot
 * that code's caller. */
ORTHO_INLINE uint32_t tracer_capture(struct tracer_thread *t, uint64_t bytes, bool force,
                                     unsigned *flags)
{
    if (tracer.sample_bytes != 0 && !force) {
        segment_slot_t *slot = t->slot;
        slot->sample_countdown -= (int64_t)(bytes < INT64_MAX ? bytes : INT64_MAX);
        if (slot->sample_countdown > 0)
            return RECORD_STACK_NONE;
        slot->sample_countdown = tracer_next_sample_gap(slot);
        *flags |= RECORD_FLAG_SAMPLED;
    }
    /* The memo is keyed by the hook's frame address: the same call path
     * puts it at the same place. A hit names the stack without unwinding. */
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    /* A forced stack (a corruption report) may come from a signal
     * handler: it does without the memo, neither reading /proc to set it
     * up nor touching one the interrupted code may be writing. */
    if (ORTHO_LIKELY(!force)) {
        if (ORTHO_UNLIKELY(!t->memo_ready))
            tracer_memo_prepare(t);
        if (ORTHO_LIKELY(t->memo != NULL)) { /* NULL: it could not be mapped */
            uint32_t known = stackmemo_find(t->memo, here);
            if (ORTHO_LIKELY(known != 0))
                return known;
        }
    }
    uint32_t id = tracer_capture_unwind(t, here, force);
    /* Never a tail call: tracer_capture_unwind counts on the hook's frame
     * being where `here` says, above its own. */
    __asm__ volatile("" : "+r"(id));
    return id;
}

/* tracer_capture behind the one test that needs no call: stacks off. */
static inline uint32_t tracer_stack(struct tracer_thread *t, uint64_t bytes, bool force,
                                    unsigned *flags)
{
    if (tracer.depth == 0)
        return RECORD_STACK_NONE;
    return tracer_capture(t, bytes, force, flags);
}

/* The id of the unwound stack pcs[first..n) (want: frames asked for),
 * defining it to the collector if this thread has not sent it yet. */
static uint32_t tracer_stack_id(struct tracer_thread *t, void *const *pcs, int first, int n,
                                int want)
{
    segment_slot_t *slot = t->slot;
    int count = n - first;
    bool truncated = n == want;
    if (count > (int)tracer.depth) {
        count = (int)tracer.depth;
        truncated = true;
    }
    if (count <= 0)
        return RECORD_STACK_NONE;
    uint64_t hash = tracer_hash_pcs(pcs + first, count);
    segment_stack_entry_t *entry =
        &segment_stack_cache(slot)[hash & (SEGMENT_STACK_CACHE_ENTRIES - 1)];
    if (entry->hash == hash && entry->id != 0)
        return entry->id;
    uint32_t id = atomic_fetch_add_explicit(&tracer.seg->next_stack_id, 1, memory_order_relaxed) + 1;
    tracer_check_modules(t);
    uint64_t frames[TRACER_MAX_FRAMES];
    for (int i = 0; i < count; i++)
        frames[i] = (uint64_t)(uintptr_t)pcs[first + i];
    record_t head = {.kind = RECORD_STACK_DEF, .class_index = RECORD_CLASS_NONE,
                     .flags = truncated ? RECORD_FLAG_TRUNCATED : 0, .stack_id = id,
                     .ts_ns = tracer_now(t)};
    head.payload_bytes = (uint64_t)count * sizeof(uint64_t);
    record_t frame[1 + (TRACER_MAX_FRAMES * 8 + RECORD_BYTES - 1) / RECORD_BYTES];
    size_t records = record_frame_write(frame, sizeof frame / sizeof frame[0], &head, frames,
                                        head.payload_bytes);
    tracer_push(t, frame, records);
    atomic_fetch_add_explicit(&slot->stacks_sent, 1, memory_order_relaxed);
    if (truncated)
        atomic_fetch_add_explicit(&slot->stacks_truncated, 1, memory_order_relaxed);
    entry->hash = hash;
    entry->id = id;
    return id;
}

/* ---- hooks --------------------------------------------------------------- */

/* Whether a call on this thread must not be traced: it is nested inside a
 * hook, or tracing is off. */
ORTHO_INLINE bool tracer_quiet(const struct tracer_thread *t)
{
    return t->busy || !__atomic_load_n(&trace_port_on, __ATOMIC_RELAXED);
}

/* Enters a hook: the thread's binding, or NULL when this call must not be
 * traced (tracer_quiet, or no slot). */
ORTHO_INLINE struct tracer_thread *tracer_enter(void)
{
    struct tracer_thread *t = &tracer_self_state;
    if (tracer_quiet(t))
        return NULL;
    t->busy = 1;
    if (tracer_self() == NULL) {
        t->busy = 0;
        return NULL;
    }
    return t;
}

ORTHO_INLINE void tracer_leave(struct tracer_thread *t)
{
    t->busy = 0;
}

/* The record's class byte for a trace port class argument: size classes
 * keep their index, the large path and "none" have their own values. */
_Static_assert(ORTHO_CLASS_MAX < RECORD_CLASS_LARGE && ORTHO_CLASS_MAX < RECORD_CLASS_NONE,
               "a record's class byte holds every class index and both markers");
static unsigned tracer_record_class(unsigned port_class)
{
    if (port_class == TRACE_PORT_CLASS_LARGE)
        return RECORD_CLASS_LARGE;
    return port_class == TRACE_PORT_CLASS_NONE ? RECORD_CLASS_NONE : port_class;
}

/* A trace port entry is the record's entry field unchanged. */
#define TRACER_SAME_ENTRY(name) ((unsigned)TRACE_PORT_ENTRY_##name == (unsigned)RECORD_ENTRY_##name)
_Static_assert(TRACER_SAME_ENTRY(MALLOC) && TRACER_SAME_ENTRY(CALLOC) && TRACER_SAME_ENTRY(REALLOC) &&
                   TRACER_SAME_ENTRY(REALLOC_NULL) && TRACER_SAME_ENTRY(ALIGNED) &&
                   TRACER_SAME_ENTRY(NEW) && TRACER_SAME_ENTRY(API),
               "trace port entries pass into the record unchanged");
#undef TRACER_SAME_ENTRY

/* Fills the block's tag and pushes its ALLOC (or, with `from`, a REALLOC
 * whose payload names the allocation it replaces), its flags carrying the
 * entry point (RECORD_ENTRY_*, masked: a stray value cannot touch a flag).
 * Inlined into its two hooks: as a call of its own it cost 30 instructions
 * an allocation more (jq under cachegrind). */
ORTHO_INLINE void tracer_record_alloc(struct tracer_thread *t, void *p, uint64_t requested,
                                      uint64_t usable, unsigned port_class, unsigned entry,
                                      trace_port_tag_t *tag, const record_realloc_from_t *from)
{
    unsigned flags = (entry << RECORD_ENTRY_SHIFT) & RECORD_ENTRY_MASK;
    uint32_t stack = tracer_stack(t, requested, false, &flags);
    unsigned cls = tracer_record_class(port_class);
    if (ORTHO_UNLIKELY(cls == RECORD_CLASS_LARGE))
        tracer_adopt_handoff(t); /* a mapping another thread may have freed */
    uint64_t ts = tracer_stamp(t);
    if (from != NULL)
        ts = tracer_after(t, ts, from->old_alloc_ts_ns); /* its new time must pass its old one */
    *tag = (trace_port_tag_t){.alloc_ts_ns = ts, .stack_id = stack, .thread_id = t->tid};
    if (ORTHO_LIKELY(from == NULL && cls != RECORD_CLASS_LARGE)) {
        tracer_push_words(t, record_words_alloc((uint64_t)(uintptr_t)p, requested, cls, stack,
                                                flags, ts));
        return;
    }
    record_t recs[2];
    recs[0] = record_make_alloc((uint64_t)(uintptr_t)p, requested, cls, stack, flags, ts);
    size_t n = 1;
    if (from != NULL) {
        recs[0].kind = RECORD_REALLOC;
        recs[0].flags |= RECORD_FLAG_IN_PLACE;
        recs[0].payload_records = 1;
        memcpy(&recs[1], from, sizeof *from);
        n = 2;
    } else if (cls == RECORD_CLASS_LARGE) {
        record_alloc_large_t large = {.usable_bytes = usable};
        recs[0].payload_records = 1;
        memcpy(&recs[1], &large, sizeof large);
        n = 2;
    }
    tracer_push(t, recs, n);
}

/* The allocation hooks (alloc, free, resized, event) keep errno as they
 * found it without saving it: nothing on their common path can change it,
 * and the parts that can (binding a slot, unwinding, waiting on a full
 * ring) save it themselves. */

/* tracer_alloc_hook's class and entry point share one argument, the class
 * in the low TRACER_CLASS_BITS bits (tracer_class_entry packs them). */
#define TRACER_CLASS_BITS 16u

ORTHO_INLINE unsigned tracer_class_entry(unsigned cls, unsigned entry)
{
    return (cls & ((1u << TRACER_CLASS_BITS) - 1)) | entry << TRACER_CLASS_BITS;
}

/* The body of both allocation hooks, out of line: one copy of the stack
 * capture and its memo check in the instruction cache, not one in each
 * hook. In sqlite3, which allocates and resizes in place in turn, the
 * resize hook's copy was 13 instruction-cache misses a call (cachegrind).
 * Class and entry in one argument let trace_port_alloc pass its six in
 * registers and end in a jump here. Its frame is the memo's anchor. */
static ORTHO_NOINLINE void *tracer_alloc_hook(void *p, uint64_t requested, uint64_t usable,
                                              unsigned cls_entry, trace_port_tag_t *tag,
                                              const record_realloc_from_t *from)
{
    struct tracer_thread *t = tracer_enter();
    if (t != NULL) {
        tracer_record_alloc(t, p, requested, usable,
                            cls_entry & ((1u << TRACER_CLASS_BITS) - 1),
                            cls_entry >> TRACER_CLASS_BITS, tag, from);
        tracer_leave(t);
    }
    return p;
}

void *trace_port_alloc(void *p, uint64_t requested, uint64_t usable, unsigned cls,
                       trace_port_entry_t entry, trace_port_tag_t *tag)
{
    return tracer_alloc_hook(p, requested, usable, tracer_class_entry(cls, entry), tag, NULL);
}

/* trace_port_free's general path: binding the thread, reading the clock,
 * a large block's handoff, a full ring. */
static ORTHO_NOINLINE void tracer_free_slow(const void *p, unsigned cls,
                                            const trace_port_tag_t *tag)
{
    struct tracer_thread *t = tracer_enter();
    if (t != NULL) {
        unsigned record_class = tracer_record_class(cls);
        uint64_t ts = tracer_after(t, tracer_stamp(t), tag->alloc_ts_ns);
        if (ORTHO_UNLIKELY(record_class == RECORD_CLASS_LARGE))
            tracer_publish_handoff(ts); /* the mapping may be reused by any thread */
        tracer_push_words(t, record_words_free((uint64_t)(uintptr_t)p, record_class,
                                               tag->alloc_ts_ns, tag->stack_id, ts));
        tracer_leave(t);
    }
}

/* The common FREE, made of no call: a bound thread, a block that is not
 * large, a guessed time that passes the block's allocation time, room in
 * the ring. Everything is checked before anything is changed, so false
 * leaves it all to tracer_free_slow, which does the same steps in full.
 * With no call, the hook needs no saved registers: the prologue and
 * epilogue they cost were 14 of a FREE's 78 instructions (jq). */
ORTHO_INLINE bool tracer_free_fast(struct tracer_thread *t, const void *p, unsigned cls,
                                   const trace_port_tag_t *tag)
{
    unsigned record_class = tracer_record_class(cls);
    if (ORTHO_UNLIKELY(!tracer_bound(t) || record_class == RECORD_CLASS_LARGE))
        return false;
    uint64_t floor = atomic_load_explicit(&tracer.seg->coarse_ns, memory_order_relaxed);
    uint64_t guess = stamp_peek(&t->stamp, floor);
    if (ORTHO_UNLIKELY(guess == 0))
        return false;
    uint64_t ts = stamp_next(t->slot->last_ts_ns, guess);
    if (ORTHO_UNLIKELY(!stamp_passes(ts, tag->alloc_ts_ns)))
        return false;
    uint64_t head = ring_head_mine(t->ring);
    if (ORTHO_UNLIKELY(!ring_fast_room(t->ring, head, 1)))
        return false;
    stamp_take(&t->stamp, guess);
    t->slot->last_ts_ns = ts;
    ring_put_words(t->ring, head, record_words_free((uint64_t)(uintptr_t)p, record_class,
                                                    tag->alloc_ts_ns, tag->stack_id, ts));
    return true;
}

void trace_port_free(const void *p, uint64_t requested, unsigned cls, const trace_port_tag_t *tag)
{
    (void)requested; /* the collector knows it from the ALLOC */
    struct tracer_thread *t = &tracer_self_state;
    if (tracer_quiet(t))
        return;
    /* busy while the record is written: a signal handler's free in the
     * middle must not write the same slot. */
    t->busy = 1;
    bool done = tracer_free_fast(t, p, cls, tag);
    t->busy = 0;
    if (ORTHO_UNLIKELY(!done))
        tracer_free_slow(p, cls, tag);
}

void trace_port_resized(void *p, uint64_t requested, uint64_t usable, unsigned cls,
                        trace_port_tag_t *tag, const trace_port_tag_t *old, unsigned old_cls)
{
    record_realloc_from_t from = {.old_addr = (uint64_t)(uintptr_t)p,
                                  .old_alloc_ts_ns = old->alloc_ts_ns,
                                  .new_usable_bytes = usable,
                                  .old_class_index = (uint8_t)tracer_record_class(old_cls)};
    tracer_alloc_hook(p, requested, usable, tracer_class_entry(cls, RECORD_ENTRY_REALLOC), tag,
                      &from);
}

/* The record kind of each trace port event. */
static const uint8_t tracer_event_kinds[] = {
    [TRACE_PORT_CACHE_REFILL] = RECORD_CACHE_REFILL, [TRACE_PORT_CACHE_DRAIN] = RECORD_CACHE_DRAIN,
    [TRACE_PORT_ARENA_CARVE] = RECORD_ARENA_CARVE,   [TRACE_PORT_LARGE_MAP] = RECORD_LARGE_MAP,
    [TRACE_PORT_LARGE_UNMAP] = RECORD_LARGE_UNMAP,   [TRACE_PORT_OS_RELEASE] = RECORD_OS_RELEASE,
};
_Static_assert(TRACE_PORT_FROM_POOL == RECORD_REFILL_FROM_POOL &&
                   TRACE_PORT_FROM_ARENA == RECORD_REFILL_FROM_ARENA,
               "a refill's source passes through unchanged");

/* Pushes one event record of `kind` (a record kind). The allocator's own
 * events (refills, drains, carves, ...) are recorded also inside a hook -
 * an allocation of the unwinder's, or of pthread_getattr_np while the
 * thread binds - whenever the thread has a ring: pushing one record calls
 * nothing that allocates, so it cannot recurse. Skipping them left the
 * collector's cache and pool gauges short of every block such a refill
 * brought (B256 read -512 after two threads bound). The nested allocation
 * itself stays untraced, as before. */
static void tracer_record_event(unsigned kind, unsigned cls, uint64_t addr, uint64_t word)
{
    struct tracer_thread *t = &tracer_self_state;
    bool nested = t->busy;
    if (nested) {
        if (!tracer_bound(t) || !__atomic_load_n(&trace_port_on, __ATOMIC_RELAXED))
            return;
    } else if ((t = tracer_enter()) == NULL) {
        return;
    }
    if (kind == RECORD_CACHE_REFILL)
        tracer_adopt_handoff(t); /* blocks other threads may have allocated */
    record_t r = {.kind = (uint8_t)kind, .class_index = (uint8_t)tracer_record_class(cls),
                  .addr = addr, .ts_ns = tracer_now(t)};
    r.count = word;
    tracer_push(t, &r, 1);
    if (!nested)
        tracer_leave(t);
}

void trace_port_handoff(void)
{
    const struct tracer_thread *t = &tracer_self_state;
    /* A thread that never stamped a record has no time to hand on. A
     * cache emptied by another thread (one that died without its exit
     * hook) hands on the emptier's time, which may trail the dead
     * thread's by the few microseconds an interpolation can run ahead. */
    if (tracer_bound(t))
        tracer_publish_handoff(t->slot->last_ts_ns);
}

void trace_port_event(trace_port_event_t kind, unsigned cls, uint64_t addr, uint64_t word)
{
    if (!tracer.counted)
        return; /* before the start-up snapshot, which counts it */
    if ((unsigned)kind < sizeof tracer_event_kinds && tracer_event_kinds[kind] != 0)
        tracer_record_event(tracer_event_kinds[kind], cls, addr, word);
}

void trace_port_corruption(const char *call, const char *kind, const void *p, unsigned cls,
                           const void *header, const trace_port_tag_t *alloc)
{
    int saved = errno;
    struct tracer_thread *t = tracer_enter();
    if (t != NULL) {
        record_corruption_t body;
        memset(&body, 0, sizeof body);
        unsigned flags = 0;
        if (header != NULL) {
            memcpy(body.header, header, RECORD_CORRUPTION_HEADER_BYTES);
            flags |= RECORD_FLAG_HEADER;
        }
        if (alloc != NULL) { /* from the header, or kept by the allocator (guard slots) */
            body.alloc_tid = alloc->thread_id;
            body.alloc_stack_id = alloc->stack_id;
        }
        uint32_t stack = tracer_stack(t, 0, true, &flags);
        record_t head = {.kind = RECORD_CORRUPTION,
                         .class_index = (uint8_t)tracer_record_class(cls),
                         .flags = (uint8_t)flags, .stack_id = stack,
                         .addr = (uint64_t)(uintptr_t)p, .ts_ns = tracer_now(t)};
        record_t frame[RECORD_CORRUPTION_FRAME_MAX];
        size_t n = record_corruption_write(frame, RECORD_CORRUPTION_FRAME_MAX, &head, &body,
                                           kind[0] != '\0' ? kind : "unknown", call);
        tracer_push(t, frame, n);
        tracer_leave(t);
    }
    errno = saved;
}

void trace_port_thread_exit(void)
{
    struct tracer_thread *t = &tracer_self_state;
    if (!tracer_bound(t) || tracer_quiet(t))
        return;
    t->busy = 1;
    tracer_push_thread_record(t, RECORD_THREAD_EXIT);
    ring_close(t->ring);
    slots_note_exit();
    t->ring = NULL;
    t->slot = NULL;
    if (t->memo != NULL) {
        prim_unmap(t->memo, sizeof(stackmemo_t));
        t->memo = NULL;
    }
    t->busy = 0;
}

void trace_port_finish(void)
{
    if (!__atomic_load_n(&trace_port_on, __ATOMIC_RELAXED) || tracer.seg == NULL)
        return;
    int saved = errno;
    if (!tracer_take_ack(true)) {
        errno = saved;
        return;
    }
    segment_t *seg = tracer.seg;
    atomic_store_explicit(&seg->exit_acked, 0, memory_order_relaxed);
    atomic_store_explicit(&seg->exit_requested, SEGMENT_EXIT_WAIT, memory_order_seq_cst);
    uint32_t collector = __atomic_load_n(&tracer.collector_pid, __ATOMIC_RELAXED);
    if (collector != 0)
        kill((pid_t)collector, SEGMENT_EXIT_WAKE_SIGNAL); /* see segment.h */
    uint64_t deadline = prim_now_ns() + TRACER_FINISH_WAIT_NS;
    while (!atomic_load_explicit(&seg->exit_acked, memory_order_acquire)) {
        if (tracer_collector_gone(NULL) || prim_now_ns() > deadline)
            break;
        /* Woken by the collector's ack; the slice bounds how long a
         * collector that died or abandoned the segment keeps us. */
        prim_wait_while((const uint32_t *)&seg->exit_acked, 0, TRACER_FINISH_SLICE_NS, true);
    }
    atomic_store_explicit(&seg->exit_requested, 0, memory_order_relaxed);
    errno = saved;
}

/* ---- segment set-up ------------------------------------------------------ */

/* Finds the text range of this library: its frames are not the caller's. */
static int tracer_own_range_callback(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    uintptr_t self = (uintptr_t)tracer_own_range_callback;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (self >= lo && self < hi) {
            tracer.own_lo = lo;
            tracer.own_hi = hi;
            return 1;
        }
    }
    return 0;
}

/* Fills tracer.proto, the identity and settings every segment of this
 * image states, and creates segment 0 from it. false: errno says why. */
static bool tracer_make_segment(unsigned via, uint32_t ppid, int *memfd_out)
{
    segment_t *proto = &tracer.proto;
    memset(proto, 0, sizeof *proto);
    proto->pid = (uint32_t)getpid();
    proto->ppid = ppid;
    proto->via = via;
    proto->mode = tracer.mode;
    proto->stack_depth = tracer.depth;
    proto->overflow_drop = tracer.drop;
    proto->sample_bytes = tracer.sample_bytes;
    proto->clock_source = tracer.tsc ? SEGMENT_CLOCK_TSC : SEGMENT_CLOCK_MONOTONIC;
    proto->classes = *trace_port_class_table();
    memcpy(proto->exe, tracer.exe, sizeof proto->exe);
    memcpy(proto->cmdline, tracer.cmdline, sizeof proto->cmdline);
    proto->start_ns = prim_now_ns();
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    proto->start_realtime_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
    /* Only the tree's first process (also after it execs) keeps the
     * configured ring for its first threads; images it forks or execs
     * take segment 1's (slots.h). */
    tracer.joined = via == SEGMENT_VIA_FORK ||
                    (via == SEGMENT_VIA_EXEC && !launch_started_by(tracer.sock_name, proto->pid));
    size_t bytes;
    segment_t *seg =
        slots_make_segment(proto, 0, tracer.ring_capacity, tracer.joined, &bytes, memfd_out);
    if (seg == NULL)
        return false;
    tracer.seg = seg;
    tracer.seg_bytes = bytes;
    return true;
}

/* The one line for a segment the file size limit (ulimit -f) refuses. */
static void tracer_report_file_limit(void)
{
    launch_report_off("the shared trace segment would exceed the file size limit (ulimit -f)",
                      NULL, 0, "raise the limit or lower ORTHO_TRACE_RING_SIZE");
}

/* Makes a segment for this image and hands it to the collector at
 * tracer.sock_name. On failure prints one line; tracing stays off. */
static bool tracer_attach(unsigned via, uint32_t ppid)
{
    int memfd;
    if (!tracer_make_segment(via, ppid, &memfd)) {
        if (errno == EFBIG)
            tracer_report_file_limit();
        else
            launch_report_off("cannot create the shared trace segment", NULL, errno, NULL);
        return false;
    }
    /* Not waiting for the answer: the collector registers the image while
     * it runs on (a fork child that execs, an exec loop's every image,
     * waited about 150 us here each). It is taken when something needs
     * it (tracer_take_ack). */
    int err = launch_register_send(tracer.sock_name, memfd, tracer.seg_bytes, &tracer.pending);
    close(memfd);
    if (err != 0) {
        munmap(tracer.seg, tracer.seg_bytes);
        tracer.seg = NULL;
        launch_report_off("cannot reach the trace collector at @", tracer.sock_name, err,
                          err == EPERM ? "it runs as another user, so it gets nothing"
                                       : "it has exited or ORTHO_TRACE_SOCK is stale");
        return false;
    }
    __atomic_store_n(&tracer.collector_pid, 0, __ATOMIC_RELAXED);
    atomic_store_explicit(&tracer.ack, TRACER_ACK_PENDING, memory_order_release);
    slots_adopt_first(tracer.seg, tracer.seg_bytes);
    tracer.generation++;
    return true;
}

/* Turns tracing on (trace_port_on) and tells the collector what caches and
 * pools hold and how many blocks the arena has carved at this moment: its
 * gauges start from there, so cached + pooled + live never exceeds carved.
 * This thread binds first - binding allocates (pthread_getattr_np), and
 * what it takes must be in the counts - and the allocator's events are
 * dropped until the snapshot is sent (tracer.counted), so none is counted
 * twice. Runs while the process is single-threaded in practice
 * (constructor, fork child). */
static void tracer_turn_on(void)
{
    __atomic_store_n(&trace_port_on, 1, __ATOMIC_RELEASE);
    struct tracer_thread *t = tracer_enter();
    if (t != NULL)
        tracer_leave(t);
    ortho_stats_t stats;
    ortho_stats(&stats);
    for (unsigned cls = 0; cls < stats.class_count; cls++) {
        if (stats.classes[cls].cached_blocks != 0)
            tracer_record_event(RECORD_CACHE_REFILL, cls, RECORD_REFILL_SNAPSHOT,
                                stats.classes[cls].cached_blocks);
        if (stats.classes[cls].pool_blocks != 0)
            tracer_record_event(RECORD_CACHE_DRAIN, cls, RECORD_REFILL_SNAPSHOT,
                                stats.classes[cls].pool_blocks);
        if (stats.classes[cls].carved_blocks != 0)
            tracer_record_event(RECORD_ARENA_CARVE, cls, RECORD_REFILL_SNAPSHOT,
                                stats.classes[cls].carved_blocks);
    }
    tracer.counted = true;
}

/* The default database name: ortho-PROGRAM-PID.db in the working directory. */
static void tracer_default_db(char *out, size_t cap)
{
    struct report_line name;
    report_begin(&name);
    report_str(&name, "ortho-");
    const char *prog = program_invocation_short_name;
    report_str(&name, prog != NULL && prog[0] != '\0' ? prog : "program");
    report_str(&name, "-");
    report_u64(&name, (uint64_t)getpid());
    report_str(&name, ".db");
    size_t len = name.len < cap - 1 ? name.len : cap - 1;
    memcpy(out, name.text, len);
    out[len] = '\0';
}

/* Whether the time-stamp counter can stand in for CLOCK_MONOTONIC: only
 * when the kernel keeps that clock on it (it then vouches that the counter
 * is invariant and synchronised across CPUs). ORTHO_TRACE_CLOCK=monotonic
 * forces clock_gettime. */
static bool tracer_tsc_usable(const struct options *opts)
{
    if (!CLOCK_HAVE_TSC || opts->trace_clock == OPTIONS_CLOCK_MONOTONIC)
        return false;
    char source[16] = {0};
    int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                  O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t got = read(fd, source, sizeof source - 1);
    close(fd);
    return got >= 3 && memcmp(source, "tsc", 3) == 0 && (got == 3 || source[3] == '\n');
}

/* Reads /proc/self/cmdline into tracer.cmdline (cut to fit, always
 * NUL-terminated; empty if unreadable). Only the segment carries it: the
 * collector reads the kernel's copy while the process lives. */
static void tracer_read_cmdline(void)
{
    memset(tracer.cmdline, 0, sizeof tracer.cmdline);
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t have = 0;
    ssize_t got;
    while (have < sizeof tracer.cmdline - 1 &&
           ((got = read(fd, tracer.cmdline + have, sizeof tracer.cmdline - 1 - have)) > 0 ||
            (got < 0 && errno == EINTR)))
        if (got > 0)
            have += (size_t)got;
    close(fd);
}

/* Sets tracing up for this image; false when it was asked for and failed
 * (the reason already printed). */
static bool tracer_setup(void)
{
    /* Most processes are untraced: leave before touching anything. */
    if (prim_getenv("ORTHO_TRACE") == NULL || launch_never_trace())
        return true;
    const char *inherited = prim_getenv("ORTHO_TRACE_SOCK");
    if (inherited != NULL && strcmp(inherited, TRACER_SOCK_OFF) == 0)
        return true; /* an ancestor already said why tracing is off */
    /* Options come from the one table, read once for the whole process. */
    const struct options *opts = options_process();
    if (opts->trace_mode == OPTIONS_TRACE_OFF)
        return true;
    tracer.mode = opts->trace_mode == OPTIONS_TRACE_FULL ? SEGMENT_MODE_FULL : SEGMENT_MODE_SUMMARY;
    tracer.depth = opts->trace_stacks;
    tracer.sample_bytes = opts->trace_sample;
    tracer.drop = opts->trace_overflow == 1;
    tracer.exit_nowait = opts->trace_exit == 1;
    uint64_t capacity = opts->trace_ring_bytes / RECORD_BYTES;
    uint32_t pow2 = RING_MIN_CAPACITY;
    while ((uint64_t)pow2 * 2 <= capacity && pow2 < (1u << 23))
        pow2 *= 2;
    tracer.ring_capacity = pow2 < 512 ? 512 : pow2;
    dl_iterate_phdr(tracer_own_range_callback, NULL);
    tracer.tsc = tracer_tsc_usable(opts);
    /* Interpolated times only where every path a block takes between
     * threads passes trace_port_handoff: not through full checking's
     * quarantine or the guard pool. */
    tracer.clock_window = opts->trace_clock == OPTIONS_CLOCK_AUTO &&
                                  opts->check == OPTIONS_CHECK_DEFAULT && opts->guard_sample == 0
                              ? STAMP_WINDOW
                              : 1;
    ssize_t len = readlink("/proc/self/exe", tracer.exe, sizeof tracer.exe - 1);
    tracer.exe[len > 0 ? len : 0] = '\0';
    tracer_read_cmdline();

    const char *sock = prim_getenv("ORTHO_TRACE_SOCK");
    unsigned via = SEGMENT_VIA_EXEC;
    if (sock != NULL && sock[0] != '\0') {
        if (strlen(sock) >= sizeof tracer.sock_name)
            return false;
        memcpy(tracer.sock_name, sock, strlen(sock) + 1);
    } else {
        via = SEGMENT_VIA_ROOT;
        /* Refused before a collector is started for nothing. An image that
         * joins a tree makes smaller rings (slots.h): tracer_attach tells
         * it the same if even those do not fit. */
        if (!slots_fit_file_limit(slots_segment_bytes(0, tracer.ring_capacity, false))) {
            tracer_report_file_limit();
            return false;
        }
        char collector[1024], db[1024];
        if (!launch_find_collector((const char *)(uintptr_t)opts->trace_collector, collector,
                                   sizeof collector)) {
            launch_report_off("the trace collector is not installed at ", collector, 0,
                              "set ORTHO_TRACE_COLLECTOR to its path");
            return false;
        }
        if (opts->trace_db != 0) {
            const char *path = (const char *)(uintptr_t)opts->trace_db;
            size_t plen = strlen(path);
            if (plen >= sizeof db)
                return false;
            memcpy(db, path, plen + 1);
        } else {
            tracer_default_db(db, sizeof db);
        }
        struct launch_request req = {.collector_path = collector, .db_path = db,
                                     .mode = tracer.mode, .interval_ms = opts->trace_interval_ms};
        if (!launch_collector(&req, tracer.sock_name, sizeof tracer.sock_name))
            return false;
        /* Exec'd children find this collector through the environment. */
        setenv("ORTHO_TRACE_SOCK", tracer.sock_name, 1);
    }
    if (!tracer_attach(via, (uint32_t)getppid()))
        return false;
    tracer_turn_on();
    return true;
}

/* Constructor body: reads the ORTHO_TRACE* options, sets everything up, or
 * prints one line and leaves tracing off. */
static void tracer_start(void)
{
    /* A failure says so once for the whole process tree: descendants
     * (a make, a shell script, pyenv's shims) inherit the marker and stay
     * quietly untraced instead of each repeating the same line. */
    if (!tracer_setup())
        setenv("ORTHO_TRACE_SOCK", TRACER_SOCK_OFF, 1);
}

void trace_port_fork_prepare(void)
{
    /* Closed whether tracing is on or not: a thread may still be in an
     * unwind begun before tracing stopped. */
    tracer_self_state.gate_missed = !tracer_gate_close();
    if (__atomic_load_n(&trace_port_on, __ATOMIC_RELAXED) && tracer.seg != NULL)
        atomic_fetch_add_explicit(&tracer.seg->forks_started, 1, memory_order_relaxed);
}

void trace_port_fork_parent(void)
{
    atomic_fetch_sub(&tracer_gate_forking, 1);
}

void trace_port_fork_child_detach(void)
{
    /* The forking thread is the only one left: the gate counts it alone. */
    atomic_store(&tracer_gate_forking, 0);
    atomic_store(&tracer_gate_inside, tracer_self_state.in_gate != 0 ? 1u : 0u);
    if (tracer_self_state.gate_missed && !tracer.fork_gate_missed) {
        tracer.fork_gate_missed = true;
        struct report_line line;
        report_begin(&line);
        report_str(&line, "orthotope: this forked child traces its allocations without call "
                          "stacks: a thread of its parent was still unwinding at the fork and may "
                          "hold the loader's lock for good");
        report_emit(&line);
    }
    tracer.fork_child_attach = __atomic_load_n(&trace_port_on, __ATOMIC_RELAXED);
    if (!tracer.fork_child_attach)
        return;
    /* Nothing may reach the parent's rings: hooks and events stay off
     * until the child has a segment of its own, and events until its
     * snapshot is sent. */
    __atomic_store_n(&trace_port_on, 0, __ATOMIC_RELAXED);
    tracer.counted = false;
    /* The parent's segment is shared memory: the child must never write
     * its rings. Drop the mapping and start a segment of our own. */
    uint32_t parent = tracer.seg != NULL ? tracer.seg->pid : 0;
    slots_unmap_all(); /* segment 0 among them */
    tracer.seg = NULL;
    tracer_self_state.ring = NULL;
    tracer_self_state.slot = NULL;
    tracer_self_state.busy = 0;
    /* The new segment's collector state knows no modules yet. */
    atomic_store_explicit(&tracer.known_adds, 0, memory_order_relaxed);
    /* The parent's unanswered registration is the parent's to read. */
    if (atomic_load_explicit(&tracer.ack, memory_order_relaxed) != TRACER_ACK_NONE)
        launch_register_forget(&tracer.pending);
    atomic_store_explicit(&tracer.ack, TRACER_ACK_NONE, memory_order_relaxed);
    tracer.fork_parent_pid = parent;
}

void trace_port_fork_child(void)
{
    if (!tracer.fork_child_attach)
        return;
    tracer.fork_child_attach = false;
    if (!tracer_attach(SEGMENT_VIA_FORK, tracer.fork_parent_pid))
        return;
    tracer_turn_on();
}

__attribute__((constructor)) static void tracer_constructor(void)
{
    tracer_start();
}

/* A clean exit with ORTHO_TRACE_EXIT=nowait: says so and leaves. Its
 * records stay in the shared segment, which the collector reads to the
 * end once it sees the process gone (an image not yet registered then is
 * registered from the memfd still in the socket). The registration's
 * answer is only looked at: a refusal that came is still said. */
static void tracer_exit_nowait(void)
{
    if (!__atomic_load_n(&trace_port_on, __ATOMIC_RELAXED) || tracer.seg == NULL)
        return;
    int saved = errno;
    if (tracer_take_ack(false))
        atomic_store_explicit(&tracer.seg->exit_requested, SEGMENT_EXIT_NOWAIT,
                              memory_order_release);
    errno = saved;
}

__attribute__((destructor)) static void tracer_destructor(void)
{
    if (tracer.exit_nowait)
        tracer_exit_nowait();
    else
        trace_port_finish();
}
