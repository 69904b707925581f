// ctnetlink request encoder: the inverse of the decoder. TS fills the record
// at ENC_REQ (REC_* layout, the presence bits the decoder would set) and calls
// encodeRequest(); this file writes one netlink message at ENC_OUT, which the
// host then sends.
//
// Rules this file keeps (like index.ts):
// - no allocation: the message is written at a fixed address;
// - every write is preceded by a room check against ENC_OUT + ENC_OUT_SIZE,
//   every read through a record pointer is checked against the memory size,
//   so bad input ends in status ENC_ERR_* and a return of 0, never a trap;
// - attribute order follows libnetfilter_conntrack (nfct_nlmsg_build,
//   nfexp_nlmsg_build, nfct_nlmsg_build_filter) so the bytes equal what the
//   conntrack tool sends; attributes libnetfilter_conntrack never sends go
//   after them, in attribute-number order.
// Layout of what is written (libmnl's): nlmsghdr in host order, nfgenmsg with
// be16 res_id, attributes {u16 len, u16 type} in host order, nests with
// NLA_F_NESTED, integer payloads big endian, every attribute padded to 4 with
// zeros and the padding counted in the enclosing lengths.
import * as L from "./layout";
import * as A from "./attrs";

const NESTED: u32 = 0x8000; // NLA_F_NESTED

let gOut: usize = 0; // next free byte of the message
let gEnd: usize = 0; // end of the output buffer
let gStatus: u32 = 0; // first ENC_ERR_* (sticky)

function setErr(code: u32): void {
  if (gStatus == 0) gStatus = code;
}

// Reserve n bytes (a multiple of 4), zero filled. Returns 0 on failure.
function reserve(n: usize): usize {
  if (gStatus != 0) return 0;
  if (n > gEnd - gOut) {
    setErr(L.ENC_ERR_SPACE);
    return 0;
  }
  const p = gOut;
  memory.fill(p, 0, n);
  gOut = p + n;
  return p;
}

// nlattr header for a payload of n bytes; returns the payload address or 0.
function attrHdr(type: u32, n: usize): usize {
  if (gStatus != 0) return 0;
  if (n > 0xffff - 4) {
    setErr(L.ENC_ERR_ATTR_LEN);
    return 0;
  }
  const len = n + 4;
  const p = reserve((len + 3) & ~3);
  if (p == 0) return 0;
  store<u16>(p, <u16>len);
  store<u16>(p + 2, <u16>type);
  return p + 4;
}

function putU8(type: u32, v: u32): void {
  const pl = attrHdr(type, 1);
  if (pl != 0) store<u8>(pl, <u8>v);
}

function putBe16(type: u32, v: u32): void {
  const pl = attrHdr(type, 2);
  if (pl != 0) store<u16>(pl, bswap<u16>(<u16>v));
}

function putBe32(type: u32, v: u32): void {
  const pl = attrHdr(type, 4);
  if (pl != 0) store<u32>(pl, bswap<u32>(v));
}

function putBe64(type: u32, v: u64): void {
  const pl = attrHdr(type, 8);
  if (pl != 0) store<u64>(pl, bswap<u64>(v));
}

// Raw bytes from inside the record (addresses: already network order).
function putRaw(type: u32, src: usize, n: usize): void {
  const pl = attrHdr(type, n);
  if (pl != 0) memory.copy(pl, src, n);
}

// Is [p, p + n) inside memory? (u64: p + n may wrap in 32 bits)
function inMemory(p: usize, n: usize): bool {
  if (<u64>p + <u64>n > (<u64>memory.size() << 16)) {
    setErr(L.ENC_ERR_PTR);
    return false;
  }
  return true;
}

// Blob addressed by a record pointer (CTA_LABELS, CTA_HELP_INFO).
function putBlob(type: u32, src: usize, n: usize): void {
  if (!inMemory(src, n)) return;
  putRaw(type, src, n);
}

// String addressed by a record pointer, sent with its NUL (mnl_attr_put_strz).
function putStrz(type: u32, src: usize, n: usize): void {
  if (!inMemory(src, n)) return;
  const pl = attrHdr(type, n + 1);
  if (pl != 0) memory.copy(pl, src, n); // the NUL is the zero fill
}

