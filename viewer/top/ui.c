/* ui.c - the interactive terminal of ortho-top (see ui.h). Owns the
 * ncurses session and the viewer's state (screen, sort, selection, time
 * cursor, filter, pause) in one struct. Each pass of the loop re-reads the
 * database when a live run is due for it (once a second), retakes the
 * snapshot when the data, the time or the process changed, redraws, and
 * waits up to UI_TICK_MS for a key. Key handlers return flags saying what
 * has to happen next; they never draw.
 *
 * Terminal safety: signals only set a flag the loop polls (getch wakes up
 * on its timeout), so endwin() always runs on the normal path, never in a
 * handler. SIGWINCH is ncurses' own: it turns a resize into KEY_RESIZE. */
#define _GNU_SOURCE
#include "ui.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "describe.h"

#define UI_TICK_MS 200           /* longest wait for a key: keeps signals and refreshes prompt */
#define UI_REFRESH_MS 1000       /* how often a live database is re-read */
#define UI_STEP_NS 1000000000LL  /* Left/Right move the time cursor by a second */
#define UI_BIG_STEP_NS 10000000000LL  /* [ and ]: ten seconds */
#define UI_HEADER_ROWS 3         /* time line, process line, tab line */
#define UI_DETAIL_LINES 200      /* lines of a corruption event's detail */
#define UI_PLAUSIBLE_CLOCK_NS 3600000000000LL  /* a live run's data within the last hour of our clock */

enum ui_flags { UI_REDRAW = 1, UI_RETAKE = 2, UI_QUIT = 4, UI_REFRESH = 8 };

enum ui_colors { UI_C_TITLE = 1, UI_C_COLUMNS, UI_C_SELECTED, UI_C_ERROR, UI_C_TAB,
                 UI_C_BAR_FIRST /* + enum top_frag_part */ };

enum ui_mode { UI_MODE_TABLE, UI_MODE_HELP, UI_MODE_DETAIL, UI_MODE_PICK, UI_MODE_FILTER };

static volatile sig_atomic_t ui_signal; /* the signal that asks us to quit, 0 none */

static void ui_on_signal(int sig)
{
    ui_signal = sig;
}

struct ui_state {
    struct top_model *model;
    const char *path;
    struct top_snapshot snap;
    bool have_snap;
    int screen;
    int sort_col[TOP_SCREENS];
    bool descending[TOP_SCREENS];
    size_t selected[TOP_SCREENS];     /* index into the screen's ordered rows */
    size_t top_row[TOP_SCREENS];      /* first ordered row on screen */
    size_t *order;                    /* the current screen's rows in display order */
    size_t order_count;
    int selection;                    /* process: TOP_ALL_PROCESSES or index */
    size_t pick_row;                  /* in the process picker: 0 = all */
    bool follow;                      /* show the newest data (time cursor at the end) */
    int64_t cursor_ns;                /* the time shown when not following */
    const char *at_note;              /* "(peak)" after a jump to the peak */
    bool paused;
    bool totals;                      /* class screen: totals since the start, not rates */
    bool resume_follow;               /* follow again when the pause ends */
    bool watching;                    /* the run was live: keep re-reading it */
    enum ui_mode mode, back_mode;
    char filter[64];
    char status[TOP_LINE_BYTES];      /* the last refresh failure, "" when fine */
    char (*detail)[TOP_LINE_BYTES];   /* the event shown in UI_MODE_DETAIL */
    size_t detail_count, detail_top;
    bool color, utf8;
    long long next_refresh_ms;
};

static long long ui_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The time to show when following. A live run's data stop at its newest
 * event; the collector stamps rows with event times on this machine's
 * CLOCK_MONOTONIC, so while a program is idle time still moves on and its
 * rates must fall: show max(newest data, now - 1 s) when our clock is
 * plausibly the same clock. */
static int64_t ui_follow_ns(const struct ui_state *ui)
{
    int64_t end = top_model_data_end_ns(ui->model);
    if (!top_model_is_live(ui->model))
        return end;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (now < end || now - end > UI_PLAUSIBLE_CLOCK_NS)
        return end;
    return now - TOP_RATE_WINDOW_NS > end ? now - TOP_RATE_WINDOW_NS : end;
}

static const struct top_screen *ui_screen(const struct ui_state *ui)
{
    return &top_screens[ui->screen];
}

