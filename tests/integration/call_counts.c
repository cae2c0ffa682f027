/* call_counts.c - a ground truth for the trace's counts: a program that
 * calls every allocation function of the C library's malloc family a
 * fixed pseudo-random number of times and counts its own calls by kind,
 * then prints those counts on one line for trace_db.sh to compare with
 * the database (every_call_a_program_counts_itself_is_in_the_database).
 * It keeps up to CC_SLOTS blocks at once and picks, step by step, a slot
 * and what to do with it: malloc, calloc, realloc of NULL, posix_memalign,
 * aligned_alloc or memalign into an empty slot; free, realloc to a new
 * size (counted apart by whether the block stayed where it was) or
 * realloc to 0 on a full one. Sizes run from 1 byte to past the small
 * classes (the large path). free(NULL) is counted apart: it frees nothing.
 * CC_LEAKED blocks are left live at exit. Nothing here may allocate behind
 * the counters' back: the output goes through snprintf into a stack buffer
 * and write(2), never stdio's buffered stdout. Built with -fno-builtin so
 * the compiler keeps every call. Usage: it_call_counts [STEPS]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <malloc.h>

#define CC_SLOTS 512
#define CC_LEAKED 17
#define CC_DEFAULT_STEPS 200000

static struct {
    unsigned long malloc_calls, calloc_calls, realloc_null;
    unsigned long posix_memalign_calls, aligned_alloc_calls, memalign_calls;
    unsigned long realloc_in_place, realloc_moved, realloc_zero;
    unsigned long free_calls, free_null;
    unsigned long long requested; /* bytes asked for by every allocation */
} cc;

static uint64_t cc_state = 0x9e3779b97f4a7c15ull;

static uint64_t cc_next(void)
{
    cc_state ^= cc_state << 13;
    cc_state ^= cc_state >> 7;
    cc_state ^= cc_state << 17;
    return cc_state;
}

/* Mostly small blocks, some medium, a few past the small classes. */
static size_t cc_size(void)
{
    uint64_t r = cc_next();
    switch (r % 16) {
    case 0:
        return 200000 + (size_t)(r >> 8) % 300000; /* the large path */
    case 1:
    case 2:
        return 1024 + (size_t)(r >> 8) % 60000;
    default:
        return 1 + (size_t)(r >> 8) % 512;
    }
}

static void cc_die(const char *what)
{
    static const char prefix[] = "call_counts: ";
    if (write(2, prefix, sizeof prefix - 1) < 0 || write(2, what, strlen(what)) < 0 ||
        write(2, "\n", 1) < 0)
        _exit(2);
    _exit(1);
}

static void *cc_fill(void *p, size_t n)
{
    if (p == NULL)
        cc_die("an allocation failed");
    memset(p, 0x5a, n < 64 ? n : 64);
    return p;
}

/* Puts a new block in an empty slot with one of the six allocating calls. */
static void *cc_allocate(void)
{
    size_t n = cc_size();
    static const size_t aligns[] = {16, 64, 256, 4096};
    size_t align = aligns[cc_next() % 4];
    void *p = NULL;
    switch (cc_next() % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
        cc.malloc_calls++;
        p = malloc(n);
        break;
    case 4:
    case 5: {
        size_t count = 1 + n % 7;
        cc.calloc_calls++;
        p = calloc(count, n);
        n *= count;
        break;
    }
    case 6:
        cc.realloc_null++;
        p = realloc(NULL, n);
        break;
    case 7:
        cc.posix_memalign_calls++;
        if (posix_memalign(&p, align, n) != 0)
            cc_die("posix_memalign failed");
        break;
    case 8:
        n = (n + align - 1) / align * align; /* C11 asks for a multiple */
        cc.aligned_alloc_calls++;
        p = aligned_alloc(align, n);
        break;
    default:
        cc.memalign_calls++;
        p = memalign(align, n);
        break;
    }
    cc.requested += n;
    return cc_fill(p, n);
}

/* Frees or resizes the block of a full slot; returns what the slot holds. */
static void *cc_release(void *p)
{
    uint64_t r = cc_next() % 20;
    if (r < 9) {
        cc.free_calls++;
        free(p);
        return NULL;
    }
    if (r == 9) {
        cc.realloc_zero++;
        void *q = realloc(p, 0); /* frees p, as glibc does */
        if (q != NULL)
            cc_die("realloc to 0 bytes returned a block");
        return NULL;
    }
    size_t n = r < 15 ? cc_size() : malloc_usable_size(p) / 2 + 1; /* grow or shrink */
    void *q = realloc(p, n);
    if (q == NULL)
        cc_die("realloc failed");
    if (q == p)
        cc.realloc_in_place++;
    else
        cc.realloc_moved++;
    cc.requested += n;
    return cc_fill(q, n);
}

int main(int argc, char **argv)
{
    long steps = argc > 1 ? strtol(argv[1], NULL, 10) : CC_DEFAULT_STEPS;
    if (steps < CC_SLOTS)
        cc_die("STEPS must be at least 512");
    static void *slots[CC_SLOTS];
    for (long i = 0; i < steps; i++) {
        size_t s = (size_t)(cc_next() % CC_SLOTS);
        if (slots[s] == NULL) {
            slots[s] = cc_allocate();
        } else if (cc_next() % 50 == 0) {
            cc.free_null++;
            free(NULL);
        } else {
            slots[s] = cc_release(slots[s]);
        }
    }
    /* Everything back but CC_LEAKED blocks: the live set at exit. */
    size_t kept = 0;
    for (size_t s = 0; s < CC_SLOTS; s++) {
        if (slots[s] == NULL)
            continue;
        if (kept < CC_LEAKED) {
            kept++;
            continue;
        }
        cc.free_calls++;
        free(slots[s]);
        slots[s] = NULL;
    }
    if (kept != CC_LEAKED)
        cc_die("fewer blocks live than CC_LEAKED at the end");
    char line[512];
    int len = snprintf(line, sizeof line,
                       "malloc=%lu calloc=%lu realloc_null=%lu posix_memalign=%lu aligned_alloc=%lu "
                       "memalign=%lu realloc_in_place=%lu realloc_moved=%lu realloc_zero=%lu "
                       "free=%lu free_null=%lu live=%zu requested=%llu\n",
                       cc.malloc_calls, cc.calloc_calls, cc.realloc_null, cc.posix_memalign_calls,
                       cc.aligned_alloc_calls, cc.memalign_calls,
                       cc.realloc_in_place, cc.realloc_moved, cc.realloc_zero, cc.free_calls,
                       cc.free_null, kept, cc.requested);
    if (len <= 0 || (size_t)len >= sizeof line || write(1, line, (size_t)len) != len)
        cc_die("cannot write the counts");
    return 0;
}
