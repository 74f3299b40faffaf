/*
 * The cost of a sleeping wait's timeout (bench/README.md "CPU per GET: the wait's timer"): a ping-pong
 * over a socketpair, the echo on vCPU 1, the pinger on vCPU 0 waiting for each reply in poll(-1)
 * or in ppoll with a timeout of NS nanoseconds; prints CPU and wall time per round trip.
 *   gcc -O2 -o /tmp/wait-timer bench/client/wait-timer.c && /tmp/wait-timer 20000 -1 && /tmp/wait-timer 20000 200000
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static void pin(int c) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(c, &s); sched_setaffinity(0, sizeof s, &s); }
int main(int argc, char **argv) {
  long n = atol(argv[1]); long tns = atol(argv[2]); // tns < 0: poll(-1)
  int sv[2]; socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
  pid_t p = fork();
  if (p == 0) { close(sv[0]); pin(1); char b; for (;;) { struct pollfd f = { sv[1], POLLIN, 0 }; poll(&f, 1, -1); if (read(sv[1], &b, 1) <= 0) _exit(0); write(sv[1], &b, 1); } }
  close(sv[1]); setvbuf(stdout, NULL, _IONBF, 0); pin(0); char b = 1; struct rusage a, z; struct timespec t0, t1;
  for (long i = 0; i < 2000; i++) { write(sv[0], &b, 1); struct pollfd f = { sv[0], POLLIN, 0 }; poll(&f, 1, -1); read(sv[0], &b, 1); }
  getrusage(RUSAGE_SELF, &a); clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) {
    write(sv[0], &b, 1);
    struct pollfd f = { sv[0], POLLIN, 0 };
    if (tns < 0) poll(&f, 1, -1);
    else { struct timespec ts = { 0, tns }; while (ppoll(&f, 1, &ts, NULL) == 0) ; }
    read(sv[0], &b, 1);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1); getrusage(RUSAGE_SELF, &z);
  double cpu = (z.ru_utime.tv_sec - a.ru_utime.tv_sec) * 1e6 + (z.ru_utime.tv_usec - a.ru_utime.tv_usec) + (z.ru_stime.tv_sec - a.ru_stime.tv_sec) * 1e6 + (z.ru_stime.tv_usec - a.ru_stime.tv_usec);
  printf("%s: cpu %.2f us/rt, wall %.2f us/rt, vol %.2f\n", tns < 0 ? "poll(-1)      " : "ppoll(timeout)", cpu / n, ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n, (double)(z.ru_nvcsw - a.ru_nvcsw) / n);
  close(sv[0]); wait(NULL); return 0;
}
