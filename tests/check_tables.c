/* check_tables.c - tracer/collector/tables.c: the collector's two
 * open-addressing hash tables, u64map (sizes, thread pairs, stack hashes)
 * and livetab (live allocations by address and allocation timestamp). The
 * collector's counts are only as exact as these tables, and the tricky part
 * is deletion: with backward shift instead of tombstones, one wrong move
 * hides an entry behind an empty slot, and the allocation it stands for is
 * then never matched with its free. So besides insert, find, growth past
 * several doublings and reusing a removed key, the tests build dense runs
 * of keys that share a home slot (found by inserting a key alone into an
 * empty table of the same capacity: with linear probing it lands at home),
 * including runs that wrap past the last slot, delete every other entry
 * and check that every remaining one is still found, that no removed one
 * is, and that the probing invariant (every slot between an entry's home
 * and its place is occupied) holds in the whole table. Keys and payloads
 * come from fixed seeds; every expected value is the workload itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_support.h"
#include "tables.h"

/* Whether a sanitizer that cannot start threads in the child of a
 * multi-threaded fork instruments this build: ThreadSanitizer refuses,
 * and under AddressSanitizer the new thread hangs on the runtime's locks
 * the filler held at the fork (gcc says so one way, clang the other). */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define TABLES_TEST_NO_THREADS_AFTER_FORK 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define TABLES_TEST_NO_THREADS_AFTER_FORK 1
#endif
#endif
#ifndef TABLES_TEST_NO_THREADS_AFTER_FORK
#define TABLES_TEST_NO_THREADS_AFTER_FORK 0
#endif

#define LIVETAB_FIRST_CAP 1024 /* a livetab's capacity after its first insert */
#define U64MAP_FIRST_CAP 64    /* a u64map's capacity after its first key */
#define MANY_ENTRIES 100000    /* enough for seven doublings of either table */

/* xorshift64*: a fixed-seed stream of test keys. */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
    rng_state = seed;
}

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Shuffles order[0..n) with the fixed-seed stream (Fisher-Yates). */
static void shuffle(size_t *order, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next() % i);
        size_t tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

static size_t *identity_order(size_t n)
{
    size_t *order = malloc(n * sizeof *order);
    ck_assert_ptr_nonnull(order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    return order;
}

static bool is_power_of_two(size_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

/* ---- u64map ------------------------------------------------------------- */

/* Home slot of key in a u64map of capacity cap: where it lands when it is
 * inserted alone into an empty table of that size. */
static size_t u64map_home_of(size_t cap, uint64_t key)
{
    struct u64map scratch = {.keys = calloc(cap, sizeof(uint64_t)),
                             .values = calloc(cap, sizeof(uint64_t)),
                             .cap = cap,
                             .count = 0};
    ck_assert(scratch.keys != NULL && scratch.values != NULL);
    uint64_t *value = u64map_slot(&scratch, key);
    ck_assert_ptr_nonnull(value);
    ck_assert_uint_eq(scratch.cap, cap); /* one key never grows a table */
    size_t home = (size_t)(value - scratch.values);
    u64map_free(&scratch);
    return home;
}

/* Every occupied slot is reachable from its key's home: no empty slot lies
 * between the two. */
static void u64map_check_probing(const struct u64map *m)
{
    size_t occupied = 0;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == 0)
            continue;
        occupied++;
        for (size_t j = u64map_home_of(m->cap, m->keys[i]); j != i; j = (j + 1) & (m->cap - 1))
            if (m->keys[j] == 0) /* Check only on failure, as in livetab_check_array */
                ck_abort_msg("key %llx at %zu is cut off from its home by empty slot %zu",
                             (unsigned long long)m->keys[i], i, j);
    }
    ck_assert_uint_eq(occupied, m->count);
}

struct u64map_visits {
    const uint64_t *keys; /* the keys inserted, key i with value ~key */
    uint8_t *seen;        /* per key, times visited */
    size_t n;
    size_t visits;
};

/* keys[] is sorted for this lookup. */
static int u64_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void u64map_visit(uint64_t key, uint64_t value, void *arg)
{
    struct u64map_visits *v = arg;
    const uint64_t *at = bsearch(&key, v->keys, v->n, sizeof key, u64_compare);
    ck_assert_msg(at != NULL, "each visited key %llx that was never inserted", (unsigned long long)key);
    ck_assert_uint_eq(value, ~key);
    v->seen[at - v->keys]++;
    v->visits++;
}

START_TEST(an_empty_map_finds_nothing)
{
    struct u64map m;
    u64map_init(&m);
    ck_assert_ptr_null(u64map_find(&m, 1));
    ck_assert_ptr_null(u64map_find(&m, UINT64_MAX));
    ck_assert_uint_eq(m.count, 0);
    u64map_free(&m);
}
END_TEST

START_TEST(a_new_key_reads_as_zero_and_keeps_what_is_written_through_its_slot)
{
    struct u64map m;
    u64map_init(&m);
    uint64_t *v = u64map_slot(&m, 42);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(*v, 0);
    *v = 1234;
    uint64_t *found = u64map_find(&m, 42);
    ck_assert_ptr_nonnull(found);
    ck_assert_uint_eq(*found, 1234);
    ck_assert_ptr_null(u64map_find(&m, 43));
    ck_assert_uint_eq(m.count, 1);
    u64map_free(&m);
}
END_TEST

START_TEST(asking_for_the_slot_of_a_present_key_returns_its_value_without_adding_an_entry)
{
    struct u64map m;
    u64map_init(&m);
    *u64map_slot(&m, 7) = 70;
    *u64map_slot(&m, 8) = 80;
    uint64_t *again = u64map_slot(&m, 7);
    ck_assert_ptr_nonnull(again);
    ck_assert_uint_eq(*again, 70);
    (*again)++;
    ck_assert_uint_eq(*u64map_find(&m, 7), 71);
    ck_assert_uint_eq(*u64map_find(&m, 8), 80);
    ck_assert_uint_eq(m.count, 2);
    u64map_free(&m);
}
END_TEST

