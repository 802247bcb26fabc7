# Unit tests of admission's configuration (gateway/admit_verify.c) and its
# tables (db/admission.c), with key files under tests/data/admit.
if(TARGET regward_registry AND NOT TARGET test_admit)
  add_executable(test_admit ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_admit.c
    ${CMAKE_SOURCE_DIR}/gateway/admit_verify.c)
  target_include_directories(test_admit PRIVATE ${CMAKE_SOURCE_DIR}/gateway)
  target_link_libraries(test_admit PRIVATE regward_core regward_db
    regward_policy regward_sig regward_scan regward_registry
    PkgConfig::CMOCKA)
  target_compile_definitions(test_admit PRIVATE
    REGWARD_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data")
  add_test(NAME unit_admit COMMAND test_admit)
  set_tests_properties(unit_admit PROPERTIES LABELS unit)
endif()
