# Unit tests of the registry client's pure parts (signer/registry*.c).
if(NOT TARGET test_registry)
  regward_unit(registry regward_registry)
endif()

# registry_probe: drives the client against a real docker-registry for
# tests/integration/t_registry_client.sh, which finds it next to the
# gateway's build directory ($(dirname REGWARD_BIN)/../tests/).
if(NOT TARGET registry_probe)
  add_executable(registry_probe ${CMAKE_CURRENT_LIST_DIR}/registry_probe.c)
  target_link_libraries(registry_probe PRIVATE regward_registry)
endif()