START_TEST(a_map_grown_past_several_doublings_finds_every_key_with_its_value)
{
    /* Keys with their low 16 bits zero (a poor hash would pile them up),
     * random keys, and the largest keys there are. */
    uint64_t *keys = malloc(MANY_ENTRIES * sizeof *keys);
    ck_assert_ptr_nonnull(keys);
    rng_seed(0x5eed0001);
    for (size_t i = 0; i < MANY_ENTRIES; i++) {
        if (i % 3 == 0)
            keys[i] = (uint64_t)(i + 1) << 16;
        else if (i % 3 == 1)
            keys[i] = rng_next() | 1; /* odd: never one of the shifted keys, never 0 */
        else
            keys[i] = UINT64_MAX - i;
    }
    struct u64map m;
    u64map_init(&m);
    for (size_t i = 0; i < MANY_ENTRIES; i++) {
        uint64_t *v = u64map_slot(&m, keys[i]);
        ck_assert_ptr_nonnull(v);
        ck_assert_uint_eq(*v, 0); /* each key is new */
        *v = ~keys[i];
    }
    ck_assert_uint_eq(m.count, MANY_ENTRIES);
    ck_assert(is_power_of_two(m.cap));
    ck_assert_uint_ge(m.cap, (size_t)U64MAP_FIRST_CAP << 7);
    for (size_t i = 0; i < MANY_ENTRIES; i++) {
        uint64_t *v = u64map_find(&m, keys[i]);
        ck_assert_msg(v != NULL, "key %zu (%llx) lost after growth", i, (unsigned long long)keys[i]);
        ck_assert_uint_eq(*v, ~keys[i]);
    }
    ck_assert_ptr_null(u64map_find(&m, 2));            /* even, below 1 << 16 */
    ck_assert_ptr_null(u64map_find(&m, (uint64_t)(MANY_ENTRIES + 7) << 16));

    qsort(keys, MANY_ENTRIES, sizeof *keys, u64_compare);
    struct u64map_visits visits = {.keys = keys, .seen = calloc(MANY_ENTRIES, 1), .n = MANY_ENTRIES};
    ck_assert_ptr_nonnull(visits.seen);
    u64map_each(&m, u64map_visit, &visits);
    ck_assert_uint_eq(visits.visits, MANY_ENTRIES);
    for (size_t i = 0; i < MANY_ENTRIES; i++)
        ck_assert_uint_eq(visits.seen[i], 1);
    free(visits.seen);
    free(keys);
    u64map_free(&m);
}
END_TEST

START_TEST(keys_that_share_a_home_slot_are_all_found_even_past_the_last_slot)
{
    /* 20 keys whose home is one of the last two slots of a 64-slot map, so
     * their run wraps to the front, and 10 whose home is slot 3, inside
     * that run. 30 keys stay below the growth point of 64 slots. */
    enum { AT_END = 20, AT_FRONT = 10 };
    uint64_t keys[AT_END + AT_FRONT];
    size_t n_end = 0, n_front = 0;
    for (uint64_t k = 1; n_end < AT_END || n_front < AT_FRONT; k++) {
        size_t home = u64map_home_of(U64MAP_FIRST_CAP, k);
        if (home >= U64MAP_FIRST_CAP - 2 && n_end < AT_END)
            keys[n_end++] = k;
        else if (home == 3 && n_front < AT_FRONT)
            keys[AT_END + n_front++] = k;
    }
    struct u64map m;
    u64map_init(&m);
    for (size_t i = 0; i < AT_END + AT_FRONT; i++)
        *u64map_slot(&m, keys[i]) = ~keys[i];
    ck_assert_uint_eq(m.cap, U64MAP_FIRST_CAP); /* still the table the homes were found in */
    ck_assert_uint_eq(m.count, AT_END + AT_FRONT);
    for (size_t i = 0; i < AT_END + AT_FRONT; i++) {
        uint64_t *v = u64map_find(&m, keys[i]);
        ck_assert_ptr_nonnull(v);
        ck_assert_uint_eq(*v, ~keys[i]);
    }
    u64map_check_probing(&m);
    u64map_free(&m);
}
END_TEST

/* ---- livetab ------------------------------------------------------------ */

/* An entry whose payload fields all derive from its number i, so a find
 * that returns the wrong entry shows. */
static struct live_slot entry_numbered(uint64_t addr, uint64_t alloc_ts, uint64_t i)
{
    return (struct live_slot){.addr = addr, .alloc_ts = alloc_ts, .word = {i, i * 3 + 1}};
}

/* A plain comparison, Check only on failure: it runs for every entry of
 * tables of 100,000, where a ck_assert each (a progress mark written per
 * call) took most of the suite's time. */
static void entry_check(const struct live_slot *found, const struct live_slot *want)
{
    if (found == NULL)
        ck_abort_msg("entry %llx/%llu not found", (unsigned long long)want->addr,
                     (unsigned long long)want->alloc_ts);
    if (found->addr != want->addr || found->alloc_ts != want->alloc_ts ||
        found->word[0] != want->word[0] || found->word[1] != want->word[1])
        ck_abort_msg("looked up %llx/%llu (entry %llu), found %llx/%llu (entry %llu)",
                     (unsigned long long)want->addr, (unsigned long long)want->alloc_ts,
                     (unsigned long long)want->word[0], (unsigned long long)found->addr,
                     (unsigned long long)found->alloc_ts, (unsigned long long)found->word[0]);
}

