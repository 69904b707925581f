// conntrack's default text line (`conntrack -L`, optionally `-o extended`
// and `-o id`) written straight from a decoded flow record into the TEXT_OUT
// byte region, so `ctrack -L` builds no JS string per field (issue 4).
//
// This is a second implementation of src/format/text.ts formatFlowText()
// (which mirrors libnetfilter_conntrack 1.0.9 __snprintf_conntrack_default)
// restricted to the options above; test/format-fast.test.ts holds the two
// byte-equal on every fixture and on random records. Field order, presence
// rules and quirks are the JS formatter's; read the comments there for why.
//
// Rules: no allocation, no trap. The only memory read outside the record is
// the helper name and the security context, whose pointers the decoder set
// inside the received message; they are range-checked anyway. Anything this
// file does not print itself (no L4 protocol, non-ASCII strings whose UTF-8
// decoding JS would change) returns TF_FALLBACK and the caller uses the JS
// formatter for that record.
import * as L from "./layout";
import * as A from "./attrs";

const AF_INET: u32 = 2;
const AF_INET6: u32 = 10;
const IPS_SEEN_REPLY: u32 = 1 << 1;
const IPS_ASSURED: u32 = 1 << 2;
const IPS_OFFLOAD: u32 = 1 << 14;
const IPS_HW_OFFLOAD: u32 = 1 << 15;

// Worst case of everything but the two variable strings (about 700 bytes:
// two IPv6 tuples with 20-digit counters and every meta field), rounded up.
const LINE_FIXED_MAX: u32 = 1024;

// Output cursor (absolute address), valid during one textFlowLine() call.
let o: usize = 0;

// @ts-ignore: decorator
@inline function put(c: u32): void {
  store<u8>(o, c);
  o++;
}

/** An ASCII literal (AssemblyScript strings are UTF-16: keep the low bytes). */
function putStr(s: string): void {
  const p = changetype<usize>(s);
  const n = <usize>s.length;
  for (let i: usize = 0; i < n; i++) store<u8>(o + i, load<u16>(p + (i << 1)));
  o += n;
}

/** "%u" of a 32-bit value. */
function putU32(v: u32): void {
  let n: usize = 1;
  for (let t = v; t >= 10; t /= 10) n++;
  let p = o + n;
  do {
    p--;
    store<u8>(p, 48 + v % 10);
    v /= 10;
  } while (v != 0);
  o += n;
}

/** "%llu" of a 64-bit value. */
function putU64(v: u64): void {
  if (v <= <u64>u32.MAX_VALUE) {
    putU32(<u32>v);
    return;
  }
  let n: usize = 1;
  for (let t = v; t >= 10; t /= 10) n++;
  let p = o + n;
  do {
    p--;
    store<u8>(p, 48 + <u32>(v % 10));
    v /= 10;
  } while (v != 0);
  o += n;
}

/** "%x": lowercase hex without leading zeros. */
function putHex(v: u32): void {
  let n: usize = 1;
  for (let t = v; t >= 16; t >>= 4) n++;
  let p = o + n;
  do {
    p--;
    const d = v & 15;
    store<u8>(p, d < 10 ? 48 + d : 87 + d);
    v >>= 4;
  } while (v != 0);
  o += n;
}

/** "%-8s " of a name shorter than 8. */
function putCol8(s: string): void {
  const n = s.length;
  putStr(s);
  for (let i = n; i < 9; i++) put(32);
}

// ---------------------------------------------------------------------------
// Addresses as glibc prints them (see src/format/address.ts for the rules).

/** inet_ntoa(): "%d.%d.%d.%d" of 4 bytes in network order. */
function putIPv4(a: usize): void {
  putU32(load<u8>(a));
  put(46);
  putU32(load<u8>(a + 1));
  put(46);
  putU32(load<u8>(a + 2));
  put(46);
  putU32(load<u8>(a + 3));
}

// @ts-ignore: decorator
@inline function word6(a: usize, i: u32): u32 {
  return (<u32>load<u8>(a + (i << 1)) << 8) | <u32>load<u8>(a + (i << 1) + 1);
}

