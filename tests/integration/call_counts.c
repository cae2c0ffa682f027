/* call_counts.c - a ground truth for the trace's counts: a program that
 * calls every allocation function of the C library's malloc family a
 * fixed pseudo-random number of times and counts its own calls by kind,
 * then prints those counts on one line for trace_db.sh to compare with
 * the database (every_call_a_program_counts_itself_is_in_the_database).
 * It keeps up to CC_SLOTS blocks at once and picks, step by step, a slot
 * and what to do with it: malloc, calloc, realloc of NULL, posix_memalign,
 * aligned_alloc, memalign, valloc or pvalloc into an empty slot; free,
 * realloc to a new size (counted apart by whether the block stayed where
 * it was) or realloc to 0 on a full one. Besides the calls it counts the
 * bytes each kind of call asked for (bytes_KIND), so the database's split
 * by entry point (alloc_calls) is checked in bytes as well as in calls.
 * Two more entry points come from the preloaded library itself, looked up
 * with dlsym (a lookup that succeeds allocates nothing): ortho_alloc and
 * ortho_alloc_aligned (their blocks go back through ortho_free), and C++
 * operator new (_Znwm; back through operator delete, _ZdlPv), so the
 * program must run preloaded. Sizes run from 1 byte to past the small
 * classes (the large path). free(NULL) is counted apart: it frees nothing.
 * CC_LEAKED blocks are left live at exit. Nothing here may allocate behind
 * the counters' back: the output goes through snprintf into a stack buffer
 * and write(2), never stdio's buffered stdout. Built with -fno-builtin so
 * the compiler keeps every call. Usage: it_call_counts [STEPS]. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <malloc.h>

#define CC_SLOTS 512
#define CC_LEAKED 17
#define CC_DEFAULT_STEPS 200000

/* The kinds of call that hand out a block, as the output names them. */
enum {
    CC_MALLOC, CC_CALLOC, CC_REALLOC_NULL, CC_POSIX_MEMALIGN, CC_ALIGNED_ALLOC, CC_MEMALIGN,
    CC_VALLOC, CC_PVALLOC, CC_REALLOC_IN_PLACE, CC_REALLOC_MOVED, CC_ORTHO_ALLOC,
    CC_ORTHO_ALLOC_ALIGNED, CC_NEW, CC_KINDS
};
static const char *const cc_kind_names[CC_KINDS] = {
    "malloc", "calloc", "realloc_null", "posix_memalign", "aligned_alloc", "memalign",
    "valloc", "pvalloc", "realloc_in_place", "realloc_moved", "ortho_alloc",
    "ortho_alloc_aligned", "new"};

static struct {
    unsigned long calls[CC_KINDS];        /* calls that returned a block */
    unsigned long long bytes[CC_KINDS];   /* bytes they asked for */
    unsigned long realloc_zero, free_null;
    unsigned long free_calls; /* frees of a block: free, ortho_free, operator delete */
    unsigned long long requested; /* bytes asked for by every allocation */
} cc;

/* The preloaded library's own entry points (main looks them up). */
static struct {
    void *(*alloc)(size_t);
    void *(*alloc_aligned)(size_t, size_t);
    int (*free)(void *);
    void *(*new_)(size_t);
    void (*delete_)(void *);
} cc_lib;

/* Counts one call of `kind` that handed out a block of n bytes asked for. */
static void cc_count(unsigned kind, size_t n)
{
    cc.calls[kind]++;
    cc.bytes[kind] += n;
    cc.requested += n;
}

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

/* Puts a new block in an empty slot with one of the eleven allocating
 * calls; *kind says which. */
static void *cc_allocate(unsigned *kind_out)
{
    size_t n = cc_size();
    static const size_t aligns[] = {16, 64, 256, 4096};
    size_t align = aligns[cc_next() % 4];
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = NULL;
    unsigned kind;
    switch (cc_next() % 14) {
    case 0:
    case 1:
    case 2:
    case 3:
        kind = CC_MALLOC;
        p = malloc(n);
        break;
    case 4:
    case 5: {
        size_t count = 1 + n % 7;
        kind = CC_CALLOC;
        p = calloc(count, n);
        n *= count;
        break;
    }
    case 6:
        kind = CC_REALLOC_NULL;
        p = realloc(NULL, n);
        break;
    case 7:
        kind = CC_POSIX_MEMALIGN;
        if (posix_memalign(&p, align, n) != 0)
            cc_die("posix_memalign failed");
        break;
    case 8:
        n = (n + align - 1) / align * align; /* C11 asks for a multiple */
        kind = CC_ALIGNED_ALLOC;
        p = aligned_alloc(align, n);
        break;
    case 9:
        kind = CC_MEMALIGN;
        p = memalign(align, n);
        break;
    case 10:
        kind = CC_VALLOC;
        p = valloc(n);
        break;
    case 11:
        kind = CC_PVALLOC;
        p = pvalloc(n);
        n = (n + page - 1) / page * page; /* pvalloc asks for whole pages */
        break;
    case 12:
        if (cc_next() % 2 == 0) {
            kind = CC_ORTHO_ALLOC;
            p = cc_lib.alloc(n);
        } else {
            kind = CC_ORTHO_ALLOC_ALIGNED;
            p = cc_lib.alloc_aligned(n, align);
        }
        break;
    default:
        kind = CC_NEW;
        p = cc_lib.new_(n);
        break;
    }
    if (p == NULL)
        cc_die("an allocation failed");
    cc_count(kind, n);
    *kind_out = kind;
    return cc_fill(p, n);
}

