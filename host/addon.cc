// conntrack host addon: owns the NETLINK_NETFILTER socket and nothing else.
//
// One NetlinkSocket per socket: creation (optionally in another network
// namespace), bind, socket options, send, and a libuv poll that receives
// batches of datagrams straight into the WASM receive arena and calls JS once
// per batch. No parsing happens here: the decoder (assembly/) reads the bytes.
//
// Errors are Node-core shaped: message "syscall CODE[ detail]", `errno`
// (negative, like libuv), `code`, `syscall`, and `path` for file paths.
#include <napi.h>
#include <uv.h>

#include <linux/filter.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fd.h"
#include "netns.h"
#include "receive.h"

namespace conntrack_host {
namespace {

// ---------------------------------------------------------------------------
// Errors

std::string ErrnoCode(int err) {
  char buf[64];
  // libuv error codes are -errno on Linux; uv_err_name_r knows every name Node
  // core uses, so codes match what fs/net errors carry.
  uv_err_name_r(-err, buf, sizeof(buf));
  return buf;
}

// Built with raw N-API calls whose failures are ignored, never thrown: it is
// also used from the poll callback, where the environment may be stopping
// (worker.terminate()) and node-addon-api would turn a failed call into a
// fatal error.
napi_value MakeErrnoError(napi_env env, int err, const char* syscall, const std::string& detail, bool detailIsPath) {
  std::string code = ErrnoCode(err);
  std::string msg = std::string(syscall) + " " + code;
  if (!detail.empty()) msg += " " + detail;
  napi_value text = nullptr, error = nullptr, value = nullptr;
  napi_create_string_utf8(env, msg.data(), msg.size(), &text);
  napi_create_error(env, nullptr, text, &error);
  if (error == nullptr) return nullptr;
  if (napi_create_int32(env, -err, &value) == napi_ok) napi_set_named_property(env, error, "errno", value);
  if (napi_create_string_utf8(env, code.data(), code.size(), &value) == napi_ok) napi_set_named_property(env, error, "code", value);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value) == napi_ok) napi_set_named_property(env, error, "syscall", value);
  if (detailIsPath && napi_create_string_utf8(env, detail.data(), detail.size(), &value) == napi_ok) {
    napi_set_named_property(env, error, "path", value);
  }
  return error;
}

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = std::string(),
                       bool detailIsPath = false) {
  return Napi::Error(env, MakeErrnoError(env, err, syscall, detail, detailIsPath));
}

Napi::Error ErrnoError(Napi::Env env, const SysError& se) {
  return ErrnoError(env, se.err, se.syscall, se.detail, se.isPath);
}

void ThrowType(Napi::Env env, const char* msg) { Napi::TypeError::New(env, msg).ThrowAsJavaScriptException(); }

void ThrowRange(Napi::Env env, const char* msg) { Napi::RangeError::New(env, msg).ThrowAsJavaScriptException(); }

