/* tables.c - see tables.h. The live table of a program with a million
 * blocks live is over a hundred megabytes, written at random: a table of
 * that size is mapped apart from malloc's heap, in transparent huge pages
 * where the kernel has them, with its pages populated in bulk. Left to
 * fault in one by one, the first fill after each growth took a page fault
 * per insert (about a microsecond each on a virtual machine), in bursts
 * that kept the collector from the rings for milliseconds (perl: batches
 * of 4096 records ingested in 3-6 ms). And on a virtual machine that
 * keeps shadow page tables (this project's benchmark machine of
 * 2026-12), even a page the kernel populated costs a trap of 6-10 us the
 * first time the collector touches it: moving a growth's entries over
 * took 105 ns an entry in 4 KiB pages against 7-13 ns in 2 MiB ones
 * (python3: the program's waits on full rings halved). */
#define _GNU_SOURCE
#include "tables.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Fibonacci hashing: one multiply, the top bits pick the slot. Keys here
 * are addresses (64-byte aligned), small integers and hashes; the multiply
 * carries every key bit into the top ones, which is all a linear-probing
 * table needs, at a third of the cost of a full mixer. */
static inline size_t tables_home(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - __builtin_ctzll(cap)));
}

#ifdef MADV_POPULATE_WRITE
#define TABLES_POPULATE_WRITE MADV_POPULATE_WRITE
#else
#define TABLES_POPULATE_WRITE 23 /* Linux 5.14's value; older kernels say EINVAL */
#endif
#define TABLES_MAP_BYTES (2u << 20) /* tables this large are mapped apart, populated */

/* Populates bytes [from, to) of a mapping (from page-aligned): one call
 * for the lot, or, before Linux 5.14 (EINVAL), a write to each page that
 * adds 0, so a page the table is writing at the same time keeps what it
 * wrote. Never changes what the pages hold. */
static void tables_populate(char *base, size_t from, size_t to)
{
    if (to > from && madvise(base + from, to - from, TABLES_POPULATE_WRITE) != 0 &&
        errno == EINVAL)
        for (size_t at = from; at < to; at += 4096)
            __atomic_fetch_add(base + at, 0, __ATOMIC_RELAXED);
}

/* Zeroed memory for n slots of `size` bytes: calloc below
 * TABLES_MAP_BYTES, else an anonymous mapping in huge pages where the
 * kernel gives them (a hint: 4 KiB pages work too), its pages populated
 * now if `populate` (else they fault in as they are first written). */
