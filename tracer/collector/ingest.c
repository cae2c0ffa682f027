/* ingest.c - turns records into the collector's picture of a process
 * (state.h). The rules that keep the counts exact:
 *   - an allocation is named by (address, alloc timestamp); a FREE or a
 *     REALLOC's old half finds its ALLOC by that pair, and if it arrives
 *     first (the two were in different threads' rings, drained in either
 *     order) it waits in the live table as a pending free;
 *   - class_totals count an ALLOC when it arrives and a FREE when it is
 *     matched, so frees of blocks allocated before tracing began (pending
 *     forever) never count; state_settle tallies them at the end;
 *   - a FREE whose ALLOC is one of the 8 ALLOCs before it in the same
 *     512-record chunk of a batch from one ring (both one record, of a
 *     size class) is counted from that record, and the allocation never
 *     enters the live table (state_ingest_batch): every count changes at
 *     the same record as it would through the table, without two look-ups
 *     in a table far larger than the caches (46% of python3's
 *     allocations, 38% of sqlite3's);
 *   - the same step counts the allocation under the entry point its record
 *     names (an ALLOC's entry field; a REALLOC record is realloc in
 *     place), so per class the calls add up to allocs;
 *   - the cache gauge follows the blocks: a small ALLOC takes one from a
 *     thread cache, any small FREE puts one back, refills and drains move
 *     batches between caches, pool and arena (snapshot records seed it,
 *     and the carved count with it);
 *   - the cache and pool gauges never read below zero: blocks move between
 *     threads through the pool (and through a free of another thread's
 *     block), and the rings are drained in no set order, so a refill can be
 *     read before the drain that filled the pool. What is taken beyond a
 *     gauge is owed and paid back by the next additions; once every record
 *     is read nothing is owed, and cached + pooled + live is what was
 *     carved, less the blocks live since before tracing began.
 * Stacks arrive once per thread per unique stack under process-wide ids;
 * equal PC sequences sent by different threads fold into one canonical id
 * so sites aggregate per call path, not per thread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"
#include "state.h"

const char *state_class_name(const struct proc_state *p, unsigned class_id,
                             char out[CLASS_TABLE_NAME_BYTES])
{
    if (class_id < p->class_count)
        class_table_name(p->class_table.payload_bytes[class_id], out);
    else
        memcpy(out, class_id == p->class_count ? "LARGE" : "unknown",
               class_id == p->class_count ? sizeof "LARGE" : sizeof "unknown");
    return out;
}

uint64_t state_class_payload(const struct proc_state *p, unsigned class_id)
{
    return class_id < p->class_count ? p->class_table.payload_bytes[class_id] : 0;
}

unsigned state_class_of(const struct proc_state *p, uint64_t size)
{
    /* Binary search: the first class whose payload holds size. */
    unsigned lo = 0, hi = p->class_count;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (p->class_table.payload_bytes[mid] >= size)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

bool state_set_classes(struct proc_state *p, const struct class_table *table)
{
    if (!class_table_valid(table))
        return false;
    struct class_state *classes = calloc(table->count + 1, sizeof *classes);
    uint64_t(*lifetimes)[STATE_LIFETIME_BUCKETS][2] = calloc(table->count + 1, sizeof *lifetimes);
    if (classes == NULL || lifetimes == NULL) {
        free(classes);
        free(lifetimes);
        return false;
    }
    for (unsigned c = 0; c <= table->count; c++)
        classes[c].dirty = true; /* every class gets a row, even if unused */
    free(p->classes);
    free(p->lifetimes);
    p->class_table = *table;
    p->class_count = table->count;
    liveset_set_classes(&p->live, table->payload_bytes, table->count);
    p->classes = classes;
    p->lifetimes = lifetimes;
    return true;
}

bool state_init(struct proc_state *p, uint32_t pid, unsigned mode, uint64_t sample_bytes)
{
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->mode = mode;
    p->sample_bytes = sample_bytes;
    liveset_init(&p->live);
    u64map_init(&p->sizes);
    u64map_init(&p->pairs);
    u64map_init(&p->stack_by_hash);
    u64map_init(&p->corruption_group_by_key);
    struct class_table table;
    class_table_orthotope(&table);
    return state_set_classes(p, &table);
}

