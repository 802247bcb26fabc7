# Retention rules and the purge planner (gateway/retention.c): pure
# functions over plain structs, on top of the policy globs. Linked by the
# daemon (regward check, purge) and tests/unit/test_retention.c.
if(NOT TARGET regward_policy)
  include(${CMAKE_CURRENT_LIST_DIR}/policy.cmake)
endif()
if(NOT TARGET regward_retention)
  add_library(regward_retention STATIC ${CMAKE_CURRENT_LIST_DIR}/retention.c)
  target_include_directories(regward_retention PUBLIC
    ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(regward_retention PUBLIC regward_policy
    PkgConfig::JANSSON)
endif()
