# Unit tests of the principals (db/users.c) on a temp SQLite file with the
# real migrations. regward_db links libcrypt publicly: the tests make their
# own bcrypt hashes with crypt_rn().
if(NOT TARGET test_users)
  regward_unit(users regward_db)
endif()
