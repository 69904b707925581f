// Turns a decoded record into a plain immutable object (types.ts). Only
// attributes the kernel sent become properties. Strings and byte arrays are
// copied out of WASM memory, so the objects outlive the receive arena.
import * as L from './generated/layout';
import * as A from './generated/attrs';
import { ConntrackError } from './errors';
import { formatIPv4, formatIPv6 } from './format/address';
import type { RecordView } from './record';
import type {
  CpuStats, Counters, DccpInfo, EventType, SctpInfo, TcpInfo, Expectation, ExpectStats, Flow, GlobalStats, Message, NatRange,
  NetlinkError, SeqAdj, Tuple,
} from './types';

const EVENTS: (EventType | undefined)[] = [undefined, 'new', 'update', 'destroy'];

function str(r: RecordView, ptr: number, len: number): string {
  return Buffer.from(r.bytes.buffer, ptr, len).toString('utf8');
}

function addr(r: RecordView, at: number, l3: number): string {
  return l3 === A.AF_INET6 ? formatIPv6(r.bytes, at) : formatIPv4(r.bytes, at);
}

// The two tuple shapes the kernel nearly always sends: built as one literal
// each, so every flow's tuples share a hidden class.
const TP_PORTS = L.TP_IP | L.TP_SRC | L.TP_DST | L.TP_PROTO_NEST | L.TP_PROTO | L.TP_SPORT | L.TP_DPORT;
const TP_ICMP = L.TP_IP | L.TP_SRC | L.TP_DST | L.TP_PROTO_NEST | L.TP_PROTO | L.TP_ICMP_ID | L.TP_ICMP_TYPE | L.TP_ICMP_CODE;
const TP_ICMPV6 = L.TP_IP | L.TP_SRC | L.TP_DST | L.TP_PROTO_NEST | L.TP_PROTO | L.TP_ICMPV6_ID | L.TP_ICMPV6_TYPE | L.TP_ICMPV6_CODE;

/** Tuple at absolute address t (TUP_* layout). */
function tuple(r: RecordView, t: number): Tuple {
  const dv = r.dv;
  const bytes = r.bytes;
  const p = dv.getUint16(t + L.TUP_PRESENT, true);
  const l3 = bytes[t + L.TUP_L3];
  if (p === TP_PORTS) {
    return {
      l3proto: l3, src: addr(r, t + L.TUP_SRC, l3), dst: addr(r, t + L.TUP_DST, l3), protoNum: bytes[t + L.TUP_PROTO],
      srcPort: dv.getUint16(t + L.TUP_SPORT, true), dstPort: dv.getUint16(t + L.TUP_DPORT, true),
    };
  }
  if (p === TP_ICMP || p === TP_ICMPV6) {
    return {
      l3proto: l3, src: addr(r, t + L.TUP_SRC, l3), dst: addr(r, t + L.TUP_DST, l3), protoNum: bytes[t + L.TUP_PROTO],
      icmpId: dv.getUint16(t + L.TUP_ICMP_ID, true), icmpType: bytes[t + L.TUP_ICMP_TYPE], icmpCode: bytes[t + L.TUP_ICMP_CODE],
    };
  }
  const out: { -readonly [K in keyof Tuple]: Tuple[K] } = { l3proto: l3 };
  if (p & L.TP_SRC) out.src = addr(r, t + L.TUP_SRC, l3);
  if (p & L.TP_DST) out.dst = addr(r, t + L.TUP_DST, l3);
  if (p & L.TP_PROTO) out.protoNum = bytes[t + L.TUP_PROTO];
  if (p & L.TP_SPORT) out.srcPort = dv.getUint16(t + L.TUP_SPORT, true);
  if (p & L.TP_DPORT) out.dstPort = dv.getUint16(t + L.TUP_DPORT, true);
  if (p & (L.TP_ICMP_ID | L.TP_ICMPV6_ID)) out.icmpId = dv.getUint16(t + L.TUP_ICMP_ID, true);
  if (p & (L.TP_ICMP_TYPE | L.TP_ICMPV6_TYPE)) out.icmpType = bytes[t + L.TUP_ICMP_TYPE];
  if (p & (L.TP_ICMP_CODE | L.TP_ICMPV6_CODE)) out.icmpCode = bytes[t + L.TUP_ICMP_CODE];
  if (p & L.TP_ZONE) out.zone = dv.getUint16(t + L.TUP_ZONE, true);
  return out;
}

