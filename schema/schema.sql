-- Orthotope trace database, schema version 2.
--
-- Written by ortho-collector while a traced program runs (WAL mode, so
-- readers such as ortho-top and sqlite3 can query it at the same time) and
-- read by ortho-top, ortho-report and users' own SQL. Tables are the
-- collector's storage; the views at the end are the documented query
-- surface (class_totals, fragmentation, leaks and corruption are pinned by
-- the design; the others are conveniences). Times are CLOCK_MONOTONIC
-- nanoseconds (*_ns) unless named *_unix_ns. Each process has its own size
-- classes (ORTHO_CLASSES; `classes`): class_id 0 .. n-1 are its n classes,
-- smallest first, and class_id n is LARGE (the large path). Under the
-- default table that is B64..B16M as 0..11 and LARGE as 12. One database
-- holds a whole traced process tree: every table is keyed by process_id.
--
-- Version 2 (orthotope 0.2): classes keyed by process, processes.class_table.
-- Added within version 2 (older version-2 files lack them): the
-- processes columns from trace_slots on, threads.ring_waits and
-- ring_wait_ns, table corruption_groups and view corruption_summary,
-- table alloc_calls and view call_totals, processes.stack_unwinds and
-- threads.stack_unwinds (and trace_health's). A reader that uses one of them
-- checks sqlite_master first and reads an older file without it.
--
-- Bump user_version on any incompatible change; readers refuse versions
-- newer than their own.

PRAGMA application_id = 1330795592; -- 0x4F525448, "ORTH"
PRAGMA user_version = 2;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value
) WITHOUT ROWID;

-- Each process's size classes, and LARGE after the last one.
CREATE TABLE classes (
    process_id   INTEGER NOT NULL,
    class_id     INTEGER NOT NULL,
    class_name   TEXT NOT NULL,    -- B and the payload: B64, B384, B6K, B16M; LARGE
    payload_size INTEGER,          -- bytes a block of the class can hold (NULL for LARGE)
    block_size   INTEGER,          -- payload + 64-byte header (NULL for LARGE)
    PRIMARY KEY (process_id, class_id),
    UNIQUE (process_id, class_name)
) WITHOUT ROWID;

-- One row per traced process image. An exec gives the same pid a new row
-- whose parent is the image it replaced.
CREATE TABLE processes (
    process_id        INTEGER PRIMARY KEY,
    pid               INTEGER NOT NULL,
    ppid              INTEGER,
    parent_process_id INTEGER REFERENCES processes(process_id),
    via               TEXT NOT NULL,  -- root, fork or exec
    exe               TEXT,
    cmdline           TEXT,           -- arguments separated by spaces
    start_ns          INTEGER,
    start_unix_ns     INTEGER,
    end_ns            INTEGER,        -- NULL while running
    end_reason        TEXT,           -- exit (ran its exit handlers), exec, abrupt
                                      -- (a signal, a crash, or _exit), or abandoned
                                      -- (it overwrote its trace segment: later records lost)
    mode              TEXT,           -- summary or full
    stack_depth       INTEGER,
    sample_bytes      INTEGER,        -- 0: every allocation has a stack
    overflow          TEXT,           -- wait (lossless) or drop
    class_table       TEXT,           -- ORTHO_CLASSES: orthotope, general, list or @FILE
    records           INTEGER NOT NULL DEFAULT 0,  -- records received
    dropped_records   INTEGER NOT NULL DEFAULT 0,  -- lost in full rings (drop mode)
    lost_no_slot      INTEGER NOT NULL DEFAULT 0,  -- events of threads that found no ring
    stacks            INTEGER NOT NULL DEFAULT 0,  -- distinct stacks
    stacks_truncated  INTEGER NOT NULL DEFAULT 0,  -- stacks cut at stack_depth
    untracked_frees   INTEGER NOT NULL DEFAULT 0,  -- frees of blocks allocated before tracing
    max_lag_ns        INTEGER NOT NULL DEFAULT 0,  -- worst delay event -> collector
    last_ts_ns        INTEGER,                     -- newest event seen
    trace_slots       INTEGER NOT NULL DEFAULT 0,  -- thread slots (rings) its segments held
    -- Why max_lag_ns passed the collector's 50 ms budget, when it did:
    late_batches      INTEGER NOT NULL DEFAULT 0,  -- batches read > 50 ms after their newest event
    ring_waits        INTEGER NOT NULL DEFAULT 0,  -- pushes that found a full ring and waited:
    ring_wait_ns      INTEGER NOT NULL DEFAULT 0,  --   the program out-ran the collector, this long
    max_visit_gap_ns  INTEGER NOT NULL DEFAULT 0,  -- longest the collector did not look at its rings
    corruption_events INTEGER NOT NULL DEFAULT 0,  -- every corruption event, counted
    corruption_aggregated INTEGER NOT NULL DEFAULT 0, -- of them, past the 10,000 kept one by one
    stack_unwinds     INTEGER NOT NULL DEFAULT 0   -- stacks unwound: allocations the stack memo
                                                   -- could not name from a stack seen before
);

