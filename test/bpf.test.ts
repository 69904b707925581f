// The kernel-side event filter (src/bpf.ts):
// (a) differential: random filters x real captured messages (and encoded
//     ones with marks, zones, status, TCP states, IPv6) run through the BPF
//     program in a cBPF interpreter (test/helpers/cbpf.ts) vs the WASM
//     filter: the BPF never rejects what WASM accepts, and equals it when
//     every condition went into the BPF;
// (b) messages that are not conntrack NEW / DELETE always pass;
// (c) live: the kernel accepts the program for every kind of condition,
//     positive and negated; filtered-out events never reach user space
//     (datagrams / bytes received with and without the BPF), and the events
//     delivered are the same either way.
import * as fc from 'fast-check';
import { readFileSync } from 'fs';
import * as path from 'path';
import { compileEventBpf, planEvents, BPF_ACCEPT } from '../src/bpf';
import { Conntrack } from '../src/conntrack';
import { Decoder, decodeDatagram } from '../src/decoder';
import { CT_NEW, encodeRequest } from '../src/encode';
import { FilterBuilder, type FilterCondition, type TupleSlot } from '../src/filter';
import * as A from '../src/generated/attrs';
import * as L from '../src/generated/layout';
import { readPcapBuffer } from '../src/pcap';
import { NetlinkSocket } from '../src/socket';
import { TCP_STATES } from '../src/format/names';
import type { Flow } from '../src/types';
import { runBpf } from './helpers/cbpf';
import { Netns } from './helpers/netns';
import { nlmsg, concat, ctmsg, nest, u8 } from './helpers/netlink-builder';

const FIX = path.join(__dirname, 'fixtures');

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

interface Sample { bytes: Uint8Array; flow: Flow }

function flowsOf(msgs: Uint8Array[]): Sample[] {
  const out: Sample[] = [];
  for (const m of msgs) {
    const d = decodeDatagram(m);
    if (d.length === 1 && d[0].kind === 'flow') out.push({ bytes: m, flow: d[0] as Flow });
  }
  return out;
}

function capture(name: string): Sample[] {
  return flowsOf([...readPcapBuffer(readFileSync(path.join(FIX, `${name}.pcap`)))].flatMap((r) => splitMessages(r.data.slice())));
}

// Encoded messages with what the captures lack: marks, zones, status bits, IPv6 in both tuples.
const enc = new Decoder();
function encoded(n: number): Sample[] {
  const rnd = fc.sample(fc.record({
    v6: fc.boolean(), a: fc.integer({ min: 0, max: 3 }), b: fc.integer({ min: 0, max: 3 }), proto: fc.constantFrom(6, 17, 132),
    sport: fc.constantFrom(22, 53, 5100), dport: fc.constantFrom(80, 443, 5100), mark: fc.option(fc.constantFrom(0, 1, 7, 0x100, 0xffffffff)),
    zone: fc.option(fc.constantFrom(0, 1, 9)), status: fc.option(fc.constantFrom(0, 0xe, 0x18a, 0x1)), tcp: fc.option(fc.integer({ min: 0, max: 9 })),
    event: fc.constantFrom(0, 2),
  }), { numRuns: n, seed: 7 });
  const msgs = rnd.map((r) => {
    const ip = (i: number) => (r.v6 ? `fd00::${i + 1}` : `10.0.${i}.1`);
    const flow = {
      family: r.v6 ? A.AF_INET6 : A.AF_INET,
      orig: { src: ip(r.a), dst: ip(r.b), protoNum: r.proto, srcPort: r.sport, dstPort: r.dport },
      reply: { src: ip(r.b), dst: ip(r.a), protoNum: r.proto, srcPort: r.dport, dstPort: r.sport },
      ...(r.mark !== null ? { mark: r.mark } : {}),
      ...(r.zone !== null ? { zone: r.zone } : {}),
      ...(r.status !== null ? { status: r.status } : {}),
      ...(r.tcp !== null && r.proto === 6 ? { tcp: { state: r.tcp } } : {}),
    };
    return encodeRequest(enc.core, { type: r.event === 0 ? CT_NEW : 2, flags: 0, seq: 0, family: r.v6 ? A.AF_INET6 : A.AF_INET }, { kind: 'flow', flow: flow as never }).slice();
  });
  return flowsOf(msgs);
}

const SAMPLES: Sample[] = [
  ...capture('events-churn/events').slice(0, 600), ...capture('ipv4-basic/events'), ...capture('ipv6/events'),
  ...capture('ipv4-basic/dump'), ...capture('ipv6/dump'), ...encoded(300),
];

