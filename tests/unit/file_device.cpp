// file_device: a block device over a POSIX file (temporary files in /tmp).

#include <biostack/devices/faulty.hpp>
#include <biostack/hosted/file_device.hpp>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace biostack;

namespace {

// A temporary file, removed at scope exit.
struct temp_file {
  std::string path;
  explicit temp_file(const char* dir = "/tmp") {
    path = std::string(dir) + "/biostack-file-device-XXXXXX";
    const int fd = ::mkstemp(path.data());
    REQUIRE(fd >= 0);
    ::close(fd);
  }
  ~temp_file() { ::unlink(path.c_str()); }
  std::uint64_t size() const {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<std::uint64_t>(st.st_size);
  }
};

struct probe {
  int calls = 0;
  errc status = errc::ok;
  std::uint32_t residual = 0;
  completion_action on_done(bio& b) noexcept {
    ++calls;
    status = b.status();
    residual = b.residual();
    return completion_action::proceed;
  }
};

template <class Dev>
errc run(Dev& dev, op o, std::uint64_t off, std::uint32_t len, std::byte* mem = nullptr,
         bio_flags f = bio_flags::none, std::uint32_t* residual = nullptr) {
  probe p;
  bio b(o, off, len, mem, bind_completion<&probe::on_done>(p));
  b.flags = f;
  dev.submit(b);
  REQUIRE(p.calls == 1);
  if (residual != nullptr) *residual = p.residual;
  return p.status;
}

void pattern(std::byte* p, std::size_t n, unsigned seed) {
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::byte>((i * 31u + seed) & 0xffu);
}
bool is_fill(const std::byte* p, std::size_t n, std::byte v) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != v) return false;
  return true;
}

file_device make(const temp_file& t, std::uint64_t size = 16384, bool read_only = false) {
  file_device_options o;
  o.size = size;
  o.read_only = read_only;
  auto r = file_device::open(t.path.c_str(), o);
  REQUIRE(r.has_value());
  return std::move(r.value());
}

} // namespace

TEST_CASE("file_device: open with a size, read, write, flush, reopen") {
  temp_file t;
  std::byte out[4096], in[4096] = {};
  pattern(out, sizeof out, 1);
  {
    file_device dev = make(t);
    const device_geometry g = dev.geometry();
    CHECK(g.capacity() == 16384);
    CHECK(g.block_size == 512);
    CHECK(g.volatile_cache);
    CHECK(g.supports_fua);
    CHECK_FALSE(g.read_only);
    CHECK(t.size() == 16384); // extended sparsely

    REQUIRE(run(dev, op::write, 4096, 4096, out) == errc::ok);
    REQUIRE(run(dev, op::read, 4096, 4096, in) == errc::ok);
    CHECK(std::memcmp(in, out, 4096) == 0);
    CHECK(run(dev, op::flush, 0, 0) == errc::ok);
    CHECK(run(dev, op::write, 0, 512, out, bio_flags::fua) == errc::ok);
    CHECK(dev.flush() == errc::ok);

    std::byte s[512];
    CHECK(dev.read(4608, s, 512) == errc::ok);
    CHECK(std::memcmp(s, out + 512, 512) == 0);
    CHECK(dev.write(16384, s, 512) == errc::out_of_range);
    CHECK(dev.read(UINT64_MAX - 100, s, 512) == errc::out_of_range);
  }
  // The data is in the file.
  file_device_options o; // size from the file
  auto again = file_device::open(t.path.c_str(), o);
  REQUIRE(again.has_value());
  CHECK(again->geometry().capacity() == 16384);
  std::memset(in, 0, sizeof in);
  REQUIRE(again->read(4096, in, 4096) == errc::ok);
  CHECK(std::memcmp(in, out, 4096) == 0);
}

TEST_CASE("file_device: scatter-gather bios") {
  temp_file t;
  file_device dev = make(t);
  std::byte a[100], b2[412], c[512];
  pattern(a, sizeof a, 2);
  pattern(b2, sizeof b2, 3);
  pattern(c, sizeof c, 4);
  const segment segs[] = {{a, 100}, {b2, 412}, {c, 512}};
  probe p;
  bio w(op::write, 1024, 1024, nullptr, bind_completion<&probe::on_done>(p));
  w.segments = segs;
  w.segment_count = 3;
  dev.submit(w);
  REQUIRE(p.status == errc::ok);
  std::byte in[1024];
  REQUIRE(dev.read(1024, in, 1024) == errc::ok);
  CHECK(std::memcmp(in, a, 100) == 0);
  CHECK(std::memcmp(in + 100, b2, 412) == 0);
  CHECK(std::memcmp(in + 512, c, 512) == 0);
}

