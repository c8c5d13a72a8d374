// SPDX-License-Identifier: MIT
#pragma once

/// Deferred completion: an interrupt handler (or any thread) hands finished
/// work to a lock-free queue, and the owner's `poll()` processes it later in
/// task context (illumos xbuf's taskq, blkback's batched responses).

#include <atomic>
#include <biostack/config.hpp>
#include <cstddef>

BIOSTACK_NAMESPACE_BEGIN

struct completion_policy_tag {};

/// Completions are processed in the context that delivers them (the device's
/// completion call, or the submitter's when the device completes inline).
/// The dispatcher trampolines, so an inline-completing device never recurses.
struct inline_completion {
  using category = completion_policy_tag;
  static constexpr bool deferred = false;
};

/// The device's completion only pushes onto an ISR-safe queue; `poll()`
/// frees tags and runs callbacks. Use when devices complete from interrupts
/// or foreign threads and callbacks must run in one known context.
struct deferred_completion {
  using category = completion_policy_tag;
  static constexpr bool deferred = true;
};

/// Intrusive multi-producer / single-consumer queue of `Node`s linked
/// through `Node::*Next`. `push` is lock-free and ISR-safe (one pointer-sized
/// compare-and-swap loop: 32-bit on Cortex-M). `take_all` detaches
/// everything at once, so there is no ABA hazard, and returns it in push
/// order.
template <class Node, Node* Node::*Next>
class mpsc_queue {
public:
  mpsc_queue() noexcept = default;
  mpsc_queue(const mpsc_queue&) = delete;
  mpsc_queue& operator=(const mpsc_queue&) = delete;

  /// Pushes `n`. Any context, including interrupts. O(1) expected.
  void push(Node& n) noexcept {
    Node* old = head_.load(std::memory_order_relaxed);
    do {
      n.*Next = old;
    } while (!head_.compare_exchange_weak(old, &n, std::memory_order_release,
                                          std::memory_order_relaxed));
  }

  /// Detaches every pushed node and returns the oldest (linked in push order
  /// through `Next`), or nullptr. Single consumer. O(n).
  [[nodiscard]] Node* take_all() noexcept {
    Node* newest = nullptr;
    std::size_t count = 0;
    return take_all(newest, count);
  }

  /// Like `take_all()`, and also sets `newest` to the last node of the
  /// returned list (nullptr when empty) and `count` to its length, found on
  /// the way: a consumer appending the list to its own needs no second walk.
  [[nodiscard]] Node* take_all(Node*& newest, std::size_t& count) noexcept {
    Node* n = head_.exchange(nullptr, std::memory_order_acquire);
    newest = n;
    count = 0;
    Node* fifo = nullptr;
    while (n != nullptr) {
      Node* next = n->*Next;
      n->*Next = fifo;
      fifo = n;
      n = next;
      ++count;
    }
    return fifo;
  }

  /// A hint: true when nothing is queued at the moment of the load.
  [[nodiscard]] bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == nullptr;
  }

private:
  std::atomic<Node*> head_{nullptr};
};

BIOSTACK_NAMESPACE_END