// Nest header; returns its address (for nestEnd) or 0.
function nestStart(type: u32): usize {
  const pl = attrHdr(type | NESTED, 0);
  return pl == 0 ? 0 : pl - 4;
}

function nestEnd(start: usize): void {
  if (gStatus != 0 || start == 0) return;
  const len = gOut - start;
  if (len > 0xffff) {
    setErr(L.ENC_ERR_ATTR_LEN);
    return;
  }
  store<u16>(start, <u16>len);
}

// @ts-ignore: decorator
@inline function has(word: u32, bit: u32): bool {
  return (word & bit) != 0;
}

// ---------------------------------------------------------------------------
// CTA_TUPLE_* at t (TUP_* layout): nfct_build_tuple order, i.e. CTA_TUPLE_IP
// { SRC, DST }, CTA_TUPLE_PROTO { NUM, SRC_PORT, DST_PORT | ICMP CODE, TYPE,
// ID }, CTA_TUPLE_ZONE.
const TP_PROTO_ANY: u32 = L.TP_PROTO_NEST | L.TP_PROTO | L.TP_SPORT | L.TP_DPORT |
  L.TP_ICMP_ID | L.TP_ICMP_TYPE | L.TP_ICMP_CODE | L.TP_ICMPV6_ID | L.TP_ICMPV6_TYPE | L.TP_ICMPV6_CODE;

function putTuple(type: u32, t: usize): void {
  const bits = <u32>load<u16>(t + L.TUP_PRESENT);
  const nest = nestStart(type);
  if (nest == 0) return;
  if (has(bits, L.TP_IP | L.TP_SRC | L.TP_DST)) {
    const ip = nestStart(A.CTA_TUPLE_IP);
    if (has(bits, L.TP_SRC | L.TP_DST)) {
      const l3 = <u32>load<u8>(t + L.TUP_L3);
      if (l3 == <u32>A.AF_INET) {
        if (has(bits, L.TP_SRC)) putRaw(A.CTA_IP_V4_SRC, t + L.TUP_SRC, 4);
        if (has(bits, L.TP_DST)) putRaw(A.CTA_IP_V4_DST, t + L.TUP_DST, 4);
      } else if (l3 == <u32>A.AF_INET6) {
        if (has(bits, L.TP_SRC)) putRaw(A.CTA_IP_V6_SRC, t + L.TUP_SRC, 16);
        if (has(bits, L.TP_DST)) putRaw(A.CTA_IP_V6_DST, t + L.TUP_DST, 16);
      } else {
        setErr(L.ENC_ERR_L3);
      }
    }
    nestEnd(ip);
  }
  if (has(bits, TP_PROTO_ANY)) {
    const pr = nestStart(A.CTA_TUPLE_PROTO);
    if (has(bits, L.TP_PROTO)) putU8(A.CTA_PROTO_NUM, <u32>load<u8>(t + L.TUP_PROTO));
    if (has(bits, L.TP_SPORT)) putBe16(A.CTA_PROTO_SRC_PORT, <u32>load<u16>(t + L.TUP_SPORT));
    if (has(bits, L.TP_DPORT)) putBe16(A.CTA_PROTO_DST_PORT, <u32>load<u16>(t + L.TUP_DPORT));
    // libnetfilter_conntrack: code, type, id
    if (has(bits, L.TP_ICMP_CODE)) putU8(A.CTA_PROTO_ICMP_CODE, <u32>load<u8>(t + L.TUP_ICMP_CODE));
    if (has(bits, L.TP_ICMP_TYPE)) putU8(A.CTA_PROTO_ICMP_TYPE, <u32>load<u8>(t + L.TUP_ICMP_TYPE));
    if (has(bits, L.TP_ICMP_ID)) putBe16(A.CTA_PROTO_ICMP_ID, <u32>load<u16>(t + L.TUP_ICMP_ID));
    if (has(bits, L.TP_ICMPV6_CODE)) putU8(A.CTA_PROTO_ICMPV6_CODE, <u32>load<u8>(t + L.TUP_ICMP_CODE));
    if (has(bits, L.TP_ICMPV6_TYPE)) putU8(A.CTA_PROTO_ICMPV6_TYPE, <u32>load<u8>(t + L.TUP_ICMP_TYPE));
    if (has(bits, L.TP_ICMPV6_ID)) putBe16(A.CTA_PROTO_ICMPV6_ID, <u32>load<u16>(t + L.TUP_ICMP_ID));
    nestEnd(pr);
  }
  if (has(bits, L.TP_ZONE)) putBe16(A.CTA_TUPLE_ZONE, <u32>load<u16>(t + L.TUP_ZONE));
  nestEnd(nest);
}

