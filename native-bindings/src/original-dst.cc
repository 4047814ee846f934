// originalDst(fd) → { family: 4 | 6, address, port } | null
//
// Conntrack remembers the tuple a connection started with; SO_ORIGINAL_DST (IPv4) and
// IP6T_SO_ORIGINAL_DST (IPv6) read its destination back from a connected TCP socket. A
// transparent proxy behind `iptables -t nat … -j REDIRECT` learns where the client meant to go.
//
// Returns null when the kernel has no answer: no conntrack entry (ENOENT: conntrack does not
// track this netns or this connection), or not a TCP/SCTP socket of that family (ENOPROTOOPT,
// EOPNOTSUPP). Throws for a bad fd (EBADF, ENOTSOCK, …).
//
// Note: for a tracked connection that no rule rewrote, the answer is the socket's own local
// address and port (the original tuple's destination), not null; callers compare the two.
#include "original-dst.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cmath>

#include "af-packet.h"

namespace tapgate {
namespace {

// <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h> define these; their includes
// clash with glibc's <netinet/in.h>.
constexpr int kSoOriginalDst = 80;
constexpr int kIp6tSoOriginalDst = 80;

bool NoAnswer(int err) { return err == ENOENT || err == ENOPROTOOPT || err == EOPNOTSUPP; }

Napi::Object Result(Napi::Env env, int family, const void* addr, uint16_t portBe) {
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, text, sizeof(text));
  Napi::Object out = Napi::Object::New(env);
  out.Set("family", Napi::Number::New(env, family));
  out.Set("address", Napi::String::New(env, text));
  out.Set("port", Napi::Number::New(env, ntohs(portBe)));
  return out;
}

}  // namespace

Napi::Value OriginalDst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double fdArg = info.Length() > 0 && info[0].IsNumber()
                           ? info[0].As<Napi::Number>().DoubleValue()
                           : -1;
  if (!(fdArg >= 0 && fdArg <= INT_MAX) || fdArg != std::floor(fdArg)) {
    throw Napi::TypeError::New(env, "originalDst(fd: integer ≥ 0)");
  }
  const int fd = static_cast<int>(fdArg);

  // IPv4 first: it also answers for an IPv4 client on a dual-stack (::) listener.
  sockaddr_in sin{};
  socklen_t len = sizeof(sin);
  if (getsockopt(fd, SOL_IP, kSoOriginalDst, &sin, &len) == 0) {
    return Result(env, 4, &sin.sin_addr, sin.sin_port);
  }
  if (const int err = errno; !NoAnswer(err)) {
    throw SyscallError(env, "getsockopt(SO_ORIGINAL_DST)", err);
  }

  sockaddr_in6 sin6{};
  len = sizeof(sin6);
  if (getsockopt(fd, SOL_IPV6, kIp6tSoOriginalDst, &sin6, &len) == 0) {
    return Result(env, 6, &sin6.sin6_addr, sin6.sin6_port);
  }
  if (const int err = errno; !NoAnswer(err)) {
    throw SyscallError(env, "getsockopt(IP6T_SO_ORIGINAL_DST)", err);
  }
  return env.Null();
}

}  // namespace tapgate