static void *tables_alloc(size_t n, size_t size, bool populate)
{
    if (n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
    if (bytes < TABLES_MAP_BYTES)
        return calloc(n, size);
    void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    (void)madvise(map, bytes, MADV_HUGEPAGE);
    if (populate)
        tables_populate(map, 0, bytes);
    return map;
}

static void tables_filler_wait_out(const char *base);

/* Gives back what tables_alloc(n, size) returned; a mapping once the
 * filler thread is out of it. */
static void tables_release(void *p, size_t n, size_t size)
{
    if (p == NULL)
        return;
    if (n * size < TABLES_MAP_BYTES) {
        free(p);
    } else {
        tables_filler_wait_out(p);
        munmap(p, n * size);
    }
}

/* ---- the filler: a thread that populates ahead -------------------------- */

/* Populating a growth's next array costs the kernel's zeroing of every
 * page, 3-4 ms a huge page of memory the host has not backed lately; on
 * the collector's thread that reads the rings, each was a batch the rings
 * waited for. So one background thread (the filler) populates the next
 * array of one table at a time, under SCHED_IDLE: it runs in the time the
 * collector's core would idle between passes, and never takes a core
 * from the traced program or from the collector itself. It goes no
 * further than a limit the table raises as it fills (livetab_prepare):
 * a table that stops short of its growth leaves the rest of the array
 * unpopulated. Unbounded, it populated all 128 MB of jq's last next
 * array, which jq never grew into (the table now asks for 90 MB of it).
 * The collector's
 * thread still paces itself through the array (livetab_prepare_step) and
 * populates whatever chunk the filler has not reached, so a starved
 * filler only costs what there was before. Population is a hint that
 * never changes what a page holds (tables_populate): a chunk both touch,
 * or one the table writes while it is being populated, is still right.
 * Chunks are claimed from one atomic cursor. A growth takes the job back
 * without waiting (tables_filler_release: the array stays mapped, as the
 * table's); only an unmap waits for the chunk in hand, if it is in that
 * array (tables_filler_wait_out), raising the filler to SCHED_OTHER
 * meanwhile, since a SCHED_IDLE thread on a busy machine may not run for
 * seconds. One thread (the collector's main one) owns every table and
 * gives the jobs: it reads the job's base without the lock. The filler
 * never ends; the collector's exit ends it. */

#define TABLES_FILLER_CHUNK (2u << 20) /* a huge page: the unit the kernel zeroes anyway */

/* Where the chunk claimed at `at` of a job `bytes` long ends. */
static inline size_t tables_filler_chunk_end(size_t at, size_t bytes)
{
    return bytes - at < TABLES_FILLER_CHUNK ? bytes : at + TABLES_FILLER_CHUNK;
}

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;   /* a job was given */
    pthread_cond_t idle;   /* the thread left a chunk */
    int state;             /* 0: not started, 1: running, -1: could not start */
    pthread_t thread;      /* the filler, once state is 1 */
    pid_t pid;             /* the process it runs in */
    char *base;            /* the job: bytes [0, bytes) from base; NULL: none */
    size_t bytes;
    size_t limit;          /* the filler claims no chunk that starts at or past this */
    bool busy;             /* populating a chunk of in_hand, outside the lock */
    char *in_hand;         /* the array of that chunk (a job's base, maybe taken back since) */
    bool boosted;          /* raised to SCHED_OTHER by a waiter: back to SCHED_IDLE at the next chunk */
    _Atomic size_t cursor; /* the first offset no one has claimed */
} tables_filler = {.lock = PTHREAD_MUTEX_INITIALIZER,
                   .work = PTHREAD_COND_INITIALIZER,
                   .idle = PTHREAD_COND_INITIALIZER};

/* The offset of the next chunk of the job for the filler, claimed; or
 * SIZE_MAX if none is left below the limit. Under the lock. A chunk past
 * the limit stays unclaimed, for the table's own thread if it gets there
 * (tables_filler_claim). */
static size_t tables_filler_take(void)
{
    size_t stop = tables_filler.limit < tables_filler.bytes ? tables_filler.limit : tables_filler.bytes;
    size_t at = atomic_load(&tables_filler.cursor);
    while (at < stop)
        if (atomic_compare_exchange_weak(&tables_filler.cursor, &at, at + TABLES_FILLER_CHUNK))
            return at;
    return SIZE_MAX;
}

static void *tables_filler_main(void *arg)
{
    (void)arg;
    struct sched_param none = {0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);
    pthread_mutex_lock(&tables_filler.lock);
    for (;;) {
        size_t at = SIZE_MAX;
        while (tables_filler.base == NULL || (at = tables_filler_take()) == SIZE_MAX)
            pthread_cond_wait(&tables_filler.work, &tables_filler.lock);
        /* Claimed under the lock, with the job checked, and marked in hand
         * in the same hold: a release after this cannot miss it, and an
         * unmap waits for it (tables_filler_wait_out). */
        char *base = tables_filler.base;
        size_t end = tables_filler_chunk_end(at, tables_filler.bytes);
        tables_filler.busy = true;
        tables_filler.in_hand = base;
        bool lower = tables_filler.boosted;
        tables_filler.boosted = false;
        pthread_mutex_unlock(&tables_filler.lock);
        if (lower)
            pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);
        tables_populate(base, at, end);
        pthread_mutex_lock(&tables_filler.lock);
        tables_filler.busy = false;
        tables_filler.in_hand = NULL;
        pthread_cond_broadcast(&tables_filler.idle);
    }
    return NULL;
}

