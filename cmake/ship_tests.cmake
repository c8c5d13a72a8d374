# Tests of what biostack ships, included at the end of tests/CMakeLists.txt:
#   label `package`:  install into a temporary prefix and build consumer
#                     projects against it (tests/package/);
#   label `firmware`: cross-build examples/firmware for Cortex-M3 (the nm
#                     symbol check is part of its build) and run it in QEMU.
# Plus, for -DBIOSTACK_SINGLE_HEADER=ON builds, the forwarding include
# directory described below.

# ---- single-header builds -------------------------------------------------
# With BIOSTACK_SINGLE_HEADER=ON the library target's include directory is
# single_include/, which holds only <biostack/biostack.hpp>. Test sources still
# include individual headers (<biostack/bio/bio.hpp>, ...). Rather than editing
# every test, each freestanding header gets a one-line forwarder to the single
# header in a generated directory searched *after* single_include/. So every
# non-hosted test TU is compiled against the amalgamation alone; include/ is
# not on the include path at all. Hosted headers are not in the amalgamation by
# design: their forwarders include the real file by absolute path, and that
# file's own <biostack/...> includes resolve through the forwarders again, so
# no core header is ever read from include/ (.ci/gates/40-single-header.sh
# verifies this from the compiler's dependency files).
if(BIOSTACK_SINGLE_HEADER)
  set(_fwd "${CMAKE_BINARY_DIR}/single_header_forward")
  file(GLOB_RECURSE _headers CONFIGURE_DEPENDS RELATIVE "${PROJECT_SOURCE_DIR}/include"
       "${PROJECT_SOURCE_DIR}/include/biostack/*.hpp")
  list(REMOVE_ITEM _headers "biostack/biostack.hpp")
  set(_wanted "")
  foreach(h IN LISTS _headers)
    if(h MATCHES "^biostack/hosted/")
      set(_content "#include \"${PROJECT_SOURCE_DIR}/include/${h}\"\n")
    else()
      set(_content "// Forwarder generated for BIOSTACK_SINGLE_HEADER builds.\n#include <biostack/biostack.hpp>\n")
    endif()
    # file(CONFIGURE) leaves unchanged files alone: no rebuild on reconfigure.
    file(CONFIGURE OUTPUT "${_fwd}/${h}" CONTENT "${_content}")
    list(APPEND _wanted "${_fwd}/${h}")
  endforeach()
  file(GLOB_RECURSE _present "${_fwd}/*")
  foreach(f IN LISTS _present)
    if(NOT f IN_LIST _wanted)
      file(REMOVE "${f}")
    endif()
  endforeach()
  target_include_directories(biostack INTERFACE "$<BUILD_INTERFACE:${_fwd}>")
endif()

# ---- package consumers ----------------------------------------------------
add_subdirectory("${PROJECT_SOURCE_DIR}/tests/package" "${CMAKE_CURRENT_BINARY_DIR}/package")

# ---- firmware -------------------------------------------------------------
# A POSIX shell driver (it must exit 77 to mark a skip); QEMU and the Arm
# toolchain are Unix affairs here anyway.
if(CMAKE_HOST_UNIX)
  set(_fw_driver "${PROJECT_SOURCE_DIR}/examples/firmware/ctest_driver.sh")
  set(_fw_bin "${CMAKE_CURRENT_BINARY_DIR}/firmware")
  add_test(NAME firmware_build
           COMMAND sh "${_fw_driver}" build "${PROJECT_SOURCE_DIR}/examples/firmware" "${_fw_bin}"
                   "${PROJECT_SOURCE_DIR}/cmake/arm-none-eabi.cmake" "${CMAKE_GENERATOR}")
  # The self-check with fault injection, and the production-shaped image.
  add_test(NAME firmware_qemu COMMAND sh "${_fw_driver}" run "${_fw_bin}" firmware)
  add_test(NAME firmware_qemu_production
           COMMAND sh "${_fw_driver}" run "${_fw_bin}" firmware_production)
  set(_fw_tests firmware_build firmware_qemu firmware_qemu_production)
  set_tests_properties(${_fw_tests} PROPERTIES LABELS firmware SKIP_RETURN_CODE 77 TIMEOUT 300)
  # Ordering only (not a fixture): a skipped build must skip the runs as well,
  # which the driver does by itself, rather than turn them into "Not Run".
  set_tests_properties(firmware_qemu firmware_qemu_production PROPERTIES DEPENDS firmware_build)
  # The runs read the build's tree: never run while it is being rebuilt.
  set_tests_properties(${_fw_tests} PROPERTIES RESOURCE_LOCK biostack_firmware)
endif()
# tools/size_report's attribution of text to the library, on synthetic
# symbol tables (no toolchain needed).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME firmware_size_attribution
           COMMAND "${Python3_EXECUTABLE}"
                   "${PROJECT_SOURCE_DIR}/tests/firmware/test_size_report.py" "${PROJECT_SOURCE_DIR}")
  set_tests_properties(firmware_size_attribution PROPERTIES LABELS firmware)
endif()
