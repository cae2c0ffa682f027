/* collector.h - the collector's main loop (collector.c): accepts process
 * images registering their shared segments, drains every thread's ring,
 * feeds records to state.h, writes the database through db.h at a fixed
 * interval, answers exit handshakes, finalizes images whose process ended
 * (exit, exec, crash or SIGKILL alike: the rings outlive the process), and
 * returns once every image of the tree has ended. */
#ifndef ORTHO_COLLECTOR_COLLECTOR_H
#define ORTHO_COLLECTOR_COLLECTOR_H

#include <stdint.h>

struct db;

struct collector_config {
    int listen_fd;        /* bound, listening, non-blocking SOCK_SEQPACKET */
    struct db *db;
    unsigned interval_ms; /* time-series and commit interval */
    int root_pidfd;       /* the process that started us, or -1: while no image
                           * has registered, its exit ends the collector */
};

/* Runs until the traced tree is done; returns 0. */
int collector_run(const struct collector_config *config);

#endif
