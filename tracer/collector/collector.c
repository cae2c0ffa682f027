/* collector.c - see collector.h. One thread does everything but naming
 * stacks (symworker.h), in passes: admit registrations (admit.h: checked,
 * never waited for), drain each image's rings (a batch per ring per pass,
 * so one busy thread cannot starve the others), handle handshakes and
 * ended processes, and commit every interval. Unless a pass drained
 * a good share of a ring it sleeps in ppoll() on the listening socket and
 * the connections still to register: after a pass that drained a trickle,
 * as long as the producers take to fill a quarter of a ring at the rate
 * it found (20 us to 1 ms); after an empty one, backing off to a
 * millisecond while all is quiet.
 *
 * A traced process can write any byte of its segment at any time. Every
 * address here comes from the geometry copied at registration, every ring
 * index is reduced by the copied capacity, and a pass that finds the
 * identity fields changed or a ring header broken stops reading that image
 * (it is "abandoned": reported once in health.h, its end written, the
 * process told through seg->abandoned) - the rest of the tree goes on. */
#define _GNU_SOURCE
#include "collector.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "admit.h"
#include "db.h"
#include "health.h"
#include "ring.h"
#include "segment.h"
#include "state.h"
#include "symworker.h"

#define COLLECTOR_BATCH 4096
#define COLLECTOR_FORK_GRACE_NS (3ull * 1000000000ull)
#define COLLECTOR_LINGER_NS (100ull * 1000000ull)
#define COLLECTOR_TREE_DONE_SIGNAL SIGURG /* from ortho-run: no process of the tree is left */
#define COLLECTOR_WAIT_MIN_NS 20000ull   /* idle wait right after a busy pass */
#define COLLECTOR_TRICKLE_DIVISOR 8u     /* a pass draining < ring capacity / this waits */
#define COLLECTOR_WAIT_MAX_NS 1000000ull /* idle wait once quiet */
#define COLLECTOR_NAMES_SLICE_NS 2000000ull /* frame rows written per pass, at most */
#define COLLECTOR_NAMES_BUSY_SLICE_NS 250000ull /* the same while the rings are backed up, */
#define COLLECTOR_NAMES_BUSY_EVERY_NS 50000000ull /* at most this often */
/* How often a pass refreshes an image's coarse clock (segment.h): each
 * write costs every producer thread one cache miss. */
#define COLLECTOR_COARSE_EVERY_NS 100000ull
/* pidfds held at once: at most a quarter of the soft descriptor limit, and
 * this many. A fork storm has hundreds of children alive at once, each an
 * image to watch; the ones beyond are watched through kill() and /proc. */
#define COLLECTOR_PIDFDS_MAX 128u
#define COLLECTOR_GONE_CHECK_NS 20000000ull /* /proc look at an image without a pidfd */
#define COLLECTOR_GONE_GRACE_NS 100000000ull /* a gone image's end waits this long for registrations */

/* One segment of an image as it registered: the mapping, its geometry
 * and identity copied then, and what the collector knows of each slot. */
struct image_segment {
    segment_t *seg;          /* shared with the process: read what you need, trust nothing */
    segment_geometry_t geo;  /* copied at registration: every address comes from here */
    uint8_t identity[SEGMENT_IDENTITY_BYTES]; /* the header's first bytes then, to compare */
    size_t *slot_thread;     /* state thread index per slot */
    uint32_t *slot_generation;
    uint8_t *slot_known;
};

struct image {
    int64_t process_id;
    uint32_t pid, ppid;
    unsigned via;
    segment_t *seg;          /* segment 0's mapping (segs[0].seg): the handshake lines */
    struct image_segment *segs; /* segment k at [k]; more come as the process's threads do */
    uint32_t seg_count;
    uint64_t start_ns;       /* segment 0's start_ns: later segments must state it too */
    bool clock_tsc;          /* it stamps records with the time-stamp counter */
    const char *damage;      /* why its segment cannot be read any more, or NULL */
    bool abandoned;          /* stopped reading: its segment was overwritten */
    int pidfd;               /* -1: kill(pid, 0) and /proc/PID/stat instead */
    uint64_t proc_start;     /* without a pidfd: its /proc/PID/stat start time (0: unknown) */
    uint64_t next_gone_check_ns; /* without a pidfd: when to read /proc/PID/stat next */
    uint64_t gone_seen_ns;   /* when its process was first seen gone (collector_gone_reason) */
    struct proc_state *st;   /* until its end is written: a build tree has tens of
                              * thousands of images, and a state is ~50 KiB */
    struct symbolizer *sym;  /* the naming thread's: created and used there */
    struct sym_batch *naming; /* stacks being named, or NULL */
    size_t modules_named;    /* st.modules handed to the naming thread */
    bool ended;              /* gone: its rings are drained and unmapped */
    bool end_written;        /* its end (and every name) is committed */
    bool exited_cleanly;     /* went through the exit handshake */
    bool exec_replaced;      /* a new image of its pid registered: end it (as "exec") */
    uint64_t records_at_exit; /* st->records when the handshake wrote the live rows */
    uint32_t forks_started;  /* seg->forks_started when it ended */
    const char *end_reason;  /* exit, exec or abrupt */
    uint64_t end_ns;         /* when it was seen gone (the records' clock) */
    uint64_t lost_no_slot;
    uint64_t ended_ns;       /* when its end was committed */
    uint64_t next_dead_check_ns;
    uint64_t last_visit_ns;  /* when a drain pass last looked at its rings */
    uint64_t coarse_ns;      /* what this collector last wrote to seg->coarse_ns */
};

/* The time-stamp counter's rate against CLOCK_MONOTONIC, measured over the
 * collector's whole life from one anchor, and published to the segments
 * that stamp records with the counter (clock.h). */
struct calibration {
    uint64_t ticks0, ns0;     /* the anchor: the collector's start */
    uint64_t ticks, ns, mult; /* the latest measurement and rate (0: none yet) */
    uint64_t next_ns;         /* when to measure again */
};

struct collector {
    const struct collector_config *cfg;
    struct calibration clock;
    struct symworker *names;
    struct image **images;   /* every image, in registration order */
    size_t image_count, image_cap;
    /* The images whose end is not written yet, the ones a pass looks at:
     * a long build ends tens of thousands of images, and a pass runs up
     * to 50,000 times a second. Same capacity as images. */
    struct image **active;
    size_t active_count;
    struct health health;    /* refusals and damaged segments (trace_health) */
    size_t pidfds_open, pidfds_max;
    struct admit admit;      /* connections waiting to register */
    uint64_t last_end_ns;    /* the latest ended_ns of any image */
    record_t batch[COLLECTOR_BATCH];
    uint64_t last_activity_ns;
    uint64_t names_busy_ns;  /* when names last had a slice while the rings were backed up */
};

