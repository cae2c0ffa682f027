/* check_ingest.c - tracer/collector/ingest.c through state.h: records built
 * with record.h's helpers, exactly as a traced thread sends them, are fed
 * one framed event at a time and the resulting proc_state is compared with
 * what the workload implies. The database, the viewer and every leak report
 * trust these counters to be exact, and the hard cases are the ones a real
 * process produces only under load: a FREE drained before its ALLOC because
 * the two sat in different threads' rings, an address reused while the
 * record of its previous life is still in flight, realloc, large blocks,
 * stacks sent twice under different ids, and a live table of hundreds of
 * thousands of blocks. Covered: per-class, per-thread, per-site and
 * per-thread-pair counts, pending frees and state_settle, the exact size
 * histogram across the class edges, lifetime buckets, stack folding,
 * allocations by entry point (alloc_calls), full-mode rows, corruption
 * events, and malformed input (fed at the very end of a readable region
 * followed by an inaccessible page, so a read past a frame faults instead
 * of passing unnoticed). Every expected value comes
 * from the workload, never from the code under test. Only state.h's
 * functions and proc_state's documented fields are read, never the live
 * table or the histogram behind them (they are being reworked); the
 * thread-pair map is read the way db.c reads it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check_support.h"
#include "record.h"
#include "segment.h" /* SEGMENT_MODE_* */
#include "state.h"

#define PID 4100u
#define TID_A 4101u /* thread ids as the rings' producers carry them */
#define TID_B 4102u
#define TID_C 4103u
#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)
#define MANY_BLOCKS 200000u /* live at once in the volume test */

/* The size classes as orthotope.h and size_class.h define them: payload
 * bytes of class 0..11; 12 is LARGE. The test's own statement of the
 * spec, so expectations never come from ingest.c's copy. */
enum {
    CLASS_B64, CLASS_B256, CLASS_B4K, CLASS_B6K, CLASS_B8K, CLASS_B16K, CLASS_B32K,
    CLASS_B64K, CLASS_B128K, CLASS_B256K, CLASS_B1M, CLASS_B16M, CLASS_LARGE
};
static const uint64_t spec_payload[CLASS_LARGE] = {64, 256, 4096, 6144, 8192, 16384, 32768,
                                                   65536, 131072, 262144, MIB, 16 * MIB};
static const char *const spec_name[CLASS_LARGE + 1] = {
    "B64", "B256", "B4K", "B6K", "B8K", "B16K", "B32K", "B64K", "B128K", "B256K", "B1M", "B16M", "LARGE"};

static unsigned spec_class_of(uint64_t size)
{
    for (unsigned c = 0; c < CLASS_LARGE; c++)
        if (size <= spec_payload[c])
            return c;
    return CLASS_LARGE;
}

/* What the large path would hand out for a request: whole pages after a
 * 64-byte header. Any value works (the collector must take it from the
 * payload); this one differs from the request. */
static uint64_t large_usable(uint64_t requested)
{
    return (requested + 64 + 4095) / 4096 * 4096 - 64;
}

static uint64_t usable_of(uint64_t requested)
{
    unsigned c = spec_class_of(requested);
    return c == CLASS_LARGE ? large_usable(requested) : spec_payload[c];
}

/* floor(log2(d)) for d >= 1, by counting halvings. */
static unsigned log2_floor(uint64_t d)
{
    unsigned b = 0;
    while (d > 1) {
        d >>= 1;
        b++;
    }
    return b;
}

/* ---- feeding records ---------------------------------------------------- */

#define FEED_MAX_RECORDS (1 + RECORD_PAYLOAD_RECORDS_MAX)
#define FEED_AREA_RECORDS 24000u /* the most fed at once: a batch of a tape */

/* Where frames and batches are fed from: the end of a readable region
 * with an inaccessible page right after it, made once per test process. */
static record_t *feed_area(size_t n)
{
    static char *base;
    static size_t readable;
    if (base == NULL) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        readable = (FEED_AREA_RECORDS * RECORD_BYTES + page - 1) / page * page;
        void *m = mmap(NULL, readable + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ck_assert(m != MAP_FAILED);
        ck_assert_int_eq(mprotect((char *)m + readable, page, PROT_NONE), 0);
        base = m;
    }
    return (record_t *)(void *)(base + readable - n * RECORD_BYTES);
}

/* Feeds one framed event of n records, as thread `thread` produced it. */
static void feed(struct proc_state *p, size_t thread, const record_t *recs, size_t n)
{
    ck_assert_uint_ge(n, 1);
    ck_assert_uint_le(n, FEED_MAX_RECORDS);
    record_t *at = feed_area(n);
    memcpy(at, recs, n * sizeof *recs);
    state_ingest(p, thread, at, n);
}

/* One allocation as its records name it. */
struct block {
    uint64_t addr;
    uint64_t requested_bytes;
    uint64_t alloc_ts_ns;
    uint32_t stack_id; /* as sent; RECORD_STACK_NONE if none */
};

static struct block block_make(uint64_t addr, uint64_t requested, uint64_t ts, uint32_t stack)
{
    return (struct block){.addr = addr, .requested_bytes = requested, .alloc_ts_ns = ts, .stack_id = stack};
}

/* The ALLOC of b into out: one record, or for a large block a head plus
 * its record_alloc_large_t, as tracer.c sends them. Returns the records. */
static size_t frame_alloc(record_t out[2], const struct block *b)
{
    unsigned cls = spec_class_of(b->requested_bytes);
    if (cls != CLASS_LARGE) {
        out[0] = record_from_words(
            record_words_alloc(b->addr, b->requested_bytes, cls, b->stack_id, 0, b->alloc_ts_ns));
        return 1;
    }
    record_t head = record_make_alloc(b->addr, b->requested_bytes, RECORD_CLASS_LARGE, b->stack_id, 0,
                                      b->alloc_ts_ns);
    record_alloc_large_t large = {.usable_bytes = large_usable(b->requested_bytes)};
    size_t n = record_frame_write(out, 2, &head, &large, sizeof large);
    ck_assert_uint_eq(n, 2);
    return n;
}

static void send_alloc(struct proc_state *p, size_t thread, const struct block *b)
{
    record_t frame[2];
    size_t n = frame_alloc(frame, b);
    feed(p, thread, frame, n);
}

/* The FREE of b at free_ts, with what the block header holds. */
static record_t record_free_of(const struct block *b, uint64_t free_ts)
{
    return record_from_words(record_words_free(b->addr, spec_class_of(b->requested_bytes),
                                               b->alloc_ts_ns, b->stack_id, free_ts));
}

static void send_free(struct proc_state *p, size_t thread, const struct block *b, uint64_t free_ts)
{
    record_t r = record_free_of(b, free_ts);
    feed(p, thread, &r, 1);
}

/* A REALLOC that replaced `old` with `now` (now's ts is the realloc's),
 * into out (2 records). */
static size_t frame_realloc(record_t out[2], const struct block *old, const struct block *now,
                            unsigned flags)
{
    record_t head = record_make_alloc(now->addr, now->requested_bytes, spec_class_of(now->requested_bytes),
                                      now->stack_id, flags, now->alloc_ts_ns);
    head.kind = RECORD_REALLOC;
    record_realloc_from_t from = {.old_addr = old->addr,
                                  .old_alloc_ts_ns = old->alloc_ts_ns,
                                  .new_usable_bytes = usable_of(now->requested_bytes),
                                  .old_class_index = (uint8_t)spec_class_of(old->requested_bytes)};
    ck_assert_uint_eq(record_frame_write(out, 2, &head, &from, sizeof from), 2);
    return 2;
}

static void send_realloc(struct proc_state *p, size_t thread, const struct block *old,
                         const struct block *now, unsigned flags)
{
    record_t frame[2];
    feed(p, thread, frame, frame_realloc(frame, old, now, flags));
}

/* A STACK_DEF of id with depth PCs, innermost first, into out
 * (FEED_MAX_RECORDS). Returns the records. */
static size_t frame_stack(record_t *out, uint32_t id, const uint64_t *pcs, size_t depth,
                          bool truncated)
{
    record_t head = {.kind = RECORD_STACK_DEF, .class_index = RECORD_CLASS_NONE,
                     .flags = truncated ? RECORD_FLAG_TRUNCATED : 0, .stack_id = id, .ts_ns = 1};
    head.payload_bytes = depth * sizeof(uint64_t);
    size_t n = record_frame_write(out, FEED_MAX_RECORDS, &head, pcs, depth * sizeof(uint64_t));
    ck_assert_uint_ge(n, 1);
    return n;
}

static void send_stack(struct proc_state *p, size_t thread, uint32_t id, const uint64_t *pcs,
                       size_t depth, bool truncated)
{
    record_t frame[FEED_MAX_RECORDS];
    feed(p, thread, frame, frame_stack(frame, id, pcs, depth, truncated));
}

/* ---- reading the state -------------------------------------------------- */

struct live_list {
    struct live_entry *items;
    size_t count, cap;
};

static void live_collect(const struct live_entry *e, void *arg)
{
    struct live_list *l = arg;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = realloc(l->items, l->cap * sizeof *l->items);
        ck_assert_ptr_nonnull(l->items);
    }
    l->items[l->count++] = *e;
}

/* Every allocation state_live_each reports; free(.items) after. */
static struct live_list live_of(const struct proc_state *p)
{
    struct live_list l = {0};
    state_live_each(p, live_collect, &l);
    return l;
}

/* The reported entry for b, checked against b's own fields. */
static const struct live_entry *live_find(const struct live_list *l, const struct block *b)
{
    const struct live_entry *hit = NULL;
    for (size_t i = 0; i < l->count; i++) {
        if (l->items[i].addr == b->addr && l->items[i].alloc_ts == b->alloc_ts_ns) {
            ck_assert_msg(hit == NULL, "allocation %llx reported twice", (unsigned long long)b->addr);
            hit = &l->items[i];
        }
    }
    if (hit != NULL) {
        ck_assert_uint_eq(hit->requested, b->requested_bytes);
        ck_assert_uint_eq(hit->usable, usable_of(b->requested_bytes));
        ck_assert_uint_eq(hit->class_id, spec_class_of(b->requested_bytes));
    }
    return hit;
}

/* Fails unless b is the one allocation state_live_each reports. */
static void live_check_only(const struct proc_state *p, const struct block *b)
{
    struct live_list l = live_of(p);
    ck_assert_uint_eq(l.count, 1);
    ck_assert_ptr_nonnull(live_find(&l, b));
    free(l.items);
}

struct class_totals {
    uint64_t allocs, frees, cross_thread_frees;
    int64_t live_blocks;
};

static struct class_totals totals_of(const struct proc_state *p)
{
    struct class_totals t = {0};
    for (unsigned c = 0; c <= CLASS_LARGE; c++) {
        t.allocs += p->classes[c].allocs;
        t.frees += p->classes[c].frees;
        t.cross_thread_frees += p->classes[c].cross_thread_frees;
        t.live_blocks += p->classes[c].live_blocks;
    }
    return t;
}

struct pair_lookup {
    uint64_t key;
    const struct proc_state *p;
    const struct pair_state *found;
    unsigned hits;
};

static void pair_visit(uint64_t key, uint64_t value, void *arg)
{
    struct pair_lookup *l = arg;
    if (key - 1 == l->key) {
        ck_assert_uint_ge(value, 1);
        ck_assert_uint_le(value, l->p->pair_count);
        l->found = &l->p->pair_totals[value - 1];
        l->hits++;
    }
}

/* The thread_pairs entry (alloc tid, free tid), read the way db.c writes
 * the table (db_write_pair): p->pairs maps (alloc tid << 32 | free tid) + 1
 * to 1 + an index into pair_totals. NULL if there is none. */
static const struct pair_state *pair_of(const struct proc_state *p, uint32_t alloc_tid, uint32_t free_tid)
{
    struct pair_lookup l = {.key = (uint64_t)alloc_tid << 32 | free_tid, .p = p};
    u64map_each(&p->pairs, pair_visit, &l);
    ck_assert_uint_le(l.hits, 1);
    return l.found;
}

static void class_check_untouched(const struct proc_state *p, unsigned except)
{
    for (unsigned c = 0; c <= CLASS_LARGE; c++) {
        if (c == except)
            continue;
        ck_assert_msg(p->classes[c].allocs == 0 && p->classes[c].frees == 0 && p->classes[c].live_blocks == 0,
                      "class %u counted something", c);
    }
}

/* ---- classes ------------------------------------------------------------ */

START_TEST(the_class_helpers_follow_the_size_class_table_at_every_edge)
{
    struct proc_state p;
    ck_assert(state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0));
    char name[CLASS_TABLE_NAME_BYTES];
    ck_assert_uint_eq(state_large(&p), CLASS_LARGE);
    ck_assert_uint_eq(state_class_of(&p, 0), CLASS_B64);
    ck_assert_uint_eq(state_class_of(&p, 1), CLASS_B64);
    for (unsigned c = 0; c < CLASS_LARGE; c++) {
        ck_assert_uint_eq(state_class_of(&p, spec_payload[c]), c);
        ck_assert_uint_eq(state_class_of(&p, spec_payload[c] + 1), c + 1);
        if (c > 0)
            ck_assert_uint_eq(state_class_of(&p, spec_payload[c - 1] + 1), c);
        ck_assert_uint_eq(state_class_payload(&p, c), spec_payload[c]);
        ck_assert_str_eq(state_class_name(&p, c, name), spec_name[c]);
    }
    ck_assert_uint_eq(state_class_of(&p, 5 * GIB), CLASS_LARGE);
    ck_assert_uint_eq(state_class_of(&p, UINT64_MAX), CLASS_LARGE);
    ck_assert_str_eq(state_class_name(&p, CLASS_LARGE, name), "LARGE");
    ck_assert_uint_eq(state_class_payload(&p, CLASS_LARGE), 0);
    ck_assert_str_eq(state_class_name(&p, CLASS_LARGE + 1, name), "unknown");
    ck_assert_str_eq(state_class_name(&p, RECORD_CLASS_NONE, name), "unknown");
    ck_assert_uint_eq(state_class_payload(&p, CLASS_LARGE + 1), 0);
    state_free(&p);
}
END_TEST

/* An image that runs the general table (68 classes) counts each ALLOC in
 * its own class, names them after their payloads, puts LARGE after the
 * last, and files a large-path record (class byte RECORD_CLASS_LARGE) and a
 * class byte past its table under LARGE. */
