// SPDX-License-Identifier: MIT
//
// The program every consumer project builds: a RAM disk, one write and one
// read through the asynchronous interface, and a check of the version the
// build system promised. Exit status 0 means the package works as consumed.

#include <biostack/biostack.hpp>
#include <cstdio>
#include <cstring>

#ifdef BIOSTACK_EXPECT_SINGLE_HEADER_ONLY
// This consumer must see the amalgamation and nothing else.
#if __has_include(<biostack/bio/bio.hpp>)
#error "the single-header consumer can see include/: it is not testing the single header"
#endif
#endif

namespace {
biostack::static_ram_device<8 * 512> disk;
}

int main() {
  alignas(8) std::byte out[1024];
  alignas(8) std::byte in[1024] = {};
  for (std::size_t i = 0; i < sizeof out; ++i) out[i] = static_cast<std::byte>(i * 13u + 5u);

  biostack::bio w(biostack::op::write, 1024, sizeof out, out);
  disk.submit(w);
  biostack::bio r(biostack::op::read, 1024, sizeof in, in);
  disk.submit(r);
  if (!w.completed() || !r.completed() || w.status() != biostack::errc::ok ||
      r.status() != biostack::errc::ok || std::memcmp(in, out, sizeof in) != 0) {
    std::puts("consumer: write/read round trip failed");
    return 1;
  }
#ifdef BIOSTACK_EXPECTED_VERSION
  if (std::strcmp(BIOSTACK_VERSION_STRING, BIOSTACK_EXPECTED_VERSION) != 0) {
    std::printf("consumer: header version %s, build system said %s\n", BIOSTACK_VERSION_STRING,
                BIOSTACK_EXPECTED_VERSION);
    return 1;
  }
#endif
  std::printf("consumer: biostack %s OK\n", BIOSTACK_VERSION_STRING);
  return 0;
}
