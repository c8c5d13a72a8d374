// SPDX-License-Identifier: MIT
//
// Compiled (never linked) by tools/size_report for the target CPU: each array
// is as large as the figure it names, so `nm -S` reads sizeof on the target
// without running anything.

#include "storage_stack.hpp"

extern const char biostack_metadata_bytes_per_buffer[fw::cache_type::metadata_bytes_per_buffer];
extern const char biostack_buffer_header_bytes[fw::cache_type::header_bytes];
const char biostack_metadata_bytes_per_buffer[fw::cache_type::metadata_bytes_per_buffer] = {1};
const char biostack_buffer_header_bytes[fw::cache_type::header_bytes] = {1};