/* Re-measures the counter's rate when due and publishes it to every live
 * segment that asked for it. Early on the rate comes from a short span, so
 * measurements follow each other at the span's own length (1, 2, 4 ms ...)
 * up to once a second: each publication re-anchors at the latest
 * measurement, which keeps the error between two of them near the noise of
 * a single measurement. */
static void collector_calibrate(struct collector *c, uint64_t now, bool force)
{
    struct calibration *cal = &c->clock;
    if (!CLOCK_HAVE_TSC || (!force && now < cal->next_ns))
        return;
    uint64_t ticks, ns;
    clock_measure_pair(&ticks, &ns);
    uint64_t mult = clock_rate(cal->ticks0, cal->ns0, ticks, ns);
    uint64_t span = ns - cal->ns0;
    if (mult == 0 || span < 1000000ull) {
        cal->next_ns = cal->ns0 + 1000000ull;
        if (!force || cal->mult == 0)
            return;
    } else {
        cal->ticks = ticks;
        cal->ns = ns;
        cal->mult = mult;
        cal->next_ns = ns + (span < 1000000000ull ? span : 1000000000ull);
    }
    for (size_t i = 0; i < c->active_count; i++) {
        struct image *im = c->active[i];
        if (!im->ended && im->clock_tsc)
            clock_calibration_publish(&im->seg->clock, cal->ticks, cal->ns, cal->mult);
    }
}

/* Copies a NUL-separated argument list of at most `len` bytes into buf
 * with spaces between the arguments, as the cmdline column shows it. */
static void collector_join_args(const char *args, size_t len, char *buf, size_t cap)
{
    while (len > 0 && args[len - 1] == '\0')
        len--;
    if (len > cap - 1)
        len = cap - 1;
    for (size_t i = 0; i < len; i++)
        buf[i] = args[i] == '\0' ? ' ' : args[i];
    buf[len] = '\0';
}

/* The program and command line of pid for its process row: the kernel's
 * (/proc) while the process lives, else what its segment said at set-up
 * (head, admit.c's checked copy), which matters for a process that
 * exited before its registration was read. A field without its NUL is
 * not believed. */
static void collector_describe(uint32_t pid, const segment_t *head, char *exe, size_t exe_cap,
                               char *cmdline, size_t cmdline_cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/%u/exe", pid);
    ssize_t n = readlink(link, exe, exe_cap - 1);
    exe[n > 0 ? n : 0] = '\0';
    if (n <= 0 && memchr(head->exe, '\0', sizeof head->exe) != NULL)
        snprintf(exe, exe_cap, "%s", head->exe);
    char raw[8192];
    n = -1;
    snprintf(link, sizeof link, "/proc/%u/cmdline", pid);
    int fd = open(link, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, raw, sizeof raw);
        close(fd);
    }
    if (n > 0)
        collector_join_args(raw, (size_t)n, cmdline, cmdline_cap);
    else if (memchr(head->cmdline, '\0', sizeof head->cmdline) != NULL)
        collector_join_args(head->cmdline, sizeof head->cmdline, cmdline, cmdline_cap);
    else
        cmdline[0] = '\0';
}

/* Writes what fits before deadline of im's named batch (in the caller's
 * transaction) and lets the batch go once it is all written. Returns
 * whether im has no named batch left to write. */
static bool collector_write_names(struct collector *c, struct image *im, uint64_t deadline)
{
    if (im->naming == NULL)
        return true;
    if (!symworker_done(im->naming) ||
        !db_write_stacks(c->cfg->db, im->process_id, im->st, im->naming, deadline))
        return false;
    if (im->naming->frames_without_fds != 0) {
        char detail[128];
        snprintf(detail, sizeof detail,
                 "%llu frames named without their module's file: the collector ran out of "
                 "file descriptors",
                 (unsigned long long)im->naming->frames_without_fds);
        health_note(&c->health, HEALTH_SYMBOLS_NO_FDS, (uint32_t)geteuid(), im->pid,
                    im->process_id, detail);
    }
    sym_batch_free(im->naming);
    im->naming = NULL;
    return true;
}

/* Hands im's new stacks (and modules) to the naming thread, unless a batch
 * is still being named or written. Returns whether nothing is pending.
 * Once the database has failed nothing more is named: it would never be
 * written, and its stacks would be handed over again and again. */
static bool collector_name_stacks(struct collector *c, struct image *im)
{
    if (im->naming != NULL)
        return false;
    if (!db_ok(c->cfg->db))
        return true;
    im->naming = sym_batch_collect(im->st, &im->modules_named, &im->sym);
    if (im->naming == NULL)
        return true;
    symworker_submit(c->names, im->naming);
    return false;
}

/* Frames of named stacks go into the database a slice at a time (until
 * deadline), one transaction a pass, so the rings are never held for long:
 * a compiler's 7,000 stacks are 200,000 frame rows, a third of a second of
 * SQLite. Returns whether any running image still has frames waiting. */
static bool collector_write_some_names(struct collector *c, uint64_t deadline)
{
    bool waiting = false;
    for (size_t i = 0; i < c->active_count; i++) {
        struct image *im = c->active[i];
        if (im->ended || im->naming == NULL || !symworker_done(im->naming))
            continue;
        if (prim_now_ns() >= deadline) {
            waiting = true;
            break;
        }
        db_begin(c->cfg->db); /* the first opens, the rest join (db.h) */
        waiting |= !collector_write_names(c, im, deadline);
    }
    db_commit(c->cfg->db); /* nothing, if nothing was opened */
    return waiting;
}

/* An ended image's last commit: its remaining names and its end_ns
 * together, once the naming thread has them all and all are written (a
 * processes row with end_ns set is complete); a slice of frames a pass
 * (until deadline) until then. Returns whether it has frames waiting to be
 * written. */
