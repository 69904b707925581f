// The pushdown planner: which conditions of a filter the kernel can evaluate
// while it dumps (so unwanted entries never cross the socket), and which only
// user space (the WASM filter program) can.
//
// What the kernel filters on a dump (ctnetlink_alloc_filter /
// ctnetlink_filter_match in net/netfilter/nf_conntrack_netlink.c):
//   nfgen_family                   l3 protocol of the entry            (all kernels)
//   CTA_MARK + CTA_MARK_MASK       (mark & mask) == value               (all kernels)
//   CTA_STATUS + CTA_STATUS_MASK   (status & mask) == value, mask != 0  (5.15+)
//   CTA_ZONE                       zone id, in any direction            (6.8+)
//   CTA_FILTER + CTA_TUPLE_ORIG / CTA_TUPLE_REPLY, with per-tuple flags (5.8+):
//     exact addresses (no prefixes), protocol number, TCP/UDP ports (the
//     kernel compares ports of those two protocols only), ICMP / ICMPv6
//     type, code, id; it needs nfgen_family AF_INET or AF_INET6 and the
//     protocol number whenever a port or ICMP field is given.
// No negation, no OR, no prefixes, no labels, no protocol states, no timeout.
//
// IPv6 addresses are never pushed: ctnetlink_filter_match_tuple() tests
// them with `!ipv6_addr_cmp(filter, ct)` (seen in Linux 6.18), which is true
// when the addresses are EQUAL, so the kernel drops exactly the entries
// asked for (test/plan.test.ts caught it: a pushed `src fd00::1` dumped
// nothing). The IPv6 family is still pushed.
//
// Every condition — pushed or not — stays in the WASM program: the kernel's
// part only makes the dump smaller. That keeps the result identical whatever
// was pushed down, and makes pushdown safe on kernels that silently ignore an
// attribute they predate (ctnetlink parses dump attributes leniently) and
// where the kernel's test is wider than ours (a CTA_ZONE filter matches the
// zone in any direction; CTA_ZONE in a message only appears for both).
import { release } from 'os';
import * as A from './generated/attrs';
import * as L from './generated/layout';
import { encodeProgram, type FilterCondition } from './filter';
import { compileProgram } from './filter-jit';
import type { TupleInput } from './encode';
import { formatIPv4, formatIPv6 } from './format/address';
import { TCP_STATES, SCTP_STATES, DCCP_STATES } from './format/names';

/** What the running kernel accepts in a dump request, by version. */
export interface KernelCaps {
  /** uname release the capabilities were derived from. */
  release: string;
  /** CTA_FILTER tuple filters (Linux 5.8). */
  tupleFilter: boolean;
  /** CTA_STATUS / CTA_STATUS_MASK on dumps (Linux 5.15). */
  status: boolean;
  /** CTA_ZONE on dumps and flushes (Linux 6.8). */
  zone: boolean;
}

/** Capabilities of a kernel release string ("6.18.44-..."); os.release() by default. */
export function kernelCaps(rel: string = release()): KernelCaps {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  const v = m ? Number(m[1]) * 1000 + Number(m[2]) : 0;
  return { release: rel, tupleFilter: v >= 5008, status: v >= 5015, zone: v >= 6008 };
}

/** No pushdown beyond family and mark (what every kernel does). */
export const NO_CAPS: KernelCaps = { release: 'none', tupleFilter: false, status: false, zone: false };

/** One tuple's part of CTA_FILTER: the fields and the CTA_FILTER_FLAG_* bits saying which to compare. */
export interface TupleFilter {
  /** CTA_FILTER_FLAG_* bits (`kernel.CTA_FILTER_FLAG_*`): which fields of `tuple` the kernel compares. */
  flags: number;
  /** The values to compare against. */
  tuple: TupleInput;
}

