/* symmodule.c - see symmodule.h. Each module has its own elfutils Dwfl
 * session, reported at base 0, so every address inside is a file address
 * and one session serves every image whatever its load bias. The session
 * reads the ELF file, its .symtab/.dynsym, the symbol table of a
 * MiniDebugInfo section (.gnu_debugdata, xz-compressed, which libdw
 * unpacks), and DWARF, also from separate debug files that dwfl's standard
 * callbacks find by build-id or .gnu_debuglink under the directories of
 * ORTHO_TRACE_DEBUG_PATH, then /usr/lib/debug (and via debuginfod when
 * DEBUGINFOD_URLS is set in the collector's environment, as in every
 * elfutils tool). Without DEBUGINFOD_URLS the search is our own
 * (find_local_debuginfo): elfutils 0.188's standard one loads
 * libdebuginfod, and with it some 30 more shared objects (curl, TLS,
 * LDAP), the first time a module has no local debug file, URLs or not:
 * code the collector never needs, loaded into every collector.
 *
 * What outlives a session (it is closed to bound descriptors): the sorted
 * function index, whose names are copied out of the file's string table
 * when it is built, the cache of answers and the pool of interned strings
 * every answer points into. What dies with it: dwfl's DWARF and the CU
 * index, whose entries point into it; a reopened session rebuilds that on
 * first need. Reopening checks the file is still the same one (identity as
 * at registration); a file replaced since keeps its module named by
 * function only.
 *
 * Rules: never prints (the naming thread counts what it could not do:
 * sym_modules_stats). Only hits are cached, and only answers made with the
 * session open, or without it for good (the file is gone): a pc looked up
 * while descriptors ran out is looked up again next time. One pc gives one
 * frame: code inlined into a function is reported as that function at the
 * line of the outermost inlined call, so name and line always agree. Known
 * limit: libelf maps files; a module file truncated in place while its
 * session is open raises SIGBUS on access, as in every mmap-based debugger
 * (replacement by rename, as package managers and linkers do, is harmless:
 * the old inode stays open). */
#include "symmodule.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <dlfcn.h>
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* The C++ demangler, __cxa_demangle (the Itanium C++ ABI fixes its name
 * and contract: returns a malloc'd string, status 0 on success), taken from
 * libstdc++ the first time a C++ name needs it. Linked instead, libstdc++
 * was loaded and relocated at every collector's start, which the traced
 * program waits for: 2.5-3 ms of each traced start here, for C programs
 * that never need it. Without libstdc++ C++ names stay mangled. */
typedef char *(*sym_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);
static pthread_once_t sym_demangler_once = PTHREAD_ONCE_INIT;
static sym_demangle_fn sym_demangler;

static void sym_demangler_load(void)
{
    /* Kept loaded: the collector names C++ frames until it exits. */
    void *lib = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
    if (lib != NULL)
        sym_demangler = (sym_demangle_fn)(uintptr_t)dlsym(lib, "__cxa_demangle");
}

#define FRAME_CACHE_MIN_SLOTS 256u /* first table size; power of two */
#define STRING_POOL_MIN_SLOTS 64u  /* first table size; power of two */
#define BUILD_ID_MAX 64u           /* bytes kept of a build id (GNU ld writes 20) */

/* Symbols looked at before the nearest one when a function's range may
 * enclose smaller ones (nested FUNC symbols are rare; this bounds a miss). */
#define SYMBOL_LOOKBACK 32u

/* Descriptors a module's open session is counted for: its file and a
 * separate debug file (a dwz alternate file, rare, may add one). */
#define FDS_PER_SESSION 2u
#define OPEN_CAP_MAX 32u
#define OPEN_CAP_MIN 2u

/* One function symbol of a module, in file addresses. */
struct sym_entry {
    uint64_t start;
    uint64_t size;    /* without a size of its own (hand-written assembly): up to the
                       * next symbol or the end of its section, whichever is first */
    const char *name; /* in the module's names blob: outlives the session */
    uint8_t rank;     /* among aliases at one address, the highest names it: global > weak > local */
    bool sizeless;    /* size was derived, not given */
};

/* One address range of one compile unit, in file addresses. */
struct cu_range {
    uint64_t low;  /* first address */
    uint64_t high; /* one past the last address */
    Dwarf_Die *cu; /* dwfl's CU DIE; lives as long as the session */
};

struct frame_slot {
    uint64_t pc;         /* as asked, before the return-address adjustment */
    bool used;           /* slot holds an answer */
    bool return_address; /* second half of the key */
    sym_frame_t frame;   /* the answer; strings point into the string pool */
};

struct string_pool {
    char **strings;  /* open-addressing set of owned strings */
    size_t slots;    /* table size, power of two (0: none yet) */
    size_t count;    /* slots used */
};

/* What makes two registrations one module. */
struct module_id {
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    size_t build_id_len;        /* 0: none */
    unsigned char build_id[BUILD_ID_MAX];
};

struct sym_module {
    struct module_id id;
    char *path;                 /* the first registration's: where it is reopened */
    uint64_t start, end;        /* file addresses its segments cover */
    bool fixed;                 /* ET_EXEC */
    unsigned refs;              /* images mapping it */
    Dwfl *dwfl;                 /* the open session, or NULL */
    Dwfl_Module *mod;           /* its one module */
    bool gone;                  /* the file cannot be opened as this module again */
    bool ever_opened;
    struct cu_range *cus;       /* CU ranges sorted by low; built on first need per session */
    size_t cu_count;
    Dwarf_Addr dwarf_bias;      /* file address - DWARF address, for cus */
    bool cus_indexed;           /* cus was built this session (or failed): never retry */
    struct sym_entry *syms;     /* function symbols sorted by start, then rank */
    size_t sym_count;
    char *sym_names;            /* the names syms point to */
    bool syms_indexed;          /* built (or building failed): never retry */
    struct frame_slot *frames;  /* open-addressing cache of answers */
    size_t frame_slots, frame_count;
    struct string_pool pool;
    struct sym_module *lru_prev, *lru_next;   /* open sessions, most recent first */
    struct sym_module *idle_prev, *idle_next; /* refs == 0, oldest first */
};

struct sym_modules {
    Dwfl_Callbacks callbacks;  /* dwfl's, which point at debug_path */
    char *debug_path;          /* where separate debug files are looked for */
    bool debuginfod;           /* DEBUGINFOD_URLS set: dwfl's standard search, servers too */
    struct sym_module **all;   /* every module, unordered */
    size_t count, cap;
    struct sym_module *lru_head, *lru_tail;
    size_t open_count, open_cap;
    struct sym_module *idle_head, *idle_tail;
    size_t idle_count;
    unsigned users;            /* its creator and every symbolizer on it */
    uint64_t created, opened, reopened, closed, unopenable;
};

/* dwfl's default debug path: the module's own directory, its .debug/
 * subdirectory, and the root where distributions install debug files
 * (/usr/lib/debug/.build-id/xx/yyyy.debug, /usr/lib/debug/<module path>). */
#define SYMBOLIZE_DEFAULT_DEBUG_PATH ":.debug:/usr/lib/debug"

/* The debug path: the absolute directories of ORTHO_TRACE_DEBUG_PATH
 * (colon-separated) first, then the default. A relative entry is dropped:
 * dwfl would take it relative to each module's directory. malloc'd; NULL
 * on out of memory. */
static char *symbolize_debug_path(void)
{
    const char *extra = getenv("ORTHO_TRACE_DEBUG_PATH");
    size_t cap = (extra != NULL ? strlen(extra) + 1 : 0) + sizeof SYMBOLIZE_DEFAULT_DEBUG_PATH;
    char *path = malloc(cap);
    if (path == NULL)
        return NULL;
    size_t len = 0;
    for (const char *at = extra; at != NULL && *at != '\0';) {
        const char *end = strchr(at, ':');
        size_t n = end != NULL ? (size_t)(end - at) : strlen(at);
        if (n > 0 && at[0] == '/') {
            memcpy(path + len, at, n);
            len += n;
            path[len++] = ':';
        }
        at = end != NULL ? end + 1 : at + n;
    }
    memcpy(path + len, SYMBOLIZE_DEFAULT_DEBUG_PATH, sizeof SYMBOLIZE_DEFAULT_DEBUG_PATH);
    return path;
}

/* ---- string pool ---------------------------------------------------------- */

static uint64_t hash_bytes(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64-bit offset basis */
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        h ^= *p;
        h *= 0x100000001b3ull; /* FNV-1a 64-bit prime */
    }
    return h;
}

