# The signature library: cosign payloads, keys, ECDSA, signature manifests,
# OCI references and digests. Linked by the gateway and by regward-sign; no
# libevent, libcurl or sqlite here.
if(NOT TARGET regward_sig)
  pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
  add_library(regward_sig STATIC
    ${CMAKE_CURRENT_LIST_DIR}/sig_err.c
    ${CMAKE_CURRENT_LIST_DIR}/sig_b64.c
    ${CMAKE_CURRENT_LIST_DIR}/sig_digest.c
    ${CMAKE_CURRENT_LIST_DIR}/sig_ref.c
    ${CMAKE_CURRENT_LIST_DIR}/sig_payload.c
    ${CMAKE_CURRENT_LIST_DIR}/sig_key.c
    ${CMAKE_CURRENT_LIST_DIR}/sig_ecdsa.c
    ${CMAKE_CURRENT_LIST_DIR}/sig_mfst.c
    ${CMAKE_CURRENT_LIST_DIR}/sig_verify.c
  )
  target_include_directories(regward_sig PUBLIC ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(regward_sig PUBLIC OpenSSL::Crypto PkgConfig::JANSSON
    PkgConfig::SODIUM)
endif()
