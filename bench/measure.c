/* measure.c - the out-of-line half of measure.h: the volatile sink that
 * results are folded into (owned here, added to by any thread, never read:
 * it only defeats dead-code elimination) and the peak RSS probe.
 * Peak RSS comes from VmHWM in /proc/self/status, read into a stack buffer
 * (no malloc, so reading it does not disturb the allocator measured).
 * getrusage's ru_maxrss is only the fallback: Linux carries it across
 * execve, so a process started by a big parent (Python's subprocess forks
 * the interpreter, then execs) would report the parent's peak instead. */
#include "measure.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Enough for all of /proc/self/status (about 1.5 KiB on current kernels). */
#define MEASURE_STATUS_BYTES 8192

/* Where workloads drop values so the compiler must compute them. Atomic
 * because consumer threads of different pairs add to it at once; called
 * once per run, never inside a timed loop, so the locked add costs nothing. */
static _Atomic uint64_t measure_sink;

void measure_consume(uint64_t value)
{
    atomic_fetch_add_explicit(&measure_sink, value, memory_order_relaxed);
}

/* VmHWM of this process in KiB, or -1 if /proc is not readable. */
static long measure_vm_hwm_kib(void)
{
    char text[MEASURE_STATUS_BYTES];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t used = 0;
    ssize_t got;
    while (used < sizeof text - 1 && (got = read(fd, text + used, sizeof text - 1 - used)) > 0)
        used += (size_t)got;
    close(fd);
    text[used] = '\0';
    const char *field = strstr(text, "\nVmHWM:");
    if (field == NULL)
        return -1;
    return strtol(field + strlen("\nVmHWM:"), NULL, 10); /* the kernel writes "NNN kB" */
}

long measure_peak_rss_kib(void)
{
    long hwm_kib = measure_vm_hwm_kib();
    if (hwm_kib >= 0)
        return hwm_kib;
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return 0;
    return usage.ru_maxrss; /* Linux reports KiB */
}