START_TEST(an_image_with_the_general_table_counts_and_names_its_own_classes)
{
    struct proc_state p;
    ck_assert(state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0));
    struct class_table general;
    class_table_general(&general);
    ck_assert(state_set_classes(&p, &general));
    ck_assert_uint_eq(state_large(&p), 68);
    char name[CLASS_TABLE_NAME_BYTES];
    ck_assert_str_eq(state_class_name(&p, 4, name), "B320");
    ck_assert_str_eq(state_class_name(&p, 67, name), "B16M");
    ck_assert_str_eq(state_class_name(&p, 68, name), "LARGE");
    ck_assert_uint_eq(state_class_of(&p, 300), 4);
    ck_assert_uint_eq(state_class_of(&p, 16 * MIB + 1), 68);
    size_t a = state_thread(&p, TID_A, 1);
    record_t r = record_make_alloc(0x7f0000001040, 300, 4, 0, 0, 10);
    state_ingest(&p, a, &r, 1);
    ck_assert_uint_eq(p.classes[4].allocs, 1);
    ck_assert_uint_eq(p.classes[4].usable, 320);
    record_t big[2];
    big[0] = record_make_alloc(0x7f1000000040, 20 * MIB, RECORD_CLASS_LARGE, 0, 0, 11);
    big[0].payload_records = 1;
    record_alloc_large_t large = {.usable_bytes = 20 * MIB + 4032};
    memcpy(&big[1], &large, sizeof large);
    state_ingest(&p, a, big, 2);
    record_t odd = record_make_alloc(0x7f0000002040, 64, 90, 0, 0, 12);
    state_ingest(&p, a, &odd, 1);
    ck_assert_uint_eq(p.classes[68].allocs, 2);
    ck_assert_uint_eq(p.classes[68].usable, 20 * MIB + 4032 + 64);
    state_free(&p);
}
END_TEST

/* A table from another process's memory is checked before it is used:
 * empty, unsorted, not a multiple of 64, above 16 MiB, too many classes
 * and an unterminated origin are each refused, and the state keeps the
 * table it had. */
START_TEST(a_class_table_that_breaks_the_rules_is_refused)
{
    struct proc_state p;
    ck_assert(state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0));
    struct class_table good;
    class_table_general(&good);
    struct class_table bad = good;
    bad.count = 0;
    ck_assert(!state_set_classes(&p, &bad));
    bad = good;
    bad.payload_bytes[3] = bad.payload_bytes[5];
    ck_assert(!state_set_classes(&p, &bad));
    bad = good;
    bad.payload_bytes[0] = 40;
    ck_assert(!state_set_classes(&p, &bad));
    bad = good;
    bad.payload_bytes[bad.count - 1] = 32 * MIB;
    ck_assert(!state_set_classes(&p, &bad));
    bad = good;
    bad.count = ORTHO_CLASS_MAX + 1;
    ck_assert(!state_set_classes(&p, &bad));
    bad = good;
    memset(bad.origin, 'x', sizeof bad.origin);
    ck_assert(!state_set_classes(&p, &bad));
    ck_assert_uint_eq(state_large(&p), CLASS_LARGE);
    state_free(&p);
}
END_TEST

START_TEST(a_same_thread_alloc_then_free_counts_once_in_its_class_and_leaves_nothing_live)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    struct block b = block_make(0x7f0000001040, 100, 1000, RECORD_STACK_NONE);
    send_alloc(&p, t, &b);

    const struct class_state *c = &p.classes[CLASS_B256];
    ck_assert_uint_eq(c->allocs, 1);
    ck_assert_uint_eq(c->frees, 0);
    ck_assert_int_eq(c->live_blocks, 1);
    ck_assert_int_eq(c->live_requested, 100);
    ck_assert_int_eq(c->live_usable, 256);
    struct live_list live = live_of(&p);
    ck_assert_uint_eq(live.count, 1);
    const struct live_entry *e = live_find(&live, &b);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->thread_id, TID_A);
    free(live.items);

    send_free(&p, t, &b, 1500);
    ck_assert_uint_eq(c->allocs, 1);
    ck_assert_uint_eq(c->frees, 1);
    ck_assert_uint_eq(c->requested, 100);
    ck_assert_uint_eq(c->usable, 256);
    ck_assert_uint_eq(c->freed_requested, 100);
    ck_assert_uint_eq(c->freed_usable, 256);
    ck_assert_int_eq(c->live_blocks, 0);
    ck_assert_int_eq(c->live_requested, 0);
    ck_assert_int_eq(c->live_usable, 0);
    ck_assert_int_eq(c->peak_live_usable, 256);
    ck_assert_uint_eq(c->cross_thread_frees, 0);
    class_check_untouched(&p, CLASS_B256);
    const struct thread_state *th = &p.threads[t];
    ck_assert_uint_eq(th->tid, TID_A);
    ck_assert_uint_eq(th->allocs, 1);
    ck_assert_uint_eq(th->frees, 1);
    ck_assert_uint_eq(th->alloc_bytes, 100);
    ck_assert_uint_eq(th->freed_bytes, 100);
    ck_assert_uint_eq(th->cross_thread_frees, 0);
    live = live_of(&p);
    ck_assert_uint_eq(live.count, 0);
    free(live.items);
    state_settle(&p);
    ck_assert_uint_eq(p.untracked_frees, 0);
    state_free(&p);
}
END_TEST

START_TEST(the_peak_of_live_usable_bytes_is_the_highest_the_class_reached)
{
    /* Three B4K blocks live, two freed, one more: live peaks at 3 x 4096. */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    struct block b[4];
    for (unsigned i = 0; i < 4; i++)
        b[i] = block_make(0x10000 + i * 0x2000, 3000 + i, 100 + i, RECORD_STACK_NONE);
    for (unsigned i = 0; i < 3; i++)
        send_alloc(&p, t, &b[i]);
    send_free(&p, t, &b[0], 200);
    send_free(&p, t, &b[1], 201);
    send_alloc(&p, t, &b[3]);
    const struct class_state *c = &p.classes[CLASS_B4K];
    ck_assert_int_eq(c->peak_live_usable, 3 * 4096);
    ck_assert_int_eq(c->live_usable, 2 * 4096);
    ck_assert_int_eq(c->live_requested, 3002 + 3003);
    state_free(&p);
}
END_TEST

/* ---- pending frees and cross-thread frees ------------------------------- */

START_TEST(a_free_that_arrives_before_its_alloc_is_counted_once_the_alloc_comes)
{
    /* Thread A allocates, thread B frees; B's ring is drained first. */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 2);
    struct block blk = block_make(0x7f0000002000, 48, 1000, RECORD_STACK_NONE);
    send_free(&p, b, &blk, 1800);

    /* Waiting: not a free yet, not live, no pair. */
    struct class_totals tot = totals_of(&p);
    ck_assert_uint_eq(tot.allocs, 0);
    ck_assert_uint_eq(tot.frees, 0);
    ck_assert_int_eq(tot.live_blocks, 0);
    ck_assert_uint_eq(p.threads[b].frees, 0);
    ck_assert_uint_eq(p.threads[b].cross_thread_frees, 0);
    ck_assert_ptr_null(pair_of(&p, TID_A, TID_B));
    struct live_list live = live_of(&p);
    ck_assert_uint_eq(live.count, 0);
    free(live.items);

    send_alloc(&p, a, &blk);
    const struct class_state *c = &p.classes[CLASS_B64];
    ck_assert_uint_eq(c->allocs, 1);
    ck_assert_uint_eq(c->frees, 1);
    ck_assert_uint_eq(c->requested, 48);
    ck_assert_uint_eq(c->freed_requested, 48);
    ck_assert_uint_eq(c->freed_usable, 64);
    ck_assert_int_eq(c->live_blocks, 0);
    ck_assert_int_eq(c->live_requested, 0);
    ck_assert_uint_eq(c->cross_thread_frees, 1);
    class_check_untouched(&p, CLASS_B64);
    ck_assert_uint_eq(p.threads[a].allocs, 1);
    ck_assert_uint_eq(p.threads[a].frees, 0);
    ck_assert_uint_eq(p.threads[b].allocs, 0);
    ck_assert_uint_eq(p.threads[b].frees, 1);
    ck_assert_uint_eq(p.threads[b].freed_bytes, 48);
    ck_assert_uint_eq(p.threads[b].cross_thread_frees, 1);
    ck_assert_uint_eq(p.threads[a].cross_thread_frees, 0);
    const struct pair_state *pair = pair_of(&p, TID_A, TID_B);
    ck_assert_ptr_nonnull(pair);
    ck_assert_uint_eq(pair->frees, 1);
    ck_assert_uint_eq(pair->bytes, 48);
    ck_assert_ptr_null(pair_of(&p, TID_B, TID_A));
    live = live_of(&p);
    ck_assert_uint_eq(live.count, 0);
    free(live.items);
    state_settle(&p);
    ck_assert_uint_eq(p.untracked_frees, 0);
    ck_assert_uint_eq(c->frees, 1);
    state_free(&p);
}
END_TEST

START_TEST(frees_of_another_threads_blocks_count_in_that_pair_and_in_the_freers_cross_frees)
{
    /* A allocates 3 blocks that B frees (in order), B allocates and frees
     * one of its own, and C frees one of A's. */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1), c = state_thread(&p, TID_C, 1);
    struct block ab[4], own = block_make(0x9000, 7000, 50, RECORD_STACK_NONE);
    for (unsigned i = 0; i < 4; i++)
        ab[i] = block_make(0x1000 + i * 0x100, 10 * (i + 1), 10 + i, RECORD_STACK_NONE);
    for (unsigned i = 0; i < 4; i++)
        send_alloc(&p, a, &ab[i]);
    for (unsigned i = 0; i < 3; i++)
        send_free(&p, b, &ab[i], 100 + i);
    send_alloc(&p, b, &own);
    send_free(&p, b, &own, 120);
    send_free(&p, c, &ab[3], 130);

    const struct pair_state *ab_pair = pair_of(&p, TID_A, TID_B), *ac_pair = pair_of(&p, TID_A, TID_C);
    ck_assert_ptr_nonnull(ab_pair);
    ck_assert_uint_eq(ab_pair->frees, 3);
    ck_assert_uint_eq(ab_pair->bytes, 10 + 20 + 30);
    ck_assert_ptr_nonnull(ac_pair);
    ck_assert_uint_eq(ac_pair->frees, 1);
    ck_assert_uint_eq(ac_pair->bytes, 40);
    ck_assert_ptr_null(pair_of(&p, TID_B, TID_A));
    ck_assert_ptr_null(pair_of(&p, TID_C, TID_A));
    ck_assert_ptr_null(pair_of(&p, TID_B, TID_C));
    ck_assert_uint_eq(p.threads[a].cross_thread_frees, 0);
    ck_assert_uint_eq(p.threads[b].cross_thread_frees, 3);
    ck_assert_uint_eq(p.threads[c].cross_thread_frees, 1);
    ck_assert_uint_eq(p.threads[b].frees, 4);
    ck_assert_uint_eq(p.threads[b].freed_bytes, 60 + 7000);
    ck_assert_uint_eq(p.classes[CLASS_B64].cross_thread_frees, 4);
    ck_assert_uint_eq(p.classes[CLASS_B8K].cross_thread_frees, 0);
    ck_assert_uint_eq(p.classes[CLASS_B8K].frees, 1);
    struct class_totals tot = totals_of(&p);
    ck_assert_uint_eq(tot.allocs, 5);
    ck_assert_uint_eq(tot.frees, 5);
    ck_assert_int_eq(tot.live_blocks, 0);
    state_free(&p);
}
END_TEST

START_TEST(a_pending_free_never_counts_in_the_class_totals_and_settle_counts_it_as_untracked)
{
    /* B frees a block allocated before tracing began (its ALLOC never
     * comes) while one block of A's stays live. */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    struct block before = block_make(0x4000, 100, 5, RECORD_STACK_NONE);
    struct block kept = block_make(0x5000, 200, 50, RECORD_STACK_NONE);
    send_alloc(&p, a, &kept);
    send_free(&p, b, &before, 60);

    ck_assert_uint_eq(p.classes[CLASS_B256].allocs, 1);
    ck_assert_uint_eq(p.classes[CLASS_B256].frees, 0);
    ck_assert_uint_eq(p.classes[CLASS_B256].freed_requested, 0);
    ck_assert_int_eq(p.classes[CLASS_B256].live_blocks, 1);
    ck_assert_uint_eq(p.threads[b].frees, 0);
    live_check_only(&p, &kept);

    state_settle(&p);
    ck_assert_uint_eq(p.untracked_frees, 1);
    ck_assert_uint_eq(p.classes[CLASS_B256].frees, 0);
    ck_assert_int_eq(p.classes[CLASS_B256].live_blocks, 1);
    live_check_only(&p, &kept);
    /* Settled frees are dropped: a second settle finds none. */
    state_settle(&p);
    ck_assert_uint_eq(p.untracked_frees, 1);
    state_free(&p);
}
END_TEST

START_TEST(settle_drops_every_pending_free_and_keeps_every_live_allocation)
{
    /* 3000 live blocks and 3000 pending frees at interleaved addresses,
     * so the two kinds share probe runs of the live table. */
    enum { N = 3000 };
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    for (unsigned i = 0; i < N; i++) {
        struct block live = block_make(0x100000 + i * 128, 16, 10000 + i, RECORD_STACK_NONE);
        struct block gone = block_make(0x100000 + i * 128 + 64, 16, 1 + i, RECORD_STACK_NONE);
        send_alloc(&p, a, &live);
        send_free(&p, b, &gone, 20000 + i);
    }
    state_settle(&p);
    ck_assert_uint_eq(p.untracked_frees, N);
    ck_assert_uint_eq(p.classes[CLASS_B64].allocs, N);
    ck_assert_uint_eq(p.classes[CLASS_B64].frees, 0);
    struct live_list live = live_of(&p);
    ck_assert_uint_eq(live.count, N);
    for (unsigned i = 0; i < N; i++) {
        struct block want = block_make(0x100000 + i * 128, 16, 10000 + i, RECORD_STACK_NONE);
        ck_assert_msg(live_find(&live, &want) != NULL, "live block %u missing after settle", i);
    }
    free(live.items);
    state_free(&p);
}
END_TEST

/* ---- address reuse ------------------------------------------------------ */

