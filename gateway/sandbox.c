/*
 * sandbox: privilege drop, no_new_privs and a seccomp allow-list for
 * `regward serve`, applied once the listener is bound, the database and
 * log are open and the worker threads run.
 *
 * The allow-list is sandbox_table[] below, between the BEGIN/END markers:
 * deploy/seccomp/derive.sh prints the system calls regward made while the
 * integration suite ran under strace, split into those made after the
 * sandbox went up (rows without flags) and those made only before it or by
 * short-lived commands such as `regward health` (SANDBOX_SYS_START: in the
 * container profile, not in the daemon's own filter).
 * deploy/seccomp/gen-profile.py turns the table into
 * deploy/seccomp/regward.json; t_deploy_files checks they agree.
 *
 * A refused call returns EPERM rather than killing the process: a daemon
 * that meets a code path the derivation missed (a new libcurl resolver
 * path, say) answers that one request with an error and keeps serving the
 * others, and the kernel logs the call (SCMP_FLTATR_CTL_LOG) so the table
 * can be fixed. SCMP_ACT_KILL_PROCESS would be louder but turns a missed
 * syscall into an outage. (SCMP_ACT_TRAP with a SIGSYS handler that logs
 * and fakes EPERM does not work here: the hasher and ledger threads block
 * every signal, and a blocked SIGSYS kills the process.)
 */
#define _GNU_SOURCE /* setresuid(), CLONE_THREAD */

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "gateway.h"
#include "sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER 0
#endif

#define SANDBOX_NAME_MAX 256 /* bytes of a user or group name */
#define SANDBOX_PWBUF 16384 /* getpwnam_r/getgrnam_r buffer */

/* socket() families the gateway and its libraries open. */
static const int sandbox_families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};

/*
 * The allow-list. One row per line between the markers, exactly
 * `{ "name", FLAGS },`: gen-profile.py reads them.
 */
