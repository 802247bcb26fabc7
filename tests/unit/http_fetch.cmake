# Unit tests of the plain GET helper's pure parts (signer/http_fetch.c):
# Cache-Control max-age, the URL rule, argument checks.
if(TARGET regward_registry AND NOT TARGET test_http_fetch)
  regward_unit(http_fetch regward_registry)
endif()