// Reads info[i] as an integer in [lo, hi]; throws and returns false otherwise.
bool ArgInt(const Napi::CallbackInfo& info, size_t i, int64_t lo, int64_t hi, const char* what, int64_t* out) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsNumber()) {
    ThrowType(env, (std::string(what) + " must be a number").c_str());
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    ThrowRange(env, (std::string(what) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]").c_str());
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* what, bool* out) {
  if (info.Length() <= i || !info[i].IsBoolean()) {
    ThrowType(info.Env(), (std::string(what) + " must be a boolean").c_str());
    return false;
  }
  *out = info[i].As<Napi::Boolean>().Value();
  return true;
}

// ---------------------------------------------------------------------------
// NetlinkSocket

class NetlinkSocket;

// The uv_poll_t lives apart from the socket object: after uv_close() libuv
// still owns it until the close callback, which may run after the JS object
// (and the C++ object wrapped in it) is gone.
struct Poller {
  uv_poll_t handle;
  NetlinkSocket* owner;                                  // null once closed
  napi_async_cleanup_hook_handle teardownHook = nullptr;  // removed by the close callback
};

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit NetlinkSocket(const Napi::CallbackInfo& info);
  ~NetlinkSocket() override;

 private:
  // JS methods
  Napi::Value Bind(const Napi::CallbackInfo& info);
  Napi::Value GetPortId(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);
  Napi::Value SetRcvBuf(const Napi::CallbackInfo& info);
  Napi::Value SetSndBuf(const Napi::CallbackInfo& info);
  Napi::Value SetExtAck(const Napi::CallbackInfo& info);
  Napi::Value SetNoEnobufs(const Napi::CallbackInfo& info);
  Napi::Value SetBroadcastError(const Napi::CallbackInfo& info);
  Napi::Value AddMembership(const Napi::CallbackInfo& info);
  Napi::Value DropMembership(const Napi::CallbackInfo& info);
  Napi::Value AttachFilter(const Napi::CallbackInfo& info);
  Napi::Value DetachFilter(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value AttachArena(const Napi::CallbackInfo& info);
  Napi::Value ReceiveBatch(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value RefHandle(const Napi::CallbackInfo& info);
  Napi::Value UnrefHandle(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // helpers
  bool CheckOpen(Napi::Env env, const char* syscall);
  bool SetIntOption(Napi::Env env, int level, int name, const char* optName, int value);
  Napi::Value BoolOption(const Napi::CallbackInfo& info, int name, const char* optName);
  Napi::Value Membership(const Napi::CallbackInfo& info, int name, const char* optName);
  bool GetIntOption(Napi::Env env, int level, int name, const char* optName, int* value);
  bool ArenaFromBuffer(ArenaView* view);
  Napi::Value BatchResult(Napi::Env env, const Batch& b);
  int StartPolling();
  void Pin();
  void Unpin();
  void Shutdown();

  static void OnReadable(uv_poll_t* handle, int status, int events);
  static void OnPollerClosed(uv_handle_t* handle);
  static void OnEnvTeardown(napi_async_cleanup_hook_handle hook, void* arg);
  void DeliverBatch(int status);

  UniqueFd fd_;
  napi_env env_;

  // The WASM memory (a fixed-size WebAssembly.Memory: its ArrayBuffer never
  // detaches). Held so it cannot be collected while we may write into it.
  Napi::Reference<Napi::ArrayBuffer> memory_;
  uint32_t arenaOffset_ = 0;
  uint32_t arenaSize_ = 0;
  uint32_t descOffset_ = 0;
  uint32_t descMax_ = 0;
  int pendingErr_ = 0;  // receiveBatch(): error met after a non-empty batch, thrown next call

  Poller* poller_ = nullptr;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
  uint32_t maxPerWake_ = 0;
  bool paused_ = false;
  bool pinned_ = false;      // strong reference held while actively polling
  bool inCallback_ = false;  // inside the JS batch callback
  bool unrefed_ = false;     // uv_unref() requested: polling does not keep the loop alive

  napi_async_cleanup_hook_handle teardownHook_ = nullptr;
};

Napi::Function NetlinkSocket::Define(Napi::Env env) {
  return DefineClass(env, "NetlinkSocket",
                     {
                         InstanceMethod<&NetlinkSocket::Bind>("bind"),
                         InstanceAccessor<&NetlinkSocket::GetPortId>("portId"),
                         InstanceAccessor<&NetlinkSocket::GetFd>("fd"),
                         InstanceAccessor<&NetlinkSocket::GetClosed>("closed"),
                         InstanceMethod<&NetlinkSocket::SetRcvBuf>("setRcvBuf"),
                         InstanceMethod<&NetlinkSocket::SetSndBuf>("setSndBuf"),
                         InstanceMethod<&NetlinkSocket::SetExtAck>("setExtAck"),
                         InstanceMethod<&NetlinkSocket::SetNoEnobufs>("setNoEnobufs"),
                         InstanceMethod<&NetlinkSocket::SetBroadcastError>("setBroadcastError"),
                         InstanceMethod<&NetlinkSocket::AddMembership>("addMembership"),
                         InstanceMethod<&NetlinkSocket::DropMembership>("dropMembership"),
                         InstanceMethod<&NetlinkSocket::AttachFilter>("attachFilter"),
                         InstanceMethod<&NetlinkSocket::DetachFilter>("detachFilter"),
                         InstanceMethod<&NetlinkSocket::Send>("send"),
                         InstanceMethod<&NetlinkSocket::AttachArena>("attachArena"),
                         InstanceMethod<&NetlinkSocket::ReceiveBatch>("receiveBatch"),
                         InstanceMethod<&NetlinkSocket::Start>("start"),
                         InstanceMethod<&NetlinkSocket::Pause>("pause"),
                         InstanceMethod<&NetlinkSocket::Resume>("resume"),
                         InstanceMethod<&NetlinkSocket::RefHandle>("ref"),
                         InstanceMethod<&NetlinkSocket::UnrefHandle>("unref"),
                         InstanceMethod<&NetlinkSocket::Close>("close"),
                     });
}

// Reads options.netns of new NetlinkSocket(options); "" when absent.
bool NetnsOption(const Napi::CallbackInfo& info, std::string* netns) {
  Napi::Env env = info.Env();
  if (info.Length() == 0 || info[0].IsUndefined()) return true;
  if (!info[0].IsObject()) {
    ThrowType(env, "options must be an object");
    return false;
  }
  Napi::Value ns = info[0].As<Napi::Object>().Get("netns");
  if (ns.IsUndefined()) return true;
  if (!ns.IsString() || ns.As<Napi::String>().Utf8Value().empty()) {
    ThrowType(env, "options.netns must be a non-empty string");
    return false;
  }
  *netns = ns.As<Napi::String>().Utf8Value();
  return true;
}

// new NetlinkSocket({ netns?: string })
NetlinkSocket::NetlinkSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSocket>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  std::string netns;
  if (!NetnsOption(info, &netns)) return;

  SysError se;
  fd_ = netns.empty() ? OpenNetfilterSocket(&se) : OpenNetfilterSocketInNetns(ResolveNetnsPath(netns), &se);
  if (se) {
    ErrnoError(env, se).ThrowAsJavaScriptException();
    return;  // node-addon-api deletes this instance: ~UniqueFd has nothing to close
  }

  // When a worker (or the process) shuts down with the socket still open, the
  // poll handle must be closed before the loop is: an async hook lets the
  // environment wait for uv_close() to finish.
  napi_add_async_cleanup_hook(env_, OnEnvTeardown, this, &teardownHook_);
}

NetlinkSocket::~NetlinkSocket() {
  // Collected without close(): same cleanup. pinned_ cannot be set here (a
  // pinned object is not collectable), so Shutdown() makes no JS calls but
  // releasing references.
  pinned_ = false;
  Shutdown();
  if (teardownHook_ != nullptr) napi_remove_async_cleanup_hook(std::exchange(teardownHook_, nullptr));
}

bool NetlinkSocket::CheckOpen(Napi::Env env, const char* syscall) {
  if (fd_.Valid()) return true;
  ErrnoError(env, EBADF, syscall, "socket is closed").ThrowAsJavaScriptException();
  return false;
}

// bind(groups): sockaddr_nl { nl_pid = 0 (the kernel picks the port id),
// nl_groups = legacy bitmask of multicast groups 1..32 (0 for none) }.
Napi::Value NetlinkSocket::Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t groups = 0;
  if (info.Length() > 0 && !ArgInt(info, 0, 0, UINT32_MAX, "groups", &groups)) return env.Undefined();
  if (!CheckOpen(env, "bind")) return env.Undefined();
  struct sockaddr_nl addr = {};
  addr.nl_family = AF_NETLINK;
  addr.nl_pid = 0;
  addr.nl_groups = static_cast<uint32_t>(groups);
  if (::bind(fd_.Get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) != 0) {
    ErrnoError(env, errno, "bind").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// portId: the port id (nl_pid) the kernel assigned, from getsockname(); 0
// before the socket is bound (bind() or the first send() binds it) or after close.
Napi::Value NetlinkSocket::GetPortId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!fd_.Valid()) return Napi::Number::New(env, 0);
  struct sockaddr_nl addr = {};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd_.Get(), reinterpret_cast<struct sockaddr*>(&addr), &len) != 0) {
    ErrnoError(env, errno, "getsockname").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, addr.nl_pid);
}

