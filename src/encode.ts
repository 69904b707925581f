// Request encoding: "src asks assembly to encode, host sends".
//
// TypeScript validates a request, writes it into the request record at
// ENC_REQ (the same REC_* layout and presence bits the decoder fills, strings
// and blobs in ENC_STR) and calls the WASM encoder (assembly/encode.ts), which
// writes the netlink message at ENC_OUT. The caller gets a copy of the bytes
// to hand to the socket host.
import { endianness } from 'os';
import { ConntrackError } from './errors';
import * as L from './generated/layout';
import * as A from './generated/attrs';
import type { DecoderExports, WasmCore } from './wasm';
import type { Counters, Flow, NatRange, SeqAdj, Tuple } from './types';

/** The encoder's exports (assembly/encode.ts), next to the decoder's. */
export interface EncoderExports extends DecoderExports {
  encodeRequest(nlType: number, nlFlags: number, seq: number, family: number, resId: number, kind: number): number;
  encodeStatus(): number;
}

// ---------------------------------------------------------------------------
// Message types (nlmsg_type = subsystem << 8 | message).

/** nlmsg_type of a conntrack message (IPCTNL_MSG_CT_*). */
export function ctType(msg: number): number {
  return (A.NFNL_SUBSYS_CTNETLINK << 8) | msg;
}

/** nlmsg_type of an expectation message (IPCTNL_MSG_EXP_*). */
export function expType(msg: number): number {
  return (A.NFNL_SUBSYS_CTNETLINK_EXP << 8) | msg;
}

export const CT_NEW = ctType(A.IPCTNL_MSG_CT_NEW); // 0x0100
export const CT_GET = ctType(A.IPCTNL_MSG_CT_GET); // 0x0101
export const CT_DELETE = ctType(A.IPCTNL_MSG_CT_DELETE); // 0x0102
export const CT_GET_CTRZERO = ctType(A.IPCTNL_MSG_CT_GET_CTRZERO); // 0x0103
export const CT_GET_STATS_CPU = ctType(A.IPCTNL_MSG_CT_GET_STATS_CPU); // 0x0104
export const CT_GET_STATS = ctType(A.IPCTNL_MSG_CT_GET_STATS); // 0x0105
export const CT_GET_DYING = ctType(A.IPCTNL_MSG_CT_GET_DYING); // 0x0106
export const CT_GET_UNCONFIRMED = ctType(A.IPCTNL_MSG_CT_GET_UNCONFIRMED); // 0x0107
export const EXP_NEW = expType(A.IPCTNL_MSG_EXP_NEW); // 0x0200
export const EXP_GET = expType(A.IPCTNL_MSG_EXP_GET); // 0x0201
export const EXP_DELETE = expType(A.IPCTNL_MSG_EXP_DELETE); // 0x0202
export const EXP_GET_STATS_CPU = expType(A.IPCTNL_MSG_EXP_GET_STATS_CPU); // 0x0203

/** NLM_F_REQUEST | NLM_F_DUMP */
export const DUMP_FLAGS = A.NLM_F_REQUEST | A.NLM_F_DUMP;

// ---------------------------------------------------------------------------
// Inputs.

/**
 * A tuple to encode: Tuple (types.ts) with everything optional. l3proto
 * (AF_INET/AF_INET6) comes from the addresses; when given (decoded tuples
 * carry it) it must agree with them.
 */
export type TupleInput = Partial<Tuple>;

/**
 * A conntrack entry to encode: Flow (types.ts) with everything optional, the
 * tuples as TupleInput. Derived from Flow so the two cannot drift apart.
 */
export type FlowInput = Partial<Omit<Flow, 'kind' | 'event' | 'family' | 'nlType' | 'nlFlags' | 'seq' | 'pid' | 'orig' | 'reply' | 'master'>> & {
  /** CTA_TUPLE_ORIG */
  readonly orig?: TupleInput;
  /** CTA_TUPLE_REPLY */
  readonly reply?: TupleInput;
  /** CTA_TUPLE_MASTER */
  readonly master?: TupleInput;
};

/** An expectation to encode: Expectation (types.ts) with everything optional. */
export interface ExpectInput {
  /** CTA_EXPECT_MASTER: orig tuple of the master connection */
  readonly master?: TupleInput;
  /** CTA_EXPECT_TUPLE: the expected connection's tuple */
  readonly tuple?: TupleInput;
  /** CTA_EXPECT_MASK: which bits of `tuple` must match */
  readonly mask?: TupleInput;
  /** CTA_EXPECT_TIMEOUT (seconds) */
  readonly timeout?: number;
  /** CTA_EXPECT_ID */
  readonly id?: number;
  /** CTA_EXPECT_HELP_NAME: helper of the master connection */
  readonly helperName?: string;
  /** CTA_EXPECT_ZONE */
  readonly zone?: number;
  /** CTA_EXPECT_FLAGS (NF_CT_EXPECT_*) */
  readonly flags?: number;
  /** CTA_EXPECT_CLASS */
  readonly class?: number;
  /** CTA_EXPECT_NAT */
  readonly nat?: {
    /** CTA_EXPECT_NAT_DIR: 0 original, 1 reply */
    readonly dir?: number;
    /** CTA_EXPECT_NAT_TUPLE */
    readonly tuple?: TupleInput;
  };
  /** CTA_EXPECT_FN: name of the expectfn (e.g. a NAT helper's) */
  readonly fn?: string;
}