// ---------------------------------------------------------------------------
// Flow pieces.

// CTA_PROTOINFO { CTA_PROTOINFO_TCP | _DCCP | _SCTP } (nfct_build_protoinfo).
function putProtoinfo(r: usize, sub: u32): void {
  const tcp = L.SUB_TCP_STATE | L.SUB_TCP_WSCALE_ORIG | L.SUB_TCP_WSCALE_REPL | L.SUB_TCP_FLAGS_ORIG | L.SUB_TCP_FLAGS_REPL;
  const dccp = L.SUB_DCCP_STATE | L.SUB_DCCP_ROLE | L.SUB_DCCP_HANDSHAKE_SEQ;
  const sctp = L.SUB_SCTP_STATE | L.SUB_SCTP_VTAG_ORIG | L.SUB_SCTP_VTAG_REPL;
  const nest = nestStart(A.CTA_PROTOINFO);
  if (has(sub, tcp)) {
    const n = nestStart(A.CTA_PROTOINFO_TCP);
    if (has(sub, L.SUB_TCP_STATE)) putU8(A.CTA_PROTOINFO_TCP_STATE, <u32>load<u8>(r + L.REC_TCP_STATE));
    // struct nf_ct_tcp_flags { u8 flags; u8 mask; }, as stored
    if (has(sub, L.SUB_TCP_FLAGS_ORIG)) putRaw(A.CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, r + L.REC_TCP_FLAGS_ORIG, 2);
    if (has(sub, L.SUB_TCP_FLAGS_REPL)) putRaw(A.CTA_PROTOINFO_TCP_FLAGS_REPLY, r + L.REC_TCP_FLAGS_REPL, 2);
    if (has(sub, L.SUB_TCP_WSCALE_ORIG)) putU8(A.CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, <u32>load<u8>(r + L.REC_TCP_WSCALE_ORIG));
    if (has(sub, L.SUB_TCP_WSCALE_REPL)) putU8(A.CTA_PROTOINFO_TCP_WSCALE_REPLY, <u32>load<u8>(r + L.REC_TCP_WSCALE_REPL));
    nestEnd(n);
  }
  if (has(sub, sctp)) {
    const n = nestStart(A.CTA_PROTOINFO_SCTP);
    if (has(sub, L.SUB_SCTP_STATE)) putU8(A.CTA_PROTOINFO_SCTP_STATE, <u32>load<u8>(r + L.REC_SCTP_STATE));
    if (has(sub, L.SUB_SCTP_VTAG_ORIG)) putBe32(A.CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, load<u32>(r + L.REC_SCTP_VTAG_ORIG));
    if (has(sub, L.SUB_SCTP_VTAG_REPL)) putBe32(A.CTA_PROTOINFO_SCTP_VTAG_REPLY, load<u32>(r + L.REC_SCTP_VTAG_REPL));
    nestEnd(n);
  }
  if (has(sub, dccp)) {
    const n = nestStart(A.CTA_PROTOINFO_DCCP);
    if (has(sub, L.SUB_DCCP_STATE)) putU8(A.CTA_PROTOINFO_DCCP_STATE, <u32>load<u8>(r + L.REC_DCCP_STATE));
    if (has(sub, L.SUB_DCCP_ROLE)) putU8(A.CTA_PROTOINFO_DCCP_ROLE, <u32>load<u8>(r + L.REC_DCCP_ROLE));
    if (has(sub, L.SUB_DCCP_HANDSHAKE_SEQ)) putBe64(A.CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ, load<u64>(r + L.REC_DCCP_HANDSHAKE_SEQ));
    nestEnd(n);
  }
  nestEnd(nest);
}