/* Home slot of (addr, alloc_ts) in a livetab of capacity cap; scratch is
 * an empty table of that capacity, left empty again. */
static size_t livetab_home_in(struct livetab *scratch, uint64_t addr, uint64_t alloc_ts)
{
    struct live_slot e = {.addr = addr, .alloc_ts = alloc_ts};
    struct live_slot *at = scratch->count == 0 ? livetab_insert(scratch, &e) : NULL;
    if (at == NULL) /* called once per entry by the checks: Check only on failure */
        ck_abort_msg("no home found for %llx in a scratch table of %zu entries",
                     (unsigned long long)addr, scratch->count);
    size_t home = (size_t)(at - scratch->slots);
    livetab_remove(scratch, at);
    return home;
}

static struct livetab livetab_scratch(size_t cap)
{
    struct livetab t = {.slots = calloc(cap, sizeof(struct live_slot)), .cap = cap, .count = 0};
    ck_assert_ptr_nonnull(t.slots);
    return t;
}

/* Gives back a livetab_scratch table: its slots are this file's calloc,
 * not the table's own allocation, so livetab_free must not see them. */
static void livetab_scratch_free(struct livetab *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->count = 0;
}

/* The probing invariant over one array of a table: every slot between
 * an entry's home and its place is occupied (by an entry or a
 * tombstone). Returns the entries; *tombs gets the tombstones. */
static size_t livetab_check_array(const struct live_slot *slots, size_t cap, size_t *tombs)
{
    struct livetab scratch = livetab_scratch(cap);
    size_t occupied = 0;
    *tombs = 0;
    for (size_t i = 0; i < cap; i++) {
        if (slots[i].addr == LIVETAB_TOMB)
            (*tombs)++;
        if (slots[i].addr <= LIVETAB_TOMB)
            continue;
        occupied++;
        size_t home = livetab_home_in(&scratch, slots[i].addr, slots[i].alloc_ts);
        /* A plain test, and Check only on failure: a ck_assert per slot
         * walked (each writes a progress mark) cost seconds here. */
        for (size_t j = home; j != i; j = (j + 1) & (cap - 1))
            if (slots[j].addr == 0)
                ck_abort_msg("entry at slot %zu is cut off from its home %zu by empty slot %zu", i,
                             home, j);
    }
    livetab_scratch_free(&scratch);
    return occupied;
}

/* The probing invariant over the whole table - both arrays while it
 * grows - count = the entries, and tombs = the current array's
 * tombstones. */
static void livetab_check_probing(const struct livetab *t)
{
    size_t tombs, old_tombs;
    size_t occupied = livetab_check_array(t->slots, t->cap, &tombs);
    if (t->old != NULL)
        occupied += livetab_check_array(t->old, t->old_cap, &old_tombs);
    ck_assert_uint_eq(occupied, t->count);
    ck_assert_uint_eq(tombs, t->tombs);
}

START_TEST(an_empty_live_table_finds_nothing)
{
    struct livetab t;
    livetab_init(&t);
    ck_assert_ptr_null(livetab_find(&t, 0x1000, 1));
    ck_assert_uint_eq(t.count, 0);
    livetab_free(&t);
}
END_TEST

START_TEST(an_inserted_entry_is_found_by_address_and_timestamp_and_gone_after_removal)
{
    struct livetab t;
    livetab_init(&t);
    struct live_slot want = entry_numbered(0x7f0000001040, 5000, 17);
    ck_assert_ptr_nonnull(livetab_insert(&t, &want));
    ck_assert_uint_eq(t.count, 1);
    entry_check(livetab_find(&t, want.addr, want.alloc_ts), &want);
    ck_assert_ptr_null(livetab_find(&t, want.addr, want.alloc_ts + 1));
    ck_assert_ptr_null(livetab_find(&t, want.addr + 64, want.alloc_ts));
    livetab_remove(&t, livetab_find(&t, want.addr, want.alloc_ts));
    ck_assert_uint_eq(t.count, 0);
    ck_assert_ptr_null(livetab_find(&t, want.addr, want.alloc_ts));
    livetab_free(&t);
}
END_TEST

START_TEST(the_same_address_with_another_timestamp_is_another_entry)
{
    /* An address reused: the old allocation and the new one coexist until
     * one is removed, and removing one leaves the other. */
    struct livetab t;
    livetab_init(&t);
    struct live_slot first = entry_numbered(0x5000, 100, 1), second = entry_numbered(0x5000, 200, 2);
    ck_assert_ptr_nonnull(livetab_insert(&t, &first));
    ck_assert_ptr_nonnull(livetab_insert(&t, &second));
    ck_assert_uint_eq(t.count, 2);
    entry_check(livetab_find(&t, 0x5000, 100), &first);
    entry_check(livetab_find(&t, 0x5000, 200), &second);
    livetab_remove(&t, livetab_find(&t, 0x5000, 100));
    ck_assert_ptr_null(livetab_find(&t, 0x5000, 100));
    entry_check(livetab_find(&t, 0x5000, 200), &second);
    ck_assert_uint_eq(t.count, 1);
    livetab_free(&t);
}
END_TEST

START_TEST(a_removed_key_can_be_inserted_again_and_is_found_with_its_new_contents)
{
    struct livetab t;
    livetab_init(&t);
    for (uint64_t i = 1; i <= 50; i++) {
        struct live_slot e = entry_numbered(0x9000 + i * 16, i, i);
        ck_assert_ptr_nonnull(livetab_insert(&t, &e));
    }
    struct live_slot old = entry_numbered(0x9000 + 25 * 16, 25, 25);
    livetab_remove(&t, livetab_find(&t, old.addr, old.alloc_ts));
    struct live_slot renewed = entry_numbered(old.addr, old.alloc_ts, 9999);
    ck_assert_ptr_nonnull(livetab_insert(&t, &renewed));
    ck_assert_uint_eq(t.count, 50);
    entry_check(livetab_find(&t, old.addr, old.alloc_ts), &renewed);
    for (uint64_t i = 1; i <= 50; i++) {
        if (i == 25)
            continue;
        struct live_slot e = entry_numbered(0x9000 + i * 16, i, i);
        entry_check(livetab_find(&t, e.addr, e.alloc_ts), &e);
    }
    livetab_free(&t);
}
END_TEST

