// Filter engine: the program the WASM decoder evaluates after each flow.
// (a) the vishvananda/netlink ConntrackFilter semantics; (b) every op and its
// negation on real captures and hand-built messages; (c) a differential
// property test against a reference evaluator written here over the
// materialized Flow; (d) generic / checked builds agree, no violations;
// (e) malformed programs are refused and never trap.
import * as fc from 'fast-check';
import { readFileSync } from 'fs';
import * as path from 'path';
import { Decoder, decodeDatagram } from '../src/decoder';
import { ConntrackError } from '../src/errors';
import { ConntrackFilter, ConntrackFilterType, FilterBuilder, parseCidr, STATUS_BITS, type StatusName, type TupleSlot } from '../src/filter';
import * as A from '../src/generated/attrs';
import * as L from '../src/generated/layout';
import { readPcapBuffer } from '../src/pcap';
import type { Flow, Tuple } from '../src/types';
import { attr, be16, be32, ctmsg, ip4, ip6, nest, u8 } from './helpers/netlink-builder';

const FIX = path.join(__dirname, 'fixtures');
const CT_NEW = (A.NFNL_SUBSYS_CTNETLINK << 8) | A.IPCTNL_MSG_CT_NEW;

// ---------------------------------------------------------------------------
// Inputs: one flow message per entry, with its materialized Flow.
interface Sample { bytes: Uint8Array; flow: Flow }

function splitMessages(dg: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const dv = new DataView(dg.buffer, dg.byteOffset, dg.length);
  let o = 0;
  while (o + 16 <= dg.length) {
    const len = dv.getUint32(o, true);
    if (len < 16 || o + len > dg.length) break;
    out.push(dg.slice(o, o + len));
    o += (len + 3) & ~3;
  }
  return out;
}

function samplesOf(msgs: Uint8Array[]): Sample[] {
  const out: Sample[] = [];
  for (const m of msgs) {
    const decoded = decodeDatagram(m);
    if (decoded.length === 1 && decoded[0].kind === 'flow') out.push({ bytes: m, flow: decoded[0] as Flow });
  }
  return out;
}

function capture(name: string, max = Infinity): Sample[] {
  const msgs = [...readPcapBuffer(readFileSync(path.join(FIX, `${name}.pcap`)))].flatMap((r) => splitMessages(r.data.slice()));
  return samplesOf(msgs.slice(0, max));
}

const V4 = capture('ipv4-basic/dump');
const V6 = capture('ipv6/dump');
const CHURN = capture('events-churn/events', 400);
const V4EV = capture('ipv4-basic/events');
const V6EV = capture('ipv6/events');

// Hand-built flow messages.
interface TupleSpec {
  v6?: boolean; src?: string; dst?: string; proto?: number; sport?: number; dport?: number;
  icmp?: { type: number; code: number; id: number }; zone?: number;
}
interface FlowSpec {
  orig?: TupleSpec; reply?: TupleSpec; master?: TupleSpec;
  status?: number; mark?: number; zone?: number; timeout?: number; labels?: number[];
  tcp?: number; sctp?: number; dccp?: number; family?: number;
}

function tupleBytes(type: number, t: TupleSpec): Uint8Array {
  const parts: Uint8Array[] = [];
  const ip: Uint8Array[] = [];
  if (t.src !== undefined) ip.push(attr(t.v6 ? A.CTA_IP_V6_SRC : A.CTA_IP_V4_SRC, t.v6 ? ip6(t.src) : ip4(t.src)));
  if (t.dst !== undefined) ip.push(attr(t.v6 ? A.CTA_IP_V6_DST : A.CTA_IP_V4_DST, t.v6 ? ip6(t.dst) : ip4(t.dst)));
  if (ip.length) parts.push(nest(A.CTA_TUPLE_IP, ...ip));
  const pr: Uint8Array[] = [];
  if (t.proto !== undefined) pr.push(u8(A.CTA_PROTO_NUM, t.proto));
  if (t.sport !== undefined) pr.push(be16(A.CTA_PROTO_SRC_PORT, t.sport));
  if (t.dport !== undefined) pr.push(be16(A.CTA_PROTO_DST_PORT, t.dport));
  if (t.icmp) {
    const six = t.v6 === true;
    pr.push(be16(six ? A.CTA_PROTO_ICMPV6_ID : A.CTA_PROTO_ICMP_ID, t.icmp.id));
    pr.push(u8(six ? A.CTA_PROTO_ICMPV6_TYPE : A.CTA_PROTO_ICMP_TYPE, t.icmp.type));
    pr.push(u8(six ? A.CTA_PROTO_ICMPV6_CODE : A.CTA_PROTO_ICMP_CODE, t.icmp.code));
  }
  if (pr.length) parts.push(nest(A.CTA_TUPLE_PROTO, ...pr));
  if (t.zone !== undefined) parts.push(be16(A.CTA_TUPLE_ZONE, t.zone));
  return nest(type, ...parts);
}

function build(s: FlowSpec): Uint8Array {
  const a: Uint8Array[] = [];
  if (s.orig) a.push(tupleBytes(A.CTA_TUPLE_ORIG, s.orig));
  if (s.reply) a.push(tupleBytes(A.CTA_TUPLE_REPLY, s.reply));
  if (s.master) a.push(tupleBytes(A.CTA_TUPLE_MASTER, s.master));
  if (s.status !== undefined) a.push(be32(A.CTA_STATUS, s.status));
  if (s.tcp !== undefined) a.push(nest(A.CTA_PROTOINFO, nest(A.CTA_PROTOINFO_TCP, u8(A.CTA_PROTOINFO_TCP_STATE, s.tcp))));
  if (s.dccp !== undefined) a.push(nest(A.CTA_PROTOINFO, nest(A.CTA_PROTOINFO_DCCP, u8(A.CTA_PROTOINFO_DCCP_STATE, s.dccp))));
  if (s.sctp !== undefined) a.push(nest(A.CTA_PROTOINFO, nest(A.CTA_PROTOINFO_SCTP, u8(A.CTA_PROTOINFO_SCTP_STATE, s.sctp))));
  if (s.timeout !== undefined) a.push(be32(A.CTA_TIMEOUT, s.timeout));
  if (s.mark !== undefined) a.push(be32(A.CTA_MARK, s.mark));
  if (s.zone !== undefined) a.push(be16(A.CTA_ZONE, s.zone));
  if (s.labels !== undefined) {
    const b = new Uint8Array(16);
    for (const bit of s.labels) b[bit >> 3] |= 1 << (bit & 7);
    a.push(attr(A.CTA_LABELS, b));
  }
  const fam = s.family ?? (s.orig?.v6 ? A.AF_INET6 : A.AF_INET);
  return ctmsg({ type: CT_NEW, flags: 0x600 }, fam, ...a);
}

function sample(s: FlowSpec): Sample {
  const [x] = samplesOf([build(s)]);
  if (!x) throw new Error('hand-built message did not decode to a flow');
  return x;
}

