/* symbolize.c - program counter to function/module/file:line for the
 * collector. It owns one elfutils Dwfl session holding every module the
 * traced process reported (path + dlpi_addr), a cache of answers per
 * (pc, return_address), and a pool of interned strings that every answer
 * points into. It exists because the collector must symbolize after the
 * traced process is gone, so it cannot ask the process (no dladdr, no
 * /proc/pid/maps): it reads the ELF files, their .symtab/.dynsym, the
 * symbol table of a MiniDebugInfo section (.gnu_debugdata, xz-compressed,
 * which libdw unpacks), and DWARF, also from separate debug files that
 * dwfl's standard callbacks find by build-id or .gnu_debuglink under the
 * directories of ORTHO_TRACE_DEBUG_PATH, then /usr/lib/debug (and via
 * debuginfod when DEBUGINFOD_URLS is set in the collector's environment,
 * as in every elfutils tool).
 *
 * Rules: one thread at a time per symbolizer (Dwfl is not thread-safe).
 * Never prints: failures come back as false or NULL fields, and the caller
 * decides what to say. Strings handed out are never freed before
 * symbolizer_destroy, so a cached answer stays valid forever. Only hits are
 * cached: a miss may turn into a hit when a module is added later, and a
 * miss costs one binary search anyway. Modules never overlap (an overlapping
 * registration is refused), so a hit can never go stale. One pc gives one
 * frame: code inlined into a function is reported as that function at the
 * line of the outermost inlined call, so name and line always agree. Known
 * limit: libelf maps files; a module file truncated in place while
 * registered raises SIGBUS on access, as in every mmap-based debugger
 * (replacement by rename, as package managers and linkers do, is harmless:
 * the old inode stays open). */
#include "symbolize.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <fcntl.h>
#include <gelf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* From libstdc++ (the collector links stdc++); the Itanium C++ ABI fixes its
 * name and contract: returns a malloc'd string, status 0 on success. */
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define FRAME_CACHE_MIN_SLOTS 256u /* first table size; power of two */
#define STRING_POOL_MIN_SLOTS 256u /* first table size; power of two */

/* Symbols looked at before the nearest one when a function's range may
 * enclose smaller ones (nested FUNC symbols are rare; this bounds a miss). */
#define SYMBOL_LOOKBACK 32u

/* One function symbol of a module, in run-time addresses. */
struct sym_entry {
    uint64_t start;
    uint64_t size;    /* without a size of its own (hand-written assembly): up to the
                       * next symbol or the end of its section, whichever is first */
    const char *name; /* in the module's string table: lives as long as the Dwfl */
    uint8_t rank;     /* among aliases at one address, the highest names it: global > weak > local */
    bool sizeless;    /* size was derived, not given */
};

/* One address range of one compile unit, in run-time addresses. */
struct cu_range {
    uint64_t low;  /* first address */
    uint64_t high; /* one past the last address */
    Dwarf_Die *cu; /* dwfl's CU DIE; lives as long as the Dwfl */
};

struct module_record {
    const char *path;      /* interned copy of the registered path */
    uint64_t load_bias;    /* as registered: dlpi_addr, bytes */
    uint64_t start;        /* first address covered (dwfl's module start) */
    uint64_t end;          /* one past the last address covered */
    struct cu_range *cus;  /* CU ranges sorted by low; built on first need */
    size_t cu_count;       /* entries in cus */
    Dwarf_Addr dwarf_bias; /* run-time address - DWARF address, for cus */
    bool cus_indexed;      /* cus was built (or building it failed): never retry */
    struct sym_entry *syms; /* function symbols sorted by start, then rank; built on first need */
    size_t sym_count;
    bool syms_indexed;     /* as cus_indexed */
};

struct frame_slot {
    uint64_t pc;         /* as asked, before the return-address adjustment */
    bool used;           /* slot holds an answer */
    bool return_address; /* second half of the key */
    sym_frame_t frame;   /* the answer; strings point into the string pool */
};

