/* check_symbolize.c - the collector's symbolizer (tracer/collector/
 * symbolize.c) on real code: functions of this test program (a PIE, so its
 * load bias is not 0) resolve to their name, this file and the marked line;
 * a return address resolves to the line of its call, and so does every
 * frame of a whole stack but a signal trampoline and the instruction it
 * interrupted, which are named at their own pc; code inlined into a
 * function resolves to that function and its call line; libc (a shared
 * library) and libstdc++ (a C++ name, demangled) resolve through the same
 * dlpi_addr bias the traced process would send. Then the failure paths: pcs
 * outside every module, missing, non-ELF, truncated and overlapping files,
 * none of which may break later lookups, and modules added after lookups
 * began. The test finds modules the way the traced process does, with
 * dl_iterate_phdr. Last, modules shared by images (symmodule.c): one file
 * mapped by two images is opened once, and a registry allowed one open
 * file closes the least recently used and reopens it on demand, naming it
 * as before - counted by the descriptors this process holds on each file.
 * Check forks each test; every test builds its own symbolizer and destroys
 * it, so the ASan build catches leaks. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/resource.h>

#include "check_fds.h"
#include "check_support.h"
#include "symbolize.h"
#include "symmodule.h"

/* A pc far above any user-space mapping on x86-64 and AArch64 (their user
 * halves end at 2^47 or 2^48; this is in the kernel half). */
#define PC_OUTSIDE_EVERY_MODULE 0xffff800000001000ull

/* A load bias no real module of this process uses: 2^46 lies below where
 * Linux places PIE executables (about 2/3 of the user half, 0x55... on
 * x86-64) and shared libraries (just under the top of the user half). */
#define UNUSED_LOAD_BIAS 0x400000000000ull

/* ---- code to resolve -------------------------------------------------------- */

/* Returns the line it is defined on; its entry address belongs to it. */
CHECK_NOIPA static unsigned function_marked_with_its_line(void) { return __LINE__; }

/* The caller's return address, i.e. the instruction after the call. */
CHECK_NOIPA static uintptr_t return_address_of_my_call(void)
{
    return (uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0));
}

/* Same, stored through a pointer so that the call can be a statement of its
 * own, whose next instruction belongs to the next line. */
CHECK_NOIPA static void store_return_address_of_my_call(uintptr_t *ra)
{
    *ra = (uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0));
}

static volatile unsigned line_after_the_call; /* written so the next line has code */

/* Calls store_return_address_of_my_call and says on which line. The line
 * after the call writes a volatile, so the call is no tail jump (which would
 * leave no return address in this function) and the return address lies on
 * that next line: only the pc - 1 lookup gives the call's line. */
CHECK_NOIPA static uintptr_t caller_with_a_marked_call(unsigned *call_line)
{
    uintptr_t ra = 0;
    *call_line = __LINE__ + 1;
    store_return_address_of_my_call(&ra);
    line_after_the_call = __LINE__;
    return ra;
}

/* Always inlined: its call to return_address_of_my_call becomes code of
 * whoever calls it, described in DWARF as an inlined call. */
static inline __attribute__((always_inline)) uintptr_t inlined_helper(void)
{
    uintptr_t ra = return_address_of_my_call();
    __asm__ volatile("" ::: "memory");
    return ra;
}

CHECK_NOIPA static uintptr_t function_with_an_inlined_call(unsigned *call_line)
{
    uintptr_t ra = inlined_helper(); *call_line = __LINE__;
    __asm__ volatile("" ::: "memory");
    return ra;
}

#if defined(__x86_64__)
/* Two functions in a row, in assembly so that nothing moves them apart:
 * fault_at_entry's first instruction is undefined (SIGILL), so the pc the
 * signal interrupts is its entry, and that pc - 1 is the last byte of
 * function_before_the_fault. */
__asm__(".text\n"
        ".globl function_before_the_fault\n.hidden function_before_the_fault\n"
        ".type function_before_the_fault, @function\n"
        "function_before_the_fault:\n\tret\n"
        ".size function_before_the_fault, . - function_before_the_fault\n"
        ".globl fault_at_entry\n.hidden fault_at_entry\n.type fault_at_entry, @function\n"
        "fault_at_entry:\n\tud2\n"
        ".size fault_at_entry, . - fault_at_entry\n");
void fault_at_entry(void);

static sigjmp_buf fault_return;
static volatile uintptr_t fault_pc; /* the instruction the signal interrupted */

static void on_fault(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)info;
    fault_pc = (uintptr_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
    siglongjmp(fault_return, 1);
}

/* Where a handler of sig returns to: the restorer libc registered with the
 * kernel, read back from the kernel itself (a sanitizer's runtime calls
 * the handler from its own code, so the handler's return address would
 * not be it). The kernel's struct sigaction on x86-64. */
static uintptr_t signal_restorer(int sig)
{
    struct {
        uintptr_t handler;
        unsigned long flags;
        uintptr_t restorer;
        unsigned long mask;
    } action;
    ck_assert_int_eq(syscall(SYS_rt_sigaction, sig, NULL, &action, sizeof action.mask), 0);
    return action.restorer;
}
#endif

/* ---- finding modules the way the traced process does ----------------------- */

struct module_query {
    uintptr_t address;    /* in: an address inside the module */
    bool found;           /* out: a module covers address */
    char path[PATH_MAX];  /* out: its file ("" in dl_iterate_phdr means the executable) */
    uint64_t load_bias;   /* out: dlpi_addr */
    unsigned char build_id[64]; /* out: NT_GNU_BUILD_ID bytes, if any */
    size_t build_id_size; /* out: bytes in build_id (0: none) */
};

/* Copies the module's GNU build-id, read from its PT_NOTE segments in
 * memory, into q. */