function v4tcp(src: string, dst: string, sport: number, dport: number, rsrc = dst, rdst = src, rsport = dport, rdport = sport): FlowSpec {
  return {
    orig: { src, dst, proto: 6, sport, dport },
    reply: { src: rsrc, dst: rdst, proto: 6, sport: rsport, dport: rdport },
  };
}

// ---------------------------------------------------------------------------
// Running a program through the decoder.
function survivors(d: Decoder, msgs: Uint8Array[]): Set<number> {
  const out = new Set<number>();
  let base = 0;
  const drain = () => {
    for (let n = d.decodeNext(); n > 0; n = d.decodeNext()) {
      for (let k = 0; k < n; k++) {
        const r = d.record(k);
        if (r.kind === L.KIND_FLOW) out.add(base + r.datagram);
      }
    }
  };
  d.reset();
  for (let i = 0; i < msgs.length; i++) {
    if (!d.push(msgs[i])) {
      drain();
      base = i;
      d.reset();
      d.push(msgs[i]);
    }
  }
  drain();
  d.reset();
  return out;
}

const release = new Decoder();
const generic = new Decoder({ variant: 'generic' });
const checked = new Decoder({ variant: 'checked' });

let jitInstalled = 0; // programs run() saw compiled (the JIT tests below need some)

function run(program: Uint8Array, samples: Sample[], d: Decoder = release, jit = true): boolean[] {
  d.setFilter(program, { jit });
  if (d.jit) jitInstalled++;
  try {
    const s = survivors(d, samples.map((x) => x.bytes));
    return samples.map((_, i) => s.has(i));
  } finally {
    d.setFilter(null);
  }
}

// ---------------------------------------------------------------------------
// Reference evaluator over the materialized Flow (independent of src/filter.ts).
type Cond =
  | { k: 'none' }
  | { k: 'family'; v: 'ipv4' | 'ipv6' }
  | { k: 'proto'; v: number }
  | { k: 'src' | 'dst'; net: string; slot: TupleSlot }
  | { k: 'replyAny'; net: string }
  | { k: 'sport' | 'dport'; v: number; slot: TupleSlot }
  | { k: 'mark'; v: number; mask: number }
  | { k: 'zone'; v: number }
  | { k: 'tupleZone'; v: number; slot: TupleSlot }
  | { k: 'status'; has: StatusName[]; hasNot: StatusName[] }
  | { k: 'tcpState' | 'sctpState' | 'dccpState'; v: number }
  | { k: 'icmpType' | 'icmpCode' | 'icmpId'; v: number }
  | { k: 'timeout'; min: number; max: number }
  | { k: 'label'; v: number }
  | { k: 'nat'; v: 'src' | 'dst' | 'any' };
type NCond = Cond & { neg?: boolean };

function addrBytes(s: string): number[] {
  if (s.includes(':')) {
    // expand '::' and an embedded dotted quad
    let x = s;
    const m = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(x);
    if (m) x = x.slice(0, m.index) + `${((+m[1] << 8) | +m[2]).toString(16)}:${((+m[3] << 8) | +m[4]).toString(16)}`;
    return ip6(x);
  }
  return ip4(s);
}

function refInNet(addr: string | undefined, l3: number, net: string): boolean {
  if (addr === undefined) return false;
  const [a, p] = net.split('/');
  const fam = a.includes(':') ? 10 : 2;
  if (l3 !== fam) return false;
  const x = addrBytes(addr), y = addrBytes(a);
  // ADDR/LEN: the first LEN bits; ADDR/NETMASK: the bits set in the mask
  const m = p !== undefined && /[.:]/.test(p) ? addrBytes(p) : undefined;
  const plen = p === undefined ? y.length * 8 : Number(p);
  for (let i = 0; i < y.length * 8; i++) {
    const counts = m ? ((m[i >> 3] >> (7 - (i & 7))) & 1) === 1 : i < plen;
    if (!counts) continue;
    const bx = (x[i >> 3] >> (7 - (i & 7))) & 1;
    const by = (y[i >> 3] >> (7 - (i & 7))) & 1;
    if (bx !== by) return false;
  }
  return true;
}

function refNat(f: Flow, kind: 'src' | 'dst' | 'any'): boolean {
  const o = f.orig, r = f.reply;
  if (!o || !r) return false;
  const done = (bit: number) => f.status === undefined || (f.status & (1 << bit)) !== 0;
  const ports = o.protoNum !== undefined && [6, 17, 136, 132, 33].includes(o.protoNum);
  const src = done(A.IPS_SRC_NAT_DONE_BIT) && (r.dst !== o.src || (ports && r.dstPort !== o.srcPort));
  const dst = done(A.IPS_DST_NAT_DONE_BIT) && (r.src !== o.dst || (ports && r.srcPort !== o.dstPort));
  return kind === 'src' ? src : kind === 'dst' ? dst : src || dst;
}

const TCP = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'];

function refCond(c: Cond, f: Flow): boolean {
  const tup = (s: TupleSlot): Tuple | undefined => f[s];
  switch (c.k) {
    case 'none': return false;
    case 'family': return f.orig !== undefined && f.orig.l3proto === (c.v === 'ipv4' ? 2 : 10);
    case 'proto': return f.orig?.protoNum === c.v;
    case 'src': return refInNet(tup(c.slot)?.src, tup(c.slot)?.l3proto ?? 0, c.net);
    case 'dst': return refInNet(tup(c.slot)?.dst, tup(c.slot)?.l3proto ?? 0, c.net);
    case 'replyAny': return refInNet(f.reply?.src, f.reply?.l3proto ?? 0, c.net) || refInNet(f.reply?.dst, f.reply?.l3proto ?? 0, c.net);
    case 'sport': return tup(c.slot)?.srcPort === c.v;
    case 'dport': return tup(c.slot)?.dstPort === c.v;
    case 'mark': return f.mark !== undefined && ((f.mark & c.mask) >>> 0) === ((c.v & c.mask) >>> 0);
    case 'zone': return f.zone === c.v;
    case 'tupleZone': return tup(c.slot)?.zone === c.v;
    case 'status': {
      if (f.status === undefined) return false;
      const has = c.has.reduce((m, n) => m | (1 << STATUS_BITS[n]), 0);
      const not = c.hasNot.reduce((m, n) => m | (1 << STATUS_BITS[n]), 0);
      return (f.status & has) === has && (f.status & not) === 0;
    }
    case 'tcpState': return f.tcp?.state === c.v;
    case 'sctpState': return f.sctp?.state === c.v;
    case 'dccpState': return f.dccp?.state === c.v;
    case 'icmpType': return f.orig?.icmpType === c.v;
    case 'icmpCode': return f.orig?.icmpCode === c.v;
    case 'icmpId': return f.orig?.icmpId === c.v;
    case 'timeout': return f.timeout !== undefined && f.timeout >= c.min && f.timeout <= c.max;
    case 'label': return f.labels !== undefined && (c.v >> 3) < f.labels.length && (f.labels[c.v >> 3] & (1 << (c.v & 7))) !== 0;
    case 'nat': return refNat(f, c.v);
  }
}