/** Dump / flush filter (nfct_nlmsg_build_filter): sent in this order. */
export interface FilterInput {
  readonly mark?: number;
  readonly markMask?: number;
  readonly status?: number;
  readonly statusMask?: number;
  readonly zone?: number;
  /** CTA_FILTER (Linux 5.8+): compare these orig-tuple fields (CTA_FILTER_FLAG_* bits in origFlags). */
  readonly orig?: TupleInput;
  readonly origFlags?: number;
  /** CTA_FILTER: compare these reply-tuple fields (CTA_FILTER_FLAG_* bits in replyFlags). */
  readonly reply?: TupleInput;
  readonly replyFlags?: number;
}

/** Netlink and nfgenmsg header fields of a request for {@link encodeRequest}. */
export interface RequestHeader {
  /** nlmsg_type (see CT_* / EXP_*) */
  readonly type: number;
  /** nlmsg_flags (NLM_F_*) */
  readonly flags: number;
  /** nlmsg_seq */
  readonly seq: number;
  /** nfgenmsg.nfgen_family; default: the family of the body's tuples, else AF_UNSPEC */
  readonly family?: number;
  /** nfgenmsg.res_id (host order; sent big endian) */
  readonly resId?: number;
}

/** The attributes of a request for {@link encodeRequest}: a flow, an expectation or a dump/flush filter. */
export type RequestBody =
  | {
    /** A conntrack entry's attributes (CT_NEW / CT_GET / CT_DELETE). */
    readonly kind: 'flow';
    /** The entry. */
    readonly flow: FlowInput;
  }
  | {
    /** An expectation's attributes (EXP_NEW / EXP_GET / EXP_DELETE). */
    readonly kind: 'expect';
    /** The expectation. */
    readonly expect: ExpectInput;
  }
  | {
    /** Filter attributes of a dump or flush. */
    readonly kind: 'filter';
    /** The filter. */
    readonly filter: FilterInput;
  };


// nlmsghdr and NLA_U32 payloads are in host byte order.
const HOST_LE = endianness() === 'LE';
// ---------------------------------------------------------------------------
// Address parsing (strict, like inet_pton).

function invalid(msg: string): ConntrackError {
  return new ConntrackError('ERR_CT_INVALID_ARGUMENT', msg);
}

const DEC_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Dotted quad -> 4 bytes, or undefined (no leading zeros, each part <= 255). */
export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!DEC_OCTET.test(parts[i])) return undefined;
    const v = Number(parts[i]);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

function groups6(part: string, allowV4: boolean): number[] | undefined {
  if (part === '') return [];
  const items = part.split(':');
  const out: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const g = items[i];
    if (allowV4 && i === items.length - 1 && g.includes('.')) {
      const v4 = parseIPv4(g);
      if (!v4) return undefined;
      out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else {
      if (!HEX_GROUP.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
  }
  return out;
}

/** IPv6 text (RFC 4291 forms, one '::', trailing dotted quad allowed; no zone id) -> 16 bytes, or undefined. */
export function parseIPv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  const dc = s.indexOf('::');
  let words: number[];
  if (dc < 0) {
    const g = groups6(s, true);
    if (!g || g.length !== 8) return undefined;
    words = g;
  } else {
    if (s.indexOf('::', dc + 1) >= 0) return undefined;
    const tail = s.slice(dc + 2);
    const h = groups6(s.slice(0, dc), false);
    const t = groups6(tail, true);
    if (!h || !t || h.length + t.length > 7) return undefined;
    words = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i] >> 8;
    out[2 * i + 1] = words[i] & 0xff;
  }
  return out;
}

/** Address text -> { family, bytes }; throws ERR_CT_INVALID_ARGUMENT. */
export function parseAddress(s: unknown, what: string): {
  /** AF_INET (2) or AF_INET6 (10) */
  family: number;
  /** the address in network order: 4 or 16 bytes */
  bytes: Uint8Array;
} {
  if (typeof s !== 'string') throw invalid(`${what}: address must be a string, not ${typeof s}`);
  const b = s.includes(':') ? parseIPv6(s) : parseIPv4(s);
  if (!b) throw invalid(`${what}: '${s}' is not a valid IPv4 or IPv6 address`);
  return { family: b.length === 4 ? A.AF_INET : A.AF_INET6, bytes: b };
}

// ---------------------------------------------------------------------------
// Integer checks.

function checkInt(v: unknown, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw invalid(`${what} must be an integer in 0..${max}, not ${String(v)}`);
  }
  return v;
}
const u8 = (v: unknown, what: string) => checkInt(v, 0xff, what);
const u16 = (v: unknown, what: string) => checkInt(v, 0xffff, what);
const u32 = (v: unknown, what: string) => checkInt(v, 0xffffffff, what);
function u64(v: unknown, what: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) {
    throw invalid(`${what} must be a bigint in 0..2^64-1, not ${String(v)}`);
  }
  return v;
}

/** L4 protocols whose tuples carry ports (GRE: keys). */
const PORT_PROTOS = new Set([6, 17, 136, 132, 33, 47]);

// ---------------------------------------------------------------------------
// Writing the request record.

class RecordWriter {
  readonly dv: DataView;
  readonly bytes: Uint8Array;
  private str = L.ENC_STR; // next free byte of the string area
  /** Family shared by every tuple / NAT address (0 until one is seen). */
  family = 0;
  private familyFrom = '';
  attrs = 0;
  sub = 0;
  sub2 = 0;

