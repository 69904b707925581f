// IPFIX encoding (RFC 7011): byte fixtures annotated field by field, MTU
// packing, sequence numbers, template refresh, TCP reconnects with a bounded
// queue. The collector side here is a plain UDP/TCP socket and the small
// reader in helpers/ipfix-parse.ts; the real collectors are in ipfix-collectors.test.ts.
import * as dgram from 'dgram';
import * as net from 'net';
import { IpfixExporter } from '../src/export/ipfix/exporter';
import { makeTemplate, writeTemplateRecord } from '../src/export/ipfix/template';
import { parseCollector } from '../src/export/ipfix/transport';
import type { ExportFlow } from '../src/export/flow';
import { parseMessages, type ParsedField } from './helpers/ipfix-parse';
import { sleep, until as waitUntil } from './helpers/wait';

const hex = (s: string) => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
const until = (cond: () => boolean, ms = 10000): Promise<void> => waitUntil(cond, ms, 20);

// Template 256: IPv4, no NAT, no flowDirection. Each line: element id, length (RFC 7011 3.2).
const TEMPLATE_V4 = `
  0100 0011            # template id 256, 17 fields
  0094 0008            # flowId(148), 8
  0008 0004            # sourceIPv4Address(8), 4
  000c 0004            # destinationIPv4Address(12), 4
  0007 0002            # sourceTransportPort(7), 2
  000b 0002            # destinationTransportPort(11), 2
  0004 0001            # protocolIdentifier(4), 1
  0020 0002            # icmpTypeCodeIPv4(32), 2
  0055 0008            # octetTotalCount(85), 8
  0056 0008            # packetTotalCount(86), 8
  0001 0008            # octetDeltaCount(1), 8
  0002 0008            # packetDeltaCount(2), 8
  0098 0008            # flowStartMilliseconds(152), 8
  0099 0008            # flowEndMilliseconds(153), 8
  0088 0001            # flowEndReason(136), 1
  00ef 0001            # biflowDirection(239), 1
  8001 0004 00007ed9   # enterprise bit | conntrackMark(1), 4, PEN 32473
  8002 0002 00007ed9   # enterprise bit | conntrackZone(2), 2, PEN 32473
`;

const NOW = 1_700_000_000_123;

function udpFlow(over: Partial<ExportFlow> = {}): ExportFlow {
  return {
    event: 'end', reason: 'idle-timeout', id: 0x01020304, family: 'ipv4', protocol: 17,
    orig: { src: '192.0.2.1', dst: '198.51.100.7', srcPort: 40000, dstPort: 53 },
    reply: { src: '198.51.100.7', dst: '192.0.2.1', srcPort: 53, dstPort: 40000 },
    nat: false,
    total: { orig: { packets: 1n, bytes: 84n }, reply: { packets: 0n, bytes: 0n } },
    delta: { orig: { packets: 1n, bytes: 84n }, reply: { packets: 0n, bytes: 0n } },
    startMs: 1_700_000_000_000, endMs: NOW, mark: 42,
    ...over,
  };
}

/** A UDP "collector": every datagram received. */
async function udpSink(): Promise<{ port: number; got: Buffer[]; close: () => void }> {
  const s = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { port: s.address().port, got, close: () => s.close() };
}

test('the IPv4 template record, byte by byte', () => {
  const t = makeTemplate(256, { ipv6: false, nat: false, direction: false });
  const b = Buffer.alloc(t.templateLength);
  expect(writeTemplateRecord(b, 0, t, 32473)).toBe(t.templateLength);
  expect(b.toString('hex')).toBe(hex(TEMPLATE_V4).toString('hex'));
  expect(t.recordLength).toBe(8 + 4 + 4 + 2 + 2 + 1 + 2 + 8 * 6 + 1 + 1 + 4 + 2);
});