TEST_CASE("file_device: discard and write_zeroes keep the size and read back zeroes") {
  // /tmp exercises fallocate; tmpfs (/dev/shm), where present, refuses
  // FALLOC_FL_ZERO_RANGE and so exercises the fallback of writing zeroes.
  const char* dirs[] = {"/tmp", "/dev/shm"};
  for (const char* dir : dirs) {
    if (::access(dir, W_OK) != 0) continue;
    INFO(dir);
    temp_file t(dir);
    file_device dev = make(t, 8192);
    std::byte out[8192];
    pattern(out, sizeof out, 5);
    REQUIRE(run(dev, op::write, 0, 8192, out) == errc::ok);

    REQUIRE(run(dev, op::write_zeroes, 1024, 2048) == errc::ok);
    std::byte in[8192];
    REQUIRE(dev.read(0, in, 8192) == errc::ok);
    CHECK(std::memcmp(in, out, 1024) == 0);
    CHECK(is_fill(in + 1024, 2048, std::byte{0}));
    CHECK(std::memcmp(in + 3072, out + 3072, 5120) == 0);

    const errc d = run(dev, op::discard, 4096, 4096);
    if (d == errc::ok) {
      REQUIRE(dev.read(4096, in, 4096) == errc::ok);
      CHECK(is_fill(in, 4096, std::byte{0}));
    } else {
      // A file system without hole punching: a clear status, and the
      // geometry stops offering discard.
      CHECK(d == errc::not_supported);
      CHECK_FALSE(dev.geometry().supports_discard);
      CHECK(run(dev, op::discard, 4096, 4096) == errc::not_supported);
    }
    CHECK(t.size() == 8192);
  }
}

TEST_CASE("file_device: reads past a shrunken end are short") {
  temp_file t;
  file_device dev = make(t, 4096);
  std::byte out[4096];
  pattern(out, sizeof out, 6);
  REQUIRE(run(dev, op::write, 0, 4096, out) == errc::ok);
  REQUIRE(::truncate(t.path.c_str(), 1536) == 0); // behind the device's back

  std::byte in[4096];
  std::memset(in, 0x77, sizeof in);
  std::uint32_t res = 0;
  CHECK(run(dev, op::read, 0, 4096, in, bio_flags::none, &res) == errc::ok);
  CHECK(res == 4096 - 1536);
  CHECK(std::memcmp(in, out, 1536) == 0);
  CHECK(is_fill(in + 1536, 4096 - 1536, std::byte{0x77}));

  SECTION("scatter-gather stops at the end too") {
    std::byte x[1024], y[3072];
    const segment segs[] = {{x, 1024}, {y, 3072}};
    probe p;
    bio r(op::read, 0, 4096, nullptr, bind_completion<&probe::on_done>(p));
    r.segments = segs;
    r.segment_count = 2;
    dev.submit(r);
    CHECK(p.status == errc::ok);
    CHECK(p.residual == 4096 - 1536);
    CHECK(std::memcmp(y, out + 1024, 512) == 0);
  }
  SECTION("the synchronous read cannot report a residual: io_error") {
    CHECK(dev.read(1024, in, 1024) == errc::io_error);
    CHECK(dev.read(0, in, 1024) == errc::ok);
  }
}

