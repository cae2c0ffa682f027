/* describe.h - the parts of ortho-top's screens that are lines of text
 * rather than table rows (describe.c): the header that says which run,
 * process and time is shown, the fragmentation totals with their bars, and
 * the detail of one corruption event with its stacks. Shared by the
 * terminal and the batch mode, like screens.h. */
#ifndef ORTHO_TOP_DESCRIBE_H
#define ORTHO_TOP_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>

#include "snapshot.h"

#define TOP_LINE_BYTES 512  /* one line of text, terminal or batch */

/* "run.db: live run, time +1.250s of +3.000s" (finished run: "(end)" or
 * "(peak)" notes are the caller's). */
void top_describe_time(char *buf, size_t cap, const struct top_snapshot *snap, const char *path);

/* One line of the fragmentation totals: the part's name, its bytes (exact
 * or compact), its share of all held bytes and a bar of bar_width marks at
 * most. A large_free unknown at this time reads "only known at the end". */
void top_describe_frag_part(char *buf, size_t cap, const struct top_snapshot *snap,
                            enum top_frag_part part, bool exact, int bar_width);

/* Writes the detail of event e (what, where, the header bytes, both
 * stacks) as up to max lines into lines (each TOP_LINE_BYTES). Returns how
 * many lines it wrote. */
size_t top_describe_event(const struct top_model *m, const struct top_snapshot *snap,
                          const struct top_event *e, char (*lines)[TOP_LINE_BYTES], size_t max);

#endif
