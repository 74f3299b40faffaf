/* The C half of the cpg zero-copy comparison (test/real-cpg-zcb.test.ts): cpg_zcb_alloc, _mcast_joined
 * and _free through libcpg, printing results, deliveries and the zero-copy files left in /dev/shm;
 * test/cref/zcb.mjs prints the same lines through @corosync-ts/client. */
#include <corosync/cpg.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int events;

static void deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid, void *msg, size_t len) {
	uint32_t sum = 0;
	for (size_t i = 0; i < len; i++) sum = sum * 31 + ((unsigned char *)msg)[i];
	printf("  deliver %.*s node=%u self=%d len=%zu sum=%u", (int)g->length, g->value, nodeid, pid == (uint32_t)getpid(), len, sum);
	if (len < 32) printf(" text=%.*s", (int)len, (char *)msg);
	printf("\n");
	events++;
}

static void confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *m, size_t nm,
		    const struct cpg_address *l, size_t nl, const struct cpg_address *j, size_t nj) {
	printf("  confchg %.*s members=%zu left=%zu joined=%zu\n", (int)g->length, g->value, nm, nl, nj);
	events++;
}

static void wait_events(cpg_handle_t h, int n) {
	events = 0;
	while (events < n) {
		cs_error_t e = cpg_dispatch(h, CS_DISPATCH_ONE);
		if (e != CS_OK) { printf("dispatch %d\n", e); exit(1); }
	}
}

/* Zero-copy files present in /dev/shm (corosync unlinks each as it maps it). */
static void files(const char *when) {
	int n = 0;
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	while (d && (e = readdir(d))) n += strncmp(e->d_name, "corosync_zerocopy-", 18) == 0;
	if (d) closedir(d);
	printf("files %s %d\n", when, n);
}

int main(void) {
	cpg_handle_t h;
	setvbuf(stdout, NULL, _IOLBF, 0);
	cpg_callbacks_t cb = { .cpg_deliver_fn = deliver, .cpg_confchg_fn = confchg };
	printf("initialize %d\n", cpg_initialize(&h, &cb));
	void *a = NULL, *z = NULL, *big = NULL;
	printf("zcb_alloc(100) %d\n", cpg_zcb_alloc(h, 100, &a));
	files("after alloc");
	memcpy(a, "zero-copy hello", 15);
	printf("zcb_mcast_joined unjoined %d\n", cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, a, 15));
	struct cpg_name g;
	memset(&g, 0, sizeof g);
	g.length = 5;
	memcpy(g.value, "zcb-g", 5);
	printf("join %d\n", cpg_join(h, &g));
	wait_events(h, 1);
	printf("zcb_mcast_joined 15 %d\n", cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, a, 15));
	wait_events(h, 1);
	for (int i = 0; i < 100; i++) ((unsigned char *)a)[i] = (unsigned char)(i * 3 + 1);
	printf("zcb_mcast_joined 100 %d\n", cpg_zcb_mcast_joined(h, CPG_TYPE_FIFO, a, 100));
	wait_events(h, 1);
	printf("zcb_mcast_joined 0 %d\n", cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, a, 0));
	wait_events(h, 1);
	printf("zcb_mcast_joined 1048577 %d\n", cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, a, 1048577));
	printf("zcb_alloc(0) %d\n", cpg_zcb_alloc(h, 0, &z));
	printf("zcb_mcast_joined empty %d\n", cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, z, 0));
	wait_events(h, 1);
	printf("zcb_alloc(1047552) %d\n", cpg_zcb_alloc(h, 1047552, &big));
	for (int i = 0; i < 1047552; i++) ((unsigned char *)big)[i] = (unsigned char)(i * 7);
	printf("zcb_mcast_joined 1047552 %d\n", cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, big, 1047552));
	wait_events(h, 1);
	/* the same buffer again, after writing into it: what goes is what is in it now */
	memcpy(big, "again", 5);
	printf("zcb_mcast_joined 5 %d\n", cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, big, 5));
	wait_events(h, 1);
	files("after mcast");
	printf("zcb_free %d\n", cpg_zcb_free(h, a));
	printf("zcb_free(0) %d\n", cpg_zcb_free(h, z));
	printf("leave %d\n", cpg_leave(h, &g));
	wait_events(h, 1);
	printf("zcb_mcast_joined after leave %d\n", cpg_zcb_mcast_joined(h, CPG_TYPE_AGREED, big, 5));
	printf("zcb_free(1047552) %d\n", cpg_zcb_free(h, big));
	printf("finalize %d\n", cpg_finalize(h));
	printf("zcb_alloc after finalize %d\n", cpg_zcb_alloc(h, 10, &a));
	files("at exit");
	return 0;
}