/* Doubles the string set. Returns false on out of memory (set unchanged). */
static bool string_pool_grow(struct string_pool *s)
{
    size_t slots = s->slots ? s->slots * 2 : STRING_POOL_MIN_SLOTS;
    char **table = calloc(slots, sizeof *table);
    if (table == NULL)
        return false;
    for (size_t i = 0; i < s->slots; i++) {
        char *str = s->strings[i];
        if (str == NULL)
            continue;
        size_t j = (size_t)hash_bytes(str) & (slots - 1);
        while (table[j] != NULL)
            j = (j + 1) & (slots - 1);
        table[j] = str;
    }
    free(s->strings);
    s->strings = table;
    s->slots = slots;
    return true;
}

/* Returns the pool's copy of text (one copy per distinct text, so the many
 * frames of one source file share it), or NULL if text is NULL or on out of
 * memory. The copy lives as long as the pool. */
static const char *string_pool_intern(struct string_pool *s, const char *text)
{
    if (text == NULL)
        return NULL;
    /* Keep the load at or below one half so probes stay short. */
    if ((s->count + 1) * 2 > s->slots && !string_pool_grow(s))
        return NULL;
    size_t j = (size_t)hash_bytes(text) & (s->slots - 1);
    for (; s->strings[j] != NULL; j = (j + 1) & (s->slots - 1)) {
        if (strcmp(s->strings[j], text) == 0)
            return s->strings[j];
    }
    char *copy = strdup(text);
    if (copy == NULL)
        return NULL;
    s->strings[j] = copy;
    s->count++;
    return copy;
}

static void string_pool_free(struct string_pool *s)
{
    for (size_t i = 0; i < s->slots; i++)
        free(s->strings[i]);
    free(s->strings);
    memset(s, 0, sizeof *s);
}

/* Interns the demangled form of a C++ name, or name itself otherwise.
 * Only "_Z" names are given to the demangler: it would also "demangle" a
 * plain C name such as "f" as a type ("float"). A symbol version suffix
 * ("malloc@@GLIBC_2.2.5", "memcpy@GLIBC_2.14") is dropped first: it names
 * the ABI, not the function, and would split one function into several. */
static const char *string_pool_intern_symbol(struct string_pool *s, const char *name)
{
    char bare[512];
    const char *at = name != NULL && name[0] != '@' ? strchr(name, '@') : NULL;
    if (at != NULL && (size_t)(at - name) < sizeof bare) {
        memcpy(bare, name, (size_t)(at - name));
        bare[at - name] = '\0';
        name = bare;
    }
    if (name == NULL || strncmp(name, "_Z", 2) != 0)
        return string_pool_intern(s, name);
    pthread_once(&sym_demangler_once, sym_demangler_load);
    int status = -1;
    char *demangled = sym_demangler != NULL ? sym_demangler(name, NULL, NULL, &status) : NULL;
    const char *result = string_pool_intern(s, status == 0 && demangled ? demangled : name);
    free(demangled);
    return result;
}