Napi::Value NetlinkSocket::GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_.Get()); }

Napi::Value NetlinkSocket::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !fd_.Valid());
}

bool NetlinkSocket::SetIntOption(Napi::Env env, int level, int name, const char* optName, int value) {
  if (::setsockopt(fd_.Get(), level, name, &value, sizeof(value)) != 0) {
    ErrnoError(env, errno, "setsockopt", optName).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool NetlinkSocket::GetIntOption(Napi::Env env, int level, int name, const char* optName, int* value) {
  socklen_t len = sizeof(*value);
  if (::getsockopt(fd_.Get(), level, name, value, &len) != 0) {
    ErrnoError(env, errno, "getsockopt", optName).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// setRcvBuf(bytes, force) -> { size, forced, forceDenied }.
// SO_RCVBUF is capped by net.core.rmem_max; SO_RCVBUFFORCE is not, but needs
// CAP_NET_ADMIN. Without it the call falls back to SO_RCVBUF and says so
// (forceDenied) so the caller can warn. `size` is what getsockopt reports:
// the kernel doubles the request to account for its bookkeeping.
Napi::Value NetlinkSocket::SetRcvBuf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t bytes = 0;
  bool force = false;
  if (!ArgInt(info, 0, 1, INT_MAX, "bytes", &bytes)) return env.Undefined();
  if (info.Length() > 1 && !info[1].IsUndefined() && !ArgBool(info, 1, "force", &force)) return env.Undefined();
  if (!CheckOpen(env, "setsockopt")) return env.Undefined();

  const int value = static_cast<int>(bytes);
  bool forced = false;
  bool denied = false;
  if (force) {
    if (::setsockopt(fd_.Get(), SOL_SOCKET, SO_RCVBUFFORCE, &value, sizeof(value)) == 0) {
      forced = true;
    } else if (errno == EPERM) {
      denied = true;
    } else {
      ErrnoError(env, errno, "setsockopt", "SO_RCVBUFFORCE").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  if (!forced && !SetIntOption(env, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", value)) return env.Undefined();

  int size = 0;
  if (!GetIntOption(env, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", &size)) return env.Undefined();
  Napi::Object out = Napi::Object::New(env);
  out.Set("size", Napi::Number::New(env, size));
  out.Set("forced", Napi::Boolean::New(env, forced));
  out.Set("forceDenied", Napi::Boolean::New(env, denied));
  return out;
}

// setSndBuf(bytes) -> effective SO_SNDBUF (doubled by the kernel, capped by wmem_max).
Napi::Value NetlinkSocket::SetSndBuf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t bytes = 0;
  if (!ArgInt(info, 0, 1, INT_MAX, "bytes", &bytes)) return env.Undefined();
  if (!CheckOpen(env, "setsockopt")) return env.Undefined();
  if (!SetIntOption(env, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", static_cast<int>(bytes))) return env.Undefined();
  int size = 0;
  if (!GetIntOption(env, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", &size)) return env.Undefined();
  return Napi::Number::New(env, size);
}

Napi::Value NetlinkSocket::BoolOption(const Napi::CallbackInfo& info, int name, const char* optName) {
  Napi::Env env = info.Env();
  bool on = false;
  if (!ArgBool(info, 0, "on", &on)) return env.Undefined();
  if (!CheckOpen(env, "setsockopt")) return env.Undefined();
  SetIntOption(env, SOL_NETLINK, name, optName, on ? 1 : 0);
  return env.Undefined();
}

// NETLINK_EXT_ACK: NLMSG_ERROR carries the kernel's explanation (NLMSGERR_ATTR_MSG).
Napi::Value NetlinkSocket::SetExtAck(const Napi::CallbackInfo& info) {
  return BoolOption(info, NETLINK_EXT_ACK, "NETLINK_EXT_ACK");
}

// NETLINK_NO_ENOBUFS: do not report receive-queue overflows (events still get lost).
Napi::Value NetlinkSocket::SetNoEnobufs(const Napi::CallbackInfo& info) {
  return BoolOption(info, NETLINK_NO_ENOBUFS, "NETLINK_NO_ENOBUFS");
}

// NETLINK_BROADCAST_ERROR: report delivery failures of broadcasts to the sender.
Napi::Value NetlinkSocket::SetBroadcastError(const Napi::CallbackInfo& info) {
  return BoolOption(info, NETLINK_BROADCAST_ERROR, "NETLINK_BROADCAST_ERROR");
}

Napi::Value NetlinkSocket::Membership(const Napi::CallbackInfo& info, int name, const char* optName) {
  Napi::Env env = info.Env();
  int64_t group = 0;
  if (!ArgInt(info, 0, 1, INT_MAX, "group", &group)) return env.Undefined();
  if (!CheckOpen(env, "setsockopt")) return env.Undefined();
  SetIntOption(env, SOL_NETLINK, name, optName, static_cast<int>(group));
  return env.Undefined();
}

// addMembership(group): NETLINK_ADD_MEMBERSHIP, e.g. NFNLGRP_CONNTRACK_NEW (1).
Napi::Value NetlinkSocket::AddMembership(const Napi::CallbackInfo& info) {
  return Membership(info, NETLINK_ADD_MEMBERSHIP, "NETLINK_ADD_MEMBERSHIP");
}

Napi::Value NetlinkSocket::DropMembership(const Napi::CallbackInfo& info) {
  return Membership(info, NETLINK_DROP_MEMBERSHIP, "NETLINK_DROP_MEMBERSHIP");
}

// attachFilter(program): SO_ATTACH_FILTER with a classic BPF program given as
// bytes of struct sock_filter[] (8 bytes each, host order), built in TS.
Napi::Value NetlinkSocket::AttachFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowType(env, "program must be a Uint8Array");
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  const size_t n = bytes.ByteLength() / sizeof(struct sock_filter);
  if (bytes.ByteLength() % sizeof(struct sock_filter) != 0 || n == 0 || n > BPF_MAXINSNS) {
    ThrowRange(env, "program must be 1..4096 struct sock_filter (8 bytes each)");
    return env.Undefined();
  }
  if (!CheckOpen(env, "setsockopt")) return env.Undefined();
  // Copied so the kernel reads properly aligned instructions whatever the
  // Uint8Array's offset in its buffer.
  std::vector<struct sock_filter> program(n);
  std::memcpy(program.data(), bytes.Data(), bytes.ByteLength());
  struct sock_fprog fprog = {static_cast<unsigned short>(n), program.data()};
  if (::setsockopt(fd_.Get(), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) != 0) {
    ErrnoError(env, errno, "setsockopt", "SO_ATTACH_FILTER").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value NetlinkSocket::DetachFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env, "setsockopt")) return env.Undefined();
  int unused = 0;
  if (::setsockopt(fd_.Get(), SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) != 0) {
    ErrnoError(env, errno, "setsockopt", "SO_DETACH_FILTER").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// send(bytes) -> bytes sent, to the kernel (sockaddr_nl.nl_pid 0). A full
// send buffer is an error with code EAGAIN, like any other.
Napi::Value NetlinkSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowType(env, "send(bytes): bytes must be a Uint8Array");
    return env.Undefined();
  }
  if (!CheckOpen(env, "sendto")) return env.Undefined();
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  struct sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = ::sendto(fd_.Get(), bytes.Data(), bytes.ByteLength(), 0, reinterpret_cast<struct sockaddr*>(&kernel),
                 sizeof(kernel));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    ErrnoError(env, errno, "sendto").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// attachArena(memory, arenaOffset, arenaSize, descOffset, descMax): where
// received datagrams go (ARENA / ARENA_SIZE) and where they are described
// (DESC / DESC_MAX). Both regions must lie inside `memory`, be 4-byte
// aligned and not overlap.
Napi::Value NetlinkSocket::AttachArena(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    ThrowType(env, "memory must be an ArrayBuffer (WebAssembly.Memory#buffer)");
    return env.Undefined();
  }
  Napi::ArrayBuffer buf = info[0].As<Napi::ArrayBuffer>();
  const int64_t total = static_cast<int64_t>(buf.ByteLength());
  int64_t arenaOff = 0, arenaSize = 0, descOff = 0, descMax = 0;
  if (!ArgInt(info, 1, 0, UINT32_MAX, "arenaOffset", &arenaOff) ||
      !ArgInt(info, 2, 4, UINT32_MAX, "arenaSize", &arenaSize) ||
      !ArgInt(info, 3, 0, UINT32_MAX, "descOffset", &descOff) ||
      !ArgInt(info, 4, 1, UINT32_MAX / kDescSize, "descMax", &descMax)) {
    return env.Undefined();
  }
  const int64_t descBytes = descMax * kDescSize;
  if (arenaOff % 4 != 0 || arenaSize % 4 != 0 || descOff % 4 != 0) {
    ThrowRange(env, "arenaOffset, arenaSize and descOffset must be multiples of 4");
    return env.Undefined();
  }
  if (arenaOff + arenaSize > total || descOff + descBytes > total) {
    ThrowRange(env, "arena or descriptor table extends past the end of memory");
    return env.Undefined();
  }
  if (arenaOff < descOff + descBytes && descOff < arenaOff + arenaSize) {
    ThrowRange(env, "arena and descriptor table overlap");
    return env.Undefined();
  }
  memory_ = Napi::Persistent(buf);
  arenaOffset_ = static_cast<uint32_t>(arenaOff);
  arenaSize_ = static_cast<uint32_t>(arenaSize);
  descOffset_ = static_cast<uint32_t>(descOff);
  descMax_ = static_cast<uint32_t>(descMax);
  return env.Undefined();
}

// Pointers into the memory for one drain. Taken afresh each time: cheap, and
// a detached buffer (ByteLength 0) is caught instead of written through.
bool NetlinkSocket::ArenaFromBuffer(ArenaView* view) {
  if (memory_.IsEmpty()) return false;
  Napi::ArrayBuffer buf = memory_.Value();
  const uint64_t total = buf.ByteLength();
  if (static_cast<uint64_t>(arenaOffset_) + arenaSize_ > total ||
      static_cast<uint64_t>(descOffset_) + static_cast<uint64_t>(descMax_) * kDescSize > total) {
    return false;
  }
  uint8_t* base = static_cast<uint8_t*>(buf.Data());
  *view = ArenaView{base + arenaOffset_, arenaSize_, base + descOffset_, descMax_};
  return true;
}

Napi::Value NetlinkSocket::BatchResult(Napi::Env env, const Batch& b) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("count", Napi::Number::New(env, b.count));
  out.Set("bytes", Napi::Number::New(env, b.bytes));
  out.Set("flags", Napi::Number::New(env, b.flags));
  out.Set("enobufs", Napi::Boolean::New(env, (b.flags & kBatchEnobufs) != 0));
  out.Set("truncated", Napi::Boolean::New(env, (b.flags & kBatchTrunc) != 0));
  out.Set("eagain", Napi::Boolean::New(env, b.eagain));
  return out;
}

// receiveBatch(maxDatagrams) -> { count, bytes, flags, enobufs, truncated, eagain }.
// Synchronous, never blocks. An error after some datagrams were received is
// kept and thrown by the next call, so the datagrams are not lost with it.
Napi::Value NetlinkSocket::ReceiveBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t max = 0;
  if (!ArgInt(info, 0, 1, UINT32_MAX, "maxDatagrams", &max)) return env.Undefined();
  if (!CheckOpen(env, "recvmsg")) return env.Undefined();
  if (pendingErr_ != 0) {
    ErrnoError(env, std::exchange(pendingErr_, 0), "recvmsg").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ArenaView view;
  if (!ArenaFromBuffer(&view)) {
    Napi::Error::New(env, "receiveBatch: no arena attached (attachArena) or memory detached")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Batch b = DrainInto(fd_.Get(), view, static_cast<uint32_t>(max));
  if (b.err != 0) {
    if (b.count == 0) {
      ErrnoError(env, b.err, "recvmsg").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    pendingErr_ = b.err;
  }
  return BatchResult(env, b);
}

// --- polling ---------------------------------------------------------------

// The wrapper must outlive an active poll even if JS drops every reference
// (like a Node handle); paused or closed, it may be collected.
void NetlinkSocket::Pin() {
  if (!pinned_) {
    Ref();
    pinned_ = true;
  }
}

void NetlinkSocket::Unpin() {
  if (pinned_) {
    pinned_ = false;
    Unref();
  }
}

int NetlinkSocket::StartPolling() {
  int rc = uv_poll_start(&poller_->handle, UV_READABLE, OnReadable);
  if (rc == 0) {
    paused_ = false;
    Pin();
  }
  return rc;
}

// start(callback, maxPerWake): poll the fd on this environment's loop (so it
// works in worker_threads) and on each wake-up receive one batch of at most
// maxPerWake datagrams, then call callback(err, count, flags) once. The
// callback reads the arena (through the Decoder) before returning: the next
// batch overwrites it. Level-triggered: what is left is read on the next
// loop iteration, so a flood cannot starve the loop.
// `err` is a Node-style error or null; `count` datagrams are valid even when
// `err` is set. After an error other than ENOBUFS polling is paused.
Napi::Value NetlinkSocket::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    ThrowType(env, "start(callback, maxPerWake): callback must be a function");
    return env.Undefined();
  }
  int64_t maxPerWake = 0;
  if (!ArgInt(info, 1, 1, UINT32_MAX, "maxPerWake", &maxPerWake)) return env.Undefined();
  if (!CheckOpen(env, "uv_poll_start")) return env.Undefined();
  if (poller_ != nullptr) {
    Napi::Error::New(env, "start(): already started").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ArenaView view;
  if (!ArenaFromBuffer(&view)) {
    Napi::Error::New(env, "start(): no arena attached (attachArena)").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "start(): no event loop").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* p = new Poller{};
  p->owner = this;
  int rc = uv_poll_init_socket(loop, &p->handle, fd_.Get());
  if (rc != 0) {
    delete p;  // never initialised: nothing for libuv to close
    ErrnoError(env, -rc, "uv_poll_init").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  p->handle.data = p;
  poller_ = p;
  if (unrefed_) uv_unref(reinterpret_cast<uv_handle_t*>(&p->handle));

  callback_ = Napi::Persistent(info[0].As<Napi::Function>());
  asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "conntrack:NetlinkSocket");
  maxPerWake_ = static_cast<uint32_t>(maxPerWake);
  rc = StartPolling();
  if (rc != 0) {
    Shutdown();
    ErrnoError(env, -rc, "uv_poll_start").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// pause(): stop reading (backpressure); datagrams queue in the socket's
// receive buffer, and past SO_RCVBUF the kernel drops them (ENOBUFS).
Napi::Value NetlinkSocket::Pause(const Napi::CallbackInfo& info) {
  if (poller_ != nullptr && !paused_) {
    uv_poll_stop(&poller_->handle);
    paused_ = true;
    Unpin();
  }
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::Resume(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (poller_ != nullptr && paused_) {
    int rc = StartPolling();
    if (rc != 0) ErrnoError(env, -rc, "uv_poll_start").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// ref()/unref(): whether an active poll keeps the event loop (process) alive,
// like Node's handle.ref()/unref().
Napi::Value NetlinkSocket::RefHandle(const Napi::CallbackInfo& info) {
  unrefed_ = false;
  if (poller_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&poller_->handle));
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::UnrefHandle(const Napi::CallbackInfo& info) {
  unrefed_ = true;
  if (poller_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&poller_->handle));
  return info.Env().Undefined();
}

void NetlinkSocket::OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  Poller* p = static_cast<Poller*>(handle->data);
  if (p->owner != nullptr) p->owner->DeliverBatch(status);
}

void NetlinkSocket::DeliverBatch(int status) {
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  // A local handle keeps the wrapper (and so `this`) alive even if the
  // callback closes the socket and drops the last reference.
  Napi::Object self = Value();

  Batch b;
  const char* syscall = "recvmsg";
  ArenaView view;
  if (status == UV_EBADF && fd_.Valid() && ArenaFromBuffer(&view)) {
    // libuv reports POLLERR as UV_EBADF and stops the handle. On a netlink
    // socket POLLERR means sk_err is set, normally ENOBUFS (the receive queue
    // overran and the kernel dropped messages): recvmsg returns it once,
    // clears it, and then the queued datagrams. So drain, and re-arm the poll
    // libuv stopped; only a hard error from the drain itself is reported.
    b = DrainInto(fd_.Get(), view, maxPerWake_);
    if (b.err == 0 && !paused_) {
      int rc = uv_poll_start(&poller_->handle, UV_READABLE, OnReadable);
      if (rc != 0) {
        b.err = -rc;
        syscall = "uv_poll_start";
      }
    }
  } else if (status < 0) {
    b.err = -status;
    syscall = "uv_poll";
  } else if (!ArenaFromBuffer(&view)) {
    b.err = EFAULT;  // the memory went away under us; cannot happen with a fixed-size WebAssembly.Memory
  } else {
    b = DrainInto(fd_.Get(), view, maxPerWake_);
  }
  if (b.count == 0 && b.err == 0 && b.flags == 0) return;  // spurious wake-up
  // A hard error would make a level-triggered poll fire again at once.
  if (b.err != 0 && !paused_) {
    uv_poll_stop(&poller_->handle);
    paused_ = true;
    Unpin();
  }

  napi_value argv[3] = {b.err != 0 ? MakeErrnoError(env_, b.err, syscall, std::string(), false) : env.Null(),
                        Napi::Number::New(env, b.count), Napi::Number::New(env, b.flags)};
  if (argv[0] == nullptr) argv[0] = env.Null();
  // Raw napi_make_callback: node-addon-api would make any failure fatal, and
  // failing is expected while a worker is being terminated.
  napi_value result;
  inCallback_ = true;
  napi_status called = napi_make_callback(env_, static_cast<napi_async_context>(*asyncContext_), self, callback_.Value(), 3, argv, &result);
  inCallback_ = false;
  if (!fd_.Valid()) {
    // close() ran inside the callback; what it could not release while the
    // callback was running goes now.
    callback_.Reset();
    asyncContext_.reset();
  }
  if (called == napi_ok) return;
  bool pending = false;
  napi_is_exception_pending(env_, &pending);
  if (pending) {
    // The callback threw and there is no JS frame below us: hand the
    // exception to process 'uncaughtException'.
    napi_value exception;
    napi_get_and_clear_last_exception(env_, &exception);
    napi_fatal_exception(env_, exception);
  } else if (poller_ != nullptr && !paused_) {
    // JS cannot run any more: the environment is stopping. Stop reading; the
    // teardown hook closes the socket.
    uv_poll_stop(&poller_->handle);
    paused_ = true;
    Unpin();
  }
}

void NetlinkSocket::OnPollerClosed(uv_handle_t* handle) {
  Poller* p = static_cast<Poller*>(handle->data);
  if (p->teardownHook != nullptr) napi_remove_async_cleanup_hook(p->teardownHook);
  delete p;
}

// The environment is shutting down with this socket open: close it, and let
// the environment finish only once libuv has released the poll handle.
void NetlinkSocket::OnEnvTeardown(napi_async_cleanup_hook_handle hook, void* arg) {
  NetlinkSocket* self = static_cast<NetlinkSocket*>(arg);
  self->teardownHook_ = nullptr;
  if (self->poller_ != nullptr) {
    self->poller_->teardownHook = hook;
    self->Shutdown();
  } else {
    self->Shutdown();
    napi_remove_async_cleanup_hook(hook);
  }
}

// Close everything, once. uv_close() also stops the poll (and removes the fd
// from epoll at once), so closing the fd right after is safe; the Poller is
// freed by the close callback.
void NetlinkSocket::Shutdown() {
  if (poller_ != nullptr) {
    poller_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&poller_->handle), OnPollerClosed);
    poller_ = nullptr;
  }
  fd_.Reset();
  memory_.Reset();
  pendingErr_ = 0;
  if (!inCallback_) {
    // Inside the callback these are still in use; DeliverBatch releases them.
    callback_.Reset();
    asyncContext_.reset();
  }
  Unpin();
}

// close(): idempotent, and safe from inside the batch callback.
Napi::Value NetlinkSocket::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  if (teardownHook_ != nullptr) napi_remove_async_cleanup_hook(std::exchange(teardownHook_, nullptr));
  return info.Env().Undefined();
}

// openProcNet(name, netns?): an O_RDONLY descriptor of /proc/net/NAME as the
// network namespace `netns` (or ours) shows it, for the caller to read and
// close. Only [a-z0-9_]+ names: this opens nothing but /proc/net tables.
Napi::Value OpenProcNetFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString() || !ValidProcNetName(info[0].As<Napi::String>().Utf8Value())) {
    ThrowType(env, "name must be a /proc/net file name ([a-z0-9_]+)");
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string netns;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsString() || info[1].As<Napi::String>().Utf8Value().empty()) {
      ThrowType(env, "netns must be a non-empty string");
      return env.Undefined();
    }
    netns = info[1].As<Napi::String>().Utf8Value();
  }
  SysError se;
  UniqueFd fd = netns.empty() ? OpenProcNet(name, &se) : OpenProcNetInNetns(ResolveNetnsPath(netns), name, &se);
  if (se) {
    ErrnoError(env, se).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd.Release());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NetlinkSocket", NetlinkSocket::Define(env));
  exports.Set("openProcNet", Napi::Function::New(env, OpenProcNetFile, "openProcNet"));
  // Constants the TS side checks against src/generated/layout.ts.
  exports.Set("DESC_SIZE", Napi::Number::New(env, kDescSize));
  exports.Set("DESC_OFF", Napi::Number::New(env, kDescOff));
  exports.Set("DESC_LEN", Napi::Number::New(env, kDescLen));
  exports.Set("DESC_SRC_PID", Napi::Number::New(env, kDescSrcPid));
  exports.Set("DESC_FLAGS", Napi::Number::New(env, kDescFlags));
  exports.Set("DGRAM_TRUNC", Napi::Number::New(env, kDgramTrunc));
  exports.Set("MAX_DATAGRAM", Napi::Number::New(env, kMaxDatagram));
  exports.Set("BATCH_ENOBUFS", Napi::Number::New(env, kBatchEnobufs));
  exports.Set("BATCH_TRUNC", Napi::Number::New(env, kBatchTrunc));
  return exports;
}

}  // namespace
}  // namespace conntrack_host

// NODE_API_MODULE pastes its second argument into a name: it must be unqualified.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return conntrack_host::Init(env, exports); }

NODE_API_MODULE(conntrack_host, InitModule)