/* In the child of a fork the filler is not there (only the forking
 * thread is), and its lock may have been held: the child starts afresh,
 * so that a table there populates on its own thread or a new filler's and
 * never waits for a chunk nobody is filling. Checked by pid at each entry
 * that takes the lock (a pthread_atfork handler would have to be
 * registered before any fork, by whoever forks). The collector does not
 * fork once it runs; this keeps any other user of the tables right. */
static void tables_filler_check_fork(void)
{
    if (tables_filler.state != 1 || tables_filler.pid == getpid())
        return;
    pthread_mutex_init(&tables_filler.lock, NULL);
    pthread_cond_init(&tables_filler.work, NULL);
    pthread_cond_init(&tables_filler.idle, NULL);
    tables_filler.state = 0;
    tables_filler.base = NULL;
    tables_filler.busy = false;
    tables_filler.in_hand = NULL;
    tables_filler.boosted = false;
}

/* Gives the filler [base, base + bytes), a table's next array, to
 * populate up to `limit` for now (tables_filler_allow). false: it has
 * another table's, or no thread could be started; the caller populates
 * on its own. */
static bool tables_filler_start(char *base, size_t bytes, size_t limit)
{
    bool taken = false;
    tables_filler_check_fork();
    pthread_mutex_lock(&tables_filler.lock);
    if (tables_filler.state == 0) {
        pthread_attr_t attr;
        tables_filler.state = -1;
        tables_filler.pid = getpid();
        if (pthread_attr_init(&attr) == 0) {
            if (pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
                pthread_create(&tables_filler.thread, &attr, tables_filler_main, NULL) == 0)
                tables_filler.state = 1;
            pthread_attr_destroy(&attr);
        }
    }
    if (tables_filler.state == 1 && tables_filler.base == NULL) {
        tables_filler.base = base;
        tables_filler.bytes = bytes;
        tables_filler.limit = limit;
        atomic_store(&tables_filler.cursor, 0);
        pthread_cond_signal(&tables_filler.work);
        taken = true;
    }
    pthread_mutex_unlock(&tables_filler.lock);
    return taken;
}

/* Lets the filler populate the job at base up to `limit`, if it still
 * has that job and was held below it. */
static void tables_filler_allow(const char *base, size_t limit)
{
    tables_filler_check_fork();
    pthread_mutex_lock(&tables_filler.lock);
    if (tables_filler.base == base && limit > tables_filler.limit) {
        tables_filler.limit = limit;
        pthread_cond_signal(&tables_filler.work);
    }
    pthread_mutex_unlock(&tables_filler.lock);
}

/* Populates [from, upto) of the next array at base (bytes long), on the
 * thread that gave it to the filler: every chunk up to `upto` that nobody
 * has claimed, leaving the filler's own to it. If the filler no longer
 * has it (the child of a fork), all of [from, upto) here. */
static void tables_filler_claim(char *base, size_t bytes, size_t from, size_t upto)
{
    /* base is only ever written by this thread (start, release) or, in a
     * fork's child, before any other thread exists. */
    if (tables_filler.base != base) {
        tables_populate(base, from, upto);
        return;
    }
    while (atomic_load(&tables_filler.cursor) < upto) {
        size_t at = atomic_fetch_add(&tables_filler.cursor, TABLES_FILLER_CHUNK);
        if (at >= bytes)
            break;
        tables_populate(base, at, tables_filler_chunk_end(at, bytes));
    }
}

/* Takes the job at base back, if the filler has it: it claims no more
 * of it. A chunk in hand goes on (tables_filler_wait_out). */
static void tables_filler_release(const char *base)
{
    tables_filler_check_fork();
    pthread_mutex_lock(&tables_filler.lock);
    if (tables_filler.base == base)
        tables_filler.base = NULL;
    pthread_mutex_unlock(&tables_filler.lock);
}

/* Returns once the filler is not in the array at base, which may then be
 * unmapped: waits for the chunk in hand if it is that array's, with the
 * filler raised to SCHED_OTHER (allowed to an unprivileged thread within
 * its RLIMIT_NICE; if refused, the wait is for a SCHED_IDLE thread, which
 * the waiting core leaves idle for it). */
