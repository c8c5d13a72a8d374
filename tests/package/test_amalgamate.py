#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of tools/amalgamate on small synthetic source trees.

    test_amalgamate.py <biostack source dir>

Each case writes an include/ tree into a temporary directory, runs the real
tools/amalgamate on it with --root and checks the result: every header once
and after its dependencies, `#pragma once` gone, unconditional system
includes hoisted and deduplicated, conditional ones left in place, the
version banner, --check detecting a stale file, and the refusals (hosted
header reachable, header unreachable, missing header).
"""

import os
import subprocess
import sys
import tempfile
import unittest

TOOL = None

VERSION = """// SPDX-License-Identifier: MIT
#pragma once
#define BIOSTACK_VERSION_STRING "3.4.5"
"""


def write_tree(root, files):
    for rel, text in files.items():
        path = os.path.join(root, "include", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def run(root, *args):
    return subprocess.run([sys.executable, TOOL, "--root", root, *args], capture_output=True,
                          text=True)


def output(root):
    with open(os.path.join(root, "single_include", "biostack", "biostack.hpp"),
              encoding="utf-8") as f:
        return f.read()


class Amalgamate(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def good_tree(self):
        write_tree(self.root, {
            "biostack/version.hpp": VERSION,
            "biostack/biostack.hpp": "#pragma once\n#include <biostack/version.hpp>\n"
                                     "#include <biostack/b.hpp>\n#include <biostack/a.hpp>\n",
            "biostack/a.hpp": "// SPDX-License-Identifier: MIT\n#pragma once\n#include <cstdint>\n"
                              "#include <biostack/version.hpp>\nstruct a_type {};\n",
            "biostack/b.hpp": "#pragma once\n#include <biostack/a.hpp>\n#include <cstdint>\n"
                              "#include <atomic>\n#if defined(__has_include)\n"
                              "#if __has_include(<user.hpp>)\n#include <user.hpp>\n#endif\n"
                              "#endif\nstruct b_type { a_type a; };\n",
            "biostack/hosted/h.hpp": "#pragma once\n#include <thread>\n",
        })

    def test_expands_each_header_once_in_dependency_order(self):
        self.good_tree()
        r = run(self.root)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = output(self.root)
        self.assertEqual(text.count("struct a_type {};"), 1)
        self.assertEqual(text.count("struct b_type"), 1)
        self.assertLess(text.index("struct a_type"), text.index("struct b_type"))
        self.assertNotIn("#include <biostack/", text)
        self.assertEqual(text.count("#pragma once"), 1)
        self.assertEqual(text.count("SPDX-License-Identifier"), 1)

    def test_hoists_unconditional_system_includes_only(self):
        self.good_tree()
        self.assertEqual(run(self.root).returncode, 0)
        text = output(self.root)
        self.assertEqual(text.count("#include <cstdint>"), 1)
        self.assertEqual(text.count("#include <atomic>"), 1)
        first_code = text.index("// ---- <biostack/")
        self.assertLess(text.index("#include <cstdint>"), first_code)
        # The conditional include stays inside its #if, after the hoisted block.
        self.assertGreater(text.index("#include <user.hpp>"), first_code)
        self.assertLess(text.index("#if __has_include(<user.hpp>)"), text.index("#include <user.hpp>"))
        self.assertNotIn("<thread>", text)  # hosted header not reached, not included

    def test_banner_carries_the_version_and_warns(self):
        self.good_tree()
        self.assertEqual(run(self.root).returncode, 0)
        head = output(self.root).splitlines()[:4]
        self.assertTrue(any("biostack 3.4.5" in line for line in head), head)
        self.assertTrue(any("do not edit" in line for line in head), head)

    def test_check_passes_when_fresh_and_fails_when_stale(self):
        self.good_tree()
        self.assertEqual(run(self.root).returncode, 0)
        self.assertEqual(run(self.root, "--check").returncode, 0)
        write_tree(self.root, {"biostack/a.hpp": "#pragma once\nstruct a_type { int x; };\n"})
        r = run(self.root, "--check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("stale", r.stderr)
        self.assertIn("+struct a_type { int x; };", r.stderr)

    def test_check_fails_when_missing(self):
        self.good_tree()
        r = run(self.root, "--check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing", r.stderr)

    def test_refuses_hosted_header_reachable_from_umbrella(self):
        self.good_tree()
        write_tree(self.root, {"biostack/a.hpp": "#pragma once\n#include <biostack/hosted/h.hpp>\n"})
        r = run(self.root)
        self.assertEqual(r.returncode, 2)
        self.assertIn("hosted", r.stderr)

    def test_refuses_header_unreachable_from_umbrella(self):
        self.good_tree()
        write_tree(self.root, {"biostack/orphan.hpp": "#pragma once\nstruct orphan {};\n"})
        r = run(self.root)
        self.assertEqual(r.returncode, 2)
        self.assertIn("include/biostack/orphan.hpp", r.stderr)

    def test_refuses_include_of_missing_header(self):
        self.good_tree()
        write_tree(self.root, {"biostack/a.hpp": "#pragma once\n#include <biostack/nope.hpp>\n"})
        r = run(self.root)
        self.assertEqual(r.returncode, 2)
        self.assertIn("biostack/nope.hpp", r.stderr)


if __name__ == "__main__":
    TOOL = os.path.join(os.path.abspath(sys.argv.pop(1)), "tools", "amalgamate")
    unittest.main(verbosity=1)
