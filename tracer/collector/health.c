/* health.c - see health.h. A small array searched linearly: its rows are
 * bounded by kinds x users for refusals and by images for overwritten
 * segments (one each at most), and a refusal is rare. Lines go to the
 * collector's stderr, which is the traced program's: capped at
 * HEALTH_MAX_LINES, then one notice. */
#include "health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEALTH_MAX_LINES 8

static const char *const health_names[HEALTH_KIND_COUNT] = {
    [HEALTH_OTHER_USER] = "other_user",
    [HEALTH_FORGED_PID] = "forged_pid",
    [HEALTH_SILENT] = "silent_connection",
    [HEALTH_BAD_HELLO] = "bad_registration",
    [HEALTH_UNSEALED] = "unsealed_segment",
    [HEALTH_BAD_SEGMENT] = "bad_segment",
    [HEALTH_BUSY] = "too_many_connections",
    [HEALTH_OVERWRITTEN] = "segment_overwritten",
    [HEALTH_SYMBOLS_NO_FDS] = "symbols_without_fds",
};

const char *health_kind_name(enum health_kind kind)
{
    return kind < HEALTH_KIND_COUNT ? health_names[kind] : "unknown";
}

static uint64_t health_now_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void health_say(struct health *h, enum health_kind kind, uint32_t uid, uint32_t pid,
                       const char *detail)
{
    if (h->lines > HEALTH_MAX_LINES)
        return;
    if (h->lines++ == HEALTH_MAX_LINES) {
        fprintf(stderr, "ortho-collector: more refusals and damaged segments are only counted, "
                        "in the database's trace_health view\n");
        return;
    }
    if (kind == HEALTH_SYMBOLS_NO_FDS)
        fprintf(stderr,
                "ortho-collector: process %u: %s; raise the open file limit (ulimit -n); see "
                "trace_health\n",
                pid, detail);
    else if (kind == HEALTH_OVERWRITTEN)
        fprintf(stderr,
                "ortho-collector: process %u overwrote its own trace segment (%s); the collector "
                "stopped reading it, so its records from then on are lost; see trace_health\n",
                pid, detail);
    else
        fprintf(stderr,
                "ortho-collector: refused a connection from process %u (uid %u): %s; the traced "
                "programs are unaffected, and this is counted in trace_health (%s)\n",
                pid, uid, detail, health_kind_name(kind));
}

void health_note(struct health *h, enum health_kind kind, uint32_t uid, uint32_t pid,
                 int64_t process_id, const char *detail)
{
    uint64_t now = health_now_unix_ns();
    for (size_t i = 0; i < h->count; i++) {
        struct health_event *e = &h->events[i];
        if (e->kind == kind && e->uid == uid && e->process_id == process_id) {
            e->count++;
            e->pid = pid;
            e->last_unix_ns = now;
            e->dirty = true;
            return;
        }
    }
    health_say(h, kind, uid, pid, detail);
    if (h->count == h->cap) {
        size_t cap = h->cap * 2 + 8;
        struct health_event *grown = realloc(h->events, cap * sizeof *grown);
        if (grown == NULL)
            return;
        h->events = grown;
        h->cap = cap;
    }
    struct health_event *e = &h->events[h->count++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->uid = uid;
    e->pid = pid;
    e->process_id = process_id;
    e->count = 1;
    e->first_unix_ns = e->last_unix_ns = now;
    snprintf(e->detail, sizeof e->detail, "%s", detail);
    e->dirty = true;
}

void health_free(struct health *h)
{
    free(h->events);
    memset(h, 0, sizeof *h);
}