START_TEST(an_address_freed_and_reused_by_another_thread_leaves_only_the_new_allocation_live)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    struct block first = block_make(0x7f0000003000, 40, 1000, RECORD_STACK_NONE);
    struct block second = block_make(0x7f0000003000, 50, 3000, RECORD_STACK_NONE);
    send_alloc(&p, a, &first);
    send_free(&p, a, &first, 2000);
    send_alloc(&p, b, &second);

    struct live_list live = live_of(&p);
    ck_assert_uint_eq(live.count, 1);
    const struct live_entry *e = live_find(&live, &second);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->thread_id, TID_B);
    free(live.items);
    const struct class_state *c = &p.classes[CLASS_B64];
    ck_assert_uint_eq(c->allocs, 2);
    ck_assert_uint_eq(c->frees, 1);
    ck_assert_int_eq(c->live_blocks, 1);
    ck_assert_int_eq(c->live_requested, 50);
    state_settle(&p);
    ck_assert_uint_eq(p.untracked_frees, 0);
    state_free(&p);
}
END_TEST

START_TEST(the_same_reuse_leaves_one_live_allocation_when_the_freeing_threads_records_come_first)
{
    /* A allocates at ts 1000; B frees it at 2000 and gets the same address
     * back at 3000. B's ring (FREE, then ALLOC of the same address) is
     * drained before A's ALLOC. */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    struct block first = block_make(0x7f0000003000, 40, 1000, RECORD_STACK_NONE);
    struct block second = block_make(0x7f0000003000, 50, 3000, RECORD_STACK_NONE);
    send_free(&p, b, &first, 2000);
    send_alloc(&p, b, &second);
    send_alloc(&p, a, &first);

    struct live_list live = live_of(&p);
    ck_assert_uint_eq(live.count, 1);
    const struct live_entry *e = live_find(&live, &second);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->thread_id, TID_B);
    free(live.items);
    const struct class_state *c = &p.classes[CLASS_B64];
    ck_assert_uint_eq(c->allocs, 2);
    ck_assert_uint_eq(c->frees, 1);
    ck_assert_uint_eq(c->freed_requested, 40);
    ck_assert_int_eq(c->live_blocks, 1);
    ck_assert_int_eq(c->live_requested, 50);
    ck_assert_uint_eq(p.threads[b].cross_thread_frees, 1);
    const struct pair_state *pair = pair_of(&p, TID_A, TID_B);
    ck_assert_ptr_nonnull(pair);
    ck_assert_uint_eq(pair->frees, 1);
    ck_assert_uint_eq(pair->bytes, 40);
    state_settle(&p);
    ck_assert_uint_eq(p.untracked_frees, 0);
    state_free(&p);
}
END_TEST

START_TEST(an_address_passed_round_three_threads_many_times_is_matched_generation_by_generation)
{
    /* Generation g of one address is allocated by thread g % 3 at ts
     * 1000(g+1) and freed at 1000(g+1) + 500 by thread (g+1) % 3, which
     * then allocates generation g+1. The last generation stays live. The
     * rings are drained whole, C's first, then B's, then A's, so most
     * FREEs arrive before their ALLOC and every ring holds FREE(g) next to
     * ALLOC(g+1) of the same address. */
    enum { GENERATIONS = 60, THREADS = 3 };
    static const uint32_t tids[THREADS] = {TID_A, TID_B, TID_C};
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t idx[THREADS];
    for (unsigned k = 0; k < THREADS; k++)
        idx[k] = state_thread(&p, tids[k], 1);
    struct block gen[GENERATIONS];
    uint64_t requested_sum = 0;
    for (unsigned g = 0; g < GENERATIONS; g++) {
        gen[g] = block_make(0x7f0000004000, 1 + g, 1000ull * (g + 1), RECORD_STACK_NONE);
        requested_sum += 1 + g;
    }
    for (unsigned k = THREADS; k-- > 0;) {
        /* Thread k's ring in its own time order: FREE(g-1) then ALLOC(g)
         * for each g it allocates (g % 3 == k), and FREE(g) for the last
         * generation it frees. */
        for (unsigned g = 0; g < GENERATIONS; g++) {
            if (g % THREADS != k)
                continue;
            if (g > 0)
                send_free(&p, idx[k], &gen[g - 1], gen[g - 1].alloc_ts_ns + 500);
            send_alloc(&p, idx[k], &gen[g]);
        }
    }
    const struct class_state *c = &p.classes[CLASS_B64];
    ck_assert_uint_eq(c->allocs, GENERATIONS);
    ck_assert_uint_eq(c->frees, GENERATIONS - 1);
    ck_assert_uint_eq(c->requested, requested_sum);
    ck_assert_uint_eq(c->freed_requested, requested_sum - GENERATIONS);
    ck_assert_int_eq(c->live_blocks, 1);
    ck_assert_int_eq(c->live_requested, GENERATIONS);
    ck_assert_uint_eq(c->cross_thread_frees, GENERATIONS - 1);
    struct live_list live = live_of(&p);
    ck_assert_uint_eq(live.count, 1);
    const struct live_entry *e = live_find(&live, &gen[GENERATIONS - 1]);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->thread_id, tids[(GENERATIONS - 1) % THREADS]);
    free(live.items);
    /* Each direction k -> k+1 freed the generations k allocated, except the last. */
    for (unsigned k = 0; k < THREADS; k++) {
        uint64_t frees = 0, bytes = 0;
        for (unsigned g = k; g < GENERATIONS - 1; g += THREADS) {
            frees++;
            bytes += gen[g].requested_bytes;
        }
        const struct pair_state *pair = pair_of(&p, tids[k], tids[(k + 1) % THREADS]);
        ck_assert_ptr_nonnull(pair);
        ck_assert_uint_eq(pair->frees, frees);
        ck_assert_uint_eq(pair->bytes, bytes);
        ck_assert_uint_eq(p.threads[idx[(k + 1) % THREADS]].cross_thread_frees, frees);
    }
    state_settle(&p);
    ck_assert_uint_eq(p.untracked_frees, 0);
    state_free(&p);
}
END_TEST

/* ---- large blocks and realloc ------------------------------------------- */

START_TEST(a_large_allocation_counts_the_usable_bytes_its_payload_names)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    struct block just_over = block_make(0x7e0000000040, 16 * MIB + 1, 100, RECORD_STACK_NONE);
    struct block huge = block_make(0x7d0000000040, 5 * GIB + 3, 200, RECORD_STACK_NONE);
    send_alloc(&p, t, &just_over);
    send_alloc(&p, t, &huge);
    send_free(&p, t, &just_over, 300);

    const struct class_state *c = &p.classes[CLASS_LARGE];
    ck_assert_uint_eq(c->allocs, 2);
    ck_assert_uint_eq(c->frees, 1);
    ck_assert_uint_eq(c->requested, 16 * MIB + 1 + 5 * GIB + 3);
    ck_assert_uint_eq(c->usable, large_usable(16 * MIB + 1) + large_usable(5 * GIB + 3));
    ck_assert_uint_eq(c->freed_usable, large_usable(16 * MIB + 1));
    ck_assert_int_eq(c->live_blocks, 1);
    ck_assert_int_eq(c->live_requested, (int64_t)(5 * GIB + 3));
    ck_assert_int_eq(c->live_usable, (int64_t)large_usable(5 * GIB + 3));
    class_check_untouched(&p, CLASS_LARGE);
    struct live_list live = live_of(&p);
    ck_assert_uint_eq(live.count, 1);
    ck_assert_ptr_nonnull(live_find(&live, &huge)); /* checks usable and class too */
    free(live.items);
    state_free(&p);
}
END_TEST

START_TEST(an_in_place_realloc_counts_a_free_of_the_old_block_and_an_alloc_of_the_new)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    struct block old = block_make(0x6000, 100, 1000, RECORD_STACK_NONE);
    struct block grown = block_make(0x6000, 200, 2000, RECORD_STACK_NONE);
    send_alloc(&p, t, &old);
    send_realloc(&p, t, &old, &grown, RECORD_FLAG_IN_PLACE);

    const struct class_state *c = &p.classes[CLASS_B256];
    ck_assert_uint_eq(c->allocs, 2);
    ck_assert_uint_eq(c->frees, 1);
    ck_assert_uint_eq(c->requested, 300);
    ck_assert_uint_eq(c->freed_requested, 100);
    ck_assert_uint_eq(c->usable, 512);
    ck_assert_uint_eq(c->freed_usable, 256);
    ck_assert_int_eq(c->live_blocks, 1);
    ck_assert_int_eq(c->live_requested, 200);
    ck_assert_int_eq(c->live_usable, 256);
    ck_assert_uint_eq(c->reallocs_in_place, 1);
    class_check_untouched(&p, CLASS_B256);
    live_check_only(&p, &grown);
    ck_assert_uint_eq(state_size_count(&p, 100), 1);
    ck_assert_uint_eq(state_size_count(&p, 200), 1);
    ck_assert_uint_eq(p.threads[t].allocs, 2);
    ck_assert_uint_eq(p.threads[t].frees, 1);
    state_free(&p);
}
END_TEST

START_TEST(a_realloc_that_moves_a_block_frees_it_in_the_old_class_and_allocates_in_the_new)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    struct block old = block_make(0x6000, 100, 1000, RECORD_STACK_NONE);
    struct block moved = block_make(0x80000, 5000, 2000, RECORD_STACK_NONE);
    send_alloc(&p, t, &old);
    send_realloc(&p, t, &old, &moved, 0);

    const struct class_state *from = &p.classes[CLASS_B256], *to = &p.classes[CLASS_B6K];
    ck_assert_uint_eq(from->allocs, 1);
    ck_assert_uint_eq(from->frees, 1);
    ck_assert_int_eq(from->live_blocks, 0);
    ck_assert_int_eq(from->live_usable, 0);
    ck_assert_uint_eq(to->allocs, 1);
    ck_assert_uint_eq(to->frees, 0);
    ck_assert_int_eq(to->live_blocks, 1);
    ck_assert_int_eq(to->live_requested, 5000);
    ck_assert_int_eq(to->live_usable, 6144);
    live_check_only(&p, &moved);
    state_free(&p);
}
END_TEST

START_TEST(a_realloc_into_the_large_class_takes_its_usable_bytes_from_the_payload)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    struct block old = block_make(0x7f0000100040, MIB, 1000, RECORD_STACK_NONE);
    struct block grown = block_make(0x7e0000200040, 32 * MIB + 5, 2000, RECORD_STACK_NONE);
    send_alloc(&p, t, &old);
    send_realloc(&p, t, &old, &grown, 0);

    ck_assert_uint_eq(p.classes[CLASS_B1M].frees, 1);
    ck_assert_int_eq(p.classes[CLASS_B1M].live_blocks, 0);
    const struct class_state *c = &p.classes[CLASS_LARGE];
    ck_assert_uint_eq(c->allocs, 1);
    ck_assert_uint_eq(c->usable, large_usable(32 * MIB + 5));
    ck_assert_int_eq(c->live_usable, (int64_t)large_usable(32 * MIB + 5));
    live_check_only(&p, &grown);
    state_free(&p);
}
END_TEST

START_TEST(a_realloc_of_another_threads_block_that_arrives_first_waits_for_that_alloc)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    struct block old = block_make(0x6000, 30, 1000, RECORD_STACK_NONE);
    struct block grown = block_make(0x6000, 60, 2000, RECORD_STACK_NONE);
    send_realloc(&p, b, &old, &grown, RECORD_FLAG_IN_PLACE);
    ck_assert_uint_eq(p.classes[CLASS_B64].frees, 0);
    send_alloc(&p, a, &old);

    const struct class_state *c = &p.classes[CLASS_B64];
    ck_assert_uint_eq(c->allocs, 2);
    ck_assert_uint_eq(c->frees, 1);
    ck_assert_uint_eq(c->freed_requested, 30);
    ck_assert_int_eq(c->live_requested, 60);
    ck_assert_uint_eq(c->cross_thread_frees, 1);
    ck_assert_uint_eq(p.threads[b].cross_thread_frees, 1);
    const struct pair_state *pair = pair_of(&p, TID_A, TID_B);
    ck_assert_ptr_nonnull(pair);
    ck_assert_uint_eq(pair->frees, 1);
    struct live_list live = live_of(&p);
    ck_assert_uint_eq(live.count, 1);
    const struct live_entry *e = live_find(&live, &grown);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->thread_id, TID_B);
    free(live.items);
    state_settle(&p);
    ck_assert_uint_eq(p.untracked_frees, 0);
    state_free(&p);
}
END_TEST

/* ---- size histogram ----------------------------------------------------- */

struct size_seen {
    const uint64_t *sizes;
    const uint64_t *counts;
    unsigned *visits;
    size_t n;
    size_t total_visits;
};

static void size_visit(uint64_t requested, uint64_t count, void *arg)
{
    struct size_seen *s = arg;
    s->total_visits++;
    for (size_t i = 0; i < s->n; i++) {
        if (s->sizes[i] == requested) {
            ck_assert_uint_eq(count, s->counts[i]);
            s->visits[i]++;
            return;
        }
    }
    ck_abort_msg("state_sizes_each reported %llu bytes, never requested", (unsigned long long)requested);
}

START_TEST(the_size_histogram_counts_every_requested_size_exactly_across_the_class_edges)
{
    static const uint64_t sizes[] = {
        0, 1, 2, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097, 6143, 6144, 6145, 8191, 8192, 8193,
        16383, 16384, 16385, 32768, 32769, 65535, 65536, 65537, 131072, 131073, 262144, 262145,
        MIB - 1, MIB, MIB + 1, 16 * MIB - 1, 16 * MIB, 16 * MIB + 1, 4 * GIB + 1, 5 * GIB};
    enum { N = sizeof sizes / sizeof sizes[0] };
    uint64_t counts[N];
    uint64_t per_class[CLASS_LARGE + 1] = {0};
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    uint64_t addr = 0x100000, ts = 1;
    for (size_t i = 0; i < N; i++) {
        counts[i] = 1 + (i * 7) % 5; /* 1..5 allocations of each size */
        for (uint64_t k = 0; k < counts[i]; k++) {
            struct block b = block_make(addr, sizes[i], ts++, RECORD_STACK_NONE);
            addr += 0x1000;
            send_alloc(&p, t, &b);
            per_class[spec_class_of(sizes[i])]++;
            if (k % 2 == 0) /* frees do not take a size out of the histogram */
                send_free(&p, t, &b, ts++);
        }
    }
    for (size_t i = 0; i < N; i++)
        ck_assert_msg(state_size_count(&p, sizes[i]) == counts[i], "%llu bytes: %llu allocations, want %llu",
                      (unsigned long long)sizes[i], (unsigned long long)state_size_count(&p, sizes[i]),
                      (unsigned long long)counts[i]);
    static const uint64_t never[] = {3, 62, 66, 254, 258, 4094, 4098, 6146, 8194, MIB + 2,
                                     16 * MIB - 2, 16 * MIB + 2, 4 * GIB, 5 * GIB + 1};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        ck_assert_uint_eq(state_size_count(&p, never[i]), 0);
    for (unsigned c = 0; c <= CLASS_LARGE; c++)
        ck_assert_uint_eq(p.classes[c].allocs, per_class[c]);

    unsigned visits[N] = {0};
    struct size_seen seen = {.sizes = sizes, .counts = counts, .visits = visits, .n = N};
    state_sizes_each(&p, size_visit, &seen);
    ck_assert_uint_eq(seen.total_visits, N);
    for (size_t i = 0; i < N; i++)
        ck_assert_uint_eq(visits[i], 1);
    state_free(&p);
}
END_TEST

