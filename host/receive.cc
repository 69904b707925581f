#include "receive.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>

namespace conntrack_host {

namespace {

// WASM memory is little endian whatever the host is; write byte by byte so the
// descriptor table reads the same on any CPU.
void StoreLE32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

uint32_t Align4(uint32_t n) { return (n + 3u) & ~3u; }

void WriteDescriptor(uint8_t* d, uint32_t off, uint32_t len, uint32_t srcPid, uint32_t flags) {
  StoreLE32(d + kDescOff, off);
  StoreLE32(d + kDescLen, len);
  StoreLE32(d + kDescSrcPid, srcPid);
  StoreLE32(d + kDescFlags, flags);
}

}  // namespace

// A recvmsg() loop rather than recvmmsg(): recvmmsg needs every slot laid out
// before the sizes are known, so slots would be kMaxDatagram apart and a 4 MiB
// arena would hold 64 datagrams; one recvmsg per datagram packs them back to
// back (thousands of events per batch) with the same single copy.
Batch DrainInto(int fd, const ArenaView& view, uint32_t maxDatagrams) {
  Batch b;
  const uint32_t limit = std::min(maxDatagrams, view.descMax);
  uint32_t fill = 0;
  while (b.count < limit) {
    const uint32_t room = view.arenaSize - fill;
    if (room == 0 || (b.count > 0 && room < kMaxDatagram)) break;
    const uint32_t give = std::min(room, kMaxDatagram);

    struct sockaddr_nl src = {};
    struct iovec iov = {view.arena + fill, give};
    struct msghdr msg = {};
    msg.msg_name = &src;
    msg.msg_namelen = sizeof(src);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    // MSG_TRUNC in flags makes recvmsg return the datagram's real length, so a
    // cut datagram is told apart from one that exactly filled the slot.
    ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) {
        b.eagain = true;
        break;
      }
      // ENOBUFS: the receive queue overflowed and the kernel dropped
      // messages (for listeners: lost events). The socket error is cleared by
      // reporting it and the queued datagrams are still there: keep going.
      if (e == ENOBUFS) {
        b.flags |= kBatchEnobufs;
        continue;
      }
      b.err = e;
      break;
    }

    const uint32_t real = static_cast<uint32_t>(n);
    const uint32_t len = std::min(real, give);
    uint32_t flags = 0;
    if ((msg.msg_flags & MSG_TRUNC) != 0 || real > give) {
      flags |= kDgramTrunc;
      b.flags |= kBatchTrunc;
    }
    WriteDescriptor(view.desc + b.count * kDescSize, fill, len, src.nl_pid, flags);
    b.count++;
    b.bytes += len;
    // Arena size is a multiple of 4, so the aligned fill never passes it.
    fill = Align4(fill + len);
  }
  return b;
}

}  // namespace conntrack_host
