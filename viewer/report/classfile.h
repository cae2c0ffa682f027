/* classfile.h - the size-class table file that `ortho-report
 * --suggest-classes N --output FILE` writes and `ORTHO_CLASSES=@FILE`
 * reads: the last step of the loop from a trace to a table tuned to the
 * program. The file is checked with the allocator's own parser before it
 * is written, so a file this tool writes is one the allocator accepts. */
#ifndef ORTHO_REPORT_CLASSFILE_H
#define ORTHO_REPORT_CLASSFILE_H

#include <stddef.h>

#include "whatif.h"

/* Writes `table` (ascending payload sizes) to path ("-": stdout) with a
 * comment naming the database it came from. 0, or -1 with one line in err
 * (a table the allocator would refuse, or a write that failed). */
int classfile_write(const char *path, const struct whatif_table *table, const char *db_path,
                    char *err, size_t err_cap);

/* The table as an ORTHO_CLASSES value ("64,128,1K,..."): what to set when
 * no file is wanted. Cut with "..." if it does not fit out_cap. */
void classfile_env_value(const struct whatif_table *table, char *out, size_t out_cap);

#endif