/* ---- answer cache --------------------------------------------------------- */

static size_t frame_slot_index(uint64_t pc, bool return_address, size_t slots)
{
    /* splitmix64 finalizer: pcs share their high bits and alignment, so
     * their low bits alone would cluster. */
    uint64_t x = pc ^ (return_address ? 0x9e3779b97f4a7c15ull : 0);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (size_t)x & (slots - 1);
}

static const struct frame_slot *frame_cache_find(const struct sym_module *m, uint64_t pc,
                                                 bool return_address)
{
    if (m->frame_slots == 0)
        return NULL;
    size_t j = frame_slot_index(pc, return_address, m->frame_slots);
    for (; m->frames[j].used; j = (j + 1) & (m->frame_slots - 1)) {
        if (m->frames[j].pc == pc && m->frames[j].return_address == return_address)
            return &m->frames[j];
    }
    return NULL;
}

/* Doubles the cache. Returns false on out of memory (cache unchanged). */
static bool frame_cache_grow(struct sym_module *m)
{
    size_t slots = m->frame_slots ? m->frame_slots * 2 : FRAME_CACHE_MIN_SLOTS;
    struct frame_slot *table = calloc(slots, sizeof *table);
    if (table == NULL)
        return false;
    for (size_t i = 0; i < m->frame_slots; i++) {
        const struct frame_slot *old = &m->frames[i];
        if (!old->used)
            continue;
        size_t j = frame_slot_index(old->pc, old->return_address, slots);
        while (table[j].used)
            j = (j + 1) & (slots - 1);
        table[j] = *old;
    }
    free(m->frames);
    m->frames = table;
    m->frame_slots = slots;
    return true;
}

/* Remembers an answer for a key not yet cached. On out of memory the answer
 * is simply not cached: the next lookup recomputes it. */
static void frame_cache_insert(struct sym_module *m, uint64_t pc, bool return_address,
                               const sym_frame_t *frame)
{
    if ((m->frame_count + 1) * 2 > m->frame_slots && !frame_cache_grow(m))
        return;
    size_t j = frame_slot_index(pc, return_address, m->frame_slots);
    while (m->frames[j].used)
        j = (j + 1) & (m->frame_slots - 1);
    m->frames[j] = (struct frame_slot){
        .pc = pc, .used = true, .return_address = return_address, .frame = *frame};
    m->frame_count++;
}

/* ---- files ---------------------------------------------------------------- */

/* Opens path for reading without following it into a FIFO or device: a
 * FIFO would block the open forever and a device is never a module
 * (O_NONBLOCK, left set, changes nothing for a regular file). Returns the
 * fd, or -1 with errno set (0 for a file that is not regular). */
static int module_open(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = 0;
        return -1;
    }
    return fd;
}

static void module_id_from_stat(struct module_id *id, const struct stat *st)
{
    id->dev = (uint64_t)st->st_dev;
    id->ino = (uint64_t)st->st_ino;
    id->size = (uint64_t)st->st_size;
    id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec;
}

/* Whether a and b are one module: one inode, and one build id - or, without
 * one, one mtime and size (what was written there is then all we know). */
static bool module_id_same(const struct module_id *a, const struct module_id *b)
{
    if (a->dev != b->dev || a->ino != b->ino)
        return false;
    if (a->build_id_len != 0 || b->build_id_len != 0)
        return a->build_id_len == b->build_id_len &&
               memcmp(a->build_id, b->build_id, a->build_id_len) == 0;
    return a->size == b->size && a->mtime_ns == b->mtime_ns;
}

/* Reads fd's identity and the file addresses [start, end) that
 * dwfl_report_elf(..., base 0, true) will give its module, and whether
 * those are fixed (ET_EXEC: dwfl ignores the base of a file that is never
 * relocated). Returns false if fd is not a loadable ELF file (also:
 * truncated before its program headers end, or no PT_LOAD). */
static bool module_probe(int fd, struct module_id *id, uint64_t *start, uint64_t *end, bool *fixed)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return false;
    memset(id, 0, sizeof *id);
    module_id_from_stat(id, &st);
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf == NULL)
        return false;
    bool ok = false;
    GElf_Ehdr ehdr;
    size_t phnum = 0;
    if (elf_kind(elf) != ELF_K_ELF || gelf_getehdr(elf, &ehdr) == NULL
        || (ehdr.e_type != ET_DYN && ehdr.e_type != ET_EXEC)
        || elf_getphdrnum(elf, &phnum) != 0)
        goto done;
    bool have_first = false;
    uint64_t first = 0, last = 0;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) == NULL)
            goto done;
        if (ph.p_type != PT_LOAD)
            continue;
        if (!have_first) {
            first = ph.p_vaddr & -ph.p_align; /* dwfl rounds down the same way */
            have_first = true;
        }
        if (ph.p_vaddr + ph.p_memsz > 0)
            last = ph.p_vaddr + ph.p_memsz;
    }
    *start = first;
    *end = last;
    *fixed = ehdr.e_type == ET_EXEC;
    ok = have_first && last > first; /* also refuses a range that wraps */
    const void *build_id = NULL;
    ssize_t len = ok ? dwelf_elf_gnu_build_id(elf, &build_id) : 0;
    if (len > 0 && build_id != NULL) {
        id->build_id_len = (size_t)len < BUILD_ID_MAX ? (size_t)len : BUILD_ID_MAX;
        memcpy(id->build_id, build_id, id->build_id_len);
    }
