/* guard.c - the guard pool of sampled blocks and its SIGSEGV handler (see
 * guard.h). Slots are handed out first in order, then oldest-freed first,
 * so a freed block stays unreadable for as long as possible. Stacks are
 * captured with libunwind (local unwinding does not allocate) outside the
 * pool lock. The handler reads only the pool's own memory, formats its line
 * into a stack buffer and writes it with write(2); naming frames uses
 * dladdr, as every misuse report does. */
#define _GNU_SOURCE
#include "guard.h"

#include <signal.h>
#include <string.h>
#include <ucontext.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "global.h"
#include "misuse.h"
#include "prim.h"
#include "report.h"
#include "size_class.h"

/* The pool the handler looks at (the global allocator's), and the handler
 * it replaced. Set once, before the handler is installed. */
static struct guard_pool *guard_active;
static struct sigaction guard_previous;

uint32_t guard_next_gap(const struct guard_pool *g, uint64_t *seed)
{
    uint64_t x = *seed != 0 ? *seed : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12; /* xorshift64*: enough for spacing samples */
    x ^= x << 25;
    x ^= x >> 27;
    *seed = x;
    uint64_t span = g->sample_every > 0 ? 2 * (uint64_t)g->sample_every - 1 : UINT32_MAX;
    uint64_t gap = 1 + ((x * 0x2545f4914f6cdd1dull) >> 11) % span;
    return gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;
}

static char *guard_slot_data(const struct guard_pool *g, uint32_t index)
{
    return g->base + (size_t)index * g->slot_bytes;
}

/* A slot for a new sampled block: an unused one, else the oldest freed one
 * (its pages are still closed); UINT32_MAX when every slot holds a live or
 * retired block. Pool lock held. */
static uint32_t guard_take_slot(struct guard_pool *g)
{
    if (g->next_unused < GUARD_SLOTS)
        return g->next_unused++;
    while (g->freed_count != 0) {
        uint32_t index = g->freed[g->freed_first];
        g->freed_first = (g->freed_first + 1) % GUARD_SLOTS;
        g->freed_count--;
        if (!g->slots[index].retired)
            return index;
    }
    return UINT32_MAX;
}

void *guard_alloc(struct guard_pool *g, size_t n, unsigned cls)
{
    void *stack[GUARD_STACK_FRAMES];
    int frames = unw_backtrace(stack, GUARD_STACK_FRAMES);
    lock_acquire(&g->lock);
    uint32_t index = guard_take_slot(g);
    if (index == UINT32_MAX) {
        lock_release(&g->lock);
        return NULL;
    }
    char *data = guard_slot_data(g, index);
    size_t padded = (n + ORTHO_MIN_ALIGN - 1) & ~(size_t)(ORTHO_MIN_ALIGN - 1);
    char *user = data + g->data_bytes - padded;
    if (!prim_commit(data, g->data_bytes)) {
        g->next_unused = index; /* not handed out after all (only the last can fail so) */
        lock_release(&g->lock);
        return NULL;
    }
    header_t *h = header_of_user(user);
    header_stamp_outside(h, HEADER_KIND_GUARDED, n, n, 0);
    memset(user + n, GUARD_PAD_BYTE, padded - n);
    struct guard_slot *s = &g->slots[index];
    memset(s, 0, sizeof *s);
    s->state = GUARD_SLOT_LIVE;
    s->class_index = (uint8_t)cls;
    s->alloc_tid = prim_thread_id();
    s->user = user;
    s->requested_bytes = n;
    s->alloc_frames = frames > 0 ? (uint32_t)frames : 0;
    memcpy(s->alloc_stack, stack, sizeof stack);
    lock_release(&g->lock);
    return user;
}

/* The slot p falls in. */
static struct guard_slot *guard_slot_of(struct guard_pool *g, const void *p, uint32_t *index)
{
    *index = (uint32_t)(((uintptr_t)p - (uintptr_t)g->base) / g->slot_bytes);
    return &g->slots[*index];
}

