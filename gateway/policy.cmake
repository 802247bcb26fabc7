# The authorization policy engine: the "policies" loader and pure decision
# functions (gateway/policy.c, repository and tag globs in policy_glob.c).
# jansson only: no sockets, libevent or sqlite, so unit tests, fuzzers and
# admin commands (regward check, explain) link it directly.
if(NOT TARGET regward_policy)
  add_library(regward_policy STATIC
    ${CMAKE_CURRENT_LIST_DIR}/policy.c
    ${CMAKE_CURRENT_LIST_DIR}/policy_glob.c
  )
  target_include_directories(regward_policy PUBLIC ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(regward_policy PUBLIC PkgConfig::JANSSON)
endif()
