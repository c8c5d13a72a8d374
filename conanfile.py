# SPDX-License-Identifier: MIT
"""Conan 2 recipe for biostack, a header-only C++20 library.

    conan create . --build=missing       # package this checkout and run test_package/
    conan install --requires=biostack/<version> -g CMakeDeps -g CMakeToolchain

The version is read from include/biostack/version.hpp, the single source of
truth (tools/check_version keeps every other copy in step).
"""

import os
import re

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"


class BiostackConan(ConanFile):
    name = "biostack"
    package_type = "header-library"
    license = "MIT"
    description = ("Header-only C++20 block I/O: buffer cache with chained bios and a tagged "
                   "dispatcher over any block device; runs on Cortex-M without heap, exceptions "
                   "or RTTI.")
    topics = ("block-io", "buffer-cache", "embedded", "header-only", "storage")
    # Settings only to validate the C++ standard; package_id() drops them, so
    # one package serves every configuration.
    settings = "os", "arch", "compiler", "build_type"
    exports_sources = "include/*", "LICENSE"
    no_copy_source = True

    def set_version(self):
        header = os.path.join(self.recipe_folder, "include", "biostack", "version.hpp")
        match = re.search(r'^#define BIOSTACK_VERSION_STRING "(\d+\.\d+\.\d+)"',
                          load(self, header), re.MULTILINE)
        if not match:
            raise ConanInvalidConfiguration(f"{header}: no BIOSTACK_VERSION_STRING")
        self.version = match.group(1)

    def layout(self):
        basic_layout(self, src_folder=".")

    def package_id(self):
        self.info.clear()

    def validate(self):
        if self.settings.get_safe("compiler.cppstd"):
            check_min_cppstd(self, 20)

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", os.path.join(self.source_folder, "include"),
             os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        # The same names as biostack's own CMake package and pkg-config file,
        # so a consumer's build files do not care where biostack came from.
        self.cpp_info.set_property("cmake_file_name", "biostack")
        self.cpp_info.set_property("cmake_target_name", "biostack::biostack")
        self.cpp_info.set_property("pkg_config_name", "biostack")
