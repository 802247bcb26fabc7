# The token library: JWS/JWT (RS256, ES256), JWK Sets, OIDC providers and
# claim rules, regward's own registry tokens and their signing key. Pure
# functions over bytes and keys: no libevent, libcurl or sqlite here.
# Included from gateway/CMakeLists.txt.
if(NOT TARGET regward_auth)
  add_library(regward_auth STATIC
    ${CMAKE_CURRENT_LIST_DIR}/jwt.c
    ${CMAKE_CURRENT_LIST_DIR}/jwks.c
    ${CMAKE_CURRENT_LIST_DIR}/oidc.c
    ${CMAKE_CURRENT_LIST_DIR}/token.c
  )
  target_include_directories(regward_auth PUBLIC ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(regward_auth PUBLIC OpenSSL::Crypto
    PkgConfig::JANSSON)
endif()
