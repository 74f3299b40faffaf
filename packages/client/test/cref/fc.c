/* The C half of the cpg flow-control comparison (test/real-cpg-fc.test.ts): one process multicasts
 * 1,000,000-byte messages as fast as libcpg lets it until corosync's flow control refuses one
 * (CS_ERR_TRY_AGAIN), reads cpg_flow_control_state_get there, re-sends the refused message with the
 * loop users write around TRY_AGAIN, goes on until flow control refused it again, and checks that
 * every message came back once, in order. test/cref/fc.mjs does the same through
 * @corosync-ts/client, its `retry` option being the loop. Counts vary with timing: only what
 * must hold is printed. `fc flood` is the other sender that keeps totem's queue full meanwhile
 * (to group fc-flood, until killed): flow control is one state for every connection. */
#include <corosync/cpg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE 1000000
#define CAP 3000

static uint32_t next_seq, wrong, joined;

static void deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid, void *msg, size_t len) {
	uint32_t seq;
	memcpy(&seq, msg, 4);
	if (len != SIZE || pid != (uint32_t)getpid() || seq != next_seq) wrong++;
	next_seq++;
}

static void confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *m, size_t nm,
		    const struct cpg_address *l, size_t nl, const struct cpg_address *j, size_t nj) {
	joined = 1;
}

static void ignore(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid, void *msg, size_t len) {}

static int flood(void) {
	cpg_handle_t h;
	cpg_callbacks_t cb = { .cpg_deliver_fn = ignore, .cpg_confchg_fn = confchg };
	struct cpg_name g;
	memset(&g, 0, sizeof g);
	g.length = 8;
	memcpy(g.value, "fc-flood", 8);
	if (cpg_initialize(&h, &cb) != CS_OK || cpg_join(h, &g) != CS_OK) return 2;
	static unsigned char msg[SIZE];
	struct iovec iov = { .iov_base = msg, .iov_len = SIZE };
	printf("flooding\n");
	for (;;) {
		cs_error_t e = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);
		if (e == CS_ERR_TRY_AGAIN) usleep(1000);
		else if (e != CS_OK) return 3;
		cpg_dispatch(h, CS_DISPATCH_ALL);
	}
}

int main(int argc, char **argv) {
	cpg_handle_t h;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "flood") == 0) return flood();
	cpg_callbacks_t cb = { .cpg_deliver_fn = deliver, .cpg_confchg_fn = confchg };
	printf("initialize %d\n", cpg_initialize(&h, &cb));
	struct cpg_name g;
	memset(&g, 0, sizeof g);
	g.length = 4;
	memcpy(g.value, "fc-g", 4);
	printf("join %d\n", cpg_join(h, &g));
	while (!joined) cpg_dispatch(h, CS_DISPATCH_ONE);
	cpg_flow_control_state_t fc = 7;
	cs_error_t e = cpg_flow_control_state_get(h, &fc);
	printf("flow_control_state_get %d %d\n", e, fc);

	static unsigned char msg[SIZE];
	struct iovec iov = { .iov_base = msg, .iov_len = SIZE };
	uint32_t seq = 0, first = 0, refused = 0;
	for (; seq < CAP; seq++) {
		memcpy(msg, &seq, 4);
		if ((e = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1)) != CS_OK) break;
		cpg_dispatch(h, CS_DISPATCH_ALL);
	}
	printf("mcast until refused %d\n", e);
	if (e != CS_ERR_TRY_AGAIN) return 1;
	fc = 7;
	e = cpg_flow_control_state_get(h, &fc);
	printf("flow_control_state_get under flow control %d %d\n", e, fc);
	first = seq;
	/* the loop around TRY_AGAIN (cs_repeat in Pacemaker), for the refused message and the rest */
	for (; seq < CAP && (seq < 3 * first + 10 || refused == 0); seq++) {
		memcpy(msg, &seq, 4);
		while ((e = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1)) == CS_ERR_TRY_AGAIN) {
			if (seq > first) refused++;
			usleep(1000);
		}
		if (e != CS_OK) break;
		cpg_dispatch(h, CS_DISPATCH_ALL);
	}
	printf("sent through flow control %d refused again %s\n", e, refused > 0 ? "yes" : "no");
	while (next_seq < seq) cpg_dispatch(h, CS_DISPATCH_ONE);
	printf("delivered every message once in order %s\n", wrong == 0 && next_seq == seq ? "yes" : "no");
	fc = 7;
	e = cpg_flow_control_state_get(h, &fc);
	printf("flow_control_state_get after %d %d\n", e, fc);
	printf("finalize %d\n", cpg_finalize(h));
	fprintf(stderr, "messages %u, first refusal at %u, refusals %u\n", seq, first, refused);
	return 0;
}
