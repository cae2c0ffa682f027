/* health.h - what the collector refused or gave up on (health.c): a
 * connection from another user, a registration in another process's name,
 * a connection that said nothing, a segment it could not trust, a traced
 * process whose segment was overwritten, frames it could not name for lack
 * of file descriptors. Each is counted under (kind, user,
 * process) - so a flood of refusals costs one row and one line, not one
 * per connection - printed as one line on stderr the first time, and
 * written by db.c to the health_events table that view trace_health shows.
 * Collector thread only. */
#ifndef ORTHO_COLLECTOR_HEALTH_H
#define ORTHO_COLLECTOR_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum health_kind {
    HEALTH_OTHER_USER,     /* a connection from a process of another user */
    HEALTH_FORGED_PID,     /* a registration naming a process other than the sender */
    HEALTH_SILENT,         /* connected and sent nothing within the deadline */
    HEALTH_BAD_HELLO,      /* not a registration this version understands */
    HEALTH_UNSEALED,       /* a segment not sealed against shrinking and growing */
    HEALTH_BAD_SEGMENT,    /* a segment whose header does not describe its memory */
    HEALTH_BUSY,           /* no longer noted (extra connections now wait in the listen
                            * backlog); its name stays readable in older databases */
    HEALTH_OVERWRITTEN,    /* a traced process's segment changed under the collector */
    HEALTH_SYMBOLS_NO_FDS, /* stack frames named without their module's file: no descriptor */
    HEALTH_KIND_COUNT
};

struct health_event {
    enum health_kind kind;
    uint32_t uid;            /* the peer's (effective) user */
    uint32_t pid;            /* the peer process, the latest one */
    int64_t process_id;      /* processes row, HEALTH_OVERWRITTEN and
                              * HEALTH_SYMBOLS_NO_FDS only; else 0 */
    uint64_t count;          /* times it happened */
    uint64_t first_unix_ns, last_unix_ns; /* CLOCK_REALTIME */
    char detail[192];        /* what exactly, from the first time */
    bool dirty;              /* changed since db.c last wrote it */
};

struct health {
    struct health_event *events;
    size_t count, cap;
    unsigned lines;          /* lines printed so far (capped) */
};

/* The name stored in the database for a kind ("other_user", ...). */
const char *health_kind_name(enum health_kind kind);

/* Counts one occurrence; the first of its (kind, uid, process_id) prints
 * one line naming pid and detail. Out of memory: the line is still
 * printed, the count is lost. */
void health_note(struct health *h, enum health_kind kind, uint32_t uid, uint32_t pid,
                 int64_t process_id, const char *detail);

void health_free(struct health *h);

#endif
