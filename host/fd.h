// A file descriptor that is closed exactly once, by whoever owns it last.
#pragma once

#include <unistd.h>

#include <utility>

namespace conntrack_host {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }

  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.Release();
    }
    return *this;
  }

  int Get() const { return fd_; }
  bool Valid() const { return fd_ >= 0; }

  // Give up ownership without closing.
  int Release() { return std::exchange(fd_, -1); }

  // close(2) the descriptor if there is one. Its result is ignored on purpose:
  // on Linux the fd is released even when close() reports EINTR or EIO, so
  // retrying could close an fd another thread has just been given.
  void Reset() {
    int fd = std::exchange(fd_, -1);
    if (fd >= 0) ::close(fd);
  }

 private:
  int fd_ = -1;
};

}  // namespace conntrack_host