// Which samples the WASM filter program keeps.
const wasm = new Decoder();
function wasmKeeps(program: Uint8Array, samples: Sample[]): boolean[] {
  wasm.setFilter(program);
  try {
    return samples.map((s) => {
      wasm.reset();
      wasm.expect(undefined, undefined);
      wasm.push(s.bytes);
      let kept = false;
      for (let n = wasm.decodeNext(); n > 0; n = wasm.decodeNext()) {
        for (let i = 0; i < n; i++) if (wasm.record(i).kind === L.KIND_FLOW) kept = true;
      }
      return kept;
    });
  } finally {
    wasm.setFilter(null);
    wasm.reset();
  }
}

// ---------------------------------------------------------------------------
// Random filters whose values come from the samples (so many of them match).
const pool = {
  addrs: [...new Set(SAMPLES.flatMap((s) => [s.flow.orig?.src, s.flow.orig?.dst, s.flow.reply?.src, s.flow.reply?.dst]).filter((x): x is string => !!x))],
  ports: [...new Set(SAMPLES.flatMap((s) => [s.flow.orig?.srcPort, s.flow.orig?.dstPort, s.flow.reply?.srcPort]).filter((x): x is number => x !== undefined))],
  marks: [0, 1, 7, 0x100, 0xffffffff, 3],
};

