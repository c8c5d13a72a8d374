// SPDX-License-Identifier: MIT
// Smallest proof that the packaged headers work: a write and a read-back.
#include <biostack/biostack.hpp>
#include <cstdio>
#include <cstring>

namespace {
biostack::static_ram_device<4 * 512> disk;
}

int main() {
  alignas(8) std::byte out[512];
  alignas(8) std::byte in[512] = {};
  std::memset(out, 0x5a, sizeof out);
  biostack::bio w(biostack::op::write, 512, sizeof out, out);
  disk.submit(w);
  biostack::bio r(biostack::op::read, 512, sizeof in, in);
  disk.submit(r);
  const bool ok = w.status() == biostack::errc::ok && r.status() == biostack::errc::ok &&
                  std::memcmp(in, out, sizeof in) == 0;
  std::printf("biostack %s: %s\n", BIOSTACK_VERSION_STRING, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
