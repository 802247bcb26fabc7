# The libcurl registry client (regward-sign, purge). libcurl is linked
# here and nowhere else.
if(NOT TARGET PkgConfig::CURL)
  pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
endif()
if(NOT TARGET regward_registry)
  add_library(regward_registry STATIC
    ${CMAKE_CURRENT_LIST_DIR}/registry.c
    ${CMAKE_CURRENT_LIST_DIR}/registry_auth.c
    ${CMAKE_CURRENT_LIST_DIR}/registry_cred.c
    ${CMAKE_CURRENT_LIST_DIR}/registry_url.c
    ${CMAKE_CURRENT_LIST_DIR}/http_fetch.c
    ${CMAKE_CURRENT_LIST_DIR}/registry_list.c
  )
  target_include_directories(regward_registry PUBLIC
    ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(regward_registry PRIVATE PkgConfig::CURL
    PkgConfig::JANSSON OpenSSL::Crypto)
endif()
