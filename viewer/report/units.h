/* units.h - numbers as a person reads them in ortho-report's text output:
 * bytes with binary units (the unit the allocator's classes are in) and
 * durations. One rule each, documented in docs/ortho-report.md, so tests can
 * recompute the same strings from the database on their own. */
#ifndef ORTHO_REPORT_UNITS_H
#define ORTHO_REPORT_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Room for any string these functions write. */
#define UNITS_BUF 32

/* "N B" below 1 KiB, else one decimal and KiB, MiB, GiB or TiB (the largest
 * unit not above the value); a sign for negative values. Returns buf. */
const char *units_bytes(char *buf, size_t cap, double bytes);

/* A change in bytes: "+1.4 KiB" or "-200 B" (always signed). Returns buf. */
const char *units_bytes_delta(char *buf, size_t cap, double bytes);

/* "N ns", "x.x us", "x.x ms" below a second, else "x.xx s". Returns buf. */
const char *units_duration(char *buf, size_t cap, int64_t ns);

#endif
