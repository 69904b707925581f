// Creating the NETLINK_NETFILTER socket, optionally inside another network
// namespace. No N-API here: plain results that addon.cc turns into JS errors.
#pragma once

#include <string>

#include "fd.h"

namespace conntrack_host {

// A failed system call: errno, the call's name and what it was about
// (a path, an option name), like the fields of a Node core error.
struct SysError {
  int err = 0;
  const char* syscall = nullptr;
  std::string detail;
  bool isPath = false;  // `detail` is a file path (becomes err.path in JS)

  explicit operator bool() const { return err != 0; }
};

// "NAME" (no '/') means /var/run/netns/NAME, as `ip netns` names them;
// anything with a '/' is a path, e.g. /proc/PID/ns/net.
std::string ResolveNetnsPath(const std::string& spec);

// socket(AF_NETLINK, SOCK_RAW|SOCK_NONBLOCK|SOCK_CLOEXEC, NETLINK_NETFILTER)
// in the calling thread's network namespace.
UniqueFd OpenNetfilterSocket(SysError* error);

// The same socket, created inside the network namespace at `path`. A socket
// belongs to the namespace it was created in for its whole life, so a
// short-lived thread enters the namespace (setns(CLONE_NEWNET) changes only the
// calling thread), creates the socket and exits. Node's own threads never
// change namespace.
UniqueFd OpenNetfilterSocketInNetns(const std::string& path, SysError* error);

// A /proc/net file (NAME is [a-z0-9_]+, e.g. "netlink"): /proc/net shows the
// namespace of the thread that opens it, and an open file keeps showing that
// namespace; read from offset 0 it is generated afresh. Used to look up which
// socket holds a netlink port id in the namespace of our socket.
bool ValidProcNetName(const std::string& name);
UniqueFd OpenProcNet(const std::string& name, SysError* error);
UniqueFd OpenProcNetInNetns(const std::string& path, const std::string& name, SysError* error);

}  // namespace conntrack_host
