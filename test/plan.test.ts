// The pushdown planner: which conditions go into the dump request, the bytes
// of that request, and — against the real kernel in a private namespace —
// that a dump gives the same entries whatever was pushed down, while the
// pushed-down dump really receives fewer entries.
import * as A from '../src/generated/attrs';
import { FilterBuilder, ConntrackFilter, ConntrackFilterType } from '../src/filter';
import { planFilter, kernelCaps, NO_CAPS, explainText, describeCondition } from '../src/plan';
import { dumpRequest } from '../src/encode';
import { createCore } from '../src/wasm';
import { Conntrack } from '../src/conntrack';
import { Netns } from './helpers/netns';
import type { Flow } from '../src/types';

const NEW = kernelCaps('6.18.44');
const OLD = kernelCaps('5.4.0-150-generic');

describe('kernelCaps', () => {
  test.each([
    ['6.18.44-fc', true, true, true],
    ['6.8.0', true, true, true],
    ['6.7.12', true, true, false],
    ['5.15.0-91-generic', true, true, false],
    ['5.14.21', true, false, false],
    ['5.8.0', true, false, false],
    ['5.7.19', false, false, false],
    ['garbage', false, false, false],
  ])('%s: tuple %s status %s zone %s', (rel, tuple, status, zone) => {
    expect(kernelCaps(rel)).toEqual({ release: rel, tupleFilter: tuple, status, zone });
  });
});