/* The i-th address of the tests below: 128-byte blocks from 1 MiB up, the
 * address of entry i and i + 1 the same when i % 4 == 3. */
#define LIVETAB_TEST_ADDR(i) (0x100000u + 64 + ((i) - (i) / 4) * 128)

START_TEST(a_live_table_grown_past_several_doublings_finds_every_entry)
{
    struct livetab t;
    livetab_init(&t);
    rng_seed(0x5eed0002);
    uint64_t *ts = malloc(MANY_ENTRIES * sizeof *ts);
    ck_assert_ptr_nonnull(ts);
    for (size_t i = 0; i < MANY_ENTRIES; i++) {
        ts[i] = rng_next() >> 1;
        /* User pointers as the allocator hands them out: 64-byte aligned,
         * blocks of 128 bytes and more; every fourth address's block
         * reused once while the first is still in the table (a FREE that
         * arrives after the next ALLOC of the address). */
        struct live_slot e = entry_numbered(LIVETAB_TEST_ADDR(i), ts[i], i);
        ck_assert_ptr_nonnull(livetab_insert(&t, &e));
    }
    ck_assert_uint_eq(t.count, MANY_ENTRIES);
    ck_assert(is_power_of_two(t.cap));
    ck_assert_uint_ge(t.cap, (size_t)LIVETAB_FIRST_CAP << 6);
    for (size_t i = 0; i < MANY_ENTRIES; i++) {
        struct live_slot want = entry_numbered(LIVETAB_TEST_ADDR(i), ts[i], i);
        entry_check(livetab_find(&t, want.addr, want.alloc_ts), &want);
    }
    livetab_check_probing(&t);
    free(ts);
    livetab_free(&t);
}
END_TEST

/* Locality: the blocks of one page, allocated one after the other, are
 * looked up in one run of neighbouring slots, not all over the table. */
START_TEST(the_blocks_of_one_page_sit_in_neighbouring_slots)
{
    struct livetab t;
    livetab_init(&t);
    for (uint64_t k = 0; k < 5000; k++) { /* other pages' blocks around them */
        struct live_slot e = entry_numbered(0x40000000u + k * 4096 + 64, k + 1, k);
        ck_assert_ptr_nonnull(livetab_insert(&t, &e));
    }
    const uint64_t page = 0x7f0000000000u;
    for (uint64_t k = 0; k < 32; k++) { /* 32 blocks of 128 bytes: one page */
        struct live_slot e = entry_numbered(page + 64 + k * 128, 100000 + k, k);
        ck_assert_ptr_nonnull(livetab_insert(&t, &e));
    }
    /* Every one within a few cache lines of the table past the home of the
     * page's first line; spread at random, 32 entries would lie thousands
     * of slots apart in this 8192-slot table. */
    ck_assert_uint_eq(t.cap, 8192);
    struct livetab scratch = livetab_scratch(t.cap);
    size_t base = livetab_home_in(&scratch, page, 1);
    livetab_scratch_free(&scratch);
    for (uint64_t k = 0; k < 32; k++) {
        struct live_slot *at = livetab_find(&t, page + 64 + k * 128, 100000 + k);
        ck_assert_ptr_nonnull(at);
        ck_assert_uint_lt(((size_t)(at - t.slots) - base) & (t.cap - 1), 128);
    }
    livetab_free(&t);
}
END_TEST

/* Builds a table of n entries: pages of 32 blocks of 128 bytes, whose
 * homes crowd into long probe runs (livetab_home), entry i at time i + 1. */
static struct live_slot paged_entry(uint64_t i)
{
    return entry_numbered(0x7f0000000000u + (i / 32) * 4096 + 64 + (i % 32) * 128, i + 1, i);
}

/* A removal leaves a tombstone where a probe may pass: no other entry
 * moves, so a pointer to one stays good, and the run is not walked. */
START_TEST(a_removal_moves_no_other_entry)
{
    struct livetab t;
    livetab_init(&t);
    enum { N = 20000 };
    for (uint64_t i = 0; i < N; i++) {
        struct live_slot e = paged_entry(i);
        ck_assert_ptr_nonnull(livetab_insert(&t, &e));
    }
    ck_assert_ptr_null(t.old); /* no growth under way: slots stay put */
    struct live_slot **at = malloc(N * sizeof *at);
    ck_assert_ptr_nonnull(at);
    for (uint64_t i = 0; i < N; i++)
        at[i] = livetab_find(&t, paged_entry(i).addr, i + 1);
    for (uint64_t i = 0; i < N; i += 3) /* a third of them, from the middle of runs too */
        livetab_remove(&t, at[i]);
    ck_assert_uint_gt(t.tombs, 0);
    for (uint64_t i = 0; i < N; i++) {
        struct live_slot want = paged_entry(i);
        struct live_slot *found = livetab_find(&t, want.addr, want.alloc_ts);
        if (i % 3 == 0) {
            if (found != NULL)
                ck_abort_msg("entry %llu found after its removal", (unsigned long long)i);
        } else if (found != at[i]) {
            ck_abort_msg("entry %llu moved from slot %td to %td", (unsigned long long)i,
                         at[i] - t.slots, found ? found - t.slots : (ptrdiff_t)-1);
        }
    }
    livetab_check_probing(&t);
    free(at);
    livetab_free(&t);
}
END_TEST

