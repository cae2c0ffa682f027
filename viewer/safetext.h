/* safetext.h - text from a trace database made safe to show, shared by
 * ortho-top and ortho-report. Function names, file names, command lines
 * and thread names come from the traced program (its symbols, its argv, its
 * pthread_setname_np) and are written into the database unchecked, so they
 * may hold escape sequences (ESC [ 2 J clears a screen, ESC ] 0 ; ... BEL
 * retitles a window), other control characters, and bytes that are not
 * UTF-8. Every string the viewers read from a database goes through
 * safetext_copy or safetext_dup before anything prints it; what comes out
 * is valid UTF-8 without a single control character, and each replaced
 * byte or character is visible in the text as an escape (\x1b, \u009b), so
 * a reader sees that the name held one. */
#ifndef ORTHO_VIEWER_SAFETEXT_H
#define ORTHO_VIEWER_SAFETEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest escape one input byte or character turns into ("\u202e"). */
#define SAFETEXT_ESCAPE_BYTES 6

/* Copies src into dst (cap bytes, at least 1) with these replacements:
 * C0 controls and DEL (tab and newline included) become \xNN; C1 controls
 * (U+0080..U+009F, which some terminals obey like ESC [) and the
 * bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069,
 * which reorder what is shown) become \uNNNN; every byte that does not
 * start a valid UTF-8 sequence (overlong forms and surrogates included)
 * becomes \xNN. Everything else is copied as it is. The copy is cut, if it
 * must be, between two characters or escapes, never inside one, and is
 * always terminated. A NULL src gives "". Returns dst. */
char *safetext_copy(char *dst, size_t cap, const char *src);

/* The bytes safetext_copy needs to copy src whole, terminator included. */
size_t safetext_size(const char *src);

/* A malloc'd safe copy of src: NULL for NULL, and NULL when out of memory
 * (the caller tells the two apart by src). */
char *safetext_dup(const char *src);

/* Whether src is copied unchanged (no byte needs replacing). */
bool safetext_is_clean(const char *src);

/* The length (1..4) of the valid UTF-8 sequence at s and its code point
 * in *cp, or 0 when the byte at s does not start one (for other writers
 * with rules of their own, such as JSON's). */
size_t safetext_utf8(const char *s, uint32_t *cp);

/* Whether code point cp is one safetext_copy escapes: a C0 or C1 control,
 * DEL, or a bidirectional override or isolate. */
bool safetext_is_hidden(uint32_t cp);

#endif
