/*
 * timer CMD ARGS...: runs CMD to completion and prints, after its output, one line with the
 * wall time from just before fork to its exit, in ns (CLOCK_MONOTONIC), or exits 1 if CMD failed.
 * The bench times every side with it, inside the namespace, so no launcher's own start-up
 * (nsenter, a shell) is counted in any figure.
 */
#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int status;
	uint64_t t0;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: timer CMD ARGS...\n");
		return 2;
	}
	fflush(stdout);
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror("execvp");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		return 1;
	}
	printf("%llu\n", (unsigned long long)(now_ns() - t0));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
