// The destination a TCP connection had before an iptables/nftables REDIRECT or DNAT rewrote it.
#pragma once
#include <napi.h>

namespace tapgate {
Napi::Value OriginalDst(const Napi::CallbackInfo& info);
}  // namespace tapgate
