// Text printer features the fixtures do not cover, from
// libnetfilter_conntrack 1.0.9 snprintf_default.c semantics.
//
// Time zones: jest sandboxes process.env, so assigning process.env.TZ in a
// test file does not reach V8's local time. Date-dependent expectations use
// the `utc` option (the fixtures were made in UTC); the local-time path is
// checked in a child node process started with TZ set.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ts from 'typescript';
import type { Expectation, Flow, Tuple } from '../src/types';
import { ctimeText, formatExpectText, formatFlowText, loadLabelMap, type LabelMap } from '../src/format';

const A = '10.0.0.1';
const B = '10.0.0.2';
const SEEN = 0x2;
const ASSURED = 0x4;
const CONFIRMED = 0x8;
const OFFLOAD = 1 << 14;
const HW_OFFLOAD = 1 << 15;

function tup(proto: number, extra: Partial<Tuple> = {}, src = A, dst = B): Tuple {
  return { l3proto: 2, src, dst, protoNum: proto, ...extra };
}

function flow(extra: Partial<Flow>): Flow {
  return { kind: 'flow', nlType: 0x100, nlFlags: 0, seq: 0, pid: 0, family: 2, ...extra };
}

const tcpPorts = (s: number, d: number) => ({ srcPort: s, dstPort: d });

describe('protocol parts', () => {
  test.each<[string, Flow, string]>([
    [
      'GRE keys in hex (srckey/dstkey)',
      flow({ orig: tup(47, tcpPorts(0, 0x1a2b)), reply: tup(47, tcpPorts(0x1a2b, 0), B, A), timeout: 29, status: SEEN | CONFIRMED }),
      'gre      47 29 src=10.0.0.1 dst=10.0.0.2 srckey=0x0 dstkey=0x1a2b src=10.0.0.2 dst=10.0.0.1 srckey=0x1a2b dstkey=0x0',
    ],
    [
      'SCTP state from sctp_states[]',
      flow({ orig: tup(132, tcpPorts(1, 2)), reply: tup(132, tcpPorts(2, 1), B, A), timeout: 5, sctp: { state: 8 } }),
      'sctp     132 5 HEARTBEAT_SENT src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1',
    ],
    [
      'SCTP state out of range -> NONE',
      flow({ orig: tup(132, tcpPorts(1, 2)), reply: tup(132, tcpPorts(2, 1), B, A), sctp: { state: 42 } }),
      'sctp     132 NONE src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1',
    ],
    [
      'DCCP state from dccp_states[] (1.0.9)',
      flow({ orig: tup(33, tcpPorts(3, 4)), reply: tup(33, tcpPorts(4, 3), B, A), dccp: { state: 4 } }),
      'dccp     33 OPEN src=10.0.0.1 dst=10.0.0.2 sport=3 dport=4 src=10.0.0.2 dst=10.0.0.1 sport=4 dport=3',
    ],
    [
      'DCCP state out of range -> NONE',
      flow({ orig: tup(33, tcpPorts(3, 4)), reply: tup(33, tcpPorts(4, 3), B, A), dccp: { state: 10 } }),
      'dccp     33 NONE src=10.0.0.1 dst=10.0.0.2 sport=3 dport=4 src=10.0.0.2 dst=10.0.0.1 sport=4 dport=3',
    ],
    [
      'TCP state out of range -> NONE',
      flow({ orig: tup(6, tcpPorts(3, 4)), reply: tup(6, tcpPorts(4, 3), B, A), tcp: { state: 12 } }),
      'tcp      6 NONE src=10.0.0.1 dst=10.0.0.2 sport=3 dport=4 src=10.0.0.2 dst=10.0.0.1 sport=4 dport=3',
    ],
    [
      'UDPLITE ports',
      flow({ orig: tup(136, tcpPorts(5, 6)), reply: tup(136, tcpPorts(6, 5), B, A) }),
      'udplite  136 src=10.0.0.1 dst=10.0.0.2 sport=5 dport=6 src=10.0.0.2 dst=10.0.0.1 sport=6 dport=5',
    ],
    [
      'unknown layer 4 protocol: no layer 4 fields',
      flow({ orig: tup(2), reply: tup(2, {}, B, A), timeout: 600 }),
      'unknown  2 600 src=10.0.0.1 dst=10.0.0.2 src=10.0.0.2 dst=10.0.0.1',
    ],
    [
      'ICMP without id/type/code attributes prints zeros',
      flow({ orig: tup(1), reply: tup(1, {}, B, A) }),
      'icmp     1 src=10.0.0.1 dst=10.0.0.2 type=0 code=0 id=0 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=0',
    ],
    [
      'missing reply tuple: its l3protonum stays 0, so no reply addresses at all',
      flow({ orig: tup(6, tcpPorts(1, 2)) }),
      'tcp      6 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2',
    ],
  ])('%s', (_n, f, expected) => {
    expect(formatFlowText(f)).toBe(expected);
  });

  test('layer3 prefix: family name padded to 8 columns, unknown family prints no addresses, IPv6', () => {
    const f = flow({ family: 7, orig: tup(6, tcpPorts(1, 2)), reply: tup(6, tcpPorts(2, 1), B, A) });
    expect(formatFlowText(f, { layer3: true })).toBe('unknown  7 tcp      6 sport=1 dport=2 sport=2 dport=1');
    const v6: Flow = flow({
      family: 10,
      orig: { l3proto: 10, src: 'fe80::1', dst: 'fe80::2', protoNum: 58, icmpType: 128, icmpCode: 0, icmpId: 1 },
    });
    expect(formatFlowText(v6, { layer3: true })).toBe(
      'ipv6     10 icmpv6   58 src=fe80::1 dst=fe80::2 type=128 code=0 id=1',
    );
  });

  test('an entry without CTA_PROTO_NUM in the original tuple is not printed (library returns -1)', () => {
    expect(formatFlowText(flow({ orig: { l3proto: 2, src: A, dst: B } }))).toBe('');
    expect(formatFlowText(flow({}))).toBe('');
  });
});