describe('planFilter: what goes to the kernel', () => {
  const plan = (b: FilterBuilder, caps = NEW, extra = {}) => planFilter(b.conditions(), { caps, ...extra });

  test('exact orig addresses, protocol and TCP ports become CTA_FILTER on the orig tuple, with the family', () => {
    const p = plan(new FilterBuilder().proto('tcp').src('10.0.0.1').dst('10.0.0.2/32').dport(80));
    expect(p.kernel).toEqual({
      family: A.AF_INET,
      orig: {
        flags: A.CTA_FILTER_FLAG_CTA_IP_SRC | A.CTA_FILTER_FLAG_CTA_IP_DST | A.CTA_FILTER_FLAG_CTA_PROTO_NUM | A.CTA_FILTER_FLAG_CTA_PROTO_DST_PORT,
        tuple: { src: '10.0.0.1', dst: '10.0.0.2', dstPort: 80, protoNum: 6 },
      },
    });
    expect(p.userOnly).toEqual([]);
    expect(p.pushed).toHaveLength(4);
  });

  test('a prefix is not pushed (the kernel compares whole addresses) but still fixes the family', () => {
    const p = plan(new FilterBuilder().src('10.0.0.0/8'));
    expect(p.kernel).toEqual({ family: A.AF_INET });
    expect(p.userOnly.map(describeCondition)).toEqual(['orig src in 10.0.0.0/8']);
  });

  test('exact reply address goes to the reply tuple', () => {
    const p = plan(new FilterBuilder().dst('10.0.1.1', 'reply'));
    expect(p.kernel.family).toBe(A.AF_INET);
    expect(p.kernel.reply).toEqual({ flags: A.CTA_FILTER_FLAG_CTA_IP_DST, tuple: { dst: '10.0.1.1' } });
    expect(p.kernel.orig).toBeUndefined();
  });

  test('explainText says how much of the program runs compiled', () => {
    const text = explainText(plan(new FilterBuilder().proto('tcp').label(3).dport(443)));
    expect(text).toContain('compiled to a WASM function: 2 of 3 condition(s) inline');
  });

  test('an exact IPv6 address is not pushed (the kernel compares it inverted), its family is', () => {
    const p = plan(new FilterBuilder().dst('fd00::2', 'reply'));
    expect(p.kernel).toEqual({ family: A.AF_INET6 });
    expect(p.userOnly.map(describeCondition)).toEqual(['reply dst in fd00::2/128']);
  });

  test('mark/mask, status has/hasNot and zone', () => {
    const p = plan(new FilterBuilder().mark(7, 0xff).status({ has: ['ASSURED'], hasNot: ['DYING'] }).zone(5));
    expect(p.kernel).toEqual({
      family: 0,
      mark: { value: 7, mask: 0xff },
      status: { value: 1 << A.IPS_ASSURED_BIT, mask: (1 << A.IPS_ASSURED_BIT) | (1 << A.IPS_DYING_BIT) },
      zone: 5,
    });
    expect(p.userOnly).toEqual([]);
  });

  test('an old kernel (5.4) gets family and mark only, and the plan says why', () => {
    const p = plan(new FilterBuilder().mark(7).status({ has: ['ASSURED'] }).zone(5).proto(6).src('10.0.0.1'), OLD);
    expect(p.kernel).toEqual({ family: A.AF_INET, mark: { value: 7, mask: 0xffffffff } });
    expect(p.userOnly.map(describeCondition)).toEqual(['status & 0x4 == 0x4', 'zone 5', 'protocol 6', 'orig src in 10.0.0.1/32']);
    expect(p.notes.join('\n')).toMatch(/5\.15.*\n.*6\.8.*\n.*5\.8/);
  });

  test('negated conditions, states, labels, NAT, timeout, prefixes and reply-any stay in user space', () => {
    const b = new FilterBuilder()
      .not((x) => x.mark(1)).tcpState('ESTABLISHED').label(3).nat('src').timeout(10, 20).replyAny('10.0.0.1')
      .not((x) => x.proto('udp'));
    const p = plan(b);
    expect(p.kernel).toEqual({ family: A.AF_INET }); // from replyAny's net
    expect(p.pushed).toEqual([]);
    expect(p.userOnly).toHaveLength(7);
  });

  test('ports of protocols the kernel does not compare (SCTP) are not pushed; the protocol is', () => {
    const p = plan(new FilterBuilder().family('ipv4').proto('sctp').dport(3868));
    expect(p.kernel.orig).toEqual({ flags: A.CTA_FILTER_FLAG_CTA_PROTO_NUM, tuple: { protoNum: 132 } });
    expect(p.userOnly.map(describeCondition)).toEqual(['orig dport 3868']);
  });

  test('ICMPv6 fields use the ICMPV6 flags; a tuple filter needs the family', () => {
    const p = plan(new FilterBuilder().family('ipv6').proto('icmpv6').icmp({ type: 128, id: 78 }));
    expect(p.kernel.orig?.flags).toBe(A.CTA_FILTER_FLAG_CTA_PROTO_NUM | A.CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_TYPE | A.CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_ID);
    const nofam = plan(new FilterBuilder().proto('tcp').dport(22));
    expect(nofam.kernel).toEqual({ family: 0 });
    expect(nofam.notes[0]).toMatch(/needs the family/);
  });

  test('non-conntrack tables push only the family; pushdown:false pushes nothing of the filter', () => {
    const b = new FilterBuilder().mark(1).src('10.0.0.1');
    expect(planFilter(b.conditions(), { caps: NEW, table: 'dying' }).kernel).toEqual({ family: A.AF_INET });
    const off = planFilter(b.conditions(), { caps: NEW, pushdown: false });
    expect(off.kernel).toEqual({ family: 0 });
    expect(off.userOnly).toHaveLength(2);
  });

  test('a seed ConntrackFilter plans like the builder; an empty one matches nothing and pushes nothing', () => {
    const f = new ConntrackFilter().addProtocol(17).addIP(ConntrackFilterType.OrigSrcIP, '10.0.0.1').addPort(ConntrackFilterType.OrigDstPort, 53);
    const p = planFilter(f.conditions(), { caps: NEW });
    expect(p.kernel.orig?.tuple).toEqual({ src: '10.0.0.1', dstPort: 53, protoNum: 17 });
    const empty = planFilter(new ConntrackFilter().conditions(), { caps: NEW });
    expect(empty.kernel).toEqual({ family: 0 });
    expect(empty.userOnly.map(describeCondition)).toEqual(['nothing (an empty seed filter)']);
  });

  test('explain text names the kernel attributes and the user-space-only conditions', () => {
    const t = explainText(plan(new FilterBuilder().proto('tcp').src('10.0.0.1').tcpState('ESTABLISHED')));
    expect(t).toContain('nfgen_family AF_INET');
    expect(t).toContain('CTA_FILTER CTA_TUPLE_ORIG (flags 0x9): CTA_IP_SRC 10.0.0.1, CTA_PROTO_NUM 6');
    expect(t).toContain('tcp state ESTABLISHED  [user space only]');
    expect(t).toContain('orig src in 10.0.0.1/32  [also in the kernel; re-checked]');
  });
});

