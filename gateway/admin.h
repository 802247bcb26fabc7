/*
 * admin: the "regward user ..." and "regward robot ..." commands, which
 * manage the principals stored in the database named by the config.
 */
#ifndef REGWARD_ADMIN_H
#define REGWARD_ADMIN_H

#include <stdio.h>

/*
 * Run "user ..." or "robot ..." with argv[0] "user" or "robot" and the
 * rest of the command line after it. Returns the process exit status:
 * 0 done, 1 failed (database, file, unknown name, ...), 2 usage error
 * (unknown or missing argument, invalid name or role). Every error is one
 * line on stderr naming the argument or file at fault.
 */
int admin_main(int argc, char **argv);

/* Print the usage lines of the admin commands to f. */
void admin_usage(FILE *f);

#endif /* REGWARD_ADMIN_H */