  constructor(core: WasmCore, private readonly headerFamily: number | undefined) {
    this.dv = core.view;
    this.bytes = core.bytes;
    this.bytes.fill(0, L.ENC_REQ, L.ENC_REQ + L.REC_SIZE);
  }

  /** Record one address family; all must agree (and agree with header.family when it is 2 or 10). */
  useFamily(f: number, what: string): void {
    const hf = this.headerFamily;
    if ((hf === A.AF_INET || hf === A.AF_INET6) && f !== hf) {
      throw invalid(`${what} is ${famName(f)} but the request family (header.family) is ${famName(hf)}`);
    }
    if (this.family === 0) {
      this.family = f;
      this.familyFrom = what;
    } else if (this.family !== f) {
      throw invalid(`${what} is ${famName(f)} but ${this.familyFrom} is ${famName(this.family)}`);
    }
  }

  u8(off: number, v: number): void {
    this.bytes[L.ENC_REQ + off] = v;
  }
  u16(off: number, v: number): void {
    this.dv.setUint16(L.ENC_REQ + off, v, true);
  }
  u32(off: number, v: number): void {
    this.dv.setUint32(L.ENC_REQ + off, v, true);
  }
  u64(off: number, v: bigint): void {
    this.dv.setBigUint64(L.ENC_REQ + off, v, true);
  }
  attr(n: number): void {
    this.attrs = (this.attrs | (1 << n)) >>> 0;
  }

  /** Copy bytes into the string area; store pointer (u32) and length (u16) in the record. */
  blob(data: Uint8Array, ptrOff: number, lenOff: number, what: string): void {
    if (data.length > L.ENC_STR + L.ENC_STR_SIZE - this.str) {
      throw invalid(`${what} is too long: the request's strings and blobs must fit in ${L.ENC_STR_SIZE} bytes`);
    }
    this.bytes.set(data, this.str);
    this.u32(ptrOff, this.str);
    this.u16(lenOff, data.length);
    this.str = (this.str + data.length + 3) & ~3;
  }

  string(s: unknown, ptrOff: number, lenOff: number, what: string): void {
    if (typeof s !== 'string') throw invalid(`${what} must be a string, not ${typeof s}`);
    if (s.includes('\0')) throw invalid(`${what} must not contain NUL characters`);
    this.blob(Buffer.from(s, 'utf8'), ptrOff, lenOff, what);
  }

  bytesField(v: unknown, ptrOff: number, lenOff: number, what: string, max?: number): void {
    if (!(v instanceof Uint8Array)) throw invalid(`${what} must be a Uint8Array`);
    if (max !== undefined && v.length > max) throw invalid(`${what} must be at most ${max} bytes, not ${v.length}`);
    this.blob(v, ptrOff, lenOff, what);
  }

  /** TupleInput -> TUP_* layout at record offset `at`. */
  tuple(at: number, t: TupleInput, what: string): void {
    if (typeof t !== 'object' || t === null) throw invalid(`${what} must be an object`);
    let bits = 0;
    let fam = 0;
    if (t.src !== undefined) {
      const a = parseAddress(t.src, `${what}.src`);
      fam = a.family;
      this.bytes.set(a.bytes, L.ENC_REQ + at + L.TUP_SRC);
      bits |= L.TP_IP | L.TP_SRC;
    }
    if (t.dst !== undefined) {
      const a = parseAddress(t.dst, `${what}.dst`);
      if (fam !== 0 && a.family !== fam) {
        throw invalid(`${what}: src ${t.src} and dst ${t.dst} are of different address families`);
      }
      fam = a.family;
      this.bytes.set(a.bytes, L.ENC_REQ + at + L.TUP_DST);
      bits |= L.TP_IP | L.TP_DST;
    }
    if (t.l3proto !== undefined && t.l3proto !== 0 && fam !== 0 && t.l3proto !== fam) {
      throw invalid(`${what}: l3proto ${t.l3proto} does not match the addresses (${famName(fam)})`);
    }
    if (fam !== 0) {
      this.useFamily(fam, what);
      this.u8(at + L.TUP_L3, fam);
    }
    const proto = t.protoNum === undefined ? undefined : u8(t.protoNum, `${what}.protoNum`);
    if (proto !== undefined) {
      this.u8(at + L.TUP_PROTO, proto);
      bits |= L.TP_PROTO_NEST | L.TP_PROTO;
    }
    if (t.srcPort !== undefined || t.dstPort !== undefined) {
      if (proto === undefined || !PORT_PROTOS.has(proto)) {
        throw invalid(`${what}: ports need protoNum TCP (6), UDP (17), UDPLite (136), SCTP (132), DCCP (33) or GRE (47), not ${proto ?? 'none'}`);
      }
      if (t.srcPort !== undefined) {
        this.u16(at + L.TUP_SPORT, u16(t.srcPort, `${what}.srcPort`));
        bits |= L.TP_SPORT;
      }
      if (t.dstPort !== undefined) {
        this.u16(at + L.TUP_DPORT, u16(t.dstPort, `${what}.dstPort`));
        bits |= L.TP_DPORT;
      }
    }
    if (t.icmpId !== undefined || t.icmpType !== undefined || t.icmpCode !== undefined) {
      if (proto !== 1 && proto !== 58) {
        throw invalid(`${what}: ICMP id/type/code need protoNum ICMP (1) or ICMPv6 (58), not ${proto ?? 'none'}`);
      }
      const v6 = proto === 58;
      if (t.icmpId !== undefined) {
        this.u16(at + L.TUP_ICMP_ID, u16(t.icmpId, `${what}.icmpId`));
        bits |= v6 ? L.TP_ICMPV6_ID : L.TP_ICMP_ID;
      }
      if (t.icmpType !== undefined) {
        this.u8(at + L.TUP_ICMP_TYPE, u8(t.icmpType, `${what}.icmpType`));
        bits |= v6 ? L.TP_ICMPV6_TYPE : L.TP_ICMP_TYPE;
      }
      if (t.icmpCode !== undefined) {
        this.u8(at + L.TUP_ICMP_CODE, u8(t.icmpCode, `${what}.icmpCode`));
        bits |= v6 ? L.TP_ICMPV6_CODE : L.TP_ICMP_CODE;
      }
    }
    if (t.zone !== undefined) {
      this.u16(at + L.TUP_ZONE, zone(t.zone, `${what}.zone`));
      bits |= L.TP_ZONE;
    }
    this.u16(at + L.TUP_PRESENT, bits);
  }

