/* check_symworker.c - the collector's naming thread (tracer/collector/
 * symworker.c) and the path from a process's state to named stack rows:
 * sym_batch_collect picks what needs naming from a proc_state fed with real
 * MODULE_LOAD and STACK_DEF records (this test program's own file and
 * functions), the worker names it off the calling thread, and db_write_stacks
 * writes it into a real trace database, read back with SQL. Covered: frames
 * named with this file's functions, nothing handed over twice, stacks whose
 * frames lay outside every known module named again once a module arrives,
 * batches finished in submission order while the caller polls (the suite
 * runs under ThreadSanitizer in CI), destroy finishing what is queued, and
 * a retired symbolizer destroyed after the batches before it (under ASan a
 * leak or a use after free fails the test), and images of one program
 * sharing one open module file (counted in /proc/self/fd). Expected names come from this
 * file, never from the code under test. */
#define _GNU_SOURCE
#include <dirent.h>
#include <link.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_fds.h"
#include "check_support.h"
#include "db.h"
#include "record.h"
#include "segment.h" /* SEGMENT_MODE_* */
#include "state.h"
#include "symworker.h"

#define PID 5100u

/* ---- code whose addresses the stacks hold ---------------------------------- */

CHECK_NOIPA static int named_leaf_function(int x) { return x * 3 + 1; }
CHECK_NOIPA static int named_caller_function(int x) { return named_leaf_function(x) + 2; }

/* Every frame of a stack is a return address (looked up at pc - 1), so
 * one byte past a function's entry stands for a call made in it. */
static uint64_t pc_of(int (*fn)(int), unsigned offset)
{
    return (uint64_t)(uintptr_t)fn + offset;
}

/* ---- this program as the traced process would describe it ------------------ */

struct exe_module {
    char path[PATH_MAX];
    uint64_t bias;
};

static int exe_visit(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct exe_module *m = data;
    m->bias = info->dlpi_addr;
    return 1; /* the first entry is the executable */
}

static struct exe_module exe_module(void)
{
    struct exe_module m = {{0}, 0};
    dl_iterate_phdr(exe_visit, &m);
    ssize_t n = readlink("/proc/self/exe", m.path, sizeof m.path - 1);
    ck_assert_int_gt(n, 0);
    m.path[n] = '\0';
    return m;
}

/* One framed event: head, then payload as continuation records. */
static void feed(struct proc_state *p, size_t thread, record_t head, const void *payload,
                 size_t bytes)
{
    record_t frame[1 + RECORD_PAYLOAD_RECORDS_MAX];
    head.payload_bytes = bytes;
    size_t n = record_frame_write(frame, sizeof frame / sizeof frame[0], &head, payload, bytes);
    ck_assert_uint_ge(n, 2);
    state_ingest(p, thread, frame, n);
}

static void send_module(struct proc_state *p, size_t thread, const struct exe_module *m)
{
    record_t head = {.kind = RECORD_MODULE_LOAD, .class_index = RECORD_CLASS_NONE, .addr = m->bias,
                     .ts_ns = 1};
    feed(p, thread, head, m->path, strlen(m->path));
}

static void send_stack(struct proc_state *p, size_t thread, uint32_t id, const uint64_t *pcs,
                       size_t depth)
{
    record_t head = {.kind = RECORD_STACK_DEF, .class_index = RECORD_CLASS_NONE, .stack_id = id,
                     .ts_ns = 1};
    feed(p, thread, head, pcs, depth * sizeof *pcs);
}

/* A process image with one thread, as the collector starts it: its state
 * index of that thread. With exe, the executable's MODULE_LOAD comes first. */
static size_t image_start(struct proc_state *p, uint32_t pid, const struct exe_module *exe)
{
    state_init(p, pid, SEGMENT_MODE_SUMMARY, 0);
    size_t thread = state_thread(p, pid + 1, 1);
    if (exe != NULL)
        send_module(p, thread, exe);
    return thread;
}

/* Waits for the worker to name b, polling as the collector does. */
static void wait_done(const struct sym_batch *b)
{
    while (!symworker_done(b)) {
        struct timespec pause = {0, 200000};
        nanosleep(&pause, NULL);
    }
}

/* ---- a real trace database ------------------------------------------------- */

struct trace_db {
    char dir[64], path[128];
    struct db *db;
    int64_t process_id;
};