/* clang-format off */
static const struct sandbox_syscall sandbox_table[] = {
	/* BEGIN SYSCALLS */
	/*
	 * Derived by deploy/seccomp/derive.sh from the integration suite
	 * (release and ASan builds); rows with a comment were added by hand
	 * for paths the suite does not reach (say why, and re-derive after
	 * merging code that makes new calls).
	 */
	{ "accept4", 0 },
	{ "access", SANDBOX_SYS_START },
	{ "arch_prctl", SANDBOX_SYS_START },
	{ "bind", SANDBOX_SYS_START },
	{ "brk", 0 },
	{ "capget", SANDBOX_SYS_START }, /* container runtime between the profile and execve */
	{ "capset", SANDBOX_SYS_START }, /* container runtime */
	{ "clock_gettime", 0 }, /* the vDSO's fallback; the ASan runtime */
	{ "clock_nanosleep", 0 }, /* SQLite's busy handler sleeps when the file is locked */
	{ "clone", SANDBOX_SYS_THREAD }, /* threads only; libcurl's resolver, worker pools */
	{ "clone3", SANDBOX_SYS_ENOSYS }, /* ENOSYS: glibc falls back to clone() */
	{ "close", 0 },
	{ "close_range", SANDBOX_SYS_START }, /* container runtime */
	{ "connect", 0 },
	{ "epoll_create1", SANDBOX_SYS_START },
	{ "epoll_ctl", 0 },
	{ "epoll_pwait", SANDBOX_SYS_START }, /* container runtime (Go) */
	{ "epoll_wait", 0 },
	{ "eventfd2", SANDBOX_SYS_START },
	{ "execve", SANDBOX_SYS_START },
	{ "execveat", SANDBOX_SYS_START }, /* container runtime (crun) */
	{ "exit", 0 },
	{ "exit_group", 0 },
	{ "fchmod", SANDBOX_SYS_START },
	{ "fchown", 0 }, /* SQLite run as root gives a new -wal/-shm the database's owner (admission workers' connections) */
	{ "fcntl", 0 },
	{ "fdatasync", 0 },
	{ "fsync", SANDBOX_SYS_START },
	{ "ftruncate", 0 },
	{ "futex", 0 },
	{ "getdents", SANDBOX_SYS_SAN }, /* LeakSanitizer lists /proc/self/task */
	{ "getegid", 0 },
	{ "geteuid", 0 },
	{ "getgid", SANDBOX_SYS_START },
	{ "getpeername", 0 }, /* libcurl */
	{ "getpid", 0 },
	{ "getppid", SANDBOX_SYS_START | SANDBOX_SYS_SAN }, /* container runtime; LeakSanitizer's tracer */
	{ "getrandom", 0 }, /* OpenSSL reseeds its DRBG hours after start */
	{ "getresgid", SANDBOX_SYS_START }, /* sandbox_drop() checks */
	{ "getresuid", SANDBOX_SYS_START }, /* sandbox_drop() checks */
	{ "getsockname", 0 }, /* libcurl, netlink */
	{ "getsockopt", 0 },
	{ "gettid", 0 }, /* abort() */
	{ "getuid", SANDBOX_SYS_START },
	{ "ioctl", 0 },
	{ "link", SANDBOX_SYS_START },
	{ "listen", SANDBOX_SYS_START },
	{ "lseek", 0 },
	{ "madvise", 0 },
	{ "mmap", 0 },
	{ "mprotect", 0 },
	{ "mremap", 0 }, /* glibc realloc() of mmap()ed blocks (big manifests) */
	{ "munmap", 0 },
	{ "nanosleep", 0 }, /* SQLite's busy handler (older glibc paths) */
	{ "newfstatat", 0 },
	{ "open", SANDBOX_SYS_SAN }, /* ASan's own file access */
	{ "openat", 0 },
	{ "pipe2", 0 },
	{ "poll", 0 }, /* libcurl (upstream and JWKS workers), DNS */
	{ "ppoll", 0 }, /* libcurl */
	{ "prctl", SANDBOX_SYS_START | SANDBOX_SYS_SAN }, /* no_new_privs; LeakSanitizer: PR_SET_DUMPABLE, PR_SET_PTRACER */
	{ "pread64", 0 },
	{ "prlimit64", SANDBOX_SYS_START },
	{ "ptrace", SANDBOX_SYS_SAN }, /* LeakSanitizer stops the threads at exit */
	{ "pwrite64", 0 },
	{ "read", 0 },
	{ "readlink", SANDBOX_SYS_SAN }, /* ASan: /proc/self/exe */
	{ "readv", 0 },
	{ "recvfrom", 0 }, /* DNS answers, libcurl */
	{ "recvmsg", 0 }, /* libcurl, netlink (getaddrinfo AI_ADDRCONFIG) */
	{ "rseq", 0 },
	{ "rt_sigaction", 0 },
	{ "rt_sigprocmask", 0 },
	{ "rt_sigreturn", 0 },
	{ "sched_getaffinity", SANDBOX_SYS_SAN }, /* ASan: pthread_getattr_np() in a thread that starts after the filter */
	{ "sched_yield", SANDBOX_SYS_START | SANDBOX_SYS_SAN }, /* container runtime (Go); LeakSanitizer */
	{ "seccomp", SANDBOX_SYS_START }, /* loading this filter */
	{ "sendmmsg", 0 }, /* glibc's resolver sends A and AAAA together */
	{ "sendmsg", 0 }, /* libcurl, netlink */
	{ "sendto", 0 }, /* DNS queries, libcurl */
	{ "set_robust_list", 0 },
	{ "set_tid_address", SANDBOX_SYS_START },
	{ "setgid", SANDBOX_SYS_START }, /* sandbox_drop() checks */
	{ "setgroups", SANDBOX_SYS_START }, /* sandbox_drop() */
	{ "setresgid", SANDBOX_SYS_START }, /* sandbox_drop() */
	{ "setresuid", SANDBOX_SYS_START }, /* sandbox_drop() */
	{ "setsockopt", 0 },
	{ "setuid", SANDBOX_SYS_START }, /* sandbox_drop() checks it cannot get root back */
	{ "shutdown", 0 },
	{ "sigaltstack", SANDBOX_SYS_START | SANDBOX_SYS_SAN }, /* container runtime (Go); ASan threads */
	{ "socket", SANDBOX_SYS_FAMILY },
	{ "socketpair", 0 }, /* libcurl's wakeup pair */
	{ "splice", 0 },
	{ "sysinfo", 0 }, /* glibc's qsort() asks for physical memory (admission keys, reloaded on SIGHUP) */
	{ "tgkill", 0 }, /* abort() on an impossible state, for a core dump */
	{ "unlink", 0 },
	{ "wait4", SANDBOX_SYS_SAN }, /* LeakSanitizer waits for its tracer */
	{ "write", 0 },
	{ "writev", 0 },
	/* END SYSCALLS */
};
/* clang-format on */

