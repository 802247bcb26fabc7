# Unit tests of the retention rules and the purge planner
# (gateway/retention.c), and of the registry client's Link parsing used by
# sync and purge (signer/registry_list.c).
if(NOT TARGET regward_retention)
  include(${CMAKE_SOURCE_DIR}/gateway/retention.cmake)
endif()
if(NOT TARGET regward_registry)
  include(${CMAKE_SOURCE_DIR}/signer/registry.cmake)
endif()
if(NOT TARGET test_retention)
  regward_unit(retention regward_retention regward_registry)
endif()