/** inet_ntop(AF_INET6): longest zero run (first on a tie, >= 2 words) as "::", embedded IPv4 forms. */
function putIPv6(a: usize): void {
  let bestBase: i32 = -1;
  let bestLen: i32 = 0;
  let curBase: i32 = -1;
  let curLen: i32 = 0;
  for (let i: i32 = 0; i < 8; i++) {
    if (word6(a, i) == 0) {
      if (curBase == -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase != -1) {
      if (bestBase == -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase != -1 && (bestBase == -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase != -1 && bestLen < 2) bestBase = -1;
  const end = bestBase + bestLen;
  for (let i: i32 = 0; i < 8; i++) {
    if (bestBase != -1 && i >= bestBase && i < end) {
      if (i == bestBase) put(58);
      continue;
    }
    if (i != 0) put(58);
    if (i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && word6(a, 5) == 0xffff))) {
      putIPv4(a + 12);
      return;
    }
    putHex(word6(a, i));
  }
  if (bestBase != -1 && end == 8) put(58);
}

// ---------------------------------------------------------------------------
// Tuples.

// @ts-ignore: decorator
@inline function tupBits(t: usize): u32 {
  return <u32>load<u16>(t + L.TUP_PRESENT);
}

/** One tuple address, in the form its CTA_IP_* attribute came in (TUP_L3). */
function putTupleAddr(t: usize, off: usize): void {
  if (<u32>load<u8>(t + L.TUP_L3) == AF_INET6) putIPv6(t + off);
  else putIPv4(t + off);
}

/** "src=A dst=B " in the message family; zero addresses for absent ones; nothing for other families. */
function putAddresses(t: usize, family: u32): void {
  if (family != AF_INET && family != AF_INET6) return;
  const bits = tupBits(t);
  putStr("src=");
  if (bits & L.TP_SRC) putTupleAddr(t, L.TUP_SRC);
  else putStr(family == AF_INET ? "0.0.0.0" : "::");
  putStr(" dst=");
  if (bits & L.TP_DST) putTupleAddr(t, L.TUP_DST);
  else putStr(family == AF_INET ? "0.0.0.0" : "::");
  put(32);
}

// @ts-ignore: decorator
@inline function u16If(t: usize, bits: u32, bit: u32, off: usize): u32 {
  return (bits & bit) != 0 ? <u32>load<u16>(t + off) : 0;
}

// @ts-ignore: decorator
@inline function u8If(t: usize, bits: u32, bit: u32, off: usize): u32 {
  return (bits & bit) != 0 ? <u32>load<u8>(t + off) : 0;
}

/** Layer 4 part of a tuple (__snprintf_proto); nothing without CTA_PROTO_NUM or for other protocols. */
function putProto(t: usize): void {
  const bits = tupBits(t);
  if ((bits & L.TP_PROTO) == 0) return;
  const p = <u32>load<u8>(t + L.TUP_PROTO);
  if (p == 6 || p == 17 || p == 136 || p == 132 || p == 33) {
    putStr("sport=");
    putU32(u16If(t, bits, L.TP_SPORT, L.TUP_SPORT));
    putStr(" dport=");
    putU32(u16If(t, bits, L.TP_DPORT, L.TUP_DPORT));
    put(32);
  } else if (p == 47) {
    putStr("srckey=0x");
    putHex(u16If(t, bits, L.TP_SPORT, L.TUP_SPORT));
    putStr(" dstkey=0x");
    putHex(u16If(t, bits, L.TP_DPORT, L.TUP_DPORT));
    put(32);
  } else if (p == 1 || p == 58) {
    putStr("type=");
    putU32(u8If(t, bits, L.TP_ICMP_TYPE | L.TP_ICMPV6_TYPE, L.TUP_ICMP_TYPE));
    putStr(" code=");
    putU32(u8If(t, bits, L.TP_ICMP_CODE | L.TP_ICMPV6_CODE, L.TUP_ICMP_CODE));
    putStr(" id=");
    putU32(u16If(t, bits, L.TP_ICMP_ID | L.TP_ICMPV6_ID, L.TUP_ICMP_ID));
    put(32);
  }
}

function putTupleZone(t: usize, tag: string): void {
  if ((tupBits(t) & L.TP_ZONE) == 0) return;
  putStr(tag);
  putU32(<u32>load<u16>(t + L.TUP_ZONE));
  put(32);
}

// ---------------------------------------------------------------------------
// Flow fields.

function protoName(p: u32): string {
  switch (p) {
    case 6: return "tcp";
    case 17: return "udp";
    case 136: return "udplite";
    case 1: return "icmp";
    case 58: return "icmpv6";
    case 132: return "sctp";
    case 47: return "gre";
    case 33: return "dccp";
    default: return "unknown";
  }
}

function tcpStateName(s: u32): string {
  switch (s) {
    case 1: return "SYN_SENT";
    case 2: return "SYN_RECV";
    case 3: return "ESTABLISHED";
    case 4: return "FIN_WAIT";
    case 5: return "CLOSE_WAIT";
    case 6: return "LAST_ACK";
    case 7: return "TIME_WAIT";
    case 8: return "CLOSE";
    case 9: return "SYN_SENT2";
    default: return "NONE";
  }
}

function sctpStateName(s: u32): string {
  switch (s) {
    case 1: return "CLOSED";
    case 2: return "COOKIE_WAIT";
    case 3: return "COOKIE_ECHOED";
    case 4: return "ESTABLISHED";
    case 5: return "SHUTDOWN_SENT";
    case 6: return "SHUTDOWN_RECD";
    case 7: return "SHUTDOWN_ACK_SENT";
    case 8: return "HEARTBEAT_SENT";
    case 9: return "HEARTBEAT_ACKED";
    default: return "NONE";
  }
}

function dccpStateName(s: u32): string {
  switch (s) {
    case 1: return "REQUEST";
    case 2: return "RESPOND";
    case 3: return "PARTOPEN";
    case 4: return "OPEN";
    case 5: return "CLOSEREQ";
    case 6: return "CLOSING";
    case 7: return "TIMEWAIT";
    case 8: return "IGNORE";
    case 9: return "INVALID";
    default: return "NONE";
  }
}

/** "packets=N bytes=N " when both counters of the direction were sent. */
function putCounters(r: usize, has: bool, sub: u32, pBit: u32, bBit: u32, off: usize): void {
  if (!has || (sub & pBit) == 0 || (sub & bBit) == 0) return;
  putStr("packets=");
  putU64(load<u64>(r + off));
  putStr(" bytes=");
  putU64(load<u64>(r + off + 8));
  put(32);
}

/** "TAG=N " of a u32 scalar when its top-level attribute was sent. */
function putU32Field(attrs: u32, attr: u32, tag: string, v: u32): void {
  if (((attrs >>> attr) & 1) == 0) return;
  putStr(tag);
  putU32(v);
  put(32);
}

/** Whether [ptr, ptr+len) lies inside memory (decoder pointers always do; this is the no-trap guarantee). */
function inMemory(ptr: usize, len: usize): bool {
  const size = <usize>memory.size() << 16;
  return ptr <= size && len <= size - ptr;
}

/**
 * "TAG=<bytes> " copied as is. Returns false (caller falls back) when a byte
 * is >= 0x80: the JS formatter decodes the string as UTF-8 first, which
 * would change invalid sequences.
 */
function putString(tag: string, ptr: usize, len: usize): bool {
  putStr(tag);
  for (let i: usize = 0; i < len; i++) {
    const c = <u32>load<u8>(ptr + i);
    if (c >= 0x80) return false;
    store<u8>(o + i, c);
  }
  o += len;
  put(32);
  return true;
}

/** "delta-time=N ": (stop or now) - start in whole seconds, wrapped as %llu. */
function putDeltaTime(r: usize, sub: u32, now: i64): void {
  const start = <i64>(load<u64>(r + L.REC_TS_START) / 1000000000);
  let stop = now;
  if ((sub & L.SUB_TS_STOP) != 0) {
    const s = load<u64>(r + L.REC_TS_STOP);
    if (s != 0) stop = <i64>(s / 1000000000);
  }
  putStr("delta-time=");
  putU64(<u64>(stop - start));
  put(32);
}

/**
 * Appends one flow's line and "\n" at TEXT_OUT + pos.
 * rec: absolute address of a KIND_FLOW record; flags: TF_LAYER3 | TF_ID;
 * now: seconds since the epoch for delta-time (an integer).
 * Returns the new pos, TF_FALLBACK (format this record in JS) or TF_NO_ROOM
 * (flush the region and call again with pos 0).
 */
export function textFlowLine(rec: usize, pos: u32, flags: u32, now: f64): i32 {
  const r = rec;
  if (!inMemory(r, L.REC_SIZE)) return L.TF_FALLBACK;
  const attrs = load<u32>(r + L.REC_ATTRS);
  const sub = load<u32>(r + L.REC_SUB);
  const orig = r + L.REC_TUPLE_ORIG;
  if (((attrs >>> A.CTA_TUPLE_ORIG) & 1) == 0 || (tupBits(orig) & L.TP_PROTO) == 0) return L.TF_FALLBACK;

  // Room: the fixed part plus the two strings that can be long.
  let need = LINE_FIXED_MAX;
  let helpPtr: usize = 0, helpLen: usize = 0, ctxPtr: usize = 0, ctxLen: usize = 0;
  if (sub & L.SUB_HELP_NAME) {
    helpPtr = load<u32>(r + L.REC_HELP_NAME_PTR);
    helpLen = load<u16>(r + L.REC_HELP_NAME_LEN);
    if (!inMemory(helpPtr, helpLen)) return L.TF_FALLBACK;
    need += <u32>helpLen;
  }
  if (sub & L.SUB_SECCTX_NAME) {
    ctxPtr = load<u32>(r + L.REC_SECCTX_PTR);
    ctxLen = load<u16>(r + L.REC_SECCTX_LEN);
    if (!inMemory(ctxPtr, ctxLen)) return L.TF_FALLBACK;
    need += <u32>ctxLen;
  }
  if (pos > <u32>L.TEXT_OUT_SIZE || need > <u32>L.TEXT_OUT_SIZE - pos) return L.TF_NO_ROOM;
  o = <usize>L.TEXT_OUT + pos;

  const family = <u32>load<u8>(r + L.REC_FAMILY);
  if (flags & L.TF_LAYER3) {
    putCol8(family == AF_INET ? "ipv4" : family == AF_INET6 ? "ipv6" : "unknown");
    putU32(family);
    put(32);
  }
  const proto = <u32>load<u8>(orig + L.TUP_PROTO);
  putCol8(protoName(proto));
  putU32(proto);
  put(32);
  putU32Field(attrs, A.CTA_TIMEOUT, "", load<u32>(r + L.REC_TIMEOUT));

  // Protocol states, each when its state attribute was sent inside CTA_PROTOINFO.
  if ((attrs >>> A.CTA_PROTOINFO) & 1) {
    if (sub & L.SUB_TCP_STATE) { putStr(tcpStateName(load<u8>(r + L.REC_TCP_STATE))); put(32); }
    if (sub & L.SUB_SCTP_STATE) { putStr(sctpStateName(load<u8>(r + L.REC_SCTP_STATE))); put(32); }
    if (sub & L.SUB_DCCP_STATE) { putStr(dccpStateName(load<u8>(r + L.REC_DCCP_STATE))); put(32); }
  }

  putAddresses(orig, family);
  putProto(orig);
  putTupleZone(orig, "zone-orig=");
  putCounters(r, ((attrs >>> A.CTA_COUNTERS_ORIG) & 1) != 0, sub, L.SUB_ORIG_PACKETS, L.SUB_ORIG_BYTES, L.REC_ORIG_PACKETS);
  const hasStatus = ((attrs >>> A.CTA_STATUS) & 1) != 0;
  const status = load<u32>(r + L.REC_STATUS);
  if (hasStatus && (status & IPS_SEEN_REPLY) == 0) putStr("[UNREPLIED] ");

  if ((attrs >>> A.CTA_TUPLE_REPLY) & 1) {
    const reply = r + L.REC_TUPLE_REPLY;
    putAddresses(reply, family);
    putProto(reply);
    putTupleZone(reply, "zone-reply=");
  }
  putCounters(r, ((attrs >>> A.CTA_COUNTERS_REPLY) & 1) != 0, sub, L.SUB_REPL_PACKETS, L.SUB_REPL_BYTES, L.REC_REPL_PACKETS);
  if (hasStatus) {
    if (status & IPS_HW_OFFLOAD) putStr("[HW_OFFLOAD] ");
    else if (status & IPS_OFFLOAD) putStr("[OFFLOAD] ");
    else if (status & IPS_ASSURED) putStr("[ASSURED] ");
  }

  // mark, secmark, secctx, zone, delta-time, helper, use, id
  putU32Field(attrs, A.CTA_MARK, "mark=", load<u32>(r + L.REC_MARK));
  putU32Field(attrs, A.CTA_SECMARK, "secmark=", load<u32>(r + L.REC_SECMARK));
  if (sub & L.SUB_SECCTX_NAME) {
    if (!putString("secctx=", ctxPtr, ctxLen)) return L.TF_FALLBACK;
  }
  putU32Field(attrs, A.CTA_ZONE, "zone=", <u32>load<u16>(r + L.REC_ZONE));
  // (f64 -> i64 would trap outside the i64 range; the caller passes an integer)
  if (sub & L.SUB_TS_START) putDeltaTime(r, sub, now >= -9.0e18 && now <= 9.0e18 ? <i64>now : 0);
  if (sub & L.SUB_HELP_NAME) {
    if (!putString("helper=", helpPtr, helpLen)) return L.TF_FALLBACK;
  }
  putU32Field(attrs, A.CTA_USE, "use=", load<u32>(r + L.REC_USE));
  if (flags & L.TF_ID) putU32Field(attrs, A.CTA_ID, "id=", load<u32>(r + L.REC_ID));

  // Every field ended with a blank; the line ends without one.
  store<u8>(o - 1, 10);
  return <i32>(o - <usize>L.TEXT_OUT);
}