CREATE TABLE threads (
    process_id         INTEGER NOT NULL,
    thread_id          INTEGER NOT NULL,  -- kernel tid
    start_ns           INTEGER NOT NULL,
    name               TEXT,
    end_ns             INTEGER,
    allocs             INTEGER NOT NULL DEFAULT 0,
    frees              INTEGER NOT NULL DEFAULT 0,
    alloc_bytes        INTEGER NOT NULL DEFAULT 0,  -- requested
    freed_bytes        INTEGER NOT NULL DEFAULT 0,  -- requested
    cross_thread_frees INTEGER NOT NULL DEFAULT 0,  -- frees here of blocks other threads allocated
    records            INTEGER NOT NULL DEFAULT 0,
    dropped_records    INTEGER NOT NULL DEFAULT 0,
    ring_waits         INTEGER NOT NULL DEFAULT 0,  -- pushes that waited on its full ring
    ring_wait_ns       INTEGER NOT NULL DEFAULT 0,  -- time they waited
    stack_unwinds      INTEGER NOT NULL DEFAULT 0,  -- stacks it unwound (the stack memo missed)
    PRIMARY KEY (process_id, thread_id, start_ns)
) WITHOUT ROWID;

-- Exact whole-run counters per class (updated while the run goes on).
CREATE TABLE class_stats (
    process_id             INTEGER NOT NULL,
    class_id               INTEGER NOT NULL REFERENCES classes(class_id),
    allocs                 INTEGER NOT NULL,
    frees                  INTEGER NOT NULL,
    requested_bytes        INTEGER NOT NULL,  -- sum of requested sizes of allocs
    usable_bytes           INTEGER NOT NULL,  -- sum of usable sizes handed out
    freed_requested_bytes  INTEGER NOT NULL,
    freed_usable_bytes     INTEGER NOT NULL,
    live_blocks            INTEGER NOT NULL,
    live_requested_bytes   INTEGER NOT NULL,
    live_usable_bytes      INTEGER NOT NULL,
    peak_live_usable_bytes INTEGER NOT NULL,
    cached_blocks          INTEGER NOT NULL,  -- free blocks in thread caches
    pooled_blocks          INTEGER NOT NULL,  -- free blocks in the central pool
    cache_refills          INTEGER NOT NULL,
    refill_blocks          INTEGER NOT NULL,
    cache_drains           INTEGER NOT NULL,
    drain_blocks           INTEGER NOT NULL,
    carves                 INTEGER NOT NULL,  -- fresh spans cut from the arena
    carved_blocks          INTEGER NOT NULL,
    os_released_bytes      INTEGER NOT NULL,  -- pages given back (madvise/munmap)
    large_maps             INTEGER NOT NULL,
    large_mapped_bytes     INTEGER NOT NULL,
    large_unmaps           INTEGER NOT NULL,
    large_unmapped_bytes   INTEGER NOT NULL,
    reallocs_in_place      INTEGER NOT NULL,
    cross_thread_frees     INTEGER NOT NULL,
    PRIMARY KEY (process_id, class_id)
) WITHOUT ROWID;