  nat(at: number, n: NatRange, what: string): void {
    if (typeof n !== 'object' || n === null) throw invalid(`${what} must be an object`);
    let bits = 0;
    if (n.minIp !== undefined) {
      const a = parseAddress(n.minIp, `${what}.minIp`);
      this.useFamily(a.family, `${what}.minIp`);
      this.bytes.set(a.bytes, L.ENC_REQ + at + L.NAT_MINIP);
      bits |= a.family === A.AF_INET ? L.NP_V4_MINIP : L.NP_V6_MINIP;
    }
    if (n.maxIp !== undefined) {
      const a = parseAddress(n.maxIp, `${what}.maxIp`);
      this.useFamily(a.family, `${what}.maxIp`);
      this.bytes.set(a.bytes, L.ENC_REQ + at + L.NAT_MAXIP);
      bits |= a.family === A.AF_INET ? L.NP_V4_MAXIP : L.NP_V6_MAXIP;
    }
    if (n.minPort !== undefined) {
      this.u16(at + L.NAT_PORT_MIN, u16(n.minPort, `${what}.minPort`));
      bits |= L.NP_PORT_MIN;
    }
    if (n.maxPort !== undefined) {
      this.u16(at + L.NAT_PORT_MAX, u16(n.maxPort, `${what}.maxPort`));
      bits |= L.NP_PORT_MAX;
    }
    this.u16(at + L.NAT_PRESENT, bits);
  }

  /** Three u32 at `at` (seq adj / synproxy) with presence bits bit0 << i. */
  triple(at: number, vals: (number | undefined)[], bit0: number, what: string[]): void {
    for (let i = 0; i < 3; i++) {
      const v = vals[i];
      if (v === undefined) continue;
      this.u32(at + 4 * i, u32(v, what[i]));
      this.sub = (this.sub | (bit0 << i)) >>> 0;
    }
  }

  finish(): void {
    this.u32(L.REC_ATTRS, this.attrs);
    this.u32(L.REC_SUB, this.sub);
    this.u32(L.REC_SUB2, this.sub2);
  }
}

function famName(f: number): string {
  return f === A.AF_INET ? 'IPv4 (AF_INET)' : f === A.AF_INET6 ? 'IPv6 (AF_INET6)' : `family ${f}`;
}

function zone(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) {
    throw invalid(`${what} must be a zone in 0..65535, not ${String(v)}`);
  }
  return v;
}

function obj(v: unknown, what: string): void {
  if (typeof v !== 'object' || v === null) throw invalid(`${what} must be an object`);
}

function writeFilter(w: RecordWriter, f: FilterInput): void {
  obj(f, 'filter');
  if (f.mark !== undefined) {
    w.u32(L.REC_MARK, u32(f.mark, 'mark'));
    w.attr(A.CTA_MARK);
  }
  if (f.markMask !== undefined) {
    w.u32(L.REC_MARK_MASK, u32(f.markMask, 'markMask'));
    w.attr(A.CTA_MARK_MASK);
  }
  if (f.status !== undefined) {
    w.u32(L.REC_STATUS, u32(f.status, 'status'));
    w.attr(A.CTA_STATUS);
  }
  if (f.statusMask !== undefined) {
    w.u32(L.REC_STATUS_MASK, u32(f.statusMask, 'statusMask'));
    w.attr(A.CTA_STATUS_MASK);
  }
  if (f.zone !== undefined) {
    w.u16(L.REC_ZONE, zone(f.zone, 'zone'));
    w.attr(A.CTA_ZONE);
  }
  if (f.orig !== undefined) {
    w.tuple(L.REC_TUPLE_ORIG, f.orig, 'filter.orig');
    w.attr(A.CTA_TUPLE_ORIG);
  }
  if (f.reply !== undefined) {
    w.tuple(L.REC_TUPLE_REPLY, f.reply, 'filter.reply');
    w.attr(A.CTA_TUPLE_REPLY);
  }
}

/**
 * CTA_FILTER { CTA_FILTER_ORIG_FLAGS, CTA_FILTER_REPLY_FLAGS } appended to an
 * encoded message (u32 flags in host order, as the kernel reads them with
 * nla_get_u32; NLA_F_NESTED because the kernel parses this nest strictly).
 */
