# Fails if FILE (an image or object) contains heap, exception or RTTI symbols.
#   cmake -DNM=arm-none-eabi-nm -DFILE=firmware.elf -P check_symbols.cmake
# With -DEXPECT_VIOLATIONS=ON the logic is inverted: every forbidden category
# must be found (used on a deliberately bad object, to prove the check works).
#
# Both defined and undefined symbols count: an undefined reference in an
# object is a dependency the final link would have to satisfy.

foreach(v NM FILE)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_symbols.cmake: -D${v}=... is required")
  endif()
endforeach()

execute_process(COMMAND ${NM} --no-sort ${FILE}
                OUTPUT_VARIABLE symbols RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check_symbols: ${NM} ${FILE} failed: ${err}")
endif()
string(REPLACE "\n" ";" lines "${symbols}")

# category|regular expression on the (mangled) symbol name
set(categories
  "operator new|^_Zn[wa][jm]"
  "heap (malloc family)|^_?(malloc|calloc|realloc|_malloc_r|_calloc_r|_realloc_r|_sbrk|_sbrk_r)$"
  "exception throw|^__cxa_(throw|rethrow|allocate_exception|begin_catch)$"
  "exception unwinding|^(__gxx_personality_v0|_Unwind_Resume)$"
  "RTTI type_info|^_ZT[IS]")

set(found_categories "")
set(report "")
foreach(entry IN LISTS categories)
  string(FIND "${entry}" "|" bar)
  string(SUBSTRING "${entry}" 0 ${bar} category)
  math(EXPR start "${bar} + 1")
  string(SUBSTRING "${entry}" ${start} -1 regex)
  foreach(l IN LISTS lines)
    # nm lines: "[address] type name"
    string(REGEX MATCH "[^ ]+$" name "${l}")
    if(name AND name MATCHES "${regex}")
      list(APPEND found_categories "${category}")
      string(APPEND report "  ${category}: ${name}\n")
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES found_categories)

get_filename_component(shown "${FILE}" NAME)
if(EXPECT_VIOLATIONS)
  list(LENGTH categories want)
  list(LENGTH found_categories got)
  if(NOT got EQUAL want)
    message(FATAL_ERROR "check_symbols: the canary ${shown} should trip all ${want} categories "
                        "but tripped ${got}:\n${report}The symbol check is broken.")
  endif()
  message(STATUS "check_symbols: canary ${shown} rejected as expected (${got} categories)")
elseif(found_categories)
  message(FATAL_ERROR "check_symbols: ${shown} must not contain heap, exception or RTTI "
                      "symbols, but has:\n${report}")
else()
  message(STATUS "check_symbols: ${shown}: no heap, exception or RTTI symbols")
endif()