describe('dump request bytes with a kernel filter', () => {
  test('CTA_STATUS/_MASK, CTA_ZONE, the orig tuple and a CTA_FILTER nest with host-order flags', () => {
    const core = createCore();
    const msg = dumpRequest(core, 9, {
      family: A.AF_INET,
      filter: { status: 4, statusMask: 6, zone: 5, orig: { src: '10.0.0.1', protoNum: 6 }, origFlags: A.CTA_FILTER_FLAG_CTA_IP_SRC | A.CTA_FILTER_FLAG_CTA_PROTO_NUM },
    });
    const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    expect(dv.getUint32(0, true)).toBe(msg.length); // nlmsg_len covers the appended nest
    expect(dv.getUint16(4, true)).toBe((A.NFNL_SUBSYS_CTNETLINK << 8) | A.IPCTNL_MSG_CT_GET);
    expect(msg[16]).toBe(A.AF_INET); // nfgen_family
    // walk the top-level attributes: type -> payload
    const attrs = new Map<number, Uint8Array>();
    for (let o = 20; o < msg.length;) {
      const len = dv.getUint16(o, true);
      attrs.set(dv.getUint16(o + 2, true), msg.subarray(o + 4, o + len));
      o += (len + 3) & ~3;
    }
    expect([...attrs.keys()]).toEqual([
      A.CTA_STATUS, A.CTA_STATUS_MASK, A.CTA_ZONE, A.CTA_TUPLE_ORIG | 0x8000, A.CTA_FILTER | 0x8000,
    ]);
    expect(Buffer.from(attrs.get(A.CTA_STATUS) as Uint8Array).readUInt32BE(0)).toBe(4);
    expect(Buffer.from(attrs.get(A.CTA_STATUS_MASK) as Uint8Array).readUInt32BE(0)).toBe(6);
    expect(Buffer.from(attrs.get(A.CTA_ZONE) as Uint8Array).readUInt16BE(0)).toBe(5);
    const nest = Buffer.from(attrs.get(A.CTA_FILTER | 0x8000) as Uint8Array);
    // CTA_FILTER_ORIG_FLAGS: nla_len 8, type 1, u32 host order (little endian here)
    expect([nest.readUInt16LE(0), nest.readUInt16LE(2), nest.readUInt32LE(4)]).toEqual([8, A.CTA_FILTER_ORIG_FLAGS, 9]);
    expect(nest.length).toBe(8);
  });

  test('flags without the tuple are refused', () => {
    expect(() => dumpRequest(createCore(), 1, { family: 2, filter: { origFlags: 1 } })).toThrow(/origFlags/);
  });
});

