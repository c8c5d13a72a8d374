#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Validates ports/biostack/ without vcpkg (which is not installable here).

    check_vcpkg_port.py <biostack source dir>

Checks that vcpkg.json is well-formed and agrees with the sources, and that
every path and option the portfile hands to CMake matches what
cmake/install.cmake installs. If BIOSTACK_INSTALLED_PREFIX names an install
tree (the package_install test makes one), the paths are checked in it too.
"""

import json
import os
import re
import shlex
import sys

errors = []


def fail(msg):
    errors.append(msg)


def cmake_calls(text):
    """(command, [arguments]) for each top-level call in a CMake script."""
    text = re.sub(r"#[^\n]*", "", text)
    calls = []
    for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        calls.append((m.group(1).lower(), shlex.split(text[m.end():i - 1])))
    return calls


def keyword_value(args, key):
    return args[args.index(key) + 1] if key in args and args.index(key) + 1 < len(args) else None


def main():
    root = os.path.abspath(sys.argv[1])
    port = os.path.join(root, "ports", "biostack")
    with open(os.path.join(root, "include", "biostack", "version.hpp"), encoding="utf-8") as f:
        version = re.search(r'BIOSTACK_VERSION_STRING "([^"]+)"', f.read()).group(1)

    # ---- vcpkg.json --------------------------------------------------------
    try:
        with open(os.path.join(port, "vcpkg.json"), encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"vcpkg port: vcpkg.json: {e}")
        return 1
    if manifest.get("name") != "biostack":
        fail(f"vcpkg.json name is {manifest.get('name')!r}, not 'biostack'")
    versions = [k for k in ("version", "version-semver", "version-string", "version-date")
                if k in manifest]
    if versions != ["version"]:
        fail(f"vcpkg.json must carry exactly one 'version' field, has {versions}")
    elif manifest["version"] != version:
        fail(f"vcpkg.json version {manifest['version']} != version.hpp {version}")
    if manifest.get("license") != "MIT":
        fail("vcpkg.json license should be the SPDX id MIT")
    host_deps = {d["name"] for d in manifest.get("dependencies", [])
                 if isinstance(d, dict) and d.get("host")}

    # ---- portfile.cmake ----------------------------------------------------
    with open(os.path.join(port, "portfile.cmake"), encoding="utf-8") as f:
        calls = cmake_calls(f.read())
    names = [c for c, _ in calls]
    for helper, dep in (("vcpkg_cmake_configure", "vcpkg-cmake"),
                        ("vcpkg_cmake_config_fixup", "vcpkg-cmake-config")):
        if helper in names and dep not in host_deps:
            fail(f"portfile uses {helper} but vcpkg.json lacks the host dependency {dep}")
    for required in ("vcpkg_cmake_configure", "vcpkg_cmake_install", "vcpkg_cmake_config_fixup",
                     "vcpkg_install_copyright"):
        if required not in names:
            fail(f"portfile does not call {required}")

    with open(os.path.join(root, "cmake", "install.cmake"), encoding="utf-8") as f:
        install_cmake = f.read()
    cmake_text = ""
    for rel in ["CMakeLists.txt"] + [os.path.join("cmake", f)
                                     for f in sorted(os.listdir(os.path.join(root, "cmake")))
                                     if f.endswith(".cmake")]:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            cmake_text += f.read()
    options = set(re.findall(r"option\((BIOSTACK_[A-Z_]+)", cmake_text))
    m = re.search(r'BIOSTACK_INSTALL_CMAKEDIR "\$\{CMAKE_INSTALL_DATADIR\}/([^"]+)"', install_cmake)
    cmakedir = "share/" + m.group(1) if m else None
    if cmakedir is None:
        fail("cannot find BIOSTACK_INSTALL_CMAKEDIR in cmake/install.cmake")

    for cmd, args in calls:
        if cmd == "vcpkg_cmake_configure":
            for a in args:
                if a.startswith("-DBIOSTACK_"):
                    opt = a[2:].split("=")[0]
                    if opt not in options:
                        fail(f"portfile sets {opt}, which is not an option of biostack")
            if "-DBIOSTACK_INSTALL=ON" not in args:
                fail("portfile must force -DBIOSTACK_INSTALL=ON")
        if cmd == "vcpkg_cmake_config_fixup":
            if keyword_value(args, "PACKAGE_NAME") != "biostack":
                fail("vcpkg_cmake_config_fixup PACKAGE_NAME must be biostack")
            if keyword_value(args, "CONFIG_PATH") != cmakedir:
                fail(f"vcpkg_cmake_config_fixup CONFIG_PATH {keyword_value(args, 'CONFIG_PATH')} "
                     f"!= install layout {cmakedir}")
        if cmd == "vcpkg_install_copyright":
            for path in args[args.index("FILE_LIST") + 1:] if "FILE_LIST" in args else []:
                local = path.replace("${SOURCE_PATH}", root)
                if not os.path.isfile(local):
                    fail(f"vcpkg_install_copyright: {os.path.relpath(local, root)} does not exist "
                         "(a port must install the licence; add it at the repository root)")
        if cmd == "file" and args[:1] == ["INSTALL"]:
            src = args[1].replace("${CMAKE_CURRENT_LIST_DIR}", port)
            if not os.path.exists(src):
                fail(f"portfile installs {args[1]}, which does not exist")
    # SOURCE_PATH must be this checkout's root.
    for cmd, args in calls:
        if cmd == "get_filename_component" and args[:1] == ["SOURCE_PATH"]:
            src = os.path.normpath(args[1].replace("${CMAKE_CURRENT_LIST_DIR}", port))
            if not os.path.isfile(os.path.join(src, "CMakeLists.txt")) or \
               "project(biostack" not in open(os.path.join(src, "CMakeLists.txt")).read():
                fail(f"portfile SOURCE_PATH {src} is not the biostack source tree")

    # ---- usage -------------------------------------------------------------
    with open(os.path.join(port, "usage"), encoding="utf-8") as f:
        usage = f.read()
    if "find_package(biostack CONFIG REQUIRED)" not in usage or "biostack::biostack" not in usage:
        fail("usage must show find_package(biostack CONFIG REQUIRED) and biostack::biostack")
    if "NAMESPACE biostack::" not in install_cmake or "install(TARGETS biostack " not in install_cmake:
        fail("install.cmake no longer exports biostack::biostack, as usage promises")

    # ---- an actual install tree --------------------------------------------
    prefix = os.environ.get("BIOSTACK_INSTALLED_PREFIX")
    if prefix and cmakedir:
        for rel in (f"{cmakedir}/biostackConfig.cmake", f"{cmakedir}/biostackConfigVersion.cmake",
                    "share/pkgconfig/biostack.pc", "include/biostack/biostack.hpp"):
            if not os.path.isfile(os.path.join(prefix, rel)):
                fail(f"installed tree lacks {rel}, which the portfile relies on")

    for e in errors:
        print(f"vcpkg port: {e}")
    if not errors:
        print(f"vcpkg port: ports/biostack/ consistent with version {version} and the install layout"
              + (f" (checked in {prefix})" if prefix else ""))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
