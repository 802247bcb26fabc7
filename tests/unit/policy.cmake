# Unit tests of the policy engine (gateway/policy.c, policy_glob.c), driven
# by the files in tests/data/policy. The library's fragment is included here
# too, so this works before and after gateway/CMakeLists.txt includes it.
if(NOT TARGET regward_policy)
  include(${CMAKE_SOURCE_DIR}/gateway/policy.cmake)
endif()
if(NOT TARGET test_policy)
  regward_unit(policy regward_policy)
endif()
