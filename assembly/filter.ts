// Filter programs: evaluated by decode() on each KIND_FLOW record right after
// it is decoded, so flows the caller does not want never become records.
//
// Program format (region FILTER, FILTER_SIZE bytes; constants in layout.ts):
//
//   FILTER + 0   u32  count      number of conditions; 0 = no filter (all pass)
//   FILTER + 4   u32  jit        1: a compiled copy of this program is installed
//                                 (src/filter-jit.ts); 0 when writing by hand
//   FILTER + 8   count conditions of FCOND_SIZE (32) bytes each:
//     +0  u8   op      FOP_*
//     +1  u8   negate  0 or 1: the condition's result is inverted
//     +2  u8   slot    tuple: 0 orig (CTA_TUPLE_ORIG), 1 reply, 2 master
//     +3  u8   plen    prefix length of an address condition, or PLEN_MASK
//     +4  u32  a       first operand (host order)
//     +8  u32  b       second operand
//     +12 u32  reserved
//     +16 16 bytes     address (network order; IPv4 in the first 4 bytes)
//     +32 16 bytes     netmask, read only when plen is PLEN_MASK (network order)
//
// All conditions must match (AND). Ops:
//   FALSE             never matches (a negated FALSE always matches)
//   FAMILY a          l3proto of the orig tuple (2 AF_INET, 10 AF_INET6)
//   PROTO a           CTA_PROTO_NUM of the orig tuple
//   SRC / DST         slot's address in the net (a = family, addr, plen); an
//                     IPv4 net never matches an IPv6 address and vice versa.
//                     With plen PLEN_MASK the net is addr under the netmask
//                     (any mask: conntrack's -s ADDR --mask-src 255.0.255.0)
//   REPLY_ANY         reply source OR reply destination in the net
//   SPORT / DPORT a   slot's CTA_PROTO_SRC_PORT / _DST_PORT
//   MARK a b          (CTA_MARK & b) == a
//   ZONE a            CTA_ZONE
//   TUPLE_ZONE a      slot's CTA_TUPLE_ZONE
//   STATUS a b        (CTA_STATUS & b) == a; "must have" bits: a = b = bits;
//                     "must not have": a = 0, b = bits
//   TCP/SCTP/DCCP_STATE a   CTA_PROTOINFO_*_STATE
//   ICMP_TYPE/CODE/ID a     orig tuple's ICMP or ICMPv6 type / code / id
//   TIMEOUT a b       a <= CTA_TIMEOUT <= b
//   LABEL a           CTA_LABELS bit a set (byte a >> 3, bit a & 7: the
//                     kernel's bitmap of host-order words, little endian)
//   NAT a             1 src-nat, 2 dst-nat, 3 any-nat, defined as
//                     conntrack-tools' filter_nat() with libnetfilter_conntrack
//                     objopt.c (NFCT_GOPT_IS_SNAT/SPAT/DNAT/DPAT):
//                       snat = SRC_NAT_DONE && reply.dst != orig.src
//                       spat = ports(orig proto) && SRC_NAT_DONE && reply.dport != orig.sport
//                       dnat = DST_NAT_DONE && reply.src != orig.dst
//                       dpat = ports(orig proto) && DST_NAT_DONE && reply.sport != orig.dport
//                       src-nat = snat || spat; dst-nat = dnat || dpat;
//                       any-nat = src-nat || dst-nat
//                     With plen 32, the condition's IPv4 address must also
//                     equal the reply dst (src side, with snat) / reply src
//                     (dst side, with dnat); with bit 16 of b set, port
//                     b & 0xffff must equal the reply dport (spat) / sport
//                     (dpat): conntrack's --src-nat/--dst-nat/--any-nat ip[:port].
//                     where "X_NAT_DONE" is true when CTA_STATUS is absent (as in
//                     libnetfilter_conntrack), ports(p) = p in {TCP, UDP,
//                     UDPLite, SCTP, DCCP} (the ICMP fix of objopt.c), and an
//                     absent address or port compares equal only to an absent
//                     one (both tuples must be present, else no NAT).
//
// Absent attributes: a condition on a field the message does not carry (the
// tuple, the address, the port, CTA_MARK, CTA_ZONE, ...) does not match; its
// negation therefore matches.
//
// filterPass never traps and never allocates: it reads only the record, the
// program region and (LABEL) the label bytes inside the message, each
// bounds-checked. A program with a bad count or an unknown op fails closed
// (nothing matches) and sets CTRL_FILTER_ERR; filterCheck() validates a program
// fully so TS can refuse it before use.
import * as L from "./layout";
import * as A from "./attrs";