/* ---- lifetimes ---------------------------------------------------------- */

START_TEST(a_lifetime_lands_in_the_log2_bucket_of_its_duration)
{
    static const uint64_t durations[] = {1, 2, 3, 4, 7, 8, 1000, 1023, 1024, 1025,
                                         (1ull << 20) - 1, 1ull << 20, (1ull << 40) + 5, 1ull << 62};
    enum { N = sizeof durations / sizeof durations[0] };
    static uint64_t want[CLASS_LARGE + 1][STATE_LIFETIME_BUCKETS][2];
    memset(want, 0, sizeof want);
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    for (size_t i = 0; i < N; i++) {
        /* Alternate a B64 and a B4K block, so the class is part of the check. */
        uint64_t requested = i % 2 ? 3000 + i : 10 + i;
        struct block b = block_make(0x10000 + i * 0x1000, requested, 5000 + i, RECORD_STACK_NONE);
        send_alloc(&p, t, &b);
        send_free(&p, t, &b, b.alloc_ts_ns + durations[i]);
        unsigned bucket = log2_floor(durations[i]);
        want[spec_class_of(requested)][bucket][0]++;
        want[spec_class_of(requested)][bucket][1] += requested;
    }
    /* Spot checks of the arithmetic above, then the whole table. */
    ck_assert_uint_eq(log2_floor(1023), 9);
    ck_assert_uint_eq(log2_floor(1024), 10);
    ck_assert_uint_eq(log2_floor((1ull << 40) + 5), 40);
    for (unsigned c = 0; c <= CLASS_LARGE; c++)
        for (unsigned k = 0; k < STATE_LIFETIME_BUCKETS; k++)
            ck_assert_msg(p.lifetimes[c][k][0] == want[c][k][0] && p.lifetimes[c][k][1] == want[c][k][1],
                          "class %u bucket %u: %llu frees / %llu bytes, want %llu / %llu", c, k,
                          (unsigned long long)p.lifetimes[c][k][0], (unsigned long long)p.lifetimes[c][k][1],
                          (unsigned long long)want[c][k][0], (unsigned long long)want[c][k][1]);
    state_free(&p);
}
END_TEST

START_TEST(a_free_stamped_no_later_than_its_alloc_lands_in_the_first_lifetime_bucket)
{
    /* Another thread's clock can put the free at or (by calibration noise)
     * just before the alloc: the lifetime is then under 2 ns, bucket 0. */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    struct block same = block_make(0x1000, 8, 5000, RECORD_STACK_NONE);
    struct block earlier = block_make(0x2000, 9, 6000, RECORD_STACK_NONE);
    send_alloc(&p, a, &same);
    send_alloc(&p, a, &earlier);
    send_free(&p, b, &same, 5000);
    send_free(&p, b, &earlier, 5990);
    ck_assert_uint_eq(p.lifetimes[CLASS_B64][0][0], 2);
    ck_assert_uint_eq(p.lifetimes[CLASS_B64][0][1], 17);
    uint64_t elsewhere = 0;
    for (unsigned c = 0; c <= CLASS_LARGE; c++)
        for (unsigned k = 0; k < STATE_LIFETIME_BUCKETS; k++)
            elsewhere += p.lifetimes[c][k][0];
    ck_assert_uint_eq(elsewhere, 2);
    state_free(&p);
}
END_TEST

/* ---- stacks and sites --------------------------------------------------- */

static const uint64_t pcs_main[] = {0x401a10, 0x402b20, 0x403c30, 0x7f00001000};
static const uint64_t pcs_other[] = {0x404d40, 0x402b20, 0x7f00001000};

START_TEST(equal_stacks_sent_by_two_threads_under_different_ids_fold_into_the_first_id)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    send_stack(&p, a, 5, pcs_main, 4, false);
    send_stack(&p, b, 9, pcs_main, 4, false);
    ck_assert_uint_eq(p.stack_count, 1);
    ck_assert_uint_gt(p.canonical_cap, 9);
    ck_assert_uint_eq(p.canonical[5], 5);
    ck_assert_uint_eq(p.canonical[9], 5);
    ck_assert_uint_gt(p.stacks_cap, 5);
    ck_assert_uint_eq(p.stacks[5].depth, 4);
    ck_assert(!p.stacks[5].truncated);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_uint_eq(p.stacks[5].pcs[i], pcs_main[i]);
    if (p.stacks_cap > 9)
        ck_assert_ptr_null(p.stacks[9].pcs); /* the second id kept no copy */
    state_free(&p);
}
END_TEST

START_TEST(sites_aggregate_both_threads_allocations_and_frees_under_the_canonical_id)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    send_stack(&p, a, 5, pcs_main, 4, false);
    send_stack(&p, b, 9, pcs_main, 4, false);
    struct block a1 = block_make(0x1000, 10, 100, 5), a2 = block_make(0x2000, 20, 101, 5);
    struct block b1 = block_make(0x3000, 300, 102, 9);
    send_alloc(&p, a, &a1);
    send_alloc(&p, a, &a2);
    send_alloc(&p, b, &b1);
    send_free(&p, b, &a1, 200); /* the FREE carries the alloc's id from the header */
    send_free(&p, a, &b1, 201);

    ck_assert_uint_gt(p.sites_cap, 5);
    const struct site_state *s = &p.sites[5];
    ck_assert_uint_eq(s->allocs, 3);
    ck_assert_uint_eq(s->alloc_bytes, 330);
    ck_assert_uint_eq(s->frees, 2);
    ck_assert_uint_eq(s->freed_bytes, 310);
    ck_assert_int_eq(s->live_blocks, 1);
    ck_assert_int_eq(s->live_bytes, 20);
    ck_assert_int_eq(s->peak_live_bytes, 330);
    if (p.sites_cap > 9)
        ck_assert_uint_eq(p.sites[9].allocs, 0);
    ck_assert_uint_eq(p.sites[0].allocs, 0);
    struct live_list live = live_of(&p);
    ck_assert_uint_eq(live.count, 1);
    const struct live_entry *e = live_find(&live, &a2);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->stack_id, 5);
    free(live.items);
    state_free(&p);
}
END_TEST

START_TEST(a_truncated_stack_is_distinct_from_an_untruncated_one_with_the_same_pcs)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    send_stack(&p, a, 5, pcs_main, 4, false);
    send_stack(&p, a, 6, pcs_main, 4, true);
    send_stack(&p, b, 7, pcs_main, 4, true); /* B's copy of the truncated one */
    ck_assert_uint_eq(p.stack_count, 2);
    ck_assert_uint_eq(p.stacks_truncated, 1);
    ck_assert_uint_eq(p.canonical[5], 5);
    ck_assert_uint_eq(p.canonical[6], 6);
    ck_assert_uint_eq(p.canonical[7], 6);
    ck_assert(!p.stacks[5].truncated);
    ck_assert(p.stacks[6].truncated);
    struct block x = block_make(0x1000, 10, 100, 5), y = block_make(0x2000, 20, 101, 6);
    struct block z = block_make(0x3000, 40, 102, 7);
    send_alloc(&p, a, &x);
    send_alloc(&p, a, &y);
    send_alloc(&p, b, &z);
    ck_assert_uint_eq(p.sites[5].allocs, 1);
    ck_assert_uint_eq(p.sites[5].alloc_bytes, 10);
    ck_assert_uint_eq(p.sites[6].allocs, 2);
    ck_assert_uint_eq(p.sites[6].alloc_bytes, 60);
    state_free(&p);
}
END_TEST

START_TEST(stacks_that_differ_in_one_pc_in_order_or_in_depth_stay_distinct)
{
    static const uint64_t prefix[] = {0x401a10, 0x402b20, 0x403c30};
    static const uint64_t changed[] = {0x401a10, 0x402b20, 0x403c31, 0x7f00001000};
    static const uint64_t reversed[] = {0x7f00001000, 0x403c30, 0x402b20, 0x401a10};
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    send_stack(&p, a, 1, pcs_main, 4, false);
    send_stack(&p, a, 2, prefix, 3, false);
    send_stack(&p, a, 3, changed, 4, false);
    send_stack(&p, a, 4, reversed, 4, false);
    ck_assert_uint_eq(p.stack_count, 4);
    for (uint32_t id = 1; id <= 4; id++)
        ck_assert_uint_eq(p.canonical[id], id);
    ck_assert_uint_eq(p.stacks[2].depth, 3);
    ck_assert_uint_eq(p.stacks[3].pcs[2], 0x403c31);
    state_free(&p);
}
END_TEST

START_TEST(an_alloc_whose_stack_was_never_defined_counts_in_the_no_stack_site)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    send_stack(&p, a, 5, pcs_main, 4, false);
    struct block none = block_make(0x1000, 10, 100, RECORD_STACK_NONE);
    struct block unknown = block_make(0x2000, 20, 101, 42); /* id 42 never defined */
    send_alloc(&p, a, &none);
    send_alloc(&p, a, &unknown);
    ck_assert_uint_ge(p.sites_cap, 1);
    ck_assert_uint_eq(p.sites[0].allocs, 2);
    ck_assert_uint_eq(p.sites[0].alloc_bytes, 30);
    if (p.sites_cap > 5)
        ck_assert_uint_eq(p.sites[5].allocs, 0);
    if (p.sites_cap > 42)
        ck_assert_uint_eq(p.sites[42].allocs, 0);
    state_free(&p);
}
END_TEST

/* ---- volume ------------------------------------------------------------- */

/* Block i of the volume test: sizes cycle through every small class and a
 * large one; allocated by thread i % 2. */
static struct block volume_block(unsigned i)
{
    static const uint64_t sizes[] = {0, 24, 64, 65, 200, 4000, 6000, 8000, 9000, 20000,
                                     40000, 70000, 200000, 900000, 2 * MIB, 16 * MIB + 100};
    uint64_t requested = sizes[i % (sizeof sizes / sizeof sizes[0])] + (i / 16) % 3;
    if (requested == 2) /* keep a few 0-byte requests in the mix */
        requested = 0;
    return block_make(0x7f0000000000ull + (uint64_t)i * 64, requested, 1000000 + (uint64_t)i,
                      RECORD_STACK_NONE);
}

struct volume_seen {
    const uint8_t *live;  /* per block, 1 if the test thinks it is live */
    uint8_t *visited;
    size_t visits;
};

static void volume_visit(const struct live_entry *e, void *arg)
{
    struct volume_seen *v = arg;
    uint64_t i = (e->addr - 0x7f0000000000ull) / 64;
    ck_assert_uint_lt(i, MANY_BLOCKS);
    struct block b = volume_block((unsigned)i);
    ck_assert_uint_eq(e->addr, b.addr);
    ck_assert_uint_eq(e->alloc_ts, b.alloc_ts_ns);
    ck_assert_uint_eq(e->requested, b.requested_bytes);
    ck_assert_uint_eq(e->usable, usable_of(b.requested_bytes));
    ck_assert_msg(v->live[i], "block %llu reported live after its free", (unsigned long long)i);
    ck_assert_msg(!v->visited[i], "block %llu reported twice", (unsigned long long)i);
    v->visited[i] = 1;
    v->visits++;
}

static void volume_check(const struct proc_state *p, const uint8_t *live, size_t live_count)
{
    int64_t blocks[CLASS_LARGE + 1] = {0}, requested[CLASS_LARGE + 1] = {0}, usable[CLASS_LARGE + 1] = {0};
    for (unsigned i = 0; i < MANY_BLOCKS; i++) {
        if (!live[i])
            continue;
        struct block b = volume_block(i);
        unsigned c = spec_class_of(b.requested_bytes);
        blocks[c]++;
        requested[c] += (int64_t)b.requested_bytes;
        usable[c] += (int64_t)usable_of(b.requested_bytes);
    }
    for (unsigned c = 0; c <= CLASS_LARGE; c++) {
        ck_assert_int_eq(p->classes[c].live_blocks, blocks[c]);
        ck_assert_int_eq(p->classes[c].live_requested, requested[c]);
        ck_assert_int_eq(p->classes[c].live_usable, usable[c]);
    }
    uint8_t *visited = calloc(MANY_BLOCKS, 1);
    ck_assert_ptr_nonnull(visited);
    struct volume_seen seen = {.live = live, .visited = visited};
    state_live_each(p, volume_visit, &seen);
    ck_assert_uint_eq(seen.visits, live_count);
    free(visited);
}

START_TEST(two_hundred_thousand_live_allocations_freed_in_another_order_keep_every_count_exact)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t th[2] = {state_thread(&p, TID_A, 1), state_thread(&p, TID_B, 1)};
    uint8_t *live = calloc(MANY_BLOCKS, 1);
    unsigned *order = malloc(MANY_BLOCKS * sizeof *order);
    ck_assert(live != NULL && order != NULL);
    for (unsigned i = 0; i < MANY_BLOCKS; i++) {
        struct block b = volume_block(i);
        send_alloc(&p, th[i % 2], &b);
        live[i] = 1;
        order[i] = i;
    }
    volume_check(&p, live, MANY_BLOCKS);

    /* Free in a shuffled order (fixed seed), each by the thread that did
     * not allocate it when the order index is odd. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned i = MANY_BLOCKS; i > 1; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned j = (unsigned)(x % i);
        unsigned tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
    size_t live_count = MANY_BLOCKS;
    uint64_t cross = 0;
    for (unsigned k = 0; k < MANY_BLOCKS; k++) {
        unsigned i = order[k];
        struct block b = volume_block(i);
        size_t by = th[(i + k) % 2];
        cross += by != th[i % 2];
        send_free(&p, by, &b, 5000000 + (uint64_t)k);
        live[i] = 0;
        live_count--;
        if (k + 1 == MANY_BLOCKS / 4 || k + 1 == MANY_BLOCKS * 3 / 4)
            volume_check(&p, live, live_count);
    }
    volume_check(&p, live, 0);
    struct class_totals tot = totals_of(&p);
    ck_assert_uint_eq(tot.allocs, MANY_BLOCKS);
    ck_assert_uint_eq(tot.frees, MANY_BLOCKS);
    ck_assert_uint_eq(tot.cross_thread_frees, cross);
    ck_assert_uint_eq(p.threads[th[0]].allocs + p.threads[th[1]].allocs, MANY_BLOCKS);
    ck_assert_uint_eq(p.threads[th[0]].allocs, MANY_BLOCKS / 2);
    state_settle(&p);
    ck_assert_uint_eq(p.untracked_frees, 0);
    free(order);
    free(live);
    state_free(&p);
}
END_TEST

/* ---- full mode ---------------------------------------------------------- */