static void module_query_build_id(const struct dl_phdr_info *info, struct module_query *q)
{
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        size_t align = ph->p_align == 8 ? 8 : 4; /* notes pad to their segment's alignment */
        const char *at = (const char *)(info->dlpi_addr + ph->p_vaddr);
        const char *end = at + ph->p_memsz;
        while (at < end && (size_t)(end - at) >= sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *note = (const ElfW(Nhdr) *)at;
            const char *name = at + sizeof *note;
            const char *desc = at + ((sizeof *note + note->n_namesz + align - 1) & ~(align - 1));
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == sizeof "GNU"
                && memcmp(name, "GNU", sizeof "GNU") == 0 && note->n_descsz <= sizeof q->build_id) {
                memcpy(q->build_id, desc, note->n_descsz);
                q->build_id_size = note->n_descsz;
                return;
            }
            at += (size_t)(desc - at + note->n_descsz + align - 1) & ~(align - 1);
        }
    }
}

static int module_query_visit(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct module_query *q = data;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || q->address < start || q->address - start >= ph->p_memsz)
            continue;
        const char *name = info->dlpi_name;
        if (name == NULL || name[0] == '\0') {
            if (realpath("/proc/self/exe", q->path) == NULL)
                return 0;
        } else {
            snprintf(q->path, sizeof q->path, "%s", name);
        }
        q->load_bias = info->dlpi_addr;
        module_query_build_id(info, q);
        q->found = true;
        return 1;
    }
    return 0;
}

static struct module_query module_of(uintptr_t address)
{
    struct module_query q = {.address = address};
    dl_iterate_phdr(module_query_visit, &q);
    ck_assert_msg(q.found, "no loaded module holds %#lx", (unsigned long)address);
    return q;
}

static uintptr_t function_address(unsigned (*fn)(void))
{
    return (uintptr_t)fn;
}

/* The address of a function as defined in a library (not a PLT stub). */
static uintptr_t library_function(const char *library, const char *name)
{
    void *handle = dlopen(library, RTLD_NOW);
    ck_assert_msg(handle != NULL, "dlopen %s: %s", library, dlerror());
    void *fn = dlsym(handle, name);
    ck_assert_msg(fn != NULL, "dlsym %s: %s", name, dlerror());
    /* The library stays loaded: the process exits at the end of the test. */
    return (uintptr_t)fn;
}

static bool ends_with(const char *text, const char *suffix)
{
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}

static void write_file(const char *path, const void *bytes, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, bytes, size), (ssize_t)size);
    ck_assert_int_eq(close(fd), 0);
}

/* ---- fixture: a symbolizer that knows this executable ---------------------- */

static struct symbolizer *sym;
static struct module_query exe;

static void setup(void)
{
    sym = symbolizer_create();
    ck_assert_ptr_nonnull(sym);
    exe = module_of(function_address(function_marked_with_its_line));
    ck_assert(symbolizer_add_module(sym, exe.path, exe.load_bias));
}

static void teardown(void)
{
    symbolizer_destroy(sym);
    sym = NULL;
}

/* For tests that count descriptors: no symbolizer of the fixture's own. */
static void setup_exe_only(void)
{
    exe = module_of(function_address(function_marked_with_its_line));
}

static void add_module_holding(uintptr_t address)
{
    struct module_query q = module_of(address);
    ck_assert_msg(symbolizer_add_module(sym, q.path, q.load_bias), "cannot add %s", q.path);
}

/* ---- the executable ------------------------------------------------------------ */