/* Frees a block with the call that matches the one that made it. */
static void cc_free_block(void *p, unsigned kind)
{
    cc.free_calls++;
    if (kind == CC_ORTHO_ALLOC || kind == CC_ORTHO_ALLOC_ALIGNED) {
        if (cc_lib.free(p) != 0)
            cc_die("ortho_free refused a block of ortho_alloc");
    } else if (kind == CC_NEW) {
        cc_lib.delete_(p);
    } else {
        free(p);
    }
}

/* Looks up one of the preloaded library's functions. */
static void *cc_lookup(const char *name)
{
    void *fn = dlsym(RTLD_DEFAULT, name);
    if (fn == NULL)
        cc_die("liborthotope's entry points are not there: run me with LD_PRELOAD=liborthotope.so "
               "(or under ortho-run)");
    return fn;
}

/* Frees or resizes the block of a full slot (made by a call of `kind`);
 * returns what the slot holds. Blocks of ortho_alloc and operator new are
 * only ever freed, by their own calls. */
static void *cc_release(void *p, unsigned kind)
{
    uint64_t r = cc_next() % 20;
    if (r < 9 || kind == CC_ORTHO_ALLOC || kind == CC_ORTHO_ALLOC_ALIGNED || kind == CC_NEW) {
        cc_free_block(p, kind);
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
    cc_count(q == p ? CC_REALLOC_IN_PLACE : CC_REALLOC_MOVED, n);
    return cc_fill(q, n);
}

int main(int argc, char **argv)
{
    long steps = argc > 1 ? strtol(argv[1], NULL, 10) : CC_DEFAULT_STEPS;
    if (steps < CC_SLOTS)
        cc_die("STEPS must be at least 512");
    *(void **)&cc_lib.alloc = cc_lookup("ortho_alloc");
    *(void **)&cc_lib.alloc_aligned = cc_lookup("ortho_alloc_aligned");
    *(void **)&cc_lib.free = cc_lookup("ortho_free");
    *(void **)&cc_lib.new_ = cc_lookup("_Znwm");
    *(void **)&cc_lib.delete_ = cc_lookup("_ZdlPv");
    static void *slots[CC_SLOTS];
    static unsigned kinds[CC_SLOTS]; /* the call that made each slot's block */
    for (long i = 0; i < steps; i++) {
        size_t s = (size_t)(cc_next() % CC_SLOTS);
        if (slots[s] == NULL) {
            slots[s] = cc_allocate(&kinds[s]);
        } else if (cc_next() % 50 == 0) {
            cc.free_null++;
            free(NULL);
        } else {
            slots[s] = cc_release(slots[s], kinds[s]); /* a resized block stays free()'s */
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
        cc_free_block(slots[s], kinds[s]);
        slots[s] = NULL;
    }
    if (kept != CC_LEAKED)
        cc_die("fewer blocks live than CC_LEAKED at the end");
    char line[1024];
    size_t len = 0;
    for (unsigned k = 0; k < CC_KINDS; k++) {
        int got = snprintf(line + len, sizeof line - len, "%s=%lu bytes_%s=%llu ", cc_kind_names[k],
                           cc.calls[k], cc_kind_names[k], cc.bytes[k]);
        if (got <= 0 || (size_t)got >= sizeof line - len)
            cc_die("the counts do not fit their line");
        len += (size_t)got;
    }
    int got = snprintf(line + len, sizeof line - len,
                       "realloc_zero=%lu free=%lu free_null=%lu live=%zu requested=%llu\n",
                       cc.realloc_zero, cc.free_calls, cc.free_null, kept, cc.requested);
    if (got <= 0 || (size_t)got >= sizeof line - len)
        cc_die("the counts do not fit their line");
    len += (size_t)got;
    if (write(1, line, len) != (ssize_t)len)
        cc_die("cannot write the counts");
    return 0;
}
