// The exporter against real collectors: nfdump's nfcapd and pmacct's
// nfacctd on 127.0.0.1. Scripted connections (TCP, UDP, ICMP, IPv6 UDP, a
// DNATed TCP connection) run in a private namespace with accounting and
// timestamps on; a FlowTracker there feeds one IpfixExporter per collector.
// What the collectors stored must match conntrack's own view (conntrack -L
// just before the flush that ends the flows) field by field: addresses,
// ports, protocol, post-NAT fields, packets and bytes exactly; UDP and ICMP
// counts are also checked against the script (known sizes). Times: the
// collector's flow start/end equal the ms the exporter sent (exact), and
// those lie within the script's wall-clock window (a few ms of slack).
import { Netns, tool } from './helpers/netns';
import { sleep, until } from './helpers/wait';
import { Nfacctd, Nfcapd } from './helpers/collectors';
import { Conntrack } from '../src/conntrack';
import { FlowTracker } from '../src/export/tracker';
import { IpfixExporter } from '../src/export/ipfix/exporter';
import type { ExportFlow } from '../src/export/flow';

jest.setTimeout(120_000);

let ns: Netns;
let ct: Conntrack;
const nfcapd = new Nfcapd();
const nfacctd = new Nfacctd();


beforeAll(async () => {
  ns = Netns.create();
  // DNAT: 10.99.0.1:80 -> 10.99.0.2:8080 (a local address; its /24 routes over lo)
  ns.exec(tool('ip'), ['addr', 'add', '10.99.0.2/24', 'dev', 'lo']);
  ns.exec(tool('nft'), ['add', 'table', 'ip', 'nat']);
  ns.exec(tool('nft'), ['add', 'chain', 'ip', 'nat', 'out', '{ type nat hook output priority -100; }']);
  ns.exec(tool('nft'), ['add', 'rule', 'ip', 'nat', 'out', 'ip', 'daddr', '10.99.0.1', 'tcp', 'dport', '80', 'dnat', 'to', '10.99.0.2:8080']);
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

// TCP exchanges of known payloads, UDP datagrams of known sizes, two ICMP echoes.
const TRAFFIC = String.raw`
import socket, json, time, struct
out = {'t0': time.time() * 1000}
def tcp(bind, connect):
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(bind); srv.listen()
    c = socket.create_connection(connect); s, _ = srv.accept()
    c.sendall(b'a' * 1000); n = 0
    while n < 1000: n += len(s.recv(65536))
    s.sendall(b'b' * 2000); n = 0
    while n < 2000: n += len(c.recv(65536))
    port = c.getsockname()[1]
    c.close(); s.close(); srv.close()
    return port
out['tcp'] = tcp(('127.0.0.1', 5001), ('127.0.0.1', 5001))
out['nat'] = tcp(('10.99.0.2', 8080), ('10.99.0.1', 80))
def udp(fam, addr):
    srv = socket.socket(fam, socket.SOCK_DGRAM); srv.bind(addr)
    c = socket.socket(fam, socket.SOCK_DGRAM)
    for i in range(3): c.sendto(b'u' * 100, addr)
    for i in range(3): _, peer = srv.recvfrom(2048)
    srv.sendto(b'r' * 50, peer); c.recvfrom(2048)
    return c.getsockname()[1]
out['udp4'] = udp(socket.AF_INET, ('127.0.0.1', 5002))
out['udp6'] = udp(socket.AF_INET6, ('::1', 5003))
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for seq in (1, 2):
    body = struct.pack('!BBHHH', 8, 0, 0, 0x1234, seq) + b'p' * 56
    body = body[:2] + struct.pack('!H', csum(body)) + body[4:]
    r.sendto(body, ('127.0.0.1', 0))
    while True:
        d = r.recv(2048)
        if d[20] == 0 and struct.unpack('!H', d[24:26])[0] == 0x1234: break
out['t1'] = time.time() * 1000
print(json.dumps(out))
`;

interface Dir {
  proto: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  packets: number;
  bytes: number;
  /** post-NAT src, dst, sport, dport (NATed entries) */
  xlate?: [string, string, number, number];
}

/** conntrack -L -o extended,id: both directions of every entry (the oracle). */
function oracle(): Dir[] {
  const out: Dir[] = [];
  for (const fam of ['ipv4', 'ipv6']) {
    for (const line of ns.conntrack('-L', '-f', fam, '-o', 'extended,id').split('\n')) {
      if (!line.includes('src=')) continue;
      const proto = Number(/^\S+\s+\d+\s+\S+\s+(\d+)/.exec(line)?.[1]);
      const halves = line.split(/(?=src=)/).slice(1, 3);
      const d = halves.map((h) => ({
        src: /src=(\S+)/.exec(h)![1], dst: /dst=(\S+)/.exec(h)![1],
        sport: Number(/sport=(\d+)/.exec(h)?.[1] ?? 0), dport: Number(/dport=(\d+)/.exec(h)?.[1] ?? 0),
        packets: Number(/packets=(\d+)/.exec(h)![1]), bytes: Number(/bytes=(\d+)/.exec(h)![1]),
      }));
      const [o, r] = d;
      const nat = o.src !== r.dst || o.dst !== r.src || o.sport !== r.dport || o.dport !== r.sport;
      out.push({ proto, ...o, ...(nat ? { xlate: [r.dst, r.src, r.dport, r.sport] as [string, string, number, number] } : {}) });
      if (r.packets > 0) out.push({ proto, ...r, ...(nat ? { xlate: [o.dst, o.src, o.dport, o.sport] as [string, string, number, number] } : {}) });
    }
  }
  return out;
}

const key = (d: { proto: number; src: string; dst: string; sport: number; dport: number }) =>
  d.proto === 1 || d.proto === 58 ? `${d.proto} ${d.src} > ${d.dst}` : `${d.proto} ${d.src}:${d.sport} > ${d.dst}:${d.dport}`;

// nfdump prints local time without a zone: this process and nfdump share TZ
const localMs = (s: string) => new Date(s.replace(' ', 'T')).getTime();
const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, 'ipv6-icmp': 58, icmpv6: 58 };

test('TCP, UDP, ICMP, IPv6 and a DNATed connection reach nfcapd and nfacctd exactly as conntrack counted them', async () => {
  const sent: ExportFlow[] = [];
  const exporters = [nfcapd, nfacctd].map((c) => new IpfixExporter({ collector: `127.0.0.1:${c.port}`, flushInterval: 20 }));
  const tracker = new FlowTracker(ct, { activeTimeout: 3600 });
  tracker.on('flow', (f) => {
    if (f.event === 'end') sent.push(f);
    for (const e of exporters) e.export(f);
  });
  await sleep(300); // the event socket is subscribed
  const run = JSON.parse(ns.exec(tool('python3'), ['-c', TRAFFIC])) as Record<string, number>;
  const expected = oracle();
  ns.conntrack('-F');
  const tFlush = Date.now();
  await until(() => sent.length >= 5);
  await tracker.stop();
  for (const e of exporters) await e.close();
  expect(sent).toHaveLength(5);
  expect(exporters.map((e) => e.stats().recordsDropped)).toEqual([0, 0]);

  // the script's known sizes (conntrack counts IP header + payload)
  const byKey = new Map(expected.map((d) => [key(d), d]));
  expect(byKey.get(`17 127.0.0.1:${run.udp4} > 127.0.0.1:5002`)).toMatchObject({ packets: 3, bytes: 3 * (20 + 8 + 100) });
  expect(byKey.get(`17 127.0.0.1:5002 > 127.0.0.1:${run.udp4}`)).toMatchObject({ packets: 1, bytes: 20 + 8 + 50 });
  expect(byKey.get(`17 ::1:${run.udp6} > ::1:5003`)).toMatchObject({ packets: 3, bytes: 3 * (40 + 8 + 100) });
  expect(byKey.get(`1 127.0.0.1 > 127.0.0.1`)).toBeDefined();
  expect(expected.filter((d) => d.proto === 1).map((d) => [d.packets, d.bytes])).toEqual([[2, 168], [2, 168]]);
  expect(byKey.get(`6 10.99.0.2:${run.nat} > 10.99.0.1:80`)?.xlate).toEqual(['10.99.0.2', '10.99.0.2', run.nat, 8080]);
  expect(byKey.get(`6 10.99.0.2:8080 > 10.99.0.2:${run.nat}`)?.xlate).toEqual(['10.99.0.1', '10.99.0.2', 80, run.nat]);
  expect(expected).toHaveLength(10);

  // what the exporter sent: start/end within the script's window, end before the flush returned
  for (const f of sent) {
    expect(f.startMs).toBeGreaterThanOrEqual(Math.floor(run.t0) - 5);
    expect(f.startMs).toBeLessThanOrEqual(run.t1 + 5);
    expect(f.endMs).toBeGreaterThanOrEqual(f.startMs);
    expect(f.endMs).toBeLessThanOrEqual(tFlush + 5);
  }
  const sentTimes = new Map<string, [number, number]>();
  for (const f of sent) {
    for (const [t, rev] of [[f.orig, false], [f.reply, true]] as const) {
      sentTimes.set(key({ proto: f.protocol, src: t.src, dst: t.dst, sport: t.srcPort ?? 0, dport: t.dstPort ?? 0 }), [f.startMs, f.endMs]);
      void rev;
    }
  }

  // nfcapd: stop it (SIGTERM writes the file), read it with nfdump -o json
  await nfcapd.stop();
  const nf = nfcapd.records().map((r) => {
    const d: Dir & { first: number; last: number; icmp?: number } = {
      proto: r.proto as number, src: (r.src4_addr ?? r.src6_addr) as string, dst: (r.dst4_addr ?? r.dst6_addr) as string,
      sport: (r.src_port as number) ?? 0, dport: (r.dst_port as number) ?? 0, packets: r.in_packets as number, bytes: r.in_bytes as number,
      first: localMs(r.first as string), last: localMs(r.last as string),
    };
    if (r.src4_xlt_ip !== undefined) d.xlate = [r.src4_xlt_ip as string, r.dst4_xlt_ip as string, Number(r.src_xlt_port), Number(r.dst_xlt_port)];
    if (r.icmp_type !== undefined) d.icmp = (r.icmp_type as number) * 256 + (r.icmp_code as number);
    return d;
  });
  expect(nf).toHaveLength(expected.length);
  for (const d of nf) {
    const e = byKey.get(key(d));
    expect({ k: key(d), packets: d.packets, bytes: d.bytes, xlate: d.xlate }).toEqual({ k: key(d), packets: e?.packets, bytes: e?.bytes, xlate: e?.xlate });
    expect([d.first, d.last]).toEqual(sentTimes.get(key(d)));
  }
  expect(nf.filter((d) => d.proto === 1).map((d) => d.icmp).sort()).toEqual([0, 8 * 256]);

  // nfacctd: the print plugin writes every second
  await until(() => nfacctd.records().length >= expected.length - 1);
  await nfacctd.stop();
  const pm = nfacctd.records().map((r) => {
    const d: Dir & { first: number; last: number } = {
      proto: PROTO[r.ip_proto as string] ?? Number(r.ip_proto), src: r.ip_src as string, dst: r.ip_dst as string,
      sport: r.port_src as number, dport: r.port_dst as number, packets: r.packets as number, bytes: r.bytes as number,
      first: localMs(r.timestamp_start as string), last: localMs(r.timestamp_end as string),
    };
    if (r.post_nat_ip_src !== '') d.xlate = [r.post_nat_ip_src as string, r.post_nat_ip_dst as string, r.post_nat_port_src as number, r.post_nat_port_dst as number];
    return d;
  });
  // nfacctd aggregates records with equal keys: on loopback both ICMP
  // directions are 127.0.0.1 > 127.0.0.1 without ports, so they add up
  const summed = new Map<string, Dir>();
  for (const e of expected) {
    const k = key(e);
    const prev = summed.get(k);
    summed.set(k, prev ? { ...prev, packets: prev.packets + e.packets, bytes: prev.bytes + e.bytes } : e);
  }
  expect(pm).toHaveLength(summed.size);
  for (const d of pm) {
    const e = summed.get(key(d));
    expect({ k: key(d), packets: d.packets, bytes: d.bytes, xlate: d.xlate }).toEqual({ k: key(d), packets: e?.packets, bytes: e?.bytes, xlate: e?.xlate });
    expect([d.first, d.last]).toEqual(sentTimes.get(key(d)));
  }
});
