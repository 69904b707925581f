// ctnetlink decoder: walks a batch of received datagrams the way libmnl's
// mnl_cb_run does and writes one fixed-size record per netlink message.
//
// Rules this file keeps:
// - no allocation (runtime stub, no `new`): records live at fixed addresses;
// - every read is bounds-checked against its container before it happens, so
//   bad bytes end in a KIND_BAD record (code, attribute, offset), never a trap;
// - unknown attribute types are skipped at every level (newer kernels add them);
// - the checked build (BOUNDS_CHECKED=1) also verifies each load against the
//   current message and counts violations, which the property tests assert on.
import * as L from "./layout";
import * as A from "./attrs";
import { filterPass } from "./filter";
import { shapeApply, shapeBounds, shapeInit, shapeMiss } from "./shape";

// ---------------------------------------------------------------------------
// Bounds-instrumented loads. In the release build `chk` compiles to nothing.
let gLo: usize = 0;
let gHi: usize = 0;

// @ts-ignore: decorator
@inline function chk(p: usize, n: usize): void {
  if (BOUNDS_CHECKED) {
    if (p < gLo || p + n > gHi) {
      const c: usize = L.CTRL;
      const v = load<u32>(c + L.CTRL_VIOLATIONS);
      if (v == 0) store<u32>(c + L.CTRL_FIRST_VIOLATION, <u32>p);
      store<u32>(c + L.CTRL_VIOLATIONS, v + 1);
    }
  }
}
// @ts-ignore: decorator
@inline function rd8(p: usize): u32 { chk(p, 1); return <u32>load<u8>(p); }
// @ts-ignore: decorator
@inline function rdh16(p: usize): u32 { chk(p, 2); return <u32>load<u16>(p); }
// @ts-ignore: decorator
@inline function rdh32(p: usize): u32 { chk(p, 4); return load<u32>(p); }
// @ts-ignore: decorator
@inline function rdb16(p: usize): u32 { chk(p, 2); return <u32>bswap<u16>(load<u16>(p)); }
// @ts-ignore: decorator
@inline function rdb32(p: usize): u32 { chk(p, 4); return bswap<u32>(load<u32>(p)); }
// @ts-ignore: decorator
@inline function rdb64(p: usize): u64 { chk(p, 8); return bswap<u64>(load<u64>(p)); }

// ---------------------------------------------------------------------------
// Sticky error of the message being decoded (first fault wins).
let gErr: u32 = 0;
let gErrAttr: u32 = 0;
let gErrAt: usize = 0;

function fail(code: u32, attr: u32, at: usize): bool {
  if (gErr == 0) {
    gErr = code;
    gErrAttr = attr;
    gErrAt = at;
  }
  return false;
}


// Attribute header check, written at each loop head as
//   if (end - p < 4) return badAttr(p, end);
//   const n = <usize>rdh16(p) - 4;
//   if (n > end - p - 4) return badAttr(p, end);
// The second unsigned compare covers nla_len < 4 (n wraps around) and
// nla_len beyond the container. Plain `if`s, not `||`: V8 materializes a
// short-circuit result as a boolean and tests it again. The cold path works
// out which fault it was.
function badAttr(p: usize, end: usize): bool {
  if (end - p < 4) return fail(L.DERR_ATTR_TRUNCATED, 0, p);
  // NLA_TYPE_MASK: drop NLA_F_NESTED and NLA_F_NET_BYTEORDER
  return fail(L.DERR_ATTR_LEN, rdh16(p + 2) & 0x3fff, p);
}

// Payload of the wrong size for a fixed-size attribute.
function badPayload(type: u32, p: usize): bool {
  return fail(L.DERR_ATTR_PAYLOAD, type, p);
}

// Advance past an attribute whose payload is n bytes: header 4 + payload,
// padded to 4 (the last attribute of a container may be unpadded; the
// caller's `p < end` test ends the walk either way).
// @ts-ignore: decorator
@inline function next(p: usize, n: usize): usize {
  return p + ((n + 7) & ~3);
}

// ---------------------------------------------------------------------------
// Fast paths. The kernel writes each nest in one fixed shape (ctnetlink's
// ctnetlink_dump_* functions): same attributes, same order, same lengths.
// A fast path compares the nlattr header words of that shape (len | type << 16,
// host order) and, when every one matches and the bytes are there, copies the
// values without the per-attribute dispatch. Anything else, even one
// different header, goes the generic way, which decodes the same bytes to the
// same record: the "generic" build (FAST_PATHS=0) exists so tests can prove it.
const NESTED: u32 = 0x8000; // NLA_F_NESTED

// @ts-ignore: decorator
@inline function hw(len: u32, type: u32): u32 {
  return len | (type << 16);
}

// Two adjacent header words as one u64 (a nest header and its first child).
// @ts-ignore: decorator
@inline function hw2(a: u32, b: u32): u64 {
  return <u64>a | (<u64>b << 32);
}

// Template tests are written as XOR/OR of the loaded words and one compare:
// an `&&` chain costs a materialized boolean per term in V8's code.
// @ts-ignore: decorator
@inline function rdh64(p: usize): u64 { chk(p, 8); return load<u64>(p); }

// Length of a NUL-terminated string payload, without the NUL.
function strLen(p: usize, n: usize): usize {
  for (let i: usize = 0; i < n; i++) {
    if (rd8(p + i) == 0) return i;
  }
  return n;
}

// ---------------------------------------------------------------------------
// CTA_TUPLE_* (and CTA_IP_*, CTA_PROTO_* inside it). Presence bits are
// accumulated in a local and OR-ed into the record once per nest: WASM
// globals live in instance memory in V8, so a per-attribute global
// read-modify-write costs more than the attribute itself.

// @ts-ignore: decorator
@inline function orU16(at: usize, bits: u32): void {
  store<u16>(at, load<u16>(at) | <u16>bits);
}
// @ts-ignore: decorator
@inline function orU32(at: usize, bits: u32): void {
  store<u32>(at, load<u32>(at) | bits);
}

function parseTupleIp(t: usize, p: usize, end: usize): bool {
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_IP_V4_SRC:
      case A.CTA_IP_V4_DST: {
        if (n != 4) return badPayload(type, p);
        const dst = t + (type == A.CTA_IP_V4_SRC ? L.TUP_SRC : L.TUP_DST);
        chk(pl, 4);
        store<u32>(dst, load<u32>(pl));
        store<u8>(t + L.TUP_L3, 2); // AF_INET
        bits |= type == A.CTA_IP_V4_SRC ? L.TP_SRC : L.TP_DST;
        break;
      }
      case A.CTA_IP_V6_SRC:
      case A.CTA_IP_V6_DST: {
        if (n != 16) return badPayload(type, p);
        const dst = t + (type == A.CTA_IP_V6_SRC ? L.TUP_SRC : L.TUP_DST);
        chk(pl, 16);
        store<u64>(dst, load<u64>(pl));
        store<u64>(dst + 8, load<u64>(pl + 8));
        store<u8>(t + L.TUP_L3, 10); // AF_INET6
        bits |= type == A.CTA_IP_V6_SRC ? L.TP_SRC : L.TP_DST;
        break;
      }
      default:
        break;
    }
    p = next(p, n);
  }
  orU16(t + L.TUP_PRESENT, bits);
  return true;
}

