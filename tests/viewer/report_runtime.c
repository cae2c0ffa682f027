/* report_runtime.c - a program that frees everything it allocates itself
 * and still ends with blocks live: the C runtime's own, which report_cli.py
 * expects ortho-report to set apart as suppressed, not to fail a
 * --fail-on-leaks gate on. It touches what keeps a block for the life of
 * a process: the locale (setlocale), a stdio buffer (printf to a pipe or
 * file), the time zone (localtime), the name service (getpwuid), and a
 * thread's TLS (pthread_create; glibc keeps the stack and its dtv). Its
 * own allocation, a copy of the user name, is freed. Exit status 0. */
#include <locale.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *work(void *arg)
{
    return arg;
}

int main(void)
{
    setlocale(LC_ALL, "");
    time_t now = time(NULL);
    struct tm *tm = localtime(&now);
    struct passwd *pw = getpwuid(getuid());
    char *name = strdup(pw != NULL ? pw->pw_name : "?");
    pthread_t thread;
    if (pthread_create(&thread, NULL, work, NULL) != 0 || pthread_join(thread, NULL) != 0)
        return 1;
    printf("%s %d\n", name, tm != NULL ? tm->tm_year : 0);
    free(name);
    return 0;
}
