/* spsc.c - the SPSC queue of spsc.h. Indices are free-running 32-bit
 * counters (their difference is the fill level, wrap-around included).
 * Sleeping follows the Dekker pattern: a waiter raises its own flag and then
 * rechecks the index; a publisher stores its index and then reads the flag,
 * all four accesses sequentially consistent, so one of the two always sees
 * the other. The waiter alone clears its
 * flag (a publisher that cleared it could erase the flag of a newer wait
 * with a wake-up meant for an older one, and both sides would sleep), and
 * it holds sleep_lock from its recheck to pthread_cond_wait, which a
 * publisher takes to signal, so no signal falls between the two. The
 * seq_cst publish (a locked instruction on x86) costs the same under every
 * allocator. */
#include "spsc.h"

/* Polls of the other side's index before going to sleep: long enough to
 * ride out a short delay when both threads have a core (about 10-20 us with
 * the pause hint), short enough not to burn a time slice the other thread
 * needs when they share one. */
#define SPSC_SPIN_LIMIT 256

static void spsc_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waits until *word differs from `seen`; returns its new value. `sleeping`
 * is the caller's flag and `moved` the condition it sleeps on. */
static uint32_t spsc_wait_change(struct spsc *q, _Atomic uint32_t *word, uint32_t seen,
                                 _Atomic uint32_t *sleeping, pthread_cond_t *moved)
{
    for (int spin = 0; spin < SPSC_SPIN_LIMIT; spin++) {
        uint32_t now = atomic_load_explicit(word, memory_order_acquire);
        if (now != seen)
            return now;
        spsc_pause();
    }
    pthread_mutex_lock(&q->sleep_lock);
    /* Raise the flag before the recheck, so a publish the recheck misses is
     * guaranteed to see the flag and signal (under the lock we hold). */
    atomic_store_explicit(sleeping, 1, memory_order_seq_cst);
    uint32_t now;
    while ((now = atomic_load_explicit(word, memory_order_seq_cst)) == seen)
        pthread_cond_wait(moved, &q->sleep_lock);
    atomic_store_explicit(sleeping, 0, memory_order_relaxed);
    pthread_mutex_unlock(&q->sleep_lock);
    return now;
}

/* After publishing an index (seq_cst): signals the other side if it may be
 * asleep. A signal to a side that is already awake is harmless. */
static void spsc_signal_if_sleeping(struct spsc *q, _Atomic uint32_t *sleeping,
                                    pthread_cond_t *moved)
{
    if (atomic_load_explicit(sleeping, memory_order_seq_cst) != 0) {
        pthread_mutex_lock(&q->sleep_lock);
        pthread_cond_signal(moved);
        pthread_mutex_unlock(&q->sleep_lock);
    }
}

int spsc_init(struct spsc *q)
{
    atomic_init(&q->tail, 0);
    atomic_init(&q->head, 0);
    atomic_init(&q->consumer_sleeping, 0);
    atomic_init(&q->producer_sleeping, 0);
    if (pthread_mutex_init(&q->sleep_lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&q->tail_moved, NULL) != 0) {
        pthread_mutex_destroy(&q->sleep_lock);
        return -1;
    }
    if (pthread_cond_init(&q->head_moved, NULL) != 0) {
        pthread_cond_destroy(&q->tail_moved);
        pthread_mutex_destroy(&q->sleep_lock);
        return -1;
    }
    return 0;
}

void spsc_destroy(struct spsc *q)
{
    pthread_cond_destroy(&q->head_moved);
    pthread_cond_destroy(&q->tail_moved);
    pthread_mutex_destroy(&q->sleep_lock);
}

void spsc_push(struct spsc *q, void *p)
{
    uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    while (tail - head >= SPSC_CAPACITY)
        head = spsc_wait_change(q, &q->head, head, &q->producer_sleeping, &q->head_moved);
    q->slots[tail & (SPSC_CAPACITY - 1)] = p;
    atomic_store_explicit(&q->tail, tail + 1, memory_order_seq_cst);
    spsc_signal_if_sleeping(q, &q->consumer_sleeping, &q->tail_moved);
}

void spsc_push_rendezvous(struct spsc *q, void *p)
{
    spsc_push(q, p);
    /* The pop of p moves head to the tail we just published; the consumer
     * signals head_moved after every pop when we sleep. */
    uint32_t taken = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    while (head != taken)
        head = spsc_wait_change(q, &q->head, head, &q->producer_sleeping, &q->head_moved);
}

void *spsc_pop(struct spsc *q)
{
    uint32_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    while (tail == head)
        tail = spsc_wait_change(q, &q->tail, tail, &q->consumer_sleeping, &q->tail_moved);
    void *p = q->slots[head & (SPSC_CAPACITY - 1)];
    atomic_store_explicit(&q->head, head + 1, memory_order_seq_cst);
    spsc_signal_if_sleeping(q, &q->producer_sleeping, &q->head_moved);
    return p;
}