function appendCtaFilter(msg: Uint8Array, f: FilterInput): Uint8Array {
  const origFlags = f.origFlags === undefined ? 0 : u32(f.origFlags, 'filter.origFlags');
  const replyFlags = f.replyFlags === undefined ? 0 : u32(f.replyFlags, 'filter.replyFlags');
  if (origFlags === 0 && replyFlags === 0) return msg;
  if ((origFlags !== 0) !== (f.orig !== undefined) || (replyFlags !== 0) !== (f.reply !== undefined)) {
    throw invalid('filter: origFlags / replyFlags need the matching orig / reply tuple, and a tuple needs its flags');
  }
  const n = (origFlags ? 8 : 0) + (replyFlags ? 8 : 0);
  const out = new Uint8Array(msg.length + 4 + n);
  out.set(msg);
  const dv = new DataView(out.buffer);
  let o = msg.length;
  dv.setUint16(o, 4 + n, true);
  dv.setUint16(o + 2, A.CTA_FILTER | 0x8000, true); // NLA_F_NESTED
  o += 4;
  const put = (type: number, v: number): void => {
    dv.setUint16(o, 8, true);
    dv.setUint16(o + 2, type, true);
    dv.setUint32(o + 4, v, HOST_LE);
    o += 8;
  };
  if (origFlags) put(A.CTA_FILTER_ORIG_FLAGS, origFlags);
  if (replyFlags) put(A.CTA_FILTER_REPLY_FLAGS, replyFlags);
  dv.setUint32(0, out.length, HOST_LE);
  return out;
}

