# vcpkg overlay port for biostack, kept in the biostack repository itself:
#
#   vcpkg install biostack --overlay-ports=<biostack>/ports
#
# It builds the checkout it lives in (two directories up), so the port and the
# sources never disagree and no download or hash is involved. A registry port
# would fetch a release instead:
#   vcpkg_from_github(OUT_SOURCE_PATH SOURCE_PATH REPO <owner>/biostack
#                     REF "v${VERSION}" SHA512 <hash of the tarball>)

# Header-only: one configuration is enough, and nothing lands in lib/.
set(VCPKG_BUILD_TYPE release)

get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    -DBIOSTACK_BUILD_TESTS=OFF
    -DBIOSTACK_BUILD_EXAMPLES=OFF
    -DBIOSTACK_INSTALL=ON
)
vcpkg_cmake_install()

# biostack installs its CMake package to share/cmake/biostack (architecture
# independent); vcpkg wants it in share/biostack.
vcpkg_cmake_config_fixup(PACKAGE_NAME biostack CONFIG_PATH share/cmake/biostack)
# biostack.pc is installed to share/pkgconfig; make its prefix vcpkg's.
vcpkg_fixup_pkgconfig()

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
