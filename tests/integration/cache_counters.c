/* cache_counters.c - blocks handed from thread to thread, then the
 * allocator's own count of where every block of each class is, for
 * trace_db.sh to hold the trace database's gauges against. PAIRS producer
 * threads each allocate MESSAGES messages of four sizes (40, 200, 3000 and
 * 5000 bytes: classes B64, B256, B4K and B6K) that a consumer thread of
 * its own frees, so blocks travel from the consumers' caches through the
 * central pool back to the producers. Once every thread has been joined,
 * main asks ortho_stats (linked: this program runs on liborthotope) and
 * prints one line per class, "NAME cached pooled carved live", with
 * write(2) from a stack buffer, then leaves with _exit: nothing allocates
 * or frees after the count, so it is the state the last trace record left.
 * With FORKS, main forks that many children while the threads run, each
 * leaving at once: a child's allocator retires the parent's other threads'
 * caches, and what that records must not reach the parent's trace.
 * Usage: cache_counters [MESSAGES [PAIRS [FORKS]]] (default 20000, 2, 0). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orthotope.h"

#define QUEUE_SLOTS 64
#define MAX_PAIRS 8

static const size_t message_bytes[] = {40, 200, 3000, 5000};

struct pair {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    void *slots[QUEUE_SLOTS];
    unsigned head, count; /* messages waiting: slots[head .. head + count) */
    unsigned messages;    /* the producer's total */
};

static void *produce(void *arg)
{
    struct pair *q = arg;
    for (unsigned i = 0; i < q->messages; i++) {
        size_t bytes = message_bytes[i % 4];
        char *m = malloc(bytes);
        if (m == NULL)
            abort();
        memset(m, (int)(i & 0xff), bytes);
        pthread_mutex_lock(&q->lock);
        while (q->count == QUEUE_SLOTS)
            pthread_cond_wait(&q->changed, &q->lock);
        q->slots[(q->head + q->count) % QUEUE_SLOTS] = m;
        q->count++;
        pthread_cond_broadcast(&q->changed);
        pthread_mutex_unlock(&q->lock);
    }
    return NULL;
}

static void *consume(void *arg)
{
    struct pair *q = arg;
    for (unsigned i = 0; i < q->messages; i++) {
        pthread_mutex_lock(&q->lock);
        while (q->count == 0)
            pthread_cond_wait(&q->changed, &q->lock);
        void *m = q->slots[q->head];
        q->head = (q->head + 1) % QUEUE_SLOTS;
        q->count--;
        pthread_cond_broadcast(&q->changed);
        pthread_mutex_unlock(&q->lock);
        free(m); /* a block another thread allocated */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned messages = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000;
    unsigned pairs = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 2;
    unsigned forks = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 0;
    if (messages == 0 || pairs == 0 || pairs > MAX_PAIRS) {
        fprintf(stderr, "cache_counters: usage: cache_counters [MESSAGES [PAIRS (1 to %d) "
                        "[FORKS]]]\n", MAX_PAIRS);
        return 2;
    }
    free(malloc(40)); /* main traced (bound to its ring) before it forks */
    static struct pair queues[MAX_PAIRS];
    pthread_t threads[2 * MAX_PAIRS];
    for (unsigned p = 0; p < pairs; p++) {
        pthread_mutex_init(&queues[p].lock, NULL);
        pthread_cond_init(&queues[p].changed, NULL);
        queues[p].messages = messages;
        if (pthread_create(&threads[2 * p], NULL, produce, &queues[p]) != 0 ||
            pthread_create(&threads[2 * p + 1], NULL, consume, &queues[p]) != 0) {
            fprintf(stderr, "cache_counters: cannot start threads\n");
            return 1;
        }
    }
    for (unsigned f = 0; f < forks; f++) {
        pid_t child = fork();
        if (child == 0)
            _exit(0);
        int status;
        if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status))
            _exit(1);
        usleep(1000); /* the threads' caches fill again between forks */
    }
    for (unsigned t = 0; t < 2 * pairs; t++)
        pthread_join(threads[t], NULL);

    ortho_stats_t stats;
    if (ortho_stats(&stats) != ORTHO_OK)
        _exit(1);
    char text[ORTHO_CLASS_COUNT * 128];
    size_t len = 0;
    for (unsigned c = 0; c < ORTHO_CLASS_COUNT; c++) {
        const ortho_class_stats_t *k = &stats.classes[c];
        int n = snprintf(text + len, sizeof text - len, "%s %llu %llu %llu %llu\n",
                         ortho_class_name(c), (unsigned long long)k->cached_blocks,
                         (unsigned long long)k->pool_blocks, (unsigned long long)k->carved_blocks,
                         (unsigned long long)k->live_blocks);
        if (n < 0 || (size_t)n >= sizeof text - len)
            _exit(1);
        len += (size_t)n;
    }
    ssize_t written = write(STDOUT_FILENO, text, len);
    _exit(written == (ssize_t)len ? 0 : 1);
}