function writeFlow(w: RecordWriter, f: FlowInput): void {
  obj(f, 'flow');
  if (f.orig !== undefined) {
    w.tuple(L.REC_TUPLE_ORIG, f.orig, 'orig');
    w.attr(A.CTA_TUPLE_ORIG);
  }
  if (f.reply !== undefined) {
    w.tuple(L.REC_TUPLE_REPLY, f.reply, 'reply');
    w.attr(A.CTA_TUPLE_REPLY);
  }
  if (f.master !== undefined) {
    w.tuple(L.REC_TUPLE_MASTER, f.master, 'master');
    w.attr(A.CTA_TUPLE_MASTER);
  }
  writeFilter(w, f); // mark, markMask, status, statusMask, zone
  const scalars: [keyof FlowInput, number, number][] = [
    ['timeout', L.REC_TIMEOUT, A.CTA_TIMEOUT],
    ['use', L.REC_USE, A.CTA_USE],
    ['id', L.REC_ID, A.CTA_ID],
    ['secmark', L.REC_SECMARK, A.CTA_SECMARK],
  ];
  for (const [key, off, attr] of scalars) {
    const v = f[key];
    if (v === undefined) continue;
    w.u32(off, u32(v, key));
    w.attr(attr);
  }
  let proto = false;
  if (f.tcp !== undefined) {
    obj(f.tcp, 'tcp');
    proto = true;
    const t = f.tcp;
    if (t.state !== undefined) {
      w.u8(L.REC_TCP_STATE, u8(t.state, 'tcp.state'));
      w.sub |= L.SUB_TCP_STATE;
    }
    if (t.wscaleOriginal !== undefined) {
      w.u8(L.REC_TCP_WSCALE_ORIG, u8(t.wscaleOriginal, 'tcp.wscaleOriginal'));
      w.sub |= L.SUB_TCP_WSCALE_ORIG;
    }
    if (t.wscaleReply !== undefined) {
      w.u8(L.REC_TCP_WSCALE_REPL, u8(t.wscaleReply, 'tcp.wscaleReply'));
      w.sub |= L.SUB_TCP_WSCALE_REPL;
    }
    if (t.flagsOriginal !== undefined) {
      obj(t.flagsOriginal, 'tcp.flagsOriginal');
      w.u8(L.REC_TCP_FLAGS_ORIG, u8(t.flagsOriginal.flags, 'tcp.flagsOriginal.flags'));
      w.u8(L.REC_TCP_FLAGS_ORIG + 1, u8(t.flagsOriginal.mask, 'tcp.flagsOriginal.mask'));
      w.sub |= L.SUB_TCP_FLAGS_ORIG;
    }
    if (t.flagsReply !== undefined) {
      obj(t.flagsReply, 'tcp.flagsReply');
      w.u8(L.REC_TCP_FLAGS_REPL, u8(t.flagsReply.flags, 'tcp.flagsReply.flags'));
      w.u8(L.REC_TCP_FLAGS_REPL + 1, u8(t.flagsReply.mask, 'tcp.flagsReply.mask'));
      w.sub |= L.SUB_TCP_FLAGS_REPL;
    }
  }
  if (f.dccp !== undefined) {
    obj(f.dccp, 'dccp');
    proto = true;
    const d = f.dccp;
    if (d.state !== undefined) {
      w.u8(L.REC_DCCP_STATE, u8(d.state, 'dccp.state'));
      w.sub |= L.SUB_DCCP_STATE;
    }
    if (d.role !== undefined) {
      w.u8(L.REC_DCCP_ROLE, u8(d.role, 'dccp.role'));
      w.sub |= L.SUB_DCCP_ROLE;
    }
    if (d.handshakeSeq !== undefined) {
      w.u64(L.REC_DCCP_HANDSHAKE_SEQ, u64(d.handshakeSeq, 'dccp.handshakeSeq'));
      w.sub |= L.SUB_DCCP_HANDSHAKE_SEQ;
    }
  }
  if (f.sctp !== undefined) {
    obj(f.sctp, 'sctp');
    proto = true;
    const s = f.sctp;
    if (s.state !== undefined) {
      w.u8(L.REC_SCTP_STATE, u8(s.state, 'sctp.state'));
      w.sub |= L.SUB_SCTP_STATE;
    }
    if (s.vtagOriginal !== undefined) {
      w.u32(L.REC_SCTP_VTAG_ORIG, u32(s.vtagOriginal, 'sctp.vtagOriginal'));
      w.sub |= L.SUB_SCTP_VTAG_ORIG;
    }
    if (s.vtagReply !== undefined) {
      w.u32(L.REC_SCTP_VTAG_REPL, u32(s.vtagReply, 'sctp.vtagReply'));
      w.sub |= L.SUB_SCTP_VTAG_REPL;
    }
  }
  if (proto) w.attr(A.CTA_PROTOINFO);
  const counters: [Counters | undefined, string, number, number, number, number, number][] = [
    [f.countersOrig, 'countersOrig', A.CTA_COUNTERS_ORIG, L.REC_ORIG_PACKETS, L.REC_ORIG_BYTES, L.SUB_ORIG_PACKETS, L.SUB_ORIG_BYTES],
    [f.countersReply, 'countersReply', A.CTA_COUNTERS_REPLY, L.REC_REPL_PACKETS, L.REC_REPL_BYTES, L.SUB_REPL_PACKETS, L.SUB_REPL_BYTES],
  ];
  for (const [c, what, attr, pk, by, bitPk, bitBy] of counters) {
    if (c === undefined) continue;
    obj(c, what);
    if (c.packets !== undefined) {
      w.u64(pk, u64(c.packets, `${what}.packets`));
      w.sub |= bitPk;
    }
    if (c.bytes !== undefined) {
      w.u64(by, u64(c.bytes, `${what}.bytes`));
      w.sub |= bitBy;
    }
    w.attr(attr);
  }
  if (f.timestampStart !== undefined) {
    w.u64(L.REC_TS_START, u64(f.timestampStart, 'timestampStart'));
    w.sub |= L.SUB_TS_START;
    w.attr(A.CTA_TIMESTAMP);
  }
  if (f.timestampStop !== undefined) {
    w.u64(L.REC_TS_STOP, u64(f.timestampStop, 'timestampStop'));
    w.sub |= L.SUB_TS_STOP;
    w.attr(A.CTA_TIMESTAMP);
  }
  if (f.timestampEvent !== undefined) {
    w.u64(L.REC_TS_EVENT, u64(f.timestampEvent, 'timestampEvent'));
    w.attr(A.CTA_TIMESTAMP_EVENT);
  }
  if (f.helperName !== undefined) {
    w.string(f.helperName, L.REC_HELP_NAME_PTR, L.REC_HELP_NAME_LEN, 'helperName');
    w.sub |= L.SUB_HELP_NAME;
    w.attr(A.CTA_HELP);
  }
  if (f.helperInfo !== undefined) {
    w.bytesField(f.helperInfo, L.REC_HELP_INFO_PTR, L.REC_HELP_INFO_LEN, 'helperInfo');
    w.sub |= L.SUB_HELP_INFO;
    w.attr(A.CTA_HELP);
  }
  if (f.secctx !== undefined) {
    w.string(f.secctx, L.REC_SECCTX_PTR, L.REC_SECCTX_LEN, 'secctx');
    w.sub |= L.SUB_SECCTX_NAME;
    w.attr(A.CTA_SECCTX);
  }
  if (f.labels !== undefined) {
    w.bytesField(f.labels, L.REC_LABELS_PTR, L.REC_LABELS_LEN, 'labels', 16);
    w.attr(A.CTA_LABELS);
  }
  if (f.labelsMask !== undefined) {
    w.bytesField(f.labelsMask, L.REC_LABELS_MASK_PTR, L.REC_LABELS_MASK_LEN, 'labelsMask', 16);
    w.attr(A.CTA_LABELS_MASK);
  }
  if (f.natSrc !== undefined) {
    w.nat(L.REC_NAT_SRC, f.natSrc, 'natSrc');
    w.attr(A.CTA_NAT_SRC);
  }
  if (f.natDst !== undefined) {
    w.nat(L.REC_NAT_DST, f.natDst, 'natDst');
    w.attr(A.CTA_NAT_DST);
  }
  const adj: [SeqAdj | undefined, string, number, number, number][] = [
    [f.seqAdjOrig, 'seqAdjOrig', A.CTA_SEQ_ADJ_ORIG, L.REC_SEQADJ_ORIG, L.SUB_SEQADJ_ORIG_CORRECTION_POS],
    [f.seqAdjReply, 'seqAdjReply', A.CTA_SEQ_ADJ_REPLY, L.REC_SEQADJ_REPL, L.SUB_SEQADJ_REPL_CORRECTION_POS],
  ];
  for (const [s, what, attr, at, bit0] of adj) {
    if (s === undefined) continue;
    obj(s, what);
    w.triple(at, [s.correctionPos, s.offsetBefore, s.offsetAfter], bit0,
      [`${what}.correctionPos`, `${what}.offsetBefore`, `${what}.offsetAfter`]);
    w.attr(attr);
  }
  if (f.synproxy !== undefined) {
    const s = f.synproxy;
    obj(s, 'synproxy');
    w.triple(L.REC_SYNPROXY, [s.isn, s.its, s.tsoff], L.SUB_SYNPROXY_ISN, ['synproxy.isn', 'synproxy.its', 'synproxy.tsoff']);
    w.attr(A.CTA_SYNPROXY);
  }
}