test('a whole message: header, template set, data set (one UDP flow without reply)', async () => {
  const sink = await udpSink();
  const ex = new IpfixExporter({ collector: `127.0.0.1:${sink.port}`, observationDomainId: 7, now: () => NOW });
  ex.export(udpFlow());
  await ex.close();
  await until(() => sink.got.length === 1);
  sink.close();
  const expected = hex(`
    000a 00b7          # version 10, length 183 = 16 + 84 + 83
    6553f100           # export time 1700000000 s
    00000000           # sequence: no data record sent before
    00000007           # observation domain 7
    0002 0054          # template set, length 84 = 4 + 80
    ${TEMPLATE_V4}
    0100 0053          # data set of template 256, length 83 = 4 + 79
    0000000001020304   # flowId = conntrack id 0x01020304
    c0000201           # sourceIPv4Address 192.0.2.1
    c6336407           # destinationIPv4Address 198.51.100.7
    9c40 0035          # ports 40000 -> 53
    11                 # protocolIdentifier 17 (UDP)
    0000               # icmpTypeCodeIPv4: not ICMP
    0000000000000054   # octetTotalCount 84
    0000000000000001   # packetTotalCount 1
    0000000000000054   # octetDeltaCount 84
    0000000000000001   # packetDeltaCount 1
    0000018bcfe56800   # flowStartMilliseconds 1700000000000
    0000018bcfe5687b   # flowEndMilliseconds 1700000000123
    01                 # flowEndReason idleTimeout
    01                 # biflowDirection initiator
    0000002a           # conntrackMark 42
    0000               # conntrackZone 0
  `);
  expect(sink.got[0].toString('hex')).toBe(expected.toString('hex'));
  expect(ex.stats()).toMatchObject({ recordsSent: 1, recordsDropped: 0, messagesSent: 1, templatesSent: 1 });
});

test('NAT and IPv6: post-NAT fields come from the reply tuple, for both directions', async () => {
  const sink = await udpSink();
  const ex = new IpfixExporter({ collector: `127.0.0.1:${sink.port}`, now: () => NOW });
  // SNAT 10.0.0.2:5000 -> 203.0.113.1:6000 towards 198.51.100.7:80
  ex.export(udpFlow({
    protocol: 6, nat: true, reason: 'end-of-flow', direction: 'egress',
    orig: { src: '10.0.0.2', dst: '198.51.100.7', srcPort: 5000, dstPort: 80 },
    reply: { src: '198.51.100.7', dst: '203.0.113.1', srcPort: 80, dstPort: 6000 },
    total: { orig: { packets: 6n, bytes: 400n }, reply: { packets: 4n, bytes: 3000n } },
    delta: { orig: { packets: 2n, bytes: 100n }, reply: { packets: 1n, bytes: 1000n } },
  }));
  ex.export(udpFlow({
    family: 'ipv6', protocol: 58, zone: 3,
    orig: { src: 'fd00::1', dst: 'fd00::2', icmpType: 128, icmpCode: 0 },
    reply: { src: 'fd00::2', dst: 'fd00::1', icmpType: 129, icmpCode: 0 },
  }));
  await ex.close();
  await until(() => sink.got.length === 1);
  sink.close();
  const [m] = parseMessages(sink.got[0]);
  expect(m.templates.map((t) => t.id)).toEqual([256, 257]);
  const ids = (f: ParsedField[]) => f.map((x) => x.id);
  expect(ids(m.templates[0].fields)).toEqual([148, 8, 12, 7, 11, 4, 32, 85, 86, 1, 2, 152, 153, 136, 239, 61, 225, 226, 227, 228, 1, 2]);
  expect(ids(m.templates[1].fields)).toEqual([148, 27, 28, 7, 11, 4, 139, 85, 86, 1, 2, 152, 153, 136, 239, 1, 2]);
  const [o, r, v6] = m.records.map((x) => Object.fromEntries(x.values));
  // original direction: as sent, then translated to the mirrored reply tuple
  expect(o).toMatchObject({ 8: '10.0.0.2', 12: '198.51.100.7', 7: 5000n, 11: 80n, 225: '203.0.113.1', 226: '198.51.100.7', 227: 6000n, 228: 80n,
    1: 100n, 2: 2n, 85: 400n, 86: 6n, 136: 3n, 239: 1n, 61: 1n });
  // reply direction: as the server sends it, then translated back to the client
  expect(r).toMatchObject({ 8: '198.51.100.7', 12: '203.0.113.1', 7: 80n, 11: 6000n, 225: '198.51.100.7', 226: '10.0.0.2', 227: 80n, 228: 5000n,
    1: 1000n, 2: 1n, 85: 3000n, 86: 4n, 239: 2n, 61: 0n });
  expect(v6).toMatchObject({ 27: 'fd00:0:0:0:0:0:0:1', 28: 'fd00:0:0:0:0:0:0:2', 139: 128n * 256n, 4: 58n, '32473/2': 3n });
});

