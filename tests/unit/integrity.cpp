// CRC-32C: known answers, piecewise equals whole, compile-time use, and the
// integrity policies' contract.
#include <biostack/integrity/crc32c.hpp>
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

using namespace biostack;

namespace {
std::uint32_t crc_of(const char* s) {
  return crc32c(reinterpret_cast<const std::byte*>(s), std::strlen(s));
}
} // namespace

TEST_CASE("crc32c: known answers (RFC 3720 / iSCSI check values)") {
  CHECK(crc_of("") == 0x00000000u);
  CHECK(crc_of("123456789") == 0xE3069283u);
  std::vector<std::byte> zeros(32, std::byte{0});
  CHECK(crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);
  std::vector<std::byte> ones(32, std::byte{0xFF});
  CHECK(crc32c(ones.data(), ones.size()) == 0x62A8AB43u);
  std::vector<std::byte> inc(32);
  for (std::size_t i = 0; i < 32; ++i) inc[i] = std::byte(i);
  CHECK(crc32c(inc.data(), inc.size()) == 0x46DD794Eu);
}

TEST_CASE("crc32c: feeding pieces gives the same value as the whole") {
  std::vector<std::byte> buf(4096);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = std::byte((i * 37 + 11) & 0xFF);
  const std::uint32_t whole = crc32c(buf.data(), buf.size());
  for (std::size_t cut : {0u, 1u, 7u, 2048u, 4095u, 4096u}) {
    const std::uint32_t a = crc32c(buf.data(), cut);
    CHECK(crc32c(buf.data() + cut, buf.size() - cut, a) == whole);
  }
  buf[100] ^= std::byte{1};
  CHECK(crc32c(buf.data(), buf.size()) != whole); // a single flipped bit changes it
}

TEST_CASE("crc32c: usable at compile time (table in read-only memory)") {
  constexpr std::byte msg[] = {std::byte{'1'}, std::byte{'2'}, std::byte{'3'},
                               std::byte{'4'}, std::byte{'5'}, std::byte{'6'},
                               std::byte{'7'}, std::byte{'8'}, std::byte{'9'}};
  STATIC_REQUIRE(crc32c(msg, sizeof msg) == 0xE3069283u);
}

TEST_CASE("integrity policies meet the concept; the crc policy runs its finaliser") {
  STATIC_REQUIRE(integrity_policy<no_integrity>);
  STATIC_REQUIRE(integrity_policy<crc32c_integrity<>>);
  STATIC_REQUIRE_FALSE(no_integrity::enabled);
  struct stamp {
    void operator()(std::uint64_t lbn, std::byte* p, std::size_t) const noexcept {
      p[0] = std::byte(lbn);
    }
  };
  crc32c_integrity<stamp> pol;
  std::byte blk[8] = {};
  pol.finalize(42, blk, sizeof blk);
  CHECK(blk[0] == std::byte{42});
  CHECK(pol.checksum(blk, sizeof blk) == crc32c(blk, sizeof blk));
}