done:
    elf_end(elf);
    return ok;
}

/* ---- sessions ------------------------------------------------------------- */

static void lru_unlink(struct sym_modules *r, struct sym_module *m)
{
    if (m->lru_prev != NULL)
        m->lru_prev->lru_next = m->lru_next;
    else
        r->lru_head = m->lru_next;
    if (m->lru_next != NULL)
        m->lru_next->lru_prev = m->lru_prev;
    else
        r->lru_tail = m->lru_prev;
    m->lru_prev = m->lru_next = NULL;
}

static void lru_push_front(struct sym_modules *r, struct sym_module *m)
{
    m->lru_prev = NULL;
    m->lru_next = r->lru_head;
    if (r->lru_head != NULL)
        r->lru_head->lru_prev = m;
    else
        r->lru_tail = m;
    r->lru_head = m;
}

/* Ends m's session: its descriptors, DWARF and CU index go; its function
 * index, cache and strings stay. */
static void module_close(struct sym_modules *r, struct sym_module *m)
{
    if (m->dwfl == NULL)
        return;
    dwfl_end(m->dwfl);
    m->dwfl = NULL;
    m->mod = NULL;
    free(m->cus);
    m->cus = NULL;
    m->cu_count = 0;
    m->cus_indexed = false;
    lru_unlink(r, m);
    r->open_count--;
}

/* Opens the module's file; when descriptors have run out, closes every
 * other session and tries once more. -1 with errno as open's. */
static int module_open_room(struct sym_modules *r, struct sym_module *m)
{
    int fd = module_open(m->path);
    if (fd >= 0 || (errno != EMFILE && errno != ENFILE))
        return fd;
    while (r->lru_tail != NULL) {
        module_close(r, r->lru_tail);
        r->closed++;
    }
    return module_open(m->path);
}

/* Makes sure m has a session, opening (or reopening) its file and closing
 * the least recently used session beyond the cap. false if it cannot:
 * descriptors ran out (*no_fds), or the file is no longer this module. */
static bool module_session(struct sym_modules *r, struct sym_module *m, bool *no_fds)
{
    *no_fds = false;
    if (m->dwfl != NULL) {
        if (r->lru_head != m) {
            lru_unlink(r, m);
            lru_push_front(r, m);
        }
        return true;
    }
    if (m->gone)
        return false;
    while (r->open_count >= r->open_cap && r->lru_tail != NULL) {
        module_close(r, r->lru_tail);
        r->closed++;
    }
    int fd = module_open_room(r, m);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE)
            *no_fds = true;
        else
            m->gone = true;
        return false;
    }
    struct module_id id;
    uint64_t start = 0, end = 0;
    bool fixed = false;
    if (!module_probe(fd, &id, &start, &end, &fixed) || !module_id_same(&id, &m->id) ||
        start != m->start || end != m->end) {
        close(fd); /* replaced since: its functions stay named from the index */
        m->gone = true;
        return false;
    }
    Dwfl *dwfl = dwfl_begin(&r->callbacks);
    Dwfl_Module *mod = NULL;
    if (dwfl != NULL) {
        /* add_p_vaddr=true with base 0: dwfl's addresses are the file's own
         * (p_vaddr), for an ET_DYN file as for an ET_EXEC one. */
        dwfl_report_begin(dwfl);
        mod = dwfl_report_elf(dwfl, m->path, m->path, fd, 0, true);
        dwfl_report_end(dwfl, NULL, NULL);
        void **userdata = NULL;
        if (mod != NULL && dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL) &&
            userdata != NULL)
            *userdata = r; /* for find_local_debuginfo: the debug path */
    }
    if (mod == NULL) {
        close(fd); /* dwfl consumes fd only on success */
        dwfl_end(dwfl);
        m->gone = dwfl != NULL; /* else out of memory: try again later */
        return false;
    }
    m->dwfl = dwfl;
    m->mod = mod;
    r->open_count++;
    r->opened++;
    if (m->ever_opened)
        r->reopened++;
    m->ever_opened = true;
    lru_push_front(r, m);
    return true;
}

/* ---- signal trampolines ---------------------------------------------------- */

/* The code of the restorer a signal handler returns into: the rt_sigreturn
 * system call. x86-64: "mov $15,%rax; syscall" (glibc's and musl's
 * __restore_rt); AArch64: "mov x8,#139; svc #0". The kernel documents no
 * other marker, so debuggers and unwinders (gdb, libunwind) recognise the
 * trampoline by these bytes too. */
static const unsigned char trampoline_x86_64[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00,
                                                  0x00, 0x00, 0x0f, 0x05};
static const unsigned char trampoline_aarch64[] = {0x68, 0x11, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4};

/* Whether pc (a file address in mod) is the first instruction of a signal
 * trampoline, read from the module's file: the bytes of the PT_LOAD
 * segment holding it. false when they cannot be read. */
