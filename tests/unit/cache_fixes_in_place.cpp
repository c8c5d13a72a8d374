// cache_fixes.cpp's tests once more, with every blocking form stepped on the
// caller's stack (async_ops<0>; see ops_mode in cache_support.hpp).
#define CACHE_TEST_IN_PLACE 1
#include "cache_fixes.cpp"
