// Our NDJSON output: every line parses, field names follow src/types.ts,
// 64-bit values keep every digit.
import type { CpuStats, Expectation, ExpectStats, Flow, GlobalStats, Message } from '../src/types';
import {
  formatCpuStatsJson, formatExpectJson, formatExpectStatsJson, formatFlowJson, formatGlobalStatsJson,
  formatMessageJson, parseLabelMap,
} from '../src/format';

const BIG = 18446744073709551615n; // 2^64 - 1, far above 2^53

const flow: Flow = {
  kind: 'flow', nlType: 0x100, nlFlags: 0x600, seq: 0, pid: 0, family: 2, event: 'new',
  orig: { l3proto: 2, src: '127.0.0.1', dst: '127.0.0.2', protoNum: 6, srcPort: 40001, dstPort: 5001, zone: 1 },
  reply: { l3proto: 2, src: '127.0.0.2', dst: '127.0.0.1', protoNum: 6, srcPort: 5001, dstPort: 40001 },
  status: 0x18e, timeout: 120, mark: 0, use: 1, id: 3842061947,
  tcp: { state: 3, wscaleOriginal: 7, wscaleReply: 7, flagsOriginal: { flags: 0x23, mask: 0x23 } },
  countersOrig: { packets: 7n, bytes: BIG },
  countersReply: { packets: 9007199254740993n, bytes: 280n },
  timestampStart: 1795312267_223224123n,
  timestampEvent: 1795312267_223300000n,
  helperName: 'ftp\n"x"',
  helperInfo: Uint8Array.from([0, 1, 0xab]),
  labels: Uint8Array.from([0b00100001, 0, 0, 0]),
  dccp: undefined,
};

describe('formatFlowJson', () => {
  const line = formatFlowJson(flow);
  const o = JSON.parse(line) as Record<string, unknown>;

  test('one line, valid JSON, kind and header', () => {
    expect(line).not.toContain('\n');
    expect(o).toMatchObject({ kind: 'flow', nlType: 256, nlFlags: 1536, seq: 0, pid: 0, event: 'new', family: 2, familyName: 'ipv4' });
  });

  test('tuples with names', () => {
    expect(o.orig).toEqual({
      l3proto: 2, l3protoName: 'ipv4', src: '127.0.0.1', dst: '127.0.0.2', protoNum: 6, protoName: 'tcp',
      srcPort: 40001, dstPort: 5001, zone: 1,
    });
    expect(o).not.toHaveProperty('master');
  });

  test('status number plus flag names, protocol state names', () => {
    expect(o.status).toBe(0x18e);
    expect(o.statusFlags).toEqual(['SEEN_REPLY', 'ASSURED', 'CONFIRMED', 'SRC_NAT_DONE', 'DST_NAT_DONE']);
    expect(o.tcp).toEqual({
      state: 3, stateName: 'ESTABLISHED', wscaleOriginal: 7, wscaleReply: 7, flagsOriginal: { flags: 0x23, mask: 0x23 },
    });
  });

  test('64-bit values are exact in the raw text', () => {
    expect(line).toContain('"countersOrig":{"packets":7,"bytes":18446744073709551615}');
    expect(line).toContain('"countersReply":{"packets":9007199254740993,"bytes":280}');
    expect(line).toContain('"timestampStart":1795312267223224123');
    expect(line).toContain('"timestampEvent":1795312267223300000');
  });

  test('strings escaped, bytes as hex, labels as bit numbers', () => {
    expect(o.helperName).toBe('ftp\n"x"');
    expect(o.helperInfo).toBe('0001ab');
    expect(o.labels).toEqual([0, 5]);
    expect(o).not.toHaveProperty('labelNames');
    const withMap = JSON.parse(formatFlowJson(flow, { labels: parseLabelMap('5 vpn\n')! }));
    expect(withMap.labelNames).toEqual(['vpn']);
  });

  test('absent attributes are omitted, never null', () => {
    expect(line).not.toContain('null');
    for (const k of ['secmark', 'zone', 'timestampStop', 'sctp', 'dccp', 'natSrc', 'synproxy', 'secctx', 'statusMask']) {
      expect(o).not.toHaveProperty(k);
    }
  });

  test('keys follow the type definitions (camelCase)', () => {
    for (const k of Object.keys(o)) expect(k).toMatch(/^[a-z][A-Za-z]*$/);
  });
});

