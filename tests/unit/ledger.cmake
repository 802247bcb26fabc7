# Unit tests of the ledger: its tables (db/ledger.c, migration 3) and the
# gateway's write queue and writer thread (gateway/ledger.c), on a temp
# SQLite file with the real migrations.
if(NOT TARGET test_ledger)
  find_package(Threads REQUIRED)
  add_executable(test_ledger ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_ledger.c
    ${CMAKE_SOURCE_DIR}/gateway/ledger.c)
  target_include_directories(test_ledger PRIVATE ${CMAKE_SOURCE_DIR}/gateway)
  target_link_libraries(test_ledger PRIVATE regward_db Threads::Threads
    PkgConfig::CMOCKA)
  target_compile_definitions(test_ledger PRIVATE
    REGWARD_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data")
  add_test(NAME unit_ledger COMMAND test_ledger)
  set_tests_properties(unit_ledger PROPERTIES LABELS unit TIMEOUT 120)
endif()
