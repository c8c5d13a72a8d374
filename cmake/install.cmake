# Installation and package export for biostack (included last by the top-level
# CMakeLists.txt). Installs the headers, an exported INTERFACE target
# `biostack::biostack` with its config and version files for find_package(),
# and a pkg-config file. Header-only, so everything lands in architecture-
# independent locations and one install serves every compiler and target.
#
# On by default only when biostack is the top-level project: a parent project
# that vendors us with add_subdirectory() or FetchContent does not want our
# headers in its own install tree unless it asks for them.

include("${CMAKE_CURRENT_LIST_DIR}/install_option.cmake")
if(NOT BIOSTACK_INSTALL)
  return()
endif()

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# CMake package files live under share/, not lib/: a header-only package is the
# same for every architecture (also what ARCH_INDEPENDENT below declares).
set(BIOSTACK_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/biostack"
    CACHE STRING "Where biostackConfig.cmake is installed (relative to the prefix)")
set(BIOSTACK_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_DATADIR}/pkgconfig"
    CACHE STRING "Where biostack.pc is installed (relative to the prefix)")
mark_as_advanced(BIOSTACK_INSTALL_CMAKEDIR BIOSTACK_INSTALL_PKGCONFIGDIR)

# The full header tree, hosted/ included; the single header is a build-tree
# convenience with the same path (biostack/biostack.hpp) and is not installed
# beside it. FILES_MATCHING keeps editor debris out of the prefix.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/biostack"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT biostack_development
        FILES_MATCHING PATTERN "*.hpp")

# The target's install include directory is `include` (set where the target is
# defined, in the top-level CMakeLists.txt); the headers must go there.
if(NOT CMAKE_INSTALL_INCLUDEDIR STREQUAL "include")
  message(FATAL_ERROR "biostack: CMAKE_INSTALL_INCLUDEDIR must be 'include' (the exported "
                      "biostack::biostack target points at <prefix>/include), not "
                      "'${CMAKE_INSTALL_INCLUDEDIR}'")
endif()
install(TARGETS biostack EXPORT biostackTargets)
install(EXPORT biostackTargets
        NAMESPACE biostack::
        DESTINATION "${BIOSTACK_INSTALL_CMAKEDIR}"
        COMPONENT biostack_development)

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/biostackConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/biostackConfig.cmake"
  INSTALL_DESTINATION "${BIOSTACK_INSTALL_CMAKEDIR}")
# Before 1.0 a minor release may break the API as well; SameMajorVersion is
# still what the project promises from 1.0 on, and what vcpkg/conan assume.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/biostackConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/biostackConfig.cmake"
              "${PROJECT_BINARY_DIR}/biostackConfigVersion.cmake"
        DESTINATION "${BIOSTACK_INSTALL_CMAKEDIR}"
        COMPONENT biostack_development)

# pkg-config: the prefix is computed from the .pc file's own location, so the
# installed tree can be moved (vcpkg and conan both relocate packages).
if(IS_ABSOLUTE "${BIOSTACK_INSTALL_PKGCONFIGDIR}")
  message(FATAL_ERROR "biostack: BIOSTACK_INSTALL_PKGCONFIGDIR must be relative to the install "
                      "prefix, for a relocatable biostack.pc")
endif()
file(RELATIVE_PATH _biostack_pc_to_prefix "/prefix/${BIOSTACK_INSTALL_PKGCONFIGDIR}" "/prefix")
string(REGEX REPLACE "/$" "" _biostack_pc_to_prefix "${_biostack_pc_to_prefix}")
set(BIOSTACK_PC_PREFIX "\${pcfiledir}/${_biostack_pc_to_prefix}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/biostack.pc.in" "${PROJECT_BINARY_DIR}/biostack.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/biostack.pc"
        DESTINATION "${BIOSTACK_INSTALL_PKGCONFIGDIR}"
        COMPONENT biostack_development)
