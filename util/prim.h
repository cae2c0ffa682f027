/* prim.h - every call the allocator makes into the operating system, behind
 * one small interface (reserve, commit, release memory; thread ids; clocks;
 * raw stderr writes; the environment). Nothing here allocates, so any of it
 * may be called from inside malloc. Linux only for now. A single fault hook
 * lets tests make the next mappings fail without touching the kernel. */
#ifndef ORTHO_PRIM_H
#define ORTHO_PRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Page size of the machine (read once; 4096 before the first read). */
size_t prim_page_size(void);

/* Reserves `size` bytes of address space, inaccessible; NULL on failure. */
void *prim_reserve(size_t size);
/* As prim_reserve, but the start is a multiple of PRIM_HUGE_PAGE and the
 * range is marked for transparent huge pages (madvise MADV_HUGEPAGE): the
 * kernel then backs each 2 MiB of it that gets touched with one page and
 * one TLB entry instead of 512, where it has them. A hint: a kernel
 * without them (or with them set to never) gives 4 KiB pages. */
void *prim_reserve_huge(size_t size);
#define PRIM_HUGE_PAGE ((size_t)2 << 20)
/* Makes [p, p+size) readable and writable; false on failure. */
bool prim_commit(void *p, size_t size);
/* Makes [p, p+size) inaccessible again (its contents are kept); false on
 * failure. errno is kept. */
bool prim_decommit(void *p, size_t size);
/* Gives the pages of [p, p+size) back to the OS; they read as zero after.
 * p and size must be page multiples. */
void prim_release_pages(void *p, size_t size);
/* Maps `size` fresh read-write bytes (large path); NULL on failure. */
void *prim_map(size_t size);
/* Unmaps what prim_reserve or prim_map returned (or a page-aligned part). */
void prim_unmap(void *p, size_t size);

/* Test hook: the next `count` reserve/map calls fail as if the OS refused. */
void prim_fail_next_maps(unsigned count);

/* Kernel thread id of the caller (as in /proc and gdb). */
uint32_t prim_thread_id(void);
/* Whether thread `tid` of this process still exists. */
bool prim_thread_alive(uint32_t tid);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t prim_now_ns(void);

/* Sleeps while *word (a 32-bit word) holds `expected`, until prim_wake_all
 * on it or timeout_ns (0: no limit); may return early (a signal, a
 * spurious wake-up): callers re-check. `shared`: the word is in memory
 * shared with another process, which may be the one that wakes it.
 * Keeps errno. */
void prim_wait_while(const uint32_t *word, uint32_t expected, uint64_t timeout_ns, bool shared);
/* Wakes every thread sleeping in prim_wait_while on word (`shared` as
 * there). Keeps errno. */
void prim_wake_all(const uint32_t *word, bool shared);

/* Writes all of buf to stderr with write(2); async-signal-safe. */
void prim_write_stderr(const char *buf, size_t len);

/* Copies into out (cap bytes, NUL-terminated) the absolute path of the file
 * mapped at `address` in this process, as /proc/self/maps names it (the
 * kernel's path, whatever name the file was opened by). false if nothing or
 * no file is mapped there (anonymous memory, [vdso]), the path does not fit,
 * or maps cannot be read. Reads maps through a small stack buffer; errno is
 * kept. */
bool prim_mapped_path(uintptr_t address, char *out, size_t cap);

/* Value of environment variable `name` read straight from environ, or NULL.
 * Does not allocate (getenv may not be safe this early in a preload). */
const char *prim_getenv(const char *name);

/* Whether this process runs in secure execution (getauxval(AT_SECURE): a
 * setuid or setgid program, or one that gained file capabilities), where
 * the environment belongs to a less privileged user and must not steer it. */
bool prim_secure_execution(void);

#endif