/** The attributes of the dump request. */
export interface KernelFilter {
  /** nfgen_family: 0 (all), AF_INET or AF_INET6. */
  family: number;
  /** CTA_MARK / CTA_MARK_MASK: entries with (mark & mask) == value. */
  mark?: {
    /** CTA_MARK */
    value: number;
    /** CTA_MARK_MASK */
    mask: number;
  };
  /** CTA_STATUS / CTA_STATUS_MASK (Linux 5.15+): entries with (status & mask) == value. */
  status?: {
    /** CTA_STATUS (IPS_* bits) */
    value: number;
    /** CTA_STATUS_MASK */
    mask: number;
  };
  /** CTA_ZONE (Linux 6.8+): entries of this conntrack zone only. */
  zone?: number;
  /** CTA_FILTER_ORIG_FLAGS with CTA_TUPLE_ORIG (Linux 5.8+). */
  orig?: TupleFilter;
  /** CTA_FILTER_REPLY_FLAGS with CTA_TUPLE_REPLY (Linux 5.8+). */
  reply?: TupleFilter;
}

/**
 * How a dump filter is split between the kernel and user space, from
 * {@link planFilter} or {@link Conntrack.explain}.
 */
export interface FilterPlan {
  /** What the dump request carries. */
  kernel: KernelFilter;
  /** Conditions the kernel evaluates (re-checked in user space). */
  pushed: FilterCondition[];
  /** Conditions only user space evaluates. */
  userOnly: FilterCondition[];
  /** The WASM program: every condition; undefined when there are none. */
  program: Uint8Array | undefined;
  /** Why some conditions were not pushed (kernel too old, table, ...). */
  notes: string[];
  /** What the running kernel was taken to accept (the plan was made for it). */
  caps: KernelCaps;
}

const FULL_MASK = 0xffffffff;

/**
 * Split a filter's conditions between the kernel and user space.
 * `table` other than 'conntrack' pushes only the family (the dying,
 * unconfirmed and expectation dumps honour nothing else); `family` is the
 * caller's own family option (pushed, and kept as is).
 */
export function planFilter(
  conds: ReadonlyArray<FilterCondition>,
  opts: { caps?: KernelCaps; table?: string; family?: number; mark?: { value: number; mask: number }; pushdown?: boolean } = {},
): FilterPlan {
  const caps = opts.caps ?? kernelCaps();
  const table = opts.table ?? 'conntrack';
  const kernel: KernelFilter = { family: opts.family ?? 0 };
  if (opts.mark) kernel.mark = opts.mark;
  const pushed: FilterCondition[] = [];
  const notes: string[] = [];
  if (opts.pushdown === false) {
    if (conds.length > 0) notes.push('pushdown disabled: the filter runs in user space only');
    return finish(conds, kernel, pushed, notes, caps);
  }
  const positive = conds.filter((c) => !c.negate);

  // nfgen_family: from a family condition or any address condition (an IPv4
  // net never matches an IPv6 entry, so the dump can skip IPv6 entirely).
  const famConds = positive.filter((c) => c.op === L.FOP_FAMILY || isAddr(c));
  for (const c of famConds) {
    const f = c.a; // FAMILY's operand, or an address condition's net family
    if (kernel.family === 0) kernel.family = f;
    if (kernel.family === f && c.op === L.FOP_FAMILY) pushed.push(c);
  }
  if (table !== 'conntrack') {
    if (positive.length > pushed.length) notes.push(`the ${table} dump honours only nfgen_family: the rest runs in user space`);
    return finish(conds, kernel, pushed, notes, caps);
  }

  // CTA_MARK / CTA_MARK_MASK: the first mark condition (one per request).
  const mark = positive.find((c) => c.op === L.FOP_MARK);
  if (mark && !kernel.mark) {
    kernel.mark = { value: mark.a >>> 0, mask: mark.b >>> 0 };
    pushed.push(mark);
  }
  // CTA_STATUS / CTA_STATUS_MASK: the kernel rejects mask 0 (always true).
  const status = positive.find((c) => c.op === L.FOP_STATUS && c.b !== 0);
  if (status) {
    if (caps.status) {
      kernel.status = { value: status.a >>> 0, mask: status.b >>> 0 };
      pushed.push(status);
    } else notes.push(`status not pushed: CTA_STATUS on dumps needs Linux 5.15 (running ${caps.release})`);
  }
  // CTA_ZONE: the kernel matches the zone id in any direction, a superset of
  // both the entry zone and a per-tuple zone condition.
  const zone = positive.find((c) => c.op === L.FOP_ZONE || (c.op === L.FOP_TUPLE_ZONE && c.slot < 2));
  if (zone) {
    if (caps.zone) {
      kernel.zone = zone.a;
      pushed.push(zone);
    } else notes.push(`zone not pushed: CTA_ZONE on dumps needs Linux 6.8 (running ${caps.release})`);
  }
  planTuples(positive, kernel, pushed, notes, caps);
  return finish(conds, kernel, pushed, notes, caps);
}

