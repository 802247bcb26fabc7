/*
 * health: `regward health`, the container and systemd health check. It
 * needs no shell and no curl: one GET /healthz over a plain socket (TLS
 * through OpenSSL when the listener has it).
 */
#ifndef REGWARD_HEALTH_H
#define REGWARD_HEALTH_H

#include <stdio.h>

/*
 * argv[0] is "health". Returns the process exit status: 0 healthy, 1 not,
 * 2 usage error.
 */
int health_main(int argc, char **argv);
void health_usage(FILE *f);

#endif /* REGWARD_HEALTH_H */
