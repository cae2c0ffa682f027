/* text_common.h - phrases and lines the text outputs share (the report and
 * the diff): a site's name, a stack as indented frames, the peak-live
 * statement, the trace-health verdict and the corruption kinds. Kept in
 * one place so the report and the diff say the same thing the same way. */
#ifndef ORTHO_REPORT_TEXT_COMMON_H
#define ORTHO_REPORT_TEXT_COMMON_H

#include <stddef.h>
#include <stdio.h>

#include "model.h"

/* "leak_here (query_workload.c:50)", "leak_here", or "(no stack)" when
 * function is NULL. Returns buf. */
const char *text_site_name(char *buf, size_t cap, const char *function, const char *file,
                           int64_t line);

/* One line per frame, innermost first, "#N function  file:line", at most
 * max_frames then a count of the rest; nothing for NULL. */
void text_stack(FILE *out, const struct model_stack *s, const char *indent, size_t max_frames);

/* "201.8 KiB usable (exact)" or "69.8 KiB to 275.8 KiB usable (...)". */
void text_peak(FILE *out, const struct model_process *p);

/* "1 block" / "7 blocks": n and the word, singular for exactly one. */
const char *text_count(char *buf, size_t cap, int64_t n, const char *one, const char *many);

/* "none" or "2 events: double_free x1, bad_magic x1". */
void text_corruption_kinds(FILE *out, const struct model *m);

/* "complete; stacks on (32 frames)" or what was lost, truncated or sampled. */
void text_health(FILE *out, const struct model *m);

#endif