static bool module_is_signal_trampoline(Dwfl_Module *mod, uint64_t pc)
{
    Dwarf_Addr bias = 0;
    Elf *elf = dwfl_module_getelf(mod, &bias);
    GElf_Ehdr ehdr;
    size_t phnum = 0, file_bytes = 0;
    if (elf == NULL || gelf_getehdr(elf, &ehdr) == NULL || elf_getphdrnum(elf, &phnum) != 0)
        return false;
    const unsigned char *code = ehdr.e_machine == EM_X86_64    ? trampoline_x86_64
                                : ehdr.e_machine == EM_AARCH64 ? trampoline_aarch64
                                                               : NULL;
    size_t code_bytes = ehdr.e_machine == EM_X86_64 ? sizeof trampoline_x86_64
                                                    : sizeof trampoline_aarch64;
    const char *file = elf_rawfile(elf, &file_bytes);
    if (code == NULL || file == NULL || pc < bias)
        return false;
    uint64_t vaddr = pc - bias;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) == NULL || ph.p_type != PT_LOAD || vaddr < ph.p_vaddr ||
            vaddr - ph.p_vaddr >= ph.p_filesz || ph.p_filesz - (vaddr - ph.p_vaddr) < code_bytes)
            continue;
        uint64_t offset = ph.p_offset + (vaddr - ph.p_vaddr);
        /* The file may be shorter than its headers claim: never read past it. */
        return offset <= file_bytes && file_bytes - offset >= code_bytes &&
               memcmp(file + offset, code, code_bytes) == 0;
    }
    return false;
}

/* ---- lookup --------------------------------------------------------------- */

/* Name of a subprogram DIE: the linkage name (mangled, for C++) if it has
 * one, else its plain name. Used only when no ELF symbol covers the pc. */
static const char *die_function_name(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (name == NULL)
        name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    return name != NULL ? name : dwarf_diename(die);
}

/* Fills out->file and out->line for the call site of the outermost inlined
 * call containing the pc, so the location belongs to the function the
 * symbol names. Returns false if the DIE lacks the call attributes. */
static bool inline_call_site(struct string_pool *pool, Dwarf_Die *inlined, sym_frame_t *out)
{
    Dwarf_Attribute attr;
    Dwarf_Word file_index = 0, line = 0;
    if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &file_index) != 0
        || dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &line) != 0)
        return false;
    /* The file index refers to the file table of the unit holding this DIE,
     * which with dwz may be a partial unit rather than the pc's CU. */
    Dwarf_Die unit;
    Dwarf_Files *files = NULL;
    size_t file_count = 0;
    if (dwarf_diecu(inlined, &unit, NULL, NULL) == NULL
        || dwarf_getsrcfiles(&unit, &files, &file_count) != 0 || file_index >= file_count)
        return false;
    const char *file = dwarf_filesrc(files, file_index, NULL, NULL);
    if (file == NULL)
        return false;
    out->file = string_pool_intern(pool, file);
    out->line = line <= (Dwarf_Word)(unsigned)-1 ? (unsigned)line : 0;
    return out->file != NULL;
}

/* How many leading entries of a sorted array have a key at or below value:
 * entries are `stride` bytes, their uint64_t key at key_offset. Both the
 * CU ranges and the symbols are looked up this way. */