function parseTupleProto(t: usize, p: usize, end: usize): bool {
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_PROTO_NUM: {
        if (n != 1) return badPayload(type, p);
        store<u8>(t + L.TUP_PROTO, <u8>rd8(pl));
        bits |= L.TP_PROTO;
        break;
      }
      case A.CTA_PROTO_SRC_PORT: {
        if (n != 2) return badPayload(type, p);
        store<u16>(t + L.TUP_SPORT, <u16>rdb16(pl));
        bits |= L.TP_SPORT;
        break;
      }
      case A.CTA_PROTO_DST_PORT: {
        if (n != 2) return badPayload(type, p);
        store<u16>(t + L.TUP_DPORT, <u16>rdb16(pl));
        bits |= L.TP_DPORT;
        break;
      }
      case A.CTA_PROTO_ICMP_ID:
      case A.CTA_PROTO_ICMPV6_ID: {
        if (n != 2) return badPayload(type, p);
        store<u16>(t + L.TUP_ICMP_ID, <u16>rdb16(pl));
        bits |= type == A.CTA_PROTO_ICMP_ID ? L.TP_ICMP_ID : L.TP_ICMPV6_ID;
        break;
      }
      case A.CTA_PROTO_ICMP_TYPE:
      case A.CTA_PROTO_ICMPV6_TYPE: {
        if (n != 1) return badPayload(type, p);
        store<u8>(t + L.TUP_ICMP_TYPE, <u8>rd8(pl));
        bits |= type == A.CTA_PROTO_ICMP_TYPE ? L.TP_ICMP_TYPE : L.TP_ICMPV6_TYPE;
        break;
      }
      case A.CTA_PROTO_ICMP_CODE:
      case A.CTA_PROTO_ICMPV6_CODE: {
        if (n != 1) return badPayload(type, p);
        store<u8>(t + L.TUP_ICMP_CODE, <u8>rd8(pl));
        bits |= type == A.CTA_PROTO_ICMP_CODE ? L.TP_ICMP_CODE : L.TP_ICMPV6_CODE;
        break;
      }
      default:
        break;
    }
    p = next(p, n);
  }
  orU16(t + L.TUP_PRESENT, bits);
  return true;
}

function parseTuple(t: usize, p: usize, end: usize): bool {
  store<u16>(t + L.TUP_PRESENT, 0);
  store<u8>(t + L.TUP_L3, 0);
  let bits: u32 = 0;
  if (FAST_PATHS) {
    const left = end - p;
    // CTA_TUPLE_IP { CTA_IP_V4_SRC, CTA_IP_V4_DST } or the IPv6 pair
    if (left >= 44 && ((rdh64(p) ^ hw2(hw(44, NESTED | A.CTA_TUPLE_IP), hw(20, A.CTA_IP_V6_SRC))) |
        <u64>(rdh32(p + 24) ^ hw(20, A.CTA_IP_V6_DST))) == 0) {
      chk(p + 8, 16);
      store<u64>(t + L.TUP_SRC, load<u64>(p + 8));
      store<u64>(t + L.TUP_SRC + 8, load<u64>(p + 16));
      chk(p + 28, 16);
      store<u64>(t + L.TUP_DST, load<u64>(p + 28));
      store<u64>(t + L.TUP_DST + 8, load<u64>(p + 36));
      store<u8>(t + L.TUP_L3, 10); // AF_INET6
      bits |= L.TP_IP | L.TP_SRC | L.TP_DST;
      p += 44;
    } else if (left >= 20 && ((rdh64(p) ^ hw2(hw(20, NESTED | A.CTA_TUPLE_IP), hw(8, A.CTA_IP_V4_SRC))) |
        <u64>(rdh32(p + 12) ^ hw(8, A.CTA_IP_V4_DST))) == 0) {
      store<u32>(t + L.TUP_SRC, rdh32(p + 8));
      store<u32>(t + L.TUP_DST, rdh32(p + 16));
      store<u8>(t + L.TUP_L3, 2); // AF_INET
      bits |= L.TP_IP | L.TP_SRC | L.TP_DST;
      p += 20;
    }
    // CTA_TUPLE_PROTO { CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT }
    if (end - p >= 28 && ((rdh64(p) ^ hw2(hw(28, NESTED | A.CTA_TUPLE_PROTO), hw(5, A.CTA_PROTO_NUM))) |
        <u64>(rdh32(p + 12) ^ hw(6, A.CTA_PROTO_SRC_PORT)) | <u64>(rdh32(p + 20) ^ hw(6, A.CTA_PROTO_DST_PORT))) == 0) {
      store<u8>(t + L.TUP_PROTO, <u8>rd8(p + 8));
      store<u16>(t + L.TUP_SPORT, <u16>rdb16(p + 16));
      store<u16>(t + L.TUP_DPORT, <u16>rdb16(p + 24));
      bits |= L.TP_PROTO_NEST | L.TP_PROTO | L.TP_SPORT | L.TP_DPORT;
      p += 28;
    }
  }
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_TUPLE_IP: {
        bits |= L.TP_IP;
        if (!parseTupleIp(t, pl, pl + n)) return false;
        break;
      }
      case A.CTA_TUPLE_PROTO: {
        bits |= L.TP_PROTO_NEST;
        if (!parseTupleProto(t, pl, pl + n)) return false;
        break;
      }
      case A.CTA_TUPLE_ZONE: {
        if (n != 2) return badPayload(type, p);
        store<u16>(t + L.TUP_ZONE, <u16>rdb16(pl));
        bits |= L.TP_ZONE;
        break;
      }
      default:
        break;
    }
    p = next(p, n);
  }
  orU16(t + L.TUP_PRESENT, bits);
  return true;
}

