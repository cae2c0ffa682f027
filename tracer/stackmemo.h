/* stackmemo.h - a per-thread memo that lets a traced allocation name its
 * call stack without unwinding it again. Unwinding (libunwind) costs about
 * 20 ns per frame; most allocations come from a stack the thread has just
 * unwound. After an unwind, the memo learns where on the stack each return
 * address of the chain was found and what it was; the next capture from the
 * same point (the same `here`, an address in the capturing function's own
 * frame) checks those few stack words and, if every one still holds its
 * return address, reuses the stack id: a handful of loads instead of an
 * unwind.
 *
 * Why a match means the same stack: frame k's return-address slot sits at
 * a fixed distance above frame k-1's, given the code address frame k-1 is
 * executing (its frame size). With the same `here` and the same return
 * address found in every slot, each frame resumes at the same code with
 * the same frame, so an unwind would walk the same chain. What can fool it
 * is a frame whose size varies at one code address (alloca, variable
 * length arrays) while a stale copy of an old return address survives
 * exactly where the old slot was; the result would be a wrong (older)
 * stack for that one allocation, never a crash. Memory is only ever read
 * inside the thread's own stack, between `here` and the top recorded when
 * the thread was bound; a capture on another stack (a coroutine, a signal
 * stack) neither uses nor fills the memo.
 *
 * Learning costs a scan of the stack words between the frames, so it is
 * spent where it pays: on a stack seen at least once before on this thread
 * (most stacks that repeat, repeat soon), and never again on one whose
 * scan failed (a frame larger than the scan limit).
 *
 * Pure functions of the memo and the memory they are given: no lock, no
 * malloc, no system call; the unit tests drive them with arrays. The memo
 * itself is private to its thread (the tracer maps one per thread). */
#ifndef ORTHO_TRACER_STACKMEMO_H
#define ORTHO_TRACER_STACKMEMO_H

#include <stdbool.h>
#include <stdint.h>

/* Chains longer than this (return addresses above the capturing frame)
 * are not memoised; they unwind every time. */
#define STACKMEMO_MAX_FRAMES 48
/* Entries: sets chosen by `here`, ways tried in turn within a set. Many
 * stacks share one `here` (every call site at the same depth), so a set
 * has many ways, each with a small tag checked before its entry. */
#define STACKMEMO_SETS 16u
#define STACKMEMO_WAYS 16u
/* Stack ids remembered as seen once, or as not learnable, by their low
 * bits: a collision only costs a chance to learn. */
#define STACKMEMO_ID_BITS 4096u
/* A return address must be found within this many words above the previous
 * one (32 KiB of frame); a bigger frame is not memoised. */
#define STACKMEMO_SCAN_WORDS 4096u

typedef struct stackmemo_entry {
    uint32_t id;                            /* stack id to reuse */
    uint32_t count;                         /* slots to check */
    uint32_t offset[STACKMEMO_MAX_FRAMES];  /* slot address - here, bytes */
    uint64_t value[STACKMEMO_MAX_FRAMES];   /* the return address found there */
} stackmemo_entry_t;

/* What a way is checked by before its entry: its anchor and one key slot,
 * the return address into the code that allocated (the one that tells
 * call sites at the same depth apart). */
typedef struct stackmemo_tag {
    uint64_t here;       /* anchor; 0: empty way */
    uint32_t key_offset; /* key slot - here, bytes */
    uint32_t key_low;    /* low half of the return address in the key slot */
} stackmemo_tag_t;

typedef struct stackmemo {
    stackmemo_tag_t tags[STACKMEMO_SETS][STACKMEMO_WAYS];
    stackmemo_entry_t entries[STACKMEMO_SETS][STACKMEMO_WAYS];
    uint8_t next_way[STACKMEMO_SETS];             /* round-robin replacement per set */
    uint8_t last_hit[STACKMEMO_SETS];             /* the way that hit last per set: tried first */
    uint64_t seen[STACKMEMO_ID_BITS / 64];        /* ids captured once (stackmemo_offer) */
    uint64_t unlearnable[STACKMEMO_ID_BITS / 64]; /* ids whose scan failed */
} stackmemo_t;

/* The part of a thread's stack the memo may read: [lo, hi). */
typedef struct stackmemo_bounds {
    uintptr_t lo, hi;
} stackmemo_bounds_t;

/* The calling thread's stack as the threads library knows it. false (and
 * bounds empty) when it cannot tell; the memo then stays unused. May
 * allocate (glibc reads /proc/self/maps for the main thread). */
bool stackmemo_thread_bounds(stackmemo_bounds_t *bounds);

/* The stack id learned for `here` whose every slot still holds its return
 * address, or 0 (miss). Tries first the way of the set that hit last (an
 * allocation site tends to repeat), and remembers the way that hits. */
uint32_t stackmemo_find(stackmemo_t *memo, uintptr_t here, const stackmemo_bounds_t *bounds);

/* Learns the chain of return addresses `ras[0..count)` (innermost first, as
 * an unwinder lists them above the capturing frame) for `here` and `id`:
 * finds each in the stack above the previous one. ras[key] is the return
 * address into the allocating code, the tag's key. Learns nothing if one
 * is not found close enough, the chain is empty or too long, or `here` is
 * not inside the bounds. Returns whether it learned. */
bool stackmemo_learn(stackmemo_t *memo, uintptr_t here, const stackmemo_bounds_t *bounds,
                     void *const *ras, int count, int key, uint32_t id);

/* What the tracer calls after each unwind: learns the chain the second time
 * `id` comes by, unless learning it failed before. Returns whether it
 * learned. */
bool stackmemo_offer(stackmemo_t *memo, uintptr_t here, const stackmemo_bounds_t *bounds,
                     void *const *ras, int count, int key, uint32_t id);

#endif