static void trace_db_open(struct trace_db *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/check_symworker.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/run.db", t->dir);
    char err[512];
    t->db = db_open(t->path, err, sizeof err);
    ck_assert_msg(t->db != NULL, "%s", err);
    struct proc_state classes_of; /* the process row carries its (default) classes */
    ck_assert(state_init(&classes_of, PID, SEGMENT_MODE_SUMMARY, 0));
    struct db_process_info info = {.pid = PID, .via = "root", .mode = "summary", .overflow = "wait",
                                   .start_ns = 1, .stack_depth = 32, .state = &classes_of};
    db_begin(t->db);
    t->process_id = db_add_process(t->db, &info);
    db_commit(t->db);
    state_free(&classes_of);
    ck_assert_int_gt(t->process_id, 0);
}

static void trace_db_close(struct trace_db *t)
{
    db_close(t->db);
    char side[160];
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", t->path, suffixes[i]);
        unlink(side);
    }
    rmdir(t->dir);
}

/* One text value of a query on the database (NULL as "NULL"), from a
 * connection of its own, as any reader would. */
static void query_text(const struct trace_db *t, const char *sql, char *out, size_t cap)
{
    sqlite3 *conn;
    sqlite3_stmt *stmt;
    ck_assert_int_eq(sqlite3_open_v2(t->path, &conn, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(conn, sql, -1, &stmt, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
    const unsigned char *v = sqlite3_column_text(stmt, 0);
    snprintf(out, cap, "%s", v != NULL ? (const char *)v : "NULL");
    sqlite3_finalize(stmt);
    sqlite3_close(conn);
}

/* Writes a finished batch the way the collector does. */
static void write_names(struct trace_db *t, struct proc_state *p, struct sym_batch *b)
{
    db_begin(t->db);
    ck_assert(db_write_stacks(t->db, t->process_id, p, b, 0));
    db_commit(t->db);
    ck_assert(db_ok(t->db));
}

/* ---- tests ----------------------------------------------------------------- */

START_TEST(a_batch_names_every_frame_of_a_stack_off_the_calling_thread)
{
    struct exe_module exe = exe_module();
    struct proc_state p;
    size_t thread = image_start(&p, PID, &exe);
    uint64_t pcs[] = {pc_of(named_leaf_function, 1), pc_of(named_caller_function, 1)};
    send_stack(&p, thread, 1, pcs, 2);

    struct symbolizer *sym = NULL;
    size_t sent = 0;
    struct sym_batch *b = sym_batch_collect(&p, &sent, &sym);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b->module_count, 1);
    ck_assert_uint_eq(b->stack_count, 1);
    ck_assert_uint_eq(b->frame_count, 2);
    ck_assert_uint_eq(sent, 1);

    struct symworker *w = symworker_create();
    ck_assert_ptr_nonnull(w);
    symworker_submit(w, b);
    wait_done(b);
    ck_assert(symworker_done(b));
    ck_assert_str_eq(b->frames[0].function, "named_leaf_function");
    ck_assert_str_eq(b->frames[1].function, "named_caller_function");
    ck_assert_str_eq(b->frames[0].module, exe.path);

    struct trace_db t;
    trace_db_open(&t);
    write_names(&t, &p, b);
    char got[256];
    query_text(&t, "SELECT group_concat(function, ' < ') FROM (SELECT function FROM frames "
                   "WHERE stack_id = 1 ORDER BY level)", got, sizeof got);
    ck_assert_str_eq(got, "named_leaf_function < named_caller_function");
    query_text(&t, "SELECT site_function FROM stacks WHERE stack_id = 1", got, sizeof got);
    ck_assert_str_eq(got, "named_leaf_function");
    ck_assert(p.stacks[1].written);
    ck_assert(p.stacks[1].symbolized);

    /* Everything is written: nothing is handed over again. */
    ck_assert_ptr_null(sym_batch_collect(&p, &sent, &sym));
    sym_batch_free(b);
    symworker_retire(w, sym);
    symworker_destroy(w);
    trace_db_close(&t);
    state_free(&p);
}
END_TEST

START_TEST(a_process_with_nothing_new_gives_no_batch)
{
    struct proc_state p;
    image_start(&p, PID, NULL);
    struct symbolizer *sym = NULL;
    size_t sent = 0;
    ck_assert_ptr_null(sym_batch_collect(&p, &sent, &sym));
    ck_assert_ptr_null(sym);
    state_free(&p);
}
END_TEST

START_TEST(stacks_outside_every_known_module_are_named_again_when_a_module_arrives)
{
    struct exe_module exe = exe_module();
    struct proc_state p;
    size_t thread = image_start(&p, PID, NULL);
    uint64_t pcs[] = {pc_of(named_leaf_function, 1), pc_of(named_caller_function, 1)};
    send_stack(&p, thread, 1, pcs, 2); /* before the module that holds it */

    struct symworker *w = symworker_create();
    struct symbolizer *sym = NULL;
    size_t sent = 0;
    struct trace_db t;
    trace_db_open(&t);
    struct sym_batch *b = sym_batch_collect(&p, &sent, &sym);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b->module_count, 0);
    symworker_submit(w, b);
    wait_done(b);
    ck_assert_ptr_null(b->frames[0].module);
    write_names(&t, &p, b);
    sym_batch_free(b);
    char got[256];
    query_text(&t, "SELECT count(*) || ' ' || count(function) FROM frames WHERE stack_id = 1", got,
               sizeof got);
    ck_assert_str_eq(got, "2 0");
    ck_assert(p.stacks[1].written);
    ck_assert(!p.stacks[1].symbolized);
    /* No new module: no point in trying again. */
    ck_assert_ptr_null(sym_batch_collect(&p, &sent, &sym));

    send_module(&p, thread, &exe);
    b = sym_batch_collect(&p, &sent, &sym);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b->module_count, 1);
    ck_assert_uint_eq(b->stack_count, 1);
    symworker_submit(w, b);
    wait_done(b);
    write_names(&t, &p, b);
    sym_batch_free(b);
    query_text(&t, "SELECT group_concat(function, ' < ') FROM (SELECT function FROM frames "
                   "WHERE stack_id = 1 ORDER BY level)", got, sizeof got);
    ck_assert_str_eq(got, "named_leaf_function < named_caller_function");
    ck_assert(p.stacks[1].symbolized);
    ck_assert_ptr_null(sym_batch_collect(&p, &sent, &sym));

    symworker_retire(w, sym);
    symworker_destroy(w);
    trace_db_close(&t);
    state_free(&p);
}
END_TEST

