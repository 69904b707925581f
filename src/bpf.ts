// Kernel-side event filter: the part of a filter that a classic BPF program
// can evaluate on the event socket (SO_ATTACH_FILTER), so events the caller
// does not want are dropped by the kernel before they are queued on the
// socket: they cost no receive buffer, no wake-up and no copy.
//
// The technique is libnetfilter_conntrack's nfct_filter (src/conntrack/bsf.c):
// the program walks the netlink message with the "nla find" ancillary loads
// of the kernel's BPF (net/core/filter.c):
//   A = [SKF_AD_OFF + SKF_AD_NLATTR]       nla_find() from offset A to the end
//                                          of the skb for type X: offset of the
//                                          attribute, or 0 when absent
//   A = [SKF_AD_OFF + SKF_AD_NLATTR_NEST]  the same inside the nested attribute
//                                          at offset A
// then TAX and loads relative to X read the attribute's payload (BPF_IND
// loads are big endian, as ctnetlink's values are).
//
// Every conntrack event is its own skb with one message (ctnetlink_conntrack_event
// allocates one per event; the events-churn capture has one message per
// datagram), so looking at the first message is looking at the whole skb.
//
// Accept returns 0xffffffff, reject 0. Anything that is not a conntrack
// IPCTNL_MSG_CT_NEW / _DELETE message (expectation events, NLMSG_ERROR,
// NLMSG_DONE, other subsystems) is accepted untouched.
//
// Every condition is still evaluated in WASM afterwards, so the stream
// delivers the same events with or without the BPF; the program only has to
// be a superset of the WASM filter: it never rejects what WASM accepts.
// Decisions look at the first occurrence of an attribute (nla_find); the
// decoder keeps the last one. The kernel never repeats an attribute, so the
// two agree on every message the kernel sends.
import { endianness } from 'os';
import * as A from './generated/attrs';
import * as L from './generated/layout';
import type { FilterCondition } from './filter';
import { describeCondition } from './plan';

// --- classic BPF encoding (linux/filter.h, linux/bpf_common.h) --------------
export const BPF_LD = 0x00, BPF_LDX = 0x01, BPF_ALU = 0x04, BPF_JMP = 0x05, BPF_RET = 0x06, BPF_MISC = 0x07;
export const BPF_W = 0x00, BPF_H = 0x08, BPF_B = 0x10;
export const BPF_IMM = 0x00, BPF_ABS = 0x20, BPF_IND = 0x40;
export const BPF_AND = 0x50;
export const BPF_JA = 0x00, BPF_JEQ = 0x10;
export const BPF_K = 0x00;
export const BPF_TAX = 0x00;
export const SKF_AD_OFF = -0x1000;
export const SKF_AD_NLATTR = 12;
export const SKF_AD_NLATTR_NEST = 16;
/** Largest program the kernel takes (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

export const BPF_ACCEPT = 0xffffffff;
export const BPF_REJECT = 0;

/** One struct sock_filter. */
export interface BpfInsn {
  /** Opcode: class | size | mode (BPF_LD | BPF_W | BPF_ABS, ...). */
  code: number;
  /** Conditional jumps: instructions to skip when the test is true. */
  jt: number;
  /** Conditional jumps: instructions to skip when the test is false. */
  jf: number;
  /** The constant operand (offset, immediate, return value). */
  k: number;
}

const NLMSG_HDRLEN = 16;
const NFGENMSG_LEN = 4;
/** First attribute of a netfilter message: nlmsghdr + nfgenmsg. */
const ATTRS = NLMSG_HDRLEN + NFGENMSG_LEN;
// nlmsg_type is a host-order u16 at offset 4: subsystem in the high byte.
const LE = endianness() === 'LE';
const SUBSYS_BYTE = LE ? 5 : 4;
const MSGTYPE_BYTE = LE ? 4 : 5;
const FAMILY_BYTE = NLMSG_HDRLEN; // nfgenmsg.nfgen_family

// --- a tiny assembler with per-block labels --------------------------------
type Target = string | number;
interface Sym {
  code: number;
  jt: Target;
  jf: Target;
  k: number;
  label?: string;
}

