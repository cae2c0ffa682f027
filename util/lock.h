/* lock.h - the allocator's only lock: a test-and-test-and-set spinlock that
 * yields the CPU after a short spin. Used on slow paths only (central pool,
 * arena carving, large registry, thread registry), never on the same-thread
 * fast path. Chosen over pthread_mutex because it needs no initialisation
 * call, is safe to re-initialise in a fork child, and never allocates. */
#ifndef ORTHO_LOCK_H
#define ORTHO_LOCK_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct {
    atomic_bool held; /* true while some thread owns the lock */
} lock_t;

#define LOCK_INIT {false}
/* Spins before yielding: a holder on the other core usually releases within
 * a few hundred cycles, since no critical section does I/O. */
#define LOCK_SPINS_BEFORE_YIELD 64

/* Tells the core we are spinning (saves power, frees the sibling thread). */
static inline void lock_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline void lock_acquire(lock_t *lock)
{
    for (;;) {
        if (!atomic_exchange_explicit(&lock->held, true, memory_order_acquire))
            return;
        for (int spin = 0; atomic_load_explicit(&lock->held, memory_order_relaxed); spin++) {
            if (spin >= LOCK_SPINS_BEFORE_YIELD) {
                sched_yield();
                spin = 0;
            } else {
                lock_cpu_relax();
            }
        }
    }
}

static inline void lock_release(lock_t *lock)
{
    atomic_store_explicit(&lock->held, false, memory_order_release);
}

/* Fork child: the holder (another thread) no longer exists. */
static inline void lock_reset(lock_t *lock)
{
    atomic_store_explicit(&lock->held, false, memory_order_relaxed);
}

#endif