static const struct alloc_row *row_for(const struct proc_state *p, uint64_t addr)
{
    const struct alloc_row *hit = NULL;
    for (size_t i = 0; i < p->row_count; i++) {
        if (p->rows[i].addr == addr) {
            ck_assert_msg(hit == NULL, "two rows for %llx", (unsigned long long)addr);
            hit = &p->rows[i];
        }
    }
    ck_assert_msg(hit != NULL, "no row for %llx", (unsigned long long)addr);
    return hit;
}

START_TEST(full_mode_writes_one_row_per_matched_free_with_both_threads_and_both_times)
{
    /* Freed by its own thread; freed by another in order; freed by another
     * with the FREE first; one still live; one pending free never matched. */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_FULL, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    send_stack(&p, a, 3, pcs_main, 4, false);
    send_stack(&p, b, 8, pcs_main, 4, false);
    struct block own = block_make(0x1000, 10, 100, 3), handed = block_make(0x2000, 5000, 110, 3);
    struct block early = block_make(0x3000, 20 * MIB, 120, 8), kept = block_make(0x4000, 1, 130, 3);
    struct block stray = block_make(0x5000, 1, 1, RECORD_STACK_NONE);
    send_alloc(&p, a, &own);
    send_free(&p, a, &own, 150);
    send_alloc(&p, a, &handed);
    send_free(&p, b, &handed, 160);
    send_free(&p, a, &early, 170);
    send_alloc(&p, b, &early);
    send_alloc(&p, a, &kept);
    send_free(&p, b, &stray, 180);
    state_settle(&p);

    ck_assert_uint_eq(p.row_count, 3);
    struct {
        const struct block *b;
        uint64_t free_ts;
        uint32_t alloc_tid, free_tid;
    } want[] = {{&own, 150, TID_A, TID_A}, {&handed, 160, TID_A, TID_B}, {&early, 170, TID_B, TID_A}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct alloc_row *r = row_for(&p, want[i].b->addr);
        ck_assert_uint_eq(r->alloc_ts, want[i].b->alloc_ts_ns);
        ck_assert_uint_eq(r->free_ts, want[i].free_ts);
        ck_assert_uint_eq(r->requested, want[i].b->requested_bytes);
        ck_assert_uint_eq(r->usable, usable_of(want[i].b->requested_bytes));
        ck_assert_uint_eq(r->class_id, spec_class_of(want[i].b->requested_bytes));
        ck_assert_uint_eq(r->thread_id, want[i].alloc_tid);
        ck_assert_uint_eq(r->free_thread_id, want[i].free_tid);
        ck_assert_uint_eq(r->stack_id, 3); /* ids 3 and 8 name one stack */
    }
    ck_assert_uint_eq(p.untracked_frees, 1);
    state_free(&p);
}
END_TEST

START_TEST(summary_mode_keeps_no_rows)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    struct block b = block_make(0x1000, 10, 100, RECORD_STACK_NONE);
    send_alloc(&p, a, &b);
    send_free(&p, a, &b, 200);
    ck_assert_uint_eq(p.classes[CLASS_B64].frees, 1);
    ck_assert_uint_eq(p.row_count, 0);
    state_free(&p);
}
END_TEST

/* ---- corruption events and thread names --------------------------------- */

/* Feeds a CORRUPTION event of `kind` found by free() at addr, at time ts,
 * detected at sent stack `stack`, with header words naming alloc_tid and
 * header_stack. payload_records: as framed (0) or cut to that many. */
static void send_corruption_of(struct proc_state *p, size_t thread, const char *kind, uint64_t addr,
                               unsigned cls, uint32_t stack, uint64_t ts, uint32_t alloc_tid,
                               uint32_t header_stack, size_t payload_records)
{
    record_corruption_t body;
    memset(&body, 0, sizeof body);
    body.alloc_tid = alloc_tid;
    body.alloc_stack_id = header_stack;
    record_t head = {.class_index = (uint8_t)cls, .flags = RECORD_FLAG_HEADER, .stack_id = stack,
                     .addr = addr, .ts_ns = ts};
    record_t frame[RECORD_CORRUPTION_FRAME_MAX];
    size_t n = record_corruption_write(frame, RECORD_CORRUPTION_FRAME_MAX, &head, &body, kind, "free");
    ck_assert_uint_gt(n, 3);
    if (payload_records != 0) {
        frame[0].payload_records = (uint8_t)payload_records; /* a frame cut short */
        n = 1 + payload_records;
    }
    feed(p, thread, frame, n);
}

static void send_corruption(struct proc_state *p, size_t thread, uint64_t addr, unsigned cls,
                            uint32_t alloc_tid, uint32_t header_stack, size_t payload_records)
{
    send_corruption_of(p, thread, "double_free", addr, cls, 0, 777, alloc_tid, header_stack,
                       payload_records);
}

START_TEST(a_corruption_event_is_kept_with_its_kind_call_address_thread_and_allocating_stack)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    send_stack(&p, a, 5, pcs_main, 4, false);
    send_stack(&p, b, 9, pcs_main, 4, false);
    send_corruption(&p, b, 0x7f0000005040, CLASS_B256, TID_A, 9, 0);
    send_corruption(&p, b, 0x7f0000006040, RECORD_CLASS_NONE, 0, 0, 0);
    ck_assert_uint_eq(p.corruption_count, 2);
    const struct corruption_state *c = &p.corruptions[0];
    ck_assert_str_eq(state_corruption_name(&p, c->kind), "double_free");
    ck_assert_str_eq(state_corruption_name(&p, c->call), "free");
    ck_assert_uint_eq(c->address, 0x7f0000005040);
    ck_assert_uint_eq(c->ts_ns, 777);
    ck_assert_uint_eq(c->thread_id, TID_B);
    ck_assert_uint_eq(c->alloc_thread_id, TID_A);
    ck_assert_int_eq(c->class_id, CLASS_B256);
    ck_assert(c->has_header);
    ck_assert_uint_eq(c->alloc_stack_id, 5); /* sent id 9 folds into 5 */
    ck_assert_int_eq(p.corruptions[1].class_id, -1);
    /* A corruption is not a free: nothing was counted. */
    struct class_totals tot = totals_of(&p);
    ck_assert_uint_eq(tot.frees, 0);
    state_free(&p);
}
END_TEST

START_TEST(corruption_kind_names_are_kept_whole_however_long)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    char long_kind[RECORD_CORRUPTION_NAME_MAX + 1];
    memset(long_kind, 'k', RECORD_CORRUPTION_NAME_MAX);
    long_kind[RECORD_CORRUPTION_NAME_MAX] = '\0';
    send_corruption_of(&p, a, "misaligned_pointer", 0x1008, CLASS_B64, 0, 10, 0, 0, 0);
    send_corruption_of(&p, a, long_kind, 0x2008, CLASS_B64, 0, 11, 0, 0, 0);
    ck_assert_uint_eq(p.corruption_count, 2);
    ck_assert_str_eq(state_corruption_name(&p, p.corruptions[0].kind), "misaligned_pointer");
    ck_assert_str_eq(state_corruption_name(&p, p.corruptions[1].kind), long_kind);
    state_free(&p);
}
END_TEST

START_TEST(every_corruption_event_is_counted_per_kind_site_and_class_and_only_the_first_ten_thousand_are_kept)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    send_stack(&p, a, 5, pcs_main, 4, false);
    send_stack(&p, a, 6, pcs_other, 3, false);
    /* Three groups: (misaligned, site 5, B64), (misaligned, site 6, B64)
     * and (double_free, site 5, B256); 12,000 events in all. */
    const uint32_t events = STATE_CORRUPTION_EVENTS_MAX + 2000;
    for (uint32_t i = 0; i < events; i++) {
        unsigned group = i % 3;
        send_corruption_of(&p, a, group == 2 ? "double_free" : "misaligned_pointer",
                           0x10000 + (uint64_t)i * 64, group == 2 ? CLASS_B256 : CLASS_B64,
                           group == 1 ? 6 : 5, 1000 + i, 0, 0, 0);
    }
    ck_assert_uint_eq(p.corruption_events, events);
    ck_assert_uint_eq(p.corruption_count, STATE_CORRUPTION_EVENTS_MAX);
    ck_assert_uint_eq(p.corruption_aggregated, 2000);
    ck_assert_uint_eq(p.corruption_group_count, 3);
    uint64_t counted = 0, stored = 0;
    for (size_t g = 0; g < p.corruption_group_count; g++) {
        const struct corruption_group *grp = &p.corruption_groups[g];
        counted += grp->events;
        stored += grp->stored;
        ck_assert_uint_eq(grp->events, events / 3);
        /* group k holds events k, k + 3, ...: its first and last */
        uint32_t first = (uint32_t)g, last = events - 3 + (uint32_t)g;
        ck_assert_uint_eq(grp->first_ns, 1000 + first);
        ck_assert_uint_eq(grp->last_ns, 1000 + last);
        ck_assert_uint_eq(grp->last_address, 0x10000 + (uint64_t)last * 64);
    }
    ck_assert_uint_eq(counted, events);
    ck_assert_uint_eq(stored, STATE_CORRUPTION_EVENTS_MAX);
    ck_assert_str_eq(state_corruption_name(&p, p.corruption_groups[2].kind), "double_free");
    ck_assert_uint_eq(p.corruption_groups[1].stack_id, 6);
    state_free(&p);
}
END_TEST

START_TEST(a_thread_start_names_the_thread_of_its_ring)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    char name[16] = "consumer-thread"; /* 15 characters and a NUL */
    record_t head = {.kind = RECORD_THREAD_START, .class_index = RECORD_CLASS_NONE, .ts_ns = 4242};
    record_t frame[2];
    ck_assert_uint_eq(record_frame_write(frame, 2, &head, name, sizeof name), 2);
    feed(&p, b, frame, 2);
    ck_assert_str_eq(p.threads[b].name, "consumer-thread");
    ck_assert_uint_eq(p.threads[b].start_ns, 4242);
    ck_assert_str_eq(p.threads[a].name, "");
    state_free(&p);
}
END_TEST

/* ---- cache, pool and carved gauges --------------------------------------- */

/* An allocator event (refill, drain, carve) of count blocks of cls. */
static void send_event(struct proc_state *p, size_t thread, unsigned kind, unsigned cls,
                       uint64_t addr, uint64_t count, uint64_t ts)
{
    record_t r = {.kind = (uint8_t)kind, .class_index = (uint8_t)cls, .addr = addr, .ts_ns = ts};
    r.count = count;
    feed(p, thread, &r, 1);
}

/* Fails unless no gauge of cls reads below zero. */
static void gauges_check(const struct proc_state *p, unsigned cls, const char *when)
{
    const struct class_state *c = &p->classes[cls];
    ck_assert_msg(c->cached >= 0 && c->pooled >= 0 && c->live_blocks >= 0,
                  "%s: cached %lld, pooled %lld, live %lld", when, (long long)c->cached,
                  (long long)c->pooled, (long long)c->live_blocks);
}

START_TEST(the_snapshot_seeds_the_gauges_and_the_carved_count_without_counting_events)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    /* Before tracing: 300 carved, 200 in caches, 90 in the pool, 10 live. */
    send_event(&p, a, RECORD_CACHE_REFILL, CLASS_B256, RECORD_REFILL_SNAPSHOT, 200, 2);
    send_event(&p, a, RECORD_CACHE_DRAIN, CLASS_B256, RECORD_REFILL_SNAPSHOT, 90, 3);
    send_event(&p, a, RECORD_ARENA_CARVE, CLASS_B256, RECORD_REFILL_SNAPSHOT, 300, 4);
    const struct class_state *c = &p.classes[CLASS_B256];
    ck_assert_int_eq(c->cached, 200);
    ck_assert_int_eq(c->pooled, 90);
    ck_assert_uint_eq(c->carved_blocks, 300);
    ck_assert_uint_eq(c->carves + c->refills + c->drains, 0);
    state_free(&p);
}
END_TEST

/* The handoff of a producer and a consumer through the pool, with the
 * producer's ring read first: its refill from the pool comes before the
 * consumer's drain that filled it. No gauge may read below zero on the
 * way, and at the end cached + pooled + live is what was carved. */
START_TEST(a_refill_read_before_the_drain_that_filled_the_pool_never_shows_a_negative_gauge)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    struct block first[4], second[4];
    for (unsigned i = 0; i < 4; i++) {
        first[i] = block_make(0x1000 + i * 0x100, 100, 10 + i, RECORD_STACK_NONE);
        second[i] = block_make(0x1000 + i * 0x100, 100, 30 + i, RECORD_STACK_NONE);
    }
    /* Producer A, in its ring's order: carve 4, take them, hand them out;
     * later take the same 4 back from the pool and hand them out again. */
    send_event(&p, a, RECORD_ARENA_CARVE, CLASS_B256, 0x1000, 4, 5);
    send_event(&p, a, RECORD_CACHE_REFILL, CLASS_B256, RECORD_REFILL_FROM_ARENA, 4, 6);
    for (unsigned i = 0; i < 4; i++) {
        send_alloc(&p, a, &first[i]);
        gauges_check(&p, CLASS_B256, "first allocations");
    }
    send_event(&p, a, RECORD_CACHE_REFILL, CLASS_B256, RECORD_REFILL_FROM_POOL, 4, 29);
    gauges_check(&p, CLASS_B256, "refill from the pool before the drain is read");
    for (unsigned i = 0; i < 4; i++) {
        send_alloc(&p, a, &second[i]);
        gauges_check(&p, CLASS_B256, "second allocations");
    }
    /* Consumer B's ring, read last: it freed the first 4 and drained them. */
    for (unsigned i = 0; i < 4; i++) {
        send_free(&p, b, &first[i], 20 + i);
        gauges_check(&p, CLASS_B256, "frees");
    }
    send_event(&p, b, RECORD_CACHE_DRAIN, CLASS_B256, 0, 4, 25);
    gauges_check(&p, CLASS_B256, "drain");
    const struct class_state *c = &p.classes[CLASS_B256];
    ck_assert_int_eq(c->cached, 0);
    ck_assert_int_eq(c->pooled, 0);
    ck_assert_int_eq(c->live_blocks, 4);
    ck_assert_uint_eq(c->carved_blocks, 4);
    ck_assert_uint_eq(c->refill_blocks, 8);
    ck_assert_uint_eq(c->drain_blocks, 4);
    state_free(&p);
}
END_TEST