// CTA_NAT_SRC / CTA_NAT_DST at nat (NAT_* layout): MINIP, MAXIP, CTA_NAT_PROTO.
function putNat(type: u32, nat: usize): void {
  const bits = <u32>load<u16>(nat + L.NAT_PRESENT);
  const nest = nestStart(type);
  if (has(bits, L.NP_V4_MINIP)) putRaw(A.CTA_NAT_V4_MINIP, nat + L.NAT_MINIP, 4);
  if (has(bits, L.NP_V4_MAXIP)) putRaw(A.CTA_NAT_V4_MAXIP, nat + L.NAT_MAXIP, 4);
  if (has(bits, L.NP_V6_MINIP)) putRaw(A.CTA_NAT_V6_MINIP, nat + L.NAT_MINIP, 16);
  if (has(bits, L.NP_V6_MAXIP)) putRaw(A.CTA_NAT_V6_MAXIP, nat + L.NAT_MAXIP, 16);
  if (has(bits, L.NP_PORT_MIN | L.NP_PORT_MAX)) {
    const p = nestStart(A.CTA_NAT_PROTO);
    if (has(bits, L.NP_PORT_MIN)) putBe16(A.CTA_PROTONAT_PORT_MIN, <u32>load<u16>(nat + L.NAT_PORT_MIN));
    if (has(bits, L.NP_PORT_MAX)) putBe16(A.CTA_PROTONAT_PORT_MAX, <u32>load<u16>(nat + L.NAT_PORT_MAX));
    nestEnd(p);
  }
  nestEnd(nest);
}

// CTA_SEQ_ADJ_ORIG / _REPLY: three u32 at base, presence bits bit0 << i.
function putSeqAdj(type: u32, base: usize, sub: u32, bit0: u32): void {
  const nest = nestStart(type);
  for (let i: u32 = 0; i < 3; i++) {
    if (has(sub, bit0 << i)) putBe32(<u32>A.CTA_SEQADJ_CORRECTION_POS + i, load<u32>(base + (<usize>i << 2)));
  }
  nestEnd(nest);
}

// CTA_COUNTERS_ORIG / _REPLY (the 32-bit forms when the record says so).
function putCounters(type: u32, pk: usize, by: usize, sub: u32, bitPk: u32, bitBy: u32, bit32: u32): void {
  const nest = nestStart(type);
  if (has(sub, bit32)) {
    if (has(sub, bitPk)) putBe32(A.CTA_COUNTERS32_PACKETS, <u32>load<u64>(pk));
    if (has(sub, bitBy)) putBe32(A.CTA_COUNTERS32_BYTES, <u32>load<u64>(by));
  } else {
    if (has(sub, bitPk)) putBe64(A.CTA_COUNTERS_PACKETS, load<u64>(pk));
    if (has(sub, bitBy)) putBe64(A.CTA_COUNTERS_BYTES, load<u64>(by));
  }
  nestEnd(nest);
}

// @ts-ignore: decorator
@inline function bit(n: i32): u32 {
  return <u32>1 << <u32>n;
}

