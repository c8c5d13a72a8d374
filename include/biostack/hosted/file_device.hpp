// SPDX-License-Identifier: MIT
#pragma once

/// A block device over a POSIX file or block special file: `pread`/`pwrite`
/// for data, `fdatasync` for flush, `fallocate` hole punching for discard and
/// range zeroing for write_zeroes (Linux; elsewhere discard is not offered and
/// zeroes are written).
///
/// Both interfaces are offered: the synchronous one (`read`, `write`, ...,
/// so `faulty_device` can emulate power cuts over a file) and `submit`, which
/// validates the bio, performs it in the calling thread and completes it
/// before returning. Put a dispatcher with deferred completion, or a worker
/// thread of your own, in front of it when the caller must not block.
///
/// The capacity is fixed when the device is opened. If the file shrinks
/// behind the device's back, reads past its new end complete `ok` with a
/// residual (a short transfer: only the prefix was read), exactly what
/// `pread` reports; the synchronous `read`, which cannot report a residual,
/// returns `io_error` then.
///
/// The page cache is a volatile write cache: the geometry says so, and a
/// write is durable only after `flush` (or when it carries `bio_flags::fua`,
/// which is honoured with an `fdatasync` after the write).

#include <biostack/hosted/config_check.hpp>

#include <biostack/device/sync_adapter.hpp>
#include <biostack/result.hpp>
#include <cerrno>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#if defined(__linux__)
#include <linux/fs.h>
#include <sys/ioctl.h>
#endif

BIOSTACK_NAMESPACE_BEGIN

/// Maps an `errno` value from a file operation to the library's status.
/// EIO → io_error; ENOSPC, EDQUOT, ENOMEM, EMFILE, ENFILE, EAGAIN →
/// no_resources; EROFS, EBADF (fd not open for writing), EPERM, EACCES →
/// read_only; ENOENT, ENXIO, ENODEV, ENOMEDIUM → no_device; EOPNOTSUPP,
/// ENOTSUP, ENOSYS, ENOTTY → not_supported; EINVAL, EISDIR → invalid_argument;
/// EFBIG, EOVERFLOW → out_of_range; ETIMEDOUT → timed_out; ECANCELED →
/// cancelled; EILSEQ, EBADMSG (media checksum failures on some systems) →
/// media_error; anything else → io_error. 0 maps to ok.
[[nodiscard]] inline errc errno_to_errc(int e) noexcept {
  switch (e) {
  case 0: return errc::ok;
  case EIO: return errc::io_error;
  case ENOSPC:
#ifdef EDQUOT
  case EDQUOT:
#endif
  case ENOMEM:
  case EMFILE:
  case ENFILE:
  case EAGAIN: return errc::no_resources;
  case EROFS:
  case EBADF:
  case EPERM:
  case EACCES: return errc::read_only;
  case ENOENT:
  case ENXIO:
  case ENODEV:
#ifdef ENOMEDIUM
  case ENOMEDIUM:
#endif
    return errc::no_device;
  case EOPNOTSUPP:
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
  case ENOTSUP:
#endif
  case ENOSYS:
  case ENOTTY: return errc::not_supported;
  case EINVAL:
  case EISDIR: return errc::invalid_argument;
  case EFBIG:
  case EOVERFLOW: return errc::out_of_range;
  case ETIMEDOUT: return errc::timed_out;
  case ECANCELED: return errc::cancelled;
  case EILSEQ:
#ifdef EBADMSG
  case EBADMSG:
#endif
    return errc::media_error;
  default: return errc::io_error;
  }
}

/// How to open a `file_device`.
struct file_device_options {
  std::uint32_t block_size = 512; ///< power of two
  /// Capacity in bytes, a multiple of `block_size`. 0: the file's size
  /// (rounded down to whole blocks). Non-zero: a shorter file is extended
  /// (sparsely, with `ftruncate`), a longer one is used only up to `size`.
  std::uint64_t size = 0;
  bool create = false;    ///< create the file if it does not exist (mode 0666 & ~umask)
  bool read_only = false; ///< open O_RDONLY; every modification fails with read_only
};