static void tables_filler_wait_out(const char *base)
{
    tables_filler_check_fork();
    pthread_mutex_lock(&tables_filler.lock);
    while (tables_filler.busy && tables_filler.in_hand == base) {
        if (!tables_filler.boosted) {
            struct sched_param none = {0};
            tables_filler.boosted =
                pthread_setschedparam(tables_filler.thread, SCHED_OTHER, &none) == 0;
        }
        pthread_cond_wait(&tables_filler.idle, &tables_filler.lock);
    }
    pthread_mutex_unlock(&tables_filler.lock);
}

void u64map_init(struct u64map *m)
{
    memset(m, 0, sizeof *m);
}

void u64map_free(struct u64map *m)
{
    free(m->keys);
    free(m->values);
    u64map_init(m);
}

static bool u64map_grow(struct u64map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = calloc(cap, sizeof *keys), *values = calloc(cap, sizeof *values);
    if (keys == NULL || values == NULL) {
        free(keys);
        free(values);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == 0)
            continue;
        size_t j = tables_home(m->keys[i], cap);
        while (keys[j] != 0)
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        values[j] = m->values[i];
    }
    free(m->keys);
    free(m->values);
    m->keys = keys;
    m->values = values;
    m->cap = cap;
    return true;
}

uint64_t *u64map_find(const struct u64map *m, uint64_t key)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = tables_home(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key)
            return &m->values[i];
        if (m->keys[i] == 0)
            return NULL;
    }
}

uint64_t *u64map_slot(struct u64map *m, uint64_t key)
{
    uint64_t *found = u64map_find(m, key);
    if (found != NULL)
        return found;
    if ((m->count + 1) * 4 > m->cap * 3 && !u64map_grow(m))
        return NULL;
    size_t i = tables_home(key, m->cap);
    while (m->keys[i] != 0)
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    m->values[i] = 0;
    m->count++;
    return &m->values[i];
}

void u64map_each(const struct u64map *m, void (*fn)(uint64_t key, uint64_t value, void *arg), void *arg)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != 0)
            fn(m->keys[i], m->values[i], arg);
}

/* ---- livetab ------------------------------------------------------------- */

/* Blocks of one 4 KiB page get neighbouring homes: the page picks a
 * random start, and the block's 64-byte line within the page is added to
 * it. A program allocates and frees mostly near what it touched last (a
 * span carved in order, a free list of neighbours), so the table is walked
 * in runs of nearby slots, not at a random slot a record - which was a
 * cache and TLB miss per record once a million blocks were live. Where
 * pages' windows overlap the probe runs grow long (a table 70% full:
 * about 20 slots from a slot to the end of its run), which is why a
 * removal leaves a tombstone instead of shifting the run back
 * (livetab_remove_in). Narrower windows shorten the runs but cost python3
 * the neighbours its bursts of frees find together: at 1 or 2 KiB its
 * waits on full rings rose by 40-90 ms (bench/README.md). The timestamp,
 * which only tells apart the allocations of one address in turn, stays
 * out of the home: they share a probe run. */
#define LIVETAB_WINDOW_SHIFT 12 /* log2 of the stretch whose blocks are neighbours: a page */
static inline size_t livetab_home(size_t cap, uint64_t addr, uint64_t ts)
{
    (void)ts;
    size_t line = (size_t)(addr >> 6) & ((1u << (LIVETAB_WINDOW_SHIFT - 6)) - 1);
    return (tables_home(addr >> LIVETAB_WINDOW_SHIFT, cap) + line) & (cap - 1);
}

#define LIVETAB_MIGRATE_STEP 8u /* old entries moved per insertion while a growth runs, at least */
#define LIVETAB_PREPARE_SLICE (64u << 10) /* bytes of the next array populated at a time */

void livetab_init(struct livetab *t)
{
    memset(t, 0, sizeof *t);
}

