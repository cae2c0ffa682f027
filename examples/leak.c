/* leak.c - two ordinary leaks for the trace to find. A small request
 * handler serves 100 requests and 4 sessions with plain malloc and frees
 * almost everything, but: parse_request returns early on a malformed
 * request (every tenth, so 10 of them) without freeing its copy of the text,
 * and close_session frees the session but not the name open_session
 * allocated for it (4 names). Trace it and ask the database:
 *   ./build/bin/ortho-run -o leak.db -- ./build/examples/ortho-leak
 *   ./build/bin/ortho-report --leaks leak.db
 *   sqlite3 leak.db 'SELECT function, count(*), sum(requested_size) FROM leaks GROUP BY 1'
 * which name parse_request (10 blocks) and open_session (4 blocks), with
 * file and line. The two functions are exported (the build links with
 * -rdynamic) and kept out of line, so the stacks name them. Untraced it
 * just prints what it did. Takes no arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAK_REQUESTS 100
#define LEAK_MALFORMED_EVERY 10 /* requests 9, 19, ..., 99 lack their '=' */
#define LEAK_SESSIONS 4
#define LEAK_NAME_BYTES 32

/* noipa: GCC's noinline that also forbids cloning the function under
 * another name (parse_request.constprop.0), so the stack shows this one. */
#define LEAK_SITE __attribute__((noipa))

typedef struct {
    char *name;         /* malloc'd by open_session */
    unsigned requests;  /* served in this session */
} session_t;

/* Returns a malloc'd copy of a "key=value" request, or NULL if the text
 * has no '='. The leak: the copy is made before the check, and the error
 * path forgets to free it. */
LEAK_SITE char *parse_request(const char *text)
{
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, text, len + 1);
    if (strchr(copy, '=') == NULL)
        return NULL; /* should have been: free(copy); return NULL; */
    return copy;
}

/* Returns a new session named "session-<id>", or NULL. */
LEAK_SITE session_t *open_session(unsigned id)
{
    session_t *s = malloc(sizeof *s);
    if (s == NULL)
        return NULL;
    s->name = malloc(LEAK_NAME_BYTES);
    if (s->name == NULL) {
        free(s);
        return NULL;
    }
    snprintf(s->name, LEAK_NAME_BYTES, "session-%u", id);
    s->requests = 0;
    return s;
}

/* The leak: frees the session, not the name open_session allocated. */
void close_session(session_t *s)
{
    free(s); /* should have freed s->name first */
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "ortho-leak: takes no arguments, not \"%s\"\n", argv[1]);
        return 2;
    }
    /* stdout gets a buffer of ours: the one stdio would malloc is never
     * freed by glibc and would show up as a third leak (_IO_file_doallocate). */
    static char stdout_buffer[BUFSIZ];
    setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);
    unsigned served = 0, malformed = 0;
    for (unsigned s = 0; s < LEAK_SESSIONS; s++) {
        session_t *session = open_session(s);
        if (session == NULL)
            return 1;
        for (unsigned r = s; r < LEAK_REQUESTS; r += LEAK_SESSIONS) {
            int malformed_one = r % LEAK_MALFORMED_EVERY == LEAK_MALFORMED_EVERY - 1;
            char text[32];
            snprintf(text, sizeof text, "id%s%u", malformed_one ? "" : "=", r);
            char *request = parse_request(text);
            if (request == NULL) {
                malformed++;
                continue;
            }
            session->requests++;
            served++;
            free(request);
        }
        close_session(session);
    }
    printf("leak: served %u requests in %u sessions, refused %u malformed; "
           "left %u request copies (parse_request) and %u session names (open_session) "
           "allocated\n",
           served, LEAK_SESSIONS, malformed, malformed, LEAK_SESSIONS);
    return 0;
}