test('messages never exceed the MTU; the sequence number counts the data records before each message', async () => {
  const sink = await udpSink();
  const ex = new IpfixExporter({ collector: `127.0.0.1:${sink.port}`, mtu: 576, templateRefreshRecords: 40, now: () => NOW });
  const n = 150;
  for (let i = 0; i < n; i++) {
    ex.export(udpFlow({ id: i, family: i % 3 === 0 ? 'ipv6' : 'ipv4', ...(i % 3 === 0 ? { orig: { src: 'fd00::1', dst: 'fd00::2', srcPort: i, dstPort: 1 }, reply: { src: 'fd00::2', dst: 'fd00::1', srcPort: 1, dstPort: i } } : {}) }));
  }
  await ex.close();
  await until(() => ex.stats().messagesSent === sink.got.length);
  sink.close();
  expect(ex.maxMessageLength).toBe(576 - 28);
  let seq = 0;
  const templates = new Map<number, ParsedField[]>();
  const flowIds: bigint[] = [];
  let refreshes = 0;
  for (const d of sink.got) {
    expect(d.length).toBeLessThanOrEqual(548);
    const [m] = parseMessages(d, templates);
    expect(m.length).toBe(d.length);
    expect(m.sequence).toBe(seq);
    seq += m.records.length;
    if (m.records.length === 0 && m.templates.length === 2) refreshes++;
    for (const r of m.records) flowIds.push(r.values.get('148') as bigint);
  }
  expect(flowIds).toEqual(Array.from({ length: n }, (_, i) => BigInt(i)));
  expect(ex.sequenceNumber).toBe(n);
  // a refresh after every 40 data records (checked when a message is finished)
  expect(refreshes).toBe(3);
});

test('flows without new packets make no record; start records only when asked', async () => {
  const sink = await udpSink();
  const ex = new IpfixExporter({ collector: `127.0.0.1:${sink.port}` });
  const zero = { orig: { packets: 0n, bytes: 0n }, reply: { packets: 0n, bytes: 0n } };
  ex.export(udpFlow({ event: 'update', reason: 'active-timeout', delta: zero }));
  ex.export(udpFlow({ event: 'start', reason: undefined }));
  await ex.close();
  sink.close();
  expect(ex.stats()).toMatchObject({ recordsSent: 0, flowsSkipped: 1 });
  expect(sink.got).toEqual([]);
});

test('a flow with a missing or malformed address exports zeros in its place, never throws', async () => {
  const sink = await udpSink();
  const ex = new IpfixExporter({ collector: `127.0.0.1:${sink.port}` });
  ex.export(udpFlow({ orig: { src: '', dst: 'not-an-ip', srcPort: 1, dstPort: 2 } }));
  ex.export(udpFlow({ orig: { src: 'fd00::1', dst: '192.0.2.1', srcPort: 1, dstPort: 2 } })); // v6 address in a v4 flow
  await ex.close();
  await until(() => sink.got.length === 1);
  sink.close();
  const [m] = parseMessages(sink.got[0]);
  expect(m.records.map((r) => [r.values.get('8'), r.values.get('12')])).toEqual([['0.0.0.0', '0.0.0.0'], ['0.0.0.0', '192.0.2.1']]);
});

test('bad options and collectors are refused with ERR_CT_INVALID_ARGUMENT', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ collector: 'nohostport' }, /HOST:PORT/],
    [{ collector: '127.0.0.1:0' }, /HOST:PORT/],
    [{ collector: '::1:4739' }, /HOST:PORT/],
    [{ collector: '127.0.0.1:4739', transport: 'sctp' }, /'udp' or 'tcp'/],
    [{ collector: '127.0.0.1:4739', mtu: 100 }, /128\.\.65535/],
    [{ collector: '127.0.0.1:4739', observationDomainId: -1 }, /observationDomainId/],
    [{ collector: '127.0.0.1:4739', activeTimeout: 0 }, /activeTimeout/],
  ];
  for (const [opts, re] of bad) {
    expect(() => new IpfixExporter(opts as never)).toThrow(re);
  }
  expect(parseCollector('[::1]:4739')).toEqual({ host: '::1', port: 4739 });
});