#define SANDBOX_NTABLE (sizeof(sandbox_table) / sizeof(sandbox_table[0]))

const struct sandbox_syscall *
sandbox_syscalls(size_t *n)
{
	*n = SANDBOX_NTABLE;
	return sandbox_table;
}

/* Parse a decimal id with no sign or junk; -1 when s is not one. */
static int
sandbox_id_parse(const char *s, unsigned long *id)
{
	unsigned long v = 0;

	*id = 0;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*id = v;
	return 0;
}

/* Resolve user to a uid and its primary gid. */
static int
sandbox_user(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd pw, *res = NULL;
	unsigned long id;
	char *buf;
	int rc;

	if ((buf = malloc(SANDBOX_PWBUF)) == NULL) {
		snprintf(err, errlen, "sandbox.user: out of memory");
		return -1;
	}
	if (sandbox_id_parse(user, &id) == 0)
		rc = getpwuid_r((uid_t)id, &pw, buf, SANDBOX_PWBUF, &res);
	else
		rc = getpwnam_r(user, &pw, buf, SANDBOX_PWBUF, &res);
	if (res != NULL) {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
	} else if (sandbox_id_parse(user, &id) == 0) {
		/* A numeric uid with no passwd entry: a container's 65532. */
		*uid = (uid_t)id;
		*gid = (gid_t)id;
	} else {
		snprintf(err, errlen, "sandbox.user: no such user: %.*s",
		    SANDBOX_NAME_MAX, user);
		if (rc != 0)
			snprintf(err, errlen, "sandbox.user: %.*s: %s",
			    SANDBOX_NAME_MAX, user, strerror(rc));
		free(buf);
		return -1;
	}
	free(buf);
	return 0;
}

static int
sandbox_group(const char *group, gid_t *gid, char *err, size_t errlen)
{
	struct group gr, *res = NULL;
	unsigned long id;
	char *buf;
	int rc;

	if (sandbox_id_parse(group, &id) == 0) {
		*gid = (gid_t)id;
		return 0;
	}
	if ((buf = malloc(SANDBOX_PWBUF)) == NULL) {
		snprintf(err, errlen, "sandbox.group: out of memory");
		return -1;
	}
	rc = getgrnam_r(group, &gr, buf, SANDBOX_PWBUF, &res);
	if (res == NULL) {
		snprintf(err, errlen, "sandbox.group: %.*s: %s",
		    SANDBOX_NAME_MAX, group,
		    rc != 0 ? strerror(rc) : "no such group");
		free(buf);
		return -1;
	}
	*gid = gr.gr_gid;
	free(buf);
	return 0;
}

int
sandbox_drop(const char *user, const char *group, char *err, size_t errlen)
{
	uid_t uid, ruid, euid, suid;
	gid_t gid, rgid, egid, sgid;

	if (sandbox_user(user, &uid, &gid, err, errlen) == -1)
		return -1;
	if (group != NULL && sandbox_group(group, &gid, err, errlen) == -1)
		return -1;
	if (uid == 0) {
		snprintf(err, errlen,
		    "sandbox.user: %.*s is root; name an unprivileged user",
		    SANDBOX_NAME_MAX, user);
		return -1;
	}
	if (geteuid() == uid && getuid() == uid && getegid() == gid &&
	    getgid() == gid)
		return 0; /* already that user (systemd User=, k8s runAsUser) */
	if (geteuid() != 0) {
		snprintf(err, errlen,
		    "sandbox.user: switching to uid %lu needs root; "
		    "started as uid %lu",
		    (unsigned long)uid, (unsigned long)geteuid());
		return -1;
	}
	/* glibc applies these to every thread of the process. */
	if (setgroups(0, NULL) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "sandbox: cannot switch to %lu:%lu: %s",
		    (unsigned long)uid, (unsigned long)gid, strerror(errno));
		return -1;
	}
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1 || ruid != uid ||
	    euid != uid || suid != uid || rgid != gid || egid != gid ||
	    sgid != gid || setuid(0) != -1 || seteuid(0) != -1 ||
	    (gid != 0 && setgid(0) != -1)) {
		snprintf(err, errlen,
		    "sandbox: privileges could be regained after the switch "
		    "to %lu:%lu",
		    (unsigned long)uid, (unsigned long)gid);
		return -1;
	}
	return 0;
}