-- Allocations by the entry point the program called, per class: exact,
-- counted with class_stats.allocs (so per process and class they add up
-- to it), a row only for a call that allocated in the class. call is
--   malloc            malloc
--   calloc            calloc
--   realloc_moved     realloc or reallocarray to a new size that moved the block
--   realloc_in_place  the same that kept the block (class_stats.reallocs_in_place)
--   realloc_null      realloc or reallocarray of NULL (malloc's work, realloc's call)
--   aligned           posix_memalign, aligned_alloc, memalign, valloc, pvalloc
--   new               C++ operator new and new[], every form
--   ortho_api         ortho_alloc, ortho_alloc_aligned
--   unknown           a library that did not say (older than this table)
-- realloc to 0 bytes frees and allocates nothing: it is a free in
-- class_stats, not a row here. Rows, not a column per call, so that
-- "GROUP BY call" gives the split and a new entry point is a new value
-- rather than a new column.
CREATE TABLE alloc_calls (
    process_id      INTEGER NOT NULL,
    class_id        INTEGER NOT NULL,
    call            TEXT NOT NULL,
    allocs          INTEGER NOT NULL,
    requested_bytes INTEGER NOT NULL,  -- sum of their requested sizes
    PRIMARY KEY (process_id, class_id, call)
) WITHOUT ROWID;

-- The same counters sampled every ORTHO_TRACE_INTERVAL_MS (cumulative;
-- a row only when the class changed).
CREATE TABLE class_series (
    process_id           INTEGER NOT NULL,
    class_id             INTEGER NOT NULL,
    ts_ns                INTEGER NOT NULL,
    allocs               INTEGER NOT NULL,
    frees                INTEGER NOT NULL,
    live_blocks          INTEGER NOT NULL,
    live_requested_bytes INTEGER NOT NULL,
    live_usable_bytes    INTEGER NOT NULL,
    cached_blocks        INTEGER NOT NULL,
    pooled_blocks        INTEGER NOT NULL,
    cache_refills        INTEGER NOT NULL,
    cache_drains         INTEGER NOT NULL,
    carved_blocks        INTEGER NOT NULL,
    PRIMARY KEY (process_id, class_id, ts_ns)
) WITHOUT ROWID;

-- Exact histogram of requested sizes: enough to recompute waste under any
-- other class table.
CREATE TABLE size_histogram (
    process_id     INTEGER NOT NULL,
    requested_size INTEGER NOT NULL,
    class_id       INTEGER NOT NULL,
    allocs         INTEGER NOT NULL,
    PRIMARY KEY (process_id, requested_size)
) WITHOUT ROWID;

-- Lifetimes of freed blocks, in power-of-two buckets: log2_ns = k holds
-- lifetimes in [2^k, 2^(k+1)) ns.
CREATE TABLE lifetimes (
    process_id INTEGER NOT NULL,
    class_id   INTEGER NOT NULL,
    log2_ns    INTEGER NOT NULL,
    frees      INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,  -- requested
    PRIMARY KEY (process_id, class_id, log2_ns)
) WITHOUT ROWID;

-- Who frees what others allocated.
CREATE TABLE thread_pairs (
    process_id      INTEGER NOT NULL,
    alloc_thread_id INTEGER NOT NULL,
    free_thread_id  INTEGER NOT NULL,
    frees           INTEGER NOT NULL,
    bytes           INTEGER NOT NULL,  -- requested
    PRIMARY KEY (process_id, alloc_thread_id, free_thread_id)
) WITHOUT ROWID;

CREATE TABLE modules (
    process_id INTEGER NOT NULL,
    path       TEXT NOT NULL,
    load_bias  INTEGER NOT NULL,
    PRIMARY KEY (process_id, path, load_bias)
) WITHOUT ROWID;