// The program compiled to WASM by src/filter-jit.ts, called through a
// one-slot table (src/wasm.ts). Returns 1 pass, 0 fail, -1 "not installed"
// (the table's default): the interpreter below then decides.
// @ts-ignore: decorator
@external("env", "filterJit")
declare function filterJit(r: usize): i32;

// @ts-ignore: decorator
@inline function tupleAt(r: usize, slot: u32): usize {
  return r + (slot == 0 ? L.REC_TUPLE_ORIG : slot == 1 ? L.REC_TUPLE_REPLY : L.REC_TUPLE_MASTER);
}

// Is the slot's tuple present in the record?
// @ts-ignore: decorator
@inline function tuplePresent(r: usize, slot: u32): bool {
  const attrs = load<u32>(r + L.REC_ATTRS);
  const bit: u32 = slot == 0 ? <u32>A.CTA_TUPLE_ORIG : slot == 1 ? <u32>A.CTA_TUPLE_REPLY : <u32>A.CTA_TUPLE_MASTER;
  return (attrs & (<u32>1 << bit)) != 0;
}

// @ts-ignore: decorator
@inline function hasAttr(r: usize, type: u32): bool {
  return (load<u32>(r + L.REC_ATTRS) & (<u32>1 << type)) != 0;
}

// Presence bits of a tuple, 0 when the tuple itself is absent.
function tupBits(r: usize, slot: u32): u32 {
  if (!tuplePresent(r, slot)) return 0;
  return <u32>load<u16>(tupleAt(r, slot) + L.TUP_PRESENT);
}

// Is the address at p (family l3 of its tuple) inside the condition's net?
// Compared a 32-bit word at a time under the mask (network byte order): the
// prefix mask of plen, or the netmask at FCOND_MASK.
function inNet(p: usize, l3: u32, c: usize): bool {
  const fam = load<u32>(c + L.FCOND_A);
  if (l3 != fam) return false;
  let plen = <u32>load<u8>(c + L.FCOND_PLEN);
  const net = c + L.FCOND_ADDR;
  const words: u32 = fam == 2 ? 1 : 4;
  if (plen == <u32>L.PLEN_MASK) {
    for (let i: u32 = 0; i < words; i++) {
      const o = <usize>(i << 2);
      if (((load<u32>(p + o) ^ load<u32>(net + o)) & load<u32>(c + L.FCOND_MASK + o)) != 0) return false;
    }
    return true;
  }
  for (let i: u32 = 0; i < words && plen != 0; i++) {
    const bits = plen >= 32 ? <u32>32 : plen;
    const mask = bswap<u32>(bits == 32 ? <u32>0xffffffff : ~(<u32>0xffffffff >>> bits));
    const o = <usize>(i << 2);
    if (((load<u32>(p + o) ^ load<u32>(net + o)) & mask) != 0) return false;
    plen -= bits;
  }
  return true;
}

function addrMatch(r: usize, slot: u32, dst: bool, c: usize): bool {
  const bits = tupBits(r, slot);
  if ((bits & (dst ? L.TP_DST : L.TP_SRC)) == 0) return false;
  const t = tupleAt(r, slot);
  return inNet(t + (dst ? L.TUP_DST : L.TUP_SRC), <u32>load<u8>(t + L.TUP_L3), c);
}

// Same address (or both absent): the tuples' l3 and bytes.
function sameAddr(ta: usize, ha: bool, pa: usize, tb: usize, hb: bool, pb: usize): bool {
  if (!ha || !hb) return ha == hb;
  const l3 = <u32>load<u8>(ta + L.TUP_L3);
  if (l3 != <u32>load<u8>(tb + L.TUP_L3)) return false;
  if (load<u32>(pa) != load<u32>(pb)) return false;
  if (l3 == 2) return true;
  return load<u32>(pa + 4) == load<u32>(pb + 4) && load<u64>(pa + 8) == load<u64>(pb + 8);
}

