/*
 * C side of bench/client: libcmap on the same daemon as the TypeScript side.
 *   cbench track N W  track prefix "bench.", print "ready"; after W notifications print "warm";
 *                     after N more print the CLOCK_MONOTONIC ns of the last one
 *   cbench write N    print its start time (CLOCK_MONOTONIC ns), then N cmap_set_uint32 of bench.k
 *   cbench getstr N   N cmap_get_string("totem.cluster_name"), print elapsed ns
 *   cbench get1 N     N cmap_get("totem.cluster_name") into a 1024-byte buffer (one round trip each)
 *   cbench getu32 N [W]  W warm-up calls (default 200), then N cmap_get_uint32("runtime.votequorum.this_node_id"); print
 *                     "elapsed_ns cpu_ns vol invol" (cpu: user + system of the whole process, getrusage;
 *                     vol, invol: its voluntary and involuntary context switches over those calls)
 *   cbench handles N  RSS in kB after 1 + N open handles, then with N more; print "rssA_kB rssB_kB"
 *                     (the first N, as in tsbench, take one-time costs out of the per-handle slope)
 */
#include <sys/resource.h>
#include <corosync/cmap.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

/* VmRSS of this process, kB */
static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f) return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
	fclose(f);
	return kb;
}

static long count, want, warm;
static uint64_t last;

static void notify(cmap_handle_t h, cmap_track_handle_t th, int32_t ev, const char *k,
		   struct cmap_notify_value nv, struct cmap_notify_value ov, void *ud)
{
	count++;
	last = now_ns();
	if (count == warm) {
		printf("warm\n");
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	cmap_handle_t h;
	long n = argc > 2 ? atol(argv[2]) : 10000;
	if (argc < 2 || cmap_initialize(&h) != CS_OK) return 2;
	if (!strcmp(argv[1], "track")) {
		cmap_track_handle_t th;
		int fd;
		warm = argc > 3 ? atol(argv[3]) : 0;
		want = n + warm;
		if (cmap_track_add(h, "bench.", CMAP_TRACK_ADD | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX, notify, NULL, &th) != CS_OK) return 3;
		cmap_fd_get(h, &fd);
		printf("ready\n");
		fflush(stdout);
		while (count < want) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			if (poll(&p, 1, 60000) <= 0) return 4;
			if (cmap_dispatch(h, CS_DISPATCH_ALL) != CS_OK) return 5;
		}
		printf("%" PRIu64 "\n", last);
	} else if (!strcmp(argv[1], "write")) {
		printf("%" PRIu64 "\n", now_ns());
		fflush(stdout);
		for (long i = 1; i <= n; i++)
			if (cmap_set_uint32(h, "bench.k", (uint32_t)i) != CS_OK) return 6;
	} else if (!strcmp(argv[1], "getstr")) {
		uint64_t t0 = now_ns();
		for (long i = 0; i < n; i++) {
			char *s;
			if (cmap_get_string(h, "totem.cluster_name", &s) != CS_OK) return 7;
			free(s);
		}
		printf("%" PRIu64 "\n", now_ns() - t0);
	} else if (!strcmp(argv[1], "get1")) {
		char buf[1024];
		uint64_t t0 = now_ns();
		for (long i = 0; i < n; i++) {
			size_t len = sizeof buf;
			cmap_value_types_t type;
			if (cmap_get(h, "totem.cluster_name", buf, &len, &type) != CS_OK) return 8;
		}
		printf("%" PRIu64 "\n", now_ns() - t0);
	} else if (!strcmp(argv[1], "getu32")) {
		uint32_t v;
		long warm = argc > 3 ? atol(argv[3]) : 200;
		for (long i = 0; i < warm; i++)
			if (cmap_get_uint32(h, "runtime.votequorum.this_node_id", &v) != CS_OK) return 9;
		struct rusage a, b;
		getrusage(RUSAGE_SELF, &a);
		uint64_t t0 = now_ns(), c0 = cpu_ns();
		for (long i = 0; i < n; i++)
			if (cmap_get_uint32(h, "runtime.votequorum.this_node_id", &v) != CS_OK) return 9;
		uint64_t el = now_ns() - t0, c = cpu_ns() - c0;
		getrusage(RUSAGE_SELF, &b);
		printf("%" PRIu64 " %" PRIu64 " %ld %ld\n", el, c, b.ru_nvcsw - a.ru_nvcsw, b.ru_nivcsw - a.ru_nivcsw);
	} else if (!strcmp(argv[1], "handles")) {
		uint32_t v;
		long before;
		cmap_handle_t *hs = calloc(2 * n, sizeof *hs);
		if (!hs || cmap_get_uint32(h, "runtime.votequorum.this_node_id", &v) != CS_OK) return 10;
		for (long i = 0; i < 2 * n; i++) {
			if (i == n) before = rss_kb();
			if (cmap_initialize(&hs[i]) != CS_OK || cmap_get_uint32(hs[i], "runtime.votequorum.this_node_id", &v) != CS_OK) return 10;
		}
		printf("%ld %ld\n", before, rss_kb());
		for (long i = 0; i < 2 * n; i++) cmap_finalize(hs[i]);
		free(hs);
	}
	cmap_finalize(h);
	return 0;
}
