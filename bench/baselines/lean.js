'use strict';
// Lean JS ctnetlink decoder: the fastest honest plain-JavaScript baseline.
//
// - Walks every attribute at every level (tuples with IPs/ports/ICMP, status,
//   timeout, mark, use, id, secmark, zone, protoinfo TCP, counters 64/32-bit,
//   timestamp start/stop, timestamp event); unknown types are skipped.
// - Output: numbers and byte offsets only, written into ONE reused
//   Uint32Array per decoder (slots below). No strings, no bigint: 64-bit
//   values are two 32-bit halves (HI, LO). Addresses are byte offsets into
//   the datagram's ArrayBuffer (valid while that buffer is).
// - Bounds-checked like a real decoder: every nla_len / nlmsg_len is checked
//   against its container before use and fixed-size payloads must have their
//   exact size; a malformed message becomes KIND_BAD (code, attribute, offset)
//   and never reads past its end.
// - Cursor API like the WASM decoder: begin(datagram) then next() until it
//   returns 0; after each next() the record holds that message.
//
// Fields are valid only when their presence bit is set (ATTRS / SUB / tuple
// PRESENT), exactly like the WASM record: nothing is cleared per message.

// Record slots (indexes into the Uint32Array).
const S = {
  KIND: 0, EVENT: 1, FAMILY: 2, NLTYPE: 3, NLFLAGS: 4, SEQ: 5, PID: 6,
  MSG_OFF: 7, MSG_LEN: 8,
  ATTRS: 9, // bit n = top-level CTA_* n present
  SUB: 10, // SUB_* bits below
  ERR: 11, ERR_ATTR: 12, ERR_OFF: 13,
  STATUS: 14, TIMEOUT: 15, MARK: 16, USE: 17, ID: 18, SECMARK: 19, ZONE: 20,
  TCP_STATE: 21, TCP_WSCALE_ORIG: 22, TCP_WSCALE_REPL: 23,
  TCP_FLAGS_ORIG: 24, TCP_MASK_ORIG: 25, TCP_FLAGS_REPL: 26, TCP_MASK_REPL: 27,
  ORIG_PACKETS_HI: 28, ORIG_PACKETS_LO: 29, ORIG_BYTES_HI: 30, ORIG_BYTES_LO: 31,
  REPL_PACKETS_HI: 32, REPL_PACKETS_LO: 33, REPL_BYTES_HI: 34, REPL_BYTES_LO: 35,
  TS_START_HI: 36, TS_START_LO: 37, TS_STOP_HI: 38, TS_STOP_LO: 39,
  TS_EVENT_HI: 40, TS_EVENT_LO: 41,
  TUPLE_ORIG: 42, // tuple blocks of T.SIZE slots
  TUPLE_REPLY: 53,
  TUPLE_MASTER: 64,
  SIZE: 75,
};
// Tuple block (relative slots).
const T = {
  PRESENT: 0, L3: 1, SRC: 2, DST: 3, // SRC/DST: byte offset of the address
  PROTO: 4, SPORT: 5, DPORT: 6, ICMP_ID: 7, ICMP_TYPE: 8, ICMP_CODE: 9, ZONE: 10,
  SIZE: 11,
};
// Tuple PRESENT bits.
const TP = { SRC: 1, DST: 2, PROTO: 4, SPORT: 8, DPORT: 16, ICMP_ID: 32, ICMP_TYPE: 64, ICMP_CODE: 128, ZONE: 256 };
// SUB bits.
const SUB = {
  TCP_STATE: 1, TCP_WSCALE_ORIG: 2, TCP_WSCALE_REPL: 4, TCP_FLAGS_ORIG: 8, TCP_FLAGS_REPL: 16,
  ORIG_PACKETS: 32, ORIG_BYTES: 64, REPL_PACKETS: 128, REPL_BYTES: 256, TS_START: 512, TS_STOP: 1024,
};
// Kinds and decode errors (same meaning as the WASM layout).
const KIND_FLOW = 1, KIND_DONE = 6, KIND_ERROR = 7, KIND_OVERRUN = 8, KIND_UNKNOWN = 9, KIND_BAD = 10;
const DERR_NLMSG_TRUNCATED = 1, DERR_NLMSG_LEN = 2, DERR_NFGENMSG = 3, DERR_ATTR_TRUNCATED = 4,
  DERR_ATTR_LEN = 5, DERR_ATTR_PAYLOAD = 6;