function samePort(ba: u32, pa: usize, bitA: u32, bb: u32, pb: usize, bitB: u32): bool {
  const ha = (ba & bitA) != 0, hb = (bb & bitB) != 0;
  if (!ha || !hb) return ha == hb;
  return load<u16>(pa) == load<u16>(pb);
}

function portProto(p: u32): bool {
  return p == 6 || p == 17 || p == 136 || p == 132 || p == 33;
}

// One side of conntrack-tools' filter_nat(): `trans` is IS_SNAT / IS_DNAT
// (the address was translated), `ptrans` IS_SPAT / IS_DPAT (the port was);
// `addr` / `port` are the reply-tuple fields the translation shows up in.
// Without an address or port in the condition, either translation counts;
// with them, the translation must have happened and the reply field equal
// them (an address on an IPv4 entry only: conntrack compares ATTR_*_IPV4).
function natSide(c: usize, trans: bool, ptrans: bool, t: usize, hasAddr: bool, addr: usize, hasPort: bool, port: usize): bool {
  const wantAddr = <u32>load<u8>(c + L.FCOND_PLEN) != 0;
  const b = load<u32>(c + L.FCOND_B);
  const wantPort = (b & 0x10000) != 0;
  if (!wantAddr && !wantPort) return trans || ptrans;
  let m = false;
  if (wantAddr) {
    m = trans && hasAddr && <u32>load<u8>(t + L.TUP_L3) == 2 && load<u32>(addr) == load<u32>(c + L.FCOND_ADDR);
  }
  if (wantPort) {
    const pm = ptrans && hasPort && <u32>load<u16>(port) == (b & 0xffff);
    m = wantAddr ? m && pm : pm;
  }
  return m;
}

function natMatch(r: usize, c: usize): bool {
  const kind = load<u32>(c + L.FCOND_A);
  if (!tuplePresent(r, 0) || !tuplePresent(r, 1)) return false;
  const o = r + L.REC_TUPLE_ORIG, p = r + L.REC_TUPLE_REPLY;
  const ob = <u32>load<u16>(o + L.TUP_PRESENT), pb = <u32>load<u16>(p + L.TUP_PRESENT);
  const hasStatus = hasAttr(r, A.CTA_STATUS);
  const status = load<u32>(r + L.REC_STATUS);
  const ports = (ob & L.TP_PROTO) != 0 && portProto(<u32>load<u8>(o + L.TUP_PROTO));
  let src = false, dst = false;
  if ((kind & 1) != 0 && (!hasStatus || (status & (<u32>1 << A.IPS_SRC_NAT_DONE_BIT)) != 0)) {
    const snat = !sameAddr(p, (pb & L.TP_DST) != 0, p + L.TUP_DST, o, (ob & L.TP_SRC) != 0, o + L.TUP_SRC);
    const spat = ports && !samePort(pb, p + L.TUP_DPORT, L.TP_DPORT, ob, o + L.TUP_SPORT, L.TP_SPORT);
    src = natSide(c, snat, spat, p, (pb & L.TP_DST) != 0, p + L.TUP_DST, (pb & L.TP_DPORT) != 0, p + L.TUP_DPORT);
  }
  if ((kind & 2) != 0 && (!hasStatus || (status & (<u32>1 << A.IPS_DST_NAT_DONE_BIT)) != 0)) {
    const dnat = !sameAddr(p, (pb & L.TP_SRC) != 0, p + L.TUP_SRC, o, (ob & L.TP_DST) != 0, o + L.TUP_DST);
    const dpat = ports && !samePort(pb, p + L.TUP_SPORT, L.TP_SPORT, ob, o + L.TUP_DPORT, L.TP_DPORT);
    dst = natSide(c, dnat, dpat, p, (pb & L.TP_SRC) != 0, p + L.TUP_SRC, (pb & L.TP_SPORT) != 0, p + L.TUP_SPORT);
  }
  return src || dst;
}

