// conntrack host addon: owns the NETLINK_NETFILTER socket and nothing else.
// No parsing happens here; bytes go to the WASM arena and are decoded there.
// This first slice can only open and close a socket; the live-kernel work
// (bind, groups, options, batched receive into the arena, libuv poll) follows.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// Node-core style error: message "syscall CODE", with errno/code/syscall.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  const char* code = nullptr;
  switch (err) {
    case EPERM: code = "EPERM"; break;
    case EACCES: code = "EACCES"; break;
    case EPROTONOSUPPORT: code = "EPROTONOSUPPORT"; break;
    case EAFNOSUPPORT: code = "EAFNOSUPPORT"; break;
    case EMFILE: code = "EMFILE"; break;
    case ENFILE: code = "ENFILE"; break;
    case ENOBUFS: code = "ENOBUFS"; break;
    case ENOMEM: code = "ENOMEM"; break;
    case EBADF: code = "EBADF"; break;
    default: code = "EUNKNOWN"; break;
  }
  std::string msg = std::string(syscall) + " " + code + " (" + std::strerror(err) + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("code", Napi::String::New(env, code));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

// open(): returns the fd of a new non-blocking NETLINK_NETFILTER socket.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) {
    ErrnoError(env, errno, "socket").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// close(fd): closes a socket opened by open(); closing twice is the caller's bug,
// reported as EBADF rather than silently closing someone else's fd.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "close(fd): fd must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (close(fd) != 0) {
    ErrnoError(env, errno, "close").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  return exports;
}

}  // namespace

NODE_API_MODULE(conntrack_host, Init)