static bool collector_finish_end(struct collector *c, struct image *im, uint64_t deadline)
{
    if (im->end_written || (im->naming != NULL && !symworker_done(im->naming)))
        return false;
    if (prim_now_ns() >= deadline)
        return true;
    db_begin(c->cfg->db);
    bool named = collector_write_names(c, im, deadline) && collector_name_stacks(c, im);
    if (named)
        db_end_process(c->cfg->db, im->process_id, im->end_ns, im->end_reason, im->lost_no_slot);
    db_commit(c->cfg->db);
    if (!named)
        return im->naming != NULL && symworker_done(im->naming);
    im->end_written = true; /* collector_prune drops it from the active list */
    symworker_hurry(c->names, false);
    im->ended_ns = prim_now_ns();
    c->last_activity_ns = im->ended_ns;
    if (im->ended_ns > c->last_end_ns)
        c->last_end_ns = im->ended_ns;
    symworker_retire(c->names, im->sym); /* its frames are written */
    im->sym = NULL;
    state_free(im->st);
    free(im->st);
    im->st = NULL;
    return false;
}

/* Drains up to one batch from every ring of im; the records taken. With
 * `all`, keeps going until every ring is empty, or for as many passes as
 * empty rings that were full (a process that keeps pushing cannot hold the
 * collector here: what it pushes later is drained by later passes). */
static size_t collector_drain(struct collector *c, struct image *im, bool all);

/* Whether im's segment still has the identity and geometry it registered
 * with; if not, records why in im->damage. */
static bool collector_identity_ok(struct image *im)
{
    for (uint32_t k = 0; k < im->seg_count && im->damage == NULL; k++)
        if (memcmp(im->segs[k].seg, im->segs[k].identity, SEGMENT_IDENTITY_BYTES) != 0)
            im->damage = "its identity and geometry fields changed after registration";
    return im->damage == NULL;
}

/* Takes the segment r registered into s: its mapping, and its geometry
 * and identity as admit.c copied and checked them. false: no memory (s
 * then holds nothing; the mapping is still r's). */
static bool collector_segment_open(struct image_segment *s, const struct admitted *r)
{
    memset(s, 0, sizeof *s);
    s->slot_thread = calloc(r->geo.slot_count, sizeof *s->slot_thread);
    s->slot_generation = calloc(r->geo.slot_count, sizeof *s->slot_generation);
    s->slot_known = calloc(r->geo.slot_count, 1);
    if (s->slot_thread == NULL || s->slot_generation == NULL || s->slot_known == NULL) {
        free(s->slot_thread);
        free(s->slot_generation);
        free(s->slot_known);
        memset(s, 0, sizeof *s);
        return false;
    }
    s->seg = r->seg;
    s->geo = r->geo;
    memcpy(s->identity, &r->head, SEGMENT_IDENTITY_BYTES);
    return true;
}

/* Answers the process's exit handshake: the ack, then a futex wake, as
 * the process sleeps on the word (segment.h). */
static void collector_ack_exit(struct image *im)
{
    atomic_store_explicit(&im->seg->exit_acked, 1, memory_order_release);
    prim_wake_all((const uint32_t *)&im->seg->exit_acked, true);
}

/* Unmaps s and forgets its slots. */
static void collector_segment_close(struct image_segment *s)
{
    if (s->seg != NULL)
        munmap(s->seg, s->geo.total_bytes);
    free(s->slot_thread);
    free(s->slot_generation);
    free(s->slot_known);
    memset(s, 0, sizeof *s);
}

static void collector_end_image(struct collector *c, struct image *im, const char *reason);

/* Stops reading im, whose segment was overwritten (im->damage says how):
 * reports it once, tells the process (its waits end), and writes its end
 * with what was drained before. */
static void collector_abandon(struct collector *c, struct image *im)
{
    if (im->ended || im->abandoned)
        return;
    im->abandoned = true;
    health_note(&c->health, HEALTH_OVERWRITTEN, (uint32_t)geteuid(), im->pid, im->process_id,
                im->damage != NULL ? im->damage : "damaged");
    atomic_store_explicit(&im->seg->abandoned, 1, memory_order_release);
    collector_end_image(c, im, "abandoned");
}

/* The process image is gone (exit, exec, a signal) or abandoned: drains
 * what its rings still hold (not an abandoned one's) and commits its
 * counters and live allocations now, its end once its last stacks are
 * named (collector_finish_end). */
static void collector_end_image(struct collector *c, struct image *im, const char *reason)
{
    if (im->ended)
        return;
    if (!im->abandoned && collector_identity_ok(im))
        collector_drain(c, im, true);
    if (im->damage != NULL && !im->abandoned) {
        collector_abandon(c, im); /* ends it, as abandoned */
        return;
    }
    state_settle(im->st);
    uint64_t now = prim_now_ns();
    /* Counters the process keeps; an abandoned one's are not believed. */
    im->forks_started = im->abandoned ? 0 : atomic_load(&im->seg->forks_started);
    im->lost_no_slot = im->abandoned ? 0 : atomic_load(&im->seg->lost_no_slot);
    for (size_t i = 0; i < im->st->thread_count; i++) {
        struct thread_state *t = &im->st->threads[i];
        if (t->end_ns == 0) { /* the main thread has no exit hook */
            t->end_ns = now;
            t->dirty = true;
        }
    }
    db_begin(c->cfg->db);
    db_write_state(c->cfg->db, im->process_id, im->st, im->st->last_ts);
    /* The live rows the exit handshake wrote stand if no record came
     * after it. Writing them again scanned the whole live table and
     * rewrote every row: perl's end took 33 ms with it, 4 without (a
     * table of 29 MB, 6,600 rows), and ortho-run waits for the end. */
    if (!im->exited_cleanly || im->st->records != im->records_at_exit)
        db_write_live(c->cfg->db, im->process_id, im->st);
    im->ended = true;
    im->end_reason = reason;
    im->end_ns = now; /* same clock as the records */
    /* A process blocked in its exit handshake must not wait in vain. */
    collector_ack_exit(im);
    for (uint32_t k = 0; k < im->seg_count; k++)
        collector_segment_close(&im->segs[k]);
    free(im->segs);
    im->segs = NULL;
    im->seg_count = 0;
    im->seg = NULL;
    if (im->pidfd >= 0) {
        close(im->pidfd);
        c->pidfds_open--;
    }
    im->pidfd = -1;
    c->last_activity_ns = now;
    symworker_hurry(c->names, true); /* its end waits for its names */
    /* Names ready (a short image's stacks are often all known): the end
     * row joins this transaction, one commit for both (db.h); else this
     * commit is the end's own. */
    collector_finish_end(c, im, prim_now_ns() + COLLECTOR_NAMES_SLICE_NS);
    db_commit(c->cfg->db);
}