const EMPTY = new Uint8Array(0);

// Record a fault (first one wins) and return false.
function fail(r, code, attr, at) {
  if (r[S.ERR] === 0) {
    r[S.ERR] = code;
    r[S.ERR_ATTR] = attr;
    r[S.ERR_OFF] = at;
  }
  return false;
}

// The attribute header at p inside [.., end) as one u32 (nla_len in the low
// half, nla_type in the high half: nlattr is host order, little endian here),
// or 0 after a fault (a valid header is never 0: nla_len >= 4).
function attrHdr(dv, r, p, end) {
  if (end - p < 4) return (fail(r, DERR_ATTR_TRUNCATED, 0, p), 0);
  const h = dv.getUint32(p, true);
  const len = h & 0xffff;
  if (len < 4 || len > end - p) return (fail(r, DERR_ATTR_LEN, (h >>> 16) & 0x3fff, p), 0);
  return h;
}

// CTA_TUPLE_IP: addresses are kept as byte offsets.
function parseIp(dv, r, t, p, end) {
  while (p < end) {
    const h = attrHdr(dv, r, p, end);
    if (h === 0) return false;
    const len = h & 0xffff, type = (h >>> 16) & 0x3fff, n = len - 4;
    switch (type) {
      case 1: // CTA_IP_V4_SRC
      case 2: // CTA_IP_V4_DST
        if (n !== 4) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[t + (type === 1 ? T.SRC : T.DST)] = p + 4;
        r[t + T.L3] = 2;
        r[t + T.PRESENT] |= type === 1 ? TP.SRC : TP.DST;
        break;
      case 3: // CTA_IP_V6_SRC
      case 4: // CTA_IP_V6_DST
        if (n !== 16) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[t + (type === 3 ? T.SRC : T.DST)] = p + 4;
        r[t + T.L3] = 10;
        r[t + T.PRESENT] |= type === 3 ? TP.SRC : TP.DST;
        break;
      default:
        break;
    }
    p += (len + 3) & ~3;
  }
  return true;
}

// CTA_TUPLE_PROTO.
function parseProto(dv, r, t, p, end) {
  while (p < end) {
    const h = attrHdr(dv, r, p, end);
    if (h === 0) return false;
    const len = h & 0xffff, type = (h >>> 16) & 0x3fff, n = len - 4, pl = p + 4;
    switch (type) {
      case 1: // CTA_PROTO_NUM
        if (n !== 1) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[t + T.PROTO] = dv.getUint8(pl);
        r[t + T.PRESENT] |= TP.PROTO;
        break;
      case 2: // CTA_PROTO_SRC_PORT
        if (n !== 2) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[t + T.SPORT] = dv.getUint16(pl);
        r[t + T.PRESENT] |= TP.SPORT;
        break;
      case 3: // CTA_PROTO_DST_PORT
        if (n !== 2) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[t + T.DPORT] = dv.getUint16(pl);
        r[t + T.PRESENT] |= TP.DPORT;
        break;
      case 4: // CTA_PROTO_ICMP_ID
      case 7: // CTA_PROTO_ICMPV6_ID
        if (n !== 2) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[t + T.ICMP_ID] = dv.getUint16(pl);
        r[t + T.PRESENT] |= TP.ICMP_ID;
        break;
      case 5: // CTA_PROTO_ICMP_TYPE
      case 8: // CTA_PROTO_ICMPV6_TYPE
        if (n !== 1) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[t + T.ICMP_TYPE] = dv.getUint8(pl);
        r[t + T.PRESENT] |= TP.ICMP_TYPE;
        break;
      case 6: // CTA_PROTO_ICMP_CODE
      case 9: // CTA_PROTO_ICMPV6_CODE
        if (n !== 1) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[t + T.ICMP_CODE] = dv.getUint8(pl);
        r[t + T.PRESENT] |= TP.ICMP_CODE;
        break;
      default:
        break;
    }
    p += (len + 3) & ~3;
  }
  return true;
}

