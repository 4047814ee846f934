// compileFilter(expr, linkType, snapLen, iface | null) → Buffer of struct sock_filter
//
// libpcap compiles the expression; its struct bpf_insn has the layout of the kernel's struct
// sock_filter (u16 code, u8 jt, u8 jf, u32 k), so the program is handed over byte for byte.
//
// Why a live handle when `iface` is given: on Linux the kernel moves the outer 802.1Q/802.1ad tag
// of a received frame into skb metadata before socket filters run, so the bytes the filter sees
// have no tag. A live libpcap handle knows this and compiles `vlan` (and everything after it)
// against the metadata (SKF_AD_VLAN_TAG_PRESENT, SKF_AD_VLAN_TAG: BPF_SPECIAL_VLAN_HANDLING);
// a dead handle compiles for the bytes of a capture file, where the tag is still in place. For
// filters without `vlan` both give the same program. Opening the live handle briefly creates a
// small capture socket (it is closed right away) and needs the same privileges as capturing;
// without them we fall back to the dead handle.
//
// Errors: an Error with code 'EFILTER' and libpcap's message ("syntax error", "unknown host…").
#include "bpf-filter.h"

#include <pcap/pcap.h>

#include <cmath>
#include <memory>
#include <string>

namespace tapgate {
namespace {

constexpr int kLinktypeRaw = 101;
constexpr int kMaxSnapLen = 262144;
// Kernel buffer of the short-lived live handle: we never read from it.
constexpr int kLiveHandleBufferBytes = 256 * 1024;

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

struct ProgramFreer {
  void operator()(bpf_program* prog) const { pcap_freecode(prog); }
};

// LINKTYPE_* (file headers, what tapgate passes around) and DLT_* (libpcap's API) agree except
// for a few historical values; the one the AF_PACKET engine produces is LINKTYPE_RAW (101),
// which libpcap knows as DLT_RAW.
int DltForLinkType(int linkType) { return linkType == kLinktypeRaw ? DLT_RAW : linkType; }

PcapHandle LiveHandle(const std::string& iface, int dlt, int snapLen) {
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  PcapHandle p(pcap_create(iface.c_str(), errbuf));
  if (!p) return nullptr;
  if (pcap_set_snaplen(p.get(), snapLen) != 0 ||
      pcap_set_buffer_size(p.get(), kLiveHandleBufferBytes) != 0) {
    return nullptr;
  }
  // > 0 is a warning (the handle works); < 0 an error (no permission, no such device, down).
  if (pcap_activate(p.get()) < 0) return nullptr;
  // A live handle whose link type differs from the socket's would compile for other offsets.
  if (pcap_datalink(p.get()) != dlt) return nullptr;
  return p;
}

Napi::Error FilterError(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, "EFILTER"));
  return e;
}

}  // namespace

Napi::Value CompileFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage =
      "compileFilter(expr: string, linkType: integer 0..65535, snapLen: integer 1..262144, "
      "iface: string | null)";
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !(info[3].IsString() || info[3].IsNull() || info[3].IsUndefined())) {
    throw Napi::TypeError::New(env, usage);
  }
  const std::string expr = info[0].As<Napi::String>().Utf8Value();
  const double linkType = info[1].As<Napi::Number>().DoubleValue();
  const double snapLen = info[2].As<Napi::Number>().DoubleValue();
  if (!(linkType >= 0 && linkType <= 65535) || linkType != std::floor(linkType) ||
      !(snapLen >= 1 && snapLen <= kMaxSnapLen) || snapLen != std::floor(snapLen)) {
    throw Napi::TypeError::New(env, usage);
  }
  const int dlt = DltForLinkType(static_cast<int>(linkType));

  PcapHandle p;
  if (info[3].IsString()) p = LiveHandle(info[3].As<Napi::String>().Utf8Value(), dlt, snapLen);
  if (!p) p.reset(pcap_open_dead(dlt, static_cast<int>(snapLen)));
  if (!p) throw FilterError(env, "pcap_open_dead failed");

  bpf_program prog{};
  if (pcap_compile(p.get(), &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    throw FilterError(env, pcap_geterr(p.get()));
  }
  std::unique_ptr<bpf_program, ProgramFreer> freeProg(&prog);
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(prog.bf_insns),
                                     size_t{prog.bf_len} * sizeof(bpf_insn));
}

}  // namespace tapgate
