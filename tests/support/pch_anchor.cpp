// Compiles the tests' precompiled header (Catch); see tests/CMakeLists.txt.