function labelBit(r: usize, bit: u32): bool {
  if (!hasAttr(r, A.CTA_LABELS)) return false;
  const len = <u32>load<u16>(r + L.REC_LABELS_LEN);
  const byte = bit >> 3;
  if (byte >= len) return false;
  const p = <usize>load<u32>(r + L.REC_LABELS_PTR);
  return (<u32>load<u8>(p + <usize>byte) & (<u32>1 << (bit & 7))) != 0;
}

function setErr(code: u32): void {
  store<u32>(<usize>L.CTRL + L.CTRL_FILTER_ERR, code);
}

/**
 * One condition at c on the record at r, negation applied: 1 match, 0 no
 * match, -1 unknown op. Exported for compiled programs, which inline the
 * simple field tests and call this for the rest.
 */
export function evalCond(r: usize, c: usize): i32 {
  const op = <u32>load<u8>(c + L.FCOND_OP);
  const slot = <u32>load<u8>(c + L.FCOND_SLOT);
  const a = load<u32>(c + L.FCOND_A);
  const b = load<u32>(c + L.FCOND_B);
  let m = false;
  switch (op) {
    case L.FOP_FALSE: m = false; break;
    case L.FOP_FAMILY: {
      m = (tupBits(r, 0) & L.TP_IP) != 0 && <u32>load<u8>(r + L.REC_TUPLE_ORIG + L.TUP_L3) == a;
      break;
    }
    case L.FOP_PROTO: {
      m = (tupBits(r, 0) & L.TP_PROTO) != 0 && <u32>load<u8>(r + L.REC_TUPLE_ORIG + L.TUP_PROTO) == a;
      break;
    }
    case L.FOP_SRC: {
      if (slot > 2) return -1;
      m = addrMatch(r, slot, false, c);
      break;
    }
    case L.FOP_DST: {
      if (slot > 2) return -1;
      m = addrMatch(r, slot, true, c);
      break;
    }
    case L.FOP_REPLY_ANY: {
      m = addrMatch(r, 1, false, c) || addrMatch(r, 1, true, c);
      break;
    }
    case L.FOP_SPORT: {
      if (slot > 2) return -1;
      m = (tupBits(r, slot) & L.TP_SPORT) != 0 && <u32>load<u16>(tupleAt(r, slot) + L.TUP_SPORT) == a;
      break;
    }
    case L.FOP_DPORT: {
      if (slot > 2) return -1;
      m = (tupBits(r, slot) & L.TP_DPORT) != 0 && <u32>load<u16>(tupleAt(r, slot) + L.TUP_DPORT) == a;
      break;
    }
    case L.FOP_MARK: {
      m = hasAttr(r, A.CTA_MARK) && (load<u32>(r + L.REC_MARK) & b) == a;
      break;
    }
    case L.FOP_ZONE: {
      m = hasAttr(r, A.CTA_ZONE) && <u32>load<u16>(r + L.REC_ZONE) == a;
      break;
    }
    case L.FOP_TUPLE_ZONE: {
      if (slot > 2) return -1;
      m = (tupBits(r, slot) & L.TP_ZONE) != 0 && <u32>load<u16>(tupleAt(r, slot) + L.TUP_ZONE) == a;
      break;
    }
    case L.FOP_STATUS: {
      m = hasAttr(r, A.CTA_STATUS) && (load<u32>(r + L.REC_STATUS) & b) == a;
      break;
    }
    case L.FOP_TCP_STATE: {
      m = (load<u32>(r + L.REC_SUB) & L.SUB_TCP_STATE) != 0 && <u32>load<u8>(r + L.REC_TCP_STATE) == a;
      break;
    }
    case L.FOP_SCTP_STATE: {
      m = (load<u32>(r + L.REC_SUB) & L.SUB_SCTP_STATE) != 0 && <u32>load<u8>(r + L.REC_SCTP_STATE) == a;
      break;
    }
    case L.FOP_DCCP_STATE: {
      m = (load<u32>(r + L.REC_SUB) & L.SUB_DCCP_STATE) != 0 && <u32>load<u8>(r + L.REC_DCCP_STATE) == a;
      break;
    }
    case L.FOP_ICMP_TYPE: {
      m = (tupBits(r, 0) & (L.TP_ICMP_TYPE | L.TP_ICMPV6_TYPE)) != 0 &&
        <u32>load<u8>(r + L.REC_TUPLE_ORIG + L.TUP_ICMP_TYPE) == a;
      break;
    }
    case L.FOP_ICMP_CODE: {
      m = (tupBits(r, 0) & (L.TP_ICMP_CODE | L.TP_ICMPV6_CODE)) != 0 &&
        <u32>load<u8>(r + L.REC_TUPLE_ORIG + L.TUP_ICMP_CODE) == a;
      break;
    }
    case L.FOP_ICMP_ID: {
      m = (tupBits(r, 0) & (L.TP_ICMP_ID | L.TP_ICMPV6_ID)) != 0 &&
        <u32>load<u16>(r + L.REC_TUPLE_ORIG + L.TUP_ICMP_ID) == a;
      break;
    }
    case L.FOP_TIMEOUT: {
      if (hasAttr(r, A.CTA_TIMEOUT)) {
        const t = load<u32>(r + L.REC_TIMEOUT);
        m = t >= a && t <= b;
      }
      break;
    }
    case L.FOP_LABEL: m = labelBit(r, a); break;
    case L.FOP_NAT: {
      if (a < 1 || a > 3) return -1;
      m = natMatch(r, c);
      break;
    }
    default:
      return -1;
  }
  return (m ? 1 : 0) ^ (load<u8>(c + L.FCOND_NEG) != 0 ? 1 : 0);
}