describe('against the kernel: pushdown changes what crosses the socket, never the result', () => {
  let ns: Netns;
  let ct: Conntrack;

  beforeAll(async () => {
    ns = Netns.create();
    const ins = (...a: string[]) => ns.conntrack('-I', ...a);
    for (let i = 0; i < 40; i++) {
      ins('-p', 'tcp', '-s', `10.0.${i % 4}.1`, '-d', '10.0.9.9', '--sport', String(1000 + i), '--dport', i % 2 ? '80' : '443', '-t', '500', '--state', i % 3 ? 'ESTABLISHED' : 'SYN_SENT', '-u', i % 3 ? 'ASSURED,SEEN_REPLY' : 'SEEN_REPLY', '-m', String(i % 5));
    }
    ins('-p', 'udp', '-s', 'fd00::1', '-d', 'fd00::2', '--sport', '53', '--dport', '5353', '-t', '300', '-m', '1');
    ins('-p', 'udp', '-s', '10.0.0.1', '-d', '10.0.9.9', '--sport', '53', '--dport', '80', '-t', '300', '-w', '5');
    ins('-p', 'tcp', '-s', '10.0.0.1', '-d', '10.0.9.9', '--sport', '7', '--dport', '80', '-t', '300', '--state', 'ESTABLISHED', '-w', '5');
    ins('-p', 'icmp', '-s', '10.0.0.1', '-d', '10.0.9.9', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '77', '-t', '200');
    ins('-p', 'icmpv6', '-s', 'fd00::3', '-d', 'fd00::4', '--icmpv6-type', '128', '--icmpv6-code', '0', '--icmpv6-id', '78', '-t', '200');
    ct = await Conntrack.open({ netns: ns.name });
  });

  afterAll(() => {
    ct?.close();
    ns?.destroy();
  });

  const key = (f: Flow) => `${f.orig?.src} ${f.orig?.dst} ${f.orig?.protoNum} ${f.orig?.srcPort ?? f.orig?.icmpId} ${f.zone ?? 0}`;

  const cases: [string, () => FilterBuilder | ConntrackFilter, number][] = [
    ['tcp to 10.0.9.9:80 from 10.0.0.1', () => new FilterBuilder().proto('tcp').src('10.0.0.1').dst('10.0.9.9').dport(80), 1],
    ['mark 3', () => new FilterBuilder().mark(3), 8],
    ['mark 2/2 (mask)', () => new FilterBuilder().mark(2, 2), 16],
    ['ASSURED and not SYN_SENT state', () => new FilterBuilder().status({ has: ['ASSURED'] }).not((b) => b.proto('udp')), 26],
    ['zone 5', () => new FilterBuilder().zone(5), 2],
    ['zone 5, udp', () => new FilterBuilder().zone(5).family('ipv4').proto('udp'), 1],
    ['icmp id 77', () => new FilterBuilder().family('ipv4').proto('icmp').icmp({ type: 8, id: 77 }), 1],
    ['icmpv6 type 128', () => new FilterBuilder().family('ipv6').proto('icmpv6').icmp({ type: 128 }), 1],
    ['reply dst exact', () => new FilterBuilder().dst('10.0.1.1', 'reply'), 10],
    ['ipv6 exact', () => new FilterBuilder().src('fd00::1'), 1],
    ['prefix + tcp state (user space only)', () => new FilterBuilder().src('10.0.0.0/23').proto('tcp').tcpState('ESTABLISHED'), 14],
    ['seed filter: udp from 10.0.0.1', () => new ConntrackFilter().addProtocol(17).addIP(ConntrackFilterType.OrigSrcIP, '10.0.0.1'), 1],
  ];

  test.each(cases)('%s', async (_name, make, expected) => {
    const f0 = ct.counters().filtered;
    const all = (await ct.list({ filter: make(), pushdown: false })) as Flow[];
    const f1 = ct.counters().filtered;
    const pushed = (await ct.list({ filter: make() })) as Flow[];
    const f2 = ct.counters().filtered;
    expect(pushed.map(key).sort()).toEqual(all.map(key).sort());
    expect(all).toHaveLength(expected);
    const plan = ct.explain(make());
    expect(plan.caps.release).not.toBe('none'); // the kernel accepted every pushed attribute (no fallback)
    // User space dropped (f1 - f0) entries without pushdown; with pushdown the
    // kernel dropped what it could, so user space drops fewer, and none at all
    // when every condition went to the kernel.
    expect(f1 - f0).toBeGreaterThan(0);
    if (plan.userOnly.length === 0) expect(f2 - f1).toBe(0);
    else expect(f2 - f1).toBeLessThanOrEqual(f1 - f0);
  });

  test('a kernel that rejects a pushed attribute: the dump is planned again without it, same result', async () => {
    // Simulate an older kernel's EOPNOTSUPP: flags the kernel does not know (bit 31) are refused.
    const other = await Conntrack.open({ netns: ns.name });
    try {
      const f = new FilterBuilder().zone(5);
      const internals = other as unknown as { caps: ReturnType<typeof kernelCaps>; plan: (o: object) => ReturnType<typeof planFilter> };
      const realPlan = internals.plan.bind(other);
      let calls = 0;
      internals.plan = (o: object) => {
        const p = realPlan(o);
        if (calls++ === 0) p.kernel.orig = { flags: (1 << 31) >>> 0, tuple: { protoNum: 6 } };
        return p;
      };
      const got = (await other.list({ filter: f })) as Flow[];
      expect(got).toHaveLength(2);
      expect(calls).toBe(2);
      expect(internals.caps).toEqual(NO_CAPS);
    } finally {
      other.close();
    }
  });
});
