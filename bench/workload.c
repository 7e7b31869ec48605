// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Benchmark workloads: each does N operations that each cause one traced event (or one
 * round trip for pingpong) and prints "<ops> <elapsed ns>". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int listen_fd;
static void *acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(listen_fd, NULL, NULL);
		if (c < 0)
			return NULL;
		close(c);
	}
}

static int pa[2], pb[2];
static long rounds;
static void *ponger(void *arg)
{
	char c;
	(void)arg;
	for (long i = 0; i < rounds; i++) {
		if (read(pa[0], &c, 1) != 1 || write(pb[1], &c, 1) != 1)
			break;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: workload open|exec|connect|bind|dread|pingpong|kill|getppid N [PATH]\n");
		return 2;
	}
	const char *mode = argv[1];
	long n = atol(argv[2]);
	const char *path = argc > 3 ? argv[3] : "/dev/null";
	long long t0 = now_ns();
	if (!strcmp(mode, "open")) {
		for (long i = 0; i < n; i++) {
			int fd = open(path, O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
	} else if (!strcmp(mode, "getppid")) {
		/* The cheapest syscall: syscount's per-syscall cost (raw_syscalls) shows most. */
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
	} else if (!strcmp(mode, "kill")) {
		/* Signal 0 to itself: the kill syscall's checks, no delivery. */
		for (long i = 0; i < n; i++)
			kill(getpid(), 0);
	} else if (!strcmp(mode, "exec")) {
		for (long i = 0; i < n; i++) {
			pid_t p = fork();
			if (p == 0) {
				execl("/bin/true", "true", "ferrobench-marker", (char *)NULL);
				_exit(127);
			}
			waitpid(p, NULL, 0);
		}
	} else if (!strcmp(mode, "connect")) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(sa);
		pthread_t t;
		listen_fd = socket(AF_INET, SOCK_STREAM, 0);
		bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa));
		listen(listen_fd, 4096);
		getsockname(listen_fd, (struct sockaddr *)&sa, &len);
		printf("port %d\n", ntohs(sa.sin_port));
		fflush(stdout);
		pthread_create(&t, NULL, acceptor, NULL);
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			connect(s, (struct sockaddr *)&sa, sizeof(sa));
			close(s);
		}
	} else if (!strcmp(mode, "bind")) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			int s = socket(AF_INET, SOCK_DGRAM, 0);
			bind(s, (struct sockaddr *)&sa, sizeof(sa));
			close(s);
		}
	} else if (!strcmp(mode, "dread")) {
		void *buf;
		int fd = open(path, O_RDONLY | O_DIRECT);
		if (fd < 0 || posix_memalign(&buf, 4096, 4096)) {
			perror("dread");
			return 1;
		}
		t0 = now_ns();
		for (long i = 0; i < n; i++)
			if (pread(fd, buf, 4096, (i % 256) * 4096) != 4096) {
				perror("pread");
				return 1;
			}
	} else if (!strcmp(mode, "pingpong")) {
		pthread_t t;
		char c = 'x';
		rounds = n;
		if (pipe(pa) || pipe(pb))
			return 1;
		pthread_create(&t, NULL, ponger, NULL);
		for (long i = 0; i < n; i++)
			if (write(pa[1], &c, 1) != 1 || read(pb[0], &c, 1) != 1)
				return 1;
		pthread_join(t, NULL);
	} else {
		return 2;
	}
	printf("%ld %lld\n", n, now_ns() - t0);
	return 0;
}