// CTA_TUPLE_* into the tuple block at slot t.
function parseTuple(dv, r, t, p, end) {
  r[t + T.PRESENT] = 0;
  r[t + T.L3] = 0;
  while (p < end) {
    const h = attrHdr(dv, r, p, end);
    if (h === 0) return false;
    const len = h & 0xffff, type = (h >>> 16) & 0x3fff, n = len - 4, pl = p + 4;
    switch (type) {
      case 1: // CTA_TUPLE_IP
        if (!parseIp(dv, r, t, pl, pl + n)) return false;
        break;
      case 2: // CTA_TUPLE_PROTO
        if (!parseProto(dv, r, t, pl, pl + n)) return false;
        break;
      case 3: // CTA_TUPLE_ZONE
        if (n !== 2) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[t + T.ZONE] = dv.getUint16(pl);
        r[t + T.PRESENT] |= TP.ZONE;
        break;
      default:
        break;
    }
    p += (len + 3) & ~3;
  }
  return true;
}

// CTA_PROTOINFO > CTA_PROTOINFO_TCP.
function parseTcp(dv, r, p, end) {
  let sub = 0;
  while (p < end) {
    const h = attrHdr(dv, r, p, end);
    if (h === 0) return false;
    const len = h & 0xffff, type = (h >>> 16) & 0x3fff, n = len - 4, pl = p + 4;
    switch (type) {
      case 1: // CTA_PROTOINFO_TCP_STATE
        if (n !== 1) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.TCP_STATE] = dv.getUint8(pl);
        sub |= SUB.TCP_STATE;
        break;
      case 2: // CTA_PROTOINFO_TCP_WSCALE_ORIGINAL
        if (n !== 1) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.TCP_WSCALE_ORIG] = dv.getUint8(pl);
        sub |= SUB.TCP_WSCALE_ORIG;
        break;
      case 3: // CTA_PROTOINFO_TCP_WSCALE_REPLY
        if (n !== 1) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.TCP_WSCALE_REPL] = dv.getUint8(pl);
        sub |= SUB.TCP_WSCALE_REPL;
        break;
      case 4: // CTA_PROTOINFO_TCP_FLAGS_ORIGINAL {u8 flags, u8 mask}
        if (n !== 2) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.TCP_FLAGS_ORIG] = dv.getUint8(pl);
        r[S.TCP_MASK_ORIG] = dv.getUint8(pl + 1);
        sub |= SUB.TCP_FLAGS_ORIG;
        break;
      case 5: // CTA_PROTOINFO_TCP_FLAGS_REPLY
        if (n !== 2) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.TCP_FLAGS_REPL] = dv.getUint8(pl);
        r[S.TCP_MASK_REPL] = dv.getUint8(pl + 1);
        sub |= SUB.TCP_FLAGS_REPL;
        break;
      default:
        break;
    }
    p += (len + 3) & ~3;
  }
  r[S.SUB] |= sub;
  return true;
}

// CTA_PROTOINFO (only TCP is decoded; DCCP/SCTP do not occur in the corpus).
function parseProtoinfo(dv, r, p, end) {
  while (p < end) {
    const h = attrHdr(dv, r, p, end);
    if (h === 0) return false;
    const len = h & 0xffff, type = (h >>> 16) & 0x3fff;
    if (type === 1 && !parseTcp(dv, r, p + 4, p + len)) return false;
    p += (len + 3) & ~3;
  }
  return true;
}

