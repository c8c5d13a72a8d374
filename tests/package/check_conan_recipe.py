#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Validates conanfile.py and test_package/ without conan (not installable here).

    check_conan_recipe.py <biostack source dir>

A minimal stand-in for the `conan` package (only what the recipes import) is
put on sys.path; the recipe is imported, `set_version()` must read the version
from version.hpp, `package()` must copy the headers where `package_info()`
says they are, and the CMake/pkg-config names must match biostack's own.
"""

import importlib.util
import os
import re
import sys
import tempfile

STUB = {
    "conan/__init__.py": """
class ConanFile:
    def __init__(self):
        self.info = None
""",
    "conan/errors.py": "class ConanInvalidConfiguration(Exception):\n    pass\n",
    "conan/tools/__init__.py": "",
    "conan/tools/build.py": """
def check_min_cppstd(conanfile, cppstd):
    conanfile.checked_cppstd = cppstd
def can_run(conanfile):
    return True
""",
    "conan/tools/files.py": """
import fnmatch, os, shutil
COPIES = []
def load(conanfile, path):
    with open(path, encoding="utf-8") as f:
        return f.read()
def copy(conanfile, pattern, src, dst):
    COPIES.append((pattern, src, dst))
    copied = []
    for dirpath, _, files in os.walk(src):
        for fn in files:
            rel = os.path.relpath(os.path.join(dirpath, fn), src)
            if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(fn, pattern):
                os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
                shutil.copy2(os.path.join(dirpath, fn), os.path.join(dst, rel))
                copied.append(rel)
    return copied
""",
    "conan/tools/layout.py": "def basic_layout(conanfile, src_folder='.'):\n    conanfile.laid_out = src_folder\n",
    "conan/tools/cmake.py": """
class CMake:
    def __init__(self, conanfile): pass
    def configure(self): pass
    def build(self): pass
def cmake_layout(conanfile): pass
""",
}


class CppInfo:
    def __init__(self):
        self.props = {}
        self.bindirs = ["bin"]
        self.libdirs = ["lib"]

    def set_property(self, k, v):
        self.props[k] = v


class Settings:
    def __init__(self, values):
        self.values = values

    def get_safe(self, key):
        return self.values.get(key)


class Info:
    cleared = False

    def clear(self):
        self.cleared = True


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    root = os.path.abspath(sys.argv[1])
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in STUB.items():
            os.makedirs(os.path.join(tmp, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(tmp, rel), "w", encoding="utf-8") as f:
                f.write(text)
        sys.path.insert(0, os.path.join(tmp))
        recipe_mod = load_module(os.path.join(root, "conanfile.py"), "biostack_conanfile")
        test_mod = load_module(os.path.join(root, "test_package", "conanfile.py"), "biostack_test_pkg")
        from conan.tools import files as stub_files

        classes = [v for v in vars(recipe_mod).values()
                   if isinstance(v, type) and v.__module__ == recipe_mod.__name__]
        if len(classes) != 1:
            print(f"conan recipe: expected one ConanFile class, found {len(classes)}")
            return 1
        r = classes[0]()
        r.recipe_folder = root
        r.set_version()
        with open(os.path.join(root, "include", "biostack", "version.hpp"), encoding="utf-8") as f:
            want = re.search(r'BIOSTACK_VERSION_STRING "([^"]+)"', f.read()).group(1)
        if r.version != want:
            errors.append(f"set_version() gave {r.version}, version.hpp says {want}")
        if r.name != "biostack" or r.package_type != "header-library":
            errors.append("name must be biostack and package_type header-library")
        if "include/*" not in r.exports_sources:
            errors.append("exports_sources must export include/*")
        r.info = Info()
        r.package_id()
        if not r.info.cleared:
            errors.append("package_id() must clear the settings: one package for every configuration")
        r.settings = Settings({"compiler.cppstd": "17"})
        r.validate()
        if getattr(r, "checked_cppstd", None) != 20:
            errors.append("validate() must require C++20")

        r.source_folder = root
        r.package_folder = os.path.join(tmp, "package")
        if os.path.isfile(os.path.join(root, "LICENSE")) is False:
            errors.append("LICENSE is missing at the repository root: package() copies it")
        r.package()
        for probe in ("biostack/biostack.hpp", "biostack/version.hpp", "biostack/bio/bio.hpp"):
            if not os.path.isfile(os.path.join(r.package_folder, "include", probe)):
                errors.append(f"package() did not put include/{probe} into the package")
        r.cpp_info = CppInfo()
        r.package_info()
        expect = {"cmake_file_name": "biostack", "cmake_target_name": "biostack::biostack",
                  "pkg_config_name": "biostack"}
        for k, v in expect.items():
            if r.cpp_info.props.get(k) != v:
                errors.append(f"package_info() {k} is {r.cpp_info.props.get(k)!r}, want {v!r}")
        if r.cpp_info.libdirs or r.cpp_info.bindirs:
            errors.append("a header-only package has no libdirs/bindirs")

        tests = [v for v in vars(test_mod).values()
                 if isinstance(v, type) and v.__module__ == test_mod.__name__]
        if len(tests) != 1 or getattr(tests[0], "test_type", None) != "explicit":
            errors.append("test_package/conanfile.py must define one explicit test recipe")
        for f in ("CMakeLists.txt", "test_package.cpp"):
            if not os.path.isfile(os.path.join(root, "test_package", f)):
                errors.append(f"test_package/{f} is missing")
        with open(os.path.join(root, "test_package", "CMakeLists.txt"), encoding="utf-8") as f:
            if "biostack::biostack" not in f.read():
                errors.append("test_package must link biostack::biostack")
        del stub_files
    for e in errors:
        print(f"conan recipe: {e}")
    if not errors:
        print(f"conan recipe: biostack/{r.version} header-library recipe and test_package consistent")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