void state_free(struct proc_state *p)
{
    liveset_free(&p->live);
    u64map_free(&p->sizes);
    u64map_free(&p->pairs);
    u64map_free(&p->stack_by_hash);
    free(p->pair_totals);
    free(p->canonical);
    for (size_t i = 0; i < p->stacks_cap; i++)
        free(p->stacks[i].pcs);
    free(p->stacks);
    free(p->sites);
    free(p->threads);
    for (size_t i = 0; i < p->module_count; i++)
        free(p->modules[i].path);
    free(p->modules);
    free(p->corruptions);
    for (size_t i = 0; i < p->corruption_name_count; i++)
        free(p->corruption_names[i]);
    free(p->corruption_names);
    free(p->corruption_groups);
    u64map_free(&p->corruption_group_by_key);
    free(p->rows);
    free(p->classes);
    free(p->lifetimes);
    memset(p, 0, sizeof *p);
}

/* Grows an array of `size`-byte items to hold index `need`; new items are
 * zeroed. false: no memory (the caller skips the event). */
static bool ingest_reserve(void **array, size_t *cap, size_t need, size_t size)
{
    if (need < *cap)
        return true;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 <= need)
        cap2 *= 2;
    char *grown = realloc(*array, cap2 * size);
    if (grown == NULL)
        return false;
    memset(grown + *cap * size, 0, (cap2 - *cap) * size);
    *array = grown;
    *cap = cap2;
    return true;
}

size_t state_thread(struct proc_state *p, uint32_t tid, uint64_t start_ns)
{
    if (!ingest_reserve((void **)&p->threads, &p->thread_cap, p->thread_count, sizeof *p->threads))
        return p->thread_count ? p->thread_count - 1 : 0;
    struct thread_state *t = &p->threads[p->thread_count];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->start_ns = start_ns;
    t->dirty = true;
    return p->thread_count++;
}

static uint32_t ingest_canonical(const struct proc_state *p, uint32_t sent_id)
{
    if (sent_id == 0 || sent_id >= p->canonical_cap)
        return 0;
    return p->canonical[sent_id];
}

static struct site_state *ingest_site(struct proc_state *p, uint32_t stack)
{
    if (!ingest_reserve((void **)&p->sites, &p->sites_cap, stack, sizeof *p->sites))
        return NULL;
    return &p->sites[stack];
}

/* The class id of a record's class byte: a size class of the image, or
 * LARGE for the large path, for no class and for anything out of range. */
static unsigned ingest_class(const struct proc_state *p, unsigned class_byte)
{
    return class_byte < p->class_count ? class_byte : state_large(p);
}

/* Estimated allocations one sampled allocation of `bytes` stands for. */
static double ingest_weight(const struct proc_state *p, uint64_t bytes, bool sampled)
{
    if (p->sample_bytes == 0 || !sampled || bytes == 0)
        return 1.0;
    double q = -expm1(-(double)bytes / (double)p->sample_bytes);
    return q > 0 ? 1.0 / q : 1.0;
}

/* Adds n blocks to a gauge, paying what it owes first. */
static void ingest_gauge_add(int64_t *gauge, uint64_t *owed, uint64_t n)
{
    uint64_t paid = n < *owed ? n : *owed;
    *owed -= paid;
    *gauge += (int64_t)(n - paid);
}

/* Takes n blocks from a gauge; what it does not hold yet is owed. */
static void ingest_gauge_take(int64_t *gauge, uint64_t *owed, uint64_t n)
{
    uint64_t held = *gauge > 0 ? (uint64_t)*gauge : 0;
    uint64_t taken = n < held ? n : held;
    *gauge -= (int64_t)taken;
    *owed += n - taken;
}

/* Counts an allocation that is now live (or, pending, already freed),
 * made through `call` (STATE_CALL_*): the per-call counts rise here and
 * only here, with allocs, so they always add up to it. */
static void ingest_count_alloc(struct proc_state *p, size_t thread, const struct live_entry *e,
                               bool sampled, unsigned call)
{
    struct class_state *c = &p->classes[e->class_id];
    c->allocs++;
    c->requested += e->requested;
    c->calls[call]++;
    c->call_bytes[call] += e->requested;
    c->calls_dirty |= (uint16_t)(1u << call);
    c->usable += e->usable;
    c->live_blocks++;
    c->live_requested += (int64_t)e->requested;
    c->live_usable += (int64_t)e->usable;
    if (c->live_usable > c->peak_live_usable)
        c->peak_live_usable = c->live_usable;
    c->dirty = c->series_dirty = true;
    struct thread_state *t = &p->threads[thread];
    t->allocs++;
    t->alloc_bytes += e->requested;
    t->dirty = true;
    if (e->requested < STATE_DENSE_SIZES) {
        p->dense_sizes[e->requested]++;
    } else {
        uint64_t *count = u64map_slot(&p->sizes, e->requested + 1); /* key 0 is reserved */
        if (count != NULL)
            (*count)++;
    }
    p->sizes_dirty = true;
    struct site_state *s = ingest_site(p, e->stack_id);
    if (s != NULL) {
        double w = ingest_weight(p, e->requested, sampled);
        s->allocs++;
        s->alloc_bytes += e->requested;
        s->live_blocks++;
        s->live_bytes += (int64_t)e->requested;
        if (s->live_bytes > s->peak_live_bytes)
            s->peak_live_bytes = s->live_bytes;
        s->est_allocs += w;
        s->est_bytes += w * (double)e->requested;
        s->dirty = true;
    }
}

