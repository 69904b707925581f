// Flow filters compiled to the decoder's filter program (assembly/filter.ts):
// the WASM decoder evaluates the program right after decoding each flow, so
// flows that do not match never become records.
//
// Two front ends share the one program format:
// - FilterBuilder: typed conditions, each negatable, all ANDed;
// - ConntrackFilter: the vishvananda/netlink ConntrackFilter API (Go), same
//   semantics and error messages.
import { ConntrackError } from './errors';
import * as L from './generated/layout';
import * as A from './generated/attrs';
import { parseAddress, encodeRequest, CT_NEW } from './encode';
import { Decoder } from './decoder';
import { TCP_STATES, SCTP_STATES, DCCP_STATES } from './format/names';
import type { Flow } from './types';

function invalid(msg: string): ConntrackError {
  return new ConntrackError('ERR_CT_INVALID_ARGUMENT', msg);
}

/** Which tuple a condition looks at. */
export type TupleSlot = 'orig' | 'reply' | 'master';

const SLOTS: Record<TupleSlot, number> = { orig: 0, reply: 1, master: 2 };

/** IPS_* status bit names (without the IPS_ prefix), bit n = 1 << n. */
export const STATUS_BITS = {
  EXPECTED: A.IPS_EXPECTED_BIT,
  SEEN_REPLY: A.IPS_SEEN_REPLY_BIT,
  ASSURED: A.IPS_ASSURED_BIT,
  CONFIRMED: A.IPS_CONFIRMED_BIT,
  SRC_NAT: A.IPS_SRC_NAT_BIT,
  DST_NAT: A.IPS_DST_NAT_BIT,
  SEQ_ADJUST: A.IPS_SEQ_ADJUST_BIT,
  SRC_NAT_DONE: A.IPS_SRC_NAT_DONE_BIT,
  DST_NAT_DONE: A.IPS_DST_NAT_DONE_BIT,
  DYING: A.IPS_DYING_BIT,
  FIXED_TIMEOUT: A.IPS_FIXED_TIMEOUT_BIT,
  TEMPLATE: A.IPS_TEMPLATE_BIT,
  UNTRACKED: A.IPS_UNTRACKED_BIT,
  HELPER: A.IPS_HELPER_BIT,
  OFFLOAD: A.IPS_OFFLOAD_BIT,
  HW_OFFLOAD: A.IPS_HW_OFFLOAD_BIT,
} as const;
export type StatusName = keyof typeof STATUS_BITS;

/** One condition of a program, as laid out in the FILTER region. */
export interface FilterCondition {
  op: number;
  negate: boolean;
  slot: number;
  plen: number;
  a: number;
  b: number;
  addr: Uint8Array; // 16 bytes
  /** The netmask (16 bytes, network order) of an address condition whose plen is L.PLEN_MASK. */
  mask?: Uint8Array;
}

function checkInt(v: unknown, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw invalid(`${what} must be an integer in 0..${max}, not ${String(v)}`);
  }
  return v;
}

function slotOf(s: unknown): number {
  const v = SLOTS[s as TupleSlot];
  if (v === undefined || typeof s !== 'string' || !Object.prototype.hasOwnProperty.call(SLOTS, s)) {
    throw invalid(`tuple must be 'orig', 'reply' or 'master', not ${String(s)}`);
  }
  return v;
}

/**
 * 'a.b.c.d/n', 'x::y/n', a bare address (a host net), or an address and a
 * netmask of its family ('10.0.0.0/255.0.255.0', as conntrack's --mask-src)
 * -> family, bytes, prefix. A netmask that is a prefix becomes its length;
 * any other gives plen L.PLEN_MASK and the mask.
 */
export function parseCidr(cidr: unknown, what: string): { family: number; addr: Uint8Array; plen: number; mask?: Uint8Array } {
  if (typeof cidr !== 'string') throw invalid(`${what}: net must be a string, not ${typeof cidr}`);
  const slash = cidr.indexOf('/');
  const { family, bytes } = parseAddress(slash < 0 ? cidr : cidr.slice(0, slash), what);
  const max = bytes.length * 8;
  let plen = max;
  let mask: Uint8Array | undefined;
  if (slash >= 0) {
    const t = cidr.slice(slash + 1);
    if (/[.:]/.test(t)) {
      let m: { family: number; bytes: Uint8Array };
      try {
        m = parseAddress(t, what);
      } catch {
        throw invalid(`${what}: bad netmask in '${cidr}'`);
      }
      if (m.family !== family) throw invalid(`${what}: the netmask in '${cidr}' is not of the address's family`);
      const len = prefixLength(m.bytes);
      if (len !== undefined) plen = len;
      else {
        plen = L.PLEN_MASK;
        mask = new Uint8Array(16);
        mask.set(m.bytes);
      }
    } else {
      if (!/^(0|[1-9][0-9]{0,2})$/.test(t) || Number(t) > max) throw invalid(`${what}: bad prefix length in '${cidr}'`);
      plen = Number(t);
    }
  }
  const addr = new Uint8Array(16);
  addr.set(bytes);
  return mask ? { family, addr, plen, mask } : { family, addr, plen };
}

