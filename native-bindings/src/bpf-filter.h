// Capture filters (tcpdump syntax) compiled by libpcap into classic BPF for SO_ATTACH_FILTER.
#pragma once
#include <napi.h>

namespace tapgate {
Napi::Value CompileFilter(const Napi::CallbackInfo& info);
}  // namespace tapgate