static void ingest_pair(struct proc_state *p, uint32_t alloc_tid, uint32_t free_tid, uint64_t bytes)
{
    uint64_t key = ((uint64_t)alloc_tid << 32 | free_tid) + 1; /* key 0 is reserved */
    if (key != p->last_pair_key) {
        uint64_t *index = u64map_slot(&p->pairs, key);
        if (index == NULL)
            return;
        if (*index == 0) {
            if (!ingest_reserve((void **)&p->pair_totals, &p->pair_cap, p->pair_count,
                                sizeof *p->pair_totals))
                return;
            *index = ++p->pair_count;
        }
        p->last_pair_key = key;
        p->last_pair_index = *index - 1;
    }
    p->pair_totals[p->last_pair_index].frees++;
    p->pair_totals[p->last_pair_index].bytes += bytes;
    p->pairs_dirty = true;
}

/* Counts the matched free of *e by thread `thread` at free_ts. */
static void ingest_count_free(struct proc_state *p, size_t thread, const struct live_entry *e,
                              uint64_t free_ts, uint32_t free_tid)
{
    struct class_state *c = &p->classes[e->class_id];
    c->frees++;
    c->freed_requested += e->requested;
    c->freed_usable += e->usable;
    c->live_blocks--;
    c->live_requested -= (int64_t)e->requested;
    c->live_usable -= (int64_t)e->usable;
    c->dirty = c->series_dirty = true;
    struct thread_state *t = &p->threads[thread];
    t->frees++;
    t->freed_bytes += e->requested;
    if (free_tid != e->thread_id) {
        t->cross_thread_frees++;
        c->cross_thread_frees++;
    }
    t->dirty = true;
    ingest_pair(p, e->thread_id, free_tid, e->requested);
    uint64_t life = free_ts > e->alloc_ts ? free_ts - e->alloc_ts : 1;
    unsigned bucket = 63u - (unsigned)__builtin_clzll(life);
    p->lifetimes[e->class_id][bucket][0]++;
    p->lifetimes[e->class_id][bucket][1] += e->requested;
    p->lifetimes_dirty = true;
    struct site_state *s = ingest_site(p, e->stack_id);
    if (s != NULL) {
        s->frees++;
        s->freed_bytes += e->requested;
        s->live_blocks--;
        s->live_bytes -= (int64_t)e->requested;
        s->dirty = true;
    }
    if (p->mode == SEGMENT_MODE_FULL &&
        ingest_reserve((void **)&p->rows, &p->row_cap, p->row_count, sizeof *p->rows)) {
        p->rows[p->row_count++] = (struct alloc_row){
            .addr = e->addr, .alloc_ts = e->alloc_ts, .free_ts = free_ts, .requested = e->requested,
            .usable = e->usable, .stack_id = e->stack_id, .thread_id = e->thread_id,
            .free_thread_id = free_tid, .class_id = e->class_id};
    }
}

/* The live entry an ALLOC (or a REALLOC's new half) of thread `thread`
 * names: what the live table keeps, and what the counts read. */
static struct live_entry ingest_entry(const struct proc_state *p, size_t thread, uint64_t addr,
                                      uint64_t ts, unsigned cls, uint64_t requested,
                                      uint64_t usable, uint32_t sent_stack)
{
    return (struct live_entry){.addr = addr, .alloc_ts = ts, .requested = requested,
                               .usable = usable, .stack_id = ingest_canonical(p, sent_stack),
                               .thread_id = p->threads[thread].tid, .class_id = (uint8_t)cls};
}

/* `freed_later`: the same chunk of the batch holds this allocation's
 * FREE, within the next 8 ALLOCs (state_ingest_batch), so it never enters
 * the live table. */
