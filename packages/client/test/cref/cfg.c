/* The C half of the cfg reference comparison (test/real-cfg.test.ts): a script of libcfg calls
 * printing results and every cs_error_t; test/cref/cfg.mjs prints the same lines through
 * @corosync-ts/client. The shutdown vote runs in a forked tracker that answers NO. */
#include <corosync/cfg.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static corosync_cfg_handle_t tracker;

static void shutdown_cb(corosync_cfg_handle_t h, corosync_cfg_shutdown_flags_t flags) {
	printf("  shutdown callback flags=%d\n", flags);
	fflush(stdout);
	corosync_cfg_replyto_shutdown(tracker, COROSYNC_CFG_SHUTDOWN_FLAG_NO);
	exit(0);
}

static void node_status(corosync_cfg_handle_t h, unsigned int nodeid, int version) {
	struct corosync_cfg_node_status_v1 s;
	memset(&s, 0, sizeof s);
	cs_error_t e = corosync_cfg_node_status_get(h, nodeid, version, &s);
	printf("node_status_get(%u, %d) %d", nodeid, version, e);
	if (e == CS_OK) {
		printf(" v=%u node=%u reachable=%u remote=%u external=%u onwire=%u/%u/%u", s.version, s.nodeid, s.reachable,
		       s.remote, s.external, s.onwire_min, s.onwire_max, s.onwire_ver);
		for (int i = 0; i < CFG_MAX_LINKS; i++) {
			struct corosync_knet_link_status_v1 *l = &s.link_status[i];
			if (l->enabled || l->connected || l->mtu) printf(" link%d=%u/%u/%u/%u/%s/%s", i, l->enabled, l->connected, l->dynconnected, l->mtu, l->src_ipaddr, l->dst_ipaddr);
		}
	}
	printf("\n");
}

static void addrs(corosync_cfg_handle_t h, unsigned int nodeid) {
	corosync_cfg_node_address_t a[8];
	int n = -1;
	cs_error_t e = corosync_cfg_get_node_addrs(h, nodeid, 8, &n, a);
	printf("get_node_addrs(%u) %d", nodeid, e);
	if (e == CS_OK) {
		printf(" n=%d", n);
		for (int i = 0; i < n && i < 8; i++) {
			char buf[INET6_ADDRSTRLEN];
			struct sockaddr *sa = (struct sockaddr *)a[i].address;
			const void *p = a[i].address_length == sizeof(struct sockaddr_in) ? (void *)&((struct sockaddr_in *)sa)->sin_addr : (void *)&((struct sockaddr_in6 *)sa)->sin6_addr;
			inet_ntop(a[i].address_length == sizeof(struct sockaddr_in) ? AF_INET : AF_INET6, p, buf, sizeof buf);
			printf(" %d/%d/%s", a[i].address_length, sa->sa_family, buf);
		}
	}
	printf("\n");
}

int main(void) {
	corosync_cfg_handle_t h, h2;
	corosync_cfg_callbacks_t cb = { .corosync_cfg_shutdown_callback = shutdown_cb };
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("initialize %d\n", corosync_cfg_initialize(&h, NULL));
	printf("initialize %d\n", corosync_cfg_initialize(&h2, &cb));
	unsigned int nodeid = 0;
	cs_error_t e = corosync_cfg_local_get(h, &nodeid);
	printf("local_get %d %u\n", e, nodeid);
	char **names = NULL, **status = NULL;
	unsigned int count = 0;
	e = corosync_cfg_ring_status_get(h, &names, &status, &count);
	printf("ring_status_get %d %u", e, count);
	for (unsigned int i = 0; i < count; i++) printf(" [%s|%s]", names[i], status[i]);
	printf("\n");
	node_status(h, nodeid, CFG_NODE_STATUS_V1);
	node_status(h, 2, CFG_NODE_STATUS_V1);
	node_status(h, 99, CFG_NODE_STATUS_V1);
	node_status(h, 0, CFG_NODE_STATUS_V1);
	node_status(h, nodeid, 2);
	addrs(h, 0);
	addrs(h, nodeid);
	addrs(h, 2);
	addrs(h, 99);
	printf("kill_node(99) %d\n", corosync_cfg_kill_node(h, 99, "test"));
	char longreason[300];
	memset(longreason, 'r', sizeof longreason - 1);
	longreason[sizeof longreason - 1] = 0;
	printf("kill_node(long reason) %d\n", corosync_cfg_kill_node(h, nodeid, longreason));
	printf("reopen_log_files %d\n", corosync_cfg_reopen_log_files(h));
	printf("reload_config %d\n", corosync_cfg_reload_config(h));
	printf("replyto_shutdown(no session) %d\n", corosync_cfg_replyto_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_YES));
	printf("trackstop(not tracking) %d\n", corosync_cfg_trackstop(h2));
	printf("trackstart %d\n", corosync_cfg_trackstart(h2, 0));
	printf("trackstart again %d\n", corosync_cfg_trackstart(h2, 0));
	printf("trackstop %d\n", corosync_cfg_trackstop(h2));
	printf("dispatch(ONE_NONBLOCKING) %d\n", corosync_cfg_dispatch(h, CS_DISPATCH_ONE_NONBLOCKING));
	printf("finalize %d\n", corosync_cfg_finalize(h2));

	int ready[2];
	if (pipe(ready) != 0) return 1;
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		if (corosync_cfg_initialize(&tracker, &cb) != CS_OK || corosync_cfg_trackstart(tracker, 0) != CS_OK) _exit(2);
		if (write(ready[1], "r", 1) != 1) _exit(2);
		for (;;) corosync_cfg_dispatch(tracker, CS_DISPATCH_BLOCKING);
	}
	char c;
	if (read(ready[0], &c, 1) != 1) return 1;
	printf("try_shutdown(REQUEST) %d\n", corosync_cfg_try_shutdown(h, COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST));
	int st;
	waitpid(child, &st, 0);
	printf("tracker exit %d\n", WEXITSTATUS(st));
	printf("finalize %d\n", corosync_cfg_finalize(h));
	printf("finalize again %d\n", corosync_cfg_finalize(h));
	return 0;
}