START_TEST(a_function_in_the_executable_resolves_to_its_name_file_and_line)
{
    unsigned marked_line = function_marked_with_its_line();
    sym_frame_t f;
    ck_assert(symbolizer_lookup(sym, function_address(function_marked_with_its_line), false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
    ck_assert_ptr_nonnull(f.file);
    ck_assert_msg(ends_with(f.file, "check_symbolize.c"), "file is %s", f.file);
    ck_assert_uint_eq(f.line, marked_line);
}
END_TEST

START_TEST(a_pc_in_the_pie_executable_reports_its_path_and_offset_from_the_load_bias)
{
    /* Without a nonzero bias this test would not tell bias from address. */
    ck_assert_msg(exe.load_bias != 0, "the test program must be built as a PIE");
    uintptr_t pc = function_address(function_marked_with_its_line);
    sym_frame_t f;
    ck_assert(symbolizer_lookup(sym, pc, false, &f));
    ck_assert_str_eq(f.module, exe.path);
    ck_assert_uint_eq(f.module_offset, pc - exe.load_bias);
}
END_TEST

START_TEST(a_return_address_resolves_to_the_line_of_the_call)
{
    unsigned call_line = 0;
    uintptr_t ra = caller_with_a_marked_call(&call_line);
    sym_frame_t plain, as_return;
    /* Asked first as a plain pc: the cache must keep the two kinds apart. */
    ck_assert(symbolizer_lookup(sym, ra, false, &plain));
    ck_assert(symbolizer_lookup(sym, ra, true, &as_return));
    /* Precondition: taken as a plain pc, ra is on a later line; otherwise
     * this test could not tell whether pc - 1 was looked up. */
    ck_assert_uint_ne(plain.line, call_line);
    ck_assert_str_eq(as_return.function, "caller_with_a_marked_call");
    ck_assert_ptr_nonnull(as_return.file);
    ck_assert(ends_with(as_return.file, "check_symbolize.c"));
    ck_assert_uint_eq(as_return.line, call_line);
    /* The offset is of the pc given, not of the pc - 1 looked up. */
    ck_assert_uint_eq(as_return.module_offset, ra - exe.load_bias);
}
END_TEST

/* The tracer's stacks hold return addresses from the innermost frame on
 * (it is the one after the call of malloc): each names its call's line. */
START_TEST(every_frame_of_a_stack_the_innermost_included_names_the_line_of_its_call)
{
    unsigned call_line = 0, inlined_line = 0;
    uint64_t pcs[] = {caller_with_a_marked_call(&call_line),
                      function_with_an_inlined_call(&inlined_line)};
    sym_frame_t frames[2];
    symbolizer_lookup_stack(sym, pcs, 2, frames);
    ck_assert_str_eq(frames[0].function, "caller_with_a_marked_call");
    ck_assert_uint_eq(frames[0].line, call_line);
    ck_assert_str_eq(frames[1].function, "function_with_an_inlined_call");
    ck_assert_uint_eq(frames[1].line, inlined_line);
    ck_assert(!frames[0].signal_frame && !frames[1].signal_frame);
}
END_TEST

#if defined(__x86_64__)
/* A stack through a signal handler: [a call in the handler, the trampoline
 * the handler returns into, the interrupted instruction]. The last two
 * are no return addresses: pc - 1 would name the function before each. */
START_TEST(a_signal_trampoline_and_the_frame_it_interrupted_are_named_at_their_own_pc)
{
    struct sigaction action = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO};
    sigemptyset(&action.sa_mask);
    ck_assert_int_eq(sigaction(SIGILL, &action, NULL), 0);
    if (sigsetjmp(fault_return, 1) == 0)
        fault_at_entry();
    ck_assert_uint_eq(fault_pc, (uintptr_t)fault_at_entry); /* precondition */
    uintptr_t fault_trampoline = signal_restorer(SIGILL);
    add_module_holding(fault_trampoline); /* libc */
    sym_frame_t as_return;
    ck_assert(symbolizer_lookup(sym, fault_pc, true, &as_return));
    ck_assert_str_eq(as_return.function, "function_before_the_fault"); /* precondition */

    unsigned call_line = 0;
    uint64_t pcs[] = {caller_with_a_marked_call(&call_line), fault_trampoline, fault_pc};
    sym_frame_t frames[3];
    symbolizer_lookup_stack(sym, pcs, 3, frames);
    ck_assert_uint_eq(frames[0].line, call_line);
    ck_assert(!frames[0].signal_frame);
    ck_assert(frames[1].signal_frame);
    ck_assert_ptr_nonnull(frames[1].function);
    /* libc's __restore_rt is a local symbol: named only with libc's debug file. */
    ck_assert_msg(strcmp(frames[1].function, "__restore_rt") == 0 ||
                      strcmp(frames[1].function, SYMBOLIZE_SIGNAL_FRAME_NAME) == 0,
                  "the trampoline is named %s", frames[1].function);
    ck_assert_str_eq(frames[2].function, "fault_at_entry");
    ck_assert(!frames[2].signal_frame);
}
END_TEST
#endif

START_TEST(code_inlined_into_a_function_resolves_to_that_function_and_its_call_line)
{
    unsigned call_line = 0;
    uintptr_t ra = function_with_an_inlined_call(&call_line);
    sym_frame_t f;
    ck_assert(symbolizer_lookup(sym, ra, true, &f));
    ck_assert_str_eq(f.function, "function_with_an_inlined_call");
    ck_assert_ptr_nonnull(f.file);
    ck_assert(ends_with(f.file, "check_symbolize.c"));
    ck_assert_uint_eq(f.line, call_line);
}
END_TEST

START_TEST(repeated_lookups_return_the_same_strings)
{
    uintptr_t pc = function_address(function_marked_with_its_line);
    sym_frame_t first, again;
    ck_assert(symbolizer_lookup(sym, pc, false, &first));
    ck_assert(symbolizer_lookup(sym, pc, false, &again));
    ck_assert_ptr_eq(first.function, again.function);
    ck_assert_ptr_eq(first.module, again.module);
    ck_assert_ptr_eq(first.file, again.file);
    ck_assert_uint_eq(first.line, again.line);
    ck_assert_uint_eq(first.module_offset, again.module_offset);
}
END_TEST

START_TEST(frames_of_one_source_file_share_one_file_string)
{
    unsigned call_line = 0;
    sym_frame_t a, b;
    ck_assert(symbolizer_lookup(sym, function_address(function_marked_with_its_line), false, &a));
    ck_assert(symbolizer_lookup(sym, caller_with_a_marked_call(&call_line), true, &b));
    ck_assert_ptr_nonnull(a.file);
    ck_assert_ptr_eq(a.file, b.file);
}
END_TEST

START_TEST(registering_the_same_module_twice_is_harmless)
{
    ck_assert(symbolizer_add_module(sym, exe.path, exe.load_bias));
    sym_frame_t f;
    ck_assert(symbolizer_lookup(sym, function_address(function_marked_with_its_line), false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
    ck_assert_str_eq(f.module, exe.path);
}
END_TEST

/* ---- shared libraries ------------------------------------------------------- */

/* Names getpid's entry in libc with the fixture's symbolizer, libc added
 * the way the traced process finds it; fills *f, returns libc. */
static struct module_query name_getpid_in_libc(uintptr_t *pc, sym_frame_t *f)
{
    *pc = library_function("libc.so.6", "getpid");
    struct module_query libc = module_of(*pc);
    ck_assert(symbolizer_add_module(sym, libc.path, libc.load_bias));
    ck_assert(symbolizer_lookup(sym, *pc, false, f));
    ck_assert_ptr_nonnull(f->function);
    return libc;
}

START_TEST(a_libc_function_resolves_to_its_name_in_libc)
{
    uintptr_t pc;
    sym_frame_t f;
    struct module_query libc = name_getpid_in_libc(&pc, &f);
    /* glibc defines getpid as an alias of __getpid; either name is right. */
    ck_assert_msg(strcmp(f.function, "getpid") == 0 || strcmp(f.function, "__getpid") == 0,
                  "function is %s", f.function);
    ck_assert_str_eq(f.module, libc.path);
    ck_assert_uint_eq(f.module_offset, pc - libc.load_bias);
}
END_TEST

/* __libc_start_main has two versions in glibc 2.34 and later; dwfl names
 * the default one "__libc_start_main@@GLIBC_2.34". */
START_TEST(a_versioned_libc_symbol_is_named_without_its_version)
{
    uintptr_t pc = library_function("libc.so.6", "__libc_start_main");
    struct module_query libc = module_of(pc);
    ck_assert(symbolizer_add_module(sym, libc.path, libc.load_bias));
    sym_frame_t f;
    ck_assert(symbolizer_lookup(sym, pc, false, &f));
    ck_assert_ptr_nonnull(f.function);
    ck_assert_str_eq(f.function, "__libc_start_main");
}
END_TEST

/* The path where dwfl's standard find_debuginfo looks a build-id up:
 * /usr/lib/debug/.build-id/xx/yyyy....debug. */
static void build_id_debug_path(const struct module_query *q, char *path, size_t size)
{
    int n = snprintf(path, size, "/usr/lib/debug/.build-id/%02x/", q->build_id[0]);
    for (size_t i = 1; i < q->build_id_size; i++)
        n += snprintf(path + n, size - (size_t)n, "%02x", q->build_id[i]);
    snprintf(path + n, size - (size_t)n, ".debug");
}

START_TEST(a_libc_pc_has_a_source_line_exactly_when_its_separate_debug_file_is_installed)
{
    /* Only local files count here: no downloads from debuginfod servers. */
    unsetenv("DEBUGINFOD_URLS");
    struct symbolizer *s = symbolizer_create();
    ck_assert_ptr_nonnull(s);
    uintptr_t pc = library_function("libc.so.6", "qsort");
    struct module_query libc = module_of(pc);
    ck_assert_msg(libc.build_id_size > 0, "libc has no build-id");
    char debug_path[PATH_MAX];
    build_id_debug_path(&libc, debug_path, sizeof debug_path);
    ck_assert(symbolizer_add_module(s, libc.path, libc.load_bias));
    sym_frame_t f;
    ck_assert(symbolizer_lookup(s, pc, false, &f));
    ck_assert_ptr_nonnull(f.function);
    if (access(debug_path, R_OK) == 0) {
        ck_assert_msg(f.file != NULL, "%s exists but gave no file", debug_path);
        ck_assert_uint_gt(f.line, 0);
    } else {
        /* Distributions ship libc stripped: without the debug file there is
         * no DWARF, so no file or line, only the .dynsym name. */
        ck_assert_ptr_null(f.file);
        ck_assert_uint_eq(f.line, 0);
    }
    symbolizer_destroy(s);
}
END_TEST

/* Whether the shared library `soname` is loaded in this process (never
 * loads it). */
static bool library_loaded(const char *soname)
{
    void *h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
    if (h != NULL)
        dlclose(h);
    return h != NULL;
}

static bool debuginfod_loaded(void)
{
    return library_loaded("libdebuginfod.so.1");
}

/* Whether libdebuginfod is installed, asked of a child so that this
 * process never loads it. */
static bool debuginfod_installed(void)
{
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0)
        _exit(dlopen("libdebuginfod.so.1", RTLD_LAZY) != NULL ? 0 : 1);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A pc in libsqlite3, which the tests need without a separate debug file:
 * naming it makes the collector look for one. */
static uintptr_t pc_without_debug_file(struct module_query *q)
{
    uintptr_t pc = library_function("libsqlite3.so.0", "sqlite3_libversion");
    *q = module_of(pc);
    char debug_path[PATH_MAX];
    build_id_debug_path(q, debug_path, sizeof debug_path);
    ck_assert_msg(q->build_id_size > 0 && access(debug_path, F_OK) != 0,
                  "this test needs libsqlite3 without a debug file, and %s exists", debug_path);
    return pc;
}

START_TEST(without_debuginfod_urls_a_module_lacking_debug_files_never_loads_libdebuginfod)
{
    unsetenv("DEBUGINFOD_URLS");
    struct module_query q;
    uintptr_t pc = pc_without_debug_file(&q);
    ck_assert_msg(!debuginfod_loaded(), "libdebuginfod was loaded before the test");
    struct symbolizer *s = symbolizer_create();
    ck_assert_ptr_nonnull(s);
    ck_assert(symbolizer_add_module(s, q.path, q.load_bias));
    sym_frame_t f;
    ck_assert(symbolizer_lookup(s, pc, false, &f));
    ck_assert_ptr_nonnull(f.function);
    ck_assert_str_eq(f.function, "sqlite3_libversion");
    ck_assert_ptr_null(f.file);
    ck_assert(!debuginfod_loaded());
    symbolizer_destroy(s);
}
END_TEST

START_TEST(with_debuginfod_urls_a_module_lacking_debug_files_is_asked_of_debuginfod)
{
    if (!debuginfod_installed())
        return; /* nothing to ask with: elfutils then searches local files only */
    char cache[] = "/tmp/check_symbolize_debuginfod.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(cache));
    /* A port nothing listens on: the request is refused at once. */
    setenv("DEBUGINFOD_URLS", "http://127.0.0.1:1/", 1);
    setenv("DEBUGINFOD_CACHE_PATH", cache, 1);
    setenv("DEBUGINFOD_TIMEOUT", "2", 1);
    struct module_query q;
    uintptr_t pc = pc_without_debug_file(&q);
    ck_assert(!debuginfod_loaded());
    struct symbolizer *s = symbolizer_create();
    ck_assert_ptr_nonnull(s);
    ck_assert(symbolizer_add_module(s, q.path, q.load_bias));
    sym_frame_t f;
    ck_assert(symbolizer_lookup(s, pc, false, &f));
    ck_assert_str_eq(f.function, "sqlite3_libversion");
    ck_assert(debuginfod_loaded());
    symbolizer_destroy(s);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(naming_c_functions_never_loads_the_cxx_demangler)
{
    /* UBSan's runtime links libstdc++: loaded already, nothing to learn. */
    if (library_loaded("libstdc++.so.6"))
        return;
    uintptr_t pc;
    sym_frame_t f;
    name_getpid_in_libc(&pc, &f);
    ck_assert(!library_loaded("libstdc++.so.6"));
}
END_TEST

START_TEST(a_mangled_cxx_symbol_is_demangled)
{
    uintptr_t pc = library_function("libstdc++.so.6", "_ZNKSt9exception4whatEv");
    add_module_holding(pc);
    sym_frame_t f;
    ck_assert(symbolizer_lookup(sym, pc, false, &f));
    ck_assert_ptr_nonnull(f.function);
    ck_assert_str_eq(f.function, "std::exception::what() const");
}
END_TEST

START_TEST(a_module_added_after_lookups_began_is_found)
{
    uintptr_t pc = library_function("libc.so.6", "getpid");
    sym_frame_t f;
    ck_assert(!symbolizer_lookup(sym, pc, false, &f));
    add_module_holding(pc);
    /* The earlier miss must not have been cached. */
    ck_assert(symbolizer_lookup(sym, pc, false, &f));
    ck_assert_ptr_nonnull(f.module);
    /* The executable, reported before, still resolves. */
    ck_assert(symbolizer_lookup(sym, function_address(function_marked_with_its_line), false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
}
END_TEST

/* ---- failures ------------------------------------------------------------------ */

START_TEST(a_pc_outside_every_module_returns_false_and_an_empty_frame)
{
    sym_frame_t f;
    memset(&f, 0x5a, sizeof f); /* garbage: lookup must clear it */
    ck_assert(!symbolizer_lookup(sym, PC_OUTSIDE_EVERY_MODULE, false, &f));
    ck_assert_ptr_null(f.function);
    ck_assert_ptr_null(f.module);
    ck_assert_ptr_null(f.file);
    ck_assert_uint_eq(f.line, 0);
    ck_assert_uint_eq(f.module_offset, 0);
    ck_assert(!symbolizer_lookup(sym, 0, true, &f));
    ck_assert_ptr_null(f.module);
}
END_TEST

START_TEST(a_symbolizer_without_modules_finds_nothing)
{
    struct symbolizer *empty = symbolizer_create();
    ck_assert_ptr_nonnull(empty);
    sym_frame_t f;
    ck_assert(!symbolizer_lookup(empty, function_address(function_marked_with_its_line), false, &f));
    ck_assert_ptr_null(f.module);
    symbolizer_destroy(empty);
}
END_TEST

START_TEST(a_missing_file_is_refused_and_later_lookups_still_work)
{
    ck_assert(!symbolizer_add_module(sym, "/nonexistent/orthotope/libnothing.so", UNUSED_LOAD_BIAS));
    ck_assert(!symbolizer_add_module(sym, "", UNUSED_LOAD_BIAS));
    ck_assert(!symbolizer_add_module(sym, "linux-vdso.so.1", UNUSED_LOAD_BIAS));
    sym_frame_t f;
    ck_assert(!symbolizer_lookup(sym, UNUSED_LOAD_BIAS + 0x1000, false, &f));
    ck_assert(symbolizer_lookup(sym, function_address(function_marked_with_its_line), false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
}
END_TEST

START_TEST(non_elf_files_are_refused_and_later_lookups_still_work)
{
    char dir[] = "/tmp/check_symbolize.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char text[PATH_MAX], empty[PATH_MAX];
    snprintf(text, sizeof text, "%s/text.so", dir);
    snprintf(empty, sizeof empty, "%s/empty.so", dir);
    static const char words[] = "this is not an ELF file\n";
    write_file(text, words, sizeof words - 1);
    write_file(empty, "", 0);

    ck_assert(!symbolizer_add_module(sym, text, UNUSED_LOAD_BIAS));
    ck_assert(!symbolizer_add_module(sym, empty, UNUSED_LOAD_BIAS));
    ck_assert(!symbolizer_add_module(sym, dir, UNUSED_LOAD_BIAS));     /* a directory */
    ck_assert(!symbolizer_add_module(sym, "/dev/zero", UNUSED_LOAD_BIAS)); /* a device */
    sym_frame_t f;
    ck_assert(!symbolizer_lookup(sym, UNUSED_LOAD_BIAS + 0x10, false, &f));
    ck_assert(symbolizer_lookup(sym, function_address(function_marked_with_its_line), false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");

    unlink(text);
    unlink(empty);
    rmdir(dir);
}
END_TEST

/* Copies the first size bytes of from into a new file at to. */
static void copy_prefix(const char *from, const char *to, size_t size)
{
    int in = open(from, O_RDONLY);
    ck_assert_int_ge(in, 0);
    char *bytes = malloc(size);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_int_eq(read(in, bytes, size), (ssize_t)size);
    close(in);
    write_file(to, bytes, size);
    free(bytes);
}

START_TEST(truncated_elf_files_never_break_lookups)
{
    char dir[] = "/tmp/check_symbolize.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char ident_only[PATH_MAX], header_only[PATH_MAX], first_page[PATH_MAX];
    snprintf(ident_only, sizeof ident_only, "%s/ident_only.so", dir);
    snprintf(header_only, sizeof header_only, "%s/header_only.so", dir);
    snprintf(first_page, sizeof first_page, "%s/first_page.so", dir);
    /* 16 bytes: the ELF magic and ident, cut before the header ends. */
    copy_prefix(exe.path, ident_only, 16);
    /* 100 bytes: the whole ELF header, program headers cut after the first. */
    copy_prefix(exe.path, header_only, 100);
    /* 4096 bytes: header and program headers, but no sections at all. */
    copy_prefix(exe.path, first_page, 4096);

    ck_assert(!symbolizer_add_module(sym, ident_only, UNUSED_LOAD_BIAS));
    ck_assert(!symbolizer_add_module(sym, header_only, UNUSED_LOAD_BIAS));
    /* The program headers are intact, so the module may be accepted; a pc
     * in it must then give the module and offset and nothing it cannot
     * know, and must not crash. */
    sym_frame_t f;
    uintptr_t offset = function_address(function_marked_with_its_line) - exe.load_bias;
    if (symbolizer_add_module(sym, first_page, UNUSED_LOAD_BIAS)) {
        ck_assert(symbolizer_lookup(sym, UNUSED_LOAD_BIAS + offset, false, &f));
        ck_assert_str_eq(f.module, first_page);
        ck_assert_uint_eq(f.module_offset, offset);
        ck_assert_ptr_null(f.file);
    }
    ck_assert(symbolizer_lookup(sym, exe.load_bias + offset, false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");

    unlink(ident_only);
    unlink(header_only);
    unlink(first_page);
    rmdir(dir);
}
END_TEST

/* Reads the whole file at path into a malloc'd buffer; sets *size. */
static char *read_whole_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    off_t end = lseek(fd, 0, SEEK_END);
    ck_assert_int_gt(end, 0);
    char *bytes = malloc((size_t)end);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_int_eq(pread(fd, bytes, (size_t)end, 0), (ssize_t)end);
    close(fd);
    *size = (size_t)end;
    return bytes;
}

/* Renames the section ".debug_aranges" of an ELF image in memory (same
 * length, so nothing moves) so that libdw no longer finds it: the file then
 * looks like clang's default output, which has no .debug_aranges. */
static void hide_debug_aranges(char *image, size_t size)
{
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)image;
    ck_assert(size >= sizeof *eh && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0);
    ck_assert(eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) <= size);
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(image + eh->e_shoff);
    const ElfW(Shdr) *names = &sh[eh->e_shstrndx];
    for (ElfW(Half) i = 0; i < eh->e_shnum; i++) {
        char *name = image + names->sh_offset + sh[i].sh_name;
        if (strcmp(name, ".debug_aranges") == 0)
            memcpy(name, ".debug_arangeX", sizeof ".debug_arangeX");
    }
}

/* A copy of this test program at dir/copy (dir made from its template),
 * and the path dir/replacement a test renames over it. */
static void copy_of_this_program(char *dir, char copy[PATH_MAX], char replacement[PATH_MAX])
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(copy, PATH_MAX, "%s/copy", dir);
    snprintf(replacement, PATH_MAX, "%s/replacement", dir);
    size_t size = 0;
    char *image = read_whole_file(exe.path, &size);
    write_file(copy, image, size);
    free(image);
}

/* Replaced the way linkers and package managers do: a new file renamed
 * over the old path. */
static void replace_on_disk(const char *replacement, const char *path)
{
    write_file(replacement, "gone\n", 5);
    ck_assert_int_eq(rename(replacement, path), 0);
}

START_TEST(a_module_without_debug_aranges_still_resolves_file_and_line)
{
    char dir[] = "/tmp/check_symbolize.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s/no_aranges", dir);
    size_t size = 0;
    char *image = read_whole_file(exe.path, &size);
    hide_debug_aranges(image, size);
    write_file(copy, image, size);
    free(image);

    struct symbolizer *s = symbolizer_create();
    ck_assert_ptr_nonnull(s);
    ck_assert(symbolizer_add_module(s, copy, exe.load_bias));
    unsigned marked_line = function_marked_with_its_line();
    sym_frame_t f;
    ck_assert(symbolizer_lookup(s, function_address(function_marked_with_its_line), false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
    ck_assert_ptr_nonnull(f.file);
    ck_assert(ends_with(f.file, "check_symbolize.c"));
    ck_assert_uint_eq(f.line, marked_line);
    unsigned call_line = 0;
    ck_assert(symbolizer_lookup(s, function_with_an_inlined_call(&call_line), true, &f));
    ck_assert_str_eq(f.function, "function_with_an_inlined_call");
    ck_assert_uint_eq(f.line, call_line);
    symbolizer_destroy(s);

    unlink(copy);
    rmdir(dir);
}
END_TEST

START_TEST(a_module_replaced_on_disk_after_registration_still_resolves)
{
    char dir[] = "/tmp/check_symbolize.XXXXXX";
    char copy[PATH_MAX], replacement[PATH_MAX];
    copy_of_this_program(dir, copy, replacement);

    struct symbolizer *s = symbolizer_create();
    ck_assert_ptr_nonnull(s);
    ck_assert(symbolizer_add_module(s, copy, exe.load_bias));
    /* The symbolizer keeps reading the file it opened. */
    replace_on_disk(replacement, copy);
    sym_frame_t f;
    ck_assert(symbolizer_lookup(s, function_address(function_marked_with_its_line), false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
    ck_assert_str_eq(f.module, copy);
    symbolizer_destroy(s);

    unlink(copy);
    rmdir(dir);
}
END_TEST

START_TEST(a_module_overlapping_a_registered_one_is_refused)
{
    uintptr_t libc_pc = library_function("libc.so.6", "getpid");
    struct module_query libc = module_of(libc_pc);
    /* libc placed over the executable: a different file, an overlapping range. */
    ck_assert(!symbolizer_add_module(sym, libc.path, exe.load_bias));
    /* The same file at another bias that overlaps the first placement. */
    ck_assert(!symbolizer_add_module(sym, exe.path, exe.load_bias + 0x1000));
    sym_frame_t f;
    ck_assert(symbolizer_lookup(sym, function_address(function_marked_with_its_line), false, &f));
    ck_assert_str_eq(f.module, exe.path);
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
}
END_TEST

START_TEST(null_arguments_are_refused_without_crashing)
{
    sym_frame_t f;
    ck_assert(!symbolizer_add_module(sym, NULL, 0));
    ck_assert(!symbolizer_add_module(NULL, exe.path, exe.load_bias));
    ck_assert(!symbolizer_lookup(NULL, function_address(function_marked_with_its_line), false, &f));
    ck_assert_ptr_null(f.module);
    ck_assert(!symbolizer_lookup(sym, function_address(function_marked_with_its_line), false, NULL));
    symbolizer_destroy(NULL);
}
END_TEST


/* ---- modules shared by images ------------------------------------------------ */

/* Two images of one program, the second loaded elsewhere (as after an
 * exec under ASLR): one module, one open file, one answer for both. */
START_TEST(a_module_mapped_by_two_images_is_opened_once)
{
    const uint64_t elsewhere = 0x100000000ull; /* a second image's extra load bias */
    struct sym_modules *modules = sym_modules_create(8);
    ck_assert_ptr_nonnull(modules);
    struct symbolizer *a = symbolizer_create_shared(modules);
    struct symbolizer *b = symbolizer_create_shared(modules);
    ck_assert(symbolizer_add_module(a, exe.path, exe.load_bias));
    ck_assert(symbolizer_add_module(b, exe.path, exe.load_bias + elsewhere));
    uintptr_t pc = function_address(function_marked_with_its_line);
    sym_frame_t fa, fb;
    ck_assert(symbolizer_lookup(a, pc, false, &fa));
    ck_assert(symbolizer_lookup(b, pc + elsewhere, false, &fb));
    ck_assert_str_eq(fa.function, "function_marked_with_its_line");
    ck_assert_ptr_eq(fb.function, fa.function); /* the module's one answer */
    ck_assert_uint_eq(fb.line, function_marked_with_its_line());
    ck_assert_uint_eq(fa.module_offset, fb.module_offset);
    struct sym_modules_stats st;
    sym_modules_stats(modules, &st);
    ck_assert_uint_eq(st.created, 1);
    ck_assert_uint_eq(st.opened, 1);
    ck_assert_uint_eq(check_fds_open_on(exe.path), 1);
    symbolizer_destroy(a);
    symbolizer_destroy(b);
    sym_modules_destroy(modules);
    ck_assert_uint_eq(check_fds_open_on(exe.path), 0);
}
END_TEST

/* The exec loop: each image ends before the next maps the same files. */
START_TEST(a_module_no_image_maps_is_kept_for_the_next_image)
{
    struct sym_modules *modules = sym_modules_create(8);
    struct symbolizer *first = symbolizer_create_shared(modules);
    ck_assert(symbolizer_add_module(first, exe.path, exe.load_bias));
    symbolizer_destroy(first);
    struct symbolizer *next = symbolizer_create_shared(modules);
    ck_assert(symbolizer_add_module(next, exe.path, exe.load_bias));
    sym_frame_t f;
    ck_assert(symbolizer_lookup(next, function_address(function_marked_with_its_line), false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
    struct sym_modules_stats st;
    sym_modules_stats(modules, &st);
    ck_assert_uint_eq(st.created, 1);
    ck_assert_uint_eq(st.opened, 1);
    symbolizer_destroy(next);
    sym_modules_destroy(modules);
}
END_TEST

/* One open file allowed: registering libc closes the executable, whose
 * next uncached pc reopens it (closing libc) and is named with its line. */
START_TEST(the_least_recently_used_module_is_closed_and_reopened_to_name_a_new_pc)
{
    uintptr_t libc_pc = library_function("libc.so.6", "getpid");
    struct module_query libc = module_of(libc_pc);
    struct sym_modules *modules = sym_modules_create(1);
    struct symbolizer *s = symbolizer_create_shared(modules);
    ck_assert(symbolizer_add_module(s, exe.path, exe.load_bias));
    ck_assert(symbolizer_add_module(s, libc.path, libc.load_bias));
    ck_assert_uint_eq(check_fds_open_on(exe.path), 0);

    sym_frame_t f;
    ck_assert(symbolizer_lookup(s, function_address(function_marked_with_its_line), false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
    ck_assert_ptr_nonnull(f.file);
    ck_assert(ends_with(f.file, "check_symbolize.c"));
    ck_assert_uint_eq(f.line, function_marked_with_its_line());
    ck_assert_uint_eq(check_fds_open_on(exe.path), 1);
    ck_assert_uint_eq(check_fds_open_on(libc.path), 0);

    ck_assert(symbolizer_lookup(s, libc_pc, false, &f));
    ck_assert_msg(strcmp(f.function, "getpid") == 0 || strcmp(f.function, "__getpid") == 0,
                  "function is %s", f.function);
    ck_assert_uint_eq(check_fds_open_on(exe.path), 0);

    unsigned call_line = 0;
    uintptr_t ra = caller_with_a_marked_call(&call_line);
    ck_assert(symbolizer_lookup(s, ra, true, &f));
    ck_assert_str_eq(f.function, "caller_with_a_marked_call");
    ck_assert_uint_eq(f.line, call_line);
    struct sym_modules_stats st;
    sym_modules_stats(modules, &st);
    ck_assert_uint_eq(st.open, 1);
    ck_assert_uint_ge(st.reopened, 2);
    ck_assert_uint_eq(st.unopenable, 0);
    symbolizer_destroy(s);
    sym_modules_destroy(modules);
}
END_TEST

/* Closed, then replaced by a rebuild: its function index was made when it
 * was registered, so its functions are still named. */
START_TEST(a_closed_module_replaced_on_disk_still_names_its_functions)
{
    char dir[] = "/tmp/check_symbolize.XXXXXX";
    char copy[PATH_MAX], replacement[PATH_MAX];
    copy_of_this_program(dir, copy, replacement);
    struct module_query libc = module_of(library_function("libc.so.6", "getpid"));

    struct sym_modules *modules = sym_modules_create(1);
    struct symbolizer *s = symbolizer_create_shared(modules);
    ck_assert(symbolizer_add_module(s, copy, exe.load_bias));
    ck_assert(symbolizer_add_module(s, libc.path, libc.load_bias)); /* closes copy */
    replace_on_disk(replacement, copy);
    sym_frame_t f;
    ck_assert(symbolizer_lookup(s, function_address(function_marked_with_its_line), false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
    ck_assert_str_eq(f.module, copy);
    symbolizer_destroy(s);
    sym_modules_destroy(modules);
    unlink(copy);
    rmdir(dir);
}
END_TEST

/* Descriptors gone (the soft limit below every free descriptor): a closed
 * module cannot be reopened. Its functions are still named from the index
 * made at registration, the lookup is counted as unopenable and not
 * cached, and once descriptors are back the same pc gets its line. */
START_TEST(a_module_that_cannot_be_reopened_for_lack_of_descriptors_still_names_its_functions)
{
    struct module_query libc = module_of(library_function("libc.so.6", "getpid"));
    struct sym_modules *modules = sym_modules_create(1);
    struct symbolizer *s = symbolizer_create_shared(modules);
    ck_assert(symbolizer_add_module(s, exe.path, exe.load_bias));
    ck_assert(symbolizer_add_module(s, libc.path, libc.load_bias)); /* closes exe */
    struct rlimit saved, none;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
    none = saved;
    none.rlim_cur = 3; /* stdin, stdout, stderr: no descriptor can be made */
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &none), 0);
    uintptr_t pc = function_address(function_marked_with_its_line);
    sym_frame_t f;
    bool found = symbolizer_lookup(s, pc, false, &f);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
    ck_assert(found);
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
    ck_assert_ptr_null(f.file);
    struct sym_modules_stats st;
    sym_modules_stats(modules, &st);
    ck_assert_uint_eq(st.unopenable, 1);

    ck_assert(symbolizer_lookup(s, pc, false, &f));
    ck_assert_str_eq(f.function, "function_marked_with_its_line");
    ck_assert_ptr_nonnull(f.file);
    ck_assert_uint_eq(f.line, function_marked_with_its_line());
    sym_modules_stats(modules, &st);
    ck_assert_uint_eq(st.unopenable, 1);
    symbolizer_destroy(s);
    sym_modules_destroy(modules);
}
END_TEST

static Suite *symbolize_suite(void)
{
    Suite *s = suite_create("symbolize");

    TCase *exec = tcase_create("executable");
    tcase_add_checked_fixture(exec, setup, teardown);
    tcase_add_test(exec, a_function_in_the_executable_resolves_to_its_name_file_and_line);
    tcase_add_test(exec, a_pc_in_the_pie_executable_reports_its_path_and_offset_from_the_load_bias);
    tcase_add_test(exec, a_return_address_resolves_to_the_line_of_the_call);
    tcase_add_test(exec, code_inlined_into_a_function_resolves_to_that_function_and_its_call_line);
    tcase_add_test(exec, every_frame_of_a_stack_the_innermost_included_names_the_line_of_its_call);
#if defined(__x86_64__)
    tcase_add_test(exec, a_signal_trampoline_and_the_frame_it_interrupted_are_named_at_their_own_pc);
#endif
    tcase_add_test(exec, repeated_lookups_return_the_same_strings);
    tcase_add_test(exec, frames_of_one_source_file_share_one_file_string);
    tcase_add_test(exec, registering_the_same_module_twice_is_harmless);
    tcase_add_test(exec, a_module_without_debug_aranges_still_resolves_file_and_line);
    suite_add_tcase(s, exec);

    TCase *libs = tcase_create("shared_libraries");
    tcase_add_checked_fixture(libs, setup, teardown);
    tcase_add_test(libs, a_libc_function_resolves_to_its_name_in_libc);
    tcase_add_test(libs, a_versioned_libc_symbol_is_named_without_its_version);
    tcase_add_test(libs, a_libc_pc_has_a_source_line_exactly_when_its_separate_debug_file_is_installed);
    tcase_add_test(libs, naming_c_functions_never_loads_the_cxx_demangler);
    tcase_add_test(libs, a_mangled_cxx_symbol_is_demangled);
    tcase_add_test(libs,
                   without_debuginfod_urls_a_module_lacking_debug_files_never_loads_libdebuginfod);
    tcase_add_test(libs, with_debuginfod_urls_a_module_lacking_debug_files_is_asked_of_debuginfod);
    tcase_add_test(libs, a_module_added_after_lookups_began_is_found);
    suite_add_tcase(s, libs);

    TCase *bad = tcase_create("failures");
    tcase_add_checked_fixture(bad, setup, teardown);
    tcase_add_test(bad, a_pc_outside_every_module_returns_false_and_an_empty_frame);
    tcase_add_test(bad, a_symbolizer_without_modules_finds_nothing);
    tcase_add_test(bad, a_missing_file_is_refused_and_later_lookups_still_work);
    tcase_add_test(bad, non_elf_files_are_refused_and_later_lookups_still_work);
    tcase_add_test(bad, truncated_elf_files_never_break_lookups);
    tcase_add_test(bad, a_module_replaced_on_disk_after_registration_still_resolves);
    tcase_add_test(bad, a_module_overlapping_a_registered_one_is_refused);
    tcase_add_test(bad, null_arguments_are_refused_without_crashing);
    suite_add_tcase(s, bad);

    TCase *shared = tcase_create("shared_modules");
    tcase_add_checked_fixture(shared, setup_exe_only, NULL);
    tcase_add_test(shared, a_module_mapped_by_two_images_is_opened_once);
    tcase_add_test(shared, a_module_no_image_maps_is_kept_for_the_next_image);
    tcase_add_test(shared, the_least_recently_used_module_is_closed_and_reopened_to_name_a_new_pc);
    tcase_add_test(shared, a_closed_module_replaced_on_disk_still_names_its_functions);
    tcase_add_test(shared,
                   a_module_that_cannot_be_reopened_for_lack_of_descriptors_still_names_its_functions);
    suite_add_tcase(s, shared);
    return s;
}

CHECK_SUPPORT_MAIN(symbolize_suite)