static void ingest_alloc(struct proc_state *p, size_t thread, uint64_t addr, uint64_t ts,
                         unsigned cls, uint64_t requested, uint64_t usable, uint32_t sent_stack,
                         bool sampled, unsigned call, bool freed_later)
{
    struct live_entry e = ingest_entry(p, thread, addr, ts, cls, requested, usable, sent_stack);
    if (cls < state_large(p)) /* the block left a thread cache */
        ingest_gauge_take(&p->classes[cls].cached, &p->classes[cls].cached_owed, 1);
    if (freed_later) {
        ingest_count_alloc(p, thread, &e, sampled, call);
        return;
    }
    struct live_entry pending;
    if (liveset_pending(&p->live) != 0 && liveset_take(&p->live, addr, ts, true, &pending)) {
        /* Its free came first: count both now. */
        ingest_count_alloc(p, thread, &e, sampled, call);
        ingest_count_free(p, pending.free_thread, &e, pending.free_ts, pending.thread_id);
        return;
    }
    if (liveset_put(&p->live, &e))
        ingest_count_alloc(p, thread, &e, sampled, call);
}

static void ingest_free(struct proc_state *p, size_t thread, uint64_t addr, uint64_t alloc_ts,
                        unsigned cls, uint64_t ts)
{
    uint32_t tid = p->threads[thread].tid;
    if (cls < state_large(p)) /* the block went into a thread cache */
        ingest_gauge_add(&p->classes[cls].cached, &p->classes[cls].cached_owed, 1);
    struct live_entry e;
    if (liveset_take(&p->live, addr, alloc_ts, false, &e)) {
        ingest_count_free(p, thread, &e, ts, tid);
        return;
    }
    struct live_entry pending = {.addr = addr, .alloc_ts = alloc_ts, .free_ts = ts,
                                 .thread_id = tid, .class_id = (uint8_t)cls, .pending_free = 1,
                                 .free_thread = (uint32_t)thread};
    liveset_put(&p->live, &pending); /* no memory: the free is never matched */
}

/* How state_ingest_batch pairs a frame: not at all, an ALLOC whose FREE
 * follows in the batch, or (any other value) a FREE whose ALLOC is that
 * many records back. */
#define INGEST_UNPAIRED 0u
#define INGEST_FREED_LATER 0xffffu
/* How many of the latest ALLOCs a FREE looks among. Blocks freed within
 * 8 records of their allocation (ORTHO_TRACE=full runs of the bench's
 * programs): sqlite3 91%, python3 45% (and almost no others before
 * thousands of records), perl and jq 1%, where the pairing costs a pass
 * over records already in the L1 cache. Paired in the collector: 46% of
 * python3's allocations, 38% of sqlite3's, whose others mostly go malloc,
 * realloc in place, free. Pairing those through the REALLOC as well was
 * tried: its collector's time did not change (its short-lived blocks'
 * slots are in the cache), so the REALLOC stays unpaired and simple. */
#define INGEST_PAIR_WINDOW 8u

/* The FREE *r of the ALLOC *a, one of the 8 ALLOCs before it in the same
 * chunk of a batch: counted as ingest_free would once *a had gone into
 * the live table, without the table. */
static void ingest_free_paired(struct proc_state *p, size_t thread, const record_t *r,
                               const record_t *a)
{
    unsigned cls = ingest_class(p, r->class_index);
    struct live_entry e = ingest_entry(p, thread, a->addr, a->ts_ns, cls, a->size_bytes,
                                       state_class_payload(p, cls), a->stack_id);
    ingest_gauge_add(&p->classes[cls].cached, &p->classes[cls].cached_owed, 1);
    ingest_count_free(p, thread, &e, r->ts_ns, e.thread_id);
    p->paired++;
}