function writeExpect(w: RecordWriter, e: ExpectInput): void {
  obj(e, 'expect');
  // the decoder's slots: MASTER in REC_TUPLE_ORIG, TUPLE in _REPLY, MASK in _MASTER, NAT tuple in _4
  const tuples: [TupleInput | undefined, string, number, number][] = [
    [e.master, 'master', L.REC_TUPLE_ORIG, A.CTA_EXPECT_MASTER],
    [e.tuple, 'tuple', L.REC_TUPLE_REPLY, A.CTA_EXPECT_TUPLE],
    [e.mask, 'mask', L.REC_TUPLE_MASTER, A.CTA_EXPECT_MASK],
  ];
  for (const [t, what, at, attr] of tuples) {
    if (t === undefined) continue;
    w.tuple(at, t, what);
    w.attr(attr);
  }
  const scalars: [keyof ExpectInput, number, number][] = [
    ['timeout', L.REC_EXP_TIMEOUT, A.CTA_EXPECT_TIMEOUT],
    ['id', L.REC_EXP_ID, A.CTA_EXPECT_ID],
    ['flags', L.REC_EXP_FLAGS, A.CTA_EXPECT_FLAGS],
    ['class', L.REC_EXP_CLASS, A.CTA_EXPECT_CLASS],
  ];
  for (const [key, off, attr] of scalars) {
    const v = e[key];
    if (v === undefined) continue;
    w.u32(off, u32(v, key));
    w.attr(attr);
  }
  if (e.zone !== undefined) {
    w.u16(L.REC_EXP_ZONE, zone(e.zone, 'zone'));
    w.attr(A.CTA_EXPECT_ZONE);
  }
  if (e.helperName !== undefined) {
    w.string(e.helperName, L.REC_EXP_HELP_NAME_PTR, L.REC_EXP_HELP_NAME_LEN, 'helperName');
    w.sub2 |= L.SUB2_EXP_HELP_NAME;
    w.attr(A.CTA_EXPECT_HELP_NAME);
  }
  if (e.fn !== undefined) {
    w.string(e.fn, L.REC_EXP_FN_PTR, L.REC_EXP_FN_LEN, 'fn');
    w.sub2 |= L.SUB2_EXP_FN;
    w.attr(A.CTA_EXPECT_FN);
  }
  if (e.nat !== undefined) {
    obj(e.nat, 'nat');
    if (e.nat.dir !== undefined) {
      w.u32(L.REC_EXP_NAT_DIR, u32(e.nat.dir, 'nat.dir'));
      w.sub2 |= L.SUB2_EXP_NAT_DIR;
    }
    if (e.nat.tuple !== undefined) {
      w.tuple(L.REC_TUPLE_4, e.nat.tuple, 'nat.tuple');
      w.sub2 |= L.SUB2_EXP_NAT_TUPLE;
    }
    w.attr(A.CTA_EXPECT_NAT);
  }
}

const ENC_ERR_TEXT: Record<number, string> = {
  [L.ENC_ERR_SPACE]: `the request does not fit in the ${L.ENC_OUT_SIZE}-byte encode buffer`,
  [L.ENC_ERR_ATTR_LEN]: 'an attribute of the request is longer than 65535 bytes (nla_len)',
  [L.ENC_ERR_L3]: 'a tuple has addresses but no address family',
  [L.ENC_ERR_PTR]: 'a string or blob of the request lies outside WASM memory',
};

function encoder(core: WasmCore): EncoderExports {
  const ex = core.exports as EncoderExports;
  if (typeof ex.encodeRequest !== 'function' || typeof ex.encodeStatus !== 'function') {
    throw new ConntrackError('ERR_CT_WASM', 'the WASM module has no request encoder (stale dist/wasm); run "npm run build"');
  }
  return ex;
}

/**
 * Encode one ctnetlink request (nlmsghdr + nfgenmsg + attributes) and return
 * a copy of its bytes. Attribute order follows libnetfilter_conntrack, so
 * for the requests the conntrack tool sends the bytes are identical.
 * Throws ConntrackError('ERR_CT_INVALID_ARGUMENT') on invalid input.
 */
export function encodeRequest(core: WasmCore, header: RequestHeader, body?: RequestBody): Uint8Array {
  const ex = encoder(core);
  obj(header, 'header');
  const type = u16(header.type, 'header.type');
  const flags = u16(header.flags, 'header.flags');
  const seq = u32(header.seq, 'header.seq');
  const hf = header.family === undefined ? undefined : u8(header.family, 'header.family');
  const resId = header.resId === undefined ? 0 : u16(header.resId, 'header.resId');
  const w = new RecordWriter(core, hf);
  let kind: number = L.KIND_NONE;
  if (body !== undefined) {
    obj(body, 'body');
    if (body.kind === 'flow') {
      kind = L.KIND_FLOW;
      writeFlow(w, body.flow);
    } else if (body.kind === 'expect') {
      kind = L.KIND_EXPECT;
      writeExpect(w, body.expect);
    } else if (body.kind === 'filter') {
      writeFilter(w, body.filter);
    } else {
      throw invalid(`body.kind must be 'flow', 'expect' or 'filter', not ${String((body as { kind: unknown }).kind)}`);
    }
  }
  w.finish();
  const family = hf ?? w.family;
  const len = ex.encodeRequest(type, flags, seq, family, resId, kind);
  if (len === 0) {
    const st = ex.encodeStatus();
    throw invalid(`cannot encode the request: ${ENC_ERR_TEXT[st] ?? `encoder status ${st}`}`);
  }
  const msg = core.bytes.slice(L.ENC_OUT, L.ENC_OUT + len);
  return body?.kind === 'filter' ? appendCtaFilter(msg, body.filter) : msg;
}