void livetab_free(struct livetab *t)
{
    if (t->next_filled)
        tables_filler_release((char *)t->next);
    tables_release(t->slots, t->cap, sizeof *t->slots);
    tables_release(t->old, t->old_cap, sizeof *t->old);
    tables_release(t->next, t->cap * 2, sizeof *t->next);
    livetab_init(t);
}

/* The slot of (addr, alloc_ts) in slots[0..cap), or NULL. */
static struct live_slot *livetab_find_in(struct live_slot *slots, size_t cap, uint64_t addr,
                                         uint64_t alloc_ts)
{
    if (cap == 0)
        return NULL;
    for (size_t i = livetab_home(cap, addr, alloc_ts);; i = (i + 1) & (cap - 1)) {
        struct live_slot *e = &slots[i];
        if (e->addr == 0)
            return NULL;
        if (e->addr == addr && e->alloc_ts == alloc_ts)
            return e;
    }
}

/* Puts a copy of *e into the first free slot of its probe run: empty, or
 * a tombstone (then one fewer in *tombs, if counted). */
static struct live_slot *livetab_place(struct live_slot *slots, size_t cap,
                                       const struct live_slot *e, size_t *tombs)
{
    size_t i = livetab_home(cap, e->addr, e->alloc_ts);
    while (slots[i].addr > LIVETAB_TOMB)
        i = (i + 1) & (cap - 1);
    if (slots[i].addr == LIVETAB_TOMB && tombs != NULL)
        (*tombs)--;
    slots[i] = *e;
    return &slots[i];
}

/* Empties slot `hole` of slots[0..cap), counting tombstones made and
 * cleared in *tombs (NULL: not counted). Another entry's probe may pass
 * the hole, so it becomes a tombstone - unless the run ends right after
 * it: then no probe needs it, nor the tombstones just before it, and all
 * become empty. Nothing moves. Shifting the rest of the run back instead
 * (no tombstones, as at first) walked 21 slots a removal in jq's table,
 * whose runs are long (livetab_home): its 1.2 M frees at exit took 85-88
 * ns each through the table alone, 60-61 with tombstones (live-replay,
 * bench/README.md), and the program's waits on full rings went from
 * 34-52 ms to 1-5. */
static void livetab_remove_in(struct live_slot *slots, size_t cap, size_t hole, size_t *tombs)
{
    size_t mask = cap - 1;
    if (slots[(hole + 1) & mask].addr != 0) {
        slots[hole].addr = LIVETAB_TOMB;
        if (tombs != NULL)
            (*tombs)++;
        return;
    }
    slots[hole].addr = 0;
    for (size_t i = (hole - 1) & mask; i != hole && slots[i].addr == LIVETAB_TOMB;
         i = (i - 1) & mask) {
        slots[i].addr = 0;
        if (tombs != NULL)
            (*tombs)--;
    }
}

/* The first empty slot of slots[0..cap), or cap if none: where a walk
 * round the array starts, since no probe run crosses an empty slot. */
static size_t livetab_first_empty(const struct live_slot *slots, size_t cap)
{
    size_t i = 0;
    while (i < cap && slots[i].addr != 0)
        i++;
    return i;
}

/* Clears every tombstone of the current array in place, in one pass (no
 * growth may be under way): entries then sit where a probe from their
 * home would reach them across the cleared slots. The walk starts at a
 * slot that was empty before, which no probe run crosses, and goes round
 * once in order; each entry moves to the first empty slot between its
 * home and where it sits, if there is one. Entries before it are then
 * settled (their runs lie before it), and the slot it leaves is reached
 * later by every entry whose probe passes it. */
static void livetab_purge(struct livetab *t)
{
    struct live_slot *slots = t->slots;
    size_t cap = t->cap, mask = cap - 1, start = livetab_first_empty(slots, cap);
    if (start == cap)
        return; /* no empty slot: cannot happen under the load limit */
    for (size_t i = 0; i < cap; i++)
        if (slots[i].addr == LIVETAB_TOMB)
            slots[i].addr = 0;
    t->tombs = 0;
    for (size_t k = 1; k < cap; k++) {
        size_t i = (start + k) & mask;
        if (slots[i].addr == 0)
            continue;
        for (size_t p = livetab_home(cap, slots[i].addr, slots[i].alloc_ts); p != i;
             p = (p + 1) & mask) {
            if (slots[p].addr == 0) {
                slots[p] = slots[i];
                slots[i].addr = 0;
                break;
            }
        }
    }
}