-- Distinct call stacks. site_* is the innermost frame outside the allocator
-- and its thin wrappers (operator new, strdup, xmalloc, g_malloc, ...): "where
-- it came from". Never NULL for a stack with frames: a frame without a name
-- reads MODULE+0xOFFSET < first named caller (docs/tracing.md).
CREATE TABLE stacks (
    process_id    INTEGER NOT NULL,
    stack_id      INTEGER NOT NULL,
    depth         INTEGER NOT NULL,
    truncated     INTEGER NOT NULL,
    site_function TEXT,
    site_file     TEXT,
    site_line     INTEGER,
    PRIMARY KEY (process_id, stack_id)
) WITHOUT ROWID;

CREATE TABLE frames (
    process_id INTEGER NOT NULL,
    stack_id   INTEGER NOT NULL,
    level      INTEGER NOT NULL,  -- 0 = innermost
    pc         INTEGER NOT NULL,
    function   TEXT,
    module     TEXT,
    file       TEXT,
    line       INTEGER,
    PRIMARY KEY (process_id, stack_id, level)
) WITHOUT ROWID;

-- Per-site aggregates; stack_id 0 collects allocations without a stack
-- (stacks off, or not picked by the sampler).
CREATE TABLE sites (
    process_id     INTEGER NOT NULL,
    stack_id       INTEGER NOT NULL,
    allocs         INTEGER NOT NULL,
    alloc_bytes    INTEGER NOT NULL,  -- requested
    frees          INTEGER NOT NULL,
    freed_bytes    INTEGER NOT NULL,
    live_blocks    INTEGER NOT NULL,
    live_bytes     INTEGER NOT NULL,
    peak_live_bytes INTEGER NOT NULL,
    est_allocs     REAL NOT NULL,     -- with sampling: estimated totals of the site
    est_bytes      REAL NOT NULL,
    PRIMARY KEY (process_id, stack_id)
) WITHOUT ROWID;

-- Allocations live when the process ended (rewritten at its end).
CREATE TABLE live_allocations (
    process_id     INTEGER NOT NULL,
    address        INTEGER NOT NULL,
    class_id       INTEGER NOT NULL,
    requested_size INTEGER NOT NULL,
    usable_size    INTEGER NOT NULL,
    thread_id      INTEGER,
    alloc_ns       INTEGER NOT NULL,
    stack_id       INTEGER NOT NULL,
    PRIMARY KEY (process_id, address)
) WITHOUT ROWID;

-- ORTHO_TRACE=full only: every allocation (free_ns NULL while live).
CREATE TABLE allocations (
    process_id      INTEGER NOT NULL,
    address         INTEGER NOT NULL,
    class_id        INTEGER NOT NULL,
    requested_size  INTEGER NOT NULL,
    usable_size     INTEGER NOT NULL,
    thread_id       INTEGER,
    free_thread_id  INTEGER,
    alloc_ns        INTEGER NOT NULL,
    free_ns         INTEGER,
    stack_id        INTEGER NOT NULL
);
CREATE INDEX allocations_by_stack ON allocations(process_id, stack_id);

-- The first 10,000 corruption events of each process, one row each (all of
-- them are counted in corruption_groups).
CREATE TABLE corruption_events (
    event_id        INTEGER PRIMARY KEY,
    process_id      INTEGER NOT NULL,
    thread_id       INTEGER,
    ts_ns           INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    call            TEXT,             -- free, realloc, operator delete, ...
    address         INTEGER,
    class_id        INTEGER,          -- as read from the header, if plausible
    stack_id        INTEGER,          -- where it was detected
    alloc_thread_id INTEGER,          -- from the header, if it was readable
    alloc_stack_id  INTEGER,          -- from the header, if it was readable
    header          BLOB              -- the 64 header bytes as found
);