function addrText(family: number, addr: Uint8Array): string {
  return family === A.AF_INET ? formatIPv4(addr, 0) : formatIPv6(addr, 0);
}

function isAddr(c: FilterCondition): boolean {
  return c.op === L.FOP_SRC || c.op === L.FOP_DST || c.op === L.FOP_REPLY_ANY;
}

// CTA_FILTER: exact addresses, protocol, TCP/UDP ports, ICMP fields per tuple.
function planTuples(positive: FilterCondition[], kernel: KernelFilter, pushed: FilterCondition[], notes: string[], caps: KernelCaps): void {
  const candidates = positive.filter((c) => tupleField(c) !== undefined);
  if (candidates.length === 0) return;
  if (!caps.tupleFilter) {
    notes.push(`tuple fields not pushed: CTA_FILTER needs Linux 5.8 (running ${caps.release})`);
    return;
  }
  if (kernel.family !== A.AF_INET && kernel.family !== A.AF_INET6) {
    notes.push('tuple fields not pushed: CTA_FILTER needs the family (give an address or a family condition)');
    return;
  }
  const proto = positive.find((c) => c.op === L.FOP_PROTO);
  const tuples: [TupleFilter, TupleFilter] = [{ flags: 0, tuple: {} }, { flags: 0, tuple: {} }];
  const F = A;
  for (const c of candidates) {
    const slot = c.slot;
    const t = tuples[slot];
    const tup = t.tuple as { -readonly [K in keyof TupleInput]: TupleInput[K] };
    switch (c.op) {
      case L.FOP_SRC:
      case L.FOP_DST: {
        if (c.a !== kernel.family) break; // never matches; user space says so
        if (c.a === A.AF_INET6) break; // the kernel's IPv6 comparison is inverted (see the top)
        const flag = c.op === L.FOP_SRC ? F.CTA_FILTER_FLAG_CTA_IP_SRC : F.CTA_FILTER_FLAG_CTA_IP_DST;
        if (t.flags & flag) break;
        const addr = addrText(c.a, c.addr);
        if (c.op === L.FOP_SRC) tup.src = addr;
        else tup.dst = addr;
        t.flags |= flag;
        pushed.push(c);
        break;
      }
      case L.FOP_PROTO: break; // below, with the fields that need it
      case L.FOP_SPORT:
      case L.FOP_DPORT: {
        if (!proto || (proto.a !== 6 && proto.a !== 17)) break; // the kernel compares TCP/UDP ports only
        const flag = c.op === L.FOP_SPORT ? F.CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT : F.CTA_FILTER_FLAG_CTA_PROTO_DST_PORT;
        if (t.flags & flag) break;
        if (c.op === L.FOP_SPORT) tup.srcPort = c.a;
        else tup.dstPort = c.a;
        t.flags |= flag;
        pushed.push(c);
        break;
      }
      case L.FOP_ICMP_TYPE:
      case L.FOP_ICMP_CODE:
      case L.FOP_ICMP_ID: {
        if (!proto || (proto.a !== 1 && proto.a !== 58)) break;
        const v6 = proto.a === 58;
        const flag = c.op === L.FOP_ICMP_TYPE ? (v6 ? F.CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_TYPE : F.CTA_FILTER_FLAG_CTA_PROTO_ICMP_TYPE)
          : c.op === L.FOP_ICMP_CODE ? (v6 ? F.CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_CODE : F.CTA_FILTER_FLAG_CTA_PROTO_ICMP_CODE)
            : (v6 ? F.CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_ID : F.CTA_FILTER_FLAG_CTA_PROTO_ICMP_ID);
        if (t.flags & flag) break;
        if (c.op === L.FOP_ICMP_TYPE) tup.icmpType = c.a;
        else if (c.op === L.FOP_ICMP_CODE) tup.icmpCode = c.a;
        else tup.icmpId = c.a;
        t.flags |= flag;
        pushed.push(c);
        break;
      }
    }
  }
  // The protocol number: in the orig tuple always (cheap and selective), in
  // any tuple that carries ports or ICMP fields (the kernel requires it there).
  if (proto) {
    const l4 = ~(A.CTA_FILTER_FLAG_CTA_IP_SRC | A.CTA_FILTER_FLAG_CTA_IP_DST | A.CTA_FILTER_FLAG_CTA_TUPLE_ZONE);
    tuples[0].flags |= A.CTA_FILTER_FLAG_CTA_PROTO_NUM;
    if (tuples[1].flags & l4) tuples[1].flags |= A.CTA_FILTER_FLAG_CTA_PROTO_NUM;
    for (const t of tuples) if (t.flags & A.CTA_FILTER_FLAG_CTA_PROTO_NUM) (t.tuple as { protoNum?: number }).protoNum = proto.a;
    pushed.push(proto);
  }
  if (tuples[0].flags) kernel.orig = tuples[0];
  if (tuples[1].flags) kernel.reply = tuples[1];
}

