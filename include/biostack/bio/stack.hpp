// SPDX-License-Identifier: MIT
#pragma once

/// A fixed-depth stack of bio layers, after DragonFly's embedded bio array.
///
/// Layer 0 is the original request. Each layer that needs its own view of the
/// request (a translated offset, its own completion callback) `push`es the
/// next layer, sets its callback and offset, and submits it downward. When the
/// bottom layer completes, the walk climbs: a layer with a callback runs it; a
/// callback that returns `completion_action::proceed` hands the result on to
/// the layer above, one that returns `stop` keeps it until it calls
/// `continue_completion` (DragonFly's `biodone(pop_bio(bio))`). Layers
/// without callbacks are passed through. The walk is a loop.
///
/// A layer pushed a second time keeps the offset it was given before (a cached
/// translation), so a re-issued request does not translate again.

#include <biostack/bio/chain.hpp>

BIOSTACK_NAMESPACE_BEGIN

template <std::size_t Depth>
class bio_stack {
  static_assert(Depth >= 1 && Depth <= 255, "bio_stack depth must be in [1, 255]");

public:
  bio_stack() noexcept = default;
  bio_stack(const bio_stack&) = delete;
  bio_stack& operator=(const bio_stack&) = delete;

  /// The original request (layer 0). Fill it in before pushing.
  [[nodiscard]] bio& base() noexcept { return layers_[0]; }

  /// The deepest layer pushed so far.
  [[nodiscard]] bio& top() noexcept { return layers_[top_]; }

  /// Number of layers in use (at least 1).
  [[nodiscard]] std::size_t depth() const noexcept { return top_ + 1u; }

  static constexpr std::size_t capacity() noexcept { return Depth; }

  /// Pushes the next layer below the current top and returns it, or nullptr
  /// when the stack is full. The new layer copies the request from the one
  /// above; if it was used before, it keeps its cached offset.
  [[nodiscard]] bio* try_push() noexcept {
    const std::size_t i = top_ + 1u;
    if (i >= Depth) return nullptr;
    bio& lower = layers_[i];
    const std::uint64_t cached_offset = lower.offset;
    link_layer(layers_[top_], lower);
    // Layers are pushed one below the top, so those used since the last
    // reset are exactly 1..deepest_.
    if (i <= deepest_)
      lower.offset = cached_offset;
    else
      deepest_ = static_cast<std::uint8_t>(i);
    top_ = static_cast<std::uint8_t>(i);
    return &lower;
  }

  /// Like `try_push`, but pushing past the capacity is a programming error
  /// and panics (DragonFly panics too).
  // Out of line when optimising for size: a push is larger than a call.
  BIOSTACK_NOINLINE_FOR_SIZE bio& push() noexcept {
    bio* b = try_push();
    BIOSTACK_ASSERT(b != nullptr && "bio_stack overflow");
    return *b;
  }

  /// The layer above `b` (DragonFly `pop_bio`), or nullptr for layer 0.
  /// Lowers the stack's top to it, so the next `push` re-uses `b`'s slot.
  bio* pop(bio& b) noexcept {
    const std::size_t i = index_of(b);
    if (i == 0) return nullptr;
    top_ = static_cast<std::uint8_t>(i - 1u);
    return &layers_[i - 1u];
  }

  /// Forgets every cached offset and returns to layer 0 (rearming it), for a
  /// brand-new request.
  void reset() noexcept {
    for (bio& b : layers_) b.rearm();
    layers_[0].parent = nullptr;
    top_ = 0;
    deepest_ = 0;
  }

  /// Index of `b` in this stack; `b` must be one of its layers.
  [[nodiscard]] std::size_t index_of(const bio& b) const noexcept {
    // Compare addresses as integers: subtracting pointers into different
    // objects would itself be undefined.
    const auto addr = reinterpret_cast<std::uintptr_t>(&b);
    const auto first = reinterpret_cast<std::uintptr_t>(&layers_[0]);
    BIOSTACK_ASSERT(addr >= first && addr < first + sizeof(layers_) &&
                    "bio is not a layer of this stack");
    return (addr - first) / sizeof(bio);
  }

private:
  bio layers_[Depth];
  std::uint8_t top_ = 0;
  std::uint8_t deepest_ = 0; // the deepest layer pushed since the last reset
                             // (their offsets are cached)
};

BIOSTACK_NAMESPACE_END