-- Every corruption event, counted: one row per process, kind, detecting
-- stack and class, however many there were.
CREATE TABLE corruption_groups (
    process_id    INTEGER NOT NULL,
    group_id      INTEGER NOT NULL,   -- the group's number within its process
    kind          TEXT NOT NULL,
    call          TEXT,               -- API entry of the first event
    stack_id      INTEGER NOT NULL,   -- where it was detected (0: no stack)
    class_id      INTEGER,            -- as read from the header, if plausible
    events        INTEGER NOT NULL,   -- all of them
    stored_events INTEGER NOT NULL,   -- of them, rows in corruption_events
    first_ns      INTEGER NOT NULL,
    last_ns       INTEGER NOT NULL,
    first_address INTEGER,
    last_address  INTEGER,
    PRIMARY KEY (process_id, group_id)
) WITHOUT ROWID;

-- What the collector refused or gave up on (view trace_health shows it): a
-- connection from another user, a registration in another process's name,
-- a connection that sent nothing, a segment it could not trust, a traced
-- process that overwrote its own segment, stack frames named without their
-- module's file because the collector ran out of file descriptors. One row
-- per kind, user and process, however often it happened.
CREATE TABLE health_events (
    event_id      INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,      -- other_user, forged_pid, silent_connection,
                                      -- bad_registration, unsealed_segment, bad_segment,
                                      -- too_many_connections, segment_overwritten,
                                      -- symbols_without_fds
    uid           INTEGER,            -- the peer's user
    pid           INTEGER,            -- the peer process (the latest one)
    process_id    INTEGER REFERENCES processes(process_id), -- segment_overwritten,
                                      -- symbols_without_fds only
    count         INTEGER NOT NULL,   -- times it happened
    first_unix_ns INTEGER,
    last_unix_ns  INTEGER,
    detail        TEXT                -- what exactly, the first time
);

-- ---- views: the query surface -------------------------------------------
--
-- ortho-top and ortho-report read the run through these views and add no
-- arithmetic of their own to what a view says, so the two tools agree with
-- each other and with anyone's SQL by construction. Function names in the
-- views carry no symbol version (pthread_create@@GLIBC_2.34 reads
-- pthread_create): the version is noise to a reader and would split one
-- function into two sites.

CREATE VIEW class_totals AS
SELECT s.process_id, c.class_name, c.payload_size, s.allocs, s.frees,
       s.requested_bytes, s.usable_bytes, s.class_id, s.peak_live_usable_bytes
FROM class_stats s JOIN classes c USING (process_id, class_id);

-- alloc_calls with the class named: the split of class_totals.allocs by
-- the entry point called.
CREATE VIEW call_totals AS
SELECT a.process_id, c.class_name, a.call, a.allocs, a.requested_bytes, a.class_id
FROM alloc_calls a JOIN classes c USING (process_id, class_id);

-- large_free_bytes: mapped by the large path and not live (freed mappings
-- kept for reuse); 0 for the small classes.
CREATE VIEW fragmentation AS
SELECT s.process_id, c.class_name, s.live_blocks, s.live_requested_bytes,
       s.live_usable_bytes, s.cached_blocks,
       CASE WHEN s.live_usable_bytes > 0
            THEN round(100.0 * (s.live_usable_bytes - s.live_requested_bytes) / s.live_usable_bytes, 2)
            ELSE 0.0 END AS waste_pct,
       s.pooled_blocks,
       coalesce(s.cached_blocks * c.payload_size, 0) AS cached_bytes, -- LARGE: never cached
       coalesce(s.pooled_blocks * c.payload_size, 0) AS pooled_bytes,
       s.class_id,
       max(s.large_mapped_bytes - s.large_unmapped_bytes - s.live_usable_bytes, 0)
         * (s.large_mapped_bytes > 0) AS large_free_bytes
FROM class_stats s JOIN classes c USING (process_id, class_id);