// ---------------------------------------------------------------------------
// CTA_PROTOINFO and its TCP / DCCP / SCTP nests.
function parseProtoinfoTcp(r: usize, p: usize, end: usize): bool {
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_PROTOINFO_TCP_STATE: {
        if (n != 1) return badPayload(type, p);
        store<u8>(r + L.REC_TCP_STATE, <u8>rd8(pl));
        bits |= L.SUB_TCP_STATE;
        break;
      }
      case A.CTA_PROTOINFO_TCP_WSCALE_ORIGINAL: {
        if (n != 1) return badPayload(type, p);
        store<u8>(r + L.REC_TCP_WSCALE_ORIG, <u8>rd8(pl));
        bits |= L.SUB_TCP_WSCALE_ORIG;
        break;
      }
      case A.CTA_PROTOINFO_TCP_WSCALE_REPLY: {
        if (n != 1) return badPayload(type, p);
        store<u8>(r + L.REC_TCP_WSCALE_REPL, <u8>rd8(pl));
        bits |= L.SUB_TCP_WSCALE_REPL;
        break;
      }
      case A.CTA_PROTOINFO_TCP_FLAGS_ORIGINAL:
      case A.CTA_PROTOINFO_TCP_FLAGS_REPLY: {
        // struct nf_ct_tcp_flags { __u8 flags; __u8 mask; }
        if (n != 2) return badPayload(type, p);
        const orig = type == A.CTA_PROTOINFO_TCP_FLAGS_ORIGINAL;
        const dst = r + (orig ? L.REC_TCP_FLAGS_ORIG : L.REC_TCP_FLAGS_REPL);
        store<u8>(dst, <u8>rd8(pl));
        store<u8>(dst + 1, <u8>rd8(pl + 1));
        bits |= orig ? L.SUB_TCP_FLAGS_ORIG : L.SUB_TCP_FLAGS_REPL;
        break;
      }
      default:
        break;
    }
    p = next(p, n);
  }
  orU32(r + L.REC_SUB, bits);
  return true;
}

function parseProtoinfoDccp(r: usize, p: usize, end: usize): bool {
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_PROTOINFO_DCCP_STATE: {
        if (n != 1) return badPayload(type, p);
        store<u8>(r + L.REC_DCCP_STATE, <u8>rd8(pl));
        bits |= L.SUB_DCCP_STATE;
        break;
      }
      case A.CTA_PROTOINFO_DCCP_ROLE: {
        if (n != 1) return badPayload(type, p);
        store<u8>(r + L.REC_DCCP_ROLE, <u8>rd8(pl));
        bits |= L.SUB_DCCP_ROLE;
        break;
      }
      case A.CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ: {
        if (n != 8) return badPayload(type, p);
        store<u64>(r + L.REC_DCCP_HANDSHAKE_SEQ, rdb64(pl));
        bits |= L.SUB_DCCP_HANDSHAKE_SEQ;
        break;
      }
      default: // CTA_PROTOINFO_DCCP_PAD and newer
        break;
    }
    p = next(p, n);
  }
  orU32(r + L.REC_SUB, bits);
  return true;
}

function parseProtoinfoSctp(r: usize, p: usize, end: usize): bool {
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_PROTOINFO_SCTP_STATE: {
        if (n != 1) return badPayload(type, p);
        store<u8>(r + L.REC_SCTP_STATE, <u8>rd8(pl));
        bits |= L.SUB_SCTP_STATE;
        break;
      }
      case A.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_SCTP_VTAG_ORIG, rdb32(pl));
        bits |= L.SUB_SCTP_VTAG_ORIG;
        break;
      }
      case A.CTA_PROTOINFO_SCTP_VTAG_REPLY: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_SCTP_VTAG_REPL, rdb32(pl));
        bits |= L.SUB_SCTP_VTAG_REPL;
        break;
      }
      default:
        break;
    }
    p = next(p, n);
  }
  orU32(r + L.REC_SUB, bits);
  return true;
}

function parseProtoinfo(r: usize, p: usize, end: usize): bool {
  // CTA_PROTOINFO_TCP { STATE, WSCALE_ORIGINAL, WSCALE_REPLY, FLAGS_ORIGINAL, FLAGS_REPLY }
  if (FAST_PATHS && end - p == 48 &&
      ((rdh64(p) ^ hw2(hw(48, NESTED | A.CTA_PROTOINFO_TCP), hw(5, A.CTA_PROTOINFO_TCP_STATE))) |
       <u64>(rdh32(p + 12) ^ hw(5, A.CTA_PROTOINFO_TCP_WSCALE_ORIGINAL)) |
       <u64>(rdh32(p + 20) ^ hw(5, A.CTA_PROTOINFO_TCP_WSCALE_REPLY)) |
       <u64>(rdh32(p + 28) ^ hw(6, A.CTA_PROTOINFO_TCP_FLAGS_ORIGINAL)) |
       <u64>(rdh32(p + 36) ^ hw(6, A.CTA_PROTOINFO_TCP_FLAGS_REPLY))) == 0) {
    store<u8>(r + L.REC_TCP_STATE, <u8>rd8(p + 8));
    store<u8>(r + L.REC_TCP_WSCALE_ORIG, <u8>rd8(p + 16));
    store<u8>(r + L.REC_TCP_WSCALE_REPL, <u8>rd8(p + 24));
    store<u16>(r + L.REC_TCP_FLAGS_ORIG, <u16>rdh16(p + 32)); // {flags, mask} bytes as they are
    store<u16>(r + L.REC_TCP_FLAGS_REPL, <u16>rdh16(p + 40));
    orU32(r + L.REC_SUB, L.SUB_TCP_STATE | L.SUB_TCP_WSCALE_ORIG | L.SUB_TCP_WSCALE_REPL |
      L.SUB_TCP_FLAGS_ORIG | L.SUB_TCP_FLAGS_REPL);
    return true;
  }
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_PROTOINFO_TCP: {
        if (!parseProtoinfoTcp(r, pl, pl + n)) return false;
        break;
      }
      case A.CTA_PROTOINFO_DCCP: {
        if (!parseProtoinfoDccp(r, pl, pl + n)) return false;
        break;
      }
      case A.CTA_PROTOINFO_SCTP: {
        if (!parseProtoinfoSctp(r, pl, pl + n)) return false;
        break;
      }
      default:
        break;
    }
    p = next(p, n);
  }
  return true;
}