header_t *guard_live_header(struct guard_pool *g, const void *p)
{
    uint32_t index;
    struct guard_slot *s = guard_slot_of(g, p, &index);
    lock_acquire(&g->lock);
    bool live = s->state == GUARD_SLOT_LIVE && s->user == p;
    lock_release(&g->lock);
    return live ? header_of_user(p) : NULL;
}

guard_free_result_t guard_free(struct guard_pool *g, void *p, size_t expected_size,
                               int64_t *offset)
{
    void *stack[GUARD_STACK_FRAMES];
    int frames = unw_backtrace(stack, GUARD_STACK_FRAMES);
    uint32_t index;
    struct guard_slot *s = guard_slot_of(g, p, &index);
    lock_acquire(&g->lock);
    if (s->user != p || s->state == GUARD_SLOT_UNUSED) {
        lock_release(&g->lock);
        return GUARD_NOT_A_BLOCK;
    }
    if (s->state != GUARD_SLOT_LIVE) {
        lock_release(&g->lock);
        return GUARD_DOUBLE_FREE;
    }
    if (expected_size != 0 && expected_size != s->requested_bytes) {
        lock_release(&g->lock);
        return GUARD_SIZE_MISMATCH;
    }
    /* The padding between the request and the guard page. */
    guard_free_result_t result = GUARD_FREED;
    char *data = guard_slot_data(g, index);
    const unsigned char *pad = (const unsigned char *)p + s->requested_bytes;
    const unsigned char *end = (const unsigned char *)data + g->data_bytes;
    for (const unsigned char *at = pad; at < end; at++) {
        if (*at != GUARD_PAD_BYTE) {
            *offset = at - (const unsigned char *)p;
            result = GUARD_OVERFLOW;
            break;
        }
    }
    s->trace = header_of_user(p)->trace;
    s->state = GUARD_SLOT_FREED;
    s->free_tid = prim_thread_id();
    s->free_frames = frames > 0 ? (uint32_t)frames : 0;
    memcpy(s->free_stack, stack, sizeof stack);
    if (!s->retired) {
        /* Closed, and its memory given back: nothing may read it any more. */
        prim_release_pages(data, g->data_bytes);
        prim_decommit(data, g->data_bytes);
        g->freed[(g->freed_first + g->freed_count) % GUARD_SLOTS] = index;
        g->freed_count++;
    }
    lock_release(&g->lock);
    return result;
}

/* ---- the fault handler ----------------------------------------------------- */

/* Passes a fault that is not ours to the handler we replaced, or lets the
 * default action happen: with SIG_DFL restored, returning re-runs the
 * faulting instruction. */
