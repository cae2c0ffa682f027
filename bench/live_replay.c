/* live_replay.c - live-replay: the collector's live table alone, fed a
 * real program's allocations. It reads the allocations table of a trace
 * database made with `ortho-run --full` (every allocation, its address,
 * its time and its free's time), puts the allocations and frees of one
 * process back in time order, and runs them through the collector's own
 * live set (liveset.c over tables.c, linked from ortho_collector_core)
 * the way ingest does: each ALLOC inserted, each FREE looked up and taken
 * out, the slot of the record 24 ahead prefetched. It prints the time per
 * record over the whole replay and over its last records (a program's
 * frees at exit are a burst the collector must keep up with), the median
 * of three replays in fresh tables. This is how a change to the table's
 * layout is judged without the noise of a whole traced run: the figures
 * in tables.c and bench/README.md come from it.
 *
 * Usage: live-replay DB [PROCESS_ID [TAIL_RECORDS]]
 *   PROCESS_ID defaults to 1 (a tree's first process), TAIL_RECORDS to
 *   1,200,000 (jq's frees at its end). */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveset.h"
#include "measure.h"

#define REPLAY_PREFETCH_AHEAD 24u /* as INGEST_PREFETCH_AHEAD in ingest.c */
#define REPLAY_ROUNDS 3

struct replay_event {
    uint64_t ts;         /* when it happened: the ALLOC's or the FREE's time */
    uint64_t addr;
    uint64_t alloc_ts;   /* the allocation's time: with addr, the table's key */
    uint64_t requested;
    uint64_t usable;
    uint8_t class_id;
    uint8_t is_free;
};

struct replay {
    struct replay_event *events;
    size_t count, cap;
    uint64_t payload[CLASS_TABLE_MAX];
    unsigned classes;
};

static int replay_by_time(const void *a, const void *b)
{
    const struct replay_event *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (int)x->is_free - (int)y->is_free; /* an ALLOC before a FREE of the same time */
}

static int replay_push(struct replay *r, struct replay_event e)
{
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1u << 20;
        struct replay_event *grown = realloc(r->events, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        r->events = grown;
        r->cap = cap;
    }
    r->events[r->count++] = e;
    return 0;
}

/* Reads the process's size classes and allocations; 0 on success. */
static int replay_load(struct replay *r, const char *path, int64_t process_id)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "live-replay: cannot open %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    int rc = sqlite3_prepare_v2(db,
                                "SELECT class_id, payload_size FROM classes WHERE process_id = ?1 "
                                "AND payload_size IS NOT NULL ORDER BY class_id",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, process_id);
        while (sqlite3_step(st) == SQLITE_ROW && r->classes < CLASS_TABLE_MAX)
            r->payload[r->classes++] = (uint64_t)sqlite3_column_int64(st, 1);
        sqlite3_finalize(st);
        rc = sqlite3_prepare_v2(db,
                                "SELECT address, alloc_ns, free_ns, requested_size, usable_size, "
                                "class_id FROM allocations WHERE process_id = ?1",
                                -1, &st, NULL);
    }
    if (rc != SQLITE_OK) {
        fprintf(stderr, "live-replay: %s is not a trace database with an allocations table: %s\n",
                path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_bind_int64(st, 1, process_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct replay_event e = {.addr = (uint64_t)sqlite3_column_int64(st, 0),
                                 .alloc_ts = (uint64_t)sqlite3_column_int64(st, 1),
                                 .requested = (uint64_t)sqlite3_column_int64(st, 3),
                                 .usable = (uint64_t)sqlite3_column_int64(st, 4),
                                 .class_id = (uint8_t)sqlite3_column_int(st, 5)};
        e.ts = e.alloc_ts;
        if (!liveset_address_ok(e.addr) || replay_push(r, e) != 0)
            continue;
        if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
            e.ts = (uint64_t)sqlite3_column_int64(st, 2);
            e.is_free = 1;
            if (replay_push(r, e) != 0)
                break;
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "live-replay: reading %s failed (out of memory?)\n", path);
        return -1;
    }
    if (r->count == 0) {
        fprintf(stderr, "live-replay: process %lld of %s has no allocation rows; trace it with "
                        "ortho-run --full\n", (long long)process_id, path);
        return -1;
    }
    qsort(r->events, r->count, sizeof *r->events, replay_by_time);
    return 0;
}

/* One replay in a fresh table: nanoseconds for all events and for the
 * tail from event `tail_from` on; -1 in all if a FREE found no
 * allocation. */
static void replay_once(const struct replay *r, size_t tail_from, double *all, double *tail)
{
    struct liveset s;
    liveset_init(&s);
    liveset_set_classes(&s, r->payload, r->classes);
    uint64_t start = measure_now_ns(), tail_start = start;
    for (size_t i = 0; i < r->count; i++) {
        const struct replay_event *e = &r->events[i];
        if (i == tail_from)
            tail_start = measure_now_ns();
        if (i + REPLAY_PREFETCH_AHEAD < r->count)
            liveset_prefetch(&s, r->events[i + REPLAY_PREFETCH_AHEAD].addr);
        if (!e->is_free) {
            struct live_entry le = {.addr = e->addr, .alloc_ts = e->alloc_ts,
                                    .requested = e->requested, .usable = e->usable,
                                    .class_id = e->class_id};
            liveset_put(&s, &le);
        } else {
            struct live_entry out;
            if (!liveset_take(&s, e->addr, e->alloc_ts, false, &out)) {
                *all = *tail = -1;
                liveset_free(&s);
                return;
            }
        }
    }
    uint64_t end = measure_now_ns();
    *all = (double)(end - start);
    *tail = (double)(end - tail_start);
    liveset_free(&s);
}

static int replay_by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: live-replay DB [PROCESS_ID [TAIL_RECORDS]]\n");
        return 2;
    }
    int64_t process_id = argc > 2 ? strtoll(argv[2], NULL, 10) : 1;
    size_t tail = argc > 3 ? (size_t)strtoull(argv[3], NULL, 10) : 1200000;
    struct replay r = {0};
    if (replay_load(&r, argv[1], process_id) != 0)
        return 1;
    if (tail > r.count)
        tail = r.count;
    double all[REPLAY_ROUNDS], last[REPLAY_ROUNDS];
    for (int k = 0; k < REPLAY_ROUNDS; k++) {
        replay_once(&r, r.count - tail, &all[k], &last[k]);
        if (all[k] < 0) {
            fprintf(stderr, "live-replay: a free found no allocation: the rows are not one "
                            "process's complete trace\n");
            return 1;
        }
    }
    qsort(all, REPLAY_ROUNDS, sizeof *all, replay_by_value);
    qsort(last, REPLAY_ROUNDS, sizeof *last, replay_by_value);
    printf("records %zu: %.1f ns a record; last %zu: %.1f ns a record (median of %d replays)\n",
           r.count, all[REPLAY_ROUNDS / 2] / (double)r.count, tail,
           last[REPLAY_ROUNDS / 2] / (double)(tail ? tail : 1), REPLAY_ROUNDS);
    free(r.events);
    return 0;
}