// Top level of a flow, in nfct_nlmsg_build order; `skip` = attributes already
// written (by the filter prefix).
function encodeFlow(r: usize, skip: u32): void {
  const attrs = load<u32>(r + L.REC_ATTRS) & ~skip;
  const sub = load<u32>(r + L.REC_SUB);
  if (has(attrs, bit(A.CTA_TUPLE_ORIG))) putTuple(A.CTA_TUPLE_ORIG, r + L.REC_TUPLE_ORIG);
  if (has(attrs, bit(A.CTA_TUPLE_REPLY))) putTuple(A.CTA_TUPLE_REPLY, r + L.REC_TUPLE_REPLY);
  if (has(attrs, bit(A.CTA_TUPLE_MASTER))) putTuple(A.CTA_TUPLE_MASTER, r + L.REC_TUPLE_MASTER);
  if (has(attrs, bit(A.CTA_STATUS))) putBe32(A.CTA_STATUS, load<u32>(r + L.REC_STATUS));
  if (has(attrs, bit(A.CTA_STATUS_MASK))) putBe32(A.CTA_STATUS_MASK, load<u32>(r + L.REC_STATUS_MASK));
  if (has(attrs, bit(A.CTA_TIMEOUT))) putBe32(A.CTA_TIMEOUT, load<u32>(r + L.REC_TIMEOUT));
  if (has(attrs, bit(A.CTA_MARK))) putBe32(A.CTA_MARK, load<u32>(r + L.REC_MARK));
  if (has(attrs, bit(A.CTA_MARK_MASK))) putBe32(A.CTA_MARK_MASK, load<u32>(r + L.REC_MARK_MASK));
  if (has(attrs, bit(A.CTA_SECMARK))) putBe32(A.CTA_SECMARK, load<u32>(r + L.REC_SECMARK));
  if (has(attrs, bit(A.CTA_PROTOINFO))) putProtoinfo(r, sub);
  if (has(attrs, bit(A.CTA_NAT_SRC))) putNat(A.CTA_NAT_SRC, r + L.REC_NAT_SRC);
  if (has(attrs, bit(A.CTA_NAT_DST))) putNat(A.CTA_NAT_DST, r + L.REC_NAT_DST);
  if (has(attrs, bit(A.CTA_SEQ_ADJ_ORIG))) putSeqAdj(A.CTA_SEQ_ADJ_ORIG, r + L.REC_SEQADJ_ORIG, sub, L.SUB_SEQADJ_ORIG_CORRECTION_POS);
  if (has(attrs, bit(A.CTA_SEQ_ADJ_REPLY))) putSeqAdj(A.CTA_SEQ_ADJ_REPLY, r + L.REC_SEQADJ_REPL, sub, L.SUB_SEQADJ_REPL_CORRECTION_POS);
  if (has(attrs, bit(A.CTA_HELP))) {
    const n = nestStart(A.CTA_HELP);
    if (has(sub, L.SUB_HELP_NAME)) putStrz(A.CTA_HELP_NAME, <usize>load<u32>(r + L.REC_HELP_NAME_PTR), <usize>load<u16>(r + L.REC_HELP_NAME_LEN));
    if (has(sub, L.SUB_HELP_INFO)) putBlob(A.CTA_HELP_INFO, <usize>load<u32>(r + L.REC_HELP_INFO_PTR), <usize>load<u16>(r + L.REC_HELP_INFO_LEN));
    nestEnd(n);
  }
  if (has(attrs, bit(A.CTA_ZONE))) putBe16(A.CTA_ZONE, <u32>load<u16>(r + L.REC_ZONE));
  if (has(attrs, bit(A.CTA_LABELS))) putBlob(A.CTA_LABELS, <usize>load<u32>(r + L.REC_LABELS_PTR), <usize>load<u16>(r + L.REC_LABELS_LEN));
  if (has(attrs, bit(A.CTA_LABELS_MASK))) putBlob(A.CTA_LABELS_MASK, <usize>load<u32>(r + L.REC_LABELS_MASK_PTR), <usize>load<u16>(r + L.REC_LABELS_MASK_LEN));
  if (has(attrs, bit(A.CTA_SYNPROXY))) {
    const n = nestStart(A.CTA_SYNPROXY);
    for (let i: u32 = 0; i < 3; i++) {
      if (has(sub, <u32>L.SUB_SYNPROXY_ISN << i)) putBe32(<u32>A.CTA_SYNPROXY_ISN + i, load<u32>(r + L.REC_SYNPROXY + (<usize>i << 2)));
    }
    nestEnd(n);
  }
  // Not sent by libnetfilter_conntrack: attribute-number order.
  if (has(attrs, bit(A.CTA_COUNTERS_ORIG))) {
    putCounters(A.CTA_COUNTERS_ORIG, r + L.REC_ORIG_PACKETS, r + L.REC_ORIG_BYTES, sub,
      L.SUB_ORIG_PACKETS, L.SUB_ORIG_BYTES, L.SUB_ORIG_COUNTERS32);
  }
  if (has(attrs, bit(A.CTA_COUNTERS_REPLY))) {
    putCounters(A.CTA_COUNTERS_REPLY, r + L.REC_REPL_PACKETS, r + L.REC_REPL_BYTES, sub,
      L.SUB_REPL_PACKETS, L.SUB_REPL_BYTES, L.SUB_REPL_COUNTERS32);
  }
  if (has(attrs, bit(A.CTA_USE))) putBe32(A.CTA_USE, load<u32>(r + L.REC_USE));
  if (has(attrs, bit(A.CTA_ID))) putBe32(A.CTA_ID, load<u32>(r + L.REC_ID));
  if (has(attrs, bit(A.CTA_SECCTX))) {
    const n = nestStart(A.CTA_SECCTX);
    if (has(sub, L.SUB_SECCTX_NAME)) putStrz(A.CTA_SECCTX_NAME, <usize>load<u32>(r + L.REC_SECCTX_PTR), <usize>load<u16>(r + L.REC_SECCTX_LEN));
    nestEnd(n);
  }
  if (has(attrs, bit(A.CTA_TIMESTAMP))) {
    const n = nestStart(A.CTA_TIMESTAMP);
    if (has(sub, L.SUB_TS_START)) putBe64(A.CTA_TIMESTAMP_START, load<u64>(r + L.REC_TS_START));
    if (has(sub, L.SUB_TS_STOP)) putBe64(A.CTA_TIMESTAMP_STOP, load<u64>(r + L.REC_TS_STOP));
    nestEnd(n);
  }
  if (has(attrs, bit(A.CTA_TIMESTAMP_EVENT))) putBe64(A.CTA_TIMESTAMP_EVENT, load<u64>(r + L.REC_TS_EVENT));
}