static void ui_refresh_model(struct ui_state *ui);

/* Points the model's site query at what the current screen shows (only
 * the sites screen wants sites; the database sorts and filters them), and
 * reads them again if that changed. */
static void ui_sync_sites(struct ui_state *ui)
{
    struct top_site_query q;
    int64_t process_id = ui->selection == TOP_ALL_PROCESSES
                             ? 0 : ui->model->procs[ui->selection].process_id;
    top_screen_site_query(ui_screen(ui), ui->sort_col[ui->screen], ui->descending[ui->screen],
                          ui->filter, process_id, &q);
    /* Paused on a live run, the data stays frozen: the new query is read
     * with the next refresh, after the pause. */
    if (top_model_set_site_query(ui->model, &q) && !(ui->paused && ui->watching))
        ui_refresh_model(ui);
}

/* Retakes the snapshot and the row order of the current screen. */
static void ui_retake(struct ui_state *ui)
{
    ui_sync_sites(ui);
    int64_t at = ui->follow ? ui_follow_ns(ui) : ui->cursor_ns;
    struct top_snapshot fresh;
    if (top_snapshot_take(&fresh, ui->model, ui->selection, at) != 0) {
        snprintf(ui->status, sizeof ui->status, "out of memory: showing the previous data");
        return;
    }
    if (ui->have_snap)
        top_snapshot_free(&ui->snap);
    ui->snap = fresh;
    ui->have_snap = true;
    if (!ui->follow)
        ui->cursor_ns = ui->snap.at_ns;
    const struct top_screen *s = ui_screen(ui);
    size_t rows = s->rows(&ui->snap);
    size_t *order = realloc(ui->order, (rows ? rows : 1) * sizeof *order);
    if (order == NULL) {
        snprintf(ui->status, sizeof ui->status, "out of memory");
        return;
    }
    ui->order = order;
    ui->order_count = top_screen_order(s, &ui->snap, ui->sort_col[ui->screen],
                                       ui->descending[ui->screen], ui->filter, order);
    size_t *sel = &ui->selected[ui->screen];
    if (*sel >= ui->order_count)
        *sel = ui->order_count ? ui->order_count - 1 : 0;
}

/* ---- drawing ---------------------------------------------------------- */

static void ui_attr(const struct ui_state *ui, int pair, bool on, attr_t fallback)
{
    attr_t a = ui->color ? (attr_t)COLOR_PAIR(pair) : fallback;
    if (on)
        attron(a);
    else
        attroff(a);
}

/* Writes text at (y, x) cut to width columns (ASCII text: one byte each). */
static void ui_put(int y, int x, const char *text, int width)
{
    if (width <= 0 || y < 0 || y >= LINES || x >= COLS)
        return;
    if (x + width > COLS)
        width = COLS - x;
    mvaddnstr(y, x, text, width);
}

static void ui_fill_line(int y)
{
    move(y, 0);
    for (int x = 0; x < COLS; x++)
        addch(' ');
}

static void ui_draw_header(struct ui_state *ui)
{
    char line[TOP_LINE_BYTES], at[32], end[32];
    const char *base = strrchr(ui->path, '/') ? strrchr(ui->path, '/') + 1 : ui->path;
    top_format_offset(at, sizeof at, ui->snap.at_ns, ui->snap.begin_ns);
    top_format_offset(end, sizeof end, ui->snap.end_ns, ui->snap.begin_ns);
    const char *state = ui->paused ? "PAUSED" : ui->follow ? (ui->snap.live ? "following" : "at end")
                                                            : "replay";
    snprintf(line, sizeof line, " ortho-top  %s  %s run  time %s of %s%s%s  [%s]", base,
             ui->snap.live ? "live" : "finished", at, end, ui->at_note[0] ? " " : "", ui->at_note,
             state);
    ui_attr(ui, UI_C_TITLE, true, A_REVERSE);
    ui_fill_line(0);
    ui_put(0, 0, line, COLS);
    ui_attr(ui, UI_C_TITLE, false, A_REVERSE);
    snprintf(line, sizeof line, " process: %s", ui->snap.process_label);
    ui_put(1, 0, line, COLS);
    int x = 1;
    for (int i = 0; i < TOP_SCREENS && x < COLS; i++) {
        snprintf(line, sizeof line, "%d:%s", i + 1, top_screens[i].title);
        if (i == ui->screen)
            ui_attr(ui, UI_C_TAB, true, A_REVERSE);
        ui_put(2, x, line, COLS - x);
        if (i == ui->screen)
            ui_attr(ui, UI_C_TAB, false, A_REVERSE);
        x += (int)strlen(line) + 1;
    }
    const struct top_screen *s = ui_screen(ui);
    int sort = ui->sort_col[ui->screen];
    snprintf(line, sizeof line, " sort:%s%s%s%s%s", s->columns[sort].title,
             ui->descending[ui->screen] ? "v" : "^",
             ui->screen == TOP_SCREEN_CLASSES ? (ui->totals ? " totals" : " rates") : "",
             ui->filter[0] ? " /" : "", ui->filter);
    if (x < COLS)
        ui_put(2, x, line, COLS - x);
}