/* The newest image of pid (only a running one with live_only), or NULL. */
static struct image *collector_find(struct collector *c, uint32_t pid, bool live_only)
{
    for (size_t i = c->image_count; i-- > 0;)
        if (c->images[i]->pid == pid &&
            !(live_only && (c->images[i]->ended || c->images[i]->exec_replaced)))
            return c->images[i];
    return NULL;
}

static const char *const collector_via_names[] = {"root", "fork", "exec"};

/* Adds the segment r describes, a later segment of a running image (its
 * threads outnumbered the slots it had), and answers it. Accepted only as
 * the image's next index, from the image's own process (admit.c checked
 * the pid) with the start time of its segment 0: anything else is refused
 * and counted, and the process's threads then wait for slots or count
 * their events as lost (drop mode). */
static void collector_extend(struct collector *c, struct admitted *r)
{
    const segment_t *head = &r->head;
    struct image *im = collector_find(c, r->pid, true);
    uint32_t ack = 0;
    const char *why = NULL;
    if (im == NULL || im->abandoned || im->damage != NULL)
        why = "it added a trace segment to no running traced image of its pid";
    else if (head->start_ns != im->start_ns || head->index != im->seg_count)
        why = "its added trace segment does not follow its image's segments";
    if (why != NULL) {
        health_note(&c->health, HEALTH_BAD_SEGMENT, (uint32_t)geteuid(), r->pid, 0, why);
        admit_reply(r, 0);
        return;
    }
    struct image_segment *grown = realloc(im->segs, (im->seg_count + 1) * sizeof *grown);
    if (grown != NULL) {
        im->segs = grown;
        im->seg = grown[0].seg;
        if (collector_segment_open(&grown[im->seg_count], r)) {
            im->st->slots += r->geo.slot_count;
            im->seg_count++;
            ack = (uint32_t)getpid();
        }
    }
    admit_reply(r, ack);
    c->last_activity_ns = prim_now_ns();
}

/* Reads /proc/PID/stat: the process's state letter and start time (clock
 * ticks since boot), either pointer may be NULL. false when it cannot be
 * read (the process is gone) or makes no sense. */
static bool collector_proc_stat(uint32_t pid, char *state, uint64_t *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%u/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    /* The command name in parentheses may hold anything: fields start after
     * the last ')'. State is field 3, the start time field 22. */
    const char *at = strrchr(buf, ')');
    if (at == NULL || at[1] != ' ' || at[2] == '\0')
        return false;
    if (state != NULL)
        *state = at[2];
    at += 2;
    for (int field = 3; field < 22 && at != NULL; field++) {
        at = strchr(at, ' ');
        if (at != NULL)
            at++;
    }
    if (at == NULL)
        return false;
    if (start != NULL)
        *start = strtoull(at, NULL, 10);
    return true;
}

/* Adds the image r describes (admit.c checked it and copied its header)
 * and answers it: the collector's pid, or 0 (no memory: the process then
 * runs untraced and says so). */
static void collector_register(struct collector *c, struct admitted *r)
{
    const segment_t *head = &r->head;
    uint32_t ack = 0;
    struct image *im = NULL;
    if (head->index != 0) {
        collector_extend(c, r);
        return;
    }
    if (c->image_count == c->image_cap) {
        size_t cap = c->image_cap * 2 + 8;
        struct image **grown = realloc(c->images, cap * sizeof *grown);
        if (grown != NULL)
            c->images = grown;
        struct image **grown_active = grown != NULL ? realloc(c->active, cap * sizeof *grown) : NULL;
        if (grown_active == NULL)
            goto reply;
        c->active = grown_active;
        c->image_cap = cap;
    }
    im = calloc(1, sizeof *im);
    if (im != NULL) {
        im->st = calloc(1, sizeof *im->st);
        im->segs = calloc(1, sizeof *im->segs);
    }
    if (im == NULL || im->st == NULL || im->segs == NULL ||
        !collector_segment_open(&im->segs[0], r)) {
        if (im != NULL) {
            free(im->st);
            free(im->segs);
            free(im);
        }
        goto reply;
    }
    im->seg_count = 1;
    im->seg = r->seg;
    im->start_ns = head->start_ns;
    im->clock_tsc = head->clock_source == SEGMENT_CLOCK_TSC;
    im->pid = r->pid; /* the kernel's word, which the header matched */
    im->ppid = head->ppid;
    im->via = head->via < 3 ? head->via : 0;
    /* head is admit.c's private copy of the header, class table included:
     * checked here, it cannot change after the check. */
    if (!state_init(im->st, im->pid, head->mode, head->sample_bytes) ||
        !state_set_classes(im->st, &head->classes)) {
        health_note(&c->health, HEALTH_BAD_SEGMENT, (uint32_t)geteuid(), im->pid, 0,
                    "its size-class table breaks the rules, or the collector ran out of memory");
        state_free(im->st);
        free(im->st);
        im->segs[0].seg = NULL; /* r's still: admit_reply unmaps it */
        collector_segment_close(&im->segs[0]);
        free(im->segs);
        free(im);
        goto reply;
    }
    im->st->slots = r->geo.slot_count;
    /* Answered now, before the database work below (ending the image an
     * exec replaced, the new row: commits): the process waits for this
     * answer before it runs on, and what it records meanwhile waits in its
     * rings. An exec loop of 500 /bin/true spent about a millisecond per
     * image in that wait. */
    admit_reply(r, (uint32_t)getpid());
    im->pidfd = -1;
    if (c->pidfds_open < c->pidfds_max)
        im->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)im->pid, 0);
    if (im->pidfd >= 0)
        c->pidfds_open++;
    else
        collector_proc_stat(im->pid, NULL, &im->proc_start);
    int64_t parent = 0;
    if (im->via == SEGMENT_VIA_EXEC) {
        /* Only the process itself can register under its pid (admit.c), so
         * a running image of the same pid is the one this exec replaced. */
        struct image *old = collector_find(c, im->pid, true);
        if (old != NULL) {
            /* Ended by the pass (collector_run), after the exit requests
             * waiting then: an exec'd short program (an exec loop's
             * /bin/true) asks for its exit ack a few microseconds after
             * its registration's, and ending the image it replaced (a
             * drain and a commit) would come first. */
            old->exec_replaced = true;
            parent = old->process_id;
        } else {
            struct image *p = collector_find(c, im->ppid, false);
            parent = p != NULL ? p->process_id : 0;
        }
    } else if (im->via == SEGMENT_VIA_FORK) {
        struct image *p = collector_find(c, im->ppid, false);
        parent = p != NULL ? p->process_id : 0;
    }
    char exe[4096], cmdline[8192];
    collector_describe(im->pid, head, exe, sizeof exe, cmdline, sizeof cmdline);
    struct db_process_info info = {
        .pid = im->pid, .ppid = im->ppid, .parent_process_id = parent,
        .via = collector_via_names[im->via], .exe = exe[0] ? exe : NULL,
        .cmdline = cmdline[0] ? cmdline : NULL,
        .mode = head->mode == SEGMENT_MODE_FULL ? "full" : "summary",
        .overflow = head->overflow_drop ? "drop" : "wait", .start_ns = head->start_ns,
        .start_unix_ns = head->start_realtime_ns, .sample_bytes = head->sample_bytes,
        .stack_depth = head->stack_depth, .state = im->st};
    /* Committed with the next commit of this pass, at the latest the
     * pass's own last one (db.h). */
    db_begin(c->cfg->db);
    im->process_id = db_add_process(c->cfg->db, &info);
    atomic_store(&im->seg->collector_pid, (uint32_t)getpid());
    c->images[c->image_count++] = im;
    c->active[c->active_count++] = im;
    if (im->clock_tsc)
        collector_calibrate(c, prim_now_ns(), true); /* its threads stop calling clock_gettime */
    c->last_activity_ns = prim_now_ns();
    return;
