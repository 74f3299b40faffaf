/* The C half of the cpg reference comparison (test/real-cpg.test.ts): a script of libcpg calls
 * printing results, events and every cs_error_t; test/cref/cpg.mjs prints the same lines through
 * @corosync-ts/client. Pids print as "self" / "child" so that both runs compare. */
#include <corosync/cpg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t self, child;
static int events;

static const char *tag(uint32_t pid) { return pid == (uint32_t)self ? "self" : pid == (uint32_t)child ? "child" : "other"; }

static void pr_list(const char *what, const struct cpg_address *l, size_t n) {
	printf(" %s=", what);
	for (size_t i = 0; i < n; i++) printf("%s%u:%s:%u", i ? "," : "", l[i].nodeid, tag(l[i].pid), l[i].reason);
}

static void deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid, void *msg, size_t len) {
	uint32_t sum = 0;
	for (size_t i = 0; i < len; i++) sum = sum * 31 + ((unsigned char *)msg)[i];
	printf("  deliver %.*s node=%u pid=%s len=%zu sum=%u", (int)g->length, g->value, nodeid, tag(pid), len, sum);
	if (len < 32) printf(" text=%.*s", (int)len, (char *)msg);
	printf("\n");
	events++;
}

static void confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *m, size_t nm,
		    const struct cpg_address *l, size_t nl, const struct cpg_address *j, size_t nj) {
	printf("  confchg %.*s", (int)g->length, g->value);
	pr_list("members", m, nm);
	pr_list("left", l, nl);
	pr_list("joined", j, nj);
	printf("\n");
	events++;
}

static void totem(cpg_handle_t h, struct cpg_ring_id ring, uint32_t n, const uint32_t *list) {
	printf("  totem ring=%u members=%u first=%u\n", ring.nodeid, n, n ? list[0] : 0);
	events++;
}

static void wait_events(cpg_handle_t h, int n) {
	events = 0;
	while (events < n) {
		cs_error_t e = cpg_dispatch(h, CS_DISPATCH_ONE);
		if (e != CS_OK) { printf("dispatch %d\n", e); exit(1); }
	}
}

static struct cpg_name name(const char *s) {
	struct cpg_name n;
	memset(&n, 0, sizeof n);
	n.length = strlen(s);
	memcpy(n.value, s, n.length);
	return n;
}

static void run_child(void) {
	cpg_handle_t c;
	cpg_callbacks_t cb = { .cpg_deliver_fn = deliver, .cpg_confchg_fn = confchg };
	struct cpg_name g = name("cref-g");
	/* The child's events are not printed: only the parent's view is compared. */
	if (freopen("/dev/null", "w", stdout) == NULL) _exit(3);
	if (cpg_initialize(&c, &cb) != CS_OK || cpg_join(c, &g) != CS_OK) _exit(2);
	wait_events(c, 1);
	struct iovec iov = { .iov_base = "from-child", .iov_len = 10 };
	if (cpg_mcast_joined(c, CPG_TYPE_AGREED, &iov, 1) != CS_OK) _exit(2);
	wait_events(c, 1);
	_exit(0);
}

static void iterate(cpg_handle_t h, cpg_iteration_type_t type, const struct cpg_name *g) {
	cpg_iteration_handle_t it;
	struct cpg_iteration_description_t d;
	cs_error_t e = cpg_iteration_initialize(h, type, g, &it);
	printf("iteration_initialize(%d) %d\n", type, e);
	if (e != CS_OK) return;
	while ((e = cpg_iteration_next(it, &d)) == CS_OK) printf("  %.*s node=%u pid=%s\n", (int)d.group.length, d.group.value, d.nodeid, tag(d.pid));
	printf("  next %d\n", e);
	e = cpg_iteration_next(it, &d);
	printf("  next again %d %.*s\n", e, e == CS_OK ? (int)d.group.length : 0, d.group.value);
	printf("  finalize %d\n", cpg_iteration_finalize(it));
	printf("  finalize again %d\n", cpg_iteration_finalize(it));
}