function refMatch(conds: NCond[], f: Flow): boolean {
  return conds.every((c) => refCond(c, f) !== (c.neg === true));
}

function apply(b: FilterBuilder, c: Cond): FilterBuilder {
  switch (c.k) {
    case 'none': return b.none();
    case 'family': return b.family(c.v);
    case 'proto': return b.proto(c.v);
    case 'src': return b.src(c.net, c.slot);
    case 'dst': return b.dst(c.net, c.slot);
    case 'replyAny': return b.replyAny(c.net);
    case 'sport': return b.sport(c.v, c.slot);
    case 'dport': return b.dport(c.v, c.slot);
    case 'mark': return b.mark(c.v, c.mask);
    case 'zone': return b.zone(c.v);
    case 'tupleZone': return b.tupleZone(c.v, c.slot);
    case 'status': return b.status({ has: c.has, hasNot: c.hasNot });
    case 'tcpState': return b.tcpState(c.v);
    case 'sctpState': return b.sctpState(c.v);
    case 'dccpState': return b.dccpState(c.v);
    case 'icmpType': return b.icmp({ type: c.v });
    case 'icmpCode': return b.icmp({ code: c.v });
    case 'icmpId': return b.icmp({ id: c.v });
    case 'timeout': return b.timeout(c.min, c.max);
    case 'label': return b.label(c.v);
    case 'nat': return b.nat(c.v);
  }
}

function compile(conds: NCond[]): Uint8Array {
  const b = new FilterBuilder();
  for (const c of conds) {
    if (c.neg) b.not((x) => apply(x, c));
    else apply(b, c);
  }
  return b.compile();
}

// ---------------------------------------------------------------------------
// Hand-built flows covering what the captures lack.
const HAND: Record<string, Sample> = {
  plain: sample({ ...v4tcp('10.0.0.1', '10.0.0.2', 1000, 80), status: 0x0e, timeout: 100, tcp: 3 }),
  marked: sample({ ...v4tcp('10.1.0.1', '10.1.0.2', 1001, 443), mark: 0x1234, zone: 7, timeout: 5, labels: [0, 9, 127] }),
  tzone: sample({ orig: { src: '10.2.0.1', dst: '10.2.0.2', proto: 17, sport: 53, dport: 53, zone: 3 }, reply: { src: '10.2.0.2', dst: '10.2.0.1', proto: 17, sport: 53, dport: 53, zone: 4 } }),
  snat: sample({ ...v4tcp('192.168.1.5', '8.8.8.8', 5000, 53, '8.8.8.8', '203.0.113.1', 53, 5000), status: (1 << 7) | (1 << 4) | 0x0a }),
  spat: sample({ ...v4tcp('192.168.1.5', '8.8.8.8', 5000, 53, '8.8.8.8', '192.168.1.5', 53, 6000), status: (1 << 7) | 0x0a }),
  dnat: sample({ ...v4tcp('198.51.100.7', '203.0.113.1', 4000, 80, '10.0.0.80', '198.51.100.7', 8080, 4000), status: (1 << 8) | (1 << 5) | 0x0a }),
  natNoDone: sample({ ...v4tcp('192.168.1.5', '8.8.8.8', 5000, 53, '8.8.8.8', '203.0.113.1', 53, 5000), status: 0x0a }),
  natNoStatus: sample(v4tcp('192.168.1.5', '8.8.8.8', 5000, 53, '8.8.8.8', '203.0.113.1', 53, 5000)),
  sctp: sample({ orig: { src: '10.3.0.1', dst: '10.3.0.2', proto: 132, sport: 36412, dport: 36412 }, reply: { src: '10.3.0.2', dst: '10.3.0.1', proto: 132, sport: 36412, dport: 36412 }, sctp: 4 }),
  dccp: sample({ orig: { src: '10.4.0.1', dst: '10.4.0.2', proto: 33, sport: 5001, dport: 5002 }, reply: { src: '10.4.0.2', dst: '10.4.0.1', proto: 33, sport: 5002, dport: 5001 }, dccp: 4 }),
  icmp: sample({ orig: { src: '10.5.0.1', dst: '10.5.0.2', proto: 1, icmp: { type: 8, code: 0, id: 77 } }, reply: { src: '10.5.0.2', dst: '10.5.0.1', proto: 1, icmp: { type: 0, code: 0, id: 77 } } }),
  v6: sample({ orig: { v6: true, src: '2001:db8::1', dst: '2001:db8::2', proto: 6, sport: 1, dport: 2 }, reply: { v6: true, src: '2001:db8::2', dst: '2001:db8::1', proto: 6, sport: 2, dport: 1 } }),
  master: sample({ ...v4tcp('10.6.0.1', '10.6.0.2', 20, 21), master: { src: '10.6.0.1', dst: '10.6.0.2', proto: 6, sport: 1021, dport: 21 } }),
  bare: sample({}),
};
const HANDS = Object.values(HAND);