/* Moves at least `want` entries of the old array into the new one, and on
 * to the end of the run of occupied slots it is in (tombstones are
 * cleared, not moved): the part of the old array already walked is then
 * empty and ends at an empty slot, so every probe run left there lies
 * wholly in the part not walked yet and is found as it was. */
static void livetab_migrate(struct livetab *t, size_t want)
{
    size_t moved = 0, mask = t->old_cap - 1;
    while (t->old_done < t->old_cap) {
        struct live_slot *s = &t->old[(t->old_start + t->old_done) & mask];
        if (s->addr == 0) {
            if (moved >= want)
                break;
        } else {
            if (s->addr != LIVETAB_TOMB) {
                livetab_place(t->slots, t->cap, s, &t->tombs);
                moved++;
            }
            s->addr = 0;
        }
        t->old_done++;
    }
    if (t->old_done == t->old_cap) {
        tables_release(t->old, t->old_cap, sizeof *t->old);
        t->old = NULL;
        t->old_cap = t->old_done = 0;
    }
}

/* How far the filler may populate a next array of `total` bytes of
 * which the table has asked for `asked` (livetab_prepare_step): an
 * eighth of the array beyond it, so that it is still ahead when the
 * table fills in a burst, and never more than that beyond the point a
 * table that stops filling reached. */
static inline size_t livetab_filler_limit(size_t asked, size_t total)
{
    return asked + total / 8;
}

/* Populates up to `bytes` more of the array the next growth will use
 * (whole pages: madvise takes a page-aligned start), and lets the filler
 * run its lead ahead of that. */
static void livetab_prepare(struct livetab *t, size_t bytes)
{
    size_t total = t->cap * 2 * sizeof *t->next;
    size_t end = bytes >= total - t->next_ready ? total : (t->next_ready + bytes) & ~(size_t)4095;
    if (t->next_filled) {
        tables_filler_claim((char *)t->next, total, t->next_ready, end);
        tables_filler_allow((char *)t->next, livetab_filler_limit(end, total));
    } else {
        tables_populate((char *)t->next, t->next_ready, end);
    }
    t->next_ready = end;
}

/* Maps the next growth's array once the table is half full, and has it
 * populated as the table fills towards the growth, a slice at a time.
 * Its pages are written at random once entries go in, and a fault each
 * (about a microsecond here) is dearer than populating them in bulk; but
 * populating 256 MB at the growth itself held the rings for 60 ms. A
 * growth comes when the slots in use (entries and tombstones) reach 3/4
 * of the table with more than half of them entries (livetab_insert), so
 * the share of the array populated follows the slots in use from 1/2 to
 * 3/4: all of it by the growth, in cap/4 steps at least, and no more
 * than the table's fill calls for if it stops short of growing (jq: 90 MB
 * of a 128 MB array it never grew into; counting insertions instead, its
 * churn of frees and allocations populated all of it). Over 1/2 to 3/4
 * and not 11/16 to 3/4: a huge page of memory the machine has not used
 * lately (the host backs it on first touch) took 3-4 ms to populate, and
 * one fell in nearly every batch of 4,096 records while the window was
 * cap/16 insertions; over cap/4 they are spread four times thinner
 * (python3's waits on full rings: 302-600 ms -> 91-254 ms, 6 interleaved
 * runs). Only tables whose next array is mapped apart (tables_alloc):
 * smaller ones are a calloc, cheap at once. */
