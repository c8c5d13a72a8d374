// SPDX-License-Identifier: MIT
#pragma once

// Reference models of the simplest replacement policies, written the
// obvious way with standard containers and no shared code with the library:
// the library's policies and the trace_replay tool are checked against them
// miss for miss.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <list>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace biostack_test {

/// Misses of a least-recently-used cache of `capacity` blocks over `trace`.
inline std::uint64_t reference_lru_misses(const std::vector<std::uint64_t>& trace,
                                          std::size_t capacity) {
  std::list<std::uint64_t> order; // front: least recently used
  std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> where;
  std::uint64_t misses = 0;
  for (const std::uint64_t block : trace) {
    if (auto it = where.find(block); it != where.end()) {
      order.erase(it->second);
    } else {
      ++misses;
      if (where.size() == capacity) {
        where.erase(order.front());
        order.pop_front();
      }
    }
    order.push_back(block);
    where[block] = std::prev(order.end());
  }
  return misses;
}

/// Misses of a first-in-first-out cache of `capacity` blocks over `trace`
/// (a hit changes nothing).
inline std::uint64_t reference_fifo_misses(const std::vector<std::uint64_t>& trace,
                                           std::size_t capacity) {
  std::deque<std::uint64_t> queue;
  std::unordered_set<std::uint64_t> present;
  std::uint64_t misses = 0;
  for (const std::uint64_t block : trace) {
    if (present.count(block) != 0) continue;
    ++misses;
    if (present.size() == capacity) {
      present.erase(queue.front());
      queue.pop_front();
    }
    queue.push_back(block);
    present.insert(block);
  }
  return misses;
}

/// Frame-order CLOCK as the textbooks give it: frames 0..capacity-1, a use
/// bit each, and a hand that moves past every frame it examines. A search
/// turns the hand at most twice round: an eligible frame in use loses its
/// bit, an eligible frame not in use is taken. With no eligible frame the
/// two whole turns bring the hand back where it was.
struct reference_frame_clock {
  explicit reference_frame_clock(std::size_t capacity) : present(capacity), used(capacity) {}
  std::vector<char> present, used;
  std::size_t hand = 0;
  bool second_turn = false; // whether the last victim was found on the second turn

  /// The victim's frame, or SIZE_MAX when no present frame is eligible.
  template <class Eligible>
  std::size_t evict(Eligible eligible) {
    const std::size_t frames = present.size();
    for (std::size_t step = 0; step < 2 * frames; ++step) {
      const std::size_t f = hand;
      hand = (hand + 1) % frames;
      if (!present[f] || !eligible(f)) continue;
      if (!used[f]) {
        present[f] = false;
        second_turn = step >= frames;
        return f;
      }
      used[f] = false;
    }
    return SIZE_MAX;
  }
  /// A block enters frame `f`, in use.
  void place(std::size_t f) { present[f] = used[f] = true; }
};

/// Misses of frame-order CLOCK of `capacity` blocks over `trace`, in a cache
/// that fills its frames in index order and puts each missed block in its
/// victim's frame (as biostack's cache hands out its buffers).
inline std::uint64_t reference_frame_clock_misses(const std::vector<std::uint64_t>& trace,
                                                  std::size_t capacity) {
  reference_frame_clock clock(capacity);
  std::vector<std::uint64_t> block(capacity);
  std::unordered_map<std::uint64_t, std::size_t> frame_of;
  std::size_t filled = 0;
  std::uint64_t misses = 0;
  for (const std::uint64_t b : trace) {
    if (const auto it = frame_of.find(b); it != frame_of.end()) {
      clock.used[it->second] = true;
      continue;
    }
    ++misses;
    std::size_t f = filled;
    if (filled < capacity) {
      ++filled;
    } else {
      f = clock.evict([](std::size_t) { return true; });
      frame_of.erase(block[f]);
    }
    block[f] = b;
    frame_of[b] = f;
    clock.place(f);
  }
  return misses;
}

} // namespace biostack_test
