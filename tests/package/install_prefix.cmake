# Installs the build tree BUILD_DIR into a fresh PREFIX (stale files from an
# earlier run would hide a header that is no longer installed), then checks
# the layout the vcpkg port and the conan recipe rely on.
#   cmake -DBUILD_DIR=... -DPREFIX=... -P install_prefix.cmake
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
foreach(f include/biostack/biostack.hpp include/biostack/version.hpp
          include/biostack/bio/bio.hpp
          share/cmake/biostack/biostackConfig.cmake
          share/cmake/biostack/biostackConfigVersion.cmake
          share/cmake/biostack/biostackTargets.cmake
          share/pkgconfig/biostack.pc)
  if(NOT EXISTS "${PREFIX}/${f}")
    message(FATAL_ERROR "install layout: ${f} is missing from ${PREFIX}")
  endif()
endforeach()
file(GLOB_RECURSE _libs "${PREFIX}/lib/*")
if(_libs)
  message(FATAL_ERROR "a header-only install must not put anything under lib/: ${_libs}")
endif()
message(STATUS "installed into ${PREFIX}")
