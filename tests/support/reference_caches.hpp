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

} // namespace biostack_test
