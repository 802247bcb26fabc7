# regward-sign: the CI signer CLI.
add_executable(regward-sign ${CMAKE_CURRENT_SOURCE_DIR}/main.c)
target_link_libraries(regward-sign PRIVATE regward_sig regward_scan
  regward_registry)
install(TARGETS regward-sign RUNTIME DESTINATION bin)
