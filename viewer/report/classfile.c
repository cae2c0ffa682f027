/* classfile.c - see classfile.h. Sizes are written in the shortest exact
 * form the option parser reads (a K or M suffix when the size is a whole
 * number of them), one per line, so the file reads well and diffs well. */
#include "classfile.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "class_table.h"
#include "outfile.h"
#include "safetext.h"

/* One size as the option parser reads it: 5120 -> "5K", 96 -> "96". */
static void classfile_size(int64_t bytes, char *out, size_t cap)
{
    if (bytes >= (1 << 20) && bytes % (1 << 20) == 0)
        snprintf(out, cap, "%" PRId64 "M", bytes >> 20);
    else if (bytes >= 1024 && bytes % 1024 == 0)
        snprintf(out, cap, "%" PRId64 "K", bytes >> 10);
    else
        snprintf(out, cap, "%" PRId64, bytes);
}

void classfile_env_value(const struct whatif_table *table, char *out, size_t out_cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < table->count; i++) {
        char size[32];
        classfile_size(table->payload_bytes[i], size, sizeof size);
        size_t need = strlen(size) + (i > 0);
        if (used + need + 4 >= out_cap) {
            snprintf(out + used, out_cap - used, "...");
            return;
        }
        used += (size_t)snprintf(out + used, out_cap - used, "%s%s", i > 0 ? "," : "", size);
    }
}

int classfile_write(const char *path, const struct whatif_table *table, const char *db_path,
                    char *err, size_t err_cap)
{
    if (table->count == 0) {
        snprintf(err, err_cap, "%s: not written, the run made no allocation of 16 MiB or "
                 "less to suggest classes for; trace a run that allocates", path);
        return -1;
    }
    if (table->count > CLASS_TABLE_MAX) {
        snprintf(err, err_cap, "%s: %zu classes are more than the allocator takes (%d); ask "
                 "--suggest-classes for %d or fewer", path, table->count, CLASS_TABLE_MAX,
                 CLASS_TABLE_MAX);
        return -1;
    }
    /* The list the file will hold, checked as ORTHO_CLASSES will check it. */
    char list[CLASS_TABLE_MAX * 24];
    size_t used = 0;
    for (size_t i = 0; i < table->count; i++) {
        char size[32];
        classfile_size(table->payload_bytes[i], size, sizeof size);
        used += (size_t)snprintf(list + used, sizeof list - used, "%s\n", size);
    }
    struct class_table parsed;
    const char *why = NULL;
    if (!class_table_parse_list(list, &parsed, &why)) {
        snprintf(err, err_cap, "%s: the suggested table %s, so the allocator would refuse it; "
                 "ask for fewer classes", path, why);
        return -1;
    }
    FILE *f = outfile_open(path, "class table", err, err_cap);
    if (f == NULL)
        return -1;
    char shown[1024];
    fprintf(f, "# %zu size classes suggested by ortho-report --suggest-classes\n", table->count);
    fprintf(f, "# from %s\n", safetext_copy(shown, sizeof shown, db_path));
    fprintf(f, "# Use: ORTHO_CLASSES=@%s\n", safetext_copy(shown, sizeof shown, path));
    fputs(list, f);
    return outfile_close(f, path, err, err_cap);
}
