/* Runs a command and prints its resource use on stderr, precise to the microsecond:
 * "BENCH <wall s> <user s> <sys s> <peak RSS KiB>" from wait4 of the one child. Written in C
 * so that the child's memory before exec (this wrapper's, about 1 MiB) does not inflate the
 * peak RSS. stdout and the exit status are the command's. Built by benches/snapshots.rs. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct timespec start, end;
    struct rusage usage;
    int status;
    pid_t pid;
    if (argc < 2) {
        fprintf(stderr, "usage: rusage COMMAND [ARG...]\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid = fork();
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror("exec");
        _exit(127);
    }
    if (pid < 0 || wait4(pid, &status, 0, &usage) < 0) {
        perror("rusage");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    fprintf(stderr, "BENCH %.6f %.6f %.6f %ld\n",
            (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9,
            usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6,
            usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6, usage.ru_maxrss);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
