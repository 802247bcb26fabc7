/*
 * sandbox: what `regward serve` gives up once its listener is bound and
 * its files are open. A root-started gateway drops to sandbox.user (and
 * sandbox.group), every gateway sets no_new_privs, and unless
 * "sandbox": {"seccomp": false} it installs a seccomp filter that allows
 * only the system calls in sandbox.c's table (derived by
 * deploy/seccomp/derive.sh; deploy/seccomp/regward.json is generated from
 * the same table).
 */
#ifndef REGWARD_SANDBOX_H
#define REGWARD_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

struct server;

/* Flags of a table row. */
#define SANDBOX_SYS_START 0x01 /* profile only: exec, bind, setuid... */
#define SANDBOX_SYS_SAN 0x02 /* sanitizer builds' own filter only */
#define SANDBOX_SYS_FAMILY 0x04 /* socket(): only sandbox families */
#define SANDBOX_SYS_THREAD 0x08 /* clone(): only with CLONE_THREAD */
#define SANDBOX_SYS_ENOSYS 0x10 /* refused with ENOSYS, not EPERM */

struct sandbox_syscall {
	const char *name;
	int flags;
};

/* The table, for the probe and the profile generator's test. */
const struct sandbox_syscall *sandbox_syscalls(size_t *n);

/*
 * Switch to user (a name or a numeric uid) and group (name, gid, or NULL
 * for the user's primary group): no supplementary groups, real, effective
 * and saved ids all changed, then checked that setuid(0)/setgid(0) fail.
 * Must run as root. Returns 0, or -1 with a message in err.
 */
int sandbox_drop(const char *user, const char *group, char *err, size_t errlen);

/*
 * Set no_new_privs and load the filter on every thread of the process
 * (TSYNC). A refused call fails with EPERM; the kernel logs it (audit,
 * "type=1326 ... syscall=N") where it supports that. 0, or -1 with err.
 */
int sandbox_seccomp(char *err, size_t errlen);

/*
 * `regward serve`: apply srv->cfg->sandbox after server_listen(). Logs
 * what it did. 0, or -1 after printing why to stderr (the gateway must
 * not run half sandboxed).
 */
int sandbox_serve(struct server *srv);

#endif /* REGWARD_SANDBOX_H */
