# Unit tests of the password-check pool (gateway/hasher.c): worker threads,
# delivery on the loop thread, cancellation; a fake verifier for most cases
# and one real yescrypt check on a temp database.
if(NOT TARGET test_hasher)
  find_package(Threads REQUIRED)
  add_executable(test_hasher ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_hasher.c
    ${CMAKE_SOURCE_DIR}/gateway/hasher.c)
  target_include_directories(test_hasher PRIVATE ${CMAKE_SOURCE_DIR}/gateway)
  target_link_libraries(test_hasher PRIVATE regward_db PkgConfig::EVENT
    OpenSSL::Crypto PkgConfig::CMOCKA Threads::Threads)
  target_compile_definitions(test_hasher PRIVATE
    REGWARD_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/data")
  add_test(NAME unit_hasher COMMAND test_hasher)
  set_tests_properties(unit_hasher PROPERTIES LABELS unit TIMEOUT 120)
endif()
