// SPDX-License-Identifier: MIT
#pragma once

/// An optional background flusher thread for a hosted `buffer_cache`: the
/// daemon vfs_bio runs, for users who do not want to call `flush_step`
/// themselves. The cache must use a thread-safe lock and wait policy
/// (`std_mutex_lock`, `cv_wait`).

#include <biostack/hosted/config_check.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

BIOSTACK_NAMESPACE_BEGIN

/// Calls `cache.flush_step(budget)` whenever the cache reports dirty pressure
/// (`needs_flush()`), checking every `interval`, and on `kick()`. Stops and
/// joins in the destructor. Construction may fail to start the thread only
/// if the system is out of resources; `running()` tells.
template <class Cache>
class cache_flusher {
public:
  explicit cache_flusher(Cache& c,
                         std::chrono::milliseconds interval = std::chrono::milliseconds(10),
                         std::size_t budget = 64) noexcept
      : cache_(c), interval_(interval), budget_(budget) {
#if BIOSTACK_HAS_EXCEPTIONS
    try {
      thread_ = std::thread([this] { loop(); });
    } catch (...) {
    }
#else
    thread_ = std::thread([this] { loop(); });
#endif
  }
  cache_flusher(const cache_flusher&) = delete;
  cache_flusher& operator=(const cache_flusher&) = delete;
  ~cache_flusher() {
    {
      std::lock_guard<std::mutex> g(m_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  /// Wakes the flusher now (a writer over the dirty threshold).
  void kick() noexcept {
    {
      std::lock_guard<std::mutex> g(m_);
      kicked_ = true;
    }
    cv_.notify_all();
  }
  [[nodiscard]] bool running() const noexcept { return thread_.joinable(); }
  /// Writes started so far.
  [[nodiscard]] std::uint64_t started() const noexcept { return started_.load(); }

private:
  void loop() noexcept {
    std::unique_lock<std::mutex> l(m_);
    while (!stop_) {
      cv_.wait_for(l, interval_, [this] { return stop_ || kicked_; });
      if (stop_) break;
      const bool forced = kicked_;
      kicked_ = false;
      l.unlock();
      if (forced || cache_.needs_flush()) started_ += cache_.flush_step(budget_);
      l.lock();
    }
  }

  Cache& cache_;
  std::chrono::milliseconds interval_;
  std::size_t budget_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool kicked_ = false;
  std::atomic<std::uint64_t> started_{0};
  std::thread thread_;
};

BIOSTACK_NAMESPACE_END