/** Does the KIND_FLOW record at r pass the program at FILTER? */
export function filterPass(r: usize): bool {
  const n = load<u32>(<usize>L.FILTER + L.FILTER_COUNT);
  if (n > <u32>L.FILTER_MAX_CONDS) {
    setErr(L.FERR_COUNT);
    return false;
  }
  if (load<u32>(<usize>L.FILTER + L.FILTER_JIT) == 1) {
    const j = filterJit(r);
    if (j >= 0) return j == 1;
  }
  let c: usize = <usize>L.FILTER + L.FILTER_HDR;
  for (let i: u32 = 0; i < n; i++) {
    const v = evalCond(r, c);
    if (v < 0) {
      setErr(L.FERR_OP);
      return false;
    }
    if (v == 0) return false;
    c += L.FCOND_SIZE;
  }
  return true;
}

/** Validate the program at FILTER: 0 when well-formed, else FERR_* (also in CTRL_FILTER_ERR). */
export function filterCheck(): u32 {
  const n = load<u32>(<usize>L.FILTER + L.FILTER_COUNT);
  let err: u32 = L.FERR_OK;
  if (n > <u32>L.FILTER_MAX_CONDS) {
    err = L.FERR_COUNT;
  } else {
    let c: usize = <usize>L.FILTER + L.FILTER_HDR;
    for (let i: u32 = 0; i < n && err == 0; i++) {
      const op = <u32>load<u8>(c + L.FCOND_OP);
      const slot = <u32>load<u8>(c + L.FCOND_SLOT);
      const a = load<u32>(c + L.FCOND_A);
      const b = load<u32>(c + L.FCOND_B);
      if (op < 1 || op > <u32>L.FOP_MAX) err = L.FERR_OP;
      else if (load<u8>(c + L.FCOND_NEG) > 1) err = L.FERR_ARG;
      else if (slot > 2) err = L.FERR_SLOT;
      else if (op == L.FOP_SRC || op == L.FOP_DST || op == L.FOP_REPLY_ANY) {
        const plen = <u32>load<u8>(c + L.FCOND_PLEN);
        if (a != 2 && a != 10) err = L.FERR_FAMILY;
        else if (plen > (a == 2 ? <u32>32 : <u32>128) && plen != <u32>L.PLEN_MASK) err = L.FERR_PLEN;
      } else if (op == L.FOP_NAT && (a < 1 || a > 3)) err = L.FERR_ARG;
      else if (op == L.FOP_NAT && <u32>load<u8>(c + L.FCOND_PLEN) != 0 && <u32>load<u8>(c + L.FCOND_PLEN) != 32) err = L.FERR_PLEN;
      else if (op == L.FOP_TIMEOUT && a > b) err = L.FERR_ARG;
      c += L.FCOND_SIZE;
    }
  }
  setErr(err);
  return err;
}
