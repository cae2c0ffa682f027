/* launch.h - starting the collector and registering a segment with it (see
 * launch.c). Producer side; no malloc. */
#ifndef ORTHO_TRACER_LAUNCH_H
#define ORTHO_TRACER_LAUNCH_H

#include <stdbool.h>
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

/* Sends the segment's memfd to the collector listening at sock_name and
 * waits for its ack. 0 and *collector_pid set, or an errno value (EPERM:
 * the listener is not of this process's user; nothing was sent). */
int launch_register(const char *sock_name, int memfd, uint64_t seg_bytes, uint32_t *collector_pid);

#endif