/* Allocations and frees around a steady live count, ten tables' worth:
 * the tombstones they leave are purged in place when they and the entries
 * fill the table to 3/4, so it never grows past the size its live count
 * needs, and every entry stays findable through the purges. */
START_TEST(a_steady_churn_purges_tombstones_instead_of_growing)
{
    struct livetab t;
    livetab_init(&t);
    enum { LIVE = 7000 }; /* 43% of the 16,384 slots it grows to */
    uint64_t *live = malloc(LIVE * sizeof *live);
    ck_assert_ptr_nonnull(live);
    for (uint64_t i = 0; i < LIVE; i++) {
        struct live_slot e = paged_entry(i);
        ck_assert_ptr_nonnull(livetab_insert(&t, &e));
        live[i] = i;
    }
    size_t cap = t.cap, purges = 0, last_tombs = t.tombs;
    rng_seed(0x5eed0007);
    for (uint64_t next = LIVE; next < LIVE + 10 * (uint64_t)cap; next++) {
        size_t k = (size_t)(rng_next() % LIVE); /* free a random live one... */
        struct live_slot gone = paged_entry(live[k]);
        struct live_slot *e = livetab_find(&t, gone.addr, gone.alloc_ts);
        if (e == NULL)
            ck_abort_msg("live entry %llu not found", (unsigned long long)live[k]);
        livetab_remove(&t, e);
        struct live_slot fresh = paged_entry(next); /* ...and allocate a new one */
        ck_assert_ptr_nonnull(livetab_insert(&t, &fresh));
        live[k] = next;
        if (t.tombs == 0 && last_tombs > cap / 8) /* all gone at once: a purge */
            purges++;
        last_tombs = t.tombs;
        if ((t.count + t.tombs) * 4 > t.cap * 3)
            ck_abort_msg("%zu entries and %zu tombstones in %zu slots", t.count, t.tombs, t.cap);
    }
    ck_assert_uint_eq(t.cap, cap);
    ck_assert_uint_gt(purges, 0);
    for (uint64_t i = 0; i < LIVE; i++) {
        struct live_slot want = paged_entry(live[i]);
        entry_check(livetab_find(&t, want.addr, want.alloc_ts), &want);
    }
    livetab_check_probing(&t);
    free(live);
    livetab_free(&t);
}
END_TEST

/* Keys no allocator produces - thousands of allocations of one address
 * live at once - share one probe run: slow, but every one is found. */
START_TEST(thousands_of_entries_of_one_address_are_all_found)
{
    struct livetab t;
    livetab_init(&t);
    for (uint64_t k = 0; k < 3000; k++) {
        struct live_slot e = entry_numbered(0x5000, k + 1, k);
        ck_assert_ptr_nonnull(livetab_insert(&t, &e));
    }
    for (uint64_t k = 0; k < 3000; k += 2)
        livetab_remove(&t, livetab_find(&t, 0x5000, k + 1));
    for (uint64_t k = 0; k < 3000; k++) {
        struct live_slot want = entry_numbered(0x5000, k + 1, k);
        struct live_slot *got = livetab_find(&t, 0x5000, k + 1);
        if (k % 2 == 0)
            ck_assert_ptr_null(got);
        else
            entry_check(got, &want);
    }
    livetab_check_probing(&t);
    livetab_free(&t);
}
END_TEST

START_TEST(deleting_every_other_entry_of_a_dense_colliding_cluster_keeps_the_rest_findable)
{
    /* In a 1024-slot table: 40 keys at home 1022 and 24 at home 1020 make
     * one run that wraps past the last slot; 16 at home 0 and 16 at home 3
     * land inside it. Inserted in a shuffled order, then every other one
     * (in that order) removed. */
    enum { N = 96 };
    struct { size_t home, want; } groups[] = {{1022, 40}, {1020, 24}, {0, 16}, {3, 16}};
    struct live_slot keys[N];
    size_t n = 0;
    struct livetab scratch = livetab_scratch(LIVETAB_FIRST_CAP);
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        size_t found = 0;
        for (uint64_t addr = 0x10000; found < groups[g].want; addr += 16) {
            if (livetab_home_in(&scratch, addr, 777) == groups[g].home) {
                keys[n] = entry_numbered(addr, 777, n);
                n++;
                found++;
            }
        }
    }
    livetab_scratch_free(&scratch);
    ck_assert_uint_eq(n, N);
    rng_seed(0x5eed0003);
    size_t *order = identity_order(N);
    shuffle(order, N);

    struct livetab t;
    livetab_init(&t);
    for (size_t i = 0; i < N; i++)
        ck_assert_ptr_nonnull(livetab_insert(&t, &keys[order[i]]));
    ck_assert_uint_eq(t.cap, LIVETAB_FIRST_CAP); /* the homes above are this table's */
    livetab_check_probing(&t);
    /* The run is at least as long as its keys: check it really wraps. */
    ck_assert(t.slots[LIVETAB_FIRST_CAP - 1].addr != 0 && t.slots[0].addr != 0);

    for (size_t i = 0; i < N; i += 2) {
        struct live_slot *e = livetab_find(&t, keys[order[i]].addr, keys[order[i]].alloc_ts);
        entry_check(e, &keys[order[i]]);
        livetab_remove(&t, e);
        /* After each removal, every key still in is found; every key out is not. */
        for (size_t j = 0; j < N; j++) {
            bool removed = j % 2 == 0 && j <= i;
            struct live_slot *f = livetab_find(&t, keys[order[j]].addr, keys[order[j]].alloc_ts);
            if (removed)
                ck_assert_ptr_null(f);
            else
                entry_check(f, &keys[order[j]]);
        }
        livetab_check_probing(&t);
    }
    ck_assert_uint_eq(t.count, N / 2);

    /* The removed keys go back in; then everything leaves, last in first out. */
    for (size_t i = 0; i < N; i += 2)
        ck_assert_ptr_nonnull(livetab_insert(&t, &keys[order[i]]));
    for (size_t j = 0; j < N; j++)
        entry_check(livetab_find(&t, keys[j].addr, keys[j].alloc_ts), &keys[j]);
    for (size_t i = N; i-- > 0;) {
        livetab_remove(&t, livetab_find(&t, keys[order[i]].addr, keys[order[i]].alloc_ts));
        for (size_t j = 0; j < i; j++)
            entry_check(livetab_find(&t, keys[order[j]].addr, keys[order[j]].alloc_ts), &keys[order[j]]);
    }
    ck_assert_uint_eq(t.count, 0);
    for (size_t i = 0; i < t.cap; i++)
        ck_assert_uint_eq(t.slots[i].addr, 0);
    free(order);
    livetab_free(&t);
}
END_TEST