/* A stack's site is the first frame that is no allocation wrapper; when
 * that caller has no name (a stripped program's static function) it is
 * named by module and offset, never left NULL (viewers then showed the
 * allocations as having no stack). Frames are set by hand here: every
 * function of this program has a name. The choice itself is check_site's;
 * this is the path into the database. */
START_TEST(a_site_is_the_wrappers_caller_or_its_module_and_offset_when_it_has_no_name)
{
    struct proc_state p;
    size_t thread = image_start(&p, PID, NULL);
    static const uint64_t pcs[][3] = {{0x1000, 0x2000, 0x3000}, {0x1100, 0x2100, 0x3100}};
    for (uint32_t id = 1; id <= 2; id++)
        send_stack(&p, thread, id, pcs[id - 1], 3);
    struct symbolizer *sym = NULL;
    size_t sent = 0;
    struct sym_batch *b = sym_batch_collect(&p, &sent, &sym);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b->stack_count, 2);
    /* Stack 1: xmalloc called by named_caller; stack 2: g_malloc called by
     * a frame with no name. Both from main. */
    static const char *const names[][3] = {{"xmalloc", "named_caller", "main"},
                                           {"g_malloc", NULL, "main"}};
    for (size_t i = 0; i < b->stack_count; i++) {
        uint32_t id = b->stack_ids[i];
        for (uint32_t level = 0; level < 3; level++)
            b->frames[b->stack_first[i] + level] = (sym_frame_t){
                .function = names[id - 1][level], .module = "/usr/bin/stripped",
                .module_offset = pcs[id - 1][level] - 0x100};
    }
    struct trace_db t;
    trace_db_open(&t);
    write_names(&t, &p, b);
    char got[256];
    query_text(&t, "SELECT group_concat(stack_id || ':' || coalesce(site_function, '?'), ' ') "
                   "FROM (SELECT * FROM stacks ORDER BY stack_id)", got, sizeof got);
    ck_assert_str_eq(got, "1:named_caller 2:stripped+0x2000 < main");
    sym_batch_free(b);
    trace_db_close(&t);
    state_free(&p);
}
END_TEST

/* A large batch is written a slice at a time (the rings wait while frames
 * are written): a deadline already past still writes some, the next call
 * resumes where the last stopped, and in the end every stack is written
 * exactly once with all its frames. */
