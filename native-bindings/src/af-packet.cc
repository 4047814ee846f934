// AF_PACKET live capture with a TPACKET_V3 receive ring.
//
//   openPacketSocket(opts) → { fd, ifindex, arphrd }       main thread
//   new PacketRing(fd, blockSize, blockCount)               capture worker (same fd number)
//     loop: i = ring.next(timeoutMs) → walk block i in JS over ring.buffer → ring.release(i)
//   packetSocketStats(fd), closeFd(fd)                      main thread
//
// Ring invariants. The kernel fills blocks 0, 1, 2, … in order and hands each to user space by
// setting TP_STATUS_USER in its block_status (when it is full, or when tp_retire_blk_tov expires
// with at least one packet in it). User space gives a block back by writing TP_STATUS_KERNEL.
// We consume strictly in ring order, so the block to look at is always `current_`: the oldest one
// not yet released. If it is not ours yet, nothing newer is either. When every block is owned by
// user space the kernel drops packets (counted in PACKET_STATISTICS tp_drops, freezes in
// tp_freeze_q_cnt) until a block comes back.
//
// The socket is set up in the order libpcap and stenographer use, so that no packet reaches the
// ring unfiltered: the socket starts with protocol 0 (it receives nothing), the filter and ring
// are attached, and only then does bind() with ETH_P_ALL hook it to the interface.
#include "af-packet.h"

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