/** The prefix length of a contiguous netmask (ones, then zeros), or undefined. */
function prefixLength(mask: Uint8Array): number | undefined {
  let len = 0;
  let ended = false;
  for (const b of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const one = ((b >> bit) & 1) === 1;
      if (one && ended) return undefined;
      if (one) len++;
      else ended = true;
    }
  }
  return len;
}

function stateOf(v: unknown, table: readonly string[], what: string): number {
  if (typeof v === 'string') {
    const i = table.indexOf(v.toUpperCase());
    if (i < 0) throw invalid(`unknown ${what} state '${v}' (one of ${table.join(', ')})`);
    return i;
  }
  return checkInt(v, 0xff, `${what} state`);
}

function statusBits(names: ReadonlyArray<StatusName | number> | undefined, what: string): number {
  let bits = 0;
  for (const n of names ?? []) {
    if (typeof n === 'number') bits |= checkInt(n, 0xffffffff, what);
    else {
      const b = (STATUS_BITS as Record<string, number>)[String(n).toUpperCase().replace(/^IPS_/, '')];
      if (b === undefined) throw invalid(`${what}: unknown status bit '${String(n)}'`);
      bits |= 1 << b;
    }
  }
  return bits >>> 0;
}

const PROTO_NAMES: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, dccp: 33, gre: 47, icmpv6: 58, sctp: 132, udplite: 136 };

/** Serialize conditions into the program format (assembly/filter.ts). */
export function encodeProgram(conds: ReadonlyArray<FilterCondition>): Uint8Array {
  if (conds.length > L.FILTER_MAX_CONDS) throw invalid(`a filter holds at most ${L.FILTER_MAX_CONDS} conditions, not ${conds.length}`);
  const out = new Uint8Array(L.FILTER_HDR + conds.length * L.FCOND_SIZE);
  const dv = new DataView(out.buffer);
  dv.setUint32(L.FILTER_COUNT, conds.length, true);
  conds.forEach((c, i) => {
    const o = L.FILTER_HDR + i * L.FCOND_SIZE;
    out[o + L.FCOND_OP] = c.op;
    out[o + L.FCOND_NEG] = c.negate ? 1 : 0;
    out[o + L.FCOND_SLOT] = c.slot;
    out[o + L.FCOND_PLEN] = c.plen;
    dv.setUint32(o + L.FCOND_A, c.a >>> 0, true);
    dv.setUint32(o + L.FCOND_B, c.b >>> 0, true);
    out.set(c.addr.subarray(0, 16), o + L.FCOND_ADDR);
    if (c.plen === L.PLEN_MASK && c.mask) out.set(c.mask.subarray(0, 16), o + L.FCOND_MASK);
  });
  return out;
}

/**
 * Typed filter builder. Every method adds one condition (icmp() one per given
 * field, status() one for has+hasNot); all conditions must match. `not(b =>
 * b.x(...))` negates the one condition its callback adds. A condition on an
 * attribute the message lacks does not match (so its negation does). An empty
 * builder compiles to "no filter": everything passes.
 */
export class FilterBuilder {
  private readonly conds: FilterCondition[] = [];

  private add(op: number, fields: Partial<Omit<FilterCondition, 'op'>> = {}): this {
    this.conds.push({ op, negate: false, slot: 0, plen: 0, a: 0, b: 0, addr: new Uint8Array(16), ...fields });
    return this;
  }

  private net(op: number, cidr: string, slot: number, what: string): this {
    const { family, addr, plen, mask } = parseCidr(cidr, what);
    return this.add(op, mask ? { slot, a: family, plen, addr, mask } : { slot, a: family, plen, addr });
  }

