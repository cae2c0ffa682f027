/* report_mem.c - see report_mem.h. Out-of-memory ends the process with one
 * line on stderr; nothing here is called from a signal handler. */
#include "report_mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetext.h"

static _Noreturn void mem_fail(void)
{
    fputs("ortho-report: out of memory; the trace is larger than this machine can hold\n", stderr);
    exit(2);
}

void mem_reserve(void **items, size_t *cap, size_t need, size_t elem_bytes)
{
    if (need <= *cap)
        return;
    size_t grown = *cap ? *cap * 2 : 16;
    while (grown < need)
        grown *= 2;
    void *moved = realloc(*items, grown * elem_bytes);
    if (moved == NULL)
        mem_fail();
    *items = moved;
    *cap = grown;
}

void mem_push(void **items, size_t count, size_t elem_bytes)
{
    size_t cap = 16;
    while (cap < count)
        cap *= 2;
    /* Grown exactly when the count reaches the capacity (or on the first push). */
    if (count == 0 || count == cap) {
        size_t room = count == 0 ? 16 : cap * 2;
        void *moved = realloc(*items, room * elem_bytes);
        if (moved == NULL)
            mem_fail();
        *items = moved;
    }
}

void *mem_zalloc(size_t n, size_t elem_bytes)
{
    void *p = calloc(n ? n : 1, elem_bytes);
    if (p == NULL)
        mem_fail();
    return p;
}

char *mem_read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *text = NULL;
    size_t len = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        mem_reserve((void **)&text, &cap, len + 2, 1);
        text[len++] = (char)c;
    }
    int failed = ferror(f) ? EIO : 0;
    fclose(f);
    if (failed) {
        free(text);
        errno = failed;
        return NULL;
    }
    mem_reserve((void **)&text, &cap, len + 1, 1);
    text[len] = '\0';
    return text;
}

char *mem_safedup(const char *s)
{
    if (s == NULL)
        return NULL;
    char *copy = safetext_dup(s);
    if (copy == NULL)
        mem_fail();
    return copy;
}

char *mem_strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    char *copy = strdup(s);
    if (copy == NULL)
        mem_fail();
    return copy;
}

const char *mem_basename(const char *path)
{
    if (path == NULL)
        return "";
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}
