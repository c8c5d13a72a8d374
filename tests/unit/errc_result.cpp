// Unit tests: errc names, result<T>, result<void>, the panic handler.
#include <biostack/assert.hpp>
#include <biostack/errc.hpp>
#include <biostack/result.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstring>
#include <iterator>
#include <set>
#include <string>
#include <test_support.hpp>
#include <utility>

using namespace biostack;

namespace {

// Counts live instances, copies and moves, so value lifetimes inside result<T>
// are observable.
struct tracked {
  static inline int live = 0;
  static inline int copies = 0;
  static inline int moves = 0;
  int v = 0;
  explicit tracked(int x) noexcept : v(x) { ++live; }
  tracked(const tracked& o) noexcept : v(o.v) {
    ++live;
    ++copies;
  }
  tracked(tracked&& o) noexcept : v(o.v) {
    o.v = -1;
    ++live;
    ++moves;
  }
  tracked& operator=(const tracked&) = delete;
  tracked& operator=(tracked&&) = delete;
  ~tracked() { --live; }
  static void reset() noexcept { live = copies = moves = 0; }
};

result<int> parse_even(int x) {
  if (x % 2 != 0) return errc::invalid_argument;
  return x / 2;
}

} // namespace

TEST_CASE("every errc has a distinct, non-empty name", "[errc]") {
  std::set<std::string> names;
  for (std::size_t i = 0; i < errc_count; ++i) {
    const char* n = to_string(static_cast<errc>(i));
    REQUIRE(n != nullptr);
    REQUIRE(std::strlen(n) > 0);
    REQUIRE(std::string(n) != "unknown");
    names.insert(n);
  }
  CHECK(names.size() == errc_count);
  // Every name is spelt as its enumerator (the names live in one block with
  // computed offsets: this pins each one to its value).
  const std::pair<errc, const char*> spelled[] = {
      {errc::ok, "ok"},
      {errc::io_error, "io_error"},
      {errc::media_error, "media_error"},
      {errc::no_device, "no_device"},
      {errc::timed_out, "timed_out"},
      {errc::cancelled, "cancelled"},
      {errc::out_of_range, "out_of_range"},
      {errc::invalid_argument, "invalid_argument"},
      {errc::misaligned, "misaligned"},
      {errc::read_only, "read_only"},
      {errc::not_supported, "not_supported"},
      {errc::no_resources, "no_resources"},
      {errc::integrity, "integrity"},
      {errc::shutting_down, "shutting_down"},
  };
  STATIC_REQUIRE(std::size(spelled) == errc_count);
  for (const auto& [e, name] : spelled) {
    INFO(name);
    CHECK(std::string(to_string(e)) == name);
  }
  STATIC_REQUIRE(to_string(errc::misaligned)[0] == 'm'); // usable in constant expressions
  // errc_count really is one past the last enumerator.
  CHECK(std::string(to_string(static_cast<errc>(errc_count))) == "unknown");
  CHECK(std::string(to_string(static_cast<errc>(200))) == "unknown");
}

TEST_CASE("errc: ok is zero and only no_device is transient", "[errc]") {
  STATIC_REQUIRE(static_cast<int>(errc::ok) == 0);
  for (std::size_t i = 0; i < errc_count; ++i) {
    const auto e = static_cast<errc>(i);
    CHECK(is_transient(e) == (e == errc::no_device));
  }
}

TEST_CASE("result<T>: value path", "[result]") {
  result<int> r = 42;
  REQUIRE(r.has_value());
  CHECK(static_cast<bool>(r));
  CHECK(r.error() == errc::ok);
  CHECK(r.value() == 42);
  CHECK(*r == 42);
  CHECK(r.value_or(7) == 42);
  r.value() = 43;
  CHECK(*r == 43);

  const result<std::string> s = std::string("abc");
  CHECK(s->size() == 3);
  CHECK(s.value() == "abc");
}

TEST_CASE("result<T>: error path", "[result]") {
  result<int> r = errc::media_error;
  REQUIRE_FALSE(r.has_value());
  CHECK_FALSE(static_cast<bool>(r));
  CHECK(r.error() == errc::media_error);
  CHECK(r.value_or(7) == 7);

  CHECK(parse_even(4).value() == 2);
  CHECK(parse_even(3).error() == errc::invalid_argument);
}

TEST_CASE("result<T>: copy and move keep value or error", "[result]") {
  tracked::reset();
  {
    result<tracked> a = tracked{5};
    CHECK(tracked::live == 1);
    result<tracked> b = a; // copy
    CHECK(tracked::copies == 1);
    CHECK(b->v == 5);
    CHECK(a->v == 5);
    result<tracked> c = std::move(a); // move
    CHECK(tracked::moves >= 1);
    CHECK(c->v == 5);
    CHECK(tracked::live == 3);

    result<tracked> e = errc::timed_out;
    CHECK(tracked::live == 3); // an error holds no value
    result<tracked> e2 = e;
    CHECK_FALSE(e2.has_value());
    CHECK(e2.error() == errc::timed_out);

    // Assigning an error over a value destroys the value.
    b = e;
    CHECK(tracked::live == 2);
    CHECK(b.error() == errc::timed_out);
    // Assigning a value over an error constructs one.
    e = c;
    CHECK(tracked::live == 3);
    REQUIRE(e.has_value());
    CHECK(e->v == 5);
    // Move assignment.
    e2 = std::move(c);
    CHECK(e2->v == 5);
    CHECK(tracked::live == 4);
    // Self assignment keeps the value.
    auto& self = e2;
    e2 = self;
    CHECK(e2->v == 5);
    CHECK(tracked::live == 4);
  }
  CHECK(tracked::live == 0);
}

