# Unit tests of the token library (gateway/jwt.c, jwks.c, oidc.c, token.c).
if(TARGET regward_auth AND NOT TARGET test_token)
  regward_unit(token regward_auth)
endif()