/** A TCP collector that can be stopped and restarted on the same port. */
class TcpSink {
  server: net.Server | undefined;
  conns: Buffer[][] = [];
  private sockets: net.Socket[] = [];
  constructor(public port = 0) {}
  async start(): Promise<void> {
    const srv = net.createServer((c) => {
      const chunks: Buffer[] = [];
      this.conns.push(chunks);
      this.sockets.push(c);
      c.on('data', (d) => chunks.push(d));
    });
    await new Promise<void>((r) => srv.listen(this.port, '127.0.0.1', () => r()));
    this.port = (srv.address() as net.AddressInfo).port;
    this.server = srv;
  }
  async stop(): Promise<void> {
    const srv = this.server;
    this.server = undefined;
    if (!srv) return;
    for (const c of this.sockets) c.destroy();
    this.sockets = [];
    await new Promise<void>((r) => srv.close(() => r()));
  }
  messages(i: number) {
    return parseMessages(Buffer.concat(this.conns[i]));
  }
}

test('TCP: templates first on every connection, reconnect with backoff, bounded queue while down (drops counted)', async () => {
  const sink = new TcpSink();
  await sink.start();
  const ex = new IpfixExporter({ collector: `127.0.0.1:${sink.port}`, transport: 'tcp', flushInterval: 10, tcp: { minBackoff: 50, maxBackoff: 200, maxBuffer: 2000 } });
  let disconnects = 0;
  ex.on('disconnect', () => disconnects++);
  try {
    await tcpScenario(sink, ex, () => disconnects);
  } finally {
    await ex.close();
    await sink.stop();
  }
});

type Ex = IpfixExporter;
const recordsIn = (sink: TcpSink, i: number) => (sink.conns[i] ? sink.messages(i).reduce((n, m) => n + m.records.length, 0) : 0);

async function tcpScenario(sink: TcpSink, ex: Ex, disconnects: () => number): Promise<void> {
  await until(() => sink.conns.length === 1);
  ex.export(udpFlow({ id: 1 }));
  ex.export(udpFlow({ id: 2, family: 'ipv6', orig: { src: 'fd00::1', dst: 'fd00::2', srcPort: 1, dstPort: 2 }, reply: { src: 'fd00::2', dst: 'fd00::1', srcPort: 2, dstPort: 1 } }));
  await until(() => recordsIn(sink, 0) === 2);
  const first = sink.messages(0);
  // a new template goes out on its own, before the data that uses it
  expect(first.flatMap((m) => m.templates.map((t) => t.id))).toEqual([256, 257]);
  expect(first.flatMap((m) => m.records.map((r) => r.values.get('148')))).toEqual([1n, 2n]);

  await sink.stop();
  await until(() => disconnects() > 0);
  // while down: 2000 bytes of queue hold some messages, the rest is dropped
  for (let i = 0; i < 60; i++) {
    ex.export(udpFlow({ id: 100 + i }));
    ex.flush();
  }
  const queuedOrDropped = ex.stats();
  expect(queuedOrDropped.recordsDropped).toBeGreaterThan(0);
  const kept = 60 - queuedOrDropped.recordsDropped;
  expect(kept).toBeGreaterThan(0);
  await sink.start();
  await until(() => ex.stats().recordsSent === 2 + kept);
  await ex.close();
  await until(() => sink.conns.length >= 2 && recordsIn(sink, sink.conns.length - 1) === kept);
  const again = sink.messages(sink.conns.length - 1);
  // the new connection starts with every template, once, then the queued records in order
  expect(again[0].templates.map((t) => t.id)).toEqual([256, 257]);
  expect(again.flatMap((m) => m.templates).length).toBe(2);
  const ids = again.flatMap((m) => m.records.map((r) => Number(r.values.get('148'))));
  expect(ids).toEqual(Array.from({ length: kept }, (_, i) => 100 + i));
  // sequence numbers keep counting across the reconnect (dropped records included)
  expect(again.find((m) => m.records.length > 0)?.sequence).toBe(2);
  expect(disconnects()).toBeGreaterThan(0);
}
