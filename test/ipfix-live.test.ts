// Exporter pieces against the real kernel in a private namespace: active-
// timeout records of a long-lived flow (to nfcapd), Prometheus metrics vs
// conntrack -C / -S, and `ctrack export --json` with a filter.
import * as http from 'http';
import { Netns, tool } from './helpers/netns';
import { sleep, until } from './helpers/wait';
import { Nfacctd, Nfcapd } from './helpers/collectors';
import { Conntrack } from '../src/conntrack';
import { FlowTracker } from '../src/export/tracker';
import { IpfixExporter } from '../src/export/ipfix/exporter';
import { ConntrackMetrics } from '../src/export/metrics';
import { runExport } from '../src/cli/export';
import { Output } from '../src/cli/run';
import type { ExportFlow } from '../src/export/flow';

jest.setTimeout(120_000);

let ns: Netns;
let ct: Conntrack;
const nfcapd = new Nfcapd();
const nfacctd = new Nfacctd();


beforeAll(async () => {
  ns = Netns.create();
  ct = await Conntrack.open({ netns: ns.name });
  await nfcapd.start();
  await nfacctd.start();
});

afterAll(async () => {
  ct?.close();
  await nfcapd.stop().catch(() => undefined);
  await nfacctd.stop().catch(() => undefined);
  nfcapd.cleanup();
  nfacctd.cleanup();
  ns?.destroy();
});

/** n datagrams of 100 bytes from 127.0.0.1:40001 to 127.0.0.1:40002 (one conntrack entry). */
function udpBurst(n: number): void {
  ns.exec(tool('python3'), ['-c', `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 40001))
for i in range(${n}): s.sendto(b'x' * 100, ('127.0.0.1', 40002))
`]);
}

test('a long-lived flow gets active-timeout records with the packets since the previous record', async () => {
  const exporters = [nfcapd, nfacctd].map((c) => new IpfixExporter({ collector: `127.0.0.1:${c.port}`, flushInterval: 20 }));
  const tracker = new FlowTracker(ct, { activeTimeout: 1, scanInterval: 0.25 });
  const recs: ExportFlow[] = [];
  tracker.on('flow', (f) => {
    if (f.orig.dstPort !== 40002) return;
    recs.push(f);
    for (const e of exporters) e.export(f);
  });
  try {
    await sleep(300);
    udpBurst(5);
    await until(() => recs.some((r) => r.event === 'update'));
    udpBurst(3);
    await until(() => recs.filter((r) => r.event === 'update' && r.delta.orig.packets > 0n).length >= 2);
    ns.conntrack('-D', '-p', 'udp', '--dport', '40002');
    await until(() => recs.some((r) => r.event === 'end'));
  } finally {
    await tracker.stop();
    for (const e of exporters) await e.close();
  }
  const withPackets = recs.filter((r) => r.event !== 'start' && r.delta.orig.packets > 0n);
  expect(withPackets.map((r) => [r.event, r.reason, r.delta.orig.packets, r.total.orig.packets]))
    .toEqual([['update', 'active-timeout', 5n, 5n], ['update', 'active-timeout', 3n, 8n]]);
  const end = recs.find((r) => r.event === 'end') as ExportFlow;
  expect([end.delta.orig.packets, end.total.orig.packets, end.total.orig.bytes]).toEqual([0n, 8n, 8n * 128n]);
  // every record after the start carries CTA_TIMESTAMP_START; NEW events have
  // no timestamp, so the start record has the event's arrival time (shortly after)
  const later = recs.filter((r) => r.event !== 'start');
  expect(new Set(later.map((r) => r.startMs)).size).toBe(1);
  const startRec = recs.find((r) => r.event === 'start') as ExportFlow;
  expect(startRec.startMs - later[0].startMs).toBeGreaterThanOrEqual(0);
  expect(startRec.startMs - later[0].startMs).toBeLessThan(1000);
  for (let i = 1; i < later.length; i++) expect(later[i].endMs).toBeGreaterThanOrEqual(later[i - 1].endMs);
  // nfcapd stored the deltas: they add up to conntrack's total
  await nfcapd.stop();
  const stored = nfcapd.records().filter((r) => r.dst_port === 40002);
  expect(stored.map((r) => r.in_packets)).toEqual([5, 3, 0]);
  expect(stored.reduce((n, r) => n + (r.in_bytes as number), 0)).toBe(8 * 128);
  // nfacctd stored the deltas too (its sum would be 5 + 8 + 8 with totals)
  const sum = () => nfacctd.records().filter((r) => r.port_dst === 40002).reduce((n, r) => n + (r.packets as number), 0);
  await until(() => sum() >= 8);
  await sleep(1500); // one more print interval: nothing beyond the deltas arrives
  await nfacctd.stop();
  const pm = nfacctd.records().filter((r) => r.port_dst === 40002);
  expect(pm.reduce((n, r) => n + (r.packets as number), 0)).toBe(8);
  expect(pm.reduce((n, r) => n + (r.bytes as number), 0)).toBe(8 * 128);
});

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Prometheus text format -> "name{labels}" -> value. */
function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

