// tapgate's native addon. Context-aware (NODE_API_MODULE), so it loads in worker threads too;
// it keeps no state in C++ statics (a PacketRing's state lives in its ObjectWrap instance).
#include <napi.h>

#include "af-packet.h"
#include "bpf-filter.h"
#include "mapped-file.h"
#include "original-dst.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mapFile", Napi::Function::New(env, tapgate::MapFile, "mapFile"));
  exports.Set("releaseMapped", Napi::Function::New(env, tapgate::ReleaseMapped, "releaseMapped"));
  exports.Set("openPacketSocket",
              Napi::Function::New(env, tapgate::OpenPacketSocket, "openPacketSocket"));
  exports.Set("compileFilter", Napi::Function::New(env, tapgate::CompileFilter, "compileFilter"));
  exports.Set("packetSocketStats",
              Napi::Function::New(env, tapgate::PacketSocketStats, "packetSocketStats"));
  exports.Set("closeFd", Napi::Function::New(env, tapgate::CloseFd, "closeFd"));
  exports.Set("PacketRing", tapgate::PacketRing::Define(env));
  exports.Set("originalDst", Napi::Function::New(env, tapgate::OriginalDst, "originalDst"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tapgate_native, Init)