// ---------------------------------------------------------------------------
// CTA_COUNTERS_ORIG / _REPLY.
function parseCounters(r: usize, p: usize, end: usize, reply: bool): bool {
  const pk = r + (reply ? L.REC_REPL_PACKETS : L.REC_ORIG_PACKETS);
  const by = r + (reply ? L.REC_REPL_BYTES : L.REC_ORIG_BYTES);
  const bitPk = reply ? L.SUB_REPL_PACKETS : L.SUB_ORIG_PACKETS;
  const bitBy = reply ? L.SUB_REPL_BYTES : L.SUB_ORIG_BYTES;
  const bit32 = reply ? L.SUB_REPL_COUNTERS32 : L.SUB_ORIG_COUNTERS32;
  // { CTA_COUNTERS_PACKETS, CTA_COUNTERS_BYTES }, both be64
  if (FAST_PATHS && end - p == 24 &&
      ((rdh32(p) ^ hw(12, A.CTA_COUNTERS_PACKETS)) | (rdh32(p + 12) ^ hw(12, A.CTA_COUNTERS_BYTES))) == 0) {
    store<u64>(pk, rdb64(p + 4));
    store<u64>(by, rdb64(p + 16));
    orU32(r + L.REC_SUB, bitPk | bitBy);
    return true;
  }
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_COUNTERS_PACKETS: {
        if (n != 8) return badPayload(type, p);
        store<u64>(pk, rdb64(pl));
        bits |= bitPk;
        break;
      }
      case A.CTA_COUNTERS_BYTES: {
        if (n != 8) return badPayload(type, p);
        store<u64>(by, rdb64(pl));
        bits |= bitBy;
        break;
      }
      case A.CTA_COUNTERS32_PACKETS: {
        if (n != 4) return badPayload(type, p);
        store<u64>(pk, <u64>rdb32(pl));
        bits |= bitPk | bit32;
        break;
      }
      case A.CTA_COUNTERS32_BYTES: {
        if (n != 4) return badPayload(type, p);
        store<u64>(by, <u64>rdb32(pl));
        bits |= bitBy | bit32;
        break;
      }
      default: // CTA_COUNTERS_PAD and newer
        break;
    }
    p = next(p, n);
  }
  orU32(r + L.REC_SUB, bits);
  return true;
}

// CTA_TIMESTAMP.
function parseTimestamp(r: usize, p: usize, end: usize): bool {
  // { CTA_TIMESTAMP_START } or { CTA_TIMESTAMP_START, CTA_TIMESTAMP_STOP }, be64
  if (FAST_PATHS && end - p >= 12 && rdh32(p) == hw(12, A.CTA_TIMESTAMP_START)) {
    if (end - p == 12) {
      store<u64>(r + L.REC_TS_START, rdb64(p + 4));
      orU32(r + L.REC_SUB, L.SUB_TS_START);
      return true;
    }
    if (end - p == 24 && rdh32(p + 12) == hw(12, A.CTA_TIMESTAMP_STOP)) {
      store<u64>(r + L.REC_TS_START, rdb64(p + 4));
      store<u64>(r + L.REC_TS_STOP, rdb64(p + 16));
      orU32(r + L.REC_SUB, L.SUB_TS_START | L.SUB_TS_STOP);
      return true;
    }
  }
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_TIMESTAMP_START: {
        if (n != 8) return badPayload(type, p);
        store<u64>(r + L.REC_TS_START, rdb64(pl));
        bits |= L.SUB_TS_START;
        break;
      }
      case A.CTA_TIMESTAMP_STOP: {
        if (n != 8) return badPayload(type, p);
        store<u64>(r + L.REC_TS_STOP, rdb64(pl));
        bits |= L.SUB_TS_STOP;
        break;
      }
      default: // CTA_TIMESTAMP_PAD
        break;
    }
    p = next(p, n);
  }
  orU32(r + L.REC_SUB, bits);
  return true;
}

// CTA_HELP.
function parseHelp(r: usize, p: usize, end: usize): bool {
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    if (type == A.CTA_HELP_NAME) {
      store<u32>(r + L.REC_HELP_NAME_PTR, <u32>pl);
      store<u16>(r + L.REC_HELP_NAME_LEN, <u16>strLen(pl, n));
      bits |= L.SUB_HELP_NAME;
    } else if (type == A.CTA_HELP_INFO) {
      if (n > 0xffff) return fail(L.DERR_ATTR_PAYLOAD, type, p);
      store<u32>(r + L.REC_HELP_INFO_PTR, <u32>pl);
      store<u16>(r + L.REC_HELP_INFO_LEN, <u16>n);
      bits |= L.SUB_HELP_INFO;
    }
    p = next(p, n);
  }
  orU32(r + L.REC_SUB, bits);
  return true;
}

// CTA_SECCTX.
function parseSecctx(r: usize, p: usize, end: usize): bool {
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    if (type == A.CTA_SECCTX_NAME) {
      store<u32>(r + L.REC_SECCTX_PTR, <u32>pl);
      store<u16>(r + L.REC_SECCTX_LEN, <u16>strLen(pl, n));
      bits |= L.SUB_SECCTX_NAME;
    }
    p = next(p, n);
  }
  orU32(r + L.REC_SUB, bits);
  return true;
}

// CTA_SEQ_ADJ_ORIG / _REPLY.
function parseSeqAdj(r: usize, p: usize, end: usize, reply: bool): bool {
  const base = r + (reply ? L.REC_SEQADJ_REPL : L.REC_SEQADJ_ORIG);
  const bit0 = reply ? L.SUB_SEQADJ_REPL_CORRECTION_POS : L.SUB_SEQADJ_ORIG_CORRECTION_POS;
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    if (type >= <u32>A.CTA_SEQADJ_CORRECTION_POS && type <= <u32>A.CTA_SEQADJ_OFFSET_AFTER) {
      if (n != 4) return badPayload(type, p);
      const i = type - <u32>A.CTA_SEQADJ_CORRECTION_POS;
      store<u32>(base + (<usize>i << 2), rdb32(pl));
      bits |= bit0 << i;
    }
    p = next(p, n);
  }
  orU32(r + L.REC_SUB, bits);
  return true;
}

// CTA_SYNPROXY.
function parseSynproxy(r: usize, p: usize, end: usize): bool {
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    if (type >= <u32>A.CTA_SYNPROXY_ISN && type <= <u32>A.CTA_SYNPROXY_TSOFF) {
      if (n != 4) return badPayload(type, p);
      const i = type - <u32>A.CTA_SYNPROXY_ISN;
      store<u32>(r + L.REC_SYNPROXY + (<usize>i << 2), rdb32(pl));
      bits |= L.SUB_SYNPROXY_ISN << i;
    }
    p = next(p, n);
  }
  orU32(r + L.REC_SUB, bits);
  return true;
}

// CTA_NAT_SRC / CTA_NAT_DST (and CTA_NAT_PROTO inside).
function parseNatProto(nat: usize, p: usize, end: usize): bool {
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    if (type == A.CTA_PROTONAT_PORT_MIN || type == A.CTA_PROTONAT_PORT_MAX) {
      if (n != 2) return badPayload(type, p);
      const min = type == A.CTA_PROTONAT_PORT_MIN;
      store<u16>(nat + (min ? L.NAT_PORT_MIN : L.NAT_PORT_MAX), <u16>rdb16(pl));
      bits |= min ? L.NP_PORT_MIN : L.NP_PORT_MAX;
    }
    p = next(p, n);
  }
  orU16(nat + L.NAT_PRESENT, bits);
  return true;
}