  /** Matches nothing. */
  none(): this { return this.add(L.FOP_FALSE); }
  /** L3 family of the orig tuple. */
  family(f: 'ipv4' | 'ipv6' | 2 | 10): this {
    const v = f === 'ipv4' ? A.AF_INET : f === 'ipv6' ? A.AF_INET6 : f;
    if (v !== A.AF_INET && v !== A.AF_INET6) throw invalid(`family must be 'ipv4', 'ipv6', 2 or 10, not ${String(f)}`);
    return this.add(L.FOP_FAMILY, { a: v });
  }
  /** L4 protocol number (or name) of the orig tuple. */
  proto(p: number | string): this {
    const v = typeof p === 'string' ? PROTO_NAMES[p.toLowerCase()] : p;
    if (v === undefined) throw invalid(`unknown protocol '${String(p)}'`);
    return this.add(L.FOP_PROTO, { a: checkInt(v, 0xff, 'protocol') });
  }
  /**
   * Source address of a tuple inside `cidr`: 'ADDR/LEN', a bare address (a
   * host net), or 'ADDR/NETMASK' with any netmask ('10.0.0.0/255.0.255.0').
   */
  src(cidr: string, tuple: TupleSlot = 'orig'): this { return this.net(L.FOP_SRC, cidr, slotOf(tuple), 'src'); }
  /** Destination address of a tuple inside `cidr`. */
  dst(cidr: string, tuple: TupleSlot = 'orig'): this { return this.net(L.FOP_DST, cidr, slotOf(tuple), 'dst'); }
  /** Reply source or reply destination inside `cidr`. */
  replyAny(cidr: string): this { return this.net(L.FOP_REPLY_ANY, cidr, 1, 'replyAny'); }
  /** Source port of a tuple. */
  sport(port: number, tuple: TupleSlot = 'orig'): this {
    return this.add(L.FOP_SPORT, { slot: slotOf(tuple), a: checkInt(port, 0xffff, 'port') });
  }
  /** Destination port of a tuple. */
  dport(port: number, tuple: TupleSlot = 'orig'): this {
    return this.add(L.FOP_DPORT, { slot: slotOf(tuple), a: checkInt(port, 0xffff, 'port') });
  }
  /** (mark & mask) == value & mask. */
  mark(value: number, mask = 0xffffffff): this {
    const m = checkInt(mask, 0xffffffff, 'mark mask');
    return this.add(L.FOP_MARK, { a: (checkInt(value, 0xffffffff, 'mark') & m) >>> 0, b: m });
  }
  /** CTA_ZONE. */
  zone(z: number): this { return this.add(L.FOP_ZONE, { a: checkInt(z, 0xffff, 'zone') }); }
  /** CTA_TUPLE_ZONE of a tuple. */
  tupleZone(z: number, tuple: TupleSlot = 'orig'): this {
    return this.add(L.FOP_TUPLE_ZONE, { slot: slotOf(tuple), a: checkInt(z, 0xffff, 'zone') });
  }
  /** Status bits that must be set (`has`) and must be clear (`hasNot`): one condition. */
  status(s: { has?: ReadonlyArray<StatusName | number>; hasNot?: ReadonlyArray<StatusName | number> }): this {
    const has = statusBits(s.has, 'status.has');
    const hasNot = statusBits(s.hasNot, 'status.hasNot');
    if ((has & hasNot) !== 0) throw invalid('status: a bit cannot be in both has and hasNot');
    return this.add(L.FOP_STATUS, { a: has, b: (has | hasNot) >>> 0 });
  }
  /** TCP state (name as conntrack prints it, or TCP_CONNTRACK_* number). */
  tcpState(s: string | number): this { return this.add(L.FOP_TCP_STATE, { a: stateOf(s, TCP_STATES, 'TCP') }); }
  /** SCTP state. */
  sctpState(s: string | number): this { return this.add(L.FOP_SCTP_STATE, { a: stateOf(s, SCTP_STATES, 'SCTP') }); }
  /** DCCP state. */
  dccpState(s: string | number): this { return this.add(L.FOP_DCCP_STATE, { a: stateOf(s, DCCP_STATES, 'DCCP') }); }
  /** ICMP / ICMPv6 fields of the orig tuple: one condition per given field. */
  icmp(f: { type?: number; code?: number; id?: number }): this {
    if (f.type === undefined && f.code === undefined && f.id === undefined) throw invalid('icmp: give type, code or id');
    if (f.type !== undefined) this.add(L.FOP_ICMP_TYPE, { a: checkInt(f.type, 0xff, 'icmp type') });
    if (f.code !== undefined) this.add(L.FOP_ICMP_CODE, { a: checkInt(f.code, 0xff, 'icmp code') });
    if (f.id !== undefined) this.add(L.FOP_ICMP_ID, { a: checkInt(f.id, 0xffff, 'icmp id') });
    return this;
  }
  /** min <= CTA_TIMEOUT <= max (seconds). */
  timeout(min: number, max = 0xffffffff): this {
    const a = checkInt(min, 0xffffffff, 'timeout min');
    const b = checkInt(max, 0xffffffff, 'timeout max');
    if (a > b) throw invalid(`timeout: min ${a} > max ${b}`);
    return this.add(L.FOP_TIMEOUT, { a, b });
  }
  /** CTA_LABELS has bit `bit` set. */
  label(bit: number): this { return this.add(L.FOP_LABEL, { a: checkInt(bit, 0xffffffff, 'label bit') }); }
  /**
   * NATed flows as conntrack --src-nat / --dst-nat / --any-nat select them
   * (see assembly/filter.ts); `to.ip` / `to.port`: translated to this IPv4
   * address / port (the reply tuple shows it), like `--src-nat ip[:port]`.
   */
  nat(kind: 'src' | 'dst' | 'any', to: { ip?: string; port?: number } = {}): this {
    const a = kind === 'src' ? 1 : kind === 'dst' ? 2 : kind === 'any' ? 3 : 0;
    if (a === 0) throw invalid(`nat must be 'src', 'dst' or 'any', not ${String(kind)}`);
    const addr = new Uint8Array(16);
    let plen = 0;
    if (to.ip !== undefined) {
      const p = parseCidr(to.ip, 'nat ip');
      if (p.family !== A.AF_INET || p.plen !== 32) throw invalid(`nat ip must be one IPv4 address (as conntrack compares it), not '${to.ip}'`);
      addr.set(p.addr.subarray(0, 4));
      plen = 32;
    }
    const b = to.port === undefined ? 0 : (checkInt(to.port, 0xffff, 'nat port') | 0x10000);
    return this.add(L.FOP_NAT, { a, plen, addr, b });
  }
  /** GRE keys are carried as the tuple's ports (CTA_PROTO_SRC_PORT / _DST_PORT): a key filter on one tuple. */
  greKey(key: { src?: number; dst?: number }, tuple: TupleSlot = 'orig'): this {
    if (key.src === undefined && key.dst === undefined) throw invalid('greKey: give src or dst');
    if (key.src !== undefined) this.sport(key.src, tuple);
    if (key.dst !== undefined) this.dport(key.dst, tuple);
    return this;
  }
  /** Negate the single condition `build` adds. */
  not(build: (b: FilterBuilder) => unknown): this {
    const inner = new FilterBuilder();
    build(inner);
    if (inner.conds.length !== 1) {
      throw invalid(`not() negates exactly one condition; the callback added ${inner.conds.length}`);
    }
    const c = inner.conds[0];
    this.conds.push({ ...c, negate: !c.negate });
    return this;
  }
  /** The conditions so far (copies). */
  conditions(): FilterCondition[] {
    return this.conds.map((c) => ({ ...c, addr: c.addr.slice() }));
  }
  /** The program for Decoder.setFilter(). */
  compile(): Uint8Array {
    return encodeProgram(this.conds);
  }
}