/** Counters at absolute addresses pk/by; hasPk/hasBy are the SUB_* bits (0 when absent). */
function counters(r: RecordView, pk: number, by: number, hasPk: number, hasBy: number): Counters {
  if (hasPk && hasBy) return { packets: r.dv.getBigUint64(pk, true), bytes: r.dv.getBigUint64(by, true) };
  const out: { packets?: bigint; bytes?: bigint } = {};
  if (hasPk) out.packets = r.dv.getBigUint64(pk, true);
  if (hasBy) out.bytes = r.dv.getBigUint64(by, true);
  return out;
}

function nat(r: RecordView, at: number): NatRange {
  const dv = r.dv;
  const p = dv.getUint16(at + L.NAT_PRESENT, true);
  const out: { -readonly [K in keyof NatRange]: NatRange[K] } = {};
  if (p & L.NP_V4_MINIP) out.minIp = formatIPv4(r.bytes, at + L.NAT_MINIP);
  if (p & L.NP_V6_MINIP) out.minIp = formatIPv6(r.bytes, at + L.NAT_MINIP);
  if (p & L.NP_V4_MAXIP) out.maxIp = formatIPv4(r.bytes, at + L.NAT_MAXIP);
  if (p & L.NP_V6_MAXIP) out.maxIp = formatIPv6(r.bytes, at + L.NAT_MAXIP);
  if (p & L.NP_PORT_MIN) out.minPort = dv.getUint16(at + L.NAT_PORT_MIN, true);
  if (p & L.NP_PORT_MAX) out.maxPort = dv.getUint16(at + L.NAT_PORT_MAX, true);
  return out;
}

function seqAdj(r: RecordView, at: number, bit0: number): SeqAdj {
  const out: { -readonly [K in keyof SeqAdj]: SeqAdj[K] } = {};
  if (r.hasSub(bit0)) out.correctionPos = r.u32(at);
  if (r.hasSub(bit0 << 1)) out.offsetBefore = r.u32(at + 4);
  if (r.hasSub(bit0 << 2)) out.offsetAfter = r.u32(at + 8);
  return out;
}