function parseNat(nat: usize, p: usize, end: usize): bool {
  store<u16>(nat + L.NAT_PRESENT, 0);
  let bits: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_NAT_V4_MINIP:
      case A.CTA_NAT_V4_MAXIP: {
        if (n != 4) return badPayload(type, p);
        const min = type == A.CTA_NAT_V4_MINIP;
        chk(pl, 4);
        store<u32>(nat + (min ? L.NAT_MINIP : L.NAT_MAXIP), load<u32>(pl));
        bits |= min ? L.NP_V4_MINIP : L.NP_V4_MAXIP;
        break;
      }
      case A.CTA_NAT_V6_MINIP:
      case A.CTA_NAT_V6_MAXIP: {
        if (n != 16) return badPayload(type, p);
        const min = type == A.CTA_NAT_V6_MINIP;
        const dst = nat + (min ? L.NAT_MINIP : L.NAT_MAXIP);
        chk(pl, 16);
        store<u64>(dst, load<u64>(pl));
        store<u64>(dst + 8, load<u64>(pl + 8));
        bits |= min ? L.NP_V6_MINIP : L.NP_V6_MAXIP;
        break;
      }
      case A.CTA_NAT_PROTO: {
        if (!parseNatProto(nat, pl, pl + n)) return false;
        break;
      }
      default:
        break;
    }
    p = next(p, n);
  }
  orU16(nat + L.NAT_PRESENT, bits);
  return true;
}

// Variable-length blob (CTA_LABELS, CTA_LABELS_MASK) recorded by address.
// @ts-ignore: decorator
@inline function blob(at: usize, lenAt: usize, pl: usize, n: usize, type: u32, p: usize): bool {
  if (n > 0xffff) return fail(L.DERR_ATTR_PAYLOAD, type, p);
  store<u32>(at, <u32>pl);
  store<u16>(lenAt, <u16>n);
  return true;
}

// ---------------------------------------------------------------------------
// Top level of a conntrack entry (IPCTNL_MSG_CT_*).
function parseFlow(r: usize, p: usize, end: usize): bool {
  let attrs: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_TUPLE_ORIG: {
        if (!parseTuple(r + L.REC_TUPLE_ORIG, pl, pl + n)) return false;
        break;
      }
      case A.CTA_TUPLE_REPLY: {
        if (!parseTuple(r + L.REC_TUPLE_REPLY, pl, pl + n)) return false;
        break;
      }
      case A.CTA_TUPLE_MASTER: {
        if (!parseTuple(r + L.REC_TUPLE_MASTER, pl, pl + n)) return false;
        break;
      }
      case A.CTA_STATUS: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_STATUS, rdb32(pl));
        break;
      }
      case A.CTA_PROTOINFO: {
        if (!parseProtoinfo(r, pl, pl + n)) return false;
        break;
      }
      case A.CTA_HELP: {
        if (!parseHelp(r, pl, pl + n)) return false;
        break;
      }
      case A.CTA_NAT_SRC: {
        if (!parseNat(r + L.REC_NAT_SRC, pl, pl + n)) return false;
        break;
      }
      case A.CTA_NAT_DST: {
        if (!parseNat(r + L.REC_NAT_DST, pl, pl + n)) return false;
        break;
      }
      case A.CTA_TIMEOUT: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_TIMEOUT, rdb32(pl));
        break;
      }
      case A.CTA_MARK: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_MARK, rdb32(pl));
        break;
      }
      case A.CTA_COUNTERS_ORIG: {
        if (!parseCounters(r, pl, pl + n, false)) return false;
        break;
      }
      case A.CTA_COUNTERS_REPLY: {
        if (!parseCounters(r, pl, pl + n, true)) return false;
        break;
      }
      case A.CTA_USE: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_USE, rdb32(pl));
        break;
      }
      case A.CTA_ID: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_ID, rdb32(pl));
        break;
      }
      case A.CTA_SEQ_ADJ_ORIG: {
        if (!parseSeqAdj(r, pl, pl + n, false)) return false;
        break;
      }
      case A.CTA_SEQ_ADJ_REPLY: {
        if (!parseSeqAdj(r, pl, pl + n, true)) return false;
        break;
      }
      case A.CTA_SECMARK: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_SECMARK, rdb32(pl));
        break;
      }
      case A.CTA_ZONE: {
        if (n != 2) return badPayload(type, p);
        store<u16>(r + L.REC_ZONE, <u16>rdb16(pl));
        break;
      }
      case A.CTA_SECCTX: {
        if (!parseSecctx(r, pl, pl + n)) return false;
        break;
      }
      case A.CTA_TIMESTAMP: {
        if (!parseTimestamp(r, pl, pl + n)) return false;
        break;
      }
      case A.CTA_MARK_MASK: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_MARK_MASK, rdb32(pl));
        break;
      }
      case A.CTA_LABELS: {
        if (!blob(r + L.REC_LABELS_PTR, r + L.REC_LABELS_LEN, pl, n, type, p)) return false;
        break;
      }
      case A.CTA_LABELS_MASK: {
        if (!blob(r + L.REC_LABELS_MASK_PTR, r + L.REC_LABELS_MASK_LEN, pl, n, type, p)) return false;
        break;
      }
      case A.CTA_SYNPROXY: {
        if (!parseSynproxy(r, pl, pl + n)) return false;
        break;
      }
      case A.CTA_STATUS_MASK: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_STATUS_MASK, rdb32(pl));
        break;
      }
      case A.CTA_TIMESTAMP_EVENT: {
        if (n != 8) return badPayload(type, p);
        store<u64>(r + L.REC_TS_EVENT, rdb64(pl));
        break;
      }
      default: // CTA_FILTER (requests only), CTA_UNSPEC and anything newer
        break;
    }
    if (type < 32) attrs |= <u32>1 << type;
    p = next(p, n);
  }
  store<u32>(r + L.REC_ATTRS, attrs);
  return true;
}

// CTA_EXPECT_NAT.
function parseExpNat(r: usize, p: usize, end: usize): bool {
  let sub2: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    if (type == A.CTA_EXPECT_NAT_DIR) {
      if (n != 4) return badPayload(type, p);
      store<u32>(r + L.REC_EXP_NAT_DIR, rdb32(pl));
      sub2 |= L.SUB2_EXP_NAT_DIR;
    } else if (type == A.CTA_EXPECT_NAT_TUPLE) {
      if (!parseTuple(r + L.REC_TUPLE_4, pl, pl + n)) return false;
      sub2 |= L.SUB2_EXP_NAT_TUPLE;
    }
    p = next(p, n);
  }
  orU32(r + L.REC_SUB2, sub2);
  return true;
}

