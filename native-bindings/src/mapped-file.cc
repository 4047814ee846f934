// mapFile(path) → Buffer | null
//
// Maps a regular file read-only (MAP_PRIVATE) and returns an external Buffer over the whole
// mapping; the mapping is released by the Buffer's finalizer when it is garbage collected. This
// lets the offline reader walk a capture straight out of the page cache instead of copying it
// into Node buffers (the copy was the largest single cost of reading a file).
//
// Returns null for anything that is not a non-empty regular file, so the caller falls back to
// ordinary reads. Throws an Error with errno text when open/fstat/mmap fail.
//
// Hazard, by the nature of mmap: if another process truncates the file while it is mapped,
// touching the lost pages raises SIGBUS. Callers use this only for capture files at rest.
//
// Read-ahead. The first touch of each page costs the walking thread a page fault (the kernel maps
// it from the page cache), and dropping pages behind the walk costs a madvise: together about 15%
// of the JS thread's time when a large capture is walked. So the first releaseMapped() starts a
// helper thread for the mapping that does both off the JS thread:
//
//   JS thread:  releaseMapped(buf, pos) ──stores pos, wakes──►  helper thread:
//                (never waits for the helper)                     MADV_DONTNEED [dropped, pos)
//                                                                 MADV_POPULATE_READ up to
//                                                                   pos + kReadAheadBytes
//                                                                 sleeps until pos moves
//
// The helper only fills page tables; it does not read the data for the walker: measured on a
// 2-vCPU VM, lines read on the other core did not make the walker's reads faster. If the helper
// falls behind (a busy machine), the walk faults pages in itself as before. It ends once the walk
// reaches the end of the mapping (releaseMapped(buf, buf.length), which the reader calls when it
// is closed); the finalizer stops it if it is still running and joins it before munmap.
#include "mapped-file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

// Linux 5.14; older kernels reject it with EINVAL and the helper touches one byte per page.
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

namespace tapgate {
namespace {

// How far past the walk the page tables are kept filled: two windows of the JS reader (4 MiB).
constexpr size_t kReadAheadBytes = 8 << 20;
// Populated per madvise call, so that a new position or a stop request is seen soon.
constexpr size_t kStepBytes = 1 << 20;

class ReadAhead {
 public:
  ReadAhead(uint8_t* base, size_t length)
      : base_(base),
        length_(length),
        page_(static_cast<size_t>(sysconf(_SC_PAGESIZE))),
        thread_([this] { Run(); }) {}

  ~ReadAhead() {
    stop_.store(true);
    Wake();
    thread_.join();
  }

  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The walk is at `pos` (non-decreasing): what lies below may be dropped, what follows is next.
  void Advance(size_t pos) {
    walk_.store(pos);
    Wake();
  }

 private:
  void Wake() {
    // Taking the mutex orders this wake-up after the helper's last look at walk_/stop_, so it
    // cannot be lost; the helper holds it only to check those two and go to sleep.
    { std::lock_guard<std::mutex> lock(mu_); }
    cv_.notify_one();
  }

  size_t PageFloor(size_t n) const { return n - n % page_; }

  void Run() {
    size_t dropped = 0;  // pages below this were dropped
    size_t filled = 0;   // page tables are filled (or were dropped) below this
    enum { kPopulate, kTouch, kOff } fill = kPopulate;
    while (!stop_.load()) {
      const size_t walk = walk_.load();
      const size_t dropTo = PageFloor(walk);
      if (dropTo > dropped) {
        madvise(base_ + dropped, dropTo - dropped, MADV_DONTNEED);
        dropped = dropTo;
      }
      if (walk >= length_) return;  // the walk is over: nothing is left to do
      filled = std::max(filled, dropTo);
      const size_t target = std::min(length_, PageFloor(walk + kReadAheadBytes));
      if (filled < target && fill != kOff) {
        const size_t n = std::min(kStepBytes, target - filled);
        if (fill == kPopulate && madvise(base_ + filled, n, MADV_POPULATE_READ) != 0) {
          // EINVAL: a kernel before 5.14. Anything else (EFAULT: the file shrank, which the walk
          // will see too) stops the read-ahead; dropping pages behind the walk goes on.
          fill = errno == EINVAL ? kTouch : kOff;
        }
        if (fill == kTouch) Touch(base_ + filled, n);
        filled += n;
        continue;
      }
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_.load() || walk_.load() != walk; });
    }
  }

