/* symworker.h - the collector's naming thread. Naming the frames of a
 * stack goes through libdw, whose first look into a module's debug
 * information is one call that can take tens of milliseconds; done on the
 * thread that drains the rings, it stalled every producer in wait mode for
 * that long. So the draining thread only hands work over: a sym_batch holds
 * the modules an image has loaded since its last batch and copies of the
 * PCs of the stacks to name; this thread registers the modules with the
 * image's symbolizer, resolves every PC and marks the batch done; the
 * draining thread writes the frames at a later commit. Every call into a
 * symbolizer - create and destroy included - runs on this one thread, so
 * libdw is never entered from two threads at once. Batches run in the order
 * they were submitted. While every image is still running, naming takes at
 * most a tenth of a core (symworker.c says why). Without a thread (pthread_create failed) a batch is
 * resolved inside symworker_submit: slower, never wrong. */
#ifndef ORTHO_COLLECTOR_SYMWORKER_H
#define ORTHO_COLLECTOR_SYMWORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"
#include "symbolize.h"

struct sym_batch {
    struct symbolizer **sym; /* the image's; created here on first use */
    struct symbolizer *retire; /* not NULL: this batch only destroys it */
    size_t module_count;
    char **module_paths;     /* owned copies */
    uint64_t *module_biases;
    size_t stack_count;
    uint32_t *stack_ids;     /* canonical ids, as in proc_state.stacks */
    size_t *stack_first;     /* index of each stack's innermost frame in pcs/frames */
    uint32_t *stack_depths;
    size_t frame_count;
    uint64_t *pcs;
    sym_frame_t *frames;     /* out: one per pc; strings live as long as *sym */
    uint64_t frames_without_fds; /* out: frames named without their module's file
                              * (file:line, or every name, lost): descriptors ran out */
    size_t stacks_written;   /* the draining thread's: stacks in the database so far */
    atomic_bool done;
    struct sym_batch *next;  /* the worker's queue */
};

struct symworker;

/* Starts the thread. NULL only when out of memory; a failed thread start
 * gives a worker that resolves inline. */
struct symworker *symworker_create(void);
/* Finishes every submitted batch, then stops the thread. NULL is a no-op. */
void symworker_destroy(struct symworker *w);

/* Queues b (it must stay allocated until done). */
void symworker_submit(struct symworker *w, struct sym_batch *b);
/* Whether b has been resolved; never blocks (the collector polls it at
 * each pass). Its frames are then safe to read (acquire). */
bool symworker_done(const struct sym_batch *b);

/* An image has ended and waits for its names (on: true), or no longer
 * does (false; one call each): while any waits, naming is not paced. */
void symworker_hurry(struct symworker *w, bool on);

/* Queues the destruction of sym after every batch queued before; does not
 * block. The image's frames must have been written: their strings go with
 * it. NULL is a no-op. */
void symworker_retire(struct symworker *w, struct symbolizer *sym);

/* The work p has for the naming thread: modules not yet registered
 * (p->modules from *modules_sent on, which it advances) and every stack
 * not yet written, plus, when modules arrived since the last batch, every
 * written stack that had frames outside all known modules. NULL when there
 * is nothing to do (or no memory: the same work is found next time). */
struct sym_batch *sym_batch_collect(struct proc_state *p, size_t *modules_sent,
                                    struct symbolizer **sym);
/* Frees b and its copies (not the symbolizer). NULL is a no-op. */
void sym_batch_free(struct sym_batch *b);

#endif