TEST_CASE("file_device: read-only devices and descriptors") {
  temp_file t;
  {
    file_device dev = make(t, 4096);
    std::byte out[512];
    pattern(out, sizeof out, 7);
    REQUIRE(dev.write(0, out, 512) == errc::ok);
  }
  SECTION("opened read-only: refused by validation") {
    file_device dev = make(t, 0, true);
    CHECK(dev.geometry().read_only);
    std::byte buf[512] = {};
    CHECK(run(dev, op::write, 0, 512, buf) == errc::read_only);
    CHECK(run(dev, op::discard, 0, 512) == errc::read_only);
    CHECK(run(dev, op::write_zeroes, 0, 512) == errc::read_only);
    CHECK(dev.write(0, buf, 512) == errc::read_only);
    CHECK(run(dev, op::read, 0, 512, buf) == errc::ok);
  }
  SECTION("an O_RDONLY descriptor declared writable: EBADF maps to read_only") {
    const int fd = ::open(t.path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    file_device_options o;
    auto r = file_device::adopt(fd, o);
    REQUIRE(r.has_value());
    std::byte buf[512] = {};
    std::uint32_t res = 0;
    CHECK(run(*r, op::write, 0, 512, buf, bio_flags::none, &res) == errc::read_only);
    CHECK(res == 512);
    CHECK(run(*r, op::write_zeroes, 0, 512) == errc::read_only);
    CHECK(run(*r, op::read, 0, 512, buf) == errc::ok);
  }
  SECTION("a descriptor not owned stays open") {
    const int fd = ::open(t.path.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    {
      auto r = file_device::adopt(fd, file_device_options{}, false);
      REQUIRE(r.has_value());
      CHECK(r->native_handle() == fd);
    }
    CHECK(::fcntl(fd, F_GETFD) != -1);
    ::close(fd);
  }
}

TEST_CASE("file_device: errno mapping") {
  CHECK(errno_to_errc(0) == errc::ok);
  CHECK(errno_to_errc(EIO) == errc::io_error);
  CHECK(errno_to_errc(ENOSPC) == errc::no_resources);
  CHECK(errno_to_errc(EDQUOT) == errc::no_resources);
  CHECK(errno_to_errc(EROFS) == errc::read_only);
  CHECK(errno_to_errc(EBADF) == errc::read_only);
  CHECK(errno_to_errc(EACCES) == errc::read_only);
  CHECK(errno_to_errc(ENOENT) == errc::no_device);
  CHECK(errno_to_errc(ENXIO) == errc::no_device);
  CHECK(errno_to_errc(EOPNOTSUPP) == errc::not_supported);
  CHECK(errno_to_errc(ENOSYS) == errc::not_supported);
  CHECK(errno_to_errc(EINVAL) == errc::invalid_argument);
  CHECK(errno_to_errc(EISDIR) == errc::invalid_argument);
  CHECK(errno_to_errc(EFBIG) == errc::out_of_range);
  CHECK(errno_to_errc(ETIMEDOUT) == errc::timed_out);
  CHECK(errno_to_errc(ECANCELED) == errc::cancelled);
  CHECK(errno_to_errc(EILSEQ) == errc::media_error);
  CHECK(errno_to_errc(EPIPE) == errc::io_error);
}

TEST_CASE("file_device: bad input gets a clear status") {
  temp_file t;
  file_device dev = make(t, 8192);
  std::byte buf[1024] = {};
  CHECK(run(dev, op::read, 8192, 512, buf) == errc::out_of_range);
  CHECK(run(dev, op::write, UINT64_MAX - 511, 1024, buf) == errc::out_of_range);
  CHECK(run(dev, op::read, 10, 512, buf) == errc::misaligned);
  CHECK(run(dev, op::read, 0, 500, buf) == errc::misaligned);
  CHECK(run(dev, op::read, 0, 0, buf) == errc::invalid_argument);
  CHECK(run(dev, op::write, 0, 512, nullptr) == errc::invalid_argument);
  CHECK(run(dev, op::flush, 0, 512) == errc::invalid_argument);
  CHECK(run(dev, static_cast<op>(7), 0, 512, buf) == errc::invalid_argument);

  file_device_options o;
  CHECK(file_device::open(nullptr, o).error() == errc::invalid_argument);
  CHECK(file_device::open("/tmp/biostack-no-such-dir/x", o).error() == errc::no_device);
  o.block_size = 1000;
  CHECK(file_device::open(t.path.c_str(), o).error() == errc::invalid_argument);
  o.block_size = 512;
  o.size = 1000;
  CHECK(file_device::open(t.path.c_str(), o).error() == errc::invalid_argument);
  o.size = 0;
  CHECK(file_device::open("/tmp", o).error() == errc::invalid_argument); // a directory
  o.read_only = true;
  CHECK(file_device::open("/tmp", o).error() == errc::invalid_argument);
  o.read_only = false;
  o.read_only = true;
  o.size = 1 << 20;
  CHECK(file_device::open(t.path.c_str(), o).error() == errc::out_of_range);
  CHECK(t.size() == 8192); // a read-only open never extends

  temp_file empty;
  file_device_options e;
  CHECK(file_device::open(empty.path.c_str(), e).error() == errc::invalid_argument);
  e.create = true;
  temp_file gone;
  ::unlink(gone.path.c_str());
  e.size = 4096;
  auto created = file_device::open(gone.path.c_str(), e);
  REQUIRE(created.has_value());
  CHECK(gone.size() == 4096);
}

TEST_CASE("file_device: moving transfers the descriptor; a moved-from device refuses") {
  temp_file t;
  file_device a = make(t, 4096);
  const int fd = a.native_handle();
  file_device b = std::move(a);
  CHECK(b.native_handle() == fd);
  CHECK(a.native_handle() == -1); // NOLINT(bugprone-use-after-move): documented state
  std::byte buf[512] = {};
  CHECK(run(a, op::read, 0, 512, buf) == errc::out_of_range);
  CHECK(run(b, op::read, 0, 512, buf) == errc::ok);
  CHECK(b.close() == errc::ok);
  CHECK(::fcntl(fd, F_GETFD) == -1);
  CHECK(run(b, op::read, 0, 512, buf) == errc::out_of_range);
}

TEST_CASE("file_device: power cut emulation over a file") {
  temp_file t;
  file_device file = make(t, 8192);
  faulty_device<file_device&> dev(file);
  static_assert(decltype(dev)::power_cut_emulation);
  std::byte a[1024], b2[1024];
  pattern(a, sizeof a, 8);
  pattern(b2, sizeof b2, 9);
  REQUIRE(run(dev, op::write, 0, 1024, a) == errc::ok);
  REQUIRE(run(dev, op::flush, 0, 0) == errc::ok);
  REQUIRE(run(dev, op::write, 512, 1024, b2) == errc::ok);
  REQUIRE(dev.power_cut() == errc::ok);
  std::byte in[2048];
  REQUIRE(file.read(0, in, 2048) == errc::ok);
  CHECK(std::memcmp(in, a, 1024) == 0);
  CHECK(is_fill(in + 1024, 1024, std::byte{0}));
}