  void Touch(const uint8_t* p, size_t n) const {
    for (size_t i = 0; i < n; i += page_) {
      static_cast<void>(*reinterpret_cast<const volatile uint8_t*>(p + i));
    }
  }

  uint8_t* const base_;
  const size_t length_;
  const size_t page_;
  std::atomic<size_t> walk_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;  // last: started once everything above is initialised
};

struct Mapping {
  void* addr;
  size_t length;
  std::unique_ptr<ReadAhead> readAhead;  // created by the first releaseMapped()
};

void Unmap(Napi::Env /*env*/, uint8_t* /*data*/, Mapping* m) {
  m->readAhead.reset();  // joins the helper: it must not touch the mapping after munmap
  munmap(m->addr, m->length);
  delete m;
}

Napi::Error ErrnoError(Napi::Env env, const std::string& what, const std::string& path, int err) {
  return Napi::Error::New(env, what + " " + path + ": " + std::strerror(err));
}

}  // namespace

Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "mapFile(path: string)");
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused below).
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw ErrnoError(env, "open", path, errno);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, "fstat", path, err);
  }
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
    close(fd);
    return env.Null();
  }
  const size_t length = static_cast<size_t>(st.st_size);
  void* addr = mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd, 0);
  int err = errno;
  close(fd);  // the mapping keeps the file referenced
  if (addr == MAP_FAILED) throw ErrnoError(env, "mmap", path, err);
  // Sequential access: the kernel reads ahead and maps pages in larger batches per fault.
  madvise(addr, length, MADV_SEQUENTIAL);
  auto* m = new Mapping{addr, length, nullptr};
  auto buf = Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(addr), length, Unmap, m);
  // releaseMapped() finds the Mapping through the Buffer; the Buffer's finalizer owns it.
  NAPI_THROW_IF_FAILED(env, napi_wrap(env, buf, m, nullptr, nullptr, nullptr), Napi::Value());
  return buf;
}

// releaseMapped(mapping, upTo): the walk of `mapping` has passed `upTo`. Its pages below `upTo`
// (rounded down to a page) are dropped from this process, and the page tables of the stretch after
// it are filled, both by the mapping's read-ahead thread (see above). The mapping stays valid:
// dropped pages are re-read from the page cache if touched again. Keeps RSS flat while a large
// file is walked once from start to end. `upTo` must not decrease between calls.
Napi::Value ReleaseMapped(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "releaseMapped(mapping: Buffer, upTo: number)");
  }
  void* wrapped = nullptr;
  if (napi_unwrap(env, info[0], &wrapped) != napi_ok || wrapped == nullptr) {
    throw Napi::Error::New(env, "releaseMapped: not a mapping");
  }
  auto* m = static_cast<Mapping*>(wrapped);
  const double upTo = info[1].As<Napi::Number>().DoubleValue();
  size_t pos = upTo <= 0 ? 0 : static_cast<size_t>(upTo);
  if (pos > m->length) pos = m->length;
  if (!m->readAhead && pos < m->length) {
    try {
      m->readAhead = std::make_unique<ReadAhead>(static_cast<uint8_t*>(m->addr), m->length);
    } catch (const std::system_error&) {
      // No thread to be had: drop the pages here, as before there was a read-ahead.
    }
  }
  if (!m->readAhead) {
    // No read-ahead thread (released whole before any walk, or none could be started).
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    madvise(m->addr, pos - pos % page, MADV_DONTNEED);
    return env.Undefined();
  }
  m->readAhead->Advance(pos);
  return env.Undefined();
}

}  // namespace tapgate
