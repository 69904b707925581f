#include "netns.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

#include <cerrno>

namespace conntrack_host {

std::string ResolveNetnsPath(const std::string& spec) {
  if (spec.find('/') != std::string::npos) return spec;
  return "/var/run/netns/" + spec;
}

UniqueFd OpenNetfilterSocket(SysError* error) {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) {
    error->err = errno;
    error->syscall = "socket";
  }
  return UniqueFd(fd);
}

namespace {

// What the namespace thread is given and hands back.
struct NetnsJob {
  int nsfd;
  UniqueFd (*open)(const std::string& arg, SysError* error);
  const std::string* arg;
  UniqueFd fd;
  SysError error;
};

void* CreateInNetns(void* arg) {
  NetnsJob* job = static_cast<NetnsJob*>(arg);
  // Only this thread moves; it exits right after, taking the namespace
  // reference with it.
  if (::setns(job->nsfd, CLONE_NEWNET) != 0) {
    job->error.err = errno;
    job->error.syscall = "setns";
    return nullptr;
  }
  job->fd = job->open(*job->arg, &job->error);
  return nullptr;
}

// Runs open(arg) on a short-lived thread inside the namespace at `path`.
UniqueFd OpenInNetns(const std::string& path, UniqueFd (*open)(const std::string&, SysError*), const std::string& arg,
                     SysError* error) {
  // Opened here rather than in the thread so that a missing namespace is
  // reported as "open ENOENT <path>" before any thread exists.
  UniqueFd nsfd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!nsfd.Valid()) {
    *error = SysError{errno, "open", path, true};
    return UniqueFd();
  }

  NetnsJob job{nsfd.Get(), open, &arg, UniqueFd(), SysError{}};
  // pthread rather than std::thread: node-gyp builds with -fno-exceptions,
  // where a failing std::thread constructor aborts the process instead of
  // reporting EAGAIN.
  pthread_t thread;
  int rc = ::pthread_create(&thread, nullptr, CreateInNetns, &job);
  if (rc != 0) {
    *error = SysError{rc, "pthread_create", std::string(), false};
    return UniqueFd();
  }
  ::pthread_join(thread, nullptr);

  if (job.error) {
    *error = job.error;
    if (error->syscall != nullptr && std::string(error->syscall) == "setns") {
      error->detail = path;
      error->isPath = true;
    }
    return UniqueFd();
  }
  return std::move(job.fd);
}

UniqueFd OpenNetfilterSocketArg(const std::string&, SysError* error) { return OpenNetfilterSocket(error); }

}  // namespace

UniqueFd OpenNetfilterSocketInNetns(const std::string& path, SysError* error) {
  return OpenInNetns(path, OpenNetfilterSocketArg, std::string(), error);
}

bool ValidProcNetName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

UniqueFd OpenProcNet(const std::string& name, SysError* error) {
  std::string file = "/proc/thread-self/net/" + name;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) *error = SysError{errno, "open", file, true};
  return UniqueFd(fd);
}

UniqueFd OpenProcNetInNetns(const std::string& path, const std::string& name, SysError* error) {
  return OpenInNetns(path, OpenProcNet, name, error);
}

}  // namespace conntrack_host