// Dump / flush filter (nfct_nlmsg_build_filter order): CTA_MARK, CTA_MARK_MASK,
// CTA_STATUS, CTA_STATUS_MASK, CTA_ZONE; then any other flow attribute present.
function encodeFilter(r: usize): void {
  const attrs = load<u32>(r + L.REC_ATTRS);
  if (has(attrs, bit(A.CTA_MARK))) putBe32(A.CTA_MARK, load<u32>(r + L.REC_MARK));
  if (has(attrs, bit(A.CTA_MARK_MASK))) putBe32(A.CTA_MARK_MASK, load<u32>(r + L.REC_MARK_MASK));
  if (has(attrs, bit(A.CTA_STATUS))) putBe32(A.CTA_STATUS, load<u32>(r + L.REC_STATUS));
  if (has(attrs, bit(A.CTA_STATUS_MASK))) putBe32(A.CTA_STATUS_MASK, load<u32>(r + L.REC_STATUS_MASK));
  if (has(attrs, bit(A.CTA_ZONE))) putBe16(A.CTA_ZONE, <u32>load<u16>(r + L.REC_ZONE));
  encodeFlow(r, bit(A.CTA_MARK) | bit(A.CTA_MARK_MASK) | bit(A.CTA_STATUS) | bit(A.CTA_STATUS_MASK) | bit(A.CTA_ZONE));
}