/* A thread that ended without its exit hook keeps blocks in its cache
 * until another thread reclaims them: the drain is in the reclaiming
 * thread's ring, and may be read before the refill in the dead one's. */
START_TEST(a_dead_threads_cache_drained_by_another_thread_never_shows_a_negative_gauge)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    send_event(&p, b, RECORD_CACHE_DRAIN, CLASS_B4K, 0, 6, 50); /* B reclaims A's cache */
    gauges_check(&p, CLASS_B4K, "the reclaiming thread's ring");
    struct block kept = block_make(0x3000, 3000, 20, RECORD_STACK_NONE);
    send_event(&p, a, RECORD_ARENA_CARVE, CLASS_B4K, 0x3000, 7, 5);
    send_event(&p, a, RECORD_CACHE_REFILL, CLASS_B4K, RECORD_REFILL_FROM_ARENA, 7, 6);
    send_alloc(&p, a, &kept);
    gauges_check(&p, CLASS_B4K, "the dead thread's ring");
    const struct class_state *c = &p.classes[CLASS_B4K];
    ck_assert_int_eq(c->cached, 0);
    ck_assert_int_eq(c->pooled, 6);
    ck_assert_int_eq(c->live_blocks, 1);
    ck_assert_uint_eq(c->carved_blocks, 7);
    state_free(&p);
}
END_TEST

/* ---- malformed input ---------------------------------------------------- */

START_TEST(an_unknown_kind_changes_no_counter)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_FULL, 0);
    size_t a = state_thread(&p, TID_A, 1);
    struct class_state before[CLASS_LARGE + 1];
    memcpy(before, p.classes, sizeof before);
    static const uint8_t kinds[] = {RECORD_KIND_NONE, 17, 99, 200, 255};
    for (size_t i = 0; i < sizeof kinds; i++) {
        record_t r = record_make_alloc(0x1000 + i * 64, 100, CLASS_B256, 0, 0, 10 + i);
        r.kind = kinds[i];
        feed(&p, a, &r, 1);
    }
    ck_assert(memcmp(before, p.classes, sizeof before) == 0);
    struct live_list live = live_of(&p);
    ck_assert_uint_eq(live.count, 0);
    free(live.items);
    ck_assert_uint_eq(state_size_count(&p, 100), 0);
    ck_assert_uint_eq(p.row_count, 0);
    ck_assert_uint_eq(p.stack_count, 0);
    ck_assert_uint_eq(p.corruption_count, 0);
    state_free(&p);
}
END_TEST

START_TEST(a_stack_def_with_depth_0_or_id_0_defines_no_stack)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    /* Depth 0 with no payload record, depth 0 with one, and id 0. */
    record_t head = {.kind = RECORD_STACK_DEF, .class_index = RECORD_CLASS_NONE, .stack_id = 6, .ts_ns = 1};
    head.payload_bytes = 0;
    feed(&p, a, &head, 1);
    record_t frame[2];
    ck_assert_uint_eq(record_frame_write(frame, 2, &head, pcs_main, sizeof pcs_main), 2);
    frame[0].payload_bytes = 0;
    feed(&p, a, frame, 2);
    send_stack(&p, a, 0, pcs_main, 4, false);
    ck_assert_uint_eq(p.stack_count, 0);
    ck_assert_uint_eq(p.stacks_truncated, 0);
    /* Allocations naming those ids count as having no stack. */
    struct block x = block_make(0x1000, 10, 100, 6), y = block_make(0x2000, 10, 101, 0);
    send_alloc(&p, a, &x);
    send_alloc(&p, a, &y);
    ck_assert_uint_eq(p.sites[0].allocs, 2);
    if (p.sites_cap > 6)
        ck_assert_uint_eq(p.sites[6].allocs, 0);
    state_free(&p);
}
END_TEST

/* Ids index the collector's arrays: a corrupt id near 2^32 must be refused,
 * not honoured with arrays of tens of GiB (under ASan that would abort). */
START_TEST(a_stack_id_defined_again_keeps_its_first_stack)
{
    /* No tracer defines an id twice; a damaged ring may, over and over.
     * The first definition stands (and nothing leaks: the sanitizer
     * build checks). */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    static const uint64_t pcs_other[] = {0x404040, 0x405050};
    send_stack(&p, a, 5, pcs_main, 4, false);
    for (int i = 0; i < 100; i++)
        send_stack(&p, a, 5, pcs_other, 2, false);
    ck_assert_uint_eq(p.stack_count, 1);
    ck_assert_uint_ge(p.stacks_cap, 6);
    ck_assert_uint_eq(p.stacks[5].depth, 4);
    ck_assert_int_eq(memcmp(p.stacks[5].pcs, pcs_main, sizeof pcs_main), 0);
    state_free(&p);
}
END_TEST

START_TEST(a_stack_def_with_an_absurd_id_defines_no_stack_and_allocates_nothing_for_it)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    send_stack(&p, a, 0xfffffff0u, pcs_main, 4, false);
    send_stack(&p, a, STATE_MAX_STACK_ID + 1, pcs_main, 4, false);
    ck_assert_uint_eq(p.stack_count, 0);
    ck_assert_uint_lt(p.canonical_cap, 1u << 20);
    ck_assert_uint_lt(p.stacks_cap, 1u << 20);
    send_stack(&p, a, 7, pcs_main, 4, false); /* an ordinary id is still defined */
    ck_assert_uint_eq(p.stack_count, 1);
    state_free(&p);
}
END_TEST

START_TEST(a_realloc_without_its_payload_frees_nothing)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    struct block old = block_make(0x6000, 100, 1000, RECORD_STACK_NONE);
    send_alloc(&p, a, &old);
    record_t head = record_make_alloc(0x6000, 200, CLASS_B256, 0, RECORD_FLAG_IN_PLACE, 2000);
    head.kind = RECORD_REALLOC;
    feed(&p, a, &head, 1); /* payload_records 0: nothing says which block it replaced */
    struct class_totals tot = totals_of(&p);
    ck_assert_uint_eq(tot.frees, 0);
    struct live_list live = live_of(&p);
    ck_assert_ptr_nonnull(live_find(&live, &old));
    free(live.items);
    state_free(&p);
}
END_TEST

START_TEST(class_indexes_out_of_range_do_not_break_the_totals)
{
    /* An ALLOC, a FREE and a REALLOC's old class that name no class: each
     * must still count once, in some class, and nothing may stay live. */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    record_t r = record_make_alloc(0x1000, 100, 200, 0, 0, 10);
    feed(&p, a, &r, 1);
    r = record_make_free(0x1000, RECORD_CLASS_NONE, 10, 0, 20);
    feed(&p, a, &r, 1);
    r = record_make_alloc(0x2000, 100, 13, 0, 0, 30);
    feed(&p, a, &r, 1);
    record_t head = record_make_alloc(0x3000, 100, CLASS_B256, 0, 0, 40);
    head.kind = RECORD_REALLOC;
    record_realloc_from_t from = {.old_addr = 0x2000, .old_alloc_ts_ns = 30, .new_usable_bytes = 256,
                                  .old_class_index = 99};
    record_t frame[2];
    ck_assert_uint_eq(record_frame_write(frame, 2, &head, &from, sizeof from), 2);
    feed(&p, a, frame, 2);
    r = record_make_free(0x3000, 250, 40, 0, 50);
    feed(&p, a, &r, 1);

    struct class_totals tot = totals_of(&p);
    ck_assert_uint_eq(tot.allocs, 3);
    ck_assert_uint_eq(tot.frees, 3);
    ck_assert_int_eq(tot.live_blocks, 0);
    struct live_list live = live_of(&p);
    ck_assert_uint_eq(live.count, 0);
    free(live.items);
    state_settle(&p);
    ck_assert_uint_eq(p.untracked_frees, 0);
    state_free(&p);
}
END_TEST

START_TEST(a_corruption_with_a_short_payload_is_not_kept)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    send_corruption(&p, a, 0x1000, CLASS_B64, 0, 0, 3); /* the names cut off */
    send_corruption(&p, a, 0x1000, CLASS_B64, 0, 0, 2);
    ck_assert_uint_eq(p.corruption_count, 0);
    ck_assert_uint_eq(p.corruption_events, 0);
    state_free(&p);
}
END_TEST

/* A frame whose head claims more payload than it carries (8160 bytes of
 * PCs, one record sent) must not be read past its end: fed at the end of a
 * readable region as here, such a read faults. */
START_TEST(a_stack_def_claiming_more_pcs_than_its_frame_holds_is_not_read_past_it)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    record_t head = {.kind = RECORD_STACK_DEF, .class_index = RECORD_CLASS_NONE, .stack_id = 3, .ts_ns = 1};
    record_t frame[2];
    ck_assert_uint_eq(record_frame_write(frame, 2, &head, pcs_main, sizeof pcs_main), 2);
    frame[0].payload_bytes = RECORD_PAYLOAD_BYTES_MAX; /* 1020 PCs claimed, 4 sent */
    feed(&p, a, frame, 2);
    ck_assert(p.stack_count == 0 || p.stacks[3].depth <= RECORD_BYTES / sizeof(uint64_t));
    state_free(&p);
}
END_TEST

/* The same for a module path. */
START_TEST(a_module_load_claiming_a_longer_path_than_its_frame_holds_is_not_read_past_it)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1);
    static const char path[] = "/usr/lib/libx.so";
    record_t head = {.kind = RECORD_MODULE_LOAD, .class_index = RECORD_CLASS_NONE, .addr = 0x7f0000000000,
                     .ts_ns = 1};
    record_t frame[2];
    ck_assert_uint_eq(record_frame_write(frame, 2, &head, path, sizeof path - 1), 2);
    frame[0].payload_bytes = RECORD_PAYLOAD_BYTES_MAX; /* 8160 bytes claimed, 32 sent */
    feed(&p, a, frame, 2);
    ck_assert(p.module_count == 0 || strlen(p.modules[0].path) <= RECORD_BYTES);
    state_free(&p);
}
END_TEST

/* Only a REALLOC with RECORD_FLAG_IN_PLACE counts as in place: record.h
 * also allows one that moved (addr: new pointer, payload: old_addr). */
START_TEST(a_realloc_that_moved_is_not_counted_as_in_place)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    struct block old = block_make(0x6000, 100, 1000, RECORD_STACK_NONE);
    struct block moved = block_make(0x80000, 5000, 2000, RECORD_STACK_NONE);
    send_alloc(&p, t, &old);
    send_realloc(&p, t, &old, &moved, 0);
    uint64_t in_place = 0;
    for (unsigned c = 0; c <= CLASS_LARGE; c++)
        in_place += p.classes[c].reallocs_in_place;
    ck_assert_uint_eq(in_place, 0);
    state_free(&p);
}
END_TEST

/* ---- entry points ------------------------------------------------------- */

/* The ALLOC of a small block b as made through `entry` (RECORD_ENTRY_*):
 * the entry in the top bits of its flags, as tracer.c puts it there. */
static void send_alloc_through(struct proc_state *p, size_t thread, const struct block *b,
                               unsigned entry)
{
    unsigned cls = spec_class_of(b->requested_bytes);
    ck_assert_uint_ne(cls, CLASS_LARGE);
    record_t r = record_from_words(record_words_alloc(b->addr, b->requested_bytes, cls, b->stack_id,
                                                      entry << RECORD_ENTRY_SHIFT, b->alloc_ts_ns));
    feed(p, thread, &r, 1);
}

START_TEST(every_entry_an_alloc_names_is_counted_in_its_class_under_that_call)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    /* Entry k makes k + 1 allocations of 8 * k bytes (B64) and one of
     * 300 bytes (B4K); the call names are the schema's (alloc_calls). */
    static const struct {
        unsigned entry, call;
        const char *name;
    } entries[] = {
        {RECORD_ENTRY_MALLOC, STATE_CALL_MALLOC, "malloc"},
        {RECORD_ENTRY_CALLOC, STATE_CALL_CALLOC, "calloc"},
        {RECORD_ENTRY_REALLOC, STATE_CALL_REALLOC_MOVED, "realloc_moved"},
        {RECORD_ENTRY_REALLOC_NULL, STATE_CALL_REALLOC_NULL, "realloc_null"},
        {RECORD_ENTRY_ALIGNED, STATE_CALL_ALIGNED, "aligned"},
        {RECORD_ENTRY_NEW, STATE_CALL_NEW, "new"},
        {RECORD_ENTRY_API, STATE_CALL_API, "ortho_api"},
    };
    uint64_t addr = 0x10000, ts = 100;
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        unsigned k = entries[i].entry;
        for (unsigned j = 0; j <= k; j++) {
            struct block b = block_make(addr += 64, 8 * k, ts++, RECORD_STACK_NONE);
            send_alloc_through(&p, t, &b, k);
        }
        struct block big = block_make(addr += 4096, 300, ts++, RECORD_STACK_NONE);
        send_alloc_through(&p, t, &big, k);
    }
    const struct class_state *small = &p.classes[CLASS_B64], *mid = &p.classes[CLASS_B4K];
    uint64_t small_sum = 0, mid_sum = 0;
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        unsigned k = entries[i].entry, call = entries[i].call;
        ck_assert_str_eq(state_call_name(call), entries[i].name);
        ck_assert_uint_eq(small->calls[call], k + 1);
        ck_assert_uint_eq(small->call_bytes[call], (k + 1) * 8ull * k);
        ck_assert_uint_eq(mid->calls[call], 1);
        ck_assert_uint_eq(mid->call_bytes[call], 300);
        small_sum += small->calls[call];
        mid_sum += mid->calls[call];
    }
    ck_assert_uint_eq(small->calls[STATE_CALL_UNKNOWN], 0);
    ck_assert_uint_eq(small->calls[STATE_CALL_REALLOC_IN_PLACE], 0);
    ck_assert_uint_eq(small_sum, small->allocs);
    ck_assert_uint_eq(mid_sum, mid->allocs);
    ck_assert_uint_eq(small->allocs, 2 + 3 + 4 + 5 + 6 + 7 + 8);
    state_free(&p);
}
END_TEST