test('metrics scraped over HTTP match conntrack -C, -S and the event and exporter counters', async () => {
  const sink = new IpfixExporter({ collector: '127.0.0.1:9', flushInterval: 10 }); // discard port: sends still succeed
  const tracker = new FlowTracker(ct, { activeTimeout: 3600 });
  tracker.on('flow', (f) => sink.export(f));
  const metrics = new ConntrackMetrics(ct, { tracker, exporter: sink });
  const srv = await metrics.serve(0, '127.0.0.1');
  const port = (srv.address() as { port: number }).port;
  try {
    await sleep(300);
    for (const p of [1, 2, 3]) ns.conntrack('-I', '-p', 'udp', '-s', '10.70.0.1', '-d', '10.70.0.2', '--sport', String(p), '--dport', '9', '-t', '100');
    ns.conntrack('-D', '-p', 'udp', '-s', '10.70.0.1', '--sport', '1');
    await until(() => tracker.stats().events.new === 3 && tracker.stats().events.destroy === 1);
    sink.flush();
    await until(() => sink.stats().recordsSent === 1);
    const m = parseMetrics(await scrape(port));
    const count = Number(ns.conntrack('-C').trim());
    expect(m.get('conntrack_entries')).toBe(count);
    expect(m.get('conntrack_max')).toBe(Number(ns.exec(tool('sysctl'), ['-n', 'net.netfilter.nf_conntrack_max']).trim()));
    // conntrack -S: "cpu=0 found=0 invalid=0 ... search_restart=0 ..."
    const cpus = ns.conntrack('-S').trim().split('\n');
    expect(cpus.length).toBeGreaterThan(0);
    for (const line of cpus) {
      const kv = Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1], Number(x[2])]));
      for (const name of ['found', 'invalid', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart']) {
        expect([name, m.get(`conntrack_stat_${name}_total{cpu="${kv.cpu}"}`)]).toEqual([name, kv[name]]);
      }
    }
    expect(m.get('conntrack_events_total{type="new"}')).toBe(3);
    expect(m.get('conntrack_events_total{type="destroy"}')).toBe(1);
    expect(m.get('conntrack_events_total{type="update"}')).toBe(0);
    expect(m.get('conntrack_event_overruns_total')).toBe(0);
    expect(m.get('conntrack_decode_errors_total')).toBe(0);
    expect(m.get('conntrack_flow_records_total{event="end"}')).toBe(1);
    expect(m.get('conntrack_exporter_records_sent_total')).toBe(1);
    expect(m.get('conntrack_exporter_records_dropped_total')).toBe(0);
  } finally {
    await tracker.stop();
    await sink.close();
    await new Promise((r) => srv.close(r));
    ns.conntrack('-F');
  }
});

test('ctrack export --json: one JSON object per record, filters applied, stops on a signal', async () => {
  let stdout = '';
  let stderr = '';
  let stop: () => void = () => undefined;
  const done = runExport(['--json', '--netns', ns.name, '-p', 'udp', '--active-timeout', '3600'], {
    out: new Output((s) => (stdout += s)),
    err: (l) => (stderr += l + '\n'),
  }, { onStop: (f) => ((stop = f), () => undefined) });
  await sleep(500);
  ns.conntrack('-I', '-p', 'udp', '-s', '10.71.0.1', '-d', '10.71.0.2', '--sport', '5', '--dport', '6', '-t', '100', '-m', '7');
  ns.conntrack('-I', '-p', 'tcp', '-s', '10.71.0.1', '-d', '10.71.0.2', '--sport', '5', '--dport', '6', '-t', '100', '--state', 'ESTABLISHED');
  ns.conntrack('-F');
  await until(() => stdout.split('\n').filter((l) => l.includes('"end"')).length >= 1);
  await sleep(200);
  stop();
  expect(await done).toBe(0);
  expect(stderr).toBe('');
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  // the TCP entry is filtered out: start and end of the UDP one only
  expect(lines.map((l) => [l.event, l.protocol])).toEqual([['start', 17], ['end', 17]]);
  expect(lines[1]).toMatchObject({
    type: 'flow', event: 'end', reason: 'idle-timeout', family: 'ipv4', nat: false, mark: 7,
    orig: { src: '10.71.0.1', dst: '10.71.0.2', srcPort: 5, dstPort: 6 },
    reply: { src: '10.71.0.2', dst: '10.71.0.1', srcPort: 6, dstPort: 5 },
    delta: { orig: { packets: 0, bytes: 0 }, reply: { packets: 0, bytes: 0 } },
  });
  expect(typeof lines[1].id).toBe('number');
  expect(Number.isNaN(Date.parse(lines[1].start as string))).toBe(false);
});

test('ctrack export refuses bad arguments with exit code 2', async () => {
  const cases: [string[], RegExp][] = [
    [[], /needs --ipfix/],
    [['--tcp', '--json'], /--tcp needs --ipfix/],
    [['--metrics', 'nope'], /\[HOST\]:PORT/],
    [['--json', '--active-timeout', 'x'], /--active-timeout/],
    [['--json', '-p', 'nosuchproto'], /./],
  ];
  for (const [argv, re] of cases) {
    let err = '';
    const code = await runExport(argv, { out: new Output(() => undefined), err: (l) => (err += l) });
    expect([argv, code]).toEqual([argv, 2]);
    expect(err).toMatch(re);
  }
});
