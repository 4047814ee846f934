// Live capture through AF_PACKET sockets with a TPACKET_V3 receive ring: opening the socket,
// its kernel statistics, closing it, and the mapped ring itself (PacketRing). Also the errno →
// JS Error helper that every socket-level export of the addon shares.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace tapgate {

// An Error whose message is "`step`: strerror(err)" and whose `code` is the errno name
// ('EPERM', 'ENODEV', …), like the errors of Node's own fs and net modules.
Napi::Error SyscallError(Napi::Env env, const std::string& step, int err);

Napi::Value OpenPacketSocket(const Napi::CallbackInfo& info);
Napi::Value PacketSocketStats(const Napi::CallbackInfo& info);
Napi::Value CloseFd(const Napi::CallbackInfo& info);

// The receive ring of a packet socket, mapped into this process. Blocks are handed to JS in ring
// order (next) and given back explicitly (release); `buffer` is an external ArrayBuffer over the
// whole mapping, so JS walks packets where the kernel wrote them. The ring does not own the fd.
class PacketRing : public Napi::ObjectWrap<PacketRing> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit PacketRing(const Napi::CallbackInfo& info);
  // Garbage collected without close(): detach the buffer, then unmap (see Unmap).
  void Finalize(Napi::Env env) override;

 private:
  Napi::Value GetBuffer(const Napi::CallbackInfo& info);
  Napi::Value Next(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  bool BlockReady() const;
  void Unmap();

  int fd_ = -1;
  uint8_t* base_ = nullptr;  // nullptr once closed
  size_t blockSize_ = 0;
  size_t blockCount_ = 0;
  size_t size_ = 0;
  size_t current_ = 0;  // the oldest block user space has not released yet
  Napi::Reference<Napi::ArrayBuffer> buffer_;
};

}  // namespace tapgate
