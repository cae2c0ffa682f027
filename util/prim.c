/* prim.c - Linux implementation of prim.h: mmap/mprotect/madvise for memory,
 * gettid and clock_gettime, write(2) for diagnostics, a walk of environ for
 * the environment and the auxiliary vector for secure execution. Owns only
 * the page-size cache and the test fault counter; both are atomics so any
 * thread may call in at any time. */
#define _GNU_SOURCE
#include "prim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static atomic_size_t prim_page_bytes;    /* cached sysconf(_SC_PAGESIZE) */
static atomic_uint prim_failing_maps;    /* test hook: maps left to fail */

size_t prim_page_size(void)
{
    size_t page = atomic_load_explicit(&prim_page_bytes, memory_order_relaxed);
    if (page == 0) {
        long value = sysconf(_SC_PAGESIZE);
        page = value > 0 ? (size_t)value : 4096;
        atomic_store_explicit(&prim_page_bytes, page, memory_order_relaxed);
    }
    return page;
}

void prim_fail_next_maps(unsigned count)
{
    atomic_store(&prim_failing_maps, count);
}

/* Consumes one injected failure if any is pending. */
static bool prim_injected_failure(void)
{
    unsigned left = atomic_load(&prim_failing_maps);
    while (left > 0) {
        if (atomic_compare_exchange_weak(&prim_failing_maps, &left, left - 1))
            return true;
    }
    return false;
}

void *prim_reserve(size_t size)
{
    if (prim_injected_failure())
        return NULL;
    /* PROT_NONE + NORESERVE: costs address space only, so a large arena
     * reservation works under strict overcommit too. */
    void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *prim_reserve_huge(size_t size)
{
    /* Over-reserve by one huge page and trim both ends: the kernel only
     * aligns large anonymous mappings to 2 MiB itself since Linux 6.7. */
    if (size > SIZE_MAX - PRIM_HUGE_PAGE)
        return NULL;
    char *raw = prim_reserve(size + PRIM_HUGE_PAGE);
    if (raw == NULL)
        return NULL;
    uintptr_t start = ((uintptr_t)raw + PRIM_HUGE_PAGE - 1) & ~(uintptr_t)(PRIM_HUGE_PAGE - 1);
    size_t head = start - (uintptr_t)raw; /* below one huge page, so the tail is never empty */
    if (head > 0)
        prim_unmap(raw, head);
    prim_unmap((char *)start + size, PRIM_HUGE_PAGE - head);
    int saved = errno; /* EINVAL without THP in the kernel: 4 KiB pages, as without the hint */
    (void)madvise((void *)start, size, MADV_HUGEPAGE);
    errno = saved;
    return (void *)start;
}

bool prim_commit(void *p, size_t size)
{
    return mprotect(p, size, PROT_READ | PROT_WRITE) == 0;
}

bool prim_decommit(void *p, size_t size)
{
    int saved = errno;
    bool ok = mprotect(p, size, PROT_NONE) == 0;
    errno = saved;
    return ok;
}

void prim_release_pages(void *p, size_t size)
{
    /* Errors (EINVAL on a bad range) would be our bug; the memory simply
     * stays resident then, which is harmless. errno is preserved because
     * free() must not change it. */
    int saved = errno;
    (void)madvise(p, size, MADV_DONTNEED);
    errno = saved;
}

void *prim_map(size_t size)
{
    if (prim_injected_failure())
        return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void prim_unmap(void *p, size_t size)
{
    int saved = errno;
    (void)munmap(p, size);
    errno = saved;
}

uint32_t prim_thread_id(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

void prim_wait_while(const uint32_t *word, uint32_t expected, uint64_t timeout_ns, bool shared)
{
    int saved = errno;
    struct timespec limit = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
    syscall(SYS_futex, word, shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE, expected,
            timeout_ns != 0 ? &limit : NULL, NULL, 0);
    errno = saved;
}

void prim_wake_all(const uint32_t *word, bool shared)
{
    int saved = errno;
    syscall(SYS_futex, word, shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    errno = saved;
}

bool prim_thread_alive(uint32_t tid)
{
    int saved = errno;
    long rc = syscall(SYS_tgkill, (long)getpid(), (long)tid, 0L);
    bool alive = rc == 0 || errno != ESRCH;
    errno = saved;
    return alive;
}

uint64_t prim_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void prim_write_stderr(const char *buf, size_t len)
{
    int saved = errno;
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        buf += n;
        len -= (size_t)n;
    }
    errno = saved;
}

/* /proc/self/maps lines, "start-end perms offset dev inode   path", are
 * read a character at a time through this state, so no line needs to fit
 * a buffer (a path may be PATH_MAX long). */
struct prim_maps_scan {
    uintptr_t address;  /* wanted */
    uint64_t start, end; /* of the current line's range */
    unsigned field;     /* 0 start, 1 end, 2..5 perms offset dev inode, 6 path */
    bool in_field;      /* the last character was part of field 2..5 */
    size_t len;         /* path bytes copied (only for a matching line) */
    bool overflow;      /* the matching line's path did not fit */
};

static int prim_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Feeds one character; true once a matching line's path is complete. */
static bool prim_maps_feed(struct prim_maps_scan *m, char c, char *out, size_t cap)
{
    if (c == '\n') {
        bool done = m->field == 6 && m->len > 0 && !m->overflow && out[0] == '/';
        if (done)
            out[m->len] = '\0';
        *m = (struct prim_maps_scan){.address = m->address};
        return done;
    }
    bool inside = m->address >= m->start && m->address < m->end;
    if (m->field <= 1) {
        int digit = prim_hex_digit(c);
        uint64_t *bound = m->field == 0 ? &m->start : &m->end;
        if (digit >= 0)
            *bound = *bound << 4 | (uint64_t)digit;
        else
            m->field++, m->in_field = false; /* '-', then the space after end */
    } else if (m->field < 6) {
        if (c != ' ')
            m->in_field = true;
        else if (m->in_field)
            m->field++, m->in_field = false;
    } else if (inside && (m->len > 0 || c != ' ')) {
        /* The path, after the inode's padding; only the wanted line's. */
        if (m->len + 1 < cap)
            out[m->len++] = c;
        else
            m->overflow = true;
    }
    return false;
}

bool prim_mapped_path(uintptr_t address, char *out, size_t cap)
{
    int saved = errno;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    bool found = false;
    if (fd >= 0 && cap > 1) {
        struct prim_maps_scan scan = {.address = address};
        char buf[512];
        for (;;) {
            ssize_t got = read(fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                break;
            for (ssize_t i = 0; i < got && !found; i++)
                found = prim_maps_feed(&scan, buf[i], out, cap);
            if (found)
                break;
        }
    }
    if (fd >= 0)
        close(fd);
    errno = saved;
    return found;
}

const char *prim_getenv(const char *name)
{
    size_t name_len = strlen(name);
    if (environ == NULL)
        return NULL;
    for (char **entry = environ; *entry != NULL; entry++) {
        if (strncmp(*entry, name, name_len) == 0 && (*entry)[name_len] == '=')
            return *entry + name_len + 1;
    }
    return NULL;
}

bool prim_secure_execution(void)
{
    return getauxval(AT_SECURE) != 0;
}