reply:
    admit_reply(r, ack);
    c->last_activity_ns = prim_now_ns();
}

/* Takes new connections and registers every image whose registration
 * passed; never waits for a peer. */
static void collector_accept(struct collector *c)
{
    uint64_t now = prim_now_ns();
    admit_accept(&c->admit, now);
    struct admitted r;
    while (admit_next(&c->admit, now, &r))
        collector_register(c, &r);
}

/* Processes a batch popped from a ring, frame by frame. */
static void collector_ingest(struct image *im, size_t thread, const record_t *recs, size_t count,
                             uint64_t now)
{
    uint64_t newest = state_ingest_batch(im->st, thread, recs, count);
    uint64_t lag = newest != 0 && now > newest ? now - newest : 0;
    if (lag > im->st->max_lag_ns)
        im->st->max_lag_ns = lag;
    if (lag > STATE_LAG_BUDGET_NS)
        im->st->late_batches++;
}

/* Gives the pages of a released slot's stack cache and ring back to the
 * kernel (they read as zeros after), keeping its header: shared memory
 * follows the threads alive, not the most there ever were. Whole pages
 * inside the slot only; a failure just keeps them. */
static void collector_give_back(segment_slot_t *slot, const segment_geometry_t *geo)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)slot + SEGMENT_SLOT_HEADER_BYTES + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)slot + geo->slot_bytes) & ~(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_REMOVE);
}

/* Adds to *total what a counter its producer keeps in its ring grew by
 * since *seen, the last reading, which becomes `now`. Only growth counts:
 * the ring is the program's memory, and a smaller value (overwritten) is
 * not believed. true if it grew. */
static bool collector_take_growth(uint64_t now, uint64_t *seen, uint64_t *total)
{
    if (now <= *seen)
        return false;
    *total += now - *seen;
    *seen = now;
    return true;
}

/* Drains one batch from slot `index` of im's segment s. A ring whose
 * header no longer describes the ring registered sets im->damage and
 * gives nothing. */
static size_t collector_drain_slot(struct collector *c, struct image *im, struct image_segment *s,
                                   uint32_t index, uint64_t now, bool check_dead)
{
    segment_slot_t *slot = segment_slot_at(s->seg, &s->geo, index);
    uint32_t tid = atomic_load_explicit(&slot->claim_tid, memory_order_acquire);
    ring_t *ring = segment_ring_at(slot, &s->geo);
    uint32_t capacity = s->geo.ring_capacity;
    uint32_t state = tid != 0 ? atomic_load_explicit(&ring->state, memory_order_acquire) : 0;
    if (tid == 0 || state == RING_STATE_FREE) {
        /* Only this collector frees a slot and its ring, forgetting the
         * slot as it does: one it still knows was freed under its thread
         * (whose pushes would then wait for a reader that never comes). */
        if (s->slot_known[index])
            im->damage = "a running thread's slot or ring was marked free";
        return 0; /* free, or claimed and not formatted yet */
    }
    if (!s->slot_known[index] || s->slot_generation[index] != slot->generation) {
        if (ring_attach(ring, ring_bytes_for(capacity)) == NULL ||
            !ring_is_intact(ring, capacity)) {
            im->damage = "a ring's header is not the one its thread wrote";
            return 0;
        }
        s->slot_known[index] = 1;
        s->slot_generation[index] = slot->generation;
        s->slot_thread[index] = state_thread(im->st, tid, now);
    }
    size_t thread = s->slot_thread[index];
    size_t total = 0;
    size_t got = ring_pop_batch_sized(ring, capacity, c->batch, COLLECTOR_BATCH);
    if (got > 0) {
        collector_ingest(im, thread, c->batch, got, now);
        total += got;
    } else if (!ring_is_intact(ring, capacity)) {
        im->damage = "a ring's header or indices were overwritten";
        return 0;
    }
    /* Drops are counted by the ring itself: exact even for losses after
     * the thread's last record (no DROPPED marker follows those). */
    uint64_t dropped = ring_dropped(ring);
    struct thread_state *ts = &im->st->threads[thread];
    if (dropped != ts->dropped) {
        im->st->dropped += dropped - ts->dropped;
        ts->dropped = dropped;
        ts->dirty = true;
    }
    /* How often and how long the thread waited on its full ring, and how
     * often it unwound a stack: the process's counts, so only growth is
     * believed. */
    bool grew = collector_take_growth(ring_waits(ring), &ts->ring_waits, &im->st->ring_waits);
    grew |= collector_take_growth(ring_wait_ns(ring), &ts->ring_wait_ns, &im->st->ring_wait_ns);
    grew |= collector_take_growth(ring_unwinds(ring), &ts->stack_unwinds, &im->st->stack_unwinds);
    if (grew)
        ts->dirty = true;
    bool closed = atomic_load_explicit(&ring->state, memory_order_acquire) == RING_STATE_CLOSED;
    bool dead = false;
    if (!closed && check_dead && got == 0) {
        /* A thread that ended without its exit hook: its ring is orphaned. */
        dead = syscall(SYS_tgkill, (pid_t)im->pid, (pid_t)tid, 0) != 0 && errno == ESRCH;
        if (dead && ring_pop_batch_sized(ring, capacity, c->batch, COLLECTOR_BATCH) == 0)
            ring_close(ring);
    }
    if ((closed || dead) && ring_is_drained(ring)) {
        struct thread_state *t = &im->st->threads[thread];
        if (t->end_ns == 0)
            t->end_ns = im->st->last_ts;
        t->dirty = true;
        ring_release(ring);
        s->slot_known[index] = 0;
        collector_give_back(slot, &s->geo);
        atomic_store_explicit(&slot->claim_tid, 0, memory_order_release);
    }
    return total;
}

