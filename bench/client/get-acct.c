/*
 * libcmap side of bench/client/get-acct.mjs: get-acct N W
 * W warm-up cmap_get_uint32 calls, then N measured; prints one JSON line with the measured
 * calls' rate, user and system CPU per call and context switches per call (getrusage). With
 * PERF_CTL / PERF_ACK (perf stat --control fifos), perf counts only the measured calls.
 */
#include <sys/resource.h>
#include <corosync/cmap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
static int ctl = -1, ack = -1;
static void perf(const char *c) { if (ctl < 0) return; write(ctl, c, strlen(c)); char b[16]; read(ack, b, sizeof b); }
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec / 1e9; }
static double tv(struct timeval t) { return t.tv_sec * 1e6 + t.tv_usec; }
int main(int argc, char **argv) {
	long n = atol(argv[1]), w = atol(argv[2]);
	cmap_handle_t h; uint32_t v;
	if (cmap_initialize(&h) != CS_OK) return 2;
	if (getenv("PERF_CTL")) { ctl = open(getenv("PERF_CTL"), O_WRONLY); ack = open(getenv("PERF_ACK"), O_RDONLY); }
	for (long i = 0; i < w; i++) if (cmap_get_uint32(h, "runtime.votequorum.this_node_id", &v) != CS_OK) return 9;
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	perf("enable\n");
	double t0 = now();
	for (long i = 0; i < n; i++) if (cmap_get_uint32(h, "runtime.votequorum.this_node_id", &v) != CS_OK) return 9;
	double el = now() - t0;
	perf("disable\n");
	getrusage(RUSAGE_SELF, &b);
	printf("{\"side\":\"c\",\"N\":%ld,\"opsps\":%f,\"user\":%f,\"sys\":%f,\"vol\":%f,\"nonvol\":%f}\n", n, n / el,
	       (tv(b.ru_utime) - tv(a.ru_utime)) / n, (tv(b.ru_stime) - tv(a.ru_stime)) / n,
	       (double)(b.ru_nvcsw - a.ru_nvcsw) / n, (double)(b.ru_nivcsw - a.ru_nivcsw) / n);
	cmap_finalize(h);
	return 0;
}