int main(void) {
	cpg_handle_t h, h2;
	cs_error_t e;
	self = getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);
	cpg_model_v1_data_t md = { .model = CPG_MODEL_V1, .cpg_deliver_fn = deliver, .cpg_confchg_fn = confchg,
				   .cpg_totem_confchg_fn = totem, .flags = 2 };
	printf("model_initialize(2) %d\n", cpg_model_initialize(&h, 2, (cpg_model_data_t *)&md, NULL));
	printf("model_initialize(flags 2) %d\n", cpg_model_initialize(&h, CPG_MODEL_V1, (cpg_model_data_t *)&md, NULL));
	md.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF;
	printf("model_initialize %d\n", cpg_model_initialize(&h, CPG_MODEL_V1, (cpg_model_data_t *)&md, NULL));
	cpg_callbacks_t cb2 = { 0 };
	printf("initialize %d\n", cpg_initialize(&h2, &cb2));
	unsigned int nodeid = 0;
	e = cpg_local_get(h, &nodeid);
	printf("local_get %d %u\n", e, nodeid);
	uint32_t size = 0;
	e = cpg_max_atomic_msgsize_get(h, &size);
	printf("max_atomic_msgsize_get %d %u\n", e, size);
	cpg_flow_control_state_t fc = 7;
	e = cpg_flow_control_state_get(h, &fc);
	printf("flow_control_state_get %d %d\n", e, fc);

	struct cpg_name longname = name("x");
	longname.length = 129;
	printf("join(129 bytes) %d\n", cpg_join(h, &longname));
	struct cpg_name g = name("cref-g");
	printf("join %d\n", cpg_join(h, &g));
	wait_events(h, 2);
	printf("join again %d\n", cpg_join(h, &g));

	struct cpg_address members[CPG_MEMBERS_MAX];
	int count = CPG_MEMBERS_MAX;
	e = cpg_membership_get(h, &g, members, &count);
	printf("membership_get %d", e);
	pr_list("members", members, count);
	printf("\n");
	struct cpg_name nope = name("nope");
	count = CPG_MEMBERS_MAX;
	e = cpg_membership_get(h, &nope, members, &count);
	printf("membership_get(nope) %d %d\n", e, count);

	struct iovec one = { .iov_base = "hello-1", .iov_len = 7 };
	printf("mcast %d\n", cpg_mcast_joined(h, CPG_TYPE_AGREED, &one, 1));
	struct iovec two[2] = { { .iov_base = "hel", .iov_len = 3 }, { .iov_base = "lo-2", .iov_len = 4 } };
	printf("mcast iov %d\n", cpg_mcast_joined(h, CPG_TYPE_FIFO, two, 2));
	wait_events(h, 2);

	static unsigned char big[3000000];
	for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7);
	struct iovec bigv = { .iov_base = big, .iov_len = sizeof big };
	printf("mcast 3000000 %d\n", cpg_mcast_joined(h, CPG_TYPE_AGREED, &bigv, 1));
	wait_events(h, 1);
	struct iovec atomic = { .iov_base = big, .iov_len = 1047552 };
	printf("mcast 1047552 %d\n", cpg_mcast_joined(h, CPG_TYPE_AGREED, &atomic, 1));
	wait_events(h, 1);
	struct iovec split[2] = { { .iov_base = big, .iov_len = 1047553 }, { .iov_base = big + 1047553, .iov_len = 5 } };
	printf("mcast iov 1047553+5 %d\n", cpg_mcast_joined(h, CPG_TYPE_AGREED, split, 2));
	wait_events(h, 1);

	fflush(stdout);
	child = fork();
	if (child == 0) run_child();
	wait_events(h, 3);
	int status;
	waitpid(child, &status, 0);
	printf("child exit %d\n", WEXITSTATUS(status));

	iterate(h, CPG_ITERATION_ALL, NULL);
	iterate(h, CPG_ITERATION_NAME_ONLY, NULL);
	iterate(h, CPG_ITERATION_ONE_GROUP, &g);
	iterate(h, CPG_ITERATION_ONE_GROUP, &nope);
	iterate(h, 4, NULL);
	iterate(h, CPG_ITERATION_ONE_GROUP, NULL);
	iterate(h, CPG_ITERATION_ALL, &g);

	printf("h2 leave %d\n", cpg_leave(h2, &g));
	printf("h2 mcast %d\n", cpg_mcast_joined(h2, CPG_TYPE_AGREED, &one, 1));
	printf("h2 dispatch(ONE_NONBLOCKING) %d\n", cpg_dispatch(h2, CS_DISPATCH_ONE_NONBLOCKING));
	printf("leave %d\n", cpg_leave(h, &g));
	wait_events(h, 1);
	printf("h2 finalize %d\n", cpg_finalize(h2));
	printf("finalize %d\n", cpg_finalize(h));
	printf("finalize again %d\n", cpg_finalize(h));
	return 0;
}
