/* launch.h - starting the collector and registering a segment with it (see
 * launch.c). Producer side; no malloc. */
#ifndef ORTHO_TRACER_LAUNCH_H
#define ORTHO_TRACER_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

struct launch_request {
    const char *collector_path; /* program to start */
    const char *db_path;        /* database the collector writes */
    unsigned mode;              /* SEGMENT_MODE_* */
    unsigned interval_ms;       /* time-series interval */
};

/* Prints "orthotope: tracing off: <what><subject> (<strerror(err)>);
 * <advice>; the program runs untraced" as one line; subject, err (0) and
 * advice may be left out. */
void launch_report_off(const char *what, const char *subject, int err, const char *advice);

/* The exported symbol (a const int) that marks a program as one that must
 * never be traced, whatever its environment says: ortho-collector and
 * ortho-run define it (linked with --export-dynamic-symbol), so a library
 * loaded into them (/etc/ld.so.preload, a wrapper's LD_PRELOAD) stays off. */
#define ORTHO_NEVER_TRACE_SYMBOL "ortho_never_trace"

/* Whether this program exports ORTHO_NEVER_TRACE_SYMBOL. */
bool launch_never_trace(void);

/* Path of the collector: `configured` if set, else next to this library
 * (build tree) or in ../libexec/orthotope (install). false: not found (path
 * then holds the install location that was expected). */
bool launch_find_collector(const char *configured, char *path, size_t cap);

/* Starts a collector and waits until it is ready; writes the socket name
 * (for ORTHO_TRACE_SOCK) to sock_name. false: it could not start; one line
 * was printed (by us or by the collector). */
bool launch_collector(const struct launch_request *req, char *sock_name, size_t sock_cap);

/* Whether the collector at sock_name (a name launch_collector made:
 * orthotope-PID-NS) was started by process `pid`: an image that finds it
 * so is the tree's first process after an exec (env, a shell's exec,
 * pyenv's shims), not a child. A name of another form says no. */
bool launch_started_by(const char *sock_name, uint32_t pid);

/* Sends the segment's memfd to the collector listening at sock_name and
 * waits for its ack. 0 and *collector_pid set, or an errno value (EPERM:
 * the listener is not of this process's user; nothing was sent). */
int launch_register(const char *sock_name, int memfd, uint64_t seg_bytes, uint32_t *collector_pid);

/* launch_register in two halves, for a process that goes on while the
 * collector registers it (the collector reads a segment whenever it gets
 * to it; nothing needs the answer before the process waits on the
 * collector for something else). */
#define LAUNCH_PENDING_FD_MIN 512 /* where the kept socket is moved, if the limit allows */
struct launch_pending {
    int fd;    /* the socket, -1: none */
    dev_t dev; /* which file that descriptor was */
    ino_t ino;
};
/* Connects, checks the listener's user and sends; 0 and *out to answer
 * later, or an errno value as launch_register's. */
int launch_register_send(const char *sock_name, int memfd, uint64_t seg_bytes,
                         struct launch_pending *out);
/* Reads the answer (wait: up to the socket's 10 s timeout; else EAGAIN
 * while none has come) and closes the socket: 0 and *collector_pid, or an
 * errno value (ECONNREFUSED: refused). EBADF: the program closed the
 * descriptor, or reused its number; the answer is lost (nothing is closed
 * that is not ours). */
int launch_register_answer(struct launch_pending *p, bool wait, uint32_t *collector_pid);
/* Closes p's socket if it is still ours, unread (a fork child's copy of
 * its parent's). */
void launch_register_forget(struct launch_pending *p);

#endif