namespace tapgate {
namespace {

// tp_frame_size only has to pass the kernel's checks in TPACKET_V3 (packets are packed into
// blocks at their own size): at least TPACKET3_HDRLEN, a multiple of TPACKET_ALIGNMENT, and it
// must divide the block size.
constexpr uint32_t kFrameSize = 2048;
constexpr uint32_t kMaxBlockSize = 1u << 28;
constexpr uint32_t kMaxBlockCount = 1u << 16;
constexpr uint64_t kMaxRingBytes = uint64_t{1} << 34;  // 16 GiB
constexpr uint32_t kMaxBlockTimeoutMs = 60000;
constexpr uint32_t kMaxFilterInsns = BPF_MAXINSNS;

// Closes the fd on every early exit (a throw) unless release()d.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

int64_t IntegerArg(Napi::Env env, Napi::Value v, const char* name, int64_t min, int64_t max) {
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != std::floor(d)) {
    throw Napi::TypeError::New(env, std::string(name) + " must be an integer from " +
                                        std::to_string(min) + " to " + std::to_string(max));
  }
  return static_cast<int64_t>(d);
}

bool BoolOpt(Napi::Env env, Napi::Object opts, const char* name) {
  Napi::Value v = opts.Get(name);
  if (!v.IsBoolean()) throw Napi::TypeError::New(env, std::string(name) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

struct Geometry {
  uint32_t blockSize;
  uint32_t blockCount;
};

// The kernel's own rules (PAGE_ALIGNED block size, whole frames per block) plus a power of two,
// so block starts stay aligned for every typed-array view JS puts over the ring.
Geometry CheckGeometry(Napi::Env env, Napi::Value size, Napi::Value count) {
  const int64_t page = sysconf(_SC_PAGESIZE);
  Geometry g{};
  g.blockSize = static_cast<uint32_t>(IntegerArg(env, size, "blockSize", page, kMaxBlockSize));
  if ((g.blockSize & (g.blockSize - 1)) != 0 || g.blockSize % page != 0) {
    const std::string what = "blockSize must be a power of two and a multiple of the page size";
    throw Napi::TypeError::New(env, what + " (" + std::to_string(page) + ")");
  }
  g.blockCount = static_cast<uint32_t>(IntegerArg(env, count, "blockCount", 1, kMaxBlockCount));
  if (uint64_t{g.blockSize} * g.blockCount > kMaxRingBytes) {
    throw Napi::TypeError::New(env, "blockSize × blockCount must not exceed 16 GiB");
  }
  return g;
}

int FdArg(Napi::Env env, Napi::Value v) {
  return static_cast<int>(IntegerArg(env, v, "fd", 0, INT_MAX));
}

void SetOpt(Napi::Env env, int fd, int level, int name, const void* value, socklen_t len,
            const char* step) {
  if (setsockopt(fd, level, name, value, len) != 0) {
    const int err = errno;
    throw SyscallError(env, step, err);
  }
}

// A pending asynchronous socket error (e.g. ENETDOWN set by bind() on an interface that is down).
int PendingSocketError(Napi::Env env, int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    const int err = errno;
    throw SyscallError(env, "getsockopt(SO_ERROR)", err);
  }
  return err;
}

int64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Napi::Error SyscallError(Napi::Env env, const std::string& step, int err) {
  Napi::Error e = Napi::Error::New(env, step + ": " + std::strerror(err));
  const char* name = strerrorname_np(err);
  e.Set("code", Napi::String::New(env, name != nullptr ? name : "E" + std::to_string(err)));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

// openPacketSocket({ iface, blockSize, blockCount, blockTimeoutMs, promisc, fanoutGroup, filter,
//                    ignoreOutgoing }) → { fd, ifindex, arphrd }
Napi::Value OpenPacketSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "openPacketSocket(opts: object)");
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  Napi::Value ifaceValue = opts.Get("iface");
  if (!ifaceValue.IsString()) throw Napi::TypeError::New(env, "iface must be a string");
  const std::string iface = ifaceValue.As<Napi::String>().Utf8Value();
  if (iface.empty() || iface.size() >= IFNAMSIZ || iface.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(env, "iface must be an interface name of 1 to " +
                                        std::to_string(IFNAMSIZ - 1) + " bytes");
  }
  const Geometry g = CheckGeometry(env, opts.Get("blockSize"), opts.Get("blockCount"));
  const auto blockTimeoutMs = static_cast<uint32_t>(
      IntegerArg(env, opts.Get("blockTimeoutMs"), "blockTimeoutMs", 0, kMaxBlockTimeoutMs));
  const bool promisc = BoolOpt(env, opts, "promisc");
  const bool ignoreOutgoing = BoolOpt(env, opts, "ignoreOutgoing");
  const auto fanoutGroup =
      static_cast<int>(IntegerArg(env, opts.Get("fanoutGroup"), "fanoutGroup", -1, 65535));
  // Copied into properly aligned sock_filter structs: a Buffer may start at any byte.
  std::vector<sock_filter> filter;
  Napi::Value filterValue = opts.Get("filter");
  if (!filterValue.IsNull() && !filterValue.IsUndefined()) {
    if (!filterValue.IsBuffer()) throw Napi::TypeError::New(env, "filter must be a Buffer or null");
    auto buf = filterValue.As<Napi::Buffer<uint8_t>>();
    const size_t n = buf.Length() / sizeof(sock_filter);
    if (buf.Length() % sizeof(sock_filter) != 0 || n == 0 || n > kMaxFilterInsns) {
      throw Napi::TypeError::New(env, "filter must hold 1 to " + std::to_string(kMaxFilterInsns) +
                                          " struct sock_filter (8 bytes each)");
    }
    filter.resize(n);
    std::memcpy(filter.data(), buf.Data(), buf.Length());
  }

  const unsigned ifindex = if_nametoindex(iface.c_str());
  if (ifindex == 0) throw SyscallError(env, "if_nametoindex(" + iface + ")", ENODEV);

  // Protocol 0: the socket receives nothing until bind() names ETH_P_ALL below.
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int err = errno;
    throw SyscallError(env, "socket(AF_PACKET)", err);
  }
  FdGuard guard(fd);

