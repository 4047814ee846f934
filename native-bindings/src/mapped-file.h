// Read-only memory mapping of a regular file, exposed to JS as a Buffer over the mapping.
#pragma once
#include <napi.h>

namespace tapgate {
Napi::Value MapFile(const Napi::CallbackInfo& info);
Napi::Value ReleaseMapped(const Napi::CallbackInfo& info);
}  // namespace tapgate