test('SCTP/DCCP/NAT/seqadj/synproxy sub-objects', () => {
  const f: Flow = {
    kind: 'flow', nlType: 0x100, nlFlags: 0, seq: 1, pid: 99, family: 10,
    sctp: { state: 4, vtagOriginal: 1, vtagReply: 2 },
    dccp: { state: 4, role: 1, handshakeSeq: BIG },
    natSrc: { minIp: '::1', maxIp: '::2', minPort: 1, maxPort: 2 },
    seqAdjOrig: { correctionPos: 1, offsetBefore: 2, offsetAfter: 3 },
    synproxy: { isn: 1, its: 2, tsoff: 3 },
    labelsMask: Uint8Array.from([0xff]),
  };
  const line = formatFlowJson(f);
  const o = JSON.parse(line);
  expect(o.familyName).toBe('ipv6');
  expect(o.sctp).toEqual({ state: 4, stateName: 'ESTABLISHED', vtagOriginal: 1, vtagReply: 2 });
  expect(o.dccp.stateName).toBe('OPEN');
  expect(line).toContain('"handshakeSeq":18446744073709551615');
  expect(o.natSrc).toEqual({ minIp: '::1', maxIp: '::2', minPort: 1, maxPort: 2 });
  expect(o.seqAdjOrig).toEqual({ correctionPos: 1, offsetBefore: 2, offsetAfter: 3 });
  expect(o.synproxy).toEqual({ isn: 1, its: 2, tsoff: 3 });
  expect(o.labelsMask).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
});

test('expectation', () => {
  const e: Expectation = {
    kind: 'expect', nlType: 0x200, nlFlags: 0, seq: 0, pid: 0, family: 2,
    master: { l3proto: 2, src: '1.1.1.1', dst: '2.2.2.2', protoNum: 6, srcPort: 5, dstPort: 21 },
    tuple: { l3proto: 2, src: '1.1.1.1', dst: '2.2.2.2', protoNum: 6, srcPort: 0, dstPort: 4000 },
    mask: { l3proto: 2, src: '255.255.255.255', dst: '255.255.255.255', protoNum: 6, srcPort: 0, dstPort: 65535 },
    timeout: 300, id: 7, helperName: 'ftp', zone: 0, flags: 5, class: 0, fn: 'nat-follow-master',
    nat: { dir: 1, tuple: { l3proto: 2, src: '3.3.3.3', protoNum: 6 } },
  };
  const o = JSON.parse(formatExpectJson(e));
  expect(o).toMatchObject({ kind: 'expect', family: 2, timeout: 300, id: 7, flags: 5, flagNames: ['PERMANENT', 'USERSPACE'], fn: 'nat-follow-master' });
  expect(o.nat).toEqual({ dir: 1, tuple: { l3proto: 2, l3protoName: 'ipv4', src: '3.3.3.3', protoNum: 6, protoName: 'tcp' } });
  expect(o.tuple.dstPort).toBe(4000);
});

test('statistics and other messages', () => {
  const h = { nlType: 0x104, nlFlags: 2, seq: 1, pid: 5 };
  const cpu: CpuStats = { kind: 'stats-cpu', ...h, cpu: 1, invalid: 20, chainToolong: 0 };
  expect(JSON.parse(formatCpuStatsJson(cpu))).toEqual({ kind: 'stats-cpu', ...h, cpu: 1, invalid: 20, chainToolong: 0 });
  const g: GlobalStats = { kind: 'stats-global', ...h, entries: 22, maxEntries: 262144 };
  expect(JSON.parse(formatGlobalStatsJson(g))).toEqual({ kind: 'stats-global', ...h, entries: 22, maxEntries: 262144 });
  const x: ExpectStats = { kind: 'stats-exp', ...h, cpu: 0, new: 0, create: 2, delete: 1 };
  expect(JSON.parse(formatExpectStatsJson(x))).toEqual({ kind: 'stats-exp', ...h, cpu: 0, new: 0, create: 2, delete: 1 });
  const msgs: Message[] = [
    cpu, g, x, flow,
    { kind: 'done', ...h },
    { kind: 'overrun', ...h },
    { kind: 'unknown', ...h },
    { kind: 'error', ...h, errno: 2, request: { nlType: 0x101, nlFlags: 5, seq: 2, pid: 5 }, extAckMessage: 'no' },
  ];
  for (const m of msgs) {
    const line = formatMessageJson(m);
    expect(JSON.parse(line).kind).toBe(m.kind);
  }
  expect(JSON.parse(formatMessageJson(msgs[7]))).toEqual({
    kind: 'error', ...h, errno: 2, request: { nlType: 0x101, nlFlags: 5, seq: 2, pid: 5 }, extAckMessage: 'no',
  });
});
