/* handoff.c - a producer/consumer handoff, the pattern of a server whose
 * network thread builds requests that a worker thread consumes: thread
 * "producer" allocates each message with malloc and puts it in a small
 * bounded queue (a mutex and two condition variables); thread "consumer"
 * takes it out, checks its sequence number and checksum, and frees it. So
 * every message is freed by a thread that did not allocate it: the block
 * goes into the consumer's cache, not back to the producer's. Plain malloc
 * and free, so it runs on any allocator; trace it to see the handoff:
 *   ./build/bin/ortho-run -o handoff.db -- ./build/examples/ortho-handoff
 * (or ORTHO_TRACE=1 ORTHO_TRACE_DB=handoff.db LD_PRELOAD=... ./ortho-handoff)
 * and the table thread_pairs holds one row, producer -> consumer, with one
 * free per message; ortho-top's Threads screen shows them as XFREES.
 * Message sizes repeat on every run: 16 header bytes plus a payload of
 * 16 + (seq * 131) % 1000 bytes. Run: ortho-handoff [messages] (default 10000). */
#define _GNU_SOURCE /* pthread_setname_np */
#include "example_args.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define HANDOFF_QUEUE_SLOTS 16
#define HANDOFF_DEFAULT_MESSAGES 10000
#define HANDOFF_MAX_MESSAGES 100000000

typedef struct {
    uint64_t seq;             /* 0, 1, 2, ... in the order produced */
    uint32_t length_bytes;    /* of payload */
    uint32_t sum;             /* of the payload bytes, set by the producer */
    unsigned char payload[];  /* length_bytes */
} message_t;

/* A bounded FIFO of message pointers. A NULL message means "no more". */
typedef struct {
    message_t *slots[HANDOFF_QUEUE_SLOTS];
    unsigned head;            /* index of the oldest message */
    unsigned count;           /* messages waiting */
    pthread_mutex_t lock;     /* guards everything above */
    pthread_cond_t not_empty; /* signalled after a put */
    pthread_cond_t not_full;  /* signalled after a take */
} queue_t;

static queue_t queue = {.lock = PTHREAD_MUTEX_INITIALIZER,
                        .not_empty = PTHREAD_COND_INITIALIZER,
                        .not_full = PTHREAD_COND_INITIALIZER};

/* What each side did, read by main after both threads are joined. */
typedef struct {
    unsigned long messages;      /* to produce (producer), consumed (consumer) */
    unsigned long long bytes;    /* requested from malloc, all messages */
    unsigned long bad;           /* consumer: out of order or wrong checksum */
    int failed;                  /* producer: malloc returned NULL */
} side_t;

static void queue_put(message_t *m)
{
    pthread_mutex_lock(&queue.lock);
    while (queue.count == HANDOFF_QUEUE_SLOTS)
        pthread_cond_wait(&queue.not_full, &queue.lock);
    queue.slots[(queue.head + queue.count) % HANDOFF_QUEUE_SLOTS] = m;
    queue.count++;
    pthread_cond_signal(&queue.not_empty);
    pthread_mutex_unlock(&queue.lock);
}

static message_t *queue_take(void)
{
    pthread_mutex_lock(&queue.lock);
    while (queue.count == 0)
        pthread_cond_wait(&queue.not_empty, &queue.lock);
    message_t *m = queue.slots[queue.head];
    queue.head = (queue.head + 1) % HANDOFF_QUEUE_SLOTS;
    queue.count--;
    pthread_cond_signal(&queue.not_full);
    pthread_mutex_unlock(&queue.lock);
    return m;
}

static uint32_t payload_sum(const message_t *m)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < m->length_bytes; i++)
        sum = sum * 31 + m->payload[i];
    return sum;
}

static void *producer_main(void *arg)
{
    side_t *me = arg;
    /* Named before its first malloc: the trace names a thread when it first
     * allocates. */
    pthread_setname_np(pthread_self(), "producer");
    for (uint64_t seq = 0; seq < me->messages; seq++) {
        uint32_t length = 16 + (uint32_t)((seq * 131) % 1000);
        message_t *m = malloc(sizeof *m + length);
        if (m == NULL) {
            me->failed = 1;
            break;
        }
        m->seq = seq;
        m->length_bytes = length;
        for (uint32_t i = 0; i < length; i++)
            m->payload[i] = (unsigned char)(seq + i * 7);
        m->sum = payload_sum(m);
        me->bytes += sizeof *m + length;
        queue_put(m);
    }
    queue_put(NULL); /* tells the consumer to stop */
    return NULL;
}

static void *consumer_main(void *arg)
{
    side_t *me = arg;
    pthread_setname_np(pthread_self(), "consumer");
    for (message_t *m; (m = queue_take()) != NULL;) {
        if (m->seq != me->messages || m->sum != payload_sum(m))
            me->bad++;
        me->bytes += sizeof *m + m->length_bytes;
        me->messages++;
        free(m); /* a block the producer allocated */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned long messages = example_count_arg(argc, argv, "ortho-handoff", "messages",
                                               HANDOFF_DEFAULT_MESSAGES, HANDOFF_MAX_MESSAGES);
    side_t produced = {.messages = messages}, consumed = {0};
    pthread_t producer, consumer;
    if (pthread_create(&consumer, NULL, consumer_main, &consumed) != 0 ||
        pthread_create(&producer, NULL, producer_main, &produced) != 0) {
        fprintf(stderr, "ortho-handoff: cannot start the threads\n");
        return 1;
    }
    pthread_join(producer, NULL);
    pthread_join(consumer, NULL);

    printf("handoff: producer allocated %lu messages (%llu bytes) through a %d-slot queue; "
           "consumer checked and freed %lu (%llu bytes), %lu bad\n",
           messages, produced.bytes, HANDOFF_QUEUE_SLOTS, consumed.messages, consumed.bytes,
           consumed.bad);
    if (produced.failed || consumed.bad != 0 || consumed.messages != messages) {
        fprintf(stderr, "ortho-handoff: %s\n",
                produced.failed ? "malloc failed in the producer"
                                : "the consumer did not get every message intact");
        return 1;
    }
    return 0;
}