// Top level of an expectation, in nfexp_nlmsg_build order (CTA_EXPECT_ID,
// which it never sends, after CTA_EXPECT_TIMEOUT as the kernel dumps it).
// Tuples sit where the decoder puts them: MASTER in REC_TUPLE_ORIG, TUPLE in
// REC_TUPLE_REPLY, MASK in REC_TUPLE_MASTER, NAT_TUPLE in REC_TUPLE_4.
function encodeExpect(r: usize): void {
  const attrs = load<u32>(r + L.REC_ATTRS);
  const sub2 = load<u32>(r + L.REC_SUB2);
  if (has(attrs, bit(A.CTA_EXPECT_TUPLE))) putTuple(A.CTA_EXPECT_TUPLE, r + L.REC_TUPLE_REPLY);
  if (has(attrs, bit(A.CTA_EXPECT_MASTER))) putTuple(A.CTA_EXPECT_MASTER, r + L.REC_TUPLE_ORIG);
  if (has(attrs, bit(A.CTA_EXPECT_MASK))) putTuple(A.CTA_EXPECT_MASK, r + L.REC_TUPLE_MASTER);
  if (has(attrs, bit(A.CTA_EXPECT_NAT))) {
    const n = nestStart(A.CTA_EXPECT_NAT);
    if (has(sub2, L.SUB2_EXP_NAT_DIR)) putBe32(A.CTA_EXPECT_NAT_DIR, load<u32>(r + L.REC_EXP_NAT_DIR));
    if (has(sub2, L.SUB2_EXP_NAT_TUPLE)) putTuple(A.CTA_EXPECT_NAT_TUPLE, r + L.REC_TUPLE_4);
    nestEnd(n);
  }
  if (has(attrs, bit(A.CTA_EXPECT_TIMEOUT))) putBe32(A.CTA_EXPECT_TIMEOUT, load<u32>(r + L.REC_EXP_TIMEOUT));
  if (has(attrs, bit(A.CTA_EXPECT_ID))) putBe32(A.CTA_EXPECT_ID, load<u32>(r + L.REC_EXP_ID));
  if (has(attrs, bit(A.CTA_EXPECT_FLAGS))) putBe32(A.CTA_EXPECT_FLAGS, load<u32>(r + L.REC_EXP_FLAGS));
  if (has(attrs, bit(A.CTA_EXPECT_HELP_NAME)) && has(sub2, L.SUB2_EXP_HELP_NAME)) {
    putStrz(A.CTA_EXPECT_HELP_NAME, <usize>load<u32>(r + L.REC_EXP_HELP_NAME_PTR), <usize>load<u16>(r + L.REC_EXP_HELP_NAME_LEN));
  }
  if (has(attrs, bit(A.CTA_EXPECT_ZONE))) putBe16(A.CTA_EXPECT_ZONE, <u32>load<u16>(r + L.REC_EXP_ZONE));
  if (has(attrs, bit(A.CTA_EXPECT_CLASS))) putBe32(A.CTA_EXPECT_CLASS, load<u32>(r + L.REC_EXP_CLASS));
  if (has(attrs, bit(A.CTA_EXPECT_FN)) && has(sub2, L.SUB2_EXP_FN)) {
    putStrz(A.CTA_EXPECT_FN, <usize>load<u32>(r + L.REC_EXP_FN_PTR), <usize>load<u16>(r + L.REC_EXP_FN_LEN));
  }
}

// ---------------------------------------------------------------------------
// Exports.

/**
 * Write one netlink message at ENC_OUT: nlmsghdr (nlmsg_pid 0), nfgenmsg
 * (family, NFNETLINK_V0, be16 res_id), then for KIND_FLOW / KIND_EXPECT the
 * attributes present in the record at ENC_REQ; for any other kind the
 * dump-filter attributes (and any other flow attribute) present there.
 * Returns the message length (nlmsg_len), or 0 when it cannot be encoded
 * (encodeStatus() says why); never writes outside ENC_OUT..ENC_END.
 */
export function encodeRequest(nlType: u32, nlFlags: u32, seq: u32, family: u32, resId: u32, kind: u32): u32 {
  gStatus = L.ENC_OK;
  gOut = <usize>L.ENC_OUT;
  gEnd = <usize>L.ENC_OUT + <usize>L.ENC_OUT_SIZE;
  const m = reserve(20);
  if (m == 0) return 0;
  store<u16>(m + 4, <u16>nlType);
  store<u16>(m + 6, <u16>nlFlags);
  store<u32>(m + 8, seq);
  store<u32>(m + 12, 0); // nlmsg_pid: the kernel fills in the sender
  store<u8>(m + 16, <u8>family);
  store<u8>(m + 17, <u8>A.NFNETLINK_V0);
  store<u16>(m + 18, bswap<u16>(<u16>resId));
  const r: usize = <usize>L.ENC_REQ;
  if (kind == <u32>L.KIND_FLOW) encodeFlow(r, 0);
  else if (kind == <u32>L.KIND_EXPECT) encodeExpect(r);
  else encodeFilter(r);
  if (gStatus != 0) return 0;
  const len = <u32>(gOut - m);
  store<u32>(m, len);
  return len;
}

/** ENC_OK or the ENC_ERR_* of the last encodeRequest() that returned 0. */
export function encodeStatus(): u32 {
  return gStatus;
}
