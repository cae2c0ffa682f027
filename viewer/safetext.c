/* safetext.c - see safetext.h. One pass over the input decides, for each
 * position, how many input bytes form the next unit and what it becomes;
 * the three public functions are that pass with different outputs. UTF-8
 * is validated as RFC 3629 defines it (no overlong forms, no surrogates,
 * nothing above U+10FFFF). Pure functions of their arguments. */
#include "safetext.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (1..4) and its code point,
 * or 0 when the byte at s does not start one. */
size_t safetext_utf8(const char *text, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned char b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t n;
    uint32_t min;
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2, min = 0x80, *cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3, min = 0x800, *cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4, min = 0x10000, *cp = b & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the terminator */
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return n;
}

bool safetext_is_hidden(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* The next unit at s: how many input bytes it takes, and in esc its
 * escape ("" when it is copied as it is). */
static size_t safetext_unit(const unsigned char *s, char esc[SAFETEXT_ESCAPE_BYTES + 1])
{
    uint32_t cp = 0;
    size_t n = safetext_utf8((const char *)s, &cp);
    esc[0] = '\0';
    if (n == 0) {
        snprintf(esc, SAFETEXT_ESCAPE_BYTES + 1, "\\x%02x", s[0]);
        return 1;
    }
    if (cp < 0x20 || cp == 0x7F)
        snprintf(esc, SAFETEXT_ESCAPE_BYTES + 1, "\\x%02x", (unsigned)cp);
    else if (safetext_is_hidden(cp)) /* all of them below U+FFFF: four digits */
        snprintf(esc, SAFETEXT_ESCAPE_BYTES + 1, "\\u%04x", (unsigned)(cp & 0xFFFF));
    return n;
}

char *safetext_copy(char *dst, size_t cap, const char *src)
{
    size_t out = 0;
    const unsigned char *s = (const unsigned char *)(src != NULL ? src : "");
    char esc[SAFETEXT_ESCAPE_BYTES + 1];
    while (*s != '\0') {
        size_t n = safetext_unit(s, esc);
        const char *unit = esc[0] != '\0' ? esc : (const char *)s;
        size_t len = esc[0] != '\0' ? strlen(esc) : n;
        if (out + len + 1 > cap)
            break; /* cut between units */
        memcpy(dst + out, unit, len);
        out += len;
        s += n;
    }
    if (cap > 0)
        dst[out < cap ? out : cap - 1] = '\0';
    return dst;
}

size_t safetext_size(const char *src)
{
    size_t size = 1;
    const unsigned char *s = (const unsigned char *)(src != NULL ? src : "");
    char esc[SAFETEXT_ESCAPE_BYTES + 1];
    while (*s != '\0') {
        size_t n = safetext_unit(s, esc);
        size += esc[0] != '\0' ? strlen(esc) : n;
        s += n;
    }
    return size;
}

char *safetext_dup(const char *src)
{
    if (src == NULL)
        return NULL;
    size_t size = safetext_size(src);
    char *copy = malloc(size);
    return copy != NULL ? safetext_copy(copy, size, src) : NULL;
}

bool safetext_is_clean(const char *src)
{
    const unsigned char *s = (const unsigned char *)(src != NULL ? src : "");
    char esc[SAFETEXT_ESCAPE_BYTES + 1];
    while (*s != '\0') {
        s += safetext_unit(s, esc);
        if (esc[0] != '\0')
            return false;
    }
    return true;
}