static void guard_chain(int sig, siginfo_t *info, void *context)
{
    if ((guard_previous.sa_flags & SA_SIGINFO) && guard_previous.sa_sigaction != NULL) {
        guard_previous.sa_sigaction(sig, info, context);
        return;
    }
    if (guard_previous.sa_handler != SIG_DFL && guard_previous.sa_handler != SIG_IGN) {
        guard_previous.sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
}

/* Whether the fault was a write (x86-64: bit 1 of the page-fault error
 * code); -1 when the machine does not say. */
static int guard_fault_was_write(const void *context)
{
#if defined(__x86_64__)
    const ucontext_t *uc = context;
    return (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#else
    (void)context;
    return -1;
#endif
}

/* The faulting thread's stack from the interrupted instruction outward,
 * each entry one past a code address (as return addresses are, which is
 * what misuse_put_stack expects). */
static int guard_fault_stack(void *context, void **frames, int cap)
{
    unw_cursor_t cursor;
    int n = 0;
    if (unw_init_local2(&cursor, (unw_context_t *)context, UNW_INIT_SIGNAL_FRAME) != 0)
        return 0;
    do {
        unw_word_t ip = 0;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        /* The faulting instruction itself is no return address. */
        frames[n] = (void *)(uintptr_t)(n == 0 ? ip + 1 : ip);
        n++;
    } while (n < cap && unw_step(&cursor) > 0);
    return n;
}

static void guard_on_fault(int sig, siginfo_t *info, void *context)
{
    struct guard_pool *g = guard_active;
    void *addr = info->si_addr;
    if (g == NULL || !guard_owns(g, addr)) {
        guard_chain(sig, info, context);
        return;
    }
    uint32_t index;
    struct guard_slot *s = guard_slot_of(g, addr, &index);
    if (s->state == GUARD_SLOT_UNUSED) {
        guard_chain(sig, info, context);
        return;
    }
    bool freed = s->state == GUARD_SLOT_FREED;
    const char *kind = freed ? "use_after_free" : "overflow";
    int64_t offset = (int64_t)((uintptr_t)addr - (uintptr_t)s->user);
    int write = guard_fault_was_write(context);
    bool keep_going = global_options()->on_corruption == OPTIONS_ON_CORRUPTION_REPORT;
    if (ORTHO_UNLIKELY(trace_port_on)) {
        /* A live block's header is on its open pages; a freed one's words
         * were kept in the slot when its pages closed. */
        trace_port_tag_t alloc = freed ? s->trace : header_of_user(s->user)->trace;
        trace_port_corruption("access", kind, s->user,
                              s->class_index < size_class_count() ? s->class_index
                                                                  : TRACE_PORT_CLASS_NONE,
                              NULL, &alloc);
    }

    struct report_line line;
    report_begin(&line);
    report_str(&line, "orthotope: ");
    report_str(&line, write == 1 ? "write" : write == 0 ? "read" : "access");
    report_str(&line, freed ? " after free into the " : " past the end of the ");
    report_u64(&line, s->requested_bytes);
    report_str(&line, "-byte block ");
    report_hex(&line, (uint64_t)(uintptr_t)s->user);
    report_str(&line, " (");
    report_str(&line, kind);
    report_str(&line, ", at offset ");
    report_u64(&line, (uint64_t)offset);
    if (s->class_index < size_class_count()) {
        report_str(&line, ", class ");
        report_str(&line, ortho_class_name(s->class_index));
    }
    report_str(&line, ", sampled, thread ");
    report_u64(&line, prim_thread_id());
    report_str(&line, ")");
    void *here[24];
    int depth = guard_fault_stack(context, here, 24);
    misuse_put_stack(&line, " from ", here, depth);
    report_str(&line, "; allocated by thread ");
    report_u64(&line, s->alloc_tid);
    misuse_put_stack(&line, " from ", s->alloc_stack, (int)s->alloc_frames);
    if (freed) {
        report_str(&line, "; freed by thread ");
        report_u64(&line, s->free_tid);
        misuse_put_stack(&line, " from ", s->free_stack, (int)s->free_frames);
    }
    report_str(&line, keep_going ? "; continuing (ORTHO_ON_CORRUPTION=report), the block's pages "
                                   "opened and never reused"
                                 : "; aborting; set ORTHO_ON_CORRUPTION=report to continue");
    report_emit(&line);
    if (keep_going) {
        /* Let the access happen and retire the slot: it is never handed out
         * again. */
        s->retired = true;
        prim_commit(guard_slot_data(g, index), g->slot_bytes);
        return;
    }
    trace_port_finish(); /* the corruption row is committed before we die */
    signal(sig, SIG_DFL); /* returning re-runs the access: the default action */
}

bool guard_enable(struct guard_pool *g, uint32_t sample_every)
{
    size_t page = prim_page_size();
    g->data_bytes = GUARD_DATA_PAGES * page;
    g->slot_bytes = g->data_bytes + page;
    g->base = prim_reserve((size_t)GUARD_SLOTS * g->slot_bytes);
    if (g->base == NULL)
        return false;
    g->sample_every = sample_every;
    guard_active = g;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = guard_on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGSEGV, &action, &guard_previous) != 0) {
        prim_unmap(g->base, (size_t)GUARD_SLOTS * g->slot_bytes);
        g->base = NULL;
        guard_active = NULL;
        return false;
    }
    return true;
}
