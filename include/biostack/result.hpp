// SPDX-License-Identifier: MIT
#pragma once

#include <biostack/assert.hpp>
#include <biostack/errc.hpp>
#include <new>
#include <type_traits>
#include <utility>

BIOSTACK_NAMESPACE_BEGIN

/// A value of type T or an `errc` explaining why there is none. The library's
/// synchronous return type; it never throws. Accessing the value of an error
/// result is a programming error and panics.
template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T>, "result<T&> is not supported; use result<T*>");

public:
  /// An error result. Requires `e != errc::ok`.
  constexpr result(errc e) noexcept : error_(e) {
    BIOSTACK_ASSERT(e != errc::ok);
  } // NOLINT implicit

private:
  // Never another `result` or an `errc`: a T constructible from them (`bool`,
  // through the explicit `operator bool`) would turn a copied error into a value.
  template <class U>
  static constexpr bool is_value_source =
      !std::is_same_v<std::remove_cvref_t<U>, result> &&
      !std::is_same_v<std::remove_cvref_t<U>, errc> && std::is_constructible_v<T, U&&>;

public:
  /// A value result.
  template <class U = T>
  requires is_value_source<U>
  constexpr result(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) // NOLINT implicit
      : error_(errc::ok) {
    ::new (static_cast<void*>(&storage_.value)) T(std::forward<U>(v));
  }

  constexpr result(const result& o) noexcept(std::is_nothrow_copy_constructible_v<T>)
      : error_(o.error_) {
    if (o.has_value()) ::new (static_cast<void*>(&storage_.value)) T(o.storage_.value);
  }
  constexpr result(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : error_(o.error_) {
    if (o.has_value()) ::new (static_cast<void*>(&storage_.value)) T(std::move(o.storage_.value));
  }
  result& operator=(const result& o) noexcept(std::is_nothrow_copy_constructible_v<T>) {
    if (this != &o) {
      destroy();
      error_ = o.error_;
      if (o.has_value()) ::new (static_cast<void*>(&storage_.value)) T(o.storage_.value);
    }
    return *this;
  }
  result& operator=(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this != &o) {
      destroy();
      error_ = o.error_;
      if (o.has_value()) ::new (static_cast<void*>(&storage_.value)) T(std::move(o.storage_.value));
    }
    return *this;
  }
  ~result() { destroy(); }

  [[nodiscard]] constexpr bool has_value() const noexcept { return error_ == errc::ok; }
  constexpr explicit operator bool() const noexcept { return has_value(); }

  /// The error, or `errc::ok` for a value result.
  [[nodiscard]] constexpr errc error() const noexcept { return error_; }

  // Inlined also when optimising for size: after the caller's own test
  // (`if (r) use(*r)`) the check folds away and an access is a load, where
  // a call would cost more.
  [[nodiscard]] BIOSTACK_ALWAYS_INLINE_FOR_SIZE constexpr T& value() & noexcept {
    BIOSTACK_ASSERT(has_value());
    return storage_.value;
  }
  [[nodiscard]] BIOSTACK_ALWAYS_INLINE_FOR_SIZE constexpr const T& value() const& noexcept {
    BIOSTACK_ASSERT(has_value());
    return storage_.value;
  }
  [[nodiscard]] BIOSTACK_ALWAYS_INLINE_FOR_SIZE constexpr T&& value() && noexcept {
    BIOSTACK_ASSERT(has_value());
    return std::move(storage_.value);
  }
  constexpr T& operator*() & noexcept { return value(); }
  constexpr const T& operator*() const& noexcept { return value(); }
  constexpr T* operator->() noexcept { return &value(); }
  constexpr const T* operator->() const noexcept { return &value(); }

  /// The value, or `fallback` for an error result.
  template <class U>
  [[nodiscard]] constexpr T value_or(U&& fallback) const& {
    return has_value() ? storage_.value : static_cast<T>(std::forward<U>(fallback));
  }

private:
  constexpr void destroy() noexcept {
    if (has_value()) storage_.value.~T();
  }
  // No member is active until a value is constructed into it: an error
  // result writes nothing here (C++20 lets a constexpr constructor leave a
  // union without an active member).
  union storage {
    constexpr storage() noexcept {}
    constexpr ~storage() {}
    T value;
  } storage_;
  errc error_;
};

/// `result<void>`: just a status, kept for symmetry with generic code.
template <>
class [[nodiscard]] result<void> {
public:
  constexpr result() noexcept = default;
  constexpr result(errc e) noexcept : error_(e) {} // NOLINT implicit
  [[nodiscard]] constexpr bool has_value() const noexcept { return error_ == errc::ok; }
  constexpr explicit operator bool() const noexcept { return has_value(); }
  [[nodiscard]] constexpr errc error() const noexcept { return error_; }

private:
  errc error_ = errc::ok;
};

BIOSTACK_NAMESPACE_END
