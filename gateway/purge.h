/*
 * purge: the ledger-side admin commands. `regward sync` imports what the
 * upstream holds (gateway/sync.c), `regward purge` applies the retention
 * rules (gateway/purge.c, planner in retention.c), `regward audit`
 * exports the audit trail (gateway/purge.c).
 */
#ifndef REGWARD_PURGE_H
#define REGWARD_PURGE_H

#include <stdio.h>

#include "regward/config.h"
#include "regward/db.h"
#include "regward/registry.h"

/* What sync_repo() found. */
struct sync_stats {
	size_t tags; /* tags listed */
	size_t tags_changed; /* tags new to the ledger or moved */
	size_t tags_dropped; /* ledger tags the upstream no longer has */
	size_t manifests; /* manifests seen (tagged, children, subjects) */
	size_t manifests_new; /* of which new to the ledger */
	size_t manifests_gone; /* ledger manifests the upstream lacks */
};

/*
 * A registry client for cfg's upstream (upstream.url, upstream.ca).
 * Returns NULL with err set. Free with registry_free().
 */
struct registry *sync_registry_new(
    const struct config *cfg, char *err, size_t errlen);

/*
 * Bring the ledger's view of repo in line with the upstream at time at:
 * list its tags, HEAD each, record manifests and tags (source "sync" for
 * what the ledger did not know), fetch indexes whose children are not
 * recorded, record the subjects of signature tags that exist, drop tags
 * that are gone and mark deleted the manifests the upstream no longer
 * has. Network first, then one short transaction. Returns 0 or -1.
 */
int sync_repo(struct registry *reg, struct db *db, const char *repo,
    long long at, struct sync_stats *st, char *err, size_t errlen);

/*
 * Every repository in the upstream's catalog, in the catalog's order.
 * Returns 0 with *names (NULL-terminated, free with sync_names_free()) or
 * -1 with err set.
 */
int sync_catalog(
    struct registry *reg, char ***names, size_t *n, char *err, size_t errlen);
void sync_names_free(char **names);

/*
 * Page size for catalog and tags listings: REGWARD_LIST_PAGE (test-only,
 * to exercise Link paging with a few names), else 0 (the client's).
 */
size_t sync_list_page(void);

/* The commands: argv after the command word. Exit status 0, 1 or 2. */
int sync_main(int argc, char **argv);
int purge_main(int argc, char **argv);
int audit_main(int argc, char **argv);

/* Usage lines for main_usage(). */
void purge_usage(FILE *f);

#endif /* REGWARD_PURGE_H */