/**
 * IPCTNL_MSG_CT_DELETE (NLM_F_ACK) for the decoded flow record at `recBase`
 * in the same core: its orig tuple (with the tuple zone), CTA_ZONE and CTA_ID
 * (so an entry whose tuple was reused meanwhile is not hit), encoded straight
 * from the record without a JS object. The message is left at L.ENC_OUT;
 * returns its length.
 */
export function encodeDeleteOf(core: WasmCore, recBase: number, seq: number): number {
  const ex = encoder(core);
  const b = core.bytes;
  b.copyWithin(L.ENC_REQ, recBase, recBase + L.REC_SIZE);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const keep = (1 << A.CTA_TUPLE_ORIG) | (1 << A.CTA_ZONE) | (1 << A.CTA_ID);
  dv.setUint32(L.ENC_REQ + L.REC_ATTRS, dv.getUint32(L.ENC_REQ + L.REC_ATTRS, true) & keep, true);
  const len = ex.encodeRequest(CT_DELETE, A.NLM_F_REQUEST | A.NLM_F_ACK, seq >>> 0, b[recBase + L.REC_FAMILY], 0, L.KIND_FLOW);
  if (len === 0) throw invalid(`cannot encode the delete: ${ENC_ERR_TEXT[ex.encodeStatus()] ?? 'encoder error'}`);
  return len;
}

export interface DumpRequestOptions {
  /** Which table: the conntrack table (default), dying or unconfirmed lists, or expectations. */
  readonly table?: 'conntrack' | 'dying' | 'unconfirmed' | 'expect';
  /** nfgen_family: AF_UNSPEC (0, default) dumps every family; 2 or 10 filters. */
  readonly family?: number;
  /** Zero the counters while dumping (IPCTNL_MSG_CT_GET_CTRZERO; conntrack table only). */
  readonly zero?: boolean;
  /** Only entries with (ct mark & markMask) == mark (conntrack table only). */
  readonly mark?: number;
  /** Mask for `mark`; default 0xffffffff. */
  readonly markMask?: number;
  /** Further kernel-side filter attributes (conntrack table only): status/mask, zone, CTA_FILTER tuples. */
  readonly filter?: Omit<FilterInput, 'mark' | 'markMask'>;
}

/**
 * A dump request (NLM_F_REQUEST | NLM_F_DUMP): IPCTNL_MSG_CT_GET,
 * _GET_CTRZERO, _GET_DYING, _GET_UNCONFIRMED or IPCTNL_MSG_EXP_GET, with
 * the CTA_MARK / CTA_MARK_MASK filter when `mark` is given.
 */
export function dumpRequest(core: WasmCore, seq: number, opts: DumpRequestOptions = {}): Uint8Array {
  obj(opts, 'options');
  const table = opts.table ?? 'conntrack';
  let type: number;
  switch (table) {
    case 'conntrack': type = opts.zero === true ? CT_GET_CTRZERO : CT_GET; break;
    case 'dying': type = CT_GET_DYING; break;
    case 'unconfirmed': type = CT_GET_UNCONFIRMED; break;
    case 'expect': type = EXP_GET; break;
    default: throw invalid(`table must be 'conntrack', 'dying', 'unconfirmed' or 'expect', not ${String(table)}`);
  }
  if (opts.zero === true && table !== 'conntrack') throw invalid(`zero applies to the conntrack table only, not '${table}'`);
  if (opts.markMask !== undefined && opts.mark === undefined) throw invalid('markMask needs mark');
  let body: RequestBody | undefined;
  const extra = opts.filter !== undefined && Object.values(opts.filter).some((v) => v !== undefined);
  if (opts.mark !== undefined || extra) {
    if (table !== 'conntrack') throw invalid(`a mark or filter applies to the conntrack table only, not '${table}'`);
    const mark = opts.mark !== undefined ? { mark: opts.mark, markMask: opts.markMask ?? 0xffffffff } : {};
    body = { kind: 'filter', filter: { ...(opts.filter ?? {}), ...mark } };
  }
  return encodeRequest(core, { type, flags: DUMP_FLAGS, seq, family: opts.family ?? A.AF_UNSPEC }, body);
}

/**
 * A statistics request as conntrack -S / -C / -S expect send it: per-CPU
 * conntrack statistics (dump), global statistics (NLM_F_ACK), per-CPU
 * expectation statistics (dump).
 */
export function statsRequest(core: WasmCore, seq: number, which: 'cpu' | 'global' | 'expect'): Uint8Array {
  switch (which) {
    case 'cpu': return encodeRequest(core, { type: CT_GET_STATS_CPU, flags: DUMP_FLAGS, seq });
    case 'global': return encodeRequest(core, { type: CT_GET_STATS, flags: A.NLM_F_REQUEST | A.NLM_F_ACK, seq });
    case 'expect': return encodeRequest(core, { type: EXP_GET_STATS_CPU, flags: DUMP_FLAGS, seq });
    default: throw invalid(`statistics must be 'cpu', 'global' or 'expect', not ${String(which)}`);
  }
}