START_TEST(removing_every_entry_in_a_shuffled_order_finds_each_survivor_until_none_is_left)
{
    struct livetab t;
    livetab_init(&t);
    for (size_t i = 0; i < MANY_ENTRIES; i++) {
        struct live_slot e = entry_numbered(0x200000 + i * 64, 1000 + i, i);
        ck_assert_ptr_nonnull(livetab_insert(&t, &e));
    }
    rng_seed(0x5eed0004);
    size_t *order = identity_order(MANY_ENTRIES);
    shuffle(order, MANY_ENTRIES);
    bool *in = malloc(MANY_ENTRIES * sizeof *in);
    ck_assert_ptr_nonnull(in);
    for (size_t i = 0; i < MANY_ENTRIES; i++)
        in[i] = true;
    for (size_t k = 0; k < MANY_ENTRIES; k++) {
        size_t i = order[k];
        struct live_slot want = entry_numbered(0x200000 + i * 64, 1000 + i, i);
        struct live_slot *e = livetab_find(&t, want.addr, want.alloc_ts);
        entry_check(e, &want);
        livetab_remove(&t, e);
        in[i] = false;
        if (t.count != MANY_ENTRIES - k - 1)
            ck_abort_msg("%zu entries counted after %zu of %d removals", t.count, k + 1, MANY_ENTRIES);
        /* A full check at a few points: quarter, half, three quarters. */
        if ((k + 1) % (MANY_ENTRIES / 4) == 0) {
            for (size_t j = 0; j < MANY_ENTRIES; j++) {
                struct live_slot w = entry_numbered(0x200000 + j * 64, 1000 + j, j);
                struct live_slot *f = livetab_find(&t, w.addr, w.alloc_ts);
                if (in[j])
                    entry_check(f, &w);
                else
                    ck_assert_ptr_null(f);
            }
            livetab_check_probing(&t);
        }
    }
    for (size_t i = 0; i < t.cap; i++)
        ck_assert_uint_eq(t.slots[i].addr, 0);
    free(in);
    free(order);
    livetab_free(&t);
}
END_TEST

/* Inserts entry i of the growth test. */
static struct live_slot growth_entry(uint64_t i)
{
    return entry_numbered(0x7f0000000000 + i * 64, i + 1, i);
}

START_TEST(entries_stay_findable_and_removable_while_a_growth_moves_them_over)
{
    struct livetab t;
    livetab_init(&t);
    uint64_t n = 0;
    while (t.old == NULL || t.cap < (size_t)LIVETAB_FIRST_CAP << 4) {
        struct live_slot e = growth_entry(n++);
        ck_assert_ptr_nonnull(livetab_insert(&t, &e));
    }
    /* A growth has just begun: most entries are still in the old array. */
    ck_assert_ptr_nonnull(t.old);
    livetab_check_probing(&t);
    bool *gone = calloc(n + 4096, sizeof *gone);
    ck_assert_ptr_nonnull(gone);
    for (uint64_t i = 0; i < n; i += 3) {
        struct live_slot want = growth_entry(i);
        struct live_slot *at = livetab_find(&t, want.addr, want.alloc_ts);
        entry_check(at, &want);
        livetab_remove(&t, at);
        gone[i] = true;
    }
    livetab_check_probing(&t);
    /* Insertions move the rest over; check every step until it is done. */
    uint64_t steps = 0;
    while (t.old != NULL) {
        struct live_slot e = growth_entry(n++);
        ck_assert_ptr_nonnull(livetab_insert(&t, &e));
        livetab_check_probing(&t);
        ck_assert_uint_lt(++steps, 4096);
    }
    for (uint64_t i = 0; i < n; i++) {
        struct live_slot want = growth_entry(i);
        struct live_slot *at = livetab_find(&t, want.addr, want.alloc_ts);
        if (gone[i])
            ck_assert_ptr_null(at);
        else
            entry_check(at, &want);
    }
    free(gone);
    livetab_free(&t);
}
END_TEST


/* Inserts entries of the growth test into t, from *n on, until its next
 * array is mapped (it is half full and that array is 2 MiB or more). */
static void fill_until_next_is_mapped(struct livetab *t, uint64_t *n, uint64_t first)
{
    while (t->next == NULL) {
        struct live_slot e = growth_entry(first + (*n)++);
        ck_assert_ptr_nonnull(livetab_insert(t, &e));
        ck_assert_uint_lt(*n, 1u << 22);
    }
}