// ---------------------------------------------------------------------------
describe('ConntrackFilter (vishvananda/netlink semantics)', () => {
  const tcp4 = V4.find((s) => s.flow.orig?.protoNum === 6)!.flow;
  const udp4 = V4.find((s) => s.flow.orig?.protoNum === 17)!.flow;
  const tcp6 = V6.find((s) => s.flow.orig?.protoNum === 6)!.flow;

  test('fixtures hold TCP and UDP over IPv4 and TCP over IPv6', () => {
    expect(tcp4.orig!.src).toBe('127.0.0.1');
    expect(udp4).toBeDefined();
    expect(tcp6.orig!.src).toBe('::1');
  });

  test('an empty filter matches nothing', () => {
    const f = new ConntrackFilter();
    for (const s of [...V4, ...V6, ...HANDS]) expect(f.matchConntrackFlow(s.flow)).toBe(false);
  });

  test('a protocol filter rejects other protocols', () => {
    const f = new ConntrackFilter().addProtocol(6);
    expect(f.matchConntrackFlow(tcp4)).toBe(true);
    expect(f.matchConntrackFlow(udp4)).toBe(false);
    expect(f.matchConntrackFlow(HAND.icmp.flow)).toBe(false);
  });

  test('all given conditions AND', () => {
    const f = new ConntrackFilter().addProtocol(6).addIP(ConntrackFilterType.OrigSrcIP, '10.0.0.1');
    expect(f.matchConntrackFlow(HAND.plain.flow)).toBe(true);
    f.addPort(ConntrackFilterType.OrigDstPort, 80);
    expect(f.matchConntrackFlow(HAND.plain.flow)).toBe(true);
    f.addIPNet(ConntrackFilterType.ReplySrcIP, '10.0.0.0/24');
    expect(f.matchConntrackFlow(HAND.plain.flow)).toBe(true);
    f.addPort(ConntrackFilterType.OrigSrcPort, 1);
    expect(f.matchConntrackFlow(HAND.plain.flow)).toBe(false);
    const g = new ConntrackFilter().addProtocol(17).addIP(ConntrackFilterType.OrigSrcIP, '10.0.0.1');
    expect(g.matchConntrackFlow(HAND.plain.flow)).toBe(false);
  });

  test('ReplyAnyIP matches reply src or reply dst; Nat* are aliases', () => {
    expect(ConntrackFilterType.NatSrcIP).toBe(ConntrackFilterType.ReplySrcIP);
    expect(ConntrackFilterType.NatDstIP).toBe(ConntrackFilterType.ReplyDstIP);
    expect(ConntrackFilterType.NatAnyIP).toBe(ConntrackFilterType.ReplyAnyIP);
    const f = (ip: string) => new ConntrackFilter().addIP(ConntrackFilterType.ReplyAnyIP, ip);
    expect(f('203.0.113.1').matchConntrackFlow(HAND.snat.flow)).toBe(true); // reply dst
    expect(f('8.8.8.8').matchConntrackFlow(HAND.snat.flow)).toBe(true); // reply src
    expect(f('192.168.1.5').matchConntrackFlow(HAND.snat.flow)).toBe(false); // orig src only
    expect(new ConntrackFilter().addIP(ConntrackFilterType.NatDstIP, '203.0.113.1').matchConntrackFlow(HAND.snat.flow)).toBe(true);
    expect(new ConntrackFilter().addIP(ConntrackFilterType.NatSrcIP, '203.0.113.1').matchConntrackFlow(HAND.snat.flow)).toBe(false);
  });

  test('addPort needs TCP, UDP, DCCP, SCTP or UDPLite', () => {
    for (const p of [0, 1, 47, 58]) {
      const f = new ConntrackFilter();
      if (p !== 0) f.addProtocol(p);
      let err: unknown;
      try { f.addPort(ConntrackFilterType.OrigSrcPort, 80); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(ConntrackError);
      expect((err as ConntrackError).code).toBe('ERR_CT_INVALID_ARGUMENT');
      expect((err as ConntrackError).message).toBe(`Filter attribute not available without a valid Layer 4 protocol: ${p}`);
    }
    for (const p of [6, 17, 33, 132, 136]) {
      expect(() => new ConntrackFilter().addProtocol(p).addPort(ConntrackFilterType.OrigDstPort, 1)).not.toThrow();
    }
  });

  test('the same attribute twice throws', () => {
    const dup = (fn: () => unknown) => {
      expect(fn).toThrow(ConntrackError);
      expect(fn).toThrow('Filter attribute already present');
    };
    dup(() => new ConntrackFilter().addProtocol(6).addProtocol(17));
    dup(() => new ConntrackFilter().addIP(ConntrackFilterType.OrigSrcIP, '1.2.3.4').addIPNet(ConntrackFilterType.OrigSrcIP, '1.0.0.0/8'));
    dup(() => new ConntrackFilter().addProtocol(6).addPort(ConntrackFilterType.OrigSrcPort, 1).addPort(ConntrackFilterType.OrigSrcPort, 2));
  });

  test('a missing value throws', () => {
    for (const fn of [
      () => new ConntrackFilter().addIP(ConntrackFilterType.OrigSrcIP, ''),
      () => new ConntrackFilter().addIPNet(ConntrackFilterType.OrigSrcIP, undefined as unknown as string),
      () => new ConntrackFilter().addIP(ConntrackFilterType.OrigDstIP, null as unknown as string),
    ]) {
      expect(fn).toThrow('Filter attribute empty');
    }
  });

  test('IPv4 and IPv6 nets; an IPv4 net never matches an IPv6 address', () => {
    expect(new ConntrackFilter().addIPNet(ConntrackFilterType.OrigSrcIP, '127.0.0.0/8').matchConntrackFlow(tcp4)).toBe(true);
    expect(new ConntrackFilter().addIPNet(ConntrackFilterType.OrigSrcIP, '127.0.0.0/8').matchConntrackFlow(tcp6)).toBe(false);
    expect(new ConntrackFilter().addIPNet(ConntrackFilterType.OrigSrcIP, '0.0.0.0/0').matchConntrackFlow(tcp6)).toBe(false);
    expect(new ConntrackFilter().addIPNet(ConntrackFilterType.OrigSrcIP, '::/0').matchConntrackFlow(tcp4)).toBe(false);
    expect(new ConntrackFilter().addIPNet(ConntrackFilterType.OrigSrcIP, '::/0').matchConntrackFlow(tcp6)).toBe(true);
    expect(new ConntrackFilter().addIP(ConntrackFilterType.OrigDstIP, '::1').matchConntrackFlow(tcp6)).toBe(true);
    expect(new ConntrackFilter().addIPNet(ConntrackFilterType.OrigSrcIP, '2001:db8::/32').matchConntrackFlow(HAND.v6.flow)).toBe(true);
    expect(new ConntrackFilter().addIPNet(ConntrackFilterType.OrigSrcIP, '2001:db9::/32').matchConntrackFlow(HAND.v6.flow)).toBe(false);
    expect(new ConntrackFilter().addIP(ConntrackFilterType.OrigSrcIP, '127.0.0.2').matchConntrackFlow(tcp4)).toBe(false);
  });

  test('matchConntrackFlow agrees with the decoder-side program on every fixture flow', () => {
    const f = new ConntrackFilter().addProtocol(6).addIPNet(ConntrackFilterType.OrigSrcIP, '127.0.0.0/8');
    const all = [...V4, ...V4EV, ...CHURN.slice(0, 50)];
    const viaDecoder = run(f.compile(), all);
    all.forEach((s, i) => expect(f.matchConntrackFlow(s.flow)).toBe(viaDecoder[i]));
    expect(viaDecoder.some((x) => x)).toBe(true);
    expect(viaDecoder.some((x) => !x)).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// (b) every op and its negation.
const ALL = [...V4, ...V6, ...V4EV, ...V6EV, ...CHURN.slice(0, 100), ...HANDS];

interface OpCase { name: string; cond: Cond; expect: Sample[]; notExpect: Sample[] }
const v4tcpFix = V4.filter((s) => s.flow.orig?.protoNum === 6);
const v4icmp = V4.filter((s) => s.flow.orig?.protoNum === 1);
const v6icmp = V6.filter((s) => s.flow.orig?.protoNum === 58);

const OPS: OpCase[] = [
  { name: 'none', cond: { k: 'none' }, expect: [], notExpect: ALL },
  { name: 'family ipv4', cond: { k: 'family', v: 'ipv4' }, expect: [...V4, HAND.plain], notExpect: [...V6, HAND.v6, HAND.bare] },
  { name: 'family ipv6', cond: { k: 'family', v: 'ipv6' }, expect: [...V6, HAND.v6], notExpect: [...V4, HAND.bare] },
  { name: 'proto', cond: { k: 'proto', v: 6 }, expect: [...v4tcpFix, HAND.plain], notExpect: [...v4icmp, HAND.sctp, HAND.bare] },
  { name: 'orig src net', cond: { k: 'src', net: '127.0.0.0/8', slot: 'orig' }, expect: V4, notExpect: [...V6, HAND.plain, HAND.bare] },
  { name: 'reply dst v6', cond: { k: 'dst', net: '::1/128', slot: 'reply' }, expect: V6, notExpect: [...V4, HAND.v6] },
  { name: 'master src', cond: { k: 'src', net: '10.6.0.1', slot: 'master' }, expect: [HAND.master], notExpect: [HAND.plain, ...V4] },
  { name: 'odd prefix', cond: { k: 'src', net: '10.0.0.0/15', slot: 'orig' }, expect: [HAND.plain, HAND.marked], notExpect: [HAND.tzone] },
  // 255.1.0.0: the first octet and the low bit of the second (plain 10.0, tzone 10.2: 0; marked 10.1: 1)
  { name: 'netmask, not a prefix', cond: { k: 'src', net: '10.0.7.9/255.1.0.0', slot: 'orig' }, expect: [HAND.plain, HAND.tzone], notExpect: [HAND.marked, ...V4, ...V6] },
  { name: 'netmask v6, not a prefix', cond: { k: 'dst', net: '::1/0:0:0:0:ffff::ffff', slot: 'orig' }, expect: V6.filter((s) => s.flow.orig?.dst === '::1'), notExpect: [...V4, HAND.v6] },
  { name: 'replyAny', cond: { k: 'replyAny', net: '203.0.113.1/32' }, expect: [HAND.snat, HAND.natNoDone], notExpect: [HAND.dnat, HAND.plain] },
  { name: 'sport reply', cond: { k: 'sport', v: 8080, slot: 'reply' }, expect: [HAND.dnat], notExpect: [HAND.snat, HAND.icmp, HAND.bare] },
  { name: 'dport orig', cond: { k: 'dport', v: 443, slot: 'orig' }, expect: [HAND.marked], notExpect: [HAND.plain, HAND.icmp] },
  { name: 'mark', cond: { k: 'mark', v: 0x34, mask: 0xff }, expect: [HAND.marked], notExpect: [HAND.plain] },
  { name: 'zone', cond: { k: 'zone', v: 7 }, expect: [HAND.marked], notExpect: [HAND.plain, ...V4] },
  { name: 'tuple zone reply', cond: { k: 'tupleZone', v: 4, slot: 'reply' }, expect: [HAND.tzone], notExpect: [HAND.plain] },
  { name: 'status has', cond: { k: 'status', has: ['SRC_NAT_DONE'], hasNot: [] }, expect: [HAND.snat, HAND.spat], notExpect: [HAND.plain, HAND.natNoStatus] },
  { name: 'status has not', cond: { k: 'status', has: ['SEEN_REPLY'], hasNot: ['SRC_NAT'] }, expect: [HAND.spat, HAND.natNoDone], notExpect: [HAND.snat, HAND.bare] },
  { name: 'tcp state', cond: { k: 'tcpState', v: 3 }, expect: [HAND.plain], notExpect: [HAND.sctp, HAND.bare] },
  { name: 'sctp state', cond: { k: 'sctpState', v: 4 }, expect: [HAND.sctp], notExpect: [HAND.plain, HAND.dccp] },
  { name: 'dccp state', cond: { k: 'dccpState', v: 4 }, expect: [HAND.dccp], notExpect: [HAND.sctp] },
  { name: 'icmp type', cond: { k: 'icmpType', v: 8 }, expect: [HAND.icmp, ...v4icmp], notExpect: [HAND.plain, ...v6icmp] },
  { name: 'icmpv6 type', cond: { k: 'icmpType', v: 128 }, expect: v6icmp, notExpect: [HAND.icmp] },
  { name: 'icmp code', cond: { k: 'icmpCode', v: 0 }, expect: [HAND.icmp, ...v4icmp, ...v6icmp], notExpect: [HAND.plain] },
  { name: 'icmp id', cond: { k: 'icmpId', v: 77 }, expect: [HAND.icmp], notExpect: [HAND.plain] },
  { name: 'timeout', cond: { k: 'timeout', min: 50, max: 200 }, expect: [HAND.plain], notExpect: [HAND.marked, HAND.bare] },
  { name: 'label', cond: { k: 'label', v: 9 }, expect: [HAND.marked], notExpect: [HAND.plain] },
  { name: 'label 127', cond: { k: 'label', v: 127 }, expect: [HAND.marked], notExpect: [] },
  { name: 'label past the bitmap', cond: { k: 'label', v: 128 }, expect: [], notExpect: [HAND.marked] },
  { name: 'src-nat', cond: { k: 'nat', v: 'src' }, expect: [HAND.snat, HAND.spat, HAND.natNoStatus], notExpect: [HAND.natNoDone, HAND.dnat, HAND.plain, HAND.icmp, ...V4] },
  { name: 'dst-nat', cond: { k: 'nat', v: 'dst' }, expect: [HAND.dnat], notExpect: [HAND.snat, HAND.plain, ...V4] },
  { name: 'any-nat', cond: { k: 'nat', v: 'any' }, expect: [HAND.snat, HAND.dnat, HAND.spat], notExpect: [HAND.plain, HAND.bare, ...V6] },
];

describe('every op and its negation', () => {
  test.each(OPS.map((o) => [o.name, o] as const))('%s', (_n, o) => {
    const pos = run(compile([o.cond]), ALL);
    const neg = run(compile([{ ...o.cond, neg: true }]), ALL);
    ALL.forEach((s, i) => {
      expect(pos[i]).toBe(refMatch([o.cond], s.flow));
      expect(neg[i]).toBe(!pos[i]);
    });
    for (const s of o.expect) expect(pos[ALL.indexOf(s)]).toBe(true);
    for (const s of o.notExpect) expect(pos[ALL.indexOf(s)]).toBe(false);
  });

  test('an empty builder passes everything; counters().filtered counts drops', () => {
    const d = new Decoder();
    expect(run(new FilterBuilder().compile(), ALL, d).every((x) => x)).toBe(true);
    const before = d.counters().filtered;
    const kept = run(new FilterBuilder().proto(6).compile(), V4, d);
    expect(d.counters().filtered - before).toBe(kept.filter((x) => !x).length);
    expect(kept.filter((x) => !x).length).toBeGreaterThan(0);
  });

  test('non-flow messages are never filtered', () => {
    const d = new Decoder();
    d.setFilter(new FilterBuilder().none().compile());
    d.reset();
    d.push(readPcapBufferFirst('stats/stats-cpu'));
    const n = d.decodeNext();
    expect(n).toBeGreaterThan(0);
    d.setFilter(null);
  });

  test('not() negates exactly one condition', () => {
    expect(() => new FilterBuilder().not((b) => b.icmp({ type: 1, code: 2 }))).toThrow(ConntrackError);
    expect(() => new FilterBuilder().not(() => undefined)).toThrow(ConntrackError);
    expect(() => new FilterBuilder().not((b) => b.not((c) => c.proto(6)))).not.toThrow();
  });
});

function readPcapBufferFirst(name: string): Uint8Array {
  return [...readPcapBuffer(readFileSync(path.join(FIX, `${name}.pcap`)))][0].data.slice();
}

// ---------------------------------------------------------------------------
// (c) differential property test.
const ADDR4 = ['10.0.0.1', '10.0.0.2', '10.1.2.3', '192.168.1.5', '203.0.113.1', '127.0.0.1', '127.0.0.2'];
const ADDR6 = ['2001:db8::1', '2001:db8::2', '2001:db8:1::5', '::1', 'fe80::1'];
const PORTS = [53, 80, 443, 1000, 5000, 8080];
const PROTOS = [1, 6, 17, 33, 58, 132, 136, 47];
const slotArb = fc.constantFrom<TupleSlot>('orig', 'reply', 'master');
// netmasks: random bytes (rarely a prefix), and a few with bits of the samples' addresses
const MASK4 = ['255.0.255.0', '0.0.0.255', '255.255.0.255', '0.0.0.0', '255.255.255.255'];
const MASK6 = ['ffff::ffff', 'ffff:ffff:0:ffff::', '::ff', 'ffff:ffff:ffff::1:0'];
const netArb = fc.oneof(
  fc.tuple(fc.constantFrom(...ADDR4), fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(fc.constantFrom(...ADDR6), fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(fc.constantFrom(...ADDR4), fc.oneof(fc.constantFrom(...MASK4), fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => b.join('.')))).map(([a, m]) => `${a}/${m}`),
  fc.tuple(fc.constantFrom(...ADDR6), fc.constantFrom(...MASK6)).map(([a, m]) => `${a}/${m}`),
);
const statusNames = Object.keys(STATUS_BITS) as StatusName[];
const condArb: fc.Arbitrary<Cond> = fc.oneof(
  fc.constant<Cond>({ k: 'none' }),
  fc.constantFrom<Cond>({ k: 'family', v: 'ipv4' }, { k: 'family', v: 'ipv6' }),
  fc.constantFrom(...PROTOS).map((v): Cond => ({ k: 'proto', v })),
  fc.tuple(fc.constantFrom<'src' | 'dst'>('src', 'dst'), netArb, slotArb).map(([k, net, slot]): Cond => ({ k, net, slot })),
  netArb.map((net): Cond => ({ k: 'replyAny', net })),
  fc.tuple(fc.constantFrom<'sport' | 'dport'>('sport', 'dport'), fc.constantFrom(...PORTS), slotArb).map(([k, v, slot]): Cond => ({ k, v, slot })),
  fc.tuple(fc.constantFrom(0, 1, 0x1234, 0xffffffff), fc.constantFrom(0, 0xff, 0xffffffff)).map(([v, mask]): Cond => ({ k: 'mark', v, mask })),
  fc.constantFrom(0, 1, 7).map((v): Cond => ({ k: 'zone', v })),
  fc.tuple(fc.constantFrom(0, 3, 4), slotArb).map(([v, slot]): Cond => ({ k: 'tupleZone', v, slot })),
  fc.tuple(fc.subarray(statusNames, { maxLength: 3 }), fc.subarray(statusNames, { maxLength: 3 }))
    .map(([has, hasNot]): Cond => ({ k: 'status', has, hasNot: hasNot.filter((n) => !has.includes(n)) })),
  fc.tuple(fc.constantFrom<'tcpState' | 'sctpState' | 'dccpState'>('tcpState', 'sctpState', 'dccpState'), fc.integer({ min: 0, max: 9 }))
    .map(([k, v]): Cond => ({ k, v })),
  fc.tuple(fc.constantFrom<'icmpType' | 'icmpCode' | 'icmpId'>('icmpType', 'icmpCode', 'icmpId'), fc.constantFrom(0, 8, 77, 128, 129))
    .map(([k, v]): Cond => ({ k, v })),
  fc.tuple(fc.integer({ min: 0, max: 500000 }), fc.integer({ min: 0, max: 500000 })).map(([a, b]): Cond => ({ k: 'timeout', min: Math.min(a, b), max: Math.max(a, b) })),
  fc.integer({ min: 0, max: 140 }).map((v): Cond => ({ k: 'label', v })),
  fc.constantFrom<'src' | 'dst' | 'any'>('src', 'dst', 'any').map((v): Cond => ({ k: 'nat', v })),
);
const ncondArb: fc.Arbitrary<NCond> = fc.tuple(condArb, fc.boolean()).map(([c, neg]) => ({ ...c, neg }));

const tupleArb = (v6: boolean): fc.Arbitrary<TupleSpec> => fc.record({
  v6: fc.constant(v6),
  src: fc.option(fc.constantFrom(...(v6 ? ADDR6 : ADDR4)), { nil: undefined }),
  dst: fc.option(fc.constantFrom(...(v6 ? ADDR6 : ADDR4)), { nil: undefined }),
  proto: fc.option(fc.constantFrom(...PROTOS), { nil: undefined }),
  sport: fc.option(fc.constantFrom(...PORTS), { nil: undefined }),
  dport: fc.option(fc.constantFrom(...PORTS), { nil: undefined }),
  icmp: fc.option(fc.record({ type: fc.constantFrom(0, 8, 128), code: fc.constantFrom(0, 1), id: fc.constantFrom(0, 77) }), { nil: undefined }),
  zone: fc.option(fc.constantFrom(0, 3, 4), { nil: undefined }),
}, { requiredKeys: ['v6'] });
const flowSpecArb: fc.Arbitrary<FlowSpec> = fc.boolean().chain((v6) => fc.record({
  orig: fc.option(tupleArb(v6), { nil: undefined }),
  reply: fc.option(tupleArb(v6), { nil: undefined }),
  master: fc.option(tupleArb(v6), { nil: undefined }),
  status: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
  mark: fc.option(fc.constantFrom(0, 1, 0x1234, 0xffffffff), { nil: undefined }),
  zone: fc.option(fc.constantFrom(0, 1, 7), { nil: undefined }),
  timeout: fc.option(fc.integer({ min: 0, max: 500000 }), { nil: undefined }),
  labels: fc.option(fc.array(fc.integer({ min: 0, max: 127 }), { maxLength: 4 }), { nil: undefined }),
  tcp: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
  sctp: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
  dccp: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
}));

const POOL = [...V4, ...V6, ...V4EV, ...V6EV, ...CHURN, ...HANDS];

describe('differential: WASM program vs reference evaluator', () => {
  test('random filters x fixture flows and random hand-built flows (5000 runs)', () => {
    let matched = 0, rejected = 0;
    fc.assert(
      fc.property(
        fc.array(ncondArb, { minLength: 0, maxLength: 4 }),
        fc.array(fc.nat(POOL.length - 1), { minLength: 1, maxLength: 6 }),
        fc.array(flowSpecArb, { maxLength: 3 }),
        (conds, picks, specs) => {
          const samples = [...picks.map((i) => POOL[i]), ...specs.map((s) => samplesOf([build(s)])).flat()];
          const program = compile(conds);
          const got = run(program, samples);
          // the interpreter and the compiled function (src/filter-jit.ts) agree
          expect(run(program, samples, release, false)).toEqual(got);
          for (const g of got) if (g) matched++; else rejected++;
          samples.forEach((s, i) => {
            if (got[i] !== refMatch(conds, s.flow)) {
              throw new Error(`mismatch: ${JSON.stringify(conds)} on ${JSON.stringify(s.flow, (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? [...v] : v))}`);
            }
          });
        },
      ),
      { numRuns: 5000 },
    );
    // both outcomes are common, so the comparison is not vacuous
    expect(matched).toBeGreaterThan(2000);
    expect(rejected).toBeGreaterThan(2000);
    // and most non-empty programs ran compiled
    expect(jitInstalled).toBeGreaterThan(3000);
  });
});

describe('nets: ADDR/LEN, a bare address, ADDR/NETMASK', () => {
  const hex = (b?: Uint8Array) => (b ? Buffer.from(b).toString('hex') : undefined);
  test.each([
    // [net, family, plen, mask (hex, 16 bytes) when not a prefix]
    ['10.0.0.0/8', 2, 8, undefined],
    ['10.0.0.1', 2, 32, undefined],
    ['fd00::/16', 10, 16, undefined],
    ['10.0.0.0/255.255.0.0', 2, 16, undefined], // a prefix, written as a netmask
    ['10.0.0.0/0.0.0.0', 2, 0, undefined],
    ['10.0.0.0/255.0.255.0', 2, L.PLEN_MASK, 'ff00ff00' + '0'.repeat(24)],
    ['10.0.0.1/0.0.0.1', 2, L.PLEN_MASK, '00000001' + '0'.repeat(24)],
    ['fd00::4/ffff::ff', 10, L.PLEN_MASK, 'ffff' + '0'.repeat(26) + 'ff'],
    ['fd00::/ffff:ffff::', 10, 32, undefined],
  ])('%s', (net, family, plen, mask) => {
    const n = parseCidr(net, 'src');
    expect({ family: n.family, plen: n.plen, mask: hex(n.mask) }).toEqual({ family, plen, mask });
  });

  test.each([
    ['10.0.0.0/33', /bad prefix length/],
    ['10.0.0.0/ffff::', /not of the address's family/],
    ['fd00::/255.0.0.0', /not of the address's family/],
    ['10.0.0.0/255.0.0', /bad netmask/],
    ['10.0.0.0/', /bad prefix length/],
  ])('%s is refused', (net, msg) => {
    expect(() => new FilterBuilder().src(net)).toThrow(ConntrackError);
    expect(() => new FilterBuilder().src(net)).toThrow(msg);
  });

  test('the netmask is written after the address, only for a netmask that is not a prefix', () => {
    const prog = new FilterBuilder().src('10.0.0.0/255.0.255.0').dst('10.0.0.0/8').compile();
    const at = (i: number, off: number, n: number) => Buffer.from(prog.subarray(L.FILTER_HDR + i * L.FCOND_SIZE + off, L.FILTER_HDR + i * L.FCOND_SIZE + off + n)).toString('hex');
    expect(L.FCOND_SIZE).toBe(48);
    expect([prog[L.FILTER_HDR + L.FCOND_PLEN], at(0, L.FCOND_ADDR, 4), at(0, L.FCOND_MASK, 16)]).toEqual([255, '0a000000', 'ff00ff00' + '0'.repeat(24)]);
    expect([prog[L.FILTER_HDR + L.FCOND_SIZE + L.FCOND_PLEN], at(1, L.FCOND_MASK, 16)]).toEqual([8, '0'.repeat(32)]);
  });
});

describe('compiled filter programs (src/filter-jit.ts)', () => {
  test('a program is compiled; the simple field tests inline, the rest call back', () => {
    const d = new Decoder();
    d.setFilter(new FilterBuilder().proto(6).mark(0xdeadbeef).src('10.0.0.0/8').dport(80, 'reply')
      .status({ has: ['ASSURED'] }).src('fd00::/7').timeout(1, 2).label(3).nat('src').compile());
    expect(d.jit).toEqual({ conditions: 9, inline: 6 });
    d.setFilter(new FilterBuilder().proto(6).compile(), { jit: false });
    expect(d.jit).toBeUndefined();
    d.setFilter(null);
    expect(d.jit).toBeUndefined();
  });

  test('the caller cannot switch the compiled slot on through the program bytes', () => {
    const d = new Decoder();
    d.setFilter(new FilterBuilder().proto(17).compile()); // a compiled UDP-only filter in the slot
    const tcp = new FilterBuilder().proto(6).compile();
    new DataView(tcp.buffer).setUint32(L.FILTER_JIT, 1, true);
    d.setFilter(tcp, { jit: false });
    expect(d.jit).toBeUndefined();
    // evaluated by the interpreter as TCP-only, not by the stale UDP function
    const want = run(new FilterBuilder().proto(6).compile(), ALL, release, false);
    d.setFilter(tcp, { jit: false });
    const s = survivors(d, ALL.map((x) => x.bytes));
    expect(ALL.map((_, i) => s.has(i))).toEqual(want);
    expect(want.some((x) => x)).toBe(true);
  });

  test.each([
    ['mark with every bit (constants >= 2^31)', new FilterBuilder().mark(0xffffffff)],
    ['negated mark under a mask', new FilterBuilder().not((b) => b.mark(0x80000000, 0x80000000))],
    ['IPv6 /77 (a partial word)', new FilterBuilder().src('fd00::/77')],
    ['IPv4 /0 and /32', new FilterBuilder().src('0.0.0.0/0').not((b) => b.dst('10.0.0.2/32'))],
    ['states and ICMP', new FilterBuilder().not((b) => b.tcpState('ESTABLISHED')).not((b) => b.icmp({ type: 8 })).icmp({ code: 0, id: 77 })],
    ['master tuple and zones', new FilterBuilder().not((b) => b.sport(1, 'master')).not((b) => b.tupleZone(3, 'reply')).not((b) => b.zone(1))],
  ])('%s: compiled == interpreted on every sample', (_n, b) => {
    const program = b.compile();
    const compiled = run(program, POOL);
    expect(jitInstalled).toBeGreaterThan(0);
    expect(compiled).toEqual(run(program, POOL, release, false));
    expect(compiled).toEqual(run(program, POOL, checked));
  });
});

describe('ConntrackFilter differential', () => {
  test('random seed filters: matchConntrackFlow vs the Go semantics over every kind of flow', () => {
    const ipTypes = [ConntrackFilterType.OrigSrcIP, ConntrackFilterType.OrigDstIP, ConntrackFilterType.ReplySrcIP,
      ConntrackFilterType.ReplyDstIP, ConntrackFilterType.ReplyAnyIP];
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom(1, 6, 17, 58, 132), { nil: undefined }),
        fc.array(fc.tuple(fc.constantFrom(...ipTypes), netArb), { maxLength: 3 }),
        fc.array(fc.tuple(fc.constantFrom(ConntrackFilterType.OrigSrcPort, ConntrackFilterType.OrigDstPort), fc.constantFrom(...PORTS)), { maxLength: 2 }),
        fc.nat(POOL.length - 1),
        (proto, nets, ports, pick) => {
          const f = new ConntrackFilter();
          const ipSet = new Map<number, string>();
          const portSet = new Map<number, number>();
          if (proto !== undefined) f.addProtocol(proto);
          for (const [t, n] of nets) if (!ipSet.has(t)) { ipSet.set(t, n); f.addIPNet(t, n); }
          if (proto !== undefined && [6, 17, 132].includes(proto)) {
            for (const [t, p] of ports) if (!portSet.has(t)) { portSet.set(t, p); f.addPort(t, p); }
          }
          const flow = POOL[pick].flow;
          let want: boolean;
          if (proto === undefined && ipSet.size === 0 && portSet.size === 0) want = false;
          else {
            const conds: Cond[] = [];
            if (proto !== undefined) conds.push({ k: 'proto', v: proto });
            for (const [t, net] of ipSet) {
              if (t === ConntrackFilterType.ReplyAnyIP) conds.push({ k: 'replyAny', net });
              else conds.push({ k: t === ConntrackFilterType.OrigSrcIP || t === ConntrackFilterType.ReplySrcIP ? 'src' : 'dst', net, slot: t <= 1 ? 'orig' : 'reply' });
            }
            for (const [t, v] of portSet) conds.push({ k: t === ConntrackFilterType.OrigSrcPort ? 'sport' : 'dport', v, slot: 'orig' });
            want = refMatch(conds, flow);
          }
          expect(f.matchConntrackFlow(flow)).toBe(want);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------
// (d) builds agree.
describe('generic and checked builds', () => {
  test('same results as release, zero violations', () => {
    const before = checked.counters().violations;
    fc.assert(
      fc.property(fc.array(ncondArb, { maxLength: 4 }), (conds) => {
        const p = compile(conds);
        const r = run(p, POOL);
        expect(run(p, POOL, generic)).toEqual(r);
        expect(run(p, POOL, checked)).toEqual(r);
      }),
      { numRuns: 150 },
    );
    expect(checked.counters().violations).toBe(before);
    expect(checked.counters().violations).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// (e) malformed programs.
describe('malformed programs', () => {
  function prog(count: number, conds: Array<{ op: number; neg?: number; slot?: number; plen?: number; a?: number; b?: number }>): Uint8Array {
    const out = new Uint8Array(L.FILTER_HDR + conds.length * L.FCOND_SIZE);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, count >>> 0, true);
    conds.forEach((c, i) => {
      const o = L.FILTER_HDR + i * L.FCOND_SIZE;
      out[o] = c.op; out[o + 1] = c.neg ?? 0; out[o + 2] = c.slot ?? 0; out[o + 3] = c.plen ?? 0;
      dv.setUint32(o + 4, c.a ?? 0, true); dv.setUint32(o + 8, c.b ?? 0, true);
    });
    return out;
  }
  const refuse = (p: Uint8Array, status?: number) => {
    const d = new Decoder();
    d.setFilter(new FilterBuilder().none().compile()); // a previous filter does not survive a refused one
    let err: unknown;
    try { d.setFilter(p); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ConntrackError);
    expect((err as ConntrackError).code).toBe('ERR_CT_INVALID_ARGUMENT');
    if (status !== undefined) expect((err as ConntrackError).status).toBe(status);
    // refused: no filter installed, everything passes
    expect(survivors(d, ALL.map((s) => s.bytes)).size).toBe(ALL.length);
  };

  test('refused by setFilter', () => {
    refuse(prog(L.FILTER_MAX_CONDS + 1, []), L.FERR_COUNT);
    refuse(prog(0xffffffff, []), L.FERR_COUNT);
    refuse(prog(2, [{ op: L.FOP_PROTO, a: 6 }]), L.FERR_OP); // count beyond the conditions given
    refuse(prog(1, [{ op: 0 }]), L.FERR_OP);
    refuse(prog(1, [{ op: L.FOP_MAX + 1 }]), L.FERR_OP);
    refuse(prog(1, [{ op: 255 }]), L.FERR_OP);
    refuse(prog(1, [{ op: L.FOP_SRC, slot: 3, a: 2 }]), L.FERR_SLOT);
    refuse(prog(1, [{ op: L.FOP_SRC, a: 7 }]), L.FERR_FAMILY);
    refuse(prog(1, [{ op: L.FOP_DST, a: 2, plen: 33 }]), L.FERR_PLEN);
    refuse(prog(1, [{ op: L.FOP_REPLY_ANY, a: 10, plen: 129 }]), L.FERR_PLEN);
    refuse(prog(1, [{ op: L.FOP_NAT, a: 4 }]), L.FERR_ARG);
    refuse(prog(1, [{ op: L.FOP_TIMEOUT, a: 5, b: 4 }]), L.FERR_ARG);
    refuse(prog(1, [{ op: L.FOP_PROTO, neg: 2 }]), L.FERR_ARG);
    refuse(new Uint8Array(3));
    refuse(new Uint8Array(L.FILTER_HDR + 5));
    refuse(new Uint8Array(L.FILTER_SIZE + L.FCOND_SIZE));
    expect(() => new Decoder().setFilter(prog(L.FILTER_MAX_CONDS, Array(L.FILTER_MAX_CONDS).fill({ op: L.FOP_FAMILY, a: 2, neg: 0 })))).not.toThrow();
  });

  test('random program bytes never trap; a refused program leaves no filter, an accepted one fails closed or evaluates', () => {
    const d = new Decoder({ variant: 'checked' });
    const msgs = POOL.slice(0, 40).map((s) => s.bytes);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.uint8Array({ minLength: 6 * L.FCOND_SIZE, maxLength: 6 * L.FCOND_SIZE }), fc.nat(8), (n, body, count) => {
        const p = new Uint8Array(L.FILTER_HDR + n * L.FCOND_SIZE);
        new DataView(p.buffer).setUint32(0, count, true);
        p.set(body.subarray(0, n * L.FCOND_SIZE), L.FILTER_HDR);
        try {
          d.setFilter(p);
        } catch (e) {
          expect((e as ConntrackError).code).toBe('ERR_CT_INVALID_ARGUMENT');
        }
        survivors(d, msgs); // must not throw (a trap would be a RuntimeError)
        d.setFilter(null);
      }),
      { numRuns: 500 },
    );
    expect(d.counters().violations).toBe(0);
  });

  test('a program written behind setFilter\'s back fails closed and reports the error', () => {
    const d = new Decoder();
    const dv = d.core.view;
    d.core.bytes.set(prog(1, [{ op: 200 }]), L.FILTER);
    expect(survivors(d, ALL.map((s) => s.bytes)).size).toBe(0);
    expect(dv.getUint32(L.CTRL + L.CTRL_FILTER_ERR, true)).toBe(L.FERR_OP);
    dv.setUint32(L.FILTER, 100000, true);
    expect(survivors(d, ALL.map((s) => s.bytes)).size).toBe(0);
    expect(dv.getUint32(L.CTRL + L.CTRL_FILTER_ERR, true)).toBe(L.FERR_COUNT);
    d.setFilter(null);
    expect(survivors(d, ALL.map((s) => s.bytes)).size).toBe(ALL.length);
  });
});