// Top level of an expectation (IPCTNL_MSG_EXP_*).
function parseExpect(r: usize, p: usize, end: usize): bool {
  let sub2: u32 = 0;
  let attrs: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    switch (type) {
      case A.CTA_EXPECT_MASTER: {
        if (!parseTuple(r + L.REC_TUPLE_ORIG, pl, pl + n)) return false;
        break;
      }
      case A.CTA_EXPECT_TUPLE: {
        if (!parseTuple(r + L.REC_TUPLE_REPLY, pl, pl + n)) return false;
        break;
      }
      case A.CTA_EXPECT_MASK: {
        if (!parseTuple(r + L.REC_TUPLE_MASTER, pl, pl + n)) return false;
        break;
      }
      case A.CTA_EXPECT_TIMEOUT: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_EXP_TIMEOUT, rdb32(pl));
        break;
      }
      case A.CTA_EXPECT_ID: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_EXP_ID, rdb32(pl));
        break;
      }
      case A.CTA_EXPECT_HELP_NAME: {
        store<u32>(r + L.REC_EXP_HELP_NAME_PTR, <u32>pl);
        store<u16>(r + L.REC_EXP_HELP_NAME_LEN, <u16>strLen(pl, n));
        sub2 |= L.SUB2_EXP_HELP_NAME;
        break;
      }
      case A.CTA_EXPECT_ZONE: {
        if (n != 2) return badPayload(type, p);
        store<u16>(r + L.REC_EXP_ZONE, <u16>rdb16(pl));
        break;
      }
      case A.CTA_EXPECT_FLAGS: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_EXP_FLAGS, rdb32(pl));
        break;
      }
      case A.CTA_EXPECT_CLASS: {
        if (n != 4) return badPayload(type, p);
        store<u32>(r + L.REC_EXP_CLASS, rdb32(pl));
        break;
      }
      case A.CTA_EXPECT_NAT: {
        if (!parseExpNat(r, pl, pl + n)) return false;
        break;
      }
      case A.CTA_EXPECT_FN: {
        store<u32>(r + L.REC_EXP_FN_PTR, <u32>pl);
        store<u16>(r + L.REC_EXP_FN_LEN, <u16>strLen(pl, n));
        sub2 |= L.SUB2_EXP_FN;
        break;
      }
      default:
        break;
    }
    if (type < 32) attrs |= <u32>1 << type;
    p = next(p, n);
  }
  store<u32>(r + L.REC_ATTRS, attrs);
  orU32(r + L.REC_SUB2, sub2);
  return true;
}

// Statistics: every known attribute is a be32 counter stored at REC_STATS + 4*type.
function parseStats(r: usize, p: usize, end: usize, maxType: u32): bool {
  let attrs: u32 = 0;
  while (p < end) {
    if (end - p < 4) return badAttr(p, end);
    const n = <usize>rdh16(p) - 4;
    if (n > end - p - 4) return badAttr(p, end);
    const type = rdh16(p + 2) & 0x3fff, pl = p + 4;
    if (type >= 1 && type <= maxType) {
      if (n != 4) return badPayload(type, p);
      store<u32>(r + L.REC_STATS + (<usize>type << 2), rdb32(pl));
      attrs |= <u32>1 << type;
    }
    p = next(p, n);
  }
  store<u32>(r + L.REC_ATTRS, attrs);
  return true;
}

// NLMSG_ERROR: { int error; struct nlmsghdr msg; [request payload]; [ext-ack TLVs] }.
function parseError(r: usize, m: usize, end: usize, flags: u32): bool {
  const p = m + 16;
  if (end - p < 20) return fail(L.DERR_ERRMSG, 0, p);
  store<i32>(r + L.REC_ERRNO, <i32>rdh32(p));
  const req = p + 4;
  const reqLen = <usize>rdh32(req);
  store<u16>(r + L.REC_ERR_REQ_TYPE, <u16>rdh16(req + 4));
  store<u16>(r + L.REC_ERR_REQ_FLAGS, <u16>rdh16(req + 6));
  store<u32>(r + L.REC_ERR_REQ_SEQ, rdh32(req + 8));
  store<u32>(r + L.REC_ERR_REQ_PID, rdh32(req + 12));
  store<u16>(r + L.REC_EXTACK_PRESENT, 0);
  // NLM_F_ACK_TLVS (0x200): extended ACK attributes follow the copied request,
  // which is only its header when NLM_F_CAPPED (0x100) is set.
  if ((flags & 0x200) == 0) return true;
  let t = req + 16;
  if ((flags & 0x100) == 0) {
    if (reqLen < 16 || reqLen > end - req) return fail(L.DERR_ERRMSG, 0, req);
    t = req + ((reqLen + 3) & ~3);
  }
  let present: u32 = 0;
  while (t < end) {
    if (end - t < 4) return badAttr(t, end);
    const n = <usize>rdh16(t) - 4;
    if (n > end - t - 4) return badAttr(t, end);
    const type = rdh16(t + 2) & 0x3fff, pl = t + 4;
    if (type == A.NLMSGERR_ATTR_MSG) {
      store<u32>(r + L.REC_EXTACK_MSG_PTR, <u32>pl);
      store<u16>(r + L.REC_EXTACK_MSG_LEN, <u16>strLen(pl, n));
      present |= 1;
    } else if (type == A.NLMSGERR_ATTR_OFFS) {
      if (n != 4) return badPayload(type, t);
      store<u32>(r + L.REC_EXTACK_OFFS, rdh32(pl));
      present |= 2;
    } else if (type == A.NLMSGERR_ATTR_MISS_TYPE || type == A.NLMSGERR_ATTR_MISS_NEST ||
               type == A.NLMSGERR_ATTR_POLICY) {
      present |= 4;
    }
    t = next(t, n);
  }
  store<u16>(r + L.REC_EXTACK_PRESENT, <u16>present);
  return true;
}

// ---------------------------------------------------------------------------
// Message dispatch.
function eventOf(msg: u32, flags: u32): u32 {
  // Dump and GET replies are multipart (NLM_F_MULTI); events never are. A
  // reply is a table entry, not an event.
  if ((flags & <u32>A.NLM_F_MULTI) != 0) return L.EVENT_NONE;
  // libnetfilter_conntrack: NEW with NLM_F_CREATE|NLM_F_EXCL is a new entry,
  // without them an update; DELETE is a destroy.
  if (msg == 0) return (flags & 0x600) != 0 ? L.EVENT_NEW : L.EVENT_UPDATE;
  if (msg == 2) return L.EVENT_DESTROY;
  return L.EVENT_NONE;
}

// Is a nlmsg_type 0x0103 message an IPCTNL_MSG_CT_GET_CTRZERO reply (a flow)
// rather than an IPCTNL_MSG_EXP_GET_STATS_CPU reply? The kernel gives both the
// same number; only the request tells them apart. Without that context: a flow
// starts with nested tuples, statistics are flat be32 counters.
function ctrzeroIsFlow(p: usize, end: usize): bool {
  const ctx = load<u32>(L.CTRL + L.CTRL_CTX_0103);
  if (ctx == L.CTX_0103_FLOW) return true;
  if (ctx == L.CTX_0103_EXP_STATS) return false;
  if (end - p < 4) return false;
  return (rdh16(p + 2) & 0x8000) != 0; // NLA_F_NESTED
}

