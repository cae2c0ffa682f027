/* stamp.h - the times of a thread's ALLOC, FREE and REALLOC records, as
 * pure functions of a small per-thread state and the clock readings the
 * caller passes in (tracer.c reads the clock; the unit tests pass numbers).
 *
 * Why not read the clock for every record: rdtsc, and clock_gettime built
 * on it, waits for the loads issued before it, so in a program whose loads
 * miss the cache (perl freeing a hash, jq walking its values) each read
 * costs a memory latency, 100-150 ns on the machines measured, two thirds
 * of what tracing added to perl. A thread instead reads its clock for one
 * record in a window of `window` and gives the others the last reading
 * plus one step each, the step being the time each record of the window
 * before took, at most STAMP_STEP_MAX_NS.
 *
 * What keeps the guesses honest: times only increase per thread
 * (stamp_advance); a guess that trails the collector's coarse clock (a
 * CLOCK_MONOTONIC reading it refreshes in the segment) by more than
 * STAMP_FLOOR_SLACK_NS means the thread paused, and it reads its clock at
 * once; and a guess runs ahead of the clock by at most window x
 * STAMP_STEP_MAX_NS. What keeps allocations apart: (address, allocation
 * time) names an allocation, and a free repeats it. A thread that frees or
 * resizes a block moves its clock past the block's allocation time
 * (stamp_after, Lamport's rule), and blocks handed to the central pool
 * carry the giver's latest time to the taker (tracer.c's handoff), so a
 * block's next allocation time is always later than its last. */
#ifndef ORTHO_TRACER_STAMP_H
#define ORTHO_TRACER_STAMP_H

#include <stdbool.h>
#include <stdint.h>

#define STAMP_WINDOW 16u                  /* records per read with ORTHO_TRACE_CLOCK=auto */
#define STAMP_STEP_MAX_NS 2000u           /* a window that held a pause must not make the
                                             next run far ahead of the clock */
#define STAMP_FLOOR_SLACK_NS 100000ull    /* how far a guess may trail the coarse clock */
/* Another thread's time is at most this far ahead of a clock just read:
 * guesses run ahead by at most STAMP_WINDOW x STAMP_STEP_MAX_NS (32 us).
 * An allocation time further ahead is no clock's but a stale or smashed
 * tag's, and is not adopted. */
#define STAMP_ADOPT_MAX_NS 1000000ull

typedef struct stamp_window {
    uint64_t read_ns;  /* the clock at its last read; 0: none yet */
    uint64_t guess_ns; /* the last time handed out since */
    uint32_t step_ns;  /* ns added per record; 0 until a window was measured */
    uint32_t left;     /* guesses left before the next read */
    uint32_t window;   /* records per read: 1 reads for every record */
    bool paused;       /* the last stamp_guess saw a pause */
} stamp_window_t;

/* A window of `window` records per read (at least 1), reading first. */
static inline void stamp_init(stamp_window_t *w, uint32_t window)
{
    *w = (stamp_window_t){.window = window != 0 ? window : 1};
}

/* stamp_guess's answer without its effects, for a caller that may still
 * back out (tracer.c's free fast path): the next guess, or 0 where
 * stamp_guess gives none. stamp_take then makes it handed out. */
static inline uint64_t stamp_peek(const stamp_window_t *w, uint64_t floor_ns)
{
    if (w->left == 0)
        return 0;
    uint64_t guess = w->guess_ns + w->step_ns;
    return guess + STAMP_FLOOR_SLACK_NS < floor_ns ? 0 : guess;
}

static inline void stamp_take(stamp_window_t *w, uint64_t guess)
{
    w->left--;
    w->guess_ns = guess;
}

/* The next guess, or 0 when the clock must be read: the window is used
 * up, or the guess trails floor_ns (the coarse clock; 0: none) by more
 * than the slack. */
static inline uint64_t stamp_guess(stamp_window_t *w, uint64_t floor_ns)
{
    uint64_t guess = stamp_peek(w, floor_ns);
    if (guess == 0) {
        if (w->left != 0)
            w->paused = true; /* the guess trailed the floor */
        return 0;
    }
    stamp_take(w, guess);
    return guess;
}

/* Starts a window at `now`, a reading of the clock for this record. The
 * step becomes the time each record since the last reading took, unless
 * the window ended on a pause or `keep_step` (a reading taken out of turn,
 * stamp_after's), which say nothing of the thread's pace. */
static inline void stamp_restart(stamp_window_t *w, uint64_t now, bool keep_step)
{
    uint32_t records = w->window - w->left;
    if (!keep_step && !w->paused && w->read_ns != 0 && now > w->read_ns && records != 0) {
        uint64_t step = (now - w->read_ns) / records;
        w->step_ns = step == 0 ? 1 : step > STAMP_STEP_MAX_NS ? STAMP_STEP_MAX_NS : (uint32_t)step;
    }
    w->paused = false;
    w->read_ns = now;
    w->guess_ns = now;
    w->left = w->window - 1;
}

/* ts made the thread's next time: later than *last, every time it handed
 * out or adopted before. */
static inline uint64_t stamp_next(uint64_t last, uint64_t ts)
{
    return ts <= last ? last + 1 : ts;
}

static inline uint64_t stamp_advance(uint64_t *last, uint64_t ts)
{
    ts = stamp_next(*last, ts);
    *last = ts;
    return ts;
}

/* Whether ts, a time just taken, already passes `other`, a time another
 * thread handed out (the common case: no clock read needed). */
static inline bool stamp_passes(uint64_t ts, uint64_t other)
{
    return other < ts;
}

/* The time for a record that must pass `other` when ts did not: the later
 * of ts and `now` (the clock, read for it), then past `other` unless that
 * is more than STAMP_ADOPT_MAX_NS ahead. */
static inline uint64_t stamp_after(uint64_t ts, uint64_t now, uint64_t other)
{
    if (now > ts)
        ts = now;
    if (other >= ts && other - ts <= STAMP_ADOPT_MAX_NS)
        ts = other + 1;
    return ts;
}

#endif