static size_t sorted_count_at_or_below(const void *base, size_t count, size_t stride,
                                       size_t key_offset, uint64_t value)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t key;
        memcpy(&key, (const char *)base + mid * stride + key_offset, sizeof key);
        if (key <= value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int cu_range_compare(const void *a, const void *b)
{
    uint64_t x = ((const struct cu_range *)a)->low, y = ((const struct cu_range *)b)->low;
    return (x > y) - (x < y);
}

/* Builds m->cus from every CU's DW_AT_low_pc/high_pc/ranges. Needed because
 * elfutils 0.188 finds a pc's CU (dwfl_module_addrdie) only through
 * .debug_aranges, which clang does not emit by default. Runs once per
 * session; on out of memory the index stays empty and only file:line is lost. */
static void module_index_cus(struct sym_module *m)
{
    m->cus_indexed = true;
    struct cu_range *ranges = NULL;
    size_t count = 0, capacity = 0;
    Dwarf_Addr bias = 0;
    for (Dwarf_Die *cu = NULL; (cu = dwfl_module_nextcu(m->mod, cu, &bias)) != NULL;) {
        Dwarf_Addr base = 0, low = 0, high = 0;
        for (ptrdiff_t at = 0; (at = dwarf_ranges(cu, at, &base, &low, &high)) > 0;) {
            /* Linkers leave discarded (COMDAT, gc'd) code at address 0
             * (GNU ld) or -1 (lld): not code of this module. */
            if (low == 0 || low >= high)
                continue;
            if (count == capacity) {
                size_t grown_capacity = capacity ? capacity * 2 : 64;
                struct cu_range *grown = realloc(ranges, grown_capacity * sizeof *grown);
                if (grown == NULL) {
                    free(ranges);
                    return;
                }
                ranges = grown;
                capacity = grown_capacity;
            }
            ranges[count++] = (struct cu_range){.low = low + bias, .high = high + bias, .cu = cu};
        }
        m->dwarf_bias = bias;
    }
    if (count > 1)
        qsort(ranges, count, sizeof *ranges, cu_range_compare);
    m->cus = ranges;
    m->cu_count = count;
}

/* The CU covering addr from the module's own index, or NULL. Sets *bias. */
static Dwarf_Die *module_find_cu(struct sym_module *m, uint64_t addr, Dwarf_Addr *bias)
{
    if (!m->cus_indexed)
        module_index_cus(m);
    /* The last range starting at or below addr; CU ranges do not overlap. */
    size_t lo = sorted_count_at_or_below(m->cus, m->cu_count, sizeof *m->cus,
                                         offsetof(struct cu_range, low), addr);
    if (lo == 0 || addr >= m->cus[lo - 1].high)
        return NULL;
    *bias = m->dwarf_bias;
    return m->cus[lo - 1].cu;
}

static int sym_entry_compare(const void *a, const void *b)
{
    const struct sym_entry *x = a, *y = b;
    if (x->start != y->start)
        return (x->start > y->start) - (x->start < y->start);
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* Builds m->syms from the module's symbol table (.symtab, else .dynsym,
 * plus what dwfl finds in separate debug files): function symbols only,
 * sorted, their names copied into one block so they outlive the session.
 * Needed because elfutils' own address-to-symbol lookup walks the whole
 * table on every call, which for a large program (gcc's cc1: 3,600 stacks)
 * took seconds per process. Once per module; on out of memory the index
 * stays empty and names come from DWARF alone. */
static void module_index_symbols(struct sym_module *m)
{
    m->syms_indexed = true;
    int n = dwfl_module_getsymtab(m->mod);
    if (n <= 1)
        return;
    struct sym_entry *syms = malloc((size_t)n * sizeof *syms);
    if (syms == NULL)
        return;
    size_t count = 0, name_bytes = 0;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr = 0;
        GElf_Word shndx = 0;
        Elf *elf = NULL;
        Dwarf_Addr bias = 0;
        const char *name = dwfl_module_getsym_info(m->mod, i, &sym, &addr, &shndx, &elf, &bias);
        int type = GELF_ST_TYPE(sym.st_info);
        if (name == NULL || name[0] == '\0' || shndx == SHN_UNDEF || addr == 0 ||
            (type != STT_FUNC && type != STT_GNU_IFUNC))
            continue;
        uint64_t size = sym.st_size;
        GElf_Shdr shdr;
        Elf_Scn *scn = size == 0 && elf != NULL ? elf_getscn(elf, shndx) : NULL;
        if (scn != NULL && gelf_getshdr(scn, &shdr) != NULL &&
            addr < shdr.sh_addr + bias + shdr.sh_size)
            size = shdr.sh_addr + bias + shdr.sh_size - addr; /* not past its section (.init before .plt) */
        int bind = GELF_ST_BIND(sym.st_info);
        syms[count++] = (struct sym_entry){.start = addr, .size = size, .name = name,
                                           .rank = bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0,
                                           .sizeless = sym.st_size == 0};
        name_bytes += strlen(name) + 1;
    }
    char *names = malloc(name_bytes + 1);
    if (names == NULL) {
        free(syms);
        return;
    }
    for (size_t i = 0, at = 0; i < count; i++) {
        size_t len = strlen(syms[i].name) + 1;
        memcpy(names + at, syms[i].name, len);
        syms[i].name = names + at;
        at += len;
    }
    if (count > 1)
        qsort(syms, count, sizeof *syms, sym_entry_compare);
    /* Nor past the next symbol: a gap after a sized function is nobody's. */
    for (size_t i = 0, next = 0; i < count; i++) {
        while (next < count && syms[next].start <= syms[i].start)
            next++;
        if (syms[i].sizeless && next < count && syms[i].start + syms[i].size > syms[next].start)
            syms[i].size = syms[next].start - syms[i].start;
    }
    m->syms = syms;
    m->sym_count = count;
    m->sym_names = names;
}

/* The name of the function symbol holding addr: the nearest one at or
 * below it whose extent covers it, the highest-ranked of aliases. NULL if
 * none (or not indexed). */
static const char *module_symbol_at(const struct sym_module *m, uint64_t addr)
{
    size_t lo = sorted_count_at_or_below(m->syms, m->sym_count, sizeof *m->syms,
                                         offsetof(struct sym_entry, start), addr);
    /* Walking down, aliases come highest rank first. */
    for (size_t i = lo, seen = 0; i-- > 0 && seen < SYMBOL_LOOKBACK; seen++) {
        const struct sym_entry *e = &m->syms[i];
        if (addr - e->start < e->size)
            return e->name;
    }
    return NULL;
}

/* Fills file and line from DWARF, and the function from it when no symbol
 * gave one. addr is the adjusted pc (pc - 1 for return addresses). Every
 * piece is optional. Needs the session. */
static void resolve_dwarf(struct sym_module *m, Dwarf_Addr addr, sym_frame_t *out)
{
    /* Scopes run from the innermost (a lexical block or inlined call) out
     * to the CU. Find the physical function (innermost subprogram) and the
     * outermost inlined call inside it. */
    Dwarf_Addr dwarf_bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(m->mod, addr, &dwarf_bias);
    if (cu == NULL)
        cu = module_find_cu(m, addr, &dwarf_bias);
    Dwarf_Die *scopes = NULL;
    int nscopes = cu != NULL ? dwarf_getscopes(cu, addr - dwarf_bias, &scopes) : 0;
    int subprogram = -1, outer_inline = -1;
    for (int i = 0; i < nscopes; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_subprogram) {
            subprogram = i;
            break;
        }
        if (tag == DW_TAG_inlined_subroutine)
            outer_inline = i;
    }
    if (out->function == NULL && subprogram >= 0)
        out->function = string_pool_intern_symbol(&m->pool, die_function_name(&scopes[subprogram]));
    bool located = outer_inline >= 0 && inline_call_site(&m->pool, &scopes[outer_inline], out);
    free(scopes);
    if (located)
        return;

    int line = 0;
    Dwarf_Line *row = cu != NULL ? dwarf_getsrc_die(cu, addr - dwarf_bias) : NULL;
    if (row == NULL || dwarf_lineno(row, &line) != 0)
        return;
    out->file = string_pool_intern(&m->pool, dwarf_linesrc(row, NULL, NULL));
    out->line = out->file != NULL && line > 0 ? (unsigned)line : 0;
}