describe('status flags', () => {
  const base = { orig: tup(6, tcpPorts(1, 2)), reply: tup(6, tcpPorts(2, 1), B, A) };
  test.each([
    [CONFIRMED, '[UNREPLIED] ', ''],
    [SEEN | ASSURED, '', '[ASSURED]'],
    [SEEN | ASSURED | OFFLOAD, '', '[OFFLOAD]'],
    [SEEN | ASSURED | OFFLOAD | HW_OFFLOAD, '', '[HW_OFFLOAD]'],
    [SEEN | HW_OFFLOAD, '', '[HW_OFFLOAD]'],
    [SEEN, '', ''],
  ])('status 0x%s', (status, unreplied, assured) => {
    const line = formatFlowText(flow({ ...base, status }));
    expect(line).toBe(
      'tcp      6 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 ' + unreplied + 'src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1' +
        (assured ? ' ' + assured : ''),
    );
  });

  test('no CTA_STATUS: neither [UNREPLIED] nor [ASSURED]', () => {
    expect(formatFlowText(flow(base))).not.toContain('[');
  });
});

describe('field order: zones, counters, mark, secmark, secctx, zone, delta-time, ktimestamp, helper, use, id', () => {
  const f = flow({
    orig: tup(6, { ...tcpPorts(1, 2), zone: 1 }),
    reply: tup(6, { ...tcpPorts(2, 1), zone: 2 }, B, A),
    countersOrig: { packets: 3n, bytes: 180n },
    countersReply: { packets: 2n, bytes: 120n },
    status: SEEN | ASSURED | CONFIRMED,
    timeout: 300,
    tcp: { state: 3 },
    mark: 4294967295,
    secmark: 7,
    secctx: 'system_u:object_r:unlabeled_t:s0',
    zone: 3,
    timestampStart: 1795312267_900000000n,
    timestampStop: 1795312270_100000000n,
    helperName: 'ftp',
    use: 2,
    id: 4000000000,
  });

  test('all fields, -o extended,id,ktimestamp', () => {
    expect(formatFlowText(f, { layer3: true, id: true, ktimestamp: true, utc: true })).toBe(
      'ipv4     2 tcp      6 300 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 zone-orig=1 packets=3 bytes=180 ' +
        'src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 zone-reply=2 packets=2 bytes=120 [ASSURED] mark=4294967295 secmark=7 ' +
        'secctx=system_u:object_r:unlabeled_t:s0 zone=3 delta-time=3 [start=Sun Nov 22 01:51:07 2026] ' +
        '[stop=Sun Nov 22 01:51:10 2026] helper=ftp use=2 id=4000000000',
    );
  });

  test('delta-time truncates each stamp to whole seconds first (270 - 267 = 3, not 2.2)', () => {
    expect(formatFlowText(f)).toContain(' delta-time=3 helper=ftp');
  });

  test('counters need both packets and bytes', () => {
    const g = { ...f, countersOrig: { packets: 3n } };
    expect(formatFlowText(g)).toContain('zone-orig=1 src=10.0.0.2');
  });

  test('id only with -o id', () => {
    expect(formatFlowText(f)).not.toContain('id=');
    expect(formatFlowText(f, { id: true })).toMatch(/ use=2 id=4000000000$/);
  });
});

