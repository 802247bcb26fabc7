# sandbox_probe: installs gateway/sandbox.c's seccomp filter and checks
# that calls outside its table are refused and calls in it are not, for
# tests/integration/t_sandbox.sh (found at $(dirname REGWARD_BIN)/../tests/).
if(NOT TARGET sandbox_probe)
  find_package(Threads REQUIRED)
  pkg_check_modules(SECCOMP REQUIRED IMPORTED_TARGET libseccomp)
  add_executable(sandbox_probe
    ${CMAKE_CURRENT_SOURCE_DIR}/integration/sandbox_probe.c
    ${CMAKE_SOURCE_DIR}/gateway/sandbox.c
    ${CMAKE_SOURCE_DIR}/gateway/log.c)
  target_include_directories(sandbox_probe PRIVATE ${CMAKE_SOURCE_DIR}/gateway
    ${HTTP_PARSER_INC})
  target_link_libraries(sandbox_probe PRIVATE regward_core
    PkgConfig::SECCOMP OpenSSL::SSL Threads::Threads)
endif()