-- Each class's cumulative counters over time: the rows of class_series
-- and, at the newest moment the process's data covers (its end, or its
-- newest event while it runs), the exact counters of class_stats. Each
-- class's last row is therefore the numbers of class_totals and
-- fragmentation; read at any time T (the newest row at or before T), it is
-- what ortho-top shows at T. A process with no time yet (no event
-- recorded) has its series rows only.
CREATE VIEW class_timeline AS
WITH ends AS (
    SELECT process_id, max(coalesce(end_ns, 0), coalesce(last_ts_ns, 0)) AS end_ns
    FROM processes
)
SELECT cs.process_id, cs.class_id, cs.ts_ns, cs.allocs, cs.frees, cs.live_blocks,
       cs.live_requested_bytes, cs.live_usable_bytes, cs.cached_blocks, cs.pooled_blocks,
       cs.cache_refills, cs.cache_drains, cs.carved_blocks
FROM class_series cs JOIN ends e USING (process_id)
WHERE cs.ts_ns < e.end_ns OR e.end_ns = 0
UNION ALL
SELECT s.process_id, s.class_id, e.end_ns, s.allocs, s.frees, s.live_blocks,
       s.live_requested_bytes, s.live_usable_bytes, s.cached_blocks, s.pooled_blocks,
       s.cache_refills, s.cache_drains, s.carved_blocks
FROM class_stats s JOIN ends e USING (process_id)
WHERE e.end_ns > 0;

-- The stacks with their site (the innermost frame outside the allocator)
-- named without a symbol version.
CREATE VIEW stack_sites AS
SELECT process_id, stack_id, depth, truncated,
       CASE WHEN instr(site_function, '@') > 1
            THEN substr(site_function, 1, instr(site_function, '@') - 1)
            ELSE site_function END AS function,
       site_file AS file, site_line AS line
FROM stacks;

-- The frames of each stack, level 0 innermost, named without a symbol version.
CREATE VIEW stack_frames AS
SELECT process_id, stack_id, level, pc,
       CASE WHEN instr(function, '@') > 1
            THEN substr(function, 1, instr(function, '@') - 1)
            ELSE function END AS function,
       module, file, line
FROM frames;

CREATE VIEW leaks AS
SELECT l.process_id, l.address, l.requested_size, c.class_name, l.thread_id,
       st.function, st.file, st.line, l.stack_id, l.alloc_ns
FROM live_allocations l
JOIN classes c USING (process_id, class_id)
LEFT JOIN stack_sites st ON st.process_id = l.process_id AND st.stack_id = l.stack_id;

CREATE VIEW corruption AS
SELECT e.process_id, e.thread_id, e.ts_ns, e.kind, e.address,
       st.function, st.file, st.line,
       e.call, c.class_name, e.stack_id, e.alloc_thread_id, e.alloc_stack_id, e.event_id,
       e.header
FROM corruption_events e
LEFT JOIN stack_sites st ON st.process_id = e.process_id AND st.stack_id = e.stack_id
LEFT JOIN classes c ON c.process_id = e.process_id AND c.class_id = e.class_id;

-- Every corruption event counted per process, kind, site and class, with
-- how many are rows of `corruption` and how many only counted here; the
-- site named as in `corruption` (without a symbol version).
CREATE VIEW corruption_summary AS
SELECT g.process_id, g.kind, st.function, st.file, st.line, c.class_name, g.events,
       g.stored_events, g.events - g.stored_events AS aggregated_events, g.first_ns, g.last_ns,
       g.call, g.stack_id, g.first_address, g.last_address
FROM corruption_groups g
LEFT JOIN stack_sites st ON st.process_id = g.process_id AND st.stack_id = g.stack_id
LEFT JOIN classes c ON c.process_id = g.process_id AND c.class_id = g.class_id;

-- A stack as one line, innermost first: "f < g < main". Built frame by
-- frame in level order (a recursive walk, since group_concat's order is not
-- guaranteed); frames without a name show their address.
CREATE VIEW stack_text AS
WITH RECURSIVE walk(process_id, stack_id, level, text) AS (
    SELECT process_id, stack_id, level, coalesce(function, printf('0x%x', pc))
    FROM stack_frames WHERE level = 0
    UNION ALL
    SELECT w.process_id, w.stack_id, f.level,
           w.text || ' < ' || coalesce(f.function, printf('0x%x', f.pc))
    FROM walk w
    JOIN stack_frames f ON f.process_id = w.process_id AND f.stack_id = w.stack_id
                       AND f.level = w.level + 1
)
SELECT process_id, stack_id, text
FROM walk w
WHERE NOT EXISTS (SELECT 1 FROM frames n WHERE n.process_id = w.process_id
                  AND n.stack_id = w.stack_id AND n.level = w.level + 1);

