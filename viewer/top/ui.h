/* ui.h - ortho-top's interactive terminal (ui.c): the ncurses screens, the
 * keys, following a live database and the time cursor of a replay. */
#ifndef ORTHO_TOP_UI_H
#define ORTHO_TOP_UI_H

#include <stddef.h>
#include <stdint.h>

#include "screens.h"

struct top_ui_options {
    const char *path;       /* the database, for the header */
    int screen;             /* enum top_screen_id to start on */
    int selection;          /* TOP_ALL_PROCESSES or an index into model procs */
    int64_t at_ns;          /* 0: follow the newest data */
    int sort_col;           /* -1: the screen's default */
    const char *filter;     /* NULL or "" : none */
};

/* Runs until q, SIGINT, SIGTERM or SIGHUP, and always restores the
 * terminal before returning. Returns 0, or the signal number that ended
 * it (SIGTERM, SIGHUP: the caller re-raises it), or -1 with one line in err
 * when the terminal cannot be used (nothing was drawn). */
int top_ui_run(struct top_model *m, const struct top_ui_options *opt, char *err, size_t err_cap);

#endif
