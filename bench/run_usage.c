/* run_usage.c - run-usage, the launcher of bench/real_programs.py: runs one
 * command as its child and reports the child's wall time and peak RSS from
 * wait4's rusage. It exists because the peak RSS Linux reports survives
 * execve: a program started straight from the Python driver would report
 * at least the driver's own RSS (its forked copy's high-water mark becomes
 * the child's), which hid the real figure of every small program. This
 * launcher is a small process, so its child starts from a small high-water
 * mark. ru_maxrss is the largest of the child and the descendants it waited
 * for (gcc's cc1 and as, git's helpers), not their sum.
 *
 * Usage: run-usage REPORT_FILE [--env NAME=VALUE]... COMMAND [ARG...]
 * The child inherits stdin, stdout, stderr and the environment, plus each
 * --env setting, which only the child gets: LD_PRELOAD is passed that way,
 * so the launcher itself always runs on glibc's malloc. REPORT_FILE
 * gets one line: wall_ns=N maxrss_kib=K exit=E signal=S. Exit status 0 when
 * the report was written (whatever the child did), 2 on a usage or launch
 * error. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Exit status of a child whose exec failed, as the shells use. */
#define RUN_USAGE_EXEC_FAILED 127

static unsigned long long run_usage_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int command = 2;
    while (command + 1 < argc && strcmp(argv[command], "--env") == 0) {
        if (strchr(argv[command + 1], '=') == NULL || argv[command + 1][0] == '=') {
            fprintf(stderr, "run-usage: --env %s is not NAME=VALUE\n", argv[command + 1]);
            return 2;
        }
        command += 2;
    }
    if (command >= argc) {
        fprintf(stderr, "usage: run-usage REPORT_FILE [--env NAME=VALUE]... COMMAND [ARG...]\n");
        return 2;
    }
    FILE *report = fopen(argv[1], "w");
    if (report == NULL) {
        fprintf(stderr, "run-usage: cannot write %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    unsigned long long start_ns = run_usage_now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "run-usage: cannot fork: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        for (int i = 3; i < command; i += 2)
            putenv(argv[i]);
        execvp(argv[command], argv + command);
        fprintf(stderr, "run-usage: cannot run %s: %s\n", argv[command], strerror(errno));
        _exit(RUN_USAGE_EXEC_FAILED);
    }
    int status;
    struct rusage usage;
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "run-usage: wait4 failed: %s\n", strerror(errno));
            return 2;
        }
    }
    unsigned long long wall_ns = run_usage_now_ns() - start_ns;
    fprintf(report, "wall_ns=%llu maxrss_kib=%ld exit=%d signal=%d\n", wall_ns, usage.ru_maxrss,
            WIFEXITED(status) ? WEXITSTATUS(status) : -1,
            WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return fclose(report) == 0 ? 0 : 2;
}
