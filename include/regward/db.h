/*
 * db: the only module that talks to SQLite. Opens the ledger database,
 * applies the numbered schema migrations in order, one transaction each,
 * and sets WAL mode so that the gateway and admin commands can run at once.
 */
#ifndef REGWARD_DB_H
#define REGWARD_DB_H

#include <stddef.h>

struct db;

/*
 * Open (creating if needed) the database at path and migrate it to the
 * newest schema. Returns a handle (free with db_close()) or NULL with a
 * one-line message naming the file in err.
 */
struct db *db_open(const char *path, char *err, size_t errlen);

/* Schema version the database is at (the number of the last migration). */
int db_schema_version(struct db *db);

/* Close the handle. db_close(NULL) is a no-op. */
void db_close(struct db *db);

#endif /* REGWARD_DB_H */
