# Unit tests of the scan report reader: the project's own reports in
# tests/data/scan, and the upstream fixtures in ../shared when present.
regward_unit(scan regward_scan)
target_compile_definitions(test_scan PRIVATE
  REGWARD_SHARED="${CMAKE_SOURCE_DIR}/../shared")