TEST_CASE("result<T>: rvalue value() moves out", "[result]") {
  tracked::reset();
  {
    result<tracked> a = tracked{9};
    const int moves_before = tracked::moves;
    tracked t = std::move(a).value();
    CHECK(t.v == 9);
    CHECK(tracked::moves == moves_before + 1);
  }
  CHECK(tracked::live == 0);
}

// A T that is constructible from a result (here bool, through the explicit
// operator bool) must still copy errors as errors.
TEST_CASE("result<bool>: copying an error result keeps the error", "[result]") {
  result<bool> err = errc::io_error;
  result<bool> copy(err); // non-const lvalue: the case that picked the value constructor
  CHECK_FALSE(copy.has_value());
  CHECK(copy.error() == errc::io_error);
  result<bool> assigned = true;
  assigned = err;
  CHECK(assigned.error() == errc::io_error);

  result<bool> val = false;
  result<bool> vcopy(val);
  REQUIRE(vcopy.has_value());
  CHECK(vcopy.value() == false);
}

TEST_CASE("result<void>", "[result]") {
  result<void> ok;
  CHECK(ok.has_value());
  CHECK(static_cast<bool>(ok));
  CHECK(ok.error() == errc::ok);
  result<void> bad = errc::read_only;
  CHECK_FALSE(bad.has_value());
  CHECK(bad.error() == errc::read_only);
  result<void> copy = bad;
  CHECK(copy.error() == errc::read_only);
  copy = ok;
  CHECK(copy.has_value());
}

TEST_CASE("result<T>: accessing the value of an error panics", "[result][panic]") {
  CHECK(biostack_test::panics([] {
    result<int> r = errc::io_error;
    (void)r.value();
  }));
  CHECK(biostack_test::panics([] {
    const result<int> r = errc::io_error;
    (void)*r;
  }));
  CHECK(biostack_test::panics([] {
    result<std::string> r = errc::no_device;
    (void)r->size();
  }));
  CHECK(biostack_test::panics([] {
    result<int> r = errc::io_error;
    (void)std::move(r).value();
  }));
  // An error result must carry an error.
  CHECK(biostack_test::panics([] { result<int> r = errc::ok; }));
  // Control: the value path does not panic.
  CHECK_FALSE(biostack_test::panics([] {
    result<int> r = 1;
    (void)r.value();
  }));
}

namespace {
void handler_a(const char*, const char*, int) noexcept {}
void handler_b(const char*, const char*, int) noexcept { _exit(1); }
} // namespace

TEST_CASE("set_panic_handler returns the previous handler", "[assert]") {
  const panic_handler original = set_panic_handler(&handler_a);
  CHECK(set_panic_handler(&handler_b) == &handler_a);
  CHECK(set_panic_handler(nullptr) == &handler_b);
  CHECK(set_panic_handler(original) == nullptr);
}

namespace {
// Runs `f` in a forked child and returns its wait status.
template <class F>
int run_forked(F&& f) {
  const pid_t pid = fork();
  if (pid == 0) {
    f();
    _exit(0);
  }
  int status = 0;
  REQUIRE(pid > 0);
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}
} // namespace

TEST_CASE("panic passes expression (with BIOSTACK_ASSERT_MESSAGES) and location to the handler",
          "[assert][panic]") {
  const int status = run_forked([] {
    set_panic_handler([](const char* expr, const char* file, int line) noexcept {
#if BIOSTACK_ASSERT_MESSAGES
      const bool ok = std::strstr(expr, "1 + 1 == 3") != nullptr &&
                      std::strstr(file, "errc_result.cpp") != nullptr && line > 0;
#else
      // Compact assertions (the NDEBUG default): no strings in the image,
      // but never null pointers, and the line is still reported.
      const bool ok =
          expr != nullptr && *expr == '\0' && file != nullptr && *file == '\0' && line > 0;
#endif
      _exit(ok ? 42 : 43);
    });
    BIOSTACK_ASSERT(1 + 1 == 3);
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 42);
  // A passing assertion does nothing.
  CHECK_FALSE(biostack_test::panics([] { BIOSTACK_ASSERT(1 + 1 == 2); }));
}

TEST_CASE("detail::panic_at, the compact assertions' panic, reports the line alone",
          "[assert][panic]") {
  // BIOSTACK_ASSERT calls it when BIOSTACK_ASSERT_MESSAGES is 0 (the NDEBUG
  // default); this build may have messages on, so it is called directly.
  const int status = run_forked([] {
    set_panic_handler([](const char* expr, const char* file, int line) noexcept {
      const bool ok =
          expr != nullptr && *expr == '\0' && file != nullptr && *file == '\0' && line == 4321;
      _exit(ok ? 42 : 43);
    });
    detail::panic_at(4321);
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 42);
}

TEST_CASE("panic never returns, even when the handler does", "[assert][panic]") {
  const int status = run_forked([] {
    // Catch reports signals as failures of the running test; the child's
    // trap must reach the parent as a plain signal instead.
    std::signal(SIGILL, SIG_DFL);
    std::signal(SIGTRAP, SIG_DFL);
    set_panic_handler([](const char*, const char*, int) noexcept {});
    panic("returning handler", __FILE__, __LINE__);
    _exit(7); // reached only if panic() returned
  });
  CHECK(WIFSIGNALED(status)); // the default trap
}