void sym_module_lookup(struct sym_modules *r, struct sym_module *m, uint64_t pc,
                       bool return_address, sym_frame_t *out)
{
    const struct frame_slot *hit = frame_cache_find(m, pc, return_address);
    if (hit != NULL) {
        out->function = hit->frame.function;
        out->file = hit->frame.file;
        out->line = hit->frame.line;
        out->signal_frame = hit->frame.signal_frame;
        return;
    }
    /* A return address points after the call; when the call is a
     * function's last instruction (a call to a noreturn function), it even
     * points into the next function. pc - 1 lies inside the call. */
    uint64_t addr = return_address && pc > 0 ? pc - 1 : pc;
    bool no_fds = false;
    bool open = module_session(r, m, &no_fds);
    if (open && !m->syms_indexed)
        module_index_symbols(m);
    sym_frame_t f = {0};
    f.function = string_pool_intern_symbol(&m->pool, module_symbol_at(m, addr));
    if (open) {
        f.signal_frame = module_is_signal_trampoline(m->mod, pc);
        resolve_dwarf(m, addr, &f);
        if (f.signal_frame && f.function == NULL)
            f.function = string_pool_intern(&m->pool, SYMBOLIZE_SIGNAL_FRAME_NAME);
    }
    out->function = f.function;
    out->file = f.file;
    out->line = f.line;
    out->signal_frame = f.signal_frame;
    if (no_fds) {
        r->unopenable++; /* asked again next time: descriptors may be back */
        return;
    }
    frame_cache_insert(m, pc, return_address, &f);
}

/* ---- separate debug files -------------------------------------------------- */

/* Whether the ELF file open at fd carries the build id bits[0..len). */
static bool debug_file_matches(int fd, const unsigned char *bits, int len)
{
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf == NULL)
        return false;
    const void *id = NULL;
    ssize_t id_len = dwelf_elf_gnu_build_id(elf, &id);
    bool same = id_len == (ssize_t)len && id != NULL && memcmp(id, bits, (size_t)len) == 0;
    elf_end(elf);
    return same;
}

/* The .gnu_debuglink search, for a module with a build id: for each
 * directory D of the debug path, `link` in D (absolute: under D, at the
 * module's own directory's path, as gdb lays out /usr/lib/debug), in the
 * module's directory (an empty D) or in a subdirectory of it (a relative
 * D, ".debug"). A candidate counts only with the module's build id (so
 * never a stale or foreign file of the same name) and only if it is not
 * the module file itself. The fd, its path malloc'd in *found; else -1. */
static int find_debuglink(const char *debug_path, const char *file_name, const char *link,
                          const unsigned char *bits, int len, char **found)
{
    const char *slash = strrchr(file_name, '/');
    if (slash == NULL || strchr(link, '/') != NULL)
        return -1;
    size_t dir_len = (size_t)(slash - file_name); /* without the slash; 0 for "/prog" */
    struct stat main_st;
    if (stat(file_name, &main_st) != 0)
        return -1;
    char path[PATH_MAX];
    for (const char *at = debug_path; at != NULL;) {
        const char *end = strchr(at, ':');
        size_t n = end != NULL ? (size_t)(end - at) : strlen(at);
        int w, d = (int)dir_len, e = (int)n;
        if (n == 0)
            w = snprintf(path, sizeof path, "%.*s/%s", d, file_name, link);
        else if (at[0] == '/')
            w = snprintf(path, sizeof path, "%.*s%.*s/%s", e, at, d, file_name, link);
        else
            w = snprintf(path, sizeof path, "%.*s/%.*s/%s", d, file_name, e, at, link);
        at = end != NULL ? end + 1 : NULL;
        if (w < 0 || (size_t)w >= sizeof path)
            continue;
        int fd = module_open(path);
        if (fd < 0)
            continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && !(st.st_dev == main_st.st_dev && st.st_ino == main_st.st_ino) &&
            debug_file_matches(fd, bits, len) && (*found = strdup(path)) != NULL)
            return fd;
        close(fd);
    }
    return -1;
}

/* dwfl's find_debuginfo callback. With DEBUGINFOD_URLS set, dwfl's
 * standard search (local files, then the servers). Without, local files
 * only, the same places: by build id under each directory of the debug
 * path (dwfl's own lookup, which never loads libdebuginfod), then by
 * .gnu_debuglink (find_debuglink). A module without a build id, which
 * only the debug link's CRC can match to its file, also takes the
 * standard search. */
static int find_local_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                                Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                                GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    const struct sym_modules *r = userdata != NULL ? *userdata : NULL;
    const unsigned char *bits = NULL;
    GElf_Addr vaddr = 0;
    int len = r != NULL && !r->debuginfod ? dwfl_module_build_id(mod, &bits, &vaddr) : 0;
    if (len <= 0)
        return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
                                            debuglink_file, debuglink_crc, debuginfo_file_name);
    int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                          debuglink_crc, debuginfo_file_name);
    if (fd >= 0 || file_name == NULL || debuglink_file == NULL)
        return fd;
    return find_debuglink(r->debug_path, file_name, debuglink_file, bits, len,
                          debuginfo_file_name);
}

/* ---- the registry ---------------------------------------------------------- */

static size_t open_cap_default(void)
{
    struct rlimit rl;
    size_t cap = OPEN_CAP_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        cap = (size_t)(rl.rlim_cur / 8u / FDS_PER_SESSION);
    return cap < OPEN_CAP_MIN ? OPEN_CAP_MIN : cap > OPEN_CAP_MAX ? OPEN_CAP_MAX : cap;
}