  ifreq ifr{};
  std::memcpy(ifr.ifr_name, iface.c_str(), iface.size());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    const int err = errno;
    throw SyscallError(env, "ioctl(SIOCGIFHWADDR)", err);
  }
  const int arphrd = ifr.ifr_hwaddr.sa_family;

  const int version = TPACKET_V3;
  SetOpt(env, fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version),
         "setsockopt(PACKET_VERSION)");
  if (!filter.empty()) {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(filter.size());
    prog.filter = filter.data();
    SetOpt(env, fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog),
           "setsockopt(SO_ATTACH_FILTER)");
  }
  tpacket_req3 req{};
  req.tp_block_size = g.blockSize;
  req.tp_block_nr = g.blockCount;
  req.tp_frame_size = kFrameSize;
  req.tp_frame_nr = g.blockSize / kFrameSize * g.blockCount;
  req.tp_retire_blk_tov = blockTimeoutMs;  // 0: the kernel derives one from the link speed
  req.tp_sizeof_priv = 0;
  req.tp_feature_req_word = 0;
  SetOpt(env, fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req), "setsockopt(PACKET_RX_RING)");

  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(ifindex);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
    const int err = errno;
    throw SyscallError(env, "bind(" + iface + ")", err);
  }
  // bind() succeeds on an interface that is down but leaves ENETDOWN pending; libpcap refuses
  // such an interface, and so do we.
  if (int err = PendingSocketError(env, fd); err != 0) {
    throw SyscallError(env, "bind(" + iface + ")", err);
  }
  if (promisc) {
    packet_mreq mr{};
    mr.mr_ifindex = static_cast<int>(ifindex);
    mr.mr_type = PACKET_MR_PROMISC;
    SetOpt(env, fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr),
           "setsockopt(PACKET_ADD_MEMBERSHIP)");
  }
  if (ignoreOutgoing) {
    const int one = 1;
    SetOpt(env, fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one),
           "setsockopt(PACKET_IGNORE_OUTGOING)");
  }
  if (fanoutGroup >= 0) {
    // HASH is the symmetric flow hash: both directions of a flow reach the same socket. DEFRAG
    // reassembles IP fragments before hashing, so a fragmented datagram is not split up.
    const int arg = fanoutGroup | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
    SetOpt(env, fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg), "setsockopt(PACKET_FANOUT)");
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, fd));
  out.Set("ifindex", Napi::Number::New(env, ifindex));
  out.Set("arphrd", Napi::Number::New(env, arphrd));
  guard.release();
  return out;
}

// packetSocketStats(fd) → { packets, drops, freezes }. The kernel resets its counters on every
// read: callers accumulate. `packets` includes `drops` (it counts every packet that passed the
// filter); `freezes` counts the times the ring was found full.
Napi::Value PacketSocketStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = FdArg(env, info[0]);
  tpacket_stats_v3 st{};
  socklen_t len = sizeof(st);
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
    const int err = errno;
    throw SyscallError(env, "getsockopt(PACKET_STATISTICS)", err);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("packets", Napi::Number::New(env, st.tp_packets));
  out.Set("drops", Napi::Number::New(env, st.tp_drops));
  out.Set("freezes", Napi::Number::New(env, len >= sizeof(st) ? st.tp_freeze_q_cnt : 0));
  return out;
}

// closeFd(fd). On Linux the fd is gone even when close() reports EINTR, so that is not an error.
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = FdArg(env, info[0]);
  if (close(fd) != 0) {
    const int err = errno;
    if (err != EINTR) throw SyscallError(env, "close", err);
  }
  return env.Undefined();
}

// ---------------------------------------------------------------- PacketRing

Napi::Function PacketRing::Define(Napi::Env env) {
  return DefineClass(env, "PacketRing",
                     {
                         InstanceAccessor<&PacketRing::GetBuffer>("buffer"),
                         InstanceMethod<&PacketRing::Next>("next"),
                         InstanceMethod<&PacketRing::Release>("release"),
                         InstanceMethod<&PacketRing::Close>("close"),
                     });
}

// new PacketRing(fd, blockSize, blockCount): maps the ring of a socket that openPacketSocket set
// up with the same geometry (the kernel refuses any other mapping size with EINVAL).
PacketRing::PacketRing(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PacketRing>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) {
    throw Napi::TypeError::New(env, "new PacketRing(fd, blockSize, blockCount)");
  }
  const int fd = FdArg(env, info[0]);
  const Geometry g = CheckGeometry(env, info[1], info[2]);

  // Refuse anything but a TPACKET_V3 packet socket: mmap() of a regular file would succeed.
  int domain = 0;
  socklen_t len = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    const int err = errno;
    throw SyscallError(env, "PacketRing: getsockopt(SO_DOMAIN)", err);
  }
  int version = -1;
  len = sizeof(version);
  if (domain != AF_PACKET || getsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, &len) != 0 ||
      version != TPACKET_V3) {
    throw SyscallError(
        env, "PacketRing: fd " + std::to_string(fd) + " is not a TPACKET_V3 packet socket", EINVAL);
  }

  const size_t size = size_t{g.blockSize} * g.blockCount;
  // MAP_LOCKED keeps the ring out of swap and pre-faults it; it fails beyond RLIMIT_MEMLOCK
  // without CAP_IPC_LOCK, and then an ordinary mapping does.
  void* addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
  if (addr == MAP_FAILED) addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) {
    const int err = errno;
    throw SyscallError(env, "mmap(PACKET_RX_RING)", err);
  }
  try {
    // External and without a finalizer: the mapping belongs to this object (close/Finalize).
    buffer_ = Napi::Persistent(Napi::ArrayBuffer::New(env, addr, size));
  } catch (...) {
    munmap(addr, size);
    throw;
  }
  fd_ = fd;
  base_ = static_cast<uint8_t*>(addr);
  blockSize_ = g.blockSize;
  blockCount_ = g.blockCount;
  size_ = size;
}