START_TEST(a_batch_is_written_in_slices_that_resume_where_they_stopped)
{
    enum { STACKS = 40 };
    struct exe_module exe = exe_module();
    struct proc_state p;
    size_t thread = image_start(&p, PID, &exe);
    uint64_t pcs[STACKS + 1];
    pcs[0] = pc_of(named_leaf_function, 1);
    for (unsigned i = 1; i <= STACKS; i++)
        pcs[i] = pc_of(named_caller_function, 1);
    for (uint32_t id = 1; id <= STACKS; id++)
        send_stack(&p, thread, id, pcs, id + 1); /* the leaf under id callers */
    struct symbolizer *sym = NULL;
    size_t sent = 0;
    struct sym_batch *b = sym_batch_collect(&p, &sent, &sym);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b->stack_count, STACKS);
    struct symworker *w = symworker_create();
    symworker_submit(w, b);
    wait_done(b);
    struct trace_db t;
    trace_db_open(&t);
    unsigned slices = 0;
    bool all = false;
    while (!all && slices <= STACKS) {
        size_t before = b->stacks_written;
        db_begin(t.db);
        all = db_write_stacks(t.db, t.process_id, &p, b, 1); /* 1 ns: long past */
        db_commit(t.db);
        ck_assert_uint_gt(b->stacks_written, before); /* every slice makes progress */
        slices++;
    }
    ck_assert(all);
    ck_assert_uint_gt(slices, 1);
    char got[128];
    query_text(&t, "SELECT count(*) || ' ' || sum(depth) || ' ' || count(DISTINCT stack_id) FROM stacks",
               got, sizeof got);
    /* depth of stack id is id + 1: 2 + 3 + ... + 41 = 860 */
    ck_assert_str_eq(got, "40 860 40");
    query_text(&t, "SELECT count(*) || ' ' || count(function) FROM frames", got, sizeof got);
    ck_assert_str_eq(got, "860 860");
    for (uint32_t id = 1; id <= STACKS; id++)
        ck_assert(p.stacks[id].written && p.stacks[id].symbolized);
    sym_batch_free(b);
    symworker_retire(w, sym);
    symworker_destroy(w);
    trace_db_close(&t);
    state_free(&p);
}
END_TEST

/* Several images, each with its own symbolizer, batches queued faster
 * than they are named while the caller polls them lock-free, as the
 * collector does at each commit. */
START_TEST(batches_finish_in_the_order_they_were_submitted_while_the_caller_polls)
{
    enum { IMAGES = 4, ROUNDS = 25 };
    struct exe_module exe = exe_module();
    struct proc_state p[IMAGES];
    struct symbolizer *sym[IMAGES] = {NULL};
    size_t sent[IMAGES] = {0};
    struct sym_batch *batches[IMAGES * ROUNDS];
    size_t thread[IMAGES];
    size_t count = 0;
    for (unsigned i = 0; i < IMAGES; i++)
        thread[i] = image_start(&p[i], PID + 2 * i, &exe);
    struct symworker *w = symworker_create();
    uint64_t pcs[ROUNDS + 1];
    pcs[0] = pc_of(named_leaf_function, 1);
    for (unsigned r = 0; r < ROUNDS; r++)
        pcs[r + 1] = pc_of(named_caller_function, 1);
    for (unsigned r = 0; r < ROUNDS; r++)
        for (unsigned i = 0; i < IMAGES; i++) {
            /* A new stack each round: the leaf under r + 1 callers. */
            send_stack(&p[i], thread[i], r + 1, pcs, r + 2);
            struct sym_batch *b = sym_batch_collect(&p[i], &sent[i], &sym[i]);
            ck_assert_ptr_nonnull(b);
            ck_assert_uint_eq(b->stack_count, 1);
            ck_assert_uint_eq(b->frame_count, r + 2);
            /* Marked written as db_write_stacks would, so the next round
             * hands over only its own new stack. */
            p[i].stacks[b->stack_ids[0]].written = true;
            p[i].stacks[b->stack_ids[0]].symbolized = true;
            symworker_submit(w, b);
            batches[count++] = b;
        }
    size_t finished = 0;
    while (finished < count) {
        /* Whatever is seen done, everything submitted before it is done
         * too. Read from the newest down: seeing batch k done (acquire)
         * makes every earlier batch's completion visible. */
        size_t seen = 0;
        for (size_t k = count; k-- > 0;)
            if (symworker_done(batches[k])) {
                seen = k + 1;
                break;
            }
        for (size_t j = 0; j < seen; j++)
            ck_assert(symworker_done(batches[j]));
        finished = seen;
    }
    for (size_t k = 0; k < count; k++) {
        const struct sym_batch *b = batches[k];
        ck_assert_str_eq(b->frames[0].function, "named_leaf_function");
        ck_assert_str_eq(b->frames[b->frame_count - 1].function, "named_caller_function");
        sym_batch_free(batches[k]);
    }
    for (unsigned i = 0; i < IMAGES; i++) {
        symworker_retire(w, sym[i]);
        state_free(&p[i]);
    }
    symworker_destroy(w);
}
END_TEST

