// Test devices and probes shared by the dispatcher tests (not part of the library).
#pragma once

#include <biostack/device/sync_adapter.hpp>
#include <biostack/devices/ram.hpp>
#include <cstring>
#include <deque>
#include <vector>

namespace dispatch_test {
using namespace biostack;

/// A bio with a completion probe: counts completions, keeps status,
/// residual and the global completion order.
struct probe {
  bio b;
  int id = 0;
  int completions = 0;
  errc status = errc::ok;
  std::uint32_t residual = 0;
  std::vector<int>* order = nullptr;
  std::vector<std::byte> mem;

  static completion_action done(bio& b, void* ctx) noexcept {
    auto& p = *static_cast<probe*>(ctx);
    ++p.completions;
    p.status = b.status();
    p.residual = b.residual();
    if (p.order != nullptr) p.order->push_back(p.id);
    return completion_action::proceed;
  }

  void prepare(op o, std::uint64_t off, std::uint32_t len, std::vector<int>* ord = nullptr,
               bio_flags f = bio_flags::none) {
    mem.assign(len, std::byte{0});
    b.prepare(o, off, len, len != 0 ? mem.data() : nullptr, completion{&done, this});
    b.flags = f;
    order = ord;
  }
};

/// A RAM-backed device that holds every bio until the test completes it, in
/// any order: in-flight control, out-of-order completion, transport errors.
class held_device {
public:
  explicit held_device(std::uint64_t bytes = 1 << 20, std::uint32_t block = 512)
      : store_(bytes), ram_(store_.data(), bytes, block) {}

  [[nodiscard]] device_geometry geometry() const noexcept {
    return geo_override_ ? geo_ : ram_.geometry();
  }
  void set_geometry(const device_geometry& g) {
    geo_ = g;
    geo_.block_count = ram_.geometry().capacity() / g.block_size;
    geo_override_ = true;
  }

  void submit(bio& b) noexcept {
    held_.push_back(&b);
    ++submitted_;
    if (held_.size() > max_held_) max_held_ = held_.size();
    log_.push_back({b.operation, b.offset, b.length, b.flags});
  }

  /// Completes held bio `i` (0 = oldest). For success the operation is
  /// carried out on the RAM store first.
  void complete_at(std::size_t i, errc st = errc::ok, std::uint32_t residual = 0) {
    bio* b = held_.at(i);
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
    // A failed request transferred nothing, as a real device reports it.
    std::uint32_t r = carries_data(b->operation) ? b->length : 0u;
    if (st == errc::ok) st = perform_sync(ram_, *b, r);
    complete(*b, st, residual != 0 ? residual : r);
  }
  void complete_next(errc st = errc::ok, std::uint32_t residual = 0) {
    complete_at(0, st, residual);
  }
  void complete_all(errc st = errc::ok) {
    while (!held_.empty()) complete_next(st);
  }

  struct entry {
    op operation;
    std::uint64_t offset;
    std::uint32_t length;
    bio_flags flags;
  };

  [[nodiscard]] std::size_t held() const { return held_.size(); }
  [[nodiscard]] bio& held_bio(std::size_t i) { return *held_.at(i); }
  [[nodiscard]] std::size_t max_held() const { return max_held_; }
  [[nodiscard]] std::size_t submitted() const { return submitted_; }
  [[nodiscard]] const std::vector<entry>& log() const { return log_; }
  void clear_log() { log_.clear(); }
  ram_device& ram() { return ram_; }

private:
  std::vector<std::byte> store_;
  ram_device ram_;
  device_geometry geo_{};
  bool geo_override_ = false;
  std::deque<bio*> held_;
  std::vector<entry> log_;
  std::size_t max_held_ = 0;
  std::size_t submitted_ = 0;
};

/// Completes inline, from inside submit, like a RAM disk, and counts the
/// deepest nesting of its own submit calls (recursion would show here).
class inline_device {
public:
  explicit inline_device(std::uint64_t bytes = 1 << 20)
      : store_(bytes), ram_(store_.data(), bytes) {}
  [[nodiscard]] device_geometry geometry() const noexcept { return ram_.geometry(); }
  void submit(bio& b) noexcept {
    ++depth_;
    if (depth_ > max_depth_) max_depth_ = depth_;
    ++submitted_;
    ram_.submit(b);
    --depth_;
  }
  std::size_t max_depth_ = 0;
  std::size_t depth_ = 0;
  std::size_t submitted_ = 0;
  ram_device& ram() { return ram_; }

private:
  std::vector<std::byte> store_;
  ram_device ram_;
};

} // namespace dispatch_test