void PacketRing::Finalize(Napi::Env /*env*/) {
  // Runs with a HandleScope on the JS thread (non-experimental node-addon-api), so detaching is
  // allowed. If it fails anyway, leaking the mapping is safer than freeing memory JS can reach.
  try {
    Unmap();
  } catch (...) {
  }
}

Napi::Value PacketRing::GetBuffer(const Napi::CallbackInfo& /*info*/) { return buffer_.Value(); }

bool PacketRing::BlockReady() const {
  auto* desc = reinterpret_cast<tpacket_block_desc*>(base_ + current_ * blockSize_);
  return (__atomic_load_n(&desc->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

// next(timeoutMs) → index of the next block user space owns, or -1 when none arrived within
// timeoutMs (or a signal interrupted the wait). Blocks the calling thread: call it from a worker.
// Calling it again before release() returns the same block.
Napi::Value PacketRing::Next(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t timeoutMs = IntegerArg(env, info[0], "timeoutMs", 0, INT_MAX);
  if (base_ == nullptr) throw Napi::Error::New(env, "PacketRing.next: the ring is closed");
  if (BlockReady()) return Napi::Number::New(env, static_cast<double>(current_));
  const int64_t deadline = MonotonicMs() + timeoutMs;
  for (;;) {
    const int64_t left = deadline - MonotonicMs();
    pollfd pfd{fd_, POLLIN | POLLERR, 0};
    const int rc = poll(&pfd, 1, static_cast<int>(left > 0 ? left : 0));
    if (rc < 0) {
      const int err = errno;
      if (err == EINTR) return Napi::Number::New(env, -1);
      throw SyscallError(env, "poll", err);
    }
    if (BlockReady()) return Napi::Number::New(env, static_cast<double>(current_));
    if (rc > 0) {
      if ((pfd.revents & POLLNVAL) != 0) throw SyscallError(env, "poll", EBADF);
      if ((pfd.revents & POLLERR) != 0) {
        // ENETDOWN when the interface went down, for instance.
        if (int err = PendingSocketError(env, fd_); err != 0) {
          throw SyscallError(env, "poll: socket error", err);
        }
      }
    }
    if (rc == 0 || left <= 0) return Napi::Number::New(env, -1);
  }
}

// release(index): gives block `index` (the one next() returned) back to the kernel and moves on
// to the following block. Everything read from the block must be copied before this call: the
// kernel may overwrite it immediately.
Napi::Value PacketRing::Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t last = static_cast<int64_t>(blockCount_) - 1;
  const auto index = static_cast<size_t>(IntegerArg(env, info[0], "index", 0, last));
  if (base_ == nullptr) throw Napi::Error::New(env, "PacketRing.release: the ring is closed");
  if (index != current_ || !BlockReady()) {
    throw Napi::Error::New(env, "PacketRing.release(" + std::to_string(index) +
                                    "): blocks are released in ring order, after next() returned "
                                    "them; the next one to release is " +
                                    std::to_string(current_));
  }
  auto* desc = reinterpret_cast<tpacket_block_desc*>(base_ + current_ * blockSize_);
  // Full barrier: every read of the block (ours, and JS's before this call) happens before the
  // kernel can see the block as its own again.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  __atomic_store_n(&desc->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  current_ = (current_ + 1) % blockCount_;
  return env.Undefined();
}

// close(): detaches `buffer` (every view of it becomes empty) and unmaps the ring. Idempotent.
// The socket stays open: it belongs to whoever opened it.
Napi::Value PacketRing::Close(const Napi::CallbackInfo& info) {
  Unmap();
  return info.Env().Undefined();
}

void PacketRing::Unmap() {
  if (base_ == nullptr) return;
  if (!buffer_.IsEmpty()) {
    Napi::ArrayBuffer ab = buffer_.Value();
    if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
  }
  munmap(base_, size_);
  base_ = nullptr;
}

}  // namespace tapgate