/* Whether every page of [p, p + bytes) is resident. */
static bool resident(const void *p, size_t bytes)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (bytes + page - 1) / page;
    unsigned char *vec = malloc(pages);
    ck_assert_ptr_nonnull(vec);
    ck_assert_int_eq(mincore((void *)p, bytes, vec), 0);
    bool all = true;
    for (size_t i = 0; i < pages && all; i++)
        all = (vec[i] & 1) != 0;
    free(vec);
    return all;
}

/* Whether the page at p becomes resident within `seconds`, looking every
 * 10 ms: the filler runs under SCHED_IDLE, so it is given time on a busy
 * machine. */
static bool resident_within(const void *p, int seconds)
{
    struct timespec nap = {0, 10 * 1000 * 1000};
    for (int i = 0; i < seconds * 100 && !resident(p, 4096); i++)
        nanosleep(&nap, NULL);
    return resident(p, 4096);
}

/* The last page of t's next array. */
static const void *next_tail(const struct livetab *t)
{
    return (const char *)t->next + t->cap * 2 * sizeof *t->next - 4096;
}

/* A new table filled until it has a next array of `min_bytes` or more
 * mapped (at its half-full point), the filler given it. */
static void table_with_filler(struct livetab *t, uint64_t *n, size_t min_bytes)
{
    livetab_init(t);
    *n = 0;
    while (t->next == NULL || t->cap * 2 * sizeof *t->next < min_bytes) {
        struct live_slot e = growth_entry((*n)++);
        ck_assert_ptr_nonnull(livetab_insert(t, &e));
        ck_assert_uint_lt(*n, 1u << 22);
    }
    ck_assert(t->next_filled);
}

START_TEST(the_filler_thread_populates_a_next_array_ahead_of_the_insertions)
{
    struct livetab t;
    uint64_t n;
    table_with_filler(&t, &n, 0);
    /* No insertion from here: the main thread populates nothing more, so
     * whatever becomes resident past next_ready is the filler's work. */
    size_t bytes = t.cap * 2 * sizeof *t.next;
    bool populated = resident_within(next_tail(&t), 30);
    ck_assert_uint_lt(t.next_ready, bytes - 4096);
    ck_assert_msg(populated, "the last page of the next array (%zu bytes) was never populated", bytes);
    livetab_free(&t);
}
END_TEST

/* A next array of sixteen of the filler's 2 MiB chunks. */
#define LARGE_NEXT_BYTES (32u << 20)

START_TEST(the_next_array_is_populated_as_far_as_the_table_has_filled_towards_its_growth)
{
    struct livetab t;
    uint64_t n;
    table_with_filler(&t, &n, LARGE_NEXT_BYTES);
    size_t bytes = t.cap * 2 * sizeof *t.next;
    ck_assert_uint_lt(t.next_ready, bytes / 16);
    /* From half full to 5/8: half the way to the growth at 3/4. */
    while (t.count < t.cap / 8 * 5) {
        struct live_slot e = growth_entry(n++);
        ck_assert_ptr_nonnull(livetab_insert(&t, &e));
    }
    ck_assert_uint_ge(t.next_ready + (64u << 10), bytes / 2);
    ck_assert_uint_le(t.next_ready, bytes / 2);
    /* Churn at that fill (blocks freed and allocated again at the same
     * addresses, over and over, as a program in its steady state) adds
     * nothing to populate: the table is no nearer its growth. Counting
     * insertions, it populated the whole array. */
    size_t ready = t.next_ready;
    for (uint64_t round = 1; round <= 2; round++) {
        for (uint64_t i = 0; i < n; i++) {
            struct live_slot was = growth_entry(i);
            was.alloc_ts += (round - 1) * n;
            struct live_slot *e = livetab_find(&t, was.addr, was.alloc_ts);
            ck_assert_ptr_nonnull(e);
            livetab_remove(&t, e);
            struct live_slot again = was;
            again.alloc_ts += n;
            ck_assert_ptr_nonnull(livetab_insert(&t, &again));
        }
    }
    ck_assert_uint_eq(t.cap * 2 * sizeof *t.next, bytes); /* no growth came */
    ck_assert_uint_le(t.next_ready, ready + (64u << 10));
    livetab_free(&t);
}
END_TEST

START_TEST(the_filler_stops_an_eighth_of_the_next_array_ahead_of_a_table_that_stops_filling)
{
    struct livetab t;
    uint64_t n;
    table_with_filler(&t, &n, LARGE_NEXT_BYTES);
    size_t bytes = t.cap * 2 * sizeof *t.next;
    const char *next = (const char *)t.next;
    /* The filler gets to its lead (the table has asked for under a
     * chunk)... */
    ck_assert_msg(resident_within(next + bytes / 8 - 4096, 30),
                  "the filler never populated the first eighth of the next array");
    /* ...and no further, however long it is left to. */
    struct timespec nap = {0, 300 * 1000 * 1000};
    nanosleep(&nap, NULL);
    ck_assert_msg(!resident(next + bytes / 8 + (2u << 20), 4096),
                  "the filler populated past its lead, with the table no fuller");
    ck_assert_msg(!resident(next_tail(&t), 4096), "the filler populated the whole next array");
    livetab_free(&t);
}
END_TEST

