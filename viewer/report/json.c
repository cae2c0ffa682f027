/* json.c - see json.h. Strings are escaped per RFC 8259 (quote,
 * backslash, control characters) and are always valid UTF-8, which RFC
 * 8259 requires and strict parsers check: valid UTF-8 passes through, so
 * names stay readable; DEL, C1 controls and bidirectional overrides are
 * written as \u escapes (valid JSON, and inert on a terminal a script
 * prints them to); a byte that is not UTF-8 becomes U+FFFD, the
 * replacement character. */
#include "json.h"

#include <math.h>
#include <stdint.h>

#include "safetext.h"

void json_init(struct json *j, FILE *out)
{
    *j = (struct json){.out = out};
}

static void json_indent(struct json *j)
{
    fputc('\n', j->out);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->out);
}

static void json_write_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const char *p = s; *p != '\0';) {
        uint32_t cp = 0;
        size_t n = safetext_utf8(p, &cp);
        if (n == 0) {
            fputs("\\ufffd", out);
            p++;
            continue;
        }
        switch (cp) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        default:
            if (safetext_is_hidden(cp))
                fprintf(out, "\\u%04x", (unsigned)cp);
            else
                fwrite(p, 1, n, out);
        }
        p += n;
    }
    fputc('"', out);
}

/* Starts a value: the comma and line break it needs, then its key. */
static void json_value_start(struct json *j, const char *key)
{
    if (j->depth > 0) {
        if (j->has_items[j->depth])
            fputc(',', j->out);
        json_indent(j);
    }
    j->has_items[j->depth] = true;
    if (key != NULL) {
        json_write_string(j->out, key);
        fputs(": ", j->out);
    }
}

static void json_open(struct json *j, const char *key, char bracket)
{
    json_value_start(j, key);
    fputc(bracket, j->out);
    if (j->depth < JSON_MAX_DEPTH)
        j->depth++;
    j->has_items[j->depth] = false;
}

static void json_close(struct json *j, char bracket)
{
    bool had_items = j->has_items[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (had_items)
        json_indent(j);
    fputc(bracket, j->out);
}

void json_begin_object(struct json *j, const char *key) { json_open(j, key, '{'); }

void json_begin_document(struct json *j)
{
    json_open(j, NULL, '{');
    json_int(j, "schema_version", JSON_SCHEMA_VERSION);
}
void json_end_object(struct json *j) { json_close(j, '}'); }
void json_begin_array(struct json *j, const char *key) { json_open(j, key, '['); }
void json_end_array(struct json *j) { json_close(j, ']'); }

void json_string(struct json *j, const char *key, const char *value)
{
    json_value_start(j, key);
    if (value == NULL)
        fputs("null", j->out);
    else
        json_write_string(j->out, value);
}

void json_int(struct json *j, const char *key, int64_t value)
{
    json_value_start(j, key);
    fprintf(j->out, "%lld", (long long)value);
}

void json_number(struct json *j, const char *key, double value)
{
    json_value_start(j, key);
    if (isfinite(value))
        fprintf(j->out, "%.15g", value);
    else
        fputs("null", j->out);
}

void json_bool(struct json *j, const char *key, bool value)
{
    json_value_start(j, key);
    fputs(value ? "true" : "false", j->out);
}

void json_finish(struct json *j)
{
    fputc('\n', j->out);
}