describe('delta-time and ktimestamp', () => {
  const base = flow({ orig: tup(17, tcpPorts(1, 2)), reply: tup(17, tcpPorts(2, 1), B, A) });
  const start = 1795312267_999999999n;

  test('no stop stamp: now - start', () => {
    expect(formatFlowText({ ...base, timestampStart: start }, { now: 1795312300 })).toMatch(/ delta-time=33$/);
  });

  test('a zero stop stamp counts as absent (the C code tests the value)', () => {
    expect(formatFlowText({ ...base, timestampStart: start, timestampStop: 0n }, { now: 1795312300 })).toMatch(
      / delta-time=33$/,
    );
    // ...but -o ktimestamp still prints the attribute: the epoch
    expect(formatFlowText({ ...base, timestampStart: start, timestampStop: 0n }, { now: 1795312300, ktimestamp: true, utc: true }))
      .toMatch(/\[stop=Thu Jan {2}1 00:00:00 1970\]$/);
  });

  test('negative difference wraps through %llu', () => {
    expect(formatFlowText({ ...base, timestampStart: start }, { now: 1795312266 })).toMatch(
      / delta-time=18446744073709551615$/,
    );
  });

  test('stop without start: no delta-time, ktimestamp prints only [stop=]', () => {
    const line = formatFlowText({ ...base, timestampStop: start }, { ktimestamp: true, utc: true });
    expect(line).not.toContain('delta-time');
    expect(line).toMatch(/ \[stop=Sun Nov 22 01:51:07 2026\]$/);
  });

  test('ktimestamp follows the process time zone (TZ) like ctime(); utc forces UTC', () => {
    const f = { ...base, timestampStart: start };
    expect(formatFlowText(f, { ktimestamp: true, now: 1795312268, utc: true })).toMatch(/\[start=Sun Nov 22 01:51:07 2026\]$/);
    // local time in this process equals what Date's local getters say
    const d = new Date(1795312267 * 1000);
    const local = formatFlowText(f, { ktimestamp: true, now: 1795312268 });
    expect(local).toContain(':' + String(d.getMinutes()).padStart(2, '0') + ':07 ' + d.getFullYear() + ']');
    // and a process started with TZ=Asia/Kolkata prints Indian time
    const dir = mkdtempSync(join(tmpdir(), 'ct-tz-'));
    try {
      const src = readFileSync(join(__dirname, '..', 'src', 'format', 'time.ts'), 'utf8');
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
      writeFileSync(join(dir, 'time.js'), js.outputText);
      const out = execFileSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(join(dir, 'time.js'))}).ctimeText(1795312267))`], {
        env: { ...process.env, TZ: 'Asia/Kolkata' },
      }).toString();
      expect(out).toBe('Sun Nov 22 07:21:07 2026');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ctime pads the day of month with a space', () => {
    expect(ctimeText(1793581200, true)).toBe('Mon Nov  2 01:00:00 2026');
  });
});

describe('labels (-o labels)', () => {
  let dir: string;
  let map: LabelMap;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ct-labels-'));
    const path = join(dir, 'connlabel.conf');
    writeFileSync(path, '# test map\n0 eth0-in\n1 eth0-out\n5 vpn\n');
    map = loadLabelMap(path)!;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const base = flow({ orig: tup(6, tcpPorts(1, 2)), reply: tup(6, tcpPorts(2, 1), B, A), use: 1 });
  const bits = (...n: number[]) => {
    const b = new Uint8Array(16);
    for (const i of n) b[i >> 3] |= 1 << (i & 7);
    return b;
  };

  test('named bits, lowest first, after id', () => {
    expect(formatFlowText({ ...base, id: 9, labels: bits(5, 0) }, { labels: map, id: true })).toMatch(
      / use=1 id=9 labels=eth0-in,vpn$/,
    );
  });

  test('quirk: no named bit set prints "labels" without "="', () => {
    expect(formatFlowText({ ...base, labels: bits(3) }, { labels: map })).toMatch(/ use=1 labels$/);
    expect(formatFlowText({ ...base, labels: bits(100) }, { labels: map })).toMatch(/ use=1 labels$/);
  });

  test('no map or no CTA_LABELS: no field', () => {
    expect(formatFlowText({ ...base, labels: bits(0) })).toMatch(/ use=1$/);
    expect(formatFlowText(base, { labels: map })).toMatch(/ use=1$/);
  });
});

describe('event lines', () => {
  const f = flow({
    orig: tup(6, tcpPorts(1, 2)), reply: tup(6, tcpPorts(2, 1), B, A), timeout: 10, tcp: { state: 1 },
    status: CONFIRMED, event: 'new', pid: 4242,
  });

  test('tags are "%9s " wide', () => {
    expect(formatFlowText(f, { event: true }).slice(0, 10)).toBe('    [NEW] ');
    expect(formatFlowText({ ...f, event: 'update' }, { event: true }).slice(0, 10)).toBe(' [UPDATE] ');
    expect(formatFlowText({ ...f, event: 'destroy' }, { event: true }).slice(0, 10)).toBe('[DESTROY] ');
    expect(formatFlowText({ ...f, event: undefined }, { event: true }).slice(0, 4)).toBe('tcp ');
    expect(formatFlowText(f).slice(0, 4)).toBe('tcp ');
  });

  test('-o timestamp prefix zero-pads seconds to 8 and microseconds to 6 digits', () => {
    expect(formatFlowText(f, { event: true, timestampPrefix: { sec: 1795312138, usec: 17850 } })).toMatch(
      /^\[1795312138\.017850\]\t {4}\[NEW\] tcp/,
    );
    expect(formatFlowText(f, { timestampPrefix: { sec: 5, usec: 0 } })).toMatch(/^\[00000005\.000000\]\ttcp/);
  });

  test('[USERSPACE] tag for events caused by a netlink request (nlmsg_pid != 0)', () => {
    expect(formatFlowText(f, { event: true, userspace: true })).toMatch(/\[UNREPLIED\] src=10\.0\.0\.2 dst=10\.0\.0\.1 sport=2 dport=1 \[USERSPACE\] portid=4242$/);
    expect(formatFlowText(f, { event: true, userspace: true, progname: (p) => (p === 4242 ? 'conntrack' : undefined) }))
      .toMatch(/ \[USERSPACE\] portid=4242 progname=conntrack$/);
    expect(formatFlowText({ ...f, pid: 0 }, { event: true, userspace: true })).not.toContain('USERSPACE');
    expect(formatFlowText(f, { event: true })).not.toContain('USERSPACE');
  });
});

describe('expectations (conntrack -L expect / -E expect)', () => {
  const ftp: Expectation = {
    kind: 'expect', nlType: 0x200, nlFlags: 0, seq: 0, pid: 0, family: 2,
    master: { l3proto: 2, src: '192.168.1.2', dst: '192.168.1.3', protoNum: 6, srcPort: 36390, dstPort: 21 },
    tuple: { l3proto: 2, src: '192.168.1.2', dst: '192.168.1.3', protoNum: 6, srcPort: 0, dstPort: 41739 },
    mask: { l3proto: 2, src: '255.255.255.255', dst: '255.255.255.255', protoNum: 6, srcPort: 0, dstPort: 65535 },
    timeout: 297, id: 1, helperName: 'ftp', flags: 0, class: 0, zone: 0,
  };

  test('dump line', () => {
    expect(formatExpectText(ftp)).toBe(
      '297 proto=6 src=192.168.1.2 dst=192.168.1.3 sport=0 dport=41739 mask-src=255.255.255.255 ' +
        'mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.1.2 master-dst=192.168.1.3 sport=36390 ' +
        'dport=21 zone=0 class=0 helper=ftp',
    );
  });

  test('flags, event tag and the space-padded -o timestamp prefix', () => {
    const e: Expectation = { ...ftp, flags: 1 | 2 | 4, event: 'destroy', helperName: undefined, class: undefined, zone: undefined, timeout: undefined };
    expect(formatExpectText(e, { event: true, timestampPrefix: { sec: 1795310943, usec: 52613 } })).toBe(
      '[1795310943.52613 ]\t[DESTROY] proto=6 src=192.168.1.2 dst=192.168.1.3 sport=0 dport=41739 ' +
        'mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=192.168.1.2 ' +
        'master-dst=192.168.1.3 sport=36390 dport=21 PERMANENT,INACTIVE,USERSPACE',
    );
  });

  test('quirk: an unknown flag bit alone still adds a blank', () => {
    const e: Expectation = { ...ftp, flags: 8 };
    expect(formatExpectText(e)).toContain(' dport=21 zone=0  class=0 helper=ftp');
  });

  test('missing tuples print zero addresses in the message family', () => {
    const e: Expectation = { kind: 'expect', nlType: 0x200, nlFlags: 0, seq: 0, pid: 0, family: 10, timeout: 3 };
    expect(formatExpectText(e)).toBe('3 proto=0 src=:: dst=:: mask-src=:: mask-dst=:: master-src=:: master-dst=::');
  });
});