const stmt = (code: number, k: number): Sym => ({ code, jt: 0, jf: 0, k: k >>> 0 });
const jeq = (k: number, jt: Target, jf: Target): Sym => ({ code: BPF_JMP | BPF_JEQ | BPF_K, jt, jf, k: k >>> 0 });
const ja = (to: string): Sym => ({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: 0, label: to });
const ret = (v: number): Sym => stmt(BPF_RET | BPF_K, v);

const TUPLE_OF_SLOT = [A.CTA_TUPLE_ORIG, A.CTA_TUPLE_REPLY, A.CTA_TUPLE_MASTER];

/**
 * X = offset of the attribute at `path` (top level first, then nested);
 * jumps to `absent` when any step is missing.
 */
function find(path: number[], absent: string): Sym[] {
  const out: Sym[] = [stmt(BPF_LD | BPF_IMM, ATTRS)];
  path.forEach((type, i) => {
    out.push(stmt(BPF_LDX | BPF_IMM, type));
    out.push(stmt(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + (i === 0 ? SKF_AD_NLATTR : SKF_AD_NLATTR_NEST)));
    out.push(jeq(0, absent, 0));
  });
  out.push(stmt(BPF_MISC | BPF_TAX, 0));
  return out;
}

/** Payload load at X + 4 + off. */
const payload = (size: number, off = 0): Sym => stmt(BPF_LD | size | BPF_IND, 4 + off);

// An address inside a net: compared 32 bits at a time under the prefix mask
// of plen, or under the netmask when plen is PLEN_MASK.
function addrIn(c: FilterCondition, which: 'src' | 'dst', match: string, nomatch: string): Sym[] {
  const v4 = c.a === A.AF_INET;
  const type = v4 ? (which === 'src' ? A.CTA_IP_V4_SRC : A.CTA_IP_V4_DST) : (which === 'src' ? A.CTA_IP_V6_SRC : A.CTA_IP_V6_DST);
  const out = find([TUPLE_OF_SLOT[c.slot], A.CTA_TUPLE_IP, type], nomatch);
  const dv = new DataView(c.addr.buffer, c.addr.byteOffset, 16);
  const m = c.mask ?? new Uint8Array(16); // a PLEN_MASK condition always carries its mask (filter.ts)
  const netmask = c.plen === L.PLEN_MASK ? new DataView(m.buffer, m.byteOffset, 16) : undefined;
  let left = c.plen;
  for (let w = 0; w < (v4 ? 1 : 4); w++) {
    let mask: number;
    if (netmask) mask = netmask.getUint32(w * 4);
    else {
      if (left <= 0) break;
      const bits = Math.min(32, left);
      mask = bits === 32 ? 0xffffffff : (~(0xffffffff >>> bits)) >>> 0;
      left -= bits;
    }
    if (mask === 0) continue;
    out.push(payload(BPF_W, w * 4));
    if (mask !== 0xffffffff) out.push(stmt(BPF_ALU | BPF_AND | BPF_K, mask));
    out.push(jeq((dv.getUint32(w * 4) & mask) >>> 0, 0, nomatch));
  }
  out.push(ja(match));
  return out;
}

function valueIs(path: number[], size: number, mask: number | undefined, value: number, match: string, nomatch: string): Sym[] {
  const out = find(path, nomatch);
  out.push(payload(size));
  if (mask !== undefined && mask >>> 0 !== 0xffffffff) out.push(stmt(BPF_ALU | BPF_AND | BPF_K, mask));
  out.push(jeq(value, match, nomatch));
  return out;
}

/**
 * The instructions deciding one condition, ending in jumps to `match` /
 * `nomatch` (before negation); undefined when BPF cannot express it.
 */
