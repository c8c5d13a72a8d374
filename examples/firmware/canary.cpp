// SPDX-License-Identifier: MIT
//
// Deliberately everything the firmware must not contain. Compiled with
// -fexceptions -frtti into an object that is never linked; the build runs the
// symbol check on it and requires every forbidden category to be reported.

#include <cstdlib>
#include <typeinfo>

struct canary_base {
  virtual ~canary_base() = default;
};
struct canary_derived : canary_base {};

const std::type_info& canary_type(const canary_base& b) { return typeid(b); }

int* canary_heap(std::size_t n) {
  void* raw = std::malloc(n);
  int* p = new int(static_cast<int>(n));
  if (raw == nullptr) throw n;
  std::free(raw);
  return p;
}

int canary_catch(std::size_t n) {
  try {
    delete canary_heap(n);
  } catch (std::size_t) {
    return 1;
  }
  return 0;
}
