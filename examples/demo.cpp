// The main demo: a request split into children that fan back in, a layered
// (partition-style) request on a bio stack, a scatter-gather read, bad input,
// and a buffer cache over a tagged dispatcher over a disk that injects a
// media error. All in static memory: no heap, no threads, no exceptions.
#include <biostack/biostack.hpp>

#include <cstdio>
#include <cstring>

using namespace biostack;

namespace {
static_ram_device<256 * 1024> disk; // 512 blocks of 512 bytes, in .bss

// The full stack: cache -> dispatcher (elevator, 8 tags, completions deferred
// to poll()) -> fault injector -> RAM disk.
static_ram_device<1 << 20> backing;
faulty_device<decltype(backing)&, faulty_limits<4, 8, 0>> flaky{backing};
dispatcher<decltype(flaky), policies<elevator<16>, tags<8>, deferred_completion>> io{flaky};
buffer_cache<decltype(io), policies<static_storage<16, 4096>, lru>> cache{io};

alignas(32) std::byte big[64 * 1024];
alignas(32) std::byte check[64 * 1024];

// Completion callbacks are plain noexcept functions with a context pointer.
completion_action count_done(bio&, void* ctx) noexcept {
  ++*static_cast<int*>(ctx);
  return completion_action::proceed;
}

// A partition layer: shifts the offset and observes the completion.
completion_action partition_done(bio& b, void*) noexcept {
  std::printf("  partition layer saw %s at device offset %llu\n", to_string(b.status()),
              static_cast<unsigned long long>(b.offset));
  return completion_action::proceed;
}
} // namespace

int main() {
  for (std::size_t i = 0; i < sizeof big; ++i) big[i] = static_cast<std::byte>(i * 7 + 1);

  // 1. One 64 KiB write split into 16 children of 4 KiB: the parent completes
  //    once, after the last child and after submission ends.
  int parents_done = 0;
  bio write{op::write, 0, sizeof big, big, completion{count_done, &parents_done}};
  bio children[16];
  begin_fan_in(write);
  for (std::uint32_t i = 0; i < 16; ++i) {
    init_child(children[i], write, i * 4096u, 4096u);
    add_child(write, children[i]);
    disk.submit(children[i]);
  }
  end_fan_in(write);
  std::printf("split write: %s, parent completed %d time(s)\n", to_string(write.status()),
              parents_done);

  // 2. A two-layer request: the upper layer addresses a partition starting at
  //    block 128; the lower layer carries the translated offset to the disk.
  bio_stack<2> stack;
  bio& req = stack.base();
  req.prepare(op::read, 0, 4096, check);
  bio& lower = stack.push();
  lower.offset = req.offset + 128 * 512;
  lower.on_done = completion{partition_done, nullptr};
  disk.submit(lower);
  std::printf("layered read: %s\n", to_string(req.status()));

  // 3. Scatter-gather read of the first 8 KiB into two pieces.
  segment sg[2] = {{check, 4096}, {check + 4096, 4096}};
  bio sgread;
  sgread.prepare(op::read, 0, 8192);
  sgread.segments = sg;
  sgread.segment_count = 2;
  disk.submit(sgread);
  const bool same = std::memcmp(check, big, 8192) == 0;
  std::printf("scatter-gather read: %s, data %s\n", to_string(sgread.status()),
              same ? "matches" : "DIFFERS");

  // 4. Bad input gets a clear status, never undefined behaviour.
  bio past_end{op::read, disk.geometry().capacity(), 512, check};
  disk.submit(past_end);
  bio misaligned{op::write, 100, 512, big};
  disk.submit(misaligned);
  std::printf("read past the end: %s; misaligned write: %s\n", to_string(past_end.status()),
              to_string(misaligned.status()));

  // 5. The cache over the dispatcher: write back 8 blocks, then meet a media
  //    error once on block 5 — reported, not cached — and read it again.
  for (std::uint64_t lbn = 0; lbn < 8; ++lbn) {
    if (auto h = cache.get(lbn)) {
      for (std::byte& x : h->bytes()) x = static_cast<std::byte>(lbn + 1);
      h->mark_valid();
      cache.write_delayed(std::move(*h));
    }
  }
  const errc synced = cache.sync();
  cache.invalidate(0, 8); // drop the clean copies: the next reads go to the disk
  (void)flaky.add_rule(
      fault_rule::fail(errc::media_error).only(op::read).range(5 * 4096, 4096).times(1));
  const errc first = cache.read(5).error();
  const auto second = cache.read(5);
  const bool reread = second && second->data()[0] == std::byte{6};
  std::printf("cache: sync %s; block 5 read: %s, then %s with its data %s\n", to_string(synced),
              to_string(first), to_string(second.error()), reread ? "intact" : "WRONG");

  const bool ok = synced == errc::ok && first == errc::media_error && reread &&
                  write.status() == errc::ok && parents_done == 1 && same &&
                  req.status() == errc::ok && past_end.status() == errc::out_of_range &&
                  misaligned.status() == errc::misaligned;
  std::printf("%s\n", ok ? "demo: all good" : "demo: FAILED");
  return ok ? 0 : 1;
}
