# BIOSTACK_INSTALL, in its own file because two places need it: install.cmake
# (included last by the top-level CMakeLists.txt) and tests/package (processed
# before that, and it must know on the very first configure whether install
# rules will exist). On by default only when biostack is the top-level project.
option(BIOSTACK_INSTALL "Generate install rules and package files for biostack"
       ${_biostack_top_level})