START_TEST(a_realloc_counts_in_place_or_moved_in_the_new_blocks_class_and_frees_under_no_call)
{
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    /* In place: one REALLOC record, 100 -> 200 bytes (B256 both). */
    struct block a = block_make(0x6000, 100, 1000, RECORD_STACK_NONE);
    struct block grown = block_make(0x6000, 200, 2000, RECORD_STACK_NONE);
    send_alloc_through(&p, t, &a, RECORD_ENTRY_MALLOC);
    send_realloc(&p, t, &a, &grown,
                 RECORD_FLAG_IN_PLACE | RECORD_ENTRY_REALLOC << RECORD_ENTRY_SHIFT);
    /* Moved: the shim allocates through realloc and frees the old block
     * (B64 -> B6K), an ALLOC and a FREE. */
    struct block b = block_make(0x9000, 40, 3000, RECORD_STACK_NONE);
    struct block moved = block_make(0x80000, 5000, 4000, RECORD_STACK_NONE);
    send_alloc_through(&p, t, &b, RECORD_ENTRY_CALLOC);
    send_alloc_through(&p, t, &moved, RECORD_ENTRY_REALLOC);
    send_free(&p, t, &b, 4001);

    const struct class_state *b256 = &p.classes[CLASS_B256], *b64 = &p.classes[CLASS_B64],
                             *b6k = &p.classes[CLASS_B6K];
    ck_assert_uint_eq(b256->calls[STATE_CALL_MALLOC], 1);
    ck_assert_uint_eq(b256->calls[STATE_CALL_REALLOC_IN_PLACE], 1);
    ck_assert_uint_eq(b256->call_bytes[STATE_CALL_REALLOC_IN_PLACE], 200);
    ck_assert_uint_eq(b256->calls[STATE_CALL_REALLOC_MOVED], 0);
    ck_assert_uint_eq(b256->reallocs_in_place, 1);
    ck_assert_uint_eq(b64->calls[STATE_CALL_CALLOC], 1);
    ck_assert_uint_eq(b64->frees, 1);
    ck_assert_uint_eq(b6k->calls[STATE_CALL_REALLOC_MOVED], 1);
    ck_assert_uint_eq(b6k->call_bytes[STATE_CALL_REALLOC_MOVED], 5000);
    ck_assert_uint_eq(b6k->calls[STATE_CALL_REALLOC_IN_PLACE], 0);
    ck_assert_uint_eq(b6k->reallocs_in_place, 0);
    for (unsigned c = 0; c <= CLASS_LARGE; c++) {
        uint64_t sum = 0;
        for (unsigned call = 0; call < STATE_CALLS; call++)
            sum += p.classes[c].calls[call];
        ck_assert_msg(sum == p.classes[c].allocs, "class %u: calls add up to %llu of %llu allocs",
                      c, (unsigned long long)sum, (unsigned long long)p.classes[c].allocs);
    }
    state_free(&p);
}
END_TEST

START_TEST(an_alloc_that_names_no_entry_counts_as_unknown)
{
    /* An older library sends no entry: its allocations are still counted,
     * under "unknown", so the calls still add up to allocs. */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t t = state_thread(&p, TID_A, 1);
    struct block b = block_make(0x6000, 24, 1000, RECORD_STACK_NONE);
    send_alloc(&p, t, &b);
    const struct class_state *c = &p.classes[CLASS_B64];
    ck_assert_uint_eq(c->calls[STATE_CALL_UNKNOWN], 1);
    ck_assert_uint_eq(c->call_bytes[STATE_CALL_UNKNOWN], 24);
    ck_assert_uint_eq(c->allocs, 1);
    ck_assert_str_eq(state_call_name(STATE_CALL_UNKNOWN), "unknown");
    ck_assert_str_eq(state_call_name(STATE_CALLS), "unknown");
    state_free(&p);
}
END_TEST

START_TEST(an_alloc_read_after_its_free_is_counted_under_its_call_once)
{
    /* The free sat in another thread's ring and was read first: the
     * allocation counts when its ALLOC comes, once, under its call. */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t a = state_thread(&p, TID_A, 1), b = state_thread(&p, TID_B, 1);
    struct block blk = block_make(0x6000, 48, 1000, RECORD_STACK_NONE);
    send_free(&p, b, &blk, 2000);
    ck_assert_uint_eq(p.classes[CLASS_B64].calls[STATE_CALL_NEW], 0);
    send_alloc_through(&p, a, &blk, RECORD_ENTRY_NEW);
    const struct class_state *c = &p.classes[CLASS_B64];
    ck_assert_uint_eq(c->calls[STATE_CALL_NEW], 1);
    ck_assert_uint_eq(c->allocs, 1);
    ck_assert_uint_eq(c->frees, 1);
    state_free(&p);
}
END_TEST

/* ---- batches ------------------------------------------------------------ */

/* Records of one thread as its ring holds them, with where each framed
 * event starts, to be fed as batches (state_ingest_batch) or one event at
 * a time (state_ingest). */
#define TAPE_MAX FEED_AREA_RECORDS
struct tape {
    record_t recs[TAPE_MAX];
    uint32_t start[TAPE_MAX]; /* first record of event i */
    size_t records, events;
};

static void tape_put(struct tape *t, const record_t *frame, size_t n)
{
    ck_assert_uint_le(t->records + n, TAPE_MAX);
    t->start[t->events++] = (uint32_t)t->records;
    memcpy(&t->recs[t->records], frame, n * sizeof *frame);
    t->records += n;
}

static void tape_alloc(struct tape *t, const struct block *b)
{
    record_t frame[2];
    tape_put(t, frame, frame_alloc(frame, b));
}

static void tape_free(struct tape *t, const struct block *b, uint64_t free_ts)
{
    record_t r = record_free_of(b, free_ts);
    tape_put(t, &r, 1);
}

/* Feeds the whole tape as batches that end where events end: each batch
 * ends with the first event that reaches `sizes[k]` records (the sizes
 * taken in turn), the last with the tape. Every batch is copied to the end
 * of feed_area's readable region, so a read past it faults. */
static void tape_feed_batches(struct proc_state *p, size_t thread, const struct tape *t,
                              const size_t *sizes, size_t size_count)
{
    size_t event = 0, k = 0;
    while (event < t->events) {
        size_t first = t->start[event], want = sizes[k++ % size_count];
        while (event < t->events && t->start[event] - first < want)
            event++;
        size_t end = event < t->events ? t->start[event] : t->records;
        record_t *at = feed_area(end - first);
        memcpy(at, &t->recs[first], (end - first) * RECORD_BYTES);
        state_ingest_batch(p, thread, at, end - first);
    }
}

static void tape_feed_events(struct proc_state *p, size_t thread, const struct tape *t)
{
    for (size_t i = 0; i < t->events; i++) {
        size_t end = i + 1 < t->events ? t->start[i + 1] : t->records;
        feed(p, thread, &t->recs[t->start[i]], end - t->start[i]);
    }
}

START_TEST(an_alloc_freed_two_records_later_in_a_batch_counts_its_free_lifetime_and_peak)
{
    /* a and b live together (the B256 peak is two blocks), then a goes
     * three records after its ALLOC, with b's ALLOC and a cache refill in
     * between; c is freed by the record right after its ALLOC; b stays.
     * Both frees are paired with their ALLOCs. */
    static struct tape t;
    memset(&t, 0, sizeof t);
    struct block a = block_make(0x10040, 100, 1000, 7), b = block_make(0x10140, 200, 1001, 7),
                 c = block_make(0x20000, 3000, 1010, RECORD_STACK_NONE);
    record_t frame[FEED_MAX_RECORDS];
    tape_put(&t, frame, frame_stack(frame, 7, pcs_main, 4, false));
    tape_alloc(&t, &a);
    tape_alloc(&t, &b);
    record_t refill = {.kind = RECORD_CACHE_REFILL, .class_index = CLASS_B4K, .ts_ns = 1002};
    refill.count = 16;
    tape_put(&t, &refill, 1);
    tape_free(&t, &a, 1003); /* 3 ns: bucket 1 */
    tape_alloc(&t, &c);
    tape_free(&t, &c, 1018); /* 8 ns: bucket 3 */

    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_FULL, 0);
    size_t th = state_thread(&p, TID_A, 1);
    size_t whole = TAPE_MAX;
    tape_feed_batches(&p, th, &t, &whole, 1);

    const struct class_state *small = &p.classes[CLASS_B256], *page = &p.classes[CLASS_B4K];
    ck_assert_uint_eq(small->allocs, 2);
    ck_assert_uint_eq(small->frees, 1);
    ck_assert_int_eq(small->live_blocks, 1);
    ck_assert_int_eq(small->live_requested, 200);
    ck_assert_int_eq(small->peak_live_usable, 2 * 256);
    ck_assert_uint_eq(page->allocs, 1);
    ck_assert_uint_eq(page->frees, 1);
    ck_assert_int_eq(page->live_blocks, 0);
    ck_assert_int_eq(page->peak_live_usable, 4096);
    ck_assert_uint_eq(p.lifetimes[CLASS_B256][1][0], 1);
    ck_assert_uint_eq(p.lifetimes[CLASS_B256][1][1], 100);
    ck_assert_uint_eq(p.lifetimes[CLASS_B4K][3][0], 1);
    ck_assert_uint_eq(p.sites[7].allocs, 2);
    ck_assert_uint_eq(p.sites[7].frees, 1);
    ck_assert_int_eq(p.sites[7].live_bytes, 200);
    ck_assert_int_eq(p.sites[7].peak_live_bytes, 300);
    ck_assert_uint_eq(p.threads[th].frees, 2);
    ck_assert_uint_eq(p.threads[th].cross_thread_frees, 0);
    ck_assert_uint_eq(p.paired, 2); /* neither went through the live table */
    ck_assert_int_eq(p.classes[CLASS_B4K].cached, 16 - 1 + 1);
    ck_assert_uint_eq(p.row_count, 2);
    ck_assert_uint_eq(p.rows[0].addr, a.addr);
    ck_assert_uint_eq(p.rows[0].alloc_ts, 1000);
    ck_assert_uint_eq(p.rows[0].free_ts, 1003);
    ck_assert_uint_eq(p.rows[0].free_thread_id, TID_A);
    ck_assert_uint_eq(p.rows[1].addr, c.addr);
    const struct pair_state *self = pair_of(&p, TID_A, TID_A);
    ck_assert_ptr_nonnull(self);
    ck_assert_uint_eq(self->frees, 2);
    ck_assert_uint_eq(self->bytes, 3100);
    live_check_only(&p, &b);
    state_free(&p);
}
END_TEST

START_TEST(a_batch_pairs_no_block_the_live_set_refuses_and_no_pair_across_a_stack_definition)
{
    /* An ALLOC at address 0 is never counted, paired or not; and d's
     * stack id is defined again between its ALLOC and its FREE (no
     * tracer does that: ids are defined once, before use), so the two
     * are not paired and each is counted under the site its id named
     * when it was read, as through the table. */
    static struct tape t;
    memset(&t, 0, sizeof t);
    struct block z = block_make(0, 48, 100, RECORD_STACK_NONE);
    struct block d = block_make(0x50040, 48, 101, 9);
    static const uint64_t pcs_other[] = {0x404040, 0x405050};
    record_t frame[FEED_MAX_RECORDS];
    tape_put(&t, frame, frame_stack(frame, 9, pcs_main, 4, false));
    tape_alloc(&t, &z);
    tape_free(&t, &z, 102);
    tape_alloc(&t, &d);
    tape_put(&t, frame, frame_stack(frame, 9, pcs_other, 2, false));
    tape_free(&t, &d, 104);
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t th = state_thread(&p, TID_A, 1);
    size_t whole = TAPE_MAX;
    tape_feed_batches(&p, th, &t, &whole, 1);
    ck_assert_uint_eq(p.paired, 0);
    ck_assert_uint_eq(p.classes[CLASS_B64].allocs, 1);
    ck_assert_uint_eq(p.classes[CLASS_B64].frees, 1);
    ck_assert_int_eq(p.classes[CLASS_B64].live_blocks, 0);
    ck_assert_uint_eq(p.sites[9].allocs, 1);
    ck_assert_uint_eq(p.sites[9].frees, 1);
    ck_assert_int_eq(p.sites[9].live_blocks, 0);
    state_free(&p);
}
END_TEST

START_TEST(a_free_in_a_batch_takes_the_allocation_its_time_names_not_a_newer_one_at_its_address)
{
    /* X's first allocation came in an earlier batch; this one holds an
     * ALLOC of X at a later time and then a FREE naming the first time
     * (bytes no real thread sends in this order, as a damaged ring could
     * hold them): the free is the first allocation's, the second stays. */
    struct proc_state p;
    state_init(&p, PID, SEGMENT_MODE_SUMMARY, 0);
    size_t th = state_thread(&p, TID_A, 1);
    struct block first = block_make(0x30000, 40, 500, RECORD_STACK_NONE);
    struct block second = block_make(0x30000, 40, 900, RECORD_STACK_NONE);
    static struct tape t;
    memset(&t, 0, sizeof t);
    tape_alloc(&t, &first);
    size_t whole = TAPE_MAX;
    tape_feed_batches(&p, th, &t, &whole, 1);
    memset(&t, 0, sizeof t);
    tape_alloc(&t, &second);
    tape_free(&t, &first, 1000);
    tape_feed_batches(&p, th, &t, &whole, 1);

    ck_assert_uint_eq(p.classes[CLASS_B64].allocs, 2);
    ck_assert_uint_eq(p.classes[CLASS_B64].frees, 1);
    ck_assert_uint_eq(p.lifetimes[CLASS_B64][log2_floor(1000 - 500)][0], 1);
    live_check_only(&p, &second);
    state_free(&p);
}
END_TEST

/* A deterministic mix a busy thread sends: allocations of every class
 * (large ones are two-record frames), most freed one to a dozen records
 * later, some much later, some never; addresses reused; stack definitions,
 * cache events, in-place reallocs and frees of blocks allocated before
 * tracing in between. */
#define BUSY_LIVE_MAX 512u /* blocks a busy thread keeps live at once, at most */