-- One row per allocation site (function, file, line) of each process, over
-- all the stacks that reach it: the sites ortho-top lists and ortho-report
-- ranks. has_stack is 0 for the row that collects allocations without a
-- stack (stacks off, or not picked by the sampler; function NULL).
-- peak_live_bytes is the largest peak of a single stack (stacks peak at
-- different times, so their joint peak is not known) and stack_id is that
-- stack (SQLite takes a bare column from the row of the only max() of a
-- query). In a sampled process (processes.sample_bytes > 0) est_allocs and
-- est_bytes estimate the site's whole counts, and the row without a stack
-- is already part of those estimates.
CREATE VIEW top_sites AS
SELECT si.process_id, st.function, st.file, st.line, count(*) AS stacks,
       sum(si.allocs) AS allocs, sum(si.alloc_bytes) AS alloc_bytes, sum(si.frees) AS frees,
       sum(si.live_blocks) AS live_blocks, sum(si.live_bytes) AS live_bytes,
       max(si.peak_live_bytes) AS peak_live_bytes, sum(si.est_allocs) AS est_allocs,
       sum(si.est_bytes) AS est_bytes, si.stack_id, sum(si.stack_id <> 0) > 0 AS has_stack
FROM sites si
LEFT JOIN stack_sites st ON st.process_id = si.process_id AND st.stack_id = si.stack_id
GROUP BY si.process_id, st.function, st.file, st.line;

-- Per-interval changes from the cumulative series. A class's first sample
-- counts from its process's start.
CREATE VIEW class_rates AS
SELECT cs.process_id, cs.class_id, cs.ts_ns,
       cs.allocs - lag(cs.allocs, 1, 0) OVER w AS allocs_delta,
       cs.frees - lag(cs.frees, 1, 0) OVER w AS frees_delta,
       cs.ts_ns - coalesce(lag(cs.ts_ns, 1, NULL) OVER w, p.start_ns) AS interval_ns,
       cs.live_blocks, cs.live_requested_bytes, cs.live_usable_bytes, cs.cached_blocks,
       cs.pooled_blocks
FROM class_series cs
JOIN processes p USING (process_id)
WINDOW w AS (PARTITION BY cs.process_id, cs.class_id ORDER BY cs.ts_ns);

-- What tracing itself cost and lost, per process; problem names what went
-- wrong with a process's segment (NULL: nothing). Then one row per kind of
-- connection the collector refused (process_id NULL, pid the latest
-- sender's), with problem_count the number of times. max_lag_ns stays under
-- 50 ms at the collector's sustained rate; late_batches counts the batches
-- that did not, and the next columns say why: the program out-ran the
-- collector (ring_waits, ring_wait_ns: lossless mode held its threads), or
-- the collector was held up (max_visit_gap_ns near max_lag_ns).
CREATE VIEW trace_health AS
SELECT p.process_id, p.pid, p.records, p.dropped_records, p.lost_no_slot, p.stacks,
       p.stacks_truncated, p.untracked_frees, p.sample_bytes, p.stack_depth, p.overflow,
       p.max_lag_ns, h.kind AS problem, h.count AS problem_count, h.detail AS problem_detail,
       p.trace_slots, p.late_batches, p.ring_waits, p.ring_wait_ns, p.max_visit_gap_ns,
       p.corruption_events, p.corruption_aggregated, p.stack_unwinds
FROM processes p LEFT JOIN health_events h ON h.process_id = p.process_id
UNION ALL
SELECT NULL, h.pid, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       h.kind, h.count, 'uid ' || h.uid || ': ' || h.detail,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM health_events h WHERE h.process_id IS NULL;
