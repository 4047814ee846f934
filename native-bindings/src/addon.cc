// tapgate's native addon. Context-aware (NODE_API_MODULE), so it loads in worker threads too;
// it keeps no state in C++ statics.
#include <napi.h>

#include "mapped-file.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mapFile", Napi::Function::New(env, tapgate::MapFile, "mapFile"));
  exports.Set("releaseMapped", Napi::Function::New(env, tapgate::ReleaseMapped, "releaseMapped"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tapgate_native, Init)