/*
 * Add the table's rows for this build to ctx. Sanitizer builds let
 * clone() through whole: LeakSanitizer starts its tracer without
 * CLONE_THREAD.
 */
static int
sandbox_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const struct sandbox_syscall *row;
	size_t i;
	int nr, rc;

	for (row = sandbox_table; row < sandbox_table + SANDBOX_NTABLE; row++) {
		if ((row->flags & SANDBOX_SYS_SAN) && !SANDBOX_SANITIZER)
			continue;
		if ((row->flags & SANDBOX_SYS_START) &&
		    !(row->flags & SANDBOX_SYS_SAN))
			continue;
		nr = seccomp_syscall_resolve_name(row->name);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a call on this architecture */
		if (row->flags & SANDBOX_SYS_ENOSYS) {
			rc = seccomp_rule_add(
			    ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		} else if ((row->flags & SANDBOX_SYS_THREAD) &&
		    !SANDBOX_SANITIZER) {
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
			    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
				CLONE_THREAD));
		} else if (row->flags & SANDBOX_SYS_FAMILY) {
			rc = 0;
			for (i = 0; rc == 0 &&
			     i < sizeof(sandbox_families) /
				     sizeof(sandbox_families[0]);
			     i++)
				rc =
				    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_EQ,
					    (scmp_datum_t)sandbox_families[i]));
		} else {
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		}
		if (rc < 0) {
			snprintf(err, errlen,
			    "sandbox: seccomp rule for %s: %s", row->name,
			    strerror(-rc));
			return -1;
		}
	}
	return 0;
}

int
sandbox_seccomp(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = NULL;
	int rc = -1, r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(
		    err, errlen, "sandbox: no_new_privs: %s", strerror(errno));
		goto out;
	}
	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		snprintf(err, errlen, "sandbox: seccomp_init failed");
		goto out;
	}
	/* Every thread (hasher pool, ledger writer) gets the filter. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		snprintf(
		    err, errlen, "sandbox: seccomp TSYNC: %s", strerror(-r));
		goto out;
	}
	/*
	 * The kernel logs every refused call (audit, dmesg: type=1326 ...
	 * syscall=N) where it can (Linux 4.14+); a kernel without it still
	 * refuses.
	 */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (sandbox_rules(ctx, err, errlen) == -1)
		goto out;
	if ((r = seccomp_load(ctx)) < 0) {
		snprintf(
		    err, errlen, "sandbox: seccomp_load: %s", strerror(-r));
		goto out;
	}
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}

int
sandbox_serve(struct server *srv)
{
	const struct config_sandbox *sb = &srv->cfg->sandbox;
	char err[CONFIG_ERR_MAX];

	err[0] = '\0';
	if (sb->user != NULL) {
		if (sandbox_drop(sb->user, sb->group, err, sizeof(err)) == -1)
			goto bad;
	} else if (sb->group != NULL) {
		snprintf(err, sizeof(err), "sandbox.group needs sandbox.user");
		goto bad;
	}
	if (sb->seccomp) {
		if (sandbox_seccomp(err, sizeof(err)) == -1)
			goto bad;
	} else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, sizeof(err), "sandbox: no_new_privs: %s",
		    strerror(errno));
		goto bad;
	}
	log_msg(srv, geteuid() == 0 ? "warn" : "info", "sandboxed",
	    "\"uid\":%lu,\"gid\":%lu,\"seccomp\":%s%s",
	    (unsigned long)geteuid(), (unsigned long)getegid(),
	    sb->seccomp ? "true" : "false",
	    geteuid() == 0 ? ",\"warning\":\"running as root: set "
			     "sandbox.user\""
			   : "");
	return 0;
bad:
	fprintf(stderr, "regward: %s: %s\n", srv->cfg->path, err);
	return -1;
}