/** vishvananda/netlink ConntrackFilterType. */
export enum ConntrackFilterType {
  /** -orig-src ip: source address from original direction */
  OrigSrcIP = 0,
  /** -orig-dst ip: destination address from original direction */
  OrigDstIP = 1,
  /** --reply-src ip */
  ReplySrcIP = 2,
  /** --reply-dst ip */
  ReplyDstIP = 3,
  /** reply source or destination */
  ReplyAnyIP = 4,
  /** --orig-port-src port */
  OrigSrcPort = 5,
  /** --orig-port-dst port */
  OrigDstPort = 6,
  /** @deprecated use ReplySrcIP */
  NatSrcIP = ReplySrcIP,
  /** @deprecated use ReplyDstIP */
  NatDstIP = ReplyDstIP,
  /** @deprecated use ReplyAnyIP */
  NatAnyIP = ReplyAnyIP,
}

const IP_TYPES = new Set<number>([0, 1, 2, 3, 4]);
const PORT_TYPES = new Set<number>([5, 6]);

let matcher: Decoder | undefined;

/**
 * vishvananda/netlink's ConntrackFilter: at most one net per IP type, one
 * port per port type, one L4 protocol; all given conditions AND; an empty
 * filter matches nothing. matchConntrackFlow runs the compiled program in the
 * WASM decoder (the flow is encoded to a ctnetlink message and decoded).
 */
export class ConntrackFilter {
  private readonly ipNet = new Map<ConntrackFilterType, ReturnType<typeof parseCidr>>();
  private readonly ports = new Map<ConntrackFilterType, number>();
  private protoFilter = 0;

