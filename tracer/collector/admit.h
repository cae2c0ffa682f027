/* admit.h - who may hand the collector a segment (admit.c). The listening
 * socket has an abstract name every local user can see and connect to, so
 * each connection is checked before the collector reads a byte from it:
 * the peer must run as the collector's own user (SO_PEERCRED), must send
 * its registration within ADMIT_HELLO_NS, must register itself (the pid in
 * the message is the kernel's pid of the sender), and must pass a memfd
 * sealed against shrinking and growing whose header describes exactly the
 * memory behind it. Everything else is refused - counted in health.h, the
 * connection closed - and never waited for: every socket is non-blocking
 * and the collector's loop keeps draining while a peer dawdles. */
#ifndef ORTHO_COLLECTOR_ADMIT_H
#define ORTHO_COLLECTOR_ADMIT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health.h"
#include "segment.h"

#define ADMIT_PENDING_MAX 32              /* connections waiting for their hello at once */
#define ADMIT_ACCEPTS_PER_PASS 64         /* so a flood of connections cannot starve draining */
#define ADMIT_HELLO_NS 1000000000ull      /* a connection's deadline to send its hello */

struct admit_pending {
    int fd;                 /* non-blocking connection */
    uint32_t pid, uid;      /* the peer, from SO_PEERCRED */
    uint64_t deadline_ns;   /* CLOCK_MONOTONIC */
};

struct admit {
    int listen_fd;          /* bound, listening, non-blocking */
    uint32_t uid;           /* the collector's effective user: the only one admitted */
    struct health *health;  /* where refusals are counted */
    struct admit_pending pending[ADMIT_PENDING_MAX];
    size_t pending_count;
    bool backlog_empty;     /* the last admit_accept found no connection left waiting */
};

/* A registration that passed every check: the segment is mapped. The
 * caller adds the image, then answers with admit_reply. */
struct admitted {
    int fd;                  /* the connection */
    uint32_t pid;            /* the registering process, as the kernel names it */
    segment_t *seg;          /* the shared mapping of geo.total_bytes */
    segment_t head;          /* the header as it was when checked: read nothing else */
    segment_geometry_t geo;  /* from head */
};

void admit_init(struct admit *a, int listen_fd, uint32_t uid, struct health *health);

/* Accepts what is waiting (at most ADMIT_ACCEPTS_PER_PASS, and no more
 * than there are pending places: the others wait in the listen backlog):
 * refuses other users at once and keeps the rest pending until their hello
 * or deadline. */
void admit_accept(struct admit *a, uint64_t now_ns);

/* Reads the pending connections without waiting; refuses the ones past
 * their deadline or with a bad registration. true: *out holds the next
 * good one (call again for more). */
bool admit_next(struct admit *a, uint64_t now_ns, struct admitted *out);

/* Whether every connection made before the last admit_accept has been
 * read: the backlog was empty then and none is pending. A process that
 * registered and then died is then known to the caller. */
bool admit_caught_up(const struct admit *a);

/* Answers r (ack: the collector's pid; 0: refused, which also unmaps the
 * segment) and closes its connection. Never blocks. */
void admit_reply(struct admitted *r, uint32_t ack);

/* The descriptors a wait should wake on (the listener unless every
 * pending place is taken, then the pending connections), at most cap;
 * returns how many were filled. */
size_t admit_pollfds(const struct admit *a, struct pollfd *fds, size_t cap);

/* Closes the pending connections. */
void admit_close(struct admit *a);

#endif