// Which tuple slot/field a condition names, when CTA_FILTER can carry it.
function tupleField(c: FilterCondition): string | undefined {
  switch (c.op) {
    case L.FOP_PROTO: return 'proto';
    case L.FOP_SRC:
    case L.FOP_DST: {
      const full = c.a === A.AF_INET ? 32 : 128;
      return c.slot < 2 && c.plen === full ? 'addr' : undefined;
    }
    case L.FOP_SPORT:
    case L.FOP_DPORT: return c.slot < 2 ? 'port' : undefined;
    case L.FOP_ICMP_TYPE:
    case L.FOP_ICMP_CODE:
    case L.FOP_ICMP_ID: return 'icmp';
    default: return undefined;
  }
}

function finish(conds: ReadonlyArray<FilterCondition>, kernel: KernelFilter, pushed: FilterCondition[], notes: string[], caps: KernelCaps): FilterPlan {
  const set = new Set(pushed);
  const userOnly = conds.filter((c) => !set.has(c));
  return { kernel, pushed, userOnly, program: conds.length > 0 ? encodeProgram(conds) : undefined, notes, caps };
}

/** Whether the plan asks the kernel for anything beyond family and mark (what a fallback drops). */
export function usesNewAttributes(k: KernelFilter): boolean {
  return k.status !== undefined || k.zone !== undefined || k.orig !== undefined || k.reply !== undefined;
}

// ---------------------------------------------------------------------------
// Text: ct.explain() and ctrack --explain.

const SLOT_NAMES = ['orig', 'reply', 'master'];

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** One condition as a line of text ("orig src in 10.0.0.0/8"). */
export function describeCondition(c: FilterCondition): string {
  const slot = SLOT_NAMES[c.slot] ?? `slot ${c.slot}`;
  const net = (): string => `${addrText(c.a, c.addr)}/${c.plen === L.PLEN_MASK ? addrText(c.a, c.mask ?? new Uint8Array(16)) : c.plen}`;
  let s: string;
  switch (c.op) {
    case L.FOP_FALSE: s = 'nothing (an empty seed filter)'; break;
    case L.FOP_FAMILY: s = `family ${c.a === A.AF_INET ? 'ipv4' : c.a === A.AF_INET6 ? 'ipv6' : c.a}`; break;
    case L.FOP_PROTO: s = `protocol ${c.a}`; break;
    case L.FOP_SRC: s = `${slot} src in ${net()}`; break;
    case L.FOP_DST: s = `${slot} dst in ${net()}`; break;
    case L.FOP_REPLY_ANY: s = `reply src or dst in ${net()}`; break;
    case L.FOP_SPORT: s = `${slot} sport ${c.a}`; break;
    case L.FOP_DPORT: s = `${slot} dport ${c.a}`; break;
    case L.FOP_MARK: s = c.b === FULL_MASK ? `mark ${c.a >>> 0}` : `mark & ${hex(c.b)} == ${hex(c.a)}`; break;
    case L.FOP_ZONE: s = `zone ${c.a}`; break;
    case L.FOP_TUPLE_ZONE: s = `${slot} zone ${c.a}`; break;
    case L.FOP_STATUS: s = `status & ${hex(c.b)} == ${hex(c.a)}`; break;
    case L.FOP_TCP_STATE: s = `tcp state ${TCP_STATES[c.a] ?? c.a}`; break;
    case L.FOP_SCTP_STATE: s = `sctp state ${SCTP_STATES[c.a] ?? c.a}`; break;
    case L.FOP_DCCP_STATE: s = `dccp state ${DCCP_STATES[c.a] ?? c.a}`; break;
    case L.FOP_ICMP_TYPE: s = `icmp type ${c.a}`; break;
    case L.FOP_ICMP_CODE: s = `icmp code ${c.a}`; break;
    case L.FOP_ICMP_ID: s = `icmp id ${c.a}`; break;
    case L.FOP_TIMEOUT: s = `timeout in ${c.a}..${c.b >>> 0}`; break;
    case L.FOP_LABEL: s = `label bit ${c.a}`; break;
    case L.FOP_NAT: s = c.a === 1 ? 'src-nat' : c.a === 2 ? 'dst-nat' : 'any-nat'; break;
    default: s = `op ${c.op}`;
  }
  return c.negate ? `not (${s})` : s;
}