static uint64_t ingest_hash_pcs(const uint64_t *pcs, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    for (size_t i = 0; i < n; i++) {
        h ^= pcs[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h != 0 ? h : 1;
}

/* Whether a framed event's stated payload_bytes fits in the continuation
 * records it came with: what the head says is never read past the frame. */
static bool ingest_payload_fits(const record_t *head, size_t payload_records)
{
    return head->payload_bytes <= (uint64_t)payload_records * RECORD_BYTES;
}

static void ingest_stack_def(struct proc_state *p, const record_t *head, const record_t *payload,
                             size_t payload_records)
{
    uint32_t id = head->stack_id;
    size_t depth = head->payload_bytes / sizeof(uint64_t);
    if (id == 0 || id > STATE_MAX_STACK_ID || depth == 0 || !ingest_payload_fits(head, payload_records))
        return;
    /* An id is defined once, before its first use; a second definition
     * (no tracer sends one) would have replaced the stack other ids fold
     * into and leaked its PCs, once per record a damaged ring repeats. */
    if (id < p->stacks_cap && p->stacks[id].pcs != NULL)
        return;
    if (!ingest_reserve((void **)&p->canonical, &p->canonical_cap, id, sizeof *p->canonical))
        return;
    const uint64_t *pcs = (const uint64_t *)(const void *)payload;
    uint64_t hash = ingest_hash_pcs(pcs, depth) ^ (head->flags & RECORD_FLAG_TRUNCATED);
    uint64_t *known = u64map_slot(&p->stack_by_hash, hash);
    if (known == NULL)
        return;
    if (*known != 0) {
        p->canonical[id] = (uint32_t)*known;
        return;
    }
    if (!ingest_reserve((void **)&p->stacks, &p->stacks_cap, id, sizeof *p->stacks))
        return;
    struct stack_state *s = &p->stacks[id];
    s->pcs = malloc(depth * sizeof(uint64_t));
    if (s->pcs == NULL)
        return;
    memcpy(s->pcs, pcs, depth * sizeof(uint64_t));
    s->depth = (uint32_t)depth;
    s->truncated = (head->flags & RECORD_FLAG_TRUNCATED) != 0;
    *known = id;
    p->canonical[id] = id;
    p->stack_count++;
    if (s->truncated)
        p->stacks_truncated++;
}

static void ingest_module(struct proc_state *p, const record_t *head, const record_t *payload,
                          size_t payload_records)
{
    size_t len = head->payload_bytes;
    if (len == 0 || !ingest_payload_fits(head, payload_records))
        return;
    for (size_t i = 0; i < p->module_count; i++)
        if (p->modules[i].bias == head->addr && strlen(p->modules[i].path) == len &&
            memcmp(p->modules[i].path, payload, len) == 0)
            return;
    if (!ingest_reserve((void **)&p->modules, &p->module_cap, p->module_count, sizeof *p->modules))
        return;
    char *path = malloc(len + 1);
    if (path == NULL)
        return;
    memcpy(path, payload, len);
    path[len] = '\0';
    p->modules[p->module_count++] = (struct module_state){.path = path, .bias = head->addr};
    p->modules_changed = true;
}

/* The index of the corruption name text[0..len) in p, adding it the first
 * time; "unknown" once the image has sent STATE_CORRUPTION_NAMES_MAX
 * distinct ones, or when no memory is left. */
static uint16_t ingest_corruption_name(struct proc_state *p, const char *text, size_t len)
{
    for (size_t i = 0; i < p->corruption_name_count; i++)
        if (strlen(p->corruption_names[i]) == len && memcmp(p->corruption_names[i], text, len) == 0)
            return (uint16_t)i;
    if (p->corruption_name_count + 1 >= STATE_CORRUPTION_NAMES_MAX && strcmp(text, "unknown") != 0)
        return ingest_corruption_name(p, "unknown", sizeof "unknown" - 1);
    char *copy = malloc(len + 1);
    if (copy == NULL || !ingest_reserve((void **)&p->corruption_names, &p->corruption_name_cap,
                                        p->corruption_name_count, sizeof *p->corruption_names)) {
        free(copy);
        return p->corruption_name_count > 0 && strcmp(text, "unknown") != 0
                   ? ingest_corruption_name(p, "unknown", sizeof "unknown" - 1)
                   : 0; /* the first name could not be kept: index 0 is written as unknown */
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    p->corruption_names[p->corruption_name_count] = copy;
    return (uint16_t)p->corruption_name_count++;
}

/* Counts event c in its (kind, site, class) group; stored: it is also kept
 * one by one. */
static void ingest_corruption_group(struct proc_state *p, const struct corruption_state *c,
                                    bool stored)
{
    uint64_t key = ((uint64_t)c->kind << 48 | (uint64_t)(uint32_t)(c->class_id + 1) << 32 |
                    c->stack_id) + 1;
    uint64_t *index = u64map_slot(&p->corruption_group_by_key, key);
    if (index == NULL)
        return;
    if (*index == 0) {
        if (!ingest_reserve((void **)&p->corruption_groups, &p->corruption_group_cap,
                            p->corruption_group_count, sizeof *p->corruption_groups))
            return;
        p->corruption_groups[p->corruption_group_count] = (struct corruption_group){
            .kind = c->kind, .call = c->call, .class_id = c->class_id, .stack_id = c->stack_id,
            .first_ns = c->ts_ns, .first_address = c->address};
        *index = ++p->corruption_group_count;
    }
    struct corruption_group *g = &p->corruption_groups[*index - 1];
    g->events++;
    g->stored += stored;
    if (c->ts_ns < g->first_ns) { /* rings are drained in no set order */
        g->first_ns = c->ts_ns;
        g->first_address = c->address;
    }
    if (c->ts_ns >= g->last_ns) {
        g->last_ns = c->ts_ns;
        g->last_address = c->address;
    }
    g->dirty = true;
}

static void ingest_corruption(struct proc_state *p, size_t thread, const record_t *head,
                              const record_t *payload, size_t payload_records)
{
    /* The fixed part and both names must lie within the frame. */
    record_corruption_t body;
    if (payload_records * RECORD_BYTES < sizeof body || !ingest_payload_fits(head, payload_records))
        return;
    memcpy(&body, payload, sizeof body);
    size_t names = (size_t)body.kind_bytes + body.call_bytes;
    if (body.kind_bytes == 0 || head->payload_bytes != sizeof body + names)
        return;
    const char *text = (const char *)(const void *)payload + sizeof body;
    struct corruption_state c = {
        .thread_id = p->threads[thread].tid, .ts_ns = head->ts_ns, .address = head->addr,
        .kind = ingest_corruption_name(p, text, body.kind_bytes),
        .call = ingest_corruption_name(p, text + body.kind_bytes, body.call_bytes),
        .class_id = head->class_index < p->class_count ? head->class_index : -1,
        .stack_id = ingest_canonical(p, head->stack_id)};
    if (head->flags & RECORD_FLAG_HEADER) {
        c.has_header = true;
        memcpy(c.header, body.header, sizeof c.header);
    }
    if (c.has_header || body.alloc_tid != 0 || body.alloc_stack_id != 0) {
        c.has_alloc = true;
        c.alloc_thread_id = body.alloc_tid; /* as the header (or the allocator) said */
        c.alloc_stack_id = ingest_canonical(p, body.alloc_stack_id);
    }
    p->corruption_events++;
    bool stored = p->corruption_count < STATE_CORRUPTION_EVENTS_MAX &&
                  ingest_reserve((void **)&p->corruptions, &p->corruption_cap, p->corruption_count,
                                 sizeof *p->corruptions);
    if (stored)
        p->corruptions[p->corruption_count++] = c;
    else
        p->corruption_aggregated++;
    ingest_corruption_group(p, &c, stored);
}

static void ingest_name(struct thread_state *t, const record_t *payload, size_t payload_records)
{
    if (payload_records == 0)
        return;
    memcpy(t->name, payload, 16);
    t->name[16] = '\0';
    t->dirty = true;
}

/* One framed event; `pairing` says how the batch pairs it (INGEST_*, or
 * for a FREE the records back to its ALLOC). */
static void ingest_frame(struct proc_state *p, size_t thread, const record_t *recs, size_t n,
                         unsigned pairing)
{
    const record_t *r = &recs[0];
    const record_t *payload = n > 1 ? &recs[1] : NULL;
    size_t payload_records = n - 1;
    struct thread_state *t = &p->threads[thread];
    p->records += n;
    t->records += n;
    if (r->ts_ns > p->last_ts)
        p->last_ts = r->ts_ns;
    unsigned cls = ingest_class(p, r->class_index);
    struct class_state *c = &p->classes[cls];
    struct class_state *large = &p->classes[state_large(p)];
    switch (r->kind) {
    case RECORD_ALLOC: {
        uint64_t usable = state_class_payload(p, cls);
        if (cls == state_large(p)) {
            record_alloc_large_t large = {0};
            if (payload_records >= 1)
                memcpy(&large, payload, sizeof large);
            usable = large.usable_bytes != 0 ? large.usable_bytes : r->size_bytes;
        }
        ingest_alloc(p, thread, r->addr, r->ts_ns, cls, r->size_bytes, usable, r->stack_id,
                     (r->flags & RECORD_FLAG_SAMPLED) != 0, record_entry(r->flags),
                     pairing == INGEST_FREED_LATER);
        break;
    }
    case RECORD_FREE:
        if (pairing != INGEST_UNPAIRED && pairing != INGEST_FREED_LATER)
            ingest_free_paired(p, thread, r, r - pairing);
        else
            ingest_free(p, thread, r->addr, r->alloc_ts_ns, cls, r->ts_ns);
        break;
    case RECORD_REALLOC: {
        if (payload_records < 1)
            break;
        record_realloc_from_t from;
        memcpy(&from, payload, sizeof from);
        unsigned old_cls = ingest_class(p, from.old_class_index);
        ingest_free(p, thread, from.old_addr, from.old_alloc_ts_ns, old_cls, r->ts_ns);
        uint64_t usable =
            cls == state_large(p) ? from.new_usable_bytes : state_class_payload(p, cls);
        ingest_alloc(p, thread, r->addr, r->ts_ns, cls, r->size_bytes, usable, r->stack_id,
                     (r->flags & RECORD_FLAG_SAMPLED) != 0,
                     (r->flags & RECORD_FLAG_IN_PLACE) ? STATE_CALL_REALLOC_IN_PLACE
                                                       : STATE_CALL_REALLOC_MOVED,
                     false);
        if (r->flags & RECORD_FLAG_IN_PLACE)
            p->classes[cls].reallocs_in_place++;
        break;
    }
    case RECORD_CORRUPTION:
        ingest_corruption(p, thread, r, payload, payload_records);
        break;
    case RECORD_CACHE_REFILL:
        if (r->addr != RECORD_REFILL_SNAPSHOT) {
            c->refills++;
            c->refill_blocks += r->count;
        }
        ingest_gauge_add(&c->cached, &c->cached_owed, r->count);
        if (r->addr == RECORD_REFILL_FROM_POOL)
            ingest_gauge_take(&c->pooled, &c->pooled_owed, r->count);
        c->dirty = c->series_dirty = true;
        break;
    case RECORD_CACHE_DRAIN:
        if (r->addr != RECORD_REFILL_SNAPSHOT) {
            c->drains++;
            c->drain_blocks += r->count;
            ingest_gauge_take(&c->cached, &c->cached_owed, r->count);
        }
        ingest_gauge_add(&c->pooled, &c->pooled_owed, r->count);
        c->dirty = c->series_dirty = true;
        break;
    case RECORD_ARENA_CARVE:
        if (r->addr != RECORD_REFILL_SNAPSHOT)
            c->carves++;
        c->carved_blocks += r->count;
        c->dirty = c->series_dirty = true;
        break;
    case RECORD_LARGE_MAP:
        large->large_maps++;
        large->large_mapped += r->size_bytes;
        large->dirty = true;
        break;
    case RECORD_LARGE_UNMAP:
        large->large_unmaps++;
        large->large_unmapped += r->size_bytes;
        large->dirty = true;
        break;
    case RECORD_OS_RELEASE:
        c->os_released += r->size_bytes;
        c->dirty = true;
        break;
    case RECORD_THREAD_START:
        ingest_name(t, payload, payload_records);
        /* The thread's own start time, unless its row went out under the
         * time its ring was first seen (a commit between the two): the
         * row's key must not change, or the thread would have two. */
        if (!t->row_written)
            t->start_ns = r->ts_ns;
        break;
    case RECORD_THREAD_EXIT:
        ingest_name(t, payload, payload_records);
        t->end_ns = r->ts_ns;
        break;
    case RECORD_MODULE_LOAD:
        if (payload != NULL)
            ingest_module(p, r, payload, payload_records);
        break;
    case RECORD_STACK_DEF:
        if (payload != NULL)
            ingest_stack_def(p, r, payload, payload_records);
        break;
    case RECORD_DROPPED:
        break; /* the collector reads the ring's exact drop counter instead */
    default:
        break;
    }
}

void state_ingest(struct proc_state *p, size_t thread, const record_t *recs, size_t n)
{
    ingest_frame(p, thread, recs, n, INGEST_UNPAIRED);
}

/* Records a batch is paired and then counted by at a time: the pairing
 * pass and the counting pass then read them from the L1 cache, where a
 * pass over a whole batch (128 KiB) read it from L2 twice and took back
 * half of what pairing saved. A pair split by a chunk's end is counted
 * through the table, as before. */
#define INGEST_CHUNK 512u

/* Marks, in pairing[], each FREE of the frames that start in
 * recs[0..want) whose ALLOC is one of the INGEST_PAIR_WINDOW latest ALLOCs
 * before it, and that ALLOC: the same block, time and class, both single
 * records of a size class (the thread is the batch's). Returns the
 * records the frames span (the last frame may end past want, never past
 * count). */
static size_t ingest_pair_chunk(const struct proc_state *p, const record_t *recs, size_t want,
                                size_t count, uint16_t *pairing)
{
    struct {
        uint64_t addr, ts;
        size_t at;
        unsigned cls;
    } recent[INGEST_PAIR_WINDOW];
    unsigned seen = 0; /* ALLOCs put in recent, the latest at (seen - 1) % window */
    size_t i = 0;
    for (; i < want && i < count; i += 1 + (size_t)recs[i].payload_records) {
        const record_t *r = &recs[i];
        /* Every record of the frame: the prefetch reads a continuation's. */
        for (size_t j = i; j <= i + r->payload_records && j < count; j++)
            pairing[j] = INGEST_UNPAIRED;
        if (r->kind == RECORD_STACK_DEF) {
            /* An ALLOC's stack id is made canonical when it is counted,
             * its FREE's when that is: no pair spans a definition. */
            seen = 0;
            continue;
        }
        if (r->payload_records != 0 || r->class_index >= p->class_count)
            continue;
        if (r->kind == RECORD_ALLOC) {
            if (!liveset_address_ok(r->addr))
                continue; /* one the live set refuses is never counted */
            unsigned k = seen++ % INGEST_PAIR_WINDOW;
            recent[k].addr = r->addr;
            recent[k].ts = r->ts_ns;
            recent[k].at = i;
            recent[k].cls = r->class_index;
            continue;
        }
        if (r->kind != RECORD_FREE)
            continue;
        unsigned look = seen < INGEST_PAIR_WINDOW ? seen : INGEST_PAIR_WINDOW;
        for (unsigned k = 1; k <= look; k++) {
            unsigned slot = (seen - k) % INGEST_PAIR_WINDOW;
            if (recent[slot].addr == r->addr && recent[slot].ts == r->alloc_ts_ns &&
                recent[slot].cls == r->class_index && pairing[recent[slot].at] == INGEST_UNPAIRED) {
                pairing[recent[slot].at] = INGEST_FREED_LATER;
                pairing[i] = (uint16_t)(i - recent[slot].at);
                break;
            }
        }
    }
    return i < count ? i : count;
}

/* Records between a live-table prefetch and its use. A replay of
 * python3's 20 M records through the table: 20-30% less time at this
 * distance, 8 or less gained little. */
#define INGEST_PREFETCH_AHEAD 24u

uint64_t state_ingest_batch(struct proc_state *p, size_t thread, const record_t *recs, size_t count)
{
    uint16_t pairing[INGEST_CHUNK + RECORD_PAYLOAD_RECORDS_MAX + 1];
    uint64_t newest = 0;
    for (size_t start = 0; start < count;) {
        const record_t *chunk = &recs[start];
        size_t left = count - start;
        size_t end = ingest_pair_chunk(p, chunk, INGEST_CHUNK, left, pairing);
        for (size_t i = 0; i < end;) {
            size_t n = 1 + (size_t)chunk[i].payload_records;
            if (i + n > left)
                return newest; /* a frame cut short: a batch never splits one */
            /* The live-table slot of a record further on, loaded while
             * this one is counted; paired records never touch the table
             * (past the chunk it is not known yet: loaded anyway). A
             * continuation's address is noise: a wasted hint at worst. */
            size_t ahead = i + INGEST_PREFETCH_AHEAD;
            if (ahead < left && (ahead >= end || pairing[ahead] == INGEST_UNPAIRED))
                liveset_prefetch(&p->live, chunk[ahead].addr);
            ingest_frame(p, thread, &chunk[i], n, pairing[i]);
            newest = chunk[i].ts_ns; /* a head's time; continuations carry none */
            i += n;
        }
        start += end;
    }
    return newest;
}

void state_settle(struct proc_state *p)
{
    p->untracked_frees += liveset_drop_pending(&p->live);
}

static const char *const ingest_call_names[STATE_CALLS] = {
#define INGEST_CALL_NAME(name, text) text,
    STATE_CALL_LIST(INGEST_CALL_NAME)
#undef INGEST_CALL_NAME
};

const char *state_call_name(unsigned call)
{
    return call < STATE_CALLS ? ingest_call_names[call] : "unknown";
}

const char *state_corruption_name(const struct proc_state *p, unsigned name)
{
    return name < p->corruption_name_count ? p->corruption_names[name] : "unknown";
}

void state_live_each(const struct proc_state *p, void (*fn)(const struct live_entry *e, void *arg),
                     void *arg)
{
    liveset_each(&p->live, fn, arg);
}

uint64_t state_size_count(const struct proc_state *p, uint64_t requested)
{
    if (requested < STATE_DENSE_SIZES)
        return p->dense_sizes[requested];
    const uint64_t *count = u64map_find(&p->sizes, requested + 1);
    return count != NULL ? *count : 0;
}

struct ingest_sizes_each {
    void (*fn)(uint64_t requested, uint64_t count, void *arg);
    void *arg;
};

static void ingest_size_entry(uint64_t key, uint64_t value, void *arg)
{
    struct ingest_sizes_each *each = arg;
    each->fn(key - 1, value, each->arg);
}

void state_sizes_each(const struct proc_state *p,
                      void (*fn)(uint64_t requested, uint64_t count, void *arg), void *arg)
{
    for (uint64_t size = 0; size < STATE_DENSE_SIZES; size++)
        if (p->dense_sizes[size] != 0)
            fn(size, p->dense_sizes[size], arg);
    struct ingest_sizes_each each = {fn, arg};
    u64map_each(&p->sizes, ingest_size_entry, &each);
}