function header(r: RecordView) {
  return { nlType: r.nlType, nlFlags: r.nlFlags, seq: r.seq, pid: r.pid };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** IPCTNL_MSG_CT_* record -> Flow. */
export function toFlow(r: RecordView): Flow {
  // Hot when listing big tables: the presence words are read once, the
  // header fields go into the first literal (one shape for every flow), and
  // no intermediate objects are spread.
  const b = r.base;
  const dv = r.dv;
  const attrs = dv.getUint32(b + L.REC_ATTRS, true);
  const sub = dv.getUint32(b + L.REC_SUB, true);
  const f: Mutable<Flow> = {
    kind: 'flow',
    nlType: dv.getUint16(b + L.REC_NLTYPE, true),
    nlFlags: dv.getUint16(b + L.REC_NLFLAGS, true),
    seq: dv.getUint32(b + L.REC_SEQ, true),
    pid: dv.getUint32(b + L.REC_PID, true),
    family: r.bytes[b + L.REC_FAMILY],
  };
  const ev = EVENTS[r.bytes[b + L.REC_EVENT]];
  if (ev) f.event = ev;
  if (attrs & (1 << A.CTA_TUPLE_ORIG)) f.orig = tuple(r, b + L.REC_TUPLE_ORIG);
  if (attrs & (1 << A.CTA_TUPLE_REPLY)) f.reply = tuple(r, b + L.REC_TUPLE_REPLY);
  if (attrs & (1 << A.CTA_TUPLE_MASTER)) f.master = tuple(r, b + L.REC_TUPLE_MASTER);
  if (attrs & (1 << A.CTA_STATUS)) f.status = dv.getUint32(b + L.REC_STATUS, true);
  if (attrs & (1 << A.CTA_STATUS_MASK)) f.statusMask = dv.getUint32(b + L.REC_STATUS_MASK, true);
  if (attrs & (1 << A.CTA_TIMEOUT)) f.timeout = dv.getUint32(b + L.REC_TIMEOUT, true);
  if (attrs & (1 << A.CTA_MARK)) f.mark = dv.getUint32(b + L.REC_MARK, true);
  if (attrs & (1 << A.CTA_MARK_MASK)) f.markMask = dv.getUint32(b + L.REC_MARK_MASK, true);
  if (attrs & (1 << A.CTA_USE)) f.use = dv.getUint32(b + L.REC_USE, true);
  if (attrs & (1 << A.CTA_ID)) f.id = dv.getUint32(b + L.REC_ID, true);
  if (attrs & (1 << A.CTA_SECMARK)) f.secmark = dv.getUint32(b + L.REC_SECMARK, true);
  if (attrs & (1 << A.CTA_ZONE)) f.zone = dv.getUint16(b + L.REC_ZONE, true);
  if (attrs & (1 << A.CTA_PROTOINFO)) protoinfo(r, f);
  if (attrs & (1 << A.CTA_COUNTERS_ORIG)) f.countersOrig = counters(r, b + L.REC_ORIG_PACKETS, b + L.REC_ORIG_BYTES, sub & L.SUB_ORIG_PACKETS, sub & L.SUB_ORIG_BYTES);
  if (attrs & (1 << A.CTA_COUNTERS_REPLY)) f.countersReply = counters(r, b + L.REC_REPL_PACKETS, b + L.REC_REPL_BYTES, sub & L.SUB_REPL_PACKETS, sub & L.SUB_REPL_BYTES);
  if (sub & L.SUB_TS_START) f.timestampStart = dv.getBigUint64(b + L.REC_TS_START, true);
  if (sub & L.SUB_TS_STOP) f.timestampStop = dv.getBigUint64(b + L.REC_TS_STOP, true);
  if (attrs & (1 << A.CTA_TIMESTAMP_EVENT)) f.timestampEvent = dv.getBigUint64(b + L.REC_TS_EVENT, true);
  if ((sub & (L.SUB_HELP_NAME | L.SUB_HELP_INFO | L.SUB_SECCTX_NAME)) !== 0 ||
      (attrs & ((1 << A.CTA_LABELS) | (1 << A.CTA_LABELS_MASK) | (1 << A.CTA_NAT_SRC) | (1 << A.CTA_NAT_DST) |
        (1 << A.CTA_SEQ_ADJ_ORIG) | (1 << A.CTA_SEQ_ADJ_REPLY) | (1 << A.CTA_SYNPROXY))) !== 0) {
    rareFlowFields(r, f, attrs, sub);
  }
  return f;
}

/** Attributes that dumps and events seldom carry. */
function rareFlowFields(r: RecordView, f: Mutable<Flow>, attrs: number, sub: number): void {
  const b = r.base;
  if (sub & L.SUB_HELP_NAME) f.helperName = str(r, r.u32(L.REC_HELP_NAME_PTR), r.u16(L.REC_HELP_NAME_LEN));
  if (sub & L.SUB_HELP_INFO) {
    const p = r.u32(L.REC_HELP_INFO_PTR);
    f.helperInfo = r.bytes.slice(p, p + r.u16(L.REC_HELP_INFO_LEN));
  }
  if (sub & L.SUB_SECCTX_NAME) f.secctx = str(r, r.u32(L.REC_SECCTX_PTR), r.u16(L.REC_SECCTX_LEN));
  if (attrs & (1 << A.CTA_LABELS)) {
    const p = r.u32(L.REC_LABELS_PTR);
    f.labels = r.bytes.slice(p, p + r.u16(L.REC_LABELS_LEN));
  }
  if (attrs & (1 << A.CTA_LABELS_MASK)) {
    const p = r.u32(L.REC_LABELS_MASK_PTR);
    f.labelsMask = r.bytes.slice(p, p + r.u16(L.REC_LABELS_MASK_LEN));
  }
  if (attrs & (1 << A.CTA_NAT_SRC)) f.natSrc = nat(r, b + L.REC_NAT_SRC);
  if (attrs & (1 << A.CTA_NAT_DST)) f.natDst = nat(r, b + L.REC_NAT_DST);
  if (attrs & (1 << A.CTA_SEQ_ADJ_ORIG)) f.seqAdjOrig = seqAdj(r, L.REC_SEQADJ_ORIG, L.SUB_SEQADJ_ORIG_CORRECTION_POS);
  if (attrs & (1 << A.CTA_SEQ_ADJ_REPLY)) f.seqAdjReply = seqAdj(r, L.REC_SEQADJ_REPL, L.SUB_SEQADJ_REPL_CORRECTION_POS);
  if (attrs & (1 << A.CTA_SYNPROXY)) {
    const s: { isn?: number; its?: number; tsoff?: number } = {};
    if (sub & L.SUB_SYNPROXY_ISN) s.isn = r.u32(L.REC_SYNPROXY);
    if (sub & L.SUB_SYNPROXY_ITS) s.its = r.u32(L.REC_SYNPROXY + 4);
    if (sub & L.SUB_SYNPROXY_TSOFF) s.tsoff = r.u32(L.REC_SYNPROXY + 8);
    f.synproxy = s;
  }
}

function protoinfo(r: RecordView, f: Mutable<Flow>): void {
  const t = tcpInfo(r);
  if (t) f.tcp = t;
  const d = dccpInfo(r);
  if (d) f.dccp = d;
  const s = sctpInfo(r);
  if (s) f.sctp = s;
}

/** CTA_PROTOINFO_TCP of a flow record, or undefined. */
export function tcpInfo(r: RecordView): TcpInfo | undefined {
  if (!r.hasSub(L.SUB_TCP_STATE | L.SUB_TCP_WSCALE_ORIG | L.SUB_TCP_WSCALE_REPL | L.SUB_TCP_FLAGS_ORIG | L.SUB_TCP_FLAGS_REPL)) return undefined;
  const t: Mutable<TcpInfo> = {};
  if (r.hasSub(L.SUB_TCP_STATE)) t.state = r.u8(L.REC_TCP_STATE);
  if (r.hasSub(L.SUB_TCP_WSCALE_ORIG)) t.wscaleOriginal = r.u8(L.REC_TCP_WSCALE_ORIG);
  if (r.hasSub(L.SUB_TCP_WSCALE_REPL)) t.wscaleReply = r.u8(L.REC_TCP_WSCALE_REPL);
  if (r.hasSub(L.SUB_TCP_FLAGS_ORIG)) t.flagsOriginal = { flags: r.u8(L.REC_TCP_FLAGS_ORIG), mask: r.u8(L.REC_TCP_FLAGS_ORIG + 1) };
  if (r.hasSub(L.SUB_TCP_FLAGS_REPL)) t.flagsReply = { flags: r.u8(L.REC_TCP_FLAGS_REPL), mask: r.u8(L.REC_TCP_FLAGS_REPL + 1) };
  return t;
}

/** CTA_PROTOINFO_DCCP of a flow record, or undefined. */
export function dccpInfo(r: RecordView): DccpInfo | undefined {
  if (!r.hasSub(L.SUB_DCCP_STATE | L.SUB_DCCP_ROLE | L.SUB_DCCP_HANDSHAKE_SEQ)) return undefined;
  const d: Mutable<DccpInfo> = {};
  if (r.hasSub(L.SUB_DCCP_STATE)) d.state = r.u8(L.REC_DCCP_STATE);
  if (r.hasSub(L.SUB_DCCP_ROLE)) d.role = r.u8(L.REC_DCCP_ROLE);
  if (r.hasSub(L.SUB_DCCP_HANDSHAKE_SEQ)) d.handshakeSeq = r.u64(L.REC_DCCP_HANDSHAKE_SEQ);
  return d;
}

/** CTA_PROTOINFO_SCTP of a flow record, or undefined. */
export function sctpInfo(r: RecordView): SctpInfo | undefined {
  if (!r.hasSub(L.SUB_SCTP_STATE | L.SUB_SCTP_VTAG_ORIG | L.SUB_SCTP_VTAG_REPL)) return undefined;
  const s: Mutable<SctpInfo> = {};
  if (r.hasSub(L.SUB_SCTP_STATE)) s.state = r.u8(L.REC_SCTP_STATE);
  if (r.hasSub(L.SUB_SCTP_VTAG_ORIG)) s.vtagOriginal = r.u32(L.REC_SCTP_VTAG_ORIG);
  if (r.hasSub(L.SUB_SCTP_VTAG_REPL)) s.vtagReply = r.u32(L.REC_SCTP_VTAG_REPL);
  return s;
}

/** IPCTNL_MSG_EXP_* record -> Expectation. */
export function toExpectation(r: RecordView): Expectation {
  const b = r.base;
  const e: Mutable<Expectation> = { kind: 'expect', ...header(r), family: r.family };
  const ev = EVENTS[r.event];
  if (ev) e.event = ev;
  if (r.has(A.CTA_EXPECT_MASTER)) e.master = tuple(r, b + L.REC_TUPLE_ORIG);
  if (r.has(A.CTA_EXPECT_TUPLE)) e.tuple = tuple(r, b + L.REC_TUPLE_REPLY);
  if (r.has(A.CTA_EXPECT_MASK)) e.mask = tuple(r, b + L.REC_TUPLE_MASTER);
  if (r.has(A.CTA_EXPECT_TIMEOUT)) e.timeout = r.u32(L.REC_EXP_TIMEOUT);
  if (r.has(A.CTA_EXPECT_ID)) e.id = r.u32(L.REC_EXP_ID);
  if (r.hasSub2(L.SUB2_EXP_HELP_NAME)) e.helperName = str(r, r.u32(L.REC_EXP_HELP_NAME_PTR), r.u16(L.REC_EXP_HELP_NAME_LEN));
  if (r.has(A.CTA_EXPECT_ZONE)) e.zone = r.u16(L.REC_EXP_ZONE);
  if (r.has(A.CTA_EXPECT_FLAGS)) e.flags = r.u32(L.REC_EXP_FLAGS);
  if (r.has(A.CTA_EXPECT_CLASS)) e.class = r.u32(L.REC_EXP_CLASS);
  if (r.has(A.CTA_EXPECT_NAT)) {
    const n: { dir?: number; tuple?: Tuple } = {};
    if (r.hasSub2(L.SUB2_EXP_NAT_DIR)) n.dir = r.u32(L.REC_EXP_NAT_DIR);
    if (r.hasSub2(L.SUB2_EXP_NAT_TUPLE)) n.tuple = tuple(r, b + L.REC_TUPLE_4);
    e.nat = n;
  }
  if (r.hasSub2(L.SUB2_EXP_FN)) e.fn = str(r, r.u32(L.REC_EXP_FN_PTR), r.u16(L.REC_EXP_FN_LEN));
  return e;
}

// CTA_STATS_* attribute number -> CpuStats property.
const CPU_STATS: [number, keyof CpuStats][] = [
  [A.CTA_STATS_SEARCHED, 'searched'], [A.CTA_STATS_FOUND, 'found'], [A.CTA_STATS_NEW, 'new'],
  [A.CTA_STATS_INVALID, 'invalid'], [A.CTA_STATS_IGNORE, 'ignore'], [A.CTA_STATS_DELETE, 'delete'],
  [A.CTA_STATS_DELETE_LIST, 'deleteList'], [A.CTA_STATS_INSERT, 'insert'], [A.CTA_STATS_INSERT_FAILED, 'insertFailed'],
  [A.CTA_STATS_DROP, 'drop'], [A.CTA_STATS_EARLY_DROP, 'earlyDrop'], [A.CTA_STATS_ERROR, 'error'],
  [A.CTA_STATS_SEARCH_RESTART, 'searchRestart'], [A.CTA_STATS_CLASH_RESOLVE, 'clashResolve'],
  [A.CTA_STATS_CHAIN_TOOLONG, 'chainToolong'],
];

function stat(r: RecordView, attr: number): number {
  return r.u32(L.REC_STATS + 4 * attr);
}

function toCpuStats(r: RecordView): CpuStats {
  const s: Record<string, unknown> = { kind: 'stats-cpu', ...header(r), cpu: r.u16(L.REC_RES_ID) };
  for (const [attr, key] of CPU_STATS) if (r.has(attr)) s[key] = stat(r, attr);
  return s as unknown as CpuStats;
}

function toGlobalStats(r: RecordView): GlobalStats {
  const s: Mutable<GlobalStats> = { kind: 'stats-global', ...header(r) };
  if (r.has(A.CTA_STATS_GLOBAL_ENTRIES)) s.entries = stat(r, A.CTA_STATS_GLOBAL_ENTRIES);
  if (r.has(A.CTA_STATS_GLOBAL_MAX_ENTRIES)) s.maxEntries = stat(r, A.CTA_STATS_GLOBAL_MAX_ENTRIES);
  return s;
}

function toExpectStats(r: RecordView): ExpectStats {
  const s: Mutable<ExpectStats> = { kind: 'stats-exp', ...header(r), cpu: r.u16(L.REC_RES_ID) };
  if (r.has(A.CTA_STATS_EXP_NEW)) s.new = stat(r, A.CTA_STATS_EXP_NEW);
  if (r.has(A.CTA_STATS_EXP_CREATE)) s.create = stat(r, A.CTA_STATS_EXP_CREATE);
  if (r.has(A.CTA_STATS_EXP_DELETE)) s.delete = stat(r, A.CTA_STATS_EXP_DELETE);
  return s;
}

function toNetlinkError(r: RecordView): NetlinkError {
  const e: Mutable<NetlinkError> = {
    kind: 'error',
    ...header(r),
    errno: Math.abs(r.i32(L.REC_ERRNO)), // the kernel sends -errno; abs keeps an ACK at +0
    request: { nlType: r.u16(L.REC_ERR_REQ_TYPE), nlFlags: r.u16(L.REC_ERR_REQ_FLAGS), seq: r.u32(L.REC_ERR_REQ_SEQ), pid: r.u32(L.REC_ERR_REQ_PID) },
  };
  const present = r.u16(L.REC_EXTACK_PRESENT);
  if (present & 1) e.extAckMessage = str(r, r.u32(L.REC_EXTACK_MSG_PTR), r.u16(L.REC_EXTACK_MSG_LEN));
  if (present & 2) e.extAckOffset = r.u32(L.REC_EXTACK_OFFS);
  return e;
}

/** Any non-KIND_BAD record -> its plain object. */
export function toMessage(r: RecordView): Message {
  switch (r.kind) {
    case L.KIND_FLOW: return toFlow(r);
    case L.KIND_EXPECT: return toExpectation(r);
    case L.KIND_STATS_CPU: return toCpuStats(r);
    case L.KIND_STATS_GLOBAL: return toGlobalStats(r);
    case L.KIND_STATS_EXP: return toExpectStats(r);
    case L.KIND_DONE: return { kind: 'done', ...header(r) };
    case L.KIND_OVERRUN: return { kind: 'overrun', ...header(r) };
    case L.KIND_ERROR: return toNetlinkError(r);
    case L.KIND_UNKNOWN: return { kind: 'unknown', ...header(r) };
    default: throw decodeError(r);
  }
}

const DERR_TEXT: Record<number, string> = {
  [L.DERR_NLMSG_TRUNCATED]: 'fewer bytes left than a netlink header',
  [L.DERR_NLMSG_LEN]: 'nlmsg_len is shorter than a header or runs past the datagram',
  [L.DERR_NFGENMSG]: 'message too short for its nfgenmsg header',
  [L.DERR_ATTR_TRUNCATED]: 'fewer bytes left than an attribute header',
  [L.DERR_ATTR_LEN]: 'nla_len is shorter than a header or runs past its container',
  [L.DERR_ATTR_PAYLOAD]: 'attribute payload has the wrong size for its type',
  [L.DERR_ERRMSG]: 'NLMSG_ERROR message too short',
  [L.DERR_DGRAM_TRUNC]: 'datagram was truncated by the receiver (MSG_TRUNC); receive buffer too small',
};

/** The ConntrackError('ERR_CT_DECODE') describing a KIND_BAD record. */
export function decodeError(r: RecordView): ConntrackError {
  const status = r.u16(L.REC_ERR_CODE);
  const attrType = r.u16(L.REC_ERR_ATTR);
  const offset = r.u32(L.REC_ERR_OFFSET);
  const what = DERR_TEXT[status] ?? `decoder status ${status}`;
  const where = attrType ? `attribute type ${attrType} at offset ${offset}` : `offset ${offset}`;
  const type = r.u16(L.REC_NLTYPE);
  const msg = `malformed ctnetlink message: ${what} (${where}${type ? `, nlmsg_type 0x${type.toString(16).padStart(4, '0')}` : ''})`;
  return new ConntrackError('ERR_CT_DECODE', msg, { status, attrType, offset });
}