static void tape_busy_thread(struct tape *t, uint64_t *allocs, uint64_t *frees, uint64_t *live_out,
                             struct block live_at_end[BUSY_LIVE_MAX])
{
    static const uint64_t sizes[] = {8, 24, 64, 100, 256, 300, 4000, 5000, 9000, 70000, 3 * MIB};
    struct block live[512];
    size_t live_count = 0;
    uint64_t spare[256]; /* freed addresses, reused */
    size_t spare_count = 0;
    uint64_t seed = 12345, ts = 1000, next_addr = 0x7f0000100000ull;
    uint32_t stacks = 0;
    *allocs = *frees = 0;
    record_t frame[FEED_MAX_RECORDS];
    while (t->records + 8 < TAPE_MAX - FEED_MAX_RECORDS) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        unsigned roll = (unsigned)(seed >> 33) % 100, pick = (unsigned)(seed >> 45);
        ts += 1 + pick % 3;
        if ((roll < 45 && live_count < 512) || live_count == 0) {
            uint64_t addr = spare_count > 0 && pick % 2 ? spare[--spare_count] : (next_addr += 0x40000);
            uint32_t stack = stacks > 0 && pick % 5 ? 1 + pick % stacks : RECORD_STACK_NONE;
            live[live_count] = block_make(addr, sizes[pick % 11] + pick % 7, ts, stack);
            tape_alloc(t, &live[live_count++]);
            ++*allocs;
        } else if (roll < 85) {
            /* Mostly one of the newest three, else any. */
            size_t k = roll < 75 ? live_count - 1 - pick % (live_count < 3 ? live_count : 3)
                                 : pick % live_count;
            tape_free(t, &live[k], ts);
            if (spare_count < 256)
                spare[spare_count++] = live[k].addr;
            live[k] = live[--live_count];
            ++*frees;
        } else if (roll < 88 && stacks < 40) {
            uint64_t pcs[3] = {0x400000 + stacks, 0x500000, 0x600000 + pick % 4};
            tape_put(t, frame, frame_stack(frame, ++stacks, pcs, 3, false));
        } else if (roll < 93) {
            record_t r = {.kind = pick % 2 ? RECORD_CACHE_REFILL : RECORD_CACHE_DRAIN,
                          .class_index = (uint8_t)(pick % CLASS_B16K), .ts_ns = ts};
            r.count = 1 + pick % 30;
            tape_put(t, &r, 1);
        } else if (roll < 97) {
            struct block *old = &live[pick % live_count], now = *old;
            if (spec_class_of(now.requested_bytes) == CLASS_LARGE)
                continue;
            now.alloc_ts_ns = ts;
            now.requested_bytes = spec_payload[spec_class_of(old->requested_bytes)] - pick % 4;
            tape_put(t, frame, frame_realloc(frame, old, &now, RECORD_FLAG_IN_PLACE));
            *old = now;
            ++*allocs;
            ++*frees;
        } else {
            struct block before = block_make(0x6000000 + pick * 64ull, 50, 1, RECORD_STACK_NONE);
            tape_free(t, &before, ts); /* allocated before tracing: never matched */
        }
    }
    *live_out = live_count;
    memcpy(live_at_end, live, live_count * sizeof *live);
}

static int live_entry_order(const void *a, const void *b)
{
    const struct live_entry *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return x->alloc_ts < y->alloc_ts ? -1 : x->alloc_ts > y->alloc_ts;
}

START_TEST(a_thread_fed_in_batches_counts_exactly_what_it_counts_fed_one_event_at_a_time)
{
    static struct tape t, other;
    memset(&t, 0, sizeof t);
    memset(&other, 0, sizeof other);
    uint64_t allocs, frees, live_count;
    static struct block kept[BUSY_LIVE_MAX];
    tape_busy_thread(&t, &allocs, &frees, &live_count, kept);
    /* Thread B frees every other block A keeps, and its ring is read
     * first: those frees wait as pending frees for A's ALLOCs. */
    uint64_t cross = 0;
    for (uint64_t k = 0; k < live_count; k += 2, cross++)
        tape_free(&other, &kept[k], 1000000000ull + k);
    struct proc_state one, batched;
    state_init(&one, PID, SEGMENT_MODE_FULL, 0);
    state_init(&batched, PID, SEGMENT_MODE_FULL, 0);
    size_t a = state_thread(&one, TID_A, 1), b = state_thread(&batched, TID_A, 1);
    size_t oa = state_thread(&one, TID_B, 1), ob = state_thread(&batched, TID_B, 1);
    /* Batches of many sizes, a pair cut by a batch's end now and then. */
    static const size_t sizes[] = {4096, 700, 1, 13, 2000, 600, 4096, 5};
    tape_feed_events(&one, oa, &other);
    tape_feed_batches(&batched, ob, &other, sizes, sizeof sizes / sizeof sizes[0]);
    tape_feed_events(&one, a, &t);
    tape_feed_batches(&batched, b, &t, sizes, sizeof sizes / sizeof sizes[0]);

    /* What the workload says. */
    struct class_totals want = totals_of(&one), got = totals_of(&batched);
    ck_assert_uint_eq(want.allocs, allocs);
    ck_assert_uint_eq(got.allocs, allocs);
    ck_assert_uint_gt(cross, 0);
    ck_assert_uint_eq(got.frees, frees + cross);
    ck_assert_uint_eq(got.cross_thread_frees, cross);
    ck_assert_int_eq(got.live_blocks, (int64_t)(live_count - cross));
    /* And every counter the database is written from, field by field. */
    ck_assert_uint_eq(batched.class_count, one.class_count);
    ck_assert_int_eq(memcmp(batched.classes, one.classes, (one.class_count + 1) * sizeof *one.classes), 0);
    ck_assert_int_eq(memcmp(batched.lifetimes, one.lifetimes, (one.class_count + 1) * sizeof *one.lifetimes), 0);
    ck_assert_int_eq(memcmp(batched.dense_sizes, one.dense_sizes, sizeof one.dense_sizes), 0);
    ck_assert_uint_eq(batched.sites_cap, one.sites_cap);
    ck_assert_int_eq(memcmp(batched.sites, one.sites, one.sites_cap * sizeof *one.sites), 0);
    ck_assert_int_eq(memcmp(&batched.threads[b], &one.threads[a], sizeof one.threads[a]), 0);
    ck_assert_int_eq(memcmp(&batched.threads[ob], &one.threads[oa], sizeof one.threads[oa]), 0);
    ck_assert_uint_eq(batched.records, one.records);
    ck_assert_uint_gt(batched.paired, frees / 4); /* most frees here come a few records on */
    ck_assert_uint_eq(one.paired, 0);
    ck_assert_uint_eq(batched.row_count, one.row_count);
    ck_assert_int_eq(memcmp(batched.rows, one.rows, one.row_count * sizeof *one.rows), 0);
    const struct pair_state *pa = pair_of(&one, TID_A, TID_A), *pb = pair_of(&batched, TID_A, TID_A);
    ck_assert_ptr_nonnull(pb);
    ck_assert_uint_eq(pb->frees, pa->frees);
    ck_assert_uint_eq(pb->bytes, pa->bytes);
    const struct pair_state *xa = pair_of(&one, TID_A, TID_B), *xb = pair_of(&batched, TID_A, TID_B);
    ck_assert_ptr_nonnull(xb);
    ck_assert_uint_eq(xb->frees, cross);
    ck_assert_uint_eq(xb->bytes, xa->bytes);
    struct live_list lo = live_of(&one), lb = live_of(&batched);
    ck_assert_uint_eq(lb.count, live_count - cross);
    ck_assert_uint_eq(lo.count, live_count - cross);
    qsort(lo.items, lo.count, sizeof *lo.items, live_entry_order);
    qsort(lb.items, lb.count, sizeof *lb.items, live_entry_order);
    ck_assert_int_eq(memcmp(lb.items, lo.items, lo.count * sizeof *lo.items), 0);
    free(lo.items);
    free(lb.items);
    state_settle(&one);
    state_settle(&batched);
    ck_assert_uint_gt(batched.untracked_frees, 0);
    ck_assert_uint_eq(batched.untracked_frees, one.untracked_frees);
    state_free(&one);
    state_free(&batched);
}
END_TEST

Suite *ingest_suite(void)
{
    Suite *s = suite_create("ingest");
    TCase *tc = tcase_create("classes");
    tcase_add_test(tc, the_class_helpers_follow_the_size_class_table_at_every_edge);
    tcase_add_test(tc, an_image_with_the_general_table_counts_and_names_its_own_classes);
    tcase_add_test(tc, a_class_table_that_breaks_the_rules_is_refused);
    tcase_add_test(tc, a_same_thread_alloc_then_free_counts_once_in_its_class_and_leaves_nothing_live);
    tcase_add_test(tc, the_peak_of_live_usable_bytes_is_the_highest_the_class_reached);
    suite_add_tcase(s, tc);

    tc = tcase_create("pending");
    tcase_add_test(tc, a_free_that_arrives_before_its_alloc_is_counted_once_the_alloc_comes);
    tcase_add_test(tc, frees_of_another_threads_blocks_count_in_that_pair_and_in_the_freers_cross_frees);
    tcase_add_test(tc, a_pending_free_never_counts_in_the_class_totals_and_settle_counts_it_as_untracked);
    tcase_add_test(tc, settle_drops_every_pending_free_and_keeps_every_live_allocation);
    suite_add_tcase(s, tc);

    tc = tcase_create("reuse");
    tcase_add_test(tc, an_address_freed_and_reused_by_another_thread_leaves_only_the_new_allocation_live);
    tcase_add_test(tc, the_same_reuse_leaves_one_live_allocation_when_the_freeing_threads_records_come_first);
    tcase_add_test(tc, an_address_passed_round_three_threads_many_times_is_matched_generation_by_generation);
    suite_add_tcase(s, tc);

    tc = tcase_create("large_realloc");
    tcase_add_test(tc, a_large_allocation_counts_the_usable_bytes_its_payload_names);
    tcase_add_test(tc, an_in_place_realloc_counts_a_free_of_the_old_block_and_an_alloc_of_the_new);
    tcase_add_test(tc, a_realloc_that_moves_a_block_frees_it_in_the_old_class_and_allocates_in_the_new);
    tcase_add_test(tc, a_realloc_into_the_large_class_takes_its_usable_bytes_from_the_payload);
    tcase_add_test(tc, a_realloc_of_another_threads_block_that_arrives_first_waits_for_that_alloc);
    suite_add_tcase(s, tc);

    tc = tcase_create("sizes_lifetimes");
    tcase_add_test(tc, the_size_histogram_counts_every_requested_size_exactly_across_the_class_edges);
    tcase_add_test(tc, a_lifetime_lands_in_the_log2_bucket_of_its_duration);
    tcase_add_test(tc, a_free_stamped_no_later_than_its_alloc_lands_in_the_first_lifetime_bucket);
    suite_add_tcase(s, tc);

    tc = tcase_create("stacks");
    tcase_add_test(tc, equal_stacks_sent_by_two_threads_under_different_ids_fold_into_the_first_id);
    tcase_add_test(tc, sites_aggregate_both_threads_allocations_and_frees_under_the_canonical_id);
    tcase_add_test(tc, a_truncated_stack_is_distinct_from_an_untruncated_one_with_the_same_pcs);
    tcase_add_test(tc, stacks_that_differ_in_one_pc_in_order_or_in_depth_stay_distinct);
    tcase_add_test(tc, an_alloc_whose_stack_was_never_defined_counts_in_the_no_stack_site);
    suite_add_tcase(s, tc);

    tc = tcase_create("batches");
    tcase_add_test(tc, an_alloc_freed_two_records_later_in_a_batch_counts_its_free_lifetime_and_peak);
    tcase_add_test(tc, a_batch_pairs_no_block_the_live_set_refuses_and_no_pair_across_a_stack_definition);
    tcase_add_test(tc, a_free_in_a_batch_takes_the_allocation_its_time_names_not_a_newer_one_at_its_address);
    tcase_add_test(tc, a_thread_fed_in_batches_counts_exactly_what_it_counts_fed_one_event_at_a_time);
    suite_add_tcase(s, tc);

    tc = tcase_create("volume");
    tcase_add_test(tc, two_hundred_thousand_live_allocations_freed_in_another_order_keep_every_count_exact);
    suite_add_tcase(s, tc);

    tc = tcase_create("events");
    tcase_add_test(tc, full_mode_writes_one_row_per_matched_free_with_both_threads_and_both_times);
    tcase_add_test(tc, summary_mode_keeps_no_rows);
    tcase_add_test(tc, a_corruption_event_is_kept_with_its_kind_call_address_thread_and_allocating_stack);
    tcase_add_test(tc, corruption_kind_names_are_kept_whole_however_long);
    tcase_add_test(tc, every_corruption_event_is_counted_per_kind_site_and_class_and_only_the_first_ten_thousand_are_kept);
    tcase_add_test(tc, a_thread_start_names_the_thread_of_its_ring);
    suite_add_tcase(s, tc);

    tc = tcase_create("gauges");
    tcase_add_test(tc, the_snapshot_seeds_the_gauges_and_the_carved_count_without_counting_events);
    tcase_add_test(tc, a_refill_read_before_the_drain_that_filled_the_pool_never_shows_a_negative_gauge);
    tcase_add_test(tc, a_dead_threads_cache_drained_by_another_thread_never_shows_a_negative_gauge);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_add_test(tc, an_unknown_kind_changes_no_counter);
    tcase_add_test(tc, a_stack_def_with_depth_0_or_id_0_defines_no_stack);
    tcase_add_test(tc, a_stack_id_defined_again_keeps_its_first_stack);
    tcase_add_test(tc, a_stack_def_with_an_absurd_id_defines_no_stack_and_allocates_nothing_for_it);
    tcase_add_test(tc, a_realloc_without_its_payload_frees_nothing);
    tcase_add_test(tc, class_indexes_out_of_range_do_not_break_the_totals);
    tcase_add_test(tc, a_corruption_with_a_short_payload_is_not_kept);
    tcase_add_test(tc, a_stack_def_claiming_more_pcs_than_its_frame_holds_is_not_read_past_it);
    tcase_add_test(tc, a_module_load_claiming_a_longer_path_than_its_frame_holds_is_not_read_past_it);
    tcase_add_test(tc, a_realloc_that_moved_is_not_counted_as_in_place);
    suite_add_tcase(s, tc);

    tc = tcase_create("calls");
    tcase_add_test(tc, every_entry_an_alloc_names_is_counted_in_its_class_under_that_call);
    tcase_add_test(tc, a_realloc_counts_in_place_or_moved_in_the_new_blocks_class_and_frees_under_no_call);
    tcase_add_test(tc, an_alloc_that_names_no_entry_counts_as_unknown);
    tcase_add_test(tc, an_alloc_read_after_its_free_is_counted_under_its_call_once);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(ingest_suite)