// CTA_COUNTERS_ORIG / _REPLY; s = first slot (packets HI), bit = SUB bit of packets.
function parseCounters(dv, r, s, bit, p, end) {
  while (p < end) {
    const h = attrHdr(dv, r, p, end);
    if (h === 0) return false;
    const len = h & 0xffff, type = (h >>> 16) & 0x3fff, n = len - 4, pl = p + 4;
    switch (type) {
      case 1: // CTA_COUNTERS_PACKETS (be64)
      case 2: // CTA_COUNTERS_BYTES
        if (n !== 8) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[s + 2 * (type - 1)] = dv.getUint32(pl);
        r[s + 2 * (type - 1) + 1] = dv.getUint32(pl + 4);
        r[S.SUB] |= type === 1 ? bit : bit << 1;
        break;
      case 3: // CTA_COUNTERS32_PACKETS (be32)
      case 4: // CTA_COUNTERS32_BYTES
        if (n !== 4) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[s + 2 * (type - 3)] = 0;
        r[s + 2 * (type - 3) + 1] = dv.getUint32(pl);
        r[S.SUB] |= type === 3 ? bit : bit << 1;
        break;
      default:
        break;
    }
    p += (len + 3) & ~3;
  }
  return true;
}

// CTA_TIMESTAMP.
function parseTimestamp(dv, r, p, end) {
  while (p < end) {
    const h = attrHdr(dv, r, p, end);
    if (h === 0) return false;
    const len = h & 0xffff, type = (h >>> 16) & 0x3fff, n = len - 4, pl = p + 4;
    if (type === 1 || type === 2) { // CTA_TIMESTAMP_START / _STOP (be64)
      if (n !== 8) return fail(r, DERR_ATTR_PAYLOAD, type, p);
      const s = type === 1 ? S.TS_START_HI : S.TS_STOP_HI;
      r[s] = dv.getUint32(pl);
      r[s + 1] = dv.getUint32(pl + 4);
      r[S.SUB] |= type === 1 ? SUB.TS_START : SUB.TS_STOP;
    }
    p += (len + 3) & ~3;
  }
  return true;
}

// Top level of a flow message.
function parseFlow(dv, r, p, end) {
  let attrs = 0;
  while (p < end) {
    const h = attrHdr(dv, r, p, end);
    if (h === 0) return false;
    const len = h & 0xffff, type = (h >>> 16) & 0x3fff, n = len - 4, pl = p + 4;
    switch (type) {
      case 1: // CTA_TUPLE_ORIG
        if (!parseTuple(dv, r, S.TUPLE_ORIG, pl, pl + n)) return false;
        break;
      case 2: // CTA_TUPLE_REPLY
        if (!parseTuple(dv, r, S.TUPLE_REPLY, pl, pl + n)) return false;
        break;
      case 14: // CTA_TUPLE_MASTER
        if (!parseTuple(dv, r, S.TUPLE_MASTER, pl, pl + n)) return false;
        break;
      case 3: // CTA_STATUS (be32, like the other scalars)
        if (n !== 4) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.STATUS] = dv.getUint32(pl);
        break;
      case 7: // CTA_TIMEOUT
        if (n !== 4) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.TIMEOUT] = dv.getUint32(pl);
        break;
      case 8: // CTA_MARK
        if (n !== 4) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.MARK] = dv.getUint32(pl);
        break;
      case 11: // CTA_USE
        if (n !== 4) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.USE] = dv.getUint32(pl);
        break;
      case 12: // CTA_ID
        if (n !== 4) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.ID] = dv.getUint32(pl);
        break;
      case 17: // CTA_SECMARK
        if (n !== 4) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.SECMARK] = dv.getUint32(pl);
        break;
      case 18: // CTA_ZONE
        if (n !== 2) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.ZONE] = dv.getUint16(pl);
        break;
      case 4: // CTA_PROTOINFO
        if (!parseProtoinfo(dv, r, pl, pl + n)) return false;
        break;
      case 9: // CTA_COUNTERS_ORIG
        if (!parseCounters(dv, r, S.ORIG_PACKETS_HI, SUB.ORIG_PACKETS, pl, pl + n)) return false;
        break;
      case 10: // CTA_COUNTERS_REPLY
        if (!parseCounters(dv, r, S.REPL_PACKETS_HI, SUB.REPL_PACKETS, pl, pl + n)) return false;
        break;
      case 20: // CTA_TIMESTAMP
        if (!parseTimestamp(dv, r, pl, pl + n)) return false;
        break;
      case 27: // CTA_TIMESTAMP_EVENT (be64)
        if (n !== 8) return fail(r, DERR_ATTR_PAYLOAD, type, p);
        r[S.TS_EVENT_HI] = dv.getUint32(pl);
        r[S.TS_EVENT_LO] = dv.getUint32(pl + 4);
        break;
      default: // not in the corpus (helper, NAT, labels, ...) or newer: skipped
        break;
    }
    if (type < 32) attrs |= 1 << type;
    p += (len + 3) & ~3;
  }
  r[S.ATTRS] = attrs;
  return true;
}