// Decode one message at m (nlmsg_len = len, already checked against the datagram).
// Returns false when the message produced no record (filtered, e.g. stale).
function decodeMessage(r: usize, m: usize, len: usize): void {
  const type = rdh16(m + 4);
  const flags = rdh16(m + 6);
  const end = m + len;
  gErr = 0;
  // presence words: the parsers OR their bits in
  store<u32>(r + L.REC_ATTRS, 0);
  store<u32>(r + L.REC_SUB, 0);
  store<u32>(r + L.REC_SUB2, 0);
  store<u8>(r + L.REC_EVENT, L.EVENT_NONE);
  store<u8>(r + L.REC_FAMILY, 0);
  store<u8>(r + L.REC_VERSION, 0);
  store<u16>(r + L.REC_RES_ID, 0);
  let kind: u32 = L.KIND_UNKNOWN;
  if (type < 16) {
    // NLMSG_MIN_TYPE: control messages
    if (type == A.NLMSG_ERROR) {
      kind = L.KIND_ERROR;
      parseError(r, m, end, flags);
    } else if (type == A.NLMSG_DONE) {
      kind = L.KIND_DONE;
    } else if (type == A.NLMSG_OVERRUN) {
      kind = L.KIND_OVERRUN;
    }
  } else {
    const subsys = type >> 8;
    const msg = type & 0xff;
    if (subsys == A.NFNL_SUBSYS_CTNETLINK || subsys == A.NFNL_SUBSYS_CTNETLINK_EXP) {
      if (len < 20) {
        fail(L.DERR_NFGENMSG, 0, m + 16);
      } else {
        store<u8>(r + L.REC_FAMILY, <u8>rd8(m + 16));
        store<u8>(r + L.REC_VERSION, <u8>rd8(m + 17));
        store<u16>(r + L.REC_RES_ID, <u16>rdb16(m + 18));
        const p = m + 20;
        if (subsys == A.NFNL_SUBSYS_CTNETLINK) {
          if (msg == A.IPCTNL_MSG_CT_GET_STATS_CPU) {
            kind = L.KIND_STATS_CPU;
            parseStats(r, p, end, <u32>A.CTA_STATS_MAX);
          } else if (msg == A.IPCTNL_MSG_CT_GET_STATS) {
            kind = L.KIND_STATS_GLOBAL;
            parseStats(r, p, end, <u32>A.CTA_STATS_GLOBAL_MAX);
          } else if (msg == A.IPCTNL_MSG_CT_GET_CTRZERO && !ctrzeroIsFlow(p, end)) {
            kind = L.KIND_STATS_EXP;
            parseStats(r, p, end, <u32>A.CTA_STATS_EXP_MAX);
          } else if (msg < <u32>A.IPCTNL_MSG_MAX) {
            kind = L.KIND_FLOW;
            store<u8>(r + L.REC_EVENT, <u8>eventOf(msg, flags));
            parseFlow(r, p, end);
          }
        } else {
          if (msg == A.IPCTNL_MSG_EXP_GET_STATS_CPU) {
            kind = L.KIND_STATS_EXP;
            parseStats(r, p, end, <u32>A.CTA_STATS_EXP_MAX);
          } else if (msg < <u32>A.IPCTNL_MSG_EXP_MAX) {
            kind = L.KIND_EXPECT;
            store<u8>(r + L.REC_EVENT, <u8>eventOf(msg, flags));
            parseExpect(r, p, end);
          }
        }
      }
    }
  }
  if (gErr != 0) {
    kind = L.KIND_BAD;
    store<u16>(r + L.REC_ERR_CODE, <u16>gErr);
    store<u16>(r + L.REC_ERR_ATTR, <u16>gErrAttr);
    store<u32>(r + L.REC_ERR_OFFSET, <u32>(gErrAt - m));
    const c: usize = L.CTRL;
    store<u32>(c + L.CTRL_BAD, load<u32>(c + L.CTRL_BAD) + 1);
  }
  store<u8>(r + L.REC_KIND, <u8>kind);
}

// decodeMessage with the shape templates (assembly/shape.ts) in front: a
// flow message of a learned shape is decoded by its template; a flow message
// the templates missed may teach them its shape.
// @ts-ignore: decorator
@inline function decodeMessageShaped(r: usize, m: usize, len: usize): void {
  if (BOUNDS_CHECKED) shapeBounds(m, m + len);
  if (shapeApply(r, m, len)) return;
  decodeMessage(r, m, len);
  // Only conntrack entries, decoded without error. Not IPCTNL_MSG_CT_GET_CTRZERO:
  // whether its reply is a flow can depend on CTRL_CTX_0103, not on its bytes.
  if (gErr == 0 && load<u8>(r + L.REC_KIND) == L.KIND_FLOW &&
      rdh16(m + 4) != ((<u32>A.NFNL_SUBSYS_CTNETLINK << 8) | <u32>A.IPCTNL_MSG_CT_GET_CTRZERO)) {
    shapeMiss(r, m, len, decodeScratch);
    gLo = m;
    gHi = m + len;
  }
}

// decodeMessage of a scratch copy (shape learning), with its bounds.
function decodeScratch(r: usize, m: usize, len: usize): void {
  gLo = m;
  gHi = m + len;
  decodeMessage(r, m, len);
}

// A framing fault: the rest of the datagram cannot be trusted.
function badFrame(r: usize, dg: u32, m: usize, len: usize, code: u32, base: usize): void {
  store<u8>(r + L.REC_KIND, L.KIND_BAD);
  store<u8>(r + L.REC_EVENT, L.EVENT_NONE);
  store<u16>(r + L.REC_NLTYPE, 0);
  store<u16>(r + L.REC_NLFLAGS, 0);
  store<u32>(r + L.REC_SEQ, 0);
  store<u32>(r + L.REC_PID, 0);
  store<u16>(r + L.REC_DGRAM, <u16>dg);
  store<u32>(r + L.REC_MSG_OFF, <u32>m);
  store<u32>(r + L.REC_MSG_LEN, <u32>len);
  store<u16>(r + L.REC_ERR_CODE, <u16>code);
  store<u16>(r + L.REC_ERR_ATTR, 0);
  store<u32>(r + L.REC_ERR_OFFSET, <u32>(m - base));
  store<u32>(r + L.REC_ATTRS, 0);
  store<u32>(r + L.REC_SUB, 0);
  store<u32>(r + L.REC_SUB2, 0);
  const c: usize = L.CTRL;
  store<u32>(c + L.CTRL_BAD, load<u32>(c + L.CTRL_BAD) + 1);
}

// ---------------------------------------------------------------------------
// Exports.

