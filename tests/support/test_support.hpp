// Test helpers shared by the unit tests (not part of the library).
#pragma once

#include <biostack/assert.hpp>
#include <cstdlib>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

namespace biostack_test {

/// Runs `f` in a forked child whose panic handler exits with a marker code,
/// and reports whether `f` panicked. Works with and without exceptions, so
/// panic paths are tested in the noexcept build too.
template <class F>
bool panics(F&& f) {
  const pid_t pid = fork();
  if (pid == 0) {
    biostack::set_panic_handler([](const char*, const char*, int) noexcept { _exit(42); });
    f();
    _exit(0);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 42;
}

/// Runs `f` on a thread with exactly `stack_bytes` of stack and waits for it.
/// Returns false if the thread could not be created.
template <class F>
bool run_on_small_stack(std::size_t stack_bytes, F&& f) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (pthread_attr_setstacksize(&attr, stack_bytes) != 0) {
    pthread_attr_destroy(&attr);
    return false;
  }
  struct box {
    F* fn;
  } b{&f};
  pthread_t t;
  auto entry = [](void* p) -> void* {
    (*static_cast<box*>(p)->fn)();
    return nullptr;
  };
  const int rc = pthread_create(&t, &attr, entry, &b);
  pthread_attr_destroy(&attr);
  if (rc != 0) return false;
  pthread_join(t, nullptr);
  return true;
}

} // namespace biostack_test
