/*
 * A large message sent twice through libcpg, each call's cs_error_t printed (the TypeScript twin:
 * fixtures/partial-try-again.mjs send). The daemon, corosync-mock with a fault, answers the first
 * message's last fragment CS_ERR_TRY_AGAIN: cpg_mcast_joined returns it, the fragment not sent again.
 *   partial-try-again SIZE
 */
#include <corosync/cpg.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	cpg_handle_t h;
	cpg_callbacks_t callbacks = { 0 };
	struct cpg_name group = { .length = 7, .value = "partial" };
	size_t len = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
	char *big = malloc(len ? len : 1);
	struct iovec iov = { .iov_base = big, .iov_len = len };
	if (!big) return 2;
	for (size_t i = 0; i < len; i++) big[i] = (char)(i * 7);
	printf("initialize %d\n", cpg_initialize(&h, &callbacks));
	printf("join %d\n", cpg_join(h, &group));
	printf("mcast %d\n", cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1));
	printf("mcast %d\n", cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1));
	printf("finalize %d\n", cpg_finalize(h));
	return 0;
}