/** Returns 0 when the static data fits below REGION_BASE, else the overlap. */
export function init(): u32 {
  const hb = <u32>__heap_base;
  memory.fill(L.CTRL, 0, L.CTRL_SIZE);
  shapeInit();
  return hb > <u32>L.REGION_BASE ? hb - <u32>L.REGION_BASE : 0;
}

/** Start a new batch of `n` datagrams described at DESC. */
export function begin(n: u32): void {
  const c: usize = L.CTRL;
  store<u32>(c + L.CTRL_NDGRAMS, n > <u32>L.DESC_MAX ? <u32>L.DESC_MAX : n);
  store<u32>(c + L.CTRL_CUR_DGRAM, 0);
  store<u32>(c + L.CTRL_CUR_OFF, 0);
}

/**
 * Decode up to REC_MAX messages of the current batch into RECORDS, continuing
 * where the previous call stopped. Returns the number of records; 0 at the end.
 */
export function decode(): u32 {
  const c: usize = L.CTRL;
  const ndg = load<u32>(c + L.CTRL_NDGRAMS);
  const checks = load<u32>(c + L.CTRL_CHECKS);
  const wantSeq = load<u32>(c + L.CTRL_EXPECT_SEQ);
  const wantPid = load<u32>(c + L.CTRL_EXPECT_PID);
  let dg = load<u32>(c + L.CTRL_CUR_DGRAM);
  let off = <usize>load<u32>(c + L.CTRL_CUR_OFF);
  let count: u32 = 0;
  while (dg < ndg && count < <u32>L.REC_MAX) {
    const d: usize = <usize>L.DESC + (<usize>dg << 4);
    const dOff = <usize>load<u32>(d + L.DESC_OFF);
    const dLen = <usize>load<u32>(d + L.DESC_LEN);
    // A descriptor pointing outside the arena is a caller bug; treat as empty.
    const ok = dOff <= <usize>L.ARENA_SIZE && dLen <= <usize>L.ARENA_SIZE - dOff;
    const base: usize = <usize>L.ARENA + dOff;
    const end = ok ? base + dLen : base;
    if (off == 0) {
      if (load<u32>(d + L.DESC_SRC_PID) != 0) {
        // Not from the kernel: never decoded as conntrack data.
        store<u32>(c + L.CTRL_SPOOFED, load<u32>(c + L.CTRL_SPOOFED) + 1);
        dg++;
        continue;
      }
      if ((load<u32>(d + L.DESC_FLAGS) & L.DGRAM_TRUNC) != 0) {
        store<u32>(c + L.CTRL_TRUNC, load<u32>(c + L.CTRL_TRUNC) + 1);
        badFrame(<usize>L.RECORDS + <usize>count * <usize>L.REC_SIZE, dg, base, dLen, L.DERR_DGRAM_TRUNC, base);
        count++;
        dg++;
        continue;
      }
    }
    let m = base + off;
    gLo = base;
    gHi = end;
    while (m < end && count < <u32>L.REC_MAX) {
      const r: usize = <usize>L.RECORDS + <usize>count * <usize>L.REC_SIZE;
      const left = end - m;
      if (left < 16) {
        badFrame(r, dg, m, left, L.DERR_NLMSG_TRUNCATED, base);
        count++;
        m = end;
        break;
      }
      const len = <usize>rdh32(m);
      if (len < 16 || len > left) {
        badFrame(r, dg, m, left, L.DERR_NLMSG_LEN, base);
        count++;
        m = end;
        break;
      }
      const seq = rdh32(m + 8);
      const pid = rdh32(m + 12);
      const nextM = m + ((len + 3) & ~3);
      if (rdh16(m + 4) == <u32>A.NLMSG_NOOP) {
        // like mnl_cb_run: a no-op carries nothing
        m = nextM;
        continue;
      }
      if (((checks & L.CHECK_SEQ) != 0 && seq != wantSeq) ||
          ((checks & L.CHECK_PID) != 0 && pid != wantPid)) {
        store<u32>(c + L.CTRL_STALE, load<u32>(c + L.CTRL_STALE) + 1);
        m = nextM;
        continue;
      }
      store<u16>(r + L.REC_NLTYPE, <u16>rdh16(m + 4));
      store<u16>(r + L.REC_NLFLAGS, <u16>rdh16(m + 6));
      store<u32>(r + L.REC_SEQ, seq);
      store<u32>(r + L.REC_PID, pid);
      store<u16>(r + L.REC_DGRAM, <u16>dg);
      store<u32>(r + L.REC_MSG_OFF, <u32>m);
      store<u32>(r + L.REC_MSG_LEN, <u32>len);
      gLo = m;
      gHi = m + len;
      if (FAST_PATHS) {
        decodeMessageShaped(r, m, len);
      } else {
        decodeMessage(r, m, len);
      }
      gLo = base;
      gHi = end;
      // Filter program (assembly/filter.ts): one load and a branch when unset.
      if (load<u32>(<usize>L.FILTER + L.FILTER_COUNT) != 0) {
        if (load<u8>(r + L.REC_KIND) == L.KIND_FLOW && !filterPass(r)) {
          store<u32>(c + L.CTRL_FILTERED, load<u32>(c + L.CTRL_FILTERED) + 1);
          m = nextM;
          continue; // the record slot is reused
        }
      }
      // Flow direction side table (assembly/direction.ts): one load and a branch when unset.
      if (load<u32>(<usize>L.DIR_CFG + L.DIR_ENABLED) != 0) flowDirection(r, count);
      count++;
      m = nextM;
    }
    if (m >= end) {
      dg++;
      off = 0;
    } else {
      off = m - base;
    }
  }
  store<u32>(c + L.CTRL_CUR_DGRAM, dg);
  store<u32>(c + L.CTRL_CUR_OFF, <u32>off);
  return count;
}

/** REC_SIZE as compiled, so the TS side can refuse a stale .wasm. */
export function recordSize(): u32 {
  return <u32>L.REC_SIZE;
}

/** REGION_BASE as compiled (second staleness check). */
export function regionBase(): u32 {
  return <u32>L.REGION_BASE;
}

/**
 * Proves the instrumentation is live: reads one byte just past a pretend
 * message. The checked build counts it as a violation (tests assert that);
 * the release build has no instrumentation and counts nothing.
 */
export function selfTestViolation(): u32 {
  gLo = <usize>L.ARENA;
  gHi = <usize>L.ARENA + 16;
  const v = rd8(<usize>L.ARENA + 16);
  gLo = 0;
  gHi = 0;
  return v;
}
export { encodeRequest, encodeStatus } from "./encode";
export { filterCheck, evalCond as filterEvalCond } from "./filter";
export { textFlowLine } from "./textfmt";
export { directionBatch } from "./direction";
export { shapeReset } from "./shape";
export { shapeEmit } from "./shape-emit";
import { flowDirection } from "./direction";