class LeanDecoder {
  constructor() {
    /** The reused output record (slots: S, T). */
    this.rec = new Uint32Array(S.SIZE);
    this.buffer = EMPTY.buffer;
    this.dv = new DataView(this.buffer);
    this.p = 0;
    this.end = 0;
  }

  /** Start on a datagram (a Uint8Array view). */
  begin(u8) {
    if (u8.buffer !== this.buffer) { // one DataView per receive buffer, not per datagram
      this.buffer = u8.buffer;
      this.dv = new DataView(u8.buffer);
    }
    this.p = u8.byteOffset;
    this.end = u8.byteOffset + u8.byteLength;
  }

  /** Decode the next message into this.rec; returns its KIND_*, 0 at the end. */
  next() {
    const m = this.p, end = this.end, dv = this.dv, r = this.rec;
    if (m >= end) return 0;
    r[S.ERR] = 0;
    r[S.ATTRS] = 0;
    r[S.SUB] = 0;
    r[S.EVENT] = 0;
    r[S.FAMILY] = 0;
    r[S.MSG_OFF] = m;
    if (end - m < 16) {
      this.p = end; // framing fault: the rest of the datagram cannot be trusted
      fail(r, DERR_NLMSG_TRUNCATED, 0, 0);
      return (r[S.KIND] = KIND_BAD);
    }
    const len = dv.getUint32(m, true);
    if (len < 16 || len > end - m) {
      this.p = end;
      fail(r, DERR_NLMSG_LEN, 0, 0);
      return (r[S.KIND] = KIND_BAD);
    }
    const next = m + ((len + 3) & ~3);
    this.p = next < end ? next : end;
    const type = dv.getUint16(m + 4, true), flags = dv.getUint16(m + 6, true);
    r[S.NLTYPE] = type;
    r[S.NLFLAGS] = flags;
    r[S.SEQ] = dv.getUint32(m + 8, true);
    r[S.PID] = dv.getUint32(m + 12, true);
    r[S.MSG_LEN] = len;
    let kind = KIND_UNKNOWN;
    if (type < 16) {
      kind = type === 3 ? KIND_DONE : type === 2 ? KIND_ERROR : type === 4 ? KIND_OVERRUN : KIND_UNKNOWN;
    } else if (type >> 8 === 1 && (type & 0xff) < 8 && (type & 0xff) !== 4 && (type & 0xff) !== 5) {
      // ctnetlink flow message (not the statistics replies)
      if (len < 20) {
        fail(r, DERR_NFGENMSG, 0, m + 16);
      } else {
        kind = KIND_FLOW;
        const msg = type & 0xff;
        // dump/GET replies (NLM_F_MULTI) are entries, not events
        r[S.EVENT] = (flags & 0x2) !== 0 ? 0 : msg === 0 ? ((flags & 0x600) !== 0 ? 1 : 2) : msg === 2 ? 3 : 0;
        r[S.FAMILY] = dv.getUint8(m + 16);
        parseFlow(dv, r, m + 20, m + len);
      }
    }
    if (r[S.ERR] !== 0) {
      r[S.ERR_OFF] -= m; // offset of the fault from the message start
      kind = KIND_BAD;
    }
    r[S.KIND] = kind;
    return kind;
  }
}

module.exports = { LeanDecoder, S, T, TP, SUB, KIND_FLOW, KIND_BAD };