function condition(c: FilterCondition, match: string, nomatch: string): Sym[] | undefined {
  const tuple = TUPLE_OF_SLOT[c.slot];
  switch (c.op) {
    case L.FOP_FALSE: return [ja(nomatch)];
    case L.FOP_FAMILY: return [stmt(BPF_LD | BPF_B | BPF_ABS, FAMILY_BYTE), jeq(c.a, match, nomatch)];
    case L.FOP_PROTO: return valueIs([A.CTA_TUPLE_ORIG, A.CTA_TUPLE_PROTO, A.CTA_PROTO_NUM], BPF_B, undefined, c.a, match, nomatch);
    case L.FOP_SRC:
    case L.FOP_DST:
      if (tuple === undefined || (c.a !== A.AF_INET && c.a !== A.AF_INET6)) return undefined;
      return addrIn(c, c.op === L.FOP_SRC ? 'src' : 'dst', match, nomatch);
    case L.FOP_REPLY_ANY: {
      if (c.a !== A.AF_INET && c.a !== A.AF_INET6) return undefined;
      const r = { ...c, slot: 1 };
      const tryDst = `${nomatch}.dst`;
      const dst = addrIn(r, 'dst', match, nomatch);
      dst[0] = { ...dst[0], label: tryDst }; // label marks the instruction (not a jump) here: see assemble()
      return [...addrIn(r, 'src', match, tryDst), ...dst];
    }
    case L.FOP_SPORT:
    case L.FOP_DPORT:
      if (tuple === undefined) return undefined;
      return valueIs([tuple, A.CTA_TUPLE_PROTO, c.op === L.FOP_SPORT ? A.CTA_PROTO_SRC_PORT : A.CTA_PROTO_DST_PORT], BPF_H, undefined, c.a, match, nomatch);
    case L.FOP_MARK: return valueIs([A.CTA_MARK], BPF_W, c.b, c.a, match, nomatch);
    case L.FOP_STATUS: return valueIs([A.CTA_STATUS], BPF_W, c.b, c.a, match, nomatch);
    case L.FOP_ZONE: return valueIs([A.CTA_ZONE], BPF_H, undefined, c.a, match, nomatch);
    case L.FOP_TCP_STATE:
      return valueIs([A.CTA_PROTOINFO, A.CTA_PROTOINFO_TCP, A.CTA_PROTOINFO_TCP_STATE], BPF_B, undefined, c.a, match, nomatch);
    default: return undefined;
  }
}

// Resolve labels. A Sym's `label` on a JA is its destination; on any other
// instruction it names that instruction (a jump target). String jt/jf are
// destinations; `marks` names further positions (index of an instruction).
function assemble(syms: Sym[], marks: Map<string, number>): BpfInsn[] {
  const names = new Map(marks);
  syms.forEach((s, i) => {
    if (s.label !== undefined && !(s.code === (BPF_JMP | BPF_JA))) names.set(s.label, i);
  });
  const at = (t: Target, i: number, wide: boolean): number => {
    if (typeof t === 'number') return t;
    const to = names.get(t);
    if (to === undefined) throw new Error(`bpf: unknown label ${t}`);
    const off = to - (i + 1);
    if (off < 0 || (!wide && off > 255)) throw new Error(`bpf: jump to ${t} out of range (${off})`);
    return off;
  };
  return syms.map((s, i) => {
    if (s.code === (BPF_JMP | BPF_JA)) return { code: s.code, jt: 0, jf: 0, k: at(s.label as string, i, true) };
    const jt = at(s.jt, i, false), jf = at(s.jf, i, false);
    return { code: s.code, jt, jf, k: s.k };
  });
}

/** The BPF program and which conditions it holds. */
export interface EventBpf {
  /** struct sock_filter[] as SO_ATTACH_FILTER takes it; undefined when no condition could go into it. */
  program: Uint8Array | undefined;
  /** The same program as decoded instructions (empty when `program` is undefined). */
  insns: BpfInsn[];
  /** Conditions the BPF evaluates (and WASM re-checks). */
  pushed: FilterCondition[];
  /** Conditions only WASM evaluates. */
  userOnly: FilterCondition[];
}

