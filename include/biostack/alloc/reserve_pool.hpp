// SPDX-License-Identifier: MIT
#pragma once

/// A reserve of pre-allocated objects in front of another pool (illumos
/// xbuf's reserve list): use the reserve first, refill it from upstream when
/// it runs dry, return surplus upstream on release. Requests are served from
/// the reserve while upstream is exhausted by someone else, and the reserve
/// never sits untouched while upstream is hammered.

#include <biostack/alloc/concepts.hpp>
#include <biostack/alloc/static_pool.hpp>

BIOSTACK_NAMESPACE_BEGIN

template <class T, std::size_t Reserve, class Upstream>
class reserve_object_pool {
  static_assert(Reserve >= 1, "a reserve of zero is just the upstream pool");

public:
  /// Fills the reserve from upstream (as much as upstream gives).
  reserve_object_pool() noexcept { refill(); }
  reserve_object_pool(const reserve_object_pool&) = delete;
  reserve_object_pool& operator=(const reserve_object_pool&) = delete;
  ~reserve_object_pool() {
    while (count_ != 0) upstream_.deallocate(reserve_[--count_]);
  }

  /// From the reserve if it has one; otherwise refill the reserve from
  /// upstream and take one; nullptr when both are dry.
  [[nodiscard]] T* allocate() noexcept {
    if (count_ == 0) refill();
    return count_ != 0 ? reserve_[--count_] : nullptr;
  }

  /// Back to the reserve while it is below `Reserve`, else upstream.
  void deallocate(T* t) noexcept {
    if (count_ < Reserve)
      reserve_[count_++] = t;
    else
      upstream_.deallocate(t);
  }

  [[nodiscard]] std::size_t reserved() const noexcept { return count_; }
  [[nodiscard]] Upstream& upstream() noexcept { return upstream_; }

private:
  void refill() noexcept {
    while (count_ < Reserve) {
      T* t = upstream_.allocate();
      if (t == nullptr) break;
      reserve_[count_++] = t;
    }
  }

  Upstream upstream_;
  T* reserve_[Reserve];
  std::size_t count_ = 0;
};

/// Allocation policy: a reserve of `Reserve` objects over the pools of
/// allocation policy `Upstream` (for example `static_pool<64>`, or the hosted
/// `heap_pool<>`).
template <std::size_t Reserve, class Upstream>
struct reserve_pool {
  using category = alloc_policy_tag;
  template <class T>
  using pool = reserve_object_pool<T, Reserve, typename Upstream::template pool<T>>;
};
static_assert(alloc_policy<reserve_pool<2, static_pool<4>>>);

BIOSTACK_NAMESPACE_END
