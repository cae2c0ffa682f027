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

#include "compiler.h"

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

/* Slots are checked in groups of this many; a learned chain is padded to
 * a whole number of groups with copies of its last slot. */
#define STACKMEMO_GROUP 4u
_Static_assert(STACKMEMO_MAX_FRAMES % STACKMEMO_GROUP == 0, "a full chain is whole groups");

typedef struct stackmemo_entry {
    uint32_t id;                            /* stack id to reuse */
    uint32_t count;                         /* slots to check: a multiple of STACKMEMO_GROUP */
    uint32_t word[STACKMEMO_MAX_FRAMES];    /* (slot address - here) / 8: here is word-aligned */
    uint64_t value[STACKMEMO_MAX_FRAMES];   /* the return address found there */
} stackmemo_entry_t;

/* What a way is checked by before its entry: its anchor and one key slot,
 * the return address into the code that allocated (the one that tells
 * call sites at the same depth apart). */
typedef struct stackmemo_tag {
    uint64_t here;       /* anchor; 0: empty way */
    uint32_t key_word;   /* (key slot - here) / 8 */
    uint32_t key_low;    /* low half of the return address in the key slot */
} stackmemo_tag_t;

typedef struct stackmemo {
    stackmemo_tag_t tags[STACKMEMO_SETS][STACKMEMO_WAYS];
    stackmemo_entry_t entries[STACKMEMO_SETS][STACKMEMO_WAYS];
    /* The way that hit last per set (its hot way), as the find tries it
     * first: its anchor (0: none, or that way is being rewritten) and its
     * entry (NULL: none yet, which counts as way 0). */
    uintptr_t hot_here[STACKMEMO_SETS];
    const stackmemo_entry_t *hot[STACKMEMO_SETS];
    uint8_t next_way[STACKMEMO_SETS];             /* round-robin replacement per set */
    uint8_t prev_hit[STACKMEMO_SETS];             /* the way hot before the hot one: tried second */
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

/* ---- finding: inlined into the capturing function ------------------------
 * A find runs on every traced allocation, so it is defined here, to be
 * inlined into the tracer's capture: as a call of its own, its prologue,
 * epilogue and the call were some 30 of its 158 instructions (jq under
 * cachegrind). Its reads of stack words belong to other functions' frames,
 * so AddressSanitizer must not instrument them (an instrumented caller's
 * redzones are ordinary memory here, only read); under ASan these
 * functions are plain `static inline`, which GCC does not inline into
 * instrumented code, and stay out of line. */
#if defined(__SANITIZE_ADDRESS__)
#define STACKMEMO_NO_ASAN __attribute__((no_sanitize_address))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STACKMEMO_NO_ASAN __attribute__((no_sanitize_address))
#endif
#endif
#ifdef STACKMEMO_NO_ASAN
#define STACKMEMO_INLINE static inline STACKMEMO_NO_ASAN
#else
#define STACKMEMO_NO_ASAN
#define STACKMEMO_INLINE ORTHO_INLINE
#endif

/* The set an anchor maps to. Anchors differ by whole frames (multiples of
 * 16 bytes), hence the shifts. */
STACKMEMO_INLINE unsigned stackmemo_set(uintptr_t here)
{
    return (unsigned)((here >> 4) ^ (here >> 9)) & (STACKMEMO_SETS - 1);
}

/* Whether the memo may learn at `here`: inside the bounds, and
 * word-aligned (a frame address always is), as slots are counted in words
 * from it. A find needs no such test: it reads stack words only for an
 * anchor equal to one learned, which passed it (a thread's bounds never
 * change, and another stack cannot hold an address of this one). */
STACKMEMO_INLINE bool stackmemo_inside(const stackmemo_bounds_t *bounds, uintptr_t here)
{
    return bounds->hi != 0 && here >= bounds->lo && here < bounds->hi && here % 8 == 0;
}

/* A stack word as the memo reads it: whatever the frame's owner stored
 * there (a return address, or a local of any type), hence may_alias. */
typedef uint64_t __attribute__((may_alias)) stackmemo_word_t;

/* The stack word `word` words above here (a word-aligned anchor). Slots
 * are kept in words, not bytes, so that the read is one instruction
 * (here + 8 x word is an x86 address mode): a byte offset needed an add
 * too, a fifth of each slot's check. Not volatile, which made GCC compute
 * each address apart from its load: nothing between the reads of one
 * find writes the stack words they read (the callers' frames). */
STACKMEMO_INLINE uint64_t stackmemo_word_at(uintptr_t here, uint32_t word)
{
    return ((const stackmemo_word_t *)here)[word];
}

/* The stack word of e's slot i, XOR the return address the memo expects
 * there: 0 while the slot still holds it. */
STACKMEMO_INLINE uint64_t stackmemo_slot_diff(const stackmemo_entry_t *e, uintptr_t here,
                                              uint32_t i)
{
    return stackmemo_word_at(here, e->word[i]) ^ e->value[i];
}

/* Whether every slot of e still holds its return address. A group of four
 * slots is one test: a hit, the common case, checks every slot anyway, and
 * with a branch per slot the checks were 135 of the 214 instructions of a
 * find (jq, some 20 slots a find). The chain is padded to whole groups
 * (stackmemo_locate), so there is no remainder to check one by one. */
_Static_assert(STACKMEMO_GROUP == 4, "stackmemo_holds tests four slots at a time");
STACKMEMO_INLINE bool stackmemo_holds(const stackmemo_entry_t *e, uintptr_t here)
{
    for (uint32_t i = 0; i < e->count; i += STACKMEMO_GROUP)
        if ((stackmemo_slot_diff(e, here, i) | stackmemo_slot_diff(e, here, i + 1) |
             stackmemo_slot_diff(e, here, i + 2) | stackmemo_slot_diff(e, here, i + 3)) != 0)
            return false;
    return true;
}

/* Whether way `way` of `set` holds a chain that is on the stack at here. */
STACKMEMO_INLINE bool stackmemo_way_hits(const stackmemo_t *memo, unsigned set, unsigned way,
                                         uintptr_t here)
{
    const stackmemo_tag_t *tag = &memo->tags[set][way];
    return tag->here == here && (uint32_t)stackmemo_word_at(here, tag->key_word) == tag->key_low &&
           stackmemo_holds(&memo->entries[set][way], here);
}

/* stackmemo_find past the way that hit last: tries the one that hit before
 * it (two call sites taking turns at one anchor, as sqlite3's do), then
 * the set's other ways (the last one too, unless the find tried it), and
 * makes the one that hits the set's hot way. Out of line: the common find
 * never needs it, and its loop would cost that find saved registers. */
uint32_t stackmemo_find_other_ways(stackmemo_t *memo, unsigned set, uintptr_t here);

/* The stack id learned for `here` whose every slot still holds its return
 * address, or 0 (miss). Tries first the way of the set that hit last (an
 * allocation site tends to repeat: without it a find walked 8 of the 16
 * ways on average in jq, most of them other call sites at the same
 * depth), kept as its anchor and a pointer to its entry so that the try
 * is a compare and the slots' check: with the tag's key test, the bounds
 * test and the entry found by its set and way, a find was about 100
 * instructions (jq, chains of 8 slots under cachegrind), half of them
 * before the first slot was read. The key test only saves time among
 * other ways; here every slot, the key's among them, is checked anyway. */
STACKMEMO_INLINE uint32_t stackmemo_find(stackmemo_t *memo, uintptr_t here)
{
    unsigned set = stackmemo_set(here);
    if (ORTHO_LIKELY(memo->hot_here[set] == here)) {
        const stackmemo_entry_t *e = memo->hot[set];
        if (ORTHO_LIKELY(stackmemo_holds(e, here)))
            return e->id;
    }
    return stackmemo_find_other_ways(memo, set, here);
}

#endif