/** Compile the BPF-expressible conditions (all ANDed, each possibly negated). */
export function compileEventBpf(conds: ReadonlyArray<FilterCondition>): EventBpf {
  const pushed: FilterCondition[] = [];
  const userOnly: FilterCondition[] = [];
  const syms: Sym[] = [
    // only conntrack NEW / DELETE messages are filtered; the rest passes
    stmt(BPF_LD | BPF_B | BPF_ABS, SUBSYS_BYTE),
    jeq(A.NFNL_SUBSYS_CTNETLINK, 1, 0),
    ret(BPF_ACCEPT),
    stmt(BPF_LD | BPF_B | BPF_ABS, MSGTYPE_BYTE),
    jeq(A.IPCTNL_MSG_CT_NEW, 2, 0),
    jeq(A.IPCTNL_MSG_CT_DELETE, 1, 0),
    ret(BPF_ACCEPT),
  ];
  const marks = new Map<string, number>();
  conds.forEach((c, i) => {
    const M = `m${i}`, N = `n${i}`;
    const body = condition(c, M, N);
    if (body === undefined) {
      userOnly.push(c);
      return;
    }
    pushed.push(c);
    syms.push(...body);
    // Without negation: no match rejects, a match goes on with the next
    // condition; negated, the other way round.
    const fail = ret(BPF_REJECT);
    fail.label = c.negate ? M : N;
    syms.push(fail);
    marks.set(c.negate ? N : M, syms.length); // the next block

  });
  syms.push(ret(BPF_ACCEPT));
  if (pushed.length === 0) return { program: undefined, insns: [], pushed, userOnly };
  const insns = assemble(syms, marks);
  if (insns.length > BPF_MAXINSNS) return { program: undefined, insns: [], pushed: [], userOnly: [...conds] };
  return { program: encodeInsns(insns), insns, pushed, userOnly };
}

/** struct sock_filter[] bytes (host order). */
export function encodeInsns(insns: ReadonlyArray<BpfInsn>): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const dv = new DataView(out.buffer);
  insns.forEach((x, i) => {
    dv.setUint16(i * 8, x.code, LE);
    dv.setUint8(i * 8 + 2, x.jt);
    dv.setUint8(i * 8 + 3, x.jf);
    dv.setUint32(i * 8 + 4, x.k >>> 0, LE);
  });
  return out;
}

/** Parse struct sock_filter[] bytes (host order). */
export function decodeInsns(bytes: Uint8Array): BpfInsn[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BpfInsn[] = [];
  for (let o = 0; o + 8 <= bytes.length; o += 8) {
    out.push({ code: dv.getUint16(o, LE), jt: dv.getUint8(o + 2), jf: dv.getUint8(o + 3), k: dv.getUint32(o + 4, LE) });
  }
  return out;
}

/** ct.explain(filter, { events: true }) / ctrack -E --explain. */
export interface EventPlan extends EventBpf {
  /** The WASM program: every condition; undefined when there are none. */
  wasm: Uint8Array | undefined;
  /** The plan as text, as `ctrack -E --explain` prints it. */
  text: string;
}

/** What an event stream with this filter puts into the kernel (BPF) and what only WASM checks. */
export function planEvents(conds: ReadonlyArray<FilterCondition>, opts: { bpf?: boolean; wasm?: Uint8Array } = {}): EventPlan {
  const bpf: EventBpf = opts.bpf === false
    ? { program: undefined, insns: [], pushed: [], userOnly: [...conds] }
    : compileEventBpf(conds);
  const lines: string[] = [];
  if (bpf.program) {
    lines.push(`kernel (classic BPF on the event socket, SO_ATTACH_FILTER; ${bpf.insns.length} instructions):`);
    for (const c of bpf.pushed) lines.push(`  ${describeCondition(c)}`);
  } else {
    lines.push('kernel (classic BPF on the event socket):');
    lines.push(opts.bpf === false && conds.length > 0 ? '  nothing: the BPF is disabled' : '  nothing: every event is received');
  }
  lines.push('user space (WASM filter program, run on every received event):');
  if (conds.length === 0) lines.push('  nothing: every event is kept');
  for (const c of bpf.pushed) lines.push(`  ${describeCondition(c)}  [also in the kernel; re-checked]`);
  for (const c of bpf.userOnly) lines.push(`  ${describeCondition(c)}  [user space only]`);
  return { ...bpf, wasm: opts.wasm, text: lines.join('\n') };
}

/** One instruction as text (tests, debugging). */
export function disassemble(insns: ReadonlyArray<BpfInsn>): string {
  return insns.map((x, i) => `${String(i).padStart(4)}: code=0x${x.code.toString(16).padStart(4, '0')} jt=${x.jt} jf=${x.jf} k=0x${(x.k >>> 0).toString(16)}`).join('\n');
}
