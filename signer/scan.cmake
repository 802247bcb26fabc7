# Scan report reader and verdict (Trivy JSON, Trivy SARIF, Grype JSON):
# linked by regward-sign and, for scan_from_json(), by the gateway.
if(NOT TARGET regward_scan)
  add_library(regward_scan STATIC ${CMAKE_CURRENT_LIST_DIR}/scan.c)
  target_include_directories(regward_scan PUBLIC ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(regward_scan PUBLIC PkgConfig::JANSSON)
endif()
