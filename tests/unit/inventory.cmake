# Unit tests of the inventory (db/inventory.c) and of what a push records
# there (db_ledger_push_insert), on a temp SQLite file with the real
# migrations.
if(NOT TARGET test_inventory)
  add_executable(test_inventory ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_inventory.c)
  target_link_libraries(test_inventory PRIVATE regward_db PkgConfig::CMOCKA)
  add_test(NAME unit_inventory COMMAND test_inventory)
  set_tests_properties(unit_inventory PROPERTIES LABELS unit)
endif()