START_TEST(two_tables_growing_side_by_side_keep_every_entry_while_one_has_the_filler)
{
    struct livetab a, b;
    livetab_init(&a);
    livetab_init(&b);
    uint64_t na = 0, nb = 0;
    const uint64_t b_first = 1u << 24; /* b's addresses lie past a's */
    fill_until_next_is_mapped(&a, &na, 0);
    fill_until_next_is_mapped(&b, &nb, b_first);
    /* One filler: the first table has it, the second populates alone. */
    ck_assert(a.next_filled);
    ck_assert(!b.next_filled);
    /* Both grow twice more, in turns. */
    size_t a_target = a.cap * 4, b_target = b.cap * 4;
    while (a.cap < a_target || b.cap < b_target) {
        struct live_slot e = growth_entry(na++);
        ck_assert_ptr_nonnull(livetab_insert(&a, &e));
        struct live_slot f = growth_entry(b_first + nb++);
        ck_assert_ptr_nonnull(livetab_insert(&b, &f));
    }
    livetab_check_probing(&a);
    livetab_check_probing(&b);
    for (uint64_t i = 0; i < na; i++) {
        struct live_slot want = growth_entry(i);
        entry_check(livetab_find(&a, want.addr, want.alloc_ts), &want);
    }
    for (uint64_t i = 0; i < nb; i++) {
        struct live_slot want = growth_entry(b_first + i);
        entry_check(livetab_find(&b, want.addr, want.alloc_ts), &want);
    }
    livetab_free(&a);
    livetab_free(&b);
}
END_TEST

START_TEST(a_table_freed_while_the_filler_populates_its_next_array_is_given_back_at_once)
{
    /* Over and over: map the next array, free the table at once (the
     * filler is in it or about to be), and map a fresh table, whose next
     * array often lands where the last one was. The filler must be out of
     * a region before it is unmapped, and free for the next table. */
    for (int round = 0; round < 8; round++) {
        struct livetab t;
        uint64_t n;
        table_with_filler(&t, &n, 0); /* fails if the last round's table kept the filler */
        /* Free it once the filler is at work in it (its first page in),
         * most often in the middle of its first chunk. */
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        do
            clock_gettime(CLOCK_MONOTONIC, &now);
        while (!resident(t.next, 4096) && now.tv_sec - start.tv_sec < 2);
        livetab_free(&t);
    }
}
END_TEST

START_TEST(a_child_forked_while_the_filler_populates_grows_its_table_without_it)
{
    struct livetab t;
    uint64_t n;
    table_with_filler(&t, &n, 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        /* No filler here: the growth populates and takes the array back
         * on this thread, and a new table gets a filler of its own. */
        alarm(20);
        size_t cap = t.cap;
        while (t.cap == cap) {
            struct live_slot e = growth_entry(n++);
            if (livetab_insert(&t, &e) == NULL)
                _exit(2);
        }
        for (uint64_t i = 0; i < n; i++) {
            struct live_slot want = growth_entry(i);
            if (livetab_find(&t, want.addr, want.alloc_ts) == NULL)
                _exit(3);
        }
#if TABLES_TEST_NO_THREADS_AFTER_FORK
        /* A new filler here: for the builds without a sanitizer. */
        _exit(0);
#else
        struct livetab fresh;
        livetab_init(&fresh);
        uint64_t m = 0;
        fill_until_next_is_mapped(&fresh, &m, 1u << 24);
        if (!fresh.next_filled)
            _exit(4);
        /* And that filler is a live thread: it populates the array. */
        _exit(resident_within(next_tail(&fresh), 15) ? 0 : 5);
#endif
    }
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the forked child failed (status %d)", status);
    livetab_free(&t);
}
END_TEST

Suite *tables_suite(void)
{
    Suite *s = suite_create("tables");
    TCase *map = tcase_create("u64map");
    tcase_add_test(map, an_empty_map_finds_nothing);
    tcase_add_test(map, a_new_key_reads_as_zero_and_keeps_what_is_written_through_its_slot);
    tcase_add_test(map, asking_for_the_slot_of_a_present_key_returns_its_value_without_adding_an_entry);
    tcase_add_test(map, a_map_grown_past_several_doublings_finds_every_key_with_its_value);
    tcase_add_test(map, keys_that_share_a_home_slot_are_all_found_even_past_the_last_slot);
    suite_add_tcase(s, map);
    TCase *live = tcase_create("livetab");
    tcase_add_test(live, an_empty_live_table_finds_nothing);
    tcase_add_test(live, an_inserted_entry_is_found_by_address_and_timestamp_and_gone_after_removal);
    tcase_add_test(live, the_same_address_with_another_timestamp_is_another_entry);
    tcase_add_test(live, a_removed_key_can_be_inserted_again_and_is_found_with_its_new_contents);
    tcase_add_test(live, a_live_table_grown_past_several_doublings_finds_every_entry);
    tcase_add_test(live, the_blocks_of_one_page_sit_in_neighbouring_slots);
    tcase_add_test(live, a_removal_moves_no_other_entry);
    tcase_add_test(live, a_steady_churn_purges_tombstones_instead_of_growing);
    tcase_add_test(live, thousands_of_entries_of_one_address_are_all_found);
    tcase_add_test(live, deleting_every_other_entry_of_a_dense_colliding_cluster_keeps_the_rest_findable);
    tcase_add_test(live, removing_every_entry_in_a_shuffled_order_finds_each_survivor_until_none_is_left);
    tcase_add_test(live, entries_stay_findable_and_removable_while_a_growth_moves_them_over);
    suite_add_tcase(s, live);
    TCase *filler = tcase_create("filler");
    tcase_set_timeout(filler, 60);
    tcase_add_test(filler, the_filler_thread_populates_a_next_array_ahead_of_the_insertions);
    tcase_add_test(filler, the_next_array_is_populated_as_far_as_the_table_has_filled_towards_its_growth);
    tcase_add_test(filler, the_filler_stops_an_eighth_of_the_next_array_ahead_of_a_table_that_stops_filling);
    tcase_add_test(filler, two_tables_growing_side_by_side_keep_every_entry_while_one_has_the_filler);
    tcase_add_test(filler, a_table_freed_while_the_filler_populates_its_next_array_is_given_back_at_once);
    tcase_add_test(filler, a_child_forked_while_the_filler_populates_grows_its_table_without_it);
    suite_add_tcase(s, filler);
    return s;
}

CHECK_SUPPORT_MAIN(tables_suite)
