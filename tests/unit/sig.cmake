# Unit tests of the signature library (signer/sig_*.c).
if(TARGET regward_sig AND NOT TARGET test_sig)
  regward_unit(sig regward_sig)
  # The shared cosign vectors are read in place from ../shared when that
  # checkout is next to the project; the tests skip them otherwise.
  target_compile_definitions(test_sig PRIVATE
    REGWARD_SHARED="${CMAKE_SOURCE_DIR}/../shared")
endif()
