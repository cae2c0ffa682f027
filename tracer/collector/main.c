/* main.c - ortho-collector, the process liborthotope starts when
 * ORTHO_TRACE is set (users never run it by hand; see tracer/launch.c for
 * the other side). It binds the abstract socket it was given, then splits
 * in two: the first process waits for the second to open the database and
 * exits 0 (ready) or 1 (it printed why), so the traced program learns the
 * outcome from a plain waitpid; the second detaches from the terminal's
 * signals (Ctrl-C must not kill the trace of the program it interrupts)
 * and runs the collector until the traced process tree is done. It never
 * traces itself, whatever its environment says (ortho_never_trace). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collector.h"
#include "db.h"
#include "segment.h" /* SEGMENT_COLLECTOR_* */

/* Marks this program as never traced (launch.h): a liborthotope loaded
 * into the collector anyway (/etc/ld.so.preload, a wrapper that sets
 * LD_PRELOAD and ORTHO_TRACE) stays off instead of starting a collector
 * of its own, and that one another. Exported by the link (CMakeLists). */
extern const int ortho_never_trace;
__attribute__((visibility("default"), used)) const int ortho_never_trace = 1;

static void usage_error(const char *what)
{
    fprintf(stderr,
            "ortho-collector: %s; it is started by liborthotope.so when ORTHO_TRACE is set, "
            "not by hand (usage: ortho-collector --socket NAME --db PATH [--mode 1|2] "
            "[--interval-ms N] [--root-pid PID])\n",
            what);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *sock = NULL, *db_path = NULL;
    unsigned interval_ms = 250;
    pid_t root_pid = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--socket") == 0 && value) {
            sock = value;
            i++;
        } else if (strcmp(arg, "--db") == 0 && value) {
            db_path = value;
            i++;
        } else if (strcmp(arg, "--interval-ms") == 0 && value) {
            char *end;
            unsigned long v = strtoul(value, &end, 10);
            if (*end != '\0' || v < 10 || v > 60000)
                usage_error("--interval-ms needs a number from 10 to 60000");
            interval_ms = (unsigned)v;
            i++;
        } else if (strcmp(arg, "--root-pid") == 0 && value) {
            char *end;
            unsigned long v = strtoul(value, &end, 10);
            if (*end != '\0' || v == 0 || v > INT32_MAX)
                usage_error("--root-pid needs a process id");
            root_pid = (pid_t)v;
            i++;
        } else if (strcmp(arg, "--mode") == 0 && value) {
            i++; /* the segment says the mode */
        } else {
            usage_error("unknown or incomplete argument");
        }
    }
    if (sock == NULL || db_path == NULL)
        usage_error("--socket and --db are required");

    int listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(sock);
    if (listen_fd < 0 || len + 1 > sizeof addr.sun_path) {
        fprintf(stderr, "ortho-collector: cannot create the socket %s; the program runs untraced\n", sock);
        return SEGMENT_COLLECTOR_REPORTED;
    }
    memcpy(addr.sun_path + 1, sock, len);
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
    if (bind(listen_fd, (struct sockaddr *)&addr, addr_len) != 0 || listen(listen_fd, 128) != 0) {
        fprintf(stderr, "ortho-collector: cannot listen on @%s (%s); the program runs untraced\n", sock,
                strerror(errno));
        return SEGMENT_COLLECTOR_REPORTED;
    }
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0)
        return 1;
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child > 0) {
        close(ready[1]);
        char status = 1;
        ssize_t got;
        do {
            got = read(ready[0], &status, 1);
        } while (got < 0 && errno == EINTR);
        if (got == 1)
            return status == 0 ? 0 : SEGMENT_COLLECTOR_REPORTED; /* the child said why */
        return 1; /* the child died before a word: the library says so */
    }
    close(ready[0]);
    setsid();
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTSTP, SIG_IGN);
    /* A file size limit (ulimit -f) reached must be a failed write, which
     * db.c reports in one line, not a silent death by SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        dup2(devnull, 0);
        close(devnull);
    }
    /* Symbols come from local files only: never stall on a network fetch. */
    unsetenv("DEBUGINFOD_URLS");
    char err[4200];
    struct db *db = db_open(db_path, err, sizeof err);
    if (db == NULL) {
        fprintf(stderr, "orthotope: tracing off: %s; the program runs untraced\n", err);
        char status = 1;
        if (write(ready[1], &status, 1) < 0)
            return 1;
        return 1;
    }
    char status = 0;
    if (write(ready[1], &status, 1) != 1)
        return 1;
    close(ready[1]);
    /* Opened while the root still waits for us, so the pid is its own. */
    int root_pidfd = root_pid != 0 ? (int)syscall(SYS_pidfd_open, root_pid, 0) : -1;
    struct collector_config config = {.listen_fd = listen_fd, .db = db, .interval_ms = interval_ms,
                                      .root_pidfd = root_pidfd};
    int rc = collector_run(&config);
    db_close(db);
    return rc;
}