struct sym_modules *sym_modules_create(size_t open_cap)
{
    struct sym_modules *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    elf_version(EV_CURRENT); /* libelf refuses to work until told the version */
    r->open_cap = open_cap != 0 ? open_cap : open_cap_default();
    r->users = 1;
    /* find_debuginfo looks for separate debug files by build-id and
     * .gnu_debuglink along debug_path (find_local_debuginfo); symbols of a
     * MiniDebugInfo section (.gnu_debugdata) come with the module's own
     * symbol table. find_elf is never used for modules reported with
     * dwfl_report_elf, but dwfl expects one. */
    r->debug_path = symbolize_debug_path();
    if (r->debug_path == NULL) {
        free(r);
        return NULL;
    }
    const char *urls = getenv("DEBUGINFOD_URLS");
    r->debuginfod = urls != NULL && urls[0] != '\0';
    r->callbacks = (Dwfl_Callbacks){
        .find_elf = dwfl_build_id_find_elf,
        .find_debuginfo = find_local_debuginfo,
        .section_address = dwfl_offline_section_address,
        .debuginfo_path = &r->debug_path,
    };
    return r;
}

static void module_free(struct sym_modules *r, struct sym_module *m)
{
    module_close(r, m);
    free(m->syms);
    free(m->sym_names);
    free(m->frames);
    string_pool_free(&m->pool);
    free(m->path);
    free(m);
}

struct sym_modules *sym_modules_use(struct sym_modules *r)
{
    r->users++;
    return r;
}

void sym_modules_destroy(struct sym_modules *r)
{
    if (r == NULL || --r->users > 0)
        return;
    for (size_t i = 0; i < r->count; i++)
        module_free(r, r->all[i]);
    free(r->all);
    free(r->debug_path);
    free(r);
}

static void idle_unlink(struct sym_modules *r, struct sym_module *m)
{
    if (m->idle_prev != NULL)
        m->idle_prev->idle_next = m->idle_next;
    else
        r->idle_head = m->idle_next;
    if (m->idle_next != NULL)
        m->idle_next->idle_prev = m->idle_prev;
    else
        r->idle_tail = m->idle_prev;
    m->idle_prev = m->idle_next = NULL;
    r->idle_count--;
}

/* Forgets m (no image maps it) altogether. */
static void module_drop(struct sym_modules *r, struct sym_module *m)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->all[i] == m) {
            r->all[i] = r->all[--r->count];
            break;
        }
    module_free(r, m);
}

/* m with one more reference (off the idle list if it was there). */
static struct sym_module *module_ref(struct sym_modules *r, struct sym_module *m)
{
    if (m->refs++ == 0)
        idle_unlink(r, m);
    return m;
}

struct sym_module *sym_module_get(struct sym_modules *r, const char *path)
{
    if (r == NULL || path == NULL || path[0] == '\0')
        return NULL;
    /* Known and unchanged: no need to open it. A stat never blocks on a
     * FIFO; only a regular file can be a module. */
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return NULL;
    struct module_id seen = {0};
    module_id_from_stat(&seen, &st);
    for (size_t i = 0; i < r->count; i++) {
        const struct module_id *id = &r->all[i]->id;
        if (id->dev == seen.dev && id->ino == seen.ino && id->size == seen.size &&
            id->mtime_ns == seen.mtime_ns)
            return module_ref(r, r->all[i]);
    }

    int fd = module_open(path);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
        while (r->lru_tail != NULL) {
            module_close(r, r->lru_tail);
            r->closed++;
        }
        fd = module_open(path);
    }
    if (fd < 0)
        return NULL;
    struct module_id id;
    uint64_t start = 0, end = 0;
    bool fixed = false;
    bool loadable = module_probe(fd, &id, &start, &end, &fixed);
    close(fd);
    if (!loadable)
        return NULL;
    for (size_t i = 0; i < r->count; i++) {
        struct sym_module *m = r->all[i];
        if (module_id_same(&m->id, &id) && m->start == start && m->end == end)
            return module_ref(r, m);
    }
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        struct sym_module **grown = realloc(r->all, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        r->all = grown;
        r->cap = cap;
    }
    struct sym_module *m = calloc(1, sizeof *m);
    char *copy = strdup(path);
    if (m == NULL || copy == NULL) {
        free(m);
        free(copy);
        return NULL;
    }
    *m = (struct sym_module){.id = id, .path = copy, .start = start, .end = end, .fixed = fixed,
                             .refs = 1};
    r->all[r->count++] = m;
    r->created++;
    /* Indexed now, while the file is the one the image mapped: a file
     * replaced later (a rebuilt library) keeps every function named, and
     * a session that the cap closes before any lookup costs nothing more. */
    bool no_fds = false;
    if (module_session(r, m, &no_fds) && !m->syms_indexed)
        module_index_symbols(m);
    return m;
}

void sym_module_put(struct sym_modules *r, struct sym_module *m)
{
    if (m == NULL || --m->refs > 0)
        return;
    /* Idle, newest last; the oldest idle ones beyond the cap go. */
    m->idle_next = NULL;
    m->idle_prev = r->idle_tail;
    if (r->idle_tail != NULL)
        r->idle_tail->idle_next = m;
    else
        r->idle_head = m;
    r->idle_tail = m;
    r->idle_count++;
    while (r->idle_count > SYM_MODULES_IDLE_MAX) {
        struct sym_module *old = r->idle_head;
        idle_unlink(r, old);
        module_drop(r, old);
    }
}

void sym_module_range(const struct sym_module *m, uint64_t *start, uint64_t *end, bool *fixed)
{
    *start = m->start;
    *end = m->end;
    *fixed = m->fixed;
}

void sym_modules_stats(const struct sym_modules *r, struct sym_modules_stats *out)
{
    *out = (struct sym_modules_stats){.modules = r->count, .open = r->open_count,
                                      .open_cap = r->open_cap, .created = r->created,
                                      .opened = r->opened, .reopened = r->reopened,
                                      .closed = r->closed, .unopenable = r->unopenable};
}
