// Receiving datagrams straight into the WASM receive arena. No parsing: the
// host only records where each datagram landed, how long it is, who sent it
// and whether it was cut; the decoder (assembly/) reads the rest.
#pragma once

#include <cstdint>

namespace conntrack_host {

// The datagram descriptor as assembly/layout.ts defines it (DESC_*): the TS
// side checks these against src/generated/layout.ts when it loads the addon,
// so a layout change without a rebuild fails loudly instead of misreading.
constexpr uint32_t kDescSize = 16;      // DESC_SIZE
constexpr uint32_t kDescOff = 0;        // DESC_OFF: u32 offset inside the arena
constexpr uint32_t kDescLen = 4;        // DESC_LEN: u32 bytes received
constexpr uint32_t kDescSrcPid = 8;     // DESC_SRC_PID: u32 sockaddr_nl.nl_pid of the sender
constexpr uint32_t kDescFlags = 12;     // DESC_FLAGS: u32 DGRAM_* bits
constexpr uint32_t kDgramTrunc = 1;     // DGRAM_TRUNC: MSG_TRUNC, the datagram was longer

// The most one datagram is given. The kernel sizes netlink dump skbs from the
// largest recvmsg() buffer it has seen, capped near 32 KiB, and ctnetlink
// events are single messages far below that; 64 KiB therefore never cuts a
// real ctnetlink datagram.
constexpr uint32_t kMaxDatagram = 65536;

// Batch flags passed to JS with each batch (BATCH_*).
constexpr uint32_t kBatchEnobufs = 1;  // recvmsg said ENOBUFS: the kernel dropped messages
constexpr uint32_t kBatchTrunc = 2;    // at least one datagram has DGRAM_TRUNC

// Where received bytes go: raw pointers into the WASM memory, valid for one
// drain (the caller re-derives them from the ArrayBuffer each time).
struct ArenaView {
  uint8_t* arena = nullptr;
  uint32_t arenaSize = 0;  // multiple of 4
  uint8_t* desc = nullptr;
  uint32_t descMax = 0;
};

struct Batch {
  uint32_t count = 0;   // descriptors 0..count-1 are filled
  uint32_t bytes = 0;   // payload bytes received (sum of DESC_LEN)
  uint32_t flags = 0;   // kBatch* bits
  bool eagain = false;  // the socket was drained
  int err = 0;          // a receive error other than EAGAIN/EINTR/ENOBUFS stopped the batch
};

// Non-blocking drain of up to `maxDatagrams` datagrams from `fd` into
// consecutive 4-byte aligned slots of the arena, from offset 0. Never writes
// past the arena: each datagram is given min(kMaxDatagram, room left); once a
// datagram is in, the batch stops when the room left is below kMaxDatagram
// rather than cut a later datagram. Only a first datagram larger than the
// whole arena is cut (DGRAM_TRUNC), so progress is always made.
Batch DrainInto(int fd, const ArenaView& view, uint32_t maxDatagrams);

}  // namespace conntrack_host
