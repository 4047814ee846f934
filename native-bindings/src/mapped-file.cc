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
#include "mapped-file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace tapgate {
namespace {

struct Mapping {
  void* addr;
  size_t length;
};

void Unmap(Napi::Env /*env*/, uint8_t* /*data*/, Mapping* m) {
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
  auto* m = new Mapping{addr, length};
  return Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(addr), length, Unmap, m);
}

// releaseMapped(mapping, upTo): drops the pages of `mapping` below `upTo` (rounded down to a page)
// from this process. The mapping stays valid: touching them again re-reads them from the page cache.
// Keeps RSS flat while a large file is walked once from start to end.
Napi::Value ReleaseMapped(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "releaseMapped(mapping: Buffer, upTo: number)");
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  const double upTo = info[1].As<Napi::Number>().DoubleValue();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t base = reinterpret_cast<uintptr_t>(buf.Data());
  if (base % page != 0) throw Napi::Error::New(env, "releaseMapped: not a mapping");
  size_t len = upTo <= 0 ? 0 : static_cast<size_t>(upTo);
  if (len > buf.Length()) len = buf.Length();
  len -= len % page;
  if (len > 0) madvise(buf.Data(), len, MADV_DONTNEED);
  return env.Undefined();
}

}  // namespace tapgate