static void livetab_prepare_step(struct livetab *t)
{
    size_t next_bytes = t->cap * 2 * sizeof *t->next;
    size_t used = t->count + t->tombs + 1, half = t->cap / 2;
    if (used <= half || next_bytes < TABLES_MAP_BYTES)
        return;
    if (t->next == NULL) {
        t->next = tables_alloc(t->cap * 2, sizeof *t->next, false);
        t->next_ready = 0;
        if (t->next == NULL)
            return; /* the growth will try again, populated at once */
        t->next_filled = tables_filler_start((char *)t->next, next_bytes,
                                             livetab_filler_limit(0, next_bytes));
    }
    /* next_bytes over cap/4 slots: 8 slot sizes of the array a slot used. */
    size_t due = (used - half) * 8 * sizeof *t->next;
    if (due >= next_bytes)
        due = next_bytes;
    /* 64 KiB at a time, as a call per page would cost more than the page. */
    if (due >= t->next_ready + LIVETAB_PREPARE_SLICE || (due == next_bytes && due > t->next_ready))
        livetab_prepare(t, due - t->next_ready);
}

/* Starts a growth: a new array twice the size, the current one becoming
 * the old array that insertions then move over a few entries at a time
 * (livetab_migrate). A table of millions of entries took 50-100 ms to
 * rehash at once, and the rings waited for it (python3's worst lag was
 * that growth: about 100 ms, 17 ms since). */
static bool livetab_grow(struct livetab *t)
{
    if (t->old != NULL)
        livetab_migrate(t, SIZE_MAX); /* the previous growth is not done */
    size_t cap = t->cap ? t->cap * 2 : 1024;
    struct live_slot *slots = t->next;
    if (slots != NULL)
        livetab_prepare(t, SIZE_MAX); /* the rest of its pages */
    else
        slots = tables_alloc(cap, sizeof *slots, true);
    if (t->next_filled)
        tables_filler_release((char *)t->next); /* it stays mapped, as slots */
    t->next_filled = false;
    t->next = NULL;
    t->next_ready = 0;
    if (slots == NULL)
        return false;
    t->old = t->slots;
    t->old_cap = t->cap;
    t->old_done = 0;
    /* The walk starts at an empty slot, so that no run crosses it. */
    t->old_start = livetab_first_empty(t->old, t->old_cap);
    t->slots = slots;
    t->cap = cap;
    t->tombs = 0; /* the old array's are cleared as it is walked, not counted */
    if (t->old_cap == 0 || t->old_start == t->old_cap) { /* nothing to move, or no empty slot */
        t->old_start = 0;
        livetab_migrate(t, SIZE_MAX);
    }
    return true;
}

struct live_slot *livetab_find(const struct livetab *t, uint64_t addr, uint64_t alloc_ts)
{
    struct live_slot *e = livetab_find_in(t->slots, t->cap, addr, alloc_ts);
    if (e == NULL && t->old != NULL)
        e = livetab_find_in(t->old, t->old_cap, addr, alloc_ts);
    return e;
}

struct live_slot *livetab_insert(struct livetab *t, const struct live_slot *e)
{
    if (t->old != NULL)
        livetab_migrate(t, LIVETAB_MIGRATE_STEP);
    else
        livetab_prepare_step(t);
    /* Tombstones lengthen probes as entries do: at 3/4 full with both, a
     * table at most half live is purged of them in place, which frees a
     * quarter of it at least; a fuller one grows. */
    if ((t->count + t->tombs + 1) * 4 > t->cap * 3) {
        if ((t->count + 1) * 2 <= t->cap) {
            if (t->old != NULL)
                livetab_migrate(t, SIZE_MAX);
            livetab_purge(t);
        } else if (!livetab_grow(t)) {
            return NULL;
        }
    }
    t->count++;
    return livetab_place(t->slots, t->cap, e, &t->tombs);
}

void livetab_remove(struct livetab *t, struct live_slot *e)
{
    t->count--;
    if (t->old != NULL && e >= t->old && e < t->old + t->old_cap)
        livetab_remove_in(t->old, t->old_cap, (size_t)(e - t->old), NULL);
    else
        livetab_remove_in(t->slots, t->cap, (size_t)(e - t->slots), &t->tombs);
}

void livetab_prefetch(const struct livetab *t, uint64_t addr)
{
    if (t->cap != 0)
        __builtin_prefetch(&t->slots[livetab_home(t->cap, addr, 0)], 1);
}