class file_device {
public:
  /// Opens `path` as a device. Errors: `invalid_argument` for a bad block
  /// size or size, a file that is neither regular nor a block device, or an
  /// empty capacity; `out_of_range` if a read-only file is shorter than the
  /// requested `size`; otherwise the mapped `errno` of the failing call
  /// (`no_device` for a missing file, `read_only` for a permission problem).
  [[nodiscard]] static result<file_device> open(const char* path,
                                                const file_device_options& o = {}) noexcept {
    if (path == nullptr) return errc::invalid_argument;
    int flags = (o.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    if (o.create && !o.read_only) flags |= O_CREAT;
    int fd = -1;
    do {
      fd = ::open(path, flags, 0666);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno_to_errc(errno);
    return adopt(fd, o, true);
  }

  /// Wraps an open descriptor. The caller states the access mode in
  /// `o.read_only`; a descriptor opened read-only but declared writable
  /// fails each write with `read_only` (EBADF). `o.create` is ignored. With
  /// `owns`, the device closes `fd` (also when this returns an error).
  [[nodiscard]] static result<file_device> adopt(int fd, const file_device_options& o,
                                                 bool owns = true) noexcept {
    file_device dev(fd, owns, o.read_only);
    const errc e = dev.init(o);
    if (e != errc::ok) return e; // dev closes fd if it owns it
    return dev;
  }

  file_device(file_device&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), owns_(std::exchange(o.owns_, false)),
        zero_range_ok_(o.zero_range_ok_), geo_(o.geo_) {
    o.geo_.block_count = 0; // a moved-from device rejects everything as out_of_range
  }
  file_device& operator=(file_device&& o) noexcept {
    if (this != &o) {
      (void)close();
      fd_ = std::exchange(o.fd_, -1);
      owns_ = std::exchange(o.owns_, false);
      zero_range_ok_ = o.zero_range_ok_;
      geo_ = o.geo_;
      o.geo_.block_count = 0;
    }
    return *this;
  }
  file_device(const file_device&) = delete;
  file_device& operator=(const file_device&) = delete;
  /// Closes the descriptor if owned. Write-back errors surface only through
  /// `flush()` / `close()`; call one of them first if they matter.
  ~file_device() { (void)close(); }

  /// Closes the descriptor now (if owned) and returns the status of
  /// `close(2)`. The device then rejects every request with out_of_range.
  errc close() noexcept {
    errc st = errc::ok;
    if (owns_ && fd_ >= 0 && ::close(fd_) != 0 && errno != EINTR) st = errno_to_errc(errno);
    fd_ = -1;
    owns_ = false;
    geo_.block_count = 0;
    return st;
  }

  [[nodiscard]] device_geometry geometry() const noexcept { return geo_; }
  [[nodiscard]] int native_handle() const noexcept { return fd_; }

  /// Validates and performs `b` in the calling thread, then completes it.
  /// Reads that meet the end of the file early complete ok with a residual.
  void submit(bio& b) noexcept {
    errc st = validate(b, geo_);
    std::uint32_t residual = 0;
    if (st == errc::ok) {
      switch (b.operation) {
      case op::read:
      case op::write: {
        std::uint32_t done = 0;
        bool stopped = false; // by an error or the end of the file
        for_each_piece(b, 0, b.length, [&](std::byte* p, std::uint32_t n) noexcept {
          if (stopped) return;
          std::uint32_t got = 0;
          st = b.operation == op::read ? read_some(b.offset + done, p, n, got)
                                       : write_all(b.offset + done, p, n, got);
          done += got;
          stopped = st != errc::ok || got != n;
        });
        residual = b.length - done;
        if (st == errc::ok && b.operation == op::write && has(b.flags, bio_flags::fua))
          st = flush();
        break;
      }
      case op::flush: st = flush(); break;
      case op::discard: st = discard(b.offset, b.length); break;
      case op::write_zeroes: st = write_zeroes(b.offset, b.length); break;
      }
    }
    complete(b, st, residual);
  }

  // ---- synchronous interface (byte offsets; callers validate) -------------

  /// Reads exactly `n` bytes; `io_error` if the file ends first.
  errc read(std::uint64_t off, std::byte* dst, std::uint32_t n) noexcept {
    if (!range_fits(off, n, geo_.capacity())) return errc::out_of_range;
    std::uint32_t got = 0;
    const errc st = read_some(off, dst, n, got);
    return st != errc::ok ? st : got == n ? errc::ok : errc::io_error;
  }
  errc write(std::uint64_t off, const std::byte* src, std::uint32_t n) noexcept {
    if (!range_fits(off, n, geo_.capacity())) return errc::out_of_range;
    if (geo_.read_only) return errc::read_only;
    std::uint32_t put = 0;
    return write_all(off, src, n, put);
  }
  /// `fdatasync`: every completed write is durable when this returns ok.
  errc flush() noexcept {
    if (fd_ < 0) return errc::no_device;
#if defined(__APPLE__)
    const int r = ::fsync(fd_);
#else
    const int r = ::fdatasync(fd_);
#endif
    return r == 0 ? errc::ok : errno_to_errc(errno);
  }
  /// Punches a hole (the range reads back as zeroes, the file keeps its
  /// size). If the file system refuses, returns `not_supported` and stops
  /// advertising discard.
  errc discard(std::uint64_t off, std::uint32_t n) noexcept {
    if (!range_fits(off, n, geo_.capacity())) return errc::out_of_range;
    if (geo_.read_only) return errc::read_only;
    if (!geo_.supports_discard) return errc::not_supported;
#if defined(__linux__)
    const errc st = fallocate_range(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n);
    if (st == errc::not_supported) geo_.supports_discard = false;
    return st;
#else
    return errc::not_supported;
#endif
  }
  /// Zeroes the range: `FALLOC_FL_ZERO_RANGE` where the file system offers
  /// it, otherwise by writing zeroes.
  errc write_zeroes(std::uint64_t off, std::uint32_t n) noexcept {
    if (!range_fits(off, n, geo_.capacity())) return errc::out_of_range;
    if (geo_.read_only) return errc::read_only;
#if defined(__linux__)
    if (zero_range_ok_) {
      const errc st = fallocate_range(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, n);
      if (st != errc::not_supported && st != errc::invalid_argument) return st;
      zero_range_ok_ = false; // remember, and fall back for good
    }
#endif
    static constexpr std::byte zeroes[16384] = {};
    while (n != 0) {
      const std::uint32_t chunk = n < sizeof zeroes ? n : static_cast<std::uint32_t>(sizeof zeroes);
      std::uint32_t put = 0;
      const errc st = write_all(off, zeroes, chunk, put);
      if (st != errc::ok) return st;
      off += chunk;
      n -= chunk;
    }
    return errc::ok;
  }

private:
  file_device(int fd, bool owns, bool read_only) noexcept : fd_(fd), owns_(owns) {
    geo_.read_only = read_only;
  }

  errc init(const file_device_options& o) noexcept {
    const auto pow2 = [](std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; };
    if (fd_ < 0) return errc::invalid_argument;
    if (!pow2(o.block_size) || o.size % o.block_size != 0) return errc::invalid_argument;
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return errno_to_errc(errno);
    std::uint64_t bytes = 0;
    if (S_ISREG(st.st_mode)) {
      bytes = static_cast<std::uint64_t>(st.st_size);
#if defined(__linux__)
    } else if (S_ISBLK(st.st_mode)) {
      std::uint64_t sz = 0;
      if (::ioctl(fd_, BLKGETSIZE64, &sz) != 0) return errno_to_errc(errno);
      bytes = sz;
#endif
    } else {
      return errc::invalid_argument;
    }
    // Offsets travel as off_t: a 32-bit off_t (no _FILE_OFFSET_BITS=64)
    // cannot address past 2 GiB, and must not silently wrap.
    if (o.size > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()))
      return errc::out_of_range;
    if (o.size != 0) {
      if (bytes < o.size) {
        if (o.read_only || !S_ISREG(st.st_mode)) return errc::out_of_range;
        int r = 0;
        do {
          r = ::ftruncate(fd_, static_cast<off_t>(o.size));
        } while (r != 0 && errno == EINTR);
        if (r != 0) return errno_to_errc(errno);
      }
      bytes = o.size;
    }
    geo_.block_size = o.block_size;
    geo_.block_count = bytes / o.block_size;
    if (geo_.block_count == 0) return errc::invalid_argument;
    geo_.supports_flush = true;
#if defined(__linux__)
    geo_.supports_discard = true;
#else
    geo_.supports_discard = false;
#endif
    geo_.supports_write_zeroes = true;
    geo_.supports_fua = true;
    geo_.volatile_cache = true;
    return errc::ok;
  }

  // pread until `n` bytes, end of file, or an error; EINTR is retried.
  errc read_some(std::uint64_t off, std::byte* p, std::uint32_t n, std::uint32_t& got) noexcept {
    got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd_, p + got, n - got, static_cast<off_t>(off + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return errno_to_errc(errno);
      }
      if (r == 0) break; // end of file
      got += static_cast<std::uint32_t>(r);
    }
    return errc::ok;
  }