type Build = (b: FilterBuilder) => unknown;
const slot = fc.constantFrom<TupleSlot>('orig', 'reply', 'orig', 'master');
const net = fc.oneof(
  fc.tuple(fc.constantFrom(...pool.addrs), fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${Math.min(p, a.includes(':') ? 128 : 32)}`),
  // any netmask (conntrack's --mask-src): random bytes are rarely a prefix
  fc.tuple(fc.constantFrom(...pool.addrs), fc.uint8Array({ minLength: 16, maxLength: 16 }))
    .map(([a, m]) => `${a}/${a.includes(':') ? [...Array(8).keys()].map((i) => ((m[2 * i] << 8) | m[2 * i + 1]).toString(16)).join(':') : [...m.subarray(0, 4)].join('.')}`),
);
const cond: fc.Arbitrary<Build> = fc.oneof(
  fc.constantFrom<'ipv4' | 'ipv6'>('ipv4', 'ipv6').map((f) => (b: FilterBuilder) => b.family(f)),
  fc.constantFrom(6, 17, 1, 58, 132).map((p) => (b: FilterBuilder) => b.proto(p)),
  fc.tuple(net, slot).map(([n, s]) => (b: FilterBuilder) => b.src(n, s)),
  fc.tuple(net, slot).map(([n, s]) => (b: FilterBuilder) => b.dst(n, s)),
  net.map((n) => (b: FilterBuilder) => b.replyAny(n)),
  fc.tuple(fc.constantFrom(...pool.ports), slot).map(([p, s]) => (b: FilterBuilder) => b.sport(p, s)),
  fc.tuple(fc.constantFrom(...pool.ports), slot).map(([p, s]) => (b: FilterBuilder) => b.dport(p, s)),
  fc.tuple(fc.constantFrom(...pool.marks), fc.constantFrom(0xffffffff, 0xff, 0x100, 0)).map(([m, k]) => (b: FilterBuilder) => b.mark(m, k)),
  fc.constantFrom(0, 1, 9).map((z) => (b: FilterBuilder) => b.zone(z)),
  fc.tuple(fc.subarray(['ASSURED', 'SEEN_REPLY', 'CONFIRMED'] as const), fc.subarray(['SRC_NAT', 'DYING'] as const))
    .map(([has, hasNot]) => (b: FilterBuilder) => b.status({ has, hasNot })),
  fc.integer({ min: 0, max: TCP_STATES.length - 1 }).map((s) => (b: FilterBuilder) => b.tcpState(s)),
  // not expressible in BPF: stay in WASM
  fc.constant((b: FilterBuilder) => b.timeout(0, 100)),
  fc.constant((b: FilterBuilder) => b.nat('any')),
  fc.constant((b: FilterBuilder) => b.none()),
);
const filterArb = fc.array(fc.tuple(cond, fc.boolean()), { minLength: 1, maxLength: 4 }).map((cs) => {
  const b = new FilterBuilder();
  for (const [c, neg] of cs) {
    if (neg) b.not(c);
    else c(b);
  }
  return b;
});

describe('differential: BPF (cBPF interpreter) vs the WASM filter', () => {
  test(`the BPF never rejects what WASM accepts, and equals WASM when all conditions are in it (${SAMPLES.length} messages)`, () => {
    let rejected = 0;
    let exactRuns = 0;
    fc.assert(fc.property(filterArb, (b) => {
      const conds = b.conditions();
      const bpf = compileEventBpf(conds);
      const keep = wasmKeeps(b.compile(), SAMPLES);
      if (!bpf.program) {
        expect(bpf.pushed).toEqual([]);
        return;
      }
      const exact = bpf.userOnly.length === 0;
      if (exact) exactRuns++;
      SAMPLES.forEach((s, i) => {
        const v = runBpf(bpf.insns, s.bytes);
        if (v === 0) rejected++;
        if (keep[i] && v === 0) throw new Error(`BPF rejected a message WASM keeps: filter ${JSON.stringify(conds.map((c) => ({ ...c, addr: [...c.addr] })))} message ${Buffer.from(s.bytes).toString('hex')}`);
        if (exact) expect(v !== 0).toBe(keep[i]);
      });
    }), { numRuns: 150, seed: 42 });
    // the property is not vacuous: the BPF did drop messages, and was often exact
    expect(rejected).toBeGreaterThan(1000);
    expect(exactRuns).toBeGreaterThan(15);
  });

  // One condition of each kind against a message known to match / not match.
  const sample = SAMPLES.find((s) => s.flow.family === A.AF_INET && s.flow.orig?.protoNum === 6 && s.flow.tcp?.state !== undefined) as Sample;
  const o = sample.flow.orig as NonNullable<Flow['orig']>;
  const cases: Array<[string, Build, Build]> = [
    ['family', (b) => b.family('ipv4'), (b) => b.family('ipv6')],
    ['proto', (b) => b.proto(6), (b) => b.proto(17)],
    ['orig src /32', (b) => b.src(`${o.src}/32`), (b) => b.src('192.0.2.1/32')],
    ['orig dst /8', (b) => b.dst(`${o.dst}/8`), (b) => b.dst('192.0.0.0/8')],
    ['orig src under a netmask', (b) => b.src(`${o.src?.replace(/^(\d+)\.\d+/, '$1.77')}/255.0.255.255`), (b) => b.src(`${o.src}/255.0.255.254`.replace(/\.(\d+)\//, (_m, d: string) => `.${Number(d) ^ 2}/`))],
    ['reply src', (b) => b.src(`${sample.flow.reply?.src}`, 'reply'), (b) => b.src('192.0.2.9', 'reply')],
    ['reply any', (b) => b.replyAny(`${sample.flow.reply?.dst}/24`), (b) => b.replyAny('192.0.2.0/24')],
    ['sport', (b) => b.sport(o.srcPort as number), (b) => b.sport(((o.srcPort as number) + 1) & 0xffff)],
    ['dport', (b) => b.dport(o.dstPort as number), (b) => b.dport(((o.dstPort as number) + 1) & 0xffff)],
    ['tcp state', (b) => b.tcpState(sample.flow.tcp?.state as number), (b) => b.tcpState(((sample.flow.tcp?.state as number) + 1) % 10)],
  ];
  test.each(cases)('%s: positive and negated', (_name, yes, no) => {
    const verdict = (f: Build, neg: boolean): number => {
      const b = new FilterBuilder();
      if (neg) b.not(f);
      else f(b);
      const bpf = compileEventBpf(b.conditions());
      expect(bpf.userOnly).toEqual([]);
      return runBpf(bpf.insns, sample.bytes);
    };
    expect(verdict(yes, false)).toBe(BPF_ACCEPT);
    expect(verdict(no, false)).toBe(0);
    expect(verdict(yes, true)).toBe(0);
    expect(verdict(no, true)).toBe(BPF_ACCEPT);
  });
});

test('messages other than conntrack NEW / DELETE pass whatever the filter', () => {
  const bpf = compileEventBpf(new FilterBuilder().none().conditions());
  const error = nlmsg({ type: 2, flags: 0 }, new Uint8Array(20)); // NLMSG_ERROR
  const done = nlmsg({ type: 3, flags: 2 }, new Uint8Array(4)); // NLMSG_DONE
  const expectNew = ctmsg({ type: (A.NFNL_SUBSYS_CTNETLINK_EXP << 8) | 0, flags: 0 }, A.AF_INET, nest(A.CTA_EXPECT_MASTER, nest(A.CTA_TUPLE_PROTO, u8(A.CTA_PROTO_NUM, 6))));
  const ctStats = ctmsg({ type: (A.NFNL_SUBSYS_CTNETLINK << 8) | 4, flags: 0 }, A.AF_UNSPEC, concat());
  for (const m of [error, done, expectNew, ctStats]) expect(runBpf(bpf.insns, m)).toBe(BPF_ACCEPT);
  // and a conntrack event is rejected by "nothing"
  expect(runBpf(bpf.insns, SAMPLES[0].bytes)).toBe(0);
});

test('planEvents says what went into the BPF and what stays in WASM', () => {
  const b = new FilterBuilder().proto('tcp').not((x) => x.src('10.0.0.0/8')).timeout(5, 10);
  const p = planEvents(b.conditions());
  expect(p.pushed).toHaveLength(2);
  expect(p.userOnly).toHaveLength(1);
  expect(p.text).toMatch(/classic BPF .* \d+ instructions/);
  expect(p.text).toContain('not (orig src in 10.0.0.0/8)  [also in the kernel; re-checked]');
  expect(p.text).toContain('timeout in 5..10  [user space only]');
  expect(planEvents(b.conditions(), { bpf: false }).program).toBeUndefined();
  expect(planEvents(new FilterBuilder().timeout(1).conditions()).program).toBeUndefined();
});

// ---------------------------------------------------------------------------
describe('live, in a private namespace', () => {
  let ns: Netns;
  let ct: Conntrack;
  beforeAll(async () => {
    ns = Netns.create();
    ct = await Conntrack.open({ netns: ns.name });
  });
  afterAll(() => {
    ct?.close();
    ns?.destroy();
  });

  const kinds: Array<[string, Build]> = [
    ['none', (b) => b.none()], ['family', (b) => b.family('ipv6')], ['proto', (b) => b.proto('udp')],
    ['src v4 prefix', (b) => b.src('10.0.0.0/13')], ['dst v6 prefix', (b) => b.dst('fd00::/100')],
    ['reply src', (b) => b.src('10.1.2.3', 'reply')], ['master dst', (b) => b.dst('10.0.0.0/8', 'master')],
    ['reply any v6', (b) => b.replyAny('fd00::1/128')], ['sport', (b) => b.sport(53)], ['dport reply', (b) => b.dport(53, 'reply')],
    ['mark/mask', (b) => b.mark(0x10, 0xf0)], ['status', (b) => b.status({ has: ['ASSURED'], hasNot: ['DYING'] })],
    ['zone', (b) => b.zone(3)], ['tcp state', (b) => b.tcpState('ESTABLISHED')],
  ];
  test.each(kinds)('the kernel accepts the program: %s, positive and negated', (_n, f) => {
    for (const neg of [false, true]) {
      const b = new FilterBuilder();
      if (neg) b.not(f);
      else f(b);
      const { program } = compileEventBpf(b.conditions());
      expect(program).toBeDefined();
      const s = NetlinkSocket.open({ netns: ns.name, groups: [A.NFNLGRP_CONNTRACK_NEW] });
      try {
        expect(() => s.native.attachFilter(program as Uint8Array)).not.toThrow();
      } finally {
        s.close();
      }
    }
  });

  test('filtered-out events never reach user space; the same events are delivered with and without the BPF', async () => {
    const filter = new FilterBuilder().mark(7).proto('udp');
    const withBpf = ct.events({ filter });
    const without = ct.events({ filter, bpf: false });
    const all = ct.events();
    expect(withBpf.bpfAttached).toBe(true);
    expect(without.bpfAttached).toBe(false);
    const got = { withBpf: [] as string[], without: [] as string[], all: 0 };
    withBpf.on('event', (e) => got.withBpf.push(`${e.event} ${(e as Flow).id}`));
    without.on('event', (e) => got.without.push(`${e.event} ${(e as Flow).id}`));
    all.on('event', () => got.all++);
    const N = 200;
    for (let i = 0; i < N; i++) {
      const orig = { src: `10.70.${i >> 8}.${i & 255}`, dst: '10.70.9.9', protoNum: 17, srcPort: 1000 + i, dstPort: 53 };
      await ct.create({ orig, timeout: 100, mark: i % 10 === 0 ? 7 : 1 });
      await ct.delete(orig);
    }
    const end = Date.now() + 20000;
    while ((got.all < 2 * N || got.without.length < N / 5 || got.withBpf.length < N / 5) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200)); // anything late would show up now
    const cw = withBpf.counters();
    const cn = without.counters();
    const ca = all.counters();
    withBpf.close();
    without.close();
    all.close();
    expect(got.all).toBe(2 * N);
    expect(got.without).toHaveLength(N / 5);
    expect(got.withBpf).toEqual(got.without);
    // one event per datagram; with the BPF only the matching ones were received
    expect(ca.datagrams).toBe(2 * N);
    expect(cn.datagrams).toBe(2 * N);
    expect(cn.filtered).toBe(2 * N - N / 5);
    expect(cw.datagrams).toBe(N / 5);
    expect(cw.filtered).toBe(0);
    expect(cw.bytes).toBeLessThan(cn.bytes / 5);
  }, 60000);

  test('ct.explain(filter, { events: true }) describes the BPF', () => {
    const p = ct.explain(new FilterBuilder().zone(2).label(3), { events: true });
    expect(p.pushed.map((c) => c.op)).toEqual([L.FOP_ZONE]);
    expect(p.userOnly.map((c) => c.op)).toEqual([L.FOP_LABEL]);
    expect(p.text).toContain('zone 2  [also in the kernel; re-checked]');
  });
});

// keep the type import used
export type { FilterCondition };