struct symbolizer {
    Dwfl *dwfl;                       /* every registered module */
    Dwfl_Callbacks callbacks;         /* dwfl's, which point at debug_path */
    char *debug_path;                 /* where separate debug files are looked for */
    struct module_record **modules;   /* records, owned; dwfl userdata points here */
    size_t module_count;              /* records in use */
    size_t module_capacity;           /* records allocated */
    struct frame_slot *frames;        /* open-addressing cache of answers */
    size_t frame_slots;               /* table size, power of two (0: none yet) */
    size_t frame_count;               /* slots used */
    char **strings;                   /* open-addressing set of owned strings */
    size_t string_slots;              /* table size, power of two (0: none yet) */
    size_t string_count;              /* slots used */
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
static bool string_pool_grow(struct symbolizer *s)
{
    size_t slots = s->string_slots ? s->string_slots * 2 : STRING_POOL_MIN_SLOTS;
    char **table = calloc(slots, sizeof *table);
    if (table == NULL)
        return false;
    for (size_t i = 0; i < s->string_slots; i++) {
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
    s->string_slots = slots;
    return true;
}

/* Returns the pool's copy of text (one copy per distinct text, so the many
 * frames of one source file share it), or NULL if text is NULL or on out of
 * memory. The copy lives until symbolizer_destroy. */
static const char *string_pool_intern(struct symbolizer *s, const char *text)
{
    if (text == NULL)
        return NULL;
    /* Keep the load at or below one half so probes stay short. */
    if ((s->string_count + 1) * 2 > s->string_slots && !string_pool_grow(s))
        return NULL;
    size_t j = (size_t)hash_bytes(text) & (s->string_slots - 1);
    for (; s->strings[j] != NULL; j = (j + 1) & (s->string_slots - 1)) {
        if (strcmp(s->strings[j], text) == 0)
            return s->strings[j];
    }
    char *copy = strdup(text);
    if (copy == NULL)
        return NULL;
    s->strings[j] = copy;
    s->string_count++;
    return copy;
}

/* Interns the demangled form of a C++ name, or name itself otherwise.
 * Only "_Z" names are given to the demangler: it would also "demangle" a
 * plain C name such as "f" as a type ("float"). A symbol version suffix
 * ("malloc@@GLIBC_2.2.5", "memcpy@GLIBC_2.14") is dropped first: it names
 * the ABI, not the function, and would split one function into several. */
static const char *string_pool_intern_symbol(struct symbolizer *s, const char *name)
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
    int status = -1;
    char *demangled = __cxa_demangle(name, NULL, NULL, &status);
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

static const struct frame_slot *frame_cache_find(const struct symbolizer *s, uint64_t pc,
                                                 bool return_address)
{
    if (s->frame_slots == 0)
        return NULL;
    size_t j = frame_slot_index(pc, return_address, s->frame_slots);
    for (; s->frames[j].used; j = (j + 1) & (s->frame_slots - 1)) {
        if (s->frames[j].pc == pc && s->frames[j].return_address == return_address)
            return &s->frames[j];
    }
    return NULL;
}

/* Doubles the cache. Returns false on out of memory (cache unchanged). */
static bool frame_cache_grow(struct symbolizer *s)
{
    size_t slots = s->frame_slots ? s->frame_slots * 2 : FRAME_CACHE_MIN_SLOTS;
    struct frame_slot *table = calloc(slots, sizeof *table);
    if (table == NULL)
        return false;
    for (size_t i = 0; i < s->frame_slots; i++) {
        const struct frame_slot *old = &s->frames[i];
        if (!old->used)
            continue;
        size_t j = frame_slot_index(old->pc, old->return_address, slots);
        while (table[j].used)
            j = (j + 1) & (slots - 1);
        table[j] = *old;
    }
    free(s->frames);
    s->frames = table;
    s->frame_slots = slots;
    return true;
}

/* Remembers an answer for a key not yet cached. On out of memory the answer
 * is simply not cached: the next lookup recomputes it. */
static void frame_cache_insert(struct symbolizer *s, uint64_t pc, bool return_address,
                               const sym_frame_t *frame)
{
    if ((s->frame_count + 1) * 2 > s->frame_slots && !frame_cache_grow(s))
        return;
    size_t j = frame_slot_index(pc, return_address, s->frame_slots);
    while (s->frames[j].used)
        j = (j + 1) & (s->frame_slots - 1);
    s->frames[j] = (struct frame_slot){
        .pc = pc, .used = true, .return_address = return_address, .frame = *frame};
    s->frame_count++;
}

/* ---- modules -------------------------------------------------------------- */

/* Computes [start, end) the way dwfl_report_elf(..., load_bias, true) will,
 * so overlap can be refused before dwfl commits to the module. Returns false
 * if fd is not a loadable ELF file (also: truncated before its program
 * headers end, or no PT_LOAD). */
static bool elf_load_range(int fd, uint64_t load_bias, uint64_t *start, uint64_t *end)
{
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
    /* dwfl ignores the base of an ET_EXEC file: it is never relocated. */
    uint64_t bias = ehdr.e_type == ET_EXEC ? 0 : load_bias;
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
    *start = bias + first;
    *end = bias + last;
    ok = have_first && *end > *start; /* also refuses a range that wraps */
done:
    elf_end(elf);
    return ok;
}

static bool module_overlaps(const struct symbolizer *s, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < s->module_count; i++) {
        if (start < s->modules[i]->end && s->modules[i]->start < end)
            return true;
    }
    return false;
}

static bool module_is_registered(const struct symbolizer *s, const char *path, uint64_t load_bias)
{
    for (size_t i = 0; i < s->module_count; i++) {
        if (s->modules[i]->load_bias == load_bias && strcmp(s->modules[i]->path, path) == 0)
            return true;
    }
    return false;
}

/* Opens path for reading without following it into a FIFO or device: a
 * FIFO would block the open forever and a device is never a module
 * (O_NONBLOCK, left set, changes nothing for a regular file). Returns the
 * fd, or -1. */
static int module_open(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

struct symbolizer *symbolizer_create(void)
{
    struct symbolizer *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    elf_version(EV_CURRENT); /* libelf refuses to work until told the version */
    /* Standard callbacks: find_debuginfo looks for separate debug files by
     * build-id and .gnu_debuglink along debug_path; symbols of a
     * MiniDebugInfo section (.gnu_debugdata) come with the module's own
     * symbol table. find_elf is never used for modules reported with
     * dwfl_report_elf, but dwfl expects one. */
    s->debug_path = symbolize_debug_path();
    s->callbacks = (Dwfl_Callbacks){
        .find_elf = dwfl_build_id_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .section_address = dwfl_offline_section_address,
        .debuginfo_path = &s->debug_path,
    };
    s->dwfl = s->debug_path != NULL ? dwfl_begin(&s->callbacks) : NULL;
    if (s->dwfl == NULL) {
        free(s->debug_path);
        free(s);
        return NULL;
    }
    return s;
}

void symbolizer_destroy(struct symbolizer *s)
{
    if (s == NULL)
        return;
    dwfl_end(s->dwfl);
    for (size_t i = 0; i < s->module_count; i++) {
        free(s->modules[i]->cus);
        free(s->modules[i]->syms);
        free(s->modules[i]);
    }
    free(s->modules);
    free(s->frames);
    for (size_t i = 0; i < s->string_slots; i++)
        free(s->strings[i]);
    free(s->strings);
    free(s->debug_path);
    free(s);
}

bool symbolizer_add_module(struct symbolizer *s, const char *path, uint64_t load_bias)
{
    if (s == NULL || path == NULL)
        return false;
    if (module_is_registered(s, path, load_bias))
        return true;

    int fd = module_open(path);
    if (fd < 0)
        return false;
    uint64_t start = 0, end = 0;
    if (!elf_load_range(fd, load_bias, &start, &end) || module_overlaps(s, start, end))
        goto refuse;

    /* Everything that can fail on our side happens before dwfl sees the
     * module, so a refused module never half-exists in the session. */
    if (s->module_count == s->module_capacity) {
        size_t capacity = s->module_capacity ? s->module_capacity * 2 : 16;
        struct module_record **grown =
            realloc(s->modules, capacity * sizeof(struct module_record *));
        if (grown == NULL)
            goto refuse;
        s->modules = grown;
        s->module_capacity = capacity;
    }
    struct module_record *record = calloc(1, sizeof *record);
    const char *interned = string_pool_intern(s, path);
    if (record == NULL || interned == NULL) {
        free(record);
        goto refuse;
    }

    /* add_p_vaddr=true: dwfl's bias is then exactly load_bias (dlpi_addr
     * semantics: run-time address = p_vaddr + load_bias). With false, base
     * means "where the first segment starts", which equals dlpi_addr only
     * when the first PT_LOAD has p_vaddr 0 (usual, but not for prelinked or
     * -Ttext-segment libraries). begin_add keeps the modules already there. */
    dwfl_report_begin_add(s->dwfl);
    Dwfl_Module *mod = dwfl_report_elf(s->dwfl, interned, interned, fd, load_bias, true);
    dwfl_report_end(s->dwfl, NULL, NULL);
    if (mod == NULL) {
        free(record);
        goto refuse; /* dwfl consumes fd only on success */
    }
    void **userdata = NULL;
    Dwarf_Addr low = start, high = end;
    dwfl_module_info(mod, &userdata, &low, &high, NULL, NULL, NULL, NULL);
    *record = (struct module_record){
        .path = interned, .load_bias = load_bias, .start = low, .end = high};
    if (userdata != NULL)
        *userdata = record;
    s->modules[s->module_count++] = record;
    return true;

refuse:
    close(fd);
    return false;
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

/* Whether pc (a run-time address in mod) is the first instruction of a
 * signal trampoline, read from the module's file: the bytes of the PT_LOAD
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
static bool inline_call_site(struct symbolizer *s, Dwarf_Die *inlined, sym_frame_t *out)
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
    out->file = string_pool_intern(s, file);
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
 * module; on out of memory the index stays empty and only file:line is lost. */
static void module_index_cus(struct module_record *m, Dwfl_Module *mod)
{
    m->cus_indexed = true;
    struct cu_range *ranges = NULL;
    size_t count = 0, capacity = 0;
    Dwarf_Addr bias = 0;
    for (Dwarf_Die *cu = NULL; (cu = dwfl_module_nextcu(mod, cu, &bias)) != NULL;) {
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
static Dwarf_Die *module_find_cu(struct module_record *m, Dwfl_Module *mod, uint64_t addr,
                                 Dwarf_Addr *bias)
{
    if (!m->cus_indexed)
        module_index_cus(m, mod);
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
 * sorted. Needed because elfutils' own address-to-symbol lookup walks the
 * whole table on every call, which for a large program (gcc's cc1: 3,600
 * stacks) took seconds per process. Once per module; on out of memory the
 * index stays empty and names come from DWARF alone. */
static void module_index_symbols(struct module_record *m, Dwfl_Module *mod)
{
    m->syms_indexed = true;
    int n = dwfl_module_getsymtab(mod);
    if (n <= 1)
        return;
    struct sym_entry *syms = malloc((size_t)n * sizeof *syms);
    if (syms == NULL)
        return;
    size_t count = 0;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr = 0;
        GElf_Word shndx = 0;
        Elf *elf = NULL;
        Dwarf_Addr bias = 0;
        const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf, &bias);
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
}

/* The name of the function symbol holding addr: the nearest one at or
 * below it whose extent covers it, the highest-ranked of aliases. NULL if
 * none. */
static const char *module_symbol_at(struct module_record *m, Dwfl_Module *mod, uint64_t addr)
{
    if (!m->syms_indexed)
        module_index_symbols(m, mod);
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

/* Fills function, file and line from DWARF and the symbol tables. addr is
 * the adjusted pc (pc - 1 for return addresses). Every piece is optional. */
static void resolve_symbols(struct symbolizer *s, struct module_record *m, Dwfl_Module *mod,
                            Dwarf_Addr addr, sym_frame_t *out)
{
    out->function = string_pool_intern_symbol(s, module_symbol_at(m, mod, addr));

    /* Scopes run from the innermost (a lexical block or inlined call) out
     * to the CU. Find the physical function (innermost subprogram) and the
     * outermost inlined call inside it. */
    Dwarf_Addr dwarf_bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &dwarf_bias);
    if (cu == NULL)
        cu = module_find_cu(m, mod, addr, &dwarf_bias);
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
        out->function = string_pool_intern_symbol(s, die_function_name(&scopes[subprogram]));
    bool located = outer_inline >= 0 && inline_call_site(s, &scopes[outer_inline], out);
    free(scopes);
    if (located)
        return;

    int line = 0;
    Dwarf_Line *row = cu != NULL ? dwarf_getsrc_die(cu, addr - dwarf_bias) : NULL;
    if (row == NULL || dwarf_lineno(row, &line) != 0)
        return;
    out->file = string_pool_intern(s, dwarf_linesrc(row, NULL, NULL));
    out->line = out->file != NULL && line > 0 ? (unsigned)line : 0;
}

bool symbolizer_lookup(struct symbolizer *s, uint64_t pc, bool return_address, sym_frame_t *out)
{
    if (out == NULL)
        return false;
    *out = (sym_frame_t){0};
    if (s == NULL)
        return false;
    const struct frame_slot *hit = frame_cache_find(s, pc, return_address);
    if (hit != NULL) {
        *out = hit->frame;
        return true;
    }

    /* A return address points after the call; when the call is a
     * function's last instruction (a call to a noreturn function), it even
     * points into the next function. pc - 1 lies inside the call. */
    uint64_t addr = return_address && pc > 0 ? pc - 1 : pc;
    Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
    if (mod == NULL)
        return false;
    void **userdata = NULL;
    dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
    struct module_record *record = userdata != NULL ? *userdata : NULL;
    if (record == NULL)
        return false;

    out->module = record->path;
    out->module_offset = pc - record->load_bias;
    out->signal_frame = module_is_signal_trampoline(mod, pc);
    resolve_symbols(s, record, mod, addr, out);
    if (out->signal_frame && out->function == NULL)
        out->function = string_pool_intern(s, SYMBOLIZE_SIGNAL_FRAME_NAME);
    frame_cache_insert(s, pc, return_address, out);
    return true;
}

void symbolizer_lookup_stack(struct symbolizer *s, const uint64_t *pcs, size_t depth,
                             sym_frame_t *out)
{
    bool interrupted = false; /* the frame inside was a signal trampoline */
    for (size_t i = 0; i < depth; i++) {
        symbolizer_lookup(s, pcs[i], !interrupted, &out[i]);
        /* A trampoline is where a handler returns to, not a call's return
         * address: its own first byte is the one to name. */
        if (out[i].signal_frame && !interrupted)
            symbolizer_lookup(s, pcs[i], false, &out[i]);
        interrupted = out[i].signal_frame;
    }
}