static size_t collector_drain(struct collector *c, struct image *im, bool all)
{
    size_t total = 0;
    /* With `all`: enough passes to empty rings that were full when it
     * began. A pass takes at least a batch less one framed event (at most
     * 256 records) from a ring that holds more: over half a batch. */
    _Static_assert(COLLECTOR_BATCH / 2 >= 1 + RECORD_PAYLOAD_RECORDS_MAX, "a pass drains half a batch");
    uint32_t largest = 0;
    for (uint32_t k = 0; k < im->seg_count; k++)
        if (im->segs[k].geo.ring_capacity > largest)
            largest = im->segs[k].geo.ring_capacity;
    unsigned passes_left = largest / (COLLECTOR_BATCH / 2) + 2;
    for (;;) {
        uint64_t now = prim_now_ns();
        if (im->last_visit_ns != 0 && now - im->last_visit_ns > im->st->max_visit_gap_ns)
            im->st->max_visit_gap_ns = now - im->last_visit_ns;
        im->last_visit_ns = now;
        bool check_dead = now >= im->next_dead_check_ns;
        if (check_dead)
            im->next_dead_check_ns = now + 500000000ull;
        size_t pass = 0;
        for (uint32_t k = 0; k < im->seg_count && im->damage == NULL; k++) {
            struct image_segment *s = &im->segs[k];
            uint32_t high = atomic_load_explicit(&s->seg->slots_high, memory_order_acquire);
            if (high > s->geo.slot_count)
                high = s->geo.slot_count;
            for (uint32_t i = 0; i < high && im->damage == NULL; i++)
                pass += collector_drain_slot(c, im, s, i, now, check_dead);
        }
        /* Then wake the threads asleep on rings this pass made room in:
         * waking each as its ring was drained handed the CPU to it (a
         * woken thread preempts its waker) while thousands of other rings
         * waited. */
        for (uint32_t k = 0; k < im->seg_count && im->damage == NULL && pass != 0; k++) {
            struct image_segment *s = &im->segs[k];
            for (uint32_t i = 0; i < s->geo.slot_count; i++)
                if (s->slot_known[i])
                    ring_wake_producer(segment_ring_at(segment_slot_at(s->seg, &s->geo, i), &s->geo));
        }
        total += pass;
        if (!all || pass == 0 || im->damage != NULL || --passes_left == 0)
            return total;
    }
}

static bool collector_process_gone(struct image *im, uint64_t now)
{
    if (im->pidfd >= 0) {
        struct pollfd p = {.fd = im->pidfd, .events = POLLIN};
        return poll(&p, 1, 0) > 0;
    }
    if (kill((pid_t)im->pid, 0) != 0 && errno == ESRCH)
        return true;
    /* It exists - as a zombie its parent has not reaped yet, or as
     * another process that took its pid since: /proc says which, now and
     * then (a pidfd would have said at once). */
    if (now < im->next_gone_check_ns)
        return false;
    im->next_gone_check_ns = now + COLLECTOR_GONE_CHECK_NS;
    char state = 0;
    uint64_t start = 0;
    if (!collector_proc_stat(im->pid, &state, &start))
        return true;
    return state == 'Z' || state == 'X' || (im->proc_start != 0 && start != im->proc_start);
}

static int collector_pid_compare(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Whether some image started more forks than have registered as its
 * children (by pid, as the segments report them). Sorting the children's
 * parent pids keeps this O(n log n): a build tree has tens of thousands of
 * images, and this runs at every pass once they have all ended. Out of
 * memory: says no child is missing (the collector then ends a moment
 * early rather than never). */
static bool collector_fork_child_missing(struct collector *c)
{
    uint32_t *parents = malloc((c->image_count + 1) * sizeof *parents);
    if (parents == NULL)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < c->image_count; i++)
        if (c->images[i]->via == SEGMENT_VIA_FORK)
            parents[n++] = c->images[i]->ppid;
    qsort(parents, n, sizeof *parents, collector_pid_compare);
    bool missing = false;
    for (size_t i = 0; i < c->image_count && !missing; i++) {
        const struct image *im = c->images[i];
        if (im->forks_started == 0)
            continue;
        size_t lo = 0, hi = n; /* first entry >= pid */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (parents[mid] < im->pid)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t children = 0;
        while (lo + children < n && parents[lo + children] == im->pid)
            children++;
        missing = children < im->forks_started;
    }
    free(parents);
    return missing;
}

/* Set by COLLECTOR_TREE_DONE_SIGNAL: ortho-run, the subreaper of the
 * tree, saw no process of it left but collectors. */
static volatile sig_atomic_t collector_tree_done;

static void collector_on_tree_done(int sig)
{
    (void)sig;
    collector_tree_done = 1;
}

/* A process asks for its exit ack (segment.h): the signal's only work is
 * to end the wait in ppoll; the pass that follows finds the request. */
static void collector_on_exit_wake(int sig)
{
    (void)sig;
}

/* Whether every image has ended and no forked child is still on its way.
 * Told that no process of the tree is left (collector_tree_done), the
 * collector leaves as soon as every image's end is written and no
 * connection waits: nobody is left to register, so the linger for
 * latecomers would only keep ortho-run waiting. */
static bool collector_done(struct collector *c, uint64_t now)
{
    if (collector_tree_done && c->active_count == 0 && c->admit.pending_count == 0)
        return true;
    if (c->image_count == 0) {
        /* Nobody registered yet. If the process that started us is gone
         * (it failed to set up its segment, or died first), nobody will:
         * leave rather than linger forever. */
        struct pollfd root = {.fd = c->cfg->root_pidfd, .events = POLLIN};
        return c->cfg->root_pidfd >= 0 && poll(&root, 1, 0) == 1 &&
               now >= c->last_activity_ns + COLLECTOR_LINGER_NS;
    }
    if (c->active_count != 0)
        return false;
    /* A child forked just before its parent ended registers a moment later. */
    if (now < c->last_end_ns + COLLECTOR_FORK_GRACE_NS && collector_fork_child_missing(c))
        return false;
    return now >= c->last_activity_ns + COLLECTOR_LINGER_NS;
}

