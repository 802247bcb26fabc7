/*
 * sandbox_probe: shows that gateway/sandbox.c's filter refuses what it
 * does not list and lets through what it does, for t_sandbox.sh. It
 * installs the very filter `regward serve` installs (same code, same
 * table), from the main thread while a second thread already runs, then
 * tries calls on both threads:
 *
 *   refused (EPERM): ptrace(PTRACE_TRACEME) and fork() (not in sanitizer
 *     builds, whose filter lets LeakSanitizer ptrace and clone a tracer),
 *     unshare(0), execve("/bin/true"),
 *     socket(AF_PACKET) and socket(AF_BLUETOOTH) (families outside the
 *     list), uname(), personality() -- each would succeed (or fail with
 *     another errno) without the filter
 *   allowed: write(), socket(AF_INET), close(), futex (the thread join),
 *     and a thread started after the filter (clone3 -> ENOSYS -> clone)
 *
 * It also checks that every row of the table names a known system call.
 *
 * usage: sandbox_probe [--drop USER]   (--drop: as root, switch first)
 * Prints one line per check; exits 0 when every check holds. The kernel
 * logs each refusal (dmesg: type=1326 ... syscall=N).
 */
#define _GNU_SOURCE /* unshare() */

#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define PROBE_SANITIZER 1
#else
#define PROBE_SANITIZER 0
#endif

#ifndef AF_BLUETOOTH
#define AF_BLUETOOTH 31
#endif

static int probe_failures;
static pthread_mutex_t probe_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t probe_cv = PTHREAD_COND_INITIALIZER;
static int probe_go;

static void
probe_check(const char *what, int ok, int err)
{
	printf("%s %s (errno %d: %s)\n", ok ? "ok  " : "FAIL", what, err,
	    strerror(err));
	if (!ok)
		probe_failures++;
}

/* A refused call must return -1 with EPERM. */
static void
probe_refused(const char *what, long rc)
{
	int err = errno;

	probe_check(what, rc == -1 && err == EPERM, rc == -1 ? err : 0);
}

static void
probe_refusals(const char *who)
{
	char what[128];
	char *const argv[] = {"true", NULL};
	struct utsname u;
	long rc;

#if !PROBE_SANITIZER
	snprintf(what, sizeof(what), "%s: ptrace(PTRACE_TRACEME) refused", who);
	errno = 0;
	rc = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	probe_refused(what, rc);
	snprintf(what, sizeof(what), "%s: fork() refused", who);
	errno = 0;
	rc = fork();
	if (rc == 0)
		_exit(0);
	probe_refused(what, rc);
#endif
	snprintf(what, sizeof(what), "%s: unshare(0) refused", who);
	errno = 0;
	rc = unshare(0);
	probe_refused(what, rc);
	snprintf(what, sizeof(what), "%s: uname() refused", who);
	errno = 0;
	probe_refused(what, uname(&u));
	snprintf(what, sizeof(what), "%s: socket(AF_PACKET) refused", who);
	errno = 0;
	probe_refused(what, socket(AF_PACKET, SOCK_RAW, 0));
	snprintf(what, sizeof(what), "%s: socket(AF_BLUETOOTH) refused", who);
	errno = 0;
	probe_refused(what, socket(AF_BLUETOOTH, SOCK_STREAM, 0));
	snprintf(what, sizeof(what), "%s: personality() refused", who);
	errno = 0;
	probe_refused(what, personality(0xffffffff));
	snprintf(what, sizeof(what), "%s: execve(/bin/true) refused", who);
	errno = 0;
	probe_refused(what, execv("/bin/true", argv));
}

static void
probe_allowed(const char *who)
{
	char what[128];
	int fd;

	snprintf(what, sizeof(what), "%s: socket(AF_INET) allowed", who);
	errno = 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	probe_check(what, fd >= 0, fd >= 0 ? 0 : errno);
	if (fd >= 0) {
		snprintf(what, sizeof(what), "%s: close() allowed", who);
		probe_check(what, close(fd) == 0, errno);
	}
}

/* Started before the filter: TSYNC must cover it too. */
static void *
probe_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&probe_mu);
	while (!probe_go)
		pthread_cond_wait(&probe_cv, &probe_mu);
	pthread_mutex_unlock(&probe_mu);
	probe_refusals("thread");
	probe_allowed("thread");
	return NULL;
}

/* Every row names a system call libseccomp knows: a typo is no rule. */
static void
probe_table(void)
{
	const struct sandbox_syscall *t;
	size_t i, n;
	char what[128];

	t = sandbox_syscalls(&n);
	for (i = 0; i < n; i++) {
		if (seccomp_syscall_resolve_name(t[i].name) != __NR_SCMP_ERROR)
			continue;
		snprintf(what, sizeof(what), "table: %s is a system call",
		    t[i].name);
		probe_check(what, 0, 0);
	}
	snprintf(what, sizeof(what), "table: %zu rows", n);
	probe_check(what, n > 0, 0);
}

/*
 * Started after the filter, as libcurl's resolver threads will be:
 * clone3() gets ENOSYS, glibc falls back to clone(CLONE_THREAD).
 */
static void *
probe_late_thread(void *arg)
{
	(void)arg;
	probe_allowed("late thread");
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t th;
	char err[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	probe_table();
	if (argc == 3 && strcmp(argv[1], "--drop") == 0) {
		if (sandbox_drop(argv[2], NULL, err, sizeof(err)) == -1) {
			fprintf(stderr, "sandbox_probe: %s\n", err);
			return 1;
		}
		probe_check("dropped: setuid(0) fails", setuid(0) == -1, errno);
		probe_check("dropped: uid not 0", getuid() != 0, 0);
	} else if (argc != 1) {
		fprintf(stderr, "usage: sandbox_probe [--drop USER]\n");
		return 2;
	}
	if (pthread_create(&th, NULL, probe_thread, NULL) != 0) {
		fprintf(stderr, "sandbox_probe: pthread_create failed\n");
		return 1;
	}
	if (sandbox_seccomp(err, sizeof(err)) == -1) {
		fprintf(stderr, "sandbox_probe: %s\n", err);
		return 1;
	}
	probe_refusals("main");
	probe_allowed("main");
	pthread_mutex_lock(&probe_mu);
	probe_go = 1;
	pthread_cond_signal(&probe_cv);
	pthread_mutex_unlock(&probe_mu);
	pthread_join(th, NULL);
	errno = pthread_create(&th, NULL, probe_late_thread, NULL);
	probe_check("pthread_create() after the filter", errno == 0, errno);
	if (errno == 0)
		pthread_join(th, NULL);
	printf("%d failures\n", probe_failures);
	return probe_failures == 0 ? 0 : 1;
}
