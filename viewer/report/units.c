/* units.c - see units.h. Pure functions of their arguments. */
#include "units.h"

#include <math.h>
#include <stdio.h>

const char *units_bytes(char *buf, size_t cap, double bytes)
{
    static const char *const names[] = {"KiB", "MiB", "GiB", "TiB"};
    double size = fabs(bytes);
    const char *sign = bytes < 0 ? "-" : "";
    if (size < 1024) {
        snprintf(buf, cap, "%s%.0f B", sign, size);
        return buf;
    }
    int unit = 0;
    size /= 1024;
    while (size >= 1024 && unit < 3) {
        size /= 1024;
        unit++;
    }
    snprintf(buf, cap, "%s%.1f %s", sign, size, names[unit]);
    return buf;
}

const char *units_bytes_delta(char *buf, size_t cap, double bytes)
{
    char body[UNITS_BUF];
    units_bytes(body, sizeof body, fabs(bytes));
    snprintf(buf, cap, "%s%s", bytes < 0 ? "-" : "+", body);
    return buf;
}

const char *units_duration(char *buf, size_t cap, int64_t ns)
{
    if (ns < 1000)
        snprintf(buf, cap, "%lld ns", (long long)ns);
    else if (ns < 1000000)
        snprintf(buf, cap, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, cap, "%.1f ms", (double)ns / 1e6);
    else
        snprintf(buf, cap, "%.2f s", (double)ns / 1e9);
    return buf;
}