/* Draws a ramp-character sparkline, as block glyphs on a UTF-8 terminal. */
static void ui_put_spark(const struct ui_state *ui, int y, int x, const char *spark, int width)
{
    static const char *const blocks[] = {" ", "\u2581", "\u2582", "\u2583", "\u2584",
                                         "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char ramp[] = TOP_SPARK_RAMP;
    for (int i = 0; spark[i] != '\0' && i < width && x + i < COLS; i++) {
        const char *level = strchr(ramp, spark[i]);
        if (ui->utf8 && level != NULL)
            mvaddstr(y, x + i, blocks[level - ramp]);
        else
            mvaddch(y, x + i, (chtype)(unsigned char)spark[i]);
    }
}

/* Draws a fragmentation bar, each letter in its part's colour. */
static void ui_put_bar(const struct ui_state *ui, int y, int x, const char *bar, int width)
{
    static const char letters[] = "rwhcpuLf";
    for (int i = 0; bar[i] != '\0' && i < width && x + i < COLS; i++) {
        const char *at = strchr(letters, bar[i]);
        int pair = UI_C_BAR_FIRST + (at ? (int)(at - letters) : 0);
        /* The letter stays: a capture or a monochrome terminal reads it. */
        if (ui->color)
            attron(COLOR_PAIR(pair) | A_BOLD);
        mvaddch(y, x + i, (chtype)(unsigned char)bar[i]);
        if (ui->color)
            attroff(COLOR_PAIR(pair) | A_BOLD);
    }
}

/* The table of the current screen from row y0 to the status line. */
static void ui_draw_table(struct ui_state *ui, int y0)
{
    const struct top_screen *s = ui_screen(ui);
    int height = LINES - 1 - y0 - 1;  /* minus the column titles and the status line */
    if (height < 1)
        return;
    size_t *top = &ui->top_row[ui->screen], sel = ui->selected[ui->screen];
    if (sel < *top)
        *top = sel;
    if (sel >= *top + (size_t)height)
        *top = sel - (size_t)height + 1;
    if (*top + (size_t)height > ui->order_count)
        *top = ui->order_count > (size_t)height ? ui->order_count - (size_t)height : 0;

    ui_attr(ui, UI_C_COLUMNS, true, A_REVERSE);
    ui_fill_line(y0);
    int x = 0;
    for (int c = 0; c < s->column_count && x < COLS; c++) {
        const struct top_column *col = &s->columns[c];
        if (!top_column_shown(s, c, ui->totals))
            continue;
        char title[64];
        bool sorted = c == ui->sort_col[ui->screen];
        snprintf(title, sizeof title, col->kind == TOP_COL_NUMBER ? "%*s" : "%-*s", col->width,
                 col->title);
        if (sorted)
            attron(A_BOLD | A_UNDERLINE);
        ui_put(y0, x, title, col->width);
        if (sorted)
            attroff(A_BOLD | A_UNDERLINE);
        x += col->width + 1;
    }
    ui_attr(ui, UI_C_COLUMNS, false, A_REVERSE);

    char cell[TOP_LINE_BYTES];
    for (int i = 0; i < height && *top + (size_t)i < ui->order_count; i++) {
        size_t k = *top + (size_t)i, row = ui->order[k];
        int y = y0 + 1 + i;
        bool selected = k == sel;
        if (selected) {
            ui_attr(ui, UI_C_SELECTED, true, A_REVERSE);
            ui_fill_line(y);
        }
        x = 0;
        for (int c = 0; c < s->column_count && x < COLS; c++) {
            const struct top_column *col = &s->columns[c];
            if (!top_column_shown(s, c, ui->totals))
                continue;
            s->cell(&ui->snap, row, c, false, cell, sizeof cell);
            if (col->kind == TOP_COL_SPARK) {
                if (ui->screen == TOP_SCREEN_FRAG && !selected)
                    ui_put_bar(ui, y, x, cell, col->width);
                else if (ui->screen == TOP_SCREEN_FRAG)
                    ui_put(y, x, cell, col->width);  /* in the selection's colours */
                else
                    ui_put_spark(ui, y, x, cell, col->width);
            } else {
                char padded[TOP_LINE_BYTES];
                snprintf(padded, sizeof padded, col->kind == TOP_COL_NUMBER ? "%*s" : "%-*s",
                         col->width, cell);
                /* A text column cut short says so. */
                if (col->kind == TOP_COL_TEXT && (int)strlen(cell) > col->width && col->width > 1)
                    padded[col->width - 1] = '~';
                ui_put(y, x, padded, col->width);
            }
            x += col->width + 1;
        }
        if (selected)
            ui_attr(ui, UI_C_SELECTED, false, A_REVERSE);
    }
    if (ui->order_count == 0)
        ui_put(y0 + 1, 1, ui->filter[0] ? "(no rows match the filter)" : "(nothing to show)", COLS - 1);
}

static void ui_draw_frag_totals(struct ui_state *ui, int y0)
{
    char line[TOP_LINE_BYTES];
    int bar = COLS - 42;
    ui_put(y0, 0, " where the bytes are", COLS);
    for (int p = 0; p < TOP_FRAG_PARTS; p++) {
        top_describe_frag_part(line, sizeof line, &ui->snap, (enum top_frag_part)p, false,
                               bar > 0 ? bar : 0);
        int y = y0 + 1 + p;
        ui_put(y, 1, line, COLS - 1);
        /* Colour the bar (it starts after the name, bytes and share). */
        char *hash = strchr(line, '#');
        if (ui->color && hash != NULL) {
            int x = 1 + (int)(hash - line);
            attron(COLOR_PAIR(UI_C_BAR_FIRST + p) | A_BOLD);
            for (char *h = hash; *h == '#' && x < COLS; h++, x++)
                mvaddch(y, x, '#');
            attroff(COLOR_PAIR(UI_C_BAR_FIRST + p) | A_BOLD);
        }
    }
}

static void ui_draw_lines(int y0, const char *const *lines, size_t count,
                          size_t first)
{
    for (size_t i = first; i < count && y0 + (int)(i - first) < LINES - 1; i++)
        ui_put(y0 + (int)(i - first), 1, lines[i], COLS - 1);
}

static const char *const ui_help_lines[] = {
    "ortho-top keys",
    "",
    "  Up Down PgUp PgDn   move the selection (Home, End: first, last row)",
    "  Tab 1..5            next screen (Shift-Tab: previous), screen by number",
    "  < >  s              sort by the column left / right; s reverses the order",
    "  /                   filter rows by text (Enter keeps it, Esc clears it)",
    "  Left Right  [ ]     time cursor back / forward: one second, ten seconds",
    "  b  e  m             jump to the beginning, the end (follow), the peak",
    "  P                   choose the process, or all of them",
    "  p                   pause: freeze the data and the time shown",
    "  t                   classes: totals since the start / rates per second",
    "  Enter               corruption screen: the event's detail and stacks",
    "  ?                   this help (any key closes it)",
    "  q                   quit (also F10, Ctrl-C)",
    "",
    "Rates: per second over the last second of data before the time shown.",
    "Sites and threads: counters of the whole run.",
};

static void ui_draw_status(struct ui_state *ui)
{
    int y = LINES - 1;
    char line[TOP_LINE_BYTES];
    if (ui->mode == UI_MODE_FILTER) {
        snprintf(line, sizeof line, " filter: %s_   (Enter: keep, Esc: clear)", ui->filter);
        ui_fill_line(y);
        ui_put(y, 0, line, COLS);
        return;
    }
    if (ui->status[0] != '\0') {
        ui_attr(ui, UI_C_ERROR, true, A_BOLD);
        ui_fill_line(y);
        ui_put(y, 0, ui->status, COLS);
        ui_attr(ui, UI_C_ERROR, false, A_BOLD);
        return;
    }
    char of[48] = "";
    if (ui->screen == TOP_SCREEN_SITES && ui->snap.site_total > (int64_t)ui->snap.site_count)
        snprintf(of, sizeof of, " of %lld", (long long)ui->snap.site_total);
    char events[64] = "";
    if (ui->screen == TOP_SCREEN_CORRUPTION && ui->snap.event_total > (int64_t)ui->snap.event_count)
        snprintf(events, sizeof events, " of %lld events (the rest only counted)",
                 (long long)ui->snap.event_total);
    snprintf(line, sizeof line, " %zu%s row%s%s  ?:help q:quit Tab:screen s<>:sort /:filter "
             "p:pause <>:time P:process", ui->order_count, of, ui->order_count == 1 ? "" : "s",
             events);
    ui_put(y, 0, line, COLS);
}

static void ui_draw(struct ui_state *ui)
{
    erase();
    if (!ui->have_snap) {
        refresh();
        return;
    }
    ui_draw_header(ui);
    int y0 = UI_HEADER_ROWS;
    if (ui->mode == UI_MODE_HELP) {
        ui_draw_lines(y0, ui_help_lines, sizeof ui_help_lines / sizeof ui_help_lines[0], 0);
    } else if (ui->mode == UI_MODE_DETAIL) {
        const char *lines[UI_DETAIL_LINES];
        for (size_t i = 0; i < ui->detail_count; i++)
            lines[i] = ui->detail[i];
        ui_draw_lines(y0, lines, ui->detail_count, ui->detail_top);
    } else if (ui->mode == UI_MODE_PICK) {
        ui_put(y0, 1, "choose the process (Enter), Esc: back", COLS - 1);
        char line[TOP_LINE_BYTES];
        for (size_t i = 0; i <= ui->model->proc_count && y0 + 1 + (int)i < LINES - 1; i++) {
            if (i == 0) {
                snprintf(line, sizeof line, "  all %zu processes", ui->model->proc_count);
            } else {
                const struct top_process *p = &ui->model->procs[i - 1];
                snprintf(line, sizeof line, "  process %lld  pid %lld  %-5s %-8s %s",
                         (long long)p->process_id, (long long)p->pid, p->via,
                         p->end_ns ? p->end_reason : "running", p->cmdline);
            }
            if (i == ui->pick_row)
                ui_attr(ui, UI_C_SELECTED, true, A_REVERSE);
            ui_put(y0 + 1 + (int)i, 1, line, COLS - 1);
            if (i == ui->pick_row)
                ui_attr(ui, UI_C_SELECTED, false, A_REVERSE);
        }
    } else {
        if (ui->screen == TOP_SCREEN_FRAG) {
            ui_draw_frag_totals(ui, y0);
            y0 += 1 + TOP_FRAG_PARTS + 1;
        }
        ui_draw_table(ui, y0);
    }
    ui_draw_status(ui);
    refresh();
}

/* ---- keys --------------------------------------------------------------- */

static void ui_open_detail(struct ui_state *ui)
{
    if (ui->screen != TOP_SCREEN_CORRUPTION || ui->order_count == 0)
        return;
    if (ui->detail == NULL)
        ui->detail = malloc(UI_DETAIL_LINES * sizeof *ui->detail);
    if (ui->detail == NULL)
        return;
    const struct top_event *e = ui->snap.events[ui->order[ui->selected[ui->screen]]];
    ui->detail_count = top_describe_event(ui->model, &ui->snap, e, ui->detail, UI_DETAIL_LINES);
    ui->detail_top = 0;
    ui->mode = UI_MODE_DETAIL;
}

static void ui_move_time(struct ui_state *ui, int64_t delta_ns)
{
    int64_t at = ui->follow ? ui->snap.at_ns : ui->cursor_ns;
    at += delta_ns;
    int64_t end = top_model_data_end_ns(ui->model), begin = top_model_begin_ns(ui->model);
    ui->at_note = "";
    if (at >= end && delta_ns > 0 && !ui->paused) {
        ui->follow = true;  /* stepping past the end follows it */
        return;
    }
    ui->follow = false;
    ui->cursor_ns = at < begin ? begin : at > end ? end : at;
}

static int ui_key_filter(struct ui_state *ui, int ch)
{
    size_t len = strlen(ui->filter);
    if (ch == '\n' || ch == KEY_ENTER || ch == '\r') {
        ui->mode = UI_MODE_TABLE;
    } else if (ch == 27) {
        ui->filter[0] = '\0';
        ui->mode = UI_MODE_TABLE;
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (len > 0)
            ui->filter[len - 1] = '\0';
    } else if (ch >= 32 && ch < 127 && len + 1 < sizeof ui->filter) {
        ui->filter[len] = (char)ch;
        ui->filter[len + 1] = '\0';
    } else {
        return 0;
    }
    ui->selected[ui->screen] = 0;
    return UI_RETAKE | UI_REDRAW;
}

static int ui_key_pick(struct ui_state *ui, int ch)
{
    size_t count = ui->model->proc_count + 1;
    switch (ch) {
    case KEY_UP: if (ui->pick_row > 0) ui->pick_row--; break;
    case KEY_DOWN: if (ui->pick_row + 1 < count) ui->pick_row++; break;
    case '\n': case '\r': case KEY_ENTER:
        ui->selection = ui->pick_row == 0 ? TOP_ALL_PROCESSES : (int)ui->pick_row - 1;
        ui->mode = UI_MODE_TABLE;
        return UI_RETAKE | UI_REDRAW;
    case 27: case 'q': ui->mode = UI_MODE_TABLE; break;
    default: return 0;
    }
    return UI_REDRAW;
}

static int ui_key_table(struct ui_state *ui, int ch)
{
    const struct top_screen *s = ui_screen(ui);
    size_t *sel = &ui->selected[ui->screen];
    int page = LINES - UI_HEADER_ROWS - 3;
    if (page < 1)
        page = 1;
    switch (ch) {
    case 'q': case KEY_F(10): return UI_QUIT;
    case KEY_UP: if (*sel > 0) (*sel)--; return UI_REDRAW;
    case KEY_DOWN: if (*sel + 1 < ui->order_count) (*sel)++; return UI_REDRAW;
    case KEY_PPAGE: *sel = *sel > (size_t)page ? *sel - (size_t)page : 0; return UI_REDRAW;
    case KEY_NPAGE:
        *sel += (size_t)page;
        if (*sel >= ui->order_count)
            *sel = ui->order_count ? ui->order_count - 1 : 0;
        return UI_REDRAW;
    case KEY_HOME: *sel = 0; return UI_REDRAW;
    case KEY_END: *sel = ui->order_count ? ui->order_count - 1 : 0; return UI_REDRAW;
    case '\t': ui->screen = (ui->screen + 1) % TOP_SCREENS; return UI_RETAKE | UI_REDRAW;
    case KEY_BTAB: ui->screen = (ui->screen + TOP_SCREENS - 1) % TOP_SCREENS; return UI_RETAKE | UI_REDRAW;
    case '1': case '2': case '3': case '4': case '5':
        ui->screen = ch - '1';
        return UI_RETAKE | UI_REDRAW;
    case 's': case 'I':
        ui->descending[ui->screen] = !ui->descending[ui->screen];
        return UI_RETAKE | UI_REDRAW;
    case '<': case ',': case '>': case '.': {
        int step = (ch == '<' || ch == ',') ? -1 : 1, col = ui->sort_col[ui->screen];
        /* Skip what cannot be sorted (sparklines and bars) or is not shown. */
        do
            col = (col + step + s->column_count) % s->column_count;
        while (s->columns[col].kind == TOP_COL_SPARK || !top_column_shown(s, col, ui->totals));
        ui->sort_col[ui->screen] = col;
        /* Numbers read best biggest first, names in order. */
        ui->descending[ui->screen] = s->columns[col].kind == TOP_COL_NUMBER;
        return UI_RETAKE | UI_REDRAW;
    }
    case '/': ui->mode = UI_MODE_FILTER; return UI_REDRAW;
    case 't':
        ui->totals = !ui->totals;
        /* A sort column the other view hides gives way to the default. */
        for (int i = 0; i < TOP_SCREENS; i++) {
            if (!top_column_shown(&top_screens[i], ui->sort_col[i], ui->totals)) {
                ui->sort_col[i] = top_screens[i].default_sort;
                ui->descending[i] = top_screens[i].default_descending;
            }
        }
        return UI_RETAKE | UI_REDRAW;
    case 'p':
        /* Pausing freezes the time shown as well as the data. */
        if (!ui->paused) {
            ui->resume_follow = ui->follow;
            ui->follow = false;
            ui->cursor_ns = ui->snap.at_ns;
        } else {
            ui->follow = ui->resume_follow;
        }
        ui->paused = !ui->paused;
        return UI_RETAKE | UI_REDRAW | (ui->paused ? 0 : UI_REFRESH);
    case KEY_LEFT: ui_move_time(ui, -UI_STEP_NS); return UI_RETAKE | UI_REDRAW;
    case KEY_RIGHT: ui_move_time(ui, UI_STEP_NS); return UI_RETAKE | UI_REDRAW;
    case '[': ui_move_time(ui, -UI_BIG_STEP_NS); return UI_RETAKE | UI_REDRAW;
    case ']': ui_move_time(ui, UI_BIG_STEP_NS); return UI_RETAKE | UI_REDRAW;
    case 'b':
        ui->follow = false;
        ui->at_note = "";
        ui->cursor_ns = top_model_begin_ns(ui->model);
        return UI_RETAKE | UI_REDRAW;
    case 'e': ui->follow = true; ui->at_note = ""; return UI_RETAKE | UI_REDRAW;
    case 'm':
        ui->follow = false;
        ui->at_note = "(peak)";
        ui->cursor_ns = top_snapshot_peak_ns(ui->model, ui->selection);
        return UI_RETAKE | UI_REDRAW;
    case 'P':
        ui->pick_row = ui->selection == TOP_ALL_PROCESSES ? 0 : (size_t)ui->selection + 1;
        ui->mode = UI_MODE_PICK;
        return UI_REDRAW;
    case '\n': case '\r': case KEY_ENTER: ui_open_detail(ui); return UI_REDRAW;
    case '?': case 'h': case KEY_F(1): ui->mode = UI_MODE_HELP; return UI_REDRAW;
    case 27: if (ui->filter[0]) { ui->filter[0] = '\0'; return UI_RETAKE | UI_REDRAW; } return 0;
    }
    return 0;
}

static int ui_key(struct ui_state *ui, int ch)
{
    if (ch == KEY_RESIZE)
        return UI_REDRAW;
    switch (ui->mode) {
    case UI_MODE_FILTER: return ui_key_filter(ui, ch);
    case UI_MODE_PICK: return ui_key_pick(ui, ch);
    case UI_MODE_HELP:
        if (ch == 'q')
            return UI_QUIT;
        ui->mode = UI_MODE_TABLE;
        return UI_REDRAW;
    case UI_MODE_DETAIL:
        if (ch == 'q')
            return UI_QUIT;
        if (ch == KEY_DOWN && ui->detail_top + 1 < ui->detail_count)
            ui->detail_top++;
        else if (ch == KEY_UP && ui->detail_top > 0)
            ui->detail_top--;
        else if (ch == 27 || ch == '\n' || ch == '\r' || ch == KEY_ENTER || ch == KEY_BACKSPACE ||
                 ch == KEY_LEFT)
            ui->mode = UI_MODE_TABLE;
        return UI_REDRAW;
    case UI_MODE_TABLE: break;
    }
    return ui_key_table(ui, ch);
}

/* ---- session ------------------------------------------------------------ */

static void ui_colors(struct ui_state *ui)
{
    ui->color = has_colors() && start_color() == OK;
    if (!ui->color)
        return;
    use_default_colors();
    init_pair(UI_C_TITLE, COLOR_BLACK, COLOR_CYAN);
    init_pair(UI_C_COLUMNS, COLOR_BLACK, COLOR_GREEN);
    init_pair(UI_C_SELECTED, COLOR_BLACK, COLOR_CYAN);
    init_pair(UI_C_ERROR, COLOR_RED, -1);
    init_pair(UI_C_TAB, COLOR_BLACK, COLOR_YELLOW);
    /* Bar colours by part: requested, waste, headers, caches, pool, unused,
     * large live, large free. */
    static const short bar[TOP_FRAG_PARTS] = {COLOR_GREEN, COLOR_YELLOW, COLOR_MAGENTA,
                                              COLOR_CYAN,  COLOR_BLUE,   COLOR_RED,
                                              COLOR_WHITE, COLOR_RED};
    for (int p = 0; p < TOP_FRAG_PARTS; p++)
        init_pair((short)(UI_C_BAR_FIRST + p), bar[p], -1);
}

static void ui_refresh_model(struct ui_state *ui)
{
    char err[TOP_LINE_BYTES / 2];
    if (top_model_refresh(ui->model, err, sizeof err) != 0) {
        snprintf(ui->status, sizeof ui->status, " refresh failed (%s); showing the last data, retrying",
                 err);
        return;
    }
    ui->status[0] = '\0';
    if (!top_model_is_live(ui->model))
        ui->watching = false;  /* every process ended: this was the last read */
}

int top_ui_run(struct top_model *m, const struct top_ui_options *opt, char *err, size_t err_cap)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, err_cap, "not a terminal; use --batch to print a screen as text");
        return -1;
    }
    setlocale(LC_ALL, "");
    SCREEN *term = newterm(NULL, stdout, stdin);
    if (term == NULL) {
        snprintf(err, err_cap, "cannot use the terminal (TERM=%s); set TERM, or use --batch",
                 getenv("TERM") ? getenv("TERM") : "");
        return -1;
    }
    /* newterm accepts terminals that cannot address the cursor (TERM=dumb)
     * and would scroll lines instead of drawing a screen: refuse those
     * before anything is drawn. */
    char *cup = tigetstr("cup");
    if (cup == NULL || cup == (char *)-1) {
        endwin();
        delscreen(term);
        snprintf(err, err_cap, "cannot use the terminal (TERM=%s cannot move the cursor); use --batch",
                 getenv("TERM") ? getenv("TERM") : "");
        return -1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ui_on_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term, old_hup;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);

    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(50);
    timeout(UI_TICK_MS);

    struct ui_state ui = {.model = m, .path = opt->path, .screen = opt->screen,
                          .selection = opt->selection, .follow = opt->at_ns == 0,
                          .cursor_ns = opt->at_ns, .at_note = "", .mode = UI_MODE_TABLE};
    const char *codeset = nl_langinfo(CODESET);
    ui.utf8 = codeset != NULL && strcmp(codeset, "UTF-8") == 0;
    ui.watching = top_model_is_live(m);
    /* A finished run is read for what it did, a live one for what it does. */
    ui.totals = !ui.watching;
    for (int i = 0; i < TOP_SCREENS; i++) {
        ui.sort_col[i] = top_screens[i].default_sort;
        ui.descending[i] = top_screens[i].default_descending;
    }
    if (opt->sort_col >= 0) {
        ui.sort_col[ui.screen] = opt->sort_col;
        ui.descending[ui.screen] = top_screens[ui.screen].columns[opt->sort_col].kind == TOP_COL_NUMBER;
        /* --sort ALLOCS or --sort ALLOC/s also picks the view that shows it. */
        enum top_column_view view = top_screens[ui.screen].columns[opt->sort_col].view;
        if (view != TOP_VIEW_BOTH)
            ui.totals = view == TOP_VIEW_TOTALS;
    }
    if (opt->filter != NULL)
        snprintf(ui.filter, sizeof ui.filter, "%s", opt->filter);
    ui_colors(&ui);
    ui.next_refresh_ms = ui_now_ms() + UI_REFRESH_MS;
    ui_retake(&ui);
    ui_draw(&ui);

    int result = 0;
    while (ui_signal == 0) {
        int flags = 0;
        long long now = ui_now_ms();
        if (ui.watching && !ui.paused && now >= ui.next_refresh_ms) {
            ui_refresh_model(&ui);
            ui.next_refresh_ms = now + UI_REFRESH_MS;
            flags |= UI_RETAKE | UI_REDRAW;
        }
        int ch = getch();
        if (ch != ERR)
            flags |= ui_key(&ui, ch);
        if (flags & UI_QUIT)
            break;
        if (flags & UI_REFRESH)
            ui.next_refresh_ms = 0;
        if (flags & UI_RETAKE)
            ui_retake(&ui);
        if (flags & UI_REDRAW)
            ui_draw(&ui);
    }
    if (ui_signal == SIGTERM || ui_signal == SIGHUP)
        result = ui_signal;
    endwin();
    delscreen(term);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    if (ui.have_snap)
        top_snapshot_free(&ui.snap);
    free(ui.order);
    free(ui.detail);
    return result;
}
