#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of tools/size_report's attribution of text to the library.

    test_size_report.py <biostack source dir>

No toolchain needed: the symbol classifier, the addr2line parser and the
attribution run on symbol tables, rows and inline frames written here, shaped
like what arm-none-eabi-nm, objdump and addr2line print for the firmware.
"""

import importlib.machinery
import importlib.util
import os
import sys
import unittest

TOOL = None
LIB = "/src/include/biostack"


def load_tool(root):
    path = os.path.join(root, "tools", "size_report")
    loader = importlib.machinery.SourceFileLoader("size_report", path)
    spec = importlib.util.spec_from_loader("size_report", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class LibrarySymbols(unittest.TestCase):
    def test_library_entities(self):
        for name in (
                "_ZN8biostack2v13bioC2EPSt4byteyjNS0_2opE",  # constructor
                "_ZNK8biostack2v13bio9completedEv",  # const member
                # A function template: its return type comes after the name.
                "_ZN8biostack2v112buffer_cacheIiiE12settle_writeILi5EEEbRS2_hNS0_4errcE",
                "_ZN8biostack2v112buffer_cacheIiiE6obtainILb0EEENS0_6resultIiEEy.isra.0",
                "_ZN8biostack2v16detail10errc_namesE",  # an object
                "_ZZN8biostack2v16detail5countEvE1n",  # a function's local static
                "_ZTVN8biostack2v19null_statsE",  # a vtable
        ):
            self.assertTrue(TOOL.is_library_symbol(name), name)

    def test_application_and_std_entities(self):
        for name in (
                "_Z13firmware_mainv",
                # A parameter of a library type does not make it the library's.
                "_ZN12_GLOBAL__N_16settleERKN8biostack2v13bioE",
                "_ZN2fw5tally6expectEbPKc",
                "_ZNSt13__atomic_baseImE9fetch_addEmSt12memory_order",
                "_ZN9biostackx3fooEv",  # another namespace that starts alike
                "_GLOBAL__sub_I__Z13firmware_mainv",
                "memcpy",
        ):
            self.assertFalse(TOOL.is_library_symbol(name), name)


class InlineFrames(unittest.TestCase):
    def test_frames_innermost_first(self):
        text = ("0x000010e4\n/usr/include/c++/bits/atomic_base.h:618\n"
                "/src/include/biostack/bio/chain.hpp:39\n/src/main.cpp:78\n"
                "0x000010e6\n/src/main.cpp:174\n"
                "0x000010e8\n??:0\n")
        frames = TOOL.parse_inline_frames(text)
        self.assertEqual(frames[0x10e4], ["/usr/include/c++/bits/atomic_base.h",
                                          "/src/include/biostack/bio/chain.hpp", "/src/main.cpp"])
        self.assertEqual(frames[0x10e6], ["/src/main.cpp"])
        self.assertEqual(frames[0x10e8], ["??"])


class LibraryStrings(unittest.TestCase):
    MAP = """ .rodata._ZN2fw5tally6expectEbPKc.str1.1
                0x00001956       0x12 CMakeFiles/firmware_production.dir/main.cpp.obj
 .rodata._ZN8biostack2v16detail8panic_atEi.str1.1
                0x00001968       0x12 CMakeFiles/firmware_production.dir/main.cpp.obj
                                  0x1 (size before relaxing)
 .rodata._ZNK8biostack2v13bio4nameEv.str1.4
                0x00001970        0x8 CMakeFiles/firmware_production.dir/main.cpp.obj
 .rodata._Z13firmware_mainv.str1.1
                0x00001968      0x2a4 CMakeFiles/firmware_production.dir/main.cpp.obj
 .rodata._ZN8biostack2v16detail10errc_namesE
                0x00001c0c       0xa4 CMakeFiles/firmware_production.dir/main.cpp.obj
                0x00001c0c                biostack::v1::detail::errc_names
"""

    def test_library_functions_strings_only(self):
        # panic_at's 1 byte before merging, bio::name's 8; not the
        # application's strings, nor errc_names (a symbol, counted as such).
        self.assertEqual(TOOL.parse_library_strings(self.MAP), 1 + 8)


class Attribution(unittest.TestCase):
    FLASH = [(0, 0x1000)]

    def run_attribution(self, symbols, app, frames):
        return TOOL.attribute(symbols, app, frames, self.FLASH, LIB)

    def test_each_part(self):
        symbols = [
            (0x100, 40, "W", "_ZNK8biostack2v13bio9completedEv"),
            (0x100, 40, "W", "_ZNK8biostack2v13bio9completedEv"),  # an alias: once
            (0x200, 120, "t", "_GLOBAL__sub_I__Z13firmware_mainv"),
            (0x300, 164, "V", "_ZN8biostack2v16detail10errc_namesE"),
            (0x400, 64, "T", "_Z13firmware_mainv"),
            (0x2000_0000, 4, "V", "_ZN8biostack2v16detail21current_panic_handlerE"),  # RAM
        ]
        app = [
            (0x400, 2, False, None),  # the application's own instruction
            (0x402, 4, False, 0x420),  # library code inlined here, loading 0x420
            (0x406, 2, False, None),  # a std:: helper inlined into library code
            (0x408, 2, False, 0x424),  # the application loading its own literal
            (0x40a, 2, False, 0x420),  # ... and the library's
            (0x420, 4, True, None),
            (0x424, 4, True, None),
        ]
        frames = {
            0x400: ["/src/main.cpp"],
            0x402: ["/src/include/biostack/cache/buffer_cache.hpp", "/src/main.cpp"],
            0x406: ["/usr/include/c++/bits/atomic_base.h", "/src/include/biostack/bio/chain.hpp",
                    "/src/main.cpp"],
            0x408: ["/src/main.cpp"],
            0x40a: ["/src/main.cpp"],
        }
        total, parts = self.run_attribution(symbols, app, frames)
        self.assertEqual(parts, {"symbols": 40, "static_init": 124, "rodata": 164,
                                 "inlined": 4 + 2 + 4})
        self.assertEqual(total, 40 + 124 + 164 + 10)

    def test_no_library_code_inlined(self):
        symbols = [(0x400, 8, "T", "_Z13firmware_mainv")]
        app = [(0x400, 4, False, 0x404), (0x404, 4, True, None)]
        frames = {0x400: ["/src/main.cpp"]}
        self.assertEqual(self.run_attribution(symbols, app, frames)[0], 0)

    def test_a_directory_named_like_the_library_is_not_it(self):
        app = [(0x400, 4, False, None)]
        frames = {0x400: ["/src/include/biostack_extra/x.hpp"]}
        self.assertEqual(self.run_attribution([], app, frames)[0], 0)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: test_size_report.py <biostack source dir>")
    TOOL = load_tool(sys.argv.pop(1))
    unittest.main(verbosity=2)