  // pwrite until all `n` bytes are written or an error; EINTR is retried and
  // short writes continue where they stopped.
  errc write_all(std::uint64_t off, const std::byte* p, std::uint32_t n,
                 std::uint32_t& put) noexcept {
    put = 0;
    while (put < n) {
      const ssize_t r = ::pwrite(fd_, p + put, n - put, static_cast<off_t>(off + put));
      if (r < 0) {
        if (errno == EINTR) continue;
        return errno_to_errc(errno);
      }
      if (r == 0) return errc::io_error; // no progress and no reason: do not spin
      put += static_cast<std::uint32_t>(r);
    }
    return errc::ok;
  }

#if defined(__linux__)
  errc fallocate_range(int mode, std::uint64_t off, std::uint32_t n) noexcept {
    int r = 0;
    do {
      r = ::fallocate(fd_, mode, static_cast<off_t>(off), static_cast<off_t>(n));
    } while (r != 0 && errno == EINTR);
    return r == 0 ? errc::ok : errno_to_errc(errno);
  }
#endif

  int fd_ = -1;
  bool owns_ = false;
  bool zero_range_ok_ = true;
  device_geometry geo_{};
};

static_assert(block_device<file_device>);
static_assert(sync_block_device<file_device>);
static_assert(sync_write_zeroes<file_device>);

BIOSTACK_NAMESPACE_END