/* Drops the images whose end is written from the active list. */
static void collector_prune(struct collector *c)
{
    size_t kept = 0;
    for (size_t i = 0; i < c->active_count; i++)
        if (!c->active[i]->end_written)
            c->active[kept++] = c->active[i];
    c->active_count = kept;
}

static void collector_flush(struct collector *c)
{
    db_begin(c->cfg->db);
    db_write_health(c->cfg->db, &c->health);
    for (size_t i = 0; i < c->active_count; i++) {
        struct image *im = c->active[i];
        if (im->ended)
            continue;
        db_write_state(c->cfg->db, im->process_id, im->st, im->st->last_ts);
        collector_name_stacks(c, im); /* the batch before is written by then, or it waits */
    }
    db_commit(c->cfg->db);
}

/* Answers im's exit handshake if the process asks for it: drains every
 * ring, commits what the exiting program recorded, acks. An image whose
 * segment turns out damaged is abandoned instead (im->damage set). */
static void collector_serve_exit(struct collector *c, struct image *im)
{
    if (atomic_load_explicit(&im->seg->exit_requested, memory_order_acquire) !=
            SEGMENT_EXIT_WAIT ||
        atomic_load_explicit(&im->seg->exit_acked, memory_order_relaxed))
        return;
    collector_drain(c, im, true);
    if (im->damage != NULL) {
        collector_abandon(c, im);
        return;
    }
    im->exited_cleanly = true;
    /* The exiting program waits for this commit: everything but the names
     * of new stacks, which can take libdw a while (hundreds of ms for a
     * python3 importing numpy). They are written with the end of the
     * image, in the same commit as its end_ns, a moment after the program
     * is gone. */
    db_begin(c->cfg->db);
    db_write_state(c->cfg->db, im->process_id, im->st, im->st->last_ts);
    db_write_live(c->cfg->db, im->process_id, im->st);
    db_commit(c->cfg->db);
    im->records_at_exit = im->st->records;
    collector_ack_exit(im);
}

/* The end reason of an image whose process is gone: "exit" if it went
 * through the exit handshake or said it was exiting without one
 * (SEGMENT_EXIT_NOWAIT), else "abrupt" (a signal, _exit, a crash). */
static const char *collector_exit_reason(const struct image *im)
{
    return im->exited_cleanly || atomic_load_explicit(&im->seg->exit_requested,
                                                      memory_order_acquire) == SEGMENT_EXIT_NOWAIT
               ? "exit"
               : "abrupt";
}

/* The end reason of an image whose process is gone, or NULL: running, or
 * not yet known. A process can exec and die before the collector reads
 * the new image's registration (an exec loop's /bin/true, with
 * ORTHO_TRACE_EXIT=nowait), and that registration is what says the old
 * image was replaced rather than ended abruptly. It was sent before the
 * process died, so once the death is seen it waits in the listen backlog:
 * registrations are read first, and if more wait than a pass takes, the
 * end waits for later passes, for at most COLLECTOR_GONE_GRACE_NS. */
static const char *collector_gone_reason(struct collector *c, struct image *im, uint64_t now)
{
    if (!collector_process_gone(im, now))
        return NULL;
    if (im->gone_seen_ns == 0)
        im->gone_seen_ns = now;
    collector_accept(c);
    if (im->exec_replaced)
        return "exec";
    if (!admit_caught_up(&c->admit) && now - im->gone_seen_ns < COLLECTOR_GONE_GRACE_NS)
        return NULL;
    return collector_exit_reason(im);
}

/* Registers the images waiting to (collector_accept) and serves every
 * exit request waiting (collector_serve_exit). Run first in a pass and
 * after each image's end: each is a program blocked until its answer,
 * while draining the others and ending images can wait a moment. */
static void collector_serve_waiting(struct collector *c)
{
    collector_accept(c);
    for (size_t i = 0; i < c->active_count; i++)
        if (!c->active[i]->ended && collector_identity_ok(c->active[i]))
            collector_serve_exit(c, c->active[i]);
}