  /** Add an IP subnet ('10.0.0.0/8', '2001:db8::/32', '10.0.0.0/255.0.255.0'; a bare address is a host net). */
  addIPNet(type: ConntrackFilterType, cidr: string): this {
    if (cidr === undefined || cidr === null || cidr === '') throw invalid('Filter attribute empty');
    if (!IP_TYPES.has(type)) throw invalid(`filter type ${String(type)} is not an IP filter type`);
    const net = parseCidr(cidr, 'addIPNet');
    if (this.ipNet.has(type)) throw invalid('Filter attribute already present');
    this.ipNet.set(type, net);
    return this;
  }

  /** Add one IP (a /32 or /128). */
  addIP(type: ConntrackFilterType, ip: string): this {
    if (ip === undefined || ip === null || ip === '') throw invalid('Filter attribute empty');
    if (typeof ip === 'string' && ip.includes('/')) throw invalid(`addIP: '${ip}' is a net; use addIPNet`);
    return this.addIPNet(type, ip);
  }

  /** Add a port; needs an L4 protocol with ports (TCP, UDP, DCCP, SCTP, UDPLite) added first. */
  addPort(type: ConntrackFilterType, port: number): this {
    switch (this.protoFilter) {
      case 6: case 17: case 33: case 132: case 136:
        break;
      default:
        throw invalid(`Filter attribute not available without a valid Layer 4 protocol: ${this.protoFilter}`);
    }
    if (!PORT_TYPES.has(type)) throw invalid(`filter type ${String(type)} is not a port filter type`);
    checkInt(port, 0xffff, 'port');
    if (this.ports.has(type)) throw invalid('Filter attribute already present');
    this.ports.set(type, port);
    return this;
  }

  /** Add the L4 protocol. */
  addProtocol(proto: number): this {
    if (this.protoFilter !== 0) throw invalid('Filter attribute already present');
    this.protoFilter = checkInt(proto, 0xff, 'protocol');
    return this;
  }

  /** The equivalent FilterBuilder conditions (an empty filter is one FALSE condition). */
  conditions(): FilterCondition[] {
    const b = new FilterBuilder();
    if (this.ipNet.size === 0 && this.ports.size === 0 && this.protoFilter === 0) return b.none().conditions();
    if (this.protoFilter !== 0) b.proto(this.protoFilter);
    const ipTypes = [
      ConntrackFilterType.OrigSrcIP, ConntrackFilterType.OrigDstIP, ConntrackFilterType.ReplySrcIP,
      ConntrackFilterType.ReplyDstIP, ConntrackFilterType.ReplyAnyIP,
    ];
    const conditions = b.conditions();
    for (const t of ipTypes) {
      const n = this.ipNet.get(t);
      if (!n) continue;
      const op = t === ConntrackFilterType.OrigSrcIP || t === ConntrackFilterType.ReplySrcIP ? L.FOP_SRC
        : t === ConntrackFilterType.ReplyAnyIP ? L.FOP_REPLY_ANY : L.FOP_DST;
      const slot = t === ConntrackFilterType.OrigSrcIP || t === ConntrackFilterType.OrigDstIP ? 0 : 1;
      conditions.push({ op, negate: false, slot, plen: n.plen, a: n.family, b: 0, addr: n.addr.slice(), ...(n.mask ? { mask: n.mask.slice() } : {}) });
    }
    const sp = this.ports.get(ConntrackFilterType.OrigSrcPort);
    if (sp !== undefined) conditions.push({ op: L.FOP_SPORT, negate: false, slot: 0, plen: 0, a: sp, b: 0, addr: new Uint8Array(16) });
    const dp = this.ports.get(ConntrackFilterType.OrigDstPort);
    if (dp !== undefined) conditions.push({ op: L.FOP_DPORT, negate: false, slot: 0, plen: 0, a: dp, b: 0, addr: new Uint8Array(16) });
    return conditions;
  }

  /** The equivalent FilterBuilder conditions as a program. */
  compile(): Uint8Array {
    return encodeProgram(this.conditions());
  }

  /** Does the flow match? Evaluated by the WASM filter program. */
  matchConntrackFlow(flow: Flow): boolean {
    if (!matcher) matcher = new Decoder();
    const d = matcher;
    d.setFilter(this.compile());
    try {
      const msg = encodeRequest(d.core, { type: CT_NEW, flags: 0, seq: 0, family: flow.family }, { kind: 'flow', flow });
      d.reset();
      d.expect(undefined, undefined);
      d.push(msg);
      let found = false;
      for (let n = d.decodeNext(); n > 0; n = d.decodeNext()) {
        for (let i = 0; i < n; i++) if (d.record(i).kind === L.KIND_FLOW) found = true;
      }
      return found;
    } finally {
      d.setFilter(null);
      d.reset();
    }
  }
}
