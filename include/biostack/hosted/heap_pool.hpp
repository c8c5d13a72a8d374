// SPDX-License-Identifier: MIT
#pragma once

/// Objects from the heap, for hosted builds.

// First: refuses freestanding builds before anything else is parsed.
#include <biostack/hosted/config_check.hpp>

#include <biostack/alloc/concepts.hpp>
#include <new>

BIOSTACK_NAMESPACE_BEGIN

/// Each object is `new (std::nothrow)`-allocated and deleted on release.
/// `Limit` (0: none) caps the objects outstanding at once, so a host can
/// bound memory use, and tests can provoke real shortages.
template <class T, std::size_t Limit>
class heap_object_pool {
public:
  heap_object_pool() noexcept = default;
  heap_object_pool(const heap_object_pool&) = delete;
  heap_object_pool& operator=(const heap_object_pool&) = delete;

  /// A fresh object, or nullptr if the limit is reached or the heap is out.
  [[nodiscard]] T* allocate() noexcept {
    if (Limit != 0 && outstanding_ >= Limit) return nullptr;
    T* t = new (std::nothrow) T();
    if (t != nullptr) ++outstanding_;
    return t;
  }
  void deallocate(T* t) noexcept {
    delete t;
    --outstanding_;
  }
  [[nodiscard]] std::size_t outstanding() const noexcept { return outstanding_; }

private:
  std::size_t outstanding_ = 0;
};

/// Allocation policy: the heap, at most `Limit` objects at once (0: no cap).
template <std::size_t Limit = 0>
struct heap_pool {
  using category = alloc_policy_tag;
  template <class T>
  using pool = heap_object_pool<T, Limit>;
};
static_assert(alloc_policy<heap_pool<>>);

BIOSTACK_NAMESPACE_END