function describeTuple(name: string, t: TupleFilter): string {
  const parts: string[] = [];
  const f = t.flags;
  const u = t.tuple;
  if (f & A.CTA_FILTER_FLAG_CTA_IP_SRC) parts.push(`CTA_IP_SRC ${u.src}`);
  if (f & A.CTA_FILTER_FLAG_CTA_IP_DST) parts.push(`CTA_IP_DST ${u.dst}`);
  if (f & A.CTA_FILTER_FLAG_CTA_PROTO_NUM) parts.push(`CTA_PROTO_NUM ${u.protoNum}`);
  if (f & A.CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT) parts.push(`CTA_PROTO_SRC_PORT ${u.srcPort}`);
  if (f & A.CTA_FILTER_FLAG_CTA_PROTO_DST_PORT) parts.push(`CTA_PROTO_DST_PORT ${u.dstPort}`);
  if (f & (A.CTA_FILTER_FLAG_CTA_PROTO_ICMP_TYPE | A.CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_TYPE)) parts.push(`ICMP type ${u.icmpType}`);
  if (f & (A.CTA_FILTER_FLAG_CTA_PROTO_ICMP_CODE | A.CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_CODE)) parts.push(`ICMP code ${u.icmpCode}`);
  if (f & (A.CTA_FILTER_FLAG_CTA_PROTO_ICMP_ID | A.CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_ID)) parts.push(`ICMP id ${u.icmpId}`);
  return `CTA_FILTER ${name} (flags ${hex(f)}): ${parts.join(', ')}`;
}

/** The kernel part of a plan, one attribute per line. */
export function describeKernel(k: KernelFilter): string[] {
  const out: string[] = [];
  if (k.family) out.push(`nfgen_family ${k.family === A.AF_INET ? 'AF_INET' : 'AF_INET6'}`);
  if (k.mark) out.push(`CTA_MARK ${hex(k.mark.value)} CTA_MARK_MASK ${hex(k.mark.mask)}`);
  if (k.status) out.push(`CTA_STATUS ${hex(k.status.value)} CTA_STATUS_MASK ${hex(k.status.mask)}`);
  if (k.zone !== undefined) out.push(`CTA_ZONE ${k.zone}`);
  if (k.orig) out.push(describeTuple('CTA_TUPLE_ORIG', k.orig));
  if (k.reply) out.push(describeTuple('CTA_TUPLE_REPLY', k.reply));
  return out;
}

/** A human-readable plan (ctrack --explain, Conntrack.explain().text). */
export function explainText(p: FilterPlan): string {
  const lines: string[] = [];
  const k = describeKernel(p.kernel);
  lines.push(`kernel (dump request attributes; Linux ${p.caps.release}):`);
  if (k.length === 0) lines.push('  nothing: the whole table is dumped');
  for (const l of k) lines.push(`  ${l}`);
  lines.push('user space (WASM filter program, run on every received entry):');
  if (p.pushed.length === 0 && p.userOnly.length === 0) lines.push('  nothing: every entry is kept');
  for (const c of p.pushed) lines.push(`  ${describeCondition(c)}  [also in the kernel; re-checked]`);
  for (const c of p.userOnly) lines.push(`  ${describeCondition(c)}  [user space only]`);
  if (p.program) {
    const { summary } = compileProgram(p.program);
    lines.push(`  (compiled to a WASM function: ${summary.inline} of ${summary.conditions} condition(s) inline, the rest through the interpreter)`);
  }
  for (const n of p.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