int collector_run(const struct collector_config *config)
{
    struct collector *c = calloc(1, sizeof *c);
    if (c == NULL)
        return 1;
    c->cfg = config;
    /* No SA_RESTART: the hint ends a wait in ppoll at once. Both
     * signals are blocked except inside ppoll, which unblocks them
     * atomically: one that arrives during a pass is taken at the next
     * wait and ends it, instead of being spent on the pass and the
     * sender's request then waiting out the whole timeout. Blocked
     * before the naming thread starts, which inherits the mask, so
     * neither lands there. */
    struct sigaction done = {.sa_handler = collector_on_tree_done};
    sigemptyset(&done.sa_mask);
    sigaction(COLLECTOR_TREE_DONE_SIGNAL, &done, NULL);
    struct sigaction wake = {.sa_handler = collector_on_exit_wake};
    sigemptyset(&wake.sa_mask);
    sigaction(SEGMENT_EXIT_WAKE_SIGNAL, &wake, NULL);
    sigset_t waking, in_wait;
    sigemptyset(&waking);
    sigaddset(&waking, COLLECTOR_TREE_DONE_SIGNAL);
    sigaddset(&waking, SEGMENT_EXIT_WAKE_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &waking, &in_wait);
    sigdelset(&in_wait, COLLECTOR_TREE_DONE_SIGNAL);
    sigdelset(&in_wait, SEGMENT_EXIT_WAKE_SIGNAL);
    admit_init(&c->admit, config->listen_fd, (uint32_t)geteuid(), &c->health);
    struct rlimit files;
    c->pidfds_max = COLLECTOR_PIDFDS_MAX;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
        files.rlim_cur / 4 < c->pidfds_max)
        c->pidfds_max = (size_t)(files.rlim_cur / 4);
    c->names = symworker_create();
    if (c->names == NULL) {
        free(c);
        return 1;
    }
    if (CLOCK_HAVE_TSC)
        clock_measure_pair(&c->clock.ticks0, &c->clock.ns0);
    c->last_activity_ns = prim_now_ns();
    uint64_t interval = (uint64_t)config->interval_ms * 1000000ull;
    uint64_t next_flush = prim_now_ns() + interval;
    uint64_t idle_wait_ns = COLLECTOR_WAIT_MAX_NS;
    uint64_t last_pass_ns = prim_now_ns();
    for (;;) {
        uint64_t pass_start = prim_now_ns();
        size_t drained = 0;
        size_t smallest_ring = SIZE_MAX; /* records, of the images drained */
        uint64_t now = prim_now_ns();
        uint64_t names_deadline = now + COLLECTOR_NAMES_SLICE_NS;
        bool names_waiting = false;
        collector_calibrate(c, now, false);
        collector_serve_waiting(c);
        for (size_t i = 0; i < c->active_count; i++) {
            struct image *im = c->active[i];
            if (im->ended) {
                names_waiting |= collector_finish_end(c, im, names_deadline);
                continue;
            }
            if (!collector_identity_ok(im)) {
                collector_abandon(c, im);
                continue;
            }
            drained += collector_drain(c, im, false);
            if (im->damage != NULL) {
                collector_abandon(c, im);
                continue;
            }
            /* Segment 0 has the largest rings; the pacing below is for
             * the smallest ring a thread of the image may be filling. */
            for (uint32_t k = 0; k < im->seg_count; k++)
                if (im->segs[k].geo.ring_capacity < smallest_ring)
                    smallest_ring = im->segs[k].geo.ring_capacity;
            atomic_store_explicit(&im->seg->heartbeat_ns, now, memory_order_relaxed);
            if (now - im->coarse_ns >= COLLECTOR_COARSE_EVERY_NS) {
                atomic_store_explicit(&im->seg->coarse_ns, now, memory_order_relaxed);
                im->coarse_ns = now;
            }
            collector_serve_exit(c, im);
            if (im->damage != NULL)
                continue; /* abandoned */
            const char *reason = im->exec_replaced ? "exec" : collector_gone_reason(c, im, now);
            if (reason == NULL)
                continue;
            collector_end_image(c, im, reason);
            collector_serve_waiting(c); /* asked for while that end was written */
        }
        /* Backed up: this pass drained half a batch or more (it takes at
         * most a batch from each ring). Then the names of running images
         * wait for a pass that is not, but for a short slice now and then
         * so that they still progress: a 2 ms slice a pass let python3
         * fill its ring while the collector drained 4,096 records every
         * 2 ms, and a 0.25 ms slice a pass still made frame rows a third
         * of the collector's time while python3 waited on its ring. */
        bool backed_up = drained >= COLLECTOR_BATCH / 2;
        if (backed_up) {
            now = prim_now_ns();
            if (now - c->names_busy_ns >= COLLECTOR_NAMES_BUSY_EVERY_NS) {
                c->names_busy_ns = now;
                if (now + COLLECTOR_NAMES_BUSY_SLICE_NS < names_deadline)
                    names_deadline = now + COLLECTOR_NAMES_BUSY_SLICE_NS;
            } else {
                names_deadline = now; /* none this pass */
            }
        }
        names_waiting |= collector_write_some_names(c, names_deadline);
        now = prim_now_ns();
        if (now >= next_flush) {
            collector_flush(c);
            next_flush = now + interval;
        }
        collector_prune(c);
        db_commit(config->db); /* what this pass left open (new process rows) */
        if (collector_done(c, now))
            break;
        /* A pass that drained an eighth of a ring goes straight on, and so
         * does a backed-up one: rings larger than eight batches
         * (ORTHO_TRACE_RING_SIZE over 1 MiB) would otherwise wait between
         * passes while full (python3 with 4 MiB rings ran twice as long). */
        if (backed_up || drained >= smallest_ring / COLLECTOR_TRICKLE_DIVISOR || names_waiting) {
            idle_wait_ns = COLLECTOR_WAIT_MIN_NS; /* keeping up, or frames to write: straight on */
            last_pass_ns = pass_start;
            continue;
        }
        /* A pass that drained a trickle waits too, for as long as the
         * producers take to write a quarter of a ring at the rate this
         * pass found (records drained over the time since the last pass
         * began), between 20 us and a millisecond. Draining right behind
         * a producer costs both sides dearly: each line of slots (and the
         * head) it writes is pulled to this core and back, often twice,
         * and every pass is a wake-up, a context switch and a few system
         * calls on a core the program may need (perl traced with waits of
         * 20 us woke the collector 9,000 times in 2 s). A pass that found
         * nothing waits longer each time, up to a millisecond (a busy
         * thread fills a default ring in about that). New registrations
         * end any wait. */
        uint64_t wait_ns = idle_wait_ns;
        if (drained != 0) {
            uint64_t span = pass_start > last_pass_ns ? pass_start - last_pass_ns : 1;
            uint64_t quarter = (uint64_t)smallest_ring / 4;
            /* span / drained ns a record; capped so the product cannot overflow */
            wait_ns = quarter * (span < COLLECTOR_WAIT_MAX_NS ? span : COLLECTOR_WAIT_MAX_NS) / drained;
            if (wait_ns < COLLECTOR_WAIT_MIN_NS)
                wait_ns = COLLECTOR_WAIT_MIN_NS;
            if (wait_ns > COLLECTOR_WAIT_MAX_NS)
                wait_ns = COLLECTOR_WAIT_MAX_NS;
        }
        last_pass_ns = pass_start;
        struct pollfd fds[1 + ADMIT_PENDING_MAX];
        size_t nfds = admit_pollfds(&c->admit, fds, sizeof fds / sizeof fds[0]);
        struct timespec wait = {0, (long)wait_ns};
        ppoll(fds, nfds, &wait, &in_wait);
        if (drained != 0)
            idle_wait_ns = COLLECTOR_WAIT_MIN_NS;
        else if (idle_wait_ns * 2 < COLLECTOR_WAIT_MAX_NS)
            idle_wait_ns *= 2;
        else
            idle_wait_ns = COLLECTOR_WAIT_MAX_NS;
    }
    admit_close(&c->admit);
    db_begin(config->db);
    db_write_health(config->db, &c->health);
    db_commit(config->db);
    health_free(&c->health);
    /* Images whose end was never written still hold their modules: the
     * registry goes with the worker, after them. One whose batch is still
     * being named is left alone (the worker may be creating its
     * symbolizer); the process is about to exit anyway. */
    for (size_t i = 0; i < c->image_count; i++) {
        struct image *im = c->images[i];
        if (im->naming != NULL && !symworker_done(im->naming))
            continue;
        symworker_retire(c->names, im->sym);
        im->sym = NULL;
    }
    symworker_destroy(c->names);
    for (size_t i = 0; i < c->image_count; i++)
        free(c->images[i]);
    free(c->images);
    free(c->active);
    free(c);
    return 0;
}
