/* class_table.c - the built-in size-class tables, the parser of
 * ORTHO_CLASSES values and of table files, and class names. See
 * class_table.h for the syntax and the rules. No malloc, no locks; the
 * @FILE buffer is static (one parse at a time). */
#include "class_table.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)

/* The seed's payloads (orthotope's size classes), smallest first. */
static const uint64_t class_table_seed[] = {
    64,       256,       4 * KiB,   6 * KiB,   8 * KiB, 16 * KiB,
    32 * KiB, 64 * KiB,  128 * KiB, 256 * KiB, 1 * MiB, 16 * MiB,
};

static void class_table_set_origin(struct class_table *out, const char *origin)
{
    size_t len = strlen(origin);
    if (len >= sizeof out->origin)
        len = sizeof out->origin - 1;
    memcpy(out->origin, origin, len);
    out->origin[len] = '\0';
}

void class_table_orthotope(struct class_table *out)
{
    memset(out, 0, sizeof *out);
    out->count = sizeof class_table_seed / sizeof class_table_seed[0];
    memcpy(out->payload_bytes, class_table_seed, sizeof class_table_seed);
    class_table_set_origin(out, "orthotope");
}

void class_table_general(struct class_table *out)
{
    memset(out, 0, sizeof *out);
    /* Below 256 the 64-byte alignment is itself the spacing. Above, a
     * quarter of the lower power of two: 320, 384, 448, 512, 640 ... so a
     * request wastes at most a fifth of its block's payload, the spacing
     * tcmalloc and jemalloc use in that range. */
    uint32_t n = 0;
    for (uint64_t size = 64; size <= 256; size += 64)
        out->payload_bytes[n++] = size;
    for (uint64_t base = 256; base < CLASS_TABLE_LIMIT_BYTES; base *= 2) {
        for (uint64_t step = 1; step <= 4; step++)
            out->payload_bytes[n++] = base + step * (base / 4);
    }
    out->count = n;
    class_table_set_origin(out, "general");
}

bool class_table_parse_list(const char *text, struct class_table *out, const char **why)
{
    memset(out, 0, sizeof *out);
    class_table_set_origin(out, "list");
    const char *p = text;
    while (*p != '\0') {
        if (*p == '#') {
            while (*p != '\0' && *p != '\n')
                p++;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ',') {
            p++;
            continue;
        }
        size_t len = strcspn(p, " \t\r\n,#");
        char word[32];
        uint64_t value = 0;
        if (len >= sizeof word) {
            *why = "has a word that is not a size in bytes";
            return false;
        }
        memcpy(word, p, len);
        word[len] = '\0';
        p += len;
        if (!options_parse_number(word, true, &value) || value == 0) {
            *why = "has a word that is not a size in bytes";
            return false;
        }
        if (value % CLASS_TABLE_ALIGN_BYTES != 0) {
            *why = "has a size that is not a multiple of 64 (blocks must stay 64-byte aligned)";
            return false;
        }
        if (value > CLASS_TABLE_LIMIT_BYTES) {
            *why = "has a size above 16M (larger requests always take the large path)";
            return false;
        }
        if (out->count == CLASS_TABLE_MAX) {
            *why = "lists too many classes (at most " ORTHO_STRINGIFY(ORTHO_CLASS_MAX) ")";
            return false;
        }
        if (out->count > 0 && value <= out->payload_bytes[out->count - 1]) {
            *why = "is not sorted ascending (each size larger than the one before)";
            return false;
        }
        out->payload_bytes[out->count++] = value;
    }
    if (out->count == 0) {
        *why = "lists no class sizes";
        return false;
    }
    return true;
}

/* Reads FILE of an @FILE value into a static buffer: NULL with *why set
 * when it cannot be read whole. */
static const char *class_table_read_file(const char *path, const char **why)
{
    static char text[CLASS_TABLE_FILE_MAX_BYTES + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *why = "names a file that cannot be opened";
        return NULL;
    }
    size_t len = 0;
    for (;;) {
        ssize_t got = read(fd, text + len, sizeof text - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            close(fd);
            *why = "names a file that cannot be read";
            return NULL;
        }
        if (got == 0)
            break;
        len += (size_t)got;
        if (len == sizeof text - 1) {
            char more;
            ssize_t extra = read(fd, &more, 1);
            close(fd);
            if (extra != 0) {
                *why = "names a file longer than 16K";
                return NULL;
            }
            text[len] = '\0';
            return text;
        }
    }
    close(fd);
    text[len] = '\0';
    if (memchr(text, '\0', len) != NULL) {
        *why = "names a file that is not text";
        return NULL;
    }
    return text;
}

bool class_table_from_option(const char *value, struct class_table *out, const char **why)
{
    if (value == NULL || strcmp(value, "orthotope") == 0) {
        class_table_orthotope(out);
        return true;
    }
    if (strcmp(value, "general") == 0) {
        class_table_general(out);
        return true;
    }
    if (value[0] == '@') {
        const char *text = class_table_read_file(value + 1, why);
        if (text == NULL || !class_table_parse_list(text, out, why))
            return false;
        class_table_set_origin(out, value);
        return true;
    }
    return class_table_parse_list(value, out, why);
}

bool class_table_valid(const struct class_table *table)
{
    if (table->count == 0 || table->count > CLASS_TABLE_MAX ||
        memchr(table->origin, '\0', sizeof table->origin) == NULL)
        return false;
    for (uint32_t i = 0; i < table->count; i++) {
        uint64_t size = table->payload_bytes[i];
        if (size == 0 || size % CLASS_TABLE_ALIGN_BYTES != 0 || size > CLASS_TABLE_LIMIT_BYTES ||
            (i > 0 && size <= table->payload_bytes[i - 1]))
            return false;
    }
    return true;
}

bool class_table_equal(const struct class_table *a, const struct class_table *b)
{
    return a->count == b->count &&
           memcmp(a->payload_bytes, b->payload_bytes, a->count * sizeof a->payload_bytes[0]) == 0;
}

void class_table_name(uint64_t payload_bytes, char out[CLASS_TABLE_NAME_BYTES])
{
    char digits[24];
    const char *unit = "";
    uint64_t shown = payload_bytes;
    if (shown != 0 && shown % MiB == 0) {
        shown /= MiB;
        unit = "M";
    } else if (shown != 0 && shown % KiB == 0) {
        shown /= KiB;
        unit = "K";
    }
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + shown % 10);
        shown /= 10;
    } while (shown != 0);
    size_t at = 0;
    out[at++] = 'B';
    while (n > 0 && at < CLASS_TABLE_NAME_BYTES - 2)
        out[at++] = digits[--n];
    if (unit[0] != '\0')
        out[at++] = unit[0];
    out[at] = '\0';
}
