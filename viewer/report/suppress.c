/* suppress.c - see suppress.h. The built-in rules are one table; each names
 * the allocation site of a glibc facility that allocates once and keeps the
 * block for the life of the process (observed in traced runs of date, ls,
 * sqlite3 and python3 on Debian 12), never a function a program's own code
 * could be: a user allocation made under setlocale or dlopen keeps its own
 * site. */
#include "suppress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_mem.h"

/* KIND:PATTERN of each built-in rule; the comments say whose blocks. */
static const char *const suppress_builtins[] = {
    "site:_IO_file_doallocate",  /* stdio stream buffers */
    "site:_dl_*",                /* the dynamic linker: loaded libraries, TLS */
    "site:allocate_dtv",         /* threads' TLS vectors (the dynamic linker) */
    "site:_nl_*",                /* locale data and message catalogs */
    "site:setlocale",            /* locale names */
    "site:new_composite_name",
    "site:read_alias_file",      /* locale aliases */
    "site:textdomain",           /* gettext's domain names */
    "site:bindtextdomain",
    "site:set_binding_values*",
    "site:__gconv_lookup_cache", /* character set conversion tables */
    "site:__gconv_load_cache",
    "site:__gconv_read_conf",
    "site:__wcsmbs_load_conv",
    "site:__tzfile_read",        /* the time zone */
    "site:__tzstring*",
    "site:tzset_internal",
    "site:__nss_*",              /* the name service switch */
    "site:global_state_allocate",
    "site:getpwuid",             /* the static results of the non-reentrant lookups */
    "site:getpwnam",
    "site:getgrgid",
    "site:getgrnam",
    "site:getspnam",
    "site:gethostbyname",
    "site:gethostbyname2",
    "site:gethostbyaddr",
    "site:getservbyname",
    "site:getservbyport",
    "site:getprotobyname",
    "site:getprotobynumber",
};

/* Parses KIND:PATTERN (kind leak read as frame) into list; false when it
 * is not a rule. */
static bool suppress_add(struct suppress_list *list, const char *text, const char *origin)
{
    const char *colon = strchr(text, ':');
    if (colon == NULL || colon[1] == '\0')
        return false;
    size_t kind_len = (size_t)(colon - text);
    const char *kind;
    if (kind_len == 4 && strncmp(text, "site", 4) == 0)
        kind = "site";
    else if ((kind_len == 5 && strncmp(text, "frame", 5) == 0) ||
             (kind_len == 4 && strncmp(text, "leak", 4) == 0))
        kind = "frame";
    else
        return false;
    mem_push((void **)&list->rules, list->count, sizeof *list->rules);
    list->rules[list->count++] = (struct suppress_rule){
        .kind = mem_strdup(kind), .pattern = mem_strdup(colon + 1), .origin = mem_strdup(origin)};
    return true;
}

void suppress_builtin(struct suppress_list *list)
{
    for (size_t i = 0; i < sizeof suppress_builtins / sizeof suppress_builtins[0]; i++)
        suppress_add(list, suppress_builtins[i], "built-in");
}

int suppress_read(struct suppress_list *list, const char *path, char *err, size_t err_cap)
{
    char *text = mem_read_text(path);
    if (text == NULL) {
        snprintf(err, err_cap, "%s: %s; give a file of leak suppressions for --suppressions", path,
                 strerror(errno));
        return -1;
    }
    size_t kept = list->count;
    int line = 0, rc = 0;
    for (char *at = text, *end; rc == 0 && *at != '\0'; at = *end ? end + 1 : end) {
        end = at + strcspn(at, "\n");
        line++;
        char saved = *end;
        *end = '\0';
        at[strcspn(at, "#")] = '\0';
        /* Blanks around a rule are not part of it; inside, they are (C++ names). */
        while (*at == ' ' || *at == '\t' || *at == '\r')
            at++;
        size_t len = strlen(at);
        while (len > 0 && (at[len - 1] == ' ' || at[len - 1] == '\t' || at[len - 1] == '\r'))
            at[--len] = '\0';
        char origin[1024];
        snprintf(origin, sizeof origin, "%s:%d", path, line);
        if (len > 0 && !suppress_add(list, at, origin)) {
            snprintf(err, err_cap,
                     "%s: \"%.80s\" is not a suppression; write site:PATTERN or frame:PATTERN "
                     "(a GLOB pattern such as _IO_* or libfoo.so)",
                     origin, at);
            rc = -1;
        }
        *end = saved;
    }
    free(text);
    if (rc != 0) { /* all of the file or none of it */
        while (list->count > kept) {
            struct suppress_rule *r = &list->rules[--list->count];
            free(r->kind), free(r->pattern), free(r->origin);
        }
    }
    return rc;
}

int suppress_install(const struct suppress_list *list, sqlite3 *conn, char *err, size_t err_cap)
{
    if (sqlite3_exec(conn,
                     "CREATE TEMP TABLE IF NOT EXISTS suppressions"
                     " (kind TEXT NOT NULL, pattern TEXT NOT NULL, origin TEXT NOT NULL);"
                     "DELETE FROM temp.suppressions",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "cannot keep the suppressions (%s)", sqlite3_errmsg(conn));
        return -1;
    }
    sqlite3_stmt *insert = NULL;
    if (sqlite3_prepare_v2(conn, "INSERT INTO temp.suppressions VALUES (?1, ?2, ?3)", -1, &insert,
                           NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "cannot keep the suppressions (%s)", sqlite3_errmsg(conn));
        return -1;
    }
    for (size_t i = 0; list != NULL && i < list->count; i++) {
        const struct suppress_rule *r = &list->rules[i];
        sqlite3_reset(insert);
        sqlite3_bind_text(insert, 1, r->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 2, r->pattern, -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 3, r->origin, -1, SQLITE_STATIC);
        if (sqlite3_step(insert) != SQLITE_DONE) {
            snprintf(err, err_cap, "cannot keep the suppressions (%s)", sqlite3_errmsg(conn));
            sqlite3_finalize(insert);
            return -1;
        }
    }
    sqlite3_finalize(insert);
    return 0;
}

void suppress_free(struct suppress_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->rules[i].kind), free(list->rules[i].pattern), free(list->rules[i].origin);
    free(list->rules);
    *list = (struct suppress_list){0};
}
