# SPDX-License-Identifier: MIT
#
# A compile-fail test: SOURCE must fail to compile with a diagnostic that
# contains EXPECT, and must compile with -DBIOSTACK_CONTROL (so the failure
# is the checked one, not a typo or a missing include).
#   cmake -DCXX=... -DSOURCE=... -DINCLUDE=... -DEXPECT=... -P check.cmake
foreach(var CXX SOURCE INCLUDE EXPECT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compile_fail: ${var} not set")
  endif()
endforeach()
set(flags -std=c++20 -fsyntax-only "-I${INCLUDE}" "${SOURCE}")
execute_process(COMMAND "${CXX}" ${flags} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "compile_fail: ${SOURCE} compiled, but must not")
endif()
string(FIND "${out}${err}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "compile_fail: ${SOURCE} failed without \"${EXPECT}\":\n${err}")
endif()
execute_process(COMMAND "${CXX}" -DBIOSTACK_CONTROL ${flags} RESULT_VARIABLE rc
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compile_fail: the control build of ${SOURCE} failed:\n${err}")
endif()
message(STATUS "compile_fail: ${SOURCE}: refused as expected; the control compiles")