START_TEST(destroying_the_worker_finishes_every_queued_batch_and_retired_symbolizer)
{
    struct exe_module exe = exe_module();
    struct proc_state p;
    size_t thread = image_start(&p, PID, &exe);
    uint64_t pcs[] = {pc_of(named_leaf_function, 1)};
    send_stack(&p, thread, 1, pcs, 1);
    struct symbolizer *sym = NULL;
    size_t sent = 0;
    struct sym_batch *b = sym_batch_collect(&p, &sent, &sym);
    ck_assert_ptr_nonnull(b);
    struct symworker *w = symworker_create();
    symworker_submit(w, b);
    /* Its frames' strings belong to sym: read them before it is retired. */
    wait_done(b);
    ck_assert_str_eq(b->frames[0].function, "named_leaf_function");
    ck_assert_ptr_nonnull(sym);
    symworker_retire(w, sym);
    /* A second image's batch, queued behind the retirement and not waited for. */
    struct proc_state q;
    send_stack(&q, image_start(&q, PID + 2, &exe), 1, pcs, 1);
    struct symbolizer *qsym = NULL;
    size_t qsent = 0;
    struct sym_batch *c = sym_batch_collect(&q, &qsent, &qsym);
    ck_assert_ptr_nonnull(c);
    symworker_submit(w, c);
    symworker_destroy(w);
    ck_assert(symworker_done(c));
    ck_assert_str_eq(c->frames[0].function, "named_leaf_function");
    sym_batch_free(c);
    sym_batch_free(b);
    /* The worker is gone: this image's symbolizer is destroyed directly. */
    symbolizer_destroy(qsym);
    state_free(&q);
    state_free(&p);
}
END_TEST

/* Three images of this program (a fork storm in small): each has its own
 * symbolizer, all name their frames, and the file is open once. */
START_TEST(images_of_one_program_share_one_open_module_file)
{
    struct exe_module exe = exe_module();
    struct symworker *w = symworker_create();
    struct proc_state p[3];
    struct symbolizer *sym[3] = {NULL, NULL, NULL};
    struct sym_batch *b[3];
    uint64_t pcs[] = {pc_of(named_leaf_function, 1), pc_of(named_caller_function, 1)};
    for (int i = 0; i < 3; i++) {
        send_stack(&p[i], image_start(&p[i], PID + 10 + (uint32_t)i, &exe), 1, pcs, 2);
        size_t sent = 0;
        b[i] = sym_batch_collect(&p[i], &sent, &sym[i]);
        ck_assert_ptr_nonnull(b[i]);
        symworker_submit(w, b[i]);
    }
    for (int i = 0; i < 3; i++) {
        wait_done(b[i]);
        ck_assert_str_eq(b[i]->frames[0].function, "named_leaf_function");
        ck_assert_str_eq(b[i]->frames[1].function, "named_caller_function");
    }
    ck_assert_uint_eq(check_fds_open_on(exe.path), 1);
    for (int i = 0; i < 3; i++) {
        symworker_retire(w, sym[i]);
        sym_batch_free(b[i]);
    }
    symworker_destroy(w);
    ck_assert_uint_eq(check_fds_open_on(exe.path), 0);
    for (int i = 0; i < 3; i++)
        state_free(&p[i]);
}
END_TEST

static Suite *symworker_suite(void)
{
    Suite *s = suite_create("symworker");
    TCase *tc = tcase_create("naming");
    tcase_add_test(tc, a_batch_names_every_frame_of_a_stack_off_the_calling_thread);
    tcase_add_test(tc, a_process_with_nothing_new_gives_no_batch);
    tcase_add_test(tc, stacks_outside_every_known_module_are_named_again_when_a_module_arrives);
    tcase_add_test(tc, a_site_is_the_wrappers_caller_or_its_module_and_offset_when_it_has_no_name);
    tcase_add_test(tc, a_batch_is_written_in_slices_that_resume_where_they_stopped);
    tcase_add_test(tc, batches_finish_in_the_order_they_were_submitted_while_the_caller_polls);
    tcase_add_test(tc, destroying_the_worker_finishes_every_queued_batch_and_retired_symbolizer);
    tcase_add_test(tc, images_of_one_program_share_one_open_module_file);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(symworker_suite)
