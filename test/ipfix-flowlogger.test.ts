// The flow logger feeding IPFIX (src/export/flowlogger.ts): a ConnTrack
// tracker driven by a real capture through its replay seam, its events
// exported by an IpfixExporter to a UDP socket, and the records read back
// with the test's own IPFIX reader: one start/end pair per connection, the
// logger's direction in flowDirection (61), the conntrack id in flowId (148).
import * as dgram from 'dgram';
import * as path from 'path';
import { ConnTrack } from '../src/flowlog';
import { replayDialer } from '../src/flowlog/listener';
import type { FlowEventFields } from '../src/flowlog/types';
import { IpfixExporter } from '../src/export/ipfix/exporter';
import { exporterFlowLogger } from '../src/export/flowlogger';
import type { ExportFlow } from '../src/export/flow';
import { parseMessages, type ParsedMessage } from './helpers/ipfix-parse';

const flush = () => new Promise((r) => setImmediate(r));
async function until(cond: () => boolean, turns = 100000): Promise<void> {
  for (let i = 0; i < turns && !cond(); i++) await flush();
  if (!cond()) throw new Error('condition never became true');
}

function fields(over: Partial<FlowEventFields>): FlowEventFields {
  return {
    flowId: 'f1', type: 'end', direction: 'ingress', protocol: 17, sourceIp: '10.0.0.9', destIp: '100.64.0.1',
    sourcePort: 5000, destPort: 53, icmpType: 0, icmpCode: 0,
    rxPackets: 3n, txPackets: 2n, rxBytes: 300n, txBytes: 200n, conntrackId: 77, ...over,
  };
}

test.each([
  ['ingress: rx is the original direction', 'ingress' as const, { orig: 3n, reply: 2n }, 'ingress'],
  ['egress: tx is the original direction', 'egress' as const, { orig: 2n, reply: 3n }, 'egress'],
  ['unknown: as egress, no direction', 'unknown' as const, { orig: 2n, reply: 3n }, undefined],
])('%s', (_n, direction, packets, want) => {
  const got: ExportFlow[] = [];
  let t = 1000;
  const log = exporterFlowLogger({ export: (f) => got.push(f) }, { now: () => (t += 10) });
  log.storeEvent(fields({ type: 'start', direction, rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n }));
  log.storeEvent(fields({ direction }));
  expect(got.map((f) => f.event)).toEqual(['start', 'end']);
  const end = got[1];
  expect([end.total.orig.packets, end.total.reply.packets]).toEqual([packets.orig, packets.reply]);
  expect(end.delta).toEqual(end.total);
  expect(end.direction).toBe(want);
  expect([end.startMs, end.endMs, end.id, end.reason, end.nat]).toEqual([1010, 1020, 77, 'idle-timeout', false]);
  expect(end.orig).toEqual({ src: '10.0.0.9', dst: '100.64.0.1', srcPort: 5000, dstPort: 53 });
  expect(end.reply).toEqual({ src: '100.64.0.1', dst: '10.0.0.9', srcPort: 53, dstPort: 5000 });
});

test('ICMP carries type/code, TCP ends as end-of-flow, IPv6 is ipv6, and open starts are bounded', () => {
  const got: ExportFlow[] = [];
  const log = exporterFlowLogger({ export: (f) => got.push(f) }, { maxOpen: 1, now: () => 5 });
  log.storeEvent(fields({ protocol: 1, icmpType: 8, icmpCode: 0, sourcePort: 0, destPort: 0 }));
  log.storeEvent(fields({ protocol: 6, sourceIp: 'fd00::1', destIp: 'fd00::2' }));
  expect(got[0].orig).toEqual({ src: '10.0.0.9', dst: '100.64.0.1', icmpType: 8, icmpCode: 0 });
  expect([got[1].reason, got[1].family]).toEqual(['end-of-flow', 'ipv6']);
});

test('a tracker replaying 300 captured TCP connections exports 300 start/end pairs to a collector', async () => {
  const sink = dgram.createSocket('udp4');
  const datagrams: Buffer[] = [];
  sink.on('message', (m) => datagrams.push(m));
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  sink.setRecvBufferSize(8 << 20); // a replay exports in one burst: keep every datagram
  const port = sink.address().port;
  const ex = new IpfixExporter({ collector: `127.0.0.1:${port}`, exportStart: true });
  const pcap = path.join(__dirname, 'fixtures', 'events-churn', 'events.pcap');
  let ended = false;
  const logged: FlowEventFields[] = [];
  const toIpfix = exporterFlowLogger(ex);
  const tracker = new ConnTrack({ storeEvent: (f) => (logged.push(f), toIpfix.storeEvent(f)) }, { address: () => ({ ip: '127.0.0.1', network: '127.0.0.0/8' }) }, {
    dial: replayDialer(pcap, { onEnd: () => (ended = true) }),
  });
  try {
    await tracker.start(false);
    await until(() => ended);
    await tracker.stop();
    await ex.close(); // flushes, and resolves once every datagram left
    // they arrive through the event loop's I/O phase: wait in real time
    for (let i = 0; i < 500 && datagrams.length < ex.stats().messagesSent; i++) await new Promise((r) => setTimeout(r, 10));
  } finally {
    await ex.close();
    sink.close();
  }
  const templates = new Map();
  const msgs: ParsedMessage[] = datagrams.flatMap((d) => parseMessages(d, templates));
  const recs = msgs.flatMap((m) => m.records);
  // one record per start; an end has the original direction's record, and
  // the reply direction's when the reply sent packets (egress: rx = reply)
  expect(logged.every((f) => f.direction === 'egress')).toBe(true);
  const want = logged.reduce((n, f) => n + (f.type === 'start' ? 1 : f.rxPackets > 0n ? 2 : 1), 0);
  expect(logged).toHaveLength(600);
  expect(recs).toHaveLength(want);
  const ids = new Set(recs.map((r) => r.values.get('148')));
  expect(ids.size).toBe(300);
  // 127.0.0.1 is the interface address: the logger knows the direction (egress = 1
  // for the initiator's packets, ingress = 0 for the reply's), so every record says it
  expect(recs.every((r) => r.values.has('61'))).toBe(true);
  expect(recs.filter((r) => r.values.get('61') === 1n).length).toBe(600);
});
