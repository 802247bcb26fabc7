/*
 * regward: the gateway daemon and its admin commands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "regward/config.h"
#include "regward/db.h"

#include "regward/retention.h"

#include "admin.h"
#include "admit.h"
#include "explain.h"
#include "auth.h"
#include "gateway.h"
#include "purge.h"
#include "health.h"
#include "sandbox.h"

static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: regward serve -c FILE   run the gateway in the foreground\n"
	    "       regward check -c FILE   validate a config and its files\n"
	    "       regward explain -c FILE [--as PRINCIPAL] IMAGE\n"
	    "                               why a pull would be served or "
	    "refused\n"
	    "       regward version\n");
	admin_usage(f);
	purge_usage(f);
	health_usage(f);
}

/* The retention rules load (they are used by purge, checked here). */
static int
main_retention_check(const struct config *cfg)
{
	struct retention_set *rs = NULL;
	char err[CONFIG_ERR_MAX];

	if (retention_load(cfg->path, cfg->retention, &rs, err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "regward: %s\n", err);
		return -1;
	}
	retention_set_free(rs);
	return 0;
}

/* Parse "-c FILE" / "--config FILE" / "--config=FILE". */
static const char *
main_config_arg(int argc, char **argv)
{
	const char *path = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 ||
			strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			path = argv[i] + 9;
		} else {
			fprintf(
			    stderr, "regward: unknown argument: %s\n", argv[i]);
			return NULL;
		}
	}
	if (path == NULL)
		fprintf(stderr, "regward: missing -c FILE\n");
	return path;
}

static struct config *
main_load(int argc, char **argv)
{
	const char *path;
	struct config *cfg = NULL;
	char err[CONFIG_ERR_MAX];

	if ((path = main_config_arg(argc, argv)) == NULL)
		return NULL;
	if (config_load(path, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward: %s\n", err);
		return NULL;
	}
	return cfg;
}

/* Open (and migrate) the database once, to fail early and clearly. */
static int
main_db_check(const struct config *cfg)
{
	char err[512];
	struct db *db;

	if ((db = db_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "regward: %s: database: %s\n", cfg->path, err);
		return -1;
	}
	db_close(db);
	return 0;
}

static int
main_check(int argc, char **argv)
{
	struct config *cfg;
	SSL_CTX *ctx;
	char err[CONFIG_ERR_MAX];
	int rc = 1;

	if ((cfg = main_load(argc, argv)) == NULL)
		return 1;
	if (cfg->tls.cert != NULL) {
		if ((ctx = server_tls_ctx_new(cfg->tls.cert, cfg->tls.key, err,
			 sizeof(err))) == NULL) {
			fprintf(
			    stderr, "regward: %s: tls: %s\n", cfg->path, err);
			goto out;
		}
		SSL_CTX_free(ctx);
	}
	if (main_db_check(cfg) == -1 || main_retention_check(cfg) == -1)
		goto out;
	if (cfg->auth != NULL || cfg->policies != NULL) {
		struct auth *a;

		struct admit_conf *ac = NULL;

		if ((a = auth_new(cfg, NULL, NULL, err, sizeof(err))) == NULL) {
			fprintf(stderr, "regward: %s\n", err);
			goto out;
		}
		if ((admit_needed(auth_policies(a)) || cfg->keys != NULL ||
			cfg->admission != NULL) &&
		    admit_conf_load(
			cfg, auth_policies(a), &ac, err, sizeof(err)) == -1) {
			fprintf(stderr, "regward: %s\n", err);
			auth_free(a);
			goto out;
		}
		admit_conf_free(ac);
		auth_free(a);
	}
	printf("%s: ok\n", cfg->path);
	rc = 0;
out:
	config_free(cfg);
	return rc;
}

static int
main_serve(int argc, char **argv)
{
	struct config *cfg;
	struct server *srv;
	int rc = 1;

	if ((cfg = main_load(argc, argv)) == NULL)
		return 1;
	if (main_retention_check(cfg) == -1) {
		config_free(cfg);
		return 1;
	}
	/* server_new() opens and migrates the database, naming it on error */
	if ((srv = server_new(cfg)) == NULL) {
		config_free(cfg);
		return 1;
	}
	/* the sandbox goes up once the listener is bound (gateway/sandbox.c) */
	if (server_listen(srv) == 0 && sandbox_serve(srv) == 0 &&
	    server_run(srv) == 0)
		rc = 0;
	server_free(srv); /* frees cfg */
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "serve") == 0)
		return main_serve(argc - 2, argv + 2);
	if (strcmp(argv[1], "check") == 0)
		return main_check(argc - 2, argv + 2);
	if (strcmp(argv[1], "user") == 0 || strcmp(argv[1], "robot") == 0)
		return admin_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "explain") == 0)
		return explain_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "sync") == 0)
		return sync_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "purge") == 0)
		return purge_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "audit") == 0)
		return audit_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "health") == 0)
		return health_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 ||
	    strcmp(argv[1], "--version") == 0) {
		printf("regward %s (libevent %s, %s)\n", REGWARD_VERSION,
		    event_get_version(), OpenSSL_version(OPENSSL_VERSION));
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		main_usage(stdout);
		return 0;
	}
	fprintf(stderr, "regward: unknown command: %s\n", argv[1]);
	main_usage(stderr);
	return 2;
}
